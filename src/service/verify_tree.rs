//! `verify`'s check of the Merkle tree: every stored node is the hash the
//! entries give, no other node is stored, the head's tree size and right
//! edge are the whole chain's, and every signed tree checkpoint is signed
//! by a ledger key and names the root the entries give at its size
//! (docs/transparency.md, "What verify checks"). Fed entry by entry beside
//! the chain check; compares a page's worth at a time, so memory stays
//! bounded.

use std::collections::{BTreeMap, HashMap, VecDeque};

use ed25519_dalek::VerifyingKey;

use crate::ledger::cosignature;
use crate::ledger::entry::{Entry, Hash32, to_hex};
use crate::ledger::merkle::{self, Frontier};
use crate::ledger::note::{self, TreeHead};
use crate::store::tree::{LOG_CHECKPOINT_PAGE_MAX, LogCheckpoint};
use crate::store::{Store, StoreError};

/// Why the tree check failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The stored tree is not the entries'.
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tree recomputed so far, and the nodes not yet compared.
pub struct TreeCheck {
    frontier: Frontier,
    /// Recomputed nodes by level, then index (indexes are contiguous per
    /// level within a run of entries).
    pending: BTreeMap<u8, Vec<(u64, Hash32)>>,
    compared: u64,
    /// The keys a tree checkpoint may be signed with.
    keys: Vec<VerifyingKey>,
    /// The next signed tree checkpoints (sizes above the tree so far).
    upcoming: VecDeque<LogCheckpoint>,
    /// Checkpoints reached, with the root the entries give at their size.
    reached: Vec<(LogCheckpoint, Hash32)>,
    /// Witnesses whose cosignature `verify --witness-key` requires.
    witnesses: Vec<(String, VerifyingKey)>,
    /// The newest checkpoint checked, and which required witnesses
    /// cosigned it.
    newest: Option<u64>,
    cosigned: Vec<String>,
}

impl TreeCheck {
    pub async fn start<S: Store>(
        store: &S,
        keys: Vec<VerifyingKey>,
        witnesses: Vec<(String, VerifyingKey)>,
    ) -> Result<TreeCheck, TreeError> {
        let upcoming = store
            .log_checkpoints_after(0, LOG_CHECKPOINT_PAGE_MAX)
            .await?
            .into();
        Ok(TreeCheck {
            frontier: Frontier::EMPTY,
            pending: BTreeMap::new(),
            compared: 0,
            keys,
            upcoming,
            reached: Vec::new(),
            witnesses,
            newest: None,
            cosigned: Vec::new(),
        })
    }

    pub fn push(&mut self, entry: &Entry) {
        for (id, hash) in self.frontier.push(merkle::entry_leaf(entry)) {
            self.pending
                .entry(id.level)
                .or_default()
                .push((id.index, hash));
        }
        if self
            .upcoming
            .front()
            .is_some_and(|checkpoint| checkpoint.tree_size == self.frontier.size())
        {
            let checkpoint = self.upcoming.pop_front().expect("just seen");
            self.reached.push((checkpoint, self.frontier.root()));
        }
    }

    /// Each checkpoint reached: its note is a tree checkpoint of its size
    /// and root, signed under its origin by one of the keys, and the root
    /// is the one the entries give.
    async fn check_checkpoints<S: Store>(&mut self, store: &S) -> Result<(), TreeError> {
        for (checkpoint, root) in std::mem::take(&mut self.reached) {
            let size = checkpoint.tree_size;
            let refuse = |why: &str| TreeError::Mismatch(format!("tree checkpoint {size}: {why}"));
            let signed = note::parse(&checkpoint.note).map_err(|e| refuse(&e.to_string()))?;
            let head = TreeHead::parse(&signed.text).map_err(|e| refuse(&e.to_string()))?;
            if (head.size, head.root) != (size, checkpoint.root) {
                return Err(refuse("its note names another size or root than its row"));
            }
            if head.root != root {
                return Err(refuse(&format!(
                    "its root {} is not the entries' {}",
                    to_hex(&head.root),
                    to_hex(&root)
                )));
            }
            if !self
                .keys
                .iter()
                .any(|key| signed.signed_by(&head.origin, key))
            {
                return Err(refuse("no ledger key signs it"));
            }
            if !self.witnesses.is_empty() {
                let lines = store.cosignatures(size).await?;
                self.check_cosignatures(&signed.text, size, &lines)?;
            }
            self.newest = Some(size);
        }
        Ok(())
    }

    /// Every stored cosignature by a required witness verifies over the
    /// checkpoint's text; remembers which witnesses cosigned `size`.
    fn check_cosignatures(
        &mut self,
        text: &str,
        size: u64,
        lines: &[(String, String)],
    ) -> Result<(), TreeError> {
        self.cosigned.clear();
        for (name, line) in lines {
            let Some((_, key)) = self.witnesses.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let valid = note::parse(&format!("{text}\n{line}\n"))
                .is_ok_and(|one| cosignature::cosigned_at(&one, name, key).is_some());
            if !valid {
                return Err(TreeError::Mismatch(format!(
                    "tree checkpoint {size}: the cosignature by witness {name} does not verify"
                )));
            }
            self.cosigned.push(name.clone());
        }
        Ok(())
    }

    /// Compares the nodes recomputed since the last call with the stored
    /// ones, checks the checkpoints reached, and reads the next ones.
    pub async fn compare<S: Store>(&mut self, store: &S) -> Result<(), TreeError> {
        self.check_checkpoints(store).await?;
        if self.upcoming.is_empty() {
            self.upcoming = store
                .log_checkpoints_after(self.frontier.size(), LOG_CHECKPOINT_PAGE_MAX)
                .await?
                .into();
        }
        for (level, nodes) in std::mem::take(&mut self.pending) {
            let from = nodes[0].0;
            let stored: HashMap<u64, Hash32> = store
                .tree_level(level, from, nodes.len() as u64)
                .await?
                .into_iter()
                .collect();
            for (index, hash) in &nodes {
                let found = stored.get(index);
                if found != Some(hash) {
                    return Err(TreeError::Mismatch(format!(
                        "Merkle tree node (level {level}, index {index}) is {} where the entries give {}",
                        found.map_or("missing".into(), |h| to_hex(h)),
                        to_hex(hash)
                    )));
                }
            }
            self.compared += nodes.len() as u64;
        }
        Ok(())
    }

    /// After the last entry: the last nodes, no node beyond them, and the
    /// stored size and right edge. Returns the tree's root.
    pub async fn finish<S: Store>(mut self, store: &S) -> Result<Hash32, TreeError> {
        self.compare(store).await?;
        for (name, _) in &self.witnesses {
            let Some(newest) = self.newest else {
                return Err(TreeError::Mismatch(
                    "there is no tree checkpoint for the witnesses to have cosigned".into(),
                ));
            };
            if !self.cosigned.contains(name) {
                return Err(TreeError::Mismatch(format!(
                    "the newest tree checkpoint ({newest} entries) is not cosigned by witness {name}"
                )));
            }
        }
        if let Some(beyond) = self.upcoming.front() {
            return Err(TreeError::Mismatch(format!(
                "tree checkpoint {} is beyond the ledger's {} entries",
                beyond.tree_size,
                self.frontier.size()
            )));
        }
        let stored_count = store.tree_node_count().await?;
        if stored_count != self.compared {
            return Err(TreeError::Mismatch(format!(
                "the Merkle tree stores {stored_count} nodes; the entries give {}",
                self.compared
            )));
        }
        let stored = store.tree().await?;
        if stored != self.frontier {
            return Err(TreeError::Mismatch(format!(
                "the head's Merkle tree (size {}) is not the chain's (size {})",
                stored.size(),
                self.frontier.size()
            )));
        }
        Ok(self.frontier.root())
    }
}

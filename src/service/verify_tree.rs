//! `verify`'s check of the Merkle tree: every stored node is the hash the
//! entries give, no other node is stored, and the head's tree size and
//! right edge are the whole chain's (docs/transparency.md, "What verify
//! checks"). Fed entry by entry beside the chain check; compares a page's
//! worth of nodes at a time, so memory stays bounded.

use std::collections::{BTreeMap, HashMap};

use crate::ledger::entry::{Entry, Hash32, to_hex};
use crate::ledger::merkle::{self, Frontier};
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
#[derive(Default)]
pub struct TreeCheck {
    frontier: Frontier,
    /// Recomputed nodes by level, then index (indexes are contiguous per
    /// level within a run of entries).
    pending: BTreeMap<u8, Vec<(u64, Hash32)>>,
    compared: u64,
}

impl TreeCheck {
    pub fn push(&mut self, entry: &Entry) {
        for (id, hash) in self.frontier.push(merkle::entry_leaf(entry)) {
            self.pending
                .entry(id.level)
                .or_default()
                .push((id.index, hash));
        }
    }

    /// Compares the nodes recomputed since the last call with the stored ones.
    pub async fn compare<S: Store>(&mut self, store: &S) -> Result<(), TreeError> {
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

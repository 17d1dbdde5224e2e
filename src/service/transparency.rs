//! The transparency log's use cases (docs/transparency.md): signing tree
//! checkpoints as C2SP signed notes, inclusion and consistency proofs from
//! the stored tree, and the tiles of C2SP tlog-tiles. Reads only: the tree
//! itself is written by the appends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::domain::Timestamp;
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::Hash32;
use crate::ledger::merkle;
use crate::ledger::note::{self, TreeHead};
use crate::ledger::receipt::{RECEIPT_FORMAT, Receipt};
use crate::store::tree::{EntryLeaf, LogCheckpoint, with_nodes};
use crate::store::{Store, StoreError};

/// The origin (log name) when none is configured.
pub const DEFAULT_LOG_ORIGIN: &str = "localhost/voucher-ledger";
/// Hashes (or entries) per full tile (C2SP tlog-tiles: tile height 8).
pub const TILE_WIDTH: u64 = 256;
/// Tile levels served: level L tiles hold nodes of level 8·L, and 2^63
/// leaves need at most 8 levels.
pub const TILE_LEVELS: u8 = 8;

/// Signs a checkpoint of the stored tree as it is now (size and root read
/// together with the head's right edge) and stores it; `None` for an
/// empty ledger. Several processes may sign the same size: the first row
/// stays (the same key signs the same text to the same bytes).
pub async fn sign_log_checkpoint<S: Store>(
    store: &S,
    signer: &KeyPair,
    origin: &str,
) -> Result<Option<LogCheckpoint>, StoreError> {
    let tree = store.tree().await?;
    if tree.size() == 0 {
        return Ok(None);
    }
    let head = TreeHead {
        origin: origin.to_string(),
        size: tree.size(),
        root: tree.root(),
    };
    let signed = note::sign(&head.text(), origin, signer.signing_key());
    let checkpoint = LogCheckpoint {
        tree_size: head.size,
        root: head.root,
        signed_at_us: Timestamp::now().as_micros(),
        note: signed.render(),
    };
    store.insert_log_checkpoint(&checkpoint).await?;
    Ok(Some(checkpoint))
}

/// Why a proof or tile cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log holds {size} entries; nothing is at {asked}")]
    BeyondTheTree { asked: u64, size: u64 },
    #[error("a tree size is at least 1 and at least the entry's sequence")]
    BadSize,
    #[error("no such tile")]
    NoTile,
    #[error("no signed checkpoint covers entry {0} yet")]
    NotYetCheckpointed(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An entry's inclusion proof in the tree of `tree_size` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    pub sequence: u64,
    pub leaf: EntryLeaf,
    pub tree_size: u64,
    pub root: Hash32,
    pub proof: Vec<Hash32>,
    /// The signed checkpoint of `tree_size`, when one was signed.
    pub checkpoint: Option<String>,
}

/// Most rounds `published_checkpoint` looks back for a checkpoint every
/// witness cosigned (each round moves below a size one witness skipped).
const AGREEMENT_ROUNDS: usize = 32;

/// What a service publishes as its log: the origin it signs as and the
/// witnesses whose cosignatures its checkpoints must carry.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub origin: String,
    pub witnesses: Vec<String>,
}

/// The checkpoint the log publishes (at `/log/checkpoint`, in receipts,
/// as the default size of proofs): the newest signed one of its origin
/// when the log has no witnesses; with witnesses, the newest one that
/// every one of them cosigned. A checkpoint a witness never saw (another
/// instance's larger one reached it first) is stored but never published,
/// and the newest one is published once its cosignatures are back.
pub async fn published_checkpoint<S: Store>(
    store: &S,
    log: &Publication,
) -> Result<Option<LogCheckpoint>, StoreError> {
    let (origin, witnesses) = (&log.origin, &log.witnesses);
    if witnesses.is_empty() {
        return store.latest_log_checkpoint(origin).await;
    }
    let mut bound = u64::MAX;
    for _ in 0..AGREEMENT_ROUNDS {
        let mut newest = Vec::with_capacity(witnesses.len());
        for witness in witnesses {
            match store
                .latest_cosigned_checkpoint(origin, witness, bound)
                .await?
            {
                Some(checkpoint) => newest.push(checkpoint),
                None => return Ok(None),
            }
        }
        let smallest = newest
            .iter()
            .map(|checkpoint| checkpoint.tree_size)
            .min()
            .expect("at least one witness");
        if newest
            .iter()
            .all(|checkpoint| checkpoint.tree_size == smallest)
        {
            return Ok(newest.pop());
        }
        bound = smallest;
    }
    tracing::warn!(
        rounds = AGREEMENT_ROUNDS,
        "the witnesses cosigned no common recent checkpoint"
    );
    Ok(None)
}

/// The tree size proofs default to: the published checkpoint's (its root
/// is signed), else the whole tree.
pub async fn default_size<S: Store>(store: &S, log: &Publication) -> Result<u64, StoreError> {
    Ok(match published_checkpoint(store, log).await? {
        Some(checkpoint) => checkpoint.tree_size,
        None => store.tree().await?.size(),
    })
}

/// The proof that entry `sequence` is in the tree of `tree_size` entries
/// (default: `default_size`).
pub async fn inclusion<S: Store>(
    store: &S,
    log: &Publication,
    sequence: u64,
    tree_size: Option<u64>,
) -> Result<Inclusion, LogError> {
    let tree_size = match tree_size {
        Some(asked) => asked,
        None => default_size(store, log).await?,
    };
    let (leaf, root, proof) = prove(store, sequence, tree_size).await?;
    Ok(Inclusion {
        sequence,
        leaf,
        tree_size,
        root,
        proof,
        checkpoint: checkpoint_of(store, tree_size).await?,
    })
}

/// Entry `sequence`'s leaf, the root of the tree of `tree_size` entries
/// and the audit path between them, from the stored tree.
async fn prove<S: Store>(
    store: &S,
    sequence: u64,
    tree_size: u64,
) -> Result<(EntryLeaf, Hash32, Vec<Hash32>), LogError> {
    let size = store.tree().await?.size();
    if tree_size > size {
        return Err(LogError::BeyondTheTree {
            asked: tree_size,
            size,
        });
    }
    if sequence == 0 || sequence > tree_size {
        return Err(LogError::BadSize);
    }
    let leaf = store
        .entry_leaves(sequence, 1)
        .await?
        .into_iter()
        .next()
        .filter(|leaf| leaf.sequence == sequence)
        .ok_or_else(|| StoreError::Corrupt(format!("entry {sequence} is missing")))?;
    let index = sequence - 1;
    let (proof, root) = with_nodes(store, |node| {
        (
            merkle::inclusion_proof(index, tree_size, node),
            merkle::root_of(tree_size, node),
        )
    })
    .await?;
    assert!(
        merkle::verify_inclusion(index, tree_size, &leaf.leaf_hash(), &proof, &root),
        "a proof built from the stored tree verifies"
    );
    Ok((leaf, root, proof))
}

/// A checkpoint's note with the witnesses' cosignature lines after the
/// log's own signature: what `/log/checkpoint` and receipts publish.
pub async fn cosigned_note<S: Store>(
    store: &S,
    checkpoint: &LogCheckpoint,
) -> Result<String, StoreError> {
    let mut note = checkpoint.note.clone();
    for (_, line) in store.cosignatures(checkpoint.tree_size).await? {
        note.push_str(&line);
        note.push('\n');
    }
    Ok(note)
}

/// The proof that the tree of `old` entries is a prefix of the tree of
/// `new` entries, with both roots.
pub async fn consistency<S: Store>(
    store: &S,
    old: u64,
    new: u64,
) -> Result<(Hash32, Hash32, Vec<Hash32>), LogError> {
    let size = store.tree().await?.size();
    if new > size {
        return Err(LogError::BeyondTheTree { asked: new, size });
    }
    if old > new {
        return Err(LogError::BadSize);
    }
    let answer = with_nodes(store, |node| {
        (
            merkle::root_of(old, node),
            merkle::root_of(new, node),
            merkle::consistency_proof(old, new, node),
        )
    })
    .await?;
    Ok(answer)
}

async fn checkpoint_of<S: Store>(store: &S, size: u64) -> Result<Option<String>, StoreError> {
    let found = store.log_checkpoints_after(size - 1, 1).await?;
    Ok(found
        .into_iter()
        .find(|checkpoint| checkpoint.tree_size == size)
        .map(|checkpoint| checkpoint.note))
}

/// The receipt of entry `sequence` against the published checkpoint,
/// with its witnesses' cosignatures.
pub async fn receipt<S: Store>(
    store: &S,
    log: &Publication,
    sequence: u64,
    subject: String,
) -> Result<Receipt, LogError> {
    let latest = published_checkpoint(store, log).await?;
    let checkpoint = latest
        .filter(|checkpoint| checkpoint.tree_size >= sequence)
        .ok_or(LogError::NotYetCheckpointed(sequence))?;
    let (leaf, _, proof) = prove(store, sequence, checkpoint.tree_size).await?;
    Ok(Receipt {
        format: RECEIPT_FORMAT.into(),
        subject,
        sequence,
        leaf: BASE64.encode(leaf.record()),
        tree_size: checkpoint.tree_size,
        proof: proof.iter().map(|hash| BASE64.encode(hash)).collect(),
        checkpoint: cosigned_note(store, &checkpoint).await?,
    })
}

/// A tile's bytes: level `level`'s hashes `index·256 ..` (level 0…7:
/// merkle nodes of level 8·level), `width` of them (256 for a full tile).
pub async fn hash_tile<S: Store>(
    store: &S,
    level: u8,
    index: u64,
    width: u64,
) -> Result<Vec<u8>, LogError> {
    if level >= TILE_LEVELS || !(1..=TILE_WIDTH).contains(&width) {
        return Err(LogError::NoTile);
    }
    let from = index.checked_mul(TILE_WIDTH).ok_or(LogError::NoTile)?;
    let nodes = store.tree_level(8 * level, from, width).await?;
    if nodes.len() as u64 != width {
        return Err(LogError::NoTile);
    }
    Ok(nodes.into_iter().flat_map(|(_, hash)| hash).collect())
}

/// An entry bundle: the leaf records of entries `index·256 + 1 ..`,
/// `width` of them, each as a big-endian u16 length and the record.
pub async fn entry_tile<S: Store>(store: &S, index: u64, width: u64) -> Result<Vec<u8>, LogError> {
    if !(1..=TILE_WIDTH).contains(&width) {
        return Err(LogError::NoTile);
    }
    let from = index
        .checked_mul(TILE_WIDTH)
        .and_then(|first| first.checked_add(1))
        .ok_or(LogError::NoTile)?;
    let leaves = store.entry_leaves(from, width).await?;
    if leaves.len() as u64 != width {
        return Err(LogError::NoTile);
    }
    let mut out = Vec::new();
    for leaf in leaves {
        let record = leaf.record();
        let length = u16::try_from(record.len()).expect("a leaf record is short");
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&record);
    }
    Ok(out)
}

/// A tile path of C2SP tlog-tiles after `/tile/`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, where `<N>` is written in groups of three
/// digits, all but the last prefixed `x` (`x001/x234/067` = 1234067).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePath {
    /// `None` for an entry bundle.
    pub level: Option<u8>,
    pub index: u64,
    pub width: u64,
}

impl TilePath {
    pub fn parse(path: &str) -> Option<TilePath> {
        let (kind, rest) = path.split_once('/')?;
        let level = match kind {
            "entries" => None,
            digits if digits.len() == 1 && digits.as_bytes()[0].is_ascii_digit() => {
                Some(digits.parse().ok()?)
            }
            _ => return None,
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                if width.is_empty() || width.len() > 3 || width.starts_with('0') {
                    return None;
                }
                let width: u64 = width.parse().ok()?;
                if !(1..TILE_WIDTH).contains(&width) {
                    return None;
                }
                (index, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (at, group) in groups.iter().enumerate() {
            let last = at + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group.strip_prefix('x')?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            index = index
                .checked_mul(1000)?
                .checked_add(digits.parse::<u64>().ok()?)?;
        }
        if groups.len() > 7 {
            return None;
        }
        Some(TilePath {
            level,
            index,
            width,
        })
    }

    /// The canonical path (what `parse` reads), for links and tests.
    pub fn render(&self) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let index = groups
            .iter()
            .rev()
            .enumerate()
            .map(|(at, group)| {
                if at + 1 == groups.len() {
                    format!("{group:03}")
                } else {
                    format!("x{group:03}")
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let kind = self
            .level
            .map_or_else(|| "entries".to_string(), |level| level.to_string());
        if self.width == TILE_WIDTH {
            format!("{kind}/{index}")
        } else {
            format!("{kind}/{index}.p/{}", self.width)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_read_as_the_spec_writes_them() {
        let cases = [
            ("0/000", Some(0), 0, 256),
            ("0/001.p/5", Some(0), 1, 5),
            ("1/x001/x234/067", Some(1), 1_234_067, 256),
            ("entries/x001/234.p/255", None, 1_234, 255),
        ];
        for (path, level, index, width) in cases {
            let parsed = TilePath::parse(path).unwrap();
            assert_eq!(
                parsed,
                TilePath {
                    level,
                    index,
                    width
                },
                "{path}"
            );
            assert_eq!(parsed.render(), path);
        }
        for bad in [
            "0/1",
            "0/0001",
            "0/x001",
            "0/001/002",
            "0/001.p/0",
            "0/001.p/256",
            "0/001.p/07",
            "00/001",
            "a/001",
            "entries",
            "0/001.p/",
            "0/-01",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad}");
        }
    }
}

//! Storage reads of the Merkle tree over the entries (`ledger::merkle`):
//! stored nodes by id and by level range (proofs, tiles), the leaves of a
//! run of entries (tiles of entries, catching up, `verify`), and the tree's
//! size and right edge. The nodes themselves are written by the append
//! (`LedgerTx::append`); `catch_up` grows the tree over entries appended
//! before it existed.

use std::future::Future;

use super::{LedgerTx, Store, StoreError, TreeGrowth};
use crate::ledger::entry::Hash32;
use crate::ledger::merkle::{self, Frontier, NodeId};

/// Most node ids one `tree_nodes` call takes (a proof needs about 2·log₂ n).
pub const NODE_IDS_MAX: usize = 256;
/// Most leaves one `entry_leaves` call returns (one tile of entries is 256).
pub const LEAVES_MAX: u64 = 10_000;
/// Entries per transaction when catching up.
const CATCH_UP_BATCH: u64 = 10_000;

/// One entry as the tree sees it: what its leaf record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLeaf {
    pub sequence: u64,
    pub kind: String,
    pub hash: Hash32,
}

impl EntryLeaf {
    pub fn record(&self) -> Vec<u8> {
        merkle::leaf_record(self.sequence, &self.kind, &self.hash)
    }

    pub fn leaf_hash(&self) -> Hash32 {
        merkle::leaf_hash(&self.record())
    }
}

/// A signed checkpoint of the tree (a `log_checkpoints` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCheckpoint {
    pub tree_size: u64,
    pub root: Hash32,
    pub signed_at_us: i64,
    /// The whole C2SP signed note (text, blank line, signature lines).
    pub note: String,
}

/// Most log checkpoints one `log_checkpoints_after` call returns.
pub const LOG_CHECKPOINT_PAGE_MAX: u32 = 1000;

/// Most cosignatures kept per checkpoint (witnesses of one log).
pub const COSIGNATURES_MAX: usize = 32;

pub trait TreeStore {
    /// Stores a witness's cosignature line of checkpoint `tree_size`;
    /// `false` if that witness's is already there.
    fn insert_cosignature(
        &self,
        tree_size: u64,
        witness: &str,
        line: &str,
        received_at_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The cosignature lines of checkpoint `tree_size` (at most
    /// `COSIGNATURES_MAX`), by witness name.
    fn cosignatures(
        &self,
        tree_size: u64,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    /// Stores a signed tree checkpoint; `false` if one of that size exists.
    fn insert_log_checkpoint(
        &self,
        checkpoint: &LogCheckpoint,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The newest (largest) signed tree checkpoint of log `origin`.
    fn latest_log_checkpoint(
        &self,
        origin: &str,
    ) -> impl Future<Output = Result<Option<LogCheckpoint>, StoreError>> + Send;
    /// The newest signed tree checkpoint of log `origin` of size at most
    /// `at_most` that `witness` cosigned.
    fn latest_cosigned_checkpoint(
        &self,
        origin: &str,
        witness: &str,
        at_most: u64,
    ) -> impl Future<Output = Result<Option<LogCheckpoint>, StoreError>> + Send;
    /// Signed tree checkpoints of size > `after`, smallest first, at most
    /// `limit` (capped at `LOG_CHECKPOINT_PAGE_MAX`).
    fn log_checkpoints_after(
        &self,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogCheckpoint>, StoreError>> + Send;
    /// The stored tree: its size (entries in it) and right edge.
    fn tree(&self) -> impl Future<Output = Result<Frontier, StoreError>> + Send;
    /// The stored nodes among `ids` (at most `NODE_IDS_MAX`); absent ones
    /// are left out.
    fn tree_nodes(
        &self,
        ids: &[NodeId],
    ) -> impl Future<Output = Result<Vec<(NodeId, Hash32)>, StoreError>> + Send;
    /// The stored nodes of `level` with index in `from..from + count`, as
    /// (index, hash) in index order (fewer where the tree ends).
    fn tree_level(
        &self,
        level: u8,
        from: u64,
        count: u64,
    ) -> impl Future<Output = Result<Vec<(u64, Hash32)>, StoreError>> + Send;
    /// How many nodes the tree stores (2·n − popcount(n) for n entries).
    fn tree_node_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// The leaves of entries `from..`, in order, at most `limit` (capped at
    /// `LEAVES_MAX`).
    fn entry_leaves(
        &self,
        from: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<EntryLeaf>, StoreError>> + Send;
}

/// Reads the nodes a computation needs, then runs it on them. `Corrupt`
/// if one is missing (the computation asked beyond the stored tree: the
/// caller checks sizes against `tree()` first).
pub async fn with_nodes<S: Store, T>(
    store: &S,
    run: impl Fn(&mut dyn FnMut(NodeId) -> Hash32) -> T,
) -> Result<T, StoreError> {
    let ids = merkle::nodes_read(&run);
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(NODE_IDS_MAX) {
        found.extend(store.tree_nodes(chunk).await?);
    }
    if let Some(missing) = ids.iter().find(|id| !found.contains_key(id)) {
        return Err(StoreError::Corrupt(format!(
            "the tree has no node {missing:?}"
        )));
    }
    Ok(run(&mut |id| found[&id]))
}

/// Grows the tree over entries appended before it existed (a ledger from
/// before migration 0020), `CATCH_UP_BATCH` entries per transaction under
/// the head's lock. Returns how many entries it added; 0 when the tree is
/// whole (every later start).
pub async fn catch_up<S: Store>(store: &S) -> Result<u64, StoreError> {
    // Without the lock first: the tree is read before the head, and only
    // grows with it, so equal sizes mean it is whole (every start but the
    // first after migration 0020 stops here, taking no write lock).
    if store.tree().await?.size() == store.head().await?.sequence {
        return Ok(0);
    }
    let mut added = 0;
    loop {
        let mut tx = store.begin_append().await?;
        let start = tx.open_batch(&[], &[]).await?;
        let size = start.tree.size();
        if size >= start.head.sequence {
            return Ok(added);
        }
        let leaves = store.entry_leaves(size + 1, CATCH_UP_BATCH).await?;
        if leaves.first().map(|leaf| leaf.sequence) != Some(size + 1) {
            return Err(StoreError::Corrupt(format!(
                "entry {} is missing from the chain",
                size + 1
            )));
        }
        let count = leaves.len() as u64;
        let growth = TreeGrowth::of(start.tree, leaves.iter().map(EntryLeaf::leaf_hash));
        tx.append(&[], &[], &growth, &start.head).await?;
        tx.commit().await?;
        added += count;
        tracing::info!(tree_size = size + count, "Merkle tree caught up");
    }
}

pub(crate) const INSERT_LOG_CHECKPOINT: &str = "INSERT INTO log_checkpoints \
     (tree_size, root_hash, signed_at_us, note) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (tree_size) DO NOTHING";
/// The note of a checkpoint of log `origin` starts with `origin` and a
/// newline ($1 below is that prefix): processes configured with another
/// origin (a CLI command left at the default) may have signed others.
pub(crate) const SELECT_LATEST_LOG_CHECKPOINT: &str = "SELECT tree_size, root_hash, \
     signed_at_us, note FROM log_checkpoints WHERE substr(note, 1, length($1)) = $1 \
     ORDER BY tree_size DESC LIMIT 1";
pub(crate) const SELECT_LATEST_COSIGNED_CHECKPOINT: &str = "SELECT c.tree_size, c.root_hash, \
     c.signed_at_us, c.note FROM log_checkpoints c JOIN log_cosignatures s \
     ON s.tree_size = c.tree_size WHERE s.witness = $2 AND c.tree_size <= $3 \
     AND substr(c.note, 1, length($1)) = $1 \
     ORDER BY c.tree_size DESC LIMIT 1";
pub(crate) const SELECT_LOG_CHECKPOINTS_AFTER: &str = "SELECT tree_size, root_hash, \
     signed_at_us, note FROM log_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2";

pub(crate) type LogCheckpointRow = (i64, Vec<u8>, i64, String);

pub(crate) fn log_checkpoint(row: LogCheckpointRow) -> Result<LogCheckpoint, StoreError> {
    let (size, root, signed_at_us, note) = row;
    Ok(LogCheckpoint {
        tree_size: super::shared::to_u64(size, "tree size")?,
        root: root.try_into().map_err(|_| {
            StoreError::Corrupt(format!("log checkpoint {size}'s root is not 32 bytes"))
        })?,
        signed_at_us,
        note,
    })
}

pub(crate) const INSERT_COSIGNATURE: &str = "INSERT INTO log_cosignatures \
     (tree_size, witness, line, received_at_us) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (tree_size, witness) DO NOTHING";
pub(crate) const SELECT_COSIGNATURES: &str = "SELECT witness, line FROM log_cosignatures \
     WHERE tree_size = $1 ORDER BY witness LIMIT $2";

pub(crate) const SELECT_TREE: &str =
    "SELECT tree_size, tree_frontier FROM ledger_head WHERE id = 1";
pub(crate) const SELECT_LEVEL: &str = "SELECT idx, hash FROM merkle_nodes \
     WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
pub(crate) const SELECT_LEAVES: &str = "SELECT sequence, kind, hash FROM ledger_entries \
     WHERE sequence >= $1 ORDER BY sequence LIMIT $2";

/// Implements `TreeStore` for `$store` (field `pool`) over database `$db`;
/// needs a module function `map_err`.
macro_rules! impl_tree_store {
    ($store:ident, $db:ty) => {
        impl $crate::store::tree::TreeStore for $store {
            async fn insert_cosignature(
                &self,
                tree_size: u64,
                witness: &str,
                line: &str,
                received_at_us: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::tree::INSERT_COSIGNATURE)
                    .bind($crate::store::shared::to_i64(tree_size))
                    .bind(witness)
                    .bind(line)
                    .bind(received_at_us)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn cosignatures(
                &self,
                tree_size: u64,
            ) -> Result<Vec<(String, String)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::tree::SELECT_COSIGNATURES)
                    .bind($crate::store::shared::to_i64(tree_size))
                    .bind($crate::store::tree::COSIGNATURES_MAX as i64)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn insert_log_checkpoint(
                &self,
                checkpoint: &$crate::store::tree::LogCheckpoint,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::tree::INSERT_LOG_CHECKPOINT)
                    .bind($crate::store::shared::to_i64(checkpoint.tree_size))
                    .bind(checkpoint.root.to_vec())
                    .bind(checkpoint.signed_at_us)
                    .bind(checkpoint.note.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn latest_log_checkpoint(
                &self,
                origin: &str,
            ) -> Result<Option<$crate::store::tree::LogCheckpoint>, $crate::store::StoreError> {
                let row: Option<$crate::store::tree::LogCheckpointRow> =
                    sqlx::query_as($crate::store::tree::SELECT_LATEST_LOG_CHECKPOINT)
                        .bind(format!("{origin}\n"))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                row.map($crate::store::tree::log_checkpoint).transpose()
            }

            async fn latest_cosigned_checkpoint(
                &self,
                origin: &str,
                witness: &str,
                at_most: u64,
            ) -> Result<Option<$crate::store::tree::LogCheckpoint>, $crate::store::StoreError> {
                let row: Option<$crate::store::tree::LogCheckpointRow> =
                    sqlx::query_as($crate::store::tree::SELECT_LATEST_COSIGNED_CHECKPOINT)
                        .bind(format!("{origin}\n"))
                        .bind(witness)
                        .bind($crate::store::shared::to_i64(at_most.min(i64::MAX as u64)))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                row.map($crate::store::tree::log_checkpoint).transpose()
            }

            async fn log_checkpoints_after(
                &self,
                after: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::tree::LogCheckpoint>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::tree::LogCheckpointRow> =
                    sqlx::query_as($crate::store::tree::SELECT_LOG_CHECKPOINTS_AFTER)
                        .bind($crate::store::shared::to_i64(after))
                        .bind(i64::from(
                            limit.min($crate::store::tree::LOG_CHECKPOINT_PAGE_MAX),
                        ))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map($crate::store::tree::log_checkpoint)
                    .collect()
            }

            async fn tree(
                &self,
            ) -> Result<$crate::ledger::merkle::Frontier, $crate::store::StoreError> {
                let (size, frontier): (i64, Vec<u8>) =
                    sqlx::query_as($crate::store::tree::SELECT_TREE)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map_err)?;
                $crate::store::shared::frontier_from_row(size, &frontier)
            }

            async fn tree_nodes(
                &self,
                ids: &[$crate::ledger::merkle::NodeId],
            ) -> Result<
                Vec<(
                    $crate::ledger::merkle::NodeId,
                    $crate::ledger::entry::Hash32,
                )>,
                $crate::store::StoreError,
            > {
                assert!(
                    ids.len() <= $crate::store::tree::NODE_IDS_MAX,
                    "bounded lookups"
                );
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT level, idx, hash FROM merkle_nodes WHERE ",
                );
                let mut terms = query.separated(" OR ");
                for id in ids {
                    terms.push("(level = ");
                    terms.push_bind_unseparated(i16::from(id.level));
                    terms.push_unseparated(" AND idx = ");
                    terms.push_bind_unseparated($crate::store::shared::to_i64(id.index));
                    terms.push_unseparated(")");
                }
                let rows: Vec<(i16, i64, Vec<u8>)> = query
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter()
                    .map(|(level, index, hash)| {
                        let corrupt = || {
                            $crate::store::StoreError::Corrupt(format!(
                                "tree node ({level}, {index}) is malformed"
                            ))
                        };
                        let level = u8::try_from(level).map_err(|_| corrupt())?;
                        let index = u64::try_from(index).map_err(|_| corrupt())?;
                        let hash = hash.try_into().map_err(|_| corrupt())?;
                        Ok(($crate::ledger::merkle::NodeId::new(level, index), hash))
                    })
                    .collect()
            }

            async fn tree_level(
                &self,
                level: u8,
                from: u64,
                count: u64,
            ) -> Result<Vec<(u64, $crate::ledger::entry::Hash32)>, $crate::store::StoreError> {
                // Asked beyond any possible index (a public tile path
                // may name one): nothing is there.
                let Ok(from) = i64::try_from(from) else {
                    return Ok(Vec::new());
                };
                let to = from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX));
                let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as($crate::store::tree::SELECT_LEVEL)
                    .bind(i16::from(level))
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter()
                    .map(|(index, hash)| {
                        let hash = hash.try_into().map_err(|_| {
                            $crate::store::StoreError::Corrupt(format!(
                                "a tree node of level {level} is not 32 bytes"
                            ))
                        })?;
                        Ok(($crate::store::shared::to_u64(index, "node index")?, hash))
                    })
                    .collect()
            }

            async fn tree_node_count(&self) -> Result<u64, $crate::store::StoreError> {
                let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM merkle_nodes")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                $crate::store::shared::to_u64(count, "node count")
            }

            async fn entry_leaves(
                &self,
                from: u64,
                limit: u64,
            ) -> Result<Vec<$crate::store::tree::EntryLeaf>, $crate::store::StoreError> {
                let limit = limit.min($crate::store::tree::LEAVES_MAX);
                let Ok(from) = i64::try_from(from) else {
                    return Ok(Vec::new());
                };
                let rows: Vec<(i64, String, Vec<u8>)> =
                    sqlx::query_as($crate::store::tree::SELECT_LEAVES)
                        .bind(from)
                        .bind($crate::store::shared::to_i64(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map(|(sequence, kind, hash)| {
                        Ok($crate::store::tree::EntryLeaf {
                            sequence: $crate::store::shared::to_u64(sequence, "sequence")?,
                            kind,
                            hash: hash.try_into().map_err(|_| {
                                $crate::store::StoreError::Corrupt(format!(
                                    "entry {sequence}'s hash is not 32 bytes"
                                ))
                            })?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_tree_store;

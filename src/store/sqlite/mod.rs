//! Embedded SQLite backend: the zero-setup default.
//!
//! Durability settings: WAL journal, `synchronous=FULL` (every commit is
//! fsynced before it is acknowledged), foreign keys on. Write transactions
//! begin `IMMEDIATE`, so the write lock is taken up front and no statement
//! inside one meets `SQLITE_BUSY`; waiting for the lock is bounded by the
//! busy timeout and then retried by `begin_append`, so `database is locked`
//! never reaches a caller.

mod bulk;
mod chunked;
mod settlement;

use crate::store::backend::{BackendPool, BatchRowStream, BulkRows, LedgerRows, SettlementRows};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::shared;
use super::shared_impl::impl_shared_store;
use super::{Backend, BalanceWrite, BatchStart, ChainHead, StoreError, TreeGrowth, migrate};
use crate::ledger::entry::Entry;

/// How long one attempt waits for SQLite's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times `begin_append` retries a busy database before giving up
/// with `Unavailable` (so the total wait is bounded too).
const BEGIN_ATTEMPTS_MAX: u32 = 6;
/// Reader connections; the single writer per process uses one of them.
const POOL_CONNECTIONS_MAX: u32 = 8;
/// Connections for the idempotency response cache.
const CACHE_POOL_CONNECTIONS_MAX: u32 = 2;
/// Connections for append transactions.
const APPEND_POOL_CONNECTIONS_MAX: u32 = 2;
/// The append connections' page cache (`PRAGMA cache_size`, negative:
/// KiB): 32 MiB instead of SQLite's 2 MiB, so that a large transaction
/// (preparing a settlement run writes a line per redemption) does not
/// spill dirty pages to the WAL half-way and re-read what it just wrote.
/// Measured on 200,000 lines: writing them 2.0 s → 1.4 s, reading the
/// candidates 2.5 s → 1.6 s. At most 64 MiB for the two connections.
const WRITER_CACHE_SIZE: &str = "-32768";

#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// For the HTTP idempotency response cache only: commits without
    /// waiting for fsync (`synchronous=NORMAL` in WAL mode). Exactly-once
    /// rests on the ledger entry's idempotency key, committed durably with
    /// the effect; a cached response lost in a crash is rebuilt by the
    /// retry (docs/decisions/0005-idempotency-cache-is-not-fsynced.md).
    cache_pool: SqlitePool,
    /// For append transactions only, so the writer never queues behind
    /// request handlers for a connection.
    append_pool: SqlitePool,
    /// Test hook: appends that must fail (`Store::write_faults`).
    faults: super::WriteFaults,
}

pub struct SqliteTx {
    pub(super) tx: sqlx::Transaction<'static, Sqlite>,
    faults: super::WriteFaults,
}

/// SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
fn is_busy(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "262" | "517" | "773")
}

pub(super) fn map_err(error: sqlx::Error) -> StoreError {
    shared::classify(error, is_busy)
}

/// The durability settings every connection uses (WAL, `synchronous=FULL`,
/// foreign keys, busy timeout); the benchmark baseline uses them too.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::UnsupportedUrl)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT))
}

impl SqliteStore {
    /// Opens (creating if missing, with its parent directory) the database
    /// at a `sqlite://PATH` URL.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let options = connect_options(url)?;
        // The file holds password and token hashes and bank accounts:
        // created 0600 in a 0700 directory (crate::private_file).
        let path = Path::new(options.get_filename());
        if !path.as_os_str().is_empty() && path != Path::new(":memory:") {
            crate::private_file::prepare_database_file(path)
                .map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
        }
        SqliteStore::with_pools(options).await
    }

    async fn with_pools(options: SqliteConnectOptions) -> Result<SqliteStore, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .acquire_timeout(BUSY_TIMEOUT * BEGIN_ATTEMPTS_MAX)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let cache_pool = SqlitePoolOptions::new()
            .max_connections(CACHE_POOL_CONNECTIONS_MAX)
            .acquire_timeout(BUSY_TIMEOUT * BEGIN_ATTEMPTS_MAX)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(map_err)?;
        let append_pool = SqlitePoolOptions::new()
            .max_connections(APPEND_POOL_CONNECTIONS_MAX)
            .acquire_timeout(BUSY_TIMEOUT * BEGIN_ATTEMPTS_MAX)
            .connect_with(options.pragma("cache_size", WRITER_CACHE_SIZE))
            .await
            .map_err(map_err)?;
        Ok(SqliteStore {
            pool,
            cache_pool,
            append_pool,
            faults: super::WriteFaults::default(),
        })
    }

    /// Nothing to stop: one file, no hosts to follow.
    pub(super) fn stop_watching(&self) {}

    /// Opens a database that must already exist (nothing is created).
    pub async fn connect_existing(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::with_pools(connect_options(url)?.create_if_missing(false)).await
    }

    /// Writes a consistent copy of the whole database to the new file
    /// `path` (`VACUUM INTO`: one read transaction, so the copy is the
    /// database as of one moment while writers go on).
    pub async fn copy_into(&self, path: &Path) -> Result<(), StoreError> {
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

/// `BEGIN IMMEDIATE` on `pool`, retried while another process holds the lock.
async fn begin_immediate(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
    let mut attempt = 0;
    loop {
        match pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err) {
            Err(StoreError::Unavailable(error)) if attempt + 1 < BEGIN_ATTEMPTS_MAX => {
                attempt += 1;
                tracing::debug!(attempt, %error, "sqlite write lock busy, retrying");
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// Rows per multi-row INSERT and values per IN list: far below SQLite's
/// limit of 32,766 bind parameters.
const ROWS_PER_STATEMENT_MAX: usize = 400;

const SELECT_KEYED: &str = "SELECT idempotency_key, sequence, hash, recorded_at_us, kind, command_digest \
     FROM ledger_entries WHERE idempotency_key IN ";
const SELECT_BALANCES_OF: &str =
    "SELECT account, balance_fen FROM account_balances WHERE account IN ";
const INSERT_ENTRIES: &str = "INSERT INTO ledger_entries \
     (sequence, kind, body, actor, recorded_at_us, idempotency_key, command_digest, prev_hash, hash) ";
const INSERT_NODES: &str = "INSERT INTO merkle_nodes (level, idx, hash) ";
const INSERT_POSTINGS: &str =
    "INSERT INTO ledger_postings (sequence, posting_index, account, side, amount_fen) ";
/// Compare-and-set: applies only if the row still holds the balance read
/// at the start of the batch.
const UPDATE_BALANCE_CAS: &str = "UPDATE account_balances SET balance_fen = $1, last_sequence = $2 \
     WHERE account = $3 AND balance_fen = $4";
const INSERT_BALANCE: &str = "INSERT INTO account_balances (account, normal_sign, balance_fen, last_sequence) VALUES ($1, $2, $3, $4)";

/// Bulk operations. Preparing a statement is cheap and local in SQLite, so
/// multi-row VALUES and IN lists sized to the batch are the simple choice.
impl SqliteTx {
    async fn insert_entry_rows(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        chunked::insert(
            &mut self.tx,
            INSERT_ENTRIES,
            entries,
            ROWS_PER_STATEMENT_MAX,
            |mut row, entry| {
                row.push_bind(shared::to_i64(entry.sequence))
                    .push_bind(entry.kind.as_str())
                    .push_bind(entry.body.as_slice())
                    .push_bind(entry.actor.as_str())
                    .push_bind(entry.recorded_at.as_micros())
                    .push_bind(entry.idempotency_key.as_str())
                    .push_bind(entry.command_digest.as_slice())
                    .push_bind(entry.prev_hash.as_slice())
                    .push_bind(entry.hash.as_slice());
            },
        )
        .await?;
        let postings = shared::PostingColumns::of(entries);
        let rows: Vec<usize> = (0..postings.len()).collect();
        chunked::insert(
            &mut self.tx,
            INSERT_POSTINGS,
            &rows,
            ROWS_PER_STATEMENT_MAX,
            |mut row, &i| {
                row.push_bind(postings.sequences[i])
                    .push_bind(postings.indexes[i])
                    .push_bind(postings.accounts[i].as_str())
                    .push_bind(postings.sides[i])
                    .push_bind(postings.amounts_fen[i]);
            },
        )
        .await
    }

    async fn write_balance_rows(&mut self, writes: &[BalanceWrite]) -> Result<u64, StoreError> {
        let mut applied = 0;
        for write in writes {
            let last_sequence = shared::to_i64(write.last_sequence);
            let query = match write.previous_fen {
                Some(previous) => sqlx::query(UPDATE_BALANCE_CAS)
                    .bind(write.balance_fen)
                    .bind(last_sequence)
                    .bind(write.account.as_str())
                    .bind(previous),
                None => sqlx::query(INSERT_BALANCE)
                    .bind(write.account.as_str())
                    .bind(write.normal_sign)
                    .bind(write.balance_fen)
                    .bind(last_sequence),
            };
            applied += query
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(applied)
    }
}

impl_shared_store!(SqliteStore, SqliteTx, Sqlite, Backend::Sqlite);

crate::store::access::sql::impl_access_store!(SqliteStore, SqliteTx);
crate::store::registry::store_impl::impl_registry_store!(SqliteStore, SqliteTx);
crate::store::voucher::sql::impl_voucher_store!(SqliteStore, SqliteTx);
crate::store::redemption::sql::impl_redemption_store!(SqliteStore, SqliteTx, Sqlite);
crate::store::hold::sql::impl_hold_store!(SqliteStore, SqliteTx, Sqlite);
crate::store::offline::sql::impl_offline_store!(SqliteStore, SqliteTx, Sqlite);
crate::store::offline::tx_sql::impl_offline_tx!(SqliteTx, Sqlite);
crate::store::personal::sql::impl_personal_store!(SqliteStore, SqliteTx);
crate::store::short_code::impl_short_code_store!(SqliteStore);
crate::store::tree::impl_tree_store!(SqliteStore, Sqlite);
crate::store::settlement::store_impl::impl_settlement_store!(
    SqliteStore,
    SqliteTx,
    Sqlite,
    month_expr = "strftime('%Y-%m', ({us}) / 1000000 + 28800, 'unixepoch')"
);

impl crate::store::backend::BackendPool for SqliteStore {
    type Tx = SqliteTx;

    async fn begin_backend(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx {
            tx: begin_immediate(&self.append_pool).await?,
            faults: self.faults.clone(),
        })
    }

    async fn migrate_backend(&self) -> Result<Vec<u32>, StoreError> {
        // BEGIN IMMEDIATE serialises concurrent migrators.
        let mut tx = begin_immediate(&self.pool).await?;
        let applied = SqliteStore::apply_migrations(&mut tx, migrate::SQLITE).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(applied)
    }
}

impl crate::store::backend::LedgerRows for SqliteTx {
    /// The IMMEDIATE transaction already holds SQLite's single write lock,
    /// so reading the head row is enough to own it.
    async fn open_batch_rows(
        &mut self,
        keys: &[&str],
        accounts: &[&str],
    ) -> Result<BatchStart, StoreError> {
        let (sequence, hash, at, tree_size, frontier): (i64, Vec<u8>, i64, i64, Vec<u8>) =
            sqlx::query_as(shared::SELECT_HEAD_AND_TREE)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)?;
        let keyed: Vec<shared::KeyedRow> = chunked::select_in(
            &mut self.tx,
            keys,
            ROWS_PER_STATEMENT_MAX,
            |builder, list| list(builder.push(SELECT_KEYED)),
            Ok,
        )
        .await?;
        Ok(BatchStart {
            head: shared::head_from_row(sequence, hash, at)?,
            tree: shared::frontier_from_row(tree_size, &frontier)?,
            keyed: keyed
                .into_iter()
                .map(shared::keyed_from_row)
                .collect::<Result<_, _>>()?,
            balances: self.select_balances(accounts).await?,
        })
    }

    /// Entries, postings, balances and head, statement by statement (each
    /// is a local call); returns how many balance rows were written.
    async fn append_rows(
        &mut self,
        entries: &[Entry],
        balances: &[BalanceWrite],
        tree: &TreeGrowth,
        head: &ChainHead,
    ) -> Result<u64, StoreError> {
        self.insert_entry_rows(entries).await?;
        let applied = self.write_balance_rows(balances).await?;
        chunked::insert(
            &mut self.tx,
            INSERT_NODES,
            &tree.nodes,
            ROWS_PER_STATEMENT_MAX,
            |mut row, (id, hash)| {
                row.push_bind(i64::from(id.level))
                    .push_bind(shared::to_i64(id.index))
                    .push_bind(hash.as_slice());
            },
        )
        .await?;
        sqlx::query(shared::UPDATE_HEAD)
            .bind(shared::to_i64(head.sequence))
            .bind(head.hash.to_vec())
            .bind(head.recorded_at.as_micros())
            .bind(shared::to_i64(tree.frontier.size()))
            .bind(tree.frontier.encode())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(applied)
    }

    async fn select_balances(
        &mut self,
        accounts: &[&str],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        chunked::select_in(
            &mut self.tx,
            accounts,
            ROWS_PER_STATEMENT_MAX,
            |builder, list| list(builder.push(SELECT_BALANCES_OF)),
            Ok,
        )
        .await
    }
}

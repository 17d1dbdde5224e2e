//! PostgreSQL backend: production, and the path to scale.
//!
//! Many stateless app instances may append to one database: each append
//! transaction locks the single `ledger_head` row with `SELECT … FOR
//! UPDATE`, so appends are totally ordered across processes and the chain
//! stays gapless. Commits are durable with the server's default
//! `synchronous_commit = on`.

mod bulk;
pub mod hosts;

use crate::store::backend::{BackendPool, BatchRowStream, BulkRows, LedgerRows, SettlementRows};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::shared;
use super::shared_impl::impl_shared_store;
use super::{Backend, BalanceWrite, BatchStart, ChainHead, StoreError, TreeGrowth, migrate};
use crate::ledger::entry::Entry;

/// Connections per app instance. Appends use one at a time; the rest serve
/// reads.
const POOL_CONNECTIONS_MAX: u32 = 16;
/// How long a request waits for a free connection before `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Key for `pg_advisory_xact_lock` while migrating ("VLMIGRAT" in ASCII).
/// Connections for the idempotency response cache.
const CACHE_POOL_CONNECTIONS_MAX: u32 = 2;
/// Connections for append transactions.
const APPEND_POOL_CONNECTIONS_MAX: u32 = 2;
const MIGRATION_LOCK_KEY: i64 = 0x564c_4d49_4752_4154;

#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
    /// For the HTTP idempotency response cache only: sessions with
    /// `synchronous_commit = off`, so a cache write does not wait for a
    /// WAL flush. Exactly-once rests on the ledger entry's idempotency
    /// key, committed durably with the effect; a cached response lost in a
    /// crash is rebuilt by the retry
    /// (docs/decisions/0005-idempotency-cache-is-not-fsynced.md).
    cache_pool: PgPool,
    /// For append transactions only, so the writer never queues behind
    /// request handlers for a connection (one writer per process; a second
    /// connection covers a CLI tool sharing the store).
    append_pool: PgPool,
    /// Test hook: appends that must fail (`Store::write_faults`).
    faults: super::WriteFaults,
    /// The database's hosts and which one is the primary.
    hosts: std::sync::Arc<hosts::Hosts>,
}

pub struct PostgresTx {
    pub(super) tx: sqlx::Transaction<'static, Postgres>,
    faults: super::WriteFaults,
}

/// Serialization failure, deadlock, the server going away, and a write
/// reaching a server that is (now) a read-only standby.
fn is_busy(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "25006"
    ) || code.starts_with("08")
}

/// Pool options that close, when next taken, a connection opened before
/// the pools moved to another host.
fn pool_options(hosts: &std::sync::Arc<hosts::Hosts>, max: u32) -> PgPoolOptions {
    let options = PgPoolOptions::new()
        .test_before_acquire(false)
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    if !hosts.is_multi_host() {
        return options;
    }
    let hosts = std::sync::Arc::clone(hosts);
    options.before_acquire(move |_, meta| {
        let fresh = !hosts.is_stale(meta.age);
        Box::pin(async move { Ok(fresh) })
    })
}

/// The idempotency cache's sessions: no wait for the WAL flush.
fn cache_options(options: &PgConnectOptions) -> PgConnectOptions {
    options.clone().options([("synchronous_commit", "off")])
}

/// The writer plans each execution with the tables as they are now.
/// A cached generic plan chosen while the ledger was empty (a
/// sequential scan) would otherwise be kept as it grows, and its
/// idempotency look-ups (`= ANY` over a batch's keys) would slow
/// down linearly with the ledger's length.
/// Request reads and the idempotency cache keep Postgres's default
/// (`auto`): they are key look-ups whose plan does not depend on
/// the table's size, and re-planning every one of them cost a fifth
/// of the claim path's CPU (`bench issue`, docs/operations.md).
fn append_options(options: &PgConnectOptions) -> PgConnectOptions {
    options
        .clone()
        .options([("plan_cache_mode", "force_custom_plan")])
}

pub(super) fn map_err(error: sqlx::Error) -> StoreError {
    shared::classify(error, is_busy)
}

impl PostgresStore {
    /// Connects to the primary among `url`'s hosts (one, or several:
    /// `hosts`), and with several, follows the primary when it moves.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let hosts = hosts::Hosts::resolve(url).await?;
        let options = hosts.current();
        // No liveness ping when a connection is taken from a pool: it is
        // a round trip per request and per batch. A connection the server
        // dropped fails its next statement instead, which maps to
        // `Unavailable` (a batch retries; a request answers 503 and may be
        // retried with its idempotency key), and sqlx discards it.
        let pool = pool_options(&hosts, POOL_CONNECTIONS_MAX)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let cache_pool = pool_options(&hosts, CACHE_POOL_CONNECTIONS_MAX)
            .connect_with(cache_options(&options))
            .await
            .map_err(map_err)?;
        let append_pool = pool_options(&hosts, APPEND_POOL_CONNECTIONS_MAX)
            .connect_with(append_options(&options))
            .await
            .map_err(map_err)?;
        let pools = (pool.clone(), cache_pool.clone(), append_pool.clone());
        hosts.watch(move |primary| {
            pools.0.set_connect_options(primary.clone());
            pools.1.set_connect_options(cache_options(primary));
            pools.2.set_connect_options(append_options(primary));
        });
        Ok(PostgresStore {
            pool,
            cache_pool,
            append_pool,
            faults: super::WriteFaults::default(),
            hosts,
        })
    }

    /// Stops following the primary (the store is closing).
    pub(super) fn stop_watching(&self) {
        self.hosts.stop();
    }

    /// The pool, for tests and tools that need backend-specific SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The same connection URL naming another database (the path), keeping
/// credentials, host and query options. Used to create scratch databases.
pub fn url_with_database(url: &str, database: &str) -> Result<String, StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or(StoreError::UnsupportedUrl)?;
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

impl crate::store::backend::BackendPool for PostgresStore {
    type Tx = PostgresTx;

    async fn begin_backend(&self) -> Result<PostgresTx, StoreError> {
        Ok(PostgresTx {
            tx: self
                .append_pool
                .begin_with(BEGIN_LOCKING_HEAD)
                .await
                .map_err(map_err)?,
            faults: self.faults.clone(),
        })
    }

    async fn migrate_backend(&self) -> Result<Vec<u32>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Concurrent migrators (several app instances starting at once)
        // wait here for each other.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let applied = PostgresStore::apply_migrations(&mut tx, migrate::POSTGRES).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(applied)
    }
}

impl crate::store::backend::LedgerRows for PostgresTx {
    async fn open_batch_rows(
        &mut self,
        keys: &[&str],
        accounts: &[&str],
    ) -> Result<BatchStart, StoreError> {
        let rows: Vec<BatchStartRow> = sqlx::query_as(SELECT_BATCH_START)
            .bind(keys)
            .bind(accounts)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let mut head = None;
        let mut keyed = Vec::new();
        let mut balances = Vec::new();
        for (part, name, number, hash, at, kind, digest, tree_size) in rows {
            let missing = || StoreError::Corrupt(format!("batch start row {part} is incomplete"));
            match part {
                0 => {
                    let ((hash, at), (frontier, size)) = hash
                        .zip(at)
                        .zip(digest.zip(tree_size))
                        .ok_or_else(missing)?;
                    head = Some((
                        shared::head_from_row(number, hash, at)?,
                        shared::frontier_from_row(size, &frontier)?,
                    ));
                }
                1 => {
                    let (((key, hash), (at, kind)), digest) = name
                        .zip(hash)
                        .zip(at.zip(kind))
                        .zip(digest)
                        .ok_or_else(missing)?;
                    keyed.push(shared::keyed_from_row((
                        key, number, hash, at, kind, digest,
                    ))?);
                }
                _ => balances.push((name.ok_or_else(missing)?, number)),
            }
        }
        let (head, tree) =
            head.ok_or_else(|| StoreError::Corrupt("the chain head row is missing".into()))?;
        Ok(BatchStart {
            head,
            tree,
            keyed,
            balances,
        })
    }

    async fn append_rows(
        &mut self,
        entries: &[Entry],
        balances: &[BalanceWrite],
        tree: &TreeGrowth,
        head: &ChainHead,
    ) -> Result<u64, StoreError> {
        let column = |f: fn(&Entry) -> Vec<u8>| entries.iter().map(f).collect::<Vec<Vec<u8>>>();
        let postings = shared::PostingColumns::of(entries);
        let (updates, inserts): (Vec<&BalanceWrite>, Vec<&BalanceWrite>) =
            balances.iter().partition(|w| w.previous_fen.is_some());
        let accounts = |rows: &[&BalanceWrite]| {
            rows.iter()
                .map(|w| w.account.clone())
                .collect::<Vec<String>>()
        };
        let amounts =
            |rows: &[&BalanceWrite]| rows.iter().map(|w| w.balance_fen).collect::<Vec<i64>>();
        let sequences = |rows: &[&BalanceWrite]| {
            rows.iter()
                .map(|w| shared::to_i64(w.last_sequence))
                .collect::<Vec<i64>>()
        };
        let (written,): (i64,) = sqlx::query_as(APPEND_BATCH)
            .bind(
                entries
                    .iter()
                    .map(|e| shared::to_i64(e.sequence))
                    .collect::<Vec<i64>>(),
            )
            .bind(
                entries
                    .iter()
                    .map(|e| e.kind.as_str())
                    .collect::<Vec<&str>>(),
            )
            .bind(column(|e| e.body.clone()))
            .bind(
                entries
                    .iter()
                    .map(|e| e.actor.as_str())
                    .collect::<Vec<&str>>(),
            )
            .bind(
                entries
                    .iter()
                    .map(|e| e.recorded_at.as_micros())
                    .collect::<Vec<i64>>(),
            )
            .bind(
                entries
                    .iter()
                    .map(|e| e.idempotency_key.as_str())
                    .collect::<Vec<&str>>(),
            )
            .bind(column(|e| e.command_digest.to_vec()))
            .bind(column(|e| e.prev_hash.to_vec()))
            .bind(column(|e| e.hash.to_vec()))
            .bind(&postings.sequences)
            .bind(&postings.indexes)
            .bind(&postings.accounts)
            .bind(&postings.sides)
            .bind(&postings.amounts_fen)
            .bind(accounts(&updates))
            .bind(
                updates
                    .iter()
                    .map(|w| w.previous_fen.unwrap_or(0))
                    .collect::<Vec<i64>>(),
            )
            .bind(amounts(&updates))
            .bind(sequences(&updates))
            .bind(accounts(&inserts))
            .bind(
                inserts
                    .iter()
                    .map(|w| w.normal_sign as i16)
                    .collect::<Vec<i16>>(),
            )
            .bind(amounts(&inserts))
            .bind(sequences(&inserts))
            .bind(shared::to_i64(head.sequence))
            .bind(head.hash.to_vec())
            .bind(head.recorded_at.as_micros())
            .bind(
                tree.nodes
                    .iter()
                    .map(|(id, _)| i16::from(id.level))
                    .collect::<Vec<i16>>(),
            )
            .bind(
                tree.nodes
                    .iter()
                    .map(|(id, _)| shared::to_i64(id.index))
                    .collect::<Vec<i64>>(),
            )
            .bind(
                tree.nodes
                    .iter()
                    .map(|(_, hash)| hash.to_vec())
                    .collect::<Vec<Vec<u8>>>(),
            )
            .bind(shared::to_i64(tree.frontier.size()))
            .bind(tree.frontier.encode())
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(written).unwrap_or(0))
    }

    async fn select_balances(
        &mut self,
        accounts: &[&str],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(SELECT_BALANCES_OF)
            .bind(accounts)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)
    }
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn swaps_only_the_database_name() {
        let cases = [
            ("postgres://u:p@h:5432/db", "postgres://u:p@h:5432/x"),
            (
                "postgres://h/db?host=/run/pg&user=root",
                "postgres://h/x?host=/run/pg&user=root",
            ),
            ("postgresql://h", "postgresql://h/x"),
        ];
        for (url, expected) in cases {
            assert_eq!(url_with_database(url, "x").unwrap(), expected);
        }
    }
}

/// Sent with BEGIN as one simple query, so taking the chain-head lock
/// costs no round trip of its own. FOR UPDATE: the next appender in any
/// process waits here until this transaction commits or rolls back.
const BEGIN_LOCKING_HEAD: &str = "BEGIN; SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE";
/// What a batch starts from, in one statement run after the lock is held
/// (so, in READ COMMITTED, with a snapshot that includes every earlier
/// batch): part 0 is the head, part 1 the entries recorded under the
/// batch's idempotency keys, part 2 the balances of its accounts. The
/// head's row carries the tree's right edge (in the digest column) and
/// size (the last).
const SELECT_BATCH_START: &str = "\
     SELECT 0::int2, NULL::text, sequence, hash, recorded_at_us, NULL::text, tree_frontier, tree_size \
       FROM ledger_head WHERE id = 1 \
     UNION ALL \
     SELECT 1::int2, idempotency_key, sequence, hash, recorded_at_us, kind, command_digest, NULL::int8 \
       FROM ledger_entries WHERE idempotency_key = ANY($1) \
     UNION ALL \
     SELECT 2::int2, account, balance_fen, NULL, NULL, NULL, NULL, NULL \
       FROM account_balances WHERE account = ANY($2)";
type BatchStartRow = (
    i16,
    Option<String>,
    i64,
    Option<Vec<u8>>,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<i64>,
);
const SELECT_BALANCES_OF: &str =
    "SELECT account, balance_fen FROM account_balances WHERE account = ANY($1)";
/// A batch's whole write in one statement: entries (ORDER BY keeps them in
/// sequence order, which the extend-chain trigger relies on), postings,
/// balances — compare-and-set for rows that exist, each applying only if it
/// still holds the balance read at the start of the batch, and inserts for
/// new accounts — the Merkle tree's new nodes, and the head with the
/// tree's right edge. Rows arrive as parallel arrays, so the text
/// is the same whatever the batch size and is parsed once per connection.
/// Returns how many balance rows were written.
const APPEND_BATCH: &str = "\
     WITH entries AS ( \
       INSERT INTO ledger_entries \
         (sequence, kind, body, actor, recorded_at_us, idempotency_key, command_digest, prev_hash, hash) \
       SELECT * FROM UNNEST($1::int8[], $2::text[], $3::bytea[], $4::text[], $5::int8[], $6::text[], \
         $7::bytea[], $8::bytea[], $9::bytea[]) ORDER BY 1), \
     postings AS ( \
       INSERT INTO ledger_postings (sequence, posting_index, account, side, amount_fen) \
       SELECT * FROM UNNEST($10::int8[], $11::int4[], $12::text[], $13::text[], $14::int8[])), \
     updated AS ( \
       UPDATE account_balances AS b \
       SET balance_fen = u.balance_fen, last_sequence = u.last_sequence \
       FROM UNNEST($15::text[], $16::int8[], $17::int8[], $18::int8[]) \
         AS u(account, previous_fen, balance_fen, last_sequence) \
       WHERE b.account = u.account AND b.balance_fen = u.previous_fen \
       RETURNING 1), \
     inserted AS ( \
       INSERT INTO account_balances (account, normal_sign, balance_fen, last_sequence) \
       SELECT * FROM UNNEST($19::text[], $20::int2[], $21::int8[], $22::int8[]) \
       RETURNING 1), \
     nodes AS ( \
       INSERT INTO merkle_nodes (level, idx, hash) \
       SELECT * FROM UNNEST($26::int2[], $27::int8[], $28::bytea[])), \
     head AS ( \
       UPDATE ledger_head SET sequence = $23, hash = $24, recorded_at_us = $25, \
         tree_size = $29, tree_frontier = $30 WHERE id = 1) \
     SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)";

/// The batch path: two statements before deciding, one after. Each is one
/// statement text whatever the batch size (arrays instead of VALUES
/// lists), so Postgres parses it once per connection and reuses it.
impl PostgresTx {}

impl_shared_store!(PostgresStore, PostgresTx, Postgres, Backend::Postgres);

crate::store::access::sql::impl_access_store!(PostgresStore, PostgresTx);
crate::store::registry::store_impl::impl_registry_store!(PostgresStore, PostgresTx);
crate::store::voucher::sql::impl_voucher_store!(PostgresStore, PostgresTx);
crate::store::redemption::sql::impl_redemption_store!(PostgresStore, PostgresTx, Postgres);
crate::store::hold::sql::impl_hold_store!(PostgresStore, PostgresTx, Postgres);
crate::store::offline::sql::impl_offline_store!(PostgresStore, PostgresTx, Postgres);
crate::store::offline::tx_sql::impl_offline_tx!(PostgresTx, Postgres);
crate::store::personal::sql::impl_personal_store!(PostgresStore, PostgresTx);
crate::store::short_code::impl_short_code_store!(PostgresStore);
crate::store::tree::impl_tree_store!(PostgresStore, Postgres);
crate::store::settlement::store_impl::impl_settlement_store!(
    PostgresStore,
    PostgresTx,
    Postgres,
    month_expr = "to_char(to_timestamp(({us}) / 1000000.0 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM')"
);

//! PostgreSQL backend: production, and the path to scale.
//!
//! Many stateless app instances may append to one database: each append
//! transaction locks the single `ledger_head` row with `SELECT … FOR
//! UPDATE`, so appends are totally ordered across processes and the chain
//! stays gapless. Commits are durable with the server's default
//! `synchronous_commit = on`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::shared::{self, impl_shared_store};
use super::{Backend, BalanceWrite, StoreError, migrate};
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
    pool: PgPool,
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
}

pub struct PostgresTx {
    pub(super) tx: sqlx::Transaction<'static, Postgres>,
}

/// Serialization failure, deadlock, and the server going away.
fn is_busy(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
    ) || code.starts_with("08")
}

pub(super) fn map_err(error: sqlx::Error) -> StoreError {
    shared::classify(error, is_busy)
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::UnsupportedUrl)?
            // Plan each execution with the table as it is now. A cached
            // generic plan chosen while the ledger was empty (a sequential
            // scan) would otherwise be kept as it grows, and idempotency
            // look-ups would slow down linearly with the ledger's length.
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let cache_pool = PgPoolOptions::new()
            .max_connections(CACHE_POOL_CONNECTIONS_MAX)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone().options([("synchronous_commit", "off")]))
            .await
            .map_err(map_err)?;
        let append_pool = PgPoolOptions::new()
            .max_connections(APPEND_POOL_CONNECTIONS_MAX)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        Ok(PostgresStore {
            pool,
            cache_pool,
            append_pool,
        })
    }

    async fn begin_backend(&self) -> Result<PostgresTx, StoreError> {
        Ok(PostgresTx {
            tx: self.append_pool.begin().await.map_err(map_err)?,
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

const SELECT_KEYED: &str = "SELECT idempotency_key, sequence, hash, recorded_at_us, kind, command_digest \
     FROM ledger_entries WHERE idempotency_key = ANY($1)";
const SELECT_BALANCES_OF: &str =
    "SELECT account, balance_fen FROM account_balances WHERE account = ANY($1)";
/// Rows arrive as parallel arrays; ORDER BY keeps insertion in sequence
/// order, which the extend-chain trigger relies on.
const INSERT_ENTRIES: &str = "INSERT INTO ledger_entries \
     (sequence, kind, body, actor, recorded_at_us, idempotency_key, command_digest, prev_hash, hash) \
     SELECT * FROM UNNEST($1::int8[], $2::text[], $3::bytea[], $4::text[], $5::int8[], $6::text[], \
       $7::bytea[], $8::bytea[], $9::bytea[]) ORDER BY 1";
const INSERT_POSTINGS: &str = "INSERT INTO ledger_postings (sequence, posting_index, account, side, amount_fen) \
     SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::text[], $4::text[], $5::int8[])";
/// Compare-and-set for every row at once: a row applies only if it still
/// holds the balance read at the start of the batch.
const UPDATE_BALANCES_CAS: &str = "UPDATE account_balances AS b \
     SET balance_fen = u.balance_fen, last_sequence = u.last_sequence \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::int8[]) AS u(account, previous_fen, balance_fen, last_sequence) \
     WHERE b.account = u.account AND b.balance_fen = u.previous_fen";
const INSERT_BALANCES: &str = "INSERT INTO account_balances (account, normal_sign, balance_fen, last_sequence) \
     SELECT * FROM UNNEST($1::text[], $2::int2[], $3::int8[], $4::int8[])";

/// Bulk operations. Each is one statement whatever the batch size (arrays
/// instead of VALUES lists), so Postgres parses and plans it once per
/// connection and reuses the prepared statement.
impl PostgresTx {
    async fn select_keyed(&mut self, keys: &[&str]) -> Result<Vec<shared::KeyedRow>, StoreError> {
        sqlx::query_as(SELECT_KEYED)
            .bind(keys)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)
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

    async fn insert_entry_rows(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        let column = |f: fn(&Entry) -> Vec<u8>| entries.iter().map(f).collect::<Vec<Vec<u8>>>();
        sqlx::query(INSERT_ENTRIES)
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
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let postings = shared::PostingColumns::of(entries);
        sqlx::query(INSERT_POSTINGS)
            .bind(&postings.sequences)
            .bind(&postings.indexes)
            .bind(&postings.accounts)
            .bind(&postings.sides)
            .bind(&postings.amounts_fen)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn write_balance_rows(&mut self, writes: &[BalanceWrite]) -> Result<u64, StoreError> {
        let (updates, inserts): (Vec<&BalanceWrite>, Vec<&BalanceWrite>) =
            writes.iter().partition(|w| w.previous_fen.is_some());
        let mut applied = 0;
        if !updates.is_empty() {
            applied += sqlx::query(UPDATE_BALANCES_CAS)
                .bind(
                    updates
                        .iter()
                        .map(|w| w.account.as_str())
                        .collect::<Vec<&str>>(),
                )
                .bind(
                    updates
                        .iter()
                        .map(|w| w.previous_fen.unwrap_or(0))
                        .collect::<Vec<i64>>(),
                )
                .bind(updates.iter().map(|w| w.balance_fen).collect::<Vec<i64>>())
                .bind(
                    updates
                        .iter()
                        .map(|w| shared::to_i64(w.last_sequence))
                        .collect::<Vec<i64>>(),
                )
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        if !inserts.is_empty() {
            applied += sqlx::query(INSERT_BALANCES)
                .bind(
                    inserts
                        .iter()
                        .map(|w| w.account.as_str())
                        .collect::<Vec<&str>>(),
                )
                .bind(
                    inserts
                        .iter()
                        .map(|w| w.normal_sign as i16)
                        .collect::<Vec<i16>>(),
                )
                .bind(inserts.iter().map(|w| w.balance_fen).collect::<Vec<i64>>())
                .bind(
                    inserts
                        .iter()
                        .map(|w| shared::to_i64(w.last_sequence))
                        .collect::<Vec<i64>>(),
                )
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(applied)
    }
}

/// FOR UPDATE: the next appender in any process waits here until this
/// transaction commits or rolls back.
const LOCK_HEAD: &str =
    "SELECT sequence, hash, recorded_at_us FROM ledger_head WHERE id = 1 FOR UPDATE";

impl_shared_store!(
    PostgresStore,
    PostgresTx,
    Postgres,
    Backend::Postgres,
    lock_head = LOCK_HEAD
);

crate::store::access_sql::impl_access_store!(PostgresStore, PostgresTx);
crate::store::registry_sql::impl_registry_store!(PostgresStore, PostgresTx);
crate::store::voucher_sql::impl_voucher_store!(PostgresStore, PostgresTx);
crate::store::redemption_sql::impl_redemption_store!(PostgresStore, PostgresTx, Postgres);
crate::store::settlement_sql::impl_settlement_store!(
    PostgresStore,
    PostgresTx,
    Postgres,
    month_expr = "to_char(to_timestamp(({us}) / 1000000.0 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM')"
);

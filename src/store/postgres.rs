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
use super::{Backend, StoreError, migrate};

/// Connections per app instance. Appends use one at a time; the rest serve
/// reads.
const POOL_CONNECTIONS_MAX: u32 = 16;
/// How long a request waits for a free connection before `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Key for `pg_advisory_xact_lock` while migrating ("VLMIGRAT" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x564c_4d49_4752_4154;

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

pub struct PostgresTx {
    tx: sqlx::Transaction<'static, Postgres>,
}

/// Serialization failure, deadlock, and the server going away.
fn is_busy(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03") || code.starts_with("08")
}

fn map_err(error: sqlx::Error) -> StoreError {
    shared::classify(error, is_busy)
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::UnsupportedUrl)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(PostgresStore { pool })
    }

    async fn begin_backend(&self) -> Result<PostgresTx, StoreError> {
        Ok(PostgresTx {
            tx: self.pool.begin().await.map_err(map_err)?,
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

/// FOR UPDATE: the next appender in any process waits here until this
/// transaction commits or rolls back.
const LOCK_HEAD: &str = "SELECT sequence, hash, recorded_at_us FROM ledger_head WHERE id = 1 FOR UPDATE";

impl_shared_store!(
    PostgresStore,
    PostgresTx,
    Postgres,
    Backend::Postgres,
    lock_head = LOCK_HEAD
);

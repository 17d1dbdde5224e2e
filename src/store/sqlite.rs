//! Embedded SQLite backend: the zero-setup default.
//!
//! Durability settings: WAL journal, `synchronous=FULL` (every commit is
//! fsynced before it is acknowledged), foreign keys on. Write transactions
//! begin `IMMEDIATE`, so the write lock is taken up front and no statement
//! inside one meets `SQLITE_BUSY`; waiting for the lock is bounded by the
//! busy timeout and then retried by `begin_append`, so `database is locked`
//! never reaches a caller.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::shared::{self, impl_shared_store};
use super::{Backend, StoreError, migrate};

/// How long one attempt waits for SQLite's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times `begin_append` retries a busy database before giving up
/// with `Unavailable` (so the total wait is bounded too).
const BEGIN_ATTEMPTS_MAX: u32 = 6;
/// Reader connections; the single writer per process uses one of them.
const POOL_CONNECTIONS_MAX: u32 = 8;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

pub struct SqliteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
}

/// SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
fn is_busy(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "262" | "517" | "773")
}

fn map_err(error: sqlx::Error) -> StoreError {
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
        if let Some(parent) = Path::new(options.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .acquire_timeout(BUSY_TIMEOUT * BEGIN_ATTEMPTS_MAX)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(SqliteStore { pool })
    }

    async fn begin_backend(&self) -> Result<SqliteTx, StoreError> {
        Ok(SqliteTx {
            tx: self.begin_immediate().await?,
        })
    }

    async fn migrate_backend(&self) -> Result<Vec<u32>, StoreError> {
        // BEGIN IMMEDIATE serialises concurrent migrators.
        let mut tx = self.begin_immediate().await?;
        let applied = SqliteStore::apply_migrations(&mut tx, migrate::SQLITE).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(applied)
    }

    /// `BEGIN IMMEDIATE`, retried while another process holds the lock.
    async fn begin_immediate(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        let mut attempt = 0;
        loop {
            match self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err) {
                Err(StoreError::Unavailable(error)) if attempt + 1 < BEGIN_ATTEMPTS_MAX => {
                    attempt += 1;
                    tracing::debug!(attempt, %error, "sqlite write lock busy, retrying");
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }
}

// The IMMEDIATE transaction already holds SQLite's single write lock, so
// reading the head row is enough to own it.
impl_shared_store!(
    SqliteStore,
    SqliteTx,
    Sqlite,
    Backend::Sqlite,
    lock_head = shared::SELECT_HEAD
);

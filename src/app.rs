//! Start-up: pick the backend from the database URL, once.
//!
//! Everything that needs a store is written generically over `S: Store` and
//! launched through `with_store`, which opens the right backend and runs
//! the job with static dispatch (no `sqlx::Any`).

use std::future::Future;

use crate::store::{Backend, PostgresStore, SqliteStore, Store, StoreError};

/// The default embedded database, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/voucher-ledger.db";
/// Where `serve` keeps its ledger signing key by default.
pub const DEFAULT_KEY_FILE: &str = "./data/ledger-signing-key";
/// Where `serve` listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A job that runs against whichever backend the URL names.
pub trait StoreJob {
    type Output;
    fn run<S: Store>(self, store: S) -> impl Future<Output = Self::Output> + Send;
}

/// Connects to `url` (creating an embedded database if needed), applies
/// migrations, runs `job`, and closes the pool.
pub async fn with_store<J: StoreJob>(url: &str, job: J) -> Result<J::Output, StoreError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => run(SqliteStore::connect(url).await?, job).await,
        Backend::Postgres => run(PostgresStore::connect(url).await?, job).await,
    }
}

/// Opens an existing database without creating or migrating anything, and
/// runs `job`: for verification, which must not write to what it checks.
pub async fn with_existing_store<J: StoreJob>(url: &str, job: J) -> Result<J::Output, StoreError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => finish(SqliteStore::connect_existing(url).await?, job).await,
        Backend::Postgres => finish(PostgresStore::connect(url).await?, job).await,
    }
}

async fn run<S: Store, J: StoreJob>(store: S, job: J) -> Result<J::Output, StoreError> {
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(
            ?applied,
            backend = store.backend().as_str(),
            "migrations applied"
        );
    }
    finish(store, job).await
}

async fn finish<S: Store, J: StoreJob>(store: S, job: J) -> Result<J::Output, StoreError> {
    let output = job.run(store.clone()).await;
    store.close().await;
    Ok(output)
}

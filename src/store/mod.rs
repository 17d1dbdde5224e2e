//! Storage: one trait, one implementation per database.
//!
//! `Store` is what the rest of the system sees; `SqliteStore` (embedded, the
//! zero-setup default) and `PostgresStore` (production, many app instances)
//! implement it, chosen once at start-up from the URL scheme
//! (`sqlite://…`, `postgres://…`) with static dispatch. No `sqlx::Any`.
//!
//! Appends happen inside a `LedgerTx`: a write transaction that holds the
//! chain head locked, so appends from every process form one total order.

use std::future::Future;

use crate::domain::Timestamp;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::entry::{Entry, GENESIS_PREV_HASH, Hash32};
use crate::ledger::merkle::{Frontier, NodeId};
use crate::ledger::verify::ProjectedBalance;

pub mod access;
mod backend;
pub mod hold;
pub mod migrate;
pub mod offline;
pub mod personal;
pub mod postgres;
pub mod redemption;
pub mod registry;
pub mod settlement;
mod shared;
mod shared_impl;
pub mod short_code;
pub mod sqlite;
pub mod tree;
pub mod voucher;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Store failures, in the terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    /// The database cannot be reached or stayed busy past the retry budget.
    /// Retrying later (with the same idempotency key) is safe.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A unique or check constraint refused the write.
    #[error("constraint {constraint} refused the write")]
    Conflict {
        constraint: String,
        #[source]
        source: sqlx::Error,
    },
    /// Stored data does not decode into the ledger's types: the database
    /// was changed outside this program.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Database(sqlx::Error),
}

/// The last appended entry, or sequence 0 and the genesis hash when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub sequence: u64,
    pub hash: Hash32,
    pub recorded_at: Timestamp,
}

impl ChainHead {
    pub const EMPTY: ChainHead = ChainHead {
        sequence: 0,
        hash: GENESIS_PREV_HASH,
        recorded_at: Timestamp::from_micros(0),
    };
}

/// What an append transaction starts from (see `LedgerTx::open_batch`).
#[derive(Debug, Clone)]
pub struct BatchStart {
    pub head: ChainHead,
    /// The Merkle tree's right edge as stored with the head.
    pub tree: Frontier,
    pub keyed: Vec<KeyedEntry>,
    pub balances: Vec<(String, i64)>,
}

/// What an append adds to the Merkle tree: the complete subtrees its
/// entries finish, and the tree's new right edge (stored with the head).
#[derive(Debug, Clone, Default)]
pub struct TreeGrowth {
    pub nodes: Vec<(NodeId, Hash32)>,
    pub frontier: Frontier,
}

impl TreeGrowth {
    /// Grows `tree` by one leaf per entry, in order.
    pub fn of(tree: Frontier, leaves: impl IntoIterator<Item = Hash32>) -> TreeGrowth {
        let mut frontier = tree;
        let mut nodes = Vec::new();
        for leaf in leaves {
            nodes.extend(frontier.push(leaf));
        }
        TreeGrowth { nodes, frontier }
    }
}

/// What an earlier entry with a given idempotency key recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedEntry {
    pub idempotency_key: String,
    pub sequence: u64,
    pub hash: Hash32,
    pub recorded_at: Timestamp,
    pub kind: String,
    pub command_digest: Hash32,
}

/// Which entries a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Entries after / before these sequences.
    pub after: Option<u64>,
    pub before: Option<u64>,
    /// One kind only (`EntryKind::as_str`).
    pub kind: Option<String>,
    /// Recorded at or after / before these instants (µs).
    pub from_us: Option<i64>,
    pub until_us: Option<i64>,
    pub newest_first: bool,
}

/// A ledger public key as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerKeyRecord {
    pub key_id: String,
    pub public_key: ed25519_dalek::VerifyingKey,
    pub created_at: Timestamp,
}

/// Bound on entries returned by one read, so a page never holds the ledger.
pub const ENTRY_PAGE_MAX: u32 = 1000;

/// The database behind the ledger.
pub trait Store:
    access::AccessStore
    + registry::RegistryStore
    + voucher::VoucherStore
    + redemption::RedemptionStore
    + hold::HoldStore
    + offline::OfflineStore
    + personal::PersonalStore
    + short_code::ShortCodeStore
    + settlement::SettlementStore
    + tree::TreeStore
    + Clone
    + Send
    + Sync
    + 'static
{
    type Tx: WriteTx;

    fn backend(&self) -> Backend;

    /// Opens the database at `url` (which must name this backend).
    fn open(url: &str) -> impl Future<Output = Result<Self, StoreError>> + Send;

    /// Starts a write transaction for appending. On SQLite this is
    /// `BEGIN IMMEDIATE` (the write lock is taken now, so no statement in
    /// the transaction can meet `SQLITE_BUSY`); on Postgres the chain-head
    /// lock is requested in the same round trip as BEGIN. Either way the
    /// head is locked once `LedgerTx::open_batch` returns.
    fn begin_append(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Rows whose references `verify` must check, described (at most
    /// ten): vouchers and redemptions whose programme, enterprise,
    /// provider, issuer key or voucher does not exist (Postgres keeps no
    /// foreign keys on these rows, docs/decisions/0008); redemptions whose
    /// copied voucher issue time and face value are not their voucher's;
    /// live settlement lines whose copied voucher, service category,
    /// contract amount, invoice number or confirmation time are not their
    /// redemption's, or whose redemption is missing (docs/decisions/0009).
    fn broken_references(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Applies pending migrations (idempotent; safe with concurrent callers).
    fn migrate(&self) -> impl Future<Output = Result<Vec<u32>, StoreError>> + Send;

    /// Succeeds when the database answers a trivial query.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What `/readyz` asks of the database: does it accept writes (a
    /// PostgreSQL standby does not), and are its migrations this binary's.
    fn readiness(&self) -> impl Future<Output = Result<Readiness, StoreError>> + Send;

    /// The main pool's connections, for `/metrics`.
    fn pool_stats(&self) -> PoolStats;

    /// How long getting a connection of the main pool takes now (a probe
    /// for `/metrics`: above zero when requests queue for connections).
    fn acquire_probe(&self)
    -> impl Future<Output = Result<std::time::Duration, StoreError>> + Send;

    /// Idempotency-Key responses stored.
    fn idempotency_key_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The stored chain head (a projection that `verify` checks).
    fn head(&self) -> impl Future<Output = Result<ChainHead, StoreError>> + Send;

    /// Entries with `sequence >= from`, in order, at most `limit` (capped
    /// at `ENTRY_PAGE_MAX`), each with its postings.
    fn entries(
        &self,
        from: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// Sequences of the entries `filter` selects, oldest or newest first,
    /// at most `limit` (capped at `ENTRY_PAGE_MAX`): the auditor's
    /// listing by kind and time. A rare kind scans the table from the
    /// cursor until it has `limit` (there is no index on kind).
    fn entry_sequences(
        &self,
        filter: &EntryFilter,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// The balance projection for every account, in account-name order.
    fn balances(&self) -> impl Future<Output = Result<Vec<ProjectedBalance>, StoreError>> + Send;

    /// One account's projected balance (0 if it has never been posted to).
    fn balance_of(&self, account: &str) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Balances of accounts named after `after`, in name order, at most
    /// `limit` (capped at `ENTRY_PAGE_MAX`): for paging through the chart.
    fn balances_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ProjectedBalance>, StoreError>> + Send;

    /// Every checkpoint in sequence order.
    fn checkpoints(&self) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send;

    /// At most `limit` checkpoints with a sequence below `before`, newest
    /// first (a page of the checkpoint list).
    fn checkpoints_before(
        &self,
        before: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Checkpoint>, StoreError>> + Send;

    fn latest_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// Stores a checkpoint; `false` if one for that sequence already exists
    /// (another process signed it first).
    fn insert_checkpoint(
        &self,
        checkpoint: &Checkpoint,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Publishes a ledger public key (no-op if already present).
    fn register_ledger_key(
        &self,
        key: &LedgerKeyRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn ledger_keys(&self) -> impl Future<Output = Result<Vec<LedgerKeyRecord>, StoreError>> + Send;

    /// What the vouchers, redemptions and payouts tables say the accounts
    /// that mirror them hold, as parts to add up per account name
    /// (outstanding vouchers, payables, payouts pending and paid; paid
    /// before recoveries, which only the ledger records).
    fn mirrored_balances(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;

    /// The test hook that makes chosen appends fail (see `WriteFaults`).
    fn write_faults(&self) -> &WriteFaults;

    /// Closes the pool, waiting for connections to be returned.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// The database's side of readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// False on a read-only database (a PostgreSQL hot standby).
    pub writable: bool,
    /// The newest migration applied, and the newest this binary knows.
    pub migration_applied: u32,
    pub migration_known: u32,
}

/// The main pool's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Open now (idle or in use).
    pub size: u32,
    pub idle: u32,
    /// Most the pool opens.
    pub max: u32,
}

/// A test hook shared by a store and its transactions: an append
/// transaction that writes an entry whose idempotency key is armed here
/// fails after its rows are written, with a non-transient database error,
/// as a value the database refuses would. It lets tests show that the
/// writer isolates the failing command and commits its batch-mates on
/// both backends. Nothing arms it outside tests; unarmed, it costs one
/// atomic load per batch.
#[derive(Clone, Default)]
pub struct WriteFaults {
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    keys: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl WriteFaults {
    /// Makes every append of an entry with this idempotency key fail.
    pub fn fail_appends_of(&self, idempotency_key: &str) {
        self.keys
            .lock()
            .expect("write fault keys")
            .insert(idempotency_key.to_string());
        self.armed.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Fails when one of `entries` carries an armed key.
    pub(crate) fn check(&self, entries: &[Entry]) -> Result<(), StoreError> {
        if !self.armed.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(());
        }
        let keys = self.keys.lock().expect("write fault keys");
        match entries
            .iter()
            .find(|entry| keys.contains(&entry.idempotency_key))
        {
            Some(entry) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "injected write fault for idempotency key {}",
                entry.idempotency_key
            )))),
            None => Ok(()),
        }
    }
}

/// A new balance for one account, written at the end of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceWrite {
    pub account: String,
    /// +1 for debit-normal accounts, -1 for credit-normal ones.
    pub normal_sign: i64,
    /// The balance read at the start of the batch (`None`: no row yet).
    /// The write only applies if the row still holds it (compare-and-set).
    pub previous_fen: Option<i64>,
    pub balance_fen: i64,
    pub last_sequence: u64,
}

/// Everything the writer's transaction does: the ledger's own tables and
/// every feature's rows, in one transaction under the chain-head lock.
pub trait WriteTx:
    LedgerTx
    + access::AccessTx
    + registry::RegistryTx
    + voucher::VoucherTx
    + redemption::RedemptionTx
    + hold::HoldTx
    + offline::OfflineTx
    + personal::PersonalTx
    + settlement::SettlementTx
    + Send
{
}

impl<T> WriteTx for T where
    T: LedgerTx
        + access::AccessTx
        + registry::RegistryTx
        + voucher::VoucherTx
        + redemption::RedemptionTx
        + hold::HoldTx
        + offline::OfflineTx
        + personal::PersonalTx
        + settlement::SettlementTx
        + Send
{
}

/// One account's balance as the transaction sees it (0 if never posted).
pub async fn balance_in<T: LedgerTx + Send>(
    tx: &mut T,
    account: &crate::ledger::account::Account,
) -> Result<i64, StoreError> {
    let name = account.to_string();
    Ok(tx
        .load_balances(&[name.as_str()])
        .await?
        .into_iter()
        .find(|(account, _)| *account == name)
        .map_or(0, |(_, balance)| balance))
}

/// One append transaction. Dropping it without `commit` rolls back.
///
/// The writer uses it as load → decide → write: it locks the head, loads
/// the idempotency keys and balances the batch touches, decides every
/// command in memory, then writes entries, balances and the head.
pub trait LedgerTx: Send {
    /// Locks the chain head for the rest of the transaction and reads what
    /// a batch starts from: the head, the entries already recorded under
    /// any of `keys`, and the balances of `accounts`. Every appender, in
    /// every process, passes through the lock, so what the transaction
    /// reads afterwards cannot change under it. (Postgres takes the lock
    /// in the round trip that begins the transaction and reads the rest in
    /// one more.)
    fn open_batch(
        &mut self,
        keys: &[&str],
        accounts: &[&str],
    ) -> impl Future<Output = Result<BatchStart, StoreError>> + Send;

    /// Projected balances of these accounts (absent rows are left out).
    fn load_balances(
        &mut self,
        accounts: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;

    /// Appends entries (in sequence order) with their postings, writes the
    /// new balances, adds the tree's new nodes and moves the stored head
    /// (and the tree's right edge) to `head`. Each balance is
    /// written only if its row still holds `previous_fen` (or, for `None`,
    /// does not exist yet); if any does not, the batch fails with
    /// `Corrupt`. The CHECK on the table refuses a balance on the wrong
    /// side of zero whatever the caller computed.
    fn append(
        &mut self,
        entries: &[Entry],
        balances: &[BalanceWrite],
        tree: &TreeGrowth,
        head: &ChainHead,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

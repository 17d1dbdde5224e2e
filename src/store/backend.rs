//! The named interface between the portable SQL and each backend. The
//! `impl_*_store!` macros hold the SQL both databases share (~80 % of it)
//! and call these methods for what each backend does its own way: the
//! chain-head lock and the batch's reads, multi-row writes (SQLite's
//! chunked VALUES lists, Postgres's UNNEST arrays), the preparation cursor
//! and the streamed 兑付表. Each backend implements every trait here; the
//! compiler checks the signatures, not a naming convention.

use std::future::Future;

use uuid::Uuid;

use super::redemption::{RedemptionRecord, VoucherUse};
use super::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use super::settlement::{BatchRow, CandidateCursor, CandidateRow, LineRecord};
use super::voucher::{ClaimedSoFar, VoucherRecord};
use super::{BalanceWrite, BatchStart, ChainHead, StoreError, TreeGrowth};
use crate::ledger::entry::Entry;

/// A backend's pool: transactions and migrations.
pub trait BackendPool: Sync {
    type Tx;
    /// Begins an append transaction (the head is locked by `open_batch_rows`).
    fn begin_backend(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
    /// Applies pending migrations; returns the versions applied.
    fn migrate_backend(&self) -> impl Future<Output = Result<Vec<u32>, StoreError>> + Send;
}

/// The ledger's own rows in an append transaction.
pub trait LedgerRows: Send {
    /// Locks the chain head; reads the head, the entries under `keys`, and
    /// the balances of `accounts`.
    fn open_batch_rows(
        &mut self,
        keys: &[&str],
        accounts: &[&str],
    ) -> impl Future<Output = Result<BatchStart, StoreError>> + Send;
    /// Writes entries and postings, the balances (compare-and-set), the
    /// tree's nodes and the head with the tree's right edge; returns how
    /// many balance rows changed.
    fn append_rows(
        &mut self,
        entries: &[Entry],
        balances: &[BalanceWrite],
        tree: &TreeGrowth,
        head: &ChainHead,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Projected balances of `accounts` (absent rows left out).
    fn select_balances(
        &mut self,
        accounts: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
}

/// Many rows at once: what a batch of issues and redemptions reads and
/// writes in a few statements.
pub trait BulkRows: Send {
    fn bulk_consume_vouchers(
        &mut self,
        uses: &[VoucherUse],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn bulk_insert_redemptions(
        &mut self,
        records: &[RedemptionRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn bulk_vouchers_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<VoucherRecord>, StoreError>> + Send;
    fn bulk_nonces_used(
        &mut self,
        nonces: &[String],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    fn bulk_enterprise_totals(
        &mut self,
        ids: &[Uuid],
        fiscal_year: i32,
    ) -> impl Future<Output = Result<Vec<(Uuid, String, i64)>, StoreError>> + Send;
    fn bulk_enterprises_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<EnterpriseRecord>, StoreError>> + Send;
    fn bulk_tags_and_blacklist(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError>> + Send;
    fn bulk_claimed_so_far(
        &mut self,
        ids: &[Uuid],
        programme_code: &str,
    ) -> impl Future<Output = Result<Vec<(Uuid, ClaimedSoFar)>, StoreError>> + Send;
    fn bulk_insert_vouchers(
        &mut self,
        records: &[VoucherRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Settlement's own rows: a preparation's cursor over candidates and its
/// lines, written many at a time.
pub trait SettlementRows: Send {
    fn refresh_line_statistics(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn bulk_insert_settlement_lines(
        &mut self,
        lines: &[LineRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn open_candidates_backend(
        &mut self,
        programme: &str,
        end_us: i64,
    ) -> impl Future<Output = Result<CandidateCursor, StoreError>> + Send;
    fn next_candidates_backend(
        &mut self,
        cursor: &mut CandidateCursor,
        programme: &str,
        end_us: i64,
    ) -> impl Future<Output = Result<Vec<CandidateRow>, StoreError>> + Send;
}

/// A run's 兑付表 rows streamed in packs, in line order, from a read
/// transaction of their own.
pub trait BatchRowStream: Sync {
    fn stream_batch_rows_backend(
        &self,
        run_id: Uuid,
        provider: Option<Uuid>,
        sink: tokio::sync::mpsc::Sender<Result<Vec<BatchRow>, StoreError>>,
    ) -> impl Future<Output = ()> + Send;
}

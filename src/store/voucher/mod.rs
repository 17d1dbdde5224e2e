//! Storage for vouchers: the projection of `voucher_issued` (and later
//! redemption) entries that claims, lists and verification read. Writes
//! happen only inside the ledger writer's transaction through `VoucherTx`,
//! next to the entry that records them.

pub(super) mod sql;

use std::future::Future;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::ProgrammeCode;
use crate::domain::status::VoucherStatus;

use super::StoreError;

/// A `vouchers` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherRecord {
    pub id: Uuid,
    pub programme_code: ProgrammeCode,
    pub enterprise_id: Uuid,
    pub enterprise_uscc: String,
    pub face_value_fen: i64,
    pub remaining_fen: i64,
    /// Days in UTC+8, both inclusive.
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub service_categories: Vec<String>,
    pub issued_sequence: u64,
    pub key_id: String,
    pub signature: [u8; 64],
    pub status: VoucherStatus,
    /// claim, allocation or reissue.
    pub via: String,
    pub replaces_id: Option<Uuid>,
    pub issued_at_us: i64,
}

/// What an enterprise already holds from a programme (for its caps):
/// vouchers that were neither replaced nor revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimedSoFar {
    pub face_value_fen: i64,
    pub count: u32,
}

/// Which vouchers a list shows.
#[derive(Debug, Clone, Default)]
pub struct VoucherFilter {
    pub enterprise_id: Option<Uuid>,
    pub programme_code: Option<String>,
    pub key_id: Option<String>,
    pub status: Option<VoucherStatus>,
}

/// Bound on one page of vouchers.
pub const VOUCHER_PAGE_MAX: u32 = 500;

pub trait VoucherStore {
    fn voucher(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<VoucherRecord>, StoreError>> + Send;
    /// The voucher issued by the entry at `sequence`, if that entry issued one.
    fn voucher_issued_at(
        &self,
        sequence: u64,
    ) -> impl Future<Output = Result<Option<VoucherRecord>, StoreError>> + Send;
    /// What `enterprise_id` holds from `programme_code`.
    fn claimed_so_far(
        &self,
        enterprise_id: Uuid,
        programme_code: &str,
    ) -> impl Future<Output = Result<ClaimedSoFar, StoreError>> + Send;
    /// Vouchers matching `filter` with id after `after` (ids are UUID v7,
    /// so this is issue order), at most `limit` (clamped to
    /// `VOUCHER_PAGE_MAX`).
    fn vouchers_after(
        &self,
        filter: &VoucherFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<VoucherRecord>, StoreError>> + Send;
    /// For each issuer key that signed a voucher still usable (not replaced
    /// or revoked), the last day one of them is valid: how long the key
    /// must stay published.
    fn key_voucher_horizons(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
}

pub trait VoucherTx {
    fn voucher(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<VoucherRecord>, StoreError>> + Send;
    /// What `enterprise_id` holds from `programme_code`.
    fn claimed_so_far(
        &mut self,
        enterprise_id: Uuid,
        programme_code: &str,
    ) -> impl Future<Output = Result<ClaimedSoFar, StoreError>> + Send;
    /// What each of these enterprises holds from `programme_code` (absent
    /// ones hold nothing).
    fn claimed_so_far_many(
        &mut self,
        enterprise_ids: &[Uuid],
        programme_code: &str,
    ) -> impl Future<Output = Result<Vec<(Uuid, ClaimedSoFar)>, StoreError>> + Send;
    /// These vouchers (absent ids are left out), in one query.
    fn vouchers_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<VoucherRecord>, StoreError>> + Send;
    /// Inserts vouchers with multi-row statements.
    fn insert_vouchers(
        &mut self,
        records: &[VoucherRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn set_voucher_status(
        &mut self,
        id: Uuid,
        status: &str,
        updated_at_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

//! Redemption rows: what a provider recorded against a voucher, as the
//! ledger's entries left it. Written only by the ledger writer, in the
//! transaction of the entry that changes it.

pub(super) mod sql;

use std::future::Future;

use uuid::Uuid;

use super::StoreError;
use crate::domain::ProgrammeCode;
use crate::domain::status::{RedemptionStatus, VoucherStatus};

/// A `redemptions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRecord {
    pub id: Uuid,
    pub voucher_id: Uuid,
    pub programme_code: ProgrammeCode,
    pub provider_id: Uuid,
    pub enterprise_id: Uuid,
    pub service_category: String,
    pub contract_number: String,
    pub description: String,
    pub contract_amount_fen: i64,
    pub subsidy_fen: i64,
    /// Value a single-use voucher gave back to the budget.
    pub returned_fen: i64,
    pub single_use: bool,
    /// Hex nonce of the rotating presentation shown, if any.
    pub presentation_nonce: Option<String>,
    pub invoice: Option<InvoiceRecord>,
    pub payment_proof_ref: Option<String>,
    pub fiscal_year: i32,
    pub status: RedemptionStatus,
    pub redeemed_sequence: u64,
    pub redeemed_at_us: i64,
    /// The enterprise's 1–5 rating and comment, when it confirmed.
    pub rating: Option<i32>,
    pub comment: Option<String>,
    pub confirmed_at_us: Option<i64>,
    pub dispute_reason: Option<String>,
    /// The admin's note on a dispute, or the reason of a reversal.
    pub resolution_note: Option<String>,
    /// The voucher's issue time and face value, copied when redeemed
    /// (settlement's 套现 signals read them; migration 0014).
    pub voucher_issued_at_us: i64,
    pub voucher_face_value_fen: i64,
}

/// A guarded status change of a redemption: applies only while it is
/// still `from`. `None` fields keep their value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionUpdate {
    pub id: Uuid,
    pub from: RedemptionStatus,
    pub to: RedemptionStatus,
    pub rating: Option<i32>,
    pub comment: Option<String>,
    pub confirmed_at_us: Option<i64>,
    pub dispute_reason: Option<String>,
    pub resolution_note: Option<String>,
    pub updated_at_us: i64,
}

/// A guarded change of a voucher's value and status: applies only while
/// it still has `from_status` and `from_remaining_fen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherValueUpdate {
    pub id: Uuid,
    pub from_status: VoucherStatus,
    pub from_remaining_fen: i64,
    pub to_status: VoucherStatus,
    pub to_remaining_fen: i64,
    pub updated_at_us: i64,
}

/// The VAT invoice from provider to enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub code: String,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub amount_fen: i64,
}

/// What a batch's redemptions took from one voucher, applied with one
/// guarded update: `used_fen` in total, leaving it in `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherUse {
    pub voucher_id: Uuid,
    pub used_fen: i64,
    pub status: VoucherStatus,
    pub updated_at_us: i64,
}

/// Subsidy already redeemed this fiscal year (unreversed redemptions), for
/// the annual caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RedeemedTotals {
    /// By the provider, across programmes.
    pub provider_fen: i64,
    /// By the enterprise, from the programme.
    pub enterprise_fen: i64,
}

/// Which totals to read.
#[derive(Debug, Clone, Copy)]
pub struct TotalsQuery<'a> {
    pub provider_id: Uuid,
    pub enterprise_id: Uuid,
    pub programme_code: &'a str,
    pub fiscal_year: i32,
}

/// Which redemptions a list shows.
#[derive(Debug, Clone, Default)]
pub struct RedemptionFilter {
    pub provider_id: Option<Uuid>,
    pub enterprise_id: Option<Uuid>,
    pub voucher_id: Option<Uuid>,
    pub status: Option<RedemptionStatus>,
}

/// Bound on one page of redemptions.
pub const REDEMPTION_PAGE_MAX: u32 = 500;

pub trait RedemptionStore {
    fn redemption(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RedemptionRecord>, StoreError>> + Send;
    /// The redemption recorded by the entry at `sequence`, if it recorded one.
    fn redemption_recorded_at(
        &self,
        sequence: u64,
    ) -> impl Future<Output = Result<Option<RedemptionRecord>, StoreError>> + Send;
    /// Redemptions matching `filter` with id after `after` (UUID v7: in
    /// order of recording), at most `limit` (clamped to
    /// `REDEMPTION_PAGE_MAX`).
    fn redemptions_after(
        &self,
        filter: &RedemptionFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RedemptionRecord>, StoreError>> + Send;
    fn redeemed_totals(
        &self,
        query: TotalsQuery<'_>,
    ) -> impl Future<Output = Result<RedeemedTotals, StoreError>> + Send;
    /// Active vouchers whose last valid day is before `today`
    /// (`YYYY-MM-DD`), oldest first, at most `limit`.
    fn vouchers_expired_before(
        &self,
        today: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
    /// Pending redemptions of `programme_code` recorded before
    /// `before_us`, oldest first, at most `limit`.
    fn pending_redemptions_before(
        &self,
        programme_code: &str,
        before_us: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;
    /// Whether a redemption already used this presentation nonce.
    fn presentation_used(
        &self,
        nonce: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait RedemptionTx {
    fn redeemed_totals(
        &mut self,
        query: TotalsQuery<'_>,
    ) -> impl Future<Output = Result<RedeemedTotals, StoreError>> + Send;
    fn presentation_used(
        &mut self,
        nonce: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn redemption(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RedemptionRecord>, StoreError>> + Send;
    /// Applies `update` if the redemption is still in `update.from`; the
    /// number of rows changed (0 or 1).
    fn update_redemption(
        &mut self,
        update: &RedemptionUpdate,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Applies `update` if the voucher still holds what it expects; the
    /// number of rows changed (0 or 1).
    fn update_voucher_value(
        &mut self,
        update: &VoucherValueUpdate,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Which of these presentation nonces a redemption already used.
    fn nonces_used(
        &mut self,
        nonces: &[String],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Subsidy of unreversed redemptions in `fiscal_year`, per (enterprise,
    /// programme), for these enterprises (absent pairs have none).
    fn enterprise_totals_many(
        &mut self,
        enterprise_ids: &[Uuid],
        fiscal_year: i32,
    ) -> impl Future<Output = Result<Vec<(Uuid, String, i64)>, StoreError>> + Send;
    /// Sets the invoice and/or the payment proof reference (`None` keeps
    /// what is there).
    fn set_redemption_documents(
        &mut self,
        id: Uuid,
        invoice: Option<&InvoiceRecord>,
        payment_proof_ref: Option<&str>,
        updated_at_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Inserts redemption rows with as few statements as the backend allows.
    fn insert_redemptions(
        &mut self,
        records: &[RedemptionRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Lowers each voucher's remaining value by its `used_fen` and sets its
    /// status, only where the voucher is still active and holds that much:
    /// the number of vouchers changed (all of them, or the batch fails) is
    /// the database's own exactly-once guard.
    fn consume_vouchers(
        &mut self,
        uses: &[VoucherUse],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

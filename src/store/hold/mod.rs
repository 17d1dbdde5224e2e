//! Storage for holds: a provider's claim on a voucher between its preview
//! of a fresh presentation and its redemption (docs/redemption-lifecycle.md
//! "Holds"). Written only by the ledger writer, next to the `voucher_held`,
//! `voucher_hold_released` or `voucher_redeemed` entry that changes them.

pub(super) mod sql;

use std::future::Future;

use uuid::Uuid;

use super::StoreError;

/// A `voucher_holds` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRecord {
    /// Hex nonce of the presentation the hold was placed with.
    pub presentation_nonce: String,
    pub voucher_id: Uuid,
    pub provider_id: Uuid,
    pub expires_at_us: i64,
    pub held_sequence: u64,
    /// The entry that ended it (a redemption or a release); `None` while
    /// it runs (or after it lapsed by time).
    pub ended_sequence: Option<u64>,
}

impl HoldRecord {
    /// Whether it still holds the voucher at `now_us`.
    pub fn live_at(&self, now_us: i64) -> bool {
        self.ended_sequence.is_none() && now_us < self.expires_at_us
    }
}

/// Bound on one page of holds.
pub const HOLD_PAGE_MAX: u32 = 1000;

pub trait HoldStore {
    /// The voucher's newest hold (live or not), if it was ever held.
    fn hold_of(
        &self,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<Option<HoldRecord>, StoreError>> + Send;
    /// Holds in nonce order after `after`, at most `limit` (clamped to
    /// `HOLD_PAGE_MAX`): what `verify` compares with the entries.
    fn holds_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<HoldRecord>, StoreError>> + Send;
}

pub trait HoldTx {
    fn hold_of(
        &mut self,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<Option<HoldRecord>, StoreError>> + Send;
    /// The open (not ended) holds of these vouchers, live or lapsed: one
    /// read for a batch of redemptions.
    fn open_holds_of(
        &mut self,
        voucher_ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<HoldRecord>, StoreError>> + Send;
    fn insert_hold(
        &mut self,
        hold: &HoldRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends the voucher's open holds (of `provider` only, if given) with
    /// entry `sequence`; returns how many.
    fn end_holds(
        &mut self,
        voucher_id: Uuid,
        provider: Option<Uuid>,
        sequence: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

//! Storage for offline redemption (docs/redemption-lifecycle.md "Offline"):
//! holder bindings, providers' registered devices, the published status
//! lists and the offline acceptances synced. Written only by the ledger
//! writer next to the entry that records each row; append-only tables.

pub(super) mod sql;
pub(super) mod tx_sql;

use std::future::Future;

use uuid::Uuid;

use super::StoreError;

/// Bound on any one page of offline rows.
pub const OFFLINE_PAGE_MAX: u32 = 1000;
/// Bound on the vouchers one status list may carry: a list that would
/// carry more is refused (and the page says so) rather than grown without
/// limit.
pub const STATUS_LIST_VOUCHERS_MAX: usize = 200_000;
/// Bound on the devices one provider may register.
pub const DEVICES_PER_PROVIDER_MAX: u32 = 100;

/// A `holder_bindings` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    pub voucher_id: Uuid,
    pub binding_number: u32,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub certificate: Vec<u8>,
    pub bound_at_us: i64,
    pub bound_sequence: u64,
}

/// An `offline_devices` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub label: String,
    pub registered_at_us: i64,
    pub registered_sequence: u64,
}

/// A `status_lists` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRecord {
    pub number: u64,
    pub full: bool,
    pub from_sequence: u64,
    pub to_sequence: u64,
    pub published_at_us: i64,
    pub digest: Vec<u8>,
    pub signature: Vec<u8>,
    pub key_id: String,
    /// The exact signed JSON.
    pub body: String,
    pub published_sequence: u64,
}

/// A voucher as a status list reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVoucher {
    pub voucher_id: Uuid,
    pub list_number: u64,
    pub status: String,
    pub remaining_fen: i64,
    /// The voucher's current holder binding (0: none).
    pub binding_number: u32,
}

/// A voucher as it stands, for a status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherNow {
    pub id: Uuid,
    pub status: String,
    pub remaining_fen: i64,
    pub face_value_fen: i64,
    /// Its newest binding (0: none).
    pub binding_number: u32,
}

/// An `offline_acceptances` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceRecord {
    pub presentation_nonce: String,
    /// The redemption's id when something was paid, else the conflict's.
    pub id: Uuid,
    pub device_id: Uuid,
    pub record_number: u64,
    pub record_digest: Vec<u8>,
    pub provider_id: Uuid,
    pub voucher_id: Uuid,
    pub programme_code: String,
    pub enterprise_id: Uuid,
    pub list_number: u64,
    pub accepted_at_us: i64,
    pub service_category: String,
    pub contract_number: String,
    pub contract_amount_fen: i64,
    pub claimed_fen: i64,
    pub paid_fen: i64,
    pub conflict_fen: i64,
    pub conflict_reason: Option<String>,
    pub synced_sequence: u64,
    pub synced_at_us: i64,
}

/// Which acceptances to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcceptanceFilter {
    pub provider: Option<Uuid>,
    pub enterprise: Option<Uuid>,
    pub voucher: Option<Uuid>,
    /// Only those with an unpaid (conflict) part.
    pub conflicts_only: bool,
}

/// What one device accepted under one list, for the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceUseRow {
    pub count: u64,
    pub claimed_fen: i64,
    pub on_voucher_fen: i64,
}

pub trait OfflineStore {
    fn offline_device(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<DeviceRecord>, StoreError>> + Send;
    fn offline_devices_of(
        &self,
        provider_id: Uuid,
    ) -> impl Future<Output = Result<Vec<DeviceRecord>, StoreError>> + Send;
    fn holder_bindings_of(
        &self,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    /// Lists with a number above `after`, oldest first, at most `limit`.
    fn status_lists_after(
        &self,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StatusListRecord>, StoreError>> + Send;
    fn latest_status_list(
        &self,
    ) -> impl Future<Output = Result<Option<StatusListRecord>, StoreError>> + Send;
    /// The newest full list's number.
    fn latest_full_status_list(
        &self,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
    fn listed_vouchers_of(
        &self,
        list_number: u64,
    ) -> impl Future<Output = Result<Vec<ListedVoucher>, StoreError>> + Send;
    fn acceptance_of_record(
        &self,
        device_id: Uuid,
        record_number: u64,
    ) -> impl Future<Output = Result<Option<AcceptanceRecord>, StoreError>> + Send;
    /// Acceptances matching `filter`, newest first, synced before
    /// `before_sequence`, at most `limit`.
    fn acceptances(
        &self,
        filter: AcceptanceFilter,
        before_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AcceptanceRecord>, StoreError>> + Send;
    /// For `verify`: rows in entry order after `after_sequence`.
    fn holder_bindings_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    fn offline_devices_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DeviceRecord>, StoreError>> + Send;
    fn acceptances_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AcceptanceRecord>, StoreError>> + Send;
}

pub trait OfflineTx {
    fn offline_device(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<DeviceRecord>, StoreError>> + Send;
    fn offline_device_count(
        &mut self,
        provider_id: Uuid,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn holder_bindings(
        &mut self,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    fn insert_holder_binding(
        &mut self,
        binding: &BindingRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_offline_device(
        &mut self,
        device: &DeviceRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn latest_status_list(
        &mut self,
    ) -> impl Future<Output = Result<Option<StatusListRecord>, StoreError>> + Send;
    fn status_list(
        &mut self,
        number: u64,
    ) -> impl Future<Output = Result<Option<StatusListRecord>, StoreError>> + Send;
    fn insert_status_list(
        &mut self,
        list: &StatusListRecord,
        vouchers: &[ListedVoucher],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The voucher as list `list_number` knew it (its newest row at or
    /// before that list), if any list reported it.
    fn listed_voucher_as_of(
        &mut self,
        voucher_id: Uuid,
        list_number: u64,
    ) -> impl Future<Output = Result<Option<ListedVoucher>, StoreError>> + Send;
    /// Vouchers whose row changed at or after `since_us`, with their
    /// newest binding; and those bound anew since then.
    fn vouchers_changed_since(
        &mut self,
        since_us: i64,
    ) -> impl Future<Output = Result<Vec<VoucherNow>, StoreError>> + Send;
    /// Every voucher not as it was issued (used, ended, or re-bound).
    fn vouchers_not_fresh(
        &mut self,
    ) -> impl Future<Output = Result<Vec<VoucherNow>, StoreError>> + Send;
    /// Providers that may not redeem: not approved (id, status), or
    /// blacklisted on `today` (id, "blacklisted").
    fn barred_providers(
        &mut self,
        today: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    fn revoked_issuer_key_ids(
        &mut self,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Open programmes: (code, terms JSON).
    fn open_programme_terms(
        &mut self,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    fn device_use(
        &mut self,
        device_id: Uuid,
        list_number: u64,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<DeviceUseRow, StoreError>> + Send;
    fn offline_nonce_used(
        &mut self,
        nonce: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn offline_record_synced(
        &mut self,
        device_id: Uuid,
        record_number: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn insert_acceptance(
        &mut self,
        acceptance: &AcceptanceRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

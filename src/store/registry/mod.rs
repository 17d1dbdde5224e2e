//! Storage for the registries (enterprises now; providers and programmes
//! follow the same shape). Writes happen only inside the ledger writer's
//! transaction through `RegistryTx`, next to the entry that records them.

pub(super) mod sql;
pub(super) mod store_impl;

use crate::domain::key_status::KeyStatus;
use crate::domain::programme::{ProgrammeStatus, ProgrammeTerms};
use crate::domain::provider::{ProviderFields, ProviderStatus};
use crate::domain::{DivisionCode, ProgrammeCode, SizeClass};
use std::future::Future;

use uuid::Uuid;

use super::StoreError;

/// An `enterprises` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseRecord {
    pub id: Uuid,
    pub uscc: String,
    pub uscc_override: bool,
    pub name: String,
    pub division: DivisionCode,
    pub zone: Option<String>,
    pub sector: String,
    pub staff: i64,
    pub revenue_fen: i64,
    pub size_class: SizeClass,
    pub size_standard: String,
    pub contact: Option<String>,
    /// 法定代表人, when known.
    pub legal_representative: Option<String>,
    pub version: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// An `enterprise_tags` row; dates are `YYYY-MM-DD` in UTC+8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    pub enterprise_id: Uuid,
    pub tag: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub source: String,
}

/// A `blacklist` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlacklistRecord {
    pub id: Uuid,
    pub party_kind: String,
    pub party_id: Uuid,
    pub reason: String,
    pub source: String,
    pub effective_from: String,
    pub effective_until: Option<String>,
}

/// A `programmes` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeRecord {
    pub code: ProgrammeCode,
    pub status: ProgrammeStatus,
    /// Decoded from the stored canonical JSON (`terms_json`).
    pub terms: ProgrammeTerms,
    pub version: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// A `providers` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub id: Uuid,
    pub uscc: String,
    pub name: String,
    pub status: ProviderStatus,
    /// Decoded from the stored canonical JSON (`fields_json`).
    pub fields: ProviderFields,
    pub annual_cap_fen: i64,
    pub version: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// An `issuer_keys` row (public half only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerKeyRecord {
    pub key_id: String,
    pub public_key: ed25519_dalek::VerifyingKey,
    pub status: KeyStatus,
    pub activated_at_us: i64,
    pub retired_at_us: Option<i64>,
    pub revoked_at_us: Option<i64>,
    pub revoke_reason: Option<String>,
}

/// Bound on one page of a registry list.
pub const REGISTRY_PAGE_MAX: u32 = 500;

/// Every programme, in code order, read page by page. Programmes are made
/// one at a time by administrators, so there are tens of them, not
/// thousands; sweeps, exports and account views go through all of them.
pub async fn every_programme<S: RegistryStore + Sync>(
    store: &S,
) -> Result<Vec<ProgrammeRecord>, StoreError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or("", |p: &ProgrammeRecord| p.code.as_str());
        let page = store.programmes_after(after, REGISTRY_PAGE_MAX).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

pub trait RegistryStore {
    /// Every issuer key, oldest first.
    fn issuer_keys(&self) -> impl Future<Output = Result<Vec<IssuerKeyRecord>, StoreError>> + Send;
    /// Every zone with its parent division, by name.
    fn zones(&self) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    fn enterprise_by_id(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<EnterpriseRecord>, StoreError>> + Send;
    fn enterprise_by_uscc(
        &self,
        uscc: &str,
    ) -> impl Future<Output = Result<Option<EnterpriseRecord>, StoreError>> + Send;
    /// Enterprises with `uscc > after`, in USCC order, at most `limit`.
    fn enterprises_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<EnterpriseRecord>, StoreError>> + Send;
    fn tags_of(
        &self,
        enterprise_id: Uuid,
    ) -> impl Future<Output = Result<Vec<TagRecord>, StoreError>> + Send;
    fn blacklist_of(
        &self,
        party_kind: &str,
        party_id: Uuid,
    ) -> impl Future<Output = Result<Vec<BlacklistRecord>, StoreError>> + Send;
    fn programme(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Option<ProgrammeRecord>, StoreError>> + Send;
    fn provider_by_id(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ProviderRecord>, StoreError>> + Send;
    fn provider_by_uscc(
        &self,
        uscc: &str,
    ) -> impl Future<Output = Result<Option<ProviderRecord>, StoreError>> + Send;
    /// Providers with `uscc > after`, in USCC order, at most `limit`.
    fn providers_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ProviderRecord>, StoreError>> + Send;
    /// Programmes with `code > after`, in code order, at most `limit`.
    fn programmes_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ProgrammeRecord>, StoreError>> + Send;
}

pub trait RegistryTx {
    fn issuer_key(
        &mut self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<IssuerKeyRecord>, StoreError>> + Send;
    fn active_issuer_key(
        &mut self,
    ) -> impl Future<Output = Result<Option<IssuerKeyRecord>, StoreError>> + Send;
    /// Inserts the key or replaces its row.
    fn save_issuer_key(
        &mut self,
        key: &IssuerKeyRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether the same blacklist entry (party, reason, source, start) exists.
    fn blacklist_exists(
        &mut self,
        entry: &BlacklistRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A zone's parent division, if the zone exists.
    fn zone_division(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Defines a zone or moves it to another division.
    fn save_zone(
        &mut self,
        name: &str,
        division: &str,
        now_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The enterprises with any of these USCCs (absent ones are left out):
    /// one query for a whole batch.
    fn enterprises_by_usccs(
        &mut self,
        usccs: &[&str],
    ) -> impl Future<Output = Result<Vec<EnterpriseRecord>, StoreError>> + Send;
    fn enterprise_by_uscc(
        &mut self,
        uscc: &str,
    ) -> impl Future<Output = Result<Option<EnterpriseRecord>, StoreError>> + Send;
    /// The enterprises with any of these ids (absent ones are left out).
    fn enterprises_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<EnterpriseRecord>, StoreError>> + Send;
    /// The tags and the blacklist entries (all periods) of any of these
    /// enterprises, in one query.
    fn tags_and_blacklist_of_many(
        &mut self,
        enterprise_ids: &[Uuid],
    ) -> impl Future<Output = Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError>> + Send;
    fn enterprise_by_id(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<EnterpriseRecord>, StoreError>> + Send;
    /// Inserts a new enterprise, or replaces the row with the same id.
    fn save_enterprise(
        &mut self,
        record: &EnterpriseRecord,
        is_new: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `false` if the same (enterprise, tag, valid_from) already exists.
    fn insert_tag(
        &mut self,
        tag: &TagRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn insert_blacklist(
        &mut self,
        entry: &BlacklistRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn programme(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<ProgrammeRecord>, StoreError>> + Send;
    fn provider_by_uscc(
        &mut self,
        uscc: &str,
    ) -> impl Future<Output = Result<Option<ProviderRecord>, StoreError>> + Send;
    fn provider_by_id(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ProviderRecord>, StoreError>> + Send;
    /// Inserts or replaces the provider, and records its status in the
    /// history when `status_reason` is given (new, or status changed).
    fn save_provider(
        &mut self,
        record: &ProviderRecord,
        is_new: bool,
        status_reason: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn save_programme(
        &mut self,
        record: &ProgrammeRecord,
        is_new: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The enterprise's tags (all periods), as `RegistryStore::tags_of`.
    fn tags_of(
        &mut self,
        enterprise_id: Uuid,
    ) -> impl Future<Output = Result<Vec<TagRecord>, StoreError>> + Send;
    /// The party's blacklist entries (all periods).
    fn blacklist_of(
        &mut self,
        party_kind: &str,
        party_id: Uuid,
    ) -> impl Future<Output = Result<Vec<BlacklistRecord>, StoreError>> + Send;
}

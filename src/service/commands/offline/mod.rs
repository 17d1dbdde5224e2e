//! The offline family (docs/redemption-lifecycle.md "Offline"): a holder
//! binds a device key to its voucher, a provider registers a device, the
//! server publishes a signed status list, and a device's offline
//! acceptance is synced — paid, partly paid, or recorded as an
//! `offline_conflict` when the ledger already gave the voucher's value away.

mod decide;
#[cfg(test)]
pub(super) mod digest_cases;

use serde::Serialize;
use uuid::Uuid;

use super::{
    DESCRIPTION_LEN_MAX, Draft, InvalidCommand, REFERENCE_LEN_MAX, TAG_LEN_MAX, ToDraft, check_text,
};
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::body::{EntryBody, pb};
use crate::token::offline::DeviceKey;

/// Longest device label, in bytes.
pub const DEVICE_LABEL_LEN_MAX: usize = 100;

/// The holding enterprise (or the admin for it) binds a device key to a
/// voucher: from now on only that key's offline presentations are good; an
/// earlier binding stops working for acceptances after this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindHolderKey {
    pub voucher_id: Uuid,
    /// The enterprise asking (its own vouchers only); `None`: the admin.
    pub enterprise_id: Option<Uuid>,
    pub key: DeviceKey,
}

impl ToDraft for BindHolderKey {
    /// The binding number and certificate are decided under the lock.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::HolderKeyBound(
            pb::HolderKeyBound {
                voucher_id: self.voucher_id.to_string(),
                algorithm: self.key.algorithm.as_str().to_string(),
                public_key: self.key.public_key.clone(),
                ..pb::HolderKeyBound::default()
            },
        )))
    }
}

/// A provider registers a device (its browser's key) that may accept
/// vouchers offline for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterOfflineDevice {
    /// Generated per request.
    #[serde(skip)]
    pub device_id: Uuid,
    pub provider_id: Uuid,
    pub key: DeviceKey,
    pub label: String,
}

impl ToDraft for RegisterOfflineDevice {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("label", &self.label, DEVICE_LABEL_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::OfflineDeviceRegistered(
            pb::OfflineDeviceRegistered {
                device_id: self.device_id.to_string(),
                provider_id: self.provider_id.to_string(),
                algorithm: self.key.algorithm.as_str().to_string(),
                public_key: self.key.public_key.clone(),
                label: self.label.clone(),
            },
        )))
    }
}

/// Publish the next status list, unless the newest one is younger than
/// `min_interval_seconds`, or (with `idle_refresh_seconds` > 0, the clock's
/// publications) nothing was appended since it and it is younger than
/// `idle_refresh_seconds`, or no open programme allows offline acceptance —
/// then nothing is recorded (`Unchanged`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishStatusList {
    pub min_interval_seconds: u32,
    pub idle_refresh_seconds: u32,
}

impl ToDraft for PublishStatusList {
    /// Everything in the list is read under the lock.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::StatusListPublished(
            pb::StatusListPublished::default(),
        )))
    }
}

/// A provider's device's offline acceptance, its signatures checked by the
/// service (`service::offline`); the writer checks everything that depends
/// on the ledger and decides what is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncOfflineAcceptance {
    /// The redemption's (or the conflict's) id, generated per request.
    #[serde(skip)]
    pub id: Uuid,
    pub provider_id: Uuid,
    pub device_id: Uuid,
    pub record_number: u64,
    /// SHA-256 of the sealed record.
    pub record_digest: [u8; 32],
    pub accepted_at_us: i64,
    pub list_number: u64,
    pub voucher_id: Uuid,
    pub programme: ProgrammeCode,
    /// Hex nonce of the offline presentation.
    pub nonce_hex: String,
    pub binding_number: u32,
    /// The holder key the presentation was signed with.
    pub holder_key: Vec<u8>,
    pub service_category: String,
    pub contract_number: String,
    pub description: String,
    pub contract_amount: Fen,
    /// The subsidy the device accepted.
    pub claimed: Fen,
}

impl ToDraft for SyncOfflineAcceptance {
    /// What is paid is decided under the lock.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if !self.contract_amount.is_positive() || !self.claimed.is_positive() {
            return Err(InvalidCommand::NonPositiveAmount);
        }
        check_text(
            "service_category",
            &self.service_category,
            TAG_LEN_MAX,
            true,
        )?;
        check_text(
            "contract_number",
            &self.contract_number,
            REFERENCE_LEN_MAX,
            true,
        )?;
        check_text("description", &self.description, DESCRIPTION_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::OfflineConflictRecorded(
            self.conflict_body(""),
        )))
    }
}

impl SyncOfflineAcceptance {
    /// What the entry says of the acceptance, with `conflict_fen` and its
    /// reason as decided.
    fn acceptance(&self, conflict: Fen, reason: &str) -> pb::OfflineAcceptance {
        pb::OfflineAcceptance {
            device_id: self.device_id.to_string(),
            record_number: self.record_number,
            accepted_at_us: self.accepted_at_us,
            list_number: self.list_number,
            record_digest: self.record_digest.to_vec(),
            claimed_subsidy_fen: self.claimed.as_fen(),
            conflict_fen: conflict.as_fen(),
            conflict_reason: reason.to_string(),
        }
    }

    fn conflict_body(&self, reason: &str) -> pb::OfflineConflictRecorded {
        pb::OfflineConflictRecorded {
            conflict_id: self.id.to_string(),
            voucher_id: self.voucher_id.to_string(),
            programme_code: self.programme.to_string(),
            provider_id: self.provider_id.to_string(),
            enterprise_id: String::new(),
            service_category: self.service_category.clone(),
            contract_number: self.contract_number.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            presentation_nonce: self.nonce_hex.clone(),
            offline: Some(self.acceptance(self.claimed, reason)),
        }
    }
}

//! Offline redemption's use cases (docs/redemption-lifecycle.md "Offline"):
//! bind a holder's device key, register a provider's device, publish and
//! serve status lists, and sync a device's offline acceptances. The
//! signatures of a synced record (device, holder, issuer) are checked here,
//! outside the writer; what depends on the ledger is decided under its lock
//! (`commands::offline`).

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::commands::offline::{
    BindHolderKey, PublishStatusList, RegisterOfflineDevice, SyncOfflineAcceptance,
};
use super::commands::{Command, Submission};
use super::engine::WriterHandle;
use super::error::CommandError;
use crate::domain::Timestamp;
use crate::domain::key_status::KeyStatus;
use crate::store::offline::{
    AcceptanceRecord, BindingRecord, DeviceRecord, OFFLINE_PAGE_MAX, StatusListRecord,
};
use crate::store::{Store, StoreError};
use crate::token::offline::{DeviceKey, OfflineError, open_record, verify_offline_presentation};

/// Lists served per request at most.
pub const LISTS_PER_PAGE: u32 = 100;
/// `serve` publishes a list this often when the ledger moved (so a device
/// that was online holds a list at most about this old)…
pub const LIST_REFRESH_SECONDS: u32 = 60;
/// …and at least this often when it did not.
pub const IDLE_REFRESH_SECONDS: u32 = 3600;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineUseError {
    /// A signature, envelope or binding problem (422).
    #[error(transparent)]
    Refused(#[from] OfflineError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(code: &'static str) -> OfflineUseError {
    CommandError::NotRedeemable {
        refusals: vec![crate::domain::offline::refusal(code)],
    }
    .into()
}

/// Binds `key` to the voucher for its holder (`enterprise_id`; `None`: the
/// admin); returns every binding of the voucher, newest last.
pub async fn bind_holder_key<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: String,
    idempotency_key: String,
    voucher_id: Uuid,
    enterprise_id: Option<Uuid>,
    key: DeviceKey,
) -> Result<Vec<BindingRecord>, OfflineUseError> {
    // Someone else's voucher is not found, before anything is recorded.
    let voucher = store
        .voucher(voucher_id)
        .await?
        .filter(|v| enterprise_id.is_none_or(|id| id == v.enterprise_id))
        .ok_or(CommandError::NotFound)?;
    let command = BindHolderKey {
        voucher_id: voucher.id,
        enterprise_id,
        key,
    };
    match writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::BindHolderKey(command),
        })
        .await
    {
        Ok(_) | Err(CommandError::Unchanged { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(store.holder_bindings_of(voucher_id).await?)
}

/// Registers a device of `provider_id`; returns it.
pub async fn register_device<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: String,
    idempotency_key: String,
    provider_id: Uuid,
    key: DeviceKey,
    label: String,
) -> Result<DeviceRecord, OfflineUseError> {
    let receipt = writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::RegisterOfflineDevice(RegisterOfflineDevice {
                device_id: Uuid::now_v7(),
                provider_id,
                key,
                label,
            }),
        })
        .await?;
    // New or replayed, the device is the one its entry registered.
    let devices = store.offline_devices_of(provider_id).await?;
    devices
        .into_iter()
        .find(|d| d.registered_sequence == receipt.sequence)
        .ok_or_else(|| CommandError::NotFound.into())
}

/// Publishes a new list unless the newest is younger than
/// `min_interval_seconds`, or — with `idle_refresh_seconds` > 0 — nothing
/// was appended since it and it is younger than that; returns the newest
/// list.
pub async fn publish<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: String,
    idempotency_key: String,
    min_interval_seconds: u32,
    idle_refresh_seconds: u32,
) -> Result<Option<StatusListRecord>, OfflineUseError> {
    match writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::PublishStatusList(PublishStatusList {
                min_interval_seconds,
                idle_refresh_seconds,
            }),
        })
        .await
    {
        Ok(_) | Err(CommandError::Unchanged { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(store.latest_status_list().await?)
}

/// The lists a device holding list `after` needs next (at most
/// `LISTS_PER_PAGE`): from `after + 1`, or — when a full list was published
/// since — from the newest full list, which replaces everything before it.
pub async fn lists_for<S: Store>(
    store: &S,
    after: u64,
) -> Result<Vec<StatusListRecord>, StoreError> {
    // Beyond any list number there is (and within the database's integers).
    let after = after.min(i64::MAX as u64);
    let start = match store.latest_full_status_list().await? {
        Some(full) if full > after => full - 1,
        _ => after,
    };
    store.status_lists_after(start, LISTS_PER_PAGE).await
}

/// What a sync answers: the acceptance as recorded, and whether this was a
/// retry of a record already synced.
#[derive(Debug, Clone)]
pub struct Synced {
    pub acceptance: AcceptanceRecord,
    pub replayed: bool,
}

/// Syncs one sealed offline record of `provider_id`'s device.
pub async fn sync<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: String,
    idempotency_key: String,
    provider_id: Uuid,
    sealed: &[u8],
) -> Result<Synced, OfflineUseError> {
    let opened = open_record(sealed)?;
    let claims = &opened.claims;
    let device = store
        .offline_device(claims.device_id)
        .await?
        .filter(|d| d.provider_id == provider_id)
        .ok_or_else(|| refused("offline_device_unregistered"))?;
    let key = DeviceKey::parse(&device.algorithm, &device.public_key)
        .map_err(|_| StoreError::Corrupt(format!("device {} has a bad key", device.id)))?;
    if !opened.signed_by(&key) {
        return Err(OfflineError::DeviceSignature.into());
    }
    let digest: [u8; 32] = Sha256::digest(sealed).into();
    // A record already synced (under any idempotency key) answers as it
    // was recorded.
    if let Some(done) = store
        .acceptance_of_record(claims.device_id, claims.record_number)
        .await?
    {
        if done.record_digest == digest {
            return Ok(Synced {
                acceptance: done,
                replayed: true,
            });
        }
        return Err(refused("offline_record_synced"));
    }
    let accepted_at_us = claims.accepted_at.saturating_mul(1_000_000);
    let accepted = Timestamp::from_micros(accepted_at_us);
    if accepted_at_us > Timestamp::now().as_micros() + 5 * 60 * 1_000_000 {
        return Err(OfflineError::RecordMalformed.into());
    }
    // Issuer keys as they stood at the acceptance: a key revoked later was
    // still good then (its vouchers were re-issued since: a conflict).
    let keys: Vec<(ed25519_dalek::VerifyingKey, String, KeyStatus)> = store
        .issuer_keys()
        .await?
        .into_iter()
        .map(|k| {
            let status = match (k.status, k.revoked_at_us) {
                (KeyStatus::Revoked, Some(at)) if at.div_euclid(1_000_000) > claims.accepted_at => {
                    KeyStatus::Retired
                }
                (status, _) => status,
            };
            (k.public_key, k.key_id, status)
        })
        .collect();
    let lookup = |id: &str| {
        keys.iter()
            .find(|(_, key_id, _)| key_id == id)
            .map(|(key, _, status)| (*key, *status))
    };
    let presented = verify_offline_presentation(
        &claims.presentation,
        &lookup,
        provider_id,
        claims.accepted_at,
        accepted.cst_date(),
    )?;
    // No device may accept more than the voucher is worth.
    if claims.subsidy.as_fen() > presented.voucher.face_value.as_fen() {
        return Err(refused("offline_subsidy_mismatch"));
    }
    let programme = crate::domain::ProgrammeCode::parse(&presented.voucher.programme_code)
        .map_err(|_| OfflineError::Token(crate::token::voucher::TokenError::Malformed))?;
    let command = SyncOfflineAcceptance {
        id: Uuid::now_v7(),
        provider_id,
        device_id: claims.device_id,
        record_number: claims.record_number,
        record_digest: digest,
        accepted_at_us,
        list_number: claims.list_number,
        voucher_id: presented.voucher.voucher_id,
        programme,
        nonce_hex: crate::ledger::entry::to_hex(&presented.nonce),
        binding_number: presented.binding.binding_number,
        holder_key: presented.binding.key.public_key.clone(),
        service_category: claims.service_category.clone(),
        contract_number: claims.contract_number.clone(),
        description: claims.description.clone(),
        contract_amount: claims.contract_amount,
        claimed: claims.subsidy,
    };
    let receipt = writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::SyncOfflineAcceptance(Box::new(command)),
        })
        .await?;
    let acceptance = store
        .acceptance_of_record(claims.device_id, claims.record_number)
        .await?
        .ok_or(CommandError::NotFound)?;
    Ok(Synced {
        acceptance,
        replayed: receipt.replayed,
    })
}

/// A provider's or enterprise's (or everyone's) synced acceptances, newest
/// first, before `before_sequence`.
pub async fn acceptances<S: Store>(
    store: &S,
    filter: crate::store::offline::AcceptanceFilter,
    before_sequence: Option<u64>,
    limit: u32,
) -> Result<Vec<AcceptanceRecord>, StoreError> {
    store
        .acceptances(
            filter,
            before_sequence.map_or(i64::MAX as u64, |b| b.min(i64::MAX as u64)),
            limit.min(OFFLINE_PAGE_MAX),
        )
        .await
}

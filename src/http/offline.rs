//! Offline redemption over HTTP (docs/api.md "Offline redemption"): holder
//! key bindings, providers' devices, status lists, and the sync of offline
//! acceptances; the list of synced acceptances and conflicts for everyone
//! who must see them.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Auth, Authenticated};
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::domain::{Role, Timestamp};
use crate::service::offline::{self, OfflineUseError};
use crate::store::Store;
use crate::store::offline::{AcceptanceFilter, AcceptanceRecord, BindingRecord, DeviceRecord};
use crate::token::offline::{DeviceAlgorithm, DeviceKey};

/// A device public key as a browser exports it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceKeyRequest {
    /// "Ed25519" or "ECDSA-P256".
    pub algorithm: String,
    /// Standard base64: the 32-byte Ed25519 key, or the 65-byte
    /// uncompressed P-256 point (WebCrypto `exportKey("raw")`).
    pub public_key: String,
    /// A device's name at the counter (devices only), e.g. 岱山网点平板.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolderBindingView {
    pub voucher_id: String,
    pub binding_number: u32,
    pub algorithm: String,
    /// Base64.
    pub public_key: String,
    /// Base64 of the sealed HolderBinding the issuer signed: what the
    /// holder's device puts in its offline presentations.
    pub certificate: String,
    pub bound_at: String,
    pub sequence: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolderBindingList {
    /// Oldest first; the last is the current binding.
    pub bindings: Vec<HolderBindingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub device_id: String,
    pub provider_id: String,
    pub algorithm: String,
    pub public_key: String,
    pub label: String,
    pub registered_at: String,
    pub sequence: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusListView {
    pub number: u64,
    pub full: bool,
    pub published_at: String,
    /// The list's exact JSON text: its UTF-8 bytes are what is signed and
    /// hashed (docs/token-format.md "Status lists").
    pub body: String,
    /// Base64 Ed25519 signature by the ledger key over `body`'s bytes.
    pub signature: String,
    /// Lower-case hex SHA-256 of `body`'s bytes.
    pub digest: String,
    pub key_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusListPage {
    pub lists: Vec<StatusListView>,
    /// The ledger key that signs the lists: id and base64 public key.
    pub ledger_key_id: String,
    pub ledger_public_key: String,
    /// The newest list's number (0: none yet): fetch again with
    /// `after` = the last list received while it is below this.
    pub newest: u64,
}

#[derive(Debug, Deserialize)]
pub struct StatusListQuery {
    /// The newest list the device holds (0 or absent: none).
    pub after: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Standard base64 of the sealed OfflineRecord the device signed.
    pub record: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptanceView {
    /// `redeemed` (paid in full), `partly_paid` (the rest is a conflict) or
    /// `offline_conflict` (nothing paid).
    pub outcome: String,
    /// The redemption's id (redeemed, partly_paid) or the conflict's.
    pub id: String,
    pub redemption_id: Option<String>,
    pub voucher_id: String,
    pub provider_id: String,
    pub enterprise_id: String,
    pub programme_code: String,
    pub device_id: String,
    pub record_number: u64,
    pub list_number: u64,
    pub service_category: String,
    pub contract_number: String,
    pub contract_amount_fen: i64,
    pub claimed_fen: i64,
    pub paid_fen: i64,
    pub conflict_fen: i64,
    pub conflict_reason: Option<String>,
    pub accepted_at: String,
    pub synced_at: String,
    pub synced_sequence: u64,
    /// True when this record had been synced before (nothing new recorded).
    pub replayed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptanceList {
    pub acceptances: Vec<AcceptanceView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct AcceptanceQuery {
    /// Only acceptances with an unpaid (conflict) part.
    pub conflicts: Option<bool>,
    pub voucher_id: Option<String>,
    /// Synced before this sequence (the previous page's `next_before`).
    pub before: Option<u64>,
    pub limit: Option<u32>,
}

fn base64_of(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn at_us(us: i64) -> String {
    Timestamp::from_micros(us).to_cst_rfc3339()
}

fn offline_error(error: OfflineUseError) -> ApiError {
    match error {
        OfflineUseError::Refused(refusal) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal.code(),
            format!("{refusal}."),
            refusal.message_zh(),
        ),
        OfflineUseError::Command(error) => error.into(),
        OfflineUseError::Store(error) => error.into(),
    }
}

fn device_key(request: &DeviceKeyRequest) -> Result<DeviceKey, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "device_key_invalid",
            "algorithm is Ed25519 or ECDSA-P256 and public_key the base64 of a valid key of it (32 bytes, or the 65-byte uncompressed point).",
            "algorithm 须为 Ed25519 或 ECDSA-P256，public_key 须为该算法有效公钥的 base64（32 字节，或 65 字节非压缩点）。",
        )
    };
    let algorithm = DeviceAlgorithm::parse(&request.algorithm).ok_or_else(invalid)?;
    let bytes = STANDARD
        .decode(request.public_key.trim())
        .map_err(|_| invalid())?;
    DeviceKey::new(algorithm, bytes).map_err(|_| invalid())
}

fn binding_view(b: &BindingRecord) -> HolderBindingView {
    HolderBindingView {
        voucher_id: b.voucher_id.to_string(),
        binding_number: b.binding_number,
        algorithm: b.algorithm.clone(),
        public_key: base64_of(&b.public_key),
        certificate: base64_of(&b.certificate),
        bound_at: at_us(b.bound_at_us),
        sequence: b.bound_sequence,
    }
}

fn device_view(d: &DeviceRecord) -> DeviceView {
    DeviceView {
        device_id: d.id.to_string(),
        provider_id: d.provider_id.to_string(),
        algorithm: d.algorithm.clone(),
        public_key: base64_of(&d.public_key),
        label: d.label.clone(),
        registered_at: at_us(d.registered_at_us),
        sequence: d.registered_sequence,
    }
}

pub fn acceptance_view(a: &AcceptanceRecord, replayed: bool) -> AcceptanceView {
    let outcome = match (a.paid_fen > 0, a.conflict_fen > 0) {
        (true, false) => "redeemed",
        (true, true) => "partly_paid",
        _ => "offline_conflict",
    };
    AcceptanceView {
        outcome: outcome.to_string(),
        id: a.id.to_string(),
        redemption_id: (a.paid_fen > 0).then(|| a.id.to_string()),
        voucher_id: a.voucher_id.to_string(),
        provider_id: a.provider_id.to_string(),
        enterprise_id: a.enterprise_id.to_string(),
        programme_code: a.programme_code.clone(),
        device_id: a.device_id.to_string(),
        record_number: a.record_number,
        list_number: a.list_number,
        service_category: a.service_category.clone(),
        contract_number: a.contract_number.clone(),
        contract_amount_fen: a.contract_amount_fen,
        claimed_fen: a.claimed_fen,
        paid_fen: a.paid_fen,
        conflict_fen: a.conflict_fen,
        conflict_reason: a.conflict_reason.clone(),
        accepted_at: at_us(a.accepted_at_us),
        synced_at: at_us(a.synced_at_us),
        synced_sequence: a.synced_sequence,
        replayed,
    }
}

fn party(caller: &Authenticated) -> Result<Uuid, ApiError> {
    caller.principal.party_id.ok_or_else(ApiError::not_found)
}

pub async fn bind_holder_key<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(voucher_id): Path<String>,
    ApiJson(request): ApiJson<DeviceKeyRequest>,
) -> Result<Json<HolderBindingList>, ApiError> {
    let enterprise_id = party(&caller)?;
    let voucher_id = ApiError::id_or_404(&voucher_id)?;
    let holder_key = device_key(&request)?;
    let bindings = offline::bind_holder_key(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        voucher_id,
        Some(enterprise_id),
        holder_key,
    )
    .await
    .map_err(offline_error)?;
    Ok(Json(HolderBindingList {
        bindings: bindings.iter().map(binding_view).collect(),
    }))
}

pub async fn holder_keys<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(voucher_id): Path<String>,
) -> Result<Json<HolderBindingList>, ApiError> {
    let voucher_id = ApiError::id_or_404(&voucher_id)?;
    let voucher = state
        .store
        .voucher(voucher_id)
        .await?
        .filter(|v| {
            caller.principal.role != Role::Enterprise
                || caller.principal.party_id == Some(v.enterprise_id)
        })
        .ok_or_else(ApiError::not_found)?;
    let bindings = state.store.holder_bindings_of(voucher.id).await?;
    Ok(Json(HolderBindingList {
        bindings: bindings.iter().map(binding_view).collect(),
    }))
}

pub async fn register_device<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<DeviceKeyRequest>,
) -> Result<Json<DeviceView>, ApiError> {
    let provider_id = party(&caller)?;
    let device_key = device_key(&request)?;
    let label = request.label.clone().unwrap_or_default().trim().to_string();
    let device = offline::register_device(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        provider_id,
        device_key,
        label,
    )
    .await
    .map_err(offline_error)?;
    Ok(Json(device_view(&device)))
}

pub async fn devices<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<DeviceList>, ApiError> {
    let provider_id = party(&caller)?;
    let devices = state.store.offline_devices_of(provider_id).await?;
    Ok(Json(DeviceList {
        devices: devices.iter().map(device_view).collect(),
    }))
}

fn status_page<S: Store>(
    state: &AppState<S>,
    lists: Vec<crate::store::offline::StatusListRecord>,
    newest: u64,
) -> StatusListPage {
    StatusListPage {
        lists: lists
            .into_iter()
            .map(|l| StatusListView {
                number: l.number,
                full: l.full,
                published_at: at_us(l.published_at_us),
                signature: base64_of(&l.signature),
                digest: crate::ledger::entry::to_hex(&l.digest),
                key_id: l.key_id,
                body: l.body,
            })
            .collect(),
        ledger_key_id: state
            .config
            .log_key
            .map(|key| crate::key_id::key_id_for(&key))
            .unwrap_or_default(),
        ledger_public_key: state
            .config
            .log_key
            .map(|key| base64_of(key.as_bytes()))
            .unwrap_or_default(),
        newest,
    }
}

pub async fn status_lists<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(query): ApiQuery<StatusListQuery>,
) -> Result<Json<StatusListPage>, ApiError> {
    let newest = state
        .store
        .latest_status_list()
        .await?
        .map_or(0, |l| l.number);
    let lists = offline::lists_for(&state.store, query.after.unwrap_or(0)).await?;
    Ok(Json(status_page(&state, lists, newest)))
}

/// What the admin asks of a publication.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish only when the newest list is at least this old (0: now).
    pub min_interval_seconds: u32,
}

pub async fn publish_status_list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Json<StatusListPage>, ApiError> {
    let newest = offline::publish(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        request.min_interval_seconds.min(86_400),
        0,
    )
    .await
    .map_err(offline_error)?;
    let number = newest.as_ref().map_or(0, |l| l.number);
    Ok(Json(status_page(
        &state,
        newest.into_iter().collect(),
        number,
    )))
}

pub async fn sync<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<SyncRequest>,
) -> Result<Json<AcceptanceView>, ApiError> {
    let provider_id = party(&caller)?;
    let sealed = STANDARD.decode(request.record.trim()).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "offline_record_malformed",
            "record is the standard base64 of a sealed offline record.",
            "record 须为离线受理记录的标准 base64 编码。",
        )
    })?;
    let synced = offline::sync(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        provider_id,
        &sealed,
    )
    .await
    .map_err(offline_error)?;
    Ok(Json(acceptance_view(&synced.acceptance, synced.replayed)))
}

pub async fn acceptances<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<AcceptanceQuery>,
) -> Result<Json<AcceptanceList>, ApiError> {
    let party = caller.principal.party_id;
    let voucher = match query.voucher_id.as_deref() {
        None | Some("") => None,
        Some(text) => Some(ApiError::id_or_404(text)?),
    };
    let filter = AcceptanceFilter {
        provider: (caller.principal.role == Role::Provider).then(|| party.unwrap_or(Uuid::nil())),
        enterprise: (caller.principal.role == Role::Enterprise)
            .then(|| party.unwrap_or(Uuid::nil())),
        voucher,
        conflicts_only: query.conflicts.unwrap_or(false),
    };
    let limit = query
        .limit
        .unwrap_or(super::page::PAGE_DEFAULT)
        .clamp(1, super::page::PAGE_MAX);
    let found = offline::acceptances(&state.store, filter, query.before, limit).await?;
    let next_before = (found.len() == limit as usize)
        .then(|| found.last().map(|a| a.synced_sequence))
        .flatten();
    Ok(Json(AcceptanceList {
        acceptances: found.iter().map(|a| acceptance_view(a, false)).collect(),
        next_before,
    }))
}

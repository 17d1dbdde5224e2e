//! Issuer keys: the public key set anyone may fetch to verify vouchers
//! offline, and revocation by the admin. (Rotation generates a private
//! key, so it is done on the operator's side: `voucher-ledger keys rotate`.)

use crate::domain::key_status::KeyStatus;
use crate::service::commands::Envelope;
use crate::service::issuer_keys;
use crate::service::written::unchanged_is_done;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::ledger::entry::to_hex;
use crate::store::Store;

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedKey {
    pub key_id: String,
    pub algorithm: &'static str,
    /// The 32-byte Ed25519 public key, hex.
    pub public_key: String,
    /// active (signs new vouchers), retired (no longer signs; its vouchers
    /// still verify) or revoked (its vouchers are refused).
    pub status: String,
    /// When it started signing.
    pub valid_from: String,
    /// When it stopped signing (retired or revoked), if it has.
    pub signing_until: Option<String>,
    /// For a key that no longer signs: the last day (UTC+8) any voucher it
    /// signed is valid — it stays published at least until then (revoked
    /// keys stay listed for good, so verifiers learn of the revocation).
    /// Null for the active key, and for a key that signed no voucher.
    pub valid_until: Option<String>,
    pub revoke_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedKeys {
    pub keys: Vec<PublishedKey>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeKeyRequest {
    pub reason: String,
}

pub async fn published<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<PublishedKeys>, ApiError> {
    let show = |us: i64| Timestamp::from_micros(us).to_cst_rfc3339();
    let keys = state.store.issuer_keys().await?;
    let horizons: std::collections::HashMap<String, String> = state
        .store
        .key_voucher_horizons()
        .await?
        .into_iter()
        .collect();
    Ok(Json(PublishedKeys {
        keys: keys
            .into_iter()
            .map(|k| PublishedKey {
                public_key: to_hex(k.public_key.as_bytes()),
                algorithm: "Ed25519",
                valid_from: show(k.activated_at_us),
                signing_until: k.revoked_at_us.or(k.retired_at_us).map(show),
                valid_until: (k.status != KeyStatus::Active)
                    .then(|| horizons.get(&k.key_id).cloned())
                    .flatten(),
                key_id: k.key_id,
                status: k.status.as_str().to_string(),
                revoke_reason: k.revoke_reason,
            })
            .collect(),
    }))
}

/// Rotation: a new issuer key, written to this server's key directory
/// and made the signing key (the previous one is retired and still
/// verifies); answered with the published key set.
pub async fn rotate<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
) -> Result<(StatusCode, Json<PublishedKeys>), ApiError> {
    let ring = state.config.issuer_keys.clone();
    let created = tokio::task::spawn_blocking(move || ring.create())
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;
    let Some(pair) = created else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "issuer_key_dir_unavailable",
            "This server holds its issuer keys from the environment, not a key directory; rotate with `voucher-ledger keys rotate` on the server.",
            "本服务的签发密钥来自环境变量而非密钥目录，请在服务器上运行 voucher-ledger keys rotate 轮换。",
        ));
    };
    let by = Envelope::new(caller.principal.actor(), key);
    let activated = issuer_keys::activate(&state.writer, by, pair.public_key().to_bytes()).await;
    unchanged_is_done(activated)?;
    let Json(keys) = published(State(state)).await?;
    Ok((StatusCode::CREATED, Json(keys)))
}

pub async fn revoke<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(key_id): Path<String>,
    ApiJson(request): ApiJson<RevokeKeyRequest>,
) -> Result<Json<PublishedKeys>, ApiError> {
    if request.reason.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "A revocation needs a reason.",
            "吊销须说明理由。",
        ));
    }
    let by = Envelope::new(caller.principal.actor(), key);
    let revoked =
        issuer_keys::revoke(&state.writer, by, key_id, request.reason.trim().to_string()).await;
    unchanged_is_done(revoked)?;
    published(State(state)).await
}

//! Holds at the counter (docs/redemption-lifecycle.md "Holds"): a
//! provider's preview that also holds the voucher for it while the clerk
//! types the contract, and the clerk's release of that hold.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::ApiJson;
use super::redemptions::{
    PreviewRequest, PreviewView, preview_contract, preview_error, preview_view, provider_of,
    scanned_or_typed,
};
use super::{ApiError, AppState};
use crate::service::commands::Envelope;
use crate::service::redemption::{self, HoldError};
use crate::store::Store;

/// A preview, and until when the voucher is held for this provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub preview: PreviewView,
    /// RFC 3339, UTC+8; null when nothing is held (the preview has
    /// reasons, or the voucher's own static code needs no hold).
    pub held_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasedView {
    pub voucher_id: String,
    pub released: bool,
}

pub async fn hold<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<HoldView>, ApiError> {
    let provider_id = provider_of(&caller)?;
    let contract = preview_contract(&request)?;
    let qr_text = scanned_or_typed(&state, provider_id, &request.qr_text).await?;
    let epoch = state.writer.credential_epoch();
    let keys = state.issuer_keys_cache.known(&state.store, epoch).await?;
    let by = Envelope::new(caller.principal.actor(), key);
    let held = redemption::hold(
        &state.store,
        &state.writer,
        &keys,
        by,
        provider_id,
        &qr_text,
        &contract,
    )
    .await
    .map_err(|error| match error {
        HoldError::Preview(error) => preview_error(error),
        HoldError::Command(error) => error.into(),
        HoldError::Store(error) => error.into(),
    })?;
    Ok(Json(HoldView {
        preview: preview_view(&held.preview, &contract, qr_text),
        held_until: held.held_until.map(|at| at.to_cst_rfc3339()),
    }))
}

pub async fn release<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(voucher_id): Path<String>,
) -> Result<Json<ReleasedView>, ApiError> {
    let provider_id = provider_of(&caller)?;
    let voucher_id = ApiError::id_or_404(&voucher_id)?;
    let by = Envelope::new(caller.principal.actor(), key);
    redemption::release_hold(&state.writer, by, provider_id, voucher_id).await?;
    Ok(Json(ReleasedView {
        voucher_id: voucher_id.to_string(),
        released: true,
    }))
}

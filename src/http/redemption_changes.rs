//! Changes to recorded redemptions over HTTP: confirm, dispute, resolve,
//! reverse; attach documents; revoke a voucher; run the sweeps; read a
//! QR code from a photo.

use crate::service::commands::Envelope;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Auth, Authenticated};
use super::idempotency_key::LedgerKey;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::domain::{Role, Timestamp};
use crate::service::redemption::{self};
use crate::store::Store;

use super::redemptions::{InvoiceInput, RedemptionView, invoice, redemption_view, required_text};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// 1 (poor) to 5 (excellent).
    pub rating: Option<u8>,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// True: the enterprise is right and the redemption is reversed; false:
    /// the redemption stands (confirmed).
    pub upheld: bool,
    pub note: String,
}

/// Who the caller acts as on a redemption.
fn changed_by(caller: &Authenticated) -> crate::service::commands::ChangedBy {
    use crate::service::commands::ChangedBy;
    let party = caller.principal.party_id.unwrap_or(Uuid::nil());
    match caller.principal.role {
        Role::Enterprise => ChangedBy::Enterprise(party),
        Role::Provider => ChangedBy::Provider(party),
        _ => ChangedBy::Admin,
    }
}

/// Submits `action` on redemption `id` as the caller; answers with the
/// redemption as it now stands.
async fn change<S: Store>(
    state: &AppState<S>,
    caller: &Authenticated,
    key: String,
    id: &str,
    (action, rating, text): (
        crate::domain::redemption::RedemptionAction,
        Option<u8>,
        String,
    ),
) -> Result<Json<RedemptionView>, ApiError> {
    use crate::service::commands::RedemptionChange;
    let redemption_id = ApiError::id_or_404(id)?;
    let by = changed_by(caller);
    if rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rating_invalid",
            "rating is 1 (poor) to 5 (excellent).",
            "评分须为 1（差）至 5（优）。",
        ));
    }
    let change = RedemptionChange {
        redemption_id,
        by,
        action,
        rating,
        text,
    };
    let record = redemption::change(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        change,
    )
    .await?;
    Ok(Json(redemption_view(&state.store, &record).await?))
}

pub async fn confirm<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ConfirmRequest>,
) -> Result<Json<RedemptionView>, ApiError> {
    let comment = request.comment.unwrap_or_default().trim().to_string();
    let action = crate::domain::redemption::RedemptionAction::Confirm;
    change(&state, &caller, key, &id, (action, request.rating, comment)).await
}

/// An action whose request is just its reason (dispute, reverse).
async fn with_reason<S: Store>(
    state: &AppState<S>,
    caller: &Authenticated,
    key: String,
    id: &str,
    request: &ReasonRequest,
    action: crate::domain::redemption::RedemptionAction,
) -> Result<Json<RedemptionView>, ApiError> {
    let reason = required_text("reason", &request.reason)?;
    change(state, caller, key, id, (action, None, reason)).await
}

pub async fn dispute<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> Result<Json<RedemptionView>, ApiError> {
    let action = crate::domain::redemption::RedemptionAction::Dispute;
    with_reason(&state, &caller, key, &id, &request, action).await
}

pub async fn reverse<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> Result<Json<RedemptionView>, ApiError> {
    let action = crate::domain::redemption::RedemptionAction::Reverse;
    with_reason(&state, &caller, key, &id, &request, action).await
}

pub async fn resolve<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResolveRequest>,
) -> Result<Json<RedemptionView>, ApiError> {
    use crate::domain::redemption::RedemptionAction;
    let note = required_text("note", &request.note)?;
    let action = if request.upheld {
        RedemptionAction::UpholdDispute
    } else {
        RedemptionAction::RejectDispute
    };
    change(&state, &caller, key, &id, (action, None, note)).await
}

pub async fn revoke_voucher<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> Result<Json<super::vouchers::VoucherView>, ApiError> {
    let voucher_id = ApiError::id_or_404(&id)?;
    let reason = required_text("reason", &request.reason)?;
    let voucher = redemption::revoke_voucher(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        voucher_id,
        reason,
    )
    .await?;
    Ok(Json(super::vouchers::VoucherView::of(&voucher)?))
}

/// What a sweep did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepView {
    /// Changes this run recorded.
    pub changed: u64,
    /// Items already changed (by an earlier or concurrent sweep, or a person).
    pub already_done: u64,
}

fn sweep_result(
    result: Result<crate::service::sweeps::SweepReport, crate::service::UseCaseError>,
) -> Result<Json<SweepView>, ApiError> {
    let report = result?;
    Ok(Json(SweepView {
        changed: report.changed,
        already_done: report.already_done,
    }))
}

pub async fn sweep_expiry<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<SweepView>, ApiError> {
    let actor = caller.principal.actor();
    let result = crate::service::sweeps::expire_vouchers(
        &state.store,
        &state.writer,
        &actor,
        Timestamp::now(),
    )
    .await;
    sweep_result(result)
}

pub async fn sweep_auto_confirm<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<SweepView>, ApiError> {
    let actor = caller.principal.actor();
    let result =
        crate::service::sweeps::auto_confirm(&state.store, &state.writer, &actor, Timestamp::now())
            .await;
    sweep_result(result)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentsRequest {
    /// The VAT invoice (provider staff or admin).
    pub invoice: Option<InvoiceInput>,
    /// The enterprise's proof of paying its share.
    pub payment_proof_ref: Option<String>,
}

pub async fn attach_documents<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DocumentsRequest>,
) -> Result<Json<RedemptionView>, ApiError> {
    use crate::service::commands::ChangedBy;
    let redemption_id = ApiError::id_or_404(&id)?;
    let by = changed_by(&caller);
    if request.invoice.is_none() && request.payment_proof_ref.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "documents_required",
            "Give an invoice, a payment proof reference, or both.",
            "请提供发票、付款凭证编号，或两者。",
        ));
    }
    if matches!(by, ChangedBy::Enterprise(_)) && request.invoice.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invoice_from_provider",
            "The invoice is attached by the provider that issued it.",
            "发票须由开具发票的服务机构上传。",
        ));
    }
    let invoice = request.invoice.map(invoice).transpose()?;
    let payment_proof_ref = request
        .payment_proof_ref
        .map(|r| required_text("payment_proof_ref", &r))
        .transpose()?;
    redemption::attach_documents(
        &state.writer,
        Envelope::new(caller.principal.actor(), key),
        redemption_id,
        by,
        invoice,
        payment_proof_ref,
    )
    .await?;
    let record = state
        .store
        .redemption(redemption_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(redemption_view(&state.store, &record).await?))
}

/// The text of the QR code in an uploaded photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScannedView {
    /// `VP1:…` or `VL1:…`: give it to the preview and the redemption.
    pub qr_text: String,
}

/// A photo (PNG or JPEG body) of the voucher's QR code, for counters whose
/// camera cannot scan: the server finds and reads the code.
pub async fn scan_photo(body: axum::body::Bytes) -> Result<Json<ScannedView>, ApiError> {
    let read = tokio::task::spawn_blocking(move || crate::token::qr_read::read_qr_image(&body))
        .await
        .map_err(|error| ApiError::internal(&error))?;
    match read {
        Ok(qr_text) => Ok(Json(ScannedView { qr_text })),
        Err(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            error.to_string(),
            error.message_zh(),
        )),
    }
}

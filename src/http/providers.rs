//! The provider registry: register, update, change status, read.

use crate::service::commands::Envelope;
use crate::service::registry;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::provider::{ProviderError, ProviderFields, ProviderStatus};
use crate::domain::{Role, Timestamp};
use crate::store::Store;
use crate::store::registry::ProviderRecord;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: Uuid,
    pub uscc: String,
    pub name: String,
    /// applied (申请), approved (入库), suspended (暂停) or removed (出库).
    pub status: String,
    pub annual_cap_fen: i64,
    pub fields: ProviderFields,
    pub version: i64,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedProvider {
    pub provider: ProviderView,
    /// False when the request matched the record already.
    pub changed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    pub providers: Vec<ProviderView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderStatusRequest {
    pub status: ProviderStatus,
    pub reason: String,
}

fn view(record: &ProviderRecord) -> Result<ProviderView, ApiError> {
    Ok(ProviderView {
        id: record.id,
        uscc: record.uscc.clone(),
        name: record.name.clone(),
        status: record.status.to_string(),
        annual_cap_fen: record.annual_cap_fen,
        fields: record.fields.clone(),
        version: record.version,
        updated_at: Timestamp::from_micros(record.updated_at_us).to_cst_rfc3339(),
    })
}

fn provider_errors(errors: Vec<ProviderError>) -> ApiError {
    let message: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let message_zh: Vec<String> = errors.iter().map(|e| e.message_zh.clone()).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "provider_invalid",
        message.join(" "),
        message_zh.join(""),
    )
}

/// The provider a path names, by id or by USCC.
async fn provider_or_404<S: Store>(
    state: &AppState<S>,
    id: &str,
) -> Result<ProviderRecord, ApiError> {
    let found = match uuid::Uuid::parse_str(id) {
        Ok(id) => state.store.provider_by_id(id).await?,
        Err(_) => state.store.provider_by_uscc(id).await?,
    };
    found.ok_or_else(ApiError::not_found)
}

pub async fn record<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(fields): ApiJson<ProviderFields>,
) -> Result<Response, ApiError> {
    let cap_text = fields.annual_cap_yuan.clone();
    let input = fields.validate().map_err(provider_errors)?;
    // Every field's own refusal first, then the API's plain-amount rule.
    super::plain_yuan("annual_cap_yuan", &cap_text)?;
    let uscc = input.uscc.to_string();
    let by = Envelope::new(caller.principal.actor(), key);
    let recorded = registry::record_provider(&state.writer, by, input).await?;
    let status = super::recorded_status(recorded);
    let record = state
        .store
        .provider_by_uscc(&uscc)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((
        status,
        Json(RecordedProvider {
            provider: view(&record)?,
            changed: recorded.changed(),
        }),
    )
        .into_response())
}

pub async fn change_status<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ProviderStatusRequest>,
) -> Result<Json<ProviderView>, ApiError> {
    let record = provider_or_404(&state, &id).await?;
    registry::change_provider_status(
        &state.writer,
        Envelope::new(caller.principal.actor(), key),
        record.id,
        request.status,
        request.reason.trim().to_string(),
    )
    .await?;
    let record = state
        .store
        .provider_by_id(record.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(view(&record)?))
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<ProviderList>, ApiError> {
    let found = state
        .store
        .providers_after(page.after(), page.limit())
        .await?;
    Ok(Json(ProviderList {
        next_cursor: page.next_cursor(&found, |p| &p.uscc),
        providers: found.iter().map(view).collect::<Result<_, _>>()?,
    }))
}

/// The provider a path names, if the caller may see it (provider staff
/// only their own; others' → 404).
async fn visible_provider<S: Store>(
    state: &AppState<S>,
    caller: &super::auth::Authenticated,
    id: &str,
) -> Result<ProviderRecord, ApiError> {
    let record = provider_or_404(state, id).await?;
    if caller.principal.role == Role::Provider && caller.principal.party_id != Some(record.id) {
        return Err(ApiError::not_found());
    }
    Ok(record)
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ProviderView>, ApiError> {
    let record = visible_provider(&state, &caller, &id).await?;
    Ok(Json(view(&record)?))
}

/// One programme's balances with a provider, in fen.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderBalancesView {
    pub programme_code: String,
    /// Confirmed subsidies not yet in an approved batch.
    pub payable_fen: i64,
    /// In an approved batch, waiting for the bank.
    pub payout_pending_fen: i64,
    pub paid_fen: i64,
    /// Paid subsidies found fraudulent, to be taken back (追回) from the
    /// next payouts.
    pub recovery_receivable_fen: i64,
}

/// A payout to the provider, with its settlement run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderPayoutView {
    pub reference: String,
    pub run_id: String,
    pub programme_code: String,
    pub period_from: String,
    pub period_until: String,
    /// prepared or approved.
    pub run_status: String,
    pub gross_fen: i64,
    pub offset_fen: i64,
    pub net_fen: i64,
    /// pending, paid or failed.
    pub status: String,
    pub bank_message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderAccountView {
    pub provider_id: Uuid,
    /// Programmes where any balance is not zero.
    pub balances: Vec<ProviderBalancesView>,
    /// Newest first; statements at
    /// `/api/v1/settlement-runs/{run_id}/statements/{provider_id}/statement.{xlsx,csv,pdf}`.
    pub payouts: Vec<ProviderPayoutView>,
}

pub async fn account<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ProviderAccountView>, ApiError> {
    let record = visible_provider(&state, &caller, &id).await?;
    let account =
        crate::service::provider_account::provider_account(&state.store, record.id).await?;
    Ok(Json(ProviderAccountView {
        provider_id: record.id,
        balances: account
            .balances
            .into_iter()
            .map(|b| ProviderBalancesView {
                programme_code: b.programme_code,
                payable_fen: b.payable_fen,
                payout_pending_fen: b.payout_pending_fen,
                paid_fen: b.paid_fen,
                recovery_receivable_fen: b.recovery_receivable_fen,
            })
            .collect(),
        payouts: account
            .payouts
            .into_iter()
            .map(|(payout, run)| ProviderPayoutView {
                reference: payout.reference,
                run_id: run.id.to_string(),
                programme_code: run.programme_code.to_string(),
                period_from: run.period_from,
                period_until: run.period_until,
                run_status: run.status.to_string(),
                gross_fen: payout.gross_fen,
                offset_fen: payout.offset_fen,
                net_fen: payout.net_fen,
                status: payout.status.to_string(),
                bank_message: payout.bank_message,
            })
            .collect(),
    }))
}

//! The provider registry: register, update, change status, read.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Auth;
use super::idempotency::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::provider::{ProviderError, ProviderFields, ProviderStatus};
use crate::domain::{Role, Timestamp};
use crate::service::command::{Command, Submission};
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
        status: record.status.clone(),
        annual_cap_fen: record.annual_cap_fen,
        fields: serde_json::from_str(&record.fields_json).map_err(|e| ApiError::internal(&e))?,
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
    let input = fields.validate().map_err(provider_errors)?;
    let uscc = input.uscc.to_string();
    let command = Command::RecordProvider {
        provider_id: Uuid::now_v7(),
        input,
    };
    let created = crate::ledger::body::EntryKind::ProviderRegistered;
    let (status, changed) =
        super::submit_record(&state, caller.principal.actor(), key, command, created).await?;
    let record = state
        .store
        .provider_by_uscc(&uscc)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((
        status,
        Json(RecordedProvider {
            provider: view(&record)?,
            changed,
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
    state
        .writer
        .submit(Submission {
            actor: caller.principal.actor(),
            idempotency_key: key,
            command: Command::ChangeProviderStatus {
                provider_id: record.id,
                status: request.status,
                reason: request.reason.trim().to_string(),
            },
        })
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

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ProviderView>, ApiError> {
    let record = provider_or_404(&state, &id).await?;
    if caller.principal.role == Role::Provider && caller.principal.party_id != Some(record.id) {
        return Err(ApiError::not_found());
    }
    Ok(Json(view(&record)?))
}

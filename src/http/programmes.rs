//! Programmes: create and edit drafts, open, amend, close, fund; and for
//! enterprises, which open programmes they may claim from and why not.

use crate::service::commands::Envelope;
use crate::service::programmes;
use crate::service::written::unchanged_is_done;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::programme::{ProgrammeStatus, ProgrammeTerms, TermsError};
use crate::domain::{ProgrammeCode, Role, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::service::commands::ProgrammeChange;
use crate::store::Store;
use crate::store::registry::ProgrammeRecord;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProgrammeRequest {
    /// e.g. ZS2026-01: 2–32 of A–Z, 0–9, '-', '_'.
    pub code: String,
    pub terms: ProgrammeTerms,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendProgrammeRequest {
    pub terms: ProgrammeTerms,
    /// Why the terms change (recorded in the ledger).
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingRequest {
    /// In 元, e.g. "3,000,000.00".
    pub amount_yuan: String,
    /// The appropriation document, e.g. 舟财企〔2026〕12号.
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeView {
    pub code: String,
    /// draft, open or closed.
    pub status: String,
    pub version: i64,
    pub terms: ProgrammeTerms,
    /// Money appropriated so far (funding and top-ups).
    pub funded_fen: i64,
    /// Budget not yet committed to vouchers.
    pub available_fen: i64,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeList {
    pub programmes: Vec<ProgrammeView>,
    pub next_cursor: Option<String>,
}

fn terms_error(errors: Vec<TermsError>) -> ApiError {
    let message: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let message_zh: Vec<String> = errors.iter().map(|e| e.message_zh.clone()).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "terms_invalid",
        message.join(" "),
        message_zh.join(""),
    )
}

fn code_or_404(code: &str) -> Result<ProgrammeCode, ApiError> {
    ProgrammeCode::parse(code).map_err(|_| ApiError::not_found())
}

/// Providers and enterprises do not see drafts.
pub(super) fn visible_to(record: &ProgrammeRecord, role: Role) -> bool {
    matches!(role, Role::Admin | Role::Finance | Role::Auditor)
        || record.status != ProgrammeStatus::Draft
}

async fn view<S: Store>(
    state: &AppState<S>,
    record: ProgrammeRecord,
) -> Result<ProgrammeView, ApiError> {
    let terms = record.terms.clone();
    let code = record.code.clone();
    let balance = async |kind: AccountKind| -> Result<i64, ApiError> {
        let account = Account::programme(kind, &code).map_err(|e| ApiError::internal(&e))?;
        Ok(state.store.balance_of(&account.to_string()).await?)
    };
    Ok(ProgrammeView {
        funded_fen: -balance(AccountKind::ProgrammeFunding).await?,
        available_fen: balance(AccountKind::BudgetAvailable).await?,
        code: record.code.to_string(),
        status: record.status.to_string(),
        version: record.version,
        terms,
        updated_at: Timestamp::from_micros(record.updated_at_us).to_cst_rfc3339(),
    })
}

async fn change<S: Store>(
    state: &AppState<S>,
    actor: String,
    key: String,
    code: ProgrammeCode,
    change: ProgrammeChange,
) -> Result<Response, ApiError> {
    let created = matches!(change, ProgrammeChange::Create(_));
    let changed = programmes::change(
        &state.writer,
        Envelope::new(actor, key),
        code.clone(),
        change,
    );
    unchanged_is_done(changed.await)?;
    let record = state
        .store
        .programme(code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(state, record).await?)).into_response())
}

pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<CreateProgrammeRequest>,
) -> Result<Response, ApiError> {
    let code = ProgrammeCode::parse(&request.code).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "programme_code_invalid",
            format!("{e}."),
            "项目代码须为 2–32 位大写字母、数字、'-' 或 '_'。",
        )
    })?;
    request.terms.validate().map_err(terms_error)?;
    change(
        &state,
        caller.principal.actor(),
        key,
        code,
        ProgrammeChange::Create(request.terms),
    )
    .await
}

pub async fn update_draft<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
    ApiJson(terms): ApiJson<ProgrammeTerms>,
) -> Result<Response, ApiError> {
    let code = code_or_404(&code)?;
    terms.validate().map_err(terms_error)?;
    change(
        &state,
        caller.principal.actor(),
        key,
        code,
        ProgrammeChange::UpdateDraft(terms),
    )
    .await
}

pub async fn open<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    change(
        &state,
        caller.principal.actor(),
        key,
        code_or_404(&code)?,
        ProgrammeChange::Open,
    )
    .await
}

pub async fn close<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    change(
        &state,
        caller.principal.actor(),
        key,
        code_or_404(&code)?,
        ProgrammeChange::Close,
    )
    .await
}

pub async fn amend<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
    ApiJson(request): ApiJson<AmendProgrammeRequest>,
) -> Result<Response, ApiError> {
    let code = code_or_404(&code)?;
    request.terms.validate().map_err(terms_error)?;
    if request.reason.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "An amendment needs a reason.",
            "修改须说明理由。",
        ));
    }
    let amendment = ProgrammeChange::Amend {
        terms: request.terms,
        reason: request.reason.trim().to_string(),
    };
    change(&state, caller.principal.actor(), key, code, amendment).await
}

pub async fn fund<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
    ApiJson(request): ApiJson<FundingRequest>,
) -> Result<Response, ApiError> {
    let code = code_or_404(&code)?;
    if state.store.programme(code.as_str()).await?.is_none() {
        return Err(ApiError::not_found());
    }
    let amount = super::plain_yuan("amount_yuan", &request.amount_yuan)?;
    programmes::fund(
        &state.writer,
        Envelope::new(caller.principal.actor(), key),
        code.clone(),
        amount,
        request.reference.trim().to_string(),
    )
    .await?;
    let record = state
        .store
        .programme(code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::OK, Json(view(&state, record).await?)).into_response())
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<ProgrammeList>, ApiError> {
    let found = state
        .store
        .programmes_after(page.after(), page.limit())
        .await?;
    let next_cursor = page.next_cursor(&found, |p| p.code.as_str());
    let mut programmes = Vec::new();
    for record in found
        .into_iter()
        .filter(|p| visible_to(p, caller.principal.role))
    {
        programmes.push(view(&state, record).await?);
    }
    Ok(Json(ProgrammeList {
        programmes,
        next_cursor,
    }))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> Result<Json<ProgrammeView>, ApiError> {
    let code = code_or_404(&code)?;
    let record = state
        .store
        .programme(code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !visible_to(&record, caller.principal.role) {
        return Err(ApiError::not_found());
    }
    Ok(Json(view(&state, record).await?))
}

//! Personal data over HTTP (docs/api.md "Personal data",
//! docs/personal-data.md): the admin records erasure requests (erased, or
//! restricted while a retention period runs), and the admin and auditor see
//! a subject's standing and who read which subject's personal data
//! unmasked.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::personal::request::{self, RequestRefusal, Standing};
use crate::service::commands::personal::{RequestErasure, subject_enterprise};
use crate::service::personal::request_erasure;
use crate::store::Store;
use crate::store::personal::{PersonalRead, READS_PAGE_MAX, SubjectKeyRecord};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// `enterprise:<uuid>` (the enterprise's contact person).
    pub subject: String,
    /// purpose_achieved, service_ended, consent_withdrawn,
    /// unlawful_processing or other_law (PIPL Art. 47 ¶1).
    pub legal_basis: String,
    /// data_subject, enterprise, authority or programme_office.
    pub requester: String,
    /// The request's case or letter number, 1–64 bytes (no names).
    pub reference: String,
    /// YYYY-MM-DD: a retention period runs to this day (inclusive): the
    /// data is restricted to storage until then instead of erased.
    #[serde(default)]
    pub retain_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectView {
    pub subject: String,
    /// `live` (readable), `restricted` (storage only), `erased` (key
    /// destroyed) or `none` (nothing sealed under it yet).
    pub state: String,
    pub created_at: Option<String>,
    pub restricted_at: Option<String>,
    pub retain_until: Option<String>,
    pub erased_at: Option<String>,
    /// True when this request had been recorded before (nothing new).
    pub replayed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadView {
    pub id: i64,
    pub read_at: String,
    /// `user:<role>:<id>` (as in ledger entries) or `cli:export`.
    pub actor: String,
    pub role: String,
    pub subject: String,
    pub field: String,
    pub purpose: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadList {
    /// Newest first.
    pub reads: Vec<ReadView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    pub subject: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

fn at_us(us: i64) -> String {
    Timestamp::from_micros(us).to_cst_rfc3339()
}

fn subject_view(subject: &str, record: Option<&SubjectKeyRecord>, replayed: bool) -> SubjectView {
    let state = match record.map(SubjectKeyRecord::standing) {
        None => "none",
        Some(Standing::Erased) => "erased",
        Some(Standing::Restricted { .. }) => "restricted",
        Some(Standing::Live) => "live",
    };
    SubjectView {
        subject: subject.to_string(),
        state: state.to_string(),
        created_at: record.map(|r| at_us(r.created_at_us)),
        restricted_at: record.and_then(|r| r.restricted_at_us).map(at_us),
        retain_until: record.and_then(|r| r.retain_until.clone()),
        erased_at: record.and_then(|r| r.erased_at_us).map(at_us),
        replayed,
    }
}

fn invalid(code: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, en, zh)
}

fn subject_invalid() -> ApiError {
    invalid(
        "subject_invalid",
        "subject must be enterprise:<id> (the enterprise's id in lower-case hyphenated form).",
        "subject 须为 enterprise:<企业 id>（小写、带连字符的 id）。",
    )
}

fn refusal_error(refusal: &RequestRefusal) -> ApiError {
    match refusal {
        RequestRefusal::LegalBasis => invalid(
            "legal_basis_invalid",
            "legal_basis must be one of purpose_achieved, service_ended, consent_withdrawn, unlawful_processing, other_law.",
            "legal_basis 须为 purpose_achieved、service_ended、consent_withdrawn、unlawful_processing、other_law 之一（个人信息保护法第四十七条）。",
        ),
        RequestRefusal::Requester => invalid(
            "requester_invalid",
            "requester must be one of data_subject, enterprise, authority, programme_office.",
            "requester 须为 data_subject、enterprise、authority、programme_office 之一。",
        ),
        _ => invalid(
            "reference_invalid",
            "reference must be 1–64 bytes of printable text (a case or letter number, not a name).",
            "reference 须为 1–64 字节的可打印文字（案号或函号，勿填姓名）。",
        ),
    }
}

/// Records an erasure request: erased, or restricted to storage while a
/// retention period runs.
pub async fn request<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<Json<SubjectView>, ApiError> {
    let enterprise = subject_enterprise(&body.subject).ok_or_else(subject_invalid)?;
    request::check(&body.legal_basis, &body.requester, &body.reference)
        .map_err(|refusal| refusal_error(&refusal))?;
    let retain_until = body
        .retain_until
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| super::registry::date(t, "retain_until"))
        .transpose()?;
    state
        .store
        .enterprise_by_id(enterprise)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let command = RequestErasure {
        subject: body.subject.clone(),
        legal_basis: body.legal_basis,
        requester: body.requester,
        reference: body.reference.trim().to_string(),
        retain_until,
    };
    let (record, replayed) = request_erasure(
        &state.store,
        &state.writer,
        state.config.erasures.as_deref(),
        caller.principal.actor(),
        key,
        command,
    )
    .await?;
    Ok(Json(subject_view(&body.subject, Some(&record), replayed)))
}

/// A subject's standing.
pub async fn subject<S: Store>(
    State(state): State<AppState<S>>,
    Path(subject): Path<String>,
) -> Result<Json<SubjectView>, ApiError> {
    let enterprise = subject_enterprise(&subject).ok_or_else(subject_invalid)?;
    state
        .store
        .enterprise_by_id(enterprise)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let record = state.store.subject_key(&subject).await?;
    Ok(Json(subject_view(&subject, record.as_ref(), false)))
}

fn read_view(r: PersonalRead) -> ReadView {
    ReadView {
        id: r.id,
        read_at: at_us(r.read_at_us),
        actor: r.actor,
        role: r.role,
        subject: r.subject,
        field: r.field,
        purpose: r.purpose,
    }
}

/// Unmasked reads of personal data, newest first.
pub async fn reads<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<ReadList>, ApiError> {
    if let Some(subject) = &query.subject
        && subject_enterprise(subject).is_none()
    {
        return Err(subject_invalid());
    }
    let limit = query.limit.unwrap_or(100).clamp(1, READS_PAGE_MAX);
    let found = state
        .store
        .personal_reads(query.subject.as_deref(), query.before, limit)
        .await?;
    let next_before = (found.len() == limit as usize)
        .then(|| found.last().map(|r| r.id))
        .flatten();
    Ok(Json(ReadList {
        reads: found.into_iter().map(read_view).collect(),
        next_before,
    }))
}

//! The enterprise registry: record, read, tag, blacklist, import.

use crate::service::commands::Envelope;
use crate::service::registry;
use crate::service::written::unchanged_is_done;
use crate::service::{CommandError, Receipt};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::enterprise::{EnterpriseFields, FieldError};
use crate::domain::{Role, Timestamp};
use crate::service::commands::PartyKind;
use crate::service::import::{ImportReport, zone_map};
use crate::store::Store;
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseRequest {
    pub uscc: String,
    pub name: String,
    /// GB/T 2260 code, e.g. 330902 (定海区).
    pub division: String,
    /// Functional zone, e.g. 新城.
    pub zone: Option<String>,
    /// industry, software_it, wholesale, retail, transport, warehousing,
    /// other (or the Chinese names).
    pub sector: String,
    pub staff: u32,
    /// Operating revenue in 元, e.g. "12,345,678.00".
    pub revenue_yuan: String,
    pub contact: Option<String>,
    /// 法定代表人 (used to refuse related-party redemptions).
    pub legal_representative: Option<String>,
    /// Admit a legacy pilot code that fails the national check: why.
    /// Recorded in the ledger.
    pub legacy_uscc_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseView {
    pub id: Uuid,
    pub uscc: String,
    /// True if admitted by the legacy override.
    pub uscc_override: bool,
    pub name: String,
    pub division: String,
    pub zone: Option<String>,
    pub sector: String,
    pub staff: i64,
    pub revenue_fen: i64,
    /// Derived: micro, small, medium or large.
    pub size_class: String,
    pub size_standard: String,
    pub contact: Option<String>,
    pub legal_representative: Option<String>,
    pub version: i64,
    pub updated_at: String,
}

impl From<&EnterpriseRecord> for EnterpriseView {
    fn from(e: &EnterpriseRecord) -> Self {
        EnterpriseView {
            id: e.id,
            uscc: e.uscc.clone(),
            uscc_override: e.uscc_override,
            name: e.name.clone(),
            division: e.division.to_string(),
            zone: e.zone.clone(),
            sector: e.sector.clone(),
            staff: e.staff,
            revenue_fen: e.revenue_fen,
            size_class: e.size_class.as_str().to_string(),
            size_standard: e.size_standard.clone(),
            contact: e.contact.clone(),
            legal_representative: e.legal_representative.clone(),
            version: e.version,
            updated_at: Timestamp::from_micros(e.updated_at_us).to_cst_rfc3339(),
        }
    }
}

/// How much of a contact a view may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exposure {
    /// Lists and write answers: masked for everyone (王** 138****1234).
    Masked,
    /// One enterprise opened: in full for the admin and the enterprise
    /// itself (each such read recorded), masked for others.
    Opened,
}

/// The view with its contact as `caller` may see it (docs/personal-data.md
/// "Who sees what"): none for another enterprise's user; an erased
/// subject's as 已删除 / erased, a restricted one's as 受限 / restricted.
async fn shown<S: Store>(
    state: &AppState<S>,
    caller: &super::auth::Authenticated,
    mut view: EnterpriseView,
    exposure: Exposure,
) -> Result<EnterpriseView, ApiError> {
    use crate::service::personal::{Reader, Revealed, read_by, reveal};
    let Some(text) = view.contact.take() else {
        return Ok(view);
    };
    let own = caller.principal.party_id == Some(view.id);
    let overseer = matches!(
        caller.principal.role,
        Role::Admin | Role::Finance | Role::Auditor
    );
    if !own && !overseer {
        // Another enterprise's contact is nothing to this caller.
        return Ok(view);
    }
    let subject = crate::service::commands::personal::enterprise_subject(view.id);
    let revealed = reveal(
        &state.store,
        state.config.personal_key.as_deref(),
        &subject,
        "contact",
        &text,
    )
    .await?;
    let full = exposure == Exposure::Opened && (caller.principal.role == Role::Admin || own);
    view.contact = Some(match revealed {
        Revealed::Value(value) if full => {
            let reader = Reader {
                actor: caller.principal.actor(),
                role: caller.principal.role.as_str().to_string(),
                purpose: "GET /api/v1/enterprises/{id}".to_string(),
            };
            state
                .store
                .record_personal_reads(&[read_by(&reader, &subject, "contact")])
                .await?;
            value
        }
        Revealed::Value(value) => crate::personal::sealed::mask(&value),
        other => other.label().unwrap_or_default().to_string(),
    });
    Ok(view)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedEnterprise {
    pub enterprise: EnterpriseView,
    /// False when the request matched the record already (nothing recorded).
    pub changed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    pub tag: String,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistView {
    pub id: Uuid,
    pub reason: String,
    pub source: String,
    pub effective_from: String,
    pub effective_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseDetail {
    pub enterprise: EnterpriseView,
    pub tags: Vec<TagView>,
    pub blacklist: Vec<BlacklistView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseList {
    pub enterprises: Vec<EnterpriseView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    pub tag: String,
    /// YYYY-MM-DD (UTC+8).
    pub valid_from: String,
    pub valid_until: Option<String>,
    /// Where the listing comes from, e.g. 浙江省经信厅 2026 年第一批.
    pub source: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlacklistRequest {
    /// e.g. 失信, 四无, 低散乱危, 套现.
    pub reason: String,
    pub source: String,
    pub effective_from: String,
    pub effective_until: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// all_or_nothing (default) or valid_rows.
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub applied: bool,
    pub errors: Vec<ImportRowError>,
}

impl From<ImportReport> for ImportResult {
    fn from(report: ImportReport) -> Self {
        ImportResult {
            rows: report.rows,
            created: report.created,
            updated: report.updated,
            unchanged: report.unchanged,
            applied: report.applied,
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    row: e.row,
                    column: e.column,
                    code: e.code,
                    message: e.message,
                    message_zh: e.message_zh,
                })
                .collect(),
        }
    }
}

fn field_errors(errors: Vec<FieldError>) -> ApiError {
    let first = &errors[0];
    let all: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    let all_zh: Vec<String> = errors.iter().map(|e| e.message_zh.clone()).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        first.code,
        all.join(" "),
        all_zh.join(""),
    )
}

pub(super) fn date(text: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "date_invalid",
            format!("{field} must be a date as YYYY-MM-DD."),
            format!("{field} 须为 YYYY-MM-DD 格式的日期。"),
        )
    })
}

fn optional_date(text: Option<&str>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| date(t, field))
        .transpose()
}

/// The enterprise a path names, by id or by USCC (people know a firm by
/// its USCC; links use the id).
async fn enterprise_or_404<S: Store>(
    state: &AppState<S>,
    id: &str,
) -> Result<EnterpriseRecord, ApiError> {
    let found = match uuid::Uuid::parse_str(id) {
        Ok(id) => state.store.enterprise_by_id(id).await?,
        Err(_) => state.store.enterprise_by_uscc(id).await?,
    };
    found.ok_or_else(ApiError::not_found)
}

pub async fn record<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<EnterpriseRequest>,
) -> Result<Response, ApiError> {
    let revenue_text = request.revenue_yuan.clone();
    let fields = EnterpriseFields {
        uscc: request.uscc,
        name: request.name,
        division: request.division,
        zone: request.zone.unwrap_or_default(),
        sector: request.sector,
        staff: request.staff.to_string(),
        revenue_yuan: request.revenue_yuan,
        contact: request.contact.unwrap_or_default(),
        legal_representative: request.legal_representative.unwrap_or_default(),
    };
    let today = Timestamp::now().cst_date();
    let zones = zone_map(&state.store).await?;
    let input = fields
        .validate(request.legacy_uscc_reason.as_deref(), today, &zones)
        .map_err(field_errors)?;
    // Every field's own refusal first, then the API's plain-amount rule.
    super::plain_yuan("revenue_yuan", &revenue_text)?;
    if let Some(reason) = input.uscc.override_reason() {
        tracing::warn!(uscc = input.uscc.code(), reason, actor = %caller.principal.actor(), "legacy USCC admitted by override");
    }
    let uscc = input.uscc.code().to_string();
    let by = Envelope::new(caller.principal.actor(), key);
    let recorded = registry::record_enterprise(&state.writer, by, input).await?;
    let status = super::recorded_status(recorded);
    let record = state
        .store
        .enterprise_by_uscc(&uscc)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let body = RecordedEnterprise {
        enterprise: shown(
            &state,
            &caller,
            EnterpriseView::from(&record),
            Exposure::Masked,
        )
        .await?,
        changed: recorded.changed(),
    };
    Ok((status, Json(body)).into_response())
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<EnterpriseList>, ApiError> {
    let found = state
        .store
        .enterprises_after(page.after(), page.limit())
        .await?;
    let mut enterprises = Vec::with_capacity(found.len());
    for record in &found {
        enterprises.push(
            shown(
                &state,
                &caller,
                EnterpriseView::from(record),
                Exposure::Masked,
            )
            .await?,
        );
    }
    Ok(Json(EnterpriseList {
        next_cursor: page.next_cursor(&found, |e| &e.uscc),
        enterprises,
    }))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<EnterpriseDetail>, ApiError> {
    let record = enterprise_or_404(&state, &id).await?;
    // An enterprise user sees only the enterprise it acts for.
    if caller.principal.role == Role::Enterprise && caller.principal.party_id != Some(record.id) {
        return Err(ApiError::not_found());
    }
    let tags = state.store.tags_of(record.id).await?;
    let blacklist = state.store.blacklist_of("enterprise", record.id).await?;
    Ok(Json(EnterpriseDetail {
        enterprise: shown(
            &state,
            &caller,
            EnterpriseView::from(&record),
            Exposure::Opened,
        )
        .await?,
        tags: tags.into_iter().map(tag_view).collect(),
        blacklist: blacklist.into_iter().map(blacklist_view).collect(),
    }))
}

fn tag_view(t: TagRecord) -> TagView {
    TagView {
        tag: t.tag,
        valid_from: t.valid_from,
        valid_until: t.valid_until,
        source: t.source,
    }
}

fn blacklist_view(b: BlacklistRecord) -> BlacklistView {
    BlacklistView {
        id: b.id,
        reason: b.reason,
        source: b.source,
        effective_from: b.effective_from,
        effective_until: b.effective_until,
    }
}

pub async fn tag<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<TagRequest>,
) -> Result<Response, ApiError> {
    let record = enterprise_or_404(&state, &id).await?;
    let tag = registry::Tag {
        tag: request.tag.trim().to_string(),
        valid_from: date(&request.valid_from, "valid_from")?,
        valid_until: optional_date(request.valid_until.as_deref(), "valid_until")?,
        source: request.source.trim().to_string(),
    };
    let by = Envelope::new(caller.principal.actor(), key);
    let tagged = registry::tag_enterprise(&state.writer, by, record.id, tag).await;
    show_after(&state, &caller, tagged, record.id).await
}

pub async fn blacklist<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<BlacklistRequest>,
) -> Result<Response, ApiError> {
    let record = enterprise_or_404(&state, &id).await?;
    let listing = registry::Listing {
        reason: request.reason.trim().to_string(),
        source: request.source.trim().to_string(),
        effective_from: date(&request.effective_from, "effective_from")?,
        effective_until: optional_date(request.effective_until.as_deref(), "effective_until")?,
    };
    let by = Envelope::new(caller.principal.actor(), key);
    let listed =
        registry::blacklist(&state.writer, by, PartyKind::Enterprise, record.id, listing).await;
    show_after(&state, &caller, listed, record.id).await
}

/// After a change to an enterprise, answers with its detail.
async fn show_after<S: Store>(
    state: &AppState<S>,
    caller: &super::auth::Authenticated,
    changed: Result<Receipt, CommandError>,
    enterprise_id: Uuid,
) -> Result<Response, ApiError> {
    unchanged_is_done(changed)?;
    let record = state
        .store
        .enterprise_by_id(enterprise_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let tags = state.store.tags_of(enterprise_id).await?;
    let blacklist = state
        .store
        .blacklist_of("enterprise", enterprise_id)
        .await?;
    let detail = EnterpriseDetail {
        enterprise: shown(
            state,
            caller,
            EnterpriseView::from(&record),
            Exposure::Masked,
        )
        .await?,
        tags: tags.into_iter().map(tag_view).collect(),
        blacklist: blacklist.into_iter().map(blacklist_view).collect(),
    };
    Ok((StatusCode::OK, Json(detail)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRequest {
    /// e.g. 新城, 普陀山-朱家尖, 高新区.
    pub name: String,
    /// The parent GB/T 2260 division, e.g. 330902.
    pub division: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    pub name: String,
    pub division: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneList {
    pub zones: Vec<ZoneView>,
}

pub async fn zones<S: Store>(State(state): State<AppState<S>>) -> Result<Json<ZoneList>, ApiError> {
    let zones = state.store.zones().await?;
    Ok(Json(ZoneList {
        zones: zones
            .into_iter()
            .map(|(name, division)| ZoneView { name, division })
            .collect(),
    }))
}

pub async fn define_zone<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<ZoneRequest>,
) -> Result<Json<ZoneList>, ApiError> {
    let division = crate::domain::DivisionCode::parse(request.division.trim()).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "division_invalid",
            format!("division: {e}."),
            "行政区划代码无效。",
        )
    })?;
    let by = Envelope::new(caller.principal.actor(), key);
    let name = request.name.trim().to_string();
    unchanged_is_done(registry::define_zone(&state.writer, by, name, division).await)?;
    zones(State(state)).await
}

//! Vouchers over HTTP: an enterprise claims one; the admin allocates to a
//! list; owners and staff read them, as JSON, QR images (PNG, SVG) and a
//! printable A6 page (the short-lived presentations of `rotating`
//! programmes are in `presentations`); the admin re-issues a revoked key's
//! vouchers.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use crate::domain::status::VoucherStatus;

use uuid::Uuid;

use super::auth::{Auth, Authenticated};
use super::error::ErrorReason;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::domain::programme::ProgrammeTerms;
use crate::domain::{Fen, ProgrammeCode, Role, Timestamp};
use crate::service::commands::IssueVia;
use crate::service::issuance::voucher_token;
use crate::service::vouchers::{self, Allocated};
use crate::store::Store;
use crate::store::voucher::{VoucherFilter, VoucherRecord};
use crate::token::qr;

/// Most enterprises in one allocation request.
pub const ALLOCATION_LIST_MAX: usize = 20_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// One of the programme's face values, in fen; may be left out when
    /// the programme offers only one.
    pub face_value_fen: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// The enterprises' USCCs (1 to 20,000), e.g. the 专精特新 library.
    pub usccs: Vec<String>,
    /// As for a claim.
    pub face_value_fen: Option<i64>,
}

/// A voucher as its holder and the staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherView {
    pub id: String,
    pub programme_code: String,
    pub enterprise_id: String,
    pub enterprise_uscc: String,
    pub face_value_fen: i64,
    /// 元, two decimals.
    pub face_value_yuan: String,
    /// In Chinese capital numerals (大写).
    pub face_value_daxie: String,
    pub remaining_fen: i64,
    pub remaining_yuan: String,
    /// First and last day it may be used (UTC+8, inclusive).
    pub valid_from: String,
    pub valid_until: String,
    pub service_categories: Vec<String>,
    /// active, reissued, redeemed, expired or revoked.
    pub status: String,
    /// claim, allocation or reissue.
    pub via: String,
    pub key_id: String,
    /// The ledger entry that issued it.
    pub issued_sequence: u64,
    pub issued_at: String,
    /// For a re-issued voucher: the one it replaces.
    pub replaces_id: Option<String>,
    /// The QR text (`VL1:…`), verifiable offline (docs/token-format.md).
    pub token: String,
    /// While a provider holds the voucher (it is being redeemed at that
    /// counter, 核销中): until when (RFC 3339, UTC+8) and the provider's
    /// name. Filled by `GET /api/v1/vouchers/{id}`; null in lists.
    pub held_until: Option<String>,
    pub held_by: Option<String>,
}

impl VoucherView {
    pub fn of(record: &VoucherRecord) -> Result<VoucherView, ApiError> {
        let face = Fen::new(record.face_value_fen);
        let remaining = Fen::new(record.remaining_fen);
        Ok(VoucherView {
            id: record.id.to_string(),
            programme_code: record.programme_code.to_string(),
            enterprise_id: record.enterprise_id.to_string(),
            enterprise_uscc: record.enterprise_uscc.clone(),
            face_value_fen: face.as_fen(),
            face_value_yuan: face.to_plain_yuan(),
            face_value_daxie: face.to_daxie(),
            remaining_fen: remaining.as_fen(),
            remaining_yuan: remaining.to_plain_yuan(),
            valid_from: record.valid_from.to_string(),
            valid_until: record.valid_until.to_string(),
            service_categories: record.service_categories.clone(),
            status: record.status.to_string(),
            via: record.via.clone(),
            key_id: record.key_id.clone(),
            issued_sequence: record.issued_sequence,
            issued_at: Timestamp::from_micros(record.issued_at_us).to_cst_rfc3339(),
            replaces_id: record.replaces_id.map(|id| id.to_string()),
            token: voucher_token(record)?,
            held_until: None,
            held_by: None,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherList {
    pub vouchers: Vec<VoucherView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationResult {
    pub uscc: String,
    /// issued (now), already_issued (by an earlier run with the same
    /// Idempotency-Key) or refused.
    pub outcome: &'static str,
    pub voucher: Option<VoucherView>,
    /// For a refusal: the first reason's code, and every reason.
    pub code: Option<String>,
    pub reasons: Vec<ErrorReason>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationReport {
    pub programme_code: String,
    pub face_value_fen: i64,
    pub total: usize,
    pub issued: usize,
    pub already_issued: usize,
    pub refused: usize,
    /// One per enterprise, in the order given.
    pub results: Vec<AllocationResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReissuedVoucher {
    pub old_voucher_id: String,
    pub voucher: VoucherView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReissueReport {
    pub key_id: String,
    pub reissued: Vec<ReissuedVoucher>,
    pub refused: Vec<AllocationRefusal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationRefusal {
    pub voucher_id: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherQuery {
    pub programme: Option<String>,
    /// active, reissued, redeemed, expired or revoked (anything else is
    /// refused with 400 `invalid_query`).
    #[schema(value_type = Option<String>)]
    pub status: Option<VoucherStatus>,
    pub key_id: Option<String>,
    /// Cursor: the last voucher id of the previous page.
    pub after: Option<String>,
    /// 1–200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    /// PNG pixels per QR module, 1–32 (default 8).
    pub module_pixels: Option<u32>,
}

fn code_or_404(code: &str) -> Result<ProgrammeCode, ApiError> {
    ProgrammeCode::parse(code).map_err(|_| ApiError::not_found())
}

/// The programme's terms, or 404. Handlers use them only for what the
/// writer re-checks under the lock or for display, so a copy at most a
/// second old will do (`terms_cache`).
pub(super) async fn programme_terms<S: Store>(
    state: &AppState<S>,
    code: &ProgrammeCode,
) -> Result<Arc<ProgrammeTerms>, ApiError> {
    state
        .terms_cache
        .terms(&state.store, code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The face value asked for, or the programme's only one.
fn face_value(terms: &ProgrammeTerms, asked: Option<i64>) -> Result<Fen, ApiError> {
    terms
        .chosen_face_value(asked.map(Fen::new))
        .map_err(|offered| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "face_value_required",
                format!("Choose a face value (face_value_fen): {offered}."),
                format!("请选择面额（face_value_fen）：{offered}。"),
            )
        })
}

fn issue_error(error: vouchers::IssueError) -> ApiError {
    match error {
        vouchers::IssueError::Command(error) => error.into(),
        vouchers::IssueError::Store(error) => error.into(),
    }
}

pub async fn claim<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
    ApiJson(request): ApiJson<ClaimRequest>,
) -> Result<Response, ApiError> {
    let code = code_or_404(&code)?;
    let terms = programme_terms(&state, &code).await?;
    let face_value = face_value(&terms, request.face_value_fen)?;
    let enterprise_id = caller.principal.party_id.ok_or_else(ApiError::not_found)?;
    let (voucher, replayed) = vouchers::issue(
        &state.store,
        &state.writer,
        caller.principal.actor(),
        key,
        &code,
        enterprise_id,
        face_value,
        IssueVia::Claim,
    )
    .await
    .map_err(issue_error)?;
    let mut response = (StatusCode::CREATED, Json(VoucherView::of(&voucher)?)).into_response();
    if replayed {
        response.headers_mut().insert(
            super::idempotency_key::REPLAYED_HEADER,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

pub async fn allocate<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(code): Path<String>,
    ApiJson(request): ApiJson<AllocationRequest>,
) -> Result<Json<AllocationReport>, ApiError> {
    let code = code_or_404(&code)?;
    let terms = programme_terms(&state, &code).await?;
    let face_value = face_value(&terms, request.face_value_fen)?;
    if request.usccs.is_empty() || request.usccs.len() > ALLOCATION_LIST_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "allocation_list_size",
            format!("Give 1 to {ALLOCATION_LIST_MAX} USCCs."),
            format!("请提供 1 至 {ALLOCATION_LIST_MAX} 个统一社会信用代码。"),
        ));
    }
    let usccs: Vec<String> = request
        .usccs
        .iter()
        .map(|u| u.trim().to_ascii_uppercase())
        .collect();
    let outcomes = vouchers::allocate(
        &state.store,
        &state.writer,
        &caller.principal.actor(),
        &key,
        &code,
        face_value,
        &usccs,
        |_, _| {},
    )
    .await?;
    allocation_report(&code, face_value, outcomes).map(Json)
}

/// The per-enterprise report of an allocation.
pub fn allocation_report(
    code: &ProgrammeCode,
    face_value: Fen,
    outcomes: Vec<(String, Allocated)>,
) -> Result<AllocationReport, ApiError> {
    let mut report = AllocationReport {
        programme_code: code.to_string(),
        face_value_fen: face_value.as_fen(),
        total: outcomes.len(),
        issued: 0,
        already_issued: 0,
        refused: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    for (uscc, outcome) in outcomes {
        let result = match outcome {
            Allocated::Issued { voucher, replayed } => {
                if replayed {
                    report.already_issued += 1;
                } else {
                    report.issued += 1;
                }
                AllocationResult {
                    uscc,
                    outcome: if replayed { "already_issued" } else { "issued" },
                    voucher: Some(VoucherView::of(&voucher)?),
                    code: None,
                    reasons: Vec::new(),
                }
            }
            Allocated::Refused(error) => {
                report.refused += 1;
                let error = ApiError::from(error);
                AllocationResult {
                    uscc,
                    outcome: "refused",
                    voucher: None,
                    code: Some(error.code.to_string()),
                    reasons: error.every_reason(),
                }
            }
        };
        report.results.push(result);
    }
    Ok(report)
}

/// Enterprises see their own vouchers; staff see all.
fn own_filter(caller: &Authenticated) -> Option<Uuid> {
    (caller.principal.role == Role::Enterprise)
        .then_some(caller.principal.party_id.unwrap_or(Uuid::nil()))
}

/// The voucher at `id` if the caller may see it, else 404.
pub(super) async fn visible_voucher<S: Store>(
    state: &AppState<S>,
    caller: &Authenticated,
    id: &str,
) -> Result<VoucherRecord, ApiError> {
    let id = ApiError::id_or_404(id)?;
    let voucher = state
        .store
        .voucher(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    match own_filter(caller) {
        Some(owner) if owner != voucher.enterprise_id => Err(ApiError::not_found()),
        _ => Ok(voucher),
    }
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<VoucherQuery>,
) -> Result<Json<VoucherList>, ApiError> {
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(text) => Some(Uuid::parse_str(text).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "`after` is the last voucher id of the previous page.",
                "after 须为上一页最后一张补贴券的编号。",
            )
        })?),
    };
    let limit = query
        .limit
        .unwrap_or(super::page::PAGE_DEFAULT)
        .clamp(1, super::page::PAGE_MAX);
    let filter = VoucherFilter {
        enterprise_id: own_filter(&caller),
        programme_code: query.programme,
        key_id: query.key_id,
        status: query.status,
    };
    let found = state.store.vouchers_after(&filter, after, limit).await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last().map(|v| v.id.to_string()))
        .flatten();
    Ok(Json(VoucherList {
        vouchers: found
            .iter()
            .map(VoucherView::of)
            .collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<VoucherView>, ApiError> {
    let voucher = visible_voucher(&state, &caller, &id).await?;
    let mut view = VoucherView::of(&voucher)?;
    let now = Timestamp::now().as_micros();
    if let Some(hold) = crate::store::hold::HoldStore::hold_of(&state.store, voucher.id)
        .await?
        .filter(|hold| hold.live_at(now))
    {
        view.held_until = Some(Timestamp::from_micros(hold.expires_at_us).to_cst_rfc3339());
        view.held_by = state
            .store
            .provider_by_id(hold.provider_id)
            .await?
            .map(|provider| provider.name);
    }
    Ok(Json(view))
}

pub(super) fn png_response(text: &str, module_pixels: Option<u32>) -> Result<Response, ApiError> {
    let pixels = module_pixels.unwrap_or(qr::PNG_MODULE_PIXELS_DEFAULT);
    let png = qr::png(text, pixels).map_err(qr_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response())
}

pub(super) fn svg_response(text: &str) -> Result<Response, ApiError> {
    let svg = qr::svg(text).map_err(qr_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

fn qr_error(error: qr::QrError) -> ApiError {
    match error {
        qr::QrError::ModuleSize => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "module_pixels_out_of_range",
            format!("module_pixels is 1 to {}.", qr::PNG_MODULE_PIXELS_MAX),
            format!("module_pixels 须为 1 至 {}。", qr::PNG_MODULE_PIXELS_MAX),
        ),
        other => ApiError::internal(&other),
    }
}

pub async fn qr_png<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let voucher = visible_voucher(&state, &caller, &id).await?;
    png_response(&voucher_token(&voucher)?, query.module_pixels)
}

pub async fn qr_svg<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let voucher = visible_voucher(&state, &caller, &id).await?;
    svg_response(&voucher_token(&voucher)?)
}

pub async fn print<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let voucher = visible_voucher(&state, &caller, &id).await?;
    let code = voucher.programme_code.clone();
    let terms = programme_terms(&state, &code).await?;
    // Paper is a voucher only where the programme accepts its static code.
    let qr_svg = match terms.qr_mode {
        crate::domain::programme::QrMode::Static => {
            Some(qr::svg(&voucher_token(&voucher)?).map_err(qr_error)?)
        }
        crate::domain::programme::QrMode::Rotating => None,
    };
    let holder = state
        .store
        .enterprise_by_id(voucher.enterprise_id)
        .await?
        .map_or_else(String::new, |e| e.name);
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let keys_url = format!("{scheme}://{host}/.well-known/voucher-keys.json");
    let html = super::voucher_page::a6_page(&super::voucher_page::PrintedVoucher {
        voucher: &voucher,
        programme_name: &terms.name,
        holder_name: &holder,
        keys_url: &keys_url,
        qr_svg: qr_svg.as_deref(),
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

pub async fn reissue<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(key_id): Path<String>,
) -> Result<Json<ReissueReport>, ApiError> {
    let outcome = vouchers::reissue_key(
        &state.store,
        &state.writer,
        &caller.principal.actor(),
        &key,
        &key_id,
    )
    .await
    .map_err(issue_error)?;
    let mut report = ReissueReport {
        key_id,
        reissued: Vec::new(),
        refused: Vec::new(),
    };
    for (old_id, voucher) in outcome.reissued {
        report.reissued.push(ReissuedVoucher {
            old_voucher_id: old_id.to_string(),
            voucher: VoucherView::of(&voucher)?,
        });
    }
    for (old_id, error) in outcome.refused {
        let error = ApiError::from(error);
        report.refused.push(AllocationRefusal {
            voucher_id: old_id.to_string(),
            code: error.code.to_string(),
            message: error.message,
            message_zh: error.message_zh,
        });
    }
    Ok(Json(report))
}

//! Redemptions over HTTP: a provider previews the voucher it scanned (every
//! reason it may not redeem it, and the subsidy for a contract amount), then
//! records the redemption; providers and enterprises read their own,
//! the bureau's staff read all.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Auth, Authenticated};
use super::error::ErrorReason;
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::domain::redemption::Contract;
use crate::domain::status::RedemptionStatus;
use crate::domain::{Fen, Role};
use crate::service::commands::InvoiceSpec;
use crate::service::redemption::{
    self, PreviewError, RedeemError, RedeemRequest as ServiceRequest, TokenRefusal,
};
use crate::store::Store;
use crate::store::redemption::RedemptionFilter;

pub use super::redemption_views::{InvoiceView, PartyNames, RedemptionView, redemption_view};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The QR text scanned or typed: `VP1:…` (a live presentation) or
    /// `VL1:…` (a printed voucher, static programmes).
    pub qr_text: String,
    /// The service category of the contract, e.g. 管理咨询.
    pub service_category: String,
    /// The contract amount in fen.
    pub contract_amount_fen: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    /// 发票代码.
    pub code: String,
    /// 发票号码.
    pub number: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub amount_fen: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub qr_text: String,
    pub service_category: String,
    /// The service contract's number (合同编号).
    pub contract_number: String,
    /// What the service is.
    pub description: String,
    pub contract_amount_fen: i64,
    /// The VAT invoice; may come later, but is needed before settlement.
    pub invoice: Option<InvoiceInput>,
    /// Reference of the enterprise's proof of paying its share; may come
    /// later, but is needed before settlement.
    pub payment_proof_ref: Option<String>,
}

/// The scanned voucher, and what redeeming it for the contract would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// The code as read: the QR text sent, or the presentation a typed
    /// short code stands for — what to send with the redemption.
    pub qr_text: String,
    pub voucher_id: String,
    pub programme_code: String,
    /// `presentation` (rotating) or `voucher` (printed token).
    pub shown_as: &'static str,
    pub enterprise_name: String,
    pub enterprise_uscc: String,
    pub face_value_fen: i64,
    pub face_value_yuan: String,
    pub remaining_fen: i64,
    pub remaining_yuan: String,
    pub valid_from: String,
    pub valid_until: String,
    pub service_categories: Vec<String>,
    /// active, reissued, redeemed, expired or revoked.
    pub voucher_status: String,
    pub divisible: bool,
    pub contract_amount_fen: i64,
    /// The subsidy this contract would earn: min(remaining, ratio × amount),
    /// rounded down per the programme.
    pub subsidy_fen: i64,
    pub subsidy_yuan: String,
    /// What the enterprise pays itself.
    pub enterprise_share_fen: i64,
    pub enterprise_share_yuan: String,
    /// True when nothing below stands in the way.
    pub redeemable: bool,
    /// Every reason the redemption would be refused, with its error code.
    pub reasons: Vec<ErrorReason>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionList {
    pub redemptions: Vec<RedemptionView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionQuery {
    pub voucher_id: Option<String>,
    /// pending, confirmed, disputed, frozen or reversed (anything else is
    /// refused with 400 `invalid_query`).
    #[schema(value_type = Option<String>)]
    pub status: Option<RedemptionStatus>,
    /// Cursor: the last redemption id of the previous page.
    pub after: Option<String>,
    /// 1–200 (default 50).
    pub limit: Option<u32>,
}

fn token_error(refusal: TokenRefusal) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        refusal.code,
        refusal.message,
        refusal.message_zh,
    )
}

fn contract_amount(fen: i64) -> Result<Fen, ApiError> {
    if fen <= 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "contract_amount_invalid",
            "contract_amount_fen must be a positive number of fen.",
            "合同金额（contract_amount_fen，单位：分）须为正整数。",
        ));
    }
    Ok(Fen::new(fen))
}

/// The provider the caller works for.
/// The code the counter sent: a scanned QR text as it is, or a typed short
/// code exchanged for the presentation it stands for (docs/token-format.md
/// "Short codes"). Typed codes are limited per provider: beyond
/// `SHORT_CODES_PER_MINUTE` a minute, 429 `short_code_attempts_exceeded`.
pub(super) async fn scanned_or_typed<S: Store>(
    state: &AppState<S>,
    provider_id: Uuid,
    text: &str,
) -> Result<String, ApiError> {
    let Some(code) = crate::domain::short_code::parse_short_code(text) else {
        return Ok(text.to_string());
    };
    if let Err(seconds) = state
        .limits
        .short_codes_per_provider
        .hit(&provider_id.to_string())
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "short_code_attempts_exceeded",
            format!(
                "Too many typed codes from this provider; scan the QR code, or try again in {seconds} s."
            ),
            format!("本机构手工输入短码次数过多，请扫码，或在 {seconds} 秒后重试。"),
        ));
    }
    let now = crate::domain::Timestamp::now().as_micros();
    state
        .store
        .take_short_code(&code, provider_id, now)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "short_code_unknown",
                "No live code has these digits (it expired, was typed at another counter, or is mistyped): ask the enterprise to refresh its QR code.",
                "没有与此短码对应的有效二维码（已过期、已在其他机构使用或输错）：请企业刷新二维码后重新出示。",
            )
        })
}

pub(super) fn provider_of(caller: &Authenticated) -> Result<Uuid, ApiError> {
    caller.principal.party_id.ok_or_else(ApiError::not_found)
}

pub(super) fn required_text(field: &'static str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "field_required",
            format!("{field} must not be empty."),
            format!("{field} 不能为空。"),
        ));
    }
    Ok(value.to_string())
}

pub(super) fn invoice(input: InvoiceInput) -> Result<InvoiceSpec, ApiError> {
    let date: NaiveDate = input.date.trim().parse().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invoice_date_invalid",
            "invoice.date is a date, YYYY-MM-DD.",
            "发票日期（invoice.date）格式须为 YYYY-MM-DD。",
        )
    })?;
    if input.amount_fen <= 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invoice_amount_invalid",
            "invoice.amount_fen must be a positive number of fen.",
            "发票金额（invoice.amount_fen，单位：分）须为正整数。",
        ));
    }
    let (code, number) = (input.code.trim(), input.number.trim());
    crate::domain::invoice::check(code, number).map_err(|error| {
        let (message, message_zh) = error.messages();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            message,
            message_zh,
        )
    })?;
    Ok(InvoiceSpec {
        code: code.to_string(),
        number: number.to_string(),
        date,
        amount: Fen::new(input.amount_fen),
    })
}

pub async fn preview<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewView>, ApiError> {
    let provider_id = provider_of(&caller)?;
    let contract = preview_contract(&request)?;
    let qr_text = scanned_or_typed(&state, provider_id, &request.qr_text).await?;
    let epoch = state.writer.credential_epoch();
    let keys = state.issuer_keys_cache.known(&state.store, epoch).await?;
    let preview = redemption::preview(&state.store, &keys, provider_id, &qr_text, &contract)
        .await
        .map_err(preview_error)?;
    Ok(Json(preview_view(&preview, &contract, qr_text)))
}

/// The contract a preview (or a hold) is asked for.
pub(super) fn preview_contract(request: &PreviewRequest) -> Result<Contract, ApiError> {
    Ok(Contract {
        category: required_text("service_category", &request.service_category)?,
        amount: contract_amount(request.contract_amount_fen)?,
    })
}

pub(super) fn preview_error(error: PreviewError) -> ApiError {
    match error {
        PreviewError::Token(refusal) => token_error(refusal),
        PreviewError::NotFound => ApiError::not_found(),
        PreviewError::Store(error) => error.into(),
    }
}

/// What the counter is shown for `preview` of `contract`.
pub(super) fn preview_view(
    preview: &redemption::Preview,
    contract: &Contract,
    qr_text: String,
) -> PreviewView {
    let voucher = &preview.gathered.voucher;
    let assessment = &preview.assessment;
    PreviewView {
        qr_text,
        voucher_id: voucher.id.to_string(),
        programme_code: voucher.programme_code.to_string(),
        shown_as: match preview.shown.shown {
            crate::service::commands::ShownToken::Static => "voucher",
            crate::service::commands::ShownToken::Presentation { .. }
            | crate::service::commands::ShownToken::Held { .. } => "presentation",
        },
        enterprise_name: preview.gathered.holder.name.clone(),
        enterprise_uscc: preview.gathered.holder.uscc.clone(),
        face_value_fen: voucher.face_value_fen,
        face_value_yuan: Fen::new(voucher.face_value_fen).to_plain_yuan(),
        remaining_fen: voucher.remaining_fen,
        remaining_yuan: Fen::new(voucher.remaining_fen).to_plain_yuan(),
        valid_from: voucher.valid_from.to_string(),
        valid_until: voucher.valid_until.to_string(),
        service_categories: voucher.service_categories.clone(),
        voucher_status: voucher.status.to_string(),
        divisible: preview.gathered.facts.voucher.divisible,
        contract_amount_fen: contract.amount.as_fen(),
        subsidy_fen: assessment.subsidy.as_fen(),
        subsidy_yuan: assessment.subsidy.to_plain_yuan(),
        enterprise_share_fen: assessment.enterprise_share.as_fen(),
        enterprise_share_yuan: assessment.enterprise_share.to_plain_yuan(),
        redeemable: assessment.allowed(),
        reasons: assessment.refusals.iter().map(ErrorReason::of).collect(),
    }
}

pub async fn redeem<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<RedeemRequest>,
) -> Result<Response, ApiError> {
    let provider_id = provider_of(&caller)?;
    let service_request = ServiceRequest {
        service_category: required_text("service_category", &request.service_category)?,
        contract_number: required_text("contract_number", &request.contract_number)?,
        description: required_text("description", &request.description)?,
        contract_amount: contract_amount(request.contract_amount_fen)?,
        invoice: request.invoice.map(invoice).transpose()?,
        payment_proof_ref: request
            .payment_proof_ref
            .map(|r| required_text("payment_proof_ref", &r))
            .transpose()?,
    };
    let qr_text = scanned_or_typed(&state, provider_id, &request.qr_text).await?;
    let epoch = state.writer.credential_epoch();
    let keys = state.issuer_keys_cache.known(&state.store, epoch).await?;
    let (record, replayed) = redemption::redeem(
        &state.store,
        &state.writer,
        &keys,
        caller.principal.actor(),
        key,
        provider_id,
        &qr_text,
        service_request,
    )
    .await
    .map_err(|error| match error {
        RedeemError::Token(refusal) => token_error(refusal),
        RedeemError::Command(error) => error.into(),
        RedeemError::Store(error) => error.into(),
    })?;
    let mut response = (
        StatusCode::CREATED,
        Json(redemption_view(&state.store, &record).await?),
    )
        .into_response();
    if replayed {
        response.headers_mut().insert(
            super::idempotency_key::REPLAYED_HEADER,
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// Providers and enterprises see their own redemptions only.
/// The redemption `id` if the caller may see it (a provider or an
/// enterprise only its own); 404 otherwise, as for one that does not exist.
pub(super) async fn visible_redemption<S: Store>(
    state: &AppState<S>,
    caller: &Authenticated,
    id: &str,
) -> Result<crate::store::redemption::RedemptionRecord, ApiError> {
    let id = ApiError::id_or_404(id)?;
    let record = state
        .store
        .redemption(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let own = own_filter(caller);
    let hidden = own.provider_id.is_some_and(|p| p != record.provider_id)
        || own.enterprise_id.is_some_and(|e| e != record.enterprise_id);
    if hidden {
        return Err(ApiError::not_found());
    }
    Ok(record)
}

fn own_filter(caller: &Authenticated) -> RedemptionFilter {
    let party = caller.principal.party_id.unwrap_or(Uuid::nil());
    match caller.principal.role {
        Role::Provider => RedemptionFilter {
            provider_id: Some(party),
            ..RedemptionFilter::default()
        },
        Role::Enterprise => RedemptionFilter {
            enterprise_id: Some(party),
            ..RedemptionFilter::default()
        },
        _ => RedemptionFilter::default(),
    }
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<RedemptionQuery>,
) -> Result<Json<RedemptionList>, ApiError> {
    let bad_id = |what: &'static str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            format!("`{what}` is a redemption or voucher id."),
            format!("{what} 须为兑付记录或补贴券编号。"),
        )
    };
    let parse = |text: Option<&str>, what: &'static str| match text {
        None | Some("") => Ok(None),
        Some(text) => Uuid::parse_str(text).map(Some).map_err(|_| bad_id(what)),
    };
    let after = parse(query.after.as_deref(), "after")?;
    let limit = query
        .limit
        .unwrap_or(super::page::PAGE_DEFAULT)
        .clamp(1, super::page::PAGE_MAX);
    let filter = RedemptionFilter {
        voucher_id: parse(query.voucher_id.as_deref(), "voucher_id")?,
        status: query.status,
        ..own_filter(&caller)
    };
    let found = state.store.redemptions_after(&filter, after, limit).await?;
    let next_cursor = (found.len() == limit as usize)
        .then(|| found.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(RedemptionList {
        redemptions: {
            let names = PartyNames::of(&state.store, &found).await?;
            found
                .iter()
                .map(|r| RedemptionView::of(r, &names))
                .collect()
        },
        next_cursor,
    }))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<RedemptionView>, ApiError> {
    let record = visible_redemption(&state, &caller, &id).await?;
    let mut view = redemption_view(&state.store, &record).await?;
    view.timeline = Some(super::redemption_views::timeline_of(&state.store, &record).await?);
    Ok(Json(view))
}

//! The short-lived presentations of a voucher in a `rotating` programme
//! (the QR on the phone), as JSON with its short code, PNG or SVG: only
//! for the voucher's holder, only while the voucher is active.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Auth, Authenticated};
use super::json::ApiQuery;
use super::vouchers::{QrQuery, png_response, programme_terms, svg_response, visible_voucher};
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::domain::programme::QrMode;
use crate::service::CommandError;
use crate::service::vouchers::{self, PresentError};
use crate::store::Store;

#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationView {
    /// The QR text to show (`VP1:…`).
    pub text: String,
    /// When providers stop accepting it (UTC+8); fetch a new one before.
    pub expires_at: String,
    pub lifetime_seconds: i64,
    /// The same presentation as 10 digits a clerk can type
    /// (`1234 5678 90`; docs/token-format.md "Short codes").
    pub short_code: String,
}

/// A fresh presentation of the caller's own voucher, in a rotating programme.
async fn fresh_presentation<S: Store>(
    state: &AppState<S>,
    caller: &Authenticated,
    id: &str,
) -> Result<vouchers::Presentation, ApiError> {
    let voucher = visible_voucher(state, caller, id).await?;
    let code = voucher.programme_code.clone();
    if programme_terms(state, &code).await?.qr_mode == QrMode::Static {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "qr_mode_static",
            "This programme accepts the voucher's own printed code; show that (GET …/qr.png).",
            "本项目使用补贴券本身的二维码，请直接出示该二维码。",
        ));
    }
    let now = Timestamp::now().as_micros() / 1_000_000;
    vouchers::present(
        &state.store,
        &state.config.issuer_keys,
        &voucher,
        now,
        state.config.presentation_seconds,
    )
    .await
    .map_err(|error| match error {
        PresentError::VoucherState(status) => CommandError::VoucherState { status }.into(),
        PresentError::KeyUnavailable => CommandError::IssuerKeyUnavailable { key_id: None }.into(),
        PresentError::Store(error) => error.into(),
    })
}

pub async fn presentation<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<PresentationView>, ApiError> {
    let shown = fresh_presentation(&state, &caller, &id).await?;
    Ok(Json(PresentationView {
        text: shown.text,
        expires_at: Timestamp::from_micros(shown.expires_at * 1_000_000).to_cst_rfc3339(),
        lifetime_seconds: state.config.presentation_seconds,
        short_code: crate::domain::short_code::display(&shown.short_code),
    }))
}

pub async fn presentation_png<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let shown = fresh_presentation(&state, &caller, &id).await?;
    png_response(&shown.text, query.module_pixels)
}

pub async fn presentation_svg<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let shown = fresh_presentation(&state, &caller, &id).await?;
    svg_response(&shown.text)
}

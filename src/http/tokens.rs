//! Verification for anyone: `POST /api/v1/tokens/verify` takes a voucher's
//! QR text and reports whether it is genuine, which key signed it and that
//! key's status, and what it says. No login: a provider's scanner, an
//! auditor or a journalist may ask. The verdict is in the report (200)
//! whatever it is; only a request without a token is refused.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::service::tokens::{known_keys, voucher_state};
use crate::store::Store;
use crate::token::report::{VerificationReport, inspect};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyTokenRequest {
    /// The QR text, `VL1:…`.
    pub token: String,
}

pub async fn verify<S: Store>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<VerifyTokenRequest>,
) -> Result<Json<VerificationReport>, ApiError> {
    if request.token.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token_required",
            "Give the voucher's QR text in `token`.",
            "请在 token 中提供补贴券二维码文本。",
        ));
    }
    let keys = known_keys(&state.store).await?;
    let mut report = inspect(&request.token, &keys, Timestamp::now());
    report.voucher_state = voucher_state(&state.store, &report).await?;
    Ok(Json(report))
}

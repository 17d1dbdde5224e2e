//! `POST /api/v1/fraud-markings`: the admin marks an enterprise or a
//! provider fraudulent (service::fraud does the steps, each in the ledger).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::idempotency_key::LedgerKey;
use super::json::ApiJson;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::service::commands::PartyKind;
use crate::service::fraud::{self, Marking};
use crate::store::Store;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudMarkingRequest {
    /// `enterprise` or `provider`.
    pub party_kind: String,
    pub party_id: String,
    /// e.g. 套现, 虚假交易, 串通.
    pub reason: String,
    /// Who found it, e.g. 市经信局稽查.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FraudMarkingReport {
    pub party_kind: String,
    pub party_id: String,
    /// Active vouchers of the enterprise revoked by this request.
    pub vouchers_revoked: u64,
    /// Unsettled redemptions frozen by this request.
    pub redemptions_frozen: u64,
    /// An enterprise's settled, paid redemptions whose subsidy this request
    /// turned into their providers' recovery receivables (追回).
    pub redemptions_recovered: u64,
    /// The provider was removed (出库) by this request.
    pub provider_removed: bool,
    /// The provider's recovery receivables (追回), all programmes, after.
    pub recovery_receivable_fen: i64,
}

pub async fn mark<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<FraudMarkingRequest>,
) -> Result<Json<FraudMarkingReport>, ApiError> {
    let party_kind = match request.party_kind.as_str() {
        "enterprise" => PartyKind::Enterprise,
        "provider" => PartyKind::Provider,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "party_kind_invalid",
                "party_kind is `enterprise` or `provider`.",
                "party_kind 须为 enterprise（企业）或 provider（服务机构）。",
            ));
        }
    };
    let party_id = ApiError::id_or_404(&request.party_id)?;
    for (field, value) in [("reason", &request.reason), ("source", &request.source)] {
        if value.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "field_required",
                format!("{field} must not be empty."),
                format!("{field} 不能为空。"),
            ));
        }
    }
    let marking = Marking {
        party_kind,
        party_id,
        reason: request.reason.trim().to_string(),
        source: request.source.trim().to_string(),
        today: Timestamp::now().cst_date(),
    };
    let report = fraud::mark(
        &state.store,
        &state.writer,
        &caller.principal.actor(),
        &key,
        marking,
    )
    .await?;
    Ok(Json(FraudMarkingReport {
        party_kind: party_kind.as_str().to_string(),
        party_id: party_id.to_string(),
        vouchers_revoked: report.vouchers_revoked,
        redemptions_frozen: report.redemptions_frozen,
        redemptions_recovered: report.redemptions_recovered,
        provider_removed: report.provider_removed,
        recovery_receivable_fen: report.recovery_receivable_fen,
    }))
}

//! Programme utilisation (资金使用情况): where the appropriation stands —
//! funding, available, outstanding, payable, in payment, paid, lapsed,
//! recovered — from the ledger's balances, and issued / redeemed /
//! settled / paid per district, zone, service category or month, as JSON
//! and as an SVG chart.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::ApiQuery;
use super::{ApiError, AppState};
use crate::domain::ProgrammeCode;
use crate::service::utilisation as service;
use crate::store::Store;
use crate::store::settlement::UtilisationGroup;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtilisationQuery {
    by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UtilisationView {
    pub programme_code: String,
    /// district, zone, category or month.
    pub by: String,
    #[serde(flatten)]
    pub utilisation: service::Utilisation,
}

fn grouping(by: Option<&str>) -> Result<(UtilisationGroup, &'static str), ApiError> {
    match by.unwrap_or("district") {
        "district" => Ok((UtilisationGroup::District, "district")),
        "zone" => Ok((UtilisationGroup::Zone, "zone")),
        "category" => Ok((UtilisationGroup::Category, "category")),
        "month" => Ok((UtilisationGroup::Month, "month")),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "grouping_invalid",
            "by is district, zone, category or month.",
            "by 须为 district（区县）、zone（功能区）、category（服务类别）或 month（月份）。",
        )),
    }
}

async fn utilisation<S: Store>(
    state: &AppState<S>,
    code: &str,
    by: Option<&str>,
) -> Result<UtilisationView, ApiError> {
    let code = ProgrammeCode::parse(code).map_err(|_| ApiError::not_found())?;
    let (group, by) = grouping(by)?;
    let utilisation = service::utilisation(&state.store, &code, group)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(UtilisationView {
        programme_code: code.to_string(),
        by: by.to_string(),
        utilisation,
    })
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<UtilisationQuery>,
) -> Result<Json<UtilisationView>, ApiError> {
    Ok(Json(utilisation(&state, &code, query.by.as_deref()).await?))
}

pub async fn chart<S: Store>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<UtilisationQuery>,
) -> Result<Response, ApiError> {
    let view = utilisation(&state, &code, query.by.as_deref()).await?;
    let by_zh = match view.by.as_str() {
        "district" => "区县",
        "zone" => "功能区",
        "category" => "服务类别",
        _ => "月份",
    };
    let title = format!("{} 资金使用情况（按{by_zh}）", view.programme_code);
    let svg = service::chart_svg(&title, &view.utilisation);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

//! Programme utilisation (资金使用情况): where the appropriation stands —
//! funding, available, outstanding, payable, in payment, paid, lapsed,
//! recovered — from the ledger's balances, and issued / redeemed /
//! settled / paid per district, zone, service category or month, as JSON
//! and as an SVG chart.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState};
use crate::domain::ProgrammeCode;
use crate::ledger::account::{AccountKind, NormalSide};
use crate::report::chart::{Group, bar_chart_svg};
use crate::store::Store;
use crate::store::settlement::UtilisationGroup;

#[derive(Debug, Deserialize)]
pub struct UtilisationQuery {
    by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UtilisationGroupView {
    /// The district code, zone, service category or month (YYYY-MM, UTC+8).
    pub group: String,
    pub issued_fen: i64,
    pub redeemed_fen: i64,
    pub settled_fen: i64,
    pub paid_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UtilisationView {
    pub programme_code: String,
    /// district, zone, category or month.
    pub by: String,
    /// The appropriation, and where it is now (balances of the ledger).
    pub funding_fen: i64,
    pub available_fen: i64,
    pub outstanding_fen: i64,
    pub payable_fen: i64,
    pub payout_pending_fen: i64,
    pub paid_fen: i64,
    pub lapsed_fen: i64,
    pub recovery_receivable_fen: i64,
    /// Recovery taken back from payouts so far (追回).
    pub recovered_fen: i64,
    pub groups: Vec<UtilisationGroupView>,
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

/// The programme's balance of one account kind, summed over parties.
async fn kind_total<S: Store>(store: &S, kind: AccountKind, code: &str) -> Result<i64, ApiError> {
    let sign = match kind.normal_side() {
        NormalSide::Debit => 1,
        NormalSide::Credit => -1,
    };
    if !kind.has_party() {
        return Ok(sign
            * store
                .balance_of(&format!("{}/{code}", kind.as_str()))
                .await?);
    }
    let prefix = format!("{}/{code}/", kind.as_str());
    let mut after = prefix.clone();
    let mut total = 0;
    loop {
        let page = store.balances_after(&after, 500).await?;
        let mut done = page.len() < 500;
        for balance in &page {
            if !balance.account.starts_with(&prefix) {
                done = true;
                break;
            }
            total += balance.balance_fen;
        }
        match page.last() {
            Some(last) if !done => after = last.account.clone(),
            _ => break,
        }
    }
    Ok(sign * total)
}

async fn utilisation<S: Store>(
    state: &AppState<S>,
    code: &str,
    by: Option<&str>,
) -> Result<UtilisationView, ApiError> {
    let code = ProgrammeCode::parse(code).map_err(|_| ApiError::not_found())?;
    state
        .store
        .programme(code.as_str())
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (group, by) = grouping(by)?;
    let store = &state.store;
    let code = code.as_str();
    let rows = store.utilisation(code, group).await?;
    Ok(UtilisationView {
        programme_code: code.to_string(),
        by: by.to_string(),
        funding_fen: kind_total(store, AccountKind::ProgrammeFunding, code).await?,
        available_fen: kind_total(store, AccountKind::BudgetAvailable, code).await?,
        outstanding_fen: kind_total(store, AccountKind::VouchersOutstanding, code).await?,
        payable_fen: kind_total(store, AccountKind::ProviderPayable, code).await?,
        payout_pending_fen: kind_total(store, AccountKind::PayoutPending, code).await?,
        paid_fen: kind_total(store, AccountKind::Paid, code).await?,
        lapsed_fen: kind_total(store, AccountKind::Lapsed, code).await?,
        recovery_receivable_fen: kind_total(store, AccountKind::RecoveryReceivable, code).await?,
        recovered_fen: store.recovered_fen(code).await?,
        groups: rows
            .into_iter()
            .map(|row| UtilisationGroupView {
                group: row.group,
                issued_fen: row.issued_fen,
                redeemed_fen: row.redeemed_fen,
                settled_fen: row.settled_fen,
                paid_fen: row.paid_fen,
            })
            .collect(),
    })
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    Query(query): Query<UtilisationQuery>,
) -> Result<Json<UtilisationView>, ApiError> {
    Ok(Json(utilisation(&state, &code, query.by.as_deref()).await?))
}

pub async fn chart<S: Store>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
    Query(query): Query<UtilisationQuery>,
) -> Result<Response, ApiError> {
    let view = utilisation(&state, &code, query.by.as_deref()).await?;
    let by_zh = match view.by.as_str() {
        "district" => "区县",
        "zone" => "功能区",
        "category" => "服务类别",
        _ => "月份",
    };
    let title = format!("{} 资金使用情况（按{by_zh}）", view.programme_code);
    let groups: Vec<Group> = view
        .groups
        .iter()
        .map(|g| Group {
            label: g.group.clone(),
            values_fen: vec![g.issued_fen, g.redeemed_fen, g.settled_fen, g.paid_fen],
        })
        .collect();
    let svg = bar_chart_svg(&title, &["已发放", "已兑付", "已结算", "已支付"], &groups);
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

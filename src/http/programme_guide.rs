//! What an enterprise reads before it claims (办事指南): for each open
//! programme, whether it may claim now and every reason not, what it has
//! claimed this year and what is left, how long a voucher claimed today
//! would last; and which approved providers accept the programme's
//! vouchers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::json::ApiQuery;
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::eligibility::evaluate;
use crate::domain::programme::ProgrammeStatus;
use crate::domain::provider::ProviderStatus;
use crate::domain::{Fen, Timestamp};
use crate::service::issuance::enterprise_facts;
use crate::store::Store;
use crate::store::registry::every_programme;

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub code: String,
    pub passed: bool,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeEligibility {
    pub programme: String,
    pub name: String,
    pub eligible: bool,
    /// Every rule, passed and failed, in a fixed order.
    pub checks: Vec<CheckView>,
    /// Face value this enterprise claimed from the programme this fiscal
    /// year, the programme's annual cap per enterprise and what is left.
    pub claimed_this_year_fen: i64,
    pub annual_cap_fen: i64,
    pub cap_left_fen: i64,
    /// Vouchers claimed this fiscal year and the most allowed.
    pub vouchers_this_year: u32,
    pub annual_voucher_count: u32,
    /// The first and last day (UTC+8) a voucher claimed today could be
    /// used; null when none could (the use period has passed).
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityList {
    pub programmes: Vec<ProgrammeEligibility>,
}

/// An approved provider that accepts a programme's vouchers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptingProvider {
    pub id: String,
    pub uscc: String,
    pub name: String,
    /// Its approved categories that the programme covers.
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptingProviderList {
    pub providers: Vec<AcceptingProvider>,
    /// The USCC to pass as `after` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// Registry rows read for one page of accepting providers, at most: a
/// page of matches may be short when few providers match, never slow.
const SCAN_ROWS_MAX: u32 = 10_000;

/// For the signed-in enterprise user: every open programme, whether the
/// enterprise may claim its smallest face value now, and every reason not.
pub async fn my_eligibility<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<EligibilityList>, ApiError> {
    let party = caller.principal.party_id.ok_or_else(ApiError::not_found)?;
    let enterprise = state.store.enterprise_by_id(party).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "enterprise_not_registered",
            "Your enterprise is not in the registry yet; ask the economy bureau to register it.",
            "贵企业尚未登记，请联系经信局办理登记。",
        )
    })?;
    let now = Timestamp::now();
    let today = now.cst_date();
    let tags = state.store.tags_of(enterprise.id).await?;
    let blacklist = state
        .store
        .blacklist_of("enterprise", enterprise.id)
        .await?;
    let mut programmes = Vec::new();
    for record in every_programme(&state.store)
        .await?
        .into_iter()
        .filter(|p| p.status == ProgrammeStatus::Open)
    {
        let terms = &record.terms;
        let claimed = state
            .store
            .claimed_so_far(enterprise.id, record.code.as_str())
            .await?;
        let facts = enterprise_facts(&enterprise, tags.clone(), blacklist.clone(), claimed, today);
        let face_value = Fen::new(terms.face_values_fen.iter().copied().min().unwrap_or(0));
        let report = evaluate(
            &terms.eligibility_rules(ProgrammeStatus::Open),
            &facts,
            face_value,
            now,
        );
        let validity = terms.voucher_validity(today);
        programmes.push(ProgrammeEligibility {
            programme: record.code.to_string(),
            name: terms.name.clone(),
            eligible: report.eligible(),
            claimed_this_year_fen: claimed.face_value_fen,
            annual_cap_fen: terms.annual_cap_fen,
            cap_left_fen: (terms.annual_cap_fen - claimed.face_value_fen).max(0),
            vouchers_this_year: claimed.count,
            annual_voucher_count: terms.annual_voucher_count,
            valid_from: validity.map(|(from, _)| from),
            valid_until: validity.map(|(_, until)| until),
            checks: report
                .checks
                .into_iter()
                .map(|c| CheckView {
                    code: c.code.to_string(),
                    passed: c.passed,
                    message: c.message,
                    message_zh: c.message_zh,
                })
                .collect(),
        });
    }
    Ok(Json(EligibilityList { programmes }))
}

/// Approved providers whose categories meet the programme's (any approved
/// provider when the programme names no category), by USCC, paged by
/// `after` (a USCC) and `limit` (1–200, default 50). Anyone signed in may
/// read it: it is the list of where a voucher can be spent.
pub async fn accepting_providers<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<AcceptingProviderList>, ApiError> {
    let record = state
        .store
        .programme(&code)
        .await?
        .filter(|record| super::programmes::visible_to(record, caller.principal.role))
        .ok_or_else(ApiError::not_found)?;
    let limit = page.limit() as usize;
    let (providers, after, more) = accepting(&state.store, &record, page.after(), limit).await?;
    let next_cursor = (more || providers.len() == limit).then(|| after.clone());
    Ok(Json(AcceptingProviderList {
        providers,
        next_cursor,
    }))
}

/// Up to `limit` approved providers accepting `record`'s categories with
/// USCC above `after` (scanning at most `SCAN_ROWS_MAX` rows): the
/// providers, the last USCC scanned, and whether more may follow.
pub(super) async fn accepting<S: Store>(
    store: &S,
    record: &crate::store::registry::ProgrammeRecord,
    after: &str,
    limit: usize,
) -> Result<(Vec<AcceptingProvider>, String, bool), ApiError> {
    let wanted = &record.terms.service_categories;
    let mut providers = Vec::new();
    let mut after = after.to_string();
    let mut scanned = 0;
    let mut more = true;
    while providers.len() < limit && scanned < SCAN_ROWS_MAX {
        let rows = store.providers_after(&after, 500).await?;
        scanned += rows.len() as u32;
        more = rows.len() == 500;
        for row in &rows {
            after.clone_from(&row.uscc);
            let categories: Vec<String> = row
                .fields
                .categories
                .iter()
                .filter(|c| wanted.is_empty() || wanted.contains(c))
                .cloned()
                .collect();
            if row.status == ProviderStatus::Approved && !categories.is_empty() {
                providers.push(AcceptingProvider {
                    id: row.id.to_string(),
                    uscc: row.uscc.clone(),
                    name: row.name.clone(),
                    categories,
                });
                if providers.len() == limit {
                    break;
                }
            }
        }
        if !more {
            break;
        }
    }
    Ok((providers, after, more))
}

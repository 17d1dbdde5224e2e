//! The public notice (公示) of each programme, for anyone, no login
//! (docs/transparency.md, "公示"): its approved providers (入库名单), the
//! payouts of every approved settlement run per provider with the number
//! of redemptions, and the utilisation totals — each run linked to the
//! inclusion proof of its approval. Nothing personal: no contact persons,
//! phones, user accounts or bank account numbers; firms by name and USCC.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::programme_guide::{AcceptingProvider, accepting};
use super::{ApiError, AppState};
use crate::domain::ProgrammeCode;
use crate::domain::programme::ProgrammeStatus;
use crate::domain::status::RunStatus;
use crate::service::utilisation::utilisation;
use crate::store::Store;
use crate::store::registry::every_programme;
use crate::store::settlement::UtilisationGroup;

/// Most providers and runs one notice lists (the newest runs first).
pub const PROVIDERS_MAX: usize = 1000;
pub const RUNS_MAX: usize = 40;

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProgramme {
    pub code: String,
    pub name: String,
    /// open or closed (drafts are not public).
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProgrammeList {
    pub programmes: Vec<PublicProgramme>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPayout {
    pub provider_name: String,
    pub provider_uscc: String,
    /// Redemptions paid in this payout.
    pub redemptions: u64,
    /// What the provider is paid (after offsets), and before them.
    pub amount_fen: i64,
    pub gross_fen: i64,
    /// pending, paid or failed.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRun {
    pub period_from: String,
    pub period_until: String,
    /// The ledger entry that approved the run, and where to get its
    /// inclusion proof (docs/transparency.md).
    pub approved_sequence: u64,
    pub proof: String,
    pub payouts: Vec<PublicPayout>,
    pub total_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTotals {
    pub funding_fen: i64,
    pub available_fen: i64,
    /// Vouchers issued and not yet used.
    pub outstanding_fen: i64,
    /// Redeemed, awaiting settlement or payment.
    pub payable_fen: i64,
    pub payout_pending_fen: i64,
    pub paid_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicNotice {
    pub programme: PublicProgramme,
    pub totals: PublicTotals,
    /// Approved providers accepting the programme (入库名单), by USCC.
    pub providers: Vec<AcceptingProvider>,
    /// Approved settlement runs, newest period first.
    pub runs: Vec<PublicRun>,
}

fn public(record: &crate::store::registry::ProgrammeRecord) -> Option<PublicProgramme> {
    (record.status != ProgrammeStatus::Draft).then(|| PublicProgramme {
        code: record.code.to_string(),
        name: record.terms.name.clone(),
        status: record.status.as_str().to_string(),
    })
}

/// Programmes open or closed (not drafts).
pub async fn programmes<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<PublicProgrammeList>, ApiError> {
    let mut programmes = Vec::new();
    for record in every_programme(&state.store).await? {
        programmes.extend(public(&record));
    }
    Ok(Json(PublicProgrammeList { programmes }))
}

/// One programme's notice; 404 for an unknown programme or a draft.
pub async fn notice<S: Store>(
    State(state): State<AppState<S>>,
    Path(code): Path<String>,
) -> Result<Json<PublicNotice>, ApiError> {
    let record = state.store.programme(&code).await?;
    let record = record.ok_or_else(ApiError::not_found)?;
    let programme = public(&record).ok_or_else(ApiError::not_found)?;
    let code = ProgrammeCode::parse(&code).map_err(|_| ApiError::not_found())?;
    let totals = utilisation(&state.store, &code, UtilisationGroup::District)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (providers, _, _) = accepting(&state.store, &record, "", PROVIDERS_MAX).await?;
    let mut runs = Vec::new();
    for run in state.store.settlement_runs(Some(code.as_str())).await? {
        let (RunStatus::Approved, Some(sequence)) = (run.status, run.approved_sequence) else {
            continue;
        };
        let mut payouts = Vec::new();
        for payout in state.store.payouts(run.id).await? {
            // The registered firm, not the payee line of the bank file.
            let provider = state.store.provider_by_id(payout.provider_id).await?;
            let (provider_name, provider_uscc) =
                provider.map_or_else(Default::default, |p| (p.name, p.uscc));
            payouts.push(PublicPayout {
                provider_name,
                provider_uscc,
                redemptions: state
                    .store
                    .included_line_count(run.id, Some(payout.provider_id))
                    .await?,
                amount_fen: payout.net_fen,
                gross_fen: payout.gross_fen,
                status: payout.status.as_str().to_string(),
            });
        }
        runs.push(PublicRun {
            period_from: run.period_from,
            period_until: run.period_until,
            approved_sequence: sequence,
            proof: format!("/api/v1/log/inclusion?sequence={sequence}"),
            total_fen: payouts.iter().map(|p| p.gross_fen).sum(),
            payouts,
        });
        if runs.len() == RUNS_MAX {
            break;
        }
    }
    Ok(Json(PublicNotice {
        programme,
        totals: PublicTotals {
            funding_fen: totals.funding_fen,
            available_fen: totals.available_fen,
            outstanding_fen: totals.outstanding_fen,
            payable_fen: totals.payable_fen,
            payout_pending_fen: totals.payout_pending_fen,
            paid_fen: totals.paid_fen,
        },
        providers,
        runs,
    }))
}

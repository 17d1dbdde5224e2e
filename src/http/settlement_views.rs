//! What the settlement API answers: a run with its totals, payouts and
//! resolutions, and its lines with their flags, in words people read
//! (names, not ids, where a person is meant) next to the ids programs use.

use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::domain::Fen;
use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::settlement::FlagCode;
use crate::domain::status::LineState;
use crate::service::commands::settlement::facts::stored_flags;
use crate::store::Store;
use crate::store::settlement::{LineRecord, PayoutRecord, RunRecord};

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    /// The bank reference (业务参考号) on the payment file.
    pub reference: String,
    pub provider_id: String,
    pub payee_name: String,
    pub bank_name: String,
    pub account_number: String,
    pub gross_fen: i64,
    /// Recovery receivable offset against it (追回抵扣).
    pub offset_fen: i64,
    /// What the bank transfers.
    pub net_fen: i64,
    pub net: String,
    /// pending, paid or failed.
    pub status: String,
    pub bank_message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementRunView {
    pub id: String,
    pub programme_code: String,
    pub period_from: String,
    pub period_until: String,
    /// prepared or approved.
    pub status: String,
    /// The preparer's and the approver's user ids, and their names as the
    /// page and the 兑付表 show them (display name, else username).
    pub prepared_by: String,
    pub prepared_by_name: String,
    pub approved_by: Option<String>,
    pub approved_by_name: Option<String>,
    /// Hex SHA-256 of the lines as prepared (docs/settlement.md).
    pub lines_digest: String,
    pub prepared_sequence: u64,
    pub approved_sequence: Option<u64>,
    pub included_count: i64,
    pub included_fen: i64,
    /// The batch total, e.g. ¥1,234.50.
    pub included: String,
    pub held_count: i64,
    pub held_fen: i64,
    pub released_count: i64,
    pub payouts: Vec<PayoutView>,
    /// Held lines cleared by a note, in the order they were.
    pub resolutions: Vec<ResolutionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionView {
    pub redemption_id: String,
    pub note: String,
    /// The finance user who cleared it: id and name (display name, else
    /// username).
    pub resolved_by: String,
    pub resolved_by_name: String,
    pub sequence: u64,
    /// UTC+8.
    pub resolved_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementRunList {
    pub runs: Vec<SettlementRunView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagView {
    pub code: String,
    /// blocking (keeps the line out until resolved) or warning.
    pub severity: String,
    /// As reconciliation recorded it (machine wording, amounts in fen).
    pub detail: String,
    /// The detail for people: amounts in 元, statuses in words
    /// (`domain::flag_words`).
    pub detail_zh: String,
    pub detail_en: String,
    pub meaning_zh: String,
    pub meaning_en: String,
    /// Whether a note can clear it.
    pub resolvable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementLineView {
    pub line_no: u32,
    pub redemption_id: String,
    pub provider_id: String,
    /// The provider's registered name (服务机构).
    pub provider_name: String,
    /// What the line's redemption was, as copied onto the line when the
    /// run was prepared: voucher, enterprise, service, contract, invoice.
    pub voucher_id: String,
    pub enterprise_name: String,
    pub service_category: String,
    pub contract_amount_fen: i64,
    pub invoice_number: Option<String>,
    pub subsidy_fen: i64,
    /// included, held or released.
    pub state: String,
    pub flags: Vec<FlagView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementLineList {
    pub lines: Vec<SettlementLineView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u32>,
}

pub fn payout_view(payout: &PayoutRecord) -> PayoutView {
    PayoutView {
        reference: payout.reference.clone(),
        provider_id: payout.provider_id.to_string(),
        payee_name: payout.payee_name.clone(),
        bank_name: payout.bank_name.clone(),
        account_number: payout.account_number.clone(),
        gross_fen: payout.gross_fen,
        offset_fen: payout.offset_fen,
        net_fen: payout.net_fen,
        net: Fen::new(payout.net_fen).to_string(),
        status: payout.status.to_string(),
        bank_message: payout.bank_message.clone(),
    }
}

pub async fn run_view<S: Store>(store: &S, run: RunRecord) -> Result<SettlementRunView, ApiError> {
    let totals = store.settlement_line_totals(run.id).await?;
    let of = |state: LineState| {
        totals
            .iter()
            .find(|(s, _, _)| *s == state)
            .map_or((0, 0), |(_, count, fen)| (*count, *fen))
    };
    let (included_count, included_fen) = of(LineState::Included);
    let (held_count, held_fen) = of(LineState::Held);
    let (released_count, _) = of(LineState::Released);
    let payouts = store.payouts(run.id).await?;
    let mut names = UserNames::default();
    let mut resolutions = Vec::new();
    for r in store.settlement_resolutions(run.id).await? {
        resolutions.push(ResolutionView {
            redemption_id: r.redemption_id.to_string(),
            note: r.note,
            resolved_by: r.resolved_by.to_string(),
            resolved_by_name: names.of(store, r.resolved_by).await?,
            sequence: r.sequence,
            resolved_at: crate::domain::Timestamp::from_micros(r.resolved_at_us).to_string(),
        });
    }
    let approved_by_name = match run.approved_by {
        Some(id) => Some(names.of(store, id).await?),
        None => None,
    };
    Ok(SettlementRunView {
        id: run.id.to_string(),
        programme_code: run.programme_code.to_string(),
        period_from: run.period_from,
        period_until: run.period_until,
        status: run.status.to_string(),
        prepared_by: run.prepared_by.to_string(),
        prepared_by_name: names.of(store, run.prepared_by).await?,
        approved_by: run.approved_by.map(|id| id.to_string()),
        approved_by_name,
        lines_digest: run.lines_digest,
        prepared_sequence: run.prepared_sequence,
        approved_sequence: run.approved_sequence,
        included_count,
        included_fen,
        included: Fen::new(included_fen).to_string(),
        held_count,
        held_fen,
        released_count,
        payouts: payouts.iter().map(payout_view).collect(),
        resolutions,
    })
}

/// How each user is named (display name, else username) by user id, each
/// looked up once per answer.
#[derive(Default)]
struct UserNames(HashMap<Uuid, String>);

impl UserNames {
    /// The shown name of `id`; a user the store no longer has is shown by id.
    async fn of<S: Store>(&mut self, store: &S, id: Uuid) -> Result<String, ApiError> {
        if let Some(name) = self.0.get(&id) {
            return Ok(name.clone());
        }
        let name = store
            .user_by_id(id)
            .await?
            .map_or_else(|| id.to_string(), |user| user.shown_name().to_string());
        self.0.insert(id, name.clone());
        Ok(name)
    }
}

/// Provider names by id, for a page of lines (each looked up once).
pub async fn provider_names<S: Store>(
    store: &S,
    lines: &[LineRecord],
) -> Result<HashMap<Uuid, String>, ApiError> {
    let mut names = HashMap::new();
    for line in lines {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(line.provider_id) {
            let name = store
                .provider_by_id(line.provider_id)
                .await?
                .map_or_else(String::new, |p| p.name);
            slot.insert(name);
        }
    }
    Ok(names)
}

pub fn line_view(
    line: &LineRecord,
    provider_names: &HashMap<Uuid, String>,
) -> Result<SettlementLineView, ApiError> {
    let flags = stored_flags(line)?
        .into_iter()
        .map(|flag| {
            let code = FlagCode::parse(&flag.code);
            let (zh, en) = code.map_or(("", ""), FlagCode::meaning);
            let (detail_zh, detail_en) = match code {
                Some(code) => crate::domain::flag_words::detail_words(code, &flag.detail),
                None => (flag.detail.clone(), flag.detail.clone()),
            };
            FlagView {
                resolvable: code.is_some_and(FlagCode::resolvable),
                code: flag.code,
                severity: flag.severity,
                detail: flag.detail,
                detail_zh,
                detail_en,
                meaning_zh: zh.to_string(),
                meaning_en: en.to_string(),
            }
        })
        .collect();
    Ok(SettlementLineView {
        line_no: line.line_no,
        redemption_id: line.redemption_id.to_string(),
        provider_id: line.provider_id.to_string(),
        provider_name: provider_names
            .get(&line.provider_id)
            .cloned()
            .unwrap_or_default(),
        voucher_id: line.facts.voucher_id.to_string(),
        enterprise_name: line.facts.enterprise_name.clone(),
        service_category: line.facts.service_category.clone(),
        contract_amount_fen: line.facts.contract_amount_fen,
        invoice_number: line.facts.invoice_number.clone(),
        subsidy_fen: line.subsidy_fen,
        state: line.state.to_string(),
        flags,
    })
}

//! What the redemption API answers for one redemption: its contract,
//! amounts, invoice and status, and the names of both parties (a person
//! confirming a service wants to see who provided it).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiError;
use crate::domain::{Fen, Timestamp};
use crate::store::Store;
use crate::store::redemption::RedemptionRecord;

/// A redemption as its provider, its enterprise and the staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub id: String,
    pub voucher_id: String,
    pub programme_code: String,
    pub provider_id: String,
    /// The provider's registered name (服务机构), so the enterprise sees
    /// who it confirms a service from.
    pub provider_name: String,
    pub enterprise_id: String,
    /// The enterprise's registered name.
    pub enterprise_name: String,
    pub service_category: String,
    pub contract_number: String,
    pub description: String,
    pub contract_amount_fen: i64,
    pub contract_amount_yuan: String,
    pub subsidy_fen: i64,
    pub subsidy_yuan: String,
    pub enterprise_share_fen: i64,
    pub enterprise_share_yuan: String,
    /// Value a single-use voucher gave back to the budget.
    pub returned_fen: i64,
    pub single_use: bool,
    pub invoice: Option<InvoiceView>,
    pub payment_proof_ref: Option<String>,
    /// What settlement will hold this redemption back for, as things
    /// stand (no invoice, an invoice below the contract, no payment
    /// proof): empty when its documents are complete (单据齐全).
    pub settlement_warnings: Vec<SettlementWarning>,
    /// pending (awaiting the enterprise), confirmed, disputed or reversed.
    pub status: String,
    /// The ledger entry that recorded it.
    pub redeemed_sequence: u64,
    pub redeemed_at: String,
    /// 核销 → 企业确认 → 结算 → 支付, each done, current, waiting or
    /// stopped; only on `GET /api/v1/redemptions/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<crate::domain::redemption_timeline::Step>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    pub code: String,
    pub number: String,
    pub date: String,
    pub amount_fen: i64,
}

impl RedemptionView {
    pub fn of(record: &RedemptionRecord, names: &PartyNames) -> RedemptionView {
        let contract = Fen::new(record.contract_amount_fen);
        let subsidy = Fen::new(record.subsidy_fen);
        let share = Fen::new(record.contract_amount_fen - record.subsidy_fen);
        RedemptionView {
            id: record.id.to_string(),
            voucher_id: record.voucher_id.to_string(),
            programme_code: record.programme_code.to_string(),
            provider_id: record.provider_id.to_string(),
            provider_name: names.provider(record.provider_id),
            enterprise_id: record.enterprise_id.to_string(),
            enterprise_name: names.enterprise(record.enterprise_id),
            service_category: record.service_category.clone(),
            contract_number: record.contract_number.clone(),
            description: record.description.clone(),
            contract_amount_fen: contract.as_fen(),
            contract_amount_yuan: contract.to_plain_yuan(),
            subsidy_fen: subsidy.as_fen(),
            subsidy_yuan: subsidy.to_plain_yuan(),
            enterprise_share_fen: share.as_fen(),
            enterprise_share_yuan: share.to_plain_yuan(),
            returned_fen: record.returned_fen,
            single_use: record.single_use,
            invoice: record.invoice.as_ref().map(|invoice| InvoiceView {
                code: invoice.code.clone(),
                number: invoice.number.clone(),
                date: invoice.date.clone(),
                amount_fen: invoice.amount_fen,
            }),
            payment_proof_ref: record.payment_proof_ref.clone(),
            settlement_warnings: settlement_warnings(record),
            status: record.status.to_string(),
            redeemed_sequence: record.redeemed_sequence,
            redeemed_at: Timestamp::from_micros(record.redeemed_at_us).to_cst_rfc3339(),
            timeline: None,
        }
    }
}

/// One check settlement will apply, in both languages.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettlementWarning {
    pub code: String,
    pub meaning_zh: String,
    pub meaning_en: String,
}

fn settlement_warnings(record: &RedemptionRecord) -> Vec<SettlementWarning> {
    let flags = crate::domain::settlement::document_flags(
        record.contract_amount_fen,
        record.invoice.as_ref().map(|invoice| invoice.amount_fen),
        record
            .payment_proof_ref
            .as_deref()
            .is_some_and(|proof| !proof.trim().is_empty()),
    );
    flags
        .into_iter()
        .map(|flag| {
            let (zh, en) = flag.code.meaning();
            SettlementWarning {
                code: flag.code.as_str().to_string(),
                meaning_zh: zh.to_string(),
                meaning_en: en.to_string(),
            }
        })
        .collect()
}

/// The registered names of the providers and enterprises of a page of
/// redemptions, each looked up once.
#[derive(Debug, Default)]
pub struct PartyNames {
    providers: HashMap<Uuid, String>,
    enterprises: HashMap<Uuid, String>,
}

impl PartyNames {
    pub async fn of<S: Store>(
        store: &S,
        records: &[RedemptionRecord],
    ) -> Result<PartyNames, ApiError> {
        let mut names = PartyNames::default();
        for record in records {
            if let Entry::Vacant(slot) = names.providers.entry(record.provider_id) {
                let name = store.provider_by_id(record.provider_id).await?;
                slot.insert(name.map_or_else(String::new, |p| p.name));
            }
            if let Entry::Vacant(slot) = names.enterprises.entry(record.enterprise_id) {
                let name = store.enterprise_by_id(record.enterprise_id).await?;
                slot.insert(name.map_or_else(String::new, |e| e.name));
            }
        }
        Ok(names)
    }

    fn provider(&self, id: Uuid) -> String {
        self.providers.get(&id).cloned().unwrap_or_default()
    }

    fn enterprise(&self, id: Uuid) -> String {
        self.enterprises.get(&id).cloned().unwrap_or_default()
    }
}

/// One redemption's view, with its parties' names.
/// The redemption's way from the counter to the provider's bank account:
/// its status, its settlement line (the run's status, approval time) and
/// its provider's payout in that run.
pub async fn timeline_of<S: Store>(
    store: &S,
    record: &RedemptionRecord,
) -> Result<Vec<crate::domain::redemption_timeline::Step>, ApiError> {
    use crate::domain::redemption_timeline::{Progress, timeline};
    let at = |us: i64| Timestamp::from_micros(us).to_cst_rfc3339();
    let (settlement, payout) = match store.redemption_placement(record.id).await? {
        Some(placement) => {
            let approved_at = store
                .settlement_run(placement.run_id)
                .await?
                .and_then(|run| run.approved_at_us)
                .map(at);
            let payout = store
                .payouts(placement.run_id)
                .await?
                .into_iter()
                .find(|p| p.provider_id == record.provider_id)
                .map(|p| p.status);
            (
                Some((placement.run_status, placement.state, approved_at)),
                payout,
            )
        }
        None => (None, None),
    };
    Ok(timeline(&Progress {
        status: record.status,
        redeemed_at: at(record.redeemed_at_us),
        confirmed_at: record.confirmed_at_us.map(at),
        settlement,
        payout,
    }))
}

pub async fn redemption_view<S: Store>(
    store: &S,
    record: &RedemptionRecord,
) -> Result<RedemptionView, ApiError> {
    let names = PartyNames::of(store, std::slice::from_ref(record)).await?;
    Ok(RedemptionView::of(record, &names))
}

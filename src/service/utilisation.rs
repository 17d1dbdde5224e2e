//! Programme utilisation (资金使用情况), shared by the API and the CLI:
//! where the appropriation stands — funding, available, outstanding,
//! payable, in payment, paid, lapsed, recovered — from the ledger's
//! balances, and issued / redeemed / settled / paid per district, zone,
//! service category or month from the rows.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ProgrammeCode;
use crate::ledger::account::{AccountKind, NormalSide};
use crate::report::chart::{Group, bar_chart_svg};
use crate::store::settlement::UtilisationGroup;
use crate::store::{Store, StoreError};

/// The chart's series, in the order of a group's values.
pub const SERIES: [&str; 4] = ["已发放", "已兑付", "已结算", "已支付"];

/// The nine totals as the page and the CLI name them, in the order of
/// `Utilisation::totals_fen`: (JSON field, 中文, English).
pub const TOTALS: [(&str, &str, &str); 9] = [
    ("funding_fen", "拨入资金", "Funding"),
    ("available_fen", "可发放", "Available"),
    ("outstanding_fen", "已发放未使用", "Outstanding"),
    ("payable_fen", "待结算", "Payable"),
    ("payout_pending_fen", "待支付", "Payout pending"),
    ("paid_fen", "已支付", "Paid"),
    ("lapsed_fen", "过期作废退回", "Lapsed"),
    ("recovery_receivable_fen", "待追回", "Recovery receivable"),
    ("recovered_fen", "已追回", "Recovered"),
];

/// One group's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GroupTotals {
    /// The district code, zone, service category or month (YYYY-MM, UTC+8).
    pub group: String,
    /// The group as people read it: a district by name (定海区), the rest
    /// as they are.
    pub label: String,
    pub issued_fen: i64,
    pub redeemed_fen: i64,
    pub settled_fen: i64,
    pub paid_fen: i64,
}

/// A programme's utilisation: where the appropriation is now (balances
/// of the ledger), and per group what was issued, redeemed, settled, paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Utilisation {
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
    pub groups: Vec<GroupTotals>,
}

impl Utilisation {
    /// The nine totals in the order of `TOTALS`.
    pub fn totals_fen(&self) -> [i64; 9] {
        [
            self.funding_fen,
            self.available_fen,
            self.outstanding_fen,
            self.payable_fen,
            self.payout_pending_fen,
            self.paid_fen,
            self.lapsed_fen,
            self.recovery_receivable_fen,
            self.recovered_fen,
        ]
    }
}

/// The programme's balance of one account kind, summed over parties,
/// shown positive.
async fn kind_total<S: Store>(store: &S, kind: AccountKind, code: &str) -> Result<i64, StoreError> {
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

/// `None` if the programme does not exist.
pub async fn utilisation<S: Store>(
    store: &S,
    code: &ProgrammeCode,
    group: UtilisationGroup,
) -> Result<Option<Utilisation>, StoreError> {
    let code = code.as_str();
    if store.programme(code).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(Utilisation {
        funding_fen: kind_total(store, AccountKind::ProgrammeFunding, code).await?,
        available_fen: kind_total(store, AccountKind::BudgetAvailable, code).await?,
        outstanding_fen: kind_total(store, AccountKind::VouchersOutstanding, code).await?,
        payable_fen: kind_total(store, AccountKind::ProviderPayable, code).await?,
        payout_pending_fen: kind_total(store, AccountKind::PayoutPending, code).await?,
        paid_fen: kind_total(store, AccountKind::Paid, code).await?,
        lapsed_fen: kind_total(store, AccountKind::Lapsed, code).await?,
        recovery_receivable_fen: kind_total(store, AccountKind::RecoveryReceivable, code).await?,
        recovered_fen: store.recovered_fen(code).await?,
        groups: store
            .utilisation(code, group)
            .await?
            .into_iter()
            .map(|row| GroupTotals {
                label: match group {
                    UtilisationGroup::District => {
                        crate::domain::division::division_name(&row.group)
                            .map_or_else(|| row.group.clone(), str::to_string)
                    }
                    _ => row.group.clone(),
                },
                group: row.group,
                issued_fen: row.issued_fen,
                redeemed_fen: row.redeemed_fen,
                settled_fen: row.settled_fen,
                paid_fen: row.paid_fen,
            })
            .collect(),
    }))
}

/// The utilisation as an SVG bar chart, one group of four bars per group.
pub fn chart_svg(title: &str, utilisation: &Utilisation) -> String {
    let groups: Vec<Group> = utilisation
        .groups
        .iter()
        .map(|g| Group {
            label: g.label.clone(),
            values_fen: vec![g.issued_fen, g.redeemed_fen, g.settled_fen, g.paid_fen],
        })
        .collect();
    bar_chart_svg(title, &SERIES, &groups)
}

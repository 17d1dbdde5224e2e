//! Redemption rules: may this provider redeem this voucher for this
//! contract today, and for how much subsidy.
//!
//! The provider's preview and the ledger writer (under the chain-head lock)
//! both call `assess` with facts they gathered, so the counter shows exactly
//! the reasons the writer would refuse with — all of them at once. Pure: the
//! caller supplies the date, the voucher, the provider, the totals already
//! redeemed this year and the contract.

use chrono::NaiveDate;

use super::Fen;
use super::eligibility::Check;
use super::programme::Rounding;
use super::provider::{ProviderStatus, RelatedParty};
use super::status::{RedemptionStatus, VoucherStatus};

/// Basis points in one whole (100 %).
const BP_WHOLE: i128 = 10_000;

/// The voucher as the ledger knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherFacts {
    pub status: VoucherStatus,
    pub remaining: Fen,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub categories: Vec<String>,
    /// The key that signed it is revoked (it must be re-issued first).
    pub key_revoked: bool,
    /// Divisible vouchers keep a balance; single-use ones return the rest
    /// to the budget.
    pub divisible: bool,
}

/// How the voucher was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A fresh rotating presentation whose nonce was never used.
    FreshPresentation,
    /// A rotating presentation whose nonce was used before.
    UsedPresentation,
    /// The voucher's own (printed) token.
    StaticToken,
    /// A presentation that is no longer fresh, shown on the strength of a
    /// hold this provider placed with it — which has since ended or run
    /// out.
    HoldLapsed,
}

/// The provider as the registry knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFacts {
    pub status: ProviderStatus,
    pub uscc: String,
    /// 法定代表人.
    pub legal_representative: String,
    pub categories: Vec<String>,
    pub related_parties: Vec<RelatedParty>,
    /// Blacklist entries in force today: (reason, source).
    pub blacklist: Vec<(String, String)>,
    pub annual_cap: Fen,
    /// Subsidy of its unreversed redemptions this fiscal year.
    pub redeemed_this_year: Fen,
}

/// The voucher holder as the registry knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderFacts {
    pub uscc: String,
    pub name: String,
    /// 法定代表人, when the registry knows it.
    pub legal_representative: Option<String>,
    /// Subsidy of its unreversed redemptions from this programme this
    /// fiscal year.
    pub redeemed_this_year: Fen,
}

/// What the programme's terms say about redemptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionTerms {
    pub rotating: bool,
    pub subsidy_ratio_bp: u32,
    pub rounding: Rounding,
    /// Most subsidy one enterprise may receive from the programme per year.
    pub annual_cap: Fen,
}

/// The service contract being redeemed against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    pub category: String,
    pub amount: Fen,
}

/// Everything `assess` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionFacts {
    pub today: NaiveDate,
    pub voucher: VoucherFacts,
    pub shown: Shown,
    /// Another provider holds the voucher right now (it is being redeemed
    /// at another counter).
    pub held_elsewhere: bool,
    pub provider: ProviderFacts,
    pub holder: HolderFacts,
    pub terms: RedemptionTerms,
}

/// The outcome: the money, and every reason it may not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Paid by the programme: min(remaining, ratio × contract), rounded down.
    pub subsidy: Fen,
    /// Paid by the enterprise itself: contract − subsidy.
    pub enterprise_share: Fen,
    /// Returned to the budget: a single-use voucher's unused value.
    pub returned_to_budget: Fen,
    /// What the voucher keeps afterwards (divisible vouchers only).
    pub remaining_after: Fen,
    /// Empty when the redemption may go ahead.
    pub refusals: Vec<Check>,
}

impl Assessment {
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// ratio × amount, rounded down to the fen or to whole 元.
pub fn ratio_of(amount: Fen, ratio_bp: u32, rounding: Rounding) -> Fen {
    let raw = i128::from(amount.as_fen().max(0)) * i128::from(ratio_bp) / BP_WHOLE;
    let rounded = match rounding {
        Rounding::Fen => raw,
        Rounding::Yuan => raw - raw % 100,
    };
    Fen::new(i64::try_from(rounded).unwrap_or(i64::MAX))
}

fn refuse(code: &'static str, message: String, message_zh: String) -> Check {
    Check {
        code,
        passed: false,
        message,
        message_zh,
    }
}

/// Assesses a redemption of `contract` under `facts`.
pub fn assess(facts: &RedemptionFacts, contract: &Contract) -> Assessment {
    let voucher = &facts.voucher;
    let mut refusals = Vec::new();
    refusals.extend(voucher_refusals(facts));
    refusals.extend(provider_refusals(facts, contract));
    let subsidy = ratio_of(
        contract.amount,
        facts.terms.subsidy_ratio_bp,
        facts.terms.rounding,
    )
    .min(voucher.remaining);
    let enterprise_share = Fen::new(contract.amount.as_fen() - subsidy.as_fen());
    if !subsidy.is_positive() && voucher.remaining.is_positive() {
        refusals.push(refuse(
            "subsidy_zero",
            format!(
                "A contract of {} earns no subsidy at this programme's ratio.",
                contract.amount
            ),
            format!(
                "合同金额 {} 按本项目补贴比例计算的补贴为零。",
                contract.amount
            ),
        ));
    }
    if !enterprise_share.is_positive() {
        refusals.push(refuse(
            "enterprise_share_not_positive",
            "The enterprise must pay part of the contract itself.".into(),
            "企业须自付部分合同金额。".into(),
        ));
    }
    let provider = &facts.provider;
    if provider.redeemed_this_year.as_fen() + subsidy.as_fen() > provider.annual_cap.as_fen() {
        refusals.push(refuse(
            "provider_annual_cap_exceeded",
            format!(
                "The provider has redeemed {} this year; {} more would pass its annual cap of {}.",
                provider.redeemed_this_year, subsidy, provider.annual_cap
            ),
            format!(
                "该服务机构本年度已兑付 {}，再兑付 {} 将超过年度上限 {}。",
                provider.redeemed_this_year, subsidy, provider.annual_cap
            ),
        ));
    }
    let holder = &facts.holder;
    if holder.redeemed_this_year.as_fen() + subsidy.as_fen() > facts.terms.annual_cap.as_fen() {
        refusals.push(refuse(
            "enterprise_annual_cap_exceeded",
            format!(
                "The enterprise has received {} this year; {} more would pass the programme's annual cap of {}.",
                holder.redeemed_this_year, subsidy, facts.terms.annual_cap
            ),
            format!(
                "该企业本年度已获补贴 {}，再获 {} 将超过项目年度上限 {}。",
                holder.redeemed_this_year, subsidy, facts.terms.annual_cap
            ),
        ));
    }
    let after = Fen::new(voucher.remaining.as_fen() - subsidy.as_fen());
    let (returned_to_budget, remaining_after) = if voucher.divisible {
        (Fen::ZERO, after)
    } else {
        (after, Fen::ZERO)
    };
    Assessment {
        subsidy,
        enterprise_share,
        returned_to_budget,
        remaining_after,
        refusals,
    }
}

fn voucher_refusals(facts: &RedemptionFacts) -> Vec<Check> {
    let voucher = &facts.voucher;
    let mut refusals = Vec::new();
    let status_refusal = match voucher.status {
        VoucherStatus::Active if voucher.remaining.is_positive() => None,
        VoucherStatus::Active | VoucherStatus::Redeemed => Some(refuse(
            "voucher_already_redeemed",
            "The voucher has already been redeemed.".into(),
            "该补贴券已兑付。".into(),
        )),
        VoucherStatus::Revoked => Some(refuse(
            "voucher_revoked",
            "The voucher was revoked.".into(),
            "该补贴券已被撤销。".into(),
        )),
        VoucherStatus::Expired => Some(refuse(
            "voucher_expired",
            format!("The voucher expired after {}.", voucher.valid_until),
            format!("该补贴券已于 {} 后过期。", voucher.valid_until),
        )),
        VoucherStatus::Reissued => Some(refuse(
            "voucher_reissued",
            "The voucher was replaced by one signed with a new key; show the new one.".into(),
            "该补贴券已换发新券，请出示新券。".into(),
        )),
    };
    refusals.extend(status_refusal);
    if voucher.status == VoucherStatus::Active && facts.today > voucher.valid_until {
        refusals.push(refuse(
            "voucher_expired",
            format!("The voucher expired after {}.", voucher.valid_until),
            format!("该补贴券已于 {} 后过期。", voucher.valid_until),
        ));
    }
    if facts.today < voucher.valid_from {
        refusals.push(refuse(
            "voucher_not_yet_valid",
            format!("The voucher is valid from {}.", voucher.valid_from),
            format!("该补贴券自 {} 起有效。", voucher.valid_from),
        ));
    }
    if voucher.key_revoked && voucher.status == VoucherStatus::Active {
        refusals.push(refuse(
            "token_key_revoked",
            "The key that signed the voucher was revoked; it must be re-issued first.".into(),
            "签发该补贴券的密钥已吊销，须先换发新券。".into(),
        ));
    }
    match (facts.terms.rotating, facts.shown) {
        (true, Shown::StaticToken) => refusals.push(refuse(
            "presentation_required",
            "This programme accepts only the live QR code from the enterprise's phone.".into(),
            "本项目只接受企业手机上实时生成的二维码。".into(),
        )),
        (_, Shown::UsedPresentation) => refusals.push(refuse(
            "presentation_already_used",
            "This QR code was already used; ask the enterprise to show a fresh one.".into(),
            "该二维码已使用过，请企业重新出示。".into(),
        )),
        (_, Shown::HoldLapsed) => refusals.push(refuse(
            "hold_expired",
            "The hold on this voucher ran out: ask the enterprise to refresh its QR code, then scan it again.".into(),
            "本机构对该券的核销保留已到期：请企业刷新二维码后重新扫码。".into(),
        )),
        _ => {}
    }
    if facts.held_elsewhere {
        refusals.push(refuse(
            "voucher_held",
            "Another provider is redeeming this voucher right now; try again once it is done or released.".into(),
            "该补贴券正在其他服务机构核销中，请待其完成或释放后再试。".into(),
        ));
    }
    refusals
}

fn provider_refusals(facts: &RedemptionFacts, contract: &Contract) -> Vec<Check> {
    let provider = &facts.provider;
    let mut refusals = Vec::new();
    match provider.status {
        ProviderStatus::Approved => {}
        ProviderStatus::Applied => refusals.push(refuse(
            "provider_not_approved",
            "The provider is not yet approved (入库).".into(),
            "该服务机构尚未入库。".into(),
        )),
        ProviderStatus::Suspended => refusals.push(refuse(
            "provider_suspended",
            "The provider is suspended (暂停).".into(),
            "该服务机构已被暂停。".into(),
        )),
        ProviderStatus::Removed => refusals.push(refuse(
            "provider_removed",
            "The provider was removed (出库).".into(),
            "该服务机构已出库。".into(),
        )),
    }
    if !provider.blacklist.is_empty() {
        let reasons: Vec<&str> = provider.blacklist.iter().map(|(r, _)| r.as_str()).collect();
        refusals.push(refuse(
            "provider_blacklisted",
            format!("The provider is blacklisted: {}.", reasons.join("; ")),
            format!("该服务机构在黑名单中：{}。", reasons.join("；")),
        ));
    }
    if !provider.categories.contains(&contract.category) {
        refusals.push(refuse(
            "provider_category_not_approved",
            format!("The provider is not approved for {}.", contract.category),
            format!("该服务机构未获准提供“{}”服务。", contract.category),
        ));
    }
    if !facts.voucher.categories.contains(&contract.category) {
        refusals.push(refuse(
            "category_not_covered",
            format!(
                "The voucher does not cover {} (it covers {}).",
                contract.category,
                facts.voucher.categories.join(", ")
            ),
            format!(
                "该补贴券不适用于“{}”（适用：{}）。",
                contract.category,
                facts.voucher.categories.join("、")
            ),
        ));
    }
    if let Some(relation) = related_party(provider, &facts.holder) {
        refusals.push(refuse(
            "related_party",
            format!("The provider and the enterprise are related parties ({relation}): 关联交易 is not subsidised."),
            format!("服务机构与企业存在关联关系（{relation}），关联交易不予补贴。"),
        ));
    }
    refusals
}

/// How the provider and the holder are related, if they are: the same
/// USCC, the same legal representative, or a relation the provider
/// declared (by USCC or by name).
fn related_party(provider: &ProviderFacts, holder: &HolderFacts) -> Option<String> {
    relation_between(
        &Party {
            uscc: &provider.uscc,
            name: "",
            legal_representative: Some(&provider.legal_representative),
        },
        &provider.related_parties,
        &Party {
            uscc: &holder.uscc,
            name: &holder.name,
            legal_representative: holder.legal_representative.as_deref(),
        },
    )
}

/// Who a party is, for the related-party rule.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    pub uscc: &'a str,
    pub name: &'a str,
    pub legal_representative: Option<&'a str>,
}

/// How a provider and a holder are related, if they are: the same USCC,
/// the same legal representative, or a relation the provider declared (by
/// USCC or by name). Redemption refuses on it; settlement checks it again
/// against the registry of the day.
pub fn relation_between(
    provider: &Party<'_>,
    declared: &[RelatedParty],
    holder: &Party<'_>,
) -> Option<String> {
    if provider.uscc == holder.uscc {
        return Some("同一统一社会信用代码 / same USCC".into());
    }
    let representative = provider.legal_representative.unwrap_or_default().trim();
    if !representative.is_empty()
        && holder
            .legal_representative
            .is_some_and(|r| r.trim() == representative)
    {
        return Some("同一法定代表人 / same legal representative".into());
    }
    declared
        .iter()
        .find(|party| {
            party.uscc.as_deref() == Some(holder.uscc) || party.name.trim() == holder.name.trim()
        })
        .map(|party| party.relation.clone())
}

/// What can happen to a recorded redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RedemptionAction {
    /// The enterprise confirms the service was delivered.
    Confirm,
    /// The enterprise disputes it.
    Dispute,
    /// The admin rejects a dispute: the redemption stands.
    RejectDispute,
    /// The admin upholds a dispute: the redemption is reversed.
    UpholdDispute,
    /// The provider or the admin reverses it (冲正).
    Reverse,
    /// A party was marked fraudulent: held until the admin reverses it.
    Freeze,
}

impl RedemptionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionAction::Confirm => "confirm",
            RedemptionAction::Dispute => "dispute",
            RedemptionAction::RejectDispute => "reject_dispute",
            RedemptionAction::UpholdDispute => "uphold_dispute",
            RedemptionAction::Reverse => "reverse",
            RedemptionAction::Freeze => "freeze",
        }
    }
}

/// The redemption state machine (docs/redemption-lifecycle.md): the status
/// after `action`, or `None` if `action` does not apply in `status`.
/// Settlement (a later state) will take confirmed redemptions out of reach.
pub fn next_status(status: RedemptionStatus, action: RedemptionAction) -> Option<RedemptionStatus> {
    use RedemptionAction::*;
    use RedemptionStatus::*;
    match (status, action) {
        (Pending, Confirm) | (Disputed, RejectDispute) => Some(Confirmed),
        (Pending, Dispute) => Some(Disputed),
        (Disputed, UpholdDispute) | (Pending | Confirmed | Disputed | Frozen, Reverse) => {
            Some(Reversed)
        }
        (Pending | Confirmed | Disputed, Freeze) => Some(Frozen),
        _ => None,
    }
}

/// Where a reversed subsidy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueReturn {
    /// Back onto the voucher, which can be used again.
    Voucher,
    /// Back to the programme's available budget.
    Budget,
}

impl ValueReturn {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueReturn::Voucher => "voucher",
            ValueReturn::Budget => "budget",
        }
    }
}

/// A reversed subsidy returns to the voucher if the voucher can still be
/// used (not revoked, expired or replaced, and within its dates), else to
/// the budget.
pub fn value_return(
    voucher_status: VoucherStatus,
    valid_until: NaiveDate,
    today: NaiveDate,
) -> ValueReturn {
    let usable = matches!(
        voucher_status,
        VoucherStatus::Active | VoucherStatus::Redeemed
    ) && today <= valid_until;
    if usable {
        ValueReturn::Voucher
    } else {
        ValueReturn::Budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn facts() -> RedemptionFacts {
        RedemptionFacts {
            today: date("2026-06-01"),
            voucher: VoucherFacts {
                status: VoucherStatus::Active,
                remaining: Fen::new(500_000),
                valid_from: date("2026-03-01"),
                valid_until: date("2026-12-31"),
                categories: vec!["管理咨询".into(), "检验检测".into()],
                key_revoked: false,
                divisible: false,
            },
            shown: Shown::FreshPresentation,
            held_elsewhere: false,
            provider: ProviderFacts {
                status: ProviderStatus::Approved,
                uscc: "91330900MA2A00001X".into(),
                legal_representative: "李四".into(),
                categories: vec!["管理咨询".into()],
                related_parties: vec![],
                blacklist: vec![],
                annual_cap: Fen::new(500_000_000),
                redeemed_this_year: Fen::ZERO,
            },
            holder: HolderFacts {
                uscc: "91330900MA2B00002Y".into(),
                name: "舟山海味食品有限公司".into(),
                legal_representative: Some("王五".into()),
                redeemed_this_year: Fen::ZERO,
            },
            terms: RedemptionTerms {
                rotating: true,
                subsidy_ratio_bp: 5_000,
                rounding: Rounding::Fen,
                annual_cap: Fen::new(1_000_000),
            },
        }
    }

    fn contract(fen: i64) -> Contract {
        Contract {
            category: "管理咨询".into(),
            amount: Fen::new(fen),
        }
    }

    fn codes(assessment: &Assessment) -> Vec<&'static str> {
        assessment.refusals.iter().map(|c| c.code).collect()
    }

    #[test]
    fn subsidy_is_the_ratio_rounded_down_and_capped_by_what_remains() {
        assert_eq!(
            ratio_of(Fen::new(12_345), 5_000, Rounding::Fen),
            Fen::new(6_172)
        );
        assert_eq!(
            ratio_of(Fen::new(12_345), 5_000, Rounding::Yuan),
            Fen::new(6_100)
        );
        assert_eq!(ratio_of(Fen::new(99), 3_333, Rounding::Fen), Fen::new(32));
        let small = assess(&facts(), &contract(300_001));
        assert_eq!(small.subsidy, Fen::new(150_000));
        assert_eq!(small.enterprise_share, Fen::new(150_001));
        assert_eq!(small.returned_to_budget, Fen::new(350_000));
        assert!(small.allowed());
        let large = assess(&facts(), &contract(2_000_000));
        assert_eq!(large.subsidy, Fen::new(500_000));
        assert_eq!(large.enterprise_share, Fen::new(1_500_000));
        assert_eq!(large.returned_to_budget, Fen::ZERO);
    }

    #[test]
    fn a_divisible_voucher_keeps_its_balance() {
        let mut f = facts();
        f.voucher.divisible = true;
        let a = assess(&f, &contract(200_000));
        assert_eq!(
            (a.subsidy, a.remaining_after),
            (Fen::new(100_000), Fen::new(400_000))
        );
        assert_eq!(a.returned_to_budget, Fen::ZERO);
    }

    #[test]
    fn every_reason_is_reported_at_once() {
        let mut f = facts();
        f.voucher.status = VoucherStatus::Redeemed;
        f.voucher.remaining = Fen::ZERO;
        f.today = date("2027-01-05");
        f.shown = Shown::StaticToken;
        f.provider.status = ProviderStatus::Suspended;
        f.provider.blacklist = vec![("虚假交易".into(), "市场监管局".into())];
        f.provider.uscc = f.holder.uscc.clone();
        let mut c = contract(100_000);
        c.category = "法律".into();
        let a = assess(&f, &c);
        assert_eq!(
            codes(&a),
            [
                "voucher_already_redeemed",
                "presentation_required",
                "provider_suspended",
                "provider_blacklisted",
                "provider_category_not_approved",
                "category_not_covered",
                "related_party",
            ]
        );
    }

    #[test]
    fn each_rule_refuses_on_its_own() {
        type Change = Box<dyn Fn(&mut RedemptionFacts, &mut Contract)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "voucher_revoked",
                Box::new(|f, _| f.voucher.status = VoucherStatus::Revoked),
            ),
            (
                "voucher_reissued",
                Box::new(|f, _| f.voucher.status = VoucherStatus::Reissued),
            ),
            (
                "voucher_expired",
                Box::new(|f, _| f.today = date("2027-01-01")),
            ),
            (
                "voucher_not_yet_valid",
                Box::new(|f, _| f.today = date("2026-02-28")),
            ),
            (
                "token_key_revoked",
                Box::new(|f, _| f.voucher.key_revoked = true),
            ),
            (
                "presentation_already_used",
                Box::new(|f, _| f.shown = Shown::UsedPresentation),
            ),
            ("hold_expired", Box::new(|f, _| f.shown = Shown::HoldLapsed)),
            ("voucher_held", Box::new(|f, _| f.held_elsewhere = true)),
            (
                "provider_not_approved",
                Box::new(|f, _| f.provider.status = ProviderStatus::Applied),
            ),
            (
                "provider_removed",
                Box::new(|f, _| f.provider.status = ProviderStatus::Removed),
            ),
            (
                "related_party",
                Box::new(|f, _| {
                    f.provider.related_parties = vec![RelatedParty {
                        uscc: None,
                        name: " 舟山海味食品有限公司".into(),
                        relation: "同一法定代表人".into(),
                    }]
                }),
            ),
            (
                "related_party",
                Box::new(|f, _| f.holder.legal_representative = Some(" 李四".into())),
            ),
            (
                "provider_annual_cap_exceeded",
                Box::new(|f, _| f.provider.redeemed_this_year = Fen::new(499_950_001)),
            ),
            (
                "enterprise_annual_cap_exceeded",
                Box::new(|f, _| f.holder.redeemed_this_year = Fen::new(950_001)),
            ),
            ("subsidy_zero", Box::new(|_, c| c.amount = Fen::new(1))),
            (
                "enterprise_share_not_positive",
                Box::new(|f, _| f.terms.subsidy_ratio_bp = 10_000),
            ),
        ];
        for (code, change) in cases {
            let (mut f, mut c) = (facts(), contract(100_000));
            change(&mut f, &mut c);
            assert_eq!(codes(&assess(&f, &c)), [code], "{code}");
        }
    }

    #[test]
    fn the_state_machine_allows_exactly_its_transitions() {
        use RedemptionAction::*;
        let actions = [
            Confirm,
            Dispute,
            RejectDispute,
            UpholdDispute,
            Reverse,
            Freeze,
        ];
        let allowed: Vec<(&str, &str, &str)> = RedemptionStatus::ALL
            .iter()
            .flat_map(|&status| {
                actions.iter().filter_map(move |a| {
                    next_status(status, *a).map(|n| (status.as_str(), a.as_str(), n.as_str()))
                })
            })
            .collect();
        assert_eq!(
            allowed,
            [
                ("pending", "confirm", "confirmed"),
                ("pending", "dispute", "disputed"),
                ("pending", "reverse", "reversed"),
                ("pending", "freeze", "frozen"),
                ("confirmed", "reverse", "reversed"),
                ("confirmed", "freeze", "frozen"),
                ("disputed", "reject_dispute", "confirmed"),
                ("disputed", "uphold_dispute", "reversed"),
                ("disputed", "reverse", "reversed"),
                ("disputed", "freeze", "frozen"),
                ("frozen", "reverse", "reversed"),
            ]
        );
    }

    #[test]
    fn reversed_value_returns_to_a_usable_voucher_else_to_the_budget() {
        let until = date("2026-12-31");
        assert_eq!(
            value_return(VoucherStatus::Redeemed, until, date("2026-12-31")),
            ValueReturn::Voucher
        );
        assert_eq!(
            value_return(VoucherStatus::Active, until, date("2027-01-01")),
            ValueReturn::Budget
        );
        for status in [
            VoucherStatus::Revoked,
            VoucherStatus::Expired,
            VoucherStatus::Reissued,
        ] {
            assert_eq!(
                value_return(status, until, date("2026-06-01")),
                ValueReturn::Budget
            );
        }
    }

    #[test]
    fn a_static_programme_accepts_the_printed_token() {
        let mut f = facts();
        f.terms.rotating = false;
        f.shown = Shown::StaticToken;
        assert!(assess(&f, &contract(100_000)).allowed());
    }
}

//! Settlement (兑付) rules, without I/O: settlement periods, the run id that
//! makes a run reproducible, reconciliation flags on each line, the
//! per-provider annual cap, recovery offsets and the digest of a run's lines.
//!
//! The service layer reads the facts (candidate redemptions, the registry,
//! what was settled before) under the ledger lock and hands them here; what
//! comes back is the run, decided. Nothing here reads a clock.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::provider::ProviderStatus;
use super::time::Timestamp;

/// Microseconds in a minute.
const MINUTE_US: i64 = 60 * 1_000_000;

/// An inclusive range of days in UTC+8 that a run settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    from: NaiveDate,
    until: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a period is a quarter (2026Q3), a half-year (2026H1), a year (2026) or two dates \
     (2026-07-01..2026-09-30) of one fiscal year, the start not after the end"
)]
pub struct PeriodError;

impl Period {
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<Period, PeriodError> {
        // Caps are annual: a run never straddles two fiscal years.
        if from > until || from.year() != until.year() {
            return Err(PeriodError);
        }
        Ok(Period { from, until })
    }

    /// Reads `2026Q3`, `2026H1`, `2026` or `2026-07-01..2026-09-30`.
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let text = text.trim();
        if let Some((from, until)) = text.split_once("..") {
            let date = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d");
            return Period::new(
                date(from).map_err(|_| PeriodError)?,
                date(until).map_err(|_| PeriodError)?,
            );
        }
        let year_of = |t: &str| -> Result<i32, PeriodError> {
            if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PeriodError);
            }
            t.parse().map_err(|_| PeriodError)
        };
        let months = |year: i32, first: u32, last: u32| -> Result<Period, PeriodError> {
            let from = NaiveDate::from_ymd_opt(year, first, 1).ok_or(PeriodError)?;
            let next = if last == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, last + 1, 1)
            }
            .ok_or(PeriodError)?;
            Period::new(from, next.pred_opt().ok_or(PeriodError)?)
        };
        match text.len() {
            4 => months(year_of(text)?, 1, 12),
            6 => {
                let year = year_of(&text[..4])?;
                match &text[4..] {
                    "Q1" | "q1" => months(year, 1, 3),
                    "Q2" | "q2" => months(year, 4, 6),
                    "Q3" | "q3" => months(year, 7, 9),
                    "Q4" | "q4" => months(year, 10, 12),
                    "H1" | "h1" => months(year, 1, 6),
                    "H2" | "h2" => months(year, 7, 12),
                    _ => Err(PeriodError),
                }
            }
            _ => Err(PeriodError),
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn until(&self) -> NaiveDate {
        self.until
    }

    /// The first instant of the period (midnight UTC+8 of `from`).
    pub fn start(&self) -> Timestamp {
        Timestamp::cst_midnight(self.from)
    }

    /// The first instant after the period (midnight UTC+8 after `until`).
    pub fn end(&self) -> Timestamp {
        Timestamp::cst_midnight(self.until.succ_opt().unwrap_or(self.until))
    }

    /// `2026-07-01..2026-09-30`.
    pub fn label(&self) -> String {
        format!("{}..{}", self.from, self.until)
    }

    /// The fiscal year a cap is counted in: the year the period ends.
    pub fn fiscal_year(&self) -> i32 {
        self.until.year()
    }
}

/// The run for a programme and a period always has the same id, so a second
/// request for the same period finds the first run instead of making another.
pub fn run_id(programme: &str, period: &Period) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"voucher-ledger settlement run\0")
        .chain_update(programme.as_bytes())
        .chain_update(b"\0")
        .chain_update(period.label().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// How much a flag matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Keeps the line out of the batch until someone resolves it.
    Blocking,
    /// Shown to the reviewer; the line stays in the batch.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Blocking => "blocking",
            Severity::Warning => "warning",
        }
    }
}

/// What reconciliation found on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagCode {
    InvoiceMissing,
    InvoiceShort,
    InvoiceDuplicate,
    PaymentProofMissing,
    RelatedParty,
    ProviderNotApproved,
    ProviderAnnualCap,
    QuickRedemption,
    SubsidyAtMaximum,
    ProviderDominatesEnterprise,
    ProviderDominatesProgramme,
    RedemptionBurst,
}

impl FlagCode {
    pub const ALL: [FlagCode; 12] = [
        FlagCode::InvoiceMissing,
        FlagCode::InvoiceShort,
        FlagCode::InvoiceDuplicate,
        FlagCode::PaymentProofMissing,
        FlagCode::RelatedParty,
        FlagCode::ProviderNotApproved,
        FlagCode::ProviderAnnualCap,
        FlagCode::QuickRedemption,
        FlagCode::SubsidyAtMaximum,
        FlagCode::ProviderDominatesEnterprise,
        FlagCode::ProviderDominatesProgramme,
        FlagCode::RedemptionBurst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagCode::InvoiceMissing => "invoice_missing",
            FlagCode::InvoiceShort => "invoice_short",
            FlagCode::InvoiceDuplicate => "invoice_duplicate",
            FlagCode::PaymentProofMissing => "payment_proof_missing",
            FlagCode::RelatedParty => "related_party",
            FlagCode::ProviderNotApproved => "provider_not_approved",
            FlagCode::ProviderAnnualCap => "provider_annual_cap",
            FlagCode::QuickRedemption => "quick_redemption",
            FlagCode::SubsidyAtMaximum => "subsidy_at_maximum",
            FlagCode::ProviderDominatesEnterprise => "provider_dominates_enterprise",
            FlagCode::ProviderDominatesProgramme => "provider_dominates_programme",
            FlagCode::RedemptionBurst => "redemption_burst",
        }
    }

    pub fn parse(text: &str) -> Option<FlagCode> {
        FlagCode::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// Documents, related parties, provider status and the cap block;
    /// the 套现 signals only warn.
    pub fn severity(self) -> Severity {
        match self {
            FlagCode::InvoiceMissing
            | FlagCode::InvoiceShort
            | FlagCode::InvoiceDuplicate
            | FlagCode::PaymentProofMissing
            | FlagCode::RelatedParty
            | FlagCode::ProviderNotApproved
            | FlagCode::ProviderAnnualCap => Severity::Blocking,
            FlagCode::QuickRedemption
            | FlagCode::SubsidyAtMaximum
            | FlagCode::ProviderDominatesEnterprise
            | FlagCode::ProviderDominatesProgramme
            | FlagCode::RedemptionBurst => Severity::Warning,
        }
    }

    /// A note can clear every blocking flag but the annual cap: the cap is
    /// a rule of the programme, not a judgement; the excess waits for next
    /// year's runs.
    pub fn resolvable(self) -> bool {
        self != FlagCode::ProviderAnnualCap
    }

    /// What the flag means, in Chinese then English.
    pub fn meaning(self) -> (&'static str, &'static str) {
        match self {
            FlagCode::InvoiceMissing => ("缺少发票", "no invoice recorded"),
            FlagCode::InvoiceShort => (
                "发票金额小于合同金额",
                "invoice amount below contract amount",
            ),
            FlagCode::InvoiceDuplicate => (
                "发票重复使用",
                "the same invoice is used by another redemption",
            ),
            FlagCode::PaymentProofMissing => (
                "缺少企业付款凭证",
                "no proof that the enterprise paid its share",
            ),
            FlagCode::RelatedParty => ("关联交易", "provider and enterprise are related parties"),
            FlagCode::ProviderNotApproved => (
                "服务机构已暂停或出库",
                "provider suspended or removed since",
            ),
            FlagCode::ProviderAnnualCap => (
                "超出服务机构年度兑付上限",
                "over the provider's annual settlement cap",
            ),
            FlagCode::QuickRedemption => (
                "领券后短时间内核销",
                "redeemed minutes after the voucher was issued",
            ),
            FlagCode::SubsidyAtMaximum => {
                ("补贴恰为券面全额", "subsidy exactly the whole face value")
            }
            FlagCode::ProviderDominatesEnterprise => (
                "企业的券大多由同一机构核销",
                "one provider takes most of this firm's vouchers",
            ),
            FlagCode::ProviderDominatesProgramme => (
                "项目的券大多由同一机构核销",
                "one provider takes most of the programme's vouchers",
            ),
            FlagCode::RedemptionBurst => {
                ("短时间内集中核销", "burst of redemptions by one provider")
            }
        }
    }
}

/// One finding on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub code: FlagCode,
    /// The numbers behind it, for the reviewer.
    pub detail: String,
}

/// Thresholds of the 套现 signals. Defaults, not law: a programme may
/// later carry its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyRules {
    /// A redemption this soon after issuance is suspicious.
    pub quick_minutes: i64,
    /// A provider with more than this share (percent) of a firm's
    /// redemptions dominates it, once the firm has `min_firm_redemptions`.
    pub dominance_percent: i64,
    pub min_firm_redemptions: i64,
    /// The same share of a programme, once it has `min_programme_redemptions`.
    pub min_programme_redemptions: i64,
    /// `burst_count` redemptions by one provider within `burst_minutes`.
    pub burst_count: usize,
    pub burst_minutes: i64,
}

impl AnomalyRules {
    /// The fewest redemptions a (provider, firm) pair needs before it can
    /// dominate any firm: with fewer, `pair × 100 > firm ×
    /// dominance_percent` fails for every firm with at least
    /// `min_firm_redemptions`, so such pairs may be left out of
    /// `Context::pair_counts`.
    pub fn dominating_pair_min(&self) -> i64 {
        self.min_firm_redemptions.max(0) * self.dominance_percent.max(0) / 100 + 1
    }
}

impl Default for AnomalyRules {
    fn default() -> Self {
        AnomalyRules {
            quick_minutes: 10,
            dominance_percent: 50,
            min_firm_redemptions: 3,
            min_programme_redemptions: 10,
            burst_count: 5,
            burst_minutes: 10,
        }
    }
}

/// An invoice as recorded on a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceFacts {
    pub code: String,
    pub number: String,
    pub amount_fen: i64,
}

/// A confirmed, unsettled redemption of the period, with what the checks
/// need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub redemption_id: Uuid,
    pub provider_id: Uuid,
    pub enterprise_id: Uuid,
    pub redeemed_sequence: u64,
    pub redeemed_at_us: i64,
    pub voucher_issued_at_us: i64,
    pub face_value_fen: i64,
    pub contract_amount_fen: i64,
    pub subsidy_fen: i64,
    pub invoice: Option<InvoiceFacts>,
    pub payment_proof: bool,
    /// The relation between provider and enterprise as the registry has
    /// it today, if any.
    pub related_party: Option<String>,
}

/// What the checks need beyond the candidates themselves.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Redemptions (not reversed) using each invoice (code, number), over
    /// every programme; only invoices used more than once need be here.
    pub invoice_uses: HashMap<(String, String), i64>,
    /// Each provider's status today.
    pub provider_status: HashMap<Uuid, ProviderStatus>,
    /// Each provider's annual cap, and what is already settled (or in a
    /// run) for it in the fiscal year.
    pub provider_cap_fen: HashMap<Uuid, i64>,
    pub provider_settled_fen: HashMap<Uuid, i64>,
    /// Redemptions (not reversed) of the programme per (provider,
    /// enterprise) — at least for the pairs with
    /// `AnomalyRules::dominating_pair_min` or more; a pair left out counts
    /// as none — per enterprise, per provider, and in all.
    pub pair_counts: HashMap<(Uuid, Uuid), i64>,
    pub firm_totals: HashMap<Uuid, i64>,
    pub provider_totals: HashMap<Uuid, i64>,
    pub programme_total: i64,
    pub rules: AnomalyRules,
}

pub use super::status::LineState;

/// The checks of a redemption's own documents that settlement applies
/// (all blocking): no invoice, an invoice below the contract, no proof
/// that the enterprise paid its share. The provider sees the same list
/// when it redeems and on its redemptions, before finance holds the line.
pub fn document_flags(
    contract_amount_fen: i64,
    invoice_amount_fen: Option<i64>,
    payment_proof: bool,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    match invoice_amount_fen {
        None => flags.push(Flag {
            code: FlagCode::InvoiceMissing,
            detail: String::new(),
        }),
        Some(amount) if amount < contract_amount_fen => flags.push(Flag {
            code: FlagCode::InvoiceShort,
            detail: format!("invoice {amount} < contract {contract_amount_fen} fen"),
        }),
        Some(_) => {}
    }
    if !payment_proof {
        flags.push(Flag {
            code: FlagCode::PaymentProofMissing,
            detail: String::new(),
        });
    }
    flags
}

/// A line of a run, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line_no: u32,
    pub redemption_id: Uuid,
    pub provider_id: Uuid,
    pub subsidy_fen: i64,
    pub flags: Vec<Flag>,
    pub state: LineState,
}

/// Checks every candidate and decides its line, numbering lines from
/// `first_line_no`. Lines are ordered by provider, then by redemption
/// sequence, whatever order the candidates came in, so the same inputs
/// always give the same run. A run is reconciled one provider at a time
/// (each call with that provider's candidates and the context so far):
/// bursts and the annual cap are per provider, so the lines are the same
/// as in one call over all of them.
pub fn reconcile(
    mut candidates: Vec<Candidate>,
    context: &Context,
    first_line_no: u32,
) -> Vec<Line> {
    candidates.sort_by_key(|c| (c.provider_id, c.redeemed_sequence));
    let bursts = bursts(&candidates, &context.rules);
    let (firm_totals, provider_totals, programme_total) = (
        &context.firm_totals,
        &context.provider_totals,
        context.programme_total,
    );
    let rules = &context.rules;
    let mut settled = context.provider_settled_fen.clone();
    let mut lines = Vec::with_capacity(candidates.len());
    for (index, c) in candidates.iter().enumerate() {
        // The documents' own checks, in the order lines have always listed
        // them: the invoice's, a duplicate invoice, then the payment proof.
        let (proof, mut flags): (Vec<Flag>, Vec<Flag>) = document_flags(
            c.contract_amount_fen,
            c.invoice.as_ref().map(|invoice| invoice.amount_fen),
            c.payment_proof,
        )
        .into_iter()
        .partition(|flag| flag.code == FlagCode::PaymentProofMissing);
        let mut flag = |code: FlagCode, detail: String| flags.push(Flag { code, detail });
        if let Some(invoice) = &c.invoice {
            let key = (invoice.code.clone(), invoice.number.clone());
            let uses = context.invoice_uses.get(&key).copied().unwrap_or(1);
            if uses > 1 {
                flag(
                    FlagCode::InvoiceDuplicate,
                    format!(
                        "invoice {}/{} used {uses} times",
                        invoice.code, invoice.number
                    ),
                );
            }
        }
        for missing in proof {
            flag(missing.code, missing.detail);
        }
        if let Some(relation) = &c.related_party {
            flag(FlagCode::RelatedParty, relation.clone());
        }
        match context.provider_status.get(&c.provider_id) {
            Some(ProviderStatus::Approved) => {}
            status => flag(
                FlagCode::ProviderNotApproved,
                status.map_or("unknown", |s| s.as_str()).to_string(),
            ),
        }
        if c.redeemed_at_us - c.voucher_issued_at_us < rules.quick_minutes * MINUTE_US {
            flag(
                FlagCode::QuickRedemption,
                format!(
                    "{} s after issuance",
                    (c.redeemed_at_us - c.voucher_issued_at_us) / 1_000_000
                ),
            );
        }
        if c.subsidy_fen == c.face_value_fen {
            flag(FlagCode::SubsidyAtMaximum, String::new());
        }
        let pair = context
            .pair_counts
            .get(&(c.provider_id, c.enterprise_id))
            .copied()
            .unwrap_or(0);
        let firm = firm_totals.get(&c.enterprise_id).copied().unwrap_or(0);
        if firm >= rules.min_firm_redemptions && pair * 100 > firm * rules.dominance_percent {
            flag(
                FlagCode::ProviderDominatesEnterprise,
                format!("{pair} of the firm's {firm} redemptions"),
            );
        }
        let by_provider = provider_totals.get(&c.provider_id).copied().unwrap_or(0);
        if programme_total >= rules.min_programme_redemptions
            && by_provider * 100 > programme_total * rules.dominance_percent
        {
            flag(
                FlagCode::ProviderDominatesProgramme,
                format!("{by_provider} of the programme's {programme_total} redemptions"),
            );
        }
        if bursts[index] {
            flag(
                FlagCode::RedemptionBurst,
                format!(
                    "≥ {} redemptions within {} minutes",
                    rules.burst_count, rules.burst_minutes
                ),
            );
        }
        // The cap counts only what would be paid: lines already blocked
        // for another reason do not use it up.
        let blocked = flags
            .iter()
            .any(|f| f.code.severity() == Severity::Blocking);
        if !blocked && let Some(&cap) = context.provider_cap_fen.get(&c.provider_id) {
            let so_far = settled.entry(c.provider_id).or_insert(0);
            if *so_far + c.subsidy_fen > cap {
                flags.push(Flag {
                    code: FlagCode::ProviderAnnualCap,
                    detail: format!("settled {} + {} > cap {} fen", so_far, c.subsidy_fen, cap),
                });
            } else {
                *so_far += c.subsidy_fen;
            }
        }
        let state = if flags
            .iter()
            .any(|f| f.code.severity() == Severity::Blocking)
        {
            LineState::Held
        } else {
            LineState::Included
        };
        lines.push(Line {
            line_no: first_line_no.saturating_add(u32::try_from(index).unwrap_or(u32::MAX)),
            redemption_id: c.redemption_id,
            provider_id: c.provider_id,
            subsidy_fen: c.subsidy_fen,
            flags,
            state,
        });
    }
    lines
}

/// Marks candidates that belong to a burst: `burst_count` redemptions of
/// one provider within `burst_minutes`. Expects candidates sorted by
/// provider then sequence (sequence order is time order).
fn bursts(candidates: &[Candidate], rules: &AnomalyRules) -> Vec<bool> {
    let mut marked = vec![false; candidates.len()];
    let window = rules.burst_minutes * MINUTE_US;
    let needed = rules.burst_count.max(1);
    let mut start = 0;
    while start < candidates.len() {
        let provider = candidates[start].provider_id;
        let end = start
            + candidates[start..]
                .iter()
                .take_while(|c| c.provider_id == provider)
                .count();
        let group = &candidates[start..end];
        let mut low = 0;
        for high in 0..group.len() {
            while group[high].redeemed_at_us - group[low].redeemed_at_us > window {
                low += 1;
            }
            if high + 1 - low >= needed {
                for flagged in &mut marked[start + low..=start + high] {
                    *flagged = true;
                }
            }
        }
        start = end;
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settlement_payout::{LinesDigest, PayoutAmounts, payout_reference};

    fn lines_digest(lines: &[Line]) -> [u8; 32] {
        let mut digest = LinesDigest::default();
        digest.update(lines);
        digest.finish()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_read_quarters_halves_years_and_ranges() {
        let cases = [
            ("2026Q1", "2026-01-01", "2026-03-31"),
            ("2026Q4", "2026-10-01", "2026-12-31"),
            ("2024H1", "2024-01-01", "2024-06-30"),
            ("2026H2", "2026-07-01", "2026-12-31"),
            ("2026", "2026-01-01", "2026-12-31"),
            ("2026-02-03..2026-02-03", "2026-02-03", "2026-02-03"),
        ];
        for (text, from, until) in cases {
            let period = Period::parse(text).unwrap();
            assert_eq!(
                (period.from(), period.until()),
                (date(from), date(until)),
                "{text}"
            );
        }
        for bad in [
            "",
            "2026Q5",
            "26Q1",
            "2026-03-01..2026-02-01",
            "2026-13-01..2026-12-31",
            "2025-12-01..2026-01-31",
        ] {
            assert_eq!(Period::parse(bad), Err(PeriodError), "{bad:?}");
        }
    }

    #[test]
    fn a_period_spans_whole_days_in_china_standard_time() {
        let period = Period::parse("2026Q3").unwrap();
        // 2026-07-01T00:00+08:00 = 2026-06-30T16:00Z.
        assert_eq!(period.start().as_micros(), 1_782_835_200_000_000);
        assert_eq!(
            period.end().as_micros() - period.start().as_micros(),
            92 * 86_400_000_000
        );
        assert_eq!(period.fiscal_year(), 2026);
    }

    #[test]
    fn the_run_id_depends_on_programme_and_period_only() {
        let q3 = Period::parse("2026Q3").unwrap();
        let same = Period::parse("2026-07-01..2026-09-30").unwrap();
        assert_eq!(run_id("ZS2026-01", &q3), run_id("ZS2026-01", &same));
        assert_ne!(run_id("ZS2026-01", &q3), run_id("ZS2026-02", &q3));
        assert_ne!(
            run_id("ZS2026-01", &q3),
            run_id("ZS2026-01", &Period::parse("2026Q4").unwrap())
        );
    }

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    /// A clean candidate: documents complete, redeemed a day after issue,
    /// half of a 1,000 元 voucher.
    fn candidate(n: u8, provider: u8, firm: u8) -> Candidate {
        Candidate {
            redemption_id: id(n),
            provider_id: id(provider),
            enterprise_id: id(firm),
            redeemed_sequence: u64::from(n),
            redeemed_at_us: 86_400_000_000 + i64::from(n) * 3_600_000_000,
            voucher_issued_at_us: 0,
            face_value_fen: 100_000,
            contract_amount_fen: 100_000,
            subsidy_fen: 50_000,
            invoice: Some(InvoiceFacts {
                code: "033001".into(),
                number: format!("{n:08}"),
                amount_fen: 100_000,
            }),
            payment_proof: true,
            related_party: None,
        }
    }

    fn context(providers: &[u8]) -> Context {
        Context {
            provider_status: providers
                .iter()
                .map(|&p| (id(p), ProviderStatus::Approved))
                .collect(),
            provider_cap_fen: providers.iter().map(|&p| (id(p), 10_000_000)).collect(),
            ..Context::default()
        }
    }

    fn codes(line: &Line) -> Vec<&'static str> {
        line.flags.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn a_clean_line_is_included_without_flags() {
        let lines = reconcile(vec![candidate(1, 10, 20)], &context(&[10]), 1);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].state, LineState::Included);
        assert!(lines[0].flags.is_empty(), "{:?}", lines[0].flags);
    }

    #[test]
    fn each_document_problem_holds_the_line_with_its_own_code() {
        let mut missing = candidate(1, 10, 20);
        missing.invoice = None;
        let mut short = candidate(2, 10, 21);
        short.invoice.as_mut().unwrap().amount_fen = 99_999;
        let mut duplicate = candidate(3, 10, 22);
        duplicate.invoice.as_mut().unwrap().number = "DUP".into();
        let mut no_proof = candidate(4, 10, 23);
        no_proof.payment_proof = false;
        let mut related = candidate(5, 10, 24);
        related.related_party = Some("同一法定代表人".into());
        let mut ctx = context(&[10]);
        ctx.invoice_uses.insert(("033001".into(), "DUP".into()), 2);
        let lines = reconcile(vec![missing, short, duplicate, no_proof, related], &ctx, 1);
        let expected = [
            "invoice_missing",
            "invoice_short",
            "invoice_duplicate",
            "payment_proof_missing",
            "related_party",
        ];
        for (line, code) in lines.iter().zip(expected) {
            assert_eq!(codes(line), vec![code]);
            assert_eq!(line.state, LineState::Held);
        }
    }

    #[test]
    fn a_provider_suspended_since_is_blocking() {
        let mut ctx = context(&[10]);
        ctx.provider_status
            .insert(id(10), ProviderStatus::Suspended);
        let lines = reconcile(vec![candidate(1, 10, 20)], &ctx, 1);
        assert_eq!(codes(&lines[0]), vec!["provider_not_approved"]);
        assert_eq!(lines[0].flags[0].detail, "suspended");
        assert_eq!(lines[0].state, LineState::Held);
    }

    #[test]
    fn the_annual_cap_holds_back_only_the_excess_lines() {
        let mut ctx = context(&[10]);
        ctx.provider_cap_fen.insert(id(10), 120_000);
        ctx.provider_settled_fen.insert(id(10), 10_000);
        let lines = reconcile(
            vec![
                candidate(1, 10, 20),
                candidate(2, 10, 21),
                candidate(3, 10, 22),
            ],
            &ctx,
            1,
        );
        let states: Vec<LineState> = lines.iter().map(|l| l.state).collect();
        assert_eq!(
            states,
            [LineState::Included, LineState::Included, LineState::Held]
        );
        assert_eq!(codes(&lines[2]), vec!["provider_annual_cap"]);
        assert!(!FlagCode::ProviderAnnualCap.resolvable());
    }

    #[test]
    fn cash_out_signals_warn_without_holding() {
        let mut quick = candidate(1, 10, 20);
        quick.redeemed_at_us = quick.voucher_issued_at_us + 5 * MINUTE_US;
        let mut whole = candidate(2, 10, 21);
        whole.subsidy_fen = whole.face_value_fen;
        whole.contract_amount_fen = 200_000;
        whole.invoice.as_mut().unwrap().amount_fen = 200_000;
        let lines = reconcile(vec![quick, whole], &context(&[10]), 1);
        assert_eq!(codes(&lines[0]), vec!["quick_redemption"]);
        assert_eq!(codes(&lines[1]), vec!["subsidy_at_maximum"]);
        assert!(lines.iter().all(|l| l.state == LineState::Included));
    }

    /// Leaving out the pairs below `dominating_pair_min` (as preparation
    /// does) gives the same lines as knowing every pair, whatever the
    /// rules: firms with 1 to 6 redemptions split over three providers.
    #[test]
    fn pairs_below_the_dominating_minimum_never_change_a_line() {
        for (percent, min_firm) in [(50, 3), (30, 4), (75, 3), (0, 1), (100, 2), (50, 0)] {
            let rules = AnomalyRules {
                dominance_percent: percent,
                min_firm_redemptions: min_firm,
                ..AnomalyRules::default()
            };
            let mut all = context(&[10, 11, 12]);
            all.rules = rules;
            let mut candidates = Vec::new();
            let mut n = 0;
            for firm in 20..26u8 {
                let redemptions = i64::from(firm - 19);
                all.firm_totals.insert(id(firm), redemptions);
                for k in 0..redemptions {
                    // Most of a firm's redemptions with provider 10.
                    let provider = if k < redemptions / 2 + 1 {
                        10
                    } else {
                        11 + (k % 2) as u8
                    };
                    *all.pair_counts.entry((id(provider), id(firm))).or_default() += 1;
                    n += 1;
                    candidates.push(candidate(n, provider, firm));
                }
            }
            let mut pruned = all.clone();
            let floor = rules.dominating_pair_min();
            pruned.pair_counts.retain(|_, count| *count >= floor);
            let flags = |ctx: &Context| -> Vec<Vec<&'static str>> {
                reconcile(candidates.clone(), ctx, 1)
                    .iter()
                    .map(codes)
                    .collect()
            };
            assert_eq!(
                flags(&all),
                flags(&pruned),
                "{percent} % of at least {min_firm}"
            );
        }
    }

    #[test]
    fn dominance_is_measured_per_firm_and_per_programme() {
        let mut ctx = context(&[10, 11]);
        // Firm 20: 3 of 4 redemptions with provider 10; programme: 3 of 12.
        ctx.pair_counts.insert((id(10), id(20)), 3);
        ctx.pair_counts.insert((id(11), id(20)), 1);
        ctx.pair_counts.insert((id(11), id(21)), 8);
        ctx.firm_totals = HashMap::from([(id(20), 4), (id(21), 8)]);
        ctx.provider_totals = HashMap::from([(id(10), 3), (id(11), 9)]);
        ctx.programme_total = 12;
        let lines = reconcile(vec![candidate(1, 10, 20), candidate(2, 11, 21)], &ctx, 1);
        assert_eq!(codes(&lines[0]), vec!["provider_dominates_enterprise"]);
        // Provider 11 has 9 of 12 of the programme; firm 21 has only it.
        assert_eq!(
            codes(&lines[1]),
            vec![
                "provider_dominates_enterprise",
                "provider_dominates_programme"
            ]
        );
    }

    #[test]
    fn a_burst_flags_every_redemption_inside_the_window() {
        let mut candidates: Vec<Candidate> = (1..=6).map(|n| candidate(n, 10, n + 30)).collect();
        for (i, c) in candidates.iter_mut().enumerate() {
            // Five within 8 minutes, the sixth an hour later.
            c.redeemed_at_us = 86_400_000_000 + i as i64 * 2 * MINUTE_US;
        }
        candidates[5].redeemed_at_us += 3_600_000_000;
        let lines = reconcile(candidates, &context(&[10]), 1);
        let burst: Vec<bool> = lines
            .iter()
            .map(|l| codes(l).contains(&"redemption_burst"))
            .collect();
        assert_eq!(burst, [true, true, true, true, true, false]);
    }

    #[test]
    fn the_same_candidates_in_any_order_give_the_same_lines_and_digest() {
        let forward: Vec<Candidate> = (1..=5).map(|n| candidate(n, 10 + n % 2, 20)).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let ctx = context(&[10, 11]);
        let (a, b) = (reconcile(forward, &ctx, 1), reconcile(backward, &ctx, 1));
        assert_eq!(a, b);
        assert_eq!(lines_digest(&a), lines_digest(&b));
        let mut changed = a.clone();
        changed[0].subsidy_fen += 1;
        assert_ne!(lines_digest(&a), lines_digest(&changed));
        // One provider at a time, numbering on: the same lines and digest.
        let all: Vec<Candidate> = (1..=5).map(|n| candidate(n, 10 + n % 2, 20)).collect();
        let (ten, eleven): (Vec<Candidate>, Vec<Candidate>) =
            all.into_iter().partition(|c| c.provider_id == id(10));
        let first = reconcile(ten, &ctx, 1);
        let second = reconcile(eleven, &ctx, 1 + first.len() as u32);
        let mut digest = LinesDigest::default();
        digest.update(&first);
        digest.update(&second);
        assert_eq!([first, second].concat(), a);
        assert_eq!(digest.finish(), lines_digest(&a));
    }

    #[test]
    fn offsets_never_exceed_the_payment() {
        assert_eq!(PayoutAmounts::new(10_000, 0).net_fen(), 10_000);
        assert_eq!(PayoutAmounts::new(10_000, 3_000).net_fen(), 7_000);
        let all = PayoutAmounts::new(10_000, 50_000);
        assert_eq!((all.offset_fen, all.net_fen()), (10_000, 0));
        assert_eq!(PayoutAmounts::new(10_000, -5).offset_fen, 0);
    }

    #[test]
    fn payout_references_are_stable_and_bank_safe() {
        let reference = payout_reference(id(1), id(2));
        assert_eq!(reference, payout_reference(id(1), id(2)));
        assert_eq!(reference.len(), 26);
        // Two providers registered in the same millisecond differ.
        let a = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let b = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);
        assert_ne!(payout_reference(id(1), a), payout_reference(id(1), b));
        assert!(
            reference
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
}

//! Programme terms: everything a voucher scheme promises, validated.
//!
//! Terms are a value: created in draft, frozen when the programme opens,
//! changed afterwards only by an amendment recorded in the ledger. Every
//! number is a parameter with a sensible default from published measures
//! (docs/domain.md), never a constant in code.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::eligibility::EligibilityRules;
pub use super::offline::OfflineTerms;
use super::status::status_enum;
use super::{DivisionCode, Fen, SizeClass, Timestamp};

status_enum! {
    /// Lifecycle of a programme.
    pub enum ProgrammeStatus {
        Draft = "draft",
        Open = "open",
        Closed = "closed",
    }
}

/// The service categories published measures name (domain.md); a
/// programme may list others, these are the ones forms offer.
pub const SERVICE_CATEGORIES: [&str; 10] = [
    "管理咨询",
    "检验检测",
    "人才培训",
    "信息化",
    "法律",
    "知识产权",
    "融资服务",
    "市场拓展",
    "技术创新",
    "创业辅导",
];

/// How a subsidy is rounded down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Down to the fen.
    Fen,
    /// Down to whole 元.
    Yuan,
}

/// When an issued voucher may be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Validity {
    /// Between two dates (UTC+8, inclusive).
    Fixed { from: NaiveDate, until: NaiveDate },
    /// For this many days after issue, and never past the programme's end.
    DaysAfterIssue { days: u32 },
}

/// How the voucher is shown to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QrMode {
    /// A short-lived presentation signed by the server (phones).
    Rotating,
    /// The printed voucher's own token (firms without smartphones).
    Static,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettlementPeriod {
    Quarter,
    HalfYear,
    Custom,
}

/// The terms of a programme, as the admin sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeTerms {
    pub name: String,
    pub fiscal_year: i32,
    /// The planned budget; money arrives through funding entries.
    pub budget_fen: i64,
    /// Face values an enterprise may claim, e.g. [100000, 500000].
    pub face_values_fen: Vec<i64>,
    /// Subsidy share of a contract, in basis points (5000 = 50 %).
    pub subsidy_ratio_bp: u32,
    pub rounding: Rounding,
    /// Divisible vouchers keep a balance across contracts.
    pub divisible: bool,
    pub validity: Validity,
    /// The last day (UTC+8) vouchers may be used.
    pub ends_on: NaiveDate,
    /// GB/T 2260 codes (a county, or a prefecture or province containing it).
    pub divisions: Vec<String>,
    /// Functional zones; empty: any.
    pub zones: Vec<String>,
    pub size_classes: Vec<SizeClass>,
    pub required_tags: Vec<String>,
    pub excluded_tags: Vec<String>,
    /// e.g. 管理咨询, 检验检测, 人才培训, 信息化, 法律, 知识产权, 融资服务.
    pub service_categories: Vec<String>,
    /// Most face value one enterprise may claim per fiscal year.
    pub annual_cap_fen: i64,
    pub annual_voucher_count: u32,
    /// RFC 3339 instants, e.g. 2026-03-01T09:00:00+08:00.
    pub claim_opens_at: String,
    pub claim_closes_at: String,
    /// Redemptions confirm themselves after this many days (0: never).
    pub auto_confirm_days: u32,
    /// How long a provider's preview of a fresh presentation holds the
    /// voucher for it (1–60 minutes; terms written before holds: 10).
    #[serde(default = "default_hold_minutes")]
    pub hold_minutes: u32,
    pub qr_mode: QrMode,
    pub settlement_period: SettlementPeriod,
    /// What providers' devices may accept offline (docs/redemption-lifecycle.md
    /// "Offline"); absent: off.
    #[serde(default, skip_serializing_if = "OfflineTerms::is_off")]
    pub offline: OfflineTerms,
}

/// The hold window of terms that do not name one.
pub const HOLD_MINUTES_DEFAULT: u32 = 10;

fn default_hold_minutes() -> u32 {
    HOLD_MINUTES_DEFAULT
}

/// One problem with the terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsError {
    pub field: &'static str,
    pub message: String,
    pub message_zh: String,
}

/// Bounds that keep terms (and everything derived from them) small.
const LIST_LEN_MAX: usize = 50;
const TEXT_CHARS_MAX: usize = 100;

fn instant(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| Timestamp::from_micros(t.timestamp_micros()))
}

impl ProgrammeTerms {
    /// Checks every term; returns every problem.
    pub fn validate(&self) -> Result<(), Vec<TermsError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &'static str, message: &str, message_zh: &str| {
            errors.push(TermsError {
                field,
                message: message.to_string(),
                message_zh: message_zh.to_string(),
            })
        };
        let name_chars = self.name.trim().chars().count();
        if name_chars == 0 || name_chars > 200 {
            fail(
                "name",
                "The name is required, at most 200 characters.",
                "项目名称必填，最多 200 个字符。",
            );
        }
        if !(2000..=2100).contains(&self.fiscal_year) {
            fail(
                "fiscal_year",
                "The fiscal year is between 2000 and 2100.",
                "财政年度须在 2000 至 2100 之间。",
            );
        }
        if self.budget_fen <= 0 {
            fail(
                "budget_fen",
                "The budget must be positive.",
                "预算须大于零。",
            );
        }
        if self.face_values_fen.is_empty()
            || self.face_values_fen.len() > 10
            || self
                .face_values_fen
                .iter()
                .any(|v| *v <= 0 || *v > self.budget_fen.max(0))
        {
            fail(
                "face_values_fen",
                "Give 1 to 10 face values, each positive and within the budget.",
                "须设置 1 至 10 个面额，每个大于零且不超过预算。",
            );
        }
        if !(1..=10_000).contains(&self.subsidy_ratio_bp) {
            fail(
                "subsidy_ratio_bp",
                "The subsidy ratio is 1 to 10000 basis points.",
                "补贴比例须为 1 至 10000 个基点。",
            );
        }
        match &self.validity {
            Validity::Fixed { from, until } if from > until || *until > self.ends_on => fail(
                "validity",
                "A fixed validity runs forwards and ends by the programme's end.",
                "固定有效期的起始日须早于截止日，且不晚于项目结束日。",
            ),
            Validity::DaysAfterIssue { days } if !(1..=3660).contains(days) => fail(
                "validity",
                "Validity after issue is 1 to 3660 days.",
                "发放后有效天数须为 1 至 3660。",
            ),
            _ => {}
        }
        if self.divisions.is_empty()
            || self
                .divisions
                .iter()
                .any(|d| DivisionCode::parse(d).is_err())
        {
            fail(
                "divisions",
                "Give at least one valid GB/T 2260 division code.",
                "须至少设置一个有效的行政区划代码。",
            );
        }
        if self.size_classes.is_empty() {
            fail(
                "size_classes",
                "Allow at least one size class.",
                "须至少允许一种企业规模。",
            );
        }
        if self.service_categories.is_empty() {
            fail(
                "service_categories",
                "Give at least one service category.",
                "须至少设置一个服务类别。",
            );
        }
        let lists = [
            &self.divisions,
            &self.zones,
            &self.required_tags,
            &self.excluded_tags,
            &self.service_categories,
        ];
        if lists.iter().any(|list| {
            list.len() > LIST_LEN_MAX
                || list
                    .iter()
                    .any(|item| item.trim().is_empty() || item.chars().count() > TEXT_CHARS_MAX)
        }) {
            fail(
                "lists",
                "Lists hold at most 50 non-empty items of at most 100 characters.",
                "列表最多 50 项，每项非空且不超过 100 个字符。",
            );
        }
        if self.annual_cap_fen <= 0 || self.annual_voucher_count == 0 {
            fail(
                "annual_cap_fen",
                "The annual cap and voucher count per enterprise must be positive.",
                "每家企业的年度上限和张数须大于零。",
            );
        }
        match (
            instant(&self.claim_opens_at),
            instant(&self.claim_closes_at),
        ) {
            (Some(opens), Some(closes)) if opens < closes => {}
            (Some(_), Some(_)) => fail(
                "claim_window",
                "Claims must open before they close.",
                "申领开始时间须早于截止时间。",
            ),
            _ => fail(
                "claim_window",
                "Claim times are RFC 3339 instants, e.g. 2026-03-01T09:00:00+08:00.",
                "申领时间须为 RFC 3339 格式，例如 2026-03-01T09:00:00+08:00。",
            ),
        }
        if !(1..=60).contains(&self.hold_minutes) {
            fail(
                "hold_minutes",
                "A hold lasts 1 to 60 minutes.",
                "核销保留时间须为 1 至 60 分钟。",
            );
        }
        for (message, message_zh) in self.offline.problems() {
            fail("offline", message, message_zh);
        }
        if self.auto_confirm_days > 365 {
            fail(
                "auto_confirm_days",
                "Auto-confirmation is 0 to 365 days.",
                "自动确认天数须为 0 至 365。",
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The part of the terms the eligibility engine needs. Only call on
    /// validated terms (unparseable values fall back to refusing).
    pub fn eligibility_rules(&self, status: ProgrammeStatus) -> EligibilityRules {
        EligibilityRules {
            open: status == ProgrammeStatus::Open,
            claim_opens_at: instant(&self.claim_opens_at)
                .unwrap_or(Timestamp::from_micros(i64::MAX)),
            claim_closes_at: instant(&self.claim_closes_at)
                .unwrap_or(Timestamp::from_micros(i64::MIN)),
            divisions: self
                .divisions
                .iter()
                .filter_map(|d| DivisionCode::parse(d).ok())
                .collect(),
            zones: self.zones.clone(),
            size_classes: self.size_classes.clone(),
            required_tags: self.required_tags.clone(),
            excluded_tags: self.excluded_tags.clone(),
            annual_cap: Fen::new(self.annual_cap_fen),
            annual_voucher_count: self.annual_voucher_count,
        }
    }

    /// The first and last day (UTC+8, inclusive) a voucher issued on
    /// `issued_on` may be used, or `None` if that window is already empty
    /// (the programme's use period has passed).
    pub fn voucher_validity(&self, issued_on: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let (from, until) = match self.validity {
            Validity::Fixed { from, until } => (from, until.min(self.ends_on)),
            Validity::DaysAfterIssue { days } => {
                let last =
                    issued_on.checked_add_days(chrono::Days::new(u64::from(days.max(1)) - 1))?;
                (issued_on, last.min(self.ends_on))
            }
        };
        (from <= until && issued_on <= until).then_some((from, until))
    }

    /// The face value a request means: the one asked for, or the
    /// programme's only one; `Err` with the offered values (as money) when
    /// it asks for none and there are several. Whether an asked value is
    /// offered is the writer's check (`offers`), against the current terms.
    pub fn chosen_face_value(&self, asked: Option<Fen>) -> Result<Fen, String> {
        match (asked, self.face_values_fen.as_slice()) {
            (Some(fen), _) => Ok(fen),
            (None, [only]) => Ok(Fen::new(*only)),
            (None, offered) => Err(offered
                .iter()
                .map(|fen| Fen::new(*fen).to_string())
                .collect::<Vec<_>>()
                .join(", ")),
        }
    }

    /// Whether `face_value` is one the programme offers.
    pub fn offers(&self, face_value: Fen) -> bool {
        self.face_values_fen.contains(&face_value.as_fen())
    }

    /// Canonical JSON of the terms (field order as declared), as stored and
    /// recorded in the ledger.
    pub fn to_canonical_json(&self) -> String {
        serde_json::to_string(self).expect("terms always serialise")
    }
}

/// Valid terms for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) use tests::sample as sample_terms;

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/api.md's complete example is what the API takes.
    #[test]
    fn the_documented_terms_example_is_valid() {
        let docs = include_str!("../../docs/api.md");
        let section = docs
            .split("### A complete `ProgrammeTerms`")
            .nth(1)
            .expect("the example's section");
        let json = section
            .split("```json")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the example's JSON");
        let terms: ProgrammeTerms = serde_json::from_str(json).expect("the example parses");
        assert_eq!(terms.validate().map_err(|e| e.len()), Ok(()));
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn voucher_validity_follows_the_terms_and_never_passes_the_end() {
        let mut terms = sample();
        terms.ends_on = day("2026-12-31");
        terms.validity = Validity::DaysAfterIssue { days: 180 };
        assert_eq!(
            terms.voucher_validity(day("2026-03-01")),
            Some((day("2026-03-01"), day("2026-08-27")))
        );
        // Clipped at the programme's end; empty once it has passed.
        assert_eq!(
            terms.voucher_validity(day("2026-12-01")),
            Some((day("2026-12-01"), day("2026-12-31")))
        );
        assert_eq!(terms.voucher_validity(day("2027-01-01")), None);
        terms.validity = Validity::Fixed {
            from: day("2026-04-01"),
            until: day("2026-09-30"),
        };
        assert_eq!(
            terms.voucher_validity(day("2026-03-15")),
            Some((day("2026-04-01"), day("2026-09-30")))
        );
        assert_eq!(terms.voucher_validity(day("2026-10-01")), None);
    }

    #[test]
    fn a_face_value_is_the_one_asked_or_the_only_one_offered() {
        let mut terms = sample();
        assert_eq!(terms.chosen_face_value(Some(Fen::new(7))), Ok(Fen::new(7)));
        assert_eq!(
            terms.chosen_face_value(None),
            Err("¥1,000.00, ¥5,000.00".to_string())
        );
        terms.face_values_fen = vec![100_000];
        assert_eq!(terms.chosen_face_value(None), Ok(Fen::new(100_000)));
    }

    pub fn sample() -> ProgrammeTerms {
        ProgrammeTerms {
            name: "2026 年舟山市中小微企业服务券（第一批）".into(),
            fiscal_year: 2026,
            budget_fen: 300_000_000,
            face_values_fen: vec![100_000, 500_000],
            subsidy_ratio_bp: 5_000,
            rounding: Rounding::Fen,
            divisible: true,
            validity: Validity::DaysAfterIssue { days: 180 },
            ends_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            divisions: vec!["330900".into()],
            zones: vec![],
            size_classes: vec![SizeClass::Small, SizeClass::Micro],
            required_tags: vec![],
            excluded_tags: vec!["低散乱危".into()],
            service_categories: vec!["管理咨询".into(), "检验检测".into()],
            annual_cap_fen: 1_000_000,
            annual_voucher_count: 3,
            claim_opens_at: "2026-03-01T09:00:00+08:00".into(),
            claim_closes_at: "2026-11-30T17:00:00+08:00".into(),
            auto_confirm_days: 15,
            hold_minutes: HOLD_MINUTES_DEFAULT,
            qr_mode: QrMode::Rotating,
            settlement_period: SettlementPeriod::Quarter,
            offline: OfflineTerms::default(),
        }
    }

    #[test]
    fn sample_terms_are_valid_and_round_trip_as_json() {
        let terms = sample();
        assert_eq!(terms.validate(), Ok(()));
        let json = terms.to_canonical_json();
        assert_eq!(
            serde_json::from_str::<ProgrammeTerms>(&json).unwrap(),
            terms
        );
        let rules = terms.eligibility_rules(ProgrammeStatus::Open);
        assert!(rules.open);
        assert_eq!(rules.annual_cap, Fen::new(1_000_000));
    }

    #[test]
    fn every_bad_term_is_reported() {
        let mut terms = sample();
        terms.budget_fen = 0;
        terms.subsidy_ratio_bp = 0;
        terms.divisions = vec!["99".into()];
        terms.claim_closes_at = "2026-01-01T00:00:00+08:00".into();
        terms.validity = Validity::Fixed {
            from: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            until: NaiveDate::from_ymd_opt(2027, 5, 1).unwrap(),
        };
        let fields: Vec<_> = terms
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "budget_fen",
                "face_values_fen",
                "subsidy_ratio_bp",
                "validity",
                "divisions",
                "claim_window"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json: serde_json::Value = serde_json::to_value(sample()).unwrap();
        json["status"] = serde_json::json!("open");
        assert!(serde_json::from_value::<ProgrammeTerms>(json).is_err());
    }
}

//! An enterprise as entered by an admin or a spreadsheet row, validated.
//!
//! Validation returns every problem at once, each with the field it concerns
//! and a stable code, so that an import can report row, column and reason
//! for a whole file in one pass. The size class is derived here from the
//! sector, staff and revenue, by the standard in force on the given date.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{DivisionCode, Fen, Sector, SizeClass, SizeStandard, Uscc};

/// Longest enterprise name, in characters.
pub const NAME_CHARS_MAX: usize = 200;
/// Longest zone name or contact, in characters.
pub const SHORT_TEXT_CHARS_MAX: usize = 100;
/// Largest plausible staff count (bounds the input, not the economy).
pub const STAFF_MAX: u32 = 10_000_000;

/// The fields as text, straight from a form or a spreadsheet row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseFields {
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub zone: String,
    pub sector: String,
    pub staff: String,
    /// Operating revenue in 元 (e.g. `1,234,000.00` or `¥1234000`).
    pub revenue_yuan: String,
    pub contact: String,
    /// 法定代表人 (optional).
    pub legal_representative: String,
}

/// How the USCC was admitted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum UsccAdmission {
    Checked(Uscc),
    /// A legacy pilot code that fails the national check, admitted by an
    /// admin with a reason (recorded in the ledger entry).
    Override {
        code: String,
        reason: String,
    },
}

impl UsccAdmission {
    pub fn code(&self) -> &str {
        match self {
            UsccAdmission::Checked(uscc) => uscc.as_str(),
            UsccAdmission::Override { code, .. } => code,
        }
    }

    pub fn override_reason(&self) -> Option<&str> {
        match self {
            UsccAdmission::Checked(_) => None,
            UsccAdmission::Override { reason, .. } => Some(reason),
        }
    }
}

/// A valid enterprise.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnterpriseInput {
    pub uscc: UsccAdmission,
    pub name: String,
    pub division: DivisionCode,
    pub zone: Option<String>,
    pub sector: Sector,
    pub staff: u32,
    pub revenue: Fen,
    /// Personal data (docs/personal-data.md): sealed before it reaches an
    /// entry, and left out of the command digest (which the chain hashes),
    /// so not even its hash enters the ledger.
    #[serde(skip_serializing)]
    pub contact: Option<String>,
    pub legal_representative: Option<String>,
    pub size_class: SizeClass,
    pub size_standard: &'static str,
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
}

fn error(
    field: &'static str,
    code: &'static str,
    message: String,
    message_zh: String,
) -> FieldError {
    FieldError {
        field,
        code,
        message,
        message_zh,
    }
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl EnterpriseFields {
    /// Validates every field. `legacy_reason`, when given, admits a USCC
    /// that fails the national check (it must still be 18 characters of
    /// the USCC alphabet); `today` (UTC+8) picks the size standard;
    /// `zones` maps each defined functional zone to its parent division (a
    /// zone must be one of them and contain the enterprise's division).
    pub fn validate(
        &self,
        legacy_reason: Option<&str>,
        today: NaiveDate,
        zones: &BTreeMap<String, DivisionCode>,
    ) -> Result<EnterpriseInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let uscc = match (
            Uscc::parse_lenient(&self.uscc),
            legacy_reason.map(str::trim),
        ) {
            (Ok(uscc), _) => Some(UsccAdmission::Checked(uscc)),
            (Err(_), Some(reason)) if !reason.is_empty() && legacy_shape(&self.uscc) => {
                Some(UsccAdmission::Override {
                    code: self.uscc.trim().to_ascii_uppercase(),
                    reason: reason.to_string(),
                })
            }
            (Err(problem), _) => {
                errors.push(error(
                    "uscc",
                    problem.code(),
                    format!("USCC {:?}: {problem}", self.uscc.trim()),
                    format!(
                        "统一社会信用代码「{}」无效：{}",
                        self.uscc.trim(),
                        problem_zh(problem.code())
                    ),
                ));
                None
            }
        };
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
            errors.push(error(
                "name",
                "name_invalid",
                format!("The name is required, at most {NAME_CHARS_MAX} characters."),
                format!("企业名称必填，最多 {NAME_CHARS_MAX} 个字符。"),
            ));
        }
        let division = DivisionCode::parse(self.division.trim())
            .map_err(|problem| {
                errors.push(error(
                    "division",
                    "division_invalid",
                    format!("Division {:?}: {problem}.", self.division.trim()),
                    format!("行政区划代码「{}」无效。", self.division.trim()),
                ))
            })
            .ok();
        let sector = Sector::parse(&self.sector);
        if sector.is_none() {
            errors.push(error(
                "sector",
                "sector_invalid",
                format!(
                    "Sector {:?} is not one of industry, software_it, wholesale, retail, transport, warehousing, other.",
                    self.sector.trim()
                ),
                format!("行业「{}」不在标准行业列表中。", self.sector.trim()),
            ));
        }
        let staff = self
            .staff
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|staff| *staff <= STAFF_MAX);
        if staff.is_none() {
            errors.push(error(
                "staff",
                "staff_invalid",
                format!(
                    "Staff {:?} must be a whole number from 0 to {STAFF_MAX}.",
                    self.staff.trim()
                ),
                format!(
                    "从业人员「{}」须为 0 至 {STAFF_MAX} 的整数。",
                    self.staff.trim()
                ),
            ));
        }
        let revenue = match Fen::parse_yuan(&self.revenue_yuan) {
            Ok(revenue) if revenue.as_fen() >= 0 => Some(revenue),
            Ok(_) => {
                errors.push(error(
                    "revenue",
                    "revenue_invalid",
                    "Revenue cannot be negative.".into(),
                    "营业收入不能为负数。".into(),
                ));
                None
            }
            Err(problem) => {
                errors.push(error(
                    "revenue",
                    "revenue_invalid",
                    format!("Revenue {:?} (元): {problem}.", self.revenue_yuan.trim()),
                    format!("营业收入「{}」（元）格式无效。", self.revenue_yuan.trim()),
                ));
                None
            }
        };
        let zone = optional(&self.zone);
        if let Some(name) = &zone {
            match zones.get(name) {
                None => errors.push(error(
                    "zone",
                    "zone_unknown",
                    format!("Zone {name:?} is not a defined functional zone."),
                    format!("功能区「{name}」尚未定义。"),
                )),
                Some(parent) if division.as_ref().is_some_and(|d| !d.is_within(parent)) => errors
                    .push(error(
                        "zone",
                        "zone_outside_division",
                        format!(
                            "Zone {name:?} lies in {parent}, not in the enterprise's division."
                        ),
                        format!("功能区「{name}」属于 {parent}，与企业所在行政区划不符。"),
                    )),
                Some(_) => {}
            }
        }
        let contact = optional(&self.contact);
        let legal_representative = optional(&self.legal_representative);
        for (field, value) in [
            ("zone", &zone),
            ("contact", &contact),
            ("legal_representative", &legal_representative),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.chars().count() > SHORT_TEXT_CHARS_MAX)
            {
                errors.push(error(
                    field,
                    "text_too_long",
                    format!("{field} is at most {SHORT_TEXT_CHARS_MAX} characters."),
                    format!("{field} 最多 {SHORT_TEXT_CHARS_MAX} 个字符。"),
                ));
            }
        }
        let standard = SizeStandard::in_force_on(today);
        if standard.is_none() {
            errors.push(error(
                "revenue",
                "no_size_standard",
                "No firm size standard was in force on that date.".into(),
                "该日期没有适用的企业规模划型标准。".into(),
            ));
        }
        match (uscc, division, sector, staff, revenue, standard) {
            (
                Some(uscc),
                Some(division),
                Some(sector),
                Some(staff),
                Some(revenue),
                Some(standard),
            ) if errors.is_empty() => Ok(EnterpriseInput {
                uscc,
                name: name.to_string(),
                division,
                zone,
                sector,
                staff,
                revenue,
                contact,
                legal_representative,
                size_class: standard.classify(sector, staff, revenue),
                size_standard: standard.id,
            }),
            _ => Err(errors),
        }
    }
}

/// 18 characters of the USCC alphabet: the least a legacy code must be.
fn legacy_shape(text: &str) -> bool {
    let text = text.trim().to_ascii_uppercase();
    text.len() == 18
        && text
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKLMNPQRTUWXY".contains(&b))
}

fn problem_zh(code: &str) -> &'static str {
    match code {
        "uscc_wrong_length" => "长度应为 18 位",
        "uscc_invalid_character" => "含有不允许的字符",
        "uscc_region_not_digits" => "第 3–8 位须为行政区划数字",
        "uscc_organisation_check_failed" => "组织机构代码校验位错误",
        _ => "校验码错误",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn zones() -> BTreeMap<String, DivisionCode> {
        [("新城".to_string(), DivisionCode::parse("330902").unwrap())].into()
    }

    fn good() -> EnterpriseFields {
        EnterpriseFields {
            uscc: "91350100M000100Y43".into(),
            name: "舟山海洋科技有限公司".into(),
            division: "330902".into(),
            zone: "新城".into(),
            sector: "工业".into(),
            staff: "45".into(),
            revenue_yuan: "5,000,000.00".into(),
            contact: "王经理 0580-1234567".into(),
            legal_representative: "王建国".into(),
        }
    }

    #[test]
    fn a_valid_row_derives_its_size_class() {
        let input = good().validate(None, today(), &zones()).unwrap();
        // Industry, 45 staff, 500 万元: small (≥ 20 and ≥ 300 万, below 300 staff).
        assert_eq!(input.size_class, SizeClass::Small);
        assert_eq!(input.revenue, Fen::new(500_000_000));
        assert_eq!(input.zone.as_deref(), Some("新城"));
        assert_eq!(input.uscc.override_reason(), None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let fields = EnterpriseFields {
            uscc: "91350100M000100Y44".into(),
            name: " ".into(),
            division: "990902".into(),
            zone: String::new(),
            sector: "农业".into(),
            staff: "-3".into(),
            revenue_yuan: "12.345".into(),
            contact: String::new(),
            legal_representative: String::new(),
        };
        let errors = fields.validate(None, today(), &zones()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            fields,
            [
                ("uscc", "uscc_check_failed"),
                ("name", "name_invalid"),
                ("division", "division_invalid"),
                ("sector", "sector_invalid"),
                ("staff", "staff_invalid"),
                ("revenue", "revenue_invalid"),
            ]
        );
        assert!(errors.iter().all(|e| !e.message_zh.is_empty()));
    }

    #[test]
    fn a_zone_must_be_defined_and_contain_the_division() {
        let mut fields = good();
        fields.zone = "自贸区".into();
        let errors = fields.validate(None, today(), &zones()).unwrap_err();
        assert_eq!(errors[0].code, "zone_unknown");
        fields.zone = "新城".into();
        fields.division = "330921".into();
        let errors = fields.validate(None, today(), &zones()).unwrap_err();
        assert_eq!(errors[0].code, "zone_outside_division");
        fields.zone = String::new();
        assert!(
            fields.validate(None, today(), &zones()).is_ok(),
            "no zone is fine"
        );
    }

    #[test]
    fn a_legacy_code_needs_a_reason_and_the_uscc_shape() {
        let mut fields = good();
        fields.uscc = "91350100M000100Y44".into();
        assert!(fields.validate(None, today(), &zones()).is_err());
        assert!(fields.validate(Some("  "), today(), &zones()).is_err());
        let admitted = fields
            .validate(Some("2015 年试点期间发放的代码"), today(), &zones())
            .unwrap();
        assert_eq!(admitted.uscc.code(), "91350100M000100Y44");
        assert_eq!(
            admitted.uscc.override_reason(),
            Some("2015 年试点期间发放的代码")
        );
        fields.uscc = "9135010".into();
        assert!(
            fields.validate(Some("reason"), today(), &zones()).is_err(),
            "too short even for a legacy code"
        );
    }
}

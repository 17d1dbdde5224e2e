//! Eligibility: may this enterprise claim from this programme, and if not,
//! every reason why.
//!
//! A refused firm must be told all the rules it fails at once (not one per
//! attempt), in Chinese and English, with stable codes a portal can act on;
//! the rules it passes are returned too, so a page can show the whole
//! checklist. Pure: the caller gathers the facts, including the amounts
//! already claimed this year.

use std::collections::BTreeSet;

use super::{DivisionCode, Fen, SizeClass, Timestamp};

/// What a programme requires of a claimant (part of its terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityRules {
    /// Whether the programme is open (its lifecycle state).
    pub open: bool,
    /// Claims are accepted from this instant (flash crowds start here)…
    pub claim_opens_at: Timestamp,
    /// …until this instant (exclusive).
    pub claim_closes_at: Timestamp,
    /// Divisions a claimant must be registered in (a county code, or a
    /// prefecture or province containing it).
    pub divisions: Vec<DivisionCode>,
    /// Functional zones, if the programme is limited to some; empty: any.
    pub zones: Vec<String>,
    pub size_classes: Vec<SizeClass>,
    pub required_tags: Vec<String>,
    pub excluded_tags: Vec<String>,
    /// Most face value one enterprise may claim in a fiscal year.
    pub annual_cap: Fen,
    /// Most vouchers one enterprise may claim in a fiscal year.
    pub annual_voucher_count: u32,
}

/// What is known about a claimant at the moment of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseFacts {
    pub division: DivisionCode,
    pub zone: Option<String>,
    pub size_class: SizeClass,
    /// Tags in force now (e.g. 专精特新培育库).
    pub tags: BTreeSet<String>,
    /// Blacklist entries in force now: (reason, source).
    pub blacklist: Vec<(String, String)>,
    /// Face value already claimed from this programme this fiscal year.
    pub claimed_this_year: Fen,
    pub vouchers_this_year: u32,
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Stable code; for a failure, the error code a claim would get.
    pub code: &'static str,
    pub passed: bool,
    pub message: String,
    pub message_zh: String,
}

/// The whole checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn eligible(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.passed)
    }
}

fn check(code: &'static str, passed: bool, message: String, message_zh: String) -> Check {
    Check {
        code,
        passed,
        message,
        message_zh,
    }
}

/// Evaluates every rule for a claim of `face_value` at instant `now`.
pub fn evaluate(
    rules: &EligibilityRules,
    facts: &EnterpriseFacts,
    face_value: Fen,
    now: Timestamp,
) -> Report {
    let mut checks = Vec::new();
    checks.push(if rules.open {
        check(
            "programme_open",
            true,
            "The programme is open.".into(),
            "该项目已开放。".into(),
        )
    } else {
        check(
            "programme_not_open",
            false,
            "The programme is not open for claims.".into(),
            "该项目未开放申领。".into(),
        )
    });
    checks.push(if now < rules.claim_opens_at {
        check(
            "claim_window_not_open",
            false,
            format!("Claims open at {}.", rules.claim_opens_at),
            format!("申领将于 {} 开始。", rules.claim_opens_at),
        )
    } else if now >= rules.claim_closes_at {
        check(
            "claim_window_closed",
            false,
            format!("Claims closed at {}.", rules.claim_closes_at),
            format!("申领已于 {} 截止。", rules.claim_closes_at),
        )
    } else {
        check(
            "claim_window",
            true,
            "Within the claim window.".into(),
            "在申领期内。".into(),
        )
    });
    let in_division = rules
        .divisions
        .iter()
        .any(|allowed| facts.division.is_within(allowed));
    let here = super::division::division_label(&facts.division.to_string());
    checks.push(if in_division {
        check(
            "division",
            true,
            format!("Registered in an eligible division ({here})."),
            format!("注册地（{here}）符合要求。"),
        )
    } else {
        let allowed = join(
            rules
                .divisions
                .iter()
                .map(|d| super::division::division_label(&d.to_string())),
        );
        check(
            "division_not_eligible",
            false,
            format!("Registered in {here}, but the programme is for {allowed}."),
            format!("注册地为 {here}，本项目仅限 {allowed}。"),
        )
    });
    if !rules.zones.is_empty() {
        let in_zone = facts
            .zone
            .as_ref()
            .is_some_and(|zone| rules.zones.contains(zone));
        let zones = join(rules.zones.iter().cloned());
        checks.push(if in_zone {
            check(
                "zone",
                true,
                "In an eligible zone.".into(),
                "所在功能区符合要求。".into(),
            )
        } else {
            check(
                "zone_not_eligible",
                false,
                format!("The programme is for firms in {zones}."),
                format!("本项目仅限以下功能区企业：{zones}。"),
            )
        });
    }
    checks.push(if rules.size_classes.contains(&facts.size_class) {
        check(
            "size_class",
            true,
            format!("Size class {} is eligible.", facts.size_class.as_str()),
            format!("企业规模（{}）符合要求。", facts.size_class.name_zh()),
        )
    } else {
        let allowed_en = join(rules.size_classes.iter().map(|c| c.as_str().to_string()));
        let allowed_zh = join(rules.size_classes.iter().map(|c| c.name_zh().to_string()));
        check(
            "size_class_not_eligible",
            false,
            format!(
                "Size class {} is not among {allowed_en}.",
                facts.size_class.as_str()
            ),
            format!(
                "企业规模为{}，本项目仅限{allowed_zh}企业。",
                facts.size_class.name_zh()
            ),
        )
    });
    for tag in &rules.required_tags {
        checks.push(if facts.tags.contains(tag) {
            check(
                "required_tag",
                true,
                format!("Tagged {tag}."),
                format!("已列入「{tag}」。"),
            )
        } else {
            check(
                "required_tag_missing",
                false,
                format!("The programme requires the tag {tag}."),
                format!("本项目要求企业列入「{tag}」。"),
            )
        });
    }
    for tag in &rules.excluded_tags {
        checks.push(if facts.tags.contains(tag) {
            check(
                "excluded_tag_present",
                false,
                format!("Firms tagged {tag} may not claim."),
                format!("列入「{tag}」的企业不得申领。"),
            )
        } else {
            check(
                "excluded_tag",
                true,
                format!("Not tagged {tag}."),
                format!("未列入「{tag}」。"),
            )
        });
    }
    if facts.blacklist.is_empty() {
        checks.push(check(
            "not_blacklisted",
            true,
            "Not blacklisted.".into(),
            "未列入黑名单。".into(),
        ));
    }
    for (reason, source) in &facts.blacklist {
        checks.push(check(
            "enterprise_blacklisted",
            false,
            format!("Blacklisted: {reason} (source: {source})."),
            format!("已列入黑名单：{reason}（来源：{source}）。"),
        ));
    }
    let after_claim = facts.claimed_this_year.checked_add(face_value);
    checks.push(match after_claim {
        Ok(total) if total <= rules.annual_cap => check(
            "annual_cap",
            true,
            format!(
                "{total} of the annual cap {} after this claim.",
                rules.annual_cap
            ),
            format!("本次申领后年度累计 {total}，上限 {}。", rules.annual_cap),
        ),
        _ => check(
            "annual_cap_reached",
            false,
            format!(
                "Already claimed {} this year; {} more would pass the annual cap of {}.",
                facts.claimed_this_year, face_value, rules.annual_cap
            ),
            format!(
                "本年度已申领 {}，再申领 {} 将超过年度上限 {}。",
                facts.claimed_this_year, face_value, rules.annual_cap
            ),
        ),
    });
    checks.push(if facts.vouchers_this_year < rules.annual_voucher_count {
        check(
            "annual_voucher_count",
            true,
            format!(
                "{} of {} vouchers claimed this year.",
                facts.vouchers_this_year, rules.annual_voucher_count
            ),
            format!(
                "本年度已申领 {} 张，上限 {} 张。",
                facts.vouchers_this_year, rules.annual_voucher_count
            ),
        )
    } else {
        check(
            "annual_voucher_count_reached",
            false,
            format!(
                "Already {} vouchers this year, the most allowed.",
                facts.vouchers_this_year
            ),
            format!("本年度已申领 {} 张，已达上限。", facts.vouchers_this_year),
        )
    });
    Report { checks }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> EligibilityRules {
        EligibilityRules {
            open: true,
            claim_opens_at: Timestamp::from_micros(1_000),
            claim_closes_at: Timestamp::from_micros(10_000),
            divisions: vec![DivisionCode::parse("330900").unwrap()],
            zones: vec![],
            size_classes: vec![SizeClass::Small, SizeClass::Micro],
            required_tags: vec!["专精特新培育库".into()],
            excluded_tags: vec!["低散乱危".into()],
            annual_cap: Fen::from_yuan(10_000).unwrap(),
            annual_voucher_count: 3,
        }
    }

    fn facts() -> EnterpriseFacts {
        EnterpriseFacts {
            division: DivisionCode::parse("330902").unwrap(),
            zone: None,
            size_class: SizeClass::Small,
            tags: ["专精特新培育库".to_string()].into(),
            blacklist: vec![],
            claimed_this_year: Fen::ZERO,
            vouchers_this_year: 0,
        }
    }

    fn failed_codes(report: &Report) -> Vec<&'static str> {
        report.failures().map(|c| c.code).collect()
    }

    #[test]
    fn an_eligible_firm_passes_every_check_and_sees_them_all() {
        let report = evaluate(
            &rules(),
            &facts(),
            Fen::from_yuan(5_000).unwrap(),
            Timestamp::from_micros(5_000),
        );
        assert!(report.eligible(), "{report:?}");
        assert_eq!(report.checks.len(), 9);
        assert!(
            report
                .checks
                .iter()
                .all(|c| !c.message_zh.is_empty() && !c.message.is_empty())
        );
    }

    #[test]
    fn a_firm_failing_three_rules_gets_all_three_codes() {
        let mut firm = facts();
        firm.division = DivisionCode::parse("330100").unwrap();
        firm.size_class = SizeClass::Medium;
        firm.tags.clear();
        let report = evaluate(
            &rules(),
            &firm,
            Fen::from_yuan(5_000).unwrap(),
            Timestamp::from_micros(5_000),
        );
        assert_eq!(
            failed_codes(&report),
            [
                "division_not_eligible",
                "size_class_not_eligible",
                "required_tag_missing"
            ]
        );
    }

    #[test]
    fn every_rule_can_fail_with_its_own_code() {
        let mut programme = rules();
        programme.open = false;
        programme.zones = vec!["新城".into()];
        let mut firm = facts();
        firm.tags.insert("低散乱危".into());
        firm.blacklist = vec![
            ("失信".into(), "信用中国".into()),
            ("四无".into(), "区经信局".into()),
        ];
        firm.claimed_this_year = Fen::from_yuan(8_000).unwrap();
        firm.vouchers_this_year = 3;
        let report = evaluate(
            &programme,
            &firm,
            Fen::from_yuan(5_000).unwrap(),
            Timestamp::from_micros(20_000),
        );
        assert_eq!(
            failed_codes(&report),
            [
                "programme_not_open",
                "claim_window_closed",
                "zone_not_eligible",
                "excluded_tag_present",
                "enterprise_blacklisted",
                "enterprise_blacklisted",
                "annual_cap_reached",
                "annual_voucher_count_reached",
            ]
        );
        let early = evaluate(&rules(), &facts(), Fen::ZERO, Timestamp::from_micros(999));
        assert_eq!(failed_codes(&early), ["claim_window_not_open"]);
    }

    #[test]
    fn the_annual_cap_is_inclusive_and_overflow_safe() {
        let mut firm = facts();
        firm.claimed_this_year = Fen::from_yuan(5_000).unwrap();
        let at_cap = evaluate(
            &rules(),
            &firm,
            Fen::from_yuan(5_000).unwrap(),
            Timestamp::from_micros(5_000),
        );
        assert!(at_cap.eligible());
        let over = evaluate(
            &rules(),
            &firm,
            Fen::new(500_001),
            Timestamp::from_micros(5_000),
        );
        assert_eq!(failed_codes(&over), ["annual_cap_reached"]);
        firm.claimed_this_year = Fen::new(i64::MAX);
        let overflow = evaluate(&rules(), &firm, Fen::new(1), Timestamp::from_micros(5_000));
        assert_eq!(failed_codes(&overflow), ["annual_cap_reached"]);
    }
}

//! Erasure and restriction requests (docs/personal-data.md "Erasure and
//! restriction"), as pure values: the PIPL Art. 47 grounds, who asked, and
//! what a request does given the subject's state and today's date — erase
//! the subject's key, or restrict its data to storage while a retention
//! period runs.

use chrono::NaiveDate;

/// Longest request reference (a case or letter number), in bytes.
pub const REFERENCE_LEN_MAX: usize = 64;

/// Why the data must go (PIPL Art. 47 ¶1, items 1–5).
pub const LEGAL_BASES: &[(&str, &str)] = &[
    (
        "purpose_achieved",
        "处理目的已实现、无法实现或者为实现处理目的不再必要",
    ),
    ("service_ended", "停止提供产品或者服务，或者保存期限已届满"),
    ("consent_withdrawn", "个人撤回同意"),
    (
        "unlawful_processing",
        "违反法律、行政法规或者违反约定处理个人信息",
    ),
    ("other_law", "法律、行政法规规定的其他情形"),
];

/// Who asked (a kind, never a person's name).
pub const REQUESTERS: &[(&str, &str)] = &[
    ("data_subject", "个人信息主体本人"),
    ("enterprise", "企业"),
    ("authority", "监管机关"),
    ("programme_office", "经信局（自查）"),
];

/// A subject's standing, as its key row records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Readable (or no key yet).
    Live,
    /// Only stored until this date (inclusive).
    Restricted { retain_until: NaiveDate },
    /// The key is destroyed.
    Erased,
}

/// What an erasure request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Record `personal_data_erased` and destroy the key.
    Erase,
    /// Record `personal_data_restricted` until the date.
    Restrict { retain_until: NaiveDate },
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    #[error(
        "legal_basis must be one of purpose_achieved, service_ended, consent_withdrawn, unlawful_processing, other_law"
    )]
    LegalBasis,
    #[error("requester must be one of data_subject, enterprise, authority, programme_office")]
    Requester,
    #[error("reference must be 1–{REFERENCE_LEN_MAX} bytes of printable text")]
    Reference,
    #[error("the subject's data was erased already")]
    AlreadyErased,
    #[error("a retention period runs until {0}: the data stays restricted until then")]
    RetentionRunning(NaiveDate),
}

/// Checks the request's words.
pub fn check(legal_basis: &str, requester: &str, reference: &str) -> Result<(), RequestRefusal> {
    if !LEGAL_BASES.iter().any(|(code, _)| *code == legal_basis) {
        return Err(RequestRefusal::LegalBasis);
    }
    if !REQUESTERS.iter().any(|(code, _)| *code == requester) {
        return Err(RequestRefusal::Requester);
    }
    let printable = !reference.chars().any(char::is_control);
    if reference.trim().is_empty() || reference.len() > REFERENCE_LEN_MAX || !printable {
        return Err(RequestRefusal::Reference);
    }
    Ok(())
}

/// What a request with `retain_until` (the end of a retention period, if
/// one runs) does to a subject in `standing` on `today`: a retention
/// running past today restricts (again, to the later date); none erases —
/// unless an earlier restriction's period still runs.
pub fn decide(
    standing: Standing,
    retain_until: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Outcome, RequestRefusal> {
    if standing == Standing::Erased {
        return Err(RequestRefusal::AlreadyErased);
    }
    let running = |date: NaiveDate| date >= today;
    let held = match standing {
        Standing::Restricted { retain_until } if running(retain_until) => Some(retain_until),
        _ => None,
    };
    match (retain_until.filter(|d| running(*d)), held) {
        (Some(asked), Some(held)) => Ok(Outcome::Restrict {
            retain_until: asked.max(held),
        }),
        (Some(asked), None) => Ok(Outcome::Restrict {
            retain_until: asked,
        }),
        (None, Some(held)) => Err(RequestRefusal::RetentionRunning(held)),
        (None, None) => Ok(Outcome::Erase),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_request_without_retention_erases() {
        let today = day("2026-12-06");
        assert_eq!(decide(Standing::Live, None, today), Ok(Outcome::Erase));
        // A retention that ended yesterday is no retention.
        assert_eq!(
            decide(Standing::Live, Some(day("2026-12-05")), today),
            Ok(Outcome::Erase)
        );
        let ended = Standing::Restricted {
            retain_until: day("2026-12-05"),
        };
        assert_eq!(decide(ended, None, today), Ok(Outcome::Erase));
    }

    #[test]
    fn a_running_retention_restricts_and_holds_off_erasure() {
        let today = day("2026-12-06");
        let until = day("2056-12-31");
        assert_eq!(
            decide(Standing::Live, Some(until), today),
            Ok(Outcome::Restrict {
                retain_until: until
            })
        );
        // The last day of the retention still counts.
        let restricted = Standing::Restricted {
            retain_until: today,
        };
        assert_eq!(
            decide(restricted, None, today),
            Err(RequestRefusal::RetentionRunning(today))
        );
        // A second restriction never shortens the first.
        let long = Standing::Restricted {
            retain_until: until,
        };
        assert_eq!(
            decide(long, Some(day("2030-01-01")), today),
            Ok(Outcome::Restrict {
                retain_until: until
            })
        );
        assert_eq!(
            decide(Standing::Erased, None, today),
            Err(RequestRefusal::AlreadyErased)
        );
    }

    #[test]
    fn the_words_are_checked() {
        assert_eq!(
            check("consent_withdrawn", "data_subject", "2026-PI-001"),
            Ok(())
        );
        assert_eq!(
            check("because", "data_subject", "x"),
            Err(RequestRefusal::LegalBasis)
        );
        assert_eq!(
            check("other_law", "王海燕", "x"),
            Err(RequestRefusal::Requester)
        );
        assert_eq!(
            check("other_law", "authority", " "),
            Err(RequestRefusal::Reference)
        );
        let long = "x".repeat(REFERENCE_LEN_MAX + 1);
        assert_eq!(
            check("other_law", "authority", &long),
            Err(RequestRefusal::Reference)
        );
        assert_eq!(
            check("other_law", "authority", "a\nb"),
            Err(RequestRefusal::Reference)
        );
    }
}

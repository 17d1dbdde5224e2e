//! Programme codes, such as `ZS2026-01`.
//!
//! A programme code appears in account names (`budget_available/ZS2026-01`),
//! in signed vouchers and on printed reports, so it is short, upper case and
//! free of separators that account names use.

use serde::{Deserialize, Serialize};

/// Longest programme code, so account names and QR payloads stay bounded.
pub const PROGRAMME_CODE_LEN_MAX: usize = 32;

/// 2 to 32 characters of `A–Z`, `0–9`, `-` and `_`, starting with a letter
/// or digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProgrammeCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgrammeCodeError {
    #[error("a programme code has 2 to {PROGRAMME_CODE_LEN_MAX} characters")]
    Length,
    #[error("a programme code uses only A–Z, 0–9, '-' and '_', and starts with a letter or digit")]
    Characters,
}

impl ProgrammeCode {
    pub fn parse(text: &str) -> Result<ProgrammeCode, ProgrammeCodeError> {
        if !(2..=PROGRAMME_CODE_LEN_MAX).contains(&text.len()) {
            return Err(ProgrammeCodeError::Length);
        }
        let allowed =
            |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        let first = text.as_bytes()[0];
        if !text.bytes().all(allowed) || !(first.is_ascii_uppercase() || first.is_ascii_digit()) {
            return Err(ProgrammeCodeError::Characters);
        }
        Ok(ProgrammeCode(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::domain::text_newtype::impl_text_newtype!(ProgrammeCode, ProgrammeCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_upper_case_codes() {
        for code in ["ZS2026-01", "A1", "2026_Q1", &"X".repeat(32)] {
            assert_eq!(ProgrammeCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn refuses_codes_that_could_break_account_names() {
        for (code, expected) in [
            ("", ProgrammeCodeError::Length),
            ("Z", ProgrammeCodeError::Length),
            (&"X".repeat(33) as &str, ProgrammeCodeError::Length),
            ("zs2026", ProgrammeCodeError::Characters),
            ("ZS/2026", ProgrammeCodeError::Characters),
            ("ZS 2026", ProgrammeCodeError::Characters),
            ("-ZS2026", ProgrammeCodeError::Characters),
            ("舟山2026", ProgrammeCodeError::Characters),
        ] {
            assert_eq!(ProgrammeCode::parse(code), Err(expected), "{code:?}");
        }
    }
}

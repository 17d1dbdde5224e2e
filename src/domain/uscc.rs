//! 统一社会信用代码 (Unified Social Credit Code, GB 32100-2015).
//!
//! Every enterprise and provider is identified by its USCC, so a typo must
//! never silently point money at another firm. A `Uscc` can only be built by
//! checking both check characters: the national one in position 18 and the
//! GB 11714 organisation-code one in position 17.

use serde::{Deserialize, Serialize};

/// The 31 characters a USCC may contain (no I, O, Z, S, V); a character's
/// value in the position-18 check is its index here.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights for positions 1..=17 in the position-18 check: 3^(i-1) mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights for the first eight characters of the organisation code (GB 11714).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A valid 18-character USCC, always upper case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

/// Why a text is not a valid USCC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("a USCC has 18 characters, this has {0}")]
    WrongLength(usize),
    #[error("character {position} ({found:?}) is not allowed in a USCC")]
    InvalidCharacter { position: usize, found: char },
    #[error("characters 3 to 8 must be the digits of a region code")]
    RegionNotDigits,
    #[error("the organisation code check character (position 17) should be {expected:?}")]
    OrganisationCheck { expected: char },
    #[error("the check character (position 18) should be {expected:?}")]
    Check { expected: char },
}

impl UsccError {
    /// Stable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            UsccError::WrongLength(_) => "uscc_wrong_length",
            UsccError::InvalidCharacter { .. } => "uscc_invalid_character",
            UsccError::RegionNotDigits => "uscc_region_not_digits",
            UsccError::OrganisationCheck { .. } => "uscc_organisation_check_failed",
            UsccError::Check { .. } => "uscc_check_failed",
        }
    }
}

impl Uscc {
    /// Strict parse: exactly 18 upper-case characters, both checks pass.
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::WrongLength(chars.len()));
        }
        let mut values = [0u32; 18];
        for (index, ch) in chars.iter().enumerate() {
            values[index] = alphabet_value(*ch).ok_or(UsccError::InvalidCharacter {
                position: index + 1,
                found: *ch,
            })?;
        }
        if !chars[2..8].iter().all(char::is_ascii_digit) {
            return Err(UsccError::RegionNotDigits);
        }
        let expected_org = organisation_check(&chars[8..16]);
        if chars[16] != expected_org {
            return Err(UsccError::OrganisationCheck {
                expected: expected_org,
            });
        }
        let sum: u32 = values[..17]
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(value, weight)| value * weight)
            .sum();
        let expected = ALPHABET[((31 - sum % 31) % 31) as usize] as char;
        if chars[17] != expected {
            return Err(UsccError::Check { expected });
        }
        Ok(Uscc(text.to_string()))
    }

    /// Completes a code from its first 16 characters (authority, entity type,
    /// region, and the organisation code's first 8) by computing both check
    /// characters: for generating test and demo data.
    pub fn complete(first16: &str) -> Result<Uscc, UsccError> {
        let chars: Vec<char> = first16.chars().collect();
        if chars.len() != 16 {
            return Err(UsccError::WrongLength(chars.len()));
        }
        let mut code: String = first16.to_string();
        code.push(organisation_check(&chars[8..16]));
        let values: Vec<u32> = code
            .chars()
            .enumerate()
            .map(|(index, ch)| {
                alphabet_value(ch).ok_or(UsccError::InvalidCharacter {
                    position: index + 1,
                    found: ch,
                })
            })
            .collect::<Result<_, _>>()?;
        let sum: u32 = values
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(value, weight)| value * weight)
            .sum();
        code.push(ALPHABET[((31 - sum % 31) % 31) as usize] as char);
        Uscc::parse(&code)
    }

    /// What a person types or a spreadsheet holds: surrounding spaces are
    /// dropped and letters upper-cased, then [`Uscc::parse`] applies.
    pub fn parse_lenient(text: &str) -> Result<Uscc, UsccError> {
        Uscc::parse(&text.trim().to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position 1: the registration authority (`9` = market regulation).
    pub fn registration_authority(&self) -> char {
        self.0.as_bytes()[0] as char
    }

    /// Position 2: the entity type within that authority (under `9`:
    /// `1` enterprise, `2` individual business, `3` farmers' co-operative).
    pub fn entity_type(&self) -> char {
        self.0.as_bytes()[1] as char
    }

    /// Positions 3–8: the GB/T 2260 code of the registering region.
    pub fn region_code(&self) -> &str {
        &self.0[2..8]
    }
}

fn alphabet_value(ch: char) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|b| *b as char == ch)
        .map(|i| i as u32)
}

/// GB 11714 check character over the first eight characters of the
/// organisation code; digits are their value, letters A=10 … Z=35.
fn organisation_check(body: &[char]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(ch, weight)| ch.to_digit(36).unwrap_or(0) * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        digit => char::from_digit(digit, 10).unwrap_or('0'),
    }
}

crate::domain::text_newtype::impl_text_newtype!(Uscc, UsccError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: [&str; 4] = [
        "91350100M000100Y43",
        "91310110666007217T",
        "91230184MA1BUFLT44",
        "9144030071526726XG",
    ];

    #[test]
    fn the_valid_codes_in_domain_md_are_accepted() {
        for code in VALID {
            let uscc = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(uscc.as_str(), code);
        }
        let uscc = Uscc::parse("91350100M000100Y43").unwrap();
        assert_eq!(uscc.registration_authority(), '9');
        assert_eq!(uscc.entity_type(), '1');
        assert_eq!(uscc.region_code(), "350100");
    }

    #[test]
    fn the_invalid_code_in_domain_md_is_refused() {
        assert_eq!(
            Uscc::parse("91350100M000100Y4Z"),
            Err(UsccError::InvalidCharacter {
                position: 18,
                found: 'Z'
            })
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::Check { expected: '3' })
        );
    }

    #[test]
    fn malformed_codes_say_what_is_wrong() {
        assert_eq!(Uscc::parse(""), Err(UsccError::WrongLength(0)));
        assert_eq!(
            Uscc::parse("91350100M000100Y4"),
            Err(UsccError::WrongLength(17))
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y433"),
            Err(UsccError::WrongLength(19))
        );
        assert!(matches!(
            Uscc::parse("91350100m000100Y43"),
            Err(UsccError::InvalidCharacter { position: 9, .. })
        ));
        assert!(matches!(
            Uscc::parse("9135O100M000100Y43"),
            Err(UsccError::InvalidCharacter { position: 5, .. })
        ));
        assert_eq!(
            Uscc::parse("913A0100M000100Y43"),
            Err(UsccError::RegionNotDigits)
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y53"),
            Err(UsccError::OrganisationCheck { expected: '4' })
        );
        assert_eq!(
            Uscc::parse("91350100M000100Y43").map(|u| u.to_string()),
            Ok("91350100M000100Y43".into())
        );
    }

    #[test]
    fn completing_the_first_sixteen_characters_gives_the_known_codes() {
        for code in VALID {
            assert_eq!(Uscc::complete(&code[..16]).unwrap().as_str(), code);
        }
        assert_eq!(Uscc::complete("9133090"), Err(UsccError::WrongLength(7)));
    }

    #[test]
    fn lenient_parse_trims_and_upper_cases() {
        assert_eq!(
            Uscc::parse_lenient("  91230184ma1buflt44 ")
                .unwrap()
                .as_str(),
            "91230184MA1BUFLT44"
        );
    }

    #[test]
    fn serde_refuses_an_invalid_code() {
        let ok: Result<Uscc, _> = serde_json::from_str("\"91310110666007217T\"");
        assert!(ok.is_ok());
        let bad: Result<Uscc, _> = serde_json::from_str("\"91310110666007217X\"");
        assert!(bad.is_err());
    }

    proptest! {
        #[test]
        fn any_single_character_change_of_a_valid_code_is_refused(
            code_index in 0usize..4,
            position in 0usize..18,
            replacement in proptest::char::any(),
        ) {
            let original: Vec<char> = VALID[code_index].chars().collect();
            prop_assume!(original[position] != replacement);
            let mut changed = original.clone();
            changed[position] = replacement;
            let changed: String = changed.into_iter().collect();
            prop_assert!(Uscc::parse(&changed).is_err(), "{} was accepted", changed);
        }

        #[test]
        fn any_single_alphabet_substitution_is_refused(
            code_index in 0usize..4,
            position in 0usize..18,
            replacement_index in 0usize..31,
        ) {
            let replacement = ALPHABET[replacement_index] as char;
            let original: Vec<char> = VALID[code_index].chars().collect();
            prop_assume!(original[position] != replacement);
            let mut changed = original.clone();
            changed[position] = replacement;
            let changed: String = changed.into_iter().collect();
            prop_assert!(Uscc::parse(&changed).is_err(), "{} was accepted", changed);
        }
    }
}

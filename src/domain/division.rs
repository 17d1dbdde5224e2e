//! Administrative division codes (GB/T 2260).
//!
//! Programmes are limited to districts (Zhoushan: 330902 定海区, 330903 普陀区,
//! 330921 岱山县, 330922 嵊泗县), so an enterprise's division must be a real
//! six-digit code: a known province prefix, and no county part under a
//! missing prefecture part.

use serde::{Deserialize, Serialize};

/// Province-level prefixes in GB/T 2260 (mainland, Taiwan, Hong Kong, Macao).
const PROVINCE_PREFIXES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// A six-digit GB/T 2260 division code.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

/// The divisions this deployment names in words (Zhoushan and its
/// province); others are shown by code.
const NAMED: [(&str, &str); 6] = [
    ("330000", "浙江省"),
    ("330900", "舟山市"),
    ("330902", "定海区"),
    ("330903", "普陀区"),
    ("330921", "岱山县"),
    ("330922", "嵊泗县"),
];

/// `定海区（330902）` for a known division, the bare code otherwise: how a
/// division is shown to people.
pub fn division_label(code: &str) -> String {
    match division_name(code) {
        Some(name) => format!("{name}（{code}）"),
        None => code.to_string(),
    }
}

/// The name of division `code`, where this deployment knows it.
pub fn division_name(code: &str) -> Option<&'static str> {
    NAMED
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, name)| *name)
}

/// The level a division code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionLevel {
    Province,
    Prefecture,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionCodeError {
    #[error("a division code is six digits")]
    NotSixDigits,
    #[error("{0:02} is not a province code in GB/T 2260")]
    UnknownProvince(u8),
    #[error("a county code needs a prefecture part (digits 3–4 are 00)")]
    CountyWithoutPrefecture,
}

impl DivisionCode {
    pub fn parse(text: &str) -> Result<DivisionCode, DivisionCodeError> {
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionCodeError::NotSixDigits);
        }
        let province: u8 = text[..2]
            .parse()
            .map_err(|_| DivisionCodeError::NotSixDigits)?;
        if !PROVINCE_PREFIXES.contains(&province) {
            return Err(DivisionCodeError::UnknownProvince(province));
        }
        if &text[2..4] == "00" && &text[4..6] != "00" {
            return Err(DivisionCodeError::CountyWithoutPrefecture);
        }
        Ok(DivisionCode(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> DivisionLevel {
        match (&self.0[2..4], &self.0[4..6]) {
            ("00", _) => DivisionLevel::Province,
            (_, "00") => DivisionLevel::Prefecture,
            _ => DivisionLevel::County,
        }
    }

    /// Whether `self` is `other` or lies inside it (330902 is within 330900
    /// and within 330000).
    pub fn is_within(&self, other: &DivisionCode) -> bool {
        match other.level() {
            DivisionLevel::Province => self.0[..2] == other.0[..2],
            DivisionLevel::Prefecture => self.0[..4] == other.0[..4],
            DivisionLevel::County => self.0 == other.0,
        }
    }
}

crate::domain::text_newtype::impl_text_newtype!(DivisionCode, DivisionCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zhoushan_districts_are_county_level_codes_within_zhoushan() {
        let zhoushan = DivisionCode::parse("330900").unwrap();
        assert_eq!(zhoushan.level(), DivisionLevel::Prefecture);
        for code in ["330902", "330903", "330921", "330922"] {
            let district = DivisionCode::parse(code).unwrap();
            assert_eq!(district.level(), DivisionLevel::County);
            assert!(district.is_within(&zhoushan));
            assert!(district.is_within(&DivisionCode::parse("330000").unwrap()));
            assert!(district.is_within(&district));
        }
        let dinghai = DivisionCode::parse("330902").unwrap();
        assert!(!dinghai.is_within(&DivisionCode::parse("330903").unwrap()));
        assert!(!dinghai.is_within(&DivisionCode::parse("330100").unwrap()));
    }

    #[test]
    fn malformed_codes_are_refused() {
        use DivisionCodeError::*;
        let cases = [
            ("", NotSixDigits),
            ("33090", NotSixDigits),
            ("3309021", NotSixDigits),
            ("33O902", NotSixDigits),
            ("+33090", NotSixDigits),
            ("000000", UnknownProvince(0)),
            ("990902", UnknownProvince(99)),
            ("330009", CountyWithoutPrefecture),
        ];
        for (text, expected) in cases {
            assert_eq!(DivisionCode::parse(text), Err(expected), "{text:?}");
        }
        assert_eq!(DivisionCode::parse("110101").unwrap().as_str(), "110101");
        assert_eq!(
            DivisionCode::parse("330000").unwrap().level(),
            DivisionLevel::Province
        );
    }
}

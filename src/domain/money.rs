//! Money as integer fen (分).
//!
//! Public money is never a float here. `Fen` wraps an `i64` count of fen
//! (1 元 = 100 fen); arithmetic is checked and fails loudly instead of
//! wrapping. It parses what people type into spreadsheets and forms
//! (`1234.5`, `1,234.50`, `¥1,234.50`), refusing anything that would lose a
//! fraction of a fen, and formats as `¥1,234.50`. Payment documents also need
//! the amount in capital characters (大写), rendered by [`Fen::to_daxie`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money in fen. May be negative (a balance can be), but
/// amounts that people enter are checked to be positive where it matters.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(i64);

/// Why a text could not be read as an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyParseError {
    #[error("the amount is empty")]
    Empty,
    #[error("the amount has more than two decimal places; the smallest unit is 1 fen (0.01 元)")]
    TooManyDecimals,
    #[error("the amount contains {0:?}, which is not a digit, a comma or a decimal point")]
    InvalidCharacter(char),
    #[error("thousands separators must separate groups of exactly three digits")]
    MisplacedSeparator,
    #[error("the amount needs digits before and after the decimal point")]
    MissingDigits,
    #[error("the amount is too large")]
    Overflow,
}

/// Arithmetic on money left the range of `i64` fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("money arithmetic overflowed")]
pub struct MoneyOverflow;

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// Whole 元, for building amounts in code and tests.
    pub fn from_yuan(yuan: i64) -> Result<Fen, MoneyOverflow> {
        yuan.checked_mul(100).map(Fen).ok_or(MoneyOverflow)
    }

    pub const fn as_fen(self) -> i64 {
        self.0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Fen) -> Result<Fen, MoneyOverflow> {
        self.0.checked_add(other.0).map(Fen).ok_or(MoneyOverflow)
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, MoneyOverflow> {
        self.0.checked_sub(other.0).map(Fen).ok_or(MoneyOverflow)
    }

    pub fn checked_neg(self) -> Result<Fen, MoneyOverflow> {
        self.0.checked_neg().map(Fen).ok_or(MoneyOverflow)
    }

    /// Parses an amount in 元 as people write it: optional surrounding
    /// spaces, an optional leading `-`, an optional `¥`/`￥`, digits with
    /// optional thousands separators in groups of three, and at most two
    /// decimals. `1234.5`, `1,234.50` and `¥1,234.50` are all 123450 fen.
    /// Parses an amount as the JSON API takes it: plain 元 with at most two
    /// decimals (`3000000`, `1234.50`) — no spaces, signs, currency signs
    /// or thousands separators, which belong to what people type and are
    /// normalised at the forms and imports (`parse_yuan`).
    pub fn parse_plain_yuan(text: &str) -> Result<Fen, MoneyParseError> {
        if let Some(c) = text.chars().find(|c| !c.is_ascii_digit() && *c != '.') {
            return Err(MoneyParseError::InvalidCharacter(c));
        }
        Fen::parse_yuan(text)
    }

    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyParseError> {
        let text = text.trim();
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let text = text
            .strip_prefix('¥')
            .or_else(|| text.strip_prefix('￥'))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(MoneyParseError::Empty);
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let whole_digits = parse_grouped_digits(whole)?;
        let fraction_fen = match fraction {
            None => 0,
            Some(fraction) => parse_fraction(fraction)?,
        };
        let yuan: i64 = whole_digits
            .parse()
            .map_err(|_| MoneyParseError::Overflow)?;
        let fen = yuan
            .checked_mul(100)
            .and_then(|fen| fen.checked_add(fraction_fen))
            .ok_or(MoneyParseError::Overflow)?;
        Ok(Fen(if negative { -fen } else { fen }))
    }

    /// `12.30`: 元 with exactly two decimals and no symbol or separators,
    /// for machine-read files such as bank payment CSVs.
    pub fn to_plain_yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// The amount in capital characters as written on payment documents,
    /// e.g. `人民币壹仟肆佰零玖元伍角`. Conventions (see docs/domain.md):
    /// `整` after 元 only; inner zeros collapse to one `零`; `零` after 元
    /// when 角 is zero and 分 is not; no `零` between 元 and a non-zero 角.
    /// A negative amount is prefixed `负`.
    pub fn to_daxie(self) -> String {
        const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
        let mut out = String::from("人民币");
        if self.0 < 0 {
            out.push('负');
        }
        let abs = self.0.unsigned_abs();
        let yuan = abs / 100;
        let jiao = (abs / 10 % 10) as usize;
        let fen = (abs % 10) as usize;
        if yuan > 0 {
            push_daxie_integer(&mut out, yuan);
            out.push('元');
        }
        match (jiao, fen) {
            (0, 0) if yuan == 0 => out.push_str("零元整"),
            (0, 0) => out.push('整'),
            (0, fen) => {
                if yuan > 0 {
                    out.push('零');
                }
                out.push(DIGITS[fen]);
                out.push('分');
            }
            (jiao, 0) => {
                out.push(DIGITS[jiao]);
                out.push('角');
            }
            (jiao, fen) => {
                out.push(DIGITS[jiao]);
                out.push('角');
                out.push(DIGITS[fen]);
                out.push('分');
            }
        }
        out
    }
}

/// Validates `1,234,567` or `1234567` and returns the digits without commas.
fn parse_grouped_digits(whole: &str) -> Result<String, MoneyParseError> {
    if whole.is_empty() {
        return Err(MoneyParseError::MissingDigits);
    }
    if let Some(bad) = whole.chars().find(|c| !c.is_ascii_digit() && *c != ',') {
        return Err(MoneyParseError::InvalidCharacter(bad));
    }
    if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or_default();
        let first_ok = (1..=3).contains(&first.len());
        if !first_ok || groups.any(|group| group.len() != 3) {
            return Err(MoneyParseError::MisplacedSeparator);
        }
    }
    Ok(whole.chars().filter(|c| *c != ',').collect())
}

/// `5` → 50 fen, `05` → 5 fen, `50` → 50 fen.
fn parse_fraction(fraction: &str) -> Result<i64, MoneyParseError> {
    if fraction.is_empty() {
        return Err(MoneyParseError::MissingDigits);
    }
    if let Some(bad) = fraction.chars().find(|c| !c.is_ascii_digit()) {
        return Err(MoneyParseError::InvalidCharacter(bad));
    }
    if fraction.len() > 2 {
        return Err(MoneyParseError::TooManyDecimals);
    }
    let digits: i64 = fraction.parse().map_err(|_| MoneyParseError::Overflow)?;
    Ok(if fraction.len() == 1 {
        digits * 10
    } else {
        digits
    })
}

/// Appends the 大写 of a positive whole number of 元 (without the 元).
fn push_daxie_integer(out: &mut String, value: u64) {
    const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
    const PLACE: [&str; 4] = ["", "拾", "佰", "仟"];
    // Group units every four digits: 万 = 10^4, 亿 = 10^8, 万亿 = 10^12, 亿亿 = 10^16.
    const GROUP: [&str; 5] = ["", "万", "亿", "万亿", "亿亿"];
    let digits: Vec<usize> = value
        .to_string()
        .bytes()
        .map(|b| (b - b'0') as usize)
        .collect();
    let count = digits.len();
    let mut zero_pending = false;
    let mut group_has_digit = false;
    for (index, digit) in digits.into_iter().enumerate() {
        let position = count - 1 - index;
        if digit == 0 {
            zero_pending = true;
        } else {
            // The leading digit is never zero, so a pending zero always sits
            // between two written digits.
            if zero_pending {
                out.push('零');
            }
            zero_pending = false;
            out.push(DIGITS[digit]);
            out.push_str(PLACE[position % 4]);
            group_has_digit = true;
        }
        if position.is_multiple_of(4) {
            // Zeros at the end of a written group are absorbed by its unit
            // (壹拾万柒仟, not 壹拾万零柒仟); a wholly zero group keeps its
            // zero pending for the next digit (壹亿零壹仟).
            if group_has_digit {
                out.push_str(GROUP[position / 4]);
                zero_pending = false;
            }
            group_has_digit = false;
        }
    }
}

impl fmt::Display for Fen {
    /// `¥1,234.50`, `-¥0.05`: always two decimals, thousands separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (index, ch) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}¥{grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(text: &str) -> i64 {
        Fen::parse_yuan(text).unwrap().as_fen()
    }

    #[test]
    fn parses_the_forms_people_type() {
        assert_eq!(yuan("1234.5"), 123_450);
        assert_eq!(yuan("1,234.50"), 123_450);
        assert_eq!(yuan("¥1,234.50"), 123_450);
        assert_eq!(yuan("￥1,234.50"), 123_450);
        assert_eq!(yuan(" 12 "), 1_200);
        assert_eq!(yuan("0.05"), 5);
        assert_eq!(yuan("0.5"), 50);
        assert_eq!(yuan("1,000,000"), 100_000_000);
        assert_eq!(yuan("-¥3.20"), -320);
        assert_eq!(yuan("0"), 0);
    }

    #[test]
    fn refuses_what_would_lose_or_invent_money() {
        use MoneyParseError::*;
        let cases = [
            ("", Empty),
            ("¥", Empty),
            ("1.234", TooManyDecimals),
            ("1.005", TooManyDecimals),
            ("1,23.00", MisplacedSeparator),
            ("1234,567", MisplacedSeparator),
            (",123", MisplacedSeparator),
            ("1,2345", MisplacedSeparator),
            ("1.", MissingDigits),
            (".5", MissingDigits),
            ("1e3", InvalidCharacter('e')),
            ("12 3", InvalidCharacter(' ')),
            ("1.5元", InvalidCharacter('元')),
            ("1.-5", InvalidCharacter('-')),
            ("--1", InvalidCharacter('-')),
            ("99999999999999999999", Overflow),
            ("92233720368547758.08", Overflow),
        ];
        for (text, expected) in cases {
            assert_eq!(Fen::parse_yuan(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn formats_with_symbol_separators_and_two_decimals() {
        assert_eq!(Fen::new(123_450).to_string(), "¥1,234.50");
        assert_eq!(Fen::new(5).to_string(), "¥0.05");
        assert_eq!(Fen::new(0).to_string(), "¥0.00");
        assert_eq!(Fen::new(100_000_000).to_string(), "¥1,000,000.00");
        assert_eq!(Fen::new(-99_999).to_string(), "-¥999.99");
        assert_eq!(Fen::new(12_345).to_plain_yuan(), "123.45");
        assert_eq!(Fen::new(-7).to_plain_yuan(), "-0.07");
    }

    #[test]
    fn formatting_then_parsing_gives_the_same_amount() {
        for fen in [0, 1, 99, 100, 123_456_789, -5, i64::MAX, i64::MIN + 1] {
            let amount = Fen::new(fen);
            assert_eq!(Fen::parse_yuan(&amount.to_string()), Ok(amount));
            assert_eq!(Fen::parse_yuan(&amount.to_plain_yuan()), Ok(amount));
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Fen::new(1).checked_add(Fen::new(2)), Ok(Fen::new(3)));
        assert_eq!(
            Fen::new(i64::MAX).checked_add(Fen::new(1)),
            Err(MoneyOverflow)
        );
        assert_eq!(
            Fen::new(i64::MIN).checked_sub(Fen::new(1)),
            Err(MoneyOverflow)
        );
        assert_eq!(Fen::new(i64::MIN).checked_neg(), Err(MoneyOverflow));
        assert_eq!(Fen::from_yuan(i64::MAX / 10), Err(MoneyOverflow));
        assert_eq!(Fen::from_yuan(3), Ok(Fen::new(300)));
    }

    #[test]
    fn daxie_matches_the_vectors_in_domain_md() {
        let cases = [
            (140_950, "人民币壹仟肆佰零玖元伍角"),
            (600_714, "人民币陆仟零柒元壹角肆分"),
            // domain.md: the 零 between 元 and 伍角 is optional; we omit it.
            (10_700_053, "人民币壹拾万柒仟元伍角叁分"),
            (1_640_902, "人民币壹万陆仟肆佰零玖元零贰分"),
            (32_504, "人民币叁佰贰拾伍元零肆分"),
            (53_200, "人民币伍佰叁拾贰元整"),
            (100_010_000, "人民币壹佰万零壹佰元整"),
        ];
        for (fen, expected) in cases {
            assert_eq!(Fen::new(fen).to_daxie(), expected, "{fen}");
        }
    }

    #[test]
    fn daxie_handles_zero_small_and_large_amounts() {
        let cases = [
            (0, "人民币零元整"),
            (5, "人民币伍分"),
            (50, "人民币伍角"),
            (55, "人民币伍角伍分"),
            (100, "人民币壹元整"),
            (1_000, "人民币壹拾元整"),
            (100_000_000, "人民币壹佰万元整"),
            (10_000_000_000, "人民币壹亿元整"),
            (10_001_000_000, "人民币壹亿零壹万元整"),
            (10_000_000_100, "人民币壹亿零壹元整"),
            (10_000_100_000, "人民币壹亿零壹仟元整"),
            (10_000_000, "人民币壹拾万元整"),
            (1_001_000_000, "人民币壹仟零壹万元整"),
            (101_010_000, "人民币壹佰零壹万零壹佰元整"),
            (-250, "人民币负贰元伍角"),
        ];
        for (fen, expected) in cases {
            assert_eq!(Fen::new(fen).to_daxie(), expected, "{fen}");
        }
        // The largest amount still renders with the known group units.
        assert!(
            Fen::new(i64::MAX)
                .to_daxie()
                .starts_with("人民币玖亿亿贰仟贰佰叁拾叁万亿柒仟贰佰零叁亿")
        );
    }
}

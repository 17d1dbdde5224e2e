//! The short code under a rotating QR (docs/token-format.md "Short
//! codes"): 10 digits a clerk can type when the camera fails — 9 random
//! digits and a Luhn check digit, shown as `1234 5678 90`. The code only
//! points at the presentation it was made with (the server keeps the
//! pair for the presentation's minute), so it carries no authority of its
//! own: a typed code is read exactly like the scanned presentation.

/// Digits in a code, the check digit included.
pub const SHORT_CODE_DIGITS: usize = 10;
/// How many different codes there are (the check digit adds none).
pub const SHORT_CODE_SPACE: u64 = 1_000_000_000;

/// The Luhn check digit of `digits` (each 0–9).
fn luhn_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// The code for `random` (taken modulo the code space): 9 digits and
/// their check digit.
pub fn short_code(random: u64) -> String {
    let body = format!("{:09}", random % SHORT_CODE_SPACE);
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    format!("{body}{}", luhn_digit(&digits))
}

/// The code in `text` if it is one (spaces and dashes allowed between
/// digits, as it is shown or read out): `None` for anything else,
/// including a wrong check digit — one mistyped digit or two swapped
/// neighbours never reach another holder's code.
pub fn parse_short_code(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != SHORT_CODE_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let values: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let (body, check) = values.split_at(SHORT_CODE_DIGITS - 1);
    (luhn_digit(body) == check[0]).then_some(digits)
}

/// The code as shown under the QR: `1234 5678 90`.
pub fn display(code: &str) -> String {
    format!("{} {} {}", &code[..4], &code[4..8], &code[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_a_luhn_digit_that_catches_one_typo_and_swaps() {
        let code = short_code(123_456_789);
        assert_eq!(code.len(), 10);
        assert_eq!(parse_short_code(&code).as_deref(), Some(code.as_str()));
        assert_eq!(
            parse_short_code(&display(&code)).as_deref(),
            Some(code.as_str())
        );
        // Every single-digit change is refused.
        for i in 0..10 {
            for d in b'0'..=b'9' {
                let mut typo = code.clone().into_bytes();
                if typo[i] == d {
                    continue;
                }
                typo[i] = d;
                assert_eq!(parse_short_code(std::str::from_utf8(&typo).unwrap()), None);
            }
        }
        // Swapping two different neighbours is refused (Luhn misses 0↔9 only).
        let swapped: String = {
            let mut b = short_code(120_000_000).into_bytes();
            b.swap(0, 1);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(parse_short_code(&swapped), None);
        assert_eq!(short_code(7).len(), 10, "leading zeros are kept");
        assert_eq!(parse_short_code("12345"), None);
        assert_eq!(parse_short_code("12345678901"), None);
        assert_eq!(parse_short_code("abcdefghij"), None);
    }
}

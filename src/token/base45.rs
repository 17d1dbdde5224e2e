//! Base45 (RFC 9285): bytes as text in the QR code alphanumeric alphabet.
//!
//! QR codes store the 45-character alphanumeric set (0–9, A–Z, space,
//! `$%*+-./:`) at 5.5 bits per character instead of 8 for bytes, so a
//! base45 voucher makes a smaller, easier-to-scan QR code (the EU digital
//! COVID certificates chose it for the same reason).

/// The alphabet, in value order.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    #[error("character {0:?} is not in the base45 alphabet")]
    InvalidCharacter(char),
    #[error("a base45 text cannot have a length of 1 modulo 3")]
    InvalidLength,
    #[error("a base45 group encodes a value above its byte range")]
    Overflow,
}

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    for pair in bytes.chunks(2) {
        let (mut value, digits) = match pair {
            [a, b] => (u32::from(*a) * 256 + u32::from(*b), 3),
            [a] => (u32::from(*a), 2),
            _ => unreachable!("chunks(2) yields one or two bytes"),
        };
        for _ in 0..digits {
            out.push(ALPHABET[(value % 45) as usize] as char);
            value /= 45;
        }
    }
    out
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let values: Vec<u32> = text
        .chars()
        .map(|ch| {
            ALPHABET
                .iter()
                .position(|b| *b as char == ch)
                .map(|p| p as u32)
                .ok_or(Base45Error::InvalidCharacter(ch))
        })
        .collect::<Result<_, _>>()?;
    if values.len() % 3 == 1 {
        return Err(Base45Error::InvalidLength);
    }
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for group in values.chunks(3) {
        match group {
            [c, d, e] => {
                let value = c + d * 45 + e * 45 * 45;
                if value > 0xFFFF {
                    return Err(Base45Error::Overflow);
                }
                out.push((value >> 8) as u8);
                out.push((value & 0xFF) as u8);
            }
            [c, d] => {
                let value = c + d * 45;
                if value > 0xFF {
                    return Err(Base45Error::Overflow);
                }
                out.push(value as u8);
            }
            _ => return Err(Base45Error::InvalidLength),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rfc_9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(encode(b""), "");
    }

    #[test]
    fn malformed_text_is_refused() {
        assert_eq!(
            decode("BB"),
            Err(Base45Error::Overflow),
            "11 + 11·45 is above 255"
        );
        assert_eq!(decode("A"), Err(Base45Error::InvalidLength));
        assert_eq!(decode("ABCD"), Err(Base45Error::InvalidLength));
        assert_eq!(decode("ab"), Err(Base45Error::InvalidCharacter('a')));
        assert_eq!(
            decode("GGW"),
            Err(Base45Error::Overflow),
            "45³−1 is above 65535"
        );
        assert_eq!(
            decode("::"),
            Err(Base45Error::Overflow),
            "44 + 44·45 is above 255"
        );
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = encode(&bytes);
            prop_assert!(text.bytes().all(|b| ALPHABET.contains(&b)));
            prop_assert_eq!(decode(&text).unwrap(), bytes);
        }
    }
}

//! Sealed personal fields (docs/personal-data.md "How a field is sealed"):
//! each subject (an enterprise, a user) has its own 32-byte data key; a
//! field is sealed with XChaCha20-Poly1305 under it, the subject and the
//! field's name as associated data, and a synthetic nonce (HMAC-SHA-256 of
//! the subject, field and value under the data key) — so a value seals to
//! the same text every time (a retry writes the same entry), and nothing
//! but the ciphertext reaches the ledger. Data keys are wrapped by the
//! master key, which never enters the database. Pure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Every sealed field starts with this (format version 1).
pub const SEALED_PREFIX: &str = "pd1:";
const NONCE_BYTES: usize = 24;

/// Why a sealed field or a wrapped key does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed field")]
    Malformed,
    #[error("the field does not open under this key (wrong key, subject or field, or changed)")]
    Forged,
}

/// A subject's data key.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(bytes)
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> DataKey {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        DataKey(bytes)
    }
}

/// The master key: wraps every data key; kept in a file or the
/// environment, never in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(key: [u8; 32]) -> MasterKey {
        // Its id: the first 8 bytes of SHA-256 of "master key" ‖ key, hex.
        let mut hasher = Sha256::new();
        hasher.update(b"voucher-ledger personal data master key");
        hasher.update(key);
        let id = crate::ledger::entry::to_hex(&hasher.finalize()[..8]);
        MasterKey { key, id }
    }

    pub fn generate() -> MasterKey {
        MasterKey::from_bytes(DataKey::generate().0)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key
    }

    /// `data` wrapped for `subject`: a random nonce ‖ ciphertext.
    pub fn wrap(&self, subject: &str, data: &DataKey) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &data.0,
                    aad: &aad(subject, "data key"),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any 32 bytes");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn unwrap(&self, subject: &str, wrapped: &[u8]) -> Result<DataKey, SealError> {
        if wrapped.len() != NONCE_BYTES + 32 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let bytes = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad(subject, "data key"),
                },
            )
            .map_err(|_| SealError::Forged)?;
        Ok(DataKey(bytes.try_into().map_err(|_| SealError::Forged)?))
    }
}

/// The associated data: subject ‖ 0x00 ‖ field.
fn aad(subject: &str, field: &str) -> Vec<u8> {
    [subject.as_bytes(), &[0], field.as_bytes()].concat()
}

/// Seals `value` of `subject`'s `field` (deterministic: the same value
/// seals to the same text).
pub fn seal(key: &DataKey, subject: &str, field: &str, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(&aad(subject, field));
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let synthetic = mac.finalize().into_bytes();
    let nonce = &synthetic[..NONCE_BYTES];
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: value.as_bytes(),
                aad: &aad(subject, field),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any bounded text");
    format!(
        "{SEALED_PREFIX}{}",
        URL_SAFE_NO_PAD.encode([nonce, &sealed].concat())
    )
}

/// Whether `text` is a sealed field (else: plain text, from before sealing).
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

/// Opens a sealed field.
pub fn open(key: &DataKey, subject: &str, field: &str, text: &str) -> Result<String, SealError> {
    let encoded = text
        .strip_prefix(SEALED_PREFIX)
        .ok_or(SealError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| SealError::Malformed)?;
    if bytes.len() < NONCE_BYTES + 16 {
        return Err(SealError::Malformed);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad(subject, field),
            },
        )
        .map_err(|_| SealError::Forged)?;
    String::from_utf8(plain).map_err(|_| SealError::Forged)
}

/// A phone number or other long digit run masked for people who need only
/// to recognise it: every run of 7 or more digits keeps its first 3 and
/// last 4 (138****1234); a name keeps its first character (王**).
pub fn mask(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut masked_name = false;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '-') {
                i += 1;
            }
            let run: Vec<char> = chars[start..i].to_vec();
            let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
            if digits >= 7 {
                let mut seen = 0;
                for c in run {
                    if c.is_ascii_digit() {
                        seen += 1;
                        out.push(if seen <= 3 || seen > digits - 4 {
                            c
                        } else {
                            '*'
                        });
                    } else {
                        out.push(c);
                    }
                }
            } else {
                out.extend(run);
            }
        } else if !chars[i].is_whitespace() && !chars[i].is_ascii() && !masked_name {
            // A name: its first character, the rest hidden.
            out.push(chars[i]);
            i += 1;
            while i < chars.len() && !chars[i].is_whitespace() && !chars[i].is_ascii_digit() {
                out.push('*');
                i += 1;
            }
            masked_name = true;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_opens_only_under_its_key_subject_and_field() {
        let key = DataKey::from_bytes([1; 32]);
        let sealed = seal(&key, "enterprise:1", "contact", "王经理 13812345678");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("王经理") && !sealed.contains("13812345678"));
        assert_eq!(
            open(&key, "enterprise:1", "contact", &sealed).unwrap(),
            "王经理 13812345678"
        );
        assert_eq!(
            sealed,
            seal(&key, "enterprise:1", "contact", "王经理 13812345678"),
            "deterministic"
        );
        let other = DataKey::from_bytes([2; 32]);
        assert_eq!(
            open(&other, "enterprise:1", "contact", &sealed),
            Err(SealError::Forged)
        );
        assert_eq!(
            open(&key, "enterprise:2", "contact", &sealed),
            Err(SealError::Forged)
        );
        assert_eq!(
            open(&key, "enterprise:1", "name", &sealed),
            Err(SealError::Forged)
        );
        assert_eq!(
            open(&key, "enterprise:1", "contact", "王经理"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn data_keys_are_wrapped_by_the_master_key() {
        let master = MasterKey::from_bytes([9; 32]);
        let data = DataKey::generate();
        let wrapped = master.wrap("enterprise:1", &data);
        assert_eq!(master.unwrap("enterprise:1", &wrapped).unwrap(), data);
        assert_eq!(
            master.unwrap("enterprise:2", &wrapped),
            Err(SealError::Forged)
        );
        assert_eq!(
            MasterKey::from_bytes([8; 32]).unwrap("enterprise:1", &wrapped),
            Err(SealError::Forged)
        );
        assert_eq!(master.id().len(), 16);
        assert!(!format!("{master:?}").contains("0909"));
    }

    #[test]
    fn phones_and_names_are_masked() {
        assert_eq!(mask("13812341234"), "138****1234");
        assert_eq!(mask("王经理 13812341234"), "王** 138****1234");
        assert_eq!(mask("0580-1234567"), "058*-***4567");
        assert_eq!(mask("张伟"), "张*");
        assert_eq!(mask("ext 12"), "ext 12");
    }
}

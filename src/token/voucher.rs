//! Signed vouchers: claims → canonical protobuf payload → Ed25519
//! signature → QR text, and back, strictly.
//!
//! Layout (docs/token-format.md): QR text = `VL1:` + base45(token), token =
//! u16 big-endian payload length ‖ payload ‖ 64-byte signature. The
//! signature covers the exact payload bytes; the payload must be the
//! canonical encoding of `VoucherPayload`.

use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use prost::Message;
use uuid::Uuid;

use super::base45;
use crate::domain::Fen;
use crate::key_id::key_id_for;

/// Messages generated from `proto/voucher_ledger/token/v1/voucher.proto`.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/voucher_ledger.token.v1.rs"));
}

/// The prefix of every voucher's QR text (format version 1).
pub const QR_PREFIX: &str = "VL1:";
/// Bound on a payload, so a QR code stays scannable and parsing bounded.
pub const PAYLOAD_BYTES_MAX: usize = 1024;
pub const SIGNATURE_BYTES: usize = 64;

/// What a voucher says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherClaims {
    pub voucher_id: Uuid,
    pub programme_code: String,
    pub enterprise_uscc: String,
    pub face_value: Fen,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub service_categories: Vec<String>,
    pub issued_sequence: u64,
    pub key_id: String,
}

/// Why a voucher text is refused. Each has its own stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a voucher code")]
    Malformed,
    #[error("the voucher was signed by an unknown key")]
    UnknownKey,
    #[error("the voucher was signed by a revoked key")]
    RevokedKey,
    #[error("the voucher's signature does not verify")]
    BadSignature,
    #[error("the voucher expired on {0}")]
    Expired(NaiveDate),
    #[error("the voucher is valid only from {0}")]
    NotYetValid(NaiveDate),
    #[error("the code on the phone expired: have the enterprise refresh its QR, then scan again")]
    PresentationExpired,
    #[error("the presentation is dated in the future; check the clock")]
    PresentationNotYetValid,
}

impl TokenError {
    /// The reason in Chinese, for people at the counter.
    pub fn message_zh(&self) -> String {
        match self {
            TokenError::Malformed => "这不是补贴券码".into(),
            TokenError::UnknownKey => "补贴券由未知密钥签发".into(),
            TokenError::RevokedKey => "补贴券的签发密钥已被吊销".into(),
            TokenError::BadSignature => "补贴券签名校验失败".into(),
            TokenError::Expired(on) => format!("补贴券已于 {on} 过期"),
            TokenError::NotYetValid(from) => format!("补贴券自 {from} 起方可使用"),
            TokenError::PresentationExpired => "二维码已过期：请企业刷新二维码后重新扫码".into(),
            TokenError::PresentationNotYetValid => "出示码时间晚于当前时间，请检查设备时钟".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed => "token_malformed",
            TokenError::UnknownKey => "token_unknown_key",
            TokenError::RevokedKey => "token_key_revoked",
            TokenError::BadSignature => "token_signature_invalid",
            TokenError::Expired(_) => "voucher_expired",
            TokenError::NotYetValid(_) => "voucher_not_yet_valid",
            TokenError::PresentationExpired => "presentation_expired",
            TokenError::PresentationNotYetValid => "presentation_not_yet_valid",
        }
    }
}

impl VoucherClaims {
    /// The canonical payload bytes.
    pub fn to_payload(&self) -> Vec<u8> {
        pb::VoucherPayload {
            voucher_id: self.voucher_id.as_bytes().to_vec(),
            programme_code: self.programme_code.clone(),
            enterprise_uscc: self.enterprise_uscc.clone(),
            face_value_fen: self.face_value.as_fen(),
            valid_from: self.valid_from.to_string(),
            valid_until: self.valid_until.to_string(),
            service_categories: self.service_categories.clone(),
            issued_sequence: self.issued_sequence,
            key_id: self.key_id.clone(),
        }
        .encode_to_vec()
    }

    /// Reads payload bytes, refusing anything but the canonical encoding of
    /// a well-formed voucher.
    pub fn from_payload(bytes: &[u8]) -> Result<VoucherClaims, TokenError> {
        let message = pb::VoucherPayload::decode(bytes).map_err(|_| TokenError::Malformed)?;
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| TokenError::Malformed)
        };
        let claims = VoucherClaims {
            voucher_id: Uuid::from_slice(&message.voucher_id).map_err(|_| TokenError::Malformed)?,
            programme_code: message.programme_code,
            enterprise_uscc: message.enterprise_uscc,
            face_value: Fen::new(message.face_value_fen),
            valid_from: date(&message.valid_from)?,
            valid_until: date(&message.valid_until)?,
            service_categories: message.service_categories,
            issued_sequence: message.issued_sequence,
            key_id: message.key_id,
        };
        if claims.to_payload() != bytes
            || !claims.face_value.is_positive()
            || claims.valid_until < claims.valid_from
        {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }
}

/// Signs `claims` (whose `key_id` must be the key's) and returns the QR text.
pub fn sign(claims: &VoucherClaims, key: &SigningKey) -> String {
    debug_assert_eq!(
        claims.key_id,
        key_id_for(&key.verifying_key()),
        "claims name the signing key"
    );
    format!(
        "{QR_PREFIX}{}",
        base45::encode(&seal(&claims.to_payload(), key))
    )
}

/// The Ed25519 signature a voucher's token carries: over the payload bytes.
pub fn signature_of(claims: &VoucherClaims, key: &SigningKey) -> [u8; SIGNATURE_BYTES] {
    key.sign(&claims.to_payload()).to_bytes()
}

/// Whether `signature` is `key`'s strict Ed25519 signature of the claims'
/// payload.
pub fn signature_verifies(
    claims: &VoucherClaims,
    signature: &[u8; SIGNATURE_BYTES],
    key: &VerifyingKey,
) -> bool {
    key.verify_strict(&claims.to_payload(), &Signature::from_bytes(signature))
        .is_ok()
}

/// The QR text of `claims` with a signature made earlier (`signature_of`),
/// e.g. as stored with an issued voucher. Equal to `sign`'s output for the
/// same key, since Ed25519 signatures are deterministic.
pub fn assemble(claims: &VoucherClaims, signature: &[u8; SIGNATURE_BYTES]) -> String {
    format!(
        "{QR_PREFIX}{}",
        base45::encode(&envelope(&claims.to_payload(), signature))
    )
}

/// The signed envelope shared by vouchers and presentations: u16
/// big-endian payload length ‖ payload ‖ Ed25519 signature of the payload.
pub(super) fn seal(payload: &[u8], key: &SigningKey) -> Vec<u8> {
    envelope(payload, &key.sign(payload).to_bytes())
}

pub(super) fn envelope(payload: &[u8], signature: &[u8; SIGNATURE_BYTES]) -> Vec<u8> {
    let mut token = Vec::with_capacity(2 + payload.len() + SIGNATURE_BYTES);
    // Payloads are bounded far below 65,535 bytes by their callers.
    token.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    token.extend_from_slice(payload);
    token.extend_from_slice(signature);
    token
}

/// Splits an envelope into its payload (at most `payload_max` bytes) and
/// signature; anything else, trailing bytes included, is malformed.
pub(super) fn unseal(
    token: &[u8],
    payload_max: usize,
) -> Result<(&[u8], [u8; SIGNATURE_BYTES]), TokenError> {
    if token.len() < 2 + SIGNATURE_BYTES {
        return Err(TokenError::Malformed);
    }
    let length = usize::from(u16::from_be_bytes([token[0], token[1]]));
    if length > payload_max || token.len() != 2 + length + SIGNATURE_BYTES {
        return Err(TokenError::Malformed);
    }
    let signature = token[2 + length..]
        .try_into()
        .map_err(|_| TokenError::Malformed)?;
    Ok((&token[2..2 + length], signature))
}

/// The bytes after a QR text's `prefix`, base45-decoded.
pub(super) fn qr_bytes(text: &str, prefix: &str) -> Result<Vec<u8>, TokenError> {
    let encoded = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(TokenError::Malformed)?;
    base45::decode(encoded).map_err(|_| TokenError::Malformed)
}

/// Finds `key_id` among the published keys and checks the signature
/// strictly: unknown and revoked keys each have their own refusal.
pub(super) fn check_signature(
    key_id: &str,
    payload: &[u8],
    signature: &[u8; SIGNATURE_BYTES],
    lookup: &impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
) -> Result<(), TokenError> {
    let (key, status) = lookup(key_id).ok_or(TokenError::UnknownKey)?;
    if key_id_for(&key) != key_id {
        return Err(TokenError::UnknownKey);
    }
    if status == KeyStatus::Revoked {
        return Err(TokenError::RevokedKey);
    }
    key.verify_strict(payload, &Signature::from_bytes(signature))
        .map_err(|_| TokenError::BadSignature)
}

/// The status of an issuer key, as published (defined with the domain
/// types: the store decodes it too).
pub use crate::domain::key_status::KeyStatus;

/// Reads a token's claims without checking its signature: for tools that
/// only need to know the text is a well-formed voucher (drawing its QR
/// code). Anything that trusts the claims must use [`verify`].
pub fn parse_unverified(text: &str) -> Result<VoucherClaims, TokenError> {
    let token = qr_bytes(text, QR_PREFIX)?;
    let (payload, _) = unseal(&token, PAYLOAD_BYTES_MAX)?;
    VoucherClaims::from_payload(payload)
}

/// Verifies a voucher's QR text with the published keys (`lookup` by key
/// id) on `today` (UTC+8): the format, the key, the strict Ed25519
/// signature over the exact payload bytes, then the validity dates.
pub fn verify(
    text: &str,
    lookup: impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
    today: NaiveDate,
) -> Result<VoucherClaims, TokenError> {
    verify_token(&qr_bytes(text, QR_PREFIX)?, &lookup, today)
}

/// [`verify`] on a voucher's envelope bytes (as a presentation carries them).
pub(super) fn verify_token(
    token: &[u8],
    lookup: &impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
    today: NaiveDate,
) -> Result<VoucherClaims, TokenError> {
    let (payload, signature) = unseal(token, PAYLOAD_BYTES_MAX)?;
    let claims = VoucherClaims::from_payload(payload)?;
    check_signature(&claims.key_id, payload, &signature, lookup)?;
    if today < claims.valid_from {
        return Err(TokenError::NotYetValid(claims.valid_from));
    }
    if today > claims.valid_until {
        return Err(TokenError::Expired(claims.valid_until));
    }
    Ok(claims)
}

/// The canonical encodings of the eight points of small order on
/// edwards25519 (docs/token-format.md, "Verifying"). A strict verifier
/// refuses them as public keys and as a signature's R: with such a key,
/// R = the identity and S = 0 verify for many messages under a lax
/// verifier (OpenSSL, Python `cryptography`). `verify_strict` refuses them
/// itself; the list is published for verifiers that do not.
pub const SMALL_ORDER_ENCODINGS: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    #[test]
    fn the_published_small_order_encodings_are_weak_keys_that_verify_nothing() {
        let forged = {
            let mut bytes = [0u8; 64];
            bytes[0] = 1; // R = the identity, S = 0
            bytes
        };
        for hex in SMALL_ORDER_ENCODINGS {
            let bytes: [u8; 32] = (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect::<Vec<_>>()
                .try_into()
                .unwrap();
            // "0…080" (x = 0 with the sign bit set) is not even a valid
            // encoding; every other one decodes to a point of small order.
            let Ok(weak) = VerifyingKey::from_bytes(&bytes) else {
                assert_eq!(hex, SMALL_ORDER_ENCODINGS[2]);
                continue;
            };
            assert!(weak.is_weak(), "{hex}");
            let mut forged_claims = claims();
            forged_claims.key_id = crate::key_id::key_id_for(&weak);
            assert!(!signature_verifies(&forged_claims, &forged, &weak), "{hex}");
        }
    }

    fn claims() -> VoucherClaims {
        VoucherClaims {
            voucher_id: Uuid::parse_str("01a21208-1234-7abc-8def-0123456789ab").unwrap(),
            programme_code: "ZS2026-01".into(),
            enterprise_uscc: "91330902MA00000153".into(),
            face_value: Fen::new(500_000),
            valid_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
            service_categories: vec!["管理咨询".into(), "检验检测".into()],
            issued_sequence: 42,
            key_id: key_id_for(&key().verifying_key()),
        }
    }

    fn lookup(status: KeyStatus) -> impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)> {
        move |id: &str| {
            (id == key_id_for(&key().verifying_key())).then(|| (key().verifying_key(), status))
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
    }

    #[test]
    fn a_stored_signature_rebuilds_the_signed_token() {
        let signature = signature_of(&claims(), &key());
        assert_eq!(assemble(&claims(), &signature), sign(&claims(), &key()));
        let mut other = claims();
        other.face_value = Fen::new(1);
        assert!(
            verify(
                &assemble(&other, &signature),
                lookup(KeyStatus::Active),
                today()
            )
            .is_err()
        );
    }

    #[test]
    fn a_signed_voucher_verifies_and_its_text_is_qr_alphanumeric() {
        let text = sign(&claims(), &key());
        assert!(text.starts_with("VL1:"));
        assert!(
            text.bytes()
                .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b))
        );
        assert_eq!(
            verify(&text, lookup(KeyStatus::Active), today()),
            Ok(claims())
        );
        assert_eq!(
            verify(&text, lookup(KeyStatus::Retired), today()),
            Ok(claims()),
            "retired keys still verify"
        );
    }

    #[test]
    fn changing_any_single_byte_of_the_token_fails() {
        let text = sign(&claims(), &key());
        let token = base45::decode(&text[4..]).unwrap();
        for index in 0..token.len() {
            let mut changed = token.clone();
            changed[index] ^= 0x01;
            let tampered = format!("VL1:{}", base45::encode(&changed));
            assert!(
                verify(&tampered, lookup(KeyStatus::Active), today()).is_err(),
                "byte {index}"
            );
        }
    }

    #[test]
    fn each_refusal_has_its_own_code() {
        let text = sign(&claims(), &key());
        let stranger = SigningKey::from_bytes(&[8; 32]);
        let unknown = |_: &str| None;
        assert_eq!(
            verify(&text, unknown, today()).unwrap_err().code(),
            "token_unknown_key"
        );
        assert_eq!(
            verify(&text, lookup(KeyStatus::Revoked), today())
                .unwrap_err()
                .code(),
            "token_key_revoked"
        );
        let wrong_key = |_: &str| Some((stranger.verifying_key(), KeyStatus::Active));
        assert_eq!(
            verify(&text, wrong_key, today()).unwrap_err().code(),
            "token_unknown_key",
            "id must match the key"
        );
        let late = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        assert_eq!(
            verify(&text, lookup(KeyStatus::Active), late)
                .unwrap_err()
                .code(),
            "voucher_expired"
        );
        let early = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(
            verify(&text, lookup(KeyStatus::Active), early)
                .unwrap_err()
                .code(),
            "voucher_not_yet_valid"
        );
        for junk in ["", "VL1:", "VL2:BB8", "hello", "VL1:%69 VD92EX0"] {
            assert_eq!(
                verify(junk, lookup(KeyStatus::Active), today())
                    .unwrap_err()
                    .code(),
                "token_malformed",
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_signature_by_another_key_under_this_key_id_fails() {
        let stranger = SigningKey::from_bytes(&[8; 32]);
        let forged = sign_unchecked(&claims(), &stranger);
        assert_eq!(
            verify(&forged, lookup(KeyStatus::Active), today())
                .unwrap_err()
                .code(),
            "token_signature_invalid"
        );
    }

    /// Signs without the key-id check, as a forger would.
    fn sign_unchecked(claims: &VoucherClaims, key: &SigningKey) -> String {
        let payload = claims.to_payload();
        let mut token = (payload.len() as u16).to_be_bytes().to_vec();
        token.extend_from_slice(&payload);
        token.extend_from_slice(&key.sign(&payload).to_bytes());
        format!("{QR_PREFIX}{}", base45::encode(&token))
    }
}

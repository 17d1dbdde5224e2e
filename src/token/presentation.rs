//! Presentations: what an enterprise's phone shows in a programme's
//! `rotating` QR mode. A presentation wraps the signed voucher with a
//! random nonce and a lifetime of at most 120 seconds, and is itself signed
//! by the issuer's active key, so a screenshot is useless once it expires
//! and a redemption can accept each presentation once (by its nonce).
//! In `static` mode the voucher's own `VL1:` text is shown instead.
//!
//! QR text: `VP1:` + base45(u16 length ‖ PresentationPayload ‖ Ed25519
//! signature), the same envelope as a voucher (docs/token-format.md).
//! Pure: the caller supplies keys, the clock and the nonce.

use chrono::NaiveDate;
use ed25519_dalek::{SigningKey, VerifyingKey};
use prost::Message;

use super::voucher::{
    KeyStatus, PAYLOAD_BYTES_MAX, QR_PREFIX, TokenError, VoucherClaims, check_signature, pb,
    qr_bytes, seal, unseal, verify_token,
};
use crate::key_id::key_id_for;

/// The prefix of every presentation's QR text (format version 1).
pub const PRESENTATION_PREFIX: &str = "VP1:";
/// Longest a presentation may live, in seconds.
pub const LIFETIME_SECONDS_MAX: i64 = 120;
/// How far a presentation may be dated ahead of the verifier's clock.
pub const CLOCK_SKEW_SECONDS: i64 = 30;
/// Bytes of a presentation's nonce.
pub const NONCE_BYTES: usize = 16;
/// A presentation payload holds a whole voucher token plus a little more.
const PRESENTATION_BYTES_MAX: usize = PAYLOAD_BYTES_MAX + 256;

/// A verified presentation: the voucher it wraps, and what a redemption
/// must record so that it is accepted only once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub voucher: VoucherClaims,
    pub nonce: [u8; NONCE_BYTES],
    /// Unix seconds after which it is refused.
    pub expires_at: i64,
}

/// Wraps a voucher's QR text into a presentation signed by `key`, made at
/// `now` (Unix seconds) and living `lifetime` seconds (1 to 120).
pub fn present(
    voucher_text: &str,
    key: &SigningKey,
    nonce: [u8; NONCE_BYTES],
    now: i64,
    lifetime: i64,
) -> Result<String, TokenError> {
    if !(1..=LIFETIME_SECONDS_MAX).contains(&lifetime) {
        return Err(TokenError::Malformed);
    }
    let voucher_token = qr_bytes(voucher_text, QR_PREFIX)?;
    unseal(&voucher_token, PAYLOAD_BYTES_MAX)?;
    let payload = pb::PresentationPayload {
        voucher_token,
        nonce: nonce.to_vec(),
        issued_at: now,
        expires_at: now + lifetime,
        key_id: key_id_for(&key.verifying_key()),
    }
    .encode_to_vec();
    Ok(format!(
        "{PRESENTATION_PREFIX}{}",
        super::base45::encode(&seal(&payload, key))
    ))
}

/// A presentation's parts, well formed but not yet verified.
struct Decoded {
    payload: Vec<u8>,
    signature: [u8; super::voucher::SIGNATURE_BYTES],
    message: pb::PresentationPayload,
    nonce: [u8; NONCE_BYTES],
}

fn decode(text: &str) -> Result<Decoded, TokenError> {
    let token = qr_bytes(text, PRESENTATION_PREFIX)?;
    let (payload, signature) = unseal(&token, PRESENTATION_BYTES_MAX)?;
    let message = pb::PresentationPayload::decode(payload).map_err(|_| TokenError::Malformed)?;
    let nonce: [u8; NONCE_BYTES] = message
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| TokenError::Malformed)?;
    let lifetime = message.expires_at.saturating_sub(message.issued_at);
    if message.encode_to_vec() != payload || !(1..=LIFETIME_SECONDS_MAX).contains(&lifetime) {
        return Err(TokenError::Malformed);
    }
    Ok(Decoded {
        payload: payload.to_vec(),
        signature,
        message,
        nonce,
    })
}

/// What a presentation claims, unverified: for reports that name the keys
/// involved even when verification fails. Trust only [`verify_presentation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationClaims {
    /// The wrapped voucher, if its envelope is well formed.
    pub voucher: Option<VoucherClaims>,
    /// The key that signed the presentation.
    pub key_id: String,
    pub expires_at: i64,
    /// What makes it single-use: trust it only once the presentation
    /// verified.
    pub nonce: [u8; NONCE_BYTES],
}

/// Reads a presentation without checking either signature.
pub fn parse_presentation_unverified(text: &str) -> Result<PresentationClaims, TokenError> {
    let decoded = decode(text)?;
    let voucher = unseal(&decoded.message.voucher_token, PAYLOAD_BYTES_MAX)
        .ok()
        .and_then(|(payload, _)| VoucherClaims::from_payload(payload).ok());
    Ok(PresentationClaims {
        voucher,
        key_id: decoded.message.key_id,
        expires_at: decoded.message.expires_at,
        nonce: decoded.nonce,
    })
}

/// Verifies a presentation at `now` (Unix seconds; `today` is its date in
/// UTC+8): its envelope and lifetime, the presenting key and signature,
/// the voucher inside exactly as [`super::voucher::verify`] would, and
/// last the presentation's time window — so `presentation_expired` means
/// both signatures verified and only the presentation is stale.
pub fn verify_presentation(
    text: &str,
    lookup: impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)>,
    now: i64,
    today: NaiveDate,
) -> Result<Presented, TokenError> {
    let Decoded {
        payload,
        signature,
        message,
        nonce,
    } = decode(text)?;
    check_signature(&message.key_id, &payload, &signature, &lookup)?;
    let voucher = verify_token(&message.voucher_token, &lookup, today)?;
    if now > message.expires_at {
        return Err(TokenError::PresentationExpired);
    }
    if message.issued_at > now + CLOCK_SKEW_SECONDS {
        return Err(TokenError::PresentationNotYetValid);
    }
    Ok(Presented {
        voucher,
        nonce,
        expires_at: message.expires_at,
    })
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::domain::Fen;
    use crate::token::voucher::sign;

    const NOW: i64 = 1_780_000_000; // 2026-05-29, UTC+8

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 29).unwrap()
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn voucher(signer: &SigningKey) -> String {
        let claims = crate::token::fixtures::claims(signer, 300_000, "检验检测");
        sign(&claims, signer)
    }

    fn published(
        keys: Vec<(SigningKey, KeyStatus)>,
    ) -> impl Fn(&str) -> Option<(VerifyingKey, KeyStatus)> {
        move |id| {
            keys.iter()
                .find(|(k, _)| key_id_for(&k.verifying_key()) == id)
                .map(|(k, status)| (k.verifying_key(), *status))
        }
    }

    #[test]
    fn a_fresh_presentation_yields_its_voucher_and_nonce() {
        let (old, new) = (key(1), key(2));
        let text = present(&voucher(&old), &new, [5; 16], NOW, 120).unwrap();
        assert!(text.starts_with(PRESENTATION_PREFIX));
        let keys = published(vec![(old, KeyStatus::Retired), (new, KeyStatus::Active)]);
        let presented = verify_presentation(&text, &keys, NOW + 120, today()).unwrap();
        assert_eq!(presented.nonce, [5; 16]);
        assert_eq!(presented.expires_at, NOW + 120);
        assert_eq!(presented.voucher.face_value, Fen::new(300_000));
    }

    #[test]
    fn a_presentation_is_refused_after_its_lifetime_or_far_ahead_of_the_clock() {
        let signer = key(1);
        let text = present(&voucher(&signer), &signer, [5; 16], NOW, 60).unwrap();
        let keys = published(vec![(signer, KeyStatus::Active)]);
        assert_eq!(
            verify_presentation(&text, &keys, NOW + 61, today()),
            Err(TokenError::PresentationExpired)
        );
        assert_eq!(
            verify_presentation(&text, &keys, NOW - CLOCK_SKEW_SECONDS - 1, today()),
            Err(TokenError::PresentationNotYetValid)
        );
        assert!(verify_presentation(&text, &keys, NOW - CLOCK_SKEW_SECONDS, today()).is_ok());
    }

    #[test]
    fn lifetimes_beyond_120_seconds_cannot_be_made() {
        let signer = key(1);
        let voucher = voucher(&signer);
        for lifetime in [0, 121, -5] {
            assert_eq!(
                present(&voucher, &signer, [5; 16], NOW, lifetime),
                Err(TokenError::Malformed)
            );
        }
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let signer = key(1);
        let text = present(&voucher(&signer), &signer, [5; 16], NOW, 120).unwrap();
        let keys = published(vec![(signer, KeyStatus::Active)]);
        let token = qr_bytes(&text, PRESENTATION_PREFIX).unwrap();
        for index in 0..token.len() {
            let mut changed = token.clone();
            changed[index] ^= 0x01;
            let changed = format!(
                "{PRESENTATION_PREFIX}{}",
                super::super::base45::encode(&changed)
            );
            assert!(
                verify_presentation(&changed, &keys, NOW, today()).is_err(),
                "byte {index}"
            );
        }
    }

    #[test]
    fn a_revoked_or_unknown_presenting_key_and_a_bad_voucher_are_refused() {
        let (issuer, stranger) = (key(1), key(3));
        let voucher = voucher(&issuer);
        let by_stranger = present(&voucher, &stranger, [5; 16], NOW, 120).unwrap();
        let keys = published(vec![(issuer.clone(), KeyStatus::Active)]);
        assert_eq!(
            verify_presentation(&by_stranger, &keys, NOW, today()),
            Err(TokenError::UnknownKey)
        );
        let revoked = published(vec![(issuer.clone(), KeyStatus::Revoked)]);
        let own = present(&voucher, &issuer, [5; 16], NOW, 120).unwrap();
        assert_eq!(
            verify_presentation(&own, &revoked, NOW, today()),
            Err(TokenError::RevokedKey)
        );
        // A genuine presentation of a voucher that has expired.
        let late = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        assert!(matches!(
            verify_presentation(&own, &keys, NOW, late),
            Err(TokenError::Expired(_))
        ));
        // The voucher's own text is not a presentation, nor the reverse.
        assert_eq!(
            verify_presentation(&voucher, &keys, NOW, today()),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            crate::token::voucher::verify(&own, &keys, today()),
            Err(TokenError::Malformed)
        );
    }
}

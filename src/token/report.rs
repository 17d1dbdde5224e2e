//! The verification report anyone may ask for — a provider at the counter,
//! an auditor, a journalist: is this voucher genuine, which key signed it,
//! is that key still trusted, and what does the voucher say. One report
//! serves `POST /api/v1/tokens/verify` and `voucher-ledger token verify`,
//! so both answer the same way. It reads a voucher (`VL1:`) or a rotating
//! presentation of one (`VP1:`). Pure: the caller supplies keys and clock.

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::presentation::{
    PRESENTATION_PREFIX, parse_presentation_unverified, verify_presentation,
};
use super::voucher::{KeyStatus, TokenError, VoucherClaims, parse_unverified, verify};
use crate::domain::Timestamp;

/// One published issuer key.
#[derive(Debug, Clone)]
pub struct KnownKey {
    pub key_id: String,
    pub public_key: VerifyingKey,
    pub status: KeyStatus,
}

/// What the voucher says (only when its signature verified).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VoucherFacts {
    pub voucher_id: String,
    pub programme_code: String,
    pub enterprise_uscc: String,
    /// Face value in fen (integer).
    pub face_value_fen: i64,
    /// Face value in 元, two decimals.
    pub face_value_yuan: String,
    /// Face value in Chinese capital numerals (大写).
    pub face_value_daxie: String,
    pub valid_from: String,
    pub valid_until: String,
    pub service_categories: Vec<String>,
    /// Ledger sequence number of the entry that issued it.
    pub issued_sequence: u64,
}

/// The outcome of verifying one token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerificationReport {
    /// What was read: `voucher` (VL1:) or `presentation` (VP1:, rotating mode).
    pub kind: &'static str,
    /// True only for a well-formed token whose strict Ed25519 signature
    /// verifies under a published, unrevoked key, within its validity dates.
    pub valid: bool,
    /// Why not, when not: token_malformed, token_unknown_key,
    /// token_key_revoked, token_signature_invalid, voucher_expired,
    /// voucher_not_yet_valid.
    pub code: Option<&'static str>,
    pub message: String,
    pub message_zh: String,
    /// The key id the voucher names (absent when it is malformed).
    pub key_id: Option<String>,
    /// active, retired, revoked, or unknown (not published here).
    pub key_status: Option<&'static str>,
    /// For a presentation: the key that signed it, and that key's status.
    pub presentation_key_id: Option<String>,
    pub presentation_key_status: Option<&'static str>,
    /// For a presentation: when it stops being accepted (UTC+8).
    pub presentation_expires_at: Option<String>,
    /// True when every signature verified (also for an expired voucher or
    /// presentation, or one not yet valid); false when one did not or could
    /// not be checked.
    pub signature_valid: bool,
    /// The voucher's contents, when its signature verified.
    pub voucher: Option<VoucherFacts>,
    /// The day (UTC+8) the validity dates were checked against.
    pub checked_on: String,
    /// Online only: the voucher's state in this deployment's ledger
    /// (active, reissued, redeemed, expired, revoked), or `unknown` when it
    /// has no such voucher. Absent offline, and when the signature did not
    /// verify under an unrevoked key (the contents cannot be trusted).
    pub voucher_state: Option<String>,
}

impl VerificationReport {
    /// The voucher id whose state an online check should look up: only
    /// when its signature verified under a key that is not revoked.
    pub fn trusted_voucher_id(&self) -> Option<&str> {
        let trusted = self.signature_valid && self.key_status != Some(KeyStatus::Revoked.as_str());
        self.voucher
            .as_ref()
            .filter(|_| trusted)
            .map(|facts| facts.voucher_id.as_str())
    }
}

impl VoucherFacts {
    fn from_claims(claims: &VoucherClaims) -> VoucherFacts {
        VoucherFacts {
            voucher_id: claims.voucher_id.to_string(),
            programme_code: claims.programme_code.clone(),
            enterprise_uscc: claims.enterprise_uscc.clone(),
            face_value_fen: claims.face_value.as_fen(),
            face_value_yuan: claims.face_value.to_plain_yuan(),
            face_value_daxie: claims.face_value.to_daxie(),
            valid_from: claims.valid_from.to_string(),
            valid_until: claims.valid_until.to_string(),
            service_categories: claims.service_categories.clone(),
            issued_sequence: claims.issued_sequence,
        }
    }
}

/// Verifies `text` against `keys` at `now` and reports every finding.
pub fn inspect(text: &str, keys: &[KnownKey], now: Timestamp) -> VerificationReport {
    let today = now.cst_date();
    let lookup = |key_id: &str| {
        keys.iter()
            .find(|key| key.key_id == key_id)
            .map(|key| (key.public_key, key.status))
    };
    let status_of = |key_id: &str| lookup(key_id).map_or("unknown", |(_, status)| status.as_str());
    let is_presentation = text.trim().starts_with(PRESENTATION_PREFIX);
    let (outcome, named, presentation) = if is_presentation {
        let seconds = now.as_micros().div_euclid(1_000_000);
        let outcome = verify_presentation(text, lookup, seconds, today).map(|p| p.voucher);
        let parsed = parse_presentation_unverified(text).ok();
        let named = parsed.as_ref().and_then(|p| p.voucher.clone());
        (outcome, named, parsed)
    } else {
        (
            verify(text, lookup, today),
            parse_unverified(text).ok(),
            None,
        )
    };
    let key_id = named.as_ref().map(|claims| claims.key_id.clone());
    let key_status = key_id.as_deref().map(status_of);
    // Every signature verified exactly when verification got past them:
    // only date checks come after the signatures.
    let signature_valid = matches!(
        outcome,
        Ok(_)
            | Err(TokenError::Expired(_))
            | Err(TokenError::NotYetValid(_))
            | Err(TokenError::PresentationExpired)
            | Err(TokenError::PresentationNotYetValid)
    );
    let voucher = signature_valid
        .then_some(named.as_ref())
        .flatten()
        .map(VoucherFacts::from_claims);
    let (code, message, message_zh) = match &outcome {
        Ok(_) if is_presentation => (
            None,
            "The presentation is current; its voucher is genuine and within its validity dates."
                .to_string(),
            "出示码在有效时间内，补贴券真实有效，且在有效期内。".to_string(),
        ),
        Ok(_) => (
            None,
            "The voucher is genuine and within its validity dates.".to_string(),
            "补贴券真实有效，且在有效期内。".to_string(),
        ),
        Err(error) => (Some(error.code()), error.to_string(), error.message_zh()),
    };
    VerificationReport {
        kind: if is_presentation {
            "presentation"
        } else {
            "voucher"
        },
        valid: outcome.is_ok(),
        code,
        message,
        message_zh,
        key_id,
        key_status,
        presentation_key_status: presentation.as_ref().map(|p| status_of(&p.key_id)),
        presentation_key_id: presentation.as_ref().map(|p| p.key_id.clone()),
        presentation_expires_at: presentation.as_ref().map(|p| {
            Timestamp::from_micros(p.expires_at.saturating_mul(1_000_000)).to_cst_rfc3339()
        }),
        signature_valid,
        voucher,
        checked_on: today.to_string(),
        voucher_state: None,
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::key_id::key_id_for;
    use crate::token::voucher::sign;

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn token() -> String {
        let key = signing_key();
        let claims = crate::token::fixtures::claims(&key, 1_234_500, "法律服务");
        sign(&claims, &key)
    }

    fn keys(status: KeyStatus) -> Vec<KnownKey> {
        let public_key = signing_key().verifying_key();
        vec![KnownKey {
            key_id: key_id_for(&public_key),
            public_key,
            status,
        }]
    }

    /// Noon in UTC+8 on a day of 2026.
    fn day(month: u32, day: u32) -> Timestamp {
        let noon_utc = chrono::NaiveDate::from_ymd_opt(2026, month, day)
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc();
        Timestamp::from_micros(noon_utc.timestamp_micros())
    }

    #[test]
    fn a_presentation_reports_both_keys_and_its_expiry() {
        let key = signing_key();
        let now = day(5, 1);
        let seconds = now.as_micros() / 1_000_000;
        let text =
            crate::token::presentation::present(&token(), &key, [3; 16], seconds, 120).unwrap();
        let report = inspect(&text, &keys(KeyStatus::Active), now);
        assert_eq!(report.kind, "presentation");
        assert!(report.valid, "{report:?}");
        assert_eq!(report.presentation_key_status, Some("active"));
        assert_eq!(report.presentation_key_id, report.key_id);
        assert_eq!(
            report.presentation_expires_at.as_deref(),
            Some("2026-05-01T12:02:00.000000+08:00")
        );

        let stale = inspect(
            &text,
            &keys(KeyStatus::Active),
            Timestamp::from_micros(now.as_micros() + 121_000_000),
        );
        assert_eq!(stale.code, Some("presentation_expired"));
        assert!(stale.signature_valid && stale.voucher.is_some());

        let revoked = inspect(&text, &keys(KeyStatus::Revoked), now);
        assert_eq!(revoked.code, Some("token_key_revoked"));
        assert_eq!(revoked.presentation_key_status, Some("revoked"));
        assert!(revoked.voucher.is_none());
    }

    #[test]
    fn a_genuine_voucher_reports_its_contents_and_key() {
        let report = inspect(&token(), &keys(KeyStatus::Retired), day(5, 1));
        assert!(report.valid && report.signature_valid);
        assert_eq!(report.code, None);
        assert_eq!(report.key_status, Some("retired"));
        let voucher = report.voucher.unwrap();
        assert_eq!(voucher.face_value_yuan, "12345.00");
        assert_eq!(voucher.face_value_daxie, "人民币壹万贰仟叁佰肆拾伍元整");
        assert_eq!(voucher.service_categories, ["法律服务"]);
    }

    #[test]
    fn an_expired_voucher_still_shows_a_good_signature() {
        let report = inspect(&token(), &keys(KeyStatus::Active), day(9, 1));
        assert!(!report.valid && report.signature_valid);
        assert_eq!(report.code, Some("voucher_expired"));
        assert!(report.message_zh.contains("2026-08-31"));
        assert!(report.voucher.is_some());
    }

    #[test]
    fn refusals_name_the_key_but_never_vouch_for_the_contents() {
        let revoked = inspect(&token(), &keys(KeyStatus::Revoked), day(5, 1));
        assert_eq!(revoked.code, Some("token_key_revoked"));
        assert_eq!(revoked.key_status, Some("revoked"));
        assert!(!revoked.signature_valid && revoked.voucher.is_none());

        let unknown = inspect(&token(), &[], day(5, 1));
        assert_eq!(unknown.code, Some("token_unknown_key"));
        assert_eq!(unknown.key_status, Some("unknown"));
        assert!(unknown.key_id.is_some() && unknown.voucher.is_none());

        let malformed = inspect("VL1:not a token", &keys(KeyStatus::Active), day(5, 1));
        assert_eq!(malformed.code, Some("token_malformed"));
        assert_eq!((malformed.key_id, malformed.key_status), (None, None));
    }
}

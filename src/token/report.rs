//! The verification report anyone may ask for — a provider at the counter,
//! an auditor, a journalist: is this voucher genuine, which key signed it,
//! is that key still trusted, and what does the voucher say. One report
//! serves `POST /api/v1/tokens/verify` and `voucher-ledger token verify`,
//! so both answer the same way. Pure: the caller supplies the keys.

use chrono::NaiveDate;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::voucher::{KeyStatus, TokenError, VoucherClaims, parse_unverified, verify};

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
    /// True only for a well-formed token whose strict Ed25519 signature
    /// verifies under a published, unrevoked key, within its validity dates.
    pub valid: bool,
    /// Why not, when not: token_malformed, token_unknown_key,
    /// token_key_revoked, token_signature_invalid, voucher_expired,
    /// voucher_not_yet_valid.
    pub code: Option<&'static str>,
    pub message: String,
    pub message_zh: String,
    /// The key id the token names (absent when the token is malformed).
    pub key_id: Option<String>,
    /// active, retired, revoked, or unknown (not published here).
    pub key_status: Option<&'static str>,
    /// True when the signature verified (also for an expired voucher, or
    /// one not yet valid); false when it did not or could not be checked.
    pub signature_valid: bool,
    /// The voucher's contents, when its signature verified.
    pub voucher: Option<VoucherFacts>,
    /// The day (UTC+8) the validity dates were checked against.
    pub checked_on: String,
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

/// Verifies `text` against `keys` on `today` and reports every finding.
pub fn inspect(text: &str, keys: &[KnownKey], today: NaiveDate) -> VerificationReport {
    let lookup = |key_id: &str| {
        keys.iter()
            .find(|key| key.key_id == key_id)
            .map(|key| (key.public_key, key.status))
    };
    let outcome = verify(text, lookup, today);
    let named = parse_unverified(text).ok();
    let key_id = named.as_ref().map(|claims| claims.key_id.clone());
    let key_status = key_id
        .as_deref()
        .map(|id| lookup(id).map_or("unknown", |(_, status)| status.as_str()));
    // The signature verified exactly when verification got past it.
    let signature_valid = matches!(
        outcome,
        Ok(_) | Err(TokenError::Expired(_)) | Err(TokenError::NotYetValid(_))
    );
    let voucher = signature_valid
        .then_some(named.as_ref())
        .flatten()
        .map(VoucherFacts::from_claims);
    let (code, message, message_zh) = match &outcome {
        Ok(_) => (
            None,
            "The voucher is genuine and within its validity dates.".to_string(),
            "补贴券真实有效，且在有效期内。".to_string(),
        ),
        Err(error) => (Some(error.code()), error.to_string(), error.message_zh()),
    };
    VerificationReport {
        valid: outcome.is_ok(),
        code,
        message,
        message_zh,
        key_id,
        key_status,
        signature_valid,
        voucher,
        checked_on: today.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::ledger::checkpoint::key_id_for;
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

    fn day(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
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

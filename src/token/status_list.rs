//! Status lists (docs/token-format.md "Status lists"): what a provider's
//! device needs to accept vouchers without the network — each open
//! programme's offline terms, the revoked issuer keys, the providers that
//! may not redeem, and the vouchers that are no longer as issued — signed
//! by the ledger key and fetched incrementally: list N reports the vouchers
//! changed since list N−1 (every 64th list, all of them), and names the
//! digest of the list before it.
//!
//! A list is JSON; its exact bytes are what is signed (Ed25519, the ledger
//! key) and hashed (SHA-256). Pure.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::OfflineTerms;

/// The `format` of every list this version publishes.
pub const STATUS_LIST_FORMAT: &str = "voucher-ledger/status-list/1";
/// Every this many lists (1, 65, 129, …) a list reports every voucher not
/// as issued, so a new device starts there instead of at list 1.
pub const FULL_LIST_EVERY: u64 = 64;

/// Whether list `number` is a full one.
pub fn is_full(number: u64) -> bool {
    number % FULL_LIST_EVERY == 1
}

/// A status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusList {
    pub format: String,
    pub number: u64,
    /// Full lists report every voucher not as issued; the others, those
    /// changed since the list before.
    pub full: bool,
    /// Lower-case hex SHA-256 of the previous list's bytes ("" for list 1).
    pub previous_digest: String,
    /// The ledger entries it reflects: from_sequence+1 … to_sequence.
    pub from_sequence: u64,
    pub to_sequence: u64,
    /// Unix seconds (UTC).
    pub published_at: i64,
    /// The ledger key that signs it.
    pub key_id: String,
    pub programmes: Vec<ListedProgramme>,
    pub revoked_keys: Vec<String>,
    pub barred_providers: Vec<BarredProvider>,
    pub vouchers: Vec<ListedVoucherState>,
}

/// What a device needs of a programme to accept its vouchers offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedProgramme {
    pub code: String,
    pub subsidy_ratio_bp: u32,
    /// "fen" or "yuan".
    pub rounding: String,
    pub divisible: bool,
    pub offline: OfflineTerms,
}

/// A provider that may not redeem now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarredProvider {
    pub id: String,
    /// applied, suspended, removed or blacklisted.
    pub reason: String,
}

/// A voucher as it stands at `to_sequence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedVoucherState {
    pub id: String,
    pub status: String,
    pub remaining_fen: i64,
    /// Its current holder binding (0: none): a presentation under an older
    /// binding is refused.
    pub binding: u32,
}

impl StatusList {
    /// The exact bytes published, signed and hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a status list always serialises")
    }
}

/// SHA-256 of a list's bytes.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The ledger key's signature over a list's bytes.
pub fn sign(bytes: &[u8], key: &SigningKey) -> [u8; 64] {
    key.sign(bytes).to_bytes()
}

/// Whether `signature` is `key`'s over `bytes` (strict Ed25519).
pub fn signature_verifies(bytes: &[u8], signature: &[u8], key: &VerifyingKey) -> bool {
    <[u8; 64]>::try_from(signature)
        .is_ok_and(|s| key.verify_strict(bytes, &Signature::from_bytes(&s)).is_ok())
}

/// Reads a list's bytes (any list this version publishes).
pub fn parse(bytes: &[u8]) -> Result<StatusList, String> {
    let list: StatusList = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if list.format != STATUS_LIST_FORMAT {
        return Err(format!("unknown status list format {:?}", list.format));
    }
    if list.to_bytes() != bytes {
        return Err("the list is not in its canonical form".into());
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> StatusList {
        StatusList {
            format: STATUS_LIST_FORMAT.into(),
            number: 2,
            full: false,
            previous_digest: "00".repeat(32),
            from_sequence: 10,
            to_sequence: 20,
            published_at: 1_780_000_000,
            key_id: "k".into(),
            programmes: vec![],
            revoked_keys: vec!["abcd".into()],
            barred_providers: vec![],
            vouchers: vec![ListedVoucherState {
                id: "v".into(),
                status: "redeemed".into(),
                remaining_fen: 0,
                binding: 1,
            }],
        }
    }

    #[test]
    fn lists_round_trip_and_sign() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let bytes = list().to_bytes();
        assert_eq!(parse(&bytes).unwrap(), list());
        let signature = sign(&bytes, &key);
        assert!(signature_verifies(&bytes, &signature, &key.verifying_key()));
        let mut other = bytes.clone();
        other[5] ^= 1;
        assert!(!signature_verifies(
            &other,
            &signature,
            &key.verifying_key()
        ));
        let spaced = String::from_utf8(bytes).unwrap().replacen(':', ": ", 1);
        assert!(parse(spaced.as_bytes()).is_err(), "not canonical");
    }

    #[test]
    fn every_64th_list_is_full() {
        assert!(is_full(1) && is_full(65) && !is_full(2) && !is_full(64));
    }
}

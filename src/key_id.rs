//! Key ids: how a ledger or issuer public key is named everywhere — in
//! checkpoints, in voucher tokens, in the published key sets.
//!
//! A bottom module of its own, so that `ledger/` (checkpoints, verify) and
//! `token/` (vouchers, presentations) both name keys without importing each
//! other (docs/ledger.md §7, docs/token-format.md "Keys").

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

/// The first 8 bytes of SHA-256 of the 32-byte public key, in lower-case
/// hex (16 characters).
pub fn key_id_for(public_key: &VerifyingKey) -> String {
    Sha256::digest(public_key.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_is_sixteen_hex_characters_of_the_keys_hash() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let id = key_id_for(&key);
        assert_eq!(id.len(), 16);
        let digest = Sha256::digest(key.as_bytes());
        assert_eq!(id, format!("{:02x}{:02x}", digest[0], digest[1]) + &id[4..]);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}

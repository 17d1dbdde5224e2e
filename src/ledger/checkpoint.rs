//! Signed checkpoints of the chain head.
//!
//! A checkpoint is the ledger's signed statement "at sequence N the head hash
//! was H, at time T". Anyone holding the ledger's public key can check that a
//! copy of the ledger they were given extends what the ledger once signed,
//! so history cannot be rewritten even by someone with database access but
//! without the signing key.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::domain::Timestamp;

use super::entry::Hash32;

/// First bytes of every checkpoint's signed message: format and version.
pub const CHECKPOINT_MAGIC: &[u8; 4] = b"VLC1";

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub sequence: u64,
    pub head_hash: Hash32,
    pub signed_at: Timestamp,
    pub key_id: String,
    pub signature: [u8; 64],
}

/// The exact bytes signed (docs/ledger.md, "Checkpoints"):
/// `"VLC1" | u64 sequence | head_hash[32] | i64 signed_at_micros | str key_id`,
/// big-endian, `str` = u32 length + UTF-8.
pub fn signed_message(
    sequence: u64,
    head_hash: &Hash32,
    signed_at: Timestamp,
    key_id: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 8 + 32 + 8 + 4 + key_id.len());
    out.extend_from_slice(CHECKPOINT_MAGIC);
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(head_hash);
    out.extend_from_slice(&signed_at.as_micros().to_be_bytes());
    out.extend_from_slice(&(key_id.len() as u32).to_be_bytes());
    out.extend_from_slice(key_id.as_bytes());
    out
}

pub use crate::key_id::key_id_for;

/// An Ed25519 key pair with its key id: the ledger's checkpoint key, or a
/// voucher issuer key. `Debug` never shows the secret.
pub struct KeyPair {
    key: SigningKey,
    key_id: String,
}

impl KeyPair {
    pub fn from_secret(secret: &[u8; 32]) -> KeyPair {
        let key = SigningKey::from_bytes(secret);
        let key_id = key_id_for(&key.verifying_key());
        KeyPair { key, key_id }
    }

    pub fn generate() -> KeyPair {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let key_id = key_id_for(&key.verifying_key());
        KeyPair { key, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The 32-byte secret seed, for writing the key file. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The signing half, for voucher tokens (`token::voucher::sign`).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs a checkpoint of the chain head.
    pub fn sign(&self, sequence: u64, head_hash: Hash32, signed_at: Timestamp) -> Checkpoint {
        let message = signed_message(sequence, &head_hash, signed_at, &self.key_id);
        Checkpoint {
            sequence,
            head_hash,
            signed_at,
            key_id: self.key_id.clone(),
            signature: self.key.sign(&message).to_bytes(),
        }
    }
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("key_id", &self.key_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Checks a checkpoint's signature with strict Ed25519 verification
/// (rejects small-order keys and non-canonical signatures).
pub fn verify_signature(checkpoint: &Checkpoint, public_key: &VerifyingKey) -> bool {
    let message = signed_message(
        checkpoint.sequence,
        &checkpoint.head_hash,
        checkpoint.signed_at,
        &checkpoint.key_id,
    );
    let signature = Signature::from_bytes(&checkpoint.signature);
    public_key.verify_strict(&message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_verifies_and_a_changed_one_does_not() {
        let signer = KeyPair::from_secret(&[42; 32]);
        let checkpoint = signer.sign(10, [3; 32], Timestamp::from_micros(5));
        assert!(verify_signature(&checkpoint, &signer.public_key()));
        let mut changed = checkpoint.clone();
        changed.sequence = 11;
        assert!(!verify_signature(&changed, &signer.public_key()));
        let mut changed = checkpoint.clone();
        changed.head_hash[0] ^= 1;
        assert!(!verify_signature(&changed, &signer.public_key()));
        let mut changed = checkpoint.clone();
        changed.signature[10] ^= 1;
        assert!(!verify_signature(&changed, &signer.public_key()));
        let other = KeyPair::from_secret(&[43; 32]);
        assert!(!verify_signature(&checkpoint, &other.public_key()));
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let signer = KeyPair::from_secret(&[0xab; 32]);
        let shown = format!("{signer:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.to_lowercase().contains("abab"));
        assert_eq!(signer.key_id().len(), 16);
    }
}

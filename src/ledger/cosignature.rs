//! Witness cosignatures (C2SP tlog-cosignature, `cosignature/v1`): a
//! witness's Ed25519 statement that it saw a checkpoint at a time and that
//! the checkpoint is consistent with every earlier one it cosigned.
//!
//! The witness signs `"cosignature/v1\ntime <unix seconds>\n"` followed by
//! the checkpoint's text; its signature line in the note is
//! `— <witness name> <base64(key hash[4] ‖ u64 time ‖ signature[64])>`,
//! with the key hash SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[..4]. Its
//! verifier key is `<name>+<key hash>+<base64(0x04 ‖ public key)>`.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::note::{
    NoteError, NoteSignature, SignedNote, check_name, key_hash, parse_typed_vkey, typed_vkey,
};

/// The signature type byte of cosignature/v1 keys.
pub const COSIGNATURE_V1: u8 = 0x04;

/// The bytes after the key hash in a cosignature line: u64 time and the
/// Ed25519 signature.
pub const COSIGNED_BYTES: usize = 8 + 64;

/// The bytes a witness signs for `text` at `time` (Unix seconds).
pub fn signed_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// The cosignature line a witness named `name` adds to a checkpoint.
pub fn cosign(text: &str, name: &str, key: &SigningKey, time: u64) -> NoteSignature {
    check_name(name).expect("a checked witness name");
    let mut signature = time.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign(&signed_message(text, time)).to_bytes());
    NoteSignature {
        name: name.to_string(),
        key_hash: key_hash(name, COSIGNATURE_V1, &key.verifying_key().to_bytes()),
        signature,
    }
}

/// The time of a valid cosignature of `note` by the witness `name` with
/// `key`, if the note carries one.
pub fn cosigned_at(note: &SignedNote, name: &str, key: &VerifyingKey) -> Option<u64> {
    let hash = key_hash(name, COSIGNATURE_V1, &key.to_bytes());
    note.signatures.iter().find_map(|line| {
        if line.name != name || line.key_hash != hash || line.signature.len() != COSIGNED_BYTES {
            return None;
        }
        let time = u64::from_be_bytes(line.signature[..8].try_into().ok()?);
        let signature = Signature::from_bytes(line.signature[8..].try_into().ok()?);
        key.verify_strict(&signed_message(&note.text, time), &signature)
            .ok()
            .map(|()| time)
    })
}

/// A witness's verifier key text.
pub fn witness_vkey(name: &str, key: &VerifyingKey) -> String {
    typed_vkey(name, COSIGNATURE_V1, key)
}

/// Reads a witness's verifier key text: name and key (the hash must match).
pub fn parse_witness_vkey(text: &str) -> Result<(String, VerifyingKey), NoteError> {
    parse_typed_vkey(text, COSIGNATURE_V1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::note;

    #[test]
    fn a_cosignature_verifies_for_its_text_name_and_key_only() {
        let log = SigningKey::from_bytes(&[1; 32]);
        let witness = SigningKey::from_bytes(&[2; 32]);
        let mut signed = note::sign("log.example/a\n5\nAAAA\n", "log.example/a", &log);
        signed.signatures.push(cosign(
            &signed.text,
            "audit.example/w",
            &witness,
            1_790_000_000,
        ));
        let parsed = note::parse(&signed.render()).unwrap();
        let public = witness.verifying_key();
        assert_eq!(
            cosigned_at(&parsed, "audit.example/w", &public),
            Some(1_790_000_000)
        );
        assert_eq!(cosigned_at(&parsed, "audit.example/x", &public), None);
        assert_eq!(
            cosigned_at(&parsed, "audit.example/w", &log.verifying_key()),
            None
        );
        // The log's own signature is still there and valid.
        assert!(parsed.signed_by("log.example/a", &log.verifying_key()));
        // Another text under the same lines: refused.
        let mut other = parsed.clone();
        other.text = "log.example/a\n6\nAAAA\n".into();
        assert_eq!(cosigned_at(&other, "audit.example/w", &public), None);
        // Its verifier key round-trips and is not a log key.
        let vkey = witness_vkey("audit.example/w", &public);
        assert_eq!(
            parse_witness_vkey(&vkey).unwrap(),
            ("audit.example/w".to_string(), public)
        );
        assert!(note::parse_vkey(&vkey).is_err());
    }
}

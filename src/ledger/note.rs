//! C2SP signed notes (signed-note) and the checkpoints of the transparency
//! log in them (tlog-checkpoint): the formats Go's checksum database,
//! Sigstore and the CT logs publish, so that outsiders check our roots
//! with their own tools (docs/transparency.md, "Checkpoints").
//!
//! A note is UTF-8 text ending in a newline; after it, a blank line and one
//! line per signature: `— <key name> <base64(key hash[4] ‖ signature)>`.
//! An Ed25519 key's hash is the first four bytes of
//! SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key); the key is published as
//! `<name>+<key hash, 8 hex digits>+<base64(0x01 ‖ public key)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::entry::Hash32;

/// The signature type byte of Ed25519 keys in signed notes.
pub const ED25519: u8 = 0x01;
/// Most signature lines a note may carry when parsed (the log's own and
/// its witnesses'); a limit on what a pasted note makes us read.
pub const SIGNATURES_MAX: usize = 32;
/// Longest note text parsed.
pub const NOTE_BYTES_MAX: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("a key name is non-empty and has no spaces or '+'")]
    BadName,
    #[error("the verifier key is not <name>+<hash>+<base64 key>")]
    BadKey,
    #[error("the note is malformed: {0}")]
    Malformed(&'static str),
    #[error("the checkpoint is malformed: {0}")]
    BadCheckpoint(&'static str),
}

/// Checks a key name (also a log's origin): non-empty, no white space,
/// no '+'.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadName);
    }
    Ok(())
}

/// The key hash: SHA-256(name ‖ "\n" ‖ type ‖ public key)[..4].
pub fn key_hash(name: &str, key_type: u8, public_key: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([key_type]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The verifier key text of an Ed25519 key named `name`.
pub fn vkey(name: &str, key: &VerifyingKey) -> String {
    typed_vkey(name, ED25519, key)
}

/// Reads a verifier key text: its name and Ed25519 key (the hash must
/// match).
pub fn parse_vkey(text: &str) -> Result<(String, VerifyingKey), NoteError> {
    parse_typed_vkey(text, ED25519)
}

/// `<name>+<key hash>+<base64(type ‖ public key)>` for a key of `key_type`
/// (0x01 a log's Ed25519 key, 0x04 a witness's cosignature key).
pub fn typed_vkey(name: &str, key_type: u8, key: &VerifyingKey) -> String {
    let public = key.to_bytes();
    let mut typed = vec![key_type];
    typed.extend_from_slice(&public);
    format!(
        "{name}+{}+{}",
        hex8(&key_hash(name, key_type, &public)),
        BASE64.encode(typed)
    )
}

/// Reads a verifier key of `key_type`; its hash must match its name and key.
pub fn parse_typed_vkey(text: &str, key_type: u8) -> Result<(String, VerifyingKey), NoteError> {
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey);
    };
    check_name(name)?;
    let typed = BASE64.decode(key).map_err(|_| NoteError::BadKey)?;
    if typed.len() != 33 || typed[0] != key_type {
        return Err(NoteError::BadKey);
    }
    let public: [u8; 32] = typed[1..].try_into().map_err(|_| NoteError::BadKey)?;
    if hash != hex8(&key_hash(name, key_type, &public)) {
        return Err(NoteError::BadKey);
    }
    let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::BadKey)?;
    Ok((name.to_string(), key))
}

fn hex8(hash: &[u8; 4]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hash: [u8; 4],
    /// What follows the key hash (for Ed25519, the 64-byte signature).
    pub signature: Vec<u8>,
}

/// A parsed note: the signed text and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// The whole note: text, blank line, signature lines.
    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            let mut bytes = signature.key_hash.to_vec();
            bytes.extend_from_slice(&signature.signature);
            out.push_str(&format!(
                "\u{2014} {} {}\n",
                signature.name,
                BASE64.encode(bytes)
            ));
        }
        out
    }

    /// Does an Ed25519 signature by `key` named `name` sign the text?
    /// (Strict verification: no small-order keys, canonical signatures.)
    pub fn signed_by(&self, name: &str, key: &VerifyingKey) -> bool {
        let hash = key_hash(name, ED25519, &key.to_bytes());
        self.signatures.iter().any(|s| {
            s.name == name
                && s.key_hash == hash
                && <[u8; 64]>::try_from(s.signature.as_slice()).is_ok_and(|bytes| {
                    key.verify_strict(self.text.as_bytes(), &Signature::from_bytes(&bytes))
                        .is_ok()
                })
        })
    }
}

/// Signs `text` (which must end in a newline) as `name` with `key`.
pub fn sign(text: &str, name: &str, key: &SigningKey) -> SignedNote {
    assert!(text.ends_with('\n'), "a note's text ends with a newline");
    check_name(name).expect("a checked key name");
    SignedNote {
        text: text.to_string(),
        signatures: vec![NoteSignature {
            name: name.to_string(),
            key_hash: key_hash(name, ED25519, &key.verifying_key().to_bytes()),
            signature: key.sign(text.as_bytes()).to_bytes().to_vec(),
        }],
    }
}

/// Reads a note: text up to the last blank line, then signature lines.
pub fn parse(note: &str) -> Result<SignedNote, NoteError> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(NoteError::Malformed("too long"));
    }
    if note.contains('\r') || !note.ends_with('\n') {
        return Err(NoteError::Malformed(
            "lines end in a single \\n, the last too",
        ));
    }
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let text = &note[..split + 1];
    let mut signatures = Vec::new();
    for line in note[split + 2..].lines() {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed(
            "a signature line starts with \u{2014}",
        ))?;
        let (name, encoded) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "a signature line has a name and a signature",
        ))?;
        check_name(name)?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| NoteError::Malformed("a signature is not base64"))?;
        if bytes.len() < 5 {
            return Err(NoteError::Malformed("a signature is too short"));
        }
        signatures.push(NoteSignature {
            name: name.to_string(),
            key_hash: [bytes[0], bytes[1], bytes[2], bytes[3]],
            signature: bytes[4..].to_vec(),
        });
        if signatures.len() > SIGNATURES_MAX {
            return Err(NoteError::Malformed("too many signatures"));
        }
    }
    if signatures.is_empty() {
        return Err(NoteError::Malformed("no signature"));
    }
    Ok(SignedNote {
        text: text.to_string(),
        signatures,
    })
}

/// What a tlog checkpoint says: the log (origin), its size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub origin: String,
    pub size: u64,
    pub root: Hash32,
}

impl TreeHead {
    /// The checkpoint's text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Reads a checkpoint's text (extension lines after the root are
    /// allowed and ignored).
    pub fn parse(text: &str) -> Result<TreeHead, NoteError> {
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(NoteError::BadCheckpoint("three lines: origin, size, root"));
        };
        if origin.is_empty() {
            return Err(NoteError::BadCheckpoint("an empty origin"));
        }
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || size.len() > 1 && size.starts_with('0')
        {
            return Err(NoteError::BadCheckpoint("the size is a decimal number"));
        }
        let size = size
            .parse()
            .map_err(|_| NoteError::BadCheckpoint("the size is a decimal number"))?;
        let root: Hash32 = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(NoteError::BadCheckpoint("the root is 32 bytes in base64"))?;
        Ok(TreeHead {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_verifies_only_as_signed() {
        let head = TreeHead {
            origin: "voucher-ledger.example.gov.cn/zhoushan".into(),
            size: 1234,
            root: [5; 32],
        };
        let note = sign(&head.text(), &head.origin, &key());
        let text = note.render();
        assert!(text.starts_with("voucher-ledger.example.gov.cn/zhoushan\n1234\nBQUF"));
        assert!(text.contains("\n\n\u{2014} voucher-ledger.example.gov.cn/zhoushan "));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(TreeHead::parse(&parsed.text).unwrap(), head);
        let public = key().verifying_key();
        assert!(parsed.signed_by(&head.origin, &public));
        assert!(!parsed.signed_by("another.origin", &public));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(!parsed.signed_by(&head.origin, &other));
        // One byte of the text changed: the signature no longer holds.
        let bent = text.replacen("1234", "1235", 1);
        assert!(!parse(&bent).unwrap().signed_by(&head.origin, &public));
    }

    #[test]
    fn a_vkey_names_its_key_and_refuses_a_wrong_hash() {
        let public = key().verifying_key();
        let text = vkey("log.example/a", &public);
        assert_eq!(text.split('+').count(), 3);
        assert_eq!(parse_vkey(&text).unwrap(), ("log.example/a".into(), public));
        let bent = text.replacen("log.example/a", "log.example/b", 1);
        assert_eq!(parse_vkey(&bent), Err(NoteError::BadKey));
        assert_eq!(parse_vkey("a+b"), Err(NoteError::BadKey));
        assert_eq!(check_name("has space"), Err(NoteError::BadName));
        assert_eq!(check_name("a+b"), Err(NoteError::BadName));
    }

    #[test]
    fn malformed_notes_and_checkpoints_are_refused() {
        for bad in [
            "no signatures\n",
            "text\n\n",
            "text\r\n\n\u{2014} a AAAAAAAA\n",
            "text\n\n- a AAAAAAAA\n",
            "text\n\n\u{2014} a !!!\n",
            "text\n\n\u{2014} a AAAA\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "o\n12\n",
            "\n1\nAAAA\n",
            "o\n01\nBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=\n",
            "o\n-1\nx\n",
            "o\n1\nAAAA\n",
        ] {
            assert!(TreeHead::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! A receipt people keep (docs/transparency.md, "Receipts"): one entry's
//! leaf, its inclusion proof and the signed — and cosigned — checkpoint it
//! leads to. Checked offline with the log's key (and witnesses' keys)
//! alone: `voucher-ledger receipt verify`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::cosignature;
use super::entry::Hash32;
use super::merkle;
use super::note::{self, TreeHead};

/// The `format` every receipt carries.
pub const RECEIPT_FORMAT: &str = "voucher-ledger-receipt/1";

/// A receipt as JSON. Hashes and the leaf are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    /// What the entry is about, for people (e.g. `voucher 0191…`); not
    /// part of what is proven.
    pub subject: String,
    pub sequence: u64,
    /// The leaf record (docs/transparency.md): sequence, kind, entry hash.
    pub leaf: String,
    pub tree_size: u64,
    /// The RFC 9162 audit path, the leaf's sibling first.
    pub proof: Vec<String>,
    /// The checkpoint of `tree_size`: the log's signed note with the
    /// witnesses' cosignature lines.
    pub checkpoint: String,
}

/// What a receipt proves, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub origin: String,
    pub sequence: u64,
    pub kind: String,
    pub entry_hash: Hash32,
    pub tree_size: u64,
    /// The witnesses whose cosignature was required and found, with the
    /// Unix second each cosigned.
    pub cosigned: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a receipt: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by the log's key {0}")]
    NotSignedByTheLog(String),
    #[error("the checkpoint is not cosigned by witness {0}")]
    NotCosigned(String),
    #[error("the proof does not lead from the leaf to the checkpoint's root")]
    NotIncluded,
}

impl Receipt {
    /// Checks everything offline: the leaf record is entry `sequence`; the
    /// checkpoint is signed by `log` (name = origin) and cosigned by each
    /// of `witnesses`; its size is the receipt's; the proof leads from the
    /// leaf to its root.
    pub fn verify(
        &self,
        log: &(String, VerifyingKey),
        witnesses: &[(String, VerifyingKey)],
    ) -> Result<Proven, ReceiptError> {
        let malformed = |why: &str| ReceiptError::Malformed(why.to_string());
        if self.format != RECEIPT_FORMAT {
            return Err(malformed("an unknown format"));
        }
        let leaf = BASE64
            .decode(&self.leaf)
            .map_err(|_| malformed("the leaf is not base64"))?;
        let (sequence, kind, entry_hash) = merkle::parse_leaf_record(&leaf)
            .ok_or_else(|| malformed("the leaf is not a leaf record"))?;
        if sequence != self.sequence || sequence == 0 {
            return Err(malformed("the leaf is another entry's"));
        }
        let proof = self
            .proof
            .iter()
            .map(|hash| {
                BASE64
                    .decode(hash)
                    .ok()
                    .and_then(|bytes| <Hash32>::try_from(bytes).ok())
            })
            .collect::<Option<Vec<Hash32>>>()
            .ok_or_else(|| malformed("a proof hash is not 32 bytes of base64"))?;
        let signed =
            note::parse(&self.checkpoint).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        let head =
            TreeHead::parse(&signed.text).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        let (origin, key) = log;
        if &head.origin != origin || !signed.signed_by(origin, key) {
            return Err(ReceiptError::NotSignedByTheLog(origin.clone()));
        }
        let mut cosigned = Vec::new();
        for (name, key) in witnesses {
            let time = cosignature::cosigned_at(&signed, name, key)
                .ok_or_else(|| ReceiptError::NotCosigned(name.clone()))?;
            cosigned.push((name.clone(), time));
        }
        if head.size != self.tree_size {
            return Err(malformed("the checkpoint is of another size"));
        }
        let leaf_hash = merkle::leaf_hash(&leaf);
        if !merkle::verify_inclusion(sequence - 1, head.size, &leaf_hash, &proof, &head.root) {
            return Err(ReceiptError::NotIncluded);
        }
        Ok(Proven {
            origin: head.origin,
            sequence,
            kind: kind.to_string(),
            entry_hash,
            tree_size: head.size,
            cosigned,
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::ledger::merkle::Frontier;

    const ORIGIN: &str = "log.example/z";

    fn receipt() -> (Receipt, (String, VerifyingKey), (String, VerifyingKey)) {
        let log = SigningKey::from_bytes(&[6; 32]);
        let witness = SigningKey::from_bytes(&[7; 32]);
        let records: Vec<Vec<u8>> = (1..=9u64)
            .map(|s| merkle::leaf_record(s, "voucher_issued", &[s as u8; 32]))
            .collect();
        let mut frontier = Frontier::EMPTY;
        let mut nodes = std::collections::HashMap::new();
        for record in &records {
            nodes.extend(frontier.push(merkle::leaf_hash(record)));
        }
        let proof = merkle::inclusion_proof(4, 9, &mut |id| nodes[&id]);
        let head = TreeHead {
            origin: ORIGIN.into(),
            size: 9,
            root: frontier.root(),
        };
        let mut signed = note::sign(&head.text(), ORIGIN, &log);
        signed.signatures.push(cosignature::cosign(
            &signed.text,
            "w.example",
            &witness,
            1_800_000_000,
        ));
        let receipt = Receipt {
            format: RECEIPT_FORMAT.into(),
            subject: "voucher x".into(),
            sequence: 5,
            leaf: BASE64.encode(&records[4]),
            tree_size: 9,
            proof: proof.iter().map(|h| BASE64.encode(h)).collect(),
            checkpoint: signed.render(),
        };
        (
            receipt,
            (ORIGIN.into(), log.verifying_key()),
            ("w.example".into(), witness.verifying_key()),
        )
    }

    #[test]
    fn a_receipt_verifies_and_fails_after_any_byte_changes() {
        let (receipt, log, witness) = receipt();
        let proven = receipt
            .verify(&log, std::slice::from_ref(&witness))
            .unwrap();
        assert_eq!(
            (proven.sequence, proven.kind.as_str()),
            (5, "voucher_issued")
        );
        assert_eq!(
            proven.cosigned,
            vec![("w.example".to_string(), 1_800_000_000)]
        );
        // One byte of the leaf, the proof or the checkpoint changed: refused.
        let mut bent = receipt.clone();
        let mut leaf = BASE64.decode(&bent.leaf).unwrap();
        leaf[20] ^= 1;
        bent.leaf = BASE64.encode(leaf);
        assert_eq!(bent.verify(&log, &[]), Err(ReceiptError::NotIncluded));
        let mut bent = receipt.clone();
        let mut hash = BASE64.decode(&bent.proof[1]).unwrap();
        hash[0] ^= 1;
        bent.proof[1] = BASE64.encode(hash);
        assert_eq!(bent.verify(&log, &[]), Err(ReceiptError::NotIncluded));
        let mut bent = receipt.clone();
        bent.checkpoint = bent.checkpoint.replacen("\n9\n", "\n8\n", 1);
        assert!(bent.verify(&log, &[]).is_err());
        // Another log's key, or a witness that did not cosign.
        let stranger = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(matches!(
            receipt.verify(&(ORIGIN.into(), stranger), &[]),
            Err(ReceiptError::NotSignedByTheLog(_))
        ));
        assert!(matches!(
            receipt.verify(&log, &[("w.example".into(), stranger)]),
            Err(ReceiptError::NotCosigned(_))
        ));
    }
}

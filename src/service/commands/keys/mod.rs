//! The issuer-key family: which Ed25519 key signs vouchers, and which
//! keys are no longer trusted.

mod decide;

use serde::Serialize;

use super::{Draft, InvalidCommand, TEXT_LEN_MAX, ToDraft, check_text};
use crate::ledger::body::{EntryBody, pb};

/// Make a new issuer key the one that signs vouchers; the previous active
/// key is retired (its vouchers still verify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivateIssuerKey {
    pub public_key: [u8; 32],
}

impl ToDraft for ActivateIssuerKey {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| InvalidCommand::PublicKey)?;
        Ok(Draft::without_postings(EntryBody::IssuerKeyActivated(
            pb::IssuerKeyActivated {
                key_id: crate::key_id::key_id_for(&key),
                public_key: self.public_key.to_vec(),
                // Filled in under the lock by its `Decide`.
                retired_key_id: String::new(),
            },
        )))
    }
}

/// Revoke a compromised issuer key: its vouchers are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokeIssuerKey {
    pub key_id: String,
    pub reason: String,
}

impl ToDraft for RevokeIssuerKey {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("reason", &self.reason, TEXT_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::IssuerKeyRevoked(
            pb::IssuerKeyRevoked {
                key_id: self.key_id.clone(),
                reason: self.reason.clone(),
            },
        )))
    }
}

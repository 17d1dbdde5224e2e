//! Verifies a stored ledger end to end (what `voucher-ledger verify` runs).
//!
//! Reads the entries page by page (memory stays bounded however long the
//! ledger is), feeds them to the pure `ChainVerifier`, then checks the chain
//! head row and the balance projection.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;

use crate::ledger::checkpoint::key_id_for;
use crate::ledger::verify::{ChainVerifier, Problem, Summary};
use crate::store::{ENTRY_PAGE_MAX, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The ledger is not what it claims to be.
    #[error("{0}")]
    Problem(#[from] Problem),
    /// The ledger could not be read (or did not decode) at all.
    #[error("cannot read the ledger: {0}")]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// The first bad sequence number, when there is one.
    pub fn sequence(&self) -> Option<u64> {
        match self {
            VerifyError::Problem(problem) => problem.sequence(),
            VerifyError::Store(_) => None,
        }
    }
}

/// Verifies everything. `trusted_keys`, if not empty, replaces the keys
/// published in the database: an auditor who fetched the ledger's public
/// key out of band does not have to trust the database's copy.
pub async fn verify_store<S: Store>(
    store: &S,
    trusted_keys: &[VerifyingKey],
) -> Result<Summary, VerifyError> {
    let keys: HashMap<String, VerifyingKey> = if trusted_keys.is_empty() {
        let mut keys = HashMap::new();
        for record in store.ledger_keys().await? {
            let key = VerifyingKey::from_bytes(&record.public_key).map_err(|_| {
                StoreError::Corrupt(format!(
                    "ledger key {} is not a valid Ed25519 key",
                    record.key_id
                ))
            })?;
            keys.insert(record.key_id, key);
        }
        keys
    } else {
        trusted_keys
            .iter()
            .map(|key| (key_id_for(key), *key))
            .collect()
    };
    let checkpoints = store.checkpoints().await?;
    let mut verifier = ChainVerifier::new(checkpoints, keys);
    let mut next = 1;
    loop {
        let page = store.entries(next, ENTRY_PAGE_MAX).await?;
        let Some(last) = page.last().map(|entry| entry.sequence) else {
            break;
        };
        for entry in &page {
            verifier.push(entry)?;
        }
        next = last + 1;
    }
    let head = store.head().await?;
    let balances = store.balances().await?;
    Ok(verifier.finish(Some(head.sequence), &balances)?)
}

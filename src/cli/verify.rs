//! `voucher-ledger verify`.

use std::process::ExitCode;

use ed25519_dalek::VerifyingKey;

use crate::app::{StoreJob, with_existing_store};
use crate::ledger::entry::{from_hex, to_hex};
use crate::service::verify::{VerifyError, verify_witnessed};
use crate::store::Store;

/// Exit code when the ledger fails verification (2 is kept for usage errors).
const EXIT_INVALID: u8 = 3;

pub async fn run(
    database_url: &str,
    trusted_keys: &[String],
    witness_keys: &[String],
) -> anyhow::Result<ExitCode> {
    let witnesses = witness_keys
        .iter()
        .map(|vkey| {
            crate::ledger::cosignature::parse_witness_vkey(vkey)
                .map_err(|e| anyhow::anyhow!("--witness-key {vkey}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut keys = Vec::new();
    for hex in trusted_keys {
        let bytes = from_hex::<32>(hex)
            .ok_or_else(|| anyhow::anyhow!("--trusted-key must be 64 hex characters"))?;
        keys.push(
            VerifyingKey::from_bytes(&bytes)
                .map_err(|_| anyhow::anyhow!("--trusted-key is not an Ed25519 public key"))?,
        );
    }
    match with_existing_store(database_url, Verify { keys, witnesses }).await? {
        Ok(summary) => {
            println!(
                "ok: {} entries, {} postings, {} accounts, {} checkpoints; head {}",
                summary.entries,
                summary.postings,
                summary.accounts,
                summary.checkpoints,
                to_hex(&summary.head_hash)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            match error.sequence() {
                Some(sequence) => println!("FAILED at sequence {sequence}: {error}"),
                None => println!("FAILED: {error}"),
            }
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

struct Verify {
    keys: Vec<VerifyingKey>,
    witnesses: Vec<(String, VerifyingKey)>,
}

impl StoreJob for Verify {
    type Output = Result<crate::ledger::verify::Summary, VerifyError>;
    async fn run<S: Store>(self, store: S) -> Self::Output {
        verify_witnessed(&store, &self.keys, &self.witnesses).await
    }
}

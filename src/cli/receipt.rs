//! `voucher-ledger receipt verify`: check a receipt offline, with the log's
//! verifier key (its /log/vkey) and any witnesses' keys — no database, no
//! network.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::ledger::cosignature::parse_witness_vkey;
use crate::ledger::entry::to_hex;
use crate::ledger::note::parse_vkey;
use crate::ledger::receipt::Receipt;

#[derive(Debug, clap::Subcommand)]
pub enum ReceiptAction {
    /// Check a receipt (JSON from …/receipt). Exit 0 when it proves its
    /// entry is in the log, 3 when it does not.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// The log's verifier key, as /log/vkey serves it.
        #[arg(long)]
        log_key: String,
        /// A witness that must have cosigned (its verifier key). Repeatable.
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
    },
}

/// Largest receipt file read.
const RECEIPT_BYTES_MAX: u64 = 256 * 1024;

pub fn run(action: ReceiptAction) -> anyhow::Result<ExitCode> {
    let ReceiptAction::Verify {
        file,
        log_key,
        witness_keys,
    } = action;
    let log = parse_vkey(&log_key).map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
    let witnesses = witness_keys
        .iter()
        .map(|vkey| parse_witness_vkey(vkey).map_err(|e| anyhow::anyhow!("--witness-key: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let size = std::fs::metadata(&file)?.len();
    anyhow::ensure!(
        size <= RECEIPT_BYTES_MAX,
        "{} is too large for a receipt",
        file.display()
    );
    let text = std::fs::read_to_string(&file)?;
    let verdict = serde_json::from_str::<Receipt>(&text)
        .map_err(|e| e.to_string())
        .and_then(|receipt| receipt.verify(&log, &witnesses).map_err(|e| e.to_string()));
    match verdict {
        Ok(proven) => {
            println!(
                "ok: entry {} ({}, hash {}) is in log {} of {} entries{}",
                proven.sequence,
                proven.kind,
                to_hex(&proven.entry_hash),
                proven.origin,
                proven.tree_size,
                proven
                    .cosigned
                    .iter()
                    .map(|(name, time)| format!(", cosigned by {name} at {time}"))
                    .collect::<String>()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("FAILED: {why}");
            Ok(ExitCode::from(3))
        }
    }
}

//! `voucher-ledger token verify TOKEN`: the command-line twin of
//! `POST /api/v1/tokens/verify`. Online it reads this deployment's issuer
//! keys from the database; with `--keys FILE` it works offline from a saved
//! copy of `/.well-known/voucher-keys.json`, as any third party would.
//! Exits 0 only for a valid voucher under an unrevoked key, 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::app::{StoreJob, with_existing_store};
use crate::domain::Timestamp;
use crate::ledger::entry::from_hex;
use crate::service::tokens::known_keys;
use crate::store::Store;
use crate::token::report::{KnownKey, VerificationReport, inspect};
use crate::token::voucher::KeyStatus;

#[derive(Debug, clap::Subcommand)]
pub enum TokenAction {
    /// Verify a voucher's QR text: signature, key and its status, contents.
    Verify {
        /// The token text (`VL1:…`).
        token: String,
        /// Verify offline against this saved copy of
        /// /.well-known/voucher-keys.json instead of the database.
        #[arg(long)]
        keys: Option<PathBuf>,
        #[command(flatten)]
        database: super::DatabaseArgs,
        /// Print the report as JSON (the API's response body).
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: TokenAction) -> anyhow::Result<ExitCode> {
    let TokenAction::Verify {
        token,
        keys,
        database,
        json,
    } = command;
    let report = match keys {
        Some(path) => inspect(&token, &keys_from_file(&path)?, Timestamp::now()),
        None => with_existing_store(&database.database_url, OnlineCheck { token })
            .await
            .context("reading the issuer keys and the voucher from the database")??,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Verifies against the keys published in the database, and looks up the
/// voucher's current state there.
struct OnlineCheck {
    token: String,
}

impl StoreJob for OnlineCheck {
    type Output = anyhow::Result<VerificationReport>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let keys = known_keys(&store).await?;
        let mut report = inspect(&self.token, &keys, Timestamp::now());
        report.voucher_state = crate::service::tokens::voucher_state(&store, &report).await?;
        Ok(report)
    }
}

/// The fields of the published key set a verifier needs.
#[derive(Deserialize)]
struct KeySetFile {
    keys: Vec<KeyFileEntry>,
}

#[derive(Deserialize)]
struct KeyFileEntry {
    key_id: String,
    public_key: String,
    status: String,
}

fn keys_from_file(path: &Path) -> anyhow::Result<Vec<KnownKey>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let set: KeySetFile = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a voucher key set (/.well-known/voucher-keys.json)",
            path.display()
        )
    })?;
    set.keys
        .into_iter()
        .map(|entry| {
            let public_key = from_hex::<32>(&entry.public_key)
                .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                .with_context(|| {
                    format!("key {}: public_key is not an Ed25519 key", entry.key_id)
                })?;
            let status = KeyStatus::parse(&entry.status).with_context(|| {
                format!("key {}: unknown status {:?}", entry.key_id, entry.status)
            })?;
            Ok(KnownKey {
                key_id: entry.key_id,
                public_key,
                status,
            })
        })
        .collect()
}

fn print_report(report: &VerificationReport) {
    match report.code {
        None => println!("valid: yes"),
        Some(code) => println!("valid: no [{code}]"),
    }
    println!("{} / {}", report.message, report.message_zh);
    if let (Some(id), Some(status)) = (&report.key_id, report.key_status) {
        println!("key: {id} ({status})");
    }
    println!(
        "signature: {}",
        if report.signature_valid {
            "verified"
        } else {
            "not verified"
        }
    );
    if let Some(voucher) = &report.voucher {
        println!("voucher: {}", voucher.voucher_id);
        if let Some(state) = &report.voucher_state {
            println!("  state here: {state}");
        }
        println!("  programme: {}", voucher.programme_code);
        println!("  enterprise: {}", voucher.enterprise_uscc);
        println!(
            "  face value: {} 元 ({})",
            voucher.face_value_yuan, voucher.face_value_daxie
        );
        println!("  valid: {} to {}", voucher.valid_from, voucher.valid_until);
        println!("  categories: {}", voucher.service_categories.join("、"));
        println!("  issued at ledger sequence {}", voucher.issued_sequence);
    }
    println!("checked on: {} (UTC+8)", report.checked_on);
}

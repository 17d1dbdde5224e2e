//! The log's side of witnessing: after signing a tree checkpoint, send it
//! to each configured witness (C2SP tlog-witness `add-checkpoint`) with a
//! consistency proof from the size that witness last cosigned, and keep
//! the cosignature it returns (`log_cosignatures`), so `/log/checkpoint`
//! publishes the checkpoint with its cosignatures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;

use crate::domain::Timestamp;
use crate::ledger::cosignature;
use crate::ledger::note::{self, NoteError};
use crate::store::Store;
use crate::store::tree::LogCheckpoint;

use super::transparency::{self, LogError};

/// How long one witness may take to answer.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);

/// A witness the log sends its checkpoints to.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// Base URL; the request goes to `<url>/add-checkpoint`.
    pub url: String,
    pub name: String,
    pub key: VerifyingKey,
}

impl WitnessTarget {
    /// Reads `"<url> <witness vkey>"`.
    pub fn parse(text: &str) -> Result<WitnessTarget, String> {
        let (url, vkey) = text
            .trim()
            .split_once(' ')
            .ok_or("a witness is \"<url> <verifier key>\"")?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("a witness URL starts with http:// or https://".into());
        }
        let (name, key) =
            cosignature::parse_witness_vkey(vkey).map_err(|e: NoteError| e.to_string())?;
        Ok(WitnessTarget {
            url: url.trim_end_matches('/').to_string(),
            name,
            key,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the witness could not be reached: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("the witness refused ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the witness answered no valid cosignature")]
    NoCosignature,
    #[error(transparent)]
    Log(#[from] LogError),
}

/// The size each witness is known to be at (by witness name), shared by
/// the pushes of one process. Unknown starts at 0; a witness further on
/// says so (409) and the push retries from there.
#[derive(Clone, Default)]
pub struct WitnessSizes(Arc<Mutex<HashMap<String, u64>>>);

impl WitnessSizes {
    fn get(&self, name: &str) -> u64 {
        *self.0.lock().expect("unpoisoned").get(name).unwrap_or(&0)
    }

    fn set(&self, name: &str, size: u64) {
        self.0.lock().expect("unpoisoned").insert(name.into(), size);
    }
}

/// Sends `checkpoint` to `target`; stores and returns its cosignature line.
pub async fn push<S: Store>(
    store: &S,
    client: &reqwest::Client,
    target: &WitnessTarget,
    sizes: &WitnessSizes,
    checkpoint: &LogCheckpoint,
) -> Result<String, PushError> {
    let signed = note::parse(&checkpoint.note).map_err(|_| PushError::NoCosignature)?;
    for _ in 0..2 {
        let old = sizes.get(&target.name).min(checkpoint.tree_size);
        let (_, _, proof) = transparency::consistency(store, old, checkpoint.tree_size).await?;
        let mut body = format!("old {old}\n");
        for hash in &proof {
            body.push_str(&BASE64.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&checkpoint.note);
        let answer = client
            .post(format!("{}/add-checkpoint", target.url))
            .timeout(WITNESS_TIMEOUT)
            .body(body)
            .send()
            .await?;
        let status = answer.status().as_u16();
        let text = answer.text().await?;
        match status {
            200 => {
                let line = text.lines().find(|line| {
                    note::parse(&format!("{}\n{line}\n", signed.text)).is_ok_and(|one| {
                        cosignature::cosigned_at(&one, &target.name, &target.key).is_some()
                    })
                });
                let line = line.ok_or(PushError::NoCosignature)?.to_string();
                sizes.set(&target.name, checkpoint.tree_size);
                let now = Timestamp::now().as_micros();
                store
                    .insert_cosignature(checkpoint.tree_size, &target.name, &line, now)
                    .await
                    .map_err(LogError::from)?;
                return Ok(line);
            }
            409 => match text.trim().parse::<u64>() {
                // Another instance of this log got there first: go on from there.
                Ok(size) if size != old => sizes.set(&target.name, size),
                _ => return Err(PushError::Refused { status, body: text }),
            },
            _ => return Err(PushError::Refused { status, body: text }),
        }
    }
    Err(PushError::Refused {
        status: 409,
        body: "the witness's size kept moving".into(),
    })
}

//! `voucher-ledger checkpoint`: sign the current head on demand, and the
//! Merkle tree as a checkpoint of the transparency log.

use std::path::Path;
use std::process::ExitCode;

use crate::app::{StoreJob, with_store};
use crate::keyfile;
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::to_hex;
use crate::service::engine::{publish_ledger_key, sign_checkpoint};
use crate::service::transparency::sign_log_checkpoint;
use crate::service::witness_push::{WitnessSizes, WitnessTarget, push};
use crate::store::Store;

pub async fn run(
    database_url: &str,
    key_file: &Path,
    log_origin: String,
    witnesses: Vec<WitnessTarget>,
) -> anyhow::Result<ExitCode> {
    let (signer, _) = keyfile::load_or_create(key_file)?;
    let job = SignNow {
        signer,
        log_origin,
        witnesses,
    };
    with_store(database_url, job).await??;
    Ok(ExitCode::SUCCESS)
}

struct SignNow {
    signer: KeyPair,
    log_origin: String,
    witnesses: Vec<WitnessTarget>,
}

impl StoreJob for SignNow {
    type Output = anyhow::Result<()>;
    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        publish_ledger_key(&store, &self.signer).await?;
        let head = store.head().await?;
        if head.sequence == 0 {
            anyhow::bail!("the ledger is empty: there is nothing to checkpoint");
        }
        let checkpoint = sign_checkpoint(&store, &self.signer, head).await?;
        println!(
            "checkpoint: sequence {} head {} key {}",
            checkpoint.sequence,
            to_hex(&checkpoint.head_hash),
            checkpoint.key_id
        );
        let tree = sign_log_checkpoint(&store, &self.signer, &self.log_origin).await?;
        if let Some(tree) = tree {
            print!("tree checkpoint:\n{}", tree.note);
            let client = reqwest::Client::new();
            let sizes = WitnessSizes::default();
            for witness in &self.witnesses {
                match push(&store, &client, witness, &sizes, &tree).await {
                    Ok(line) => println!("{line}"),
                    Err(error) => eprintln!("witness {}: {error}", witness.name),
                }
            }
        }
        Ok(())
    }
}

//! `voucher-ledger checkpoint`: sign the current head on demand.

use std::path::Path;
use std::process::ExitCode;

use crate::app::{StoreJob, with_store};
use crate::keyfile;
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::to_hex;
use crate::service::engine::{publish_ledger_key, sign_checkpoint};
use crate::store::Store;

pub async fn run(database_url: &str, key_file: &Path) -> anyhow::Result<ExitCode> {
    let (signer, _) = keyfile::load_or_create(key_file)?;
    with_store(database_url, SignNow { signer }).await??;
    Ok(ExitCode::SUCCESS)
}

struct SignNow {
    signer: KeyPair,
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
        Ok(())
    }
}

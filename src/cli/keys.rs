//! `voucher-ledger keys rotate|revoke|reissue|list`: voucher issuer keys;
//! `keys rotate-personal` and `keys seal-legacy`: the personal data master
//! key and the contacts recorded before sealing.
//!
//! Rotation creates the new private key here, on the operator's side, in
//! `--key-dir` (`<key id>.key`, mode 0600), and records its activation in
//! the ledger; the previous key is retired but stays published. With several
//! app instances, distribute the key file (or `VOUCHER_ISSUER_KEY`) to each.

use crate::service::commands::Envelope;
use crate::service::issuer_keys;
use crate::service::written::unchanged_is_done;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{StoreJob, with_store};
use crate::keyfile;
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::to_hex;
use crate::service::CommandError;
use crate::store::Store;

/// Default directory of issuer private keys.
pub const DEFAULT_ISSUER_KEY_DIR: &str = "./data/issuer-keys";

#[derive(Debug, clap::Subcommand)]
pub enum KeysAction {
    /// Create a new issuer key and make it the one that signs vouchers.
    Rotate {
        #[arg(long, env = "VOUCHER_ISSUER_KEY_DIR", default_value = DEFAULT_ISSUER_KEY_DIR)]
        key_dir: PathBuf,
        #[command(flatten)]
        database: super::DatabaseArgs,
        #[command(flatten)]
        ledger_key: super::KeyArgs,
    },
    /// Revoke a compromised issuer key: its vouchers are refused from now on.
    Revoke {
        key_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        database: super::DatabaseArgs,
        #[command(flatten)]
        ledger_key: super::KeyArgs,
    },
    /// Re-issue every active voucher of a revoked key under the active
    /// key (each re-issue is a ledger entry; safe to run again).
    Reissue {
        key_id: String,
        #[command(flatten)]
        writer: super::WriterArgs,
    },
    /// List the issuer keys and their status.
    List {
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
    /// Rotate the personal data master key (the file beside the ledger
    /// key): every subject's data key is re-wrapped under a new master key
    /// in one transaction, then the new key replaces the old file — the old
    /// key is no longer needed, nor kept (docs/personal-data.md "Keys").
    RotatePersonal {
        #[command(flatten)]
        database: super::DatabaseArgs,
        #[command(flatten)]
        ledger_key: super::KeyArgs,
    },
    /// Seal the personal data recorded before sealing: every enterprise
    /// whose stored contact is plain text is recorded again with it sealed
    /// (an `enterprise_updated` entry each; the old entries keep their
    /// text — docs/personal-data.md "Entries written before sealing").
    SealLegacy {
        #[command(flatten)]
        writer: super::WriterArgs,
    },
}

pub async fn run(command: KeysAction) -> anyhow::Result<ExitCode> {
    match command {
        KeysAction::Rotate {
            key_dir,
            database,
            ledger_key,
        } => {
            let (issuer, path) = new_issuer_key_file(&key_dir)?;
            let key = format!("cli:keys:activate:{}", issuer.key_id());
            let change = KeyChange::Activate(issuer.public_key().to_bytes());
            submit(&database.database_url, &ledger_key.key_file, key, change).await?;
            println!(
                "issuer key {} is active; private key in {} (mode 0600)",
                issuer.key_id(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysAction::Revoke {
            key_id,
            reason,
            database,
            ledger_key,
        } => {
            let key = format!("cli:keys:revoke:{key_id}");
            let change = KeyChange::Revoke {
                key_id: key_id.clone(),
                reason,
            };
            submit(&database.database_url, &ledger_key.key_file, key, change).await?;
            println!("issuer key {key_id} is revoked");
            Ok(ExitCode::SUCCESS)
        }
        KeysAction::Reissue { key_id, writer } => {
            let job = Reissue {
                keys: writer.keys()?,
                key_id,
            };
            with_store(&writer.database.database_url, job).await?
        }
        KeysAction::RotatePersonal {
            database,
            ledger_key,
        } => rotate_personal(&database.database_url, &ledger_key.key_file).await,
        KeysAction::SealLegacy { writer } => {
            let job = SealLegacy {
                keys: writer.keys()?,
            };
            with_store(&writer.database.database_url, job).await?
        }
        KeysAction::List { database } => {
            for key in with_store(&database.database_url, ListKeys).await?? {
                println!(
                    "{}  {:<8}  {}",
                    key.key_id,
                    key.status,
                    to_hex(key.public_key.as_bytes())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `keys rotate-personal`: the new master key is written beside the old
/// one (`.next`) first, the data keys move to it in one transaction, then
/// it replaces the old file. Interrupted after the transaction, the data
/// keys are under the `.next` key: the operator moves it over (the message
/// says so); interrupted before, nothing changed.
async fn rotate_personal(
    database_url: &str,
    key_file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use crate::personal::master_key::{MASTER_KEY_ENV, beside};
    use crate::personal::sealed::MasterKey;
    anyhow::ensure!(
        std::env::var(MASTER_KEY_ENV).is_err(),
        "the master key comes from {MASTER_KEY_ENV}: unset it to rotate the key file, or re-wrap with the key file and then move the new key into your secret store"
    );
    let path = beside(key_file);
    let old = MasterKey::from_bytes(keyfile::read_seed(&path)?);
    let next = path.with_extension("next");
    anyhow::ensure!(
        !next.exists(),
        "{} exists: an earlier rotation was interrupted. If it reported the data keys re-wrapped, move it over {}; otherwise remove it",
        next.display(),
        path.display()
    );
    let new = MasterKey::generate();
    keyfile::write_seed(&next, &new.secret_bytes())?;
    let job = Rewrap {
        old: old.clone(),
        new: new.clone(),
    };
    match with_store(database_url, job).await? {
        Ok(moved) => {
            std::fs::rename(&next, &path)?;
            println!(
                "personal data master key {} replaced by {}: {moved} data keys re-wrapped; the old key is gone",
                old.id(),
                new.id()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            std::fs::remove_file(&next)?;
            Err(error)
        }
    }
}

struct Rewrap {
    old: crate::personal::sealed::MasterKey,
    new: crate::personal::sealed::MasterKey,
}

impl StoreJob for Rewrap {
    type Output = anyhow::Result<u64>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let (old, new) = (&self.old, &self.new);
        let moved = store
            .rewrap_subject_keys(
                |subject, wrapped| {
                    old.unwrap(subject, wrapped)
                        .ok()
                        .map(|key| new.wrap(subject, &key))
                },
                new.id(),
            )
            .await??;
        Ok(moved)
    }
}

/// Creates a new issuer key in `key_dir` (`<key id>.key`, mode 0600).
pub fn new_issuer_key_file(key_dir: &std::path::Path) -> anyhow::Result<(KeyPair, PathBuf)> {
    let issuer = KeyPair::generate();
    let path = key_dir.join(format!("{}.key", issuer.key_id()));
    keyfile::write_new(&path, &issuer)?;
    Ok((issuer, path))
}

/// What `keys rotate` and `keys revoke` ask for.
enum KeyChange {
    Activate([u8; 32]),
    Revoke { key_id: String, reason: String },
}

async fn submit(
    database_url: &str,
    ledger_key_file: &std::path::Path,
    key: String,
    change: KeyChange,
) -> anyhow::Result<()> {
    let (ledger, _) = keyfile::load_or_create(ledger_key_file)?;
    with_store(
        database_url,
        Submit {
            ledger: Arc::new(ledger),
            key,
            change,
        },
    )
    .await?
}

struct Submit {
    ledger: Arc<KeyPair>,
    key: String,
    change: KeyChange,
}

impl StoreJob for Submit {
    type Output = anyhow::Result<()>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        let (writer, task) =
            super::start_writer(&store, self.ledger.clone(), Default::default()).await?;
        let by = Envelope::new(super::cli_actor(), self.key);
        let result = match self.change {
            KeyChange::Activate(public_key) => issuer_keys::activate(&writer, by, public_key).await,
            KeyChange::Revoke { key_id, reason } => {
                issuer_keys::revoke(&writer, by, key_id, reason).await
            }
        };
        drop(writer);
        task.await?;
        unchanged_is_done(result).map_err(|error| anyhow::anyhow!("{error}"))
    }
}

struct Reissue {
    keys: super::WriterKeys,
    key_id: String,
}

impl StoreJob for Reissue {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let (writer, task) = self.keys.start_writer(&store).await?;
        let key = format!("cli:keys:reissue:{}", self.key_id);
        let report = crate::service::vouchers::reissue_key(
            &store,
            &writer,
            &super::cli_actor(),
            &key,
            &self.key_id,
        )
        .await;
        drop(writer);
        task.await?;
        let report = report.map_err(|error| match error {
            crate::service::vouchers::IssueError::Command(CommandError::NotFound) => {
                anyhow::anyhow!("there is no issuer key {}", self.key_id)
            }
            other => anyhow::anyhow!("{other}"),
        })?;
        for (old, voucher) in &report.reissued {
            println!("{old} -> {} ({})", voucher.id, voucher.key_id);
        }
        for (old, error) in &report.refused {
            eprintln!("{old}: refused [{}]: {error}", error.code());
        }
        eprintln!(
            "{} re-issued, {} refused",
            report.reissued.len(),
            report.refused.len()
        );
        Ok(if report.refused.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

struct SealLegacy {
    keys: super::WriterKeys,
}

impl StoreJob for SealLegacy {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let (writer, task) = self.keys.start_writer(&store).await?;
        let today = crate::domain::Timestamp::now().cst_date();
        let report = crate::service::personal_migration::seal_legacy_contacts(
            &store,
            &writer,
            &super::cli_actor(),
            today,
        )
        .await;
        drop(writer);
        task.await?;
        let report = report.map_err(|error| anyhow::anyhow!("{error}"))?;
        for (uscc, why) in &report.refused {
            eprintln!("{uscc}: left as it was: {why}");
        }
        println!(
            "{} contacts sealed, {} left as they were",
            report.sealed.len(),
            report.refused.len()
        );
        Ok(if report.refused.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

struct ListKeys;

impl StoreJob for ListKeys {
    type Output = anyhow::Result<Vec<crate::store::registry::IssuerKeyRecord>>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        Ok(store.issuer_keys().await?)
    }
}

//! `voucher-ledger backup` and `restore` (docs/operations.md, "Backups"):
//! a consistent online copy of an embedded (SQLite) ledger, called a
//! backup only once `verify` passes on it; and putting one back, refused
//! unless the copy verifies. A PostgreSQL deployment uses PostgreSQL's own
//! tools (base backups, WAL archiving, `pg_dump`), then `verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::app::{StoreJob, with_existing_store};
use crate::ledger::entry::to_hex;
use crate::ledger::verify::Summary;
use crate::personal::erasure_list::ErasureList;
use crate::service::verify::{VerifyError, verify_witnessed};
use crate::store::{Backend, SqliteStore, Store};

/// Exit code when a copy fails verification (as `verify`'s).
const EXIT_INVALID: u8 = 3;

/// The file of an embedded database URL; an error for PostgreSQL.
fn sqlite_file(database_url: &str, what: &str) -> anyhow::Result<PathBuf> {
    if Backend::from_url(database_url)? != Backend::Sqlite {
        bail!(
            "{what} works on an embedded (sqlite://) database; for PostgreSQL use pg_basebackup \
             or pg_dump and `verify` (docs/operations.md \"Backups\")"
        );
    }
    let options = crate::store::sqlite::connect_options(database_url)?;
    Ok(PathBuf::from(options.get_filename()))
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

struct Verify;

impl StoreJob for Verify {
    type Output = Result<Summary, VerifyError>;
    async fn run<S: Store>(self, store: S) -> Self::Output {
        verify_witnessed(&store, &[], &[]).await
    }
}

async fn verify_file(path: &Path) -> anyhow::Result<Result<Summary, VerifyError>> {
    Ok(with_existing_store(&url_of(path), Verify).await?)
}

/// Copies the database at `from_url` into the new file `to`, created
/// empty with mode 0600 first (its directory 0700 if missing).
async fn copy(from_url: &str, to: &Path) -> anyhow::Result<()> {
    crate::private_file::prepare_database_file(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let store = SqliteStore::connect_existing(from_url).await?;
    let copied = store.copy_into(to).await;
    store.close().await;
    Ok(copied?)
}

fn described(summary: &Summary) -> String {
    format!(
        "{} entries, {} checkpoints; head {}",
        summary.entries,
        summary.checkpoints,
        to_hex(&summary.head_hash)
    )
}

/// Copies the database at `database_url` to the new file `out` while it
/// serves, then verifies the copy (a copy that fails is removed).
pub async fn backup(database_url: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let source = sqlite_file(database_url, "backup")?;
    if out.exists() {
        bail!("{} exists: back up to a new file", out.display());
    }
    if !source.exists() {
        bail!("no database at {}", source.display());
    }
    copy(database_url, out).await?;
    match verify_file(out).await? {
        Ok(summary) => {
            println!(
                "backup {}: {}; verified",
                out.display(),
                described(&summary)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let _ = std::fs::remove_file(out);
            println!("FAILED: the copy does not verify ({error}); nothing kept");
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

struct ApplyErasures<'a>(&'a ErasureList);

impl StoreJob for ApplyErasures<'_> {
    type Output = anyhow::Result<()>;
    async fn run<S: Store>(self, store: S) -> Self::Output {
        let applied = super::serve::apply_erasures(&store, self.0).await;
        // Every connection closed (SQLite folds its WAL into the file)
        // before the copy is renamed into place: a write still in the
        // copy's `-wal` would not move with it.
        store.close().await;
        applied
    }
}

/// Puts the backup `file` in place of the database at `database_url`,
/// after `verify` passes on it; an existing database is replaced only
/// with `replace` (stop the service first). The erasure list `erasures`
/// is applied to it in place, before `verify` and before any service
/// reads it: a subject erased (or restricted) since the backup was taken
/// stays so.
pub async fn restore(
    file: &Path,
    database_url: &str,
    replace: bool,
    erasures: &ErasureList,
) -> anyhow::Result<ExitCode> {
    let target = sqlite_file(database_url, "restore")?;
    if !file.exists() {
        bail!("no backup at {}", file.display());
    }
    if let Err(error) = verify_file(file).await? {
        println!("REFUSED: {} does not verify: {error}", file.display());
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    if target.exists() && !replace {
        bail!(
            "{} exists: stop the service and pass --replace to put the backup in its place",
            target.display()
        );
    }
    // A fresh copy beside the target, then one rename: the target is the
    // old database or the whole backup, never half of one.
    let staged = target.with_extension("restoring");
    let _ = std::fs::remove_file(&staged);
    copy(&url_of(file), &staged).await?;
    for stale in ["-wal", "-shm"] {
        let mut name = target.clone().into_os_string();
        name.push(stale);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    std::fs::rename(&staged, &target)
        .with_context(|| format!("cannot move the restored copy to {}", target.display()))?;
    // The erasure list, applied to the database in its place (its WAL, if
    // any is left, has the database's own name): the service is stopped,
    // and should this fail, the next start applies the list before
    // anything reads.
    with_existing_store(database_url, ApplyErasures(erasures))
        .await?
        .context("the backup is in place, but the erasure list was not applied: fix the list, then run restore again or start the service (it applies the list first)")?;
    match verify_file(&target).await? {
        Ok(summary) => {
            println!(
                "restored {}: {}; verified",
                target.display(),
                described(&summary)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("FAILED: the restored database does not verify: {error}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

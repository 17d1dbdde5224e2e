//! `voucher-ledger import enterprises FILE`: bulk registry import.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{StoreJob, with_store};
use crate::domain::Timestamp;
use crate::ledger::checkpoint::KeyPair;
use crate::service::import::{
    ImportMode, ImportReport, ImportSettings, Parsed, import_blacklist, import_enterprises,
    import_providers, import_tags, parse_blacklist_file, parse_enterprise_file,
    parse_provider_file, parse_tag_file, zone_map,
};
use crate::store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum ImportAction {
    /// Enterprises from CSV or XLSX (headers in English or Chinese).
    Enterprises(ImportArgs),
    /// A tag list (e.g. the 专精特新 library) from CSV or XLSX: uscc, tag,
    /// valid_from, valid_until, source (English or Chinese headers).
    Tags(ImportArgs),
    /// Providers from CSV or XLSX: uscc, name, legal_representative,
    /// categories (separated by 、 or ;), bank_name, account_name,
    /// account_number, annual_cap (Chinese headers too). New providers are
    /// `applied`; related parties are declared through the API.
    Providers(ImportArgs),
    /// Blacklist entries from CSV or XLSX: uscc, party_kind (enterprise |
    /// provider, 企业 | 服务机构), reason, source, effective_from,
    /// effective_until.
    Blacklist(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    file: PathBuf,
    #[arg(long, env = "VOUCHER_DATABASE_URL", default_value = crate::app::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Import the valid rows even if others are bad (default: all or nothing).
    #[arg(long)]
    valid_rows: bool,
    /// Write the row/column error report here as CSV.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    key: super::KeyArgs,
}

pub async fn run(command: ImportAction) -> anyhow::Result<ExitCode> {
    let (what, args) = match command {
        ImportAction::Enterprises(args) => (What::Enterprises, args),
        ImportAction::Tags(args) => (What::Tags, args),
        ImportAction::Providers(args) => (What::Providers, args),
        ImportAction::Blacklist(args) => (What::Blacklist, args),
    };
    let ImportArgs {
        file,
        database_url,
        valid_rows,
        report,
        key,
    } = args;
    let bytes =
        std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let (signer, _) = crate::keyfile::load_or_create(&key.key_file)?;
    let (personal_key, _) = crate::personal::master_key::load_or_create(
        &crate::personal::master_key::beside(&key.key_file),
    )?;
    let mode = if valid_rows {
        ImportMode::ValidRows
    } else {
        ImportMode::AllOrNothing
    };
    let job = Import {
        what,
        bytes,
        mode,
        signer: Arc::new(signer),
        personal_key: Arc::new(personal_key),
    };
    let outcome = with_store(&database_url, job).await??;
    eprintln!();
    println!(
        "{} rows: {} created, {} updated, {} unchanged, {} errors{}",
        outcome.rows,
        outcome.created,
        outcome.updated,
        outcome.unchanged,
        outcome.errors.len(),
        if outcome.applied {
            ""
        } else {
            " (nothing written)"
        }
    );
    for error in outcome.errors.iter().take(20) {
        println!(
            "  row {} {}: {} ({})",
            error.row, error.column, error.message, error.code
        );
    }
    if let Some(path) = report {
        std::fs::write(&path, outcome.errors_csv())?;
        println!("error report: {}", path.display());
    }
    Ok(if outcome.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    })
}

#[derive(Clone, Copy)]
enum What {
    Enterprises,
    Tags,
    Providers,
    Blacklist,
}

struct Import {
    what: What,
    bytes: Vec<u8>,
    mode: ImportMode,
    signer: Arc<KeyPair>,
    personal_key: Arc<crate::personal::sealed::MasterKey>,
}

impl StoreJob for Import {
    type Output = anyhow::Result<ImportReport>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<ImportReport> {
        let parsed = match self.what {
            What::Enterprises => parse_enterprise_file(&self.bytes).map(FileRows::Enterprises),
            What::Tags => parse_tag_file(&self.bytes).map(FileRows::Tags),
            What::Providers => parse_provider_file(&self.bytes).map(FileRows::Providers),
            What::Blacklist => parse_blacklist_file(&self.bytes).map(FileRows::Blacklist),
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(errors) => {
                return Ok(ImportReport {
                    errors,
                    ..ImportReport::default()
                });
            }
        };
        let (writer, task) = super::start_writer_with(
            &store,
            self.signer.clone(),
            Default::default(),
            Some(self.personal_key.clone()),
        )
        .await?;
        let actor = super::cli_actor();
        let prefix = format!("cli:import:{}", uuid::Uuid::now_v7());
        let today = Timestamp::now().cst_date();
        let zones = zone_map(&store).await?;
        let report = match parsed {
            FileRows::Enterprises(rows) => {
                import_enterprises(
                    &writer,
                    &actor,
                    &prefix,
                    rows,
                    &ImportSettings {
                        mode: self.mode,
                        today,
                        zones,
                    },
                    progress_bar,
                )
                .await
            }
            FileRows::Tags(parsed) => {
                import_tags(&store, &writer, &actor, &prefix, parsed, self.mode).await?
            }
            FileRows::Providers(parsed) => {
                import_providers(&writer, &actor, &prefix, parsed, self.mode).await
            }
            FileRows::Blacklist(parsed) => {
                import_blacklist(&store, &writer, &actor, &prefix, parsed, self.mode).await?
            }
        };
        drop(writer);
        task.await?;
        Ok(report)
    }
}

/// A file's rows, by what the file holds.
enum FileRows {
    Enterprises(Vec<(usize, crate::domain::enterprise::EnterpriseFields)>),
    Tags(Parsed<crate::service::import::TagRow>),
    Providers(Parsed<(usize, crate::domain::provider::ProviderInput)>),
    Blacklist(Parsed<crate::service::import::BlacklistRow>),
}

/// Redraws a one-line progress bar on stderr at each whole percent.
fn progress_bar(done: usize, total: usize) {
    let percent = done * 100 / total.max(1);
    let previous = (done.saturating_sub(1)) * 100 / total.max(1);
    if done != total && percent == previous {
        return;
    }
    let filled = percent * 30 / 100;
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "\r[{}{}] {percent:>3}%  {done}/{total}",
        "#".repeat(filled),
        ".".repeat(30 - filled)
    );
    let _ = stderr.flush();
}

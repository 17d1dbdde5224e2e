//! `voucher-ledger export enterprises|providers|programmes`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::{StoreJob, with_existing_store};
use crate::service::export::{self, ExportError, Format};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    Enterprises,
    Providers,
    Programmes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Xlsx,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    what: What,
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, env = "VOUCHER_DATABASE_URL", default_value = crate::app::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// The personal data master key is read beside the ledger key file
    /// (contacts are exported opened; without the key, as 已加密).
    #[command(flatten)]
    key: super::KeyArgs,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Xlsx => Format::Xlsx,
    };
    let personal_key = crate::personal::master_key::load_existing(
        &crate::personal::master_key::beside(&args.key.key_file),
    )?;
    let bytes = with_existing_store(
        &args.database_url,
        Export {
            what: args.what,
            format,
            personal_key,
        },
    )
    .await??;
    match args.out {
        Some(path) => std::fs::write(&path, &bytes)?,
        // A reader that stops early (`| head`) is not an error.
        None => match std::io::stdout().lock().write_all(&bytes) {
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    Ok(ExitCode::SUCCESS)
}

struct Export {
    what: What,
    format: Format,
    personal_key: Option<crate::personal::sealed::MasterKey>,
}

impl StoreJob for Export {
    type Output = Result<Vec<u8>, ExportError>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let sheet = match self.what {
            What::Enterprises => {
                let reader = crate::service::personal::Reader {
                    actor: "cli:export".into(),
                    role: "operator".into(),
                    purpose: "export enterprises".into(),
                };
                export::enterprises(&store, self.personal_key.as_ref(), &reader).await?
            }
            What::Providers => export::providers(&store).await?,
            What::Programmes => export::programmes(&store).await?,
        };
        export::render(&sheet, self.format)
    }
}

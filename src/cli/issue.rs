//! `voucher-ledger issue`: the admin's allocation from the command line.
//!
//! `--enterprise USCC` issues one voucher and prints its QR text (only the
//! text, on stdout, so it can be piped into `qr` or a mail merge);
//! `--list FILE.csv` issues to every enterprise of a list (first column:
//! the USCC; a header row is skipped), shows progress on stderr, and
//! writes one CSV result line per enterprise on stdout: issued, or every
//! reason it was refused. Keys are `cli:issue:<programme>:<batch>:<USCC>`,
//! so re-running the same batch issues only what is missing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::app::{StoreJob, with_existing_store};
use crate::domain::{Fen, ProgrammeCode, Uscc};
use crate::service::commands::IssueVia;
use crate::service::issuance::voucher_token;
use crate::service::vouchers::{self, Allocated, IssueError};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The programme's code, e.g. ZS2026-01.
    #[arg(long)]
    programme: String,
    /// One enterprise's USCC: prints the voucher's QR text.
    #[arg(long, conflicts_with = "list", required_unless_present = "list")]
    enterprise: Option<String>,
    /// A CSV whose first column is USCCs: one result line per enterprise.
    #[arg(long)]
    list: Option<PathBuf>,
    /// Face value in 元 (e.g. 5000 or 5,000.00); may be left out when the
    /// programme offers only one.
    #[arg(long)]
    face_value: Option<String>,
    /// Names this allocation: running the same batch again issues only
    /// what is missing.
    #[arg(long, default_value = "default")]
    batch: String,
    #[command(flatten)]
    writer: super::WriterArgs,
}

pub async fn run(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let programme = ProgrammeCode::parse(&args.programme)
        .map_err(|_| anyhow::anyhow!("{:?} is not a programme code", args.programme))?;
    let face_value = args
        .face_value
        .as_deref()
        .map(Fen::parse_yuan)
        .transpose()
        .map_err(|error| anyhow::anyhow!("--face-value: {error}"))?;
    let usccs = match (&args.enterprise, &args.list) {
        (Some(uscc), _) => vec![uscc.trim().to_ascii_uppercase()],
        (None, Some(path)) => read_list(path)?,
        (None, None) => anyhow::bail!("give --enterprise USCC or --list FILE.csv"),
    };
    let job = Issue {
        keys: args.writer.keys()?,
        programme,
        face_value,
        batch: args.batch,
        usccs,
        single: args.enterprise.is_some(),
    };
    with_existing_store(&args.writer.database.database_url, job).await?
}

/// The USCCs in the first column of a CSV, header row skipped.
fn read_list(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut usccs = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), index + 1))?;
        let cell = record
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}');
        let cell = cell.to_ascii_uppercase();
        if index == 0 && Uscc::parse(&cell).is_err() {
            continue; // a header
        }
        if !cell.is_empty() {
            usccs.push(cell);
        }
    }
    anyhow::ensure!(!usccs.is_empty(), "{} lists no enterprise", path.display());
    Ok(usccs)
}

struct Issue {
    keys: super::WriterKeys,
    programme: ProgrammeCode,
    face_value: Option<Fen>,
    batch: String,
    usccs: Vec<String>,
    single: bool,
}

impl StoreJob for Issue {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let record = store
            .programme(self.programme.as_str())
            .await?
            .with_context(|| format!("there is no programme {}", self.programme))?;
        let terms = record.terms;
        let face_value = terms.chosen_face_value(self.face_value).map_err(|offered| {
            anyhow::anyhow!(
                "the programme offers several face values ({offered}): choose one with --face-value"
            )
        })?;
        let (writer, task) = self.keys.start_writer(&store).await?;
        let actor = super::cli_actor();
        let prefix = format!("cli:issue:{}:{}", self.programme, self.batch);
        let result = if self.single {
            issue_one(
                &store,
                &writer,
                actor,
                &prefix,
                &self.programme,
                face_value,
                &self.usccs[0],
            )
            .await
        } else {
            let total = self.usccs.len();
            let outcomes = vouchers::allocate(
                &store,
                &writer,
                &actor,
                &prefix,
                &self.programme,
                face_value,
                &self.usccs,
                |done, total| {
                    if done % 100 == 0 || done == total {
                        eprint!("\rissued or refused {done}/{total}");
                    }
                },
            )
            .await;
            eprintln!();
            match outcomes {
                Ok(outcomes) => print_results(total, outcomes),
                Err(error) => Err(error.into()),
            }
        };
        drop(writer);
        task.await?;
        result
    }
}

async fn issue_one<S: Store>(
    store: &S,
    writer: &crate::service::WriterHandle,
    actor: String,
    prefix: &str,
    programme: &ProgrammeCode,
    face_value: Fen,
    uscc: &str,
) -> anyhow::Result<ExitCode> {
    let Some(enterprise) = store.enterprise_by_uscc(uscc).await? else {
        eprintln!("refused [enterprise_not_registered]: {uscc} is not in the registry");
        return Ok(ExitCode::FAILURE);
    };
    let key = format!("{prefix}:{uscc}");
    match vouchers::issue(
        store,
        writer,
        actor,
        key,
        programme,
        enterprise.id,
        face_value,
        IssueVia::Allocation,
    )
    .await
    {
        Ok((voucher, replayed)) => {
            eprintln!(
                "{} voucher {} for {uscc}: {} 元, valid {} to {}",
                if replayed {
                    "already issued:"
                } else {
                    "issued"
                },
                voucher.id,
                Fen::new(voucher.face_value_fen).to_plain_yuan(),
                voucher.valid_from,
                voucher.valid_until
            );
            println!("{}", voucher_token(&voucher)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(IssueError::Command(error)) => {
            for (code, message, message_zh) in error.reasons() {
                eprintln!("refused [{code}]: {message} {message_zh}");
            }
            Ok(ExitCode::FAILURE)
        }
        Err(IssueError::Store(error)) => Err(error.into()),
    }
}

/// One CSV line per enterprise on stdout; a summary on stderr.
fn print_results(total: usize, outcomes: Vec<(String, Allocated)>) -> anyhow::Result<ExitCode> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    out.write_record([
        "uscc",
        "outcome",
        "voucher_id",
        "face_value_yuan",
        "valid_until",
        "code",
        "reasons",
        "token",
    ])?;
    let (mut issued, mut already, mut refused) = (0, 0, 0);
    for (uscc, outcome) in outcomes {
        match outcome {
            Allocated::Issued { voucher, replayed } => {
                if replayed {
                    already += 1;
                } else {
                    issued += 1;
                }
                out.write_record([
                    uscc.as_str(),
                    if replayed { "already_issued" } else { "issued" },
                    &voucher.id.to_string(),
                    &Fen::new(voucher.face_value_fen).to_plain_yuan(),
                    &voucher.valid_until.to_string(),
                    "",
                    "",
                    &voucher_token(&voucher)?,
                ])?;
            }
            Allocated::Refused(error) => {
                refused += 1;
                let reasons: String = error
                    .reasons()
                    .into_iter()
                    .map(|(_, message, message_zh)| {
                        if message_zh.is_empty() {
                            message
                        } else {
                            message_zh
                        }
                    })
                    .collect();
                out.write_record([
                    uscc.as_str(),
                    "refused",
                    "",
                    "",
                    "",
                    error.code(),
                    &reasons,
                    "",
                ])?;
            }
        }
    }
    out.flush()?;
    eprintln!("{total} enterprises: {issued} issued, {already} already issued, {refused} refused");
    Ok(ExitCode::SUCCESS)
}

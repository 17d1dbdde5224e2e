//! `voucher-ledger settle …`: the finance bureau's settlement steps from
//! the command line — prepare a run, show it, resolve a held line,
//! approve, write the bank payment file, import the bank's return file.
//! Each step that records something is the same ledger command the API
//! submits, with an idempotency key derived from what was asked (so
//! running the same step twice records it once).

use crate::service::commands::Envelope;
use crate::service::settlement;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::{StoreJob, with_store};
use crate::domain::settlement::{Period, run_id};
use crate::domain::{Fen, ProgrammeCode, Role};
use crate::service::commands::settlement::facts::stored_flags;
use crate::service::settlement_files;
use crate::store::Store;
use crate::store::settlement::RunRecord;

#[derive(Debug, clap::Subcommand)]
pub enum SettleAction {
    /// Prepare the run of a programme for a period (2026Q3, 2026H1, 2026,
    /// or 2026-07-01..2026-09-30).
    Prepare {
        #[arg(long)]
        programme: String,
        #[arg(long)]
        period: String,
        /// The finance user preparing it (the maker).
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        writer: super::WriterArgs,
    },
    /// Print a run: totals, payouts and every flagged line.
    Show {
        run: Uuid,
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
    /// Clear a held line's blocking flags with a note.
    Resolve {
        run: Uuid,
        redemption: Uuid,
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        writer: super::WriterArgs,
    },
    /// Approve a prepared run (the checker: not its preparer).
    Approve {
        run: Uuid,
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        writer: super::WriterArgs,
    },
    /// Write the bank payment file (CSV) of an approved run.
    PaymentFile {
        run: Uuid,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
    /// Import the bank's return file (CSV) of an approved run.
    BankReturn {
        run: Uuid,
        file: PathBuf,
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        writer: super::WriterArgs,
    },
}

pub async fn run(command: SettleAction) -> anyhow::Result<ExitCode> {
    match command {
        SettleAction::Prepare {
            programme,
            period,
            user,
            writer,
        } => {
            let programme = ProgrammeCode::parse(&programme)
                .map_err(|e| anyhow!("programme code {programme:?}: {e}"))?;
            let period = Period::parse(&period)?;
            let key = format!("cli:settle:prepare:{programme}:{}", period.label());
            let step = Step::Prepare { programme, period };
            with_writer(writer, user, key, step).await
        }
        SettleAction::Resolve {
            run,
            redemption,
            note,
            user,
            writer,
        } => {
            let key = format!("cli:settle:resolve:{run}:{redemption}");
            let step = Step::Resolve {
                run,
                redemption,
                note,
            };
            with_writer(writer, user, key, step).await
        }
        SettleAction::Approve { run, user, writer } => {
            let key = format!("cli:settle:approve:{run}");
            with_writer(writer, user, key, Step::Approve { run }).await
        }
        SettleAction::BankReturn {
            run,
            file,
            user,
            writer,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let key = format!("cli:settle:bank-return:{run}:{digest}");
            with_writer(writer, user, key, Step::BankReturn { run, bytes }).await
        }
        SettleAction::Show { run, database } => {
            with_store(&database.database_url, Show { run }).await?
        }
        SettleAction::PaymentFile { run, out, database } => {
            with_store(&database.database_url, PaymentFile { run, out }).await?
        }
    }
}

enum Step {
    Prepare {
        programme: ProgrammeCode,
        period: Period,
    },
    Resolve {
        run: Uuid,
        redemption: Uuid,
        note: String,
    },
    Approve {
        run: Uuid,
    },
    BankReturn {
        run: Uuid,
        bytes: Vec<u8>,
    },
}

async fn with_writer(
    args: super::WriterArgs,
    user: String,
    key: String,
    step: Step,
) -> anyhow::Result<ExitCode> {
    let job = Recorded {
        keys: args.keys()?,
        user,
        key,
        step,
    };
    with_store(&args.database.database_url, job).await?
}

struct Recorded {
    keys: super::WriterKeys,
    user: String,
    key: String,
    step: Step,
}

async fn finance_user<S: Store>(store: &S, username: &str) -> anyhow::Result<Uuid> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| anyhow!("no user {username:?}"))?;
    if user.role != Role::Finance.as_str() {
        bail!("{username} is {}, not a finance user", user.role);
    }
    Ok(user.id)
}

async fn run_of<S: Store>(store: &S, id: Uuid) -> anyhow::Result<RunRecord> {
    store
        .settlement_run(id)
        .await?
        .ok_or_else(|| anyhow!("no settlement run {id}"))
}

impl StoreJob for Recorded {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let user = finance_user(&store, &self.user).await?;
        let (writer, task) = self.keys.start_writer(&store).await?;
        let actor = format!("{}:{}", super::cli_actor(), self.user);
        let by = || Envelope::new(actor.clone(), self.key.clone());
        let outcome: anyhow::Result<Uuid> = async {
            match self.step {
                Step::Prepare { programme, period } => {
                    settlement::prepare(&writer, by(), programme.clone(), period, user).await?;
                    Ok(run_id(programme.as_str(), &period))
                }
                Step::Resolve {
                    run,
                    redemption,
                    note,
                } => {
                    settlement::resolve_line(&writer, by(), run, redemption, note, user).await?;
                    Ok(run)
                }
                Step::Approve { run } => {
                    settlement::approve(&writer, by(), run, user).await?;
                    Ok(run)
                }
                Step::BankReturn { run, bytes } => {
                    let record = run_of(&store, run).await?;
                    let imported = settlement_files::import_bank_return(
                        &store,
                        &writer,
                        &actor,
                        self.key.clone(),
                        &record,
                        &bytes,
                    )
                    .await?;
                    for (line, matched) in &imported.lines {
                        println!(
                            "line {:>5}  {:<28} {}",
                            line.line,
                            line.reference,
                            matched.code()
                        );
                    }
                    for error in &imported.errors {
                        println!(
                            "line {:>5}  unreadable: {} / {}",
                            error.line, error.message, error.message_zh
                        );
                    }
                    println!("paid {}, failed {}", imported.paid, imported.failed);
                    Ok(run)
                }
            }
        }
        .await;
        drop(writer);
        task.await?;
        let run = outcome?;
        print_run(&store, &run_of(&store, run).await?, false).await?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Prints a run's totals and payouts, and with `lines` each line with flags.
async fn print_run<S: Store>(store: &S, run: &RunRecord, lines: bool) -> anyhow::Result<()> {
    println!(
        "run {}  {}  {}..{}  {}",
        run.id, run.programme_code, run.period_from, run.period_until, run.status
    );
    for (state, count, fen) in store.settlement_line_totals(run.id).await? {
        println!(
            "  {:<9} {count:>8} lines  {}",
            state.as_str(),
            Fen::new(fen)
        );
    }
    for payout in store.payouts(run.id).await? {
        println!(
            "  payout {}  {}  gross {}  offset {}  net {}  {}",
            payout.reference,
            payout.payee_name,
            Fen::new(payout.gross_fen),
            Fen::new(payout.offset_fen),
            Fen::new(payout.net_fen),
            payout.status
        );
    }
    if !lines {
        return Ok(());
    }
    let mut after = 0;
    loop {
        let page = store.settlement_lines(run.id, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.line_no;
        for line in page.iter() {
            let flags = stored_flags(line)?;
            if flags.is_empty() {
                continue;
            }
            let codes: Vec<String> = flags
                .iter()
                .map(|f| format!("{}({})", f.code, f.severity))
                .collect();
            println!(
                "  line {:>6} {} {} {:<8} {}",
                line.line_no,
                line.redemption_id,
                Fen::new(line.subsidy_fen),
                line.state,
                codes.join(" ")
            );
        }
    }
    Ok(())
}

struct Show {
    run: Uuid,
}

impl StoreJob for Show {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        print_run(&store, &run_of(&store, self.run).await?, true).await?;
        Ok(ExitCode::SUCCESS)
    }
}

struct PaymentFile {
    run: Uuid,
    out: PathBuf,
}

impl StoreJob for PaymentFile {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let run = run_of(&store, self.run).await?;
        let file = settlement_files::payment_file(&store, &run).await?;
        std::fs::write(&self.out, file)?;
        println!("wrote {}", self.out.display());
        Ok(ExitCode::SUCCESS)
    }
}

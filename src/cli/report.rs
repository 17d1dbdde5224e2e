//! `voucher-ledger report …`: the 兑付表 of a run, a provider's statement
//! (XLSX, CSV or PDF by the output file's extension, streamed with a
//! progress bar), and a programme's utilisation (a table, and an SVG
//! chart with `--svg`).

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use uuid::Uuid;

use super::progress::Progress;
use crate::app::{StoreJob, with_store};
use crate::domain::{Fen, ProgrammeCode};
use crate::report::batch::Format;
use crate::service::{settlement_files, utilisation};
use crate::store::Store;
use crate::store::settlement::UtilisationGroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    District,
    Zone,
    Category,
    Month,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportAction {
    /// A run's 兑付/结算表: `--out FILE.xlsx|.csv|.pdf`.
    Batch {
        run: Uuid,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
    /// One provider's statement in a run.
    Statement {
        run: Uuid,
        provider: Uuid,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
    /// A programme's utilisation by district, zone, category or month.
    Utilisation {
        #[arg(long)]
        programme: String,
        #[arg(long, value_enum, default_value = "district")]
        by: By,
        /// Also write the chart here (SVG).
        #[arg(long)]
        svg: Option<PathBuf>,
        #[command(flatten)]
        database: super::DatabaseArgs,
    },
}

pub async fn run(command: ReportAction) -> anyhow::Result<ExitCode> {
    match command {
        ReportAction::Batch { run, out, database } => {
            let job = Export {
                run,
                provider: None,
                out,
            };
            with_store(&database.database_url, job).await?
        }
        ReportAction::Statement {
            run,
            provider,
            out,
            database,
        } => {
            let job = Export {
                run,
                provider: Some(provider),
                out,
            };
            with_store(&database.database_url, job).await?
        }
        ReportAction::Utilisation {
            programme,
            by,
            svg,
            database,
        } => {
            let programme = ProgrammeCode::parse(&programme)
                .map_err(|e| anyhow!("programme code {programme:?}: {e}"))?;
            let job = Utilisation { programme, by, svg };
            with_store(&database.database_url, job).await?
        }
    }
}

struct Export {
    run: Uuid,
    provider: Option<Uuid>,
    out: PathBuf,
}

impl StoreJob for Export {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let extension = self
            .out
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_lowercase();
        let Some(format) = Format::parse(&extension) else {
            bail!("the output file must end in .xlsx, .csv or .pdf");
        };
        let run = store
            .settlement_run(self.run)
            .await?
            .ok_or_else(|| anyhow!("no settlement run {}", self.run))?;
        let heading = settlement_files::heading(&store, &run, self.provider).await?;
        let total = store.included_line_count(run.id, self.provider).await?;
        if format == Format::Pdf && total > crate::report::batch_pdf::MAX_LINES {
            bail!(
                "this report has {total} lines; a PDF holds at most {}: export .xlsx or .csv",
                crate::report::batch_pdf::MAX_LINES
            );
        }
        let file = BufWriter::new(std::fs::File::create(&self.out)?);
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let render = settlement_files::spawn_render(
            &store,
            run.id,
            self.provider,
            format,
            heading,
            file,
            move |done| {
                if done % 1000 == 0 {
                    let _ = sender.send(done);
                }
            },
        );
        let mut progress = Progress::new(format!("{}", self.out.display()), total);
        while let Some(done) = receiver.recv().await {
            progress.set(done);
        }
        let (totals, _) = render.await??;
        progress.set(totals.lines);
        progress.finish();
        println!(
            "{} lines, 合计 {} ({}) → {}",
            totals.lines,
            Fen::new(totals.subsidy_fen),
            totals.daxie(),
            self.out.display()
        );
        Ok(ExitCode::SUCCESS)
    }
}

struct Utilisation {
    programme: ProgrammeCode,
    by: By,
    svg: Option<PathBuf>,
}

impl StoreJob for Utilisation {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let group = match self.by {
            By::District => UtilisationGroup::District,
            By::Zone => UtilisationGroup::Zone,
            By::Category => UtilisationGroup::Category,
            By::Month => UtilisationGroup::Month,
        };
        let u = utilisation::utilisation(&store, &self.programme, group)
            .await?
            .ok_or_else(|| anyhow!("no programme {}", self.programme))?;
        for (label, fen) in [
            ("funding 拨款", u.funding_fen),
            ("available 可用", u.available_fen),
            ("outstanding 未使用券", u.outstanding_fen),
            ("payable 应付", u.payable_fen),
            ("in payment 支付中", u.payout_pending_fen),
            ("paid 已支付", u.paid_fen),
            ("lapsed 结余", u.lapsed_fen),
            ("receivable 待追回", u.recovery_receivable_fen),
            ("recovered 已追回", u.recovered_fen),
        ] {
            println!("{label:<24} {:>18}", Fen::new(fen).to_string());
        }
        println!(
            "\n{:<12} {:>16} {:>16} {:>16} {:>16}",
            "group", "issued", "redeemed", "settled", "paid"
        );
        for row in &u.groups {
            println!(
                "{:<12} {:>16} {:>16} {:>16} {:>16}",
                if row.label.is_empty() {
                    "—"
                } else {
                    &row.label
                },
                Fen::new(row.issued_fen).to_string(),
                Fen::new(row.redeemed_fen).to_string(),
                Fen::new(row.settled_fen).to_string(),
                Fen::new(row.paid_fen).to_string()
            );
        }
        if let Some(path) = self.svg {
            let title = format!("{} 资金使用情况", self.programme);
            std::fs::write(&path, utilisation::chart_svg(&title, &u))?;
            println!("chart → {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

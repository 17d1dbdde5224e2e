//! `voucher-ledger report …`: the 兑付表 of a run, a provider's statement
//! (XLSX, CSV or PDF by the output file's extension, streamed with a
//! progress bar), and a programme's utilisation (a table, and an SVG
//! chart with `--svg`).

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use unicode_width::UnicodeWidthStr;
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

impl By {
    /// The group column's heading, as on the page.
    fn heading(self) -> &'static str {
        match self {
            By::District => "区县",
            By::Zone => "功能区",
            By::Category => "服务类别",
            By::Month => "月份",
        }
    }
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
            "{} line{}, 合计 {} ({}) → {}",
            totals.lines,
            if totals.lines == 1 { "" } else { "s" },
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
        print!("{}", utilisation_table(&u, self.by.heading()));
        if let Some(path) = self.svg {
            let title = format!("{} 资金使用情况", self.programme);
            std::fs::write(&path, utilisation::chart_svg(&title, &u))?;
            println!("chart → {}", path.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// `text` padded with spaces to `columns` terminal columns (a Chinese
/// character takes two), on the right or the left.
fn pad(text: &str, columns: usize, right_align: bool) -> String {
    let fill = " ".repeat(columns.saturating_sub(text.width()));
    if right_align {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// The utilisation as the page shows it: the nine totals under their
/// Chinese names, then one line per group (by its label) with the chart's
/// four series, columns aligned for Chinese text.
fn utilisation_table(u: &utilisation::Utilisation, group_heading: &str) -> String {
    let mut out = String::new();
    for ((_, zh, en), fen) in utilisation::TOTALS.iter().zip(u.totals_fen()) {
        let label = format!("{zh}（{en}）");
        out.push_str(&format!(
            "{} {}\n",
            pad(&label, 36, false),
            pad(&Fen::new(fen).to_string(), 18, true)
        ));
    }
    let label_width = u
        .groups
        .iter()
        .map(|g| g.label.width())
        .chain([group_heading.width(), 10])
        .max()
        .unwrap_or(10);
    out.push('\n');
    out.push_str(&pad(group_heading, label_width, false));
    for series in utilisation::SERIES {
        out.push_str(&format!(" {}", pad(series, 16, true)));
    }
    out.push('\n');
    for row in &u.groups {
        let label = if row.label.is_empty() {
            "（未分类）"
        } else {
            &row.label
        };
        out.push_str(&pad(label, label_width, false));
        for fen in [
            row.issued_fen,
            row.redeemed_fen,
            row.settled_fen,
            row.paid_fen,
        ] {
            out.push_str(&format!(" {}", pad(&Fen::new(fen).to_string(), 16, true)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::utilisation::{GroupTotals, Utilisation};

    #[test]
    fn the_utilisation_table_aligns_chinese_labels_and_uses_the_pages_names() {
        let group = |label: &str, fen| GroupTotals {
            group: String::new(),
            label: label.into(),
            issued_fen: fen,
            redeemed_fen: 0,
            settled_fen: 0,
            paid_fen: fen,
        };
        let u = Utilisation {
            funding_fen: 300_000_000,
            available_fen: 299_400_000,
            outstanding_fen: 0,
            payable_fen: 0,
            payout_pending_fen: 400_000,
            paid_fen: 0,
            lapsed_fen: 0,
            recovery_receivable_fen: 0,
            recovered_fen: 0,
            groups: vec![group("定海区", 100_000), group("嵊泗县", 5), group("", 1)],
        };
        let table = utilisation_table(&u, "区县");
        assert!(table.contains("拨入资金（Funding）"), "{table}");
        assert!(table.contains("¥3,000,000.00") && table.contains("（未分类）"));
        // Every line of a block ends at the same terminal column.
        for block in table.split("\n\n") {
            let widths: Vec<usize> = block.lines().map(|l| l.width()).collect();
            assert!(
                widths.windows(2).all(|w| w[0] == w[1]),
                "{widths:?}\n{table}"
            );
        }
    }
}

//! `voucher-ledger drill`: durability and concurrency drills.
//!
//! Appends synthetic journal entries (1 fen from `budget_available/DRILL`
//! to `lapsed/DRILL`) through the same writer the server
//! uses, and prints one line per acknowledged append:
//! `ack <sequence> <idempotency-key>`. A drill that is killed (`kill -9`)
//! mid-run must leave every printed append in the ledger; two drills on one
//! Postgres must leave one gapless chain. Scratch databases only.

use crate::service::commands::Envelope;
use crate::service::{CommandError, Receipt, journal, programmes};
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{StoreJob, with_store};
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::posting::Posting;
use crate::service::engine::{self, publish_ledger_key};
use crate::service::{WriterConfig, WriterHandle};
use crate::store::Store;

/// Funding for the drill programme: far more than any drill appends.
const DRILL_FUNDING_FEN: i64 = 1_000_000_000_000;
/// Bound on one drill's size.
const DRILL_ENTRIES_MAX: u64 = 10_000_000;

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    /// The scratch database (sqlite://… or postgres://…).
    #[arg(long, env = "VOUCHER_DATABASE_URL")]
    database_url: String,
    /// How many entries to append.
    #[arg(long, default_value_t = 1000)]
    entries: u64,
    /// Concurrent submitters.
    #[arg(long, default_value_t = 16)]
    clients: u64,
    /// Confirms the database is a scratch database.
    #[arg(long, required = true)]
    scratch: bool,
}

pub async fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.scratch, "drill needs --scratch");
    anyhow::ensure!(
        (1..=DRILL_ENTRIES_MAX).contains(&args.entries),
        "--entries must be 1 to {DRILL_ENTRIES_MAX}"
    );
    anyhow::ensure!(
        (1..=1024).contains(&args.clients),
        "--clients must be 1 to 1024"
    );
    let job = Drill {
        entries: args.entries,
        clients: args.clients,
        run_id: uuid::Uuid::now_v7().to_string(),
    };
    with_store(&args.database_url, job).await??;
    Ok(ExitCode::SUCCESS)
}

struct Drill {
    entries: u64,
    clients: u64,
    run_id: String,
}

fn drill_programme() -> ProgrammeCode {
    ProgrammeCode::parse("DRILL").expect("DRILL is a valid programme code")
}

/// Appends the journal one drill (or ledger bench) append is: one fen
/// from the budget to lapsed.
pub async fn one_fen_journal(
    writer: &WriterHandle,
    by: Envelope,
    programme: &ProgrammeCode,
) -> Result<Receipt, CommandError> {
    let available = Account::programme(AccountKind::BudgetAvailable, programme)
        .expect("programme-level account");
    let lapsed =
        Account::programme(AccountKind::Lapsed, programme).expect("programme-level account");
    let postings = vec![
        Posting::debit(lapsed, Fen::new(1)),
        Posting::credit(available, Fen::new(1)),
    ];
    journal::post(writer, by, "drill".into(), postings).await
}

/// Funds a programme once (idempotent by key) so appends have budget.
pub async fn fund(
    writer: &WriterHandle,
    programme: &ProgrammeCode,
    amount_fen: i64,
) -> anyhow::Result<()> {
    let by = Envelope::new("system:drill", format!("fund-{programme}"));
    let reference = "scratch funding".to_string();
    programmes::fund(
        writer,
        by,
        programme.clone(),
        Fen::new(amount_fen),
        reference,
    )
    .await?;
    Ok(())
}

impl StoreJob for Drill {
    type Output = anyhow::Result<()>;

    async fn run<S: Store>(self, store: S) -> anyhow::Result<()> {
        let signer = Arc::new(KeyPair::generate());
        publish_ledger_key(&store, &signer).await?;
        let (writer, writer_task) = engine::spawn(store, signer, WriterConfig::default());
        let programme = drill_programme();
        fund(&writer, &programme, DRILL_FUNDING_FEN).await?;
        let mut tasks = Vec::new();
        for client in 0..self.clients {
            let writer = writer.clone();
            let programme = programme.clone();
            let run_id = self.run_id.clone();
            let count =
                self.entries / self.clients + u64::from(client < self.entries % self.clients);
            tasks.push(tokio::spawn(async move {
                for index in 0..count {
                    let key = format!("drill-{run_id}-{client}-{index}");
                    let by = Envelope::new("system:drill", key.clone());
                    let receipt = one_fen_journal(&writer, by, &programme).await?;
                    println!("ack {} {key}", receipt.sequence);
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        drop(writer);
        writer_task.await?;
        Ok(())
    }
}

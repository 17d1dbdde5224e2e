//! `voucher-ledger sweep expiry|auto-confirm|all`: the sweeps `serve` runs
//! hourly, on demand (e.g. from cron on a deployment without `serve`).
//! Each change is its own idempotent ledger command, so running a sweep
//! while `serve` runs one too records every change once.

use std::process::ExitCode;

use crate::app::{StoreJob, with_store};
use crate::domain::Timestamp;
use crate::service::sweeps;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Expire vouchers past their last valid day (value back to the budget).
    Expiry,
    /// Confirm redemptions pending longer than their programme allows.
    AutoConfirm,
    /// Both.
    All,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    #[arg(value_enum)]
    which: Which,
    #[command(flatten)]
    writer: super::WriterArgs,
}

pub async fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let job = Sweep {
        keys: args.writer.keys()?,
        which: args.which,
    };
    with_store(&args.writer.database.database_url, job).await?
}

struct Sweep {
    keys: super::WriterKeys,
    which: Which,
}

impl StoreJob for Sweep {
    type Output = anyhow::Result<ExitCode>;

    async fn run<S: Store>(self, store: S) -> Self::Output {
        let (writer, task) = self.keys.start_writer(&store).await?;
        let actor = super::cli_actor();
        let now = Timestamp::now();
        let mut outcome = Ok(());
        if matches!(self.which, Which::Expiry | Which::All) {
            match sweeps::expire_vouchers(&store, &writer, &actor, now).await {
                Ok(report) => println!(
                    "expiry: {} vouchers expired, {} already done",
                    report.changed, report.already_done
                ),
                Err(error) => outcome = Err(error),
            }
        }
        if outcome.is_ok() && matches!(self.which, Which::AutoConfirm | Which::All) {
            match sweeps::auto_confirm(&store, &writer, &actor, now).await {
                Ok(report) => println!(
                    "auto-confirm: {} redemptions confirmed, {} already done",
                    report.changed, report.already_done
                ),
                Err(error) => outcome = Err(error),
            }
        }
        drop(writer);
        task.await?;
        outcome.map_err(|error| anyhow::anyhow!("sweep failed: {error}"))?;
        Ok(ExitCode::SUCCESS)
    }
}

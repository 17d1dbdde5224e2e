//! `voucher-ledger bench …`: throughput next to a baseline from the same run.
//!
//! This machine is noisy, so absolute numbers mean little; each benchmark
//! measures a baseline on the same backend in the same run and prints the
//! ratio. Benchmarks run on scratch databases they create and remove.

mod harness;
mod issue;
mod ledger;
mod log;
mod redeem;
mod settle;
mod setup;

use std::process::ExitCode;

use crate::service::import::IMPORT_ROWS_MAX;

#[derive(Debug, clap::Subcommand)]
pub enum BenchAction {
    /// Enterprise CSV import (issue 4 target: 100,000 rows in under 10 s on
    /// SQLite), then the same file again (must change nothing).
    Import {
        /// sqlite, or a postgres:// URL where scratch databases may be created.
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    /// End-to-end claims over HTTP (authenticated, checked, signed,
    /// durable) vs one single-row durable INSERT per transaction, and raw
    /// Ed25519 signatures per second.
    Issue {
        /// sqlite, or a postgres:// URL where scratch databases may be created.
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        /// Claims (each by a different firm; the budget covers them all).
        #[arg(long, default_value_t = 10_000)]
        claims: u64,
        /// Concurrent HTTP clients. Claims come as a flash crowd (a whole
        /// budget claimed within a minute; the flash-crowd test races
        /// 2,000), so the default keeps 256 claims in flight.
        #[arg(long, default_value_t = 256)]
        clients: u64,
    },
    /// Redemptions over HTTP (verified, checked, recorded exactly once)
    /// from concurrent provider clients, with p50/p99 latency, vs a
    /// single-row durable INSERT baseline at the same concurrency.
    Redeem {
        /// sqlite, or a postgres:// URL where scratch databases may be created.
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        /// Redemptions (each of a different single-use voucher).
        #[arg(long, default_value_t = 5_000)]
        redemptions: u64,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 64)]
        clients: u64,
    },
    /// Settle and export `redemptions` generated confirmed redemptions
    /// (prepare, approve, the 兑付表 as CSV) vs the raw SQL aggregate plus
    /// a plain stream of the same rows, with peak memory.
    Settle {
        /// sqlite, or a postgres:// URL where scratch databases may be created.
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        redemptions: u64,
    },
    /// Durable ledger appends (group commit) vs one single-row durable
    /// INSERT per transaction.
    Ledger {
        /// sqlite (scratch files in a temp dir) or a postgres:// URL of a
        /// server where scratch databases may be created and dropped.
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        /// Entries to append (and rows to insert in each baseline).
        #[arg(long, default_value_t = 20_000)]
        entries: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: u64,
    },
    /// The transparency log at scale: appends through the writer (the
    /// tree grows as in production), then inclusion-proof latency
    /// (p50/p99) and verify's rate next to raw SHA-256 of the same bytes.
    Log {
        #[arg(long, default_value = "sqlite")]
        backend_url: String,
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        #[arg(long, default_value_t = 64)]
        clients: u64,
        /// Inclusion proofs to time.
        #[arg(long, default_value_t = 2_000)]
        proofs: u64,
    },
}

pub async fn run(command: BenchAction) -> anyhow::Result<ExitCode> {
    match command {
        BenchAction::Import { backend_url, rows } => {
            anyhow::ensure!(
                (1..=IMPORT_ROWS_MAX).contains(&rows),
                "--rows must be 1 to {IMPORT_ROWS_MAX}"
            );
            ledger::bench_import(&backend_url, rows).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchAction::Issue {
            backend_url,
            claims,
            clients,
        } => {
            anyhow::ensure!(
                (1..=200_000).contains(&claims),
                "--claims must be 1 to 200000"
            );
            anyhow::ensure!((1..=1024).contains(&clients), "--clients must be 1 to 1024");
            issue::bench_issue(&backend_url, claims, clients).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchAction::Redeem {
            backend_url,
            redemptions,
            clients,
        } => {
            anyhow::ensure!(
                (1..=200_000).contains(&redemptions),
                "--redemptions must be 1 to 200000"
            );
            anyhow::ensure!((1..=1024).contains(&clients), "--clients must be 1 to 1024");
            redeem::bench_redeem(&backend_url, redemptions, clients).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchAction::Settle {
            backend_url,
            redemptions,
        } => {
            anyhow::ensure!(
                (1..=2_000_000).contains(&redemptions),
                "--redemptions must be 1 to 2000000"
            );
            settle::bench_settle(&backend_url, redemptions).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchAction::Ledger {
            backend_url,
            entries,
            clients,
        } => {
            anyhow::ensure!(
                (1..=1_000_000).contains(&entries),
                "--entries must be 1 to 1000000"
            );
            anyhow::ensure!((1..=1024).contains(&clients), "--clients must be 1 to 1024");
            ledger::bench_ledger(&backend_url, entries, clients).await?;
            Ok(ExitCode::SUCCESS)
        }
        BenchAction::Log {
            backend_url,
            entries,
            clients,
            proofs,
        } => {
            anyhow::ensure!(
                (1..=2_000_000).contains(&entries),
                "--entries must be 1 to 2000000"
            );
            anyhow::ensure!((1..=1024).contains(&clients), "--clients must be 1 to 1024");
            anyhow::ensure!(
                (1..=100_000).contains(&proofs),
                "--proofs must be 1 to 100000"
            );
            log::bench_log(&backend_url, entries, clients, proofs).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `voucher-ledger bench …`: throughput next to a baseline from the same run.
//!
//! This machine is noisy, so absolute numbers mean little; each benchmark
//! measures a baseline on the same backend in the same run and prints the
//! ratio. Benchmarks run on scratch databases they create and remove.

use crate::service::commands::Envelope;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{PgPool, SqlitePool};

use crate::domain::ProgrammeCode;
use crate::ledger::checkpoint::KeyPair;
use crate::service::WriterConfig;
use crate::service::engine::{self, publish_ledger_key};
use crate::service::import::{
    IMPORT_ROWS_MAX, ImportMode, ImportSettings, import_enterprises, parse_enterprise_file,
};
use crate::service::verify::verify_store;
use crate::store::postgres::url_with_database;
use crate::store::{Backend, PostgresStore, SqliteStore, Store, sqlite};

use super::drill::{fund, one_fen_journal};

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
}

/// Target from issue 2: ledger appends at least twice the baseline (one
/// single-row durable INSERT per transaction, one after another).
const TARGET_RATIO: f64 = 2.0;

pub async fn run(command: BenchAction) -> anyhow::Result<ExitCode> {
    match command {
        BenchAction::Import { backend_url, rows } => {
            anyhow::ensure!(
                (1..=IMPORT_ROWS_MAX).contains(&rows),
                "--rows must be 1 to {IMPORT_ROWS_MAX}"
            );
            bench_import(&backend_url, rows).await?;
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
            super::bench_issue::bench_issue(&backend_url, claims, clients).await?;
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
            super::bench_redeem::bench_redeem(&backend_url, redemptions, clients).await?;
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
            super::bench_settle::bench_settle(&backend_url, redemptions).await?;
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
            bench_ledger(&backend_url, entries, clients).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Scratch databases for one run: a baseline and a ledger.
pub(super) enum Scratch {
    Sqlite {
        _dir: tempfile::TempDir,
        baseline: String,
        ledger: String,
    },
    Postgres {
        admin: PgPool,
        baseline: String,
        ledger: String,
        names: [String; 2],
    },
}

impl Scratch {
    pub(super) async fn create(backend_url: &str) -> anyhow::Result<Scratch> {
        if backend_url == "sqlite" || backend_url.starts_with("sqlite:") {
            let dir = tempfile::tempdir()?;
            let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
            return Ok(Scratch::Sqlite {
                baseline: url("baseline.db"),
                ledger: url("ledger.db"),
                _dir: dir,
            });
        }
        anyhow::ensure!(
            Backend::from_url(backend_url)? == Backend::Postgres,
            "unsupported backend"
        );
        let admin = PgPool::connect(backend_url).await?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let names = [
            format!("vl_bench_{id}_baseline"),
            format!("vl_bench_{id}_ledger"),
        ];
        for name in &names {
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await?;
        }
        Ok(Scratch::Postgres {
            baseline: url_with_database(backend_url, &names[0])?,
            ledger: url_with_database(backend_url, &names[1])?,
            admin,
            names,
        })
    }

    pub(super) fn urls(&self) -> (&str, &str) {
        match self {
            Scratch::Sqlite {
                baseline, ledger, ..
            }
            | Scratch::Postgres {
                baseline, ledger, ..
            } => (baseline, ledger),
        }
    }

    pub(super) async fn drop_databases(self) -> anyhow::Result<()> {
        if let Scratch::Postgres { admin, names, .. } = self {
            for name in names {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await?;
            }
        }
        Ok(())
    }
}

pub(super) enum BaselineDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl BaselineDb {
    pub(super) async fn open(url: &str) -> anyhow::Result<BaselineDb> {
        const CREATE: &str = "CREATE TABLE IF NOT EXISTS bench_baseline (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)";
        Ok(match Backend::from_url(url)? {
            Backend::Sqlite => {
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(sqlite::connect_options(url)?)
                    .await?;
                sqlx::query(CREATE).execute(&pool).await?;
                BaselineDb::Sqlite(pool)
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(16)
                    .connect(url)
                    .await?;
                sqlx::query(CREATE).execute(&pool).await?;
                BaselineDb::Postgres(pool)
            }
        })
    }

    /// One single-row INSERT, committed on its own (autocommit), durable.
    async fn insert(&self, id: i64) -> anyhow::Result<()> {
        const INSERT: &str = "INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)";
        let payload = "baseline row of about the size of a ledger entry's text fields";
        match self {
            BaselineDb::Sqlite(pool) => {
                sqlx::query(INSERT)
                    .bind(id)
                    .bind(payload)
                    .execute(pool)
                    .await?;
            }
            BaselineDb::Postgres(pool) => {
                sqlx::query(INSERT)
                    .bind(id)
                    .bind(payload)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn close(self) {
        match self {
            BaselineDb::Sqlite(pool) => pool.close().await,
            BaselineDb::Postgres(pool) => pool.close().await,
        }
    }
}

/// Inserts `rows` rows from `clients` concurrent clients starting at id
/// `first_id`; returns rows per second.
pub(super) async fn run_baseline(
    db: &Arc<BaselineDb>,
    rows: u64,
    clients: u64,
    first_id: i64,
) -> anyhow::Result<f64> {
    Ok(timed_baseline(db, rows, clients, first_id).await?.rate)
}

/// Throughput, latency and machine CPU of one timed run.
pub(super) struct Timed {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub cpu: Option<super::machine_cpu::CpuUse>,
}

/// When a timed run started: the clock and the machine's CPU counters.
pub(super) struct Start {
    at: Instant,
    cpu: Option<super::machine_cpu::CpuTimes>,
}

impl Start {
    pub(super) fn now() -> Start {
        Start {
            cpu: super::machine_cpu::CpuTimes::now(),
            at: Instant::now(),
        }
    }

    /// Wall time since the start, and the machine CPU that `operations`
    /// operations used since then.
    pub(super) fn finish(&self, operations: u64) -> (Duration, Option<super::machine_cpu::CpuUse>) {
        let elapsed = self.at.elapsed();
        let cpu = self
            .cpu
            .zip(super::machine_cpu::CpuTimes::now())
            .and_then(|(before, after)| before.used_until(after, operations));
        (elapsed, cpu)
    }
}

impl Timed {
    /// From each operation's latency, measured since `start`.
    pub(super) fn of(mut latencies: Vec<Duration>, start: Start) -> Timed {
        let (elapsed, cpu) = start.finish(latencies.len() as u64);
        latencies.sort();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        Timed {
            rate: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
            cpu,
        }
    }
}

/// As `run_baseline`, also timing each insert.
pub(super) async fn timed_baseline(
    db: &Arc<BaselineDb>,
    rows: u64,
    clients: u64,
    first_id: i64,
) -> anyhow::Result<Timed> {
    let started = Start::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut id = first_id + client as i64;
            while id < first_id + rows as i64 {
                let sent = Instant::now();
                db.insert(id).await?;
                latencies.push(sent.elapsed());
                id += clients as i64;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(rows as usize);
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Timed::of(latencies, started))
}

/// Runs the INSERT baseline with 1 and with `clients` clients (`rows`
/// rows each) and prints both; returns (1-client, n-client) rates.
pub(super) async fn baselines(url: &str, rows: u64, clients: u64) -> anyhow::Result<(f64, f64)> {
    let baseline = Arc::new(BaselineDb::open(url).await?);
    let sequential = run_baseline(&baseline, rows, 1, 0).await?;
    println!(
        "  baseline, 1 client:        {sequential:>10.0} inserts/s (single-row durable INSERT per transaction)"
    );
    let concurrent = run_baseline(&baseline, rows, clients, rows as i64).await?;
    println!("  baseline, {clients:>3} clients:    {concurrent:>10.0} inserts/s");
    if let Ok(db) = Arc::try_unwrap(baseline) {
        db.close().await;
    }
    Ok((sequential, concurrent))
}

/// Prints `rate` against the 1-client baseline (with the target) and,
/// as a stricter reference, against the baseline driven by as many
/// clients, where the database's own group commit helps it too.
pub(super) fn print_ratios(
    rate: f64,
    (sequential, concurrent): (f64, f64),
    clients: u64,
    target: f64,
) {
    let ratio = rate / sequential;
    let verdict = if ratio >= target { "met" } else { "NOT met" };
    println!("  ratio vs baseline:         {ratio:>10.2}x (target >= {target:.1}x: {verdict})");
    println!(
        "  ratio vs {clients}-client baseline: {:>6.2}x",
        rate / concurrent
    );
}

async fn bench_ledger(backend_url: &str, entries: u64, clients: u64) -> anyhow::Result<()> {
    let scratch = Scratch::create(backend_url).await?;
    let (baseline_url, ledger_url) = scratch.urls();
    let backend = Backend::from_url(ledger_url)?;
    println!(
        "bench ledger ({}): {entries} entries, {clients} clients",
        backend.as_str()
    );

    let (sequential, concurrent) = baselines(baseline_url, entries, clients).await?;

    let (rate, elapsed) = match backend {
        Backend::Sqlite => {
            ledger_appends(SqliteStore::connect(ledger_url).await?, entries, clients).await?
        }
        Backend::Postgres => {
            ledger_appends(PostgresStore::connect(ledger_url).await?, entries, clients).await?
        }
    };
    println!(
        "  ledger appends:            {rate:>10.0} entries/s (2 postings each, durable, {:.2} s)",
        elapsed.as_secs_f64()
    );
    print_ratios(rate, (sequential, concurrent), clients, TARGET_RATIO);
    scratch.drop_databases().await?;
    Ok(())
}

/// Appends `entries` one-fen journals from `clients` concurrent clients
/// through the writer, then verifies the ledger (not timed).
async fn ledger_appends<S: Store>(
    store: S,
    entries: u64,
    clients: u64,
) -> anyhow::Result<(f64, Duration)> {
    store.migrate().await?;
    let signer = Arc::new(KeyPair::generate());
    publish_ledger_key(&store, &signer).await?;
    let (writer, writer_task) = engine::spawn(store.clone(), signer, WriterConfig::default());
    let programme = ProgrammeCode::parse("BENCH").expect("valid code");
    fund(&writer, &programme, i64::MAX / 4).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let writer = writer.clone();
        let programme = programme.clone();
        tasks.push(tokio::spawn(async move {
            let mut index = client;
            while index < entries {
                let by = Envelope::new("system:bench", format!("bench-{index}"));
                one_fen_journal(&writer, by, &programme).await?;
                index += clients;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    drop(writer);
    writer_task.await?;
    let summary = verify_store(&store, &[]).await?;
    println!("  verify: ok ({} entries)", summary.entries);
    store.close().await;
    Ok((entries as f64 / elapsed.as_secs_f64(), elapsed))
}

async fn bench_import(backend_url: &str, rows: usize) -> anyhow::Result<()> {
    let scratch = Scratch::create(backend_url).await?;
    let (baseline_url, ledger_url) = scratch.urls();
    let backend = Backend::from_url(ledger_url)?;
    println!(
        "bench import ({}): {rows} enterprise rows",
        backend.as_str()
    );
    let baseline = Arc::new(BaselineDb::open(baseline_url).await?);
    let sequential = run_baseline(&baseline, rows.min(5_000) as u64, 1, 0).await?;
    println!(
        "  baseline, 1 client:        {sequential:>10.0} inserts/s (single-row durable INSERT per transaction)"
    );
    if let Ok(db) = Arc::try_unwrap(baseline) {
        db.close().await;
    }
    let csv = super::bench_setup::generated_enterprise_csv(rows);
    let (first, second) = match backend {
        Backend::Sqlite => {
            import_twice(SqliteStore::connect(ledger_url).await?, csv.as_bytes()).await?
        }
        Backend::Postgres => {
            import_twice(PostgresStore::connect(ledger_url).await?, csv.as_bytes()).await?
        }
    };
    let rate = rows as f64 / first.as_secs_f64();
    println!(
        "  first import:              {rate:>10.0} rows/s ({:.2} s; target < 10 s for 100,000 on SQLite)",
        first.as_secs_f64()
    );
    println!("  ratio vs baseline:         {:>10.2}x", rate / sequential);
    println!(
        "  same file again:           {:>10.2} s, nothing changed",
        second.as_secs_f64()
    );
    scratch.drop_databases().await?;
    Ok(())
}

/// Imports `csv` twice; checks the second import changed nothing.
async fn import_twice<S: Store>(store: S, csv: &[u8]) -> anyhow::Result<(Duration, Duration)> {
    store.migrate().await?;
    let signer = Arc::new(KeyPair::generate());
    publish_ledger_key(&store, &signer).await?;
    let (writer, writer_task) = engine::spawn(store.clone(), signer, WriterConfig::default());
    let today = crate::domain::Timestamp::now().cst_date();
    let mut times = Vec::new();
    for run in 0..2 {
        let started = Instant::now();
        let rows = parse_enterprise_file(csv).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let count = rows.len();
        let key = format!("bench:import:{run}");
        let report = import_enterprises(
            &writer,
            "system:bench",
            &key,
            rows,
            &ImportSettings {
                mode: ImportMode::AllOrNothing,
                today,
                zones: std::collections::BTreeMap::new(),
            },
            |_, _| {},
        )
        .await;
        times.push(started.elapsed());
        anyhow::ensure!(
            report.errors.is_empty(),
            "import errors: {:?}",
            &report.errors[..report.errors.len().min(3)]
        );
        if run == 0 {
            anyhow::ensure!(
                report.created == count,
                "expected {count} created, got {report:?}"
            );
        } else {
            anyhow::ensure!(
                report.unchanged == count && report.created == 0,
                "re-import changed something: {report:?}"
            );
        }
    }
    drop(writer);
    writer_task.await?;
    let summary = verify_store(&store, &[]).await?;
    println!("  verify: ok ({} entries)", summary.entries);
    store.close().await;
    Ok((times[0], times[1]))
}

/// The writer of a benchmark's scratch ledger: migrated, with a fresh
/// ledger key and an empty issuer keyring (the caller adds its key).
pub(super) async fn bench_writer<S: Store>(
    store: &S,
) -> anyhow::Result<(
    crate::service::WriterHandle,
    tokio::task::JoinHandle<()>,
    Arc<crate::service::issuer_keyring::IssuerKeyring>,
)> {
    store.migrate().await?;
    let ledger_key = Arc::new(KeyPair::generate());
    publish_ledger_key(store, &ledger_key).await?;
    let ring = Arc::new(crate::service::issuer_keyring::IssuerKeyring::default());
    let config = WriterConfig {
        issuer_keys: ring.clone(),
        ..WriterConfig::default()
    };
    let (writer, task) = engine::spawn(store.clone(), ledger_key, config);
    Ok((writer, task, ring))
}

/// The real router on a loopback port, until `stop`.
pub(super) struct BenchServer {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BenchServer {
    pub(super) async fn start<S: Store>(
        store: &S,
        writer: &crate::service::WriterHandle,
        ring: Arc<crate::service::issuer_keyring::IssuerKeyring>,
    ) -> anyhow::Result<BenchServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let api = crate::http::ApiConfig {
            issuer_keys: ring,
            ..crate::http::ApiConfig::default()
        };
        let app = crate::http::router(crate::http::AppState::new(
            store.clone(),
            writer.clone(),
            api,
        ));
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::http::serve_until(listener, app, async {
            let _ = stop_rx.await;
        }));
        Ok(BenchServer { base, stop, server })
    }

    /// Stops the server gracefully (its writer handles go with it), then
    /// the writer, and verifies the ledger (not timed).
    pub(super) async fn finish<S: Store>(
        self,
        store: S,
        writer: crate::service::WriterHandle,
        writer_task: tokio::task::JoinHandle<()>,
    ) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        drop(writer);
        writer_task.await?;
        let summary = verify_store(&store, &[]).await?;
        println!("  verify: ok ({} entries)", summary.entries);
        store.close().await;
        Ok(())
    }
}

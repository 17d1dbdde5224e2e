//! What every benchmark runs on: scratch databases, the baseline the
//! machine is measured against in the same run, timing with CPU use, the
//! ratio report, and an in-process writer and HTTP server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{PgPool, SqlitePool};

use crate::ledger::checkpoint::KeyPair;
use crate::service::WriterConfig;
use crate::service::engine::{self, publish_ledger_key};
use crate::service::verify::verify_store;
use crate::store::postgres::url_with_database;
use crate::store::{Backend, Store, sqlite};

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
    pub cpu: Option<crate::cli::machine_cpu::CpuUse>,
}

/// When a timed run started: the clock and the machine's CPU counters.
pub(super) struct Start {
    at: Instant,
    cpu: Option<crate::cli::machine_cpu::CpuTimes>,
}

impl Start {
    pub(super) fn now() -> Start {
        Start {
            cpu: crate::cli::machine_cpu::CpuTimes::now(),
            at: Instant::now(),
        }
    }

    /// Wall time since the start, and the machine CPU that `operations`
    /// operations used since then.
    pub(super) fn finish(
        &self,
        operations: u64,
    ) -> (Duration, Option<crate::cli::machine_cpu::CpuUse>) {
        let elapsed = self.at.elapsed();
        let cpu = self
            .cpu
            .zip(crate::cli::machine_cpu::CpuTimes::now())
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
        // Users' names are sealed (set-up only: not on a timed path).
        personal_key: Some(Arc::new(crate::personal::sealed::MasterKey::generate())),
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
        let mut app = crate::http::router(crate::http::AppState::new(
            store.clone(),
            writer.clone(),
            api,
        ));
        // `VOUCHER_BENCH_METRICS=on`: measure with what `serve` adds for
        // operations — the metrics recorder, the request-metrics and
        // request-id middleware — to compare against a run without them.
        if std::env::var("VOUCHER_BENCH_METRICS").as_deref() == Ok("on") {
            crate::metrics::install();
            app = app
                .layer(axum::middleware::from_fn(crate::http::operations::track))
                .layer(axum::middleware::from_fn(
                    crate::http::operations::request_id,
                ));
            println!("  (metrics on: recorder, request metrics and request ids)");
        }
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

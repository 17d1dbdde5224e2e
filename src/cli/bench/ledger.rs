//! `bench ledger` (appends through the writer) and `bench import`
//! (a registry file, imported twice).

use crate::service::commands::Envelope;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::ProgrammeCode;
use crate::ledger::checkpoint::KeyPair;
use crate::service::WriterConfig;
use crate::service::engine::{self, publish_ledger_key};
use crate::service::import::{ImportSettings, import_enterprises, parse_enterprise_file};
use crate::service::verify::verify_store;
use crate::store::{Backend, PostgresStore, SqliteStore, Store};

use crate::cli::drill::{fund, one_fen_journal};

use super::harness::*;

/// Target from issue 2: ledger appends at least twice the baseline (one
/// single-row durable INSERT per transaction, one after another).
const TARGET_RATIO: f64 = 2.0;

pub(super) async fn bench_ledger(
    backend_url: &str,
    entries: u64,
    clients: u64,
) -> anyhow::Result<()> {
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
    let elapsed = append_journals(&store, signer, entries, clients).await?;
    let summary = verify_store(&store, &[]).await?;
    println!("  verify: ok ({} entries)", summary.entries);
    store.close().await;
    Ok((entries as f64 / elapsed.as_secs_f64(), elapsed))
}

/// Publishes `signer`, funds a bench programme, appends `entries` one-fen
/// journals from `clients` concurrent clients through a writer and stops
/// it (its last checkpoints signed). Returns the time the appends took.
pub(super) async fn append_journals<S: Store>(
    store: &S,
    signer: Arc<KeyPair>,
    entries: u64,
    clients: u64,
) -> anyhow::Result<Duration> {
    publish_ledger_key(store, &signer).await?;
    let (writer, writer_task) = engine::spawn(store.clone(), signer, WriterConfig::default());
    let programme = ProgrammeCode::parse("BENCH").expect("valid code");
    fund(&writer, &programme, i64::MAX / 4).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (writer, programme) = (writer.clone(), programme.clone());
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
    Ok(elapsed)
}

pub(super) async fn bench_import(backend_url: &str, rows: usize) -> anyhow::Result<()> {
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
    let csv = super::setup::generated_enterprise_csv(rows);
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
            &ImportSettings::all_or_nothing(today),
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

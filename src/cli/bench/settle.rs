//! `voucher-ledger bench settle`: prepare, approve and export the
//! settlement of `redemptions` generated confirmed redemptions (issue 7:
//! a million), next to the raw work on the same rows in the same run — the
//! SQL aggregate per provider plus a plain stream of the same joined rows —
//! and the peak memory (RSS) of the settlement.
//!
//! Set-up (not timed): a scratch ledger with an issuer key, an open funded
//! programme, 200 approved providers and 10,000 firms through the writer;
//! then vouchers and confirmed redemptions generated in bulk by SQL (one
//! statement each), and the providers' payable balances posted by journal
//! entries. The generated rows are not backed by redemption entries, so
//! this scratch ledger is not verified.

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::harness::Scratch;
use super::issue::terms;
use super::setup::{approved_provider, import_firms, open_programme};
use crate::domain::provider::ProviderFields;
use crate::domain::settlement::Period;
use crate::domain::{Fen, ProgrammeCode, Uscc};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::checkpoint::KeyPair;
use crate::report::batch::Format;
use crate::service::WriterHandle;
use crate::service::settlement;
use crate::service::settlement_files;
use crate::store::{Backend, PostgresStore, SqliteStore, Store};

/// Target from issue 7: settle and export within twice the raw time, in
/// under 256 MB.
const TARGET_RATIO: f64 = 2.0;
const MEMORY_TARGET_MB: f64 = 256.0;
const PROGRAMME: &str = "BENCH-SETTLE";
const PERIOD: &str = "2026Q1";
const PROVIDERS: u64 = 200;
const FIRMS: u64 = 10_000;
/// Redemption n happens n × 3 s after the period starts: a provider's
/// redemptions are 10 minutes apart (no burst flags), a million fit in the
/// quarter.
const SPACING_US: i64 = 3_000_000;

pub async fn bench_settle(backend_url: &str, redemptions: u64) -> anyhow::Result<()> {
    let scratch = Scratch::create(backend_url).await?;
    let (_, url) = scratch.urls();
    println!(
        "bench settle: {redemptions} confirmed redemptions, {PROVIDERS} providers, {FIRMS} firms"
    );
    let outcome = match Backend::from_url(url)? {
        Backend::Sqlite => run(SqliteStore::connect(url).await?, url, redemptions).await,
        Backend::Postgres => run(PostgresStore::connect(url).await?, url, redemptions).await,
    };
    scratch.drop_databases().await?;
    outcome
}

/// Both measurements, raw first (after a warm-up pass of it, so neither
/// side reads a cold cache).
async fn run<S: Store>(store: S, url: &str, redemptions: u64) -> anyhow::Result<()> {
    let (writer, writer_task, _ring) = super::harness::bench_writer(&store).await?;
    let raw = Raw::open(url).await?;
    let started = Instant::now();
    set_up(&store, &writer, &raw, redemptions).await?;
    println!(
        "  set-up: {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );
    let period = Period::parse(PERIOD)?;
    let end_us = period.end().as_micros();
    raw.aggregate_and_stream(end_us).await?;
    let (raw_time, aggregate_time) = {
        let started = Instant::now();
        let (rows, aggregate_time) = raw.aggregate_and_stream(end_us).await?;
        anyhow::ensure!(rows == redemptions, "raw stream saw {rows} rows");
        (started.elapsed(), aggregate_time)
    };
    reset_peak_memory();
    let (steps, lines) = settle(&store, &writer, period).await?;
    let peak_mb = peak_memory_mb();
    anyhow::ensure!(lines == redemptions, "the batch has {lines} lines");
    let ours: Duration = steps.iter().map(|(_, d)| *d).sum();
    println!(
        "  raw: SQL aggregate per provider + stream of the joined rows: {:.2} s \
         (aggregate {:.2} s)",
        raw_time.as_secs_f64(),
        aggregate_time.as_secs_f64()
    );
    for (step, time) in &steps {
        println!("  {step}: {:.2} s", time.as_secs_f64());
    }
    let ratio = ours.as_secs_f64() / raw_time.as_secs_f64();
    println!(
        "  settle + export: {:.2} s = {ratio:.2}x the raw time (target ≤ {TARGET_RATIO:.1}x: {})",
        ours.as_secs_f64(),
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "MISSED"
        }
    );
    match peak_mb {
        Some(mb) => println!(
            "  peak memory (RSS) while settling and exporting: {mb:.0} MB (target < {MEMORY_TARGET_MB:.0} MB: {})",
            if mb < MEMORY_TARGET_MB {
                "met"
            } else {
                "MISSED"
            }
        ),
        None => println!("  peak memory: not available on this platform"),
    }
    drop(writer);
    writer_task.await?;
    raw.close().await;
    store.close().await;
    Ok(())
}

/// The timed steps: prepare (reconcile and write the lines), approve, and
/// export the 兑付表 as CSV through the streaming renderer.
async fn settle<S: Store>(
    store: &S,
    writer: &WriterHandle,
    period: Period,
) -> anyhow::Result<(Vec<(&'static str, Duration)>, u64)> {
    let programme = ProgrammeCode::parse(PROGRAMME)?;
    let run_id = crate::domain::settlement::run_id(PROGRAMME, &period);
    let (maker, checker) = (Uuid::now_v7(), Uuid::now_v7());
    let mut steps = Vec::new();
    let started = Instant::now();
    let by = super::setup::by;
    settlement::prepare(writer, by("bench:prepare"), programme, period, maker).await?;
    steps.push(("prepare (reconcile, write the lines)", started.elapsed()));
    let started = Instant::now();
    settlement::approve(writer, by("bench:approve"), run_id, checker).await?;
    steps.push(("approve (payouts, postings)", started.elapsed()));
    eprintln!("  (timed export start)");
    let started = Instant::now();
    let run = store
        .settlement_run(run_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the run was not recorded"))?;
    let heading = settlement_files::heading(store, &run, None).await?;
    let sink = Counted::default();
    let render =
        settlement_files::spawn_render(store, run_id, None, Format::Csv, heading, sink, |_| {});
    let (totals, sink) = render.await??;
    steps.push(("export the 兑付表 (CSV, streamed)", started.elapsed()));
    eprintln!("  (timed export end)");
    println!(
        "  batch: {} lines, {} ({}), {:.0} MB of CSV",
        totals.lines,
        Fen::new(totals.subsidy_fen),
        totals.daxie(),
        sink.bytes as f64 / 1e6
    );
    Ok((steps, totals.lines))
}

/// A writer that only counts bytes.
#[derive(Default)]
struct Counted {
    bytes: u64,
}

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.bytes += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn provider_fields(n: u64) -> anyhow::Result<ProviderFields> {
    Ok(serde_json::from_value(serde_json::json!({
        "uscc": Uscc::complete(&format!("91330900MA3B{n:04}"))?.to_string(),
        "name": format!("舟山基准服务机构{n}有限公司"),
        "legal_representative": format!("代表{n}"),
        "categories": ["管理咨询"],
        "bank_name": "中国银行舟山分行",
        "account_name": format!("舟山基准服务机构{n}有限公司"),
        "account_number": format!("6216 6100 0000 {n:04} 321"),
        "related_parties": [],
        "annual_cap_yuan": "100,000,000,000"
    }))?)
}

async fn set_up<S: Store>(
    store: &S,
    writer: &WriterHandle,
    raw: &Raw,
    redemptions: u64,
) -> anyhow::Result<()> {
    let programme = ProgrammeCode::parse(PROGRAMME)?;
    let issuer = KeyPair::generate();
    // Funding covers every subsidy (at most 599 元 each).
    let funding = Fen::new(60_000 * redemptions as i64);
    open_programme(writer, &issuer, &programme, terms(1), funding).await?;
    for n in 0..PROVIDERS {
        let input = provider_fields(n)?
            .validate()
            .map_err(|errors| anyhow::anyhow!("bench provider: {errors:?}"))?;
        approved_provider(store, writer, input).await?;
    }
    import_firms(writer, FIRMS as usize).await?;
    let started = Instant::now();
    raw.generate(issuer.key_id(), redemptions).await?;
    println!(
        "  generated {redemptions} vouchers and redemptions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // What the generated redemptions owe each provider, written into the
    // balance projection as the generated rows were written into their
    // tables: behind the ledger (a scratch database, never verified; no
    // journal may post to a payable — src/ledger/derive.rs).
    let mut owed_total = 0;
    for (provider, owed) in raw.owed().await? {
        let payable = Account::party(AccountKind::ProviderPayable, &programme, &provider)?;
        raw.execute(&format!(
            "INSERT INTO account_balances (account, normal_sign, balance_fen, last_sequence) \
             VALUES ('{payable}', 1, {owed}, 0)"
        ))
        .await?;
        owed_total += owed;
    }
    let available = Account::programme(AccountKind::BudgetAvailable, &programme)?;
    raw.execute(&format!(
        "UPDATE account_balances SET balance_fen = balance_fen - {owed_total} \
         WHERE account = '{available}'"
    ))
    .await?;
    Ok(())
}

/// Direct SQL on the scratch database: bulk generation and the baseline.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The dialect's SQL expression for a UUID-shaped text made from the row
/// number `n`, with `group` as its second group (vouchers and redemptions
/// get different ones).
fn uuid_text(backend: Backend, group: &str) -> String {
    match backend {
        Backend::Sqlite => format!("printf('%08x-{group}-7000-8000-%012x', n, n)"),
        Backend::Postgres => {
            format!("lpad(to_hex(n), 8, '0') || '-{group}-7000-8000-' || lpad(to_hex(n), 12, '0')")
        }
    }
}

const RANKED: &str = "CREATE TABLE bench_firms AS \
     SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, id, uscc FROM enterprises; \
     CREATE TABLE bench_providers AS \
     SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, id FROM providers; \
     CREATE INDEX bench_firms_k ON bench_firms (k); \
     CREATE INDEX bench_providers_k ON bench_providers (k)";

impl Raw {
    async fn open(url: &str) -> anyhow::Result<Raw> {
        Ok(match Backend::from_url(url)? {
            Backend::Sqlite => Raw::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(crate::store::sqlite::connect_options(url)?)
                    .await?,
            ),
            Backend::Postgres => Raw::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect(url)
                    .await?,
            ),
        })
    }

    fn backend(&self) -> Backend {
        match self {
            Raw::Sqlite(_) => Backend::Sqlite,
            Raw::Postgres(_) => Backend::Postgres,
        }
    }

    async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Raw::Sqlite(pool) => {
                sqlx::raw_sql(sql).execute(pool).await?;
            }
            Raw::Postgres(pool) => {
                sqlx::raw_sql(sql).execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Vouchers and confirmed redemptions, one statement each.
    async fn generate(&self, key_id: &str, count: u64) -> anyhow::Result<()> {
        let backend = self.backend();
        self.execute(RANKED).await?;
        let start_us = Period::parse(PERIOD)?.start().as_micros();
        let zero_signature = match backend {
            Backend::Sqlite => "zeroblob(64)",
            Backend::Postgres => "decode(repeat('00', 64), 'hex')",
        };
        let sequence = format!(
            "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {})",
            count - 1
        );
        let at = format!("{start_us} + CAST(n AS BIGINT) * {SPACING_US}");
        let firm = format!("f.k = (n / {PROVIDERS}) % {FIRMS}");
        let vouchers = format!(
            "{sequence} INSERT INTO vouchers (id, programme_code, enterprise_id, enterprise_uscc, \
             face_value_fen, remaining_fen, valid_from, valid_until, categories_json, \
             issued_sequence, key_id, signature, status, via, replaces_id, issued_at_us, \
             updated_at_us) \
             SELECT {voucher}, '{PROGRAMME}', f.id, f.uscc, 100000, 0, '2026-01-01', \
             '2026-12-31', '[\"管理咨询\"]', 3000000 + n, '{key_id}', {zero_signature}, \
             'redeemed', 'allocation', NULL, {at} - 86400000000, {at} \
             FROM seq JOIN bench_firms f ON {firm}",
            voucher = uuid_text(backend, "0000"),
        );
        self.execute(&vouchers).await?;
        let subsidy = "(50000 + (n % 100) * 100)";
        let redemptions = format!(
            "{sequence} INSERT INTO redemptions (id, voucher_id, programme_code, provider_id, \
             enterprise_id, service_category, contract_number, description, \
             contract_amount_fen, subsidy_fen, returned_fen, single_use, presentation_nonce, \
             invoice_code, invoice_number, invoice_date, invoice_amount_fen, payment_proof_ref, \
             fiscal_year, status, rating, comment, confirmed_at_us, dispute_reason, \
             resolution_note, redeemed_sequence, redeemed_at_us, updated_at_us, \
             voucher_issued_at_us, voucher_face_value_fen) \
             SELECT {redemption}, {voucher}, '{PROGRAMME}', p.id, f.id, '管理咨询', \
             'HT-' || CAST(n AS TEXT), '基准测试服务合同', 2 * {subsidy} + 100, {subsidy}, 0, 0, \
             NULL, '0330', 'N' || CAST(n AS TEXT), '2026-01-15', 2 * {subsidy} + 100, \
             'P' || CAST(n AS TEXT), 2026, 'confirmed', 5, NULL, {at} + 60000000, NULL, NULL, \
             5000000 + n, {at}, {at}, {at} - 86400000000, 100000 \
             FROM seq JOIN bench_firms f ON {firm} JOIN bench_providers p ON p.k = n % {PROVIDERS}",
            redemption = uuid_text(backend, "0001"),
            voucher = uuid_text(backend, "0000"),
        );
        self.execute(&redemptions).await?;
        self.execute("ANALYZE").await?;
        Ok(())
    }

    /// Subsidy per provider over the generated redemptions.
    async fn owed(&self) -> anyhow::Result<Vec<(String, i64)>> {
        const SQL: &str = "SELECT provider_id, CAST(SUM(subsidy_fen) AS BIGINT) FROM redemptions \
             GROUP BY provider_id ORDER BY provider_id";
        Ok(match self {
            Raw::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
            Raw::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
        })
    }

    /// The raw work: the per-provider aggregate of the settleable
    /// redemptions, then every one of them streamed with what the table
    /// shows (provider, bank fields, firm, contract, invoice). Returns the
    /// rows streamed and the time the aggregate took.
    async fn aggregate_and_stream(&self, end_us: i64) -> anyhow::Result<(u64, Duration)> {
        use futures_util::StreamExt;
        const AGGREGATE: &str = "SELECT provider_id, CAST(SUM(subsidy_fen) AS BIGINT), \
             CAST(COUNT(*) AS BIGINT) FROM redemptions WHERE programme_code = $1 \
             AND status = 'confirmed' AND redeemed_at_us < $2 GROUP BY provider_id";
        const STREAM: &str = "SELECT r.id, p.name, p.uscc, p.fields_json, r.voucher_id, e.name, \
             r.service_category, r.contract_amount_fen, r.subsidy_fen, r.invoice_number, \
             r.confirmed_at_us FROM redemptions r JOIN providers p ON p.id = r.provider_id \
             JOIN enterprises e ON e.id = r.enterprise_id WHERE r.programme_code = $1 \
             AND r.status = 'confirmed' AND r.redeemed_at_us < $2 \
             ORDER BY r.provider_id, r.redeemed_sequence";
        let mut rows = 0;
        let aggregate_time;
        let started = Instant::now();
        // The same code for either pool.
        macro_rules! aggregate_then_stream {
            ($pool:expr) => {{
                let _: Vec<(String, i64, i64)> = sqlx::query_as(AGGREGATE)
                    .bind(PROGRAMME)
                    .bind(end_us)
                    .fetch_all($pool)
                    .await?;
                aggregate_time = started.elapsed();
                let mut stream = sqlx::query(STREAM)
                    .bind(PROGRAMME)
                    .bind(end_us)
                    .fetch($pool);
                while let Some(row) = stream.next().await {
                    row?;
                    rows += 1;
                }
            }};
        }
        match self {
            Raw::Sqlite(pool) => aggregate_then_stream!(pool),
            Raw::Postgres(pool) => aggregate_then_stream!(pool),
        }
        Ok((rows, aggregate_time))
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

/// Resets the kernel's record of this process's peak RSS (Linux).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak RSS since the last reset, in MB (Linux: VmHWM).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

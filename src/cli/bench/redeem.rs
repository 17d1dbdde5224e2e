//! `voucher-ledger bench redeem`: redemptions per second over HTTP — each
//! one authenticated, its QR text verified, every rule checked under the
//! ledger lock, recorded exactly once and durably — from concurrent
//! provider clients, with p50/p99 latency, next to a single-row durable
//! INSERT baseline driven by as many clients on the same backend in the
//! same run.
//!
//! Set-up (not timed): a scratch ledger with an issuer key, an open static
//! programme of single-use vouchers, one voucher for each of `redemptions`
//! firms, and an approved provider with one staff API token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::harness::{BaselineDb, Scratch, Timed, timed_baseline};
use super::issue::{FACE_VALUE_FEN, terms};
use super::setup::{approved_provider, import_firms, open_programme, token_user};
use crate::domain::programme::QrMode;
use crate::domain::provider::ProviderFields;
use crate::domain::{Fen, ProgrammeCode, Role};
use crate::ledger::checkpoint::KeyPair;
use crate::service::issuance::voucher_token;
use crate::service::{WriterHandle, access};
use crate::store::voucher::VoucherFilter;
use crate::store::{Backend, PostgresStore, SqliteStore, Store};

/// Target from issue 6: redemptions/s at least the INSERT baseline at the
/// same concurrency.
const TARGET_RATIO: f64 = 1.0;
const PROGRAMME: &str = "BENCH-REDEEM";
/// Each contract earns half of it: the voucher's whole face value.
const CONTRACT_FEN: i64 = 2 * FACE_VALUE_FEN;

pub async fn bench_redeem(backend_url: &str, redemptions: u64, clients: u64) -> anyhow::Result<()> {
    let scratch = Scratch::create(backend_url).await?;
    let (baseline_url, ledger_url) = scratch.urls();
    let backend = Backend::from_url(ledger_url)?;
    println!(
        "bench redeem ({}): {redemptions} redemptions over HTTP, {clients} clients",
        backend.as_str()
    );
    let baseline_db = Arc::new(BaselineDb::open(baseline_url).await?);
    let baseline = timed_baseline(&baseline_db, redemptions, clients, 0).await?;
    if let Ok(db) = Arc::try_unwrap(baseline_db) {
        db.close().await;
    }
    report("baseline, single-row INSERT:", &baseline, "inserts/s");
    let timed = match backend {
        Backend::Sqlite => {
            over_http(
                SqliteStore::connect(ledger_url).await?,
                redemptions,
                clients,
            )
            .await?
        }
        Backend::Postgres => {
            over_http(
                PostgresStore::connect(ledger_url).await?,
                redemptions,
                clients,
            )
            .await?
        }
    };
    report("redemptions over HTTP:", &timed, "redemptions/s");
    let ratio = timed.rate / baseline.rate;
    let verdict = if ratio >= TARGET_RATIO {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "  ratio vs {clients}-client baseline: {ratio:>6.2}x (target >= {TARGET_RATIO:.1}x: {verdict})"
    );
    if let Some(line) = crate::cli::machine_cpu::describe(baseline.cpu, "baseline insert") {
        println!("{line}");
    }
    if let Some(line) = crate::cli::machine_cpu::describe(timed.cpu, "redemption") {
        println!("{line}");
    }
    scratch.drop_databases().await?;
    Ok(())
}

fn report(what: &str, timed: &Timed, unit: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {what:<29} {:>8.0} {unit}  p50 {:>6.1} ms  p99 {:>6.1} ms",
        timed.rate,
        ms(timed.p50),
        ms(timed.p99)
    );
}

/// Sets up, then times `count` redemptions from `clients` HTTP clients.
/// Verifies the ledger afterwards (not timed).
async fn over_http<S: Store>(store: S, count: u64, clients: u64) -> anyhow::Result<Timed> {
    let (writer, writer_task, ring) = super::harness::bench_writer(&store).await?;
    let issuer = KeyPair::generate();
    ring.add(issuer.signing_key().clone());
    let (tokens, staff) = set_up(&store, &writer, &issuer, count).await?;

    let server = super::harness::BenchServer::start(&store, &writer, ring).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()?;
    let url = format!("{}/api/v1/redemptions", server.base);
    let (tokens, staff) = (Arc::new(tokens), Arc::new(staff));
    eprintln!("  (set-up done; timed redemptions start)");
    let started = super::harness::Start::now();
    let mut tasks = Vec::new();
    for first in 0..clients as usize {
        let (client, url, tokens, staff) =
            (client.clone(), url.clone(), tokens.clone(), staff.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut index = first;
            while index < tokens.len() {
                let sent = Instant::now();
                let reply = client
                    .post(&url)
                    .bearer_auth(staff.as_str())
                    .header("idempotency-key", format!("bench-redeem-{index}"))
                    .json(&serde_json::json!({
                        "qr_text": tokens[index],
                        "service_category": "管理咨询",
                        "contract_number": format!("BENCH-{index}"),
                        "description": "基准测试咨询服务",
                        "contract_amount_fen": CONTRACT_FEN + 1
                    }))
                    .send()
                    .await?;
                let status = reply.status();
                let body = reply.text().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(
                    status.as_u16() == 201,
                    "redemption {index}: {status} {body}"
                );
                index += clients as usize;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(count as usize);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let timed = Timed::of(latencies, started);
    eprintln!("  (timed redemptions end)");
    drop(client);
    server.finish(store, writer, writer_task).await?;
    Ok(timed)
}

/// The programme, `count` firms with a voucher each, and an approved
/// provider; returns the vouchers' QR texts and the staff's API token.
async fn set_up<S: Store>(
    store: &S,
    writer: &WriterHandle,
    issuer: &KeyPair,
    count: u64,
) -> anyhow::Result<(Vec<String>, String)> {
    let programme = ProgrammeCode::parse(PROGRAMME).expect("valid code");
    let mut terms = terms(count);
    terms.qr_mode = QrMode::Static;
    terms.divisible = false;
    let fields: ProviderFields = serde_json::from_value(serde_json::json!({
        "uscc": crate::domain::Uscc::complete("91330900MA2B0001")?.to_string(),
        "name": "舟山基准测试服务有限公司",
        "legal_representative": "孙八",
        "categories": ["管理咨询"],
        "bank_name": "中国银行舟山分行",
        "account_name": "舟山基准测试服务有限公司",
        "account_number": "6216 6100 0000 5555 666",
        "related_parties": [],
        "annual_cap_yuan": "100,000,000,000"
    }))?;
    let provider = fields
        .validate()
        .map_err(|errors| anyhow::anyhow!("bench provider: {errors:?}"))?;
    let funding = Fen::new(FACE_VALUE_FEN * count as i64);
    open_programme(writer, issuer, &programme, terms, funding).await?;
    let provider_id = approved_provider(store, writer, provider).await?;
    import_firms(writer, count as usize).await?;
    let mut usccs = Vec::with_capacity(count as usize);
    let mut after = String::new();
    loop {
        let page = store.enterprises_after(&after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.uscc.clone();
        usccs.extend(page.into_iter().map(|enterprise| enterprise.uscc));
    }
    let face_value = Fen::new(FACE_VALUE_FEN);
    let allocated = crate::service::vouchers::allocate(
        store,
        writer,
        "system:bench",
        "bench:voucher",
        &programme,
        face_value,
        &usccs,
        |_, _| {},
    )
    .await?;
    for (uscc, outcome) in allocated {
        if let crate::service::vouchers::Allocated::Refused(error) = outcome {
            anyhow::bail!("bench voucher for {uscc}: {error}");
        }
    }
    let mut tokens = Vec::with_capacity(count as usize);
    let mut after = None;
    loop {
        let page = store
            .vouchers_after(&VoucherFilter::default(), after, 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for voucher in &page {
            tokens.push(voucher_token(voucher)?);
        }
    }
    let staff = Some(provider_id);
    let principal = token_user(store, writer, "bench-staff", Role::Provider, staff).await?;
    let (_, secret) = access::create_token(
        writer,
        &principal,
        "bench:staff-token".into(),
        "bench".into(),
        1,
    )
    .await
    .map_err(|e| anyhow::anyhow!("bench token: {e}"))?;
    Ok((tokens, secret.text.expose().clone()))
}

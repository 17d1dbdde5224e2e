//! `voucher-ledger bench issue`: end-to-end claims per second over HTTP —
//! each one authenticated, eligibility-checked, budget-reserved, signed and
//! durably recorded — next to a single-row durable INSERT baseline on the
//! same backend in the same run, and raw Ed25519 signatures per second.
//!
//! Set-up (not timed): a scratch ledger with an issuer key, an open
//! programme whose budget covers every claim, `claims` registered firms
//! (all eligible), and one enterprise user with an API token per firm.
//! Then `clients` HTTP clients claim for their share of the firms at once
//! against the real router on a loopback port.

use std::sync::Arc;
use std::time::Instant;

use chrono::Days;
use uuid::Uuid;

use super::harness::{Scratch, baselines, print_ratios};
use super::setup::{import_firms, open_programme, token_user};
use crate::domain::programme::{ProgrammeTerms, QrMode, Rounding, SettlementPeriod, Validity};
use crate::domain::{Fen, ProgrammeCode, Role, SizeClass, Timestamp};
use crate::ledger::checkpoint::KeyPair;
use crate::service::{WriterHandle, access};
use crate::store::{Backend, PostgresStore, SqliteStore, Store};
use crate::token::voucher::{VoucherClaims, signature_of};

/// Target from issue 5: claims/s at least the 1-client INSERT baseline.
const TARGET_RATIO: f64 = 1.0;
pub(super) const FACE_VALUE_FEN: i64 = 500_000;
const PROGRAMME: &str = "BENCH-ISSUE";

pub async fn bench_issue(backend_url: &str, claims: u64, clients: u64) -> anyhow::Result<()> {
    let scratch = Scratch::create(backend_url).await?;
    let (baseline_url, ledger_url) = scratch.urls();
    let backend = Backend::from_url(ledger_url)?;
    println!(
        "bench issue ({}): {claims} claims over HTTP, {clients} clients",
        backend.as_str()
    );

    let signs = ed25519_signs_per_second(claims.max(2_000));
    println!("  Ed25519 signatures:        {signs:>10.0} signs/s (one core, voucher payloads)");

    let rates = baselines(baseline_url, claims, clients).await?;

    let (rate, cpu) = match backend {
        Backend::Sqlite => {
            claims_over_http(SqliteStore::connect(ledger_url).await?, claims, clients).await?
        }
        Backend::Postgres => {
            claims_over_http(PostgresStore::connect(ledger_url).await?, claims, clients).await?
        }
    };
    println!(
        "  claims over HTTP:          {rate:>10.0} claims/s (signed, durable, {clients} clients)"
    );
    print_ratios(rate, rates, clients, TARGET_RATIO);
    if let Some(line) = crate::cli::machine_cpu::describe(cpu, "claim") {
        println!("{line}");
    }
    println!(
        "  signing share of a claim:  {:>10.1} %",
        100.0 * rate / signs
    );
    scratch.drop_databases().await?;
    Ok(())
}

/// Signs `count` distinct voucher payloads; returns signatures per second.
fn ed25519_signs_per_second(count: u64) -> f64 {
    let key = KeyPair::generate();
    let today = Timestamp::now().cst_date();
    let mut claims = VoucherClaims {
        voucher_id: Uuid::now_v7(),
        programme_code: PROGRAMME.into(),
        enterprise_uscc: "91330902MA00000153".into(),
        face_value: Fen::new(FACE_VALUE_FEN),
        valid_from: today,
        valid_until: today + Days::new(179),
        service_categories: vec!["管理咨询".into(), "检验检测".into()],
        issued_sequence: 0,
        key_id: key.key_id().to_string(),
    };
    let started = Instant::now();
    let mut checksum = 0u8;
    for sequence in 0..count {
        claims.issued_sequence = sequence;
        checksum ^= signature_of(&claims, key.signing_key())[0];
    }
    std::hint::black_box(checksum);
    count as f64 / started.elapsed().as_secs_f64()
}

/// The programme every bench firm is eligible for, its budget covering
/// `claims` vouchers.
pub(super) fn terms(claims: u64) -> ProgrammeTerms {
    let today = Timestamp::now().cst_date();
    let budget = FACE_VALUE_FEN * claims as i64;
    ProgrammeTerms {
        name: "基准测试服务券".into(),
        fiscal_year: chrono::Datelike::year(&today),
        budget_fen: budget,
        face_values_fen: vec![FACE_VALUE_FEN],
        subsidy_ratio_bp: 5_000,
        rounding: Rounding::Fen,
        divisible: true,
        validity: Validity::DaysAfterIssue { days: 180 },
        ends_on: today + Days::new(365),
        divisions: vec!["330900".into()],
        zones: vec![],
        size_classes: vec![
            SizeClass::Micro,
            SizeClass::Small,
            SizeClass::Medium,
            SizeClass::Large,
        ],
        required_tags: vec![],
        excluded_tags: vec![],
        service_categories: vec!["管理咨询".into(), "检验检测".into()],
        annual_cap_fen: FACE_VALUE_FEN,
        annual_voucher_count: 1,
        claim_opens_at: "2000-01-01T00:00:00+08:00".into(),
        claim_closes_at: "2099-12-31T23:59:59+08:00".into(),
        auto_confirm_days: 0,
        hold_minutes: crate::domain::programme::HOLD_MINUTES_DEFAULT,
        qr_mode: QrMode::Rotating,
        settlement_period: SettlementPeriod::Quarter,
        offline: crate::domain::OfflineTerms::default(),
    }
}

/// Sets up, then times `claims` claims from `clients` HTTP clients;
/// returns claims per second. Verifies the ledger afterwards (not timed).
/// Claims per second, and what they cost the machine.
async fn claims_over_http<S: Store>(
    store: S,
    claims: u64,
    clients: u64,
) -> anyhow::Result<(f64, Option<crate::cli::machine_cpu::CpuUse>)> {
    let (writer, writer_task, ring) = super::harness::bench_writer(&store).await?;
    let issuer = KeyPair::generate();
    ring.add(issuer.signing_key().clone());
    let programme = ProgrammeCode::parse(PROGRAMME).expect("valid code");
    let funding = Fen::new(FACE_VALUE_FEN * claims as i64);
    open_programme(&writer, &issuer, &programme, terms(claims), funding).await?;
    let tokens = seed_firm_users(&store, &writer, claims as usize).await?;

    let server = super::harness::BenchServer::start(&store, &writer, ring).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()?;
    let url = format!("{}/api/v1/programmes/{PROGRAMME}/claims", server.base);
    let tokens = Arc::new(tokens);
    // On stderr, so a profiler can be pointed at the timed part alone.
    eprintln!("  (set-up done; timed claims start)");
    let started = super::harness::Start::now();
    let mut tasks = Vec::new();
    for first in 0..clients as usize {
        let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
        tasks.push(tokio::spawn(async move {
            let mut index = first;
            while index < tokens.len() {
                let reply = client
                    .post(&url)
                    .bearer_auth(&tokens[index])
                    .header("idempotency-key", format!("bench-claim-{index}"))
                    .json(&serde_json::json!({}))
                    .send()
                    .await?;
                let status = reply.status();
                let body = reply.text().await?;
                anyhow::ensure!(status.as_u16() == 201, "claim {index}: {status} {body}");
                index += clients as usize;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let (elapsed, cpu) = started.finish(claims);
    eprintln!("  (timed claims end)");
    // Close the client's connections and stop the server gracefully, so
    // that every handle on the writer is gone before waiting for it.
    drop(client);
    server.finish(store, writer, writer_task).await?;
    Ok((claims as f64 / elapsed.as_secs_f64(), cpu))
}

/// Imports `count` firms and gives each an enterprise user with an API
/// token (created through the writer; these users never log in, so no
/// password is hashed). Returns the tokens.
async fn seed_firm_users<S: Store>(
    store: &S,
    writer: &WriterHandle,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    import_firms(writer, count).await?;
    let mut tasks = tokio::task::JoinSet::new();
    let mut after = String::new();
    let mut index = 0;
    loop {
        let page = store.enterprises_after(&after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.uscc.clone();
        for enterprise in page {
            let (store, writer) = (store.clone(), writer.clone());
            let n = index;
            index += 1;
            tasks.spawn(async move {
                let name = format!("bench-firm-{n}");
                let party = Some(enterprise.id);
                let principal = token_user(&store, &writer, &name, Role::Enterprise, party).await?;
                let (_, secret) = access::create_token(
                    &writer,
                    &principal,
                    format!("bench:token:{n}"),
                    "bench".into(),
                    1,
                )
                .await
                .map_err(|e| anyhow::anyhow!("bench token: {e}"))?;
                anyhow::Ok(secret.text.expose().clone())
            });
        }
    }
    let mut tokens = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        tokens.push(joined??);
    }
    Ok(tokens)
}

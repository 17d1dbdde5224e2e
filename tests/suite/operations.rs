//! Operations (issue 21), from outside the process, on both backends:
//! `/metrics` passes `promtool check metrics` and its counters move by
//! exactly the claims, redemptions, replays and refusals driven; it is
//! public only on `--admin-listen`; `/readyz` is ready, then 503 while
//! draining after SIGTERM; every answer carries an `X-Request-Id`, and
//! `--log-format json` writes JSON lines that name it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::TestDb;
use crate::processes::{on_both_databases, terminate};
use crate::redemption_processes::{claims_url, contract, prepare_on};

on_both_databases!(
    metrics_count_what_happened,
    metrics_count_exactly_what_happened_and_pass_promtool
);

/// Every sample of a Prometheus text, by `name{labels}` as written.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// `promtool check metrics` on `text` (required when `CI=true`).
fn promtool(text: &str) {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but promtool is not installed (.ci/run installs the prometheus package)"
        );
        eprintln!("skipping promtool: the prometheus package is not installed");
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `serve` with a monitoring listener and JSON logs: the process, its
/// base URL, the admin URL, and its log lines as they come.
async fn serve_with_admin(
    dir: &Path,
    db: &TestDb,
    extra: &[&str],
) -> (
    tokio::process::Child,
    String,
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .current_dir(dir)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .args(["--database-url", db.url(), "--log-format", "json"])
        .args(extra)
        .env("VOUCHER_LOG", "info,voucher_ledger::http=debug,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn serve");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = out.next_line().await.unwrap().unwrap();
    let base = base.strip_prefix("listening on ").unwrap().to_string();
    let admin = out.next_line().await.unwrap().unwrap();
    let admin = admin
        .strip_prefix("admin listening on ")
        .unwrap()
        .to_string();
    let (lines, logs) = tokio::sync::mpsc::unbounded_channel();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err.next_line().await {
            let _ = lines.send(line);
        }
    });
    (child, base, admin, logs)
}

async fn scrape(client: &reqwest::Client, admin: &str) -> String {
    let reply = client.get(format!("{admin}/metrics")).send().await.unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    reply.text().await.unwrap()
}

async fn metrics_count_exactly_what_happened_and_pass_promtool(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(db, dir.path(), 3).await;
    let (mut server, base, admin, mut logs) =
        serve_with_admin(dir.path(), db, &["--drain-seconds", "3"]).await;
    let client = reqwest::Client::new();
    let before = samples(&scrape(&client, &admin).await);
    let at = |map: &HashMap<String, f64>, series: &str| map.get(series).copied().unwrap_or(0.0);

    // Three claims; one sent twice with its key (a replay); a fourth claim
    // of a firm that has its voucher (refused).
    let claim = |n: usize, key: &str| {
        client
            .post(claims_url(&base))
            .bearer_auth(&counter.claimants[n].token)
            .header("idempotency-key", key.to_string())
            .json(&json!({}))
            .send()
    };
    let mut tokens = Vec::new();
    for n in 0..3 {
        let reply = claim(n, &format!("claim-{n}")).await.unwrap();
        assert_eq!(reply.status().as_u16(), 201);
        let body: serde_json::Value = reply.json().await.unwrap();
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    assert_eq!(
        claim(0, "claim-0").await.unwrap().status().as_u16(),
        201,
        "a replay"
    );
    let again = claim(0, "claim-0-again").await.unwrap();
    let refused_claim = again.status().as_u16();
    let refused_body: serde_json::Value = again.json().await.unwrap();
    let refused_code = refused_body["error"]["code"].as_str().unwrap().to_string();
    assert!((400..500).contains(&refused_claim), "{refused_body}");

    // Two redemptions; the first voucher redeemed again twice (refused).
    let redeem = |token: &str, key: String| {
        client
            .post(format!("{base}/api/v1/redemptions"))
            .bearer_auth(&counter.staff_token)
            .header("idempotency-key", key.clone())
            .json(&contract(token, &key))
            .send()
    };
    for (n, token) in tokens.iter().take(2).enumerate() {
        let reply = redeem(token, format!("HT-M-{n}")).await.unwrap();
        assert_eq!(reply.status().as_u16(), 201);
    }
    for n in 0..2 {
        let reply = redeem(&tokens[0], format!("HT-M-again-{n}")).await.unwrap();
        assert_eq!(reply.status().as_u16(), 409);
    }

    let text = scrape(&client, &admin).await;
    promtool(&text);
    let after = samples(&text);
    let moved = |series: &str| at(&after, series) - at(&before, series);
    assert_eq!(moved("voucher_ledger_claims_total"), 3.0, "{text}");
    assert_eq!(moved("voucher_ledger_redemptions_total"), 2.0, "{text}");
    assert_eq!(moved("voucher_ledger_command_replays_total"), 1.0, "{text}");
    assert_eq!(
        moved(r#"voucher_ledger_refusals_total{code="voucher_already_redeemed",status="409"}"#),
        2.0,
        "{text}"
    );
    assert_eq!(
        moved(&format!(
            r#"voucher_ledger_refusals_total{{code="{refused_code}",status="{refused_claim}"}}"#
        )),
        1.0,
        "{text}"
    );
    let claims_route = r#"voucher_ledger_http_requests_total{route="/api/v1/programmes/{code}/claims",method="POST",status="201"}"#;
    assert_eq!(
        moved(claims_route),
        4.0,
        "three claims and a replay: {text}"
    );
    assert!(
        at(&after, "voucher_ledger_ledger_head_sequence") >= 5.0,
        "{text}"
    );
    assert!(
        text.contains("voucher_ledger_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("voucher_ledger_writer_batch_commands_bucket{"),
        "{text}"
    );

    // On the service's own address, metrics need an admin's or auditor's
    // login; on the monitoring address, none.
    let public = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status().as_u16(), 401);
    let staff = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&counter.staff_token)
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status().as_u16(), 403);

    // Request ids: the caller's kept, else one made; JSON log lines of the
    // request carry it.
    let reply = client
        .get(format!("{base}/api/v1/vouchers/not-a-voucher"))
        .bearer_auth(&counter.staff_token)
        .header("x-request-id", "ops-test-42")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.headers()["x-request-id"], "ops-test-42");
    let refused = reply.status().as_u16();
    let made = client.get(format!("{base}/healthz")).send().await.unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made.len(), 36, "a UUID: {made}");

    // Ready; then SIGTERM with a drain period: 503 draining while the
    // service still answers.
    let ready = client.get(format!("{admin}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    terminate(&server);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = client.get(format!("{base}/readyz")).send().await.unwrap();
        if reply.status().as_u16() == 503 {
            let body: serde_json::Value = reply.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_ready");
            assert_eq!(body["error"]["reasons"][0]["code"], "draining", "{body}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never draining");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let healthz = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status().as_u16(), 200, "served while draining");
    assert!(server.wait().await.unwrap().success());
    let mut lines = Vec::new();
    while let Ok(line) = logs.try_recv() {
        lines.push(line);
    }
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|line| line.contains("draining")),
        "{lines:?}"
    );
    let answered = lines
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|line| line["spans"][0]["request_id"] == "ops-test-42")
        .unwrap_or_else(|| panic!("no log line of request ops-test-42: {lines:?}"));
    assert_eq!(answered["fields"]["status"], refused, "{answered}");
}

//! A rolling restart behind a reverse proxy (issue 21 point 6; nginx
//! required when `CI=true`): two `serve` instances on one database behind
//! nginx, clients claiming and redeeming through it; each instance in turn
//! gets SIGTERM (it drains, then stops) and is started again on its port.
//! No request fails, apart from documented retryable answers (503 with
//! `Retry-After`), which the clients retry with the same key; `verify`
//! passes after.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::TestDb;
use crate::processes::{on_both_databases, post_until_done, run, terminate};
use crate::redemption_processes::{claims_url, contract, prepare_on};

const NGINX: &str = "/usr/sbin/nginx";
const FIRMS: usize = 300;
const CLIENTS: usize = 6;

on_both_databases!(
    rolling_restart_behind_nginx,
    a_rolling_restart_fails_no_request
);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve` on `port` (draining two seconds on SIGTERM), once it listens.
async fn serve_on(dir: &Path, db: &TestDb, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .current_dir(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db.url(), "--drain-seconds", "2"])
        .env("VOUCHER_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.starts_with("listening on "), "{first}");
    child
}

/// nginx in front of `ports`, listening on `front`; retries a request on
/// the other instance when one refuses the connection (every mutation
/// carries an idempotency key, so a retry never doubles it).
fn nginx_config(dir: &Path, front: u16, ports: [u16; 2]) -> String {
    let d = dir.display();
    format!(
        // One process (no master and workers), so killing it leaves none.
        "daemon off;\nmaster_process off;\nuser root;\npid {d}/nginx.pid;\n\
         error_log {d}/nginx-error.log warn;\nevents {{ worker_connections 512; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream app {{\n    server 127.0.0.1:{a} max_fails=1 fail_timeout=1s;\n\
             server 127.0.0.1:{b} max_fails=1 fail_timeout=1s;\n    keepalive 16;\n  }}\n\
           server {{\n    listen 127.0.0.1:{front};\n    location / {{\n      proxy_pass http://app;\n\
               proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
               proxy_next_upstream error timeout non_idempotent;\n      proxy_next_upstream_tries 2;\n\
             }}\n  }}\n}}\n",
        a = ports[0],
        b = ports[1],
    )
}

#[derive(Default)]
struct Tally {
    done: usize,
    /// 503s (with Retry-After) and broken connections, retried.
    retried: usize,
}

/// `post_until_done` through the proxy (a broken connection to nginx
/// itself fails the test), counting answers and retries.
async fn until_done(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
    tally: &Mutex<Tally>,
) -> serde_json::Value {
    let (answer, attempts) = post_until_done(client, url, token, key, body, false).await;
    let mut tally = tally.lock().unwrap();
    tally.done += 1;
    tally.retried += attempts as usize - 1;
    answer
}

async fn a_rolling_restart_fails_no_request(db: &TestDb) {
    if !Path::new(NGINX).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but nginx is not installed (.ci/run installs it)"
        );
        eprintln!("skipping the rolling restart: nginx is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(db, dir.path(), FIRMS).await;
    let ports = [free_port(), free_port()];
    let mut a = serve_on(dir.path(), db, ports[0]).await;
    let mut b = serve_on(dir.path(), db, ports[1]).await;
    let front = free_port();
    let config = dir.path().join("nginx.conf");
    std::fs::write(&config, nginx_config(dir.path(), front, ports)).unwrap();
    let mut nginx = Command::new(NGINX)
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.path().join("nginx-error.log"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{front}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let tally = Arc::new(Mutex::new(Tally::default()));
    let firms = Arc::new(Mutex::new(counter.claimants.clone()));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (tally, firms, base) = (tally.clone(), firms.clone(), base.clone());
        let staff = counter.staff_token.clone();
        load.spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let Some(firm) = firms.lock().unwrap().pop() else {
                    return;
                };
                let claimed = until_done(
                    &client,
                    &claims_url(&base),
                    &firm.token,
                    &format!("claim-{}", firm.uscc),
                    &json!({}),
                    &tally,
                )
                .await;
                let token = claimed["token"].as_str().unwrap();
                until_done(
                    &client,
                    &format!("{base}/api/v1/redemptions"),
                    &staff,
                    &format!("redeem-{}", firm.uscc),
                    &contract(token, &format!("HT-R-{}", firm.uscc)),
                    &tally,
                )
                .await;
                // A steady stream, not a burst: the restarts happen under it.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        });
    }
    // Each instance in turn: SIGTERM (drain, stop), start again on its port.
    for (index, port) in ports.into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let server = if index == 0 { &mut a } else { &mut b };
        terminate(server);
        assert!(server.wait().await.unwrap().success(), "stopped cleanly");
        *server = serve_on(dir.path(), db, port).await;
    }
    let left = firms.lock().unwrap().len();
    assert!(
        left > 0,
        "the load ended before the restarts did: make it longer"
    );
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    println!(
        "rolling restart behind nginx: {} requests answered 2xx, 0 failed, {} retryable answers retried",
        tally.done, tally.retried
    );
    assert_eq!(tally.done, 2 * FIRMS);
    let _ = nginx.kill().await;
    terminate(&a);
    terminate(&b);
    assert!(a.wait().await.unwrap().success());
    assert!(b.wait().await.unwrap().success());
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
}

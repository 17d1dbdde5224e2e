//! The binary as operators run it: serve, drills killed with SIGKILL, two
//! processes on one database, and the verify command's exit codes.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use voucher_ledger::service::commands::{ActivateIssuerKey, ChangeProgramme, FundProgramme};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use voucher_ledger::domain::programme::ProgrammeStatus;
use voucher_ledger::store::{PostgresStore, SqliteStore, Store};

use crate::helpers::{PROCESS_TIMEOUT, TestDb};

/// Runs a process scenario `fn(&TestDb)` as two tests, `<module>::sqlite`
/// and `<module>::postgres` (the latter when Postgres is configured).
macro_rules! on_both_databases {
    ($module:ident, $scenario:ident) => {
        mod $module {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(&crate::helpers::TestDb::sqlite()).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = crate::helpers::TestDb::postgres().await else {
                    return;
                };
                super::$scenario(&db).await;
            }
        }
    };
}

pub(crate) use on_both_databases;

/// Sends every request at the same moment (behind a barrier); each reply's
/// (status, JSON body), in completion order.
pub(crate) async fn send_at_once(
    requests: Vec<reqwest::RequestBuilder>,
) -> Vec<(u16, serde_json::Value)> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let mut sent = tokio::task::JoinSet::new();
    for request in requests {
        let start = start.clone();
        sent.spawn(async move {
            start.wait().await;
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<serde_json::Value>().await.unwrap())
        });
    }
    sent.join_all().await
}

const BINARY: &str = env!("CARGO_BIN_EXE_voucher-ledger");

fn command(cwd: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(cwd)
        .env_remove("VOUCHER_DATABASE_URL")
        .env_remove("VOUCHER_LISTEN")
        .env_remove("VOUCHER_LEDGER_KEY")
        .env_remove("VOUCHER_LEDGER_KEY_FILE")
        .env_remove("VOUCHER_ISSUER_KEY")
        .env_remove("VOUCHER_ISSUER_KEY_DIR")
        .env("VOUCHER_LOG", "warn")
        .kill_on_drop(true);
    command
}

/// Runs the binary to completion; returns (exit code, stdout).
pub(crate) async fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let output = tokio::time::timeout(PROCESS_TIMEOUT, command(cwd).args(args).output())
        .await
        .expect("command finished in time")
        .expect("command ran");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

/// Starts `serve` and returns the child and its base URL, read from the
/// first line it prints (no sleeping, no fixed port).
pub(crate) async fn serve(cwd: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = command(cwd)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(PROCESS_TIMEOUT, lines.next_line())
        .await
        .expect("serve printed its address in time")
        .expect("read stdout")
        .expect("a first line");
    let base = first
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string();
    (child, base)
}

/// Starts `witness serve` named `name` (key and state in `dir`) for the
/// log with key `log_vkey`; returns the
/// process and its `--witness` argument ("<url> <vkey>").
pub(crate) async fn start_witness(dir: &Path, name: &str, log_vkey: &str) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args([
            "witness",
            "serve",
            "--name",
            name,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--key-file")
        .arg(dir.join("witness.key"))
        .arg("--state-dir")
        .arg(dir.join("witness-state"))
        .args(["--log", log_vkey])
        .env("VOUCHER_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the witness");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let vkey = lines.next_line().await.unwrap().unwrap();
    let vkey = vkey
        .strip_prefix("witness ")
        .expect("the key line")
        .to_string();
    let url = lines.next_line().await.unwrap().unwrap();
    let url = url
        .strip_prefix("listening on ")
        .expect("the address line")
        .to_string();
    (child, format!("{url} {vkey}"))
}

/// The default SQLite database URL of a service run in `dir`.
pub(crate) fn data_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("data/voucher-ledger.db").display())
}

/// Runs the binary with `args` in `cwd`, polling its peak resident memory
/// (VmHWM in /proc) until it exits: (exit code, stdout, stderr, peak bytes).
pub(crate) async fn run_child_measured(cwd: &Path, args: &[String]) -> (i32, String, String, u64) {
    use tokio::io::AsyncReadExt;
    let mut child = command(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id().expect("running");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reading = tokio::spawn(async move {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err)
    });
    let mut peak = 0;
    let started = std::time::Instant::now();
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let hwm = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                });
            if let Some(kb) = hwm {
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < PROCESS_TIMEOUT,
            "{args:?} did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    };
    let (out, err) = reading.await.unwrap();
    (status.code().unwrap_or(-1), out, err, peak)
}

/// Stops servers `a` and `b` (SIGTERM), checks each exited cleanly, and
/// that `verify` passes on the database they shared; returns its output.
pub(crate) async fn stop_both_and_verify(
    a: &mut Child,
    b: &mut Child,
    dir: &Path,
    db: &TestDb,
) -> String {
    terminate(a);
    terminate(b);
    assert!(a.wait().await.unwrap().success());
    assert!(b.wait().await.unwrap().success());
    let (code, out) = run(dir, &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
    out
}

pub(crate) fn terminate(child: &Child) {
    let pid = child.id().expect("running") as i32;
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    let status = unsafe { kill(pid, 15) };
    assert_eq!(status, 0);
}

unsafe extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

/// Every kind of response the service gives carries the security headers
/// (docs/api.md "Security headers"); with `--secure-cookies` every cookie
/// is `Secure` and HSTS is sent. The data directory and database files
/// are private.
#[tokio::test]
async fn responses_carry_security_headers_and_the_data_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let (child, base) = serve(dir.path(), &["--secure-cookies"]).await;
    let client = reqwest::Client::new();
    let css = format!("/assets/{}/app.css", env!("CARGO_PKG_VERSION"));
    for path in [
        "/healthz",
        "/login",
        "/api/v1/me",
        "/no-such-page",
        "/api/openapi.json",
        css.as_str(),
    ] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
        for cookie in headers.get_all("set-cookie") {
            assert!(
                cookie.to_str().unwrap().ends_with("; Secure"),
                "{path}: {cookie:?}"
            );
        }
    }
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert!(login.headers().get_all("set-cookie").iter().count() > 0);
    let data = dir.path().join("data");
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for file in [
        "voucher-ledger.db",
        "voucher-ledger.db-wal",
        "voucher-ledger.db-shm",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    terminate(&child);
}

#[tokio::test]
async fn serve_runs_with_defaults_creates_a_private_key_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path(), &[]).await;
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "sqlite");
    let key = dir.path().join("data/ledger-signing-key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(dir.path().join("data/voucher-ledger.db").exists());
    terminate(&child);
    let status = tokio::time::timeout(PROCESS_TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn migrate_and_verify_work_on_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    for _ in 0..2 {
        let (code, _) = run(dir.path(), &["migrate", "--database-url", &url]).await;
        assert_eq!(code, 0);
    }
    let (code, out) = run(dir.path(), &["verify", "--database-url", &url]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: 0 entries"), "{out}");
}

/// A one-shot command prints its result and no log lines unless asked;
/// `-v` shows info lines; never colour codes when stderr is not a terminal.
#[tokio::test]
async fn one_shot_commands_log_only_when_asked_and_never_in_colour() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let stderr_of = async |args: &[&str]| {
        let output = command(dir.path())
            .env_remove("VOUCHER_LOG")
            .args(args)
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // Migrating a new database logs "migrations applied" at info.
    let quiet = stderr_of(&["migrate", "--database-url", &url("a.db")]).await;
    assert_eq!(quiet, "", "no log lines by default");
    let verbose = stderr_of(&["-v", "migrate", "--database-url", &url("b.db")]).await;
    assert!(verbose.contains("INFO"), "-v shows info lines: {verbose}");
    assert!(
        !verbose.contains('\u{1b}'),
        "no colour codes in a pipe: {verbose:?}"
    );
}

/// Runs a drill and returns every `ack <sequence> <key>` line printed.
async fn drill(cwd: &Path, url: &str, entries: u64) -> HashMap<String, u64> {
    let (code, out) = run(
        cwd,
        &[
            "drill",
            "--database-url",
            url,
            "--entries",
            &entries.to_string(),
            "--clients",
            "16",
            "--scratch",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    parse_acks(&out)
}

fn parse_acks(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.strip_prefix("ack ")?.split(' ');
            let sequence = parts.next()?.parse().ok()?;
            Some((parts.next()?.to_string(), sequence))
        })
        .collect()
}

/// Every acknowledged append is in the ledger under its sequence number.
async fn assert_all_present<S: Store>(store: &S, acks: &HashMap<String, u64>) {
    let mut found = HashMap::new();
    let mut next = 1;
    loop {
        let page = store.entries(next, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        next = last.sequence + 1;
        for entry in page {
            found.insert(entry.idempotency_key, entry.sequence);
        }
    }
    for (key, sequence) in acks {
        assert_eq!(
            found.get(key),
            Some(sequence),
            "acknowledged {key} at {sequence} is missing"
        );
    }
}

async fn kill_dash_9_loses_no_acknowledged_append(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = command(dir.path())
        .args([
            "drill",
            "--database-url",
            db.url(),
            "--entries",
            "1000000",
            "--clients",
            "32",
            "--scratch",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = String::new();
    let mut count = 0;
    while count < 3000 {
        let line = tokio::time::timeout(PROCESS_TIMEOUT, lines.next_line())
            .await
            .expect("drill progresses")
            .unwrap()
            .expect("drill still running");
        acked.push_str(&line);
        acked.push('\n');
        count += 1;
    }
    child.start_kill().unwrap(); // SIGKILL: no chance to flush or commit anything more
    child.wait().await.unwrap();
    // Whatever it acknowledged before dying is still in the pipe.
    while let Ok(Some(line)) = lines.next_line().await {
        acked.push_str(&line);
        acked.push('\n');
    }
    let acks = parse_acks(&acked);
    assert!(acks.len() >= 3000);
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "verify after kill -9: {out}");
    match db {
        TestDb::Sqlite { .. } => {
            assert_all_present(&SqliteStore::connect(db.url()).await.unwrap(), &acks).await
        }
        TestDb::Postgres { .. } => {
            assert_all_present(&PostgresStore::connect(db.url()).await.unwrap(), &acks).await
        }
    }
    // And the ledger takes appends again after the crash.
    drill(dir.path(), db.url(), 100).await;
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
}

async fn two_processes_form_one_gapless_chain(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tokio::join!(
        drill(dir.path(), db.url(), 1500),
        drill(dir.path(), db.url(), 1500)
    );
    assert_eq!(a.len(), 1500);
    assert_eq!(b.len(), 1500);
    let mut sequences: Vec<u64> = a.values().chain(b.values()).copied().collect();
    sequences.sort_unstable();
    sequences.dedup();
    assert_eq!(sequences.len(), 3000, "no sequence number was given twice");
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
    // 3,000 drill entries and one funding (the second drill's funding is a
    // retry of the first's key, answered without a second entry).
    assert!(out.starts_with("ok: 3001 entries"), "{out}");
}

#[tokio::test]
async fn verify_exits_non_zero_and_names_the_first_bad_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite();
    drill(dir.path(), db.url(), 50).await;
    db.tamper(
        &["UPDATE ledger_postings SET amount_fen = 2 WHERE sequence = 17"],
        None,
    )
    .await;
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("FAILED at sequence 17:"), "{out}");
}

#[tokio::test]
async fn the_latest_checkpoint_is_served_and_verifies_with_the_published_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    drill(dir.path(), &url, 30).await;
    let (code, out) = run(dir.path(), &["checkpoint", "--database-url", &url]).await;
    assert_eq!(code, 0, "{out}");
    let (mut child, base) = serve(dir.path(), &["--database-url", &url]).await;
    let response = reqwest::get(format!("{base}/api/v1/ledger/checkpoints/latest"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let view: serde_json::Value = response.json().await.unwrap();
    assert_eq!(view["sequence"], 31);
    assert_eq!(view["algorithm"], "Ed25519");
    let checkpoint = voucher_ledger::ledger::checkpoint::Checkpoint {
        sequence: view["sequence"].as_u64().unwrap(),
        head_hash: hex32(view["head_hash"].as_str().unwrap()),
        signed_at: voucher_ledger::domain::Timestamp::from_micros(
            view["signed_at_us"].as_i64().unwrap(),
        ),
        key_id: view["key_id"].as_str().unwrap().to_string(),
        signature: voucher_ledger::ledger::entry::from_hex::<64>(
            view["signature"].as_str().unwrap(),
        )
        .unwrap(),
    };
    let public_key =
        ed25519_dalek::VerifyingKey::from_bytes(&hex32(view["public_key"].as_str().unwrap()))
            .unwrap();
    assert!(voucher_ledger::ledger::checkpoint::verify_signature(
        &checkpoint,
        &public_key
    ));
    terminate(&child);
    assert!(child.wait().await.unwrap().success());
}

fn hex32(text: &str) -> [u8; 32] {
    voucher_ledger::ledger::entry::from_hex::<32>(text).expect("32 bytes of hex")
}

#[tokio::test]
async fn verify_of_a_missing_database_fails_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let output = command(dir.path())
        .args(["verify", "--database-url", &url])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(!path.exists(), "verify must not create a database");
}

/// Runs `user create`, feeding the password on stdin.
pub(crate) async fn create_user_cli(
    cwd: &Path,
    url: &str,
    role: &str,
    username: &str,
    password: &str,
) -> (i32, String, String) {
    create_user_cli_with(
        cwd,
        url,
        &["--role", role, "--username", username],
        password,
    )
    .await
}

/// Runs `user create` with these arguments, feeding the password on stdin.
async fn create_user_cli_with(
    cwd: &Path,
    url: &str,
    args: &[&str],
    password: &str,
) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = command(cwd)
        .args(["user", "create", "--database-url", url])
        .args(args)
        .env("VOUCHER_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = tokio::time::timeout(PROCESS_TIMEOUT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `user create --party-id` takes a registered party's id or USCC, of the
/// kind the role works for, and refuses anything else.
#[tokio::test]
async fn user_create_binds_a_user_to_a_registered_party_by_id_or_uscc() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    let uscc = voucher_ledger::domain::Uscc::complete("91330902MB000771")
        .unwrap()
        .to_string();
    let file = dir.path().join("firms.csv");
    std::fs::write(
        &file,
        format!("uscc,name,division,sector,staff,revenue\n{uscc},舟山党派测试有限公司,330902,industry,8,1500000\n"),
    )
    .unwrap();
    let (code, out) = run(
        dir.path(),
        &[
            "import",
            "enterprises",
            file.to_str().unwrap(),
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let password = "a perfectly long password";
    let refused = [
        [
            "--role",
            "enterprise",
            "--username",
            "random-party",
            "--party-id",
            "01a21208-0000-7000-8000-000000000000",
        ],
        [
            "--role",
            "provider",
            "--username",
            "wrong-kind",
            "--party-id",
            uscc.as_str(),
        ],
        [
            "--role",
            "enterprise",
            "--username",
            "no-such-uscc",
            "--party-id",
            "91330902MB0009999",
        ],
    ];
    for args in refused {
        let (code, out, err) = create_user_cli_with(dir.path(), &url, &args, password).await;
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(err.contains("--party-id"), "{args:?}: {err}");
    }
    let args = [
        "--role",
        "enterprise",
        "--username",
        "by-uscc",
        "--party-id",
        uscc.as_str(),
    ];
    let (code, out, err) = create_user_cli_with(dir.path(), &url, &args, password).await;
    assert_eq!(code, 0, "{out}{err}");
}

#[tokio::test]
async fn user_create_bootstraps_an_admin_from_stdin_and_refuses_weak_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    let (code, out, _) = create_user_cli(dir.path(), &url, "admin", "first-admin", "short").await;
    assert_ne!(code, 0, "{out}");
    let (code, out, err) = create_user_cli(
        dir.path(),
        &url,
        "admin",
        "first-admin",
        "a perfectly long password",
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("created user "), "{out}");
    let (code, _, _) = create_user_cli(
        dir.path(),
        &url,
        "provider",
        "no-party",
        "a perfectly long password",
    )
    .await;
    assert_ne!(code, 0, "provider users need --party-id");
}

#[tokio::test]
async fn passwords_tokens_sessions_and_keys_never_appear_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    let password = "Sup3r-Secret-Admin-Passphrase";
    let (code, _, mut logs) =
        create_user_cli(dir.path(), &url, "admin", "log-admin", password).await;
    assert_eq!(code, 0);
    let mut child = command(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .env("VOUCHER_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(PROCESS_TIMEOUT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_string();
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "log-admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session_secret = cookie.trim_start_matches("vl_session=").to_string();
    let csrf = login.json::<serde_json::Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/me/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("idempotency-key", "log-token")
        .json(&serde_json::json!({"name": "log test", "ttl_days": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["secret"].as_str().unwrap().to_string();
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let wrong = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "log-admin", "password": "Wrong-Guess-Passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    terminate(&child);
    let output = child.wait_with_output().await.unwrap();
    logs.push_str(&String::from_utf8_lossy(&output.stderr));
    assert!(
        logs.contains("ledger signing key"),
        "the logs were captured"
    );
    let key_seed = std::fs::read_to_string(dir.path().join("data/ledger-signing-key")).unwrap();
    for secret in [
        password,
        "Wrong-Guess-Passphrase",
        &session_secret,
        &token,
        &csrf,
        key_seed.trim(),
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}

/// A signed-in HTTP client for a running server: session cookie + CSRF.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) client: reqwest::Client,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

impl Session {
    pub(crate) async fn login(base: &str, username: &str, password: &str) -> Session {
        let client = reqwest::Client::new();
        let reply = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let cookie = reply.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = reply.json::<serde_json::Value>().await.unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .to_string();
        Session {
            client,
            cookie,
            csrf,
        }
    }

    /// Creates an API token named `name` under `key`; (status, body).
    async fn create_token(
        &self,
        base: &str,
        name: &str,
        key: &str,
    ) -> Result<(u16, serde_json::Value), reqwest::Error> {
        let reply = self
            .client
            .post(format!("{base}/api/v1/me/tokens"))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("idempotency-key", key)
            .json(&serde_json::json!({"name": name, "ttl_days": 1}))
            .send()
            .await?;
        let status = reply.status().as_u16();
        Ok((status, reply.json().await.unwrap_or_default()))
    }
}

const ADMIN_PASSWORD: &str = "two servers admin password";

async fn two_servers_share_one_chain_and_one_idempotency(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        create_user_cli(dir.path(), db.url(), "admin", "admin", ADMIN_PASSWORD).await;
    assert_eq!(code, 0, "{err}");
    let (mut a, base_a) = serve(dir.path(), &["--database-url", db.url()]).await;
    let (mut b, base_b) = serve(dir.path(), &["--database-url", db.url()]).await;
    // A session opened on one instance works on the other.
    let session = Session::login(&base_a, "admin", ADMIN_PASSWORD).await;
    let mut requests = Vec::new();
    for n in 0..40 {
        let (session, base) = (
            session.clone(),
            if n % 2 == 0 {
                base_a.clone()
            } else {
                base_b.clone()
            },
        );
        requests.push(tokio::spawn(async move {
            session
                .create_token(&base, &format!("distinct-{n}"), &format!("k-{n}"))
                .await
                .unwrap()
        }));
    }
    // One key sent to both instances at once, ten times: one effect.
    for n in 0..10 {
        let (session, base) = (
            session.clone(),
            if n % 2 == 0 {
                base_a.clone()
            } else {
                base_b.clone()
            },
        );
        requests.push(tokio::spawn(async move {
            session
                .create_token(&base, "shared", "shared-key")
                .await
                .unwrap()
        }));
    }
    let mut shared_created = 0;
    for request in requests {
        let (status, body) = request.await.unwrap();
        match status {
            201 if body["token"]["name"] == "shared" => shared_created += 1,
            201 => {}
            409 => assert!(
                [
                    "idempotency_replay_unavailable",
                    "idempotency_request_in_progress",
                    "token_already_issued"
                ]
                .contains(&body["error"]["code"].as_str().unwrap()),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(shared_created, 1, "one key, two servers, one effect");
    a_token_revoked_on_one_server_dies_on_the_other(&session, &base_a, &base_b).await;
    let out = stop_both_and_verify(&mut a, &mut b, dir.path(), db).await;
    // user_created + login_succeeded + 40 distinct tokens + 1 shared token
    // + the revoked token's creation and revocation.
    assert!(out.starts_with("ok: 45 entries"), "{out}");
}

/// Each server caches live tokens for at most a second (and drops them at
/// once when it commits a revocation itself): a token used on B, then
/// revoked on A, is refused by B within that second (plus slack here).
async fn a_token_revoked_on_one_server_dies_on_the_other(
    session: &Session,
    base_a: &str,
    base_b: &str,
) {
    let (status, created) = session
        .create_token(base_a, "revoke-me", "revoke-me")
        .await
        .unwrap();
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["token"]["id"].as_str().unwrap().to_string();
    let me = |base: String| {
        let secret = secret.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/me"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        me(base_b.to_string()).await,
        200,
        "B now holds it in its cache"
    );
    let revoked = session
        .client
        .delete(format!("{base_a}/api/v1/me/tokens/{id}"))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header("idempotency-key", "revoke-it")
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(me(base_a.to_string()).await, 401, "A refuses at once");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while me(base_b.to_string()).await != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "B still accepts a token revoked on A"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn kill_dash_9_of_the_server_loses_no_acknowledged_request(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        create_user_cli(dir.path(), db.url(), "admin", "admin", ADMIN_PASSWORD).await;
    assert_eq!(code, 0, "{err}");
    let (mut server, base) = serve(dir.path(), &["--database-url", db.url()]).await;
    let session = Session::login(&base, "admin", ADMIN_PASSWORD).await;
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for client in 0..8 {
        let (session, base, acked) = (session.clone(), base.clone(), acked_tx.clone());
        clients.push(tokio::spawn(async move {
            for n in 0..10_000 {
                match session
                    .create_token(&base, "crash", &format!("c{client}-{n}"))
                    .await
                {
                    Ok((201, body)) => {
                        let _ = acked.send(body["token"]["id"].as_str().unwrap().to_string());
                    }
                    Ok((status, body)) => panic!("unexpected {status}: {body}"),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    drop(acked_tx);
    let mut acked = Vec::new();
    while acked.len() < 150 {
        acked.push(
            tokio::time::timeout(PROCESS_TIMEOUT, acked_rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    server.start_kill().unwrap(); // SIGKILL
    server.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    while let Ok(id) = acked_rx.try_recv() {
        acked.push(id);
    }
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "verify after kill -9: {out}");
    let check = |store_tokens: Vec<Option<voucher_ledger::store::access::TokenRecord>>| {
        assert!(
            store_tokens.iter().all(Option::is_some),
            "an acknowledged token is missing"
        )
    };
    let ids: Vec<uuid::Uuid> = acked.iter().map(|id| id.parse().unwrap()).collect();
    match db {
        TestDb::Sqlite { .. } => {
            let store = SqliteStore::connect(db.url()).await.unwrap();
            check(tokens_by_id(&store, &ids).await);
        }
        TestDb::Postgres { .. } => {
            let store = PostgresStore::connect(db.url()).await.unwrap();
            check(tokens_by_id(&store, &ids).await);
        }
    }
    // The server starts again on the same database and serves.
    let (mut again, base) = serve(dir.path(), &["--database-url", db.url()]).await;
    Session::login(&base, "admin", ADMIN_PASSWORD).await;
    terminate(&again);
    assert!(again.wait().await.unwrap().success());
}

async fn tokens_by_id<S: Store>(
    store: &S,
    ids: &[uuid::Uuid],
) -> Vec<Option<voucher_ledger::store::access::TokenRecord>> {
    let mut found = Vec::new();
    for id in ids {
        found.push(store.token_by_id(*id).await.unwrap());
    }
    found
}

on_both_databases!(
    kill_dash_9_of_a_writer_process,
    kill_dash_9_loses_no_acknowledged_append
);

on_both_databases!(
    two_writer_processes_on_one_database,
    two_processes_form_one_gapless_chain
);

on_both_databases!(
    two_serve_processes_on_one_database,
    two_servers_share_one_chain_and_one_idempotency
);

on_both_databases!(
    kill_dash_9_of_serve,
    kill_dash_9_of_the_server_loses_no_acknowledged_request
);

/// Starts `demo` (with `extra` arguments) and waits until it serves;
/// returns the server, its base URL, and what it printed before the address
/// line (the demo users' passwords, the first time). Its later output is
/// drained so it never blocks on a full pipe.
pub(crate) async fn start_demo(dir: &Path, extra: &[&str]) -> (Child, String, String) {
    start_demo_at(dir, "127.0.0.1:0", extra).await
}

/// `start_demo` listening on `address` (a restarted server keeps its
/// origin, and with it the browser's storage and service workers).
pub(crate) async fn start_demo_at(
    dir: &Path,
    address: &str,
    extra: &[&str],
) -> (Child, String, String) {
    let mut demo = command(dir);
    demo.args(["demo", "--listen", address]).args(extra);
    spawn_demo(demo).await
}

/// `start_demo` logging everything (`VOUCHER_LOG=debug`) to the file `log`.
pub(crate) async fn start_demo_logging(
    dir: &Path,
    extra: &[&str],
    log: &Path,
) -> (Child, String, String) {
    let mut demo = command(dir);
    demo.args(["demo", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("VOUCHER_LOG", "debug")
        .stderr(std::fs::File::create(log).unwrap());
    spawn_demo(demo).await
}

async fn spawn_demo(mut demo: Command) -> (Child, String, String) {
    let mut child = demo.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    loop {
        let line = tokio::time::timeout(PROCESS_TIMEOUT, lines.next_line())
            .await
            .expect("demo makes progress")
            .unwrap()
            .expect("demo is still running");
        if let Some(base) = line.strip_prefix("listening on ") {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, base.to_string(), printed);
        }
        printed.push_str(&line);
        printed.push('\n');
    }
}

/// Runs `demo` until it serves; returns its stdout before the address line,
/// and stops it.
async fn demo_run(dir: &Path) -> String {
    let (mut child, base, printed) = start_demo(dir, &[]).await;
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let programmes = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(programmes.status(), 200);
    terminate(&child);
    assert!(child.wait().await.unwrap().success());
    printed
}

#[tokio::test]
async fn demo_on_an_empty_directory_serves_and_running_it_again_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = demo_run(dir.path()).await;
    assert!(first.contains("demo users"), "{first}");
    let admin_line = first.lines().find(|l| l.contains("demo-admin")).unwrap();
    let password = admin_line.split_whitespace().last().unwrap().to_string();
    let url = data_url(dir.path());
    let (code, before) = run(dir.path(), &["verify", "--database-url", &url]).await;
    assert_eq!(code, 0, "{before}");
    let second = demo_run(dir.path()).await;
    assert!(second.contains("already exist"), "{second}");
    assert!(!second.contains(&password), "passwords are shown once");
    let (code, after) = run(dir.path(), &["verify", "--database-url", &url]).await;
    assert_eq!(code, 0);
    let entries = |out: &str| out.split(" entries").next().unwrap().to_string();
    assert_eq!(
        entries(&before),
        entries(&after),
        "the second run added no entry"
    );
    let store = SqliteStore::connect(&url).await.unwrap();
    use voucher_ledger::store::registry::RegistryStore;
    assert_eq!(store.enterprises_after("", 500).await.unwrap().len(), 500);
    assert_eq!(store.providers_after("", 500).await.unwrap().len(), 30);
    assert_eq!(
        store.programme("ZS2026-01").await.unwrap().unwrap().status,
        ProgrammeStatus::Open
    );
    assert_eq!(
        store.programme("ZS2027-01").await.unwrap().unwrap().status,
        ProgrammeStatus::Draft
    );
}

#[tokio::test]
async fn issuer_keys_rotate_publish_verify_and_revoke() {
    use voucher_ledger::token::voucher::{KeyStatus, VoucherClaims, sign, verify};
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    let rotate = |cwd: &Path, url: String| {
        let cwd = cwd.to_path_buf();
        async move { run(&cwd, &["keys", "rotate", "--database-url", &url]).await }
    };
    let (code, first) = rotate(dir.path(), url.clone()).await;
    assert_eq!(code, 0, "{first}");
    let (code, second) = rotate(dir.path(), url.clone()).await;
    assert_eq!(code, 0, "{second}");
    let key_id = |out: &str| out.split_whitespace().nth(2).unwrap().to_string();
    let (old_id, new_id) = (key_id(&first), key_id(&second));
    let old_file = dir.path().join(format!("data/issuer-keys/{old_id}.key"));
    assert_eq!(
        std::fs::metadata(&old_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A voucher signed by the old key before rotation.
    let seed = voucher_ledger::ledger::entry::from_hex::<32>(
        std::fs::read_to_string(&old_file).unwrap().trim(),
    )
    .unwrap();
    let old_key = voucher_ledger::ledger::checkpoint::KeyPair::from_secret(&seed);
    let claims = VoucherClaims {
        voucher_id: uuid::Uuid::now_v7(),
        programme_code: "ZS2026-01".into(),
        enterprise_uscc: "91330902MA00000153".into(),
        face_value: voucher_ledger::domain::Fen::new(100_000),
        valid_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        // Valid today too, for the `token verify` command's real clock.
        valid_until: voucher_ledger::domain::Timestamp::now().cst_date() + chrono::Days::new(365),
        service_categories: vec!["管理咨询".into()],
        issued_sequence: 1,
        key_id: old_id.clone(),
    };
    let text = sign(&claims, old_key.signing_key());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    // What anyone can fetch.
    let published = async || {
        let (mut child, base) = serve(dir.path(), &["--database-url", &url]).await;
        let keys: serde_json::Value = reqwest::get(format!("{base}/.well-known/voucher-keys.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        terminate(&child);
        assert!(child.wait().await.unwrap().success());
        keys["keys"].as_array().unwrap().clone()
    };
    let lookup = |keys: Vec<serde_json::Value>| {
        move |id: &str| {
            keys.iter().find(|k| k["key_id"] == id).map(|k| {
                let bytes = voucher_ledger::ledger::entry::from_hex::<32>(
                    k["public_key"].as_str().unwrap(),
                )
                .unwrap();
                let status = KeyStatus::parse(k["status"].as_str().unwrap()).unwrap();
                (
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap(),
                    status,
                )
            })
        }
    };
    let keys = published().await;
    let statuses: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                k["key_id"].as_str().unwrap().to_string(),
                k["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (old_id.clone(), "retired".to_string()),
            (new_id.clone(), "active".to_string())
        ]
    );
    let key_file = dir.path().join("voucher-keys.json");
    std::fs::write(&key_file, serde_json::json!({ "keys": keys }).to_string()).unwrap();
    assert_eq!(
        verify(&text, lookup(keys), today),
        Ok(claims.clone()),
        "a retired key's vouchers still verify"
    );
    // The command line agrees, offline from the published file and online.
    let offline = [
        "token",
        "verify",
        &text,
        "--keys",
        key_file.to_str().unwrap(),
    ];
    let (code, out) = run(dir.path(), &offline).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("key: {old_id} (retired)")), "{out}");
    assert!(out.contains("壹仟元整"), "{out}");
    let (code, out) = run(
        dir.path(),
        &["token", "verify", &text, "--database-url", &url],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(
        dir.path(),
        &[
            "keys",
            "revoke",
            &old_id,
            "--reason",
            "密钥文件泄露",
            "--database-url",
            &url,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    let keys = published().await;
    assert_eq!(keys[0]["status"], "revoked");
    assert_eq!(keys[0]["revoke_reason"], "密钥文件泄露");
    assert_eq!(
        verify(&text, lookup(keys), today).unwrap_err().code(),
        "token_key_revoked"
    );
    let online = ["token", "verify", &text, "--json", "--database-url", &url];
    let (code, out) = run(dir.path(), &online).await;
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["code"], "token_key_revoked");
    // The saved file predates the revocation: offline, the key still looks retired.
    assert_eq!(run(dir.path(), &offline).await.0, 0);
    let (code, out) = run(
        dir.path(),
        &[
            "token",
            "verify",
            "VL1:ABC",
            "--keys",
            key_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.contains("token_malformed"), "{out}");
    // Re-issue applies to a revoked key only (this one signed no stored
    // voucher, so there is nothing to replace); the active key is refused.
    let reissue = |id: &str| ["keys", "reissue", id, "--database-url", &url].map(String::from);
    let (code, out) = run(dir.path(), &reissue(&old_id).each_ref().map(String::as_str)).await;
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, _) = run(dir.path(), &reissue(&new_id).each_ref().map(String::as_str)).await;
    assert_ne!(code, 0, "the active key's vouchers need no re-issue");
    let (code, out) = run(dir.path(), &["verify", "--database-url", &url]).await;
    assert_eq!(code, 0, "{out}");
}

/// Runs `issue --programme P <flag> <value>` on the database at `url`.
async fn issue_cli(
    dir: &Path,
    url: &str,
    programme: &str,
    flag: &str,
    value: &str,
) -> (i32, String) {
    run(
        dir,
        &[
            "issue",
            "--database-url",
            url,
            "--programme",
            programme,
            flag,
            value,
        ],
    )
    .await
}

/// Sets up a flash crowd on `store` as an operator would before opening
/// the doors: an issuer key in `<dir>/data/issuer-keys` (where `serve`
/// looks by default), an open programme whose budget covers `vouchers`
/// vouchers, and `firms` enterprise users with API tokens. Returns the
/// firms.
async fn prepare_crowd<S: Store>(
    store: S,
    dir: &Path,
    code: &str,
    vouchers: i64,
    firms: usize,
) -> Vec<crate::issuance::Firm> {
    use voucher_ledger::domain::programme::ProgrammeTerms;
    use voucher_ledger::domain::{Fen, ProgrammeCode};
    use voucher_ledger::service::commands::{Command, ProgrammeChange, Submission};
    store.migrate().await.unwrap();
    let (writer, task) = crate::helpers::start_writer(&store, Default::default()).await;
    let issuer = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    let path = dir
        .join("data/issuer-keys")
        .join(format!("{}.key", issuer.key_id()));
    voucher_ledger::keyfile::write_new(&path, &issuer).unwrap();
    let face = 100_000;
    let terms: ProgrammeTerms = serde_json::from_value(crate::issuance::terms(
        vouchers * face,
        &[face],
        1,
        "rotating",
    ))
    .unwrap();
    let programme = ProgrammeCode::parse(code).unwrap();
    let steps = [
        Command::ActivateIssuerKey(ActivateIssuerKey {
            public_key: issuer.public_key().to_bytes(),
        }),
        Command::ChangeProgramme(ChangeProgramme {
            code: programme.clone(),
            change: ProgrammeChange::Create(terms),
        }),
        Command::FundProgramme(FundProgramme {
            programme: programme.clone(),
            amount: Fen::new(vouchers * face),
            reference: "舟财企〔2026〕12号".into(),
        }),
        Command::ChangeProgramme(ChangeProgramme {
            code: programme,
            change: ProgrammeChange::Open,
        }),
    ];
    for (n, command) in steps.into_iter().enumerate() {
        writer
            .submit(Submission {
                actor: "test:ops".into(),
                idempotency_key: format!("prepare:{code}:{n}"),
                command,
            })
            .await
            .unwrap();
    }
    let firms = if firms == 0 {
        Vec::new()
    } else {
        crate::issuance::seed_firms(&store, &writer, 5_000, firms).await
    };
    drop(writer);
    task.await.unwrap();
    firms
}

/// Many firms claim at once, half through each of two `serve` processes:
/// exactly the vouchers the budget covers are issued, every other firm is
/// told `programme_budget_exhausted`, and the ledger verifies. Then the
/// `issue` CLI allocates by USCC and by list, and `token verify` checks
/// what it printed.
async fn two_servers_split_a_flash_crowd_and_the_cli_allocates(db: &TestDb) {
    const FIRMS: usize = 600;
    const VOUCHERS: i64 = 40;
    let dir = tempfile::tempdir().unwrap();
    let firms = match db {
        TestDb::Sqlite { .. } => {
            let store = SqliteStore::open(db.url()).await.unwrap();
            prepare_crowd(store, dir.path(), "RUSH-2P", VOUCHERS, FIRMS).await
        }
        TestDb::Postgres { .. } => {
            let store = PostgresStore::open(db.url()).await.unwrap();
            prepare_crowd(store, dir.path(), "RUSH-2P", VOUCHERS, FIRMS).await
        }
    };
    let (mut a, base_a) = serve(dir.path(), &["--database-url", db.url()]).await;
    let (mut b, base_b) = serve(dir.path(), &["--database-url", db.url()]).await;
    let client = reqwest::Client::new();
    let requests = firms.iter().enumerate().map(|(n, firm)| {
        let base = if n % 2 == 0 { &base_a } else { &base_b };
        client
            .post(format!("{base}/api/v1/programmes/RUSH-2P/claims"))
            .bearer_auth(&firm.token)
            .header("idempotency-key", format!("rush-{n}"))
            .json(&serde_json::json!({}))
    });
    let replies = send_at_once(requests.collect()).await;
    let (issued, refused) = crate::issuance::tally(&replies);
    assert_eq!(issued.len() as i64, VOUCHERS);
    assert!(
        refused
            .iter()
            .all(|code| code == "programme_budget_exhausted"),
        "{refused:?}"
    );
    stop_both_and_verify(&mut a, &mut b, dir.path(), db).await;
    let remaining = match db {
        TestDb::Sqlite { .. } => {
            let store = SqliteStore::open(db.url()).await.unwrap();
            let remaining = crate::issuance::budget_never_negative(&store, "RUSH-2P").await;
            prepare_crowd(store, dir.path(), "CLI-1", 5, 0).await;
            remaining
        }
        TestDb::Postgres { .. } => {
            let store = PostgresStore::open(db.url()).await.unwrap();
            let remaining = crate::issuance::budget_never_negative(&store, "RUSH-2P").await;
            prepare_crowd(store, dir.path(), "CLI-1", 5, 0).await;
            remaining
        }
    };
    assert_eq!(remaining, 0);

    // The CLI: the budget of RUSH-2P is spent, so a firm that lost the
    // race is refused (exit 1, nothing on stdout).
    let (loser, runner_up) = (&firms[FIRMS - 1].uscc, &firms[FIRMS - 2].uscc);
    let url = db.url();
    let (code, out) = issue_cli(dir.path(), url, "RUSH-2P", "--enterprise", loser).await;
    assert_eq!((code, out.as_str()), (1, ""));
    // From CLI-1 it gets one; stdout is exactly the token, which verifies
    // online with its state.
    let (code, token) = issue_cli(dir.path(), url, "CLI-1", "--enterprise", loser).await;
    assert_eq!(code, 0);
    let token = token.trim();
    assert!(token.starts_with("VL1:"), "{token}");
    let (code, report) = run(
        dir.path(),
        &["token", "verify", token, "--database-url", url],
    )
    .await;
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("state here: active"), "{report}");
    // A list: the same firm again (already issued by this batch), another
    // (issued), and an unregistered USCC (refused), in list order.
    let unknown = crate::issuance::firm_uscc(999_998);
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        format!("统一社会信用代码\n{loser}\n{runner_up}\n{unknown}\n"),
    )
    .unwrap();
    let (code, csv) = issue_cli(dir.path(), url, "CLI-1", "--list", list.to_str().unwrap()).await;
    assert_eq!(code, 0, "{csv}");
    let outcomes: Vec<(&str, &str)> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.split(',');
            (cells.next().unwrap(), cells.next().unwrap())
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (loser.as_str(), "already_issued"),
            (runner_up.as_str(), "issued"),
            (unknown.as_str(), "refused")
        ]
    );
    assert!(csv.contains("enterprise_not_registered"), "{csv}");
}

on_both_databases!(
    two_serve_processes_split_a_flash_crowd,
    two_servers_split_a_flash_crowd_and_the_cli_allocates
);

/// `bench issue` and `bench redeem` run end to end on a small scale (they
/// are benchmarks, not tests: only that they complete, verify and report
/// is checked here).
#[tokio::test]
async fn bench_issue_and_redeem_run_and_report_their_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec!["sqlite".to_string()];
    if let Ok(url) = std::env::var(crate::helpers::POSTGRES_URL_ENV) {
        backends.push(url);
    }
    for backend in backends {
        let runs: [(&[&str], &[&str]); 2] = [
            (
                &["bench", "issue", "--claims", "40", "--clients", "4"],
                &[
                    "Ed25519 signatures:",
                    "claims over HTTP:",
                    "ratio vs baseline:",
                ],
            ),
            (
                &["bench", "redeem", "--redemptions", "40", "--clients", "4"],
                &[
                    "redemptions over HTTP:",
                    "p99",
                    "ratio vs 4-client baseline:",
                ],
            ),
        ];
        for (args, expected) in runs {
            let mut args = args.to_vec();
            args.extend(["--backend-url", &backend]);
            let (code, out) = run(dir.path(), &args).await;
            assert_eq!(code, 0, "{out}");
            for expected in expected.iter().chain(&["verify: ok"]) {
                assert!(out.contains(expected), "{expected} missing: {out}");
            }
        }
    }
}

/// `bench settle` runs end to end on a small scale on each backend: the
/// batch holds every generated redemption, and both ratios are reported.
#[tokio::test]
async fn bench_settle_runs_and_reports_its_ratio_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec!["sqlite".to_string()];
    if let Ok(url) = std::env::var(crate::helpers::POSTGRES_URL_ENV) {
        backends.push(url);
    }
    for backend in backends {
        let args = [
            "bench",
            "settle",
            "--redemptions",
            "300",
            "--backend-url",
            &backend,
        ];
        let (code, out) = run(dir.path(), &args).await;
        assert_eq!(code, 0, "{out}");
        for expected in ["batch: 300 lines", "raw:", "the raw time", "peak memory"] {
            assert!(out.contains(expected), "{expected} missing: {out}");
        }
    }
}

/// POSTs `body` as `token` with idempotency key `key` until it is
/// answered 2xx, sending it again (same key) after a 503 — which must carry
/// `Retry-After` — and, when `retry_broken`, after a broken connection;
/// any other answer fails the test. Returns the answer and the attempts.
pub(crate) async fn post_until_done(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    body: &serde_json::Value,
    retry_broken: bool,
) -> (serde_json::Value, u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = client
            .post(url)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(body)
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await;
        match sent {
            Ok(reply) if reply.status().is_success() => {
                return (reply.json().await.unwrap(), attempts);
            }
            Ok(reply) if reply.status().as_u16() == 503 => {
                assert!(
                    reply.headers().contains_key("retry-after"),
                    "503 without Retry-After"
                );
            }
            Ok(reply) => {
                let status = reply.status();
                let text = reply.text().await.unwrap_or_default();
                panic!("{url} {key} answered {status}: {text}");
            }
            Err(error) if !retry_broken => panic!("{url} {key}: {error}"),
            Err(_) => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} {key}: no answer within 120 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

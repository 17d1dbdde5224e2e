//! Schemathesis against the served OpenAPI, on both databases, as every
//! role (tests/contract/schemathesis_run.py): no response ≥ 500 and no
//! failure of `not_a_server_error`, `status_code_conformance`,
//! `content_type_conformance` or `response_schema_conformance`. Required
//! when `CI=true` (`.ci/run` installs schemathesis); skipped otherwise
//! when `st` is not installed.

use std::process::Stdio;

use crate::helpers::{PROCESS_TIMEOUT, TestDb};

const DRIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/contract/schemathesis_run.py"
);
const BINARY: &str = env!("CARGO_BIN_EXE_voucher-ledger");

fn schemathesis_installed() -> bool {
    let installed = std::process::Command::new("st")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        installed || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but schemathesis (st) is not installed (.ci/run installs it)"
    );
    installed
}

async fn run_against(db: &TestDb) {
    if !schemathesis_installed() {
        eprintln!("skipping schemathesis: st is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new("python3");
    command.arg(DRIVER).arg(BINARY).arg(dir.path());
    if let TestDb::Postgres { .. } = db {
        command.arg(db.url());
    }
    let output = tokio::time::timeout(PROCESS_TIMEOUT * 5, command.output())
        .await
        .expect("schemathesis finished in time")
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains("schemathesis: 5 roles, 0 failures"), "{out}");
}

#[tokio::test]
async fn schemathesis_finds_no_contract_failure_on_sqlite() {
    run_against(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn schemathesis_finds_no_contract_failure_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    run_against(&db).await;
}

//! Backups of an embedded ledger (issue 21 point 3): `backup` while
//! `serve` takes claims gives a copy that restores, verifies and holds every
//! claim acknowledged before the backup started; `restore` refuses a copy
//! that fails `verify` and leaves the database alone; a PostgreSQL URL is
//! sent to PostgreSQL's own tools.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use voucher_ledger::store::{SqliteStore, Store};

use crate::helpers::TestDb;
use crate::processes::{run, serve, terminate};
use crate::redemption_processes::{claims_url, prepare_on};

/// Firms that claim while the backup is taken.
const FIRMS: usize = 120;
/// Claims in flight at once.
const CLIENTS: usize = 8;

#[tokio::test]
async fn a_backup_under_load_restores_verified_with_every_earlier_claim() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(&db, dir.path(), FIRMS).await;
    let (server, base) = serve(dir.path(), &["--database-url", db.url()]).await;

    // Claims, a few at a time, each acknowledged voucher id kept in order.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let firms = Arc::new(Mutex::new(counter.claimants.clone()));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (acked, firms, base) = (acked.clone(), firms.clone(), base.clone());
        load.spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let Some(firm) = firms.lock().unwrap().pop() else {
                    return;
                };
                let reply = client
                    .post(claims_url(&base))
                    .bearer_auth(&firm.token)
                    .header("idempotency-key", format!("claim-{}", firm.uscc))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(reply.status().as_u16(), 201);
                let body: serde_json::Value = reply.json().await.unwrap();
                let id = body["voucher"]["id"]
                    .as_str()
                    .or(body["id"].as_str())
                    .unwrap()
                    .to_string();
                acked.lock().unwrap().push(id);
            }
        });
    }
    while acked.lock().unwrap().len() < FIRMS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before_backup = acked.lock().unwrap().clone();
    let out = dir.path().join("backups/ledger-backup.db");
    let out_arg = out.display().to_string();
    let (code, said) = run(
        dir.path(),
        &["backup", "--database-url", db.url(), "--out", &out_arg],
    )
    .await;
    assert_eq!(code, 0, "{said}");
    assert!(
        said.starts_with("backup ") && said.contains("verified"),
        "{said}"
    );
    let claimed_meanwhile = acked.lock().unwrap().len() - before_backup.len();
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
    terminate(&server);
    println!(
        "backup under load: {} claims acknowledged before it started, {claimed_meanwhile} while it ran, {} in all",
        before_backup.len(),
        FIRMS
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the backup is private");

    // A backup never overwrites.
    let (code, said) = run(
        dir.path(),
        &["backup", "--database-url", db.url(), "--out", &out_arg],
    )
    .await;
    assert_ne!(code, 0, "{said}");

    // Restored elsewhere: verifies, and holds every earlier claim.
    let restored = dir.path().join("restored/ledger.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let (code, said) = run(
        dir.path(),
        &["restore", &out_arg, "--database-url", &restored_url],
    )
    .await;
    assert_eq!(code, 0, "{said}");
    assert!(
        said.starts_with("restored ") && said.contains("verified"),
        "{said}"
    );
    let store = SqliteStore::connect_existing(&restored_url).await.unwrap();
    crate::helpers::assert_vouchers_present(
        &store,
        &before_backup,
        "acknowledged before the backup started",
    )
    .await;
    store.close().await;
    let (code, said) = run(dir.path(), &["verify", "--database-url", &restored_url]).await;
    assert_eq!(code, 0, "{said}");

    // A copy with one entry changed is refused, and the database stays.
    let bent_dir = tempfile::tempdir().unwrap();
    let bent_path = bent_dir.path().join("bent.db");
    std::fs::copy(&out, &bent_path).unwrap();
    let bent = TestDb::Sqlite {
        url: format!("sqlite://{}", bent_path.display()),
        _dir: bent_dir,
    };
    bent.tamper(
        &["UPDATE ledger_entries SET actor = 'someone else' WHERE sequence = 3"],
        None,
    )
    .await;
    let before = std::fs::read(&restored).unwrap();
    let bent_arg = bent_path.display().to_string();
    let (code, said) = run(
        dir.path(),
        &[
            "restore",
            &bent_arg,
            "--database-url",
            &restored_url,
            "--replace",
        ],
    )
    .await;
    assert_eq!(code, 3, "{said}");
    assert!(said.starts_with("REFUSED"), "{said}");
    assert_eq!(std::fs::read(&restored).unwrap(), before, "left alone");
    // Without --replace an existing database is not overwritten even by a
    // good copy; with it, it is.
    let (code, said) = run(
        dir.path(),
        &["restore", &out_arg, "--database-url", &restored_url],
    )
    .await;
    assert_ne!(code, 0, "{said}");
    let (code, said) = run(
        dir.path(),
        &[
            "restore",
            &out_arg,
            "--database-url",
            &restored_url,
            "--replace",
        ],
    )
    .await;
    assert_eq!(code, 0, "{said}");

    // PostgreSQL is backed up with its own tools.
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .current_dir(dir.path())
        .args([
            "backup",
            "--database-url",
            "postgres://nobody@localhost/none",
        ])
        .args(["--out", "x.db"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("pg_basebackup"), "{said}");
}

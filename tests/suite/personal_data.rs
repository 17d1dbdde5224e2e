//! Personal data out of the chain (issue 23, docs/personal-data.md), on
//! SQLite and PostgreSQL: after the demo, the database's bytes (the SQLite
//! file and its WAL; a `pg_dump`) hold none of the demo contact persons'
//! names with their numbers, nor the numbers alone, in plain text — while
//! lists show them masked, the admin sees one opened in full (the read
//! recorded), finance masked, and the registry export carries them; the
//! demo's whole debug log names none of them. Then the master key is rotated: after a restart everything
//! reads as before with the new key alone, and `verify` passes.

use crate::helpers::TestDb;
use crate::processes::{self, Session, on_both_databases, terminate};

on_both_databases!(
    personal_data_at_rest,
    the_demo_database_holds_no_contact_in_plain_text
);

/// The bytes a copy of the database would hold.
async fn database_bytes(db: &TestDb) -> Vec<u8> {
    match db {
        TestDb::Sqlite { url, .. } => {
            let path = url.trim_start_matches("sqlite://");
            let mut bytes = std::fs::read(path).unwrap();
            for suffix in ["-wal", "-shm"] {
                if let Ok(more) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(more);
                }
            }
            bytes
        }
        TestDb::Postgres { url, .. } => {
            let output = std::process::Command::new("pg_dump")
                .arg("--dbname")
                .arg(url)
                .output()
                .expect("pg_dump runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn the_demo_database_holds_no_contact_in_plain_text(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let (mut server, base, printed) =
        processes::start_demo_logging(dir.path(), &["--database-url", db.url()], &log).await;
    let password = |user: &str| {
        printed
            .lines()
            .find_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                (words.len() == 3 && words[1] == user).then(|| words[2].to_string())
            })
            .unwrap()
    };
    // Lists show contacts masked to everyone; one enterprise opened shows
    // the admin its contact in full (and records the read), finance masked.
    let admin = Session::login(&base, "demo-admin", &password("demo-admin")).await;
    let finance = Session::login(&base, "demo-finance", &password("demo-finance")).await;
    let first = voucher_ledger::cli::demo::demo_contact(0);
    let is_demo_contact =
        |text: &str| (0..700).any(|i| text.contains(&voucher_ledger::cli::demo::demo_contact(i)));
    for session in [&admin, &finance] {
        let list = listed(&base, session).await;
        assert!(
            !is_demo_contact(&list),
            "a list never shows a contact in full"
        );
        assert!(list.contains("139****"), "lists show contacts masked");
    }
    let id = serde_json::from_str::<serde_json::Value>(&listed(&base, &admin).await).unwrap()
        ["enterprises"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let opened_by_admin = opened(&base, &admin, &id).await;
    assert!(
        is_demo_contact(&opened_by_admin),
        "the admin sees it in full: {opened_by_admin}"
    );
    let opened_by_finance = opened(&base, &finance, &id).await;
    assert!(!is_demo_contact(&opened_by_finance) && opened_by_finance.contains("139****"));
    let reads = get_json(
        &base,
        &admin,
        &format!("/api/v1/personal-data/reads?subject=enterprise:{id}"),
    )
    .await;
    let recorded = reads["reads"].as_array().unwrap();
    assert_eq!(recorded.len(), 1, "one unmasked read, the admin's: {reads}");
    assert_eq!(recorded[0]["role"], "admin");
    terminate(&server);
    assert!(server.wait().await.unwrap().success());
    drop(server);

    // The log (everything, at debug) of the demo recording 700 contacts and
    // the admin opening one: no contact, no number.
    let logged = std::fs::read(&log).unwrap();
    assert!(logged.len() > 1000, "the demo logged at debug");
    for index in 0..700 {
        let contact = voucher_ledger::cli::demo::demo_contact(index);
        let phone = contact.split(' ').next_back().unwrap();
        assert!(!contains(&logged, phone), "{phone} in the log");
    }
    assert!(
        !contains(&logged, &opened_by_admin.replace('"', "")),
        "the opened contact in the log"
    );

    // The database's bytes: no name (alone or with its number), no number.
    let bytes = database_bytes(db).await;
    for index in 0..700 {
        let contact = voucher_ledger::cli::demo::demo_contact(index);
        let (name, phone) = contact.split_once(' ').unwrap();
        assert!(!contains(&bytes, &contact), "{contact} in plain text");
        assert!(!contains(&bytes, name), "{name} in plain text");
        assert!(!contains(&bytes, phone), "{phone} in plain text");
    }

    // The registry export (the admin's file for re-import) carries them.
    let (code, csv) = processes::run(
        dir.path(),
        &["export", "enterprises", "--database-url", db.url()],
    )
    .await;
    assert_eq!(code, 0, "{csv}");
    assert!(csv.contains(&first), "the export opens contacts");

    // The master key rotated: every data key re-wrapped, the old key file
    // replaced; after a restart everything reads as before, with the new
    // key alone.
    let key_path = dir.path().join("data/personal-data-key");
    let before = std::fs::read_to_string(&key_path).unwrap();
    let (code, out) = processes::run(
        dir.path(),
        &["keys", "rotate-personal", "--database-url", db.url()],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("data keys re-wrapped"), "{out}");
    assert_ne!(std::fs::read_to_string(&key_path).unwrap(), before);
    assert!(!dir.path().join("data/personal-data-key.next").exists());
    let (mut server, base, _) =
        processes::start_demo(dir.path(), &["--database-url", db.url()]).await;
    let admin = Session::login(&base, "demo-admin", &password("demo-admin")).await;
    let seen = opened(&base, &admin, &id).await;
    assert_eq!(
        seen, opened_by_admin,
        "readable after the rotation and a restart"
    );
    terminate(&server);
    assert!(server.wait().await.unwrap().success());
    let (code, out) = processes::run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "verify after the rotation: {out}");
}

/// `path` as `session` is answered it, as JSON.
async fn get_json(base: &str, session: &Session, path: &str) -> serde_json::Value {
    session
        .client
        .get(format!("{base}{path}"))
        .header("cookie", session.cookie.clone())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()
}

/// The enterprise list as `session` sees it, as text.
async fn listed(base: &str, session: &Session) -> String {
    get_json(base, session, "/api/v1/enterprises?limit=200")
        .await
        .to_string()
}

/// One enterprise's contact as `session` opens it, as JSON text.
async fn opened(base: &str, session: &Session, id: &str) -> String {
    get_json(base, session, &format!("/api/v1/enterprises/{id}")).await["enterprise"]["contact"]
        .to_string()
}

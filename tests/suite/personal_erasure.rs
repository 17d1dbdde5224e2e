//! Erasure and restriction of personal data (issue 23, docs/personal-data.md
//! "Erasure and restriction", "Backups"), on SQLite and PostgreSQL.
//!
//! Two firms with contact persons, a settled (approved) run. A backup is
//! taken. One firm's contact is restricted (a retention period runs): every
//! reader sees 受限 and an erasure is refused until the period ends. The
//! other's is erased: `verify` passes, every entry's inclusion proof still
//! verifies and the old tree is a prefix of the new, the 兑付表 is the same
//! byte for byte, every place shows 已删除, and the backup taken before the
//! erasure — which still opens the contact — no longer does once restored
//! (`restore` on SQLite, `serve`'s start on PostgreSQL, each applying the
//! erasure list beside the master key). Unmasked reads are recorded.

use std::path::Path;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use voucher_ledger::http::{ApiConfig, AppState, router};
use voucher_ledger::ledger::merkle;
use voucher_ledger::personal::erasure_list::ErasureList;
use voucher_ledger::personal::sealed::MasterKey;
use voucher_ledger::service::personal::{
    ListApplied, Reader, Revealed, apply_erasure_list, erase_when_retention_ended, reveal,
};
use voucher_ledger::store::{PostgresStore, SqliteStore, Store};

use crate::api_client::{Api, As, World};
use crate::helpers::{TestDb, on_both_backends};
use crate::settlement::{approve, confirmed, prepare, this_quarter};

on_both_backends!(
    erasure_keeps_the_ledger_whole,
    each_role_sees_what_the_docs_say,
    contacts_recorded_before_sealing_are_sealed_by_seal_legacy,
    usernames_enter_the_chain_sealed
);

const ERASED_CONTACT: &str = "周晓梅 13905812345";
const RESTRICTED_CONTACT: &str = "陈立新 13905867890";

fn subject(firm: &crate::issuance::Firm) -> String {
    format!("enterprise:{}", firm.enterprise_id)
}

/// Records `contact` on the firm's registry entry through the API.
pub(crate) async fn give_contact<S: Store>(
    world: &World<S>,
    firm: &crate::issuance::Firm,
    contact: &str,
) {
    let admin = world.bearer("admin");
    let path = format!("/api/v1/enterprises/{}", firm.enterprise_id);
    let e = world.api.get(&path, &admin).await.body["enterprise"].clone();
    let fen = e["revenue_fen"].as_i64().unwrap();
    let body = json!({
        "uscc": e["uscc"], "name": e["name"], "division": e["division"],
        "zone": e["zone"], "sector": e["sector"], "staff": e["staff"],
        "revenue_yuan": format!("{}.{:02}", fen / 100, fen % 100),
        "contact": contact, "legal_representative": e["legal_representative"],
    });
    let reply = world
        .api
        .post(
            "/api/v1/enterprises",
            &admin,
            body,
            &format!(
                "contact:{}:{}",
                firm.uscc,
                contact.split(' ').next_back().unwrap()
            ),
        )
        .await;
    assert!(reply.status.is_success(), "{:?}", reply.body);
}

/// The firm's contact as `who` is shown it by `GET /api/v1/enterprises/{id}`.
async fn contact_seen(api: &Api, who: &As, firm: &crate::issuance::Firm) -> String {
    let path = format!("/api/v1/enterprises/{}", firm.enterprise_id);
    let reply = api.get(&path, who).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["enterprise"]["contact"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn erasure(
    api: &Api,
    who: &As,
    subject: &str,
    retain_until: Option<&str>,
    key: &str,
) -> (StatusCode, Value) {
    let mut body = json!({
        "subject": subject, "legal_basis": "consent_withdrawn",
        "requester": "data_subject", "reference": format!("PI-{key}"),
    });
    if let Some(until) = retain_until {
        body["retain_until"] = json!(until);
    }
    let reply = api
        .post("/api/v1/personal-data/erasures", who, body, key)
        .await;
    (reply.status, reply.body)
}

fn hashes(value: &Value) -> Vec<[u8; 32]> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            BASE64
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Every entry's inclusion proof in the tree of `size` verifies against
/// one root, which is returned.
async fn every_proof_verifies(api: &Api, size: u64) -> [u8; 32] {
    let mut root = None;
    for sequence in 1..=size {
        let reply = api
            .get(
                &format!("/api/v1/log/inclusion?sequence={sequence}&tree_size={size}"),
                &As::Nobody,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        let leaf = BASE64.decode(reply.body["leaf"].as_str().unwrap()).unwrap();
        let this_root: [u8; 32] = BASE64
            .decode(reply.body["root"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert!(merkle::verify_inclusion(
            sequence - 1,
            size,
            &merkle::leaf_hash(&leaf),
            &hashes(&reply.body["proof"]),
            &this_root
        ));
        assert_eq!(*root.get_or_insert(this_root), this_root);
    }
    root.unwrap()
}

/// The firm's stored contact, as the database at `url` opens it with `key`.
async fn stored_contact(url: &str, key: &MasterKey, subject: &str) -> Revealed {
    async fn on<S: Store>(store: S, key: &MasterKey, subject: &str) -> Revealed {
        let id = subject.trim_start_matches("enterprise:").parse().unwrap();
        let record = store.enterprise_by_id(id).await.unwrap().unwrap();
        let text = record.contact.unwrap();
        let shown = reveal(&store, Some(key), subject, "contact", &text)
            .await
            .unwrap();
        store.close().await;
        shown
    }
    if url.starts_with("sqlite") {
        on(SqliteStore::connect(url).await.unwrap(), key, subject).await
    } else {
        on(PostgresStore::connect(url).await.unwrap(), key, subject).await
    }
}

/// A copy of the database now: a file (SQLite, `backup`) or an SQL dump.
async fn take_backup(db: &TestDb, dir: &Path) -> std::path::PathBuf {
    let out = dir.join("before-erasure.backup");
    if db.url().starts_with("sqlite") {
        let (code, said) = crate::processes::run(
            dir,
            &[
                "backup",
                "--database-url",
                db.url(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(code, 0, "{said}");
    } else {
        let dumped = std::process::Command::new("pg_dump")
            .args(["--dbname", db.url(), "--file", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            dumped.status.success(),
            "{}",
            String::from_utf8_lossy(&dumped.stderr)
        );
    }
    out
}

/// A fresh PostgreSQL database with the SQL dump `dump` loaded.
async fn loaded_dump(dump: &Path) -> TestDb {
    let copy = TestDb::postgres().await.unwrap();
    let loaded = std::process::Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", copy.url(), "-f"])
        .arg(dump)
        .output()
        .unwrap();
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    copy
}

/// Puts the backup back as a new database the way an operator would, the
/// erasure list in `dir/data` applied (SQLite: `restore`; PostgreSQL: the
/// dump loaded, then `serve` started on it once). Returns its URL and the
/// database (kept alive).
async fn restored(db: &TestDb, dir: &Path, backup: &Path) -> (String, Option<TestDb>) {
    if db.url().starts_with("sqlite") {
        let url = format!("sqlite://{}", dir.join("restored.db").display());
        let (code, said) = crate::processes::run(
            dir,
            &["restore", backup.to_str().unwrap(), "--database-url", &url],
        )
        .await;
        assert_eq!(code, 0, "{said}");
        return (url, None);
    }
    let copy = loaded_dump(backup).await;
    let (server, _) = crate::processes::serve(dir, &["--database-url", copy.url()]).await;
    crate::processes::terminate(&server);
    (copy.url().to_string(), Some(copy))
}

async fn erasure_keeps_the_ledger_whole<S: Store>(store: S, db: &TestDb) {
    let (scene, _) = confirmed(store.clone(), 3, "PD").await;
    let world = &scene.world;
    let (erased, restricted) = (&scene.firms[0], &scene.firms[1]);
    give_contact(world, erased, ERASED_CONTACT).await;
    give_contact(world, restricted, RESTRICTED_CONTACT).await;
    let finance = world.bearer("finance");
    let run = prepare(world, &finance, &this_quarter(), "prep").await.body;
    let approved = approve(world, &scene.checker, &run, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let report_path = format!(
        "/api/v1/settlement-runs/{}/report/batch.csv",
        run["id"].as_str().unwrap()
    );
    let auditor = world.bearer("auditor");
    let (status, _, report_before) = world.api.download(&report_path, &auditor).await;
    assert_eq!(status, StatusCode::OK);

    // The API of a service whose erasure list sits beside its master key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let list = ErasureList::beside(&dir.path().join("data/personal-data-key"));
    let api = Api {
        router: router(AppState::new(
            store.clone(),
            world.writer.clone(),
            ApiConfig {
                log_origin: crate::api_client::LOG_ORIGIN.into(),
                log_key: Some(world.ledger_key.public_key()),
                personal_key: Some(world.personal_key.clone()),
                erasures: Some(std::sync::Arc::new(ErasureList::at(
                    list.path().to_path_buf(),
                ))),
                ..ApiConfig::default()
            },
        )),
    };
    let admin = world.bearer("admin");
    let firm_a = As::Bearer(erased.token.clone());

    // Before: the admin and the firm itself see the contact, finance and
    // the auditor masked; each unmasked read is recorded.
    assert_eq!(contact_seen(&api, &admin, erased).await, ERASED_CONTACT);
    assert_eq!(contact_seen(&api, &firm_a, erased).await, ERASED_CONTACT);
    assert_eq!(
        contact_seen(&api, &finance, erased).await,
        "周** 139****2345"
    );
    assert_eq!(
        contact_seen(&api, &auditor, erased).await,
        "周** 139****2345"
    );
    let reads = api
        .get(
            &format!("/api/v1/personal-data/reads?subject={}", subject(erased)),
            &auditor,
        )
        .await;
    assert_eq!(reads.status, StatusCode::OK, "{:?}", reads.body);
    let roles: Vec<&str> = reads.body["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    // Newest first: the firm's read, the admin's; finance and the auditor
    // saw it masked and left none.
    assert_eq!(roles[..2], ["enterprise", "admin"], "{:?}", reads.body);
    assert!(roles.iter().all(|r| ["enterprise", "admin"].contains(r)));
    let backup = take_backup(db, dir.path()).await;
    let size_before = store.head().await.unwrap().sequence;
    let root_before = every_proof_verifies(&api, size_before).await;

    // Restriction: a retention period runs; nobody reads the contact,
    // and erasure waits for the period to end.
    let (status, body) =
        erasure(&api, &admin, &subject(restricted), Some("2056-12-31"), "r1").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body["state"], "restricted");
    assert_eq!(body["retain_until"], "2056-12-31");
    let firm_b = As::Bearer(restricted.token.clone());
    for who in [&admin, &firm_b, &finance, &auditor] {
        assert_eq!(
            contact_seen(&api, who, restricted).await,
            "受限 / restricted"
        );
    }
    let (status, body) = erasure(&api, &admin, &subject(restricted), None, "r2").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body:?}");
    assert_eq!(body["error"]["code"], "personal_data_retention_running");

    // Erasure.
    let (status, body) = erasure(&api, &admin, &subject(erased), None, "e1").await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body["state"], "erased");
    // A retry answers the same; a second request finds it erased.
    let (status, again) = erasure(&api, &admin, &subject(erased), None, "e1").await;
    assert_eq!((status, &again), (StatusCode::OK, &body));
    let (status, body) = erasure(&api, &admin, &subject(erased), None, "e2").await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("personal_data_erased"))
    );
    for who in [&admin, &firm_a, &finance, &auditor] {
        assert_eq!(contact_seen(&api, who, erased).await, "已删除 / erased");
    }
    let reader = Reader {
        actor: "test".into(),
        role: "admin".into(),
        purpose: "test".into(),
    };
    let sheet =
        voucher_ledger::service::export::enterprises(&store, Some(&world.personal_key), &reader)
            .await
            .unwrap();
    let exported = format!("{:?}", sheet.rows);
    assert!(
        exported.contains("已删除") && exported.contains("受限"),
        "{exported}"
    );
    assert!(!exported.contains("周晓梅") && !exported.contains("13905812345"));
    // Re-recording the firm (an import) does not bring a contact back.
    give_contact(world, erased, "周晓梅 13905899999").await;
    assert_eq!(contact_seen(&api, &admin, erased).await, "已删除 / erased");

    // The ledger is whole: verify, the proofs, the 兑付表.
    voucher_ledger::service::verify::verify_witnessed(&store, &[], &[])
        .await
        .expect("verify passes after the erasure");
    let size_after = store.head().await.unwrap().sequence;
    assert!(size_after > size_before);
    every_proof_verifies(&api, size_after).await;
    let consistency = api
        .get(
            &format!("/api/v1/log/consistency?from={size_before}&to={size_after}"),
            &As::Nobody,
        )
        .await;
    assert_eq!(consistency.status, StatusCode::OK, "{:?}", consistency.body);
    let to_root: [u8; 32] = BASE64
        .decode(consistency.body["to_root"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert!(merkle::verify_consistency(
        size_before,
        size_after,
        &root_before,
        &to_root,
        &hashes(&consistency.body["proof"])
    ));
    let (_, _, report_after) = world.api.download(&report_path, &auditor).await;
    assert_eq!(report_before, report_after, "the 兑付表 is unchanged");

    // The backup from before the erasure still opens the contact…
    assert!(list.subjects().unwrap().contains_key(&subject(erased)));
    let (backup_url, _keep) = if db.url().starts_with("sqlite") {
        (format!("sqlite://{}", backup.display()), None)
    } else {
        let copy = loaded_dump(&backup).await;
        (copy.url().to_string(), Some(copy))
    };
    assert_eq!(
        stored_contact(&backup_url, &world.personal_key, &subject(erased)).await,
        Revealed::Value(ERASED_CONTACT.into()),
        "the backup holds the key (else this test shows nothing)"
    );
    assert_eq!(
        stored_contact(&backup_url, &world.personal_key, &subject(restricted)).await,
        Revealed::Value(RESTRICTED_CONTACT.into()),
        "the backup predates the restriction"
    );
    // …and, restored, no longer does; the restriction holds in it too.
    let (url, _keep_restored) = restored(db, dir.path(), &backup).await;
    assert_eq!(
        stored_contact(&url, &world.personal_key, &subject(erased)).await,
        Revealed::Erased
    );
    assert_eq!(
        stored_contact(&url, &world.personal_key, &subject(restricted)).await,
        Revealed::Restricted {
            retain_until: "2056-12-31".into()
        }
    );
    // Applying the list again changes nothing; the restored copy verifies.
    async fn verified_then_applied<S: Store>(copy: S, list: &ErasureList) -> ListApplied {
        voucher_ledger::service::verify::verify_witnessed(&copy, &[], &[])
            .await
            .expect("the restored copy verifies");
        apply_erasure_list(&copy, list).await.unwrap()
    }
    let again = if url.starts_with("sqlite") {
        verified_then_applied(SqliteStore::connect(&url).await.unwrap(), &list).await
    } else {
        verified_then_applied(PostgresStore::connect(&url).await.unwrap(), &list).await
    };
    assert!(again.shredded.is_empty() && again.restricted.is_empty());
    assert_eq!(again.listed, 0);

    // The retention period ends (its date moved back, as if the years had
    // passed): the hourly sweep erases the restricted subject, once.
    let ended = format!(
        "UPDATE subject_keys SET retain_until = '2000-01-01' WHERE subject = '{}'",
        subject(restricted)
    );
    db.tamper(&[ended.as_str()], None).await;
    let now = voucher_ledger::domain::Timestamp::now();
    let swept = erase_when_retention_ended(&store, &world.writer, Some(&list), now)
        .await
        .unwrap();
    assert_eq!(swept, [subject(restricted)]);
    let again = erase_when_retention_ended(&store, &world.writer, Some(&list), now)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        contact_seen(&api, &admin, restricted).await,
        "已删除 / erased"
    );
    assert!(list.subjects().unwrap().contains_key(&subject(restricted)));
    voucher_ledger::service::verify::verify_witnessed(&store, &[], &[])
        .await
        .expect("verify passes after the sweep's erasure");

    // A key put back behind the ledger's back fails `verify`.
    let put_back = format!(
        "UPDATE subject_keys SET wrapped_key = $1, erased_at_us = NULL WHERE subject = '{}'",
        subject(erased)
    );
    db.tamper(&[put_back.as_str()], Some(vec![7; 72])).await;
    let refused = voucher_ledger::service::verify::verify_witnessed(&store, &[], &[]).await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("still holds its key")),
        "verify sees an erased subject's key back"
    );
}

/// What docs/personal-data.md "Who sees what" says a role is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Full,
    Masked,
    Refused,
}

/// The table between the `who-sees-what` markers: role → (list, one).
fn documented_views() -> Vec<(String, Shown, Shown)> {
    let docs = include_str!("../../docs/personal-data.md");
    let start = docs
        .find("<!-- who-sees-what -->")
        .expect("the table's marker");
    let end = docs
        .find("<!-- /who-sees-what -->")
        .expect("its end marker");
    let parse = |cell: &str| match cell.trim() {
        "full" => Shown::Full,
        "masked" => Shown::Masked,
        "refused" => Shown::Refused,
        other => panic!("unknown view {other:?} in docs/personal-data.md"),
    };
    docs[start..end]
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| role"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            (
                cells[0].trim().to_string(),
                parse(cells[1]),
                parse(cells[2]),
            )
        })
        .collect()
}

async fn each_role_sees_what_the_docs_say<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store.clone()).await;
    let firms = crate::issuance::seed_firms(&world.store, &world.writer, 1, 2).await;
    let (firm, other) = (&firms[0], &firms[1]);
    give_contact(&world, firm, ERASED_CONTACT).await;
    let masked = voucher_ledger::personal::sealed::mask(ERASED_CONTACT);
    let reads = || async {
        store
            .personal_reads(Some(&subject(firm)), None, 500)
            .await
            .unwrap()
            .len()
    };
    let views = documented_views();
    assert_eq!(views.len(), 6, "{views:?}");
    for (role, list_view, one_view) in views {
        let who = match role.as_str() {
            "admin" | "finance" | "auditor" => world.bearer(&role),
            "provider" => world.bearer("provider_a"),
            "enterprise (its own)" => firm.bearer(),
            "enterprise (another's)" => other.bearer(),
            other => panic!("a role the test does not know: {other}"),
        };
        // The list: the firm's row.
        let listed = world.api.get("/api/v1/enterprises?limit=200", &who).await;
        let row = listed.body["enterprises"].as_array().and_then(|rows| {
            rows.iter()
                .find(|e| e["id"] == json!(firm.enterprise_id.to_string()))
                .cloned()
        });
        let before = reads().await;
        match list_view {
            Shown::Refused => assert!(listed.status.is_client_error(), "{role}: {:?}", listed.body),
            Shown::Masked => assert_eq!(row.unwrap()["contact"], json!(masked), "{role}"),
            Shown::Full => assert_eq!(row.unwrap()["contact"], json!(ERASED_CONTACT), "{role}"),
        }
        let path = format!("/api/v1/enterprises/{}", firm.enterprise_id);
        let one = world.api.get(&path, &who).await;
        match one_view {
            Shown::Refused => assert!(one.status.is_client_error(), "{role}: {:?}", one.body),
            Shown::Masked => {
                assert_eq!(one.body["enterprise"]["contact"], json!(masked), "{role}")
            }
            Shown::Full => {
                assert_eq!(
                    one.body["enterprise"]["contact"],
                    json!(ERASED_CONTACT),
                    "{role}"
                )
            }
        }
        // Exactly the unmasked reads leave a record.
        let recorded = reads().await - before;
        let expected = usize::from(one_view == Shown::Full) + usize::from(list_view == Shown::Full);
        assert_eq!(recorded, expected, "{role}: reads recorded");
        if expected > 0 {
            let newest = &store
                .personal_reads(Some(&subject(firm)), None, 1)
                .await
                .unwrap()[0];
            assert!(newest.actor.contains(&newest.role), "{newest:?}");
        }
    }
}

/// A deployment that recorded contacts before sealing: `keys seal-legacy`
/// records each such enterprise again with its contact sealed (once), the
/// contact still reads the same with the master key, and `verify` passes.
async fn contacts_recorded_before_sealing_are_sealed_by_seal_legacy<S: Store>(
    store: S,
    db: &TestDb,
) {
    let world = World::new(store.clone()).await;
    let firms = crate::issuance::seed_firms(&world.store, &world.writer, 1, 2).await;
    let legacy = "赵六 13800001111";
    let plain = format!(
        "UPDATE enterprises SET contact = '{legacy}' WHERE id = '{}'",
        firms[0].enterprise_id
    );
    db.tamper(&[plain.as_str()], None).await;
    // The service's master key, where the command line finds it.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("data/personal-data-key");
    voucher_ledger::keyfile::write_seed(&key_file, &world.personal_key.secret_bytes()).unwrap();
    let (code, said) = crate::processes::run(
        dir.path(),
        &["keys", "seal-legacy", "--database-url", db.url()],
    )
    .await;
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("1 contacts sealed"), "{said}");
    let record = store
        .enterprise_by_id(firms[0].enterprise_id)
        .await
        .unwrap()
        .unwrap();
    let stored = record.contact.unwrap();
    assert!(stored.starts_with("pd1:"), "sealed now: {stored}");
    assert_eq!(
        reveal(
            &store,
            Some(&world.personal_key),
            &subject(&firms[0]),
            "contact",
            &stored
        )
        .await
        .unwrap(),
        Revealed::Value(legacy.into())
    );
    let (code, said) = crate::processes::run(
        dir.path(),
        &["keys", "seal-legacy", "--database-url", db.url()],
    )
    .await;
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("0 contacts sealed"), "{said}");
    voucher_ledger::service::verify::verify_witnessed(&store, &[], &[])
        .await
        .expect("verify passes");
}

/// A new user's login enters its `user_created` entry only sealed under
/// the user's own key (it opens to the login with the master key), and
/// signing in with it works (the `users` row keeps it).
async fn usernames_enter_the_chain_sealed<S: Store>(store: S, _db: &TestDb) {
    use voucher_ledger::ledger::body::EntryBody;
    let world = World::new(store.clone()).await;
    let login = "zhou-xiaomei";
    let created = world
        .api
        .post(
            "/api/v1/users",
            &world.bearer("admin"),
            json!({"username": login, "password": "a long enough password 1", "role": "auditor"}),
            "new-auditor",
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let user_id = created.body["id"].as_str().unwrap().to_string();
    let entries = store.entries(1, 1000).await.unwrap();
    let mut seen = 0;
    for entry in &entries {
        assert!(
            !entry
                .body
                .windows(login.len())
                .any(|w| w == login.as_bytes()),
            "the login in entry {} in plain text",
            entry.sequence
        );
        if let Ok(EntryBody::UserCreated(body)) =
            EntryBody::decode_canonical(&entry.kind, &entry.body)
        {
            assert!(body.username.starts_with("pd1:"), "{body:?}");
            seen += 1;
            if body.user_id == user_id {
                let opened = reveal(
                    &store,
                    Some(&world.personal_key),
                    &format!("user:{user_id}"),
                    "username",
                    &body.username,
                )
                .await
                .unwrap();
                assert_eq!(opened, Revealed::Value(login.into()));
            }
        }
    }
    assert!(seen >= 8, "the seeded users and the new one: {seen}");
    let (_cookie, _csrf) = world.api.login(login, "a long enough password 1").await;
}

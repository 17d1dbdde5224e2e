//! Redemption across processes: staff on two `serve` processes sharing one
//! database race to redeem one single-use voucher (exactly one wins), then
//! the `sweep` CLI runs next to them and `verify` checks the ledger.

use std::path::Path;
use voucher_ledger::service::commands::{
    ActivateIssuerKey, ChangeProgramme, ChangeProviderStatus, CreateUser, FundProgramme,
    RecordProvider,
};

use voucher_ledger::domain::provider::{ProviderFields, ProviderStatus};
use voucher_ledger::domain::{Fen, Principal, ProgrammeCode, Redacted, Role, Username};
use voucher_ledger::service::WriterHandle;
use voucher_ledger::service::access;
use voucher_ledger::service::commands::{Command, IssueVia, Submission};
use voucher_ledger::store::{PostgresStore, SqliteStore, Store};

use crate::helpers::TestDb;
use crate::processes::{
    on_both_databases, run, send_at_once, serve, stop_both_and_verify, terminate,
};

pub(crate) const PROGRAMME: &str = "REDEEM-2P";

/// Where firms claim the counter programme's vouchers on server `base`.
pub(crate) fn claims_url(base: &str) -> String {
    format!("{base}/api/v1/programmes/{PROGRAMME}/claims")
}

/// A redemption at the counter of the voucher whose QR text is `qr_text`,
/// for contract `contract_number` (the subsidy is the voucher's 5,000 元).
pub(crate) fn contract(qr_text: &str, contract_number: &str) -> serde_json::Value {
    serde_json::json!({
        "qr_text": qr_text,
        "service_category": "管理咨询",
        "contract_number": contract_number,
        "description": "质量管理体系咨询",
        "contract_amount_fen": 600_000
    })
}

/// What the race needs: a single-use static voucher's token and an API
/// token of an approved provider's staff member; and firms (with API
/// tokens) that may claim one voucher each.
pub(crate) struct Counter {
    pub voucher_id: uuid::Uuid,
    pub voucher_token: String,
    pub staff_token: String,
    pub claimants: Vec<crate::issuance::Firm>,
}

async fn submit(writer: &WriterHandle, key: String, command: Command) {
    writer
        .submit(Submission {
            actor: "test:ops".into(),
            idempotency_key: key,
            command,
        })
        .await
        .unwrap();
}

/// Sets the counter up through a writer of this process (the servers are
/// not running yet); the issuer key file goes where `serve` looks for it.
/// The programme's budget covers a voucher for each of `claimants` more
/// firms.
pub(crate) async fn prepare<S: Store>(store: S, dir: &Path, claimants: usize) -> Counter {
    store.migrate().await.unwrap();
    let issuer = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    let key_dir = dir.join("data/issuer-keys");
    voucher_ledger::keyfile::write_new(&key_dir.join(format!("{}.key", issuer.key_id())), &issuer)
        .unwrap();
    let config = voucher_ledger::service::WriterConfig {
        issuer_keys: std::sync::Arc::new(
            voucher_ledger::service::issuer_keyring::IssuerKeyring::from_dir_and_env(key_dir)
                .unwrap(),
        ),
        ..Default::default()
    };
    let (writer, task) = crate::helpers::start_writer(&store, config).await;
    let budget = 500_000 * (claimants as i64 + 2);
    let mut terms = crate::issuance::terms(budget, &[500_000], 1, "static");
    terms["divisible"] = serde_json::json!(false);
    let programme = ProgrammeCode::parse(PROGRAMME).unwrap();
    let provider_id = uuid::Uuid::now_v7();
    let fields: ProviderFields = serde_json::from_value(serde_json::json!({
        "uscc": voucher_ledger::domain::Uscc::complete("91330900MA2Q0001").unwrap().to_string(),
        "name": "舟山检测服务有限公司",
        "legal_representative": "赵六",
        "categories": ["管理咨询"],
        "bank_name": "中国银行舟山分行",
        "account_name": "舟山检测服务有限公司",
        "account_number": "6216 6100 0000 1111 222",
        "related_parties": [],
        "annual_cap_yuan": "5000000"
    }))
    .unwrap();
    let steps = [
        Command::ActivateIssuerKey(ActivateIssuerKey {
            public_key: issuer.public_key().to_bytes(),
        }),
        Command::ChangeProgramme(ChangeProgramme {
            code: programme.clone(),
            change: voucher_ledger::service::commands::ProgrammeChange::Create(
                serde_json::from_value(terms).unwrap(),
            ),
        }),
        Command::FundProgramme(FundProgramme {
            programme: programme.clone(),
            amount: Fen::new(budget),
            reference: "舟财企〔2026〕13号".into(),
        }),
        Command::ChangeProgramme(ChangeProgramme {
            code: programme.clone(),
            change: voucher_ledger::service::commands::ProgrammeChange::Open,
        }),
        Command::RecordProvider(RecordProvider {
            provider_id,
            input: fields.validate().unwrap(),
        }),
        Command::ChangeProviderStatus(ChangeProviderStatus {
            provider_id,
            status: ProviderStatus::Approved,
            reason: "入库".into(),
        }),
    ];
    for (n, command) in steps.into_iter().enumerate() {
        submit(&writer, format!("prepare:{n}"), command).await;
    }
    let firm = crate::issuance::seed_firms(&store, &writer, 7_000, 1)
        .await
        .remove(0);
    let (voucher, _) = voucher_ledger::service::vouchers::issue(
        &store,
        &writer,
        "test:ops".into(),
        "prepare:voucher".into(),
        &programme,
        firm.enterprise_id,
        Fen::new(500_000),
        IssueVia::Allocation,
    )
    .await
    .unwrap();
    let user_id = uuid::Uuid::now_v7();
    let username = Username::parse("staff-2p").unwrap();
    submit(
        &writer,
        "prepare:staff".into(),
        Command::CreateUser(CreateUser {
            user_id,
            username: username.clone(),
            role: Role::Provider,
            party_id: Some(provider_id),
            display_name: None,
            password_hash: Redacted::new("unused: token-only test user".into()),
        }),
    )
    .await;
    let principal = Principal {
        user_id,
        username,
        role: Role::Provider,
        party_id: Some(provider_id),
        token_id: None,
    };
    let (_, secret) =
        access::create_token(&writer, &principal, "prepare:token".into(), "t".into(), 1)
            .await
            .unwrap();
    let claimants = if claimants == 0 {
        Vec::new()
    } else {
        crate::issuance::seed_firms(&store, &writer, 7_001, claimants).await
    };
    drop(writer);
    task.await.unwrap();
    Counter {
        voucher_id: voucher.id,
        voucher_token: voucher_ledger::service::issuance::voucher_token(&voucher).unwrap(),
        staff_token: secret.text.expose().clone(),
        claimants,
    }
}

/// `prepare` on whichever backend `db` is.
pub(crate) async fn prepare_on(db: &TestDb, dir: &Path, claimants: usize) -> Counter {
    match db {
        TestDb::Sqlite { .. } => {
            let store = SqliteStore::open(db.url()).await.unwrap();
            prepare(store, dir, claimants).await
        }
        TestDb::Postgres { .. } => {
            let store = PostgresStore::open(db.url()).await.unwrap();
            prepare(store, dir, claimants).await
        }
    }
}

async fn two_servers_redeem_one_voucher_exactly_once(db: &TestDb) {
    const STAFF: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(db, dir.path(), 0).await;
    let (mut a, base_a) = serve(dir.path(), &["--database-url", db.url()]).await;
    let (mut b, base_b) = serve(dir.path(), &["--database-url", db.url()]).await;
    let client = reqwest::Client::new();
    let requests = (0..STAFF).map(|n| {
        let base = if n % 2 == 0 { &base_a } else { &base_b };
        client
            .post(format!("{base}/api/v1/redemptions"))
            .bearer_auth(&counter.staff_token)
            .header("idempotency-key", format!("staff-{n}"))
            .json(&contract(&counter.voucher_token, &format!("HT-{n}")))
    });
    let replies = send_at_once(requests.collect()).await;
    let won: Vec<_> = replies
        .iter()
        .filter(|(status, _)| *status == 201)
        .collect();
    assert_eq!(won.len(), 1, "{replies:?}");
    assert_eq!(won[0].1["subsidy_fen"], 300_000);
    for (status, body) in replies.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["error"]["code"], "voucher_already_redeemed", "{body}");
    }
    // A sweep from the CLI while both servers run: nothing is due, and it
    // leaves the chain whole.
    let (code, out) = run(dir.path(), &["sweep", "all", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("expiry: 0 vouchers expired"), "{out}");
    stop_both_and_verify(&mut a, &mut b, dir.path(), db).await;
}

on_both_databases!(
    two_serve_processes_redeem_once,
    two_servers_redeem_one_voucher_exactly_once
);

/// `serve` sweeps when it starts (and hourly): a voucher whose last day
/// has passed is expired without anyone asking.
async fn serve_expires_a_voucher_past_its_dates_on_its_own(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let counter = prepare_on(db, dir.path(), 0).await;
    db.age_voucher_past_its_last_day(counter.voucher_id).await;
    let (mut server, _base) = serve(dir.path(), &["--database-url", db.url()]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let status = match db {
            TestDb::Sqlite { .. } => {
                voucher_status(
                    SqliteStore::open(db.url()).await.unwrap(),
                    counter.voucher_id,
                )
                .await
            }
            TestDb::Postgres { .. } => {
                voucher_status(
                    PostgresStore::open(db.url()).await.unwrap(),
                    counter.voucher_id,
                )
                .await
            }
        };
        if status == "expired" || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    terminate(&server);
    assert!(server.wait().await.unwrap().success());
    assert_eq!(status, "expired");
    let (code, out) = run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "{out}");
}

async fn voucher_status<S: Store>(store: S, id: uuid::Uuid) -> String {
    let status = store.voucher(id).await.unwrap().unwrap().status.to_string();
    store.close().await;
    status
}

on_both_databases!(
    serve_sweeps_on_start,
    serve_expires_a_voucher_past_its_dates_on_its_own
);

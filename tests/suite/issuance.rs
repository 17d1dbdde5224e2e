//! Issuance (issue 5): claims decided atomically with the budget, caps and
//! eligibility; admin allocation; QR images, presentations and the
//! printable page; re-issue after a key revocation; and the flash crowd.
//! Both backends.

use std::sync::Arc;
use voucher_ledger::service::commands::{ActivateIssuerKey, CreateUser};

use axum::http::StatusCode;
use chrono::Days;
use serde_json::{Value, json};
use uuid::Uuid;
use voucher_ledger::domain::Redacted;
use voucher_ledger::domain::{Principal, Role, Timestamp, Uscc, Username};
use voucher_ledger::ledger::account::AccountKind;
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::service::WriterHandle;
use voucher_ledger::service::access;
use voucher_ledger::service::commands::{Command, Submission};
use voucher_ledger::service::import::{ImportSettings, import_enterprises, parse_enterprise_file};
use voucher_ledger::store::Store;

use crate::api_client::{As, Reply, World};
use crate::helpers::{TestDb, account, balance, on_both_backends};

on_both_backends!(
    the_admin_rotates_the_issuer_key_and_new_vouchers_are_signed_by_it,
    a_claim_issues_a_signed_voucher_recorded_with_its_postings,
    caps_eligibility_and_the_budget_are_checked_when_claiming,
    the_admin_allocates_to_a_list_with_a_result_per_enterprise,
    vouchers_render_as_qr_images_presentations_and_a_printable_page,
    a_revoked_keys_vouchers_are_reissued_under_the_new_key,
    without_an_issuer_key_a_claim_is_refused_and_records_nothing,
    flash_crowd_of_2000_claims_issues_exactly_what_the_budget_covers,
);

/// Terms of an open-to-Zhoushan programme for micro and small firms,
/// valid from today for a year, `face_values_fen` each.
pub fn terms(budget_fen: i64, face_values_fen: &[i64], per_firm: u32, qr_mode: &str) -> Value {
    let today = Timestamp::now().cst_date();
    json!({
        "name": "舟山市中小微企业服务券（测试批次）",
        "fiscal_year": chrono::Datelike::year(&today),
        "budget_fen": budget_fen,
        "face_values_fen": face_values_fen,
        "subsidy_ratio_bp": 5000,
        "rounding": "fen",
        "divisible": true,
        "validity": {"kind": "days_after_issue", "days": 180},
        "ends_on": (today + Days::new(365)).to_string(),
        "divisions": ["330900"],
        "zones": [],
        "size_classes": ["small", "micro"],
        "required_tags": [],
        "excluded_tags": ["低散乱危"],
        "service_categories": ["管理咨询", "检验检测"],
        "annual_cap_fen": face_values_fen.iter().max().unwrap() * i64::from(per_firm),
        "annual_voucher_count": per_firm,
        "claim_opens_at": "2026-01-01T09:00:00+08:00",
        "claim_closes_at": "2099-12-31T17:00:00+08:00",
        "auto_confirm_days": 15,
        "qr_mode": qr_mode,
        "settlement_period": "quarter"
    })
}

/// Creates, funds with `funding_yuan` and opens programme `code`.
pub async fn open_programme<S: Store>(
    world: &World<S>,
    code: &str,
    terms: Value,
    funding_yuan: &str,
) {
    let admin = world.bearer("admin");
    let created = world
        .api
        .post(
            "/api/v1/programmes",
            &admin,
            json!({"code": code, "terms": terms}),
            &format!("create:{code}"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let funded = world
        .api
        .post(
            &format!("/api/v1/programmes/{code}/funding"),
            &admin,
            json!({"amount_yuan": funding_yuan.replace(',', ""), "reference": "舟财企〔2026〕12号"}),
            &format!("fund:{code}"),
        )
        .await;
    assert!(funded.status.is_success(), "{:?}", funded.body);
    let opened = world
        .api
        .post(
            &format!("/api/v1/programmes/{code}/open"),
            &admin,
            json!({}),
            &format!("open:{code}"),
        )
        .await;
    assert_eq!(opened.body["status"], "open", "{:?}", opened.body);
}

/// A world with an active issuer key (returned), programme `code` open
/// on `terms` and funded with `funding_yuan`, and `count` firms numbered
/// from `first`.
pub async fn scene<S: Store>(
    store: S,
    code: &str,
    terms: Value,
    funding_yuan: &str,
    (first, count): (usize, usize),
) -> (World<S>, KeyPair, Vec<Firm>) {
    let world = World::new(store).await;
    let issuer = world.activate_issuer_key().await;
    open_programme(&world, code, terms, funding_yuan).await;
    let firms = seed_firms(&world.store, &world.writer, first, count).await;
    (world, issuer, firms)
}

/// A registered firm with a user who holds an API token.
#[derive(Clone)]
pub struct Firm {
    pub enterprise_id: Uuid,
    pub uscc: String,
    pub token: String,
}

impl Firm {
    pub fn bearer(&self) -> As {
        As::Bearer(self.token.clone())
    }
}

/// The USCC of test firm `index` (in 定海区, 330902).
pub fn firm_uscc(index: usize) -> String {
    Uscc::complete(&format!("91330902MB{index:06}"))
        .unwrap()
        .to_string()
}

/// Registers `count` micro firms (numbered from `first`) by import, and a
/// user with an API token for each, all through the writer (no password
/// hashing: these users only ever use their tokens).
pub async fn seed_firms<S: Store>(
    store: &S,
    writer: &WriterHandle,
    first: usize,
    count: usize,
) -> Vec<Firm> {
    let mut csv = String::from(
        "统一社会信用代码,企业名称,行政区划代码,功能区,行业,从业人员,营业收入(元),联系人\n",
    );
    for index in first..first + count {
        csv.push_str(&format!(
            "{},舟山测试{index}有限公司,330902,,工业,8,1500000,联系人{index}\n",
            firm_uscc(index)
        ));
    }
    let rows = parse_enterprise_file(csv.as_bytes()).unwrap();
    let settings = ImportSettings::all_or_nothing(Timestamp::now().cst_date());
    let report = import_enterprises(
        writer,
        "test:seed",
        &format!("seed-firms:{first}"),
        rows,
        &settings,
        |_, _| {},
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors.first());
    let mut tasks = tokio::task::JoinSet::new();
    for index in first..first + count {
        let uscc = firm_uscc(index);
        let enterprise = store.enterprise_by_uscc(&uscc).await.unwrap().unwrap();
        let writer = writer.clone();
        tasks.spawn(async move {
            let user_id = Uuid::now_v7();
            let username = Username::parse(&format!("firm-{index}")).unwrap();
            writer
                .submit(Submission {
                    actor: "test:seed".into(),
                    idempotency_key: format!("seed-user:{index}"),
                    command: Command::CreateUser(CreateUser {
                        user_id,
                        username: username.clone(),
                        role: Role::Enterprise,
                        party_id: Some(enterprise.id),
                        display_name: None,
                        password_hash: Redacted::new("unused: token-only test user".into()),
                    }),
                })
                .await
                .unwrap();
            let principal = Principal {
                user_id,
                username,
                role: Role::Enterprise,
                party_id: Some(enterprise.id),
                token_id: None,
            };
            let (_, secret) = access::create_token(
                &writer,
                &principal,
                format!("seed-token:{index}"),
                "seed".into(),
                1,
            )
            .await
            .unwrap();
            (
                index,
                Firm {
                    enterprise_id: enterprise.id,
                    uscc,
                    token: secret.text.expose().clone(),
                },
            )
        });
    }
    let mut firms: Vec<(usize, Firm)> = tasks.join_all().await;
    firms.sort_by_key(|(index, _)| *index);
    firms.into_iter().map(|(_, firm)| firm).collect()
}

async fn claim<S: Store>(world: &World<S>, code: &str, who: &As, body: Value, key: &str) -> Reply {
    world
        .api
        .post(&format!("/api/v1/programmes/{code}/claims"), who, body, key)
        .await
}

async fn a_claim_issues_a_signed_voucher_recorded_with_its_postings<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, issuer, firms) = scene(
        store,
        "ZS-CLAIM",
        terms(10_000_000, &[100_000, 500_000], 3, "rotating"),
        "100,000.00",
        (0, 2),
    )
    .await;
    let firm = &firms[0];

    let unchosen = claim(&world, "ZS-CLAIM", &firm.bearer(), json!({}), "c0").await;
    unchosen.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "face_value_required");
    let odd = claim(
        &world,
        "ZS-CLAIM",
        &firm.bearer(),
        json!({"face_value_fen": 123}),
        "c0b",
    )
    .await;
    odd.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "face_value_not_offered");

    let claimed = claim(
        &world,
        "ZS-CLAIM",
        &firm.bearer(),
        json!({"face_value_fen": 500_000}),
        "c1",
    )
    .await;
    assert_eq!(claimed.status, StatusCode::CREATED, "{:?}", claimed.body);
    let voucher = &claimed.body;
    assert_eq!(voucher["status"], "active");
    assert_eq!(voucher["via"], "claim");
    assert_eq!(voucher["face_value_yuan"], "5000.00");
    assert_eq!(voucher["face_value_daxie"], "人民币伍仟元整");
    assert_eq!(voucher["remaining_fen"], 500_000);
    assert_eq!(voucher["enterprise_uscc"], firm.uscc.as_str());
    assert_eq!(voucher["key_id"], issuer.key_id());
    let today = Timestamp::now().cst_date();
    assert_eq!(voucher["valid_from"], today.to_string());
    assert_eq!(voucher["valid_until"], (today + Days::new(179)).to_string());

    // The ledger entry that issued it carries its sequence, and moved the
    // face value from the budget to vouchers outstanding.
    let entry = world.last_entry().await;
    assert_eq!(entry["kind"], "voucher_issued");
    assert_eq!(entry["sequence"], voucher["issued_sequence"]);
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::VouchersOutstanding, "ZS-CLAIM")
        )
        .await,
        500_000
    );
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::BudgetAvailable, "ZS-CLAIM")
        )
        .await,
        10_000_000 - 500_000
    );

    // Anyone verifies the token; it names the same voucher and sequence.
    let report = world.verify(voucher["token"].as_str().unwrap()).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["voucher"]["voucher_id"], voucher["id"]);
    assert_eq!(
        report["voucher"]["issued_sequence"],
        voucher["issued_sequence"]
    );
    assert_eq!(report["voucher_state"], "active");

    // A retry with the same key returns the same voucher and issues nothing.
    let again = claim(
        &world,
        "ZS-CLAIM",
        &firm.bearer(),
        json!({"face_value_fen": 500_000}),
        "c1",
    )
    .await;
    assert_eq!(again.body["id"], voucher["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // The same key for a different claim is refused, and acts nothing.
    let changed = claim(
        &world,
        "ZS-CLAIM",
        &firm.bearer(),
        json!({"face_value_fen": 100_000}),
        "c1",
    )
    .await;
    changed.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(world.count_entries("voucher_issued").await, 1);

    // The holder lists and reads it; another firm cannot see it; staff can.
    let mine = world.api.get("/api/v1/vouchers", &firm.bearer()).await;
    assert_eq!(mine.body["vouchers"].as_array().unwrap().len(), 1);
    let path = format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap());
    assert_eq!(
        world.api.get(&path, &firm.bearer()).await.body["token"],
        voucher["token"]
    );
    let other = world.api.get(&path, &firms[1].bearer()).await;
    other.expect_error(StatusCode::NOT_FOUND, "not_found");
    let theirs = world.api.get("/api/v1/vouchers", &firms[1].bearer()).await;
    assert!(theirs.body["vouchers"].as_array().unwrap().is_empty());
    let staff = world
        .api
        .get(
            "/api/v1/vouchers?programme=ZS-CLAIM",
            &world.bearer("finance"),
        )
        .await;
    assert_eq!(staff.body["vouchers"].as_array().unwrap().len(), 1);

    // A tag the programme excludes, in force today, refuses the claim.
    let tagged = world
        .api
        .post(
            &format!("/api/v1/enterprises/{}/tags", firms[1].enterprise_id),
            &world.bearer("admin"),
            json!({"tag": "低散乱危", "valid_from": "2026-01-01", "source": "经信局整治名单"}),
            "tag-1",
        )
        .await;
    assert!(tagged.status.is_success(), "{:?}", tagged.body);
    let excluded = claim(
        &world,
        "ZS-CLAIM",
        &firms[1].bearer(),
        json!({"face_value_fen": 100_000}),
        "c9",
    )
    .await;
    excluded.expect_error(StatusCode::CONFLICT, "excluded_tag_present");
    // Eligibility now counts the voucher against the annual cap.
    let eligibility = world
        .api
        .get("/api/v1/me/eligibility", &firm.bearer())
        .await;
    let checks = eligibility.body["programmes"][0]["checks"]
        .as_array()
        .unwrap()
        .clone();
    let count = checks
        .iter()
        .find(|c| c["code"] == "annual_voucher_count")
        .unwrap();
    assert!(
        count["message"].as_str().unwrap().starts_with("1 of 3"),
        "{count}"
    );
}

async fn caps_eligibility_and_the_budget_are_checked_when_claiming<S: Store>(
    store: S,
    _db: &TestDb,
) {
    // Two vouchers' worth of budget; one voucher per firm.
    let (world, _, firms) = scene(
        store,
        "ZS-CAPS",
        terms(200_000, &[100_000], 1, "static"),
        "2,000.00",
        (10, 4),
    )
    .await;
    let first = claim(&world, "ZS-CAPS", &firms[0].bearer(), json!({}), "a").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let second = claim(&world, "ZS-CAPS", &firms[0].bearer(), json!({}), "b").await;
    // Every rule it fails, the first as the code.
    second.expect_error(StatusCode::CONFLICT, "annual_cap_reached");
    assert_eq!(
        second.reason_codes(),
        ["annual_cap_reached", "annual_voucher_count_reached"]
    );
    // Blacklisted today: refused with every reason (here also the cap).
    let admin = world.bearer("admin");
    let listed = world
        .api
        .post(
            &format!("/api/v1/enterprises/{}/blacklist", firms[1].enterprise_id),
            &admin,
            json!({"reason": "虚假申报", "source": "舟山市经信局", "effective_from": "2026-01-01"}),
            "bl",
        )
        .await;
    assert!(listed.status.is_success(), "{:?}", listed.body);
    let refused = claim(&world, "ZS-CAPS", &firms[1].bearer(), json!({}), "c").await;
    refused.expect_error(StatusCode::CONFLICT, "enterprise_blacklisted");
    let reasons = refused.body["error"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("虚假申报")
    );
    // The last voucher of the budget, then a clear refusal.
    let last = claim(&world, "ZS-CAPS", &firms[2].bearer(), json!({}), "d").await;
    assert_eq!(last.status, StatusCode::CREATED);
    let late = claim(&world, "ZS-CAPS", &firms[3].bearer(), json!({}), "e").await;
    late.expect_error(StatusCode::CONFLICT, "programme_budget_exhausted");
    assert!(
        late.body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("预算")
    );
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::BudgetAvailable, "ZS-CAPS")
        )
        .await,
        0
    );
    assert_eq!(world.count_entries("voucher_issued").await, 2);
    // A closed programme refuses claims.
    world
        .api
        .post(
            "/api/v1/programmes/ZS-CAPS/close",
            &admin,
            json!({}),
            "close",
        )
        .await;
    let closed = claim(&world, "ZS-CAPS", &firms[3].bearer(), json!({}), "f").await;
    closed.expect_error(StatusCode::CONFLICT, "programme_not_open");
    // Staff cannot claim; unknown programmes are 404.
    let finance = claim(&world, "ZS-CAPS", &world.bearer("finance"), json!({}), "g").await;
    assert_eq!(finance.status, StatusCode::FORBIDDEN);
    let unknown = claim(&world, "NOPE-1", &firms[3].bearer(), json!({}), "h").await;
    unknown.expect_error(StatusCode::NOT_FOUND, "not_found");
}

async fn the_admin_allocates_to_a_list_with_a_result_per_enterprise<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let mut narrow = terms(10_000_000, &[100_000], 1, "static");
    // The bureau's own allocation ignores the claim window.
    narrow["claim_opens_at"] = json!("2098-01-01T09:00:00+08:00");
    narrow["claim_closes_at"] = json!("2098-12-31T09:00:00+08:00");
    let (world, _, firms) = scene(store, "ZS-ALLOC", narrow, "100,000.00", (20, 3)).await;
    // Firm 2 is blacklisted; one USCC is not registered.
    world
        .api
        .post(
            &format!("/api/v1/enterprises/{}/blacklist", firms[2].enterprise_id),
            &world.bearer("admin"),
            json!({"reason": "骗取补贴", "source": "舟山市财政局", "effective_from": "2026-01-01"}),
            "bl",
        )
        .await;
    let unknown = firm_uscc(999_999);
    let list = json!({"usccs": [firms[0].uscc, firms[1].uscc, firms[2].uscc, unknown]});
    let path = "/api/v1/programmes/ZS-ALLOC/allocations";
    let report = world
        .api
        .post(path, &world.bearer("admin"), list.clone(), "alloc-1")
        .await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    let body = &report.body;
    assert_eq!(
        (
            body["total"].as_u64(),
            body["issued"].as_u64(),
            body["refused"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    let outcomes: Vec<(&str, &str)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["uscc"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (firms[0].uscc.as_str(), "issued"),
            (firms[1].uscc.as_str(), "issued"),
            (firms[2].uscc.as_str(), "refused"),
            (unknown.as_str(), "refused")
        ]
    );
    assert_eq!(body["results"][2]["code"], "enterprise_blacklisted");
    assert_eq!(body["results"][3]["code"], "enterprise_not_registered");
    assert_eq!(body["results"][0]["voucher"]["via"], "allocation");
    // The enterprise sees the allocated voucher; but cannot claim itself
    // (outside the claim window).
    let mine = world.api.get("/api/v1/vouchers", &firms[0].bearer()).await;
    assert_eq!(
        mine.body["vouchers"][0]["id"],
        body["results"][0]["voucher"]["id"]
    );
    let own = claim(&world, "ZS-ALLOC", &firms[1].bearer(), json!({}), "x").await;
    own.expect_error(StatusCode::CONFLICT, "claim_window_not_open");
    // Running the same allocation again (a new request key, so the HTTP
    // layer does not replay it) with the same list: the per-enterprise
    // caps refuse the second vouchers.
    let rerun = world
        .api
        .post(path, &world.bearer("admin"), list.clone(), "alloc-2")
        .await;
    assert_eq!(rerun.body["issued"], 0);
    assert_eq!(rerun.body["results"][0]["code"], "annual_cap_reached");
    assert_eq!(
        rerun.body["results"][0]["reasons"][1]["code"],
        "annual_voucher_count_reached"
    );
    assert_eq!(world.count_entries("voucher_issued").await, 2);
    // A list that is empty is refused.
    let empty = world
        .api
        .post(
            path,
            &world.bearer("admin"),
            json!({"usccs": []}),
            "alloc-3",
        )
        .await;
    empty.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "allocation_list_size");
}

async fn vouchers_render_as_qr_images_presentations_and_a_printable_page<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _, firms) = scene(
        store,
        "ZS-QR",
        terms(10_000_000, &[100_000], 2, "rotating"),
        "100,000.00",
        (30, 2),
    )
    .await;
    open_programme(
        &world,
        "ZS-PAPER",
        terms(10_000_000, &[250_050], 2, "static"),
        "100,000.00",
    )
    .await;
    let firm = &firms[0];
    let phone = claim(&world, "ZS-QR", &firm.bearer(), json!({}), "q1").await;
    let paper = claim(&world, "ZS-PAPER", &firm.bearer(), json!({}), "q2").await;
    let base = |v: &Value| format!("/api/v1/vouchers/{}", v["id"].as_str().unwrap());

    // PNG read back by a real QR reader gives exactly the token text.
    let png = world
        .api
        .get(&format!("{}/qr.png", base(&paper.body)), &firm.bearer())
        .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers["content-type"], "image/png");
    if crate::qr::zbarimg_available() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("voucher.png");
        let raw = raw_get(
            &world,
            &format!("{}/qr.png?module_pixels=6", base(&paper.body)),
            &firm.bearer(),
        )
        .await;
        std::fs::write(&file, raw).unwrap();
        assert_eq!(
            crate::qr::read_qr(&file),
            paper.body["token"].as_str().unwrap()
        );
    }
    let svg = world
        .api
        .get(&format!("{}/qr.svg", base(&paper.body)), &firm.bearer())
        .await;
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(svg.body.as_str().unwrap().contains("<svg"));
    let too_big = world
        .api
        .get(
            &format!("{}/qr.png?module_pixels=99", base(&paper.body)),
            &firm.bearer(),
        )
        .await;
    too_big.expect_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "module_pixels_out_of_range",
    );

    // The printable page: Chinese, 小写 and 大写, validity, categories.
    let page = world
        .api
        .get(&format!("{}/print", base(&paper.body)), &firm.bearer())
        .await;
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let html = page.body.as_str().unwrap();
    for expected in [
        "服务补贴券",
        "¥2,500.50",
        "贰仟伍佰元伍角",
        paper.body["valid_until"].as_str().unwrap(),
        "管理咨询、检验检测",
        "舟山市中小微企业服务券（测试批次）",
        "<svg",
        "size: A6",
        // The holder by name, and the key set where a verifier fetches it.
        "有限公司",
        "统一社会信用代码",
        "/.well-known/voucher-keys.json",
    ] {
        assert!(html.contains(expected), "{expected} missing from the page");
    }
    assert!(html.contains("://"), "the key set's address is absolute");
    assert!(!html.contains("账本序号"), "no ledger jargon on paper");
    // In a rotating programme paper is a record that says it cannot be
    // redeemed, with no code to scan.
    let record = world
        .api
        .get(&format!("{}/print", base(&phone.body)), &firm.bearer())
        .await;
    let record = record.body.as_str().unwrap();
    assert!(record.contains("本凭证不能用于核销"), "{record}");
    assert!(
        !record.contains("<svg"),
        "no QR code on a rotating programme's paper"
    );

    // Rotating: a fresh presentation verifies and wraps the voucher.
    let shown = world
        .api
        .get(
            &format!("{}/presentation", base(&phone.body)),
            &firm.bearer(),
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert!(shown.body["text"].as_str().unwrap().starts_with("VP1:"));
    assert_eq!(shown.body["lifetime_seconds"], 60);
    let report = world.verify(shown.body["text"].as_str().unwrap()).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["kind"], "presentation");
    assert_eq!(report["voucher"]["voucher_id"], phone.body["id"]);
    let next = world
        .api
        .get(
            &format!("{}/presentation", base(&phone.body)),
            &firm.bearer(),
        )
        .await;
    assert_ne!(
        next.body["text"], shown.body["text"],
        "each presentation has its own nonce"
    );
    let shown_png = world
        .api
        .get(
            &format!("{}/presentation.png", base(&phone.body)),
            &firm.bearer(),
        )
        .await;
    assert_eq!(shown_png.headers["content-type"], "image/png");
    // Static programmes show the voucher itself; other firms see nothing.
    let static_mode = world
        .api
        .get(
            &format!("{}/presentation", base(&paper.body)),
            &firm.bearer(),
        )
        .await;
    static_mode.expect_error(StatusCode::CONFLICT, "qr_mode_static");
    let stranger = world
        .api
        .get(
            &format!("{}/presentation", base(&phone.body)),
            &firms[1].bearer(),
        )
        .await;
    stranger.expect_error(StatusCode::NOT_FOUND, "not_found");
    let stranger_png = world
        .api
        .get(&format!("{}/qr.png", base(&phone.body)), &firms[1].bearer())
        .await;
    stranger_png.expect_error(StatusCode::NOT_FOUND, "not_found");
}

/// GET returning the raw body bytes.
pub async fn raw_get<S: Store>(world: &World<S>, path: &str, who: &As) -> Vec<u8> {
    use tower::ServiceExt;
    let token = match who {
        As::Bearer(token) => token.clone(),
        _ => panic!("bearer only"),
    };
    let request = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = world.api.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec()
}

async fn a_revoked_keys_vouchers_are_reissued_under_the_new_key<S: Store>(store: S, _db: &TestDb) {
    let (world, old_key, firms) = scene(
        store,
        "ZS-KEYS",
        terms(10_000_000, &[100_000], 2, "static"),
        "100,000.00",
        (40, 2),
    )
    .await;
    let first = claim(&world, "ZS-KEYS", &firms[0].bearer(), json!({}), "k1").await;
    let second = claim(&world, "ZS-KEYS", &firms[1].bearer(), json!({}), "k2").await;
    let new_key = world.activate_issuer_key().await;
    let admin = world.bearer("admin");
    // Only a revoked key's vouchers are re-issued.
    let early = world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{}/reissue", old_key.key_id()),
            &admin,
            json!({}),
            "r0",
        )
        .await;
    early.expect_error(StatusCode::CONFLICT, "issuer_key_not_revoked");
    // The retired key stays published until its last voucher expires.
    let keys = world
        .api
        .get("/.well-known/voucher-keys.json", &As::Nobody)
        .await;
    let old = keys.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == old_key.key_id())
        .unwrap()
        .clone();
    assert_eq!(old["status"], "retired");
    assert_eq!(old["valid_until"], first.body["valid_until"]);
    world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{}/revoke", old_key.key_id()),
            &admin,
            json!({"reason": "密钥文件泄露"}),
            "rv",
        )
        .await;
    let refused = world.verify(first.body["token"].as_str().unwrap()).await;
    assert_eq!(refused["code"], "token_key_revoked");
    let reissued = world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{}/reissue", old_key.key_id()),
            &admin,
            json!({}),
            "r1",
        )
        .await;
    assert_eq!(reissued.status, StatusCode::OK, "{:?}", reissued.body);
    let done = reissued.body["reissued"].as_array().unwrap();
    assert_eq!(done.len(), 2);
    assert!(reissued.body["refused"].as_array().unwrap().is_empty());
    let replacement = done
        .iter()
        .find(|r| r["old_voucher_id"] == first.body["id"])
        .unwrap()["voucher"]
        .clone();
    assert_eq!(replacement["key_id"], new_key.key_id());
    assert_eq!(replacement["via"], "reissue");
    assert_eq!(replacement["replaces_id"], first.body["id"]);
    assert_eq!(replacement["face_value_fen"], first.body["face_value_fen"]);
    assert_eq!(replacement["valid_until"], first.body["valid_until"]);
    let valid = world.verify(replacement["token"].as_str().unwrap()).await;
    assert_eq!(valid["valid"], true, "{valid}");
    let old_state = world
        .api
        .get(
            &format!("/api/v1/vouchers/{}", first.body["id"].as_str().unwrap()),
            &firms[0].bearer(),
        )
        .await;
    assert_eq!(old_state.body["status"], "reissued");
    assert_eq!(
        refused["voucher_state"],
        Value::Null,
        "a revoked key's token is not looked up"
    );
    // No money moved; the re-issues are ledger entries; a second run
    // finds nothing left to do.
    assert_eq!(world.count_entries("voucher_reissued").await, 2);
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::VouchersOutstanding, "ZS-KEYS")
        )
        .await,
        200_000
    );
    let again = world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{}/reissue", old_key.key_id()),
            &admin,
            json!({}),
            "r2",
        )
        .await;
    assert!(again.body["reissued"].as_array().unwrap().is_empty());
    let _ = second;
}

async fn without_an_issuer_key_a_claim_is_refused_and_records_nothing<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    open_programme(
        &world,
        "ZS-NOKEY",
        terms(10_000_000, &[100_000], 2, "static"),
        "100,000.00",
    )
    .await;
    let firms = seed_firms(&world.store, &world.writer, 50, 1).await;
    let refused = claim(&world, "ZS-NOKEY", &firms[0].bearer(), json!({}), "n1").await;
    refused.expect_error(StatusCode::SERVICE_UNAVAILABLE, "issuer_key_unavailable");
    // A key whose private half this server does not hold: same refusal.
    let elsewhere = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    world
        .writer
        .submit(Submission {
            actor: "test:ops".into(),
            idempotency_key: "elsewhere".into(),
            command: Command::ActivateIssuerKey(ActivateIssuerKey {
                public_key: elsewhere.public_key().to_bytes(),
            }),
        })
        .await
        .unwrap();
    let refused = claim(&world, "ZS-NOKEY", &firms[0].bearer(), json!({}), "n2").await;
    refused.expect_error(StatusCode::SERVICE_UNAVAILABLE, "issuer_key_unavailable");
    assert_eq!(world.count_entries("voucher_issued").await, 0);
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::BudgetAvailable, "ZS-NOKEY")
        )
        .await,
        10_000_000
    );
}

/// Claims `firms` make at once against programme `code`: (issued voucher
/// ids, refusal codes).
pub fn tally(replies: &[(u16, Value)]) -> (Vec<String>, Vec<String>) {
    let mut issued = Vec::new();
    let mut refused = Vec::new();
    for (status, body) in replies {
        match status {
            201 => issued.push(body["id"].as_str().unwrap().to_string()),
            _ => refused.push(body["error"]["code"].as_str().unwrap_or("").to_string()),
        }
    }
    (issued, refused)
}

/// Walks the ledger and checks that the programme's budget account never
/// went below zero at any sequence, and returns its final balance.
pub async fn budget_never_negative<S: Store>(store: &S, code: &str) -> i64 {
    let name = account(AccountKind::BudgetAvailable, code).to_string();
    let mut running = 0i64;
    let mut next = 1;
    loop {
        let page = store.entries(next, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        next = last.sequence + 1;
        for entry in &page {
            for posting in entry
                .postings
                .iter()
                .filter(|p| p.account.to_string() == name)
            {
                running += posting.signed_fen();
            }
            assert!(
                running >= 0,
                "budget below zero at sequence {}",
                entry.sequence
            );
        }
    }
    running
}

const CROWD: usize = 2_000;
const BUDGET_VOUCHERS: i64 = 100;
const FACE_FEN: i64 = 100_000;

async fn flash_crowd_of_2000_claims_issues_exactly_what_the_budget_covers<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let budget = BUDGET_VOUCHERS * FACE_FEN;
    let rush = terms(budget, &[FACE_FEN], 1, "rotating");
    let (world, _, firms) = scene(store, "ZS-RUSH", rush, "100,000.00", (1_000, CROWD)).await;
    let world = Arc::new(world);
    let start = Arc::new(tokio::sync::Barrier::new(CROWD));
    let mut claims = tokio::task::JoinSet::new();
    for (n, firm) in firms.iter().enumerate() {
        let (world, start, who) = (world.clone(), start.clone(), firm.bearer());
        claims.spawn(async move {
            start.wait().await;
            let reply = claim(&world, "ZS-RUSH", &who, json!({}), &format!("rush-{n}")).await;
            (reply.status.as_u16(), reply.body)
        });
    }
    let replies = claims.join_all().await;
    let (issued, refused) = tally(&replies);
    assert_eq!(issued.len() as i64, BUDGET_VOUCHERS);
    assert_eq!(refused.len(), CROWD - BUDGET_VOUCHERS as usize);
    assert!(
        refused
            .iter()
            .all(|code| code == "programme_budget_exhausted"),
        "{:?}",
        refused.iter().find(|c| *c != "programme_budget_exhausted")
    );
    let mut distinct = issued.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), issued.len());
    assert_eq!(budget_never_negative(&world.store, "ZS-RUSH").await, 0);
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::VouchersOutstanding, "ZS-RUSH")
        )
        .await,
        budget
    );
    assert_eq!(
        world.count_entries("voucher_issued").await,
        BUDGET_VOUCHERS as usize
    );
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .expect("the ledger verifies");
}

async fn the_admin_rotates_the_issuer_key_and_new_vouchers_are_signed_by_it<S: Store>(
    store: S,
    _db: &TestDb,
) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ring = std::sync::Arc::new(
        voucher_ledger::service::issuer_keyring::IssuerKeyring::from_dir_and_env(
            dir.path().to_path_buf(),
        )
        .unwrap(),
    );
    let world = World::with_issuer_keys(store, ring).await;
    let first = world.activate_issuer_key().await;
    open_programme(
        &world,
        "ZS2026-K1",
        terms(10_000_000, &[100_000], 1, "static"),
        "100000",
    )
    .await;
    let firms = seed_firms(&world.store, &world.writer, 900, 2).await;
    let claim = async |firm: &Firm, key: &str| {
        let reply = world
            .api
            .post(
                "/api/v1/programmes/ZS2026-K1/claims",
                &firm.bearer(),
                json!({}),
                key,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["key_id"].as_str().unwrap().to_string()
    };
    assert_eq!(claim(&firms[0], "before").await, first.key_id());

    let admin = world.bearer("admin");
    let rotate = async |api: &crate::api_client::Api, key: &str| {
        api.post("/api/v1/issuer-keys", &admin, json!({}), key)
            .await
    };
    let rotated = rotate(&world.api, "rotate-1").await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
    let keys = rotated.body["keys"].as_array().unwrap();
    let status_of = |id: &str| {
        keys.iter()
            .find(|k| k["key_id"] == id)
            .map(|k| k["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status_of(first.key_id()).as_deref(), Some("retired"));
    let new_key = keys.iter().find(|k| k["status"] == "active").unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_key, first.key_id());
    let file = dir.path().join(format!("{new_key}.key"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the private key file is private");
    assert_eq!(
        claim(&firms[1], "after").await,
        new_key,
        "new vouchers use the new key"
    );

    // A replay of the rotation rotates nothing more.
    let again = rotate(&world.api, "rotate-1").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(world.count_entries("issuer_key_activated").await, 2);

    // A server whose keys come only from the environment cannot rotate.
    let plain = crate::api_client::Api {
        router: voucher_ledger::http::router(voucher_ledger::http::AppState::new(
            world.store.clone(),
            world.writer.clone(),
            voucher_ledger::http::ApiConfig::default(),
        )),
    };
    let refused = rotate(&plain, "rotate-2").await;
    refused.expect_error(StatusCode::CONFLICT, "issuer_key_dir_unavailable");
}

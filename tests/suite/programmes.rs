//! Programmes and eligibility (issue 4), on both backends.

use axum::http::StatusCode;
use serde_json::{Value, json};
use voucher_ledger::domain::Uscc;
use voucher_ledger::store::Store;

use crate::api_client::{As, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    terms_are_editable_in_draft_and_change_only_by_recorded_amendment_once_open,
    funding_is_a_ledger_entry_with_postings_and_needs_a_live_programme,
    drafts_are_hidden_from_providers_and_enterprises,
    an_enterprise_sees_every_reason_it_may_not_claim,
);

fn terms() -> Value {
    json!({
        "name": "2026 年舟山市中小微企业服务券（第一批）",
        "fiscal_year": 2026,
        "budget_fen": 300_000_000,
        "face_values_fen": [100_000, 500_000],
        "subsidy_ratio_bp": 5000,
        "rounding": "fen",
        "divisible": true,
        "validity": {"kind": "days_after_issue", "days": 180},
        "ends_on": "2026-12-31",
        "divisions": ["330900"],
        "zones": [],
        "size_classes": ["small", "micro"],
        "required_tags": [],
        "excluded_tags": ["低散乱危"],
        "service_categories": ["管理咨询", "检验检测"],
        "annual_cap_fen": 1_000_000,
        "annual_voucher_count": 3,
        "claim_opens_at": "2026-01-01T09:00:00+08:00",
        "claim_closes_at": "2099-12-31T17:00:00+08:00",
        "auto_confirm_days": 15,
        "qr_mode": "rotating",
        "settlement_period": "quarter"
    })
}

async fn create<S: Store>(world: &World<S>, code: &str, terms: Value) -> crate::api_client::Reply {
    let body = json!({"code": code, "terms": terms});
    world
        .api
        .post(
            "/api/v1/programmes",
            &world.bearer("admin"),
            body,
            &format!("create-{code}"),
        )
        .await
}

async fn terms_are_editable_in_draft_and_change_only_by_recorded_amendment_once_open<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let created = create(&world, "ZS2026-01", terms()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["status"], "draft");
    let mut edited = terms();
    edited["subsidy_ratio_bp"] = json!(6000);
    let put = world
        .api
        .send(
            "PUT",
            "/api/v1/programmes/ZS2026-01",
            &admin,
            Some(edited.clone()),
            Some("e1"),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["terms"]["subsidy_ratio_bp"], 6000);
    let opened = world
        .api
        .post("/api/v1/programmes/ZS2026-01/open", &admin, json!({}), "o1")
        .await;
    assert_eq!(opened.body["status"], "open", "{:?}", opened.body);
    edited["subsidy_ratio_bp"] = json!(7000);
    let refused = world
        .api
        .send(
            "PUT",
            "/api/v1/programmes/ZS2026-01",
            &admin,
            Some(edited.clone()),
            Some("e2"),
        )
        .await;
    refused.expect_error(StatusCode::CONFLICT, "programme_state");
    let no_reason = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/amendments",
            &admin,
            json!({"terms": edited, "reason": " "}),
            "a0",
        )
        .await;
    no_reason.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    let amendment = json!({"terms": edited, "reason": "市政府常务会议决定提高补贴比例"});
    let amended = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/amendments",
            &admin,
            amendment,
            "a1",
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{:?}", amended.body);
    assert_eq!(amended.body["terms"]["subsidy_ratio_bp"], 7000);
    let last = world.last_entry().await;
    assert_eq!(last["kind"], "programme_amended");
    let reason_hex: String = "市政府常务会议决定提高补贴比例"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(last["body_hex"].as_str().unwrap().contains(&reason_hex));
    let closed = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/close",
            &admin,
            json!({}),
            "c1",
        )
        .await;
    assert_eq!(closed.body["status"], "closed");
    let again = world
        .api
        .post("/api/v1/programmes/ZS2026-01/open", &admin, json!({}), "o2")
        .await;
    again.expect_error(StatusCode::CONFLICT, "programme_state");
    for kind in [
        "programme_created",
        "programme_draft_updated",
        "programme_opened",
        "programme_amended",
        "programme_closed",
    ] {
        assert_eq!(world.count_entries(kind).await, 1, "{kind}");
    }
    // Same code under a new key: a second programme, refused (the same key
    // would replay the first creation instead).
    let body = json!({"code": "ZS2026-01", "terms": terms()});
    let duplicate = world
        .api
        .post("/api/v1/programmes", &admin, body, "create-again")
        .await;
    duplicate.expect_error(StatusCode::CONFLICT, "programme_exists");
    let mut bad = terms();
    bad["subsidy_ratio_bp"] = json!(0);
    bad["divisions"] = json!(["9"]);
    let invalid = create(&world, "ZS2026-02", bad).await;
    invalid.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "terms_invalid");
    let message = invalid.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("subsidy_ratio_bp") && message.contains("divisions"),
        "{message}"
    );
}

async fn funding_is_a_ledger_entry_with_postings_and_needs_a_live_programme<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    create(&world, "ZS2026-01", terms()).await;
    let funding = json!({"amount_yuan": "3000000.00", "reference": "舟财企〔2026〕12号"});
    let funded = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/funding",
            &admin,
            funding.clone(),
            "f1",
        )
        .await;
    assert_eq!(funded.status, StatusCode::OK, "{:?}", funded.body);
    assert_eq!(
        (
            funded.body["funded_fen"].clone(),
            funded.body["available_fen"].clone()
        ),
        (json!(300_000_000), json!(300_000_000))
    );
    let top_up = json!({"amount_yuan": "500000", "reference": "追加"});
    let topped = world
        .api
        .post("/api/v1/programmes/ZS2026-01/funding", &admin, top_up, "f2")
        .await;
    assert_eq!(topped.body["funded_fen"], 350_000_000);
    let last = world.last_entry().await;
    assert_eq!(last["kind"], "programme_funded");
    assert_eq!(last["postings"][0]["account"], "budget_available/ZS2026-01");
    assert_eq!(
        last["postings"][1]["account"],
        "programme_funding/ZS2026-01"
    );
    let unknown = world
        .api
        .post(
            "/api/v1/programmes/NOPE/funding",
            &admin,
            funding.clone(),
            "f3",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // Amounts beyond what an account can hold are refused, not a server error.
    let huge = json!({"amount_yuan": "92233720368547758.07", "reference": "x"});
    let overflow = world
        .api
        .post("/api/v1/programmes/ZS2026-01/funding", &admin, huge, "f6")
        .await;
    overflow.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "amount_overflow");
    let bad = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/funding",
            &admin,
            json!({"amount_yuan": "1.234", "reference": "x"}),
            "f4",
        )
        .await;
    bad.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "amount_invalid");
    // The API takes plain 元: what people type (spaces, thousands
    // separators, currency signs) is normalised by the forms and imports.
    for (n, amount) in [" 1", "1,000", "¥100", "1 000", "-5", "1e3", ""]
        .iter()
        .enumerate()
    {
        world
            .api
            .post(
                "/api/v1/programmes/ZS2026-01/funding",
                &admin,
                json!({"amount_yuan": amount, "reference": "x"}),
                &format!("f-plain-{n}"),
            )
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "amount_invalid");
    }
    world
        .api
        .post("/api/v1/programmes/ZS2026-01/open", &admin, json!({}), "o")
        .await;
    world
        .api
        .post("/api/v1/programmes/ZS2026-01/close", &admin, json!({}), "c")
        .await;
    let closed = world
        .api
        .post(
            "/api/v1/programmes/ZS2026-01/funding",
            &admin,
            funding,
            "f5",
        )
        .await;
    closed.expect_error(StatusCode::CONFLICT, "programme_state");
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
}

async fn drafts_are_hidden_from_providers_and_enterprises<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    create(&world, "DRAFT-1", terms()).await;
    create(&world, "OPEN-1", terms()).await;
    world
        .api
        .post(
            "/api/v1/programmes/OPEN-1/open",
            &world.bearer("admin"),
            json!({}),
            "o",
        )
        .await;
    for (who, expected) in [
        ("provider_a", vec!["OPEN-1"]),
        ("enterprise_a", vec!["OPEN-1"]),
        ("auditor", vec!["DRAFT-1", "OPEN-1"]),
    ] {
        let listed = world
            .api
            .get("/api/v1/programmes", &world.bearer(who))
            .await;
        let codes: Vec<&str> = listed.body["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, expected, "{who}");
    }
    let hidden = world
        .api
        .get("/api/v1/programmes/DRAFT-1", &world.bearer("provider_a"))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

async fn an_enterprise_sees_every_reason_it_may_not_claim<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    // A medium-sized industrial firm in 定海区.
    let uscc = Uscc::complete("9133090200000777").unwrap().to_string();
    let firm = json!({"uscc": uscc, "name": "舟山中型机械厂", "division": "330902", "sector": "industry",
                      "staff": 350, "revenue_yuan": "30000000"});
    let recorded = world
        .api
        .post("/api/v1/enterprises", &admin, firm, "firm")
        .await;
    let enterprise_id = recorded.body["enterprise"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = json!({"username": "firm-clerk", "password": "firm clerk password", "role": "enterprise",
                      "party_id": enterprise_id});
    assert_eq!(
        world
            .api
            .post("/api/v1/users", &admin, user, "clerk")
            .await
            .status,
        StatusCode::CREATED
    );
    let (cookie, _) = world.api.login("firm-clerk", "firm clerk password").await;
    let clerk = As::Session { cookie, csrf: None };
    // Open to all sizes in Zhoushan: eligible.
    let mut open_to_all = terms();
    open_to_all["size_classes"] = json!(["micro", "small", "medium"]);
    create(&world, "ALL-2026", open_to_all).await;
    world
        .api
        .post("/api/v1/programmes/ALL-2026/open", &admin, json!({}), "o1")
        .await;
    // Small/micro, 普陀区 only, 专精特新 required: three failures.
    let mut narrow = terms();
    narrow["divisions"] = json!(["330903"]);
    narrow["required_tags"] = json!(["专精特新培育库"]);
    create(&world, "NARROW-2026", narrow).await;
    world
        .api
        .post(
            "/api/v1/programmes/NARROW-2026/open",
            &admin,
            json!({}),
            "o2",
        )
        .await;
    // A draft is not listed at all.
    create(&world, "DRAFT-2026", terms()).await;
    let report = world.api.get("/api/v1/me/eligibility", &clerk).await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    let programmes = report.body["programmes"].as_array().unwrap();
    assert_eq!(programmes.len(), 2);
    assert_eq!(programmes[0]["programme"], "ALL-2026");
    assert_eq!(programmes[0]["eligible"], true);
    assert_eq!(programmes[1]["eligible"], false);
    let failed: Vec<&str> = programmes[1]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "division_not_eligible",
            "size_class_not_eligible",
            "required_tag_missing"
        ]
    );
    assert!(
        programmes[1]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| !c["message_zh"].as_str().unwrap().is_empty())
    );
    // A user of an enterprise that is not registered is told so.
    let stranger = world
        .api
        .get("/api/v1/me/eligibility", &world.bearer("enterprise_a"))
        .await;
    stranger.expect_error(StatusCode::NOT_FOUND, "enterprise_not_registered");
}

//! The provider registry (issue 4), on both backends.

use axum::http::StatusCode;
use serde_json::{Value, json};
use voucher_ledger::store::Store;

use crate::api_client::World;
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    a_provider_moves_only_along_its_status_lifecycle_with_history_in_the_ledger,
    provider_records_are_validated_and_upserted_by_uscc,
    provider_staff_see_only_their_own_provider,
);

fn provider() -> Value {
    json!({
        "uscc": "91310110666007217T",
        "name": "舟山管理咨询有限公司",
        "legal_representative": "李四",
        "categories": ["管理咨询", "人才培训"],
        "bank_name": "中国银行舟山分行",
        "account_name": "舟山管理咨询有限公司",
        "account_number": "6216 6100 0000 1234 567",
        "related_parties": [{"uscc": "91230184MA1BUFLT44", "name": "关联企业", "relation": "同一法定代表人"}],
        "annual_cap_yuan": "5000000"
    })
}

async fn a_provider_moves_only_along_its_status_lifecycle_with_history_in_the_ledger<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let created = world
        .api
        .post("/api/v1/providers", &admin, provider(), "p1")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["provider"]["status"], "applied");
    let id = created.body["provider"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/providers/{id}/status");
    let suspend_first = world
        .api
        .post(
            &path,
            &admin,
            json!({"status": "suspended", "reason": "x"}),
            "s0",
        )
        .await;
    suspend_first.expect_error(StatusCode::CONFLICT, "provider_status_transition");
    for (status, key) in [
        ("approved", "s1"),
        ("suspended", "s2"),
        ("approved", "s3"),
        ("removed", "s4"),
    ] {
        let reply = world
            .api
            .post(
                &path,
                &admin,
                json!({"status": status, "reason": "经信局审核"}),
                key,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{status}: {:?}", reply.body);
        assert_eq!(reply.body["status"], status);
    }
    let back = world
        .api
        .post(
            &path,
            &admin,
            json!({"status": "approved", "reason": "x"}),
            "s5",
        )
        .await;
    back.expect_error(StatusCode::CONFLICT, "provider_status_transition");
    assert_eq!(world.count_entries("provider_status_changed").await, 4);
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
}

async fn provider_records_are_validated_and_upserted_by_uscc<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    world
        .api
        .post("/api/v1/providers", &admin, provider(), "p1")
        .await;
    let mut changed = provider();
    changed["categories"] = json!(["管理咨询", "人才培训", "信息化"]);
    let updated = world
        .api
        .post("/api/v1/providers", &admin, changed.clone(), "p2")
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["provider"]["version"], 2);
    assert_eq!(
        updated.body["provider"]["fields"]["account_number"],
        "6216610000001234567"
    );
    let same = world
        .api
        .post("/api/v1/providers", &admin, changed, "p3")
        .await;
    assert_eq!(same.body["changed"], false);
    let mut bad = provider();
    bad["account_number"] = json!("abc");
    bad["categories"] = json!([]);
    let refused = world.api.post("/api/v1/providers", &admin, bad, "p4").await;
    refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "provider_invalid");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("account_number") && message.contains("categories"),
        "{message}"
    );
    let mut extra = provider();
    extra["status"] = json!("approved");
    let mass = world
        .api
        .post("/api/v1/providers", &admin, extra, "p5")
        .await;
    mass.expect_error(StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(world.count_entries("provider_registered").await, 1);
    assert_eq!(world.count_entries("provider_updated").await, 1);
}

async fn provider_staff_see_only_their_own_provider<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let created = world
        .api
        .post(
            "/api/v1/providers",
            &world.bearer("admin"),
            provider(),
            "p1",
        )
        .await;
    let id = created.body["provider"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/providers/{id}");
    let other_staff = world.api.get(&path, &world.bearer("provider_a")).await;
    assert_eq!(other_staff.status, StatusCode::NOT_FOUND);
    let finance = world.api.get(&path, &world.bearer("finance")).await;
    assert_eq!(finance.status, StatusCode::OK);
    assert_eq!(finance.body["fields"]["bank_name"], "中国银行舟山分行");
}

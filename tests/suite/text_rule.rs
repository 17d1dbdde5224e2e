//! The text rule at the boundary (docs/api.md "Text"): the same refusal,
//! with the field's name and a stable code, on both backends — for body
//! fields, query parameters and import cells.

use axum::http::StatusCode;
use serde_json::json;
use voucher_ledger::store::Store;

use crate::api_client::World;
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    control_and_disguising_characters_in_a_body_are_refused_naming_the_field,
    text_with_nothing_visible_meets_the_fields_own_required_check,
    query_values_pass_the_same_rule_and_unknown_parameters_are_refused,
    import_cells_pass_the_same_rule,
);

async fn control_and_disguising_characters_in_a_body_are_refused_naming_the_field<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let provider = world.bearer("provider_a");
    let before = world.count_entries("zone_defined").await;
    let cases = [
        ("新城\u{0}区", "text_control_character"),
        ("新城\u{1b}[31m", "text_control_character"),
        ("新城\u{85}", "text_control_character"),
        ("新城\n区", "text_control_character"),
        ("exe.\u{202e}fdp", "text_format_character"),
        ("\u{2066}新城\u{2069}", "text_format_character"),
        ("\u{feff}新城", "text_format_character"),
    ];
    for (n, (name, code)) in cases.iter().enumerate() {
        let reply = world
            .api
            .post(
                "/api/v1/zones",
                &admin,
                json!({"name": name, "division": "330902"}),
                &format!("z-{n}"),
            )
            .await;
        reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, code);
        let message = reply.body["error"]["message"].as_str().unwrap();
        let message_zh = reply.body["error"]["message_zh"].as_str().unwrap();
        assert!(message.starts_with("name ") && message_zh.starts_with("name "));
    }
    // A nested field (an API token's name) and a secret are treated alike:
    // the name is refused, a password may hold anything.
    let token = world
        .api
        .post(
            "/api/v1/me/tokens",
            &provider,
            json!({"name": "bill\u{0}ing", "ttl_days": 30}),
            "t-nul",
        )
        .await;
    token.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "text_control_character");
    let login = world
        .api
        .try_login("provider-a", "wrong\u{0}password")
        .await;
    login.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(world.count_entries("zone_defined").await, before);
}

async fn text_with_nothing_visible_meets_the_fields_own_required_check<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let empty = world
        .api
        .post(
            "/api/v1/zones",
            &admin,
            json!({"name": "", "division": "330902"}),
            "z-empty",
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (n, invisible) in ["\u{200b}", "\u{200b}\u{200d} \u{2060}", "\u{3000}"]
        .iter()
        .enumerate()
    {
        let reply = world
            .api
            .post(
                "/api/v1/zones",
                &admin,
                json!({"name": invisible, "division": "330902"}),
                &format!("z-blank-{n}"),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (empty.status, empty.code()),
            "{invisible:?}: {:?}",
            reply.body
        );
    }
    // Visible text with a zero-width joiner inside is text.
    let emoji = world
        .api
        .post(
            "/api/v1/zones",
            &admin,
            json!({"name": "新城👩\u{200d}💻", "division": "330902"}),
            "z-emoji",
        )
        .await;
    assert_eq!(emoji.status, StatusCode::OK, "{:?}", emoji.body);
}

async fn query_values_pass_the_same_rule_and_unknown_parameters_are_refused<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let finance = world.bearer("finance");
    let admin = world.bearer("admin");
    let nul = world
        .api
        .get("/api/v1/settlement-runs?programme=ZS%00", &finance)
        .await;
    nul.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "text_control_character");
    assert!(
        nul.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("programme ")
    );
    let after = world.api.get("/api/v1/enterprises?after=%00", &admin).await;
    after.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "text_control_character");
    let bidi = world
        .api
        .get(
            "/api/v1/programmes/ZS2026-01/utilisation?by=%E2%80%AEzone",
            &finance,
        )
        .await;
    bidi.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "text_format_character");
    for path in [
        "/api/v1/settlement-runs?colour=red",
        "/api/v1/programmes/ZS2026-01/utilisation?colour=red",
    ] {
        let reply = world.api.get(path, &finance).await;
        reply.expect_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    // A status filter names one of the documented statuses or is refused;
    // each documented one is answered.
    let admin = world.bearer("admin");
    for path in [
        "/api/v1/vouchers?status=used",
        "/api/v1/vouchers?status=Active",
        "/api/v1/redemptions?status=approved",
    ] {
        let reply = world.api.get(path, &admin).await;
        reply.expect_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    for path in [
        "/api/v1/vouchers?status=reissued",
        "/api/v1/redemptions?status=frozen",
    ] {
        let reply = world.api.get(path, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
}

async fn import_cells_pass_the_same_rule<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let csv = "uscc,name,division,sector,staff,revenue\n\
               91330902MA00000153,舟山\u{202e}科技有限公司,330902,manufacturing,10,100\n";
    let reply = world
        .api
        .post_bytes(
            "/api/v1/imports/enterprises",
            &admin,
            "text/csv",
            csv.as_bytes().to_vec(),
            "imp-bidi",
        )
        .await;
    let errors = reply.body["errors"].as_array().expect("an import report");
    assert_eq!(errors.len(), 1, "{:?}", reply.body);
    assert_eq!(errors[0]["code"], "text_format_character");
    assert_eq!(errors[0]["row"], 2);
    assert_eq!(errors[0]["column"], "name");
    assert_eq!(world.count_entries("enterprise_registered").await, 0);
}

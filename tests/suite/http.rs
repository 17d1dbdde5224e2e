//! HTTP behaviour that needs no separate process.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use voucher_ledger::http::{AppState, router};
use voucher_ledger::service::WriterConfig;
use voucher_ledger::store::{SqliteStore, Store};

use crate::helpers::{TestDb, start_writer};

/// The router over a fresh, migrated SQLite store, with its writer.
async fn app() -> (axum::Router, SqliteStore, TestDb) {
    let db = TestDb::sqlite();
    let store = SqliteStore::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let (writer, _task) = start_writer(&store, WriterConfig::default()).await;
    let router = router(AppState::new(store.clone(), writer, Default::default()));
    (router, store, db)
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn healthz_is_503_with_an_error_body_when_the_database_is_gone() {
    let (app, store, _db) = app().await;
    let (status, body) = get(app.clone(), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    store.close().await;
    let (status, body) = get(app, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert!(
        body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("数据库")
    );
}

#[tokio::test]
async fn the_latest_checkpoint_is_404_with_a_code_before_any_is_signed() {
    let (app, _store, _db) = app().await;
    let (status, body) = get(app, "/api/v1/ledger/checkpoints/latest").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "no_checkpoint");
}

#[tokio::test]
async fn an_unknown_route_answers_404_with_the_standard_error_body() {
    let (app, _store, _db) = app().await;
    let (status, body) = get(app, "/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "route_not_found");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    assert!(!body["error"]["message_zh"].as_str().unwrap().is_empty());
}

/// Every `$ref` in a JSON document.
fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if key == "$ref" {
                    out.push(value.as_str().unwrap_or_default().to_string());
                } else {
                    refs(value, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_its_references_resolve() {
    let (app, _store, _db) = app().await;
    let (status, document) = get(app, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for route in voucher_ledger::http::routes::ROUTES {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{} {} is missing",
            route.method,
            route.path
        );
        assert!(operation["responses"].is_object());
        let has_key = operation["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        });
        assert_eq!(has_key, route.idempotency_key, "{}", route.path);
        for segment in route.path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let declared = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{} lacks path parameter {name}", route.path);
        }
    }
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{reference} does not resolve"
        );
    }
}

#[tokio::test]
async fn checkpoints_page_newest_first_and_cursors_out_of_range_are_answered() {
    use voucher_ledger::domain::Timestamp;
    use voucher_ledger::ledger::checkpoint::Checkpoint;
    let db = TestDb::sqlite();
    let store = SqliteStore::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let world = crate::api_client::World::new(store.clone()).await;
    for sequence in [2u64, 4, 6] {
        // The database takes only a checkpoint of an existing entry's hash.
        let head_hash = store.entries(sequence, 1).await.unwrap()[0].hash;
        let stored = store
            .insert_checkpoint(&Checkpoint {
                sequence,
                head_hash,
                signed_at: Timestamp::from_micros(1_780_000_000_000_000 + sequence as i64),
                key_id: "0000000000000000".into(),
                signature: [0; 64],
            })
            .await
            .unwrap();
        assert!(stored);
    }
    let auditor = world.bearer("auditor");
    let first = world
        .api
        .get("/api/v1/ledger/checkpoints?limit=2", &auditor)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let sequences = |body: &serde_json::Value| -> Vec<u64> {
        body["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sequence"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(sequences(&first.body), vec![6, 4]);
    assert_eq!(first.body["next_before"], 4);
    let rest = world
        .api
        .get("/api/v1/ledger/checkpoints?limit=2&before=4", &auditor)
        .await;
    assert_eq!(sequences(&rest.body), vec![2]);
    assert!(rest.body["next_before"].is_null());
    // Cursors past any possible sequence are answered, never a crash.
    let huge = u64::MAX;
    let beyond = world
        .api
        .get(
            &format!("/api/v1/ledger/checkpoints?before={huge}"),
            &auditor,
        )
        .await;
    assert_eq!(sequences(&beyond.body), vec![6, 4, 2]);
    let entries = world
        .api
        .get(&format!("/api/v1/ledger/entries?after={huge}"), &auditor)
        .await;
    assert_eq!(entries.status, StatusCode::OK, "{:?}", entries.body);
    assert_eq!(entries.body["entries"].as_array().unwrap().len(), 0);
    let entry = world
        .api
        .get(&format!("/api/v1/ledger/entries/{huge}"), &auditor)
        .await;
    assert_eq!(entry.status, StatusCode::NOT_FOUND);
}

/// The auditor's listing: newest first below a cursor, one kind, a day
/// range; an unknown kind is refused; a cursor past any sequence answers.
#[tokio::test]
async fn ledger_entries_list_newest_first_by_kind_and_day() {
    let db = TestDb::sqlite();
    let store = SqliteStore::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let world = crate::api_client::World::new(store.clone()).await;
    let auditor = world.bearer("auditor");
    let sequences = |body: &serde_json::Value| -> Vec<u64> {
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect()
    };
    let head = store.head().await.unwrap().sequence;
    let huge = u64::MAX;
    let newest = world
        .api
        .get(
            &format!("/api/v1/ledger/entries?before={huge}&limit=3"),
            &auditor,
        )
        .await;
    assert_eq!(newest.status, StatusCode::OK, "{:?}", newest.body);
    assert_eq!(sequences(&newest.body), vec![head, head - 1, head - 2]);
    assert_eq!(newest.body["next_cursor"], head - 2);
    let next = world
        .api
        .get(
            &format!("/api/v1/ledger/entries?before={}&limit=3", head - 2),
            &auditor,
        )
        .await;
    assert_eq!(sequences(&next.body)[0], head - 3);
    let users = world
        .api
        .get(
            "/api/v1/ledger/entries?kind=user_created&limit=200",
            &auditor,
        )
        .await;
    let kinds: Vec<&str> = users.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.len() >= 7 && kinds.iter().all(|k| *k == "user_created"),
        "{kinds:?}"
    );
    world
        .api
        .get("/api/v1/ledger/entries?kind=coffee_bought", &auditor)
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "entry_kind_unknown");
    let today = voucher_ledger::domain::Timestamp::now().cst_date();
    let in_range = world
        .api
        .get(
            &format!("/api/v1/ledger/entries?from={today}&until={today}&before={huge}&limit=200"),
            &auditor,
        )
        .await;
    assert_eq!(sequences(&in_range.body).len() as u64, head.min(200));
    let future = world
        .api
        .get("/api/v1/ledger/entries?from=2999-01-01", &auditor)
        .await;
    assert!(sequences(&future.body).is_empty());
    world
        .api
        .get("/api/v1/ledger/entries?from=tomorrow", &auditor)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_query");
}

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
    let router = router(AppState {
        store: store.clone(),
        writer,
    });
    (router, store, db)
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
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

//! Static files the pages use, compiled into the binary so the service
//! still starts with one command and needs no separate front-end server:
//! the stylesheet, the small script, the receipt checker, the offline
//! redemption script and its service worker and manifest, the favicon, and
//! the vendored QR decoder (jsQR 1.4.0 from npm, Apache-2.0) and encoder
//! (qrcode-generator 1.4.4 from npm, MIT; their licences are served beside
//! them). Paths carry the crate version, so a new release is never served a
//! stale cached file, and everything is cached for a day.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::ApiClient;

pub const CSS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/app.css");
pub const APP_JS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/app.js");
pub const RECEIPT_JS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/receipt.js");
pub const JSQR_PATH: &str = concat!(
    "/assets/",
    env!("CARGO_PKG_VERSION"),
    "/vendor/jsqr/jsQR.js"
);
pub const OFFLINE_JS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/offline.js");
pub const QRCODE_PATH: &str = concat!(
    "/assets/",
    env!("CARGO_PKG_VERSION"),
    "/vendor/qrcode-generator/qrcode.js"
);
pub const FAVICON_PATH: &str = "/favicon.svg";
/// The offline page's service worker: under `/provider/` so it may control
/// `/provider/offline` (a worker's scope is at most its own directory).
pub const OFFLINE_WORKER_PATH: &str = "/provider/offline-sw.js";
pub const OFFLINE_SCOPE: &str = "/provider/offline";
pub const OFFLINE_MANIFEST_PATH: &str = "/provider/offline/manifest.webmanifest";

const CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
const RECEIPT_JS: &str = include_str!("assets/receipt.js");
const FAVICON: &str = include_str!("assets/favicon.svg");
const JSQR: &str = include_str!("assets/vendor/jsqr/jsQR.js");
const JSQR_LICENSE: &str = include_str!("assets/vendor/jsqr/LICENSE");
const OFFLINE_JS: &str = include_str!("assets/offline.js");
const OFFLINE_WORKER: &str = include_str!("assets/offline-sw.js");
const QRCODE: &str = include_str!("assets/vendor/qrcode-generator/qrcode.js");
const QRCODE_LICENSE: &str = include_str!("assets/vendor/qrcode-generator/LICENSE");

/// The worker with its version and the files it keeps.
fn offline_worker() -> String {
    let files = [
        CSS_PATH,
        APP_JS_PATH,
        OFFLINE_JS_PATH,
        JSQR_PATH,
        FAVICON_PATH,
        OFFLINE_MANIFEST_PATH,
    ];
    OFFLINE_WORKER
        .replace("__VERSION__", env!("CARGO_PKG_VERSION"))
        .replace(
            "__FILES__",
            &serde_json::to_string(&files).expect("paths serialise"),
        )
}

/// The web app manifest of the offline page (installable on a phone).
fn offline_manifest() -> String {
    serde_json::json!({
        "name": "舟山服务补贴券 · 离线核销",
        "short_name": "离线核销",
        "lang": "zh-CN",
        "start_url": OFFLINE_SCOPE,
        "scope": OFFLINE_SCOPE,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f4e79",
        "icons": [{"src": FAVICON_PATH, "sizes": "any", "type": "image/svg+xml"}],
    })
    .to_string()
}

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route(CSS_PATH, get(|| file("text/css; charset=utf-8", CSS)))
        .route(
            APP_JS_PATH,
            get(|| file("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            RECEIPT_JS_PATH,
            get(|| file("text/javascript; charset=utf-8", RECEIPT_JS)),
        )
        .route(
            JSQR_PATH,
            get(|| file("text/javascript; charset=utf-8", JSQR)),
        )
        .route(
            concat!(
                "/assets/",
                env!("CARGO_PKG_VERSION"),
                "/vendor/jsqr/LICENSE"
            ),
            get(|| file("text/plain; charset=utf-8", JSQR_LICENSE)),
        )
        .route(
            OFFLINE_JS_PATH,
            get(|| file("text/javascript; charset=utf-8", OFFLINE_JS)),
        )
        .route(
            QRCODE_PATH,
            get(|| file("text/javascript; charset=utf-8", QRCODE)),
        )
        .route(
            concat!(
                "/assets/",
                env!("CARGO_PKG_VERSION"),
                "/vendor/qrcode-generator/LICENSE"
            ),
            get(|| file("text/plain; charset=utf-8", QRCODE_LICENSE)),
        )
        .route(
            OFFLINE_WORKER_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    offline_worker(),
                )
            }),
        )
        .route(
            OFFLINE_MANIFEST_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/manifest+json"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    offline_manifest(),
                )
            }),
        )
        .route(FAVICON_PATH, get(|| file("image/svg+xml", FAVICON)))
        .route("/favicon.ico", get(|| file("image/svg+xml", FAVICON)))
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}

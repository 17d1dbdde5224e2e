//! Static files the pages use, compiled into the binary so the service
//! still starts with one command and needs no separate front-end server:
//! the stylesheet, the small script, the receipt checker, the favicon, and the vendored QR
//! decoder (jsQR 1.4.0 from npm, Apache-2.0; its licence is served beside
//! it). Paths carry the crate version, so a new release is never served a
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
pub const FAVICON_PATH: &str = "/favicon.svg";

const CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
const RECEIPT_JS: &str = include_str!("assets/receipt.js");
const FAVICON: &str = include_str!("assets/favicon.svg");
const JSQR: &str = include_str!("assets/vendor/jsqr/jsQR.js");
const JSQR_LICENSE: &str = include_str!("assets/vendor/jsqr/LICENSE");

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

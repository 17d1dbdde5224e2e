//! Web portals: server-rendered pages for enterprises, providers, the
//! finance bureau, the admin and auditors, in Chinese first with an English
//! switch.
//!
//! Pages are presentation only. Every read and every change goes through
//! the JSON API in-process (`backend::ApiClient` calls the same router a
//! remote client would reach, handing it the caller already authenticated),
//! so the route policy, CSRF check, idempotency and the bilingual refusal
//! codes have exactly one implementation. A page handler turns form fields
//! into an API request, and the API's answer into HTML: a redirect with a
//! notice on success (post/redirect/get), or the same form again with the
//! refusal and the user's input on failure.
//!
//! Layout: `backend` (in-process API calls), `i18n` (zh-CN / English),
//! `layout` (page shell, navigation, notices, form pieces), `assets` (CSS,
//! the small scripts, the vendored QR decoder), `form` (what every form
//! carries: CSRF token, idempotency key), and one module per portal:
//! `account` (login, logout, password, language), `enterprise`, `provider`,
//! `finance`, `admin`, `auditor`; `public` (公示) and `receipts` (receipt
//! pages and the in-browser receipt check).

// A page handler answers with a page in both arms (the page, or the page
// that says why not); boxing the error arm would buy nothing, since axum
// turns both into the same response.
#![allow(clippy::result_large_err)]

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::Response;

use crate::http::{AppState, auth};
use crate::store::Store;

mod account;
mod admin;
mod assets;
mod auditor;
mod backend;
mod claim_guide;
mod enterprise;
mod finance;
mod form;
mod i18n;
mod layout;
mod offline;
mod provider;
mod public;
mod receipts;
mod redemption_facts;

pub use backend::ApiClient;

/// The whole site: the JSON API plus the portal pages over it.
pub fn site<S: Store>(state: AppState<S>) -> Router {
    let api = crate::http::router(state.clone());
    let client = ApiClient::new(api.clone());
    let secure = state.config.secure_cookies;
    let pages = Router::new()
        .merge(account::routes())
        .merge(enterprise::routes())
        .merge(claim_guide::routes())
        .merge(provider::routes())
        .merge(offline::routes())
        .merge(finance::routes())
        .merge(admin::routes())
        .merge(auditor::routes())
        .merge(public::routes())
        .merge(receipts::routes())
        .with_state(client.clone())
        .layer(from_fn_with_state(state, auth::authenticate::<S>))
        .layer(from_fn(server_timing));
    // Static files need no caller: no session lookup for them.
    let assets = assets::routes().with_state(client);
    api.merge(pages)
        .merge(assets)
        .layer(from_fn(crate::http::operations::track))
        .layer(from_fn(crate::http::operations::request_id))
        .layer(from_fn(move |request: Request, next: Next| {
            crate::http::security_headers::add(secure, request, next)
        }))
}

/// Adds `Server-Timing: app;dur=<ms>` to every page, so the time the server
/// spent is visible in the browser's tools and measurable by tests and
/// benchmarks without a clock on the client side.
async fn server_timing(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={millis:.2}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

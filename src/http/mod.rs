//! HTTP adapters (axum). Thin: parse, call a service, map the result.
//! One file per feature, each exposing `router()`.

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::service::WriterHandle;
use crate::store::Store;

mod error;
mod health;
mod ledger;

pub use error::ApiError;
pub use ledger::CheckpointView;

/// Largest request body accepted by any route.
pub const REQUEST_BODY_BYTES_MAX: usize = 256 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState<S: Store> {
    pub store: S,
    pub writer: WriterHandle,
}

/// The whole API.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .merge(health::router())
        .merge(ledger::router())
        .fallback(route_not_found)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .with_state(state)
}

/// Unknown paths answer with the standard error body, not an empty 404.
async fn route_not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "There is no such endpoint. See docs/api.md.",
        "没有这个接口，请查阅 docs/api.md。",
    )
}

//! HTTP adapters (axum). Thin: parse, call a service, map the result.
//!
//! Every endpoint is a row of `routes::ROUTES`; `router` builds the axum
//! router from that table, wrapping each route in its authorisation (and,
//! for mutations, idempotency) layer. One error type (`ApiError`) shapes
//! every failure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};

use crate::service::WriterHandle;
use crate::store::Store;

pub mod access;
pub mod auth;
mod error;
pub mod fraud;
pub(crate) mod health;
mod holds;
pub mod idempotency;
mod idempotency_cache;
mod idempotency_key;
mod issuer_keys_cache;
mod json;
pub mod keys;
pub mod ledger;
pub mod log;
mod offline;
pub mod openapi;
pub mod operations;
pub mod page;
mod personal;
pub mod presentations;
pub mod programme_guide;
pub mod programmes;
pub mod providers;
pub mod public_notice;
pub mod rate_limit;
mod redemption_changes;
mod redemption_views;
mod redemptions;
pub mod registry;
mod registry_imports;
mod route_policy;
pub mod routes;
pub mod security_headers;
pub mod settlement;
pub mod settlement_views;
mod terms_cache;
mod token_cache;
pub mod tokens;
pub mod utilisation;
pub mod voucher_page;
pub mod vouchers;

pub use error::ApiError;
pub use ledger::CheckpointView;
use routes::{ROUTES, RouteSpec};

/// Largest request body accepted by any route.
pub const REQUEST_BODY_BYTES_MAX: usize = 256 * 1024;
/// A request still running after this is answered 503 and abandoned.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Mark the session cookie `Secure` (on behind HTTPS; off for
    /// http://127.0.0.1 development).
    pub secure_cookies: bool,
    /// How long Idempotency-Key responses are kept.
    pub idempotency_retention: Duration,
    /// Issuer private keys, for signing presentations (the writer signs
    /// vouchers with the same ring).
    pub issuer_keys: Arc<crate::service::issuer_keyring::IssuerKeyring>,
    /// How long a rotating presentation (the QR on the phone) lives, in
    /// seconds (10–120; 60 unless `--presentation-seconds` says otherwise).
    pub presentation_seconds: i64,
    /// The transparency log's origin (its name in checkpoints and keys).
    pub log_origin: String,
    /// The key the log's checkpoints are signed with (the ledger key),
    /// served at `/log/vkey`; `None` where this process signs nothing.
    pub log_key: Option<ed25519_dalek::VerifyingKey>,
    /// Witnesses the writer sends tree checkpoints to (`--witness`).
    pub witnesses: Vec<crate::service::witness_push::WitnessTarget>,
    /// How often the writer signs checkpoints while the chain moves
    /// (`--checkpoint-seconds`, 60 by default).
    pub checkpoint_interval: Duration,
    /// The personal data master key, to open sealed fields for those who
    /// may see them (docs/personal-data.md); `None`: shown as sealed.
    pub personal_key: Option<Arc<crate::personal::sealed::MasterKey>>,
    /// The erasure list beside the master key, appended to after each
    /// erasure; `None`: erasures are only in the database.
    pub erasures: Option<Arc<crate::personal::erasure_list::ErasureList>>,
}

impl ApiConfig {
    /// The log this service publishes: its origin, and the witnesses
    /// whose cosignatures a published checkpoint carries.
    pub fn publication(&self) -> crate::service::transparency::Publication {
        crate::service::transparency::Publication {
            origin: self.log_origin.clone(),
            witnesses: self.witnesses.iter().map(|w| w.name.clone()).collect(),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            secure_cookies: false,
            idempotency_retention: Duration::from_secs(24 * 3600),
            issuer_keys: Arc::default(),
            presentation_seconds: crate::service::vouchers::PRESENTATION_LIFETIME_SECONDS,
            log_origin: crate::service::transparency::DEFAULT_LOG_ORIGIN.to_string(),
            log_key: None,
            witnesses: Vec::new(),
            checkpoint_interval: crate::service::WriterConfig::default().checkpoint_interval,
            personal_key: None,
            erasures: None,
        }
    }
}

/// Answers `GET /api/openapi.json` (here, not in `openapi`, which reads the
/// route table: the table binds this handler).
pub async fn serve_openapi_document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi::document())
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState<S: Store> {
    pub store: S,
    pub writer: WriterHandle,
    pub limits: Arc<rate_limit::RateLimits>,
    pub config: Arc<ApiConfig>,
    /// Batches the idempotency table's writes.
    pub idempotency_cache: idempotency_cache::IdempotencyCache,
    /// Programme terms for pre-checks, at most a second old.
    pub terms_cache: Arc<terms_cache::TermsCache>,
    /// Live API tokens, at most a second old (see `token_cache`).
    pub token_cache: Arc<token_cache::TokenCache>,
    /// Published issuer keys, at most a second old, for QR checks.
    pub issuer_keys_cache: Arc<issuer_keys_cache::IssuerKeysCache>,
    /// Draining after SIGTERM (`/readyz` answers 503).
    pub lifecycle: operations::SharedLifecycle,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, writer: WriterHandle, config: ApiConfig) -> AppState<S> {
        AppState {
            writer,
            limits: Arc::new(rate_limit::RateLimits::default()),
            config: Arc::new(config),
            idempotency_cache: idempotency_cache::IdempotencyCache::spawn(store.clone()),
            terms_cache: Arc::default(),
            token_cache: Arc::default(),
            issuer_keys_cache: Arc::default(),
            lifecycle: Arc::default(),
            store,
        }
    }
}

/// The whole API, built from the route table.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        let spec: &'static RouteSpec = spec;
        let mut route = routes::bind::<S>(spec.id);
        // Layers added later run first: authorise, then (for mutations)
        // claim the idempotency key, then the handler.
        if spec.idempotency_key {
            route = route.route_layer(from_fn_with_state(
                state.clone(),
                move |state: State<AppState<S>>, request: Request, next: Next| {
                    idempotency::idempotency(state, spec, request, next)
                },
            ));
        }
        route = route.route_layer(from_fn(move |request: Request, next: Next| {
            route_policy::authorize(spec, request, next)
        }));
        route = route.layer(DefaultBodyLimit::max(spec.body_bytes_max));
        router = router.route(spec.path, route);
    }
    let secure = state.config.secure_cookies;
    router
        .merge(log::routes::<S>())
        .fallback(route_not_found)
        .layer(from_fn_with_state(state.clone(), auth::authenticate::<S>))
        .layer(from_fn(timeout))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(from_fn(move |request: Request, next: Next| {
            security_headers::add(secure, request, next)
        }))
        .with_state(state)
}

/// Serves `router` with the caller's address available (for rate limits).
/// Serves `app` on `listener` until `shutdown` resolves, with TCP_NODELAY
/// on every connection: hyper writes a response as headers then body, and
/// with Nagle's algorithm on, the body waits for the client's delayed ACK
/// (about 40 ms per request on Linux) — which capped claims at ~1,000/s
/// with 64 clients before this was set.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, into_service(app))
        .with_graceful_shutdown(shutdown)
        .await
}

pub fn into_service(
    router: Router,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, SocketAddr> {
    router.into_make_service_with_connect_info::<SocketAddr>()
}

/// An amount of 元 as the JSON API takes it (`Fen::parse_plain_yuan`), or
/// 422 `amount_invalid` naming `field`.
pub(crate) fn plain_yuan(field: &str, text: &str) -> Result<crate::domain::Fen, ApiError> {
    crate::domain::Fen::parse_plain_yuan(text).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "amount_invalid",
            format!("{field}: {e}; send plain 元 with at most two decimals, e.g. 3000000.00."),
            format!("{field} 金额格式无效：须为不含空格和千位分隔符、最多两位小数的元金额，例如 3000000.00。"),
        )
    })
}

/// The status of a record-or-update: 201 for a new record, 200 for an
/// update or nothing to change.
pub(crate) fn recorded_status(
    recorded: crate::service::written::Recorded,
) -> axum::http::StatusCode {
    match recorded {
        crate::service::written::Recorded::Created => axum::http::StatusCode::CREATED,
        _ => axum::http::StatusCode::OK,
    }
}

async fn timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            "The request took too long and was abandoned; it is safe to retry with the same Idempotency-Key.",
            "请求处理超时已中止；可使用相同的 Idempotency-Key 安全重试。",
        )
        .into_response(),
    }
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

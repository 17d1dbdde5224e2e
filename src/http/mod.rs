//! HTTP adapters (axum). Thin: parse, call a service, map the result.
//!
//! Every endpoint is a row of `routes::ROUTES`; `router` builds the axum
//! router from that table, wrapping each route in its authorisation (and,
//! for mutations, idempotency) layer. One error type (`ApiError`) shapes
//! every failure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use axum::{Json, Router};

use crate::service::WriterHandle;
use crate::store::Store;

pub mod access;
pub mod auth;
mod error;
pub mod fraud;
mod health;
pub mod idempotency;
mod idempotency_cache;
mod issuer_keys_cache;
mod json;
pub mod keys;
pub mod ledger;
pub mod openapi;
pub mod page;
pub mod programmes;
pub mod providers;
pub mod rate_limit;
pub mod redemptions;
pub mod registry;
pub mod routes;
pub mod security_headers;
pub mod settlement;
mod terms_cache;
mod token_cache;
pub mod tokens;
pub mod utilisation;
pub mod voucher_page;
pub mod vouchers;

pub use error::ApiError;
pub use ledger::CheckpointView;
use routes::{ROUTES, RouteId, RouteSpec};

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
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            secure_cookies: false,
            idempotency_retention: Duration::from_secs(24 * 3600),
            issuer_keys: Arc::default(),
        }
    }
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
            store,
        }
    }
}

/// The handler for each route.
fn handler<S: Store>(id: RouteId) -> MethodRouter<AppState<S>> {
    match id {
        RouteId::Healthz => get(health::healthz::<S>),
        RouteId::OpenApi => get(|| async { Json(openapi::document()) }),
        RouteId::LatestCheckpoint => get(ledger::latest_checkpoint::<S>),
        RouteId::Login => post(access::login::<S>),
        RouteId::Logout => delete(access::logout::<S>),
        RouteId::Me => get(access::me::<S>),
        RouteId::ChangePassword => put(access::change_password::<S>),
        RouteId::ListMyTokens => get(access::list_my_tokens::<S>),
        RouteId::CreateToken => post(access::create_token::<S>),
        RouteId::RevokeToken => delete(access::revoke_token::<S>),
        RouteId::ListUsers => get(access::list_users::<S>),
        RouteId::CreateUser => post(access::create_user::<S>),
        RouteId::GetUser => get(access::get_user::<S>),
        RouteId::LedgerEntries => get(ledger::entries::<S>),
        RouteId::LedgerEntry => get(ledger::entry::<S>),
        RouteId::LedgerBalances => get(ledger::balances::<S>),
        RouteId::LedgerVerification => get(ledger::verification::<S>),
        RouteId::LedgerCheckpoints => get(ledger::checkpoints::<S>),
        RouteId::ListEnterprises => get(registry::list::<S>),
        RouteId::RecordEnterprise => post(registry::record::<S>),
        RouteId::GetEnterprise => get(registry::get::<S>),
        RouteId::TagEnterprise => post(registry::tag::<S>),
        RouteId::BlacklistEnterprise => post(registry::blacklist::<S>),
        RouteId::ImportEnterprises => post(registry::import::<S>),
        RouteId::ListProgrammes => get(programmes::list::<S>),
        RouteId::CreateProgramme => post(programmes::create::<S>),
        RouteId::GetProgramme => get(programmes::get::<S>),
        RouteId::UpdateProgrammeDraft => put(programmes::update_draft::<S>),
        RouteId::OpenProgramme => post(programmes::open::<S>),
        RouteId::AmendProgramme => post(programmes::amend::<S>),
        RouteId::CloseProgramme => post(programmes::close::<S>),
        RouteId::FundProgramme => post(programmes::fund::<S>),
        RouteId::MyEligibility => get(programmes::my_eligibility::<S>),
        RouteId::ListProviders => get(providers::list::<S>),
        RouteId::RecordProvider => post(providers::record::<S>),
        RouteId::GetProvider => get(providers::get::<S>),
        RouteId::ProviderAccount => get(providers::account::<S>),
        RouteId::ChangeProviderStatus => post(providers::change_status::<S>),
        RouteId::ImportTags => post(registry::import_tag_list::<S>),
        RouteId::ImportProviders => post(registry::import_providers::<S>),
        RouteId::ImportBlacklist => post(registry::import_blacklist::<S>),
        RouteId::VoucherKeys => get(keys::published::<S>),
        RouteId::VerifyToken => post(tokens::verify::<S>),
        RouteId::RotateIssuerKey => post(keys::rotate::<S>),
        RouteId::RevokeIssuerKey => post(keys::revoke::<S>),
        RouteId::ListZones => get(registry::zones::<S>),
        RouteId::DefineZone => post(registry::define_zone::<S>),
        RouteId::ClaimVoucher => post(vouchers::claim::<S>),
        RouteId::AllocateVouchers => post(vouchers::allocate::<S>),
        RouteId::ListVouchers => get(vouchers::list::<S>),
        RouteId::GetVoucher => get(vouchers::get::<S>),
        RouteId::VoucherQrPng => get(vouchers::qr_png::<S>),
        RouteId::VoucherQrSvg => get(vouchers::qr_svg::<S>),
        RouteId::VoucherPrint => get(vouchers::print::<S>),
        RouteId::VoucherPresentation => get(vouchers::presentation::<S>),
        RouteId::VoucherPresentationPng => get(vouchers::presentation_png::<S>),
        RouteId::VoucherPresentationSvg => get(vouchers::presentation_svg::<S>),
        RouteId::ReissueIssuerKey => post(vouchers::reissue::<S>),
        RouteId::PreviewRedemption => post(redemptions::preview::<S>),
        RouteId::Redeem => post(redemptions::redeem::<S>),
        RouteId::ListRedemptions => get(redemptions::list::<S>),
        RouteId::GetRedemption => get(redemptions::get::<S>),
        RouteId::ConfirmRedemption => post(redemptions::confirm::<S>),
        RouteId::DisputeRedemption => post(redemptions::dispute::<S>),
        RouteId::ResolveDispute => post(redemptions::resolve::<S>),
        RouteId::ReverseRedemption => post(redemptions::reverse::<S>),
        RouteId::RevokeVoucher => post(redemptions::revoke_voucher::<S>),
        RouteId::SweepExpiry => post(redemptions::sweep_expiry::<S>),
        RouteId::SweepAutoConfirm => post(redemptions::sweep_auto_confirm::<S>),
        RouteId::MarkFraud => post(fraud::mark::<S>),
        RouteId::AttachDocuments => post(redemptions::attach_documents::<S>),
        RouteId::ScanPhoto => post(redemptions::scan_photo),
        RouteId::PrepareSettlement => post(settlement::prepare::<S>),
        RouteId::ListSettlementRuns => get(settlement::list::<S>),
        RouteId::GetSettlementRun => get(settlement::get::<S>),
        RouteId::ListSettlementLines => get(settlement::lines::<S>),
        RouteId::ResolveSettlementLine => post(settlement::resolve::<S>),
        RouteId::ApproveSettlement => post(settlement::approve::<S>),
        RouteId::PaymentFile => get(settlement::payment_file::<S>),
        RouteId::BankReturn => post(settlement::bank_return::<S>),
        RouteId::SettlementReport => get(settlement::report::<S>),
        RouteId::ProviderStatement => get(settlement::statement::<S>),
        RouteId::Utilisation => get(utilisation::get::<S>),
        RouteId::UtilisationChart => get(utilisation::chart::<S>),
    }
}

/// The whole API, built from the route table.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        let spec: &'static RouteSpec = spec;
        let mut route = handler::<S>(spec.id);
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
            auth::authorize(spec, request, next)
        }));
        route = route.layer(DefaultBodyLimit::max(spec.body_bytes_max));
        router = router.route(spec.path, route);
    }
    let secure = state.config.secure_cookies;
    router
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

/// Submits a command for a handler; "nothing to change" counts as success
/// (the caller then shows the object as it stands).
pub(crate) async fn submit_change<S: Store>(
    state: &AppState<S>,
    actor: String,
    idempotency_key: String,
    command: crate::service::Command,
) -> Result<(), ApiError> {
    let submission = crate::service::Submission {
        actor,
        idempotency_key,
        command,
    };
    match state.writer.submit(submission).await {
        Ok(_) | Err(crate::service::CommandError::Unchanged { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Submits a record-or-update command and says how it went: 201 and
/// changed for a new record (an entry of `created_kind`), 200 and changed
/// for an update, 200 and unchanged when nothing differed.
pub(crate) async fn submit_record<S: Store>(
    state: &AppState<S>,
    actor: String,
    idempotency_key: String,
    command: crate::service::Command,
    created_kind: crate::ledger::body::EntryKind,
) -> Result<(axum::http::StatusCode, bool), ApiError> {
    let submission = crate::service::Submission {
        actor,
        idempotency_key,
        command,
    };
    match state.writer.submit(submission).await {
        Ok(receipt) if receipt.kind == Some(created_kind) && !receipt.replayed => {
            Ok((axum::http::StatusCode::CREATED, true))
        }
        Ok(_) => Ok((axum::http::StatusCode::OK, true)),
        Err(crate::service::CommandError::Unchanged { .. }) => {
            Ok((axum::http::StatusCode::OK, false))
        }
        Err(error) => Err(error.into()),
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

//! What operations teams run the service by (docs/operations.md,
//! "Metrics" and "Health and readiness"): `/readyz`, `/metrics`, the
//! request-metrics middleware, and the process's lifecycle (draining on
//! SIGTERM).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorReason;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::store::Store;

/// A readiness or scrape probe that hangs is as bad as a failed one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the process is in its life: set draining on SIGTERM, so the
/// proxy in front stops sending new requests while in-flight ones finish.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// The shared lifecycle of a serving process.
pub type SharedLifecycle = Arc<Lifecycle>;

/// `/readyz`'s answer when ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: &'static str,
    pub database: &'static str,
    /// The newest migration applied (this binary's newest).
    pub migration: u32,
}

fn reason(code: &str, message: String, message_zh: String) -> ErrorReason {
    ErrorReason {
        code: code.to_string(),
        message,
        message_zh,
    }
}

/// Ready to take traffic: not draining, the database reachable and
/// writable, its migrations exactly this binary's, the ledger writer
/// running. Else 503 `not_ready` with every reason.
pub async fn readyz<S: Store>(State(state): State<AppState<S>>) -> Result<Json<Ready>, ApiError> {
    let mut reasons = Vec::new();
    if state.lifecycle.is_draining() {
        reasons.push(reason(
            "draining",
            "The process is shutting down and finishing its requests.".into(),
            "进程正在停止，正在完成已收到的请求。".into(),
        ));
    }
    if !state.writer.is_running() {
        reasons.push(reason(
            "writer_stopped",
            "The ledger writer is not running.".into(),
            "账本写入器未运行。".into(),
        ));
    }
    let mut migration = 0;
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.readiness()).await {
        Ok(Ok(facts)) => {
            migration = facts.migration_applied;
            if !facts.writable {
                reasons.push(reason(
                    "database_read_only",
                    "The database does not accept writes (a standby, not the primary).".into(),
                    "数据库不接受写入（为备库而非主库）。".into(),
                ));
            }
            if facts.migration_applied != facts.migration_known {
                reasons.push(reason(
                    "migrations_differ",
                    format!(
                        "The database is at migration {}, this binary at {}.",
                        facts.migration_applied, facts.migration_known
                    ),
                    format!(
                        "数据库迁移版本为 {}，本程序为 {}。",
                        facts.migration_applied, facts.migration_known
                    ),
                ));
            }
        }
        Ok(Err(_)) | Err(_) => reasons.push(reason(
            "database_unavailable",
            "The database does not answer.".into(),
            "数据库无响应。".into(),
        )),
    }
    if reasons.is_empty() {
        return Ok(Json(Ready {
            status: "ready",
            database: state.store.backend().as_str(),
            migration,
        }));
    }
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "Not ready to take requests; see reasons.",
        "暂不能接收请求，原因见 reasons。",
    );
    error.reasons = reasons;
    Err(error)
}

/// The Prometheus text, after reading the gauges that are read when
/// scraped; 404 where this process keeps no metrics.
pub async fn metrics<S: Store>(State(state): State<AppState<S>>) -> Result<Response, ApiError> {
    let store = &state.store;
    let probe = async {
        let head = store.head().await?;
        let checkpoint = store.latest_checkpoint().await?;
        let keys = store.idempotency_key_count().await?;
        let acquire = store.acquire_probe().await?;
        Ok::<_, crate::store::StoreError>((head, checkpoint, keys, acquire))
    };
    let (head, checkpoint, keys, acquire) = tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .map_err(|_| ApiError::database_unavailable())??;
    let age = checkpoint.map_or(0.0, |checkpoint| {
        let micros = Timestamp::now().as_micros() - checkpoint.signed_at.as_micros();
        micros.max(0) as f64 / 1e6
    });
    let pool = store.pool_stats();
    let snapshot = crate::metrics::Snapshot {
        backend: store.backend().as_str(),
        head_sequence: head.sequence,
        checkpoint_age_seconds: age,
        writer_queue: state.writer.queue_depth(),
        idempotency_keys: keys,
        idempotency_queue: state.idempotency_cache.queue_depth(),
        pool_size: pool.size,
        pool_idle: pool.idle,
        pool_max: pool.max,
        pool_acquire_seconds: acquire.as_secs_f64(),
    };
    let text = crate::metrics::render(&snapshot).ok_or_else(ApiError::not_found)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

/// Counts every request by its route template (never the raw path: ids
/// would make the label set unbounded), method and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let in_flight = metrics::gauge!(crate::metrics::HTTP_IN_FLIGHT);
    in_flight.increment(1.0);
    let response = next.run(request).await;
    in_flight.decrement(1.0);
    let status = response.status().as_u16().to_string();
    metrics::histogram!(crate::metrics::HTTP_DURATION, "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(crate::metrics::HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// The header that names a request in logs, and in the answer.
pub const REQUEST_ID: &str = "x-request-id";

/// A request id the caller sent that is safe to log and repeat: 1–64 of
/// `A–Z a–z 0–9 . _ -`. Anything else is replaced by our own.
fn usable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Gives every request an id (the caller's `X-Request-Id` if usable, else
/// a new UUID), answers it in `X-Request-Id`, and runs the request inside
/// a span that carries it, so every log line of the request names it.
/// Logs each answer at debug (an access log with `VOUCHER_LOG=debug` or
/// `voucher_ledger::http=debug`), a 5xx at error.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| usable_request_id(value))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string);
    let value = axum::http::HeaderValue::from_str(&id).expect("checked or generated: ASCII");
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method());
    // The path without its query (which may carry search terms).
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let mut response = async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, %path, millis, "request failed");
        } else {
            tracing::debug!(status, %path, millis, "request answered");
        }
        response
    }
    .instrument(span)
    .await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// The monitoring listener's routes (`--admin-listen`): metrics, health
/// and readiness without login.
pub fn admin_router<S: Store>(state: AppState<S>) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/metrics", get(metrics::<S>))
        .route("/healthz", get(super::health::healthz::<S>))
        .route("/readyz", get(readyz::<S>))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::usable_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(usable_request_id("3f2a-9c_01.x"));
        assert!(usable_request_id(&"a".repeat(64)));
        for refused in ["", "a b", "a\nb", "ünï", "<script>", &"a".repeat(65)] {
            assert!(!usable_request_id(refused), "{refused:?}");
        }
    }
}

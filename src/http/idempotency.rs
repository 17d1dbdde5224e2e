//! `Idempotency-Key` on every mutating endpoint, with the semantics of the
//! best payment APIs.
//!
//! For a caller's key: the first request claims it and runs; its response
//! is stored. The same key with the same request returns that response
//! (header `Idempotent-Replayed: true`) without running again; with a
//! different request, 422 `idempotency_key_reused`. A concurrent request
//! with the key waits (bounded) for the first to finish, else 409
//! `idempotency_request_in_progress`. The key also becomes the ledger
//! entry's idempotency key (`user:<id>:<key>`), so the effect and the key
//! are committed in one transaction; the stored response is a cache over
//! that. A request that died after claiming is taken over after a lease.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::auth::Authenticated;
use super::idempotency_key::{LedgerKey, NotReplayable, REPLAYED_HEADER, SECRET_FIELDS};
use super::routes::RouteSpec;
use super::{ApiError, AppState};
use crate::domain::Timestamp;
use crate::store::Store;
use crate::store::access::IdempotencyOp;

fn unavailable(_: super::idempotency_cache::CacheUnavailable) -> Response {
    ApiError::database_unavailable().into_response()
}

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest accepted key.
pub const KEY_LEN_MAX: usize = 255;
/// How long a second request waits for the first to finish.
const WAIT_MAX: Duration = Duration::from_secs(5);
const WAIT_STEP: Duration = Duration::from_millis(20);
/// A claim older than this with no response belongs to a request that died.
const LEASE_MICROS: i64 = 60 * 1_000_000;
/// Largest response stored for replay; a larger one is passed to the
/// client whole, and a replay answers `idempotency_replay_unavailable`.
pub const STORED_RESPONSE_BYTES_MAX: usize = 1024 * 1024;
/// Largest response a mutating handler may produce at all.
const RESPONSE_BYTES_MAX: usize = 256 * 1024 * 1024;

pub async fn idempotency<S: Store>(
    State(state): State<AppState<S>>,
    spec: &'static RouteSpec,
    request: Request,
    next: Next,
) -> Response {
    match run(state, spec, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run<S: Store>(
    state: AppState<S>,
    spec: &'static RouteSpec,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = client_key(&request).map_err(IntoResponse::into_response)?;
    let scope = request
        .extensions()
        .get::<Authenticated>()
        .map(|caller| caller.principal.idempotency_scope())
        .ok_or_else(|| {
            ApiError::internal(&"idempotent route without a principal").into_response()
        })?;
    if spec.replays_from_ledger() {
        let mut request = request;
        request
            .extensions_mut()
            .insert(LedgerKey(format!("{scope}:{key}")));
        return Ok(next.run(request).await);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, spec.body_bytes_max)
        .await
        .map_err(|_| ApiError::body_too_large(spec.body_bytes_max).into_response())?;
    let fingerprint = fingerprint(spec, parts.uri.path(), &bytes);
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request
        .extensions_mut()
        .insert(LedgerKey(format!("{scope}:{key}")));

    let store = &state.store;
    let cache = &state.idempotency_cache;
    let claim = |now_us: i64| IdempotencyOp::Claim {
        principal: scope.clone(),
        key: key.clone(),
        fingerprint,
        now_us,
    };
    let claimed = cache
        .write(claim(Timestamp::now().as_micros()))
        .await
        .map_err(unavailable)?;
    if !claimed {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        loop {
            let Some(row) = store
                .idempotency(&scope, &key)
                .await
                .map_err(|e| ApiError::from(e).into_response())?
            else {
                // Released by a failed first request: claim it now.
                if cache
                    .write(claim(Timestamp::now().as_micros()))
                    .await
                    .map_err(unavailable)?
                {
                    break;
                }
                continue;
            };
            if row.fingerprint != fingerprint {
                return Err(ApiError::idempotency_key_reused().into_response());
            }
            if let (Some(status), Some(body)) = (row.status, row.response) {
                return Ok(replay(status, body));
            }
            let now = Timestamp::now().as_micros();
            let take_over = IdempotencyOp::TakeOver {
                principal: scope.clone(),
                key: key.clone(),
                stale_before_us: now - LEASE_MICROS,
                now_us: now,
            };
            if cache.write(take_over).await.map_err(unavailable)? {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_request_in_progress",
                    "A request with this Idempotency-Key is still running; retry shortly.",
                    "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试。",
                )
                .into_response());
            }
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let status = parts.status;
    // The client always gets the whole response; only its storage for
    // replay is bounded.
    let bytes = axum::body::to_bytes(body, RESPONSE_BYTES_MAX)
        .await
        .map_err(|e| ApiError::internal(&e).into_response())?;
    if status.is_server_error() {
        // Nothing was decided: let a retry run again.
        let release = IdempotencyOp::Release {
            principal: scope.clone(),
            key: key.clone(),
        };
        let _ = cache.write(release).await;
    } else {
        let stored = if parts.extensions.get::<NotReplayable>().is_some() {
            not_replayable_body(NotKept::Secret)
        } else if bytes.len() > STORED_RESPONSE_BYTES_MAX {
            not_replayable_body(NotKept::TooLarge)
        } else {
            (status.as_u16(), bytes.to_vec())
        };
        let complete = IdempotencyOp::Complete {
            principal: scope.clone(),
            key: key.clone(),
            status: stored.0,
            response: stored.1,
            now_us: Timestamp::now().as_micros(),
        };
        if let Err(error) = cache.write(complete).await {
            tracing::warn!(%error, "could not store the idempotent response");
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn client_key(request: &Request) -> Result<String, ApiError> {
    let Some(value) = request.headers().get(IDEMPOTENCY_HEADER) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "This endpoint changes data: send an Idempotency-Key header (e.g. a UUID) so that a retry cannot act twice.",
            "此接口会修改数据：请提供 Idempotency-Key 请求头（例如一个 UUID），以免重试时重复执行。",
        ));
    };
    let key = value.to_str().unwrap_or_default();
    let valid = (1..=KEY_LEN_MAX).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_invalid",
            format!("An Idempotency-Key is 1 to {KEY_LEN_MAX} visible ASCII characters."),
            format!("Idempotency-Key 须为 1 至 {KEY_LEN_MAX} 个可见 ASCII 字符。"),
        ));
    }
    Ok(key.to_string())
}

/// SHA-256 over the route, the path (with its ids) and the body, with
/// secret fields removed and JSON objects in key order.
fn fingerprint(spec: &RouteSpec, path: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(spec.method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                for field in SECRET_FIELDS {
                    object.remove(field);
                }
            }
            hasher.update(value.to_string().as_bytes());
        }
        Err(_) => hasher.update(body),
    }
    hasher.finalize().into()
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Why a response was not kept for replay.
#[derive(Debug, Clone, Copy)]
enum NotKept {
    Secret,
    TooLarge,
}

fn not_replayable_body(why: NotKept) -> (u16, Vec<u8>) {
    let (message, message_zh) = match why {
        NotKept::Secret => (
            "This request succeeded before and returned a secret that is shown only once.",
            "此请求此前已成功，其返回的密钥只显示一次。",
        ),
        NotKept::TooLarge => (
            "This request completed before; its response was too large to keep for replay.",
            "此请求此前已完成，其响应过大，未保留以供重放。",
        ),
    };
    let body = serde_json::json!({"error": {
        "code": "idempotency_replay_unavailable", "message": message, "message_zh": message_zh}});
    (409, body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::{RouteId, spec};

    #[test]
    fn fingerprints_ignore_secrets_and_key_order_but_not_values() {
        let of = |path: &str, body: &[u8]| fingerprint(spec(RouteId::CreateUser), path, body);
        let a = of("/api/v1/users", br#"{"username":"a","password":"one"}"#);
        let b = of("/api/v1/users", br#"{"password":"two","username":"a"}"#);
        let c = of("/api/v1/users", br#"{"username":"b","password":"one"}"#);
        let d = of("/api/v1/other", br#"{"username":"a","password":"one"}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}

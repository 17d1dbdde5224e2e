//! Enforcing a route's row before its handler runs: a body declared larger
//! than the route takes is 413, a caller the route's `Access` does not
//! allow is 401 or 403, and a cookie-authenticated mutation needs the
//! session's CSRF token. (Who the caller is was settled by `auth`.)

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::auth::{Authenticated, CSRF_HEADER, Via};
use super::routes::{RouteId, RouteSpec};

/// Enforces a route's `Access` and, for cookie-authenticated mutations,
/// the CSRF token.
pub async fn authorize(spec: &'static RouteSpec, request: Request, next: Next) -> Response {
    // A body declared larger than the route takes is 413 before anything
    // else is said about the request (a missing key, the caller's role).
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > spec.body_bytes_max as u64) {
        return ApiError::body_too_large(spec.body_bytes_max).into_response();
    }
    let caller = request.extensions().get::<Authenticated>();
    let role = caller.map(|c| c.principal.role);
    if !spec.access.allows(role) {
        let error = if role.is_none() {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_required",
                "Sign in, or send an API token, to use this endpoint.",
                "请先登录，或提供 API 令牌。",
            )
        } else {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Your role may not use this endpoint.",
                "您的角色无权使用此接口。",
            )
        };
        return error.into_response();
    }
    // A reset password: only changing it, reading `/me` and logging out.
    if caller.is_some_and(Authenticated::must_change_password)
        && !matches!(
            spec.id,
            RouteId::ChangePassword | RouteId::Me | RouteId::Logout
        )
    {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "An administrator reset your password: choose your own first (PUT /api/v1/me/password).",
            "管理员已重置您的密码：请先设置您自己的新密码。",
        )
        .into_response();
    }
    if spec.is_mutating()
        && let Some(Authenticated {
            via: Via::Session { csrf_token, .. },
            ..
        }) = caller
    {
        let sent = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        if !sent
            .is_some_and(|sent| constant_time_eq(sent.as_bytes(), csrf_token.expose().as_bytes()))
        {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_token_invalid",
                "Missing or wrong X-CSRF-Token header; reload the page and try again.",
                "缺少或错误的 X-CSRF-Token，请刷新页面后重试。",
            )
            .into_response();
        }
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

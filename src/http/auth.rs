//! Who is calling, and may they call this route.
//!
//! `authenticate` runs on every request: a bearer token
//! (`Authorization: Bearer vlt_…`) or the session cookie (`vl_session`)
//! becomes an `Authenticated` in the request's extensions. `authorize`
//! runs per route with that route's `RouteSpec`: 401 without a principal,
//! 403 for the wrong role, and for cookie-authenticated mutations a CSRF
//! check (`X-CSRF-Token` must equal the session's token). Object-level
//! checks (own data only, foreign ids → 404) are the handlers' job.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::domain::{Principal, Redacted};
use crate::service::access;
use crate::store::Store;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "vl_session";
/// Header carrying the CSRF token on cookie-authenticated mutations.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        csrf_token: Redacted<String>,
        session_hash: [u8; 32],
        /// An administrator reset the password: until the user changes it,
        /// the session may only change it, read `/me` or log out.
        must_change_password: bool,
    },
    Token,
}

impl Authenticated {
    /// Whether this caller must change their password before anything else.
    pub fn must_change_password(&self) -> bool {
        matches!(
            self.via,
            Via::Session {
                must_change_password: true,
                ..
            }
        )
    }
}

/// An authenticated caller, in the request's extensions.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub via: Via,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Resolves the caller. A presented bearer token that is not live is an
/// error (401), since an integration should hear that its token is dead;
/// a stale session cookie is just ignored (the request is anonymous).
pub async fn authenticate<S: Store>(
    State(state): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let authenticated = if let Some(token) = bearer(headers) {
        let epoch = state.writer.credential_epoch();
        match state
            .token_cache
            .authenticate(&state.store, epoch, token)
            .await
        {
            Ok(Some(principal)) => Some(Authenticated {
                principal,
                via: Via::Token,
            }),
            Ok(None) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The API token is unknown, expired or revoked.",
                    "API 令牌无效、已过期或已吊销。",
                )
                .into_response();
            }
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        match access::authenticate_session(&state.store, secret).await {
            Ok(Some((principal, csrf_token, session_hash))) => {
                let must_change_password =
                    match state.store.password_reset_pending(principal.user_id).await {
                        Ok(pending) => pending,
                        Err(error) => return ApiError::from(error).into_response(),
                    };
                Some(Authenticated {
                    principal,
                    via: Via::Session {
                        csrf_token,
                        session_hash,
                        must_change_password,
                    },
                })
            }
            Ok(None) => None,
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else {
        None
    };
    if let Some(authenticated) = authenticated {
        request.extensions_mut().insert(authenticated);
    }
    next.run(request).await
}

/// Extractor for handlers behind `Access::AnyUser` or `Access::Roles`.
pub struct Auth(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "authentication_required",
                    "Sign in, or send an API token, to use this endpoint.",
                    "请先登录，或提供 API 令牌。",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_bearer_tokens_are_found_in_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; vl_session=vls_abc; b=2".parse().unwrap(),
        );
        headers.insert(header::AUTHORIZATION, "Bearer vlt_xyz".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("vls_abc"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(bearer(&headers), Some("vlt_xyz"));
    }
}

//! The pages' only way to the data: the JSON API, called in-process.
//!
//! A page request is already authenticated (the same `auth::authenticate`
//! layer runs on pages); the principal is handed to the API request as an
//! extension, so the API neither looks the session up again nor trusts
//! anything the page says about who is calling. Mutations carry the form's
//! CSRF token as `X-CSRF-Token` — the API's own check is what protects the
//! forms — and the form's idempotency key as `Idempotency-Key`, so a double
//! click or a reload of a POST is answered once.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::i18n::Lang;
use crate::domain::Role;
use crate::http::auth::{Authenticated, CSRF_HEADER, Via};

/// Largest API answer a page reads into memory (downloads bypass pages:
/// the browser fetches them from the API directly).
const ANSWER_BYTES_MAX: usize = 32 * 1024 * 1024;

/// The API router, called in-process.
#[derive(Clone)]
pub struct ApiClient {
    router: Router,
}

/// Who a page acts for, in which language.
#[derive(Clone)]
pub struct Caller {
    pub auth: Option<Authenticated>,
    pub address: Option<ConnectInfo<SocketAddr>>,
    pub lang: Lang,
    /// The page asked for (path and query), when it was a GET: where to
    /// come back to after logging in.
    pub asked_for: Option<String>,
}

impl Caller {
    pub fn role(&self) -> Option<Role> {
        self.auth.as_ref().map(|a| a.principal.role)
    }

    pub fn username(&self) -> &str {
        self.auth
            .as_ref()
            .map(|a| a.principal.username.as_str())
            .unwrap_or("")
    }

    /// The session's CSRF token, which every form of a signed-in page
    /// carries.
    pub fn csrf_token(&self) -> &str {
        match &self.auth {
            Some(Authenticated {
                via: Via::Session { csrf_token, .. },
                ..
            }) => csrf_token.expose(),
            _ => "",
        }
    }

    /// The provider or enterprise this user acts for.
    pub fn party_id(&self) -> Option<uuid::Uuid> {
        self.auth.as_ref().and_then(|a| a.principal.party_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            auth: parts.extensions.get::<Authenticated>().cloned(),
            address: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
            lang: Lang::of(&parts.headers),
            asked_for: (parts.method == Method::GET).then(|| {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| parts.uri.path().to_string())
            }),
        })
    }
}

/// A refusal as the API gave it (or as a page's own field check makes it):
/// a stable code and a message in both languages, with every reason when
/// there are several.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub message_zh: String,
    pub reasons: Vec<Reason>,
    /// The API's whole answer (an import's row report comes back as a 422
    /// that is a report, not an error).
    pub answer: Value,
}

#[derive(Debug, Clone)]
pub struct Reason {
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

impl Refusal {
    /// A page's own check of a field, before anything is sent.
    pub fn invalid(code: &str, message: &str, message_zh: &str) -> Refusal {
        Refusal {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: code.into(),
            message: message.into(),
            message_zh: message_zh.into(),
            reasons: Vec::new(),
            answer: Value::Null,
        }
    }

    /// A page that does not exist (as the API says it).
    pub fn not_found() -> Refusal {
        Refusal {
            status: StatusCode::NOT_FOUND,
            ..Refusal::invalid(
                "not_found",
                "There is no such object, or it is not yours.",
                "对象不存在，或不属于您。",
            )
        }
    }

    fn from_answer(status: StatusCode, body: &[u8]) -> Refusal {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let error = &parsed["error"];
        let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_string();
        match error["code"].as_str() {
            Some(code) => Refusal {
                status,
                code: code.into(),
                message: text(error, "message"),
                message_zh: text(error, "message_zh"),
                reasons: error["reasons"]
                    .as_array()
                    .map(|reasons| {
                        reasons
                            .iter()
                            .map(|r| Reason {
                                code: text(r, "code"),
                                message: text(r, "message"),
                                message_zh: text(r, "message_zh"),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                answer: parsed.clone(),
            },
            None => Refusal {
                answer: parsed.clone(),
                ..Refusal::unexpected(status)
            },
        }
    }

    fn unexpected(status: StatusCode) -> Refusal {
        Refusal {
            status: if status.is_success() {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                status
            },
            code: "unexpected_answer".into(),
            message: "The service gave an unexpected answer; please try again.".into(),
            message_zh: "服务返回了意外的结果，请重试。".into(),
            reasons: Vec::new(),
            answer: Value::Null,
        }
    }
}

/// A path segment from user input, limited to characters ids and codes
/// use, so nothing the user sends can change which API path is called.
pub fn path_part(text: &str) -> &str {
    if !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && text != "."
        && text != ".."
    {
        text
    } else {
        "invalid"
    }
}

/// What a form sends along with its fields.
pub struct Sent<'a> {
    pub csrf_token: &'a str,
    pub idempotency_key: Option<&'a str>,
}

/// A successful answer.
pub struct Answer {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl ApiClient {
    pub fn new(router: Router) -> ApiClient {
        ApiClient { router }
    }

    /// GET `path` and read the JSON answer.
    pub async fn get(&self, caller: &Caller, path: &str) -> Result<Value, Refusal> {
        let answer = self
            .call(caller, Method::GET, path, None, Body::empty(), None)
            .await?;
        Ok(answer.json())
    }

    /// Sends `body` as JSON with `method` on behalf of a form.
    pub async fn send_json(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: &Value,
        sent: Sent<'_>,
    ) -> Result<Value, Refusal> {
        let answer = self
            .call(
                caller,
                method,
                path,
                Some("application/json"),
                Body::from(body.to_string()),
                Some(sent),
            )
            .await?;
        Ok(answer.json())
    }

    /// Sends a form's request body — or, when the page's own field checks
    /// already refused it, that refusal, without calling the API.
    pub async fn send_form(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        body: Result<Value, Refusal>,
        sent: Sent<'_>,
    ) -> Result<Value, Refusal> {
        self.send_json(caller, method, path, &body?, sent).await
    }

    /// POSTs raw bytes (a photo, a bank file, a spreadsheet) for a form.
    pub async fn post_bytes(
        &self,
        caller: &Caller,
        path: &str,
        content_type: &str,
        bytes: Bytes,
        sent: Sent<'_>,
    ) -> Result<Value, Refusal> {
        let answer = self
            .call(
                caller,
                Method::POST,
                path,
                Some(content_type),
                Body::from(bytes),
                Some(sent),
            )
            .await?;
        Ok(answer.json())
    }

    /// One API request; a non-2xx answer becomes a `Refusal`.
    pub async fn call(
        &self,
        caller: &Caller,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Body,
        sent: Option<Sent<'_>>,
    ) -> Result<Answer, Refusal> {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(sent) = &sent {
            request = request.header(CSRF_HEADER, sent.csrf_token);
            if let Some(key) = sent.idempotency_key {
                request = request.header("idempotency-key", key);
            }
        }
        let mut request = request
            .body(body)
            .map_err(|_| Refusal::unexpected(StatusCode::BAD_REQUEST))?;
        if let Some(auth) = &caller.auth {
            request.extensions_mut().insert(auth.clone());
        }
        if let Some(address) = &caller.address {
            request.extensions_mut().insert(*address);
        }
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, ANSWER_BYTES_MAX)
            .await
            .map_err(|_| Refusal::unexpected(StatusCode::BAD_GATEWAY))?;
        if parts.status.is_success() {
            Ok(Answer {
                headers: parts.headers,
                body,
            })
        } else {
            Err(Refusal::from_answer(parts.status, &body))
        }
    }
}

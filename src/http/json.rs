//! `ApiJson<T>`: JSON request bodies with the API's error shape.
//!
//! Request types use `#[serde(deny_unknown_fields)]` and contain only what a
//! client may set, so an unknown or server-owned field is refused with 400
//! `invalid_body` naming it, rather than silently ignored.
//!
//! Every string in a body, and every query parameter, passes the text rule
//! (`domain::text`) before it is parsed into the request type: 422 with the
//! field's name otherwise.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut value = match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(rejection_error(rejection)),
        };
        check_strings(&mut value, "body")?;
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|error| invalid_body(&error.to_string()))
    }
}

/// Applies the text rule to every string in `value`, each named by its
/// field (an array's items by the array's field); line breaks of
/// multi-line fields become `\n`.
fn check_strings(value: &mut serde_json::Value, field: &str) -> Result<(), ApiError> {
    use crate::domain::text::{TextShape, accept};
    use serde_json::Value;
    match value {
        Value::String(text) if !super::idempotency_key::SECRET_FIELDS.contains(&field) => {
            match accept(text, TextShape::of_field(field)) {
                Ok(Some(normalised)) => *text = normalised,
                Ok(None) => {}
                Err(fault) => return Err(text_refused(field, fault)),
            }
        }
        Value::Array(items) => {
            for item in items {
                check_strings(item, field)?;
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields.iter_mut() {
                if crate::domain::text::check(name, TextShape::Line).is_err() {
                    return Err(invalid_body("a field name is not printable text"));
                }
                check_strings(item, name)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// 422 for a field whose text breaks the rule.
pub fn text_refused(field: &str, fault: crate::domain::text::TextFault) -> ApiError {
    let (message, message_zh) = fault.messages(field);
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        fault.code(),
        message,
        message_zh,
    )
}

/// 400 `invalid_body` from serde's message, which names the field
/// (unknown, missing or mistyped) and never echoes values.
fn invalid_body(text: &str) -> ApiError {
    let detail = text.rsplit(": ").next().unwrap_or("invalid field");
    let detail = detail
        .split(" at line ")
        .next()
        .unwrap_or(detail)
        .to_string();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("The body does not match this endpoint: {detail}."),
        format!("请求体字段不符合接口要求：{detail}。"),
    )
}

fn rejection_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json_required",
            "Send the body as JSON with Content-Type: application/json.",
            "请求体须为 JSON，并设置 Content-Type: application/json。",
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "The body is not valid JSON.",
            "请求体不是有效的 JSON。",
        ),
        JsonRejection::JsonDataError(error) => invalid_body(&error.body_text()),
        // Reading stopped at the route's limit (a body sent without its
        // length): the same 413 as a declared length over it.
        JsonRejection::BytesRejection(rejection)
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The request body is larger than this endpoint takes.",
                "请求体超过此接口允许的大小。",
            )
        }
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "The body could not be read.",
            "无法读取请求体。",
        ),
    }
}

/// `ApiQuery<T>`: query strings with the API's error shape (unknown
/// parameters refused, like unknown body fields).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        for (name, value) in
            serde_urlencoded::from_str::<Vec<(String, String)>>(parts.uri.query().unwrap_or(""))
                .unwrap_or_default()
        {
            crate::domain::text::check(&value, crate::domain::text::TextShape::Line)
                .map_err(|fault| text_refused(&name, fault))?;
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let detail = rejection.body_text();
                let detail = detail
                    .rsplit(": ")
                    .next()
                    .unwrap_or("invalid parameter")
                    .to_string();
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("The query string does not match this endpoint: {detail}."),
                    format!("查询参数不符合接口要求：{detail}。"),
                ))
            }
        }
    }
}

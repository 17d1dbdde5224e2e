//! `ApiJson<T>`: JSON request bodies with the API's error shape.
//!
//! Request types use `#[serde(deny_unknown_fields)]` and contain only what a
//! client may set, so an unknown or server-owned field is refused with 400
//! `invalid_body` naming it, rather than silently ignored.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_error(rejection)),
        }
    }
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
        JsonRejection::JsonDataError(error) => {
            // serde's message names the field (unknown, missing or mistyped)
            // and never echoes values.
            let text = error.body_text();
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

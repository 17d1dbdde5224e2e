//! The one error type of the HTTP API.
//!
//! Every failure answers `{"error":{"code","message","message_zh"}}` with a
//! stable snake_case code. Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    message_zh: &'a str,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            message_zh: message_zh.into(),
        }
    }

    /// 503: the database cannot be reached; safe to retry later.
    pub fn database_unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "The database is unavailable. Please try again shortly.",
            "数据库暂时不可用，请稍后重试。",
        )
    }

    /// 500 for a bug: the detail goes to the log only.
    pub fn internal(detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An internal error occurred. It has been logged.",
            "服务器内部错误，已记录。",
        )
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Unavailable(ref source) => {
                tracing::warn!(%source, "database unavailable");
                ApiError::database_unavailable()
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                message_zh: &self.message_zh,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

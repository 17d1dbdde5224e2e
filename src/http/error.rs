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

impl From<crate::service::CommandError> for ApiError {
    fn from(error: crate::service::CommandError) -> Self {
        use crate::service::CommandError as E;
        match error {
            E::Invalid(invalid) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_command",
                format!("The request was refused: {invalid}."),
                format!("请求被拒绝：{invalid}。"),
            ),
            E::InsufficientBalance { account } => ApiError::new(
                StatusCode::CONFLICT,
                "insufficient_balance",
                format!("The account {account} does not hold enough for this."),
                format!("账户 {account} 余额不足。"),
            ),
            E::IdempotencyKeyReused => ApiError::idempotency_key_reused(),
            E::UsernameTaken => ApiError::new(
                StatusCode::CONFLICT,
                "username_taken",
                "That username is already taken.",
                "该用户名已被使用。",
            ),
            E::NotFound => ApiError::not_found(),
            E::KeyState {
                ref key_id,
                ref status,
            } => ApiError::new(
                StatusCode::CONFLICT,
                "issuer_key_state",
                format!("Issuer key {key_id} is {status} and cannot sign again."),
                format!("签发密钥 {key_id} 状态为 {status}，不能再用于签发。"),
            ),
            E::ZoneInvalid { ref zone } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "zone_unknown",
                format!("Zone {zone:?} is not defined within the enterprise's division."),
                format!("功能区「{zone}」未定义或不在企业所在行政区划内。"),
            ),
            E::ProviderTransition { ref from, to } => ApiError::new(
                StatusCode::CONFLICT,
                "provider_status_transition",
                format!("A provider that is {from} cannot become {to}."),
                format!("服务机构当前状态为 {from}，不能变更为 {to}。"),
            ),
            E::ProgrammeExists => ApiError::new(
                StatusCode::CONFLICT,
                "programme_exists",
                "A programme with this code already exists.",
                "该项目代码已存在。",
            ),
            E::ProgrammeState { ref status, needed } => ApiError::new(
                StatusCode::CONFLICT,
                "programme_state",
                format!("The programme is {status}; this needs it to be {needed}."),
                format!("项目当前状态为 {status}，此操作要求状态为 {needed}。"),
            ),
            E::Unchanged { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "unchanged",
                "Nothing to change: the record already says this.",
                "无需修改：记录已是此内容。",
            ),
            E::AccountLocked { until_us } => ApiError::account_locked(until_us),
            E::CredentialsChanged => ApiError::invalid_credentials(),
            E::Unavailable | E::ShuttingDown => ApiError::database_unavailable(),
            E::Overflow => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_overflow",
                "The amounts are too large for the ledger's accounts.",
                "金额过大，超出账户可记录的范围。",
            ),
            E::Internal => ApiError::internal(&error),
        }
    }
}

impl From<crate::service::access::AccessError> for ApiError {
    fn from(error: crate::service::access::AccessError) -> Self {
        use crate::service::access::AccessError as E;
        match error {
            E::InvalidCredentials => ApiError::invalid_credentials(),
            E::AccountLocked { until } => ApiError::account_locked(until.as_micros()),
            E::Command(command) => command.into(),
            E::Store(store) => store.into(),
            E::TokenAlreadyIssued => ApiError::new(
                StatusCode::CONFLICT,
                "token_already_issued",
                "This request already issued a token; its secret was shown once. Revoke it and create another if it was lost.",
                "此请求已签发令牌，密钥只显示一次。如已遗失，请吊销后重新创建。",
            ),
            E::Hashing => ApiError::internal(&error),
        }
    }
}

impl ApiError {
    /// 404 for anything unknown or not the caller's: ids cannot be probed.
    pub fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such object, or it is not yours.",
            "对象不存在，或不属于您。",
        )
    }

    /// The id in a path, or 404 when it is not a UUID: a malformed id is as
    /// unknown as a missing one.
    pub fn id_or_404(text: &str) -> Result<uuid::Uuid, ApiError> {
        uuid::Uuid::parse_str(text).map_err(|_| ApiError::not_found())
    }

    pub fn invalid_credentials() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Wrong username or password.",
            "用户名或密码错误。",
        )
    }

    pub fn account_locked(until_us: i64) -> ApiError {
        let until = crate::domain::Timestamp::from_micros(until_us).to_cst_rfc3339();
        let until = until.get(..16).unwrap_or(&until).replace('T', " ");
        ApiError::new(
            StatusCode::FORBIDDEN,
            "account_locked",
            format!("Too many failed logins: the account is locked until {until} (UTC+8)."),
            format!("登录失败次数过多，账户已锁定至 {until}（北京时间）。"),
        )
    }

    pub fn idempotency_key_reused() -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request.",
            "该 Idempotency-Key 已用于另一个不同的请求。",
        )
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

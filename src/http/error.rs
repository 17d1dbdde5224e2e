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
    /// Every reason, when a refusal has several (e.g. each failed
    /// eligibility rule); `code` is the first one's.
    pub reasons: Vec<ErrorReason>,
}

/// One reason of a refusal with several.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorReason {
    pub code: String,
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
    #[serde(skip_serializing_if = "<[ErrorReason]>::is_empty")]
    reasons: &'a [ErrorReason],
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
            reasons: Vec::new(),
        }
    }

    /// Every reason of this refusal: its `reasons`, or the error itself
    /// when it has only one.
    pub fn every_reason(&self) -> Vec<ErrorReason> {
        if !self.reasons.is_empty() {
            return self.reasons.clone();
        }
        vec![ErrorReason {
            code: self.code.to_string(),
            message: self.message.clone(),
            message_zh: self.message_zh.clone(),
        }]
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
            E::Unavailable | E::ShuttingDown => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_unavailable",
                "The ledger could not record this now (the database is unavailable or changing over); nothing was recorded twice: retry with the same Idempotency-Key.",
                "账本暂时无法记录（数据库不可用或正在切换）；不会重复记账：请使用相同的 Idempotency-Key 重试。",
            ),
            E::Overflow => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_overflow",
                "The amounts are too large for the ledger's accounts.",
                "金额过大，超出账户可记录的范围。",
            ),
            E::BudgetExhausted { ref programme } => ApiError::new(
                StatusCode::CONFLICT,
                "programme_budget_exhausted",
                format!(
                    "The budget of programme {programme} is used up: no voucher can be issued."
                ),
                format!("项目 {programme} 的预算已全部发放完毕，无法再发放补贴券。"),
            ),
            E::NotEligible { failures } => ApiError::of_checks(
                StatusCode::CONFLICT,
                "not_eligible",
                &failures,
                ("Not eligible: ", "不符合申领条件："),
            ),
            E::NotRedeemable { refusals } => {
                let status = refusals
                    .first()
                    .map_or(StatusCode::CONFLICT, |c| redemption_status(c.code));
                ApiError::of_checks(
                    status,
                    "not_redeemable",
                    &refusals,
                    ("Cannot redeem: ", "不能兑付："),
                )
            }
            E::FaceValueNotOffered { ref offered } => {
                let offered: Vec<String> = offered
                    .iter()
                    .map(|fen| crate::domain::Fen::new(*fen).to_string())
                    .collect();
                let offered = offered.join(", ");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "face_value_not_offered",
                    format!("The programme offers these face values: {offered}."),
                    format!("本项目的面额为：{offered}。"),
                )
            }
            E::EnterpriseNotRegistered => ApiError::new(
                StatusCode::NOT_FOUND,
                "enterprise_not_registered",
                "The enterprise is not in the registry yet; ask the economy bureau to register it.",
                "企业尚未登记，请联系经信局办理登记。",
            ),
            E::ProgrammeEnded => ApiError::new(
                StatusCode::CONFLICT,
                "programme_ended",
                "The programme's use period has ended: a voucher issued now could not be used.",
                "项目使用期已结束，现在发放的补贴券将无法使用。",
            ),
            E::IssuerKeyUnavailable { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "issuer_key_unavailable",
                "Vouchers cannot be signed right now: no issuer key is available. The operators have been alerted; try again later.",
                "暂时无法签发补贴券（签发密钥不可用），已通知运维人员，请稍后重试。",
            ),
            E::PersonalDataKeyUnavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "personal_data_key_unavailable",
                "Personal data cannot be recorded right now: the master key is not available. The operators have been alerted; try again later.",
                "暂时无法记录个人信息（主密钥不可用），已通知运维人员，请稍后重试。",
            ),
            E::PersonalDataErased => ApiError::new(
                StatusCode::CONFLICT,
                "personal_data_erased",
                "This subject's personal data was erased; nothing more is recorded under it.",
                "该主体的个人信息已删除，不再记录其个人信息。",
            ),
            E::PersonalDataRestricted { ref retain_until } => ApiError::new(
                StatusCode::CONFLICT,
                "personal_data_restricted",
                format!(
                    "This subject's personal data is restricted to storage (retention until {retain_until}); nothing new is recorded under it."
                ),
                format!(
                    "该主体的个人信息已限制处理（保存期限至 {retain_until}），仅保存，不再记录新的个人信息。"
                ),
            ),
            E::PersonalDataRetentionRunning { ref retain_until } => ApiError::new(
                StatusCode::CONFLICT,
                "personal_data_retention_running",
                format!(
                    "A retention period runs until {retain_until}: the data stays restricted, and can be erased after that day."
                ),
                format!("保存期限至 {retain_until}，期间个人信息仅限制处理，期满后方可删除。"),
            ),
            E::VoucherState { ref status } => ApiError::new(
                StatusCode::CONFLICT,
                "voucher_state",
                format!("The voucher is {status}; this applies only to active vouchers."),
                format!("补贴券当前状态为 {status}，此操作仅适用于有效的补贴券。"),
            ),
            E::RedemptionState { ref status, action } => ApiError::new(
                StatusCode::CONFLICT,
                "redemption_state",
                format!(
                    "A redemption that is {status} cannot {}.",
                    action.replace('_', " ")
                ),
                format!(
                    "兑付记录当前状态为 {}，不能执行此操作（{action}）。",
                    status.name_zh()
                ),
            ),
            E::NothingToRecover => ApiError::new(
                StatusCode::CONFLICT,
                "nothing_to_recover",
                "Nothing has been paid to this provider from the programme.",
                "该项目尚未向该服务机构支付补贴，无需追回。",
            ),
            E::VoucherNotExpired { ref valid_until } => ApiError::new(
                StatusCode::CONFLICT,
                "voucher_not_expired",
                format!("The voucher is valid until {valid_until}."),
                format!("该补贴券有效期至 {valid_until}，尚未过期。"),
            ),
            E::KeyNotRevoked { ref key_id } => ApiError::new(
                StatusCode::CONFLICT,
                "issuer_key_not_revoked",
                format!("Issuer key {key_id} is not revoked: its vouchers need no re-issue."),
                format!("签发密钥 {key_id} 未被吊销，其补贴券无需重新签发。"),
            ),
            E::SettlementRunExists { run_id } => ApiError::new(
                StatusCode::CONFLICT,
                "settlement_run_exists",
                format!(
                    "Settlement run {run_id} already covers this programme and period; nothing new was created."
                ),
                format!("该项目此期间已有结算批次 {run_id}，未重复创建。"),
            ),
            E::NothingToSettle => ApiError::new(
                StatusCode::CONFLICT,
                "nothing_to_settle",
                "No confirmed redemption of this period is waiting for settlement.",
                "本期间没有待结算的已确认兑付记录。",
            ),
            E::SettlementState { ref status, needed } => ApiError::new(
                StatusCode::CONFLICT,
                "settlement_state",
                format!("The settlement run is {status}; this step needs it to be {needed}."),
                format!("结算批次当前状态为 {status}，此操作要求状态为 {needed}。"),
            ),
            E::SelfApproval => ApiError::new(
                StatusCode::FORBIDDEN,
                "settlement_self_approval",
                "You prepared this settlement run: another finance user must approve it.",
                "该结算批次由您编制，须由另一名财政人员审核批准。",
            ),
            E::LineNotHeld { ref state } => ApiError::new(
                StatusCode::CONFLICT,
                "settlement_line_not_held",
                format!("The line is {state}; only a held line is resolved."),
                format!("该明细当前为 {state}，只有被暂缓的明细需要处理。"),
            ),
            E::FlagsNotResolvable { ref codes } => ApiError::new(
                StatusCode::CONFLICT,
                "settlement_flag_not_resolvable",
                format!(
                    "{} cannot be cleared by a note: the amount waits for next year's settlement.",
                    codes.join(", ")
                ),
                format!(
                    "{} 不能通过说明解除，该金额留待下一年度结算。",
                    codes.join("、")
                ),
            ),
            E::RedemptionSettled { run_id } => ApiError::new(
                StatusCode::CONFLICT,
                "redemption_settled",
                format!(
                    "The redemption is in approved settlement run {run_id}: it can no longer be reversed or frozen."
                ),
                format!("该兑付记录已列入已批准的结算批次 {run_id}，不能再冲正或冻结。"),
            ),
            E::PayoutState {
                ref reference,
                ref status,
            } => ApiError::new(
                StatusCode::CONFLICT,
                "payout_state",
                format!("Payout {reference} is already {status}."),
                format!("付款 {reference} 已是 {status} 状态。"),
            ),
            E::InputRefused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "input_refused",
                "The database refused a value of this request (for example a character it cannot store). Nothing was recorded.",
                "数据库拒绝了本请求中的某个值（例如无法保存的字符），未作任何记录。",
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
            E::PartyUnknown { kind } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "party_unknown",
                format!(
                    "party_id names no registered {kind}: a {kind} user works for a {kind} in the registry."
                ),
                if kind == "provider" {
                    "party_id 不是已登记的服务机构：服务机构用户必须属于登记在册的服务机构。"
                } else {
                    "party_id 不是已登记的企业：企业用户必须属于登记在册的企业。"
                },
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

    /// 413: the body is larger than the route takes.
    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The request body is larger than {limit} bytes."),
            format!("请求体超过 {limit} 字节。"),
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
        metrics::counter!(
            crate::metrics::REFUSALS,
            "code" => self.code,
            "status" => self.status.as_str().to_string()
        )
        .increment(1);
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                message_zh: &self.message_zh,
                reasons: &self.reasons,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is retryable; a second is about how long a
            // database failover or a busy writer takes to clear.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

impl From<crate::service::UseCaseError> for ApiError {
    fn from(error: crate::service::UseCaseError) -> ApiError {
        match error {
            crate::service::UseCaseError::Command(error) => error.into(),
            crate::service::UseCaseError::Store(error) => error.into(),
        }
    }
}

/// The HTTP status of a redemption refused for `code`: the provider's own
/// standing is 403, a request that can never succeed is 422, the
/// voucher's state (or a cap) is 409.
pub fn redemption_status(code: &str) -> StatusCode {
    match code {
        "provider_not_approved"
        | "provider_suspended"
        | "provider_removed"
        | "provider_blacklisted"
        | "provider_category_not_approved"
        | "related_party"
        | "offline_device_unregistered" => StatusCode::FORBIDDEN,
        "category_not_covered"
        | "subsidy_zero"
        | "enterprise_share_not_positive"
        | "holder_binding_invalid"
        | "offline_subsidy_mismatch" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

impl ErrorReason {
    pub fn of(check: &crate::domain::eligibility::Check) -> ErrorReason {
        ErrorReason {
            code: check.code.to_string(),
            message: check.message.clone(),
            message_zh: check.message_zh.clone(),
        }
    }
}

impl ApiError {
    /// A refusal with several reasons: the first one's code, every one in
    /// `reasons`, the messages joined after `prefix` (English, Chinese).
    pub fn of_checks(
        status: StatusCode,
        fallback_code: &'static str,
        checks: &[crate::domain::eligibility::Check],
        (prefix, prefix_zh): (&str, &str),
    ) -> ApiError {
        let code = checks.first().map_or(fallback_code, |check| check.code);
        let message: Vec<&str> = checks.iter().map(|c| c.message.as_str()).collect();
        let message_zh: Vec<&str> = checks.iter().map(|c| c.message_zh.as_str()).collect();
        ApiError {
            reasons: checks.iter().map(ErrorReason::of).collect(),
            ..ApiError::new(
                status,
                code,
                format!("{prefix}{}", message.join(" ")),
                format!("{prefix_zh}{}", message_zh.join("")),
            )
        }
    }
}

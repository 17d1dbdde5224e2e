//! Sessions, the caller's own account and tokens, and user administration.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Auth, Authenticated, SESSION_COOKIE, Via};
use super::idempotency_key::{LedgerKey, NotReplayable};
use super::json::{ApiJson, ApiQuery};
use super::page::KeyPage;
use super::{ApiError, AppState};
use crate::domain::{Password, PasswordError, Role, Timestamp, Username};
use crate::service::access::{self, SESSION_TTL_SECONDS};
use crate::service::commands::Envelope;
use crate::service::commands::access::DISPLAY_NAME_CHARS_MAX;
use crate::store::Store;
use crate::store::access::{TokenRecord, UserRecord};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    /// The provider or enterprise a provider/enterprise user acts for.
    pub party_id: Option<Uuid>,
    /// The person's name, when one was given.
    pub display_name: Option<String>,
    pub created_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(user: &UserRecord) -> Self {
        UserView {
            id: user.id,
            username: user.username.clone(),
            role: user.role.clone(),
            party_id: user.party_id,
            display_name: user.display_name.clone(),
            created_at: Timestamp::from_micros(user.created_at_us).to_cst_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserView,
    /// Send back as `X-CSRF-Token` on every mutating request made with the
    /// session cookie.
    pub csrf_token: String,
    pub expires_at: String,
    /// An administrator reset the password: until the user sets their own
    /// (`PUT /api/v1/me/password`), every other request of this session
    /// answers 403 `password_change_required`.
    pub must_change_password: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The new password (at least 12 characters); the user must change it
    /// at the next login.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "provider billing system".
    pub name: String,
    /// Lifetime in days, 1–366.
    pub ttl_days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl From<&TokenRecord> for TokenView {
    fn from(token: &TokenRecord) -> Self {
        let show = |us: i64| Timestamp::from_micros(us).to_cst_rfc3339();
        TokenView {
            id: token.id,
            name: token.name.clone(),
            prefix: token.prefix.clone(),
            created_at: show(token.created_at_us),
            expires_at: show(token.expires_at_us),
            revoked_at: token.revoked_at_us.map(show),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// The bearer token. Shown once: store it now.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    /// admin, finance, provider, enterprise or auditor.
    pub role: String,
    /// Required for provider and enterprise users; absent otherwise.
    pub party_id: Option<Uuid>,
    /// The person's name as signed on documents (编制人, 审核人), at most
    /// 50 characters; trimmed, and empty means none. Personal data: kept
    /// on the user only, never in the ledger.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub done: bool,
}

fn password_error(error: PasswordError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_rejected",
        format!("{error}."),
        match error {
            PasswordError::TooShort => "密码至少需要 12 个字符。",
            PasswordError::TooLong => "密码最多 128 个字符。",
        },
    )
}

fn too_many(seconds: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many attempts; try again in {seconds} s."),
        format!("尝试次数过多，请在 {seconds} 秒后重试。"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The caller's socket address, when the server was started with connect
/// info (always, in `serve`; not in in-process tests).
pub struct ClientAddress(Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

pub async fn login<S: Store>(
    State(state): State<AppState<S>>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, Response> {
    if let Some(address) = address {
        state
            .limits
            .login_per_address
            .hit(&address.ip().to_string())
            .map_err(too_many)?;
    }
    // Bounded key: a username is at most 64 characters, and a flood of
    // distinct long strings must not grow the limiter's memory.
    let account_key: String = request.username.chars().take(64).collect();
    state
        .limits
        .login_per_account
        .hit(&account_key)
        .map_err(too_many)?;
    let invalid = || ApiError::invalid_credentials().into_response();
    let username = Username::parse(&request.username).map_err(|_| invalid())?;
    let password = Password::for_login(request.password).map_err(|_| invalid())?;
    let grant = access::login(&state.store, &state.writer, username.as_str(), &password)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let user = state
        .store
        .user_by_id(grant.principal.user_id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .ok_or_else(invalid)?;
    let must_change_password = state
        .store
        .password_reset_pending(user.id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let body = LoginResponse {
        user: UserView::from(&user),
        csrf_token: grant.csrf_token.expose().clone(),
        expires_at: grant.expires_at.to_cst_rfc3339(),
        must_change_password,
    };
    // `Secure` is added with --secure-cookies, to this cookie and every
    // other, by http::security_headers.
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_TTL_SECONDS}",
        grant.session.text.expose()
    );
    let mut response = (StatusCode::OK, Json(body)).into_response();
    let value =
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e).into_response())?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    response.extensions_mut().insert(NotReplayable);
    Ok(response)
}

pub async fn logout<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
) -> Result<Response, ApiError> {
    let Authenticated {
        principal,
        via: Via::Session { session_hash, .. },
    } = caller
    else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_a_session",
            "This request used an API token, not a web session; revoke the token instead.",
            "此请求使用的是 API 令牌而非网页会话；如需停用，请吊销令牌。",
        ));
    };
    access::end_session(&state.writer, &principal, key, session_hash).await?;
    let mut response = Json(Done { done: true }).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("vl_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

pub async fn me<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<UserView>, ApiError> {
    let user = state
        .store
        .user_by_id(caller.principal.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(UserView::from(&user)))
}

pub async fn change_password<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<Json<Done>, ApiError> {
    let new = Password::new(request.new_password).map_err(password_error)?;
    let current = Password::for_login(request.current_password)
        .map_err(|_| ApiError::invalid_credentials())?;
    access::change_password(
        &state.store,
        &state.writer,
        &caller.principal,
        key,
        &current,
        &new,
    )
    .await?;
    Ok(Json(Done { done: true }))
}

/// An administrator sets a user's password; the user must change it at the
/// next login (their sessions and API tokens end now).
pub async fn reset_password<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
) -> Result<Json<Done>, ApiError> {
    let user_id = ApiError::id_or_404(&id)?;
    let password = Password::new(request.password).map_err(password_error)?;
    let by = crate::service::commands::Envelope::new(caller.principal.actor(), key);
    access::reset_password(&state.store, &state.writer, by, user_id, &password).await?;
    Ok(Json(Done { done: true }))
}

pub async fn list_my_tokens<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.store.tokens_of_user(caller.principal.user_id).await?;
    Ok(Json(TokenList {
        tokens: tokens.iter().map(TokenView::from).collect(),
    }))
}

pub async fn create_token<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<CreateTokenRequest>,
) -> Result<Response, ApiError> {
    let (record, secret) = access::create_token(
        &state.writer,
        &caller.principal,
        key,
        request.name,
        request.ttl_days,
    )
    .await?;
    let body = CreatedToken {
        token: TokenView::from(&record),
        secret: secret.text.expose().clone(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.extensions_mut().insert(NotReplayable);
    Ok(response)
}

pub async fn revoke_token<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(token_id): Path<String>,
) -> Result<Json<Done>, ApiError> {
    let token_id = ApiError::id_or_404(&token_id)?;
    // Another user's token is "not found", exactly like a missing one.
    let token = state.store.token_by_id(token_id).await?;
    if token.is_none_or(|t| t.user_id != caller.principal.user_id) {
        return Err(ApiError::not_found());
    }
    access::revoke_token(&state.writer, &caller.principal, key, token_id).await?;
    Ok(Json(Done { done: true }))
}

pub async fn list_users<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<UserList>, ApiError> {
    let users = state.store.users_after(page.after(), page.limit()).await?;
    Ok(Json(UserList {
        next_cursor: page.next_cursor(&users, |u| &u.username),
        users: users.iter().map(UserView::from).collect(),
    }))
}

pub async fn create_user<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let username = Username::parse(&request.username).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "username_rejected",
            format!("{e}."),
            "用户名须为 3–64 个字符，仅含小写字母、数字、'.'、'_'、'-'，并以字母或数字开头。",
        )
    })?;
    let role = Role::parse(&request.role).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "role_rejected",
            "The role is one of admin, finance, provider, enterprise, auditor.",
            "角色须为 admin、finance、provider、enterprise、auditor 之一。",
        )
    })?;
    if role.needs_party() != request.party_id.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "party_rejected",
            "Provider and enterprise users need a party_id; other roles must not have one.",
            "服务机构和企业用户必须提供 party_id；其他角色不得提供。",
        ));
    }
    let password = Password::new(request.password).map_err(password_error)?;
    let display_name = request.display_name.as_deref().map(str::trim);
    if display_name.is_some_and(|name| name.chars().count() > DISPLAY_NAME_CHARS_MAX) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "display_name_rejected",
            format!("A display name has at most {DISPLAY_NAME_CHARS_MAX} characters."),
            format!("姓名最多 {DISPLAY_NAME_CHARS_MAX} 个字符。"),
        ));
    }
    let new_user = access::NewUser {
        username,
        role,
        party_id: request.party_id,
        display_name: display_name.map(str::to_string),
    };
    let by = Envelope::new(caller.principal.actor(), key);
    let user_id = access::create_user(&state.store, &state.writer, by, new_user, &password).await?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))).into_response())
}

pub async fn get_user<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(user_id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let user_id = ApiError::id_or_404(&user_id)?;
    let reads_everyone = matches!(
        caller.principal.role,
        Role::Admin | Role::Finance | Role::Auditor
    );
    if !reads_everyone && user_id != caller.principal.user_id {
        return Err(ApiError::not_found());
    }
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(UserView::from(&user)))
}

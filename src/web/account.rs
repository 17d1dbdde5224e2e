//! Login, logout, password change and the language switch.
//!
//! The login form has no session yet, so it is protected against login
//! CSRF by a double-submit token: `GET /login` sets a random cookie
//! (`vl_login`, SameSite=Strict) and the same value in the form; `POST
//! /login` requires both to match. The session itself is made by the API
//! (`POST /api/v1/session`), whose cookie is passed on to the browser.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::ApiClient;
use super::backend::{Caller, Refusal, Sent};
use super::form::{self, Fields};
use super::i18n::{LANG_COOKIE, Lang};
use super::layout::{self, Notice, PageResult};
use crate::domain::Role;

/// The double-submit cookie of the login form.
const LOGIN_COOKIE: &str = "vl_login";

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/", get(start))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/language", get(language))
}

#[derive(Deserialize)]
struct LoginQuery {
    done: Option<String>,
    /// The page to come back to after logging in (a local path).
    next: Option<String>,
}

/// `/`: the caller's start page, or the login page.
async fn start(caller: Caller) -> Response {
    match caller.role() {
        Some(role) => Redirect::to(layout::home_of(role)).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

async fn login_page(caller: Caller, Query(query): Query<LoginQuery>) -> Response {
    if let Some(role) = caller.role() {
        return Redirect::to(layout::home_of(role)).into_response();
    }
    let next = query.next.as_deref().unwrap_or("");
    login_form(
        &caller,
        &Notice::from_query(query.done.as_deref()),
        "",
        next,
    )
}

fn login_form(caller: &Caller, notice: &Notice, username: &str, next: &str) -> Response {
    let lang = caller.lang;
    let token = form::random_token();
    let body = html! {
        h1 { (lang.t("登录", "Log in")) }
        (layout::notice(lang, notice))
        form.stack.card method="post" action="/login" {
            input type="hidden" name="login_token" value=(token);
            @if is_local_path(next) { input type="hidden" name="next" value=(next); }
            (layout::field(lang, "username", "用户名", "Username", "text", username, true))
            (layout::field(lang, "password", "密码", "Password", "password", "", true))
            button type="submit" data-busy=(lang.t("正在登录…", "Logging in…")) { (lang.t("登录", "Log in")) }
        }
        p.muted {
            (lang.t(
                "企业、服务机构、财政局、经信局和审计人员使用各自的账号登录。",
                "Enterprises, providers, the finance bureau, the economy bureau and auditors each log in with their own account.",
            ))
        }
    };
    let mut response = layout::answer(
        notice.status(),
        layout::page(caller, lang.t("登录", "Log in"), body),
    );
    let cookie = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn login(
    State(api): State<ApiClient>,
    caller: Caller,
    headers: HeaderMap,
    fields: Fields,
) -> Response {
    let username = fields.get("username").to_string();
    let cookie = crate::http::auth::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if cookie.is_empty() || cookie != fields.get("login_token") {
        let refusal = Refusal::invalid(
            "login_form_expired",
            "The login form expired or came from another site; please log in again.",
            "登录表单已失效或来自其他网站，请重新登录。",
        );
        return login_form(
            &caller,
            &Notice::Refused(refusal),
            &username,
            fields.get("next"),
        );
    }
    let body = json!({ "username": username, "password": fields.get("password") });
    let answer = api
        .call(
            &caller,
            Method::POST,
            "/api/v1/session",
            Some("application/json"),
            axum::body::Body::from(body.to_string()),
            None,
        )
        .await;
    match answer {
        Ok(answer) => {
            let json = answer.json();
            let home = Role::parse(layout::s(&json["user"], "role"))
                .map(layout::home_of)
                .unwrap_or("/");
            let next = fields.get("next");
            let target = if json["must_change_password"].as_bool() == Some(true) {
                "/account/password?reset=1"
            } else if is_local_path(next) {
                next
            } else {
                home
            };
            let mut response = Redirect::to(target).into_response();
            if let Some(session) = answer.headers.get(header::SET_COOKIE) {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, session.clone());
            }
            response
        }
        Err(refusal) => login_form(
            &caller,
            &Notice::Refused(refusal),
            &username,
            fields.get("next"),
        ),
    }
}

async fn logout(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> Response {
    if caller.role().is_none() {
        return Redirect::to("/login").into_response();
    }
    let sent: Sent = fields.sent();
    match api
        .send_json(&caller, Method::DELETE, "/api/v1/session", &json!({}), sent)
        .await
    {
        Ok(_) => {
            let mut response = Redirect::to("/login").into_response();
            let cleared = format!(
                "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
                crate::http::auth::SESSION_COOKIE
            );
            if let Ok(value) = HeaderValue::from_str(&cleared) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(refusal) => layout::problem(&caller, &refusal),
    }
}

async fn password_page(caller: Caller) -> PageResult {
    if caller.role().is_none() {
        return Err(Redirect::to("/login").into_response());
    }
    Ok(password_form(&caller, &Notice::None))
}

fn password_form(caller: &Caller, notice: &Notice) -> Response {
    let lang = caller.lang;
    let body = html! {
        h1 { (lang.t("修改密码", "Change password")) }
        (layout::notice(lang, notice))
        @if caller.auth.as_ref().is_some_and(|auth| auth.must_change_password()) {
            p.notice.warning data-reset role="status" { (lang.t(
                "管理员已为您重置密码：请输入管理员告知的密码，再设置您自己的新密码，然后才能继续使用。",
                "An administrator reset your password: enter the one you were given, then choose your own before going on.",
            )) }
        }
        form.stack.card method="post" action="/account/password" {
            (form::hidden(caller))
            (layout::field(lang, "current_password", "当前密码", "Current password", "password", "", true))
            (layout::field(lang, "new_password", "新密码（至少 12 个字符）", "New password (at least 12 characters)", "password", "", true))
            button type="submit" { (lang.t("修改密码", "Change password")) }
        }
        p.muted { (lang.t("修改后所有会话都会退出，请用新密码重新登录。", "Every session ends after the change; log in again with the new password.")) }
    };
    layout::answer(
        notice.status(),
        layout::page(caller, lang.t("修改密码", "Change password"), body),
    )
}

async fn change_password(
    State(api): State<ApiClient>,
    caller: Caller,
    fields: Fields,
) -> PageResult {
    if caller.role().is_none() {
        return Err(Redirect::to("/login").into_response());
    }
    let body = json!({
        "current_password": fields.get("current_password"),
        "new_password": fields.get("new_password"),
    });
    match api
        .send_json(
            &caller,
            Method::PUT,
            "/api/v1/me/password",
            &body,
            fields.sent(),
        )
        .await
    {
        Ok(_) => Ok(layout::done("/login", "password")),
        Err(refusal) => Ok(password_form(&caller, &Notice::Refused(refusal))),
    }
}

#[derive(Deserialize)]
struct LanguageQuery {
    to: String,
    back: Option<String>,
}

/// A path on this site: `/…`, never `//host` or `/\\host` (which browsers
/// read as another site), nor control characters.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// Switches the language and goes back where the user was (only to a path
/// on this site).
async fn language(Query(query): Query<LanguageQuery>, headers: HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&query.to) else {
        return (StatusCode::BAD_REQUEST, "unknown language / 未知语言").into_response();
    };
    let referer_path = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()));
    let back = query
        .back
        .or(referer_path)
        .filter(|p| is_local_path(p))
        .unwrap_or_else(|| "/".into());
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; SameSite=Lax; Path=/; Max-Age=31536000",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_gone_back_to() {
        assert!(is_local_path("/enterprise/vouchers?done=claimed"));
        assert!(!is_local_path("//evil.example"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example"));
        assert!(!is_local_path("/a\nLocation: x"));
        assert!(!is_local_path("evil"));
    }
}

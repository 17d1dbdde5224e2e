//! Users: the list, and a new user (enterprise and provider users named by
//! their firm's USCC).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use crate::web::ApiClient;
use crate::web::backend::{Caller, Refusal, path_part};

use super::party_by_uscc;
use crate::domain::Role;
use crate::web::form::{self, Fields};
use crate::web::layout::{self, Notice, PageResult, items, s};

/// The roles, as the admin chooses and reads them.
pub(super) const ROLES: [(&str, &str, &str); 5] = [
    ("enterprise", "企业", "enterprise"),
    ("provider", "服务机构", "provider"),
    ("finance", "财政局", "finance"),
    ("admin", "经信局管理员", "admin"),
    ("auditor", "审计", "auditor"),
];

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}/password", post(reset_password))
}

async fn users(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    users_page(&api, &caller, notice, &Fields::default()).await
}

async fn users_page(
    api: &ApiClient,
    caller: &Caller,
    notice: Notice,
    typed: &Fields,
) -> PageResult {
    let lang = caller.lang;
    let list = api
        .get(caller, "/api/v1/users?limit=200")
        .await
        .map_err(layout::read_failed(caller))?;
    let role_label = |role: &str| {
        ROLES
            .iter()
            .find(|(code, _, _)| *code == role)
            .map(|(_, zh, en)| lang.t(zh, en).to_string())
            .unwrap_or_else(|| role.to_string())
    };
    let body = html! {
        h1 { (lang.t("用户", "Users")) }
        (layout::notice(lang, &notice))
        form.stack.card method="post" action="/admin/users" {
            (form::hidden(caller))
            h2 { (lang.t("新建用户", "New user")) }
            (layout::field(lang, "username", "用户名", "Username", "text", typed.get("username"), true))
            (layout::field(lang, "display_name", "姓名（签在兑付表的编制人、审核人处）", "Full name (signed as preparer or checker on the payment table)", "text", typed.get("display_name"), false))
            (layout::field(lang, "password", "初始密码（至少 12 个字符）", "Initial password (at least 12 characters)", "password", "", true))
            label for="role" { (lang.t("角色", "Role")) }
            select #role name="role" {
                @for (code, zh, en) in ROLES {
                    option value=(code) selected[typed.get("role") == code] { (lang.t(zh, en)) }
                }
            }
            (layout::field(lang, "party_uscc", "所属企业或服务机构的统一社会信用代码（企业、服务机构用户必填）", "USCC of the enterprise or provider (enterprise and provider users)", "text", typed.get("party_uscc"), false))
            button type="submit" { (lang.t("创建用户", "Create user")) }
        }
        div.table-wrap { table {
            thead { tr { th { (lang.t("用户名", "Username")) } th { (lang.t("姓名", "Name")) } th { (lang.t("角色", "Role")) } th { (lang.t("创建时间", "Created")) } th { (lang.t("重置密码", "Reset password")) } } }
            tbody { @for u in items(&list, "users") { tr {
                td { (s(u, "username")) } td { (s(u, "display_name")) } td { (role_label(s(u, "role"))) } td { (layout::date_time(s(u, "created_at"))) }
                td {
                    form.inline method="post" action=(format!("/admin/users/{}/password", s(u, "id"))) {
                        (form::hidden(caller))
                        input type="password" name="password" required minlength="12" autocomplete="new-password" aria-label=(lang.t("新密码", "New password"));
                        " " button.secondary type="submit" { (lang.t("重置", "Reset")) }
                    }
                }
            } } }
        } }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("用户", "Users"), body),
    ))
}

/// The party a new enterprise or provider user acts for (none for staff).
async fn party_of(api: &ApiClient, caller: &Caller, fields: &Fields) -> Result<Value, Refusal> {
    let kind = fields.get("role");
    if !matches!(kind, "enterprise" | "provider") {
        return Ok(Value::Null);
    }
    let uscc = fields.required("party_uscc", "The USCC", "统一社会信用代码")?;
    party_by_uscc(api, caller, kind, uscc).await
}

/// Sets a user's password; they must change it at their next login.
async fn reset_password(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let path = format!("/api/v1/users/{}/password", path_part(&id));
    form::answer(
        &api,
        &caller,
        (
            Method::POST,
            &path,
            Ok(json!({ "password": fields.get("password") })),
        ),
        &fields,
        ("/admin/users", "password_reset"),
        async |notice| users_page(&api, &caller, notice, &Fields::default()).await,
    )
    .await
}

async fn create_user(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let body = match party_of(&api, &caller, &fields).await {
        Ok(party_id) => Ok(json!({
            "username": fields.get("username"),
            "password": fields.get("password"),
            "role": fields.get("role"),
            "party_id": party_id,
            "display_name": fields.get("display_name"),
        })),
        Err(refusal) => Err(refusal),
    };
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/users", body),
        &fields,
        ("/admin/users", "user"),
        async |notice| users_page(&api, &caller, notice, &fields).await,
    )
    .await
}

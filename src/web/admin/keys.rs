//! Issuer keys as published: rotate (the server writes the new private
//! key into its own key directory), revoke with a reason, re-issue a revoked
//! key's active vouchers.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::html;
use serde_json::{Value, json};

use crate::domain::Role;
use crate::web::ApiClient;
use crate::web::backend::{Caller, Refusal, path_part};
use crate::web::form::{self, Fields};
use crate::web::layout::{self, Notice, PageResult, items, s};

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/admin/keys", get(keys))
        .route("/admin/keys/rotate", post(rotate_key))
        .route("/admin/keys/{key_id}/revoke", post(revoke_key))
        .route("/admin/keys/{key_id}/reissue", post(reissue_key))
}

async fn keys(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    keys_page(&api, &caller, notice).await
}

async fn keys_page(api: &ApiClient, caller: &Caller, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let published = api
        .get(caller, "/.well-known/voucher-keys.json")
        .await
        .map_err(layout::read_failed(caller))?;
    let body = html! {
        h1 { (lang.t("签发密钥", "Issuer keys")) }
        (layout::notice(lang, &notice))
        p.muted {
            (lang.t("公钥公开于 ", "Public keys are published at "))
            a href="/.well-known/voucher-keys.json" { "/.well-known/voucher-keys.json" }
            (lang.t("。轮换后新券由新密钥签发，旧密钥继续可验证其已签发的券，直至全部到期。",
                ". After a rotation new vouchers are signed by the new key; the old key still verifies the vouchers it signed until they expire."))
        }
        form.inline method="post" action="/admin/keys/rotate" {
            (form::hidden(caller))
            button type="submit" { (lang.t("轮换签发密钥", "Rotate the issuer key")) }
        }
        @let keys = items(&published, "keys");
        @if keys.is_empty() {
            p.empty { (lang.t("还没有签发密钥。", "No issuer keys yet.")) }
        }
        @for key in keys {
            @let key_id = s(key, "key_id");
            section.card data-key=(key_id) {
                h2 { code { (key_id) } " " span.badge { (layout::status_label(lang, s(key, "status"))) } }
                dl.facts {
                    dt { (lang.t("算法", "Algorithm")) } dd { (s(key, "algorithm")) }
                    dt { (lang.t("生效", "Valid from")) } dd { (s(key, "valid_from")) }
                    dt { (lang.t("至", "Valid until")) } dd { (key["valid_until"].as_str().unwrap_or("—")) }
                }
                @if s(key, "status") == "revoked" {
                    form.inline method="post" action=(format!("/admin/keys/{key_id}/reissue")) {
                        (form::hidden(caller))
                        button type="submit" { (lang.t("用当前密钥换发其有效券", "Re-issue its active vouchers under the current key")) }
                    }
                } @else {
                    details {
                        summary { (lang.t("吊销（密钥泄露时）", "Revoke (if compromised)")) }
                        form.stack method="post" action=(format!("/admin/keys/{key_id}/revoke")) {
                            (form::hidden(caller))
                            (layout::field(lang, &format!("reason-{key_id}"), "吊销原因", "Reason", "text", "", true))
                            button.danger type="submit" { (lang.t("吊销", "Revoke")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("签发密钥", "Issuer keys"), body),
    ))
}

async fn rotate_key(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/issuer-keys", Ok(json!({}))),
        &fields,
        ("/admin/keys", "key_rotated"),
        async |notice| keys_page(&api, &caller, notice).await,
    )
    .await
}

async fn revoke_key(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(key_id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let key_id = path_part(&key_id);
    let body = fields
        .required(&format!("reason-{key_id}"), "The reason", "吊销原因")
        .map(|reason| json!({ "reason": reason }));
    key_action(
        &api,
        &caller,
        key_id,
        "revoke",
        body,
        &fields,
        "key_revoked",
    )
    .await
}

async fn reissue_key(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(key_id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    key_action(
        &api,
        &caller,
        path_part(&key_id),
        "reissue",
        Ok(json!({})),
        &fields,
        "created",
    )
    .await
}

async fn key_action(
    api: &ApiClient,
    caller: &Caller,
    key_id: &str,
    action: &str,
    body: Result<Value, Refusal>,
    fields: &Fields,
    done: &str,
) -> PageResult {
    form::answer(
        api,
        caller,
        (
            Method::POST,
            &format!("/api/v1/issuer-keys/{key_id}/{action}"),
            body,
        ),
        fields,
        ("/admin/keys", done),
        async |notice| keys_page(api, caller, notice).await,
    )
    .await
}

//! The economy bureau's (经信局) portal: programmes (create, amend, fund,
//! open, close), users, the registries (enterprises and providers, imports
//! with their row-level error report, fraud marking, which also
//! blacklists), one enterprise's page with its personal data (erasure,
//! restriction, who read it), and the issuer keys (rotate, revoke,
//! re-issue).

use axum::Router;
use serde_json::Value;

use crate::web::ApiClient;
use crate::web::backend::{Caller, Refusal, path_part};

mod keys;
mod personal;
mod programmes;
mod registries;
mod users;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .merge(programmes::routes())
        .merge(users::routes())
        .merge(registries::routes())
        .merge(keys::routes())
        .merge(personal::routes())
}

/// The id of the registered enterprise or provider with this USCC.
pub(super) async fn party_by_uscc(
    api: &ApiClient,
    caller: &Caller,
    kind: &str,
    uscc: &str,
) -> Result<Value, Refusal> {
    let (collection, zh, en) = match kind {
        "provider" => ("providers", "服务机构", "provider"),
        _ => ("enterprises", "企业", "enterprise"),
    };
    let party = api
        .get(caller, &format!("/api/v1/{collection}/{}", path_part(uscc)))
        .await
        .map_err(|_| {
            Refusal::invalid(
                "party_not_found",
                &format!("No {en} with USCC {uscc} is registered."),
                &format!("未找到统一社会信用代码为 {uscc} 的{zh}。"),
            )
        })?;
    // An enterprise's detail wraps the record; a provider's is the record.
    let id = &party["enterprise"]["id"];
    Ok(if id.is_null() {
        party["id"].clone()
    } else {
        id.clone()
    })
}

//! One redemption as every role's page shows it: who provided what to
//! whom, the amounts, the documents and their state, when — and what
//! settlement will hold it back for, as things stand.

use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::ApiClient;
use super::backend::{Caller, path_part};
use super::i18n::Lang;
use super::layout::{self, items, n, s, yuan};

/// Redemption `id` from the API (with its timeline), or the page that says
/// why not (404 for another's).
pub async fn fetch(api: &ApiClient, caller: &Caller, id: &str) -> Result<Value, Response> {
    api.get(caller, &format!("/api/v1/redemptions/{}", path_part(id)))
        .await
        .map_err(layout::read_failed(caller))
}

/// The facts of redemption `r` (an API redemption view).
pub fn facts(lang: Lang, r: &Value) -> Markup {
    let status = s(r, "status");
    html! {
        section.card {
            dl.facts {
                dt { (lang.t("状态", "Status")) } dd data-status=(status) { (layout::status_label(lang, status)) }
                dt { (lang.t("服务机构", "Provider")) } dd { (s(r, "provider_name")) }
                dt { (lang.t("企业", "Enterprise")) } dd { (s(r, "enterprise_name")) }
                dt { (lang.t("服务类别", "Category")) } dd { (s(r, "service_category")) }
                dt { (lang.t("合同编号", "Contract number")) } dd { (s(r, "contract_number")) }
                dt { (lang.t("服务内容", "Service")) } dd { (s(r, "description")) }
                dt { (lang.t("合同金额", "Contract amount")) } dd { (yuan(n(r, "contract_amount_fen"))) }
                dt { (lang.t("补贴金额", "Subsidy")) } dd.amount { (yuan(n(r, "subsidy_fen"))) }
                dt { (lang.t("企业自付", "Enterprise share")) } dd { (yuan(n(r, "enterprise_share_fen"))) }
                dt { (lang.t("发票", "Invoice")) } dd {
                    @if r["invoice"].is_null() { (lang.t("未提供", "not yet")) }
                    @else { (s(&r["invoice"], "code")) " / " (s(&r["invoice"], "number")) " · " (s(&r["invoice"], "date")) " · " (yuan(n(&r["invoice"], "amount_fen"))) }
                }
                dt { (lang.t("付款凭证", "Payment proof")) } dd { (r["payment_proof_ref"].as_str().unwrap_or(lang.t("未提供", "not yet"))) }
                dt { (lang.t("券号", "Voucher")) } dd { code { (s(r, "voucher_id")) } }
                dt { (lang.t("核销时间", "Redeemed at")) } dd { (layout::date_time(s(r, "redeemed_at"))) }
                dt { (lang.t("公示日志", "Public log")) } dd { (super::receipts::link(lang, "redemptions", s(r, "id"))) }
            }
        }
    }
}

/// What settlement will hold `r` back for, if anything (`settlement_warnings`).
pub fn warnings(lang: Lang, r: &Value) -> Markup {
    let found = items(r, "settlement_warnings");
    html! {
        @if !found.is_empty() {
            div.notice.warning role="status" data-settlement-warnings {
                p { strong { (lang.t("结算时将被暂缓，请尽快补齐：", "Settlement will hold this back until fixed:")) } }
                ul { @for w in found { li data-code=(s(w, "code")) { (lang.t(s(w, "meaning_zh"), s(w, "meaning_en"))) } } }
            }
        }
    }
}

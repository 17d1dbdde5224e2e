//! What an enterprise reads before it claims: the 办事指南 of a programme
//! (conditions with this enterprise's standing on each, face values and
//! subsidy, how long a voucher claimed today lasts, what is used and left
//! of this year's cap, the providers that accept it, the steps), and the
//! confirmation shown before a claim is made, so nobody claims by a stray
//! tap.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::Value;

use super::ApiClient;
use super::backend::{Caller, Refusal, path_part};
use super::i18n::Lang;
use super::layout::{self, PageResult, items, n, s, yuan};
use crate::domain::Role;

pub fn routes() -> Router<ApiClient> {
    Router::new().route("/enterprise/programmes/{code}", get(guide))
}

/// This enterprise's eligibility row of `code`, from `/api/v1/me/eligibility`.
async fn standing(api: &ApiClient, caller: &Caller, code: &str) -> Result<Value, Refusal> {
    let all = api.get(caller, "/api/v1/me/eligibility").await?;
    Ok(items(&all, "programmes")
        .iter()
        .find(|p| s(p, "programme") == code)
        .cloned()
        .unwrap_or(Value::Null))
}

/// `2026-12-06 至 2027-06-04` for a voucher claimed today.
fn validity(lang: Lang, row: &Value) -> String {
    match (row["valid_from"].as_str(), row["valid_until"].as_str()) {
        (Some(from), Some(until)) => format!("{from}{}{until}", lang.t(" 至 ", " to ")),
        _ => lang
            .t("本项目的使用期已过", "the programme's use period is over")
            .to_string(),
    }
}

/// Claimed this year, the cap and what is left, in one line.
fn cap_line(lang: Lang, row: &Value) -> Markup {
    html! {
        (lang.t("今年已申领 ", "Claimed this year: ")) (yuan(n(row, "claimed_this_year_fen")))
        (lang.t("（", " ("))
        (lang.count(n(row, "vouchers_this_year"), "张", "voucher", "vouchers"))
        (lang.t("），年度上限 ", "), annual cap ")) (yuan(n(row, "annual_cap_fen")))
        (lang.t("（", " ("))
        (lang.count(n(row, "annual_voucher_count"), "张", "voucher", "vouchers"))
        (lang.t("），尚可申领 ", "); left: ")) strong data-cap-left { (yuan(n(row, "cap_left_fen"))) }
    }
}

async fn guide(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
    Query(page): Query<layout::AfterQuery>,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let code = path_part(&code);
    let programme = api
        .get(&caller, &format!("/api/v1/programmes/{code}"))
        .await
        .map_err(&failed)?;
    let row = standing(&api, &caller, code).await.map_err(&failed)?;
    let after = page
        .after
        .as_deref()
        .map(|a| format!("&after={}", path_part(a)))
        .unwrap_or_default();
    let providers = api
        .get(
            &caller,
            &format!("/api/v1/programmes/{code}/providers?limit=50{after}"),
        )
        .await
        .map_err(&failed)?;
    let terms = &programme["terms"];
    let faces: Vec<String> = terms["face_values_fen"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_i64).map(yuan).collect())
        .unwrap_or_default();
    let categories: Vec<&str> = terms["service_categories"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let body = html! {
        h1 { (s(terms, "name")) " · " (lang.t("办事指南", "How to use it")) }
        section.card {
            h2 { (lang.t("申领条件", "Who may claim")) }
            @if row.is_null() {
                p.muted { (lang.t("本项目目前不开放申领。", "This programme is not open for claims now.")) }
            }
            ul data-conditions {
                @for check in items(&row, "checks") {
                    li data-code=(s(check, "code")) data-passed=(check["passed"].as_bool().unwrap_or(false)) {
                        (if check["passed"].as_bool() == Some(true) { "✓ " } else { "✗ " })
                        (lang.t(s(check, "message_zh"), s(check, "message")))
                    }
                }
            }
        }
        section.card {
            h2 { (lang.t("面额与补贴", "Face values and subsidy")) }
            dl.facts {
                dt { (lang.t("面额", "Face values")) } dd { (faces.join(lang.t("、", ", "))) }
                dt { (lang.t("补贴比例", "Subsidy")) }
                dd { (layout::percent(n(terms, "subsidy_ratio_bp"))) "%" (lang.t("（按合同金额计，不超过券面余额；其余由企业自付）", " of the contract, up to what is left on the voucher; the enterprise pays the rest")) }
                dt { (lang.t("服务类别", "Services")) }
                dd { @if categories.is_empty() { (lang.t("不限", "any")) } @else { (categories.join(lang.t("、", ", "))) } }
                dt { (lang.t("今天申领的有效期", "Valid, if claimed today")) } dd data-validity { (validity(lang, &row)) }
                dt { (lang.t("年度额度", "This year")) } dd { (cap_line(lang, &row)) }
            }
        }
        section.card {
            h2 { (lang.t("可使用本券的服务机构", "Providers that accept it")) }
            @let list = items(&providers, "providers");
            @if list.is_empty() {
                p.empty { (lang.t("暂无已入库的服务机构。", "No approved provider yet.")) }
            } @else {
                ul data-providers {
                    @for p in list {
                        li { (s(p, "name")) span.muted { " · " (p["categories"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(lang.t("、", ", "))).unwrap_or_default()) } }
                    }
                }
                @if let Some(next) = providers["next_cursor"].as_str() {
                    p { a href=(format!("/enterprise/programmes/{code}?after={next}")) { (lang.t("更多服务机构 →", "More providers →")) } }
                }
            }
        }
        section.card {
            h2 { (lang.t("办理步骤", "Steps")) }
            ol {
                li { (lang.t("在本页或首页申领，确认面额和有效期。", "Claim here or on the home page, after checking the face value and validity.")) }
                li { (lang.t("到上列服务机构办理服务，出示手机上的二维码；扫不出时，报二维码下方的短码。", "Go to one of the providers above and show the QR on your phone; if it will not scan, read out the short code under it.")) }
                li { (lang.t("服务机构核对合同和发票后核销，补贴直接抵扣，企业只付自付部分。", "The provider checks the contract and invoice and redeems: the subsidy is taken off, you pay only your share.")) }
                li { (lang.t("在“待确认的服务”中确认服务完成（或提出异议）。", "Confirm the service under “Services to confirm” (or dispute it).")) }
                li { (lang.t("财政部门结算后把补贴付给服务机构。", "Finance settles and pays the subsidy to the provider.")) }
            }
        }
        p { a href="/enterprise" { (lang.t("← 返回可申领项目", "← Back to programmes")) } }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("办事指南", "How to use it"), body),
    ))
}

/// The step before a claim: what is about to be claimed (face value,
/// subsidy, validity, the year's cap after it) and a button that makes the
/// claim with the same idempotency key the first form carried.
pub async fn confirm_claim(
    api: &ApiClient,
    caller: &Caller,
    code: &str,
    face_fen: i64,
    key: &str,
) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(caller);
    let programme = api
        .get(caller, &format!("/api/v1/programmes/{}", path_part(code)))
        .await
        .map_err(&failed)?;
    let row = standing(api, caller, code).await.map_err(&failed)?;
    let terms = &programme["terms"];
    let left_after = n(&row, "cap_left_fen") - face_fen;
    let body = html! {
        h1 { (lang.t("确认申领", "Confirm the claim")) }
        section.card data-claim-confirm {
            dl.facts {
                dt { (lang.t("项目", "Programme")) } dd { (s(terms, "name")) " (" (code) ")" }
                dt { (lang.t("面额", "Face value")) } dd { span.amount data-face { (yuan(face_fen)) } }
                dt { (lang.t("补贴比例", "Subsidy")) } dd { (layout::percent(n(terms, "subsidy_ratio_bp"))) "%" }
                dt { (lang.t("有效期", "Valid")) } dd data-validity { (validity(lang, &row)) }
                dt { (lang.t("申领后年度余额", "Left this year after it")) } dd { (yuan(left_after.max(0))) }
            }
            p.muted { (lang.t("申领后此券计入本年度额度；到期未使用的部分退回项目资金。", "The voucher counts against this year's cap; what is unused at expiry returns to the programme.")) }
            form.stack method="post" action="/enterprise/claims" {
                input type="hidden" name="csrf" value=(caller.csrf_token());
                input type="hidden" name="key" value=(key);
                input type="hidden" name="programme" value=(code);
                input type="hidden" name="face_value_fen" value=(face_fen);
                input type="hidden" name="confirmed" value="yes";
                button type="submit" data-busy=(lang.t("正在申领…", "Claiming…")) { (lang.t("确认申领", "Claim it")) }
            }
            p { a href=(format!("/enterprise/programmes/{}", path_part(code))) { (lang.t("查看办事指南", "Read the guide")) } " · " a href="/enterprise" { (lang.t("取消", "Cancel")) } }
        }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(caller, lang.t("确认申领", "Confirm the claim"), body),
    ))
}

/// The summary on a programme's card on the home page.
pub fn card_summary(lang: Lang, code: &str, row: &Value) -> Markup {
    html! {
        p.muted { (cap_line(lang, row)) }
        p.muted { (lang.t("今天申领有效期：", "Valid if claimed today: ")) (validity(lang, row)) }
        p { a href=(format!("/enterprise/programmes/{code}")) { (lang.t("办事指南（条件、额度、服务机构、步骤）", "Guide: conditions, cap, providers, steps")) } }
    }
}

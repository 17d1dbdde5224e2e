//! The public notice (公示) pages, for anyone, no login: the programmes,
//! and per programme its totals, its approved providers (入库名单) and the
//! payouts of every approved settlement run, each run linked to the
//! inclusion proof of its approval; the same as CSV. Drawn from
//! `GET /api/v1/public/programmes/{code}`, which holds nothing personal.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use maud::html;
use serde_json::Value;

use super::ApiClient;
use super::backend::{Caller, path_part};
use super::layout::{self, PageResult, items, n, s, yuan};

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/public", get(programmes))
        .route("/public/programmes/{code}", get(notice))
        .route("/public/programmes/{code}/notice.csv", get(notice_csv))
}

async fn programmes(State(api): State<ApiClient>, caller: Caller) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let list = api
        .get(&caller, "/api/v1/public/programmes")
        .await
        .map_err(&failed)?;
    let body = html! {
        h1 { (lang.t("服务补贴券公示", "Service vouchers: public notice")) }
        p.muted { (lang.t(
            "各项目的入库服务机构、已审批结算批次的兑付情况与资金使用情况；每个批次可用公开的透明日志核验。",
            "Each programme's approved providers, the payouts of approved settlement runs and the use of funds; every run can be checked against the public transparency log."
        )) }
        ul.plain {
            @for programme in items(&list, "programmes") {
                li { a href=(format!("/public/programmes/{}", s(programme, "code"))) { (s(programme, "name")) } " · " (s(programme, "code")) " · " (layout::status_label(lang, s(programme, "status"))) }
            }
        }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("公示", "Public notice"), body),
    ))
}

async fn notice(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let code = path_part(&code);
    let notice = api
        .get(&caller, &format!("/api/v1/public/programmes/{code}"))
        .await
        .map_err(&failed)?;
    let programme = &notice["programme"];
    let totals = &notice["totals"];
    let body = html! {
        h1 { (s(programme, "name")) " · " (lang.t("公示", "Public notice")) }
        p.muted { (s(programme, "code")) " · " (layout::status_label(lang, s(programme, "status")))
            " · " a href=(format!("/public/programmes/{code}/notice.csv")) download { (lang.t("下载 CSV", "Download CSV")) } }
        section.card {
            h2 { (lang.t("资金使用情况", "Use of funds")) }
            dl.facts data-totals {
                dt { (lang.t("到位资金", "Funding")) } dd { (yuan(n(totals, "funding_fen"))) }
                dt { (lang.t("可用额度", "Available")) } dd { (yuan(n(totals, "available_fen"))) }
                dt { (lang.t("已发放未使用", "Issued, not yet used")) } dd { (yuan(n(totals, "outstanding_fen"))) }
                dt { (lang.t("已核销待结算", "Redeemed, to be settled")) } dd { (yuan(n(totals, "payable_fen"))) }
                dt { (lang.t("待支付", "Awaiting payment")) } dd { (yuan(n(totals, "payout_pending_fen"))) }
                dt { (lang.t("已支付", "Paid")) } dd { (yuan(n(totals, "paid_fen"))) }
            }
        }
        @for run in items(&notice, "runs") {
            section.card data-run {
                h2 { (lang.t("兑付结算 ", "Settlement ")) (s(run, "period_from")) " – " (s(run, "period_until")) }
                p.muted { (lang.t("合计 ", "Total ")) (yuan(n(run, "total_fen")))
                    " · " a href=(s(run, "proof")) { (lang.t("透明日志包含证明（条目 ", "Inclusion proof (entry ")) (n(run, "approved_sequence")) (lang.t("）", ")")) } }
                div.table-wrap { table {
                    thead { tr { th { (lang.t("服务机构", "Provider")) } th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("核销笔数", "Redemptions")) } th { (lang.t("兑付金额", "Amount")) } th { (lang.t("状态", "Status")) } } }
                    tbody { @for payout in items(run, "payouts") { tr {
                        td { (s(payout, "provider_name")) } td.id { (s(payout, "provider_uscc")) }
                        td { (n(payout, "redemptions")) } td.amount { (yuan(n(payout, "amount_fen"))) }
                        td { (layout::payout_status_label(lang, s(payout, "status"))) }
                    } } }
                } }
            }
        }
        @if items(&notice, "runs").is_empty() {
            p.muted { (lang.t("尚无已审批的结算批次。", "No settlement run has been approved yet.")) }
        }
        section.card {
            h2 { (lang.t("入库服务机构名单", "Approved providers")) }
            div.table-wrap { table data-providers {
                thead { tr { th { (lang.t("服务机构", "Provider")) } th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("服务类别", "Services")) } } }
                tbody { @for provider in items(&notice, "providers") { tr {
                    td { (s(provider, "name")) } td.id { (s(provider, "uscc")) }
                    td { (categories(provider)) }
                } } }
            } }
        }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("公示", "Public notice"), body),
    ))
}

fn categories(provider: &Value) -> String {
    items(provider, "categories")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("、")
}

/// The notice as CSV (UTF-8 with a byte-order mark, which spreadsheet
/// programs need to read Chinese): one row per provider, then one row per
/// payout of each approved run.
async fn notice_csv(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult {
    let failed = layout::read_failed(&caller);
    let code = path_part(&code).to_string();
    let notice = api
        .get(&caller, &format!("/api/v1/public/programmes/{code}"))
        .await
        .map_err(&failed)?;
    let mut out = csv::Writer::from_writer(Vec::from("\u{feff}".as_bytes()));
    let row = |out: &mut csv::Writer<Vec<u8>>, cells: &[String]| {
        out.write_record(cells).expect("writing to memory");
    };
    row(
        &mut out,
        &[
            "类别",
            "服务机构",
            "统一社会信用代码",
            "服务类别",
            "期间",
            "核销笔数",
            "金额（元）",
            "状态",
            "核验",
        ]
        .map(String::from),
    );
    for provider in items(&notice, "providers") {
        row(
            &mut out,
            &[
                "入库名单".into(),
                s(provider, "name").into(),
                s(provider, "uscc").into(),
                categories(provider),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        );
    }
    for run in items(&notice, "runs") {
        let period = format!("{} – {}", s(run, "period_from"), s(run, "period_until"));
        for payout in items(run, "payouts") {
            row(
                &mut out,
                &[
                    "兑付".into(),
                    s(payout, "provider_name").into(),
                    s(payout, "provider_uscc").into(),
                    String::new(),
                    period.clone(),
                    n(payout, "redemptions").to_string(),
                    yuan(n(payout, "amount_fen"))
                        .trim_start_matches('¥')
                        .to_string(),
                    s(payout, "status").into(),
                    s(run, "proof").into(),
                ],
            );
        }
    }
    let bytes = out.into_inner().expect("in memory");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"notice-{code}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

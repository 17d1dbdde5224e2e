//! The finance bureau's (财政局) portal: settlement runs (prepare for a
//! programme and period), reconciliation flags to review and resolve with
//! a note, approval by a second finance user (maker-checker, enforced by
//! the API and the database), the bank payment file and the bank's return,
//! the 兑付表 and statements as XLSX, CSV and PDF, and programme
//! utilisation with charts by district, category and month.
//!
//! Downloads link straight to the API's streaming endpoints: the browser
//! sends the session cookie, and a million-line report never passes
//! through a page.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use chrono::Datelike;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ApiClient;
use super::backend::{Caller, Refusal, path_part};
use super::form::{self, Fields};
use super::i18n::Lang;
use super::layout::{self, Notice, PageResult, items, n, s, yuan};
use crate::domain::{Role, Timestamp};

/// A bank's return file (the API's own limit).
const BANK_FILE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Lines shown on a run's page; the 兑付表 download has them all.
const LINES_SHOWN_MAX: u32 = 200;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/finance", get(runs))
        .route("/finance/runs", post(prepare))
        .route("/finance/runs/{id}", get(run))
        .route("/finance/runs/{id}/approve", post(approve))
        .route(
            "/finance/runs/{id}/lines/{redemption_id}/resolve",
            post(resolve),
        )
        .route(
            "/finance/runs/{id}/bank-return",
            post(bank_return).layer(DefaultBodyLimit::max(BANK_FILE_BYTES_MAX + 64 * 1024)),
        )
        .route("/finance/utilisation/{code}", get(utilisation))
        .route("/finance/redemptions/{id}", get(redemption))
}

async fn runs(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    runs_page(&api, &caller, notice).await
}

/// This quarter in UTC+8, e.g. `2026Q4`: the period most runs are for.
fn this_quarter() -> String {
    let today = Timestamp::now().cst_date();
    format!("{}Q{}", today.year(), today.month0() / 3 + 1)
}

async fn runs_page(api: &ApiClient, caller: &Caller, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(caller);
    let runs = api
        .get(caller, "/api/v1/settlement-runs")
        .await
        .map_err(&failed)?;
    let programmes = api
        .get(caller, "/api/v1/programmes?limit=200")
        .await
        .map_err(&failed)?;
    let conflicts = api
        .get(
            caller,
            "/api/v1/offline/acceptances?conflicts=true&limit=50",
        )
        .await
        .map_err(&failed)?;
    let body = html! {
        h1 { (lang.t("结算批次", "Settlement runs")) }
        (layout::notice(lang, &notice))
        form.stack.card method="post" action="/finance/runs" {
            (form::hidden(caller))
            h2 { (lang.t("生成结算批次", "Prepare a run")) }
            label for="programme" { (lang.t("项目", "Programme")) }
            select #programme name="programme" required {
                @for p in items(&programmes, "programmes") {
                    option value=(s(p, "code")) { (s(p, "code")) " · " (s(&p["terms"], "name")) }
                }
            }
            (layout::field(lang, "period", "结算期间（如 2026Q3、2026H1、2026 或 2026-01-01..2026-03-31）", "Period (e.g. 2026Q3, 2026H1, 2026 or 2026-01-01..2026-03-31)", "text", &this_quarter(), true))
            button type="submit" data-busy=(lang.t("正在对账并生成…", "Reconciling and preparing…")) { (lang.t("生成", "Prepare")) }
        }
        @let rows = items(&runs, "runs");
        @if rows.is_empty() {
            p.empty { (lang.t("还没有结算批次。选择项目和期间生成第一个。", "No runs yet. Choose a programme and period to prepare the first.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("项目", "Programme")) } th { (lang.t("期间", "Period")) }
                    th { (lang.t("状态", "Status")) } th.num { (lang.t("纳入笔数", "Lines")) }
                    th.num { (lang.t("纳入金额", "Amount")) } th.num { (lang.t("暂缓", "Held")) }
                } }
                tbody { @for r in rows { tr {
                    td { a href=(format!("/finance/runs/{}", s(r, "id"))) { (s(r, "programme_code")) } }
                    td { (s(r, "period_from")) " – " (s(r, "period_until")) }
                    td { (layout::status_label(lang, s(r, "status"))) }
                    td.num { (n(r, "included_count")) }
                    td.num { (yuan(n(r, "included_fen"))) }
                    td.num { (n(r, "held_count")) }
                } } }
            } }
        }
        @if !items(&conflicts, "acceptances").is_empty() {
            (super::offline::acceptances_table(lang, &conflicts, super::offline::CONFLICTS))
        }
        h2 { (lang.t("资金使用情况", "Utilisation")) }
        ul { @for p in items(&programmes, "programmes") {
            li { a href=(format!("/finance/utilisation/{}", s(p, "code"))) { (s(p, "code")) " · " (s(&p["terms"], "name")) } }
        } }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("结算批次", "Settlement runs"), body),
    ))
}

async fn prepare(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let body = fields
        .required("programme", "The programme", "项目")
        .and_then(|programme| {
            let period = fields.required("period", "The period", "结算期间")?;
            Ok(json!({ "programme": programme, "period": period }))
        });
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/settlement-runs",
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(run) => Ok(layout::done(
            &format!("/finance/runs/{}", s(&run, "id")),
            "prepared",
        )),
        Err(refusal) => runs_page(&api, &caller, Notice::Refused(refusal)).await,
    }
}

async fn run(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    run_page(&api, &caller, &id, notice, None).await
}

async fn run_page(
    api: &ApiClient,
    caller: &Caller,
    id: &str,
    notice: Notice,
    bank_report: Option<&Value>,
) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(caller);
    let id = path_part(id);
    let run = api
        .get(caller, &format!("/api/v1/settlement-runs/{id}"))
        .await
        .map_err(&failed)?;
    let lines = api
        .get(
            caller,
            &format!("/api/v1/settlement-runs/{id}/lines?limit={LINES_SHOWN_MAX}"),
        )
        .await
        .map_err(&failed)?;
    let status = s(&run, "status");
    let prepared_by_caller = caller
        .auth
        .as_ref()
        .is_some_and(|auth| auth.principal.user_id.to_string() == s(&run, "prepared_by"));
    let base = format!("/api/v1/settlement-runs/{id}");
    let body = html! {
        h1 { (lang.t("结算批次", "Settlement run")) " " (s(&run, "programme_code")) " · " (s(&run, "period_from")) " – " (s(&run, "period_until")) }
        (layout::notice(lang, &notice))
        @if let Some(report) = bank_report { (bank_report_box(lang, report)) }
        section.card {
            dl.facts {
                dt { (lang.t("状态", "Status")) } dd data-run-status=(status) { (layout::status_label(lang, status)) }
                dt { (lang.t("纳入", "Included")) } dd { (lang.count(n(&run, "included_count"), "笔", "line", "lines")) (lang.t("，", ", ")) span.amount { (yuan(n(&run, "included_fen"))) } }
                dt { (lang.t("暂缓", "Held")) } dd { (lang.count(n(&run, "held_count"), "笔", "line", "lines")) (lang.t("，", ", ")) (yuan(n(&run, "held_fen"))) }
                dt { (lang.t("制单", "Prepared by")) } dd { (s(&run, "prepared_by_name")) }
                dt { (lang.t("审批", "Approved by")) } dd { (run["approved_by_name"].as_str().unwrap_or("—")) }
                dt { (lang.t("明细摘要", "Lines digest")) } dd { code { (s(&run, "lines_digest")) } }
            }
            @if status == "prepared" && prepared_by_caller {
                p.hint data-approve-blocked { (lang.t(
                    "您是本批次的制单人：须由另一位财务人员审批（制单与审批分离）。",
                    "You prepared this run: another finance user must approve it (maker–checker).",
                )) }
            } @else if status == "prepared" {
                form.inline method="post" action=(format!("/finance/runs/{id}/approve")) {
                    (form::hidden(caller))
                    button type="submit" data-busy=(lang.t("正在审批…", "Approving…")) { (lang.t("审批通过（须由另一位财务人员）", "Approve (a different finance user)")) }
                }
            }
        }
        h2 { (lang.t("下载", "Downloads")) }
        p {
            a.button.secondary href=(format!("{base}/report/batch.xlsx")) download { "兑付表 XLSX" } " "
            a.button.secondary href=(format!("{base}/report/batch.csv")) download { "CSV" } " "
            a.button.secondary href=(format!("{base}/report/batch.pdf")) download { "PDF" } " "
            @if status != "prepared" {
                a.button.secondary href=(format!("{base}/payment-file")) download { (lang.t("银行付款文件", "Bank payment file")) } " "
                (super::receipts::link(lang, "settlement-runs", id))
            }
        }
        @if status != "prepared" {
            form.stack.card method="post" action=(format!("/finance/runs/{id}/bank-return")) enctype="multipart/form-data" {
                (form::hidden(caller))
                h2 { (lang.t("导入银行回单（CSV）", "Import the bank's return (CSV)")) }
                label for="bank_file" { (lang.t("回单文件", "Return file")) }
                input #bank_file type="file" name="file" accept=".csv,text/csv" required;
                button type="submit" data-busy=(lang.t("正在匹配…", "Matching…")) { (lang.t("导入并匹配", "Import and match")) }
            }
        }
        @let payouts = items(&run, "payouts");
        @if !payouts.is_empty() {
            h2 { (lang.t("付款", "Payouts")) }
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("收款人", "Payee")) } th { (lang.t("账号", "Account")) }
                    th.num { (lang.t("应付", "Gross")) } th.num { (lang.t("抵扣追回", "Offset")) }
                    th.num { (lang.t("实付", "Net")) } th { (lang.t("状态", "Status")) }
                    th { (lang.t("对账单", "Statement")) }
                } }
                tbody { @for p in payouts { tr {
                    td { (s(p, "payee_name")) } td { (s(p, "account_number")) }
                    td.num { (yuan(n(p, "gross_fen"))) } td.num { (yuan(n(p, "offset_fen"))) }
                    td.num { (yuan(n(p, "net_fen"))) } td { (layout::payout_status_label(lang, s(p, "status"))) }
                    td { a href=(format!("{base}/statements/{}/statement.xlsx", s(p, "provider_id"))) download { "XLSX" }
                        " · " (super::receipts::link(lang, "payouts", s(p, "reference"))) }
                } } }
            } }
        }
        h2 { (lang.t("对账明细", "Reconciliation")) }
        (lines_table(caller, id, &lines))
        @let resolutions = items(&run, "resolutions");
        @if !resolutions.is_empty() {
            h2 { (lang.t("处理记录", "Resolutions")) }
            ul { @for r in resolutions {
                li { code { (s(r, "redemption_id")) } " — " (s(r, "note")) " (" (s(r, "resolved_by_name")) ", " (layout::date_time(s(r, "resolved_at"))) ")" }
            } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("结算批次", "Settlement run"), body),
    ))
}

fn lines_table(caller: &Caller, run_id: &str, lines: &Value) -> Markup {
    let lang = caller.lang;
    let rows = items(lines, "lines");
    html! {
        @if rows.is_empty() {
            p.empty { (lang.t("本批次没有明细：期间内没有已确认且单据齐全的核销。", "No lines: no confirmed redemption with complete documents in this period.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { "#" } th { (lang.t("服务机构", "Provider")) } th { (lang.t("企业", "Enterprise")) }
                    th { (lang.t("服务 · 券号", "Service · voucher")) } th.num { (lang.t("合同金额", "Contract")) }
                    th { (lang.t("发票号码", "Invoice")) } th.num { (lang.t("补贴", "Subsidy")) }
                    th { (lang.t("状态", "State")) } th { (lang.t("提示", "Flags")) } th { (lang.t("处理", "Resolve")) }
                } }
                tbody { @for line in rows {
                    @let redemption = s(line, "redemption_id");
                    tr data-line-state=(s(line, "state")) {
                        td { (n(line, "line_no")) }
                        td { (s(line, "provider_name")) }
                        td { (s(line, "enterprise_name")) }
                        td { a href=(format!("/finance/redemptions/{redemption}")) data-redemption-link { (s(line, "service_category")) } br; small.id { (s(line, "voucher_id")) } }
                        td.num { (yuan(n(line, "contract_amount_fen"))) }
                        td { (line["invoice_number"].as_str().unwrap_or("—")) }
                        td.num { (yuan(n(line, "subsidy_fen"))) }
                        td { (layout::status_label(lang, s(line, "state"))) }
                        td { @for flag in items(line, "flags") {
                            span.badge.(s(flag, "severity")) title=(lang.t(s(flag, "detail_zh"), s(flag, "detail_en"))) data-flag=(s(flag, "code")) {
                                (lang.t(s(flag, "meaning_zh"), s(flag, "meaning_en")))
                            }
                            @if !s(flag, "detail").is_empty() {
                                " " small.muted data-flag-detail=(s(flag, "code")) { (lang.t(s(flag, "detail_zh"), s(flag, "detail_en"))) }
                            }
                            " "
                        } }
                        td {
                            @if s(line, "state") == "held" && items(line, "flags").iter().all(|f| f["resolvable"].as_bool() != Some(false)) {
                                form.stack method="post" action=(format!("/finance/runs/{run_id}/lines/{redemption}/resolve")) {
                                    (form::hidden(caller))
                                    label for=(format!("note-{redemption}")) { (lang.t("处理说明", "Note")) }
                                    input id=(format!("note-{redemption}")) name="note" type="text" required maxlength="1000";
                                    button.secondary type="submit" { (lang.t("核实后纳入", "Resolve and include")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
    }
}

fn bank_report_box(lang: Lang, report: &Value) -> Markup {
    html! {
        section.card data-bank-report {
            h2 { (lang.t("回单匹配结果", "Bank return")) }
            p { (lang.t("已支付 ", "Paid: ")) (lang.count(n(report, "paid"), "笔", "payout", "payouts")) (lang.t("，失败 ", ", failed: ")) (lang.count(n(report, "failed"), "笔", "payout", "payouts")) }
            div.table-wrap { table {
                thead { tr { th { (lang.t("行", "Line")) } th { (lang.t("参考号", "Reference")) } th { (lang.t("结果", "Result")) } th { (lang.t("说明", "Message")) } } }
                tbody {
                    @for l in items(report, "lines") { tr {
                        td { (n(l, "line")) } td { (s(l, "reference")) } td data-result=(s(l, "result")) { (layout::bank_result_label(lang, s(l, "result"))) }
                        td { (lang.t(s(l, "message_zh"), s(l, "message"))) }
                    } }
                    @for e in items(report, "errors") { tr {
                        td { (n(e, "line")) } td { "—" } td data-result="error" { (layout::bank_result_label(lang, "error")) } td { (lang.t(s(e, "message_zh"), s(e, "message"))) }
                    } }
                }
            } }
        }
    }
}

async fn approve(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let id = path_part(&id);
    form::answer(
        &api,
        &caller,
        (
            Method::POST,
            &format!("/api/v1/settlement-runs/{id}/approve"),
            Ok(json!({})),
        ),
        &fields,
        (&format!("/finance/runs/{id}"), "approved"),
        async |notice| run_page(&api, &caller, id, notice, None).await,
    )
    .await
}

async fn resolve(
    State(api): State<ApiClient>,
    caller: Caller,
    Path((id, redemption)): Path<(String, String)>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let id = path_part(&id);
    let body = fields
        .required("note", "The note", "处理说明")
        .map(|note| json!({ "note": note }));
    form::answer(
        &api,
        &caller,
        (
            Method::POST,
            &format!(
                "/api/v1/settlement-runs/{id}/lines/{}/resolve",
                path_part(&redemption)
            ),
            body,
        ),
        &fields,
        (&format!("/finance/runs/{id}"), "resolved"),
        async |notice| run_page(&api, &caller, id, notice, None).await,
    )
    .await
}

async fn bank_return(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let id = path_part(&id);
    let Some((_, _, bytes)) = fields.file.clone() else {
        let refusal = Refusal::invalid(
            "file_required",
            "Choose the bank's return file (CSV).",
            "请选择银行回单文件（CSV）。",
        );
        return run_page(&api, &caller, id, Notice::Refused(refusal), None).await;
    };
    match api
        .post_bytes(
            &caller,
            &format!("/api/v1/settlement-runs/{id}/bank-return"),
            "text/csv",
            bytes,
            fields.sent(),
        )
        .await
    {
        Ok(report) => {
            run_page(
                &api,
                &caller,
                id,
                Notice::Done("bank_return".into()),
                Some(&report),
            )
            .await
        }
        Err(refusal) => run_page(&api, &caller, id, Notice::Refused(refusal), None).await,
    }
}

async fn utilisation(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let lang = caller.lang;
    let code = path_part(&code);
    let base = format!("/api/v1/programmes/{code}/utilisation");
    let view = api
        .get(&caller, &format!("{base}?by=district"))
        .await
        .map_err(layout::read_failed(&caller))?;
    // The API answers the totals at the top level of its view.
    let u = &view;
    let totals = crate::service::utilisation::TOTALS;
    let body = html! {
        h1 { (lang.t("资金使用情况", "Utilisation")) " " (code) }
        section.card { dl.facts {
            @for (key, zh, en) in totals {
                dt { (lang.t(zh, en)) } dd { (yuan(n(u, key))) }
            }
        } }
        div.charts {
            @for (by, zh, en) in [("district", "按区县", "By district"), ("category", "按服务类别", "By service category"), ("month", "按月份", "By month"), ("zone", "按功能区", "By zone")] {
                h2 { (lang.t(zh, en)) }
                img src=(format!("{base}.svg?by={by}")) alt=(format!("{} — {}", lang.t("资金使用图表", "Utilisation chart"), lang.t(zh, en))) loading="lazy";
            }
        }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("资金使用情况", "Utilisation"), body),
    ))
}

/// One redemption as the checker looks it up from a line: its facts and
/// documents, what settlement holds it back for, and its way so far.
async fn redemption(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
) -> PageResult {
    layout::require(&caller, Role::Finance)?;
    let lang = caller.lang;
    let r = super::redemption_facts::fetch(&api, &caller, &id).await?;
    let body = html! {
        h1 { (lang.t("核销记录", "Redemption")) " " (s(&r, "contract_number")) }
        (layout::timeline(lang, &r))
        (super::redemption_facts::warnings(lang, &r))
        (super::redemption_facts::facts(lang, &r))
        p { a href="/finance" { (lang.t("← 结算批次", "← Settlement runs")) } }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("核销记录", "Redemption"), body),
    ))
}

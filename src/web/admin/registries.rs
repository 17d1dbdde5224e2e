//! The registries: enterprises (paged, imports of all four lists with the
//! row-level error report, fraud marking) and providers (register,
//! approve, suspend, remove).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::domain::Role;
use crate::domain::programme::SERVICE_CATEGORIES;
use crate::web::ApiClient;
use crate::web::backend::{Caller, Refusal, path_part};
use crate::web::form::{self, Fields};
use crate::web::i18n::Lang;
use crate::web::layout::{self, Notice, PageResult, items, n, s};
use axum::extract::DefaultBodyLimit;

use super::party_by_uscc;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/admin/enterprises", get(enterprises))
        .route(
            "/admin/imports",
            post(import_list).layer(DefaultBodyLimit::max(IMPORT_BYTES_MAX)),
        )
        .route("/admin/providers", get(providers).post(record_provider))
        .route("/admin/providers/{id}/status", post(change_provider_status))
        .route("/admin/fraud", post(mark_fraud))
}

/// An enterprise list of 200,000 rows fits (the API's own limit).
const IMPORT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The registry lists the admin imports (`/api/v1/imports/{kind}`).
const IMPORTS: [(&str, &str, &str); 4] = [
    ("enterprises", "企业库", "enterprises"),
    (
        "tags",
        "企业标签（如专精特新培育库）",
        "enterprise tags (e.g. 专精特新)",
    ),
    ("providers", "服务机构库", "providers"),
    ("blacklist", "黑名单", "blacklist"),
];

async fn enterprises(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<layout::AfterQuery>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    enterprises_page(&api, &caller, notice, query.after.as_deref(), None).await
}

async fn enterprises_page(
    api: &ApiClient,
    caller: &Caller,
    notice: Notice,
    after: Option<&str>,
    report: Option<&Value>,
) -> PageResult {
    let lang = caller.lang;
    let after = after.map(path_part).unwrap_or("");
    let list = api
        .get(
            caller,
            &format!("/api/v1/enterprises?limit=50&after={after}"),
        )
        .await
        .map_err(layout::read_failed(caller))?;
    let body = html! {
        h1 { (lang.t("企业库", "Enterprise registry")) }
        (layout::notice(lang, &notice))
        @if let Some(report) = report { (import_report(lang, report)) }
        div.grid {
            form.stack.card method="post" action="/admin/imports" enctype="multipart/form-data" {
                (form::hidden(caller))
                h2 { (lang.t("导入名单（CSV 或 XLSX）", "Import a list (CSV or XLSX)")) }
                label for="kind" { (lang.t("名单", "List")) }
                select #kind name="kind" {
                    @for (kind, zh, en) in IMPORTS {
                        option value=(kind) { (lang.t(zh, en)) }
                    }
                }
                label for="file" { (lang.t("文件", "File")) }
                input #file type="file" name="file" accept=".csv,.xlsx,text/csv" required;
                label for="mode" { (lang.t("有错误时", "When rows have errors")) }
                select #mode name="mode" {
                    option value="all_or_nothing" { (lang.t("全部不导入", "import nothing")) }
                    option value="valid_rows" { (lang.t("只导入正确的行", "import the valid rows")) }
                }
                button type="submit" data-busy=(lang.t("正在导入…", "Importing…")) { (lang.t("导入", "Import")) }
            }
            form.stack.card method="post" action="/admin/fraud" {
                (form::hidden(caller))
                h2 { (lang.t("标记欺诈（作废券、冻结核销、列入黑名单、追回）", "Mark fraud (revoke, freeze, blacklist, recover)")) }
                label for="party_kind" { (lang.t("对象", "Party")) }
                select #party_kind name="party_kind" {
                    option value="enterprise" { (lang.t("企业", "enterprise")) }
                    option value="provider" { (lang.t("服务机构", "provider")) }
                }
                (layout::field(lang, "fraud_uscc", "统一社会信用代码", "USCC", "text", "", true))
                (layout::field(lang, "reason", "原因（如 套现、虚假交易、串通）", "Reason (e.g. 套现, 虚假交易, 串通)", "text", "", true))
                (layout::field(lang, "source", "线索来源", "Found by", "text", "", true))
                button.danger type="submit" { (lang.t("标记欺诈", "Mark fraud")) }
            }
        }
        div.table-wrap { table {
            thead { tr {
                th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("名称", "Name")) }
                th { (lang.t("区域", "Division")) } th { (lang.t("规模", "Size")) }
                th { (lang.t("联系人（已隐去部分）", "Contact (masked)")) }
            } }
            tbody { @for e in items(&list, "enterprises") { tr {
                td { (s(e, "uscc")) }
                td { a href=(format!("/admin/enterprises/{}", s(e, "id"))) { (s(e, "name")) } }
                td { (layout::division_label(s(e, "division"))) } td { (layout::size_label(lang, s(e, "size_class"))) }
                td { (s(e, "contact")) }
            } } }
        } }
        @if let Some(next) = list["next_cursor"].as_str() {
            p { a href=(format!("/admin/enterprises?after={next}")) { (lang.t("下一页 →", "Next page →")) } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("企业库", "Enterprises"), body),
    ))
}

/// The import's outcome: counts, and every refused row with its column
/// and reason.
fn import_report(lang: Lang, report: &Value) -> Markup {
    let errors = items(report, "errors");
    html! {
        section.card data-import-report {
            h2 { (lang.t("导入结果", "Import result")) }
            p {
                (lang.t("共", "Rows: ")) (n(report, "rows")) (lang.t(" 行；新增 ", "; created ")) (n(report, "created"))
                (lang.t("，更新 ", ", updated ")) (n(report, "updated")) (lang.t("，未变 ", ", unchanged ")) (n(report, "unchanged"))
                @if report["applied"].as_bool() == Some(false) { " · " strong { (lang.t("未导入任何行", "nothing was imported")) } }
            }
            @if !errors.is_empty() {
                div.table-wrap { table {
                    thead { tr { th { (lang.t("行", "Row")) } th { (lang.t("列", "Column")) } th { (lang.t("问题", "Problem")) } th { (lang.t("代码", "Code")) } } }
                    tbody { @for e in errors { tr {
                        td { (n(e, "row")) } td { (s(e, "column")) }
                        td { (lang.t(s(e, "message_zh"), s(e, "message"))) } td { code { (s(e, "code")) } }
                    } } }
                } }
            }
        }
    }
}

async fn import_list(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let Some((_, _, bytes)) = fields.file.clone() else {
        let refusal = Refusal::invalid(
            "file_required",
            "Choose a CSV or XLSX file to import.",
            "请选择要导入的 CSV 或 XLSX 文件。",
        );
        return enterprises_page(&api, &caller, Notice::Refused(refusal), None, None).await;
    };
    let kind = IMPORTS
        .iter()
        .map(|(kind, _, _)| *kind)
        .find(|kind| *kind == fields.get("kind"))
        .unwrap_or("enterprises");
    let mode = match fields.get("mode") {
        "valid_rows" => "valid_rows",
        _ => "all_or_nothing",
    };
    let path = format!("/api/v1/imports/{kind}?mode={mode}");
    match api
        .post_bytes(
            &caller,
            &path,
            "application/octet-stream",
            bytes,
            fields.sent(),
        )
        .await
    {
        Ok(report) => enterprises_page(&api, &caller, Notice::None, None, Some(&report)).await,
        Err(refusal) if refusal.answer["rows"].is_number() => {
            let report = refusal.answer.clone();
            let notice = Notice::Refused(Refusal::invalid(
                "import_rows_invalid",
                "Some rows were refused; see each row's problem below.",
                "部分行有问题，请查看下方每一行的原因。",
            ));
            enterprises_page(&api, &caller, notice, None, Some(&report)).await
        }
        Err(refusal) => enterprises_page(&api, &caller, Notice::Refused(refusal), None, None).await,
    }
}

async fn providers(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<layout::AfterQuery>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    providers_page(
        &api,
        &caller,
        notice,
        query.after.as_deref(),
        &Fields::default(),
    )
    .await
}

const PROVIDER_STATUSES: [(&str, &str, &str); 4] = [
    ("applied", "申请中", "applied"),
    ("approved", "入库", "approved"),
    ("suspended", "暂停", "suspended"),
    ("removed", "出库", "removed"),
];

async fn providers_page(
    api: &ApiClient,
    caller: &Caller,
    notice: Notice,
    after: Option<&str>,
    typed: &Fields,
) -> PageResult {
    let lang = caller.lang;
    let after = after.map(path_part).unwrap_or("");
    let list = api
        .get(caller, &format!("/api/v1/providers?limit=50&after={after}"))
        .await
        .map_err(layout::read_failed(caller))?;
    let status_label = |status: &str| {
        PROVIDER_STATUSES
            .iter()
            .find(|(code, _, _)| *code == status)
            .map(|(_, zh, en)| lang.t(zh, en).to_string())
            .unwrap_or_else(|| status.to_string())
    };
    let text = |name: &str, zh: &str, en: &str, required: bool| {
        layout::field(lang, name, zh, en, "text", typed.get(name), required)
    };
    let body = html! {
        h1 { (lang.t("服务机构库", "Provider registry")) }
        (layout::notice(lang, &notice))
        @let rows = items(&list, "providers");
        @if rows.is_empty() {
            p.empty { (lang.t("还没有服务机构。登记后审核入库，即可核销服务券。", "No providers yet. Register one and approve it; then it can redeem vouchers.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("统一社会信用代码", "USCC")) } th { (lang.t("名称", "Name")) }
                    th { (lang.t("服务类别", "Categories")) } th { (lang.t("状态", "Status")) }
                    th { (lang.t("变更状态", "Change status")) }
                } }
                tbody { @for p in rows {
                    @let id = s(p, "id");
                    tr data-provider=(s(p, "uscc")) {
                        td { (s(p, "uscc")) } td { (s(p, "name")) }
                        td { (p["fields"]["categories"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("、")).unwrap_or_default()) }
                        td { (status_label(s(p, "status"))) }
                        td {
                            form.stack method="post" action=(format!("/admin/providers/{id}/status")) {
                                (form::hidden(caller))
                                label for=(format!("status-{id}")) { (lang.t("新状态", "New status")) }
                                select id=(format!("status-{id}")) name="status" {
                                    @for (code, zh, en) in &PROVIDER_STATUSES[1..] {
                                        option value=(code) { (lang.t(zh, en)) }
                                    }
                                }
                                label for=(format!("reason-{id}")) { (lang.t("原因", "Reason")) }
                                input id=(format!("reason-{id}")) name="reason" type="text" required maxlength="500";
                                button.secondary type="submit" { (lang.t("变更", "Change")) }
                            }
                        }
                    }
                } }
            } }
        }
        @if let Some(next) = list["next_cursor"].as_str() {
            p { a href=(format!("/admin/providers?after={next}")) { (lang.t("下一页 →", "Next page →")) } }
        }
        form.stack.card method="post" action="/admin/providers" {
            (form::hidden(caller))
            h2 { (lang.t("登记服务机构（登记后为“申请中”，审核入库后可核销）", "Register a provider (applied until approved)")) }
            (text("uscc", "统一社会信用代码", "USCC", true))
            (text("name", "名称", "Name", true))
            (text("legal_representative", "法定代表人", "Legal representative", true))
            fieldset {
                legend { (lang.t("服务类别", "Service categories")) }
                @for category in SERVICE_CATEGORIES {
                    label { input type="checkbox" name="categories" value=(category) checked[typed.all("categories").contains(&category)]; " " (category) }
                    " "
                }
            }
            (text("bank_name", "开户银行", "Bank", true))
            (text("account_name", "户名", "Account name", true))
            (text("account_number", "账号", "Account number", true))
            (layout::field(lang, "annual_cap", "年度结算上限（元）", "Annual settlement cap (元)", "text", if typed.get("annual_cap").is_empty() { "5,000,000" } else { typed.get("annual_cap") }, true))
            (text("related_uscc", "关联企业统一社会信用代码（可空）", "Related firm's USCC (optional)", false))
            (text("related_name", "关联企业名称", "Related firm's name", false))
            (text("related_relation", "关联关系（如 同一法定代表人）", "Relation (e.g. same legal representative)", false))
            button type="submit" { (lang.t("登记", "Register")) }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("服务机构库", "Providers"), body),
    ))
}

/// The API's provider record from the form.
fn provider_request(fields: &Fields) -> Result<Value, Refusal> {
    let related = match fields.optional("related_name") {
        Some(name) => vec![json!({
            "uscc": fields.optional("related_uscc"),
            "name": name,
            "relation": fields.required("related_relation", "The relation", "关联关系")?,
        })],
        None => Vec::new(),
    };
    Ok(json!({
        "uscc": fields.required("uscc", "The USCC", "统一社会信用代码")?,
        "name": fields.required("name", "The name", "名称")?,
        "legal_representative": fields.required("legal_representative", "The legal representative", "法定代表人")?,
        "categories": fields.all("categories"),
        "bank_name": fields.required("bank_name", "The bank", "开户银行")?,
        "account_name": fields.required("account_name", "The account name", "户名")?,
        "account_number": fields.required("account_number", "The account number", "账号")?,
        "related_parties": related,
        "annual_cap_yuan": fields.yuan("annual_cap", "The annual cap", "年度结算上限")?.to_plain_yuan(),
    }))
}

async fn record_provider(
    State(api): State<ApiClient>,
    caller: Caller,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/providers", provider_request(&fields)),
        &fields,
        ("/admin/providers", "created"),
        async |notice| providers_page(&api, &caller, notice, None, &fields).await,
    )
    .await
}

async fn change_provider_status(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let body = fields
        .required("reason", "The reason", "原因")
        .map(|reason| json!({ "status": fields.get("status"), "reason": reason }));
    form::answer(
        &api,
        &caller,
        (
            Method::POST,
            &format!("/api/v1/providers/{}/status", path_part(&id)),
            body,
        ),
        &fields,
        ("/admin/providers", "status"),
        async |notice| providers_page(&api, &caller, notice, None, &Fields::default()).await,
    )
    .await
}

async fn mark_fraud(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let kind = match fields.get("party_kind") {
        "provider" => "provider",
        _ => "enterprise",
    };
    let party = match fields.required("fraud_uscc", "The USCC", "统一社会信用代码") {
        Ok(uscc) => party_by_uscc(&api, &caller, kind, uscc).await,
        Err(refusal) => Err(refusal),
    };
    let body = party.and_then(|party_id| {
        Ok(json!({
            "party_kind": kind,
            "party_id": party_id,
            "reason": fields.required("reason", "The reason", "原因")?,
            "source": fields.required("source", "Who found it", "线索来源")?,
        }))
    });
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/fraud-markings", body),
        &fields,
        ("/admin/enterprises", "fraud"),
        async |notice| enterprises_page(&api, &caller, notice, None, None).await,
    )
    .await
}

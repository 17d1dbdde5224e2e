//! One enterprise's page for the admin (docs/personal-data.md): its record
//! with the contact person opened — a recorded read — the standing of its
//! personal data, the erasure or restriction request form, and who read
//! the contact unmasked.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::domain::Role;
use crate::personal::request::{LEGAL_BASES, REQUESTERS};
use crate::web::ApiClient;
use crate::web::backend::{Caller, path_part};
use crate::web::form::{self, Fields};
use crate::web::i18n::Lang;
use crate::web::layout::{self, Notice, PageResult, items, s};

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/admin/enterprises/{id}", get(enterprise))
        .route("/admin/enterprises/{id}/erasure", post(request_erasure))
}

/// Legal bases in English, beside `LEGAL_BASES`' Chinese.
const LEGAL_BASES_EN: [&str; 5] = [
    "the purpose is achieved, cannot be, or no longer needs it",
    "the service ended, or the retention period expired",
    "consent withdrawn",
    "processed against the law or the agreement",
    "another case the law provides",
];
/// Requesters in English, beside `REQUESTERS`' Chinese.
const REQUESTERS_EN: [&str; 4] = [
    "the person concerned",
    "the enterprise",
    "a regulator",
    "the bureau itself",
];

async fn enterprise(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    enterprise_page(&api, &caller, path_part(&id), notice, &Fields::default()).await
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "—" } else { text }
}

/// A role as the admin reads it (`operator`: the command line).
fn role_label(lang: Lang, role: &str) -> String {
    super::users::ROLES
        .iter()
        .find(|(code, _, _)| *code == role)
        .map(|(_, zh, en)| lang.t(zh, en).to_string())
        .unwrap_or_else(|| {
            lang.t("运维（命令行）", "operator (command line)")
                .to_string()
        })
}

/// The standing's words.
fn standing(lang: Lang, subject: &Value) -> String {
    match s(subject, "state") {
        "restricted" => format!(
            "{}{}",
            lang.t(
                "受限处理（仅保存），保存期限至 ",
                "Restricted (stored only) until "
            ),
            s(subject, "retain_until")
        ),
        "erased" => format!(
            "{}{}",
            lang.t("已删除，时间 ", "Erased at "),
            layout::date_time(s(subject, "erased_at"))
        ),
        "live" => lang
            .t("在用（加密保存）", "In use (stored sealed)")
            .to_string(),
        _ => lang
            .t("未登记个人信息", "No personal data recorded")
            .to_string(),
    }
}

async fn enterprise_page(
    api: &ApiClient,
    caller: &Caller,
    id: &str,
    notice: Notice,
    typed: &Fields,
) -> PageResult {
    let lang = caller.lang;
    let detail = api
        .get(caller, &format!("/api/v1/enterprises/{id}"))
        .await
        .map_err(layout::read_failed(caller))?;
    let e = &detail["enterprise"];
    let subject_id = format!("enterprise:{}", s(e, "id"));
    let subject = api
        .get(
            caller,
            &format!("/api/v1/personal-data/subjects/{subject_id}"),
        )
        .await
        .map_err(layout::read_failed(caller))?;
    let reads = api
        .get(
            caller,
            &format!("/api/v1/personal-data/reads?subject={subject_id}&limit=50"),
        )
        .await
        .map_err(layout::read_failed(caller))?;
    let erased = s(&subject, "state") == "erased";
    let body = html! {
        p { a href="/admin/enterprises" { (lang.t("← 企业库", "← Enterprise registry")) } }
        h1 { (s(e, "name")) }
        (layout::notice(lang, &notice))
        div.grid {
            section.card {
                h2 { (lang.t("登记信息", "Record")) }
                dl {
                    dt { (lang.t("统一社会信用代码", "USCC")) } dd { (s(e, "uscc")) }
                    dt { (lang.t("区域", "Division")) } dd { (layout::division_label(s(e, "division"))) }
                    dt { (lang.t("规模", "Size")) } dd { (layout::size_label(lang, s(e, "size_class"))) }
                    dt { (lang.t("法定代表人（公示信息）", "Legal representative (public record)")) } dd { (or_dash(s(e, "legal_representative"))) }
                    dt { (lang.t("联系人", "Contact person")) }
                    dd data-contact { (or_dash(s(e, "contact"))) }
                }
                p.hint { (lang.t(
                    "联系人属于个人信息：本页每次显示完整联系人都会留下查阅记录（谁、何时、哪家企业）。",
                    "The contact person is personal data: each time this page shows it in full, the read is recorded (who, when, which enterprise)."
                )) }
            }
            section.card data-personal-standing {
                h2 { (lang.t("个人信息状态", "Personal data")) }
                p { strong { (standing(lang, &subject)) } }
                @if !erased { (erasure_form(lang, caller, s(e, "id"), typed)) }
            }
        }
        h2 { (lang.t("个人信息查阅记录", "Who read the contact in full")) }
        @let rows = items(&reads, "reads");
        @if rows.is_empty() {
            p.empty { (lang.t("还没有查阅记录。", "No reads recorded yet.")) }
        } @else {
            div.table-wrap { table data-reads {
                thead { tr {
                    th { (lang.t("时间", "When")) } th { (lang.t("角色", "Role")) }
                    th { (lang.t("操作者", "Who")) } th { (lang.t("途径", "Through")) }
                } }
                tbody { @for r in rows { tr {
                    td { (layout::date_time(s(r, "read_at"))) } td { (role_label(lang, s(r, "role"))) }
                    td { code { (s(r, "actor")) } } td { (s(r, "purpose")) }
                } } }
            } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, s(e, "name"), body),
    ))
}

fn erasure_form(lang: Lang, caller: &Caller, id: &str, typed: &Fields) -> Markup {
    html! {
        form.stack method="post" action=(format!("/admin/enterprises/{id}/erasure")) {
            (form::hidden(caller))
            h3 { (lang.t("删除或限制处理（个人信息保护法第四十七条）", "Erase or restrict (PIPL Art. 47)")) }
            label for="legal_basis" { (lang.t("依据", "Legal basis")) }
            select #legal_basis name="legal_basis" {
                @for ((code, zh), en) in LEGAL_BASES.iter().zip(LEGAL_BASES_EN) {
                    option value=(code) selected[typed.get("legal_basis") == *code] { (lang.t(zh, en)) }
                }
            }
            label for="requester" { (lang.t("提出方", "Asked by")) }
            select #requester name="requester" {
                @for ((code, zh), en) in REQUESTERS.iter().zip(REQUESTERS_EN) {
                    option value=(code) selected[typed.get("requester") == *code] { (lang.t(zh, en)) }
                }
            }
            (layout::field(lang, "reference", "案号或函号（勿填姓名）", "Case or letter number (no names)", "text", typed.get("reference"), true))
            (layout::field(lang, "retain_until", "法定保存期限截止日（有则仅限制处理，期满后自动删除）", "Retention ends on (if any: restricted until then, erased after)", "date", typed.get("retain_until"), false))
            button.danger type="submit" { (lang.t("记录请求", "Record the request")) }
        }
    }
}

async fn request_erasure(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let id = path_part(&id);
    let body = fields
        .required("reference", "The case number", "案号或函号")
        .map(|reference| {
            json!({
                "subject": format!("enterprise:{id}"),
                "legal_basis": fields.get("legal_basis"),
                "requester": fields.get("requester"),
                "reference": reference,
                "retain_until": fields.optional("retain_until"),
            })
        });
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/personal-data/erasures", body),
        &fields,
        (&format!("/admin/enterprises/{id}"), "erasure"),
        async |notice| enterprise_page(&api, &caller, id, notice, &fields).await,
    )
    .await
}

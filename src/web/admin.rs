//! The economy bureau's (经信局) portal: programmes (create with sensible
//! defaults, fund, open, close), users, the enterprise registry with
//! imports and their row-level error report, fraud marking (which also
//! blacklists), and the issuer keys (revoke, re-issue a revoked key's
//! vouchers).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::Method;
use axum::routing::{get, post};
use chrono::Datelike;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiClient;
use super::account::DoneQuery;
use super::backend::{Caller, Refusal, path_part};
use super::form::{self, Fields};
use super::i18n::Lang;
use super::layout::{self, Notice, PageResult, items, n, s, yuan};
use crate::domain::programme::SERVICE_CATEGORIES;
use crate::domain::{Role, Timestamp};

/// An enterprise list of 200,000 rows fits (the API's own limit).
const IMPORT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Divisions a Zhoushan programme may cover (GB/T 2260).
const DIVISIONS: [(&str, &str, &str); 5] = [
    ("330900", "舟山市（全市）", "Zhoushan (whole city)"),
    ("330902", "定海区", "Dinghai"),
    ("330903", "普陀区", "Putuo"),
    ("330921", "岱山县", "Daishan"),
    ("330922", "嵊泗县", "Shengsi"),
];

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

const SIZES: [(&str, &str, &str); 4] = [
    ("micro", "微型", "micro"),
    ("small", "小型", "small"),
    ("medium", "中型", "medium"),
    ("large", "大型", "large"),
];

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/admin", get(programmes))
        .route("/admin/programmes", post(create_programme))
        .route("/admin/programmes/new", get(new_programme))
        .route(
            "/admin/programmes/{code}/edit",
            get(edit_programme).post(amend_programme),
        )
        .route("/admin/programmes/{code}/open", post(open_programme))
        .route("/admin/programmes/{code}/close", post(close_programme))
        .route("/admin/programmes/{code}/fund", post(fund_programme))
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/enterprises", get(enterprises))
        .route(
            "/admin/imports",
            post(import_list).layer(DefaultBodyLimit::max(IMPORT_BYTES_MAX)),
        )
        .route("/admin/providers", get(providers).post(record_provider))
        .route("/admin/providers/{id}/status", post(change_provider_status))
        .route("/admin/fraud", post(mark_fraud))
        .route("/admin/keys", get(keys))
        .route("/admin/keys/rotate", post(rotate_key))
        .route("/admin/keys/{key_id}/revoke", post(revoke_key))
        .route("/admin/keys/{key_id}/reissue", post(reissue_key))
}

async fn programmes(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    programmes_page(&api, &caller, Notice::from_query(query.done.as_deref())).await
}

async fn programmes_page(api: &ApiClient, caller: &Caller, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let list = api
        .get(caller, "/api/v1/programmes?limit=200")
        .await
        .map_err(layout::read_failed(caller))?;
    let body = html! {
        h1 { (lang.t("服务券项目", "Programmes")) }
        (layout::notice(lang, &notice))
        p { a.button href="/admin/programmes/new" { (lang.t("新建项目", "New programme")) } }
        @let rows = items(&list, "programmes");
        @if rows.is_empty() {
            p.empty { (lang.t("还没有项目。新建一个项目，拨入资金后开放申领。", "No programmes yet. Create one, fund it, then open it for claims.")) }
        }
        @for p in rows {
            @let code = s(p, "code");
            section.card data-programme=(code) {
                h2 { (s(&p["terms"], "name")) " " span.badge { (layout::status_label(lang, s(p, "status"))) } }
                dl.facts {
                    dt { (lang.t("编号", "Code")) } dd { (code) }
                    dt { (lang.t("预算", "Budget")) } dd { (yuan(n(&p["terms"], "budget_fen"))) }
                    dt { (lang.t("已拨入", "Funded")) } dd { (yuan(n(p, "funded_fen"))) }
                    dt { (lang.t("可发放", "Available")) } dd { (yuan(n(p, "available_fen"))) }
                    dt { (lang.t("申领时间", "Claims")) } dd { (s(&p["terms"], "claim_opens_at")) " – " (s(&p["terms"], "claim_closes_at")) }
                }
                @if s(p, "status") != "closed" {
                    p { a href=(format!("/admin/programmes/{code}/edit")) { (lang.t("修改条款", "Amend the terms")) } }
                    form.stack method="post" action=(format!("/admin/programmes/{code}/fund")) {
                        (form::hidden(caller))
                        (layout::field(lang, &format!("amount-{code}"), "拨入金额（元）", "Amount to fund (元)", "text", "", true))
                        (layout::field(lang, &format!("reference-{code}"), "拨款文号", "Funding reference", "text", "", true))
                        button.secondary type="submit" { (lang.t("拨入资金", "Fund")) }
                    }
                }
                @match s(p, "status") {
                    "draft" => {
                        form.inline method="post" action=(format!("/admin/programmes/{code}/open")) {
                            (form::hidden(caller))
                            button type="submit" { (lang.t("开放申领", "Open for claims")) }
                        }
                    }
                    "open" => {
                        form.inline method="post" action=(format!("/admin/programmes/{code}/close")) {
                            (form::hidden(caller))
                            button.danger type="submit" { (lang.t("关闭项目", "Close")) }
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("项目", "Programmes"), body),
    ))
}

async fn new_programme(caller: Caller) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    Ok(programme_form(
        &caller,
        &Notice::None,
        &Fields::default(),
        None,
    ))
}

/// A programme being amended: its code and status.
struct Editing<'a> {
    code: &'a str,
    status: &'a str,
}

/// The form fields of existing terms, so the form shows the programme as
/// it stands.
fn fields_of(code: &str, terms: &Value) -> Fields {
    let yuan_of = |fen: i64| crate::domain::Fen::new(fen).to_plain_yuan();
    let list = |key: &str| -> Vec<String> {
        terms[key]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let local_minute = |key: &str| -> String {
        chrono::DateTime::parse_from_rfc3339(s(terms, key))
            .map(|t| {
                t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let faces: Vec<String> = terms["face_values_fen"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_i64).map(yuan_of).collect())
        .unwrap_or_default();
    let validity = &terms["validity"];
    let mut pairs: Vec<(String, String)> = vec![
        ("code".into(), code.into()),
        ("name".into(), s(terms, "name").into()),
        ("fiscal_year".into(), n(terms, "fiscal_year").to_string()),
        ("budget".into(), yuan_of(n(terms, "budget_fen"))),
        ("face_values".into(), faces.join(", ")),
        (
            "ratio_percent".into(),
            yuan_of(n(terms, "subsidy_ratio_bp")),
        ),
        ("rounding".into(), s(terms, "rounding").into()),
        (
            "validity_days".into(),
            validity["days"]
                .as_i64()
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
        ("valid_from".into(), s(validity, "from").into()),
        ("valid_until".into(), s(validity, "until").into()),
        ("ends_on".into(), s(terms, "ends_on").into()),
        ("zones".into(), list("zones").join(", ")),
        ("required_tags".into(), list("required_tags").join(", ")),
        ("excluded_tags".into(), list("excluded_tags").join(", ")),
        ("annual_cap".into(), yuan_of(n(terms, "annual_cap_fen"))),
        (
            "annual_count".into(),
            n(terms, "annual_voucher_count").to_string(),
        ),
        ("claim_opens".into(), local_minute("claim_opens_at")),
        ("claim_closes".into(), local_minute("claim_closes_at")),
        (
            "auto_confirm_days".into(),
            n(terms, "auto_confirm_days").to_string(),
        ),
        ("qr_mode".into(), s(terms, "qr_mode").into()),
        (
            "settlement_period".into(),
            s(terms, "settlement_period").into(),
        ),
    ];
    if terms["divisible"].as_bool() == Some(true) {
        pairs.push(("divisible".into(), "yes".into()));
    }
    for (field, key) in [
        ("divisions", "divisions"),
        ("size_classes", "size_classes"),
        ("categories", "service_categories"),
    ] {
        pairs.extend(list(key).into_iter().map(|v| (field.to_string(), v)));
    }
    Fields::from_pairs(pairs)
}

/// The programme form: empty with defaults that follow the published
/// measures (50 %, small and micro firms, 10,000 元 a year, this fiscal
/// year), or the user's input again, or an existing programme's terms.
fn programme_form(
    caller: &Caller,
    notice: &Notice,
    typed: &Fields,
    editing: Option<Editing<'_>>,
) -> axum::response::Response {
    let lang = caller.lang;
    let year = Timestamp::now().cst_date().year();
    let fresh = typed.get("code").is_empty() && typed.get("name").is_empty();
    let value = |name: &str, default: String| -> String {
        if fresh {
            default
        } else {
            typed.get(name).to_string()
        }
    };
    let checked = |name: &str, option: &str, default: bool| -> bool {
        if fresh {
            default
        } else {
            typed.all(name).contains(&option)
        }
    };
    let text = |name: &str, zh: &str, en: &str, default: String| -> Markup {
        layout::field(lang, name, zh, en, "text", &value(name, default), true)
    };
    let optional = |name: &str, zh: &str, en: &str, kind: &str| -> Markup {
        layout::field(lang, name, zh, en, kind, &value(name, String::new()), false)
    };
    let (title, action) = match &editing {
        Some(e) => (
            lang.t("修改项目条款", "Amend the programme's terms"),
            format!("/admin/programmes/{}/edit", e.code),
        ),
        None => (
            lang.t("新建服务券项目", "New programme"),
            "/admin/programmes".to_string(),
        ),
    };
    let body = html! {
        h1 { (title) }
        (layout::notice(lang, notice))
        form.stack.card method="post" action=(action) {
            (form::hidden(caller))
            @if let Some(e) = &editing {
                input type="hidden" name="code" value=(e.code);
                input type="hidden" name="status" value=(e.status);
                p { (lang.t("项目编号：", "Code: ")) strong { (e.code) } " " span.badge { (layout::status_label(lang, e.status)) } }
            } @else {
                (text("code", "项目编号（如 ZS2026-02）", "Code (e.g. ZS2026-02)", String::new()))
            }
            (text("name", "项目名称", "Name", String::new()))
            (text("fiscal_year", "年度", "Fiscal year", year.to_string()))
            (text("budget", "预算（元）", "Budget (元)", "3,000,000".into()))
            (text("face_values", "面额（元，逗号分隔）", "Face values (元, comma-separated)", "1000, 5000, 10000".into()))
            (text("ratio_percent", "补贴比例（%，可两位小数）", "Subsidy ratio (%, up to two decimals)", "50".into()))
            label for="rounding" { (lang.t("补贴取整", "Rounding")) }
            select #rounding name="rounding" {
                option value="fen" selected[value("rounding", "fen".into()) == "fen"] { (lang.t("取整到分", "down to the fen")) }
                option value="yuan" selected[value("rounding", "fen".into()) == "yuan"] { (lang.t("取整到元", "down to the 元")) }
            }
            label { input type="checkbox" name="divisible" value="yes" checked[checked("divisible", "yes", true)]; " " (lang.t("可分次使用", "Divisible (a balance used across contracts)")) }
            (layout::field(lang, "validity_days", "领券后有效天数", "Valid for days after issue", "text", &value("validity_days", "180".into()), false))
            (optional("valid_from", "或：固定有效期起", "Or fixed validity: from", "date"))
            (optional("valid_until", "固定有效期止", "Fixed validity: until", "date"))
            (layout::field(lang, "ends_on", "项目结束日", "Programme ends on", "date", &value("ends_on", format!("{year}-12-31")), true))
            fieldset {
                legend { (lang.t("适用区域", "Divisions")) }
                @for (code, zh, en) in DIVISIONS {
                    label { input type="checkbox" name="divisions" value=(code) checked[checked("divisions", code, code == "330900")]; " " (lang.t(zh, en)) }
                    br;
                }
            }
            (optional("zones", "功能区（逗号分隔，可空）", "Zones (comma-separated, optional)", "text"))
            fieldset {
                legend { (lang.t("企业规模", "Firm sizes")) }
                @for (code, zh, en) in SIZES {
                    label { input type="checkbox" name="size_classes" value=(code) checked[checked("size_classes", code, matches!(code, "micro" | "small"))]; " " (lang.t(zh, en)) }
                    " "
                }
            }
            (optional("required_tags", "必须具备的标签（逗号分隔，可空）", "Required tags (comma-separated, optional)", "text"))
            (layout::field(lang, "excluded_tags", "排除的标签（逗号分隔，可空）", "Excluded tags (comma-separated, optional)", "text", &value("excluded_tags", "低散乱危".into()), false))
            fieldset {
                legend { (lang.t("服务类别", "Service categories")) }
                @for category in SERVICE_CATEGORIES {
                    label { input type="checkbox" name="categories" value=(category) checked[checked("categories", category, true)]; " " (category) }
                    " "
                }
            }
            (text("annual_cap", "每家企业年度上限（元）", "Per-enterprise annual cap (元)", "10,000".into()))
            (text("annual_count", "每家企业年度券数", "Vouchers per enterprise a year", "3".into()))
            (layout::field(lang, "claim_opens", "开始申领", "Claims open", "datetime-local", &value("claim_opens", Timestamp::now().to_cst_rfc3339().get(..16).unwrap_or_default().to_string()), true))
            (layout::field(lang, "claim_closes", "截止申领", "Claims close", "datetime-local", &value("claim_closes", format!("{year}-12-31T17:00")), true))
            (text("auto_confirm_days", "自动确认天数", "Auto-confirm after days", "15".into()))
            label for="qr_mode" { (lang.t("二维码方式", "QR mode")) }
            select #qr_mode name="qr_mode" {
                option value="rotating" selected[value("qr_mode", "rotating".into()) == "rotating"] { (lang.t("动态码（手机出示，防截图）", "rotating (phones; screenshots expire)")) }
                option value="static" selected[value("qr_mode", "rotating".into()) == "static"] { (lang.t("静态码（可打印）", "static (printable)")) }
            }
            label for="settlement_period" { (lang.t("结算周期", "Settlement period")) }
            select #settlement_period name="settlement_period" {
                @for (code, zh, en) in [("quarter", "按季度", "quarterly"), ("half_year", "按半年", "half-yearly"), ("custom", "自定义", "custom")] {
                    option value=(code) selected[value("settlement_period", "quarter".into()) == code] { (lang.t(zh, en)) }
                }
            }
            @match &editing {
                Some(e) if e.status != "draft" => {
                    (layout::field(lang, "reason", "修改原因（记入账本）", "Why the terms change (recorded in the ledger)", "text", typed.get("reason"), true))
                    button type="submit" { (lang.t("保存修改", "Save the amendment")) }
                }
                Some(_) => button type="submit" { (lang.t("保存草稿", "Save the draft")) },
                None => button type="submit" data-busy=(lang.t("正在创建…", "Creating…")) { (lang.t("创建项目（草稿）", "Create (as draft)")) },
            }
        }
    };
    layout::answer(notice.status(), layout::page(caller, title, body))
}

/// A whole number typed into a form.
fn whole(fields: &Fields, name: &str, en: &str, zh: &str) -> Result<i64, Refusal> {
    fields.get(name).replace(',', "").parse().map_err(|_| {
        Refusal::invalid(
            "number_invalid",
            &format!("{en} must be a whole number."),
            &format!("{zh}须为整数。"),
        )
    })
}

fn comma_list(text: &str) -> Vec<String> {
    text.split([',', '，', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// `2026-03-01T09:00` from a datetime-local field, as an instant in UTC+8.
fn cst_instant(fields: &Fields, name: &str, en: &str, zh: &str) -> Result<String, Refusal> {
    let text = fields.get(name);
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .map(|t| t.format("%Y-%m-%dT%H:%M:00+08:00").to_string())
        .map_err(|_| {
            Refusal::invalid(
                "datetime_invalid",
                &format!("{en} must be a date and time, e.g. 2026-03-01 09:00."),
                &format!("{zh}须为日期和时间，例如 2026-03-01 09:00。"),
            )
        })
}

/// Fixed dates when both are given, else days after issue.
fn validity(fields: &Fields) -> Result<Value, Refusal> {
    match (
        fields.optional("valid_from"),
        fields.optional("valid_until"),
    ) {
        (Some(from), Some(until)) => Ok(json!({ "kind": "fixed", "from": from, "until": until })),
        _ => Ok(json!({
            "kind": "days_after_issue",
            "days": whole(fields, "validity_days", "The validity in days", "有效天数")?,
        })),
    }
}

/// The API's terms from the form, or the first field it refuses.
fn programme_terms(fields: &Fields) -> Result<Value, Refusal> {
    let name = fields.required("name", "The name", "项目名称")?;
    let face_values = comma_list(fields.get("face_values"))
        .iter()
        .map(|face| {
            crate::domain::Fen::parse_yuan(face)
                .map(|f| f.as_fen())
                .map_err(|_| {
                    Refusal::invalid(
                        "amount_invalid",
                        &format!("Face value {face:?} is not an amount in 元."),
                        &format!("面额 {face} 不是以元为单位的金额。"),
                    )
                })
        })
        .collect::<Result<Vec<i64>, Refusal>>()?;
    // A percentage with two decimals is a number of basis points, read
    // exactly like an amount of 元 is a number of fen.
    let ratio_bp = crate::domain::Fen::parse_yuan(fields.get("ratio_percent"))
        .map(|bp| bp.as_fen())
        .map_err(|_| {
            Refusal::invalid(
                "ratio_invalid",
                "The subsidy ratio must be a percentage with at most two decimals, e.g. 50 or 37.5.",
                "补贴比例须为百分数，最多两位小数，例如 50 或 37.5。",
            )
        })?;
    Ok(json!({
        "name": name,
        "fiscal_year": whole(fields, "fiscal_year", "The fiscal year", "年度")?,
        "budget_fen": fields.yuan("budget", "The budget", "预算")?.as_fen(),
        "face_values_fen": face_values,
        "subsidy_ratio_bp": ratio_bp,
        "rounding": fields.get("rounding"),
        "divisible": fields.get("divisible") == "yes",
        "validity": validity(fields)?,
        "ends_on": fields.required("ends_on", "The end date", "项目结束日")?,
        "divisions": fields.all("divisions"),
        "zones": comma_list(fields.get("zones")),
        "size_classes": fields.all("size_classes"),
        "required_tags": comma_list(fields.get("required_tags")),
        "excluded_tags": comma_list(fields.get("excluded_tags")),
        "service_categories": fields.all("categories"),
        "annual_cap_fen": fields.yuan("annual_cap", "The annual cap", "年度上限")?.as_fen(),
        "annual_voucher_count": whole(fields, "annual_count", "The vouchers per year", "年度券数")?,
        "claim_opens_at": cst_instant(fields, "claim_opens", "The claim opening", "开始申领")?,
        "claim_closes_at": cst_instant(fields, "claim_closes", "The claim closing", "截止申领")?,
        "auto_confirm_days": whole(fields, "auto_confirm_days", "The auto-confirm days", "自动确认天数")?,
        "qr_mode": fields.get("qr_mode"),
        "settlement_period": fields.get("settlement_period"),
    }))
}

async fn create_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let body = fields
        .required("code", "The code", "项目编号")
        .and_then(|code| Ok(json!({ "code": code, "terms": programme_terms(&fields)? })));
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/programmes",
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin", "created")),
        Err(refusal) => Ok(programme_form(
            &caller,
            &Notice::Refused(refusal),
            &fields,
            None,
        )),
    }
}

async fn edit_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let code = path_part(&code);
    let programme = api
        .get(&caller, &format!("/api/v1/programmes/{code}"))
        .await
        .map_err(layout::read_failed(&caller))?;
    let editing = Editing {
        code,
        status: s(&programme, "status"),
    };
    Ok(programme_form(
        &caller,
        &Notice::None,
        &fields_of(code, &programme["terms"]),
        Some(editing),
    ))
}

/// A draft's terms are replaced; an open programme's are amended with a
/// reason recorded in the ledger.
async fn amend_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let code = path_part(&code);
    let status = fields.get("status");
    let result = if status == "draft" {
        api.send_form(
            &caller,
            Method::PUT,
            &format!("/api/v1/programmes/{code}"),
            programme_terms(&fields),
            fields.sent(),
        )
        .await
    } else {
        let body = programme_terms(&fields).and_then(|terms| {
            let reason = fields.required("reason", "The reason", "修改原因")?;
            Ok(json!({ "terms": terms, "reason": reason }))
        });
        api.send_form(
            &caller,
            Method::POST,
            &format!("/api/v1/programmes/{code}/amendments"),
            body,
            fields.sent(),
        )
        .await
    };
    match result {
        Ok(_) => Ok(layout::done("/admin", "amended")),
        Err(refusal) => {
            let editing = Editing { code, status };
            Ok(programme_form(
                &caller,
                &Notice::Refused(refusal),
                &fields,
                Some(editing),
            ))
        }
    }
}

/// One change to a programme; back to the list with its outcome.
async fn change_programme(
    api: &ApiClient,
    caller: &Caller,
    code: &str,
    action: &str,
    body: Result<Value, Refusal>,
    fields: &Fields,
    done: &str,
) -> PageResult {
    let result = api
        .send_form(
            caller,
            Method::POST,
            &format!("/api/v1/programmes/{}/{action}", path_part(code)),
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin", done)),
        Err(refusal) => programmes_page(api, caller, Notice::Refused(refusal)).await,
    }
}

async fn open_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    change_programme(
        &api,
        &caller,
        &code,
        "open",
        Ok(json!({})),
        &fields,
        "opened",
    )
    .await
}

async fn close_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    change_programme(
        &api,
        &caller,
        &code,
        "close",
        Ok(json!({})),
        &fields,
        "closed",
    )
    .await
}

async fn fund_programme(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(code): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let code = path_part(&code);
    let body = fields
        .yuan(&format!("amount-{code}"), "The amount", "拨入金额")
        .and_then(|amount| {
            let reference =
                fields.required(&format!("reference-{code}"), "The reference", "拨款文号")?;
            Ok(json!({ "amount_yuan": amount.to_plain_yuan(), "reference": reference }))
        });
    change_programme(&api, &caller, code, "funding", body, &fields, "funded").await
}

async fn users(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    users_page(
        &api,
        &caller,
        Notice::from_query(query.done.as_deref()),
        &Fields::default(),
    )
    .await
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
    let roles = [
        ("enterprise", "企业", "enterprise"),
        ("provider", "服务机构", "provider"),
        ("finance", "财政局", "finance"),
        ("admin", "经信局管理员", "admin"),
        ("auditor", "审计", "auditor"),
    ];
    let body = html! {
        h1 { (lang.t("用户", "Users")) }
        (layout::notice(lang, &notice))
        form.stack.card method="post" action="/admin/users" {
            (form::hidden(caller))
            h2 { (lang.t("新建用户", "New user")) }
            (layout::field(lang, "username", "用户名", "Username", "text", typed.get("username"), true))
            (layout::field(lang, "password", "初始密码（至少 12 个字符）", "Initial password (at least 12 characters)", "password", "", true))
            label for="role" { (lang.t("角色", "Role")) }
            select #role name="role" {
                @for (code, zh, en) in roles {
                    option value=(code) selected[typed.get("role") == code] { (lang.t(zh, en)) }
                }
            }
            (layout::field(lang, "party_uscc", "所属企业或服务机构的统一社会信用代码（企业、服务机构用户必填）", "USCC of the enterprise or provider (enterprise and provider users)", "text", typed.get("party_uscc"), false))
            button type="submit" { (lang.t("创建用户", "Create user")) }
        }
        div.table-wrap { table {
            thead { tr { th { (lang.t("用户名", "Username")) } th { (lang.t("角色", "Role")) } th { (lang.t("创建时间", "Created")) } } }
            tbody { @for u in items(&list, "users") { tr {
                td { (s(u, "username")) } td { (s(u, "role")) } td { (s(u, "created_at")) }
            } } }
        } }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("用户", "Users"), body),
    ))
}

/// The id of the registered enterprise or provider with this USCC.
async fn party_by_uscc(
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

/// The party a new enterprise or provider user acts for (none for staff).
async fn party_of(api: &ApiClient, caller: &Caller, fields: &Fields) -> Result<Value, Refusal> {
    let kind = fields.get("role");
    if !matches!(kind, "enterprise" | "provider") {
        return Ok(Value::Null);
    }
    let uscc = fields.required("party_uscc", "The USCC", "统一社会信用代码")?;
    party_by_uscc(api, caller, kind, uscc).await
}

async fn create_user(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let body = match party_of(&api, &caller, &fields).await {
        Ok(party_id) => Ok(json!({
            "username": fields.get("username"),
            "password": fields.get("password"),
            "role": fields.get("role"),
            "party_id": party_id,
        })),
        Err(refusal) => Err(refusal),
    };
    let result = api
        .send_form(&caller, Method::POST, "/api/v1/users", body, fields.sent())
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/users", "user")),
        Err(refusal) => users_page(&api, &caller, Notice::Refused(refusal), &fields).await,
    }
}

#[derive(Deserialize)]
struct PageQuery {
    after: Option<String>,
    done: Option<String>,
}

async fn enterprises(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let notice = Notice::from_query(query.done.as_deref());
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
            } }
            tbody { @for e in items(&list, "enterprises") { tr {
                td { (s(e, "uscc")) } td { (s(e, "name")) } td { (s(e, "division")) } td { (s(e, "size_class")) }
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
    Query(query): Query<PageQuery>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    let notice = Notice::from_query(query.done.as_deref());
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
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/providers",
            provider_request(&fields),
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/providers", "created")),
        Err(refusal) => {
            providers_page(&api, &caller, Notice::Refused(refusal), None, &fields).await
        }
    }
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
    let result = api
        .send_form(
            &caller,
            Method::POST,
            &format!("/api/v1/providers/{}/status", path_part(&id)),
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/providers", "status")),
        Err(refusal) => {
            providers_page(
                &api,
                &caller,
                Notice::Refused(refusal),
                None,
                &Fields::default(),
            )
            .await
        }
    }
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
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/fraud-markings",
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/enterprises", "fraud")),
        Err(refusal) => enterprises_page(&api, &caller, Notice::Refused(refusal), None, None).await,
    }
}

async fn keys(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    keys_page(&api, &caller, Notice::from_query(query.done.as_deref())).await
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
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/issuer-keys",
            Ok(json!({})),
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/keys", "key_rotated")),
        Err(refusal) => keys_page(&api, &caller, Notice::Refused(refusal)).await,
    }
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
    let result = api
        .send_form(
            caller,
            Method::POST,
            &format!("/api/v1/issuer-keys/{key_id}/{action}"),
            body,
            fields.sent(),
        )
        .await;
    match result {
        Ok(_) => Ok(layout::done("/admin/keys", done)),
        Err(refusal) => keys_page(api, caller, Notice::Refused(refusal)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Value {
        json!({
            "name": "2026 年舟山市中小微企业服务券（第一批）",
            "fiscal_year": 2026,
            "budget_fen": 300_000_000,
            "face_values_fen": [100_000, 500_050],
            "subsidy_ratio_bp": 3_750,
            "rounding": "yuan",
            "divisible": true,
            "validity": { "kind": "days_after_issue", "days": 180 },
            "ends_on": "2026-12-31",
            "divisions": ["330902", "330903"],
            "zones": ["新城", "高新区"],
            "size_classes": ["micro", "small"],
            "required_tags": ["专精特新培育库"],
            "excluded_tags": ["低散乱危"],
            "service_categories": ["管理咨询", "检验检测"],
            "annual_cap_fen": 1_000_000,
            "annual_voucher_count": 3,
            "claim_opens_at": "2026-01-05T09:00:00+08:00",
            "claim_closes_at": "2026-11-30T17:00:00+08:00",
            "auto_confirm_days": 15,
            "qr_mode": "static",
            "settlement_period": "half_year"
        })
    }

    #[test]
    fn a_programme_drawn_into_its_form_reads_back_as_the_same_terms() {
        let original = terms();
        let fields = fields_of("ZS2026-01", &original);
        assert_eq!(programme_terms(&fields).unwrap(), original);

        let mut fixed = terms();
        fixed["validity"] = json!({ "kind": "fixed", "from": "2026-03-01", "until": "2026-09-30" });
        fixed["divisible"] = json!(false);
        fixed["required_tags"] = json!([]);
        assert_eq!(
            programme_terms(&fields_of("ZS2026-01", &fixed)).unwrap(),
            fixed
        );
    }

    #[test]
    fn a_programme_form_refuses_each_bad_field_with_its_code() {
        let original = terms();
        let with = |name: &str, value: &str| {
            let mut pairs: Vec<(String, String)> = vec![(name.into(), value.into())];
            let fields = fields_of("ZS2026-01", &original);
            for key in [
                "name",
                "fiscal_year",
                "budget",
                "face_values",
                "ratio_percent",
                "rounding",
                "validity_days",
                "ends_on",
                "annual_cap",
                "annual_count",
                "claim_opens",
                "claim_closes",
                "auto_confirm_days",
                "qr_mode",
                "settlement_period",
            ] {
                if key != name {
                    pairs.push((key.into(), fields.get(key).into()));
                }
            }
            programme_terms(&Fields::from_pairs(pairs))
                .unwrap_err()
                .code
        };
        assert_eq!(with("name", ""), "field_required");
        assert_eq!(with("budget", "三百万"), "amount_invalid");
        assert_eq!(with("face_values", "1000, 一千"), "amount_invalid");
        assert_eq!(with("ratio_percent", "50.125"), "ratio_invalid");
        assert_eq!(with("fiscal_year", "二〇二六"), "number_invalid");
        assert_eq!(with("claim_opens", "tomorrow"), "datetime_invalid");
        assert_eq!(with("validity_days", ""), "number_invalid");
    }
}

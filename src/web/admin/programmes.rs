//! Programmes: the list with funding and status, a new programme (its form
//! defaults follow the published measures), amending one (the same form,
//! reading the current terms back unchanged), funding, opening, closing.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::domain::Role;
use crate::domain::Timestamp;
use crate::domain::programme::SERVICE_CATEGORIES;
use crate::web::ApiClient;
use crate::web::backend::{Caller, Refusal, path_part};
use crate::web::form::{self, Fields};
use crate::web::layout::{self, Notice, PageResult, items, n, s, yuan};
use chrono::Datelike;

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
}

/// Divisions a Zhoushan programme may cover (GB/T 2260).
const DIVISIONS: [(&str, &str, &str); 5] = [
    ("330900", "舟山市（全市）", "Zhoushan (whole city)"),
    ("330902", "定海区", "Dinghai"),
    ("330903", "普陀区", "Putuo"),
    ("330921", "岱山县", "Daishan"),
    ("330922", "嵊泗县", "Shengsi"),
];

const SIZES: [(&str, &str, &str); 4] = [
    ("micro", "微型", "micro"),
    ("small", "小型", "small"),
    ("medium", "中型", "medium"),
    ("large", "大型", "large"),
];

async fn programmes(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Admin)?;
    programmes_page(&api, &caller, notice).await
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
                    dt { (lang.t("申领时间", "Claims")) } dd { (layout::date_time(s(&p["terms"], "claim_opens_at"))) " – " (layout::date_time(s(&p["terms"], "claim_closes_at"))) }
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
    form::answer(
        &api,
        &caller,
        (Method::POST, "/api/v1/programmes", body),
        &fields,
        ("/admin", "created"),
        async |notice| Ok(programme_form(&caller, &notice, &fields, None)),
    )
    .await
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
    form::answer(
        api,
        caller,
        (
            Method::POST,
            &format!("/api/v1/programmes/{}/{action}", path_part(code)),
            body,
        ),
        fields,
        ("/admin", done),
        async |notice| programmes_page(api, caller, notice).await,
    )
    .await
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

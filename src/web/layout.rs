//! The page shell every portal page shares — head, skip link, navigation
//! for the caller's role, language switch, logout — plus notices (what just
//! happened, or why it was refused) and small pieces of forms.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::assets;
use super::backend::{Caller, Refusal};
use super::i18n::Lang;
use crate::domain::{Fen, Role};

/// A page handler's answer: the page, or the page that explains why not
/// (login, forbidden, not found, refused).
pub type PageResult = Result<Response, Response>;

/// What happened before this page was drawn.
pub enum Notice {
    None,
    /// A success, by code (see `done_message`).
    Done(String),
    Refused(Refusal),
}

/// The query of a page that shows a notice.
#[derive(serde::Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// A page handler takes its notice from `?done=` by naming it.
impl<S: Send + Sync> FromRequestParts<S> for Notice {
    type Rejection = QueryRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<DoneQuery>::from_request_parts(parts, state).await?;
        Ok(Notice::from_query(query.done.as_deref()))
    }
}

impl Notice {
    /// The `?done=` code of a redirect after a successful form.
    pub fn from_query(done: Option<&str>) -> Notice {
        match done {
            Some(code) if done_message(code, Lang::En).is_some() => Notice::Done(code.to_string()),
            _ => Notice::None,
        }
    }

    /// The HTTP status of a page showing this notice: a refused form is
    /// answered with the refusal's 4xx, so it is never mistaken for a
    /// success by a client that only reads status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            Notice::Refused(refusal) => refusal.status,
            _ => StatusCode::OK,
        }
    }
}

/// What each success code says, in both languages.
fn done_message(code: &str, lang: Lang) -> Option<&'static str> {
    let (zh, en) = match code {
        "claimed" => (
            "申领成功，电子券已发放。",
            "Claimed: your voucher has been issued.",
        ),
        "confirmed" => ("已确认服务完成。", "Confirmed: the service was delivered."),
        "disputed" => (
            "已提交异议，经信局将处理。",
            "Disputed: the bureau will review it.",
        ),
        "redeemed" => ("核销成功。", "Redeemed."),
        "password_reset" => (
            "密码已重置：该用户的会话和令牌已失效，下次登录须先设置自己的密码。",
            "Password reset: the user's sessions and tokens have ended; they must choose their own at the next login.",
        ),
        "released" => (
            "已释放保留，其他机构可以核销此券。",
            "Hold released: others may redeem the voucher.",
        ),
        "documents" => ("单据已补充。", "Documents recorded."),
        "reversed" => ("已冲正。", "Reversed."),
        "prepared" => ("结算批次已生成。", "Settlement run prepared."),
        "resolved" => (
            "已处理该行并记录说明。",
            "Line resolved; the note is recorded.",
        ),
        "approved" => ("结算批次已审批。", "Settlement run approved."),
        "bank_return" => ("银行回单已导入。", "Bank return imported."),
        "created" => ("已创建。", "Created."),
        "erasure" => (
            "已记录请求：个人信息已删除，或在保存期限内限制处理。",
            "Request recorded: the personal data is erased, or restricted while its retention runs.",
        ),
        "amended" => (
            "项目条款已修改并记入账本。",
            "Terms changed; the change is in the ledger.",
        ),
        "opened" => ("项目已开放申领。", "Programme opened for claims."),
        "closed" => ("项目已关闭。", "Programme closed."),
        "funded" => ("资金已拨入。", "Funding recorded."),
        "password" => ("密码已修改。", "Password changed."),
        "user" => ("用户已创建。", "User created."),
        "fraud" => (
            "已标记并处理。",
            "Marked; vouchers revoked and redemptions frozen.",
        ),
        "key_revoked" => ("签发密钥已吊销。", "Issuer key revoked."),
        "key_rotated" => (
            "已启用新的签发密钥。",
            "A new issuer key now signs vouchers.",
        ),
        "status" => ("状态已变更。", "Status changed."),
        _ => return None,
    };
    Some(lang.t(zh, en))
}

/// Redirects (303) to `path` with a success code for the next page.
pub fn done(path: &str, code: &str) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{separator}done={code}")).into_response()
}

/// A page for a signed-in user with `role`; anyone else is sent to log in
/// or told they may not.
pub fn require(caller: &Caller, role: Role) -> Result<(), Response> {
    // A reset password is changed before anything else.
    if caller
        .auth
        .as_ref()
        .is_some_and(|auth| auth.must_change_password())
    {
        return Err(axum::response::Redirect::to("/account/password?reset=1").into_response());
    }
    match caller.role() {
        Some(r) if r == role => Ok(()),
        Some(_) => Err(problem(
            caller,
            &Refusal {
                status: StatusCode::FORBIDDEN,
                code: "forbidden".into(),
                message: "This page is for another role.".into(),
                message_zh: "此页面属于其他角色。".into(),
                reasons: Vec::new(),
                answer: Value::Null,
            },
        )),
        None => Err(to_login(caller)),
    }
}

/// The login page, which brings the user back to the page they asked for.
pub fn to_login(caller: &Caller) -> Response {
    match &caller.asked_for {
        Some(path) => {
            Redirect::to(&format!("/login?next={}", percent_encode(path))).into_response()
        }
        None => Redirect::to("/login").into_response(),
    }
}

/// `text` with everything but unreserved characters percent-encoded, for
/// a query value.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page a role lands on after logging in.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Enterprise => "/enterprise",
        Role::Provider => "/provider",
        Role::Finance => "/finance",
        Role::Admin => "/admin",
        Role::Auditor => "/auditor",
    }
}

/// A whole page answering a failed read: what went wrong and where to go.
pub fn problem(caller: &Caller, refusal: &Refusal) -> Response {
    let lang = caller.lang;
    let home = caller.role().map(home_of).unwrap_or("/login");
    let body = html! {
        h1 { (lang.t("无法显示此页面", "This page cannot be shown")) }
        (refusal_box(lang, refusal))
        p { a href=(home) { (lang.t("返回首页", "Back to the start page")) } }
    };
    let mut response = page(caller, lang.t("出错了", "Something went wrong"), body).into_response();
    *response.status_mut() = refusal.status;
    response
}

/// Turns an API refusal on a page read into the problem page; a session
/// that ended meanwhile goes back to the login page.
pub fn read_failed(caller: &Caller) -> impl Fn(Refusal) -> Response + '_ {
    move |refusal| {
        if refusal.status == StatusCode::UNAUTHORIZED {
            to_login(caller)
        } else {
            problem(caller, &refusal)
        }
    }
}

/// A page with its status (refused forms answer 4xx).
pub fn answer(status: StatusCode, markup: Markup) -> Response {
    let mut response = markup.into_response();
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The shell around every page.
pub fn page(caller: &Caller, title: &str, body: Markup) -> Markup {
    shell(caller, title, &[], None, body)
}

/// The shell with one more script of this origin (a page's own checker).
pub fn page_with_script(caller: &Caller, title: &str, script: &str, body: Markup) -> Markup {
    shell(caller, title, &[script], None, body)
}

/// The shell with more scripts of this origin and, for an installable
/// page, its web app manifest.
pub fn page_with_scripts(
    caller: &Caller,
    title: &str,
    scripts: &[&str],
    manifest: Option<&str>,
    body: Markup,
) -> Markup {
    shell(caller, title, scripts, manifest, body)
}

fn shell(
    caller: &Caller,
    title: &str,
    scripts: &[&str],
    manifest: Option<&str>,
    body: Markup,
) -> Markup {
    let lang = caller.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("服务补贴券", "Service vouchers")) }
                link rel="icon" href=(assets::FAVICON_PATH) type="image/svg+xml";
                link rel="stylesheet" href=(assets::CSS_PATH);
                script src=(assets::APP_JS_PATH) defer {}
                @for script in scripts {
                    script src=(script) defer {}
                }
                @if let Some(manifest) = manifest {
                    link rel="manifest" href=(manifest);
                }
            }
            body {
                a.skip href="#main" { (lang.t("跳到正文", "Skip to content")) }
                header.top {
                    a.brand href="/" { (lang.t("舟山市服务补贴券", "Zhoushan service vouchers")) }
                    @if let Some(role) = caller.role() {
                        nav aria-label=(lang.t("主导航", "Main")) {
                            @for (href, zh, en) in nav_links(role) {
                                a href=(href) { (lang.t(zh, en)) }
                            }
                        }
                    }
                    div.who {
                        form.inline method="get" action="/language" {
                            input type="hidden" name="to" value=(lang.other().code());
                            button.link type="submit" lang=(lang.other().html_lang()) {
                                (lang.t("English", "中文"))
                            }
                        }
                        @if caller.role().is_some() {
                            span.user { (caller.username()) }
                            a href="/account/password" { (lang.t("修改密码", "Password")) }
                            form.inline method="post" action="/logout" {
                                (hidden(caller))
                                button.link type="submit" { (lang.t("退出", "Log out")) }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

fn nav_links(role: Role) -> &'static [(&'static str, &'static str, &'static str)] {
    match role {
        Role::Enterprise => &[
            ("/enterprise", "可申领项目", "Programmes"),
            ("/enterprise/vouchers", "我的服务券", "My vouchers"),
            ("/enterprise/redemptions", "待确认与记录", "Services"),
        ],
        Role::Provider => &[
            ("/provider", "扫码核销", "Scan"),
            ("/provider/offline", "离线核销", "Offline"),
            ("/provider/redemptions", "核销记录", "Redemptions"),
            ("/provider/account", "结算与对账单", "Statements"),
        ],
        Role::Finance => &[("/finance", "结算批次", "Settlement runs")],
        Role::Admin => &[
            ("/admin", "项目", "Programmes"),
            ("/admin/users", "用户", "Users"),
            ("/admin/enterprises", "企业库", "Enterprises"),
            ("/admin/providers", "服务机构库", "Providers"),
            ("/admin/keys", "签发密钥", "Issuer keys"),
        ],
        Role::Auditor => &[("/auditor", "账本", "Ledger")],
    }
}

/// The notice at the top of a page.
pub fn notice(lang: Lang, notice: &Notice) -> Markup {
    match notice {
        Notice::None => html! {},
        Notice::Done(code) => html! {
            p.notice.ok role="status" { (done_message(code, lang).unwrap_or_default()) }
        },
        Notice::Refused(refusal) => refusal_box(lang, refusal),
    }
}

/// A refusal: its message, every reason, and the stable code (which
/// support staff and the API documentation use).
pub fn refusal_box(lang: Lang, refusal: &Refusal) -> Markup {
    let message = |en: &str, zh: &str| -> String {
        match lang {
            Lang::Zh if !zh.is_empty() => zh.to_string(),
            _ => en.to_string(),
        }
    };
    html! {
        div.notice.error role="alert" data-code=(refusal.code) {
            p { (message(&refusal.message, &refusal.message_zh)) }
            @if refusal.reasons.len() > 1 {
                ul {
                    @for reason in &refusal.reasons {
                        li { (message(&reason.message, &reason.message_zh)) }
                    }
                }
            }
            // The codes, for a help desk: small, after the words.
            p.error-code {
                (lang.t("错误代码：", "Error code: ")) code { (refusal.code) }
                @if refusal.reasons.len() > 1 {
                    @for reason in &refusal.reasons { " · " code { (reason.code) } }
                }
            }
        }
    }
}

/// `¥1,234.50` from fen.
pub fn yuan(fen: i64) -> String {
    Fen::new(fen).to_string()
}

/// A ratio in basis points as a percentage: 5000 → `50`, 3750 → `37.5`.
pub fn percent(basis_points: i64) -> String {
    let whole = basis_points / 100;
    match basis_points % 100 {
        0 => whole.to_string(),
        hundredths if hundredths % 10 == 0 => format!("{whole}.{}", hundredths / 10),
        hundredths => format!("{whole}.{hundredths:02}"),
    }
}

/// A text field of a JSON object ("" when absent).
pub fn s<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

/// An integer field of a JSON object (0 when absent).
pub fn n(value: &Value, key: &str) -> i64 {
    value[key].as_i64().unwrap_or(0)
}

/// The items of an array field of a JSON object.
pub fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// An RFC 3339 instant from the API as people read it in 舟山: `2026-12-02
/// 11:10` (UTC+8); text that is not one is shown as it is.
pub fn date_time(text: &str) -> String {
    in_cst(text).map_or_else(
        || text.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// The time of day of an RFC 3339 instant, UTC+8: `11:10`.
pub fn clock_time(text: &str) -> String {
    in_cst(text).map_or_else(|| text.to_string(), |t| t.format("%H:%M").to_string())
}

fn in_cst(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let cst = chrono::FixedOffset::east_opt(8 * 3600)?;
    Some(
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()?
            .with_timezone(&cst),
    )
}

/// A division as people read it: `定海区（330902）`, or the code alone.
pub fn division_label(code: &str) -> String {
    crate::domain::division::division_label(code)
}

/// A size class in words: 微型 / micro.
pub fn size_label(lang: Lang, class: &str) -> String {
    match crate::domain::SizeClass::parse(class) {
        Some(size) => lang.t(size.name_zh(), size.as_str()).to_string(),
        None => class.to_string(),
    }
}

/// A status word shown to people.
pub fn status_label(lang: Lang, status: &str) -> String {
    let (zh, en) = match status {
        "active" => ("可用", "active"),
        "redeemed" => ("已用完", "used up"),
        "expired" => ("已过期", "expired"),
        "revoked" => ("已作废", "revoked"),
        "reissued" => ("已换发", "re-issued"),
        "pending" => ("待企业确认", "awaiting confirmation"),
        "confirmed" => ("已确认", "confirmed"),
        "disputed" => ("有异议", "disputed"),
        "reversed" => ("已冲正", "reversed"),
        "frozen" => ("已冻结", "frozen"),
        "settled" => ("已结算", "settled"),
        "draft" => ("草稿", "draft"),
        "open" => ("申领中", "open"),
        "closed" => ("已关闭", "closed"),
        "prepared" => ("待审批", "prepared"),
        "approved" => ("已审批", "approved"),
        "paid" => ("已支付", "paid"),
        "failed" => ("支付失败", "failed"),
        "included" => ("纳入", "included"),
        "held" => ("暂缓", "held"),
        "released" => ("已释放", "released"),
        "retired" => ("已退役", "retired"),
        _ => return status.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// A payout's status shown to people ("pending" here waits for the bank).
pub fn payout_status_label(lang: Lang, status: &str) -> String {
    match status {
        "pending" => lang.t("待银行支付", "awaiting the bank").to_string(),
        other => status_label(lang, other),
    }
}

/// A redemption's timeline (`timeline` of `GET /api/v1/redemptions/{id}`):
/// 核销 → 企业确认 → 结算 → 支付, each marked done, current, waiting or
/// stopped, with its time and a word on its state.
pub fn timeline(lang: Lang, redemption: &Value) -> Markup {
    html! {
        ol.timeline data-timeline {
            @for step in items(redemption, "timeline") {
                li class=(s(step, "state")) data-step=(s(step, "step")) data-state=(s(step, "state")) {
                    strong { (lang.t(s(step, "label_zh"), s(step, "label_en"))) }
                    @if let Some(at) = step["at"].as_str() { " " span.muted { (date_time(at)) } }
                    @if !s(step, "note_zh").is_empty() { br; small { (lang.t(s(step, "note_zh"), s(step, "note_en"))) } }
                }
            }
        }
    }
}

/// `?after=` of a paged list page: the cursor of the page to show.
#[derive(Debug, serde::Deserialize)]
pub struct AfterQuery {
    pub after: Option<String>,
}

/// What the bank-return import made of one line of the bank's file.
pub fn bank_result_label(lang: Lang, result: &str) -> String {
    let (zh, en) = match result {
        "paid" => ("已支付", "paid"),
        "failed" => ("支付失败", "failed"),
        "already_recorded" => ("此前已处理", "already recorded"),
        "conflict" => ("与付款状态矛盾", "conflicts with the payout"),
        "unknown_reference" => ("无此参考号", "unknown reference"),
        "account_mismatch" => ("账号不符", "account differs"),
        "amount_mismatch" => ("金额不符", "amount differs"),
        "repeated_reference" => ("参考号重复", "repeated reference"),
        "error" => ("无法读取", "unreadable"),
        _ => return result.to_string(),
    };
    lang.t(zh, en).to_string()
}

/// An inline SVG from a trusted renderer (our QR and chart code), without
/// the XML prolog that has no place inside HTML.
pub fn inline_svg(svg: &str) -> Markup {
    let start = svg.find("<svg").unwrap_or(0);
    PreEscaped(svg[start..].to_string())
}

/// A labelled input; `value` is what the user typed before, if anything.
pub fn field(
    lang: Lang,
    name: &str,
    zh: &str,
    en: &str,
    kind: &str,
    value: &str,
    required: bool,
) -> Markup {
    html! {
        label for=(name) { (lang.t(zh, en)) }
        input id=(name) name=(name) type=(kind) value=(value) required[required];
    }
}

/// The hidden fields of a form drawn for `caller`: its CSRF token and a
/// fresh idempotency key.
pub fn hidden(caller: &Caller) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(caller.csrf_token());
        input type="hidden" name="key" value=(uuid::Uuid::now_v7().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_show_in_utc_plus_8_to_the_minute() {
        assert_eq!(
            date_time("2026-12-02T11:10:40.207301+08:00"),
            "2026-12-02 11:10"
        );
        assert_eq!(date_time("2026-12-02T03:10:40Z"), "2026-12-02 11:10");
        assert_eq!(clock_time("2026-12-02T03:10:40Z"), "11:10");
        assert_eq!(date_time("not a time"), "not a time");
    }

    #[test]
    fn ratios_show_as_percentages_without_losing_decimals() {
        assert_eq!(percent(5_000), "50");
        assert_eq!(percent(3_750), "37.5");
        assert_eq!(percent(3_333), "33.33");
        assert_eq!(percent(10_000), "100");
        assert_eq!(percent(5), "0.05");
    }
}

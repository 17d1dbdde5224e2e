//! The enterprise portal (mobile first): programmes I may claim from — and,
//! where I may not, every reason — the claim itself (after a confirmation,
//! `claim_guide`), my vouchers with their
//! QR code (a rotating presentation refreshed before it expires, with a
//! countdown, or the printed voucher's static code), the print view, and
//! services awaiting my confirmation (confirm with a rating, or dispute).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ApiClient;
use super::backend::{Caller, Refusal, path_part};
use super::form::{self, Fields};
use super::layout::{self, Notice, PageResult, items, n, s, yuan};
use crate::domain::Role;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/enterprise", get(home))
        .route("/enterprise/claims", post(claim))
        .route("/enterprise/vouchers", get(vouchers))
        .route("/enterprise/vouchers/{id}", get(voucher))
        .route("/enterprise/vouchers/{id}/qr", get(qr_fragment))
        .route("/enterprise/redemptions", get(redemptions))
        .route("/enterprise/redemptions/{id}", get(redemption))
        .route("/enterprise/redemptions/{id}/confirm", post(confirm))
        .route("/enterprise/redemptions/{id}/dispute", post(dispute))
        .route("/enterprise/redemptions/{id}/documents", post(documents))
}

async fn home(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    home_page(&api, &caller, notice).await
}

async fn home_page(api: &ApiClient, caller: &Caller, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(caller);
    let eligibility = api
        .get(caller, "/api/v1/me/eligibility")
        .await
        .map_err(&failed)?;
    let programmes = api
        .get(caller, "/api/v1/programmes?limit=200")
        .await
        .map_err(&failed)?;
    let terms_of = |code: &str| {
        items(&programmes, "programmes")
            .iter()
            .find(|p| s(p, "code") == code)
            .cloned()
    };
    let body = html! {
        h1 { (lang.t("可申领的服务券项目", "Programmes you can claim from")) }
        (layout::notice(lang, &notice))
        @let rows = items(&eligibility, "programmes");
        @if rows.is_empty() {
            p.empty { (lang.t("目前没有开放申领的项目。项目开放后会显示在这里。", "No programme is open for claims right now. Open programmes appear here.")) }
        }
        div.grid {
            @for row in rows {
                @let code = s(row, "programme");
                @let programme = terms_of(code).unwrap_or(Value::Null);
                section.card aria-labelledby=(format!("p-{code}")) {
                    h2 id=(format!("p-{code}")) { (s(row, "name")) }
                    p.muted { (code) }
                    (super::claim_guide::card_summary(lang, code, row))
                    @if row["eligible"].as_bool() == Some(true) {
                        (claim_form(caller, code, &programme["terms"]))
                    } @else {
                        p { strong { (lang.t("暂不符合申领条件：", "You cannot claim yet, because:")) } }
                        ul {
                            @for check in items(row, "checks") {
                                @if check["passed"].as_bool() == Some(false) {
                                    li data-code=(s(check, "code")) {
                                        (lang.t(s(check, "message_zh"), s(check, "message")))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { a href="/enterprise/vouchers" { (lang.t("查看我的服务券 →", "See my vouchers →")) } }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("可申领项目", "Programmes"), body),
    ))
}

fn claim_form(caller: &Caller, code: &str, terms: &Value) -> Markup {
    let lang = caller.lang;
    let faces: Vec<i64> = terms["face_values_fen"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let field_id = format!("face-{code}");
    html! {
        form.stack method="post" action="/enterprise/claims" {
            (form::hidden(caller))
            input type="hidden" name="programme" value=(code);
            label for=(field_id) { (lang.t("面额", "Face value")) }
            select id=(field_id) name="face_value_fen" required {
                @for face in &faces {
                    option value=(face) { (yuan(*face)) }
                }
            }
            p.muted {
                (lang.t("补贴比例", "Subsidy ratio")) " "
                (layout::percent(n(terms, "subsidy_ratio_bp"))) "% · "
                (lang.t("每年最多", "At most")) " " (yuan(n(terms, "annual_cap_fen")))
            }
            button type="submit" data-busy=(lang.t("正在申领…", "Claiming…")) { (lang.t("申领", "Claim")) }
        }
    }
}

async fn claim(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let code = fields.get("programme");
    let face: Result<i64, Refusal> = fields.get("face_value_fen").parse().map_err(|_| {
        Refusal::invalid(
            "face_value_required",
            "Choose one of the programme's face values.",
            "请选择项目提供的面额。",
        )
    });
    // The first press shows what would be claimed; the claim is made by
    // the confirmation's button (same idempotency key).
    if fields.get("confirmed") != "yes" {
        return match face {
            Ok(face) => {
                let key = fields
                    .optional("key")
                    .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string);
                super::claim_guide::confirm_claim(&api, &caller, code, face, &key).await
            }
            Err(refusal) => home_page(&api, &caller, Notice::Refused(refusal)).await,
        };
    }
    let result = api
        .send_form(
            &caller,
            Method::POST,
            &format!("/api/v1/programmes/{}/claims", path_part(code)),
            face.map(|face| json!({ "face_value_fen": face })),
            fields.sent(),
        )
        .await;
    match result {
        Ok(voucher) => Ok(layout::done(
            &format!("/enterprise/vouchers/{}", s(&voucher, "id")),
            "claimed",
        )),
        Err(refusal) => home_page(&api, &caller, Notice::Refused(refusal)).await,
    }
}

async fn vouchers(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let lang = caller.lang;
    let list = api
        .get(&caller, "/api/v1/vouchers?limit=200")
        .await
        .map_err(layout::read_failed(&caller))?;
    let body = html! {
        h1 { (lang.t("我的服务券", "My vouchers")) }
        (layout::notice(lang, &notice))
        @let vouchers = items(&list, "vouchers");
        @if vouchers.is_empty() {
            p.empty {
                (lang.t("您还没有服务券。", "You hold no vouchers yet."))
                " " a href="/enterprise" { (lang.t("去申领", "Claim one")) }
            }
        }
        div.grid {
            @for v in vouchers {
                a.card href=(format!("/enterprise/vouchers/{}", s(v, "id"))) {
                    div.amount { (yuan(n(v, "remaining_fen"))) }
                    div.muted { (lang.t("面额", "Face value")) " " (yuan(n(v, "face_value_fen"))) }
                    div { span.badge { (layout::status_label(lang, s(v, "status"))) } " " (s(v, "programme_code")) }
                    div.muted { (s(v, "valid_from")) " – " (s(v, "valid_until")) }
                }
            }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(&caller, lang.t("我的服务券", "My vouchers"), body),
    ))
}

async fn voucher(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let id = path_part(&id);
    let v = api
        .get(&caller, &format!("/api/v1/vouchers/{id}"))
        .await
        .map_err(&failed)?;
    let programme = api
        .get(
            &caller,
            &format!("/api/v1/programmes/{}", path_part(s(&v, "programme_code"))),
        )
        .await
        .map_err(&failed)?;
    let rotating = programme["terms"]["qr_mode"].as_str() == Some("rotating");
    let active = s(&v, "status") == "active";
    let shown = if active && rotating {
        Some(presentation(&api, &caller, id).await.map_err(&failed)?)
    } else {
        None
    };
    let offline = super::offline::holder_section(&api, &caller, &v, &programme)
        .await
        .map_err(&failed)?;
    let body = html! {
        h1 { (s(&programme["terms"], "name")) }
        (layout::notice(lang, &notice))
        @if let Some(until) = v["held_until"].as_str() {
            p.notice.ok data-held role="status" {
                strong { (lang.t("核销中：", "Being redeemed: ")) }
                (s(&v, "held_by")) (lang.t(" 正在为您办理核销，保留至 ", " is redeeming it for you; held until ")) (layout::clock_time(until)) (lang.t("。", "."))
            }
        }
        section.card {
            @if let Some((markup, lifetime)) = &shown {
                div.qr data-presentation=(format!("/enterprise/vouchers/{id}/qr")) data-lifetime=(lifetime) data-failed=(lang.t("刷新失败，请重新打开页面", "Refresh failed; reopen the page")) {
                    (markup)
                }
                p.countdown aria-live="polite" {
                    (lang.t("二维码有效期还剩 ", "This code is valid for another "))
                    span data-countdown { (lifetime) }
                    (lang.t(" 秒，到期自动刷新；截图无效。", " s and refreshes itself; a screenshot will not work."))
                }
                noscript { meta http-equiv="refresh" content="50"; }
            } @else if active {
                div.qr { (qr_markup(s(&v, "token"))) }
                p.muted { (lang.t("请向服务机构出示此二维码，或打印纸质券。", "Show this code to the provider, or print the voucher.")) }
            } @else {
                p.notice.error { (lang.t("此券当前不可使用：", "This voucher cannot be used now: ")) (layout::status_label(lang, s(&v, "status"))) }
            }
            dl.facts {
                dt { (lang.t("余额", "Remaining")) } dd.amount { (yuan(n(&v, "remaining_fen"))) }
                dt { (lang.t("面额", "Face value")) } dd { (yuan(n(&v, "face_value_fen"))) " " span.muted { (s(&v, "face_value_daxie")) } }
                dt { (lang.t("有效期", "Valid")) } dd { (s(&v, "valid_from")) " – " (s(&v, "valid_until")) }
                dt { (lang.t("服务类别", "Categories")) } dd { (v["service_categories"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("、")).unwrap_or_default()) }
                dt { (lang.t("状态", "Status")) } dd { (layout::status_label(lang, s(&v, "status"))) }
                dt { (lang.t("券号", "Voucher no.")) } dd { code { (s(&v, "id")) } }
                dt { (lang.t("公示日志", "Public log")) } dd { (super::receipts::link(lang, "vouchers", s(&v, "id"))) }
            }
            @if rotating {
                p.muted data-no-paper { (lang.t("本项目只接受手机上实时刷新的二维码，纸质券不能核销。", "This programme accepts only the live code on your phone; a printed voucher cannot be redeemed.")) " "
                    a href=(format!("/api/v1/vouchers/{id}/print")) target="_blank" rel="noopener" { (lang.t("打印留存凭证", "Print a record")) } }
            } @else {
                p { a.button.secondary href=(format!("/api/v1/vouchers/{id}/print")) target="_blank" rel="noopener" { (lang.t("打印纸质券（A6）", "Print (A6)")) } }
            }
        }
        (offline)
    };
    Ok(layout::answer(
        notice.status(),
        layout::page_with_scripts(
            &caller,
            lang.t("服务券", "Voucher"),
            &[super::assets::OFFLINE_JS_PATH, super::assets::QRCODE_PATH],
            None,
            body,
        ),
    ))
}

/// A fresh rotating presentation of voucher `id`: its QR and lifetime.
async fn presentation(
    api: &ApiClient,
    caller: &Caller,
    id: &str,
) -> Result<(Markup, i64), Refusal> {
    let shown = api
        .get(caller, &format!("/api/v1/vouchers/{id}/presentation"))
        .await?;
    let lifetime = shown["lifetime_seconds"].as_i64().unwrap_or(60);
    let lang = caller.lang;
    let markup = html! {
        (qr_markup(s(&shown, "text")))
        p.short-code {
            (lang.t("扫码不便时，请服务机构输入短码 ", "If scanning fails, the provider types "))
            strong data-short-code { (s(&shown, "short_code")) }
        }
    };
    Ok((markup, lifetime))
}

/// The QR of `text`, drawn inline, carrying the text for assistive tools
/// and tests.
fn qr_markup(text: &str) -> Markup {
    match crate::token::qr::svg(text) {
        Ok(svg) => html! {
            div role="img" aria-label="QR" data-qr-text=(text) { (layout::inline_svg(&svg)) }
        },
        Err(_) => html! { code { (text) } },
    }
}

/// The next presentation, as a fragment the page's script swaps in.
async fn qr_fragment(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let lang = caller.lang;
    match presentation(&api, &caller, path_part(&id)).await {
        Ok((markup, _)) => Ok(layout::answer(axum::http::StatusCode::OK, markup)),
        // The voucher stopped being showable while the page was open (a
        // provider holds or redeemed it): the box says so and the script
        // stops refreshing, instead of a failing request every minute.
        Err(refusal) if refusal.status == axum::http::StatusCode::CONFLICT => Ok(layout::answer(
            axum::http::StatusCode::OK,
            html! {
                div.notice.warning data-qr-stop=(refusal.code) {
                    p { (lang.t(&refusal.message_zh, &refusal.message)) }
                    p { a href=(format!("/enterprise/vouchers/{}", path_part(&id))) { (lang.t("刷新页面查看状态", "Reload to see its status")) } }
                }
            },
        )),
        Err(refusal) => Err(layout::read_failed(&caller)(refusal)),
    }
}

async fn redemptions(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    redemptions_page(&api, &caller, notice).await
}

/// One service: what was provided and paid, and where it is on its way
/// (核销 → 企业确认 → 结算 → 支付); still to confirm, the confirm card.
async fn redemption(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let lang = caller.lang;
    let r = super::redemption_facts::fetch(&api, &caller, &id).await?;
    let body = html! {
        h1 { (lang.t("服务记录", "Service")) " " (s(&r, "contract_number")) }
        (layout::timeline(lang, &r))
        @if s(&r, "status") == "pending" {
            (pending_card(&caller, &r))
        } @else {
            (super::redemption_facts::facts(lang, &r))
        }
        p { a href="/enterprise/redemptions" { (lang.t("← 全部记录", "← All services")) } }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("服务记录", "Service"), body),
    ))
}

async fn redemptions_page(api: &ApiClient, caller: &Caller, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let list = api
        .get(caller, "/api/v1/redemptions?limit=200")
        .await
        .map_err(layout::read_failed(caller))?;
    let all = items(&list, "redemptions");
    let pending: Vec<&Value> = all.iter().filter(|r| s(r, "status") == "pending").collect();
    let body = html! {
        h1 { (lang.t("待确认的服务", "Services awaiting your confirmation")) }
        (layout::notice(lang, &notice))
        @if pending.is_empty() {
            p.empty { (lang.t("没有待确认的服务。服务机构核销后会出现在这里。", "Nothing to confirm. A provider's redemption appears here.")) }
        }
        @for r in &pending {
            (pending_card(caller, r))
        }
        h2 { (lang.t("全部记录", "History")) }
        @if all.is_empty() {
            p.empty { (lang.t("还没有使用记录。", "No services recorded yet.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("日期", "Date")) } th { (lang.t("服务机构", "Provider")) }
                    th { (lang.t("服务类别", "Category")) } th { (lang.t("合同号", "Contract")) }
                    th.num { (lang.t("合同金额", "Contract")) } th.num { (lang.t("补贴", "Subsidy")) }
                    th.num { (lang.t("企业自付", "Your share")) } th { (lang.t("状态", "Status")) }
                } }
                tbody { @for r in all { tr {
                    td { a href=(format!("/enterprise/redemptions/{}", s(r, "id"))) { (s(r, "redeemed_at").get(..10).unwrap_or_default()) } }
                    td { (s(r, "provider_name")) }
                    td { (s(r, "service_category")) }
                    td { (s(r, "contract_number")) }
                    td.num { (yuan(n(r, "contract_amount_fen"))) }
                    td.num { (yuan(n(r, "subsidy_fen"))) }
                    td.num { (yuan(n(r, "enterprise_share_fen"))) }
                    td { (layout::status_label(lang, s(r, "status"))) }
                } } }
            } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("服务确认", "Services"), body),
    ))
}

fn pending_card(caller: &Caller, r: &Value) -> Markup {
    let lang = caller.lang;
    let id = s(r, "id");
    html! {
        section.card {
            h2 { (s(r, "provider_name")) }
            p data-service { (s(r, "service_category")) " · " (lang.t("合同号 ", "contract ")) (s(r, "contract_number")) }
            p { (s(r, "description")) }
            dl.facts {
                dt { (lang.t("服务机构", "Provider")) } dd data-provider { (s(r, "provider_name")) }
                dt { (lang.t("合同金额", "Contract amount")) } dd { (yuan(n(r, "contract_amount_fen"))) }
                dt { (lang.t("发票金额", "Invoice amount")) } dd {
                    @if r["invoice"].is_object() { (yuan(n(&r["invoice"], "amount_fen"))) " (" (s(&r["invoice"], "number")) ")" }
                    @else { (lang.t("尚未开具", "not yet issued")) }
                }
                dt { (lang.t("券抵扣（补贴）", "Paid by voucher")) } dd { (yuan(n(r, "subsidy_fen"))) }
                dt { (lang.t("企业自付", "Your share")) } dd { (yuan(n(r, "enterprise_share_fen"))) }
            }
            form.stack method="post" action=(format!("/enterprise/redemptions/{id}/confirm")) {
                (form::hidden(caller))
                label for=(format!("rating-{id}")) { (lang.t("满意度（可选）", "Rating (optional)")) }
                select id=(format!("rating-{id}")) name="rating" {
                    option value="" { "—" }
                    @for stars in (1..=5).rev() { option value=(stars) { (stars) " ★" } }
                }
                label for=(format!("comment-{id}")) { (lang.t("评价（可选）", "Comment (optional)")) }
                input id=(format!("comment-{id}")) name="comment" type="text" maxlength="500";
                button type="submit" { (lang.t("确认服务已完成", "Confirm the service was delivered")) }
            }
            details {
                summary { (lang.t("有问题？提出异议", "Something wrong? Dispute it")) }
                form.stack method="post" action=(format!("/enterprise/redemptions/{id}/dispute")) {
                    (form::hidden(caller))
                    label for=(format!("reason-{id}")) { (lang.t("异议原因", "Reason")) }
                    textarea id=(format!("reason-{id}")) name="reason" required maxlength="1000" {}
                    button.danger type="submit" { (lang.t("提交异议", "Dispute")) }
                }
            }
            @if r["payment_proof_ref"].is_null() {
                form.stack method="post" action=(format!("/enterprise/redemptions/{id}/documents")) {
                    (form::hidden(caller))
                    label for=(format!("proof-{id}")) { (lang.t("自付款凭证号（结算需要）", "Your payment proof reference (needed for settlement)")) }
                    input id=(format!("proof-{id}")) name="payment_proof_ref" type="text" required maxlength="200";
                    button.secondary type="submit" { (lang.t("补充凭证", "Add proof")) }
                }
            }
        }
    }
}

async fn confirm(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let rating = match fields.optional("rating").map(str::parse::<u8>) {
        None => Ok(None),
        Some(Ok(stars)) if (1..=5).contains(&stars) => Ok(Some(stars)),
        Some(_) => Err(Refusal::invalid(
            "rating_invalid",
            "A rating is 1 to 5 stars.",
            "满意度为 1 至 5 星。",
        )),
    };
    let body =
        rating.map(|rating| json!({ "rating": rating, "comment": fields.optional("comment") }));
    act(&api, &caller, &id, "confirm", body, &fields, "confirmed").await
}

async fn dispute(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let body = fields
        .required("reason", "The reason", "异议原因")
        .map(|reason| json!({ "reason": reason }));
    act(&api, &caller, &id, "dispute", body, &fields, "disputed").await
}

async fn documents(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Enterprise)?;
    let body = fields
        .required(
            "payment_proof_ref",
            "The payment proof reference",
            "自付款凭证号",
        )
        .map(|proof| json!({ "payment_proof_ref": proof }));
    act(&api, &caller, &id, "documents", body, &fields, "documents").await
}

/// One action on a redemption; back to the list with its notice.
async fn act(
    api: &ApiClient,
    caller: &Caller,
    id: &str,
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
            &format!("/api/v1/redemptions/{}/{action}", path_part(id)),
            body,
        ),
        fields,
        ("/enterprise/redemptions", done),
        async |notice| redemptions_page(api, caller, notice).await,
    )
    .await
}

//! The provider portal (mobile first): scan the enterprise's QR with the
//! phone or laptop camera (or choose a photo, or type the code), preview
//! the voucher with its remaining value, the subsidy for this contract and
//! every reason it cannot be redeemed, redeem it against the contract and
//! invoice, and follow my redemptions (add documents, reverse).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ApiClient;
use super::assets;
use super::backend::{Caller, Refusal, path_part};
use super::form::{self, Fields};
use super::layout::{self, Notice, PageResult, items, n, s, yuan};
use crate::domain::Role;

/// A phone photo of a voucher.
const PHOTO_BYTES_MAX: usize = 10 * 1024 * 1024;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/provider", get(scan))
        .route(
            "/provider/photo",
            post(photo).layer(DefaultBodyLimit::max(PHOTO_BYTES_MAX + 64 * 1024)),
        )
        .route("/provider/preview", post(preview))
        .route("/provider/redeem", post(redeem))
        .route("/provider/holds/{voucher_id}/release", post(release))
        .route("/provider/account", get(account))
        .route("/provider/redemptions", get(redemptions))
        .route("/provider/redemptions/{id}", get(redemption))
        .route("/provider/redemptions/{id}/documents", post(documents))
        .route("/provider/redemptions/{id}/reverse", post(reverse))
}

/// The categories this provider is approved for (for the form's choices).
async fn categories(api: &ApiClient, caller: &Caller) -> Result<Vec<String>, Refusal> {
    let Some(party) = caller.party_id() else {
        return Ok(Vec::new());
    };
    let provider = api
        .get(caller, &format!("/api/v1/providers/{party}"))
        .await?;
    Ok(provider["fields"]["categories"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

async fn scan(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    scan_page(&api, &caller, notice, &Fields::default()).await
}

async fn scan_page(api: &ApiClient, caller: &Caller, notice: Notice, typed: &Fields) -> PageResult {
    let lang = caller.lang;
    let categories = categories(api, caller)
        .await
        .map_err(layout::read_failed(caller))?;
    let body = html! {
        h1 { (lang.t("扫码核销", "Scan a voucher")) }
        (layout::notice(lang, &notice))
        (scanner(lang, "qr_text", "contract_amount", [
            ("请将企业出示的二维码对准摄像头", "Hold the enterprise's QR code in front of the camera"),
            ("已识别二维码，请填写合同金额后预览", "Code read: enter the contract amount and preview"),
            ("无法使用摄像头：请上传照片或手工输入券码", "No camera: upload a photo or type the code"),
            ("照片中没有找到二维码，请重拍或手工输入", "No QR code found in the photo; retake it or type the code"),
        ], html! {
            form.stack method="post" action="/provider/photo" enctype="multipart/form-data" {
                (form::hidden(caller))
                label for="photo" { (lang.t("或上传二维码照片", "Or upload a photo of the code")) }
                input #photo type="file" name="photo" accept="image/png,image/jpeg" capture="environment";
                button.secondary type="submit" { (lang.t("识别照片", "Read the photo")) }
            }
        }))
        form.stack.card method="post" action="/provider/preview" {
            (form::hidden(caller))
            label for="qr_text" { (lang.t("券码（扫码自动填入；摄像头不可用时，输入企业二维码下方的 10 位短码）", "Voucher code (filled by the scan; without a camera, type the 10-digit code under the enterprise's QR)")) }
            textarea #qr_text name="qr_text" rows="3" required autocomplete="off" spellcheck="false" { (typed.get("qr_text")) }
            label for="service_category" { (lang.t("服务类别", "Service category")) }
            select #service_category name="service_category" required {
                @for category in &categories {
                    option value=(category) selected[typed.get("service_category") == category.as_str()] { (category) }
                }
            }
            (layout::field(lang, "contract_amount", "合同金额（元）", "Contract amount (元)", "text", typed.get("contract_amount"), true))
            button type="submit" data-busy=(lang.t("正在查询…", "Checking…")) { (lang.t("预览", "Preview")) }
        }
        script src=(assets::JSQR_PATH) defer {}
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("扫码核销", "Scan"), body),
    ))
}

/// The camera scanner (app.js `scanner`) filling field `target`, then
/// focusing `next`; `words`: what it says while scanning, when it found a
/// code, without a camera, and for a photo with no code; `more` below it.
pub(super) fn scanner(
    lang: super::i18n::Lang,
    target: &str,
    next: &str,
    words: [(&str, &str); 4],
    more: Markup,
) -> Markup {
    let say = |n: usize| lang.t(words[n].0, words[n].1);
    html! {
        section.card.scanner data-scanner data-target=(target) data-next=(next)
            data-starting=(lang.t("正在打开摄像头…", "Starting the camera…"))
            data-scanning=(say(0))
            data-found=(say(1))
            data-filled=(lang.t("已填写；如需重新扫码，请点“重新打开摄像头”", "Filled in; to scan again, restart the camera"))
            data-nocamera=(say(2))
            data-photofailed=(say(3)) {
            video muted playsinline hidden aria-label=(lang.t("摄像头画面", "Camera view")) {}
            p data-scan-status aria-live="polite" { (lang.t("正在准备扫码…", "Preparing the scanner…")) }
            button.secondary type="button" data-scan-start { (lang.t("重新打开摄像头", "Restart the camera")) }
            (more)
        }
    }
}

/// A photo read on the server (for browsers without the script): the code
/// found fills the form.
async fn photo(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let Some((_, _, bytes)) = fields.file.clone() else {
        let refusal = Refusal::invalid(
            "photo_required",
            "Choose a photo of the voucher's QR code first.",
            "请先选择服务券二维码的照片。",
        );
        return scan_page(&api, &caller, Notice::Refused(refusal), &fields).await;
    };
    match api
        .post_bytes(
            &caller,
            "/api/v1/redemptions/scan",
            "application/octet-stream",
            bytes,
            fields.sent(),
        )
        .await
    {
        Ok(read) => {
            let typed = Fields::from_pairs(vec![("qr_text".into(), s(&read, "qr_text").into())]);
            scan_page(&api, &caller, Notice::None, &typed).await
        }
        Err(refusal) => scan_page(&api, &caller, Notice::Refused(refusal), &fields).await,
    }
}

/// The preview request for the typed fields, or why they cannot make one.
fn preview_request(fields: &Fields) -> Result<Value, Refusal> {
    let qr_text = fields.required("qr_text", "The voucher code", "券码")?;
    let category = fields.required("service_category", "The service category", "服务类别")?;
    let amount = fields.yuan("contract_amount", "The contract amount", "合同金额")?;
    Ok(json!({
        "qr_text": qr_text,
        "service_category": category,
        "contract_amount_fen": amount.as_fen(),
    }))
}

async fn preview(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    preview_page(&api, &caller, Notice::None, &fields).await
}

async fn preview_page(
    api: &ApiClient,
    caller: &Caller,
    notice: Notice,
    fields: &Fields,
) -> PageResult {
    let lang = caller.lang;
    // The preview holds the voucher for this provider while the clerk
    // types the contract (docs/redemption-lifecycle.md "Holds").
    let looked_up = api
        .send_form(
            caller,
            Method::POST,
            "/api/v1/redemptions/holds",
            preview_request(fields),
            fields.sent(),
        )
        .await;
    let held = match looked_up {
        Ok(held) => held,
        Err(refusal) => return scan_page(api, caller, Notice::Refused(refusal), fields).await,
    };
    let p = &held["preview"];
    let held_until = held["held_until"].as_str().map(layout::clock_time);
    let redeemable = p["redeemable"].as_bool() == Some(true);
    let body = html! {
        h1 { (lang.t("核销预览", "Preview")) }
        (layout::notice(lang, &notice))
        section.card {
            h2 { (s(p, "enterprise_name")) }
            dl.facts {
                dt { (lang.t("统一社会信用代码", "USCC")) } dd { (s(p, "enterprise_uscc")) }
                dt { (lang.t("项目", "Programme")) } dd { (s(p, "programme_code")) }
                dt { (lang.t("面额", "Face value")) } dd { (yuan(n(p, "face_value_fen"))) }
                dt { (lang.t("余额", "Remaining")) } dd.amount { (yuan(n(p, "remaining_fen"))) }
                dt { (lang.t("有效期", "Valid")) } dd { (s(p, "valid_from")) " – " (s(p, "valid_until")) }
                dt { (lang.t("合同金额", "Contract amount")) } dd { (yuan(n(p, "contract_amount_fen"))) }
                dt { (lang.t("本次最高补贴", "Subsidy for this contract")) } dd.amount data-subsidy=(n(p, "subsidy_fen")) { (yuan(n(p, "subsidy_fen"))) }
                dt { (lang.t("企业自付", "Enterprise pays")) } dd { (yuan(n(p, "enterprise_share_fen"))) }
            }
        }
        @if redeemable {
            @if let Some(until) = &held_until {
                section.card.hold data-held-until=(until) {
                    p { strong { (lang.t("已为本机构保留此券至 ", "Held for you until ")) (until) } " "
                        (lang.t("（期间其他机构不能核销；二维码过期也可提交）", "(no one else may redeem it meanwhile; you may submit after the code expires)")) }
                    form.inline method="post" action=(format!("/provider/holds/{}/release", s(p, "voucher_id"))) {
                        (form::hidden(caller))
                        button.secondary type="submit" { (lang.t("放弃核销（释放保留）", "Cancel (release the hold)")) }
                    }
                }
            }
            // A typed short code was exchanged for the presentation it
            // stands for: the redemption sends that.
            (redeem_form(caller, &fields.with("qr_text", s(p, "qr_text")), false))
        } @else {
            div.notice.error role="alert" {
                p { strong { (lang.t("此券今天不能由本机构核销：", "This voucher cannot be redeemed by you today:")) } }
                ul { @for reason in items(p, "reasons") {
                    li data-code=(s(reason, "code")) { (lang.t(s(reason, "message_zh"), s(reason, "message"))) " " code { (s(reason, "code")) } }
                } }
            }
            p { a href="/provider" { (lang.t("重新扫码", "Scan again")) } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("核销预览", "Preview"), body),
    ))
}

/// The contract form. `show_code`: the code, category and amount are
/// shown for editing (after a refusal), else carried from the preview.
fn redeem_form(caller: &Caller, typed: &Fields, show_code: bool) -> Markup {
    let lang = caller.lang;
    let text = |zh, en, name, kind, required| {
        layout::field(lang, name, zh, en, kind, typed.get(name), required)
    };
    html! {
        form.stack.card method="post" action="/provider/redeem" {
            (form::hidden(caller))
            @if show_code {
                label for="qr_text" { (lang.t("券码（如已过期，请企业刷新二维码后重新扫码或粘贴）", "Voucher code (if it expired, have the enterprise refresh it, then scan or paste it)")) }
                textarea #qr_text name="qr_text" rows="3" required autocomplete="off" spellcheck="false" { (typed.get("qr_text")) }
                (text("服务类别", "Service category", "service_category", "text", true))
                (text("合同金额（元）", "Contract amount (元)", "contract_amount", "text", true))
            } @else {
                input type="hidden" name="qr_text" value=(typed.get("qr_text"));
                input type="hidden" name="service_category" value=(typed.get("service_category"));
                input type="hidden" name="contract_amount" value=(typed.get("contract_amount"));
            }
            h2 { (lang.t("服务合同", "Service contract")) }
            (text("合同编号", "Contract number", "contract_number", "text", true))
            label for="description" { (lang.t("服务内容", "What the service is")) }
            textarea #description name="description" rows="2" required maxlength="1000" { (typed.get("description")) }
            h2 { (lang.t("发票与付款凭证（可稍后补充，结算前必须齐全）", "Invoice and payment proof (may follow; required before settlement)")) }
            (text("发票代码（10 或 12 位；数电票不填）", "Invoice code (10 or 12 digits; none for a 数电票)", "invoice_code", "text", false))
            (text("发票号码（8 位；数电票 20 位）", "Invoice number (8 digits; 20 for a 数电票)", "invoice_number", "text", false))
            (text("开票日期", "Invoice date", "invoice_date", "date", false))
            (text("发票金额（元）", "Invoice amount (元)", "invoice_amount", "text", false))
            (text("企业自付款凭证号", "Enterprise payment proof reference", "payment_proof_ref", "text", false))
            (settlement_checks(lang))
            button type="submit" data-busy=(lang.t("正在核销…", "Redeeming…")) { (lang.t("确认核销", "Redeem")) }
        }
    }
}

/// The checks settlement will apply to these documents, as warnings that
/// app.js shows while the clerk types (the same three as
/// `domain::settlement::document_flags`; the redemption's page states
/// them again once it is recorded).
fn settlement_checks(lang: super::i18n::Lang) -> Markup {
    use crate::domain::settlement::FlagCode;
    let words = |code: FlagCode| {
        let (zh, en) = code.meaning();
        lang.t(zh, en).to_string()
    };
    html! {
        div.notice.warning data-live-warnings hidden
            data-invoice-missing=(words(FlagCode::InvoiceMissing))
            data-invoice-short=(words(FlagCode::InvoiceShort))
            data-proof-missing=(words(FlagCode::PaymentProofMissing)) {
            p { strong { (lang.t("结算时将被暂缓，除非补齐：", "Settlement will hold this back unless fixed:")) } }
            ul {}
        }
    }
}

/// The invoice typed into a form: all four fields, or none.
fn invoice(fields: &Fields) -> Result<Option<Value>, Refusal> {
    let names = [
        "invoice_code",
        "invoice_number",
        "invoice_date",
        "invoice_amount",
    ];
    if names.iter().all(|name| fields.get(name).is_empty()) {
        return Ok(None);
    }
    // A fully digital invoice (数电票, 20-digit number) has no code; the
    // API checks the pair (domain::invoice).
    let code = fields.get("invoice_code");
    let number = fields.required("invoice_number", "The invoice number", "发票号码")?;
    let date = fields.required("invoice_date", "The invoice date", "开票日期")?;
    let amount = fields.yuan("invoice_amount", "The invoice amount", "发票金额")?;
    Ok(Some(json!({
        "code": code, "number": number, "date": date, "amount_fen": amount.as_fen(),
    })))
}

fn redeem_request(fields: &Fields) -> Result<Value, Refusal> {
    let mut request = preview_request(fields)?;
    request["contract_number"] = fields
        .required("contract_number", "The contract number", "合同编号")?
        .into();
    request["description"] = fields
        .required("description", "What the service is", "服务内容")?
        .into();
    request["invoice"] = invoice(fields)?.unwrap_or(Value::Null);
    request["payment_proof_ref"] = fields.optional("payment_proof_ref").into();
    Ok(request)
}

async fn redeem(State(api): State<ApiClient>, caller: Caller, fields: Fields) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let result = api
        .send_form(
            &caller,
            Method::POST,
            "/api/v1/redemptions",
            redeem_request(&fields),
            fields.sent(),
        )
        .await;
    match result {
        Ok(redemption) => Ok(layout::done(
            &format!("/provider/redemptions/{}", s(&redemption, "id")),
            "redeemed",
        )),
        // Every typed field comes back, with the refusal.
        Err(refusal) => Ok(redeem_again_page(
            &caller,
            Notice::Refused(refusal),
            &fields,
        )),
    }
}

/// A refused redemption, the form as it was sent.
fn redeem_again_page(caller: &Caller, notice: Notice, fields: &Fields) -> axum::response::Response {
    let lang = caller.lang;
    let body = html! {
        h1 { (lang.t("核销未成功", "Not redeemed")) }
        (layout::notice(lang, &notice))
        p.muted { (lang.t("已填写的内容都保留在下面，改正后可直接再次提交。", "Everything you typed is kept below; correct it and submit again.")) }
        (redeem_form(caller, fields, true))
        p { a href="/provider" { (lang.t("重新扫码", "Scan again")) } }
    };
    layout::answer(
        notice.status(),
        layout::page(caller, lang.t("核销", "Redeem"), body),
    )
}

/// The clerk lets the hold go.
async fn release(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(voucher_id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let path = format!("/api/v1/redemptions/holds/{}", path_part(&voucher_id));
    match api
        .send_form(&caller, Method::DELETE, &path, Ok(json!({})), fields.sent())
        .await
    {
        Ok(_) => Ok(layout::done("/provider", "released")),
        Err(refusal) => {
            scan_page(&api, &caller, Notice::Refused(refusal), &Fields::default()).await
        }
    }
}

async fn redemptions(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let lang = caller.lang;
    let list = api
        .get(&caller, "/api/v1/redemptions?limit=200")
        .await
        .map_err(layout::read_failed(&caller))?;
    let all = items(&list, "redemptions");
    let body = html! {
        h1 { (lang.t("核销记录", "My redemptions")) }
        (layout::notice(lang, &notice))
        @if all.is_empty() {
            p.empty { (lang.t("还没有核销记录。", "No redemptions yet.")) " " a href="/provider" { (lang.t("去扫码", "Scan a voucher")) } }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("日期", "Date")) } th { (lang.t("企业", "Enterprise")) }
                    th { (lang.t("合同号", "Contract")) } th { (lang.t("服务类别", "Category")) }
                    th.num { (lang.t("补贴", "Subsidy")) } th { (lang.t("状态", "Status")) }
                    th { (lang.t("单据", "Documents")) }
                } }
                tbody { @for r in all { tr {
                    td { a href=(format!("/provider/redemptions/{}", s(r, "id"))) { (s(r, "redeemed_at").get(..10).unwrap_or_default()) } }
                    td { (s(r, "enterprise_name")) }
                    td { (s(r, "contract_number")) }
                    td { (s(r, "service_category")) }
                    td.num { (yuan(n(r, "subsidy_fen"))) }
                    td { (layout::status_label(lang, s(r, "status"))) }
                    td { (documents_state(lang, r)) }
                } } }
            } }
        }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(&caller, lang.t("核销记录", "Redemptions"), body),
    ))
}

/// What the programme owes this provider and what it owes back, and its
/// payouts with their statements.
async fn account(State(api): State<ApiClient>, caller: Caller) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let lang = caller.lang;
    let Some(party) = caller.party_id() else {
        return Err(layout::problem(
            &caller,
            &Refusal::invalid(
                "no_provider",
                "This user does not act for a provider.",
                "此用户未关联服务机构。",
            ),
        ));
    };
    let account = api
        .get(&caller, &format!("/api/v1/providers/{party}/account"))
        .await
        .map_err(layout::read_failed(&caller))?;
    let balances = items(&account, "balances");
    let payouts = items(&account, "payouts");
    let body = html! {
        h1 { (lang.t("结算与对账单", "Settlement and statements")) }
        h2 { (lang.t("应收与应退", "What you are owed, and owe back")) }
        @if balances.is_empty() {
            p.empty { (lang.t("还没有已确认的核销。企业确认服务后，补贴会在这里显示为待结算。", "No confirmed redemptions yet. Once an enterprise confirms a service, its subsidy shows here as payable.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("项目", "Programme")) }
                    th.num { (lang.t("待结算补贴", "Payable")) }
                    th.num { (lang.t("支付中", "In payment")) }
                    th.num { (lang.t("已支付", "Paid")) }
                    th.num { (lang.t("待追回（将从下次付款中抵扣）", "To recover (offset against the next payout)")) }
                } }
                tbody { @for b in balances { tr {
                    td { (s(b, "programme_code")) }
                    td.num { (yuan(n(b, "payable_fen"))) }
                    td.num { (yuan(n(b, "payout_pending_fen"))) }
                    td.num { (yuan(n(b, "paid_fen"))) }
                    td.num { (yuan(n(b, "recovery_receivable_fen"))) }
                } } }
            } }
        }
        h2 { (lang.t("付款与对账单", "Payouts and statements")) }
        @if payouts.is_empty() {
            p.empty { (lang.t("还没有结算付款。财政局审批结算批次后，对账单会出现在这里。", "No payouts yet. Statements appear here once the finance bureau approves a settlement run.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th { (lang.t("参考号", "Reference")) } th { (lang.t("项目与期间", "Programme and period")) }
                    th.num { (lang.t("应付", "Gross")) } th.num { (lang.t("抵扣追回", "Offset")) }
                    th.num { (lang.t("实付", "Net")) } th { (lang.t("状态", "Status")) }
                    th { (lang.t("对账单", "Statement")) }
                } }
                tbody { @for p in payouts {
                    @let statement = format!("/api/v1/settlement-runs/{}/statements/{party}/statement", s(p, "run_id"));
                    tr {
                        td { (s(p, "reference")) }
                        td { (s(p, "programme_code")) " · " (s(p, "period_from")) " – " (s(p, "period_until")) }
                        td.num { (yuan(n(p, "gross_fen"))) } td.num { (yuan(n(p, "offset_fen"))) }
                        td.num { (yuan(n(p, "net_fen"))) }
                        td { (layout::payout_status_label(lang, s(p, "status"))) }
                        td {
                            a href=(format!("{statement}.xlsx")) download { "XLSX" } " · "
                            a href=(format!("{statement}.csv")) download { "CSV" } " · "
                            a href=(format!("{statement}.pdf")) download { "PDF" } " · "
                            (super::receipts::link(lang, "payouts", s(p, "reference")))
                        }
                    }
                } }
            } }
        }
    };
    Ok(layout::answer(
        axum::http::StatusCode::OK,
        layout::page(&caller, lang.t("结算与对账单", "Statements"), body),
    ))
}

/// 单据齐全 only when settlement would not hold the line for its documents.
fn documents_state(lang: super::i18n::Lang, r: &Value) -> &'static str {
    if items(r, "settlement_warnings").is_empty() {
        lang.t("齐全", "complete")
    } else {
        lang.t("单据待补", "documents needed")
    }
}

async fn redemption(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    notice: Notice,
) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    redemption_page(&api, &caller, &id, notice).await
}

async fn redemption_page(api: &ApiClient, caller: &Caller, id: &str, notice: Notice) -> PageResult {
    let lang = caller.lang;
    let id = path_part(id);
    let r = super::redemption_facts::fetch(api, caller, id).await?;
    let status = s(&r, "status");
    let reversible = matches!(status, "pending" | "confirmed" | "disputed");
    let body = html! {
        h1 { (lang.t("核销记录", "Redemption")) " " (s(&r, "contract_number")) }
        (layout::notice(lang, &notice))
        (layout::timeline(lang, &r))
        (super::redemption_facts::warnings(lang, &r))
        (super::redemption_facts::facts(lang, &r))
        @if r["invoice"].is_null() || r["payment_proof_ref"].is_null() {
            form.stack.card method="post" action=(format!("/provider/redemptions/{id}/documents")) {
                (form::hidden(caller))
                h2 { (lang.t("补充单据", "Add documents")) }
                @if r["invoice"].is_null() {
                    (layout::field(lang, "invoice_code", "发票代码", "Invoice code", "text", "", true))
                    (layout::field(lang, "invoice_number", "发票号码", "Invoice number", "text", "", true))
                    (layout::field(lang, "invoice_date", "开票日期", "Invoice date", "date", "", true))
                    (layout::field(lang, "invoice_amount", "发票金额（元）", "Invoice amount (元)", "text", "", true))
                }
                @if r["payment_proof_ref"].is_null() {
                    (layout::field(lang, "payment_proof_ref", "企业自付款凭证号", "Enterprise payment proof reference", "text", "", false))
                }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
        @if reversible {
            details.card {
                summary { (lang.t("冲正（撤销这笔核销）", "Reverse (冲正) this redemption")) }
                form.stack method="post" action=(format!("/provider/redemptions/{id}/reverse")) {
                    (form::hidden(caller))
                    label for="reason" { (lang.t("冲正原因", "Reason")) }
                    textarea #reason name="reason" required maxlength="1000" {}
                    button.danger type="submit" { (lang.t("冲正", "Reverse")) }
                }
            }
        }
        p { a href="/provider/redemptions" { (lang.t("← 全部核销记录", "← All redemptions")) } }
    };
    Ok(layout::answer(
        notice.status(),
        layout::page(caller, lang.t("核销记录", "Redemption"), body),
    ))
}

async fn documents(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let body = invoice(&fields).and_then(|invoice| {
        let proof = fields.optional("payment_proof_ref");
        if invoice.is_none() && proof.is_none() {
            return Err(Refusal::invalid(
                "documents_required",
                "Enter the invoice or the payment proof reference.",
                "请填写发票或付款凭证号。",
            ));
        }
        Ok(json!({ "invoice": invoice, "payment_proof_ref": proof }))
    });
    change(&api, &caller, &id, "documents", body, &fields, "documents").await
}

async fn reverse(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(id): Path<String>,
    fields: Fields,
) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let body = fields
        .required("reason", "The reason", "冲正原因")
        .map(|reason| json!({ "reason": reason }));
    change(&api, &caller, &id, "reverse", body, &fields, "reversed").await
}

/// One change to a redemption; back to its page with the outcome.
async fn change(
    api: &ApiClient,
    caller: &Caller,
    id: &str,
    action: &str,
    body: Result<Value, Refusal>,
    fields: &Fields,
    done: &str,
) -> PageResult {
    let id = path_part(id);
    form::answer(
        api,
        caller,
        (
            Method::POST,
            &format!("/api/v1/redemptions/{id}/{action}"),
            body,
        ),
        fields,
        (&format!("/provider/redemptions/{id}"), done),
        async |notice| redemption_page(api, caller, id, notice).await,
    )
    .await
}

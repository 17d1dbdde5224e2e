//! Offline redemption's pages (docs/redemption-lifecycle.md "Offline"): the
//! provider's offline counter (`/provider/offline`, an installable web app
//! that works with no network: `assets/offline.js` and its service worker)
//! with its synced acceptances and conflicts, and the offline section of
//! the enterprise's voucher page (bind this phone, present without the
//! network, see conflicts). The pages only lay out; the browser does the
//! cryptography, and the server checks it all again at sync.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::ApiClient;
use super::assets;
use super::backend::{Caller, Refusal, path_part};
use super::i18n::Lang;
use super::layout::{self, Notice, PageResult, items, n, s, yuan};
use crate::domain::Role;

pub fn routes() -> Router<ApiClient> {
    Router::new().route(assets::OFFLINE_SCOPE, get(counter))
}

/// The heading of a list of synced acceptances, and of one of conflicts.
pub const SYNCED: (&str, &str) = ("离线受理记录", "Offline acceptances");
pub const CONFLICTS: (&str, &str) = ("离线冲突（未兑付）", "Offline conflicts (not paid)");

/// The codes the counter's own checks may give, in both languages.
const REFUSALS: &[(&str, &str, &str)] = &[
    ("token_malformed", "不是离线出示码", "Not an offline code"),
    (
        "token_unknown_key",
        "补贴券由未知密钥签发",
        "Signed by an unknown key",
    ),
    (
        "token_key_revoked",
        "签发密钥已被吊销",
        "The issuer key is revoked",
    ),
    (
        "token_signature_invalid",
        "补贴券签名无效",
        "The voucher's signature is invalid",
    ),
    (
        "holder_binding_invalid",
        "设备绑定凭证无效",
        "The device binding is invalid",
    ),
    (
        "holder_signature_invalid",
        "持券设备签名无效",
        "The holder's signature is invalid",
    ),
    (
        "holder_binding_superseded",
        "已改绑到其他设备",
        "Re-bound to another device",
    ),
    (
        "presentation_wrong_provider",
        "此码是向其他服务机构出示的",
        "Shown to another provider",
    ),
    (
        "presentation_expired",
        "出示码已超过 10 分钟",
        "The code is over 10 minutes old",
    ),
    (
        "presentation_already_used",
        "此码已受理过",
        "Already accepted",
    ),
    ("voucher_not_yet_valid", "补贴券尚未生效", "Not valid yet"),
    ("voucher_expired", "补贴券已过期", "Expired"),
    (
        "voucher_on_status_list",
        "状态清单显示此券已使用或作废",
        "The status list shows it used or withdrawn",
    ),
    (
        "offline_not_allowed",
        "本项目不允许离线受理",
        "The programme does not allow offline acceptance",
    ),
    (
        "offline_list_stale",
        "状态清单已过期，请联网更新",
        "The status list is too old: go online",
    ),
    (
        "offline_list_unknown",
        "尚无状态清单，请联网更新",
        "No status list yet: go online",
    ),
    (
        "offline_device_unregistered",
        "本设备尚未登记",
        "This device is not registered",
    ),
    (
        "offline_voucher_cap_exceeded",
        "超过单张券离线上限",
        "Over the offline cap per voucher",
    ),
    (
        "offline_device_cap_exceeded",
        "超过本设备离线上限",
        "Over this device's offline cap",
    ),
    (
        "provider_suspended",
        "本机构当前不能核销",
        "This provider may not redeem now",
    ),
    (
        "category_not_covered",
        "服务类别不在此券范围内",
        "Category not covered",
    ),
    ("subsidy_zero", "补贴为零", "No subsidy"),
    (
        "enterprise_share_not_positive",
        "企业须自付部分金额",
        "The enterprise must pay a share",
    ),
    (
        "contract_amount_invalid",
        "请填写合同金额",
        "Enter the contract amount",
    ),
];

async fn counter(State(api): State<ApiClient>, caller: Caller, notice: Notice) -> PageResult {
    layout::require(&caller, Role::Provider)?;
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let party = caller.party_id().map(|p| p.to_string()).unwrap_or_default();
    let provider = api
        .get(&caller, &format!("/api/v1/providers/{}", path_part(&party)))
        .await
        .map_err(&failed)?;
    let categories: Vec<String> = items(&provider["fields"], "categories")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let synced = api
        .get(&caller, "/api/v1/offline/acceptances?limit=50")
        .await
        .map_err(&failed)?;
    let refusals: serde_json::Map<String, Value> = REFUSALS
        .iter()
        .map(|(code, zh, en)| (code.to_string(), json!(lang.t(zh, en))))
        .collect();
    let body = html! {
        h1 { (lang.t("离线核销", "Offline acceptance")) }
        (layout::notice(lang, &notice))
        div data-offline-counter
            data-csrf=(caller.csrf_token())
            data-provider-id=(party)
            data-worker=(assets::OFFLINE_WORKER_PATH)
            data-scope=(assets::OFFLINE_SCOPE)
            data-online=(lang.t("网络：已连接", "Network: online"))
            data-offline=(lang.t("网络：未连接（离线受理，待联网后同步）", "Network: offline (accepting offline; syncs when back)"))
            data-device-ready=(lang.t("本设备已登记：{label}", "This device is registered: {label}"))
            data-device-missing=(lang.t("本设备尚未登记，请联网时登记", "This device is not registered: register it while online"))
            data-list-missing=(lang.t("尚无状态清单，请联网更新", "No status list yet: go online"))
            data-list-state=(lang.t("状态清单第 {n} 号，{age} 分钟前发布", "Status list no. {n}, published {age} min ago"))
            data-waiting=(lang.t("待同步：{n} 笔", "Waiting to sync: {n}"))
            data-status-queued=(lang.t("待同步", "Waiting to sync"))
            data-status-redeemed=(lang.t("已兑付", "Redeemed"))
            data-status-partly-paid=(lang.t("部分兑付（余额不足部分为冲突）", "Partly paid (the rest is a conflict)"))
            data-status-offline-conflict=(lang.t("离线冲突（未兑付）", "Offline conflict (not paid)"))
            data-status-refused=(lang.t("被拒绝", "Refused"))
            data-refused=(lang.t("不能受理：", "Cannot accept:"))
            data-acceptable=(lang.t("可以受理：补贴 ¥{subsidy}，企业自付 ¥{share}。", "Can be accepted: subsidy ¥{subsidy}, the enterprise pays ¥{share}."))
            data-accepted=(lang.t("已受理，记入待同步队列。", "Accepted and queued to sync."))
            data-login-again=(lang.t("登录已失效：请重新登录后打开本页同步。", "Signed out: log in again and open this page to sync."))
            data-list-forged=(lang.t("状态清单签名无效", "The status list's signature is invalid"))
            data-failed=(lang.t("操作失败：", "Failed:"))
            data-default-label=(lang.t("核销设备", "Counter device"))
            data-refusals=(Value::Object(refusals).to_string()) {
            section.card {
                p data-network-line role="status" { (lang.t("正在检查网络…", "Checking the network…")) }
                p data-device-line {}
                p data-list-line {}
                p data-waiting-line {}
            }
            section.card data-register hidden {
                h2 { (lang.t("登记本设备", "Register this device")) }
                p.muted { (lang.t("本设备生成的密钥只保存在此浏览器中，用于签署离线受理记录。", "This device's key stays in this browser and signs its offline acceptances.")) }
                label for="device_label" { (lang.t("设备名称（如：岱山网点平板）", "Device name (e.g. Daishan counter tablet)")) }
                input #device_label data-device-label type="text" maxlength="100";
                button type="button" data-register-button { (lang.t("登记本设备", "Register")) }
            }
            (super::provider::scanner(lang, "offline_code", "offline_amount", [
                ("请将企业手机上的离线码对准摄像头", "Hold the phone's offline code in front of the camera"),
                ("已识别离线码，请填写合同后核验", "Code read: fill in the contract and check"),
                ("无法使用摄像头：请选择照片或粘贴离线码", "No camera: choose a photo or paste the code"),
                ("照片中没有找到二维码，请重拍", "No QR code found in the photo; take it again"),
            ], html! {
                label for="offline_photo" { (lang.t("或选择离线码照片（在本机识别）", "Or choose a photo of the code (read on this device)")) }
                input #offline_photo type="file" accept="image/png,image/jpeg";
            }))
            section.card.stack {
                h2 { (lang.t("受理离线出示码", "Accept an offline code")) }
                label for="offline_code" { (lang.t("离线出示码（VO1: 开头）", "Offline code (starts with VO1:)")) }
                textarea #offline_code data-code rows="4" autocomplete="off" spellcheck="false" {}
                label for="offline_category" { (lang.t("服务类别", "Service category")) }
                select #offline_category data-category {
                    @for category in &categories { option value=(category) { (category) } }
                }
                label for="offline_amount" { (lang.t("合同金额（元）", "Contract amount (元)")) }
                input #offline_amount data-amount type="text" inputmode="decimal";
                label for="offline_contract" { (lang.t("合同编号", "Contract number")) }
                input #offline_contract data-contract-number type="text" maxlength="64";
                label for="offline_description" { (lang.t("服务内容", "Service")) }
                input #offline_description data-description type="text" maxlength="1000";
                div.actions {
                    button type="button" data-check { (lang.t("核验", "Check")) }
                    button type="button" data-accept disabled { (lang.t("受理", "Accept")) }
                }
                div data-check-result hidden role="status" {}
            }
            section.card {
                h2 { (lang.t("本设备受理记录", "This device's acceptances")) }
                table {
                    thead { tr {
                        th { (lang.t("序号", "No.")) }
                        th { (lang.t("补贴券", "Voucher")) }
                        th { (lang.t("补贴（元）", "Subsidy (元)")) }
                        th { (lang.t("受理时间", "Accepted")) }
                        th { (lang.t("状态", "State")) }
                    } }
                    tbody data-queue {}
                }
                p data-sync-state {}
                button.secondary type="button" data-sync { (lang.t("立即同步", "Sync now")) }
            }
        }
        (acceptances_table(lang, &synced, SYNCED))
    };
    Ok(layout::answer(
        notice.status(),
        layout::page_with_scripts(
            &caller,
            lang.t("离线核销", "Offline"),
            &[assets::JSQR_PATH, assets::OFFLINE_JS_PATH],
            Some(assets::OFFLINE_MANIFEST_PATH),
            body,
        ),
    ))
}

/// Synced acceptances (newest first) with their outcomes, under `title`.
pub fn acceptances_table(lang: Lang, list: &Value, title: (&str, &str)) -> Markup {
    let rows = items(list, "acceptances");
    html! {
        section.card data-acceptances {
            h2 { (lang.t(title.0, title.1)) }
            @if rows.is_empty() {
                p.muted { (lang.t("暂无。", "None yet.")) }
            } @else {
                div.table-wrap { table {
                    thead { tr {
                        th { (lang.t("结果", "Outcome")) }
                        th { (lang.t("补贴券", "Voucher")) }
                        th { (lang.t("受理的补贴", "Accepted")) }
                        th { (lang.t("兑付", "Paid")) }
                        th { (lang.t("冲突（未兑付）", "Conflict (unpaid)")) }
                        th { (lang.t("受理 / 同步", "Accepted / synced")) }
                    } }
                    tbody {
                        @for a in rows {
                            tr data-outcome=(s(a, "outcome")) {
                                td { (outcome_label(lang, s(a, "outcome"))) }
                                td { code { (s(a, "voucher_id").get(..8).unwrap_or("")) } }
                                td.amount { (yuan(n(a, "claimed_fen"))) }
                                td.amount { (yuan(n(a, "paid_fen"))) }
                                td.amount { (yuan(n(a, "conflict_fen"))) " " span.muted { (a["conflict_reason"].as_str().unwrap_or("")) } }
                                td { (layout::date_time(s(a, "accepted_at"))) " / " (layout::date_time(s(a, "synced_at"))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

fn outcome_label(lang: Lang, outcome: &str) -> &'static str {
    match outcome {
        "redeemed" => lang.t("已兑付", "Redeemed"),
        "partly_paid" => lang.t("部分兑付", "Partly paid"),
        _ => lang.t("离线冲突（未兑付）", "Offline conflict (not paid)"),
    }
}

/// The offline section of an enterprise's voucher page: bind this phone
/// (automatically at claim, when nobody has), then present offline to a
/// chosen provider; and the voucher's offline acceptances and conflicts.
pub async fn holder_section(
    api: &ApiClient,
    caller: &Caller,
    voucher: &Value,
    programme: &Value,
) -> Result<Markup, Refusal> {
    let lang = caller.lang;
    let offline_on = programme["terms"]["offline"]["voucher_cap_fen"]
        .as_i64()
        .unwrap_or(0)
        > 0;
    let id = s(voucher, "id");
    let acceptances = api
        .get(
            caller,
            &format!("/api/v1/offline/acceptances?voucher_id={}", path_part(id)),
        )
        .await?;
    if !offline_on || s(voucher, "status") != "active" {
        return Ok(html! {
            @if !items(&acceptances, "acceptances").is_empty() { (acceptances_table(lang, &acceptances, SYNCED)) }
        });
    }
    let bindings = api
        .get(
            caller,
            &format!("/api/v1/vouchers/{}/holder-keys", path_part(id)),
        )
        .await?;
    let current = items(&bindings, "bindings").last().cloned();
    let providers = api
        .get(
            caller,
            &format!(
                "/api/v1/programmes/{}/providers",
                path_part(s(voucher, "programme_code"))
            ),
        )
        .await?;
    Ok(html! {
        section.card.stack data-offline-holder
            data-voucher-id=(id)
            data-token=(s(voucher, "token"))
            data-csrf=(caller.csrf_token())
            data-bind-url=(format!("/api/v1/vouchers/{id}/holder-keys"))
            data-binding=(current.map(|b| json!({"binding_number": b["binding_number"], "public_key": b["public_key"]}).to_string()).unwrap_or_else(|| "null".into()))
            data-autobind="1"
            data-bound=(lang.t("本设备已绑定此券（第 {n} 号绑定），无网络时也能出示。", "This phone is bound to the voucher (binding {n}); it can present with no network."))
            data-elsewhere=(lang.t("此券已绑定在另一台设备上。如已换手机，可改绑到本设备（原设备随即失效）。", "The voucher is bound to another device. If you changed phones, re-bind it here (the old one stops working)."))
            data-unbound=(lang.t("本设备尚未绑定此券。", "This phone is not bound to the voucher."))
            data-rebind-label=(lang.t("改绑到本设备", "Re-bind to this phone"))
            data-binding-progress=(lang.t("正在绑定本设备…", "Binding this phone…"))
            data-presented=(lang.t("请服务机构扫描此离线码（10 分钟内有效，仅限所选机构）。", "Have the provider scan this code (valid 10 minutes, for the chosen provider only)."))
            data-failed=(lang.t("操作失败：", "Failed:")) {
            h2 { (lang.t("离线出示", "Present offline")) }
            p data-holder-status role="status" {}
            button.secondary type="button" data-holder-bind { (lang.t("在本设备启用离线出示", "Enable offline presentation on this phone")) }
            label for="offline_provider" { (lang.t("向哪家服务机构出示", "Provider you are showing it to")) }
            select #offline_provider data-holder-provider {
                @for p in items(&providers, "providers") {
                    option value=(s(p, "id")) { (s(p, "name")) }
                }
            }
            button type="button" data-holder-present disabled { (lang.t("生成离线码", "Make an offline code")) }
            div.qr data-holder-qr hidden {}
            textarea data-holder-text readonly hidden rows="3" aria-label=(lang.t("离线码文本", "Offline code text")) {}
        }
        @if !items(&acceptances, "acceptances").is_empty() { (acceptances_table(lang, &acceptances, SYNCED)) }
    })
}

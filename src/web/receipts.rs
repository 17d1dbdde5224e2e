//! Receipts people keep, as pages (docs/transparency.md, "Receipts"): the
//! printable receipt of a voucher's issue, a redemption, a run's approval
//! or a payout — what the entry is, the checkpoint that covers it, who
//! cosigned it — with its JSON to download, and the public page where
//! anyone pastes a receipt and checks it in the browser. The check runs
//! in `receipt.js` (WebCrypto: SHA-256 and Ed25519), not on this server:
//! a receipt is only worth something when it is checked without asking
//! the log that issued it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use maud::{Markup, html};
use serde_json::Value;

use super::ApiClient;
use super::backend::{Caller, Refusal, path_part};
use super::i18n::Lang;
use super::layout::{self, PageResult, n, s};
use crate::ledger::cosignature;
use crate::ledger::note::{self, TreeHead};

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/receipts/{kind}/{id}", get(printable))
        .route("/receipts/{kind}/{id}/receipt.json", get(download))
        .route("/public/receipt", get(check_page))
}

/// What a receipt can be of: the path segment (the API's collection) and
/// how people call it.
const KINDS: [(&str, &str, &str); 4] = [
    ("vouchers", "服务券发放", "Voucher issued"),
    ("redemptions", "核销记录", "Redemption recorded"),
    ("settlement-runs", "结算批次批准", "Settlement run approved"),
    ("payouts", "兑付", "Payout"),
];

/// The page's link to a receipt of `kind` (a `KINDS` segment) and `id`.
pub fn link(lang: Lang, kind: &str, id: &str) -> Markup {
    html! {
        a href=(format!("/receipts/{kind}/{id}")) data-receipt-link {
            (lang.t("透明日志收据", "Transparency log receipt"))
        }
    }
}

fn kind_of(kind: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    KINDS.iter().find(|(segment, _, _)| *segment == kind)
}

/// The receipt as the API gives it to this caller, and its path's kind.
async fn fetch(
    api: &ApiClient,
    caller: &Caller,
    kind: &str,
    id: &str,
) -> Result<(Value, &'static (&'static str, &'static str, &'static str)), Refusal> {
    let kind = kind_of(kind).ok_or_else(Refusal::not_found)?;
    let receipt = api
        .get(
            caller,
            &format!("/api/v1/{}/{}/receipt", kind.0, path_part(id)),
        )
        .await?;
    Ok((receipt, kind))
}

/// The log's verifier key as this service publishes it (empty when it
/// signs nothing).
async fn published_vkey(api: &ApiClient, caller: &Caller) -> String {
    let answer = api
        .call(caller, Method::GET, "/log/vkey", None, Body::empty(), None)
        .await;
    answer
        .ok()
        .and_then(|answer| String::from_utf8(answer.body.to_vec()).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_default()
}

async fn download(
    State(api): State<ApiClient>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> PageResult {
    let failed = layout::read_failed(&caller);
    let (receipt, _) = fetch(&api, &caller, &kind, &id).await.map_err(&failed)?;
    let filename = format!("receipt-{}.json", n(&receipt, "sequence"));
    let body = serde_json::to_string_pretty(&receipt).expect("a JSON value serialises");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// One signature line of the receipt's checkpoint, as people read it.
struct SignatureLine {
    name: String,
    /// The Unix second a witness cosigned at; `None` for the log's own.
    cosigned_at: Option<u64>,
}

/// The checkpoint's head and signature lines, when the note reads.
fn checkpoint_facts(note_text: &str) -> Option<(TreeHead, Vec<SignatureLine>)> {
    let signed = note::parse(note_text).ok()?;
    let head = TreeHead::parse(&signed.text).ok()?;
    let lines = signed
        .signatures
        .iter()
        .map(|line| SignatureLine {
            name: line.name.clone(),
            cosigned_at: (line.signature.len() == cosignature::COSIGNED_BYTES)
                .then(|| line.signature[..8].try_into().ok().map(u64::from_be_bytes))
                .flatten(),
        })
        .collect();
    Some((head, lines))
}

/// The receipt's leaf: (sequence, kind, entry hash hex).
fn leaf_facts(leaf: &str) -> Option<(u64, String, String)> {
    let bytes = BASE64.decode(leaf).ok()?;
    let (sequence, kind, hash) = crate::ledger::merkle::parse_leaf_record(&bytes)?;
    Some((
        sequence,
        kind.to_string(),
        crate::ledger::entry::to_hex(&hash),
    ))
}

fn unix_time(lang: Lang, seconds: u64) -> String {
    let Ok(seconds) = i64::try_from(seconds) else {
        return seconds.to_string();
    };
    match chrono::DateTime::from_timestamp(seconds, 0) {
        Some(time) => layout::date_time(&time.to_rfc3339()),
        None => lang.t("时间无法读取", "unreadable time").to_string(),
    }
}

async fn printable(
    State(api): State<ApiClient>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
) -> PageResult {
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let (receipt, kind) = fetch(&api, &caller, &kind, &id).await.map_err(&failed)?;
    let vkey = published_vkey(&api, &caller).await;
    let json = serde_json::to_string_pretty(&receipt).expect("a JSON value serialises");
    let leaf = leaf_facts(s(&receipt, "leaf"));
    let checkpoint = checkpoint_facts(s(&receipt, "checkpoint"));
    let id = path_part(&id);
    let body = html! {
        h1 { (lang.t("透明日志收据", "Transparency log receipt")) " · " (lang.t(kind.1, kind.2)) }
        p.muted { (s(&receipt, "subject")) }
        p.no-print {
            a href=(format!("/receipts/{}/{id}/receipt.json", kind.0)) download { (lang.t("下载收据（JSON）", "Download the receipt (JSON)")) }
            " · " button.link type="button" data-print { (lang.t("打印", "Print")) }
        }
        section.card {
            h2 { (lang.t("账本条目", "The ledger entry")) }
            dl.facts {
                dt { (lang.t("条目序号", "Entry")) } dd data-sequence { (n(&receipt, "sequence")) }
                @if let Some((_, kind, hash)) = &leaf {
                    dt { (lang.t("条目类型", "Kind")) } dd { code { (kind) } }
                    dt { (lang.t("条目哈希", "Entry hash")) } dd.id { code { (hash) } }
                }
            }
        }
        section.card {
            h2 { (lang.t("覆盖它的检查点", "The checkpoint that covers it")) }
            @if let Some((head, lines)) = &checkpoint {
                dl.facts {
                    dt { (lang.t("日志", "Log")) } dd { code { (head.origin) } }
                    dt { (lang.t("树大小（条目数）", "Tree size (entries)")) } dd { (head.size) }
                    dt { (lang.t("根哈希", "Root hash")) } dd.id { code { (BASE64.encode(head.root)) } }
                    @for line in lines {
                        @match line.cosigned_at {
                            Some(time) => {
                                dt { (lang.t("见证方联署", "Cosigned by witness")) }
                                dd { code { (line.name) } " · " (unix_time(lang, time)) }
                            }
                            None => {
                                dt { (lang.t("日志签名", "Signed by the log")) }
                                dd { code { (line.name) } }
                            }
                        }
                    }
                    dt { (lang.t("包含证明", "Inclusion proof")) } dd { (items_len(&receipt, "proof")) (lang.t(" 个哈希", " hashes")) }
                }
            }
        }
        section.card {
            h2 { (lang.t("这张收据证明什么", "What this receipt proves")) }
            p { (lang.t(
                "这一条目在公示日志中，位于上面这个已签名的检查点之内；日志若事后改写或删除它，与任何持有更新检查点或见证方联署的人所见的历史就对不上。它不证明条目内容是否符合政策，也不公开条目内容（只含条目哈希）。",
                "This entry is in the public log, inside the signed checkpoint above: a log that later rewrote or removed it could not show the same history to anyone who holds a later checkpoint or a witness's cosignature. It does not prove that the entry was right by the rules, and it does not publish the entry's body (only its hash)."
            )) }
            p { (lang.t("离线核验：", "Check it offline: ")) code { "voucher-ledger receipt verify receipt-" (n(&receipt, "sequence")) ".json --log-key '" (vkey) "'" } }
        }
        (check_box(lang, Some(&json), &vkey))
    };
    checker_page(
        &caller,
        lang.t("透明日志收据", "Transparency log receipt"),
        body,
    )
}

/// A page with the receipt checker's script.
fn checker_page(caller: &Caller, title: &str, body: Markup) -> PageResult {
    let page = layout::page_with_script(caller, title, super::assets::RECEIPT_JS_PATH, body);
    Ok(layout::answer(StatusCode::OK, page))
}

fn items_len(value: &Value, key: &str) -> usize {
    layout::items(value, key).len()
}

/// The checker: the receipt (given, or pasted), the log's key, witness
/// keys, a button, and the list of checks `receipt.js` fills in.
fn check_box(lang: Lang, receipt: Option<&str>, vkey: &str) -> Markup {
    html! {
        section.card.no-print data-receipt-check {
            h2 { (lang.t("在浏览器中核验", "Check it in your browser")) }
            p.muted { (lang.t(
                "核验在您的浏览器中进行，不询问本服务。日志公钥已按本服务公布的填好；独立核验时，请换成从公示文件等可信渠道取得的公钥。",
                "The check runs in your browser and asks this service nothing. The log's key is filled in as this service publishes it; for an independent check, use the key from a source you trust, such as the published notice."
            )) }
            label for="receipt-json" { (lang.t("收据（JSON）", "Receipt (JSON)")) }
            textarea #receipt-json name="receipt" rows="8" spellcheck="false" readonly[receipt.is_some()] { (receipt.unwrap_or_default()) }
            label for="receipt-log-key" { (lang.t("日志公钥（vkey）", "The log's key (vkey)")) }
            input #receipt-log-key name="log_key" type="text" spellcheck="false" value=(vkey);
            label for="receipt-witness-keys" { (lang.t("见证方公钥（每行一个，可不填）", "Witness keys (one per line, optional)")) }
            textarea #receipt-witness-keys name="witness_keys" rows="2" spellcheck="false" {}
            p { button type="button" data-receipt-verify { (lang.t("核验", "Check")) } }
            div data-receipt-result aria-live="polite" {}
        }
    }
}

async fn check_page(caller: Caller, State(api): State<ApiClient>) -> PageResult {
    let lang = caller.lang;
    let vkey = published_vkey(&api, &caller).await;
    let body = html! {
        h1 { (lang.t("核验透明日志收据", "Check a transparency log receipt")) }
        p.muted { (lang.t(
            "企业、服务机构和财政部门可下载其服务券、核销、兑付和结算批次的收据。把收据粘贴到下面，即可确认它在公示日志中、由日志签名并经见证方联署。",
            "Enterprises, providers and the finance bureau can download receipts of their vouchers, redemptions, payouts and settlement runs. Paste one below to confirm that it is in the public log, signed by the log and cosigned by its witnesses."
        )) }
        (check_box(lang, None, &vkey))
        p { a href="/public" { (lang.t("返回公示", "Back to the public notice")) } }
    };
    checker_page(&caller, lang.t("核验收据", "Check a receipt"), body)
}

//! The auditor's (审计) portal, read-only: the ledger's entries page by
//! page with their postings, one entry in full (hashes, canonical body),
//! the latest signed checkpoint, and verification of the whole ledger on
//! request (the same checks as `voucher-ledger verify`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::ApiClient;
use super::backend::{Caller, Refusal};
use super::i18n::Lang;
use super::layout::{self, PageResult, items, n, s, yuan};
use crate::domain::Role;

/// Entries on one page of the browser.
const ENTRIES_PER_PAGE: u32 = 50;

pub fn routes() -> Router<ApiClient> {
    Router::new()
        .route("/auditor", get(ledger))
        .route("/auditor/entries/{sequence}", get(entry))
        .route("/auditor/checkpoints", get(checkpoints))
}

#[derive(Deserialize)]
struct LedgerQuery {
    /// Oldest first from after this sequence (the old view).
    after: Option<u64>,
    /// Newest first, below this sequence (the default: the newest page).
    before: Option<u64>,
    /// Only this kind; only these days (UTC+8).
    kind: Option<String>,
    from: Option<String>,
    until: Option<String>,
    /// `now`: verify the whole ledger before drawing the page.
    verify: Option<String>,
}

/// An entry kind in the page's language.
pub fn kind_label(lang: Lang, kind: &str) -> String {
    let (zh, en) = match kind {
        "programme_funded" => ("项目拨款", "programme funded"),
        "journal" => ("调整分录", "journal"),
        "user_created" => ("新建用户", "user created"),
        "password_changed" => ("修改密码", "password changed"),
        "login_succeeded" => ("登录", "logged in"),
        "login_failed" => ("登录失败", "login failed"),
        "session_ended" => ("退出登录", "logged out"),
        "api_token_created" => ("创建 API 令牌", "API token created"),
        "api_token_revoked" => ("吊销 API 令牌", "API token revoked"),
        "enterprise_registered" => ("企业入库", "enterprise registered"),
        "enterprise_updated" => ("企业信息更新", "enterprise updated"),
        "enterprise_tagged" => ("企业标签", "enterprise tagged"),
        "party_blacklisted" => ("列入黑名单", "blacklisted"),
        "programme_created" => ("新建项目", "programme created"),
        "programme_draft_updated" => ("修改项目草稿", "programme draft updated"),
        "programme_opened" => ("项目开放", "programme opened"),
        "programme_amended" => ("项目变更", "programme amended"),
        "programme_closed" => ("项目关闭", "programme closed"),
        "provider_registered" => ("服务机构登记", "provider registered"),
        "provider_updated" => ("服务机构信息更新", "provider updated"),
        "provider_status_changed" => ("服务机构状态变更", "provider status changed"),
        "zone_defined" => ("功能区设置", "zone defined"),
        "issuer_key_activated" => ("启用签发密钥", "issuer key activated"),
        "issuer_key_revoked" => ("吊销签发密钥", "issuer key revoked"),
        "voucher_issued" => ("发放补贴券", "voucher issued"),
        "voucher_reissued" => ("换发补贴券", "voucher re-issued"),
        "voucher_redeemed" => ("核销", "voucher redeemed"),
        "voucher_held" => ("核销保留", "voucher held"),
        "voucher_hold_released" => ("释放核销保留", "hold released"),
        "redemption_confirmed" => ("企业确认", "redemption confirmed"),
        "redemption_disputed" => ("企业异议", "redemption disputed"),
        "redemption_dispute_rejected" => ("驳回异议", "dispute rejected"),
        "redemption_reversed" => ("冲正", "redemption reversed"),
        "redemption_frozen" => ("冻结", "redemption frozen"),
        "redemption_documents_attached" => ("补充单据", "documents attached"),
        "recovery_opened" => ("追回", "recovery opened"),
        "voucher_expired" => ("补贴券过期", "voucher expired"),
        "voucher_revoked" => ("补贴券作废", "voucher revoked"),
        "settlement_prepared" => ("生成结算批次", "settlement prepared"),
        "settlement_line_resolved" => ("结算明细核实纳入", "settlement line resolved"),
        "settlement_approved" => ("结算审批", "settlement approved"),
        "payouts_recorded" => ("记录支付结果", "payouts recorded"),
        other => return other.to_string(),
    };
    lang.t(zh, en).to_string()
}

async fn ledger(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<LedgerQuery>,
) -> PageResult {
    layout::require(&caller, Role::Auditor)?;
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    // Newest first unless the old oldest-first cursor is asked for.
    let mut listing = match query.after {
        Some(after) => format!("after={after}"),
        None => format!("before={}", query.before.unwrap_or(i64::MAX as u64)),
    };
    let kind = query.kind.as_deref().unwrap_or("").trim();
    let from = query.from.as_deref().unwrap_or("").trim();
    let until = query.until.as_deref().unwrap_or("").trim();
    for (name, value) in [("kind", kind), ("from", from), ("until", until)] {
        if !value.is_empty() {
            listing.push_str(&format!("&{name}={}", super::backend::path_part(value)));
        }
    }
    let entries = api
        .get(
            &caller,
            &format!("/api/v1/ledger/entries?{listing}&limit={ENTRIES_PER_PAGE}"),
        )
        .await
        .map_err(&failed)?;
    let filters = format!(
        "&kind={}&from={}&until={}",
        super::backend::path_part(kind),
        super::backend::path_part(from),
        super::backend::path_part(until)
    );
    let next_page = entries["next_cursor"]
        .as_u64()
        .map(|next| match query.after {
            Some(_) => format!("/auditor?after={next}{filters}"),
            None => format!("/auditor?before={next}{filters}"),
        });
    let checkpoints = api
        .get(&caller, "/api/v1/ledger/checkpoints?limit=10")
        .await
        .map_err(&failed)?;
    let verification = match query.verify.as_deref() {
        Some("now") => Some(api.get(&caller, "/api/v1/ledger/verification").await),
        _ => None,
    };
    let body = html! {
        h1 { (lang.t("账本", "Ledger")) }
        div.grid {
            section.card {
                h2 { (lang.t("签名检查点", "Signed checkpoints")) }
                (checkpoint_table(lang, &checkpoints))
                p { a href="/auditor/checkpoints" { (lang.t("全部检查点 →", "All checkpoints →")) } }
            }
            section.card {
                h2 { (lang.t("完整性校验", "Verification")) }
                @match &verification {
                    Some(result) => (verification_box(lang, result)),
                    None => p.muted { (lang.t("重新计算全部哈希链、借贷平衡、检查点签名和各投影表。", "Recomputes every hash, posting balance, checkpoint signature and projection.")) },
                }
                form method="get" action="/auditor" {
                    input type="hidden" name="verify" value="now";
                    button type="submit" data-busy=(lang.t("正在校验整本账…", "Verifying the whole ledger…")) { (lang.t("立即校验", "Verify now")) }
                }
            }
        }
        h2 { (lang.t("分录（最新在前）", "Entries (newest first)")) }
        form.stack.card.filters method="get" action="/auditor" {
            label for="kind" { (lang.t("类型", "Kind")) }
            select #kind name="kind" {
                option value="" { (lang.t("全部", "All")) }
                @for name in crate::ledger::body::EntryKind::NAMES {
                    option value=(name) selected[kind == *name] { (kind_label(lang, name)) }
                }
            }
            label for="from" { (lang.t("起始日期", "From")) }
            input #from name="from" type="date" value=(from);
            label for="until" { (lang.t("截止日期", "Until")) }
            input #until name="until" type="date" value=(until);
            button.secondary type="submit" { (lang.t("筛选", "Filter")) }
        }
        @let rows = items(&entries, "entries");
        @if rows.is_empty() {
            p.empty { (lang.t("没有符合条件的分录。", "No entries match.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th.num { (lang.t("序号", "Seq.")) } th { (lang.t("类型", "Kind")) }
                    th { (lang.t("时间", "Recorded")) } th { (lang.t("操作人", "Actor")) }
                    th { (lang.t("记账", "Postings")) }
                } }
                tbody { @for e in rows { tr {
                    td.num { a href=(format!("/auditor/entries/{}", n(e, "sequence"))) { (n(e, "sequence")) } }
                    td data-kind=(s(e, "kind")) { (kind_label(lang, s(e, "kind"))) }
                    td { (layout::date_time(s(e, "recorded_at"))) }
                    td { (s(e, "actor")) }
                    td { (postings_summary(e)) }
                } } }
            } }
        }
        @if let Some(next) = &next_page {
            p { a href=(next) { (lang.t("下一页 →", "Next page →")) } }
        }
    };
    Ok(layout::answer(
        StatusCode::OK,
        layout::page(&caller, lang.t("账本", "Ledger"), body),
    ))
}

/// Checkpoints newest first: sequence (linked to its entry), head hash,
/// time and signing key.
fn checkpoint_table(lang: Lang, list: &Value) -> Markup {
    let rows = items(list, "checkpoints");
    html! {
        @if rows.is_empty() {
            p.empty { (lang.t("尚未签署检查点（服务每 1000 条或每 60 秒签署一次）。", "No checkpoint yet (the service signs one every 1,000 entries or 60 s).")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th.num { (lang.t("序号", "Sequence")) } th { (lang.t("链头哈希", "Head hash")) }
                    th { (lang.t("签署时间", "Signed at")) } th { (lang.t("密钥", "Key")) }
                } }
                tbody { @for c in rows { tr {
                    td.num { a href=(format!("/auditor/entries/{}", n(c, "sequence"))) { (n(c, "sequence")) } }
                    td { code { (s(c, "head_hash").get(..16).unwrap_or_default()) "…" } }
                    td { (layout::date_time(s(c, "signed_at"))) }
                    td { code { (s(c, "key_id")) } }
                } } }
            } }
        }
    }
}

#[derive(Deserialize)]
struct CheckpointQuery {
    before: Option<u64>,
}

async fn checkpoints(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<CheckpointQuery>,
) -> PageResult {
    layout::require(&caller, Role::Auditor)?;
    let lang = caller.lang;
    let before = query
        .before
        .map(|b| format!("&before={b}"))
        .unwrap_or_default();
    let list = api
        .get(
            &caller,
            &format!("/api/v1/ledger/checkpoints?limit=100{before}"),
        )
        .await
        .map_err(layout::read_failed(&caller))?;
    let body = html! {
        h1 { (lang.t("签名检查点", "Signed checkpoints")) }
        p.muted { (lang.t("每个检查点用账本签名密钥签署链头哈希；任何人可用公开的密钥核对。", "Each checkpoint signs the chain's head hash with the ledger key; anyone can check it with the published key.")) }
        (checkpoint_table(lang, &list))
        @if let Some(next) = list["next_before"].as_u64() {
            p { a href=(format!("/auditor/checkpoints?before={next}")) { (lang.t("更早 →", "Older →")) } }
        }
    };
    Ok(layout::answer(
        StatusCode::OK,
        layout::page(&caller, lang.t("检查点", "Checkpoints"), body),
    ))
}

fn verification_box(lang: Lang, result: &Result<Value, Refusal>) -> Markup {
    match result {
        Ok(v) if v["verified"].as_bool() == Some(true) => html! {
            p.notice.ok role="status" data-verified="true" {
                (lang.t("校验通过：", "Verified: ")) (lang.count(n(v, "entries"), "条分录", "entry", "entries")) (lang.t("，", ", "))
                (lang.count(n(v, "postings"), "笔记账", "posting", "postings")) (lang.t("，", ", "))
                (lang.count(n(v, "checkpoints"), "个检查点", "checkpoint", "checkpoints")) (lang.t("（", " ("))
                (n(v, "elapsed_ms")) " ms)"
            }
        },
        Ok(v) => html! {
            p.notice.error role="alert" data-verified="false" {
                (lang.t("校验失败", "Verification FAILED"))
                @if let Some(sequence) = v["failed_at_sequence"].as_u64() { (lang.t("，序号 ", " at sequence ")) (sequence) }
                "：" (s(v, "problem"))
            }
        },
        Err(refusal) => layout::refusal_box(lang, refusal),
    }
}

fn postings_summary(entry: &Value) -> Markup {
    html! {
        @for p in items(entry, "postings") {
            div { (s(p, "side")) " " (s(p, "account")) " " (yuan(n(p, "amount_fen"))) }
        }
    }
}

async fn entry(
    State(api): State<ApiClient>,
    caller: Caller,
    Path(sequence): Path<u64>,
) -> PageResult {
    layout::require(&caller, Role::Auditor)?;
    let lang = caller.lang;
    let e = api
        .get(&caller, &format!("/api/v1/ledger/entries/{sequence}"))
        .await
        .map_err(layout::read_failed(&caller))?;
    let body = html! {
        h1 { (lang.t("分录", "Entry")) " #" (sequence) " · " (kind_label(lang, s(&e, "kind"))) " (" code { (s(&e, "kind")) } ")" }
        section.card { dl.facts {
            dt { (lang.t("时间", "Recorded at")) } dd { (layout::date_time(s(&e, "recorded_at"))) }
            dt { (lang.t("操作人", "Actor")) } dd { (s(&e, "actor")) }
            dt { (lang.t("幂等键", "Idempotency key")) } dd { code { (s(&e, "idempotency_key")) } }
            dt { (lang.t("命令摘要", "Command digest")) } dd { code { (s(&e, "command_digest")) } }
            dt { (lang.t("前一哈希", "Previous hash")) } dd { code { (s(&e, "prev_hash")) } }
            dt { (lang.t("本条哈希", "Hash")) } dd { code { (s(&e, "hash")) } }
        } }
        h2 { (lang.t("记账", "Postings")) }
        @let postings = items(&e, "postings");
        @if postings.is_empty() {
            p.empty { (lang.t("此分录不涉及资金（如登录、登记变更）。", "This entry moves no money (e.g. a login or a registry change).")) }
        } @else {
            div.table-wrap { table {
                thead { tr { th { (lang.t("方向", "Side")) } th { (lang.t("账户", "Account")) } th.num { (lang.t("金额", "Amount")) } } }
                tbody { @for p in postings { tr {
                    td { (s(p, "side")) } td { code { (s(p, "account")) } } td.num { (yuan(n(p, "amount_fen"))) }
                } } }
            } }
        }
        h2 { (lang.t("规范化正文（protobuf，十六进制）", "Canonical body (protobuf, hex)")) }
        pre.card style="white-space:pre-wrap;word-break:break-all" { (s(&e, "body_hex")) }
        p {
            @if sequence > 1 { a href=(format!("/auditor/entries/{}", sequence - 1)) { (lang.t("← 上一条", "← Previous")) } " · " }
            a href=(format!("/auditor/entries/{}", sequence + 1)) { (lang.t("下一条 →", "Next →")) }
            " · " a href=(format!("/auditor?after={}", sequence.saturating_sub(1))) { (lang.t("回到列表", "Back to the list")) }
        }
    };
    Ok(layout::answer(
        StatusCode::OK,
        layout::page(&caller, lang.t("分录", "Entry"), body),
    ))
}

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
    /// Show entries after this sequence number.
    after: Option<u64>,
    /// `now`: verify the whole ledger before drawing the page.
    verify: Option<String>,
}

async fn ledger(
    State(api): State<ApiClient>,
    caller: Caller,
    Query(query): Query<LedgerQuery>,
) -> PageResult {
    layout::require(&caller, Role::Auditor)?;
    let lang = caller.lang;
    let failed = layout::read_failed(&caller);
    let after = query.after.unwrap_or(0);
    let entries = api
        .get(
            &caller,
            &format!("/api/v1/ledger/entries?after={after}&limit={ENTRIES_PER_PAGE}"),
        )
        .await
        .map_err(&failed)?;
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
        h2 { (lang.t("分录", "Entries")) }
        form.inline method="get" action="/auditor" {
            label for="after" { (lang.t("从序号之后开始：", "Start after sequence: ")) }
            input #after name="after" type="number" min="0" value=(after) style="width:8em";
            " " button.secondary type="submit" { (lang.t("跳转", "Go")) }
        }
        @let rows = items(&entries, "entries");
        @if rows.is_empty() {
            p.empty { (lang.t("此序号之后没有分录。", "No entries after this sequence.")) }
        } @else {
            div.table-wrap { table {
                thead { tr {
                    th.num { (lang.t("序号", "Seq.")) } th { (lang.t("类型", "Kind")) }
                    th { (lang.t("时间", "Recorded")) } th { (lang.t("操作人", "Actor")) }
                    th { (lang.t("记账", "Postings")) }
                } }
                tbody { @for e in rows { tr {
                    td.num { a href=(format!("/auditor/entries/{}", n(e, "sequence"))) { (n(e, "sequence")) } }
                    td { (s(e, "kind")) }
                    td { (layout::date_time(s(e, "recorded_at"))) }
                    td { (s(e, "actor")) }
                    td { (postings_summary(e)) }
                } } }
            } }
        }
        @if let Some(next) = entries["next_cursor"].as_u64() {
            p { a href=(format!("/auditor?after={next}")) { (lang.t("下一页 →", "Next page →")) } }
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
                (lang.t("校验通过：", "Verified: ")) (n(v, "entries")) (lang.t(" 条分录，", " entries, "))
                (n(v, "postings")) (lang.t(" 笔记账，", " postings, ")) (n(v, "checkpoints")) (lang.t(" 个检查点（", " checkpoints ("))
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
        h1 { (lang.t("分录", "Entry")) " #" (sequence) " · " (s(&e, "kind")) }
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

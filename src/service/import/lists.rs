//! Importing the lists that qualify enterprises: tags (e.g. the
//! province's 专精特新 library) and blacklist entries, checked row by row
//! and applied to registered parties.

use super::{ImportMode, ImportReport, Parsed, start_report, submit_rows};
use crate::domain::Uscc;
use crate::ledger::body::EntryKind;
use crate::service::commands::{BlacklistSpec, Command, PartyKind, TagSpec};
use crate::service::engine::WriterHandle;
pub use crate::service::import_table::RowError;
use crate::service::import_table::{ColumnSpec, map_columns, read_table};
use chrono::NaiveDate;
use uuid::Uuid;

/// Headers of a tag-list file (e.g. the province's 专精特新 library).
const TAG_COLUMNS: [ColumnSpec; 5] = [
    ("uscc", &["uscc", "统一社会信用代码"]),
    ("tag", &["tag", "标签", "名单"]),
    ("valid_from", &["valid_from", "起始日期", "认定日期"]),
    ("valid_until", &["valid_until", "截止日期", "有效期至"]),
    ("source", &["source", "来源", "文件"]),
];
const TAG_REQUIRED: [&str; 4] = ["uscc", "tag", "valid_from", "source"];

/// One valid tag row, before the enterprise is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub row: usize,
    pub uscc: Uscc,
    pub tag: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub source: String,
}

/// Reads and checks a tag-list file (CSV or XLSX): every problem by row and
/// column, nothing looked up yet.
pub fn parse_tag_file(bytes: &[u8]) -> Result<Parsed<TagRow>, Vec<RowError>> {
    let rows = map_columns(read_table(bytes)?, &TAG_COLUMNS, &TAG_REQUIRED)?;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    let mut fail = |row: usize, column: &str, code: &str, message: String, message_zh: String| {
        errors.push(RowError {
            row,
            column: column.into(),
            code: code.into(),
            message,
            message_zh,
        })
    };
    let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    for (row, fields) in rows {
        let get = |field: &str| {
            fields
                .get(field)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let uscc = Uscc::parse_lenient(&get("uscc"));
        if let Err(problem) = &uscc {
            fail(
                row,
                "uscc",
                problem.code(),
                format!("USCC: {problem}."),
                "统一社会信用代码无效。".into(),
            );
        }
        let tag = get("tag");
        if tag.is_empty() || tag.chars().count() > 100 {
            fail(
                row,
                "tag",
                "tag_invalid",
                "The tag is 1 to 100 characters.".into(),
                "标签须为 1 至 100 个字符。".into(),
            );
        }
        let valid_from = date(&get("valid_from"));
        if valid_from.is_none() {
            fail(
                row,
                "valid_from",
                "date_invalid",
                "valid_from is a date as YYYY-MM-DD.".into(),
                "起始日期须为 YYYY-MM-DD。".into(),
            );
        }
        let until_text = get("valid_until");
        let valid_until = if until_text.is_empty() {
            Some(None)
        } else {
            date(&until_text).map(Some)
        };
        if valid_until.is_none() {
            fail(
                row,
                "valid_until",
                "date_invalid",
                "valid_until is a date as YYYY-MM-DD, or empty.".into(),
                "截止日期须为 YYYY-MM-DD 或留空。".into(),
            );
        }
        let source = get("source");
        if source.is_empty() || source.chars().count() > 200 {
            fail(
                row,
                "source",
                "source_invalid",
                "The source is 1 to 200 characters.".into(),
                "来源须为 1 至 200 个字符。".into(),
            );
        }
        if let (Ok(uscc), Some(valid_from), Some(valid_until)) = (uscc, valid_from, valid_until) {
            if valid_until.is_some_and(|until| until < valid_from) {
                fail(
                    row,
                    "valid_until",
                    "dates_reversed",
                    "valid_until is before valid_from.".into(),
                    "截止日期早于起始日期。".into(),
                );
            } else if !tag.is_empty() && !source.is_empty() {
                valid.push(TagRow {
                    row,
                    uscc,
                    tag,
                    valid_from,
                    valid_until,
                    source,
                });
            }
        }
    }
    Ok(Parsed {
        rows: valid,
        errors,
    })
}

/// Applies checked tag rows: each names a registered enterprise (else a
/// row error `enterprise_unknown`); a tag already present is unchanged.
pub async fn import_tags<S: crate::store::Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    key_prefix: &str,
    parsed: Parsed<TagRow>,
    mode: ImportMode,
) -> Result<ImportReport, crate::store::StoreError> {
    let (mut report, rows) = start_report(parsed, mode);
    let mut ready = Vec::new();
    for row in rows {
        match store.enterprise_by_uscc(row.uscc.as_str()).await? {
            Some(enterprise) => ready.push((row, enterprise.id)),
            None => report.errors.push(RowError {
                row: row.row,
                column: "uscc".into(),
                code: "enterprise_unknown".into(),
                message: format!("No registered enterprise has USCC {}.", row.uscc),
                message_zh: format!("统一社会信用代码 {} 对应的企业尚未登记。", row.uscc),
            }),
        }
    }
    if mode == ImportMode::AllOrNothing && !report.errors.is_empty() {
        return Ok(report);
    }
    let commands = ready
        .into_iter()
        .map(|(row, enterprise_id)| {
            let spec = TagSpec {
                enterprise_id,
                tag: row.tag,
                valid_from: row.valid_from,
                valid_until: row.valid_until,
                source: row.source,
            };
            (row.row, Command::TagEnterprise(spec))
        })
        .collect();
    submit_rows(
        writer,
        actor,
        key_prefix,
        commands,
        &mut report,
        EntryKind::EnterpriseTagged,
    )
    .await;
    Ok(report)
}

/// Headers of a blacklist file.
const BLACKLIST_COLUMNS: [ColumnSpec; 6] = [
    ("uscc", &["uscc", "统一社会信用代码"]),
    ("party_kind", &["party_kind", "类型"]),
    ("reason", &["reason", "原因"]),
    ("source", &["source", "来源"]),
    ("effective_from", &["effective_from", "生效日期"]),
    ("effective_until", &["effective_until", "失效日期"]),
];
const BLACKLIST_REQUIRED: [&str; 5] = ["uscc", "party_kind", "reason", "source", "effective_from"];

/// One checked blacklist row, before the party is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlacklistRow {
    pub row: usize,
    pub uscc: Uscc,
    pub party_kind: PartyKind,
    pub reason: String,
    pub source: String,
    pub effective_from: NaiveDate,
    pub effective_until: Option<NaiveDate>,
}

/// Reads and checks a blacklist file (CSV or XLSX).
pub fn parse_blacklist_file(bytes: &[u8]) -> Result<Parsed<BlacklistRow>, Vec<RowError>> {
    let rows = map_columns(read_table(bytes)?, &BLACKLIST_COLUMNS, &BLACKLIST_REQUIRED)?;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
    for (row, fields) in rows {
        let get = |field: &str| {
            fields
                .get(field)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let mut fail = |column: &str, code: &str, message: &str, message_zh: &str| {
            errors.push(RowError {
                row,
                column: column.into(),
                code: code.into(),
                message: message.into(),
                message_zh: message_zh.into(),
            })
        };
        let uscc = Uscc::parse_lenient(&get("uscc"));
        if uscc.is_err() {
            fail(
                "uscc",
                "uscc_invalid",
                "The USCC is not valid.",
                "统一社会信用代码无效。",
            );
        }
        let party_kind = match get("party_kind").as_str() {
            "enterprise" | "企业" => Some(PartyKind::Enterprise),
            "provider" | "服务机构" => Some(PartyKind::Provider),
            _ => None,
        };
        if party_kind.is_none() {
            fail(
                "party_kind",
                "party_kind_invalid",
                "The type is enterprise (企业) or provider (服务机构).",
                "类型须为企业或服务机构。",
            );
        }
        let (reason, source) = (get("reason"), get("source"));
        if reason.is_empty() || source.is_empty() {
            fail(
                "reason",
                "text_required",
                "The reason and the source are required.",
                "原因和来源必填。",
            );
        }
        let from = date(&get("effective_from"));
        if from.is_none() {
            fail(
                "effective_from",
                "date_invalid",
                "effective_from is a date as YYYY-MM-DD.",
                "生效日期须为 YYYY-MM-DD。",
            );
        }
        let until_text = get("effective_until");
        let until = if until_text.is_empty() {
            Some(None)
        } else {
            date(&until_text).map(Some)
        };
        if until.is_none() {
            fail(
                "effective_until",
                "date_invalid",
                "effective_until is a date as YYYY-MM-DD, or empty.",
                "失效日期须为 YYYY-MM-DD 或留空。",
            );
        }
        if let (Ok(uscc), Some(party_kind), Some(effective_from), Some(effective_until)) =
            (uscc, party_kind, from, until)
            && !reason.is_empty()
            && !source.is_empty()
        {
            valid.push(BlacklistRow {
                row,
                uscc,
                party_kind,
                reason,
                source,
                effective_from,
                effective_until,
            });
        }
    }
    Ok(Parsed {
        rows: valid,
        errors,
    })
}

/// Applies blacklist rows: each names a registered enterprise or provider
/// (else `party_unknown`); an identical entry already present is unchanged.
pub async fn import_blacklist<S: crate::store::Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    key_prefix: &str,
    parsed: Parsed<BlacklistRow>,
    mode: ImportMode,
) -> Result<ImportReport, crate::store::StoreError> {
    let (mut report, rows) = start_report(parsed, mode);
    let mut ready = Vec::new();
    for row in rows {
        let party = match row.party_kind {
            PartyKind::Enterprise => store
                .enterprise_by_uscc(row.uscc.as_str())
                .await?
                .map(|e| e.id),
            PartyKind::Provider => store
                .provider_by_uscc(row.uscc.as_str())
                .await?
                .map(|p| p.id),
        };
        match party {
            Some(party_id) => ready.push((row, party_id)),
            None => report.errors.push(RowError {
                row: row.row,
                column: "uscc".into(),
                code: "party_unknown".into(),
                message: format!(
                    "No registered {} has USCC {}.",
                    row.party_kind.as_str(),
                    row.uscc
                ),
                message_zh: format!("统一社会信用代码 {} 对应的主体尚未登记。", row.uscc),
            }),
        }
    }
    if mode == ImportMode::AllOrNothing && !report.errors.is_empty() {
        return Ok(report);
    }
    let commands = ready
        .into_iter()
        .map(|(row, party_id)| {
            let spec = BlacklistSpec {
                entry_id: Uuid::now_v7(),
                party_kind: row.party_kind,
                party_id,
                reason: row.reason,
                source: row.source,
                effective_from: row.effective_from,
                effective_until: row.effective_until,
            };
            (row.row, Command::BlacklistParty(spec))
        })
        .collect();
    submit_rows(
        writer,
        actor,
        key_prefix,
        commands,
        &mut report,
        EntryKind::PartyBlacklisted,
    )
    .await;
    Ok(report)
}

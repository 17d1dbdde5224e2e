//! Registry use cases: record one enterprise, import many from a file.
//!
//! Import validates every row before anything is written, and reports each
//! problem by row, column and reason. In `AllOrNothing` mode one bad row
//! stops the whole file; in `ValidRows` mode the good rows go in. Rows are
//! upserts by USCC and an unchanged row records nothing, so importing the
//! same file twice changes nothing the second time.

use crate::service::commands::{RecordEnterprise, RecordProvider};
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::enterprise::{EnterpriseFields, FieldError};
use crate::ledger::body::EntryKind;

use super::commands::{BlacklistSpec, Command, PartyKind, Submission, TagSpec};
use super::engine::{CommandError, WriterHandle};
use crate::domain::provider::{ProviderFields, ProviderInput};
use crate::domain::{DivisionCode, Uscc};

/// Submissions in flight at once: enough to fill the writer's batches.
const IMPORT_IN_FLIGHT_MAX: usize = 512;

/// Spreadsheet headers accepted for each field (English code, Chinese name).
const COLUMNS: [ColumnSpec; 9] = [
    ("uscc", &["uscc", "统一社会信用代码"]),
    ("name", &["name", "企业名称", "名称"]),
    ("division", &["division", "行政区划代码", "区划代码"]),
    ("zone", &["zone", "功能区"]),
    ("sector", &["sector", "行业"]),
    ("staff", &["staff", "从业人员", "从业人数"]),
    (
        "revenue",
        &["revenue", "营业收入", "营业收入(元)", "营业收入（元）"],
    ),
    ("contact", &["contact", "联系人", "联系方式"]),
    (
        "legal_representative",
        &["legal_representative", "法定代表人"],
    ),
];
const REQUIRED_COLUMNS: [&str; 6] = ["uscc", "name", "division", "sector", "staff", "revenue"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    AllOrNothing,
    ValidRows,
}

use super::import_table::{ColumnSpec, Table, map_columns, read_table};
pub use super::import_table::{IMPORT_ROWS_MAX, RowError};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Whether any row was written (false in AllOrNothing mode with errors).
    pub applied: bool,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    /// A report for a file that could not be read at all.
    pub fn file_errors(errors: Vec<RowError>) -> ImportReport {
        ImportReport {
            errors,
            ..ImportReport::default()
        }
    }

    /// The errors as CSV (row, column, code, message, message_zh), for a
    /// clerk to open next to the original file.
    pub fn errors_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(["row", "column", "code", "message", "message_zh"]);
        for e in &self.errors {
            // Columns and messages can quote the file's own cells.
            let _ = writer.write_record(crate::domain::csv_cell::neutralise_all([
                &e.row.to_string(),
                &e.column,
                &e.code,
                &e.message,
                &e.message_zh,
            ]));
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// Reads an enterprise file — CSV (UTF-8, with or without BOM) or XLSX
/// (first worksheet), told apart by content — into field rows, or reports
/// why it cannot. Both formats go through the same column mapping, so they
/// give identical results.
pub fn parse_enterprise_file(
    bytes: &[u8],
) -> Result<Vec<(usize, EnterpriseFields)>, Vec<RowError>> {
    enterprise_rows(read_table(bytes)?)
}

fn enterprise_rows(table: Table) -> Result<Vec<(usize, EnterpriseFields)>, Vec<RowError>> {
    let rows = map_columns(table, &COLUMNS, &REQUIRED_COLUMNS)?;
    Ok(rows
        .into_iter()
        .map(|(row, mut fields)| {
            let mut take = |field: &str| fields.remove(field).unwrap_or_default();
            (
                row,
                EnterpriseFields {
                    uscc: take("uscc"),
                    name: take("name"),
                    division: take("division"),
                    zone: take("zone"),
                    sector: take("sector"),
                    staff: take("staff"),
                    revenue_yuan: take("revenue"),
                    contact: take("contact"),
                    legal_representative: take("legal_representative"),
                },
            )
        })
        .collect())
}

fn row_errors(row: usize, errors: Vec<FieldError>) -> impl Iterator<Item = RowError> {
    errors.into_iter().map(move |e| RowError {
        row,
        column: e.field.to_string(),
        code: e.code.to_string(),
        message: e.message,
        message_zh: e.message_zh,
    })
}

/// How to validate and apply an enterprise import.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub mode: ImportMode,
    /// The day (UTC+8) whose size standard applies.
    pub today: NaiveDate,
    /// Defined zones and their parent divisions.
    pub zones: BTreeMap<String, DivisionCode>,
}

/// Validates and applies `rows`. Ledger keys are `{key_prefix}:{row}`, so a
/// retry of the same import request replays rather than repeats.
pub async fn import_enterprises(
    writer: &WriterHandle,
    actor: &str,
    key_prefix: &str,
    rows: Vec<(usize, EnterpriseFields)>,
    settings: &ImportSettings,
    progress: impl Fn(usize, usize),
) -> ImportReport {
    let ImportSettings { mode, today, zones } = settings;
    let (mode, today) = (*mode, *today);
    let mut report = ImportReport {
        rows: rows.len(),
        ..ImportReport::default()
    };
    let mut valid = Vec::with_capacity(rows.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, fields) in rows {
        match fields.validate(None, today, zones) {
            Ok(input) => match seen.insert(input.uscc.code().to_string(), row) {
                Some(first) => report.errors.push(RowError {
                    row,
                    column: "uscc".into(),
                    code: "duplicate_in_file".into(),
                    message: format!("This USCC already appears in row {first}."),
                    message_zh: format!("该统一社会信用代码与第 {first} 行重复。"),
                }),
                None => valid.push((row, input)),
            },
            Err(errors) => report.errors.extend(row_errors(row, errors)),
        }
    }
    if mode == ImportMode::AllOrNothing && !report.errors.is_empty() {
        return report;
    }
    report.applied = !valid.is_empty();
    let jobs = valid
        .into_iter()
        .map(|(row, input)| {
            let submission = Submission {
                actor: actor.to_string(),
                idempotency_key: format!("{key_prefix}:{row}"),
                command: Command::RecordEnterprise(RecordEnterprise {
                    enterprise_id: Uuid::now_v7(),
                    input,
                }),
            };
            (row, submission)
        })
        .collect();
    let results = super::fan_out::submit_all(writer, jobs, IMPORT_IN_FLIGHT_MAX, progress).await;
    for (row, result) in results {
        match result {
            Ok(receipt) if receipt.replayed => report.unchanged += 1,
            Ok(receipt) if receipt.kind == Some(EntryKind::EnterpriseRegistered) => {
                report.created += 1
            }
            Ok(_) => report.updated += 1,
            Err(CommandError::Unchanged { .. }) => report.unchanged += 1,
            Err(error) => report.errors.push(RowError {
                row,
                column: String::new(),
                code: error.code().to_string(),
                message: error.to_string(),
                message_zh: "该行未能写入，请稍后重试。".into(),
            }),
        }
    }
    report.errors.sort_by_key(|e| e.row);
    report
}

/// A file's valid rows and its row errors (file-level problems, such as a
/// missing column, are returned as `Err` instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub errors: Vec<RowError>,
}

/// Starts a report for a parsed file; in `AllOrNothing` mode with row
/// errors, the rows are dropped (nothing will be written).
fn start_report<T>(parsed: Parsed<T>, mode: ImportMode) -> (ImportReport, Vec<T>) {
    let report = ImportReport {
        rows: parsed.rows.len() + parsed.errors.len(),
        errors: parsed.errors,
        ..ImportReport::default()
    };
    let rows = if mode == ImportMode::AllOrNothing && !report.errors.is_empty() {
        Vec::new()
    } else {
        parsed.rows
    };
    (report, rows)
}

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

/// The defined zones and their parent divisions, for validation.
pub async fn zone_map<S: crate::store::Store>(
    store: &S,
) -> Result<BTreeMap<String, DivisionCode>, crate::store::StoreError> {
    Ok(store
        .zones()
        .await?
        .into_iter()
        .filter_map(|(name, division)| DivisionCode::parse(&division).ok().map(|d| (name, d)))
        .collect())
}

/// Headers of a provider file. Categories are separated by 、 or ;.
/// Related parties are declared through the API, not in flat files.
const PROVIDER_COLUMNS: [ColumnSpec; 8] = [
    ("uscc", &["uscc", "统一社会信用代码"]),
    ("name", &["name", "机构名称", "名称"]),
    (
        "legal_representative",
        &["legal_representative", "法定代表人"],
    ),
    ("categories", &["categories", "服务类别"]),
    ("bank_name", &["bank_name", "开户银行"]),
    ("account_name", &["account_name", "户名"]),
    ("account_number", &["account_number", "账号"]),
    (
        "annual_cap",
        &["annual_cap", "年度结算上限", "年度结算上限(元)"],
    ),
];

/// Reads and validates a provider file (CSV or XLSX).
pub fn parse_provider_file(bytes: &[u8]) -> Result<Parsed<(usize, ProviderInput)>, Vec<RowError>> {
    let rows = map_columns(
        read_table(bytes)?,
        &PROVIDER_COLUMNS,
        &PROVIDER_COLUMNS.map(|(field, _)| field),
    )?;
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, mut fields) in rows {
        let mut take = |field: &str| fields.remove(field).unwrap_or_default();
        let fields = ProviderFields {
            uscc: take("uscc"),
            name: take("name"),
            legal_representative: take("legal_representative"),
            categories: take("categories")
                .split(['、', ';', '；'])
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            bank_name: take("bank_name"),
            account_name: take("account_name"),
            account_number: take("account_number"),
            related_parties: Vec::new(),
            annual_cap_yuan: take("annual_cap"),
        };
        match fields.validate() {
            Ok(input) => match seen.insert(input.uscc.to_string(), row) {
                Some(first) => errors.push(duplicate_row(row, first)),
                None => valid.push((row, input)),
            },
            Err(problems) => errors.extend(problems.into_iter().map(|e| RowError {
                row,
                column: e.field.to_string(),
                code: format!("{}_invalid", e.field),
                message: e.message,
                message_zh: e.message_zh,
            })),
        }
    }
    Ok(Parsed {
        rows: valid,
        errors,
    })
}

fn duplicate_row(row: usize, first: usize) -> RowError {
    RowError {
        row,
        column: "uscc".into(),
        code: "duplicate_in_file".into(),
        message: format!("This USCC already appears in row {first}."),
        message_zh: format!("该统一社会信用代码与第 {first} 行重复。"),
    }
}

/// Applies validated provider rows (upserts by USCC; new ones are `applied`).
pub async fn import_providers(
    writer: &WriterHandle,
    actor: &str,
    key_prefix: &str,
    parsed: Parsed<(usize, ProviderInput)>,
    mode: ImportMode,
) -> ImportReport {
    let (mut report, rows) = start_report(parsed, mode);
    let commands = rows
        .into_iter()
        .map(|(row, input)| {
            let command = Command::RecordProvider(RecordProvider {
                provider_id: Uuid::now_v7(),
                input,
            });
            (row, command)
        })
        .collect();
    submit_rows(
        writer,
        actor,
        key_prefix,
        commands,
        &mut report,
        EntryKind::ProviderRegistered,
    )
    .await;
    report
}

/// Submits one command per row (ledger key `{key_prefix}:{row}`) and counts
/// the outcomes into `report`; `created_kind` is the entry kind that means
/// "new" (any other accepted kind is an update).
async fn submit_rows(
    writer: &WriterHandle,
    actor: &str,
    key_prefix: &str,
    commands: Vec<(usize, Command)>,
    report: &mut ImportReport,
    created_kind: EntryKind,
) {
    report.applied = !commands.is_empty();
    for (row, command) in commands {
        let submission = Submission {
            actor: actor.to_string(),
            idempotency_key: format!("{key_prefix}:{row}"),
            command,
        };
        let result = writer.submit(submission).await;
        count(report, row, result, created_kind);
    }
}

/// Adds one submission's outcome to a report.
fn count(
    report: &mut ImportReport,
    row: usize,
    result: Result<super::engine::Receipt, CommandError>,
    created_kind: EntryKind,
) {
    match result {
        Ok(receipt) if receipt.replayed => report.unchanged += 1,
        Ok(receipt) if receipt.kind == Some(created_kind) => report.created += 1,
        Ok(_) => report.updated += 1,
        Err(CommandError::Unchanged { .. }) => report.unchanged += 1,
        Err(error) => report.errors.push(RowError {
            row,
            column: String::new(),
            code: error.code().to_string(),
            message: error.to_string(),
            message_zh: "该行未能写入，请稍后重试。".into(),
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_wider_than_the_column_limit_refuses_the_file() {
        let wide = vec!["x"; super::super::spreadsheet::COLUMNS_MAX as usize + 1].join(",");
        let errors = parse_enterprise_file(format!("uscc,name\n{wide}\n").as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "too_many_columns");
        let fits = vec!["x"; super::super::spreadsheet::COLUMNS_MAX as usize].join(",");
        let errors = parse_enterprise_file(format!("{fits}\n").as_bytes()).unwrap_err();
        assert_ne!(errors[0].code, "too_many_columns");
    }
}

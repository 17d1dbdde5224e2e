//! Importing enterprises: the file's columns, each row validated as the
//! API validates one enterprise, then recorded (upserts by USCC).

use super::{IMPORT_IN_FLIGHT_MAX, ImportMode, ImportReport};
use crate::domain::DivisionCode;
use crate::domain::enterprise::{EnterpriseFields, FieldError};
use crate::ledger::body::EntryKind;
use crate::service::commands::RecordEnterprise;
use crate::service::commands::{Command, Submission};
use crate::service::engine::WriterHandle;
pub use crate::service::import_table::RowError;
use crate::service::import_table::{ColumnSpec, Table, map_columns, read_table};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

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

impl ImportSettings {
    /// All rows or none, on `today`, with no zones defined (generated
    /// firms: the demo, benchmarks and tests).
    pub fn all_or_nothing(today: NaiveDate) -> ImportSettings {
        ImportSettings {
            mode: ImportMode::AllOrNothing,
            today,
            zones: BTreeMap::new(),
        }
    }
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
    let results =
        crate::service::fan_out::submit_all(writer, jobs, IMPORT_IN_FLIGHT_MAX, progress).await;
    for (row, result) in results {
        super::count(&mut report, row, result, EntryKind::EnterpriseRegistered);
    }
    report.errors.sort_by_key(|e| e.row);
    report
}

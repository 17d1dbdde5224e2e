//! Registry imports: files of many rows (CSV or XLSX) validated before
//! anything is written and reported by row, column and reason. In
//! `AllOrNothing` mode one bad row stops the whole file; in `ValidRows`
//! mode the good rows go in. Rows are upserts, and an unchanged row records
//! nothing, so importing the same file twice changes nothing the second
//! time. One file per kind: `enterprises`, `providers`, `lists` (tags and
//! the blacklist).

mod enterprises;
mod lists;
mod providers;

pub use enterprises::{ImportSettings, import_enterprises, parse_enterprise_file};
pub use lists::{
    BlacklistRow, TagRow, import_blacklist, import_tags, parse_blacklist_file, parse_tag_file,
};
pub use providers::{import_providers, parse_provider_file};

use crate::domain::DivisionCode;
use crate::ledger::body::EntryKind;
use crate::service::commands::{Command, Submission};
use crate::service::engine::{CommandError, WriterHandle};
pub use crate::service::import_table::{IMPORT_ROWS_MAX, RowError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Submissions in flight at once: enough to fill the writer's batches.
pub(super) const IMPORT_IN_FLIGHT_MAX: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    AllOrNothing,
    ValidRows,
}

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

/// A file's valid rows and its row errors (file-level problems, such as a
/// missing column, are returned as `Err` instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub errors: Vec<RowError>,
}

/// Starts a report for a parsed file; in `AllOrNothing` mode with row
/// errors, the rows are dropped (nothing will be written).
pub(super) fn start_report<T>(parsed: Parsed<T>, mode: ImportMode) -> (ImportReport, Vec<T>) {
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

pub(super) fn duplicate_row(row: usize, first: usize) -> RowError {
    RowError {
        row,
        column: "uscc".into(),
        code: "duplicate_in_file".into(),
        message: format!("This USCC already appears in row {first}."),
        message_zh: format!("该统一社会信用代码与第 {first} 行重复。"),
    }
}

/// Submits one command per row (ledger key `{key_prefix}:{row}`) and counts
/// the outcomes into `report`; `created_kind` is the entry kind that means
/// "new" (any other accepted kind is an update).
pub(super) async fn submit_rows(
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
pub(super) fn count(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_row_wider_than_the_column_limit_refuses_the_file() {
        let wide = vec!["x"; crate::service::spreadsheet::COLUMNS_MAX as usize + 1].join(",");
        let errors = parse_enterprise_file(format!("uscc,name\n{wide}\n").as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "too_many_columns");
        let fits = vec!["x"; crate::service::spreadsheet::COLUMNS_MAX as usize].join(",");
        let errors = parse_enterprise_file(format!("{fits}\n").as_bytes()).unwrap_err();
        assert_ne!(errors[0].code, "too_many_columns");
    }
}

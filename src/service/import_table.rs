//! Reading an import file into rows of text cells, whatever its format:
//! CSV (UTF-8, with or without a BOM) or XLSX (first worksheet, read within
//! the bounds of `service::spreadsheet`), told apart by content; every cell
//! through the API's text rule; the header row mapped onto the fields an
//! import knows. The registry imports (`service::registry`) validate the
//! rows; this module only reads them.

use std::collections::HashMap;

use serde::Serialize;

/// Most rows in one import file.
pub const IMPORT_ROWS_MAX: usize = 200_000;

/// One problem in an import file. `row` counts lines as a spreadsheet
/// shows them: the header is row 1, the first data row is row 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
}

fn file_error(code: &str, column: &str, message: String, message_zh: String) -> RowError {
    RowError {
        row: 1,
        column: column.to_string(),
        code: code.to_string(),
        message,
        message_zh,
    }
}

/// Columns an export writes that an import accepts and ignores (derived
/// or assigned by the system), so that an export re-imports unchanged.
const IGNORED_COLUMNS: [&str; 5] = [
    "id",
    "size_class",
    "size_standard",
    "version",
    "uscc_override",
];

/// A sheet of text cells, header row first.
pub(super) type Table = Vec<Vec<String>>;

fn csv_table(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut table = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        if table.len() > IMPORT_ROWS_MAX {
            return Err(vec![too_many_rows(row)]);
        }
        let record = record.map_err(|e| {
            vec![RowError {
                row,
                column: String::new(),
                code: "csv_unreadable".into(),
                message: format!("Row {row} is not readable CSV: {e}."),
                message_zh: format!("第 {row} 行不是可读的 CSV。"),
            }]
        })?;
        if record.len() > super::spreadsheet::COLUMNS_MAX as usize {
            return Err(refused(
                super::spreadsheet::WorkbookRefusal::TooManyColumns {
                    columns: record.len() as u64,
                },
            ));
        }
        // Cells our exports neutralised against formulas read back as
        // they were (domain::csv_cell).
        table.push(
            record
                .iter()
                .map(|cell| crate::domain::csv_cell::restore(cell).to_string())
                .collect(),
        );
    }
    Ok(table)
}

fn xlsx_table(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    let rows_max = u32::try_from(IMPORT_ROWS_MAX + 1).expect("the row limit fits in u32");
    super::spreadsheet::first_sheet(bytes, rows_max).map_err(refused)
}

/// A file refused as a whole by the bounds of `service::spreadsheet`.
fn refused(refusal: super::spreadsheet::WorkbookRefusal) -> Vec<RowError> {
    vec![file_error(
        refusal.code(),
        "",
        format!("{refusal}."),
        refusal.message_zh(),
    )]
}

fn too_many_rows(row: usize) -> RowError {
    RowError {
        row,
        column: String::new(),
        code: "too_many_rows".into(),
        message: format!("A file holds at most {IMPORT_ROWS_MAX} rows; split it."),
        message_zh: format!("单个文件最多 {IMPORT_ROWS_MAX} 行，请拆分。"),
    }
}

/// A column an import knows: its field name and the headers that mean it.
pub(super) type ColumnSpec = (&'static str, &'static [&'static str]);

/// A data row by field name, with its spreadsheet row number.
type MappedRow = (usize, HashMap<&'static str, String>);

/// Maps a table's header row onto `columns` and yields each non-blank data
/// row as (spreadsheet row number, field → text).
pub(super) fn map_columns(
    table: Table,
    columns: &[ColumnSpec],
    required: &[&str],
) -> Result<Vec<MappedRow>, Vec<RowError>> {
    let mut rows_iter = table.into_iter();
    let Some(headers) = rows_iter.next() else {
        return Err(vec![file_error(
            "empty_file",
            "",
            "The file is empty.".into(),
            "文件为空。".into(),
        )]);
    };
    let mut positions: Vec<(&'static str, usize)> = Vec::new();
    let mut errors = Vec::new();
    for (index, header) in headers.iter().enumerate() {
        let header = header.trim();
        if IGNORED_COLUMNS.contains(&header) {
            continue;
        }
        match columns.iter().find(|(_, names)| names.contains(&header)) {
            Some((field, _)) => positions.push((field, index)),
            None => errors.push(file_error(
                "unknown_column",
                header,
                format!("Column {header:?} is not one this import knows."),
                format!("无法识别的列「{header}」。"),
            )),
        }
    }
    for required in required {
        if !positions.iter().any(|(field, _)| field == required) {
            errors.push(file_error(
                "missing_column",
                required,
                format!("The file has no {required} column."),
                format!("文件缺少「{required}」列。"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(rows_iter
        .enumerate()
        // Entirely blank lines (common at the end of spreadsheets) are skipped.
        .filter(|(_, record)| !record.iter().all(|cell| cell.trim().is_empty()))
        .map(|(index, record)| {
            let fields = positions
                .iter()
                .map(|(field, position)| {
                    (*field, record.get(*position).cloned().unwrap_or_default())
                })
                .collect();
            (index + 2, fields)
        })
        .collect())
}

pub(super) fn read_table(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    let table = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_table(bytes)?
    } else {
        csv_table(bytes)?
    };
    text_rule(table)
}

/// Most text-rule errors one file reports.
const TEXT_ERRORS_MAX: usize = 100;

/// Applies the API's text rule (`domain::text`) to every cell: a control
/// or disguising format character anywhere refuses the file, naming each
/// cell (at most `TEXT_ERRORS_MAX`); a cell with nothing visible reads as
/// empty, so each field's own "required" check applies.
fn text_rule(mut table: Table) -> Result<Table, Vec<RowError>> {
    use crate::domain::text::{TextShape, accept, check};
    // Headers name columns in errors only when they are printable.
    let headers: Vec<String> = table
        .first()
        .map(|row| {
            row.iter()
                .map(|h| match check(h, TextShape::Line) {
                    Ok(()) => h.clone(),
                    Err(_) => String::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut errors = Vec::new();
    for (index, record) in table.iter_mut().enumerate() {
        for (position, cell) in record.iter_mut().enumerate() {
            match accept(cell, TextShape::Line) {
                Ok(Some(stored)) => *cell = stored,
                Ok(None) => {}
                Err(fault) if errors.len() < TEXT_ERRORS_MAX => {
                    let column = headers.get(position).cloned().unwrap_or_default();
                    let (message, message_zh) = fault.messages(&format!("Column {}", position + 1));
                    errors.push(RowError {
                        row: index + 1,
                        column,
                        code: fault.code().to_string(),
                        message,
                        message_zh,
                    });
                }
                Err(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

//! Reading an uploaded XLSX workbook within bounds decided before anything
//! is allocated for it.
//!
//! An XLSX file is a zip archive, and its size says little about what it
//! unpacks to: a 1.6 KB workbook whose only cells are A1 and XFD1048576
//! makes a naive reader allocate rows × columns (17 billion cells), and a
//! 1 MiB deflate bomb unpacks to gigabytes. So, in order:
//!
//! 1. the archive: at most `MEMBERS_MAX` members; each member's declared
//!    size within its limit (`SHEET_BYTES_MAX` for worksheets, which are
//!    streamed; `PART_BYTES_MAX` for the parts the reader holds in memory,
//!    such as the shared strings) and its compression ratio at most
//!    `RATIO_MAX`; then every member is unpacked into nothing to prove its
//!    declared size true (a member that unpacks past it is a lie);
//! 2. the first worksheet's declared dimensions: at most `rows_max` rows
//!    and `COLUMNS_MAX` columns;
//! 3. its cells, one at a time (calamine's cell reader, not a range the
//!    size of the bounding box): a cell beyond those bounds refuses the
//!    file, and the whole read must finish within `TIME_BUDGET`.
//!
//! Memory is then bounded by the cells actually present. Callers run this
//! on a blocking thread (`tokio::task::spawn_blocking`), so a request's
//! timeout still answers while it runs.

use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

/// Most members in one workbook archive (a workbook has about a dozen).
pub const MEMBERS_MAX: usize = 256;
/// Most bytes a worksheet may unpack to (it is streamed, never held).
pub const SHEET_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Most bytes any other member may unpack to (shared strings, styles and
/// the workbook are held in memory while the sheet is read).
pub const PART_BYTES_MAX: u64 = 32 * 1024 * 1024;
/// Highest compression ratio for a member larger than `RATIO_FREE_BYTES`
/// (spreadsheet XML compresses 5–30 times; deflate tops out near 1,032).
pub const RATIO_MAX: u64 = 200;
/// Members below this size may have any ratio (tiny parts compress oddly).
const RATIO_FREE_BYTES: u64 = 1024 * 1024;
/// Most columns an import reads (the widest import has a dozen).
pub const COLUMNS_MAX: u32 = 64;
/// Longest a workbook may take to read.
pub const TIME_BUDGET: Duration = Duration::from_secs(20);

/// Why a workbook was refused, with its stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkbookRefusal {
    #[error("The file is not a readable XLSX workbook: {0}")]
    Unreadable(String),
    #[error("The archive holds {0} members; a workbook holds at most {MEMBERS_MAX}")]
    TooManyMembers(usize),
    #[error("Member {name} unpacks to more than its limit of {limit} bytes")]
    MemberTooLarge { name: String, limit: u64 },
    #[error("Member {name} is compressed more than {RATIO_MAX} to 1: a compression bomb")]
    CompressionRatio { name: String },
    #[error("The file has {rows} rows; an import holds at most {max}")]
    TooManyRows { rows: u64, max: u64 },
    #[error("The file has {columns} columns; an import reads at most {COLUMNS_MAX}")]
    TooManyColumns { columns: u64 },
    #[error("The workbook took longer than {} s to read", TIME_BUDGET.as_secs())]
    TooSlow,
}

impl WorkbookRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            WorkbookRefusal::Unreadable(_) => "xlsx_unreadable",
            WorkbookRefusal::TooManyMembers(_)
            | WorkbookRefusal::MemberTooLarge { .. }
            | WorkbookRefusal::CompressionRatio { .. } => "xlsx_too_large",
            WorkbookRefusal::TooManyRows { .. } => "too_many_rows",
            WorkbookRefusal::TooManyColumns { .. } => "too_many_columns",
            WorkbookRefusal::TooSlow => "xlsx_too_slow",
        }
    }

    /// The refusal in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            WorkbookRefusal::Unreadable(_) => "文件不是可读的 XLSX 工作簿。".into(),
            WorkbookRefusal::TooManyMembers(_)
            | WorkbookRefusal::MemberTooLarge { .. }
            | WorkbookRefusal::CompressionRatio { .. } => {
                "工作簿解压后过大（或为压缩炸弹），请另存为普通 XLSX 或 CSV 后再导入。".into()
            }
            WorkbookRefusal::TooManyRows { max, .. } => {
                format!("单个文件最多 {max} 行，请拆分。")
            }
            WorkbookRefusal::TooManyColumns { .. } => {
                format!("导入文件最多读取 {COLUMNS_MAX} 列，请删除多余的列。")
            }
            WorkbookRefusal::TooSlow => "工作簿读取超时，请拆分后再导入。".into(),
        }
    }
}

/// The first worksheet as rows of text cells (header row first), with at
/// most `rows_max` rows.
pub fn first_sheet(bytes: &[u8], rows_max: u32) -> Result<Vec<Vec<String>>, WorkbookRefusal> {
    let started = Instant::now();
    check_archive(bytes)?;
    read_cells(bytes, rows_max, started)
}

fn unreadable(error: impl std::fmt::Display) -> WorkbookRefusal {
    WorkbookRefusal::Unreadable(error.to_string())
}

/// Step 1: the members' declared sizes and ratios, then their true sizes.
fn check_archive(bytes: &[u8]) -> Result<(), WorkbookRefusal> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    if archive.len() > MEMBERS_MAX {
        return Err(WorkbookRefusal::TooManyMembers(archive.len()));
    }
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(unreadable)?;
        let name = member.name().map_err(unreadable)?.to_string();
        let limit = if name.starts_with("xl/worksheets/") {
            SHEET_BYTES_MAX
        } else {
            PART_BYTES_MAX
        };
        let declared = member.size();
        if declared > limit {
            return Err(WorkbookRefusal::MemberTooLarge { name, limit });
        }
        if declared > RATIO_FREE_BYTES && declared / member.compressed_size().max(1) > RATIO_MAX {
            return Err(WorkbookRefusal::CompressionRatio { name });
        }
        // Unpack into nothing, one byte past the declared size at most.
        let unpacked = std::io::copy(&mut member.take(declared + 1), &mut std::io::sink())
            .map_err(unreadable)?;
        if unpacked > declared {
            return Err(WorkbookRefusal::MemberTooLarge {
                name,
                limit: declared,
            });
        }
    }
    Ok(())
}

/// Steps 2 and 3: the declared dimensions, then each cell within bounds.
fn read_cells(
    bytes: &[u8],
    rows_max: u32,
    started: Instant,
) -> Result<Vec<Vec<String>>, WorkbookRefusal> {
    use calamine::Reader;
    let mut workbook = calamine::Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable("it has no worksheet"))?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let declared = cells.dimensions();
    check_bounds(declared.end.0, declared.end.1, rows_max)?;
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut read: u64 = 0;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        read += 1;
        if read.is_multiple_of(4096) && started.elapsed() > TIME_BUDGET {
            return Err(WorkbookRefusal::TooSlow);
        }
        let (row, column) = cell.get_position();
        check_bounds(row, column, rows_max)?;
        let value = calamine::Data::from(cell.get_value().clone());
        let text = match value {
            calamine::Data::Empty => continue,
            // Numbers print as their shortest exact decimal (5000000,
            // 1234.5), so money cells parse the same as typed text.
            other => other.to_string(),
        };
        let (row, column) = (row as usize, column as usize);
        if table.len() <= row {
            table.resize_with(row + 1, Vec::new);
        }
        let cells_of_row = &mut table[row];
        if cells_of_row.len() <= column {
            cells_of_row.resize(column + 1, String::new());
        }
        cells_of_row[column] = text;
    }
    if started.elapsed() > TIME_BUDGET {
        return Err(WorkbookRefusal::TooSlow);
    }
    Ok(table)
}

/// A zero-based cell position (or a declared end) within the bounds.
fn check_bounds(row: u32, column: u32, rows_max: u32) -> Result<(), WorkbookRefusal> {
    if row >= rows_max {
        return Err(WorkbookRefusal::TooManyRows {
            rows: u64::from(row) + 1,
            max: u64::from(rows_max),
        });
    }
    if column >= COLUMNS_MAX {
        return Err(WorkbookRefusal::TooManyColumns {
            columns: u64::from(column) + 1,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_beyond_the_bounds_are_refused_by_code() {
        assert_eq!(check_bounds(0, 0, 10), Ok(()));
        assert_eq!(check_bounds(9, COLUMNS_MAX - 1, 10), Ok(()));
        assert_eq!(check_bounds(10, 0, 10).unwrap_err().code(), "too_many_rows");
        assert_eq!(
            check_bounds(1_048_575, 16_383, 10).unwrap_err().code(),
            "too_many_rows"
        );
        assert_eq!(
            check_bounds(0, COLUMNS_MAX, 10).unwrap_err().code(),
            "too_many_columns"
        );
    }

    #[test]
    fn what_is_not_a_zip_is_unreadable() {
        assert_eq!(
            first_sheet(b"PK\x03\x04 not really", 10)
                .unwrap_err()
                .code(),
            "xlsx_unreadable"
        );
    }
}

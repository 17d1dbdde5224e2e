//! The 兑付/结算表 of a settlement batch (and a provider's statement, the
//! same table for one provider): the columns domain.md lists, 合计 in 小写
//! and 大写, and a signature block, as CSV, XLSX or PDF (`batch_pdf`).
//!
//! For CSV and XLSX rows arrive one at a time and leave one at a time; only
//! the totals are kept, so a batch of a million lines renders in constant
//! memory. A PDF is laid out whole (its pages say 共 N 页) and so has a
//! line limit.

use std::io::{self, Write};

pub use super::table::{COLUMNS, Heading, ReportError, Totals};
use super::table::{Formatter, MONEY_COLUMNS, footer};
use crate::domain::Fen;
use crate::store::StoreError;
use crate::store::settlement::BatchRow;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }
}

/// Renders the table in `format` into `out`, pulling rows from `rows`.
pub fn render<W: Write + Send>(
    format: Format,
    heading: &Heading,
    rows: impl Iterator<Item = Result<BatchRow, StoreError>>,
    out: W,
) -> Result<Totals, ReportError> {
    match format {
        Format::Csv => render_csv(heading, rows, out),
        Format::Xlsx => render_xlsx(heading, rows, out),
        Format::Pdf => super::batch_pdf::render(heading, rows, out),
    }
}

fn render_csv<W: Write>(
    heading: &Heading,
    rows: impl Iterator<Item = Result<BatchRow, StoreError>>,
    mut out: W,
) -> Result<Totals, ReportError> {
    // A BOM, so spreadsheet programs read the Chinese as UTF-8.
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let io = |e: csv::Error| ReportError::Io(io::Error::other(e));
    // Every cell is neutralised: names, invoice numbers and notes come
    // from providers and imports (domain::csv_cell).
    writer
        .write_record(crate::domain::csv_cell::neutralise_all([heading
            .title
            .as_str()]))
        .map_err(io)?;
    for (label, value) in &heading.facts {
        writer
            .write_record(crate::domain::csv_cell::neutralise_all([label, value]))
            .map_err(io)?;
    }
    writer.write_record(COLUMNS).map_err(io)?;
    let mut formatter = Formatter::default();
    let mut totals = Totals::default();
    for row in rows {
        let row = formatter.row(totals.lines + 1, &row?);
        writer
            .write_record(crate::domain::csv_cell::neutralise_all(&row.cells))
            .map_err(io)?;
        totals.add(&row);
    }
    let mut total_row: Vec<String> = vec![String::new(); COLUMNS.len()];
    total_row[0] = "合计".into();
    total_row[7] = Fen::new(totals.contract_fen).to_string();
    total_row[8] = Fen::new(totals.own_share_fen).to_string();
    total_row[9] = Fen::new(totals.subsidy_fen).to_string();
    writer
        .write_record(crate::domain::csv_cell::neutralise_all(&total_row))
        .map_err(io)?;
    for (label, value) in footer(heading, &totals) {
        writer
            .write_record(crate::domain::csv_cell::neutralise_all([label, value]))
            .map_err(io)?;
    }
    writer.flush()?;
    Ok(totals)
}

/// Spreadsheet cells hold IEEE doubles: money is converted from integer fen
/// to 元 only here, for display; every total was summed in fen.
fn yuan_cell(fen: i64) -> f64 {
    fen as f64 / 100.0
}

fn render_xlsx<W: Write + Send>(
    heading: &Heading,
    rows: impl Iterator<Item = Result<BatchRow, StoreError>>,
    out: W,
) -> Result<Totals, ReportError> {
    use rust_xlsxwriter::{Format as CellFormat, FormatAlign, Workbook};
    let mut workbook = Workbook::new();
    let title = CellFormat::new().set_bold().set_font_size(14);
    let bold = CellFormat::new().set_bold();
    let header = CellFormat::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let money = CellFormat::new().set_num_format("¥#,##0.00");
    let money_bold = CellFormat::new().set_bold().set_num_format("¥#,##0.00");
    let sheet = workbook.add_worksheet_with_constant_memory();
    sheet.set_name("兑付表")?;
    let widths = [
        6.0, 28.0, 22.0, 44.0, 38.0, 28.0, 12.0, 14.0, 14.0, 14.0, 14.0, 12.0,
    ];
    for (column, width) in widths.into_iter().enumerate() {
        sheet.set_column_width(column as u16, width)?;
    }
    // Printed as the finance office files it: A4 landscape, one page wide,
    // the column header frozen on screen and repeated on every printed
    // page, 第 n 页 / 共 N 页 in the footer.
    sheet.set_paper_size(9);
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_print_center_horizontally(true);
    sheet.set_footer("&C第 &P 页 / 共 &N 页");
    let header_row = 1 + heading.facts.len() as u32;
    sheet.set_freeze_panes(header_row + 1, 0)?;
    sheet.set_repeat_rows(header_row, header_row)?;
    let mut at: u32 = 0;
    let title = title.set_align(FormatAlign::Center);
    sheet.merge_range(
        at,
        0,
        at,
        (COLUMNS.len() - 1) as u16,
        &heading.title,
        &title,
    )?;
    at += 1;
    for (label, value) in &heading.facts {
        sheet.write_string_with_format(at, 0, label, &bold)?;
        sheet.write_string(at, 1, value)?;
        at += 1;
    }
    for (column, name) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(at, column as u16, *name, &header)?;
    }
    at += 1;
    let mut formatter = Formatter::default();
    let mut totals = Totals::default();
    for row in rows {
        let row = formatter.row(totals.lines + 1, &row?);
        for (column, cell) in row.cells.iter().enumerate() {
            if let Some(slot) = MONEY_COLUMNS.iter().position(|&c| c == column) {
                sheet.write_number_with_format(
                    at,
                    column as u16,
                    yuan_cell(row.amounts[slot]),
                    &money,
                )?;
            } else if column == 0 {
                sheet.write_number(at, 0, (totals.lines + 1) as f64)?;
            } else {
                sheet.write_string(at, column as u16, cell)?;
            }
        }
        totals.add(&row);
        at += 1;
    }
    sheet.write_string_with_format(at, 0, "合计", &bold)?;
    for (slot, fen) in [
        totals.contract_fen,
        totals.own_share_fen,
        totals.subsidy_fen,
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_number_with_format(
            at,
            MONEY_COLUMNS[slot] as u16,
            yuan_cell(fen),
            &money_bold,
        )?;
    }
    at += 1;
    for (label, value) in footer(heading, &totals) {
        sheet.write_string_with_format(at, 0, &label, &bold)?;
        sheet.write_string(at, 1, &value)?;
        at += 1;
    }
    workbook.save_to_writer(out)?;
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn row(n: u32, subsidy: i64) -> Result<BatchRow, StoreError> {
        Ok(BatchRow {
            line_no: n,
            provider_id: Uuid::from_bytes([1; 16]),
            provider_name: "舟山市甲咨询有限公司".into(),
            provider_uscc: "91330900MA2A0000XX".into(),
            provider_fields_json: "{}".into(),
            voucher_id: Uuid::from_bytes([n as u8; 16]),
            enterprise_name: "舟山乙科技有限公司".into(),
            service_category: "管理咨询".into(),
            contract_amount_fen: subsidy * 2,
            subsidy_fen: subsidy,
            invoice_number: Some(format!("{n:08}")),
            confirmed_at_us: Some(1_782_835_200_000_000),
        })
    }

    fn heading() -> Heading {
        Heading {
            title: "服务补贴券兑付结算表".into(),
            facts: vec![("项目".into(), "ZS2026-01".into())],
            summary: Vec::new(),
            prepared_by: "fin-a".into(),
            prepared_on: "2026-10-07".into(),
            approved_by: "fin-b".into(),
            approved_on: "2026-10-08".into(),
            date: "2026-10-08".into(),
        }
    }

    #[test]
    fn the_csv_has_every_column_the_total_and_its_daxie() {
        let mut out = Vec::new();
        let rows = vec![row(1, 50_000), row(2, 90_950)];
        let totals = render(Format::Csv, &heading(), rows.into_iter(), &mut out).unwrap();
        assert_eq!(totals.subsidy_fen, 140_950);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&COLUMNS.join(",")));
        assert!(text.contains("合计（小写）,\"¥1,409.50\""), "{text}");
        assert!(
            text.contains("合计（大写）,人民币壹仟肆佰零玖元伍角"),
            "{text}"
        );
        assert!(text.contains("2026-07-01"));
        assert!(text.contains("审核人,fin-b"));
    }

    #[test]
    fn a_pdf_and_a_workbook_are_produced_for_the_same_rows() {
        for format in [Format::Pdf, Format::Xlsx] {
            let mut out = Vec::new();
            let rows = (1..=120).map(|n| row(n, 1_000));
            let totals = render(format, &heading(), rows, &mut out).unwrap();
            assert_eq!(totals.lines, 120);
            assert_eq!(totals.subsidy_fen, 120_000);
            let magic: &[u8] = if format == Format::Pdf {
                b"%PDF"
            } else {
                b"PK"
            };
            assert!(out.starts_with(magic), "{format:?}");
        }
    }

    #[test]
    fn a_pdf_refuses_more_lines_than_it_can_lay_out() {
        let limit = super::super::batch_pdf::MAX_LINES;
        let rows = (1..=limit as u32 + 1).map(|n| row(n, 100));
        let mut out = Vec::new();
        let refused = render(Format::Pdf, &heading(), rows, &mut out).unwrap_err();
        assert!(matches!(refused, ReportError::TooLongForPdf { limit: l } if l == limit));
        assert!(out.is_empty(), "nothing is written before the refusal");
        // The CSV of the same rows streams.
        let rows = (1..=limit as u32 + 1).map(|n| row(n, 100));
        let totals = render(Format::Csv, &heading(), rows, &mut out).unwrap();
        assert_eq!(totals.lines, limit + 1);
    }
}

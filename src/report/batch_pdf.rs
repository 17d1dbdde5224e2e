//! The 兑付表 and a provider's statement as the PDF a finance officer signs:
//! A4 landscape, every column on the page (names wrap; account numbers,
//! 券号, USCCs and sums stay whole), the header repeated on every page,
//! 合计 in 小写 and 大写, a 收款汇总 with one line per payee (name, bank,
//! account whole), 编制人/审核人 with their dates, signature and seal boxes,
//! 第 n 页 / 共 N 页.
//!
//! A PDF is laid out whole before its first byte is written (the page count
//! is printed on every page), so it is limited to `MAX_LINES`; larger
//! batches are for CSV and XLSX, which stream.

use std::collections::HashMap;

use uuid::Uuid;

use std::io::Write;

use super::pdf::draw;
use super::pdf::face::Face;
use super::pdf::flow::Flow;
use super::pdf::layout::{self, Align, Column, Fit, Pieces};
use super::table::{Formatter, Heading, ReportError, Row, Totals, footer};
use crate::domain::Fen;
use crate::store::StoreError;
use crate::store::settlement::BatchRow;

/// The most lines one PDF holds (about 350 pages).
pub const MAX_LINES: u64 = 10_000;

/// Body text size, in points.
const SIZE: f32 = 7.0;

const fn column(title: &'static str, width: f32, fit: Fit, align: Align) -> Column {
    Column {
        title,
        width,
        fit,
        align,
    }
}

/// The detail table: domain.md's twelve columns across 794 points.
const LINES: [Column; 12] = [
    column("序号", 20.0, Fit::Whole, Align::Right),
    column("服务机构名称", 76.0, Fit::Wrap, Align::Left),
    column("统一社会信用代码", 80.0, Fit::Whole, Align::Left),
    column("开户银行/户名/账号", 104.0, Fit::Wrap, Align::Left),
    column("券号", 140.0, Fit::Whole, Align::Left),
    column("企业名称", 76.0, Fit::Wrap, Align::Left),
    column("服务类别", 44.0, Fit::Wrap, Align::Left),
    column("合同金额", 52.0, Fit::Whole, Align::Right),
    column("企业自付", 52.0, Fit::Whole, Align::Right),
    column("补贴金额", 52.0, Fit::Whole, Align::Right),
    column("发票号码", 52.0, Fit::Whole, Align::Left),
    column("确认日期", 46.0, Fit::Whole, Align::Left),
];
const BANK: usize = 3;

/// 收款汇总: one line per payee, everything on it whole.
const PAYEES: [Column; 8] = [
    column("序号", 22.0, Fit::Whole, Align::Right),
    column("服务机构名称", 184.0, Fit::Whole, Align::Left),
    column("统一社会信用代码", 84.0, Fit::Whole, Align::Left),
    column("开户银行", 160.0, Fit::Whole, Align::Left),
    column("户名", 146.0, Fit::Whole, Align::Left),
    column("账号", 112.0, Fit::Whole, Align::Left),
    column("笔数", 30.0, Fit::Whole, Align::Right),
    column("补贴金额", 56.0, Fit::Whole, Align::Right),
];

/// One payee of the batch and what it is owed in it.
struct Payee<'a> {
    first: &'a Row,
    lines: u64,
    subsidy_fen: i64,
}

/// The payees in the order they first appear.
fn payees(rows: &[Row]) -> Vec<Payee<'_>> {
    let mut order: Vec<Payee<'_>> = Vec::new();
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    for row in rows {
        let at = *index.entry(row.provider_id).or_insert_with(|| {
            order.push(Payee {
                first: row,
                lines: 0,
                subsidy_fen: 0,
            });
            order.len() - 1
        });
        order[at].lines += 1;
        order[at].subsidy_fen += row.amounts[2];
    }
    order
}

fn header(columns: &[Column]) -> layout::Row {
    let titles: Vec<Pieces> = columns
        .iter()
        .map(|c| vec![(c.title.to_string(), Fit::Wrap)])
        .collect();
    layout::row(columns, &titles, SIZE, Face::get())
}

fn line_row(row: &Row) -> layout::Row {
    let mut cells = layout::plain(&LINES, &row.cells);
    cells[BANK] = vec![
        (row.bank.bank_name.clone(), Fit::Wrap),
        (row.bank.account_name.clone(), Fit::Wrap),
        (row.bank.account_number.clone(), Fit::Whole),
    ];
    layout::row(&LINES, &cells, SIZE, Face::get())
}

fn total_row(totals: &Totals) -> layout::Row {
    let mut texts: Vec<String> = vec![String::new(); LINES.len()];
    texts[1] = format!("合计（{} 笔）", totals.lines);
    texts[7] = Fen::new(totals.contract_fen).to_string();
    texts[8] = Fen::new(totals.own_share_fen).to_string();
    texts[9] = Fen::new(totals.subsidy_fen).to_string();
    layout::row(&LINES, &layout::plain(&LINES, &texts), SIZE, Face::get())
}

fn payee_row(number: usize, payee: &Payee<'_>) -> layout::Row {
    let row = payee.first;
    let texts = [
        number.to_string(),
        row.cells[1].clone(),
        row.cells[2].clone(),
        row.bank.bank_name.clone(),
        row.bank.account_name.clone(),
        row.bank.account_number.clone(),
        payee.lines.to_string(),
        Fen::new(payee.subsidy_fen).to_string(),
    ];
    layout::row(&PAYEES, &layout::plain(&PAYEES, &texts), SIZE, Face::get())
}

/// "批次：…" from the heading's facts, for the running head.
fn fact<'a>(heading: &'a Heading, label: &str) -> Option<&'a str> {
    heading
        .facts
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, v)| v.as_str())
}

fn signed(name: &str, on: &str) -> String {
    if on.is_empty() {
        name.to_string()
    } else {
        format!("{name}（{on}）")
    }
}

/// Formats the rows (at most `MAX_LINES`), lays out the document and
/// writes it into `out`.
pub(super) fn render<W: Write>(
    heading: &Heading,
    rows: impl Iterator<Item = Result<BatchRow, StoreError>>,
    mut out: W,
) -> Result<Totals, ReportError> {
    let mut formatter = Formatter::default();
    let mut totals = Totals::default();
    let mut formatted = Vec::new();
    for row in rows {
        if totals.lines >= MAX_LINES {
            return Err(ReportError::TooLongForPdf { limit: MAX_LINES });
        }
        let row = formatter.row(totals.lines + 1, &row?);
        totals.add(&row);
        formatted.push(row);
    }
    let bytes = document(heading, &formatted, &totals)?;
    out.write_all(&bytes)?;
    Ok(totals)
}

/// Lays out and writes the whole document.
fn document(heading: &Heading, rows: &[Row], totals: &Totals) -> Result<Vec<u8>, ReportError> {
    let running_head = match fact(heading, "批次") {
        Some(batch) => format!("{}（续）　批次：{batch}", heading.title),
        None => format!("{}（续）", heading.title),
    };
    let mut flow = Flow::new(running_head);
    flow.line(&heading.title, 15.0, Align::Center);
    flow.space(4.0);
    let facts: Vec<String> = heading
        .facts
        .iter()
        .map(|(label, value)| format!("{label}：{value}"))
        .collect();
    flow.facts(&facts, 8.0);
    flow.space(4.0);

    let mut laid: Vec<layout::Row> = rows.iter().map(line_row).collect();
    laid.push(total_row(totals));
    flow.table(&LINES, &header(&LINES), laid);

    flow.space(6.0);
    let money: Vec<String> = footer(heading, totals)
        .into_iter()
        .take(2 + heading.summary.len())
        .map(|(label, value)| format!("{label}：{value}"))
        .collect();
    flow.keep(money.len() as f32 * 9.0 * layout::LEADING);
    for line in &money {
        flow.line(line, 9.0, Align::Left);
    }

    let payees = payees(rows);
    if !payees.is_empty() {
        flow.space(8.0);
        flow.keep(40.0);
        flow.line("收款汇总（按服务机构）", 9.0, Align::Left);
        flow.space(2.0);
        let laid: Vec<layout::Row> = payees
            .iter()
            .enumerate()
            .map(|(index, payee)| payee_row(index + 1, payee))
            .collect();
        flow.table(&PAYEES, &header(&PAYEES), laid);
    }

    flow.space(10.0);
    // The signature line and the boxes stay together.
    flow.keep(9.0 * layout::LEADING + 6.0 + 8.0 * layout::LEADING + 2.0 + 44.0);
    flow.line(
        &format!(
            "编制人：{}　　　审核人：{}　　　制表日期：{}",
            signed(&heading.prepared_by, &heading.prepared_on),
            signed(&heading.approved_by, &heading.approved_on),
            heading.date
        ),
        9.0,
        Align::Left,
    );
    flow.space(6.0);
    flow.boxes(
        &[
            "经办人（签字）",
            "审核人（签字）",
            "负责人（签字）",
            "单位（盖章）",
        ],
        44.0,
    );

    draw::render(&flow.finish(), &heading.title).map_err(ReportError::Pdf)
}

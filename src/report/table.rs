//! What every format of the 兑付/结算表 shares: its columns (as domain.md
//! names them), the heading above and the signature lines below, a row
//! formatted for people (amounts in ¥, dates in UTC+8, the payee's bank)
//! and the totals summed in fen.

use std::collections::HashMap;
use std::io;
use std::rc::Rc;

use uuid::Uuid;

use crate::domain::provider::ProviderFields;
use crate::domain::{Fen, Timestamp};
use crate::store::StoreError;
use crate::store::settlement::BatchRow;

/// The table's columns, as domain.md names them.
pub const COLUMNS: [&str; 12] = [
    "序号",
    "服务机构名称",
    "统一社会信用代码",
    "开户银行/户名/账号",
    "券号",
    "企业名称",
    "服务类别",
    "合同金额",
    "企业自付",
    "补贴金额",
    "发票号码",
    "确认日期",
];

/// Indexes of the three money columns.
pub(super) const MONEY_COLUMNS: [usize; 3] = [7, 8, 9];

/// What the report is about, printed above and below the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// e.g. 服务补贴券兑付结算表.
    pub title: String,
    /// Label and value pairs under the title (项目, 期间, 批次, 状态…).
    pub facts: Vec<(String, String)>,
    /// Extra lines after the totals (a statement's 抵扣 and 实付).
    pub summary: Vec<(String, String)>,
    pub prepared_by: String,
    /// The day the batch was prepared (UTC+8).
    pub prepared_on: String,
    pub approved_by: String,
    /// The day it was approved (UTC+8); empty while it is not.
    pub approved_on: String,
    /// The date on the signature block (UTC+8).
    pub date: String,
}

/// What the table adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub lines: u64,
    pub contract_fen: i64,
    pub own_share_fen: i64,
    pub subsidy_fen: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the report failed: {0}")]
    Io(#[from] io::Error),
    #[error("building the spreadsheet failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("building the PDF failed: {0}")]
    Pdf(String),
    #[error("a PDF holds at most {limit} lines; this report has more")]
    TooLongForPdf { limit: u64 },
}

/// One row, formatted.
pub(super) struct Row {
    pub cells: [String; 12],
    pub amounts: [i64; 3],
    pub provider_id: Uuid,
    pub bank: Rc<Bank>,
}

/// Where a provider is paid, from its registry record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Bank {
    pub bank_name: String,
    pub account_name: String,
    pub account_number: String,
}

impl Bank {
    /// `开户银行/户名/账号`, one cell of the CSV and the workbook.
    fn joined(&self) -> String {
        format!(
            "{}/{}/{}",
            self.bank_name, self.account_name, self.account_number
        )
    }
}

/// Formats rows, reading each provider's bank details once.
#[derive(Default)]
pub(super) struct Formatter {
    banks: HashMap<Uuid, Rc<Bank>>,
}

impl Formatter {
    pub(super) fn row(&mut self, index: u64, row: &BatchRow) -> Row {
        let bank = self
            .banks
            .entry(row.provider_id)
            .or_insert_with(|| {
                Rc::new(
                    serde_json::from_str::<ProviderFields>(&row.provider_fields_json)
                        .map(|f| Bank {
                            bank_name: f.bank_name,
                            account_name: f.account_name,
                            account_number: f.account_number,
                        })
                        .unwrap_or_default(),
                )
            })
            .clone();
        let own_share = row.contract_amount_fen - row.subsidy_fen;
        Row {
            cells: [
                index.to_string(),
                row.provider_name.clone(),
                row.provider_uscc.clone(),
                bank.joined(),
                row.voucher_id.to_string(),
                row.enterprise_name.clone(),
                row.service_category.clone(),
                Fen::new(row.contract_amount_fen).to_string(),
                Fen::new(own_share).to_string(),
                Fen::new(row.subsidy_fen).to_string(),
                row.invoice_number.clone().unwrap_or_default(),
                row.confirmed_at_us
                    .map(|us| Timestamp::from_micros(us).cst_date().to_string())
                    .unwrap_or_default(),
            ],
            amounts: [row.contract_amount_fen, own_share, row.subsidy_fen],
            provider_id: row.provider_id,
            bank,
        }
    }
}

impl Totals {
    pub(super) fn add(&mut self, row: &Row) {
        self.lines += 1;
        self.contract_fen += row.amounts[0];
        self.own_share_fen += row.amounts[1];
        self.subsidy_fen += row.amounts[2];
    }

    /// `人民币壹仟…` of the subsidy total.
    pub fn daxie(&self) -> String {
        Fen::new(self.subsidy_fen).to_daxie()
    }
}

/// The lines under the table: 合计 in 小写 and 大写, the heading's
/// summary, who prepared and approved it and when.
pub(super) fn footer(heading: &Heading, totals: &Totals) -> Vec<(String, String)> {
    let mut lines = vec![
        (
            "合计（小写）".to_string(),
            Fen::new(totals.subsidy_fen).to_string(),
        ),
        ("合计（大写）".to_string(), totals.daxie()),
    ];
    lines.extend(heading.summary.iter().cloned());
    lines.push(("编制人".to_string(), heading.prepared_by.clone()));
    lines.push(("编制日期".to_string(), heading.prepared_on.clone()));
    lines.push(("审核人".to_string(), heading.approved_by.clone()));
    lines.push(("审核日期".to_string(), heading.approved_on.clone()));
    lines.push(("日期".to_string(), heading.date.clone()));
    lines
}

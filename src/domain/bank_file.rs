//! Bank files, without I/O: the payment file finance hands to the bank
//! (one line per provider payout) and the bank's return or statement file,
//! read and matched back to payouts by reference, account and amount.
//!
//! Matching is strict: a line whose reference is known but whose account
//! or amount differs is a mismatch, not a payment, because paying the wrong
//! account or amount is exactly what reconciliation must catch.

use std::collections::HashMap;

use super::Fen;
use super::status::PayoutStatus;

/// One transfer in the payment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    pub payee_name: String,
    pub bank_name: String,
    pub account_number: String,
    pub amount: Fen,
    pub reference: String,
}

/// The payment file's header row (Chinese, then English in brackets, so
/// both bank clerks and scripts can read it).
pub const PAYMENT_HEADER: [&str; 5] = [
    "收款人名称(payee_name)",
    "开户银行(bank)",
    "收款账号(account)",
    "金额(amount)",
    "业务参考号(reference)",
];

/// Writes the payment file as CSV (UTF-8 with a BOM, so spreadsheet
/// programs show the Chinese correctly). Amounts are plain 元 with two
/// decimals, as banks' import templates expect.
pub fn payment_csv(lines: &[PaymentLine]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(PAYMENT_HEADER);
        for line in lines {
            // Payee and bank names come from provider records.
            let _ = writer.write_record(super::csv_cell::neutralise_all([
                line.payee_name.as_str(),
                line.bank_name.as_str(),
                line.account_number.as_str(),
                &line.amount.to_plain_yuan(),
                line.reference.as_str(),
            ]));
        }
        let _ = writer.flush();
    }
    out
}

/// What the bank says happened to one transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BankOutcome {
    Paid,
    Failed,
}

impl BankOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BankOutcome::Paid => "paid",
            BankOutcome::Failed => "failed",
        }
    }
}

/// One line of the bank's return file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    pub reference: String,
    pub account_number: String,
    pub amount: Fen,
    pub outcome: BankOutcome,
    pub message: String,
}

/// A line of the return file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLineError {
    pub line: usize,
    pub message: String,
    pub message_zh: String,
}

/// Why the return file as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnFileError {
    #[error("the file is not UTF-8 CSV")]
    NotCsv,
    #[error("the header has no {0} column")]
    MissingColumn(&'static str),
}

/// Header names accepted for each column (lower-cased, brackets ignored).
const COLUMNS: [(&str, &[&str]); 5] = [
    ("reference", &["reference", "业务参考号", "参考号", "摘要"]),
    ("account", &["account", "收款账号", "账号"]),
    ("amount", &["amount", "金额", "交易金额"]),
    ("status", &["status", "状态", "交易状态"]),
    ("message", &["message", "备注", "失败原因"]),
];

/// Reads a bank return file: a header naming the columns (in English or
/// Chinese: reference/业务参考号, account/收款账号, amount/金额, status/状态,
/// optional message/备注), then one transfer per line. Status is
/// paid/success/成功 or failed/failure/失败. Every unreadable line is
/// reported; readable ones are returned.
pub fn read_return_file(
    bytes: &[u8],
) -> Result<(Vec<ReturnLine>, Vec<ReturnLineError>), ReturnFileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|_| ReturnFileError::NotCsv)?
        .clone();
    let names: Vec<String> = header.iter().map(normalise_header).collect();
    let mut index = HashMap::new();
    for (column, aliases) in COLUMNS {
        if let Some(at) = names.iter().position(|n| aliases.iter().any(|a| n == a)) {
            index.insert(column, at);
        } else if column != "message" {
            return Err(ReturnFileError::MissingColumn(column));
        }
    }
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = match record {
            Ok(record) => record,
            Err(_) => {
                errors.push(ReturnLineError {
                    line,
                    message: "not valid UTF-8 CSV".into(),
                    message_zh: "不是有效的 UTF-8 CSV 行".into(),
                });
                continue;
            }
        };
        let field = |column: &str| {
            index
                .get(column)
                .and_then(|&at| record.get(at))
                .unwrap_or_default()
                .to_string()
        };
        let amount = match Fen::parse_yuan(&field("amount")) {
            Ok(amount) if amount.is_positive() => amount,
            _ => {
                errors.push(ReturnLineError {
                    line,
                    message: format!(
                        "amount {:?} is not a positive amount in 元",
                        field("amount")
                    ),
                    message_zh: format!("金额“{}”不是有效的正数金额（元）", field("amount")),
                });
                continue;
            }
        };
        let outcome = match field("status").to_lowercase().as_str() {
            "paid" | "success" | "succeeded" | "成功" | "已支付" => BankOutcome::Paid,
            "failed" | "failure" | "fail" | "失败" | "退回" => BankOutcome::Failed,
            other => {
                errors.push(ReturnLineError {
                    line,
                    message: format!("status {other:?} is neither paid/成功 nor failed/失败"),
                    message_zh: format!("状态“{other}”既不是成功也不是失败"),
                });
                continue;
            }
        };
        if field("reference").is_empty() {
            errors.push(ReturnLineError {
                line,
                message: "the reference is empty".into(),
                message_zh: "业务参考号为空".into(),
            });
            continue;
        }
        lines.push(ReturnLine {
            line,
            reference: field("reference"),
            account_number: field("account"),
            amount,
            outcome,
            message: field("message"),
        });
    }
    Ok((lines, errors))
}

fn normalise_header(name: &str) -> String {
    let name = name.trim().to_lowercase();
    // "金额(amount)" → "金额"; "amount" stays.
    let base = name.split(['(', '（']).next().unwrap_or_default().trim();
    if base.is_empty() {
        name
    } else {
        base.to_string()
    }
}

/// A payout as the ledger has it, for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFacts {
    pub reference: String,
    pub account_number: String,
    pub net: Fen,
    pub status: PayoutStatus,
}

/// What a return line does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// Apply: the pending payout is now paid or failed.
    Apply(BankOutcome),
    /// The payout already has this outcome: nothing to do (a re-import).
    AlreadyRecorded,
    /// The payout already has the other outcome: refused.
    Conflict { status: PayoutStatus },
    /// No payout of this run has the reference.
    Unknown,
    /// The reference is known but the account or amount differs.
    Mismatch { field: &'static str },
    /// The same reference appears earlier in this file.
    Repeated,
}

impl Matched {
    pub fn code(&self) -> &'static str {
        match self {
            Matched::Apply(BankOutcome::Paid) => "paid",
            Matched::Apply(BankOutcome::Failed) => "failed",
            Matched::AlreadyRecorded => "already_recorded",
            Matched::Conflict { .. } => "conflict",
            Matched::Unknown => "unknown_reference",
            Matched::Mismatch { field: "account" } => "account_mismatch",
            Matched::Mismatch { .. } => "amount_mismatch",
            Matched::Repeated => "repeated_reference",
        }
    }
}

/// Matches each return line to a payout by reference, then checks account
/// and amount.
pub fn match_returns(payouts: &[PayoutFacts], lines: &[ReturnLine]) -> Vec<Matched> {
    let by_reference: HashMap<&str, &PayoutFacts> =
        payouts.iter().map(|p| (p.reference.as_str(), p)).collect();
    let mut seen = std::collections::HashSet::new();
    lines
        .iter()
        .map(|line| {
            let Some(payout) = by_reference.get(line.reference.as_str()) else {
                return Matched::Unknown;
            };
            if !seen.insert(line.reference.as_str()) {
                return Matched::Repeated;
            }
            if payout.account_number.replace(' ', "") != line.account_number.replace(' ', "") {
                return Matched::Mismatch { field: "account" };
            }
            if payout.net != line.amount {
                return Matched::Mismatch { field: "amount" };
            }
            match (payout.status, line.outcome) {
                (PayoutStatus::Pending, outcome) => Matched::Apply(outcome),
                (PayoutStatus::Paid, BankOutcome::Paid)
                | (PayoutStatus::Failed, BankOutcome::Failed) => Matched::AlreadyRecorded,
                (status, _) => Matched::Conflict { status },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payment_file_has_a_bom_a_bilingual_header_and_yuan_amounts() {
        let file = payment_csv(&[PaymentLine {
            payee_name: "舟山市甲咨询有限公司".into(),
            bank_name: "中国银行舟山分行".into(),
            account_number: "6216 0000 1234".into(),
            amount: Fen::new(123_450),
            reference: "VLABC".into(),
        }]);
        let text = String::from_utf8(file).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(rows[0], PAYMENT_HEADER.join(","));
        assert_eq!(
            rows[1],
            "舟山市甲咨询有限公司,中国银行舟山分行,6216 0000 1234,1234.50,VLABC"
        );
    }

    fn payout(reference: &str, status: PayoutStatus) -> PayoutFacts {
        PayoutFacts {
            reference: reference.into(),
            account_number: "6216000012345678".into(),
            net: Fen::new(50_000),
            status,
        }
    }

    #[test]
    fn a_return_file_with_paid_failed_and_unknown_lines_matches_exactly() {
        let file = "业务参考号,收款账号,金额,状态,备注\n\
                    R1,6216000012345678,500.00,成功,\n\
                    R2,6216 0000 1234 5678,500.00,失败,户名不符\n\
                    R9,6216000012345678,500.00,成功,\n\
                    R3,6216000099999999,500.00,成功,\n\
                    R4,6216000012345678,500.01,成功,\n\
                    R5,6216000012345678,500.00,success,\n\
                    R6,6216000012345678,500.00,paid,\n\
                    R1,6216000012345678,500.00,成功,\n";
        let (lines, errors) = read_return_file(file.as_bytes()).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(lines[1].message, "户名不符");
        let payouts = [
            payout("R1", PayoutStatus::Pending),
            payout("R2", PayoutStatus::Pending),
            payout("R3", PayoutStatus::Pending),
            payout("R4", PayoutStatus::Pending),
            payout("R5", PayoutStatus::Paid),
            payout("R6", PayoutStatus::Failed),
        ];
        let codes: Vec<&str> = match_returns(&payouts, &lines)
            .iter()
            .map(Matched::code)
            .collect();
        assert_eq!(
            codes,
            [
                "paid",
                "failed",
                "unknown_reference",
                "account_mismatch",
                "amount_mismatch",
                "already_recorded",
                "conflict",
                "repeated_reference",
            ]
        );
    }

    #[test]
    fn unreadable_lines_are_reported_by_number_and_the_rest_kept() {
        let file = "reference,account,amount(元),status\nR1,1,abc,paid\nR2,1,1.00,maybe\n,1,1.00,paid\nR3,1,1.00,failed\n";
        let (lines, errors) = read_return_file(file.as_bytes()).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].line, 5);
        let numbers: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(numbers, [2, 3, 4]);
        assert_eq!(
            read_return_file(b"reference,amount,status\n"),
            Err(ReturnFileError::MissingColumn("account"))
        );
    }
}

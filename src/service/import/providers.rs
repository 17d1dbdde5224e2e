//! Importing providers: the file's columns, each row validated as the API
//! validates one provider, then recorded (upserts by USCC; new ones 申请).

use super::{ImportMode, ImportReport, Parsed, duplicate_row, start_report, submit_rows};
use crate::domain::provider::{ProviderFields, ProviderInput};
use crate::ledger::body::EntryKind;
use crate::service::commands::Command;
use crate::service::commands::RecordProvider;
use crate::service::engine::WriterHandle;
pub use crate::service::import_table::RowError;
use crate::service::import_table::{ColumnSpec, map_columns, read_table};
use std::collections::HashMap;
use uuid::Uuid;

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

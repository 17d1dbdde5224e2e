//! Registry exports as CSV or XLSX, with a header row.
//!
//! Enterprise exports use the import's own column names, so an export
//! re-imports unchanged. USCCs and amounts are written as text (a
//! spreadsheet would show an 18-digit code in scientific notation and
//! round money held as a float); counts are numbers.

use crate::domain::Fen;
use crate::store::Store;
use crate::store::StoreError;
use crate::store::registry::{REGISTRY_PAGE_MAX, every_programme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(i64),
}

/// A sheet: a header row and data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the workbook failed: {0}")]
    Xlsx(String),
    #[error("stored data did not decode: {0}")]
    Corrupt(String),
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

/// The enterprise registry, contacts opened with `personal_key` (the file
/// is the admin's, for re-import: docs/personal-data.md); each contact
/// exported opened is recorded as read by `reader`.
pub async fn enterprises<S: Store>(
    store: &S,
    personal_key: Option<&crate::personal::sealed::MasterKey>,
    reader: &crate::service::personal::Reader,
) -> Result<Sheet, ExportError> {
    use crate::service::personal::{Revealed, read_by, reveal};
    let mut rows = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.enterprises_after(&after, REGISTRY_PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.uscc.clone();
        let mut reads = Vec::new();
        for e in page {
            let contact = match e.contact.as_deref() {
                None => String::new(),
                Some(text) => {
                    let subject = crate::service::commands::personal::enterprise_subject(e.id);
                    match reveal(store, personal_key, &subject, "contact", text).await? {
                        Revealed::Value(value) => {
                            reads.push(read_by(reader, &subject, "contact"));
                            value
                        }
                        other => other.label().unwrap_or_default().to_string(),
                    }
                }
            };
            rows.push(vec![
                text(e.uscc),
                text(e.name),
                text(e.division.as_str()),
                text(e.zone.unwrap_or_default()),
                text(e.sector),
                Cell::Number(e.staff),
                text(Fen::new(e.revenue_fen).to_plain_yuan()),
                text(contact),
                text(e.legal_representative.unwrap_or_default()),
                text(e.size_class.as_str()),
                text(e.size_standard),
                Cell::Number(e.version),
            ]);
        }
        store.record_personal_reads(&reads).await?;
    }
    Ok(Sheet {
        name: "enterprises",
        headers: vec![
            "uscc",
            "name",
            "division",
            "zone",
            "sector",
            "staff",
            "revenue",
            "contact",
            "legal_representative",
            "size_class",
            "size_standard",
            "version",
        ],
        rows,
    })
}

pub async fn providers<S: Store>(store: &S) -> Result<Sheet, ExportError> {
    let mut rows = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.providers_after(&after, REGISTRY_PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.uscc.clone();
        for p in page {
            let fields = p.fields;
            rows.push(vec![
                text(p.uscc),
                text(p.name),
                text(p.status.as_str()),
                text(fields.legal_representative),
                text(fields.categories.join("、")),
                text(fields.bank_name),
                text(fields.account_name),
                text(fields.account_number),
                text(Fen::new(p.annual_cap_fen).to_plain_yuan()),
                Cell::Number(fields.related_parties.len() as i64),
                Cell::Number(p.version),
            ]);
        }
    }
    Ok(Sheet {
        name: "providers",
        headers: vec![
            "uscc",
            "name",
            "status",
            "legal_representative",
            "categories",
            "bank_name",
            "account_name",
            "account_number",
            "annual_cap",
            "related_parties",
            "version",
        ],
        rows,
    })
}

pub async fn programmes<S: Store>(store: &S) -> Result<Sheet, ExportError> {
    let mut rows = Vec::new();
    for p in every_programme(store).await? {
        let terms = p.terms;
        rows.push(vec![
            text(p.code),
            text(terms.name),
            text(p.status.as_str()),
            Cell::Number(i64::from(terms.fiscal_year)),
            text(Fen::new(terms.budget_fen).to_plain_yuan()),
            Cell::Number(i64::from(terms.subsidy_ratio_bp)),
            text(terms.claim_opens_at),
            text(terms.claim_closes_at),
            text(terms.ends_on.to_string()),
            Cell::Number(p.version),
        ]);
    }
    Ok(Sheet {
        name: "programmes",
        headers: vec![
            "code",
            "name",
            "status",
            "fiscal_year",
            "budget",
            "subsidy_ratio_bp",
            "claim_opens_at",
            "claim_closes_at",
            "ends_on",
            "version",
        ],
        rows,
    })
}

/// Renders a sheet in `format`.
pub fn render(sheet: &Sheet, format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let csv_error = |e: csv::Error| ExportError::Xlsx(e.to_string());
            writer.write_record(&sheet.headers).map_err(csv_error)?;
            for row in &sheet.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|cell| match cell {
                        Cell::Text(text) => text.clone(),
                        Cell::Number(n) => n.to_string(),
                    })
                    .collect();
                // Names come from imports and forms (domain::csv_cell).
                writer
                    .write_record(crate::domain::csv_cell::neutralise_all(&cells))
                    .map_err(csv_error)?;
            }
            writer
                .into_inner()
                .map_err(|e| ExportError::Xlsx(e.to_string()))
        }
        Format::Xlsx => {
            let xlsx_error = |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx(e.to_string());
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let worksheet = workbook.add_worksheet();
            worksheet.set_name(sheet.name).map_err(xlsx_error)?;
            for (col, header) in sheet.headers.iter().enumerate() {
                worksheet
                    .write_string(0, col as u16, *header)
                    .map_err(xlsx_error)?;
            }
            for (index, row) in sheet.rows.iter().enumerate() {
                let r = index as u32 + 1;
                for (col, cell) in row.iter().enumerate() {
                    match cell {
                        Cell::Text(text) => worksheet
                            .write_string(r, col as u16, text)
                            .map_err(xlsx_error)?,
                        Cell::Number(n) => worksheet
                            .write_number(r, col as u16, *n as f64)
                            .map_err(xlsx_error)?,
                    };
                }
            }
            workbook.save_to_buffer().map_err(xlsx_error)
        }
    }
}

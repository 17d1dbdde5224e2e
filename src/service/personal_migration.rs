//! Sealing what was recorded before sealing (docs/personal-data.md
//! "Entries written before sealing"): every enterprise whose stored
//! contact is still plain text is recorded again through the writer — an
//! `enterprise_updated` entry whose contact is sealed, and the projection
//! row with it. The old entries keep their plain text (nothing rewrites
//! an entry); this makes the live record and everything written from now on
//! sealed.

use chrono::NaiveDate;

use super::commands::Envelope;
use super::engine::WriterHandle;
use super::error::UseCaseError;
use super::registry::record_enterprise;
use crate::domain::Fen;
use crate::domain::enterprise::EnterpriseFields;
use crate::personal::sealed::is_sealed;
use crate::store::Store;
use crate::store::registry::EnterpriseRecord;

/// Enterprises read per page.
const PAGE: u32 = 500;
/// Why a USCC admitted by the legacy override is recorded again.
const OVERRIDE_REASON: &str = "re-recorded to seal its contact (docs/personal-data.md)";

/// What sealing the legacy contacts did.
#[derive(Debug, Default)]
pub struct LegacyReport {
    /// USCCs whose contact is sealed now.
    pub sealed: Vec<String>,
    /// USCCs left as they were, with why (their record no longer validates).
    pub refused: Vec<(String, String)>,
}

/// The record as the fields it was registered with.
fn fields_of(record: &EnterpriseRecord, contact: &str) -> EnterpriseFields {
    EnterpriseFields {
        uscc: record.uscc.clone(),
        name: record.name.clone(),
        division: record.division.to_string(),
        zone: record.zone.clone().unwrap_or_default(),
        sector: record.sector.clone(),
        staff: record.staff.to_string(),
        revenue_yuan: Fen::new(record.revenue_fen).to_plain_yuan(),
        contact: contact.to_string(),
        legal_representative: record.legal_representative.clone().unwrap_or_default(),
    }
}

/// Records again, as `actor`, every enterprise whose contact is plain text.
pub async fn seal_legacy_contacts<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    today: NaiveDate,
) -> Result<LegacyReport, UseCaseError> {
    let zones = super::import::zone_map(store).await?;
    let mut report = LegacyReport::default();
    let mut after = String::new();
    loop {
        let page = store.enterprises_after(&after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(report);
        };
        after = last.uscc.clone();
        for record in &page {
            let Some(contact) = record.contact.as_deref() else {
                continue;
            };
            if contact.trim().is_empty() || is_sealed(contact) {
                continue;
            }
            let reason = record.uscc_override.then_some(OVERRIDE_REASON);
            let input = match fields_of(record, contact).validate(reason, today, &zones) {
                Ok(input) => input,
                Err(errors) => {
                    let why = errors
                        .first()
                        .map_or_else(String::new, |e| e.message.clone());
                    report.refused.push((record.uscc.clone(), why));
                    continue;
                }
            };
            let key = format!("seal-legacy:{}:{}", record.uscc, record.version);
            let by = Envelope::new(actor.to_string(), key);
            match record_enterprise(writer, by, input).await {
                Ok(recorded) if recorded.changed() => report.sealed.push(record.uscc.clone()),
                // An erased or restricted subject keeps what it had.
                Ok(_) => {}
                Err(error) => report
                    .refused
                    .push((record.uscc.clone(), error.to_string())),
            }
        }
    }
}

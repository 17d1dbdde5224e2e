//! The registry family: enterprises, their tags, the blacklist, providers
//! and their status, functional zones.

mod decide;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::{Draft, InvalidCommand, TAG_LEN_MAX, TEXT_LEN_MAX, ToDraft, check_text};
use crate::domain::DivisionCode;
use crate::domain::enterprise::EnterpriseInput;
use crate::domain::provider::{ProviderFields, ProviderInput, ProviderStatus};
use crate::ledger::body::{EntryBody, pb};
use crate::store::registry::{BlacklistRecord, TagRecord};

/// Register an enterprise, or update the one with the same USCC
/// (`enterprise_id` is used only if it is new). An update that changes
/// nothing is refused as `Unchanged` and records nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordEnterprise {
    #[serde(skip)]
    pub enterprise_id: Uuid,
    pub input: EnterpriseInput,
}

impl ToDraft for RecordEnterprise {
    /// The version and whether it is new are only known under the lock:
    /// its `Decide` writes the final body.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::EnterpriseRegistered(
            enterprise_body(self.enterprise_id, &self.input, 1),
        )))
    }
}

/// The ledger body recording an enterprise's state at `version`.
pub fn enterprise_body(
    enterprise_id: Uuid,
    input: &EnterpriseInput,
    version: i64,
) -> pb::EnterpriseRecorded {
    pb::EnterpriseRecorded {
        enterprise_id: enterprise_id.to_string(),
        uscc: input.uscc.code().to_string(),
        uscc_override_reason: input.uscc.override_reason().unwrap_or_default().to_string(),
        name: input.name.clone(),
        division: input.division.to_string(),
        zone: input.zone.clone().unwrap_or_default(),
        sector: input.sector.as_str().to_string(),
        staff: i64::from(input.staff),
        revenue_fen: input.revenue.as_fen(),
        size_class: input.size_class.as_str().to_string(),
        size_standard: input.size_standard.to_string(),
        contact: input.contact.clone().unwrap_or_default(),
        legal_representative: input.legal_representative.clone().unwrap_or_default(),
        version,
    }
}

/// Tag an enterprise (e.g. 专精特新培育库) for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagSpec {
    pub enterprise_id: Uuid,
    pub tag: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub source: String,
}

impl ToDraft for TagSpec {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("tag", &self.tag, TAG_LEN_MAX, true)?;
        check_text("source", &self.source, TEXT_LEN_MAX, true)?;
        check_period(self.valid_from, self.valid_until)?;
        Ok(Draft::without_postings(EntryBody::EnterpriseTagged(
            self.body(),
        )))
    }
}

impl TagSpec {
    pub fn body(&self) -> pb::EnterpriseTagged {
        pb::EnterpriseTagged {
            enterprise_id: self.enterprise_id.to_string(),
            tag: self.tag.clone(),
            valid_from: self.valid_from.to_string(),
            valid_until: date_text(self.valid_until),
            source: self.source.clone(),
        }
    }

    pub fn record(&self) -> TagRecord {
        TagRecord {
            enterprise_id: self.enterprise_id,
            tag: self.tag.clone(),
            valid_from: self.valid_from.to_string(),
            valid_until: self.valid_until.map(|d| d.to_string()),
            source: self.source.clone(),
        }
    }
}

/// Blacklist a party from a date (and optionally until one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlacklistSpec {
    /// Generated per request: not part of what was asked.
    #[serde(skip)]
    pub entry_id: Uuid,
    pub party_kind: PartyKind,
    pub party_id: Uuid,
    pub reason: String,
    pub source: String,
    pub effective_from: NaiveDate,
    pub effective_until: Option<NaiveDate>,
}

impl ToDraft for BlacklistSpec {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("reason", &self.reason, TEXT_LEN_MAX, true)?;
        check_text("source", &self.source, TEXT_LEN_MAX, true)?;
        check_period(self.effective_from, self.effective_until)?;
        Ok(Draft::without_postings(EntryBody::PartyBlacklisted(
            self.body(),
        )))
    }
}

impl BlacklistSpec {
    pub fn body(&self) -> pb::PartyBlacklisted {
        pb::PartyBlacklisted {
            entry_id: self.entry_id.to_string(),
            party_kind: self.party_kind.as_str().to_string(),
            party_id: self.party_id.to_string(),
            reason: self.reason.clone(),
            source: self.source.clone(),
            effective_from: self.effective_from.to_string(),
            effective_until: date_text(self.effective_until),
        }
    }

    pub fn record(&self) -> BlacklistRecord {
        BlacklistRecord {
            id: self.entry_id,
            party_kind: self.party_kind.as_str().to_string(),
            party_id: self.party_id,
            reason: self.reason.clone(),
            source: self.source.clone(),
            effective_from: self.effective_from.to_string(),
            effective_until: self.effective_until.map(|d| d.to_string()),
        }
    }
}

/// Who a blacklist entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PartyKind {
    Enterprise,
    Provider,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Enterprise => "enterprise",
            PartyKind::Provider => "provider",
        }
    }
}

fn check_period(from: NaiveDate, until: Option<NaiveDate>) -> Result<(), InvalidCommand> {
    if until.is_some_and(|until| until < from) {
        return Err(InvalidCommand::DatesReversed);
    }
    Ok(())
}

/// A date for a ledger body: `YYYY-MM-DD`, or empty for none.
fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// Register a provider (status 申请 applied), or update the one with the
/// same USCC (`provider_id` is used only if it is new).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordProvider {
    #[serde(skip)]
    pub provider_id: Uuid,
    pub input: ProviderInput,
}

impl ToDraft for RecordProvider {
    /// The body carries the version and status only known under the lock:
    /// its `Decide` writes it.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::ProviderRegistered(
            pb::ProviderRecorded {
                provider_id: self.provider_id.to_string(),
                uscc: self.input.uscc.to_string(),
                ..pb::ProviderRecorded::default()
            },
        )))
    }
}

/// A provider's fields as stored and recorded: canonical JSON.
pub fn provider_fields_json(fields: &ProviderFields) -> String {
    serde_json::to_string(fields).expect("provider fields always serialise")
}

/// Define a functional zone (or move it to another parent division).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefineZone {
    pub name: String,
    pub division: DivisionCode,
}

impl ToDraft for DefineZone {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("name", &self.name, TAG_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::ZoneDefined(
            pb::ZoneDefined {
                name: self.name.clone(),
                division: self.division.to_string(),
            },
        )))
    }
}

/// Move a provider along 申请 → 入库 ⇄ 暂停 → 出库.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeProviderStatus {
    pub provider_id: Uuid,
    pub status: ProviderStatus,
    pub reason: String,
}

impl ToDraft for ChangeProviderStatus {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("reason", &self.reason, TEXT_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::ProviderStatusChanged(
            pb::ProviderStatusChanged {
                provider_id: self.provider_id.to_string(),
                to_status: self.status.as_str().to_string(),
                reason: self.reason.clone(),
                ..pb::ProviderStatusChanged::default()
            },
        )))
    }
}

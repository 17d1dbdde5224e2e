//! Registry use cases, one record at a time: record an enterprise or a
//! provider (new, or a new version), tag or blacklist an enterprise, move
//! a provider along its statuses, define a functional zone. Files of many
//! rows go through `service::import`.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::DivisionCode;
use crate::domain::enterprise::EnterpriseInput;
use crate::domain::provider::{ProviderInput, ProviderStatus};
use crate::ledger::body::EntryKind;

use super::commands::{
    BlacklistSpec, ChangeProviderStatus, DefineZone, Envelope, PartyKind, RecordEnterprise,
    RecordProvider, TagSpec,
};
use super::engine::WriterHandle;
use super::error::CommandError;
use super::written::{Recorded, Written};

/// Records an enterprise (new, or a new version of the one with its USCC).
pub async fn record_enterprise(
    writer: &WriterHandle,
    by: Envelope,
    input: EnterpriseInput,
) -> Result<Recorded, CommandError> {
    let command = RecordEnterprise {
        enterprise_id: Uuid::now_v7(),
        input,
    };
    let result = writer.submit(by.submission(command)).await;
    Recorded::from_result(result, EntryKind::EnterpriseRegistered)
}

/// Records a provider (new, status 申请, or a new version of the one with
/// its USCC).
pub async fn record_provider(
    writer: &WriterHandle,
    by: Envelope,
    input: ProviderInput,
) -> Result<Recorded, CommandError> {
    let command = RecordProvider {
        provider_id: Uuid::now_v7(),
        input,
    };
    let result = writer.submit(by.submission(command)).await;
    Recorded::from_result(result, EntryKind::ProviderRegistered)
}

/// Moves a provider to `status` with `reason`.
pub async fn change_provider_status(
    writer: &WriterHandle,
    by: Envelope,
    provider_id: Uuid,
    status: ProviderStatus,
    reason: String,
) -> Written {
    writer
        .submit(by.submission(ChangeProviderStatus {
            provider_id,
            status,
            reason,
        }))
        .await
}

/// A tag for an enterprise over a period, from a source.
pub struct Tag {
    pub tag: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub source: String,
}

/// Tags enterprise `enterprise_id`.
pub async fn tag_enterprise(
    writer: &WriterHandle,
    by: Envelope,
    enterprise_id: Uuid,
    tag: Tag,
) -> Written {
    writer
        .submit(by.submission(TagSpec {
            enterprise_id,
            tag: tag.tag,
            valid_from: tag.valid_from,
            valid_until: tag.valid_until,
            source: tag.source,
        }))
        .await
}

/// A blacklist entry's reason, source and period.
pub struct Listing {
    pub reason: String,
    pub source: String,
    pub effective_from: NaiveDate,
    pub effective_until: Option<NaiveDate>,
}

/// Blacklists a party (an enterprise or a provider).
pub async fn blacklist(
    writer: &WriterHandle,
    by: Envelope,
    party_kind: PartyKind,
    party_id: Uuid,
    listing: Listing,
) -> Written {
    writer
        .submit(by.submission(BlacklistSpec {
            entry_id: Uuid::now_v7(),
            party_kind,
            party_id,
            reason: listing.reason,
            source: listing.source,
            effective_from: listing.effective_from,
            effective_until: listing.effective_until,
        }))
        .await
}

/// Defines functional zone `name` inside `division` (or moves it there).
pub async fn define_zone(
    writer: &WriterHandle,
    by: Envelope,
    name: String,
    division: DivisionCode,
) -> Written {
    writer
        .submit(by.submission(DefineZone { name, division }))
        .await
}

//! What an issued voucher is made of, for the writer and for readers:
//! a programme row parsed, an enterprise's eligibility facts, the blacklist
//! in force, the ledger body and row of an issue, a voucher's claims and
//! its QR text. The issue itself is decided in `commands::voucher::issue`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::Fen;
use crate::domain::eligibility::EnterpriseFacts;
use crate::domain::status::VoucherStatus;
use crate::ledger::body::{EntryBody, pb};
use crate::store::StoreError;
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use crate::store::voucher::{ClaimedSoFar, VoucherRecord};
use crate::token::voucher::VoucherClaims;

/// The eligibility facts of an enterprise on `today`, from its registry
/// rows, its tags and blacklist entries (all periods; those in force are
/// kept) and what it already holds from the programme.
pub fn enterprise_facts(
    enterprise: &EnterpriseRecord,
    tags: Vec<TagRecord>,
    blacklist: Vec<BlacklistRecord>,
    claimed: ClaimedSoFar,
    today: NaiveDate,
) -> EnterpriseFacts {
    let today_date = today;
    let today = today.to_string();
    let in_force = |from: &str, until: Option<&str>| {
        from <= today.as_str() && until.is_none_or(|until| today.as_str() <= until)
    };
    EnterpriseFacts {
        division: enterprise.division.clone(),
        zone: enterprise.zone.clone(),
        size_class: enterprise.size_class,
        tags: tags
            .into_iter()
            .filter(|t| in_force(&t.valid_from, t.valid_until.as_deref()))
            .map(|t| t.tag)
            .collect::<BTreeSet<String>>(),
        blacklist: blacklist_in_force(blacklist, today_date),
        claimed_this_year: Fen::new(claimed.face_value_fen),
        vouchers_this_year: claimed.count,
    }
}

/// The blacklist entries in force on `today`, as (reason, source).
pub fn blacklist_in_force(
    entries: Vec<BlacklistRecord>,
    today: NaiveDate,
) -> Vec<(String, String)> {
    let today = today.to_string();
    entries
        .into_iter()
        .filter(|b| {
            b.effective_from <= today
                && b.effective_until
                    .as_deref()
                    .is_none_or(|until| today.as_str() <= until)
        })
        .map(|b| (b.reason, b.source))
        .collect()
}

/// The ledger body recording an issued voucher.
pub fn issued_body(record: &VoucherRecord) -> pb::VoucherIssued {
    pb::VoucherIssued {
        voucher_id: record.id.to_string(),
        programme_code: record.programme_code.to_string(),
        enterprise_id: record.enterprise_id.to_string(),
        enterprise_uscc: record.enterprise_uscc.clone(),
        face_value_fen: record.face_value_fen,
        remaining_fen: record.remaining_fen,
        valid_from: record.valid_from.to_string(),
        valid_until: record.valid_until.to_string(),
        service_categories: record.service_categories.clone(),
        key_id: record.key_id.clone(),
        signature: record.signature.to_vec(),
        via: record.via.clone(),
        replaces_voucher_id: record
            .replaces_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

/// The voucher row an issuing entry's body describes (`None` for other
/// kinds): what the writer hands back with the receipt.
pub fn issued_record(
    body: &EntryBody,
    sequence: u64,
    recorded_at: crate::domain::Timestamp,
) -> Result<Option<VoucherRecord>, StoreError> {
    let issued = match body {
        EntryBody::VoucherIssued(issued) | EntryBody::VoucherReissued(issued) => issued,
        _ => return Ok(None),
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("issued voucher body: {what}"));
    let uuid = |text: &str| Uuid::parse_str(text).map_err(|_| corrupt("id"));
    Ok(Some(VoucherRecord {
        id: uuid(&issued.voucher_id)?,
        programme_code: crate::domain::ProgrammeCode::parse(&issued.programme_code)
            .map_err(|_| corrupt("programme code"))?,
        enterprise_id: uuid(&issued.enterprise_id)?,
        enterprise_uscc: issued.enterprise_uscc.clone(),
        face_value_fen: issued.face_value_fen,
        remaining_fen: issued.remaining_fen,
        valid_from: issued
            .valid_from
            .parse()
            .map_err(|_| corrupt("valid_from"))?,
        valid_until: issued
            .valid_until
            .parse()
            .map_err(|_| corrupt("valid_until"))?,
        service_categories: issued.service_categories.clone(),
        issued_sequence: sequence,
        key_id: issued.key_id.clone(),
        signature: issued
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("signature"))?,
        status: VoucherStatus::Active,
        via: issued.via.clone(),
        replaces_id: match issued.replaces_voucher_id.as_str() {
            "" => None,
            id => Some(uuid(id)?),
        },
        issued_at_us: recorded_at.as_micros(),
    }))
}

/// The claims a stored voucher's token carries.
pub fn voucher_claims(record: &VoucherRecord) -> Result<VoucherClaims, StoreError> {
    crate::ledger::issued_voucher::claims_of_issue(&issued_body(record), record.issued_sequence)
        .map_err(|what| StoreError::Corrupt(format!("voucher {}: {what}", record.id)))
}

/// A stored voucher's QR text, rebuilt from its row.
pub fn voucher_token(record: &VoucherRecord) -> Result<String, StoreError> {
    Ok(crate::token::voucher::assemble(
        &voucher_claims(record)?,
        &record.signature,
    ))
}

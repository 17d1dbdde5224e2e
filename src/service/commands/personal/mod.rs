//! Personal data under the writer's lock (docs/personal-data.md).
//!
//! Sealing: a subject's data key is read — or made, wrapped by the master
//! key and stored in the transaction of the entry that first needs it — and
//! the field sealed under it, so an entry and its projection row only ever
//! hold the ciphertext. Requests: an admin's erasure request destroys the
//! key (`personal_data_erased`) or, while a retention period runs,
//! restricts the subject's data to storage (`personal_data_restricted`).

mod decide;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::{Draft, InvalidCommand, ToDraft};
use crate::ledger::body::{EntryBody, pb};
use crate::personal::request::{self, Standing};
use crate::personal::sealed::{DataKey, seal};
use crate::service::engine::Decision;
use crate::service::error::{CommandError, Failure};
use crate::store::WriteTx;
use crate::store::personal::SubjectKeyRecord;

/// The subject an enterprise's personal fields belong to.
pub fn enterprise_subject(id: Uuid) -> String {
    format!("enterprise:{id}")
}

/// The subject a user's personal fields (the username in its
/// `user_created` entry) belong to.
pub fn user_subject(id: Uuid) -> String {
    format!("user:{id}")
}

/// The enterprise a subject names, if it is `enterprise:<uuid>`.
pub fn subject_enterprise(subject: &str) -> Option<Uuid> {
    let id = subject.strip_prefix("enterprise:")?;
    // Only the canonical spelling, so one subject has one name.
    Uuid::parse_str(id).ok().filter(|u| u.to_string() == id)
}

/// `subject`'s data key, made now if it has none. An erased subject has
/// none any more, and a restricted one's data may only be stored: nothing
/// personal is recorded under either again.
pub async fn data_key<T: WriteTx>(
    tx: &mut T,
    at: &Decision<'_>,
    subject: &str,
) -> Result<DataKey, Failure> {
    let record = tx.subject_key(subject).await?;
    if let Some(Standing::Restricted { retain_until }) =
        record.as_ref().map(SubjectKeyRecord::standing)
    {
        return Err(CommandError::PersonalDataRestricted {
            retain_until: retain_until.to_string(),
        }
        .into());
    }
    live_key(tx, at, subject, record).await
}

/// The key of a subject that is not erased (`record` its row), made now
/// if it has none.
async fn live_key<T: WriteTx>(
    tx: &mut T,
    at: &Decision<'_>,
    subject: &str,
    record: Option<SubjectKeyRecord>,
) -> Result<DataKey, Failure> {
    let master = at
        .personal_key
        .ok_or(CommandError::PersonalDataKeyUnavailable)?;
    match record {
        Some(SubjectKeyRecord {
            wrapped_key: Some(wrapped),
            ..
        }) => master.unwrap(subject, &wrapped).map_err(|_| {
            tracing::error!(%subject, master_key = master.id(), "a data key does not open under the master key");
            CommandError::PersonalDataKeyUnavailable.into()
        }),
        Some(_) => Err(CommandError::PersonalDataErased.into()),
        None => {
            let key = DataKey::generate();
            tx.insert_subject_key(&SubjectKeyRecord {
                subject: subject.to_string(),
                wrapped_key: Some(master.wrap(subject, &key)),
                master_key_id: master.id().to_string(),
                created_at_us: at.now_us(),
                erased_at_us: None,
                restricted_at_us: None,
                retain_until: None,
            })
            .await?;
            Ok(key)
        }
    }
}

/// `value` of `subject`'s `field` sealed, or `None` for nothing to seal.
pub async fn sealed<T: WriteTx>(
    tx: &mut T,
    at: &Decision<'_>,
    subject: &str,
    field: &str,
    value: Option<&str>,
) -> Result<Option<String>, Failure> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(plain) => {
            let key = data_key(tx, at, subject).await?;
            Ok(Some(seal(&key, subject, field, plain)))
        }
    }
}

/// An admin's erasure request for a subject (PIPL Art. 47): erases the
/// subject's data key, or — while a retention period runs (`retain_until`
/// today or later, or an earlier restriction's) — restricts its data to
/// storage. Which of the two is decided under the lock
/// (`personal::request::decide`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestErasure {
    /// `enterprise:<uuid>`.
    pub subject: String,
    pub legal_basis: String,
    pub requester: String,
    pub reference: String,
    pub retain_until: Option<NaiveDate>,
}

impl ToDraft for RequestErasure {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if subject_enterprise(&self.subject).is_none() {
            return Err(InvalidCommand::PersonalDataRequest(
                "subject must be enterprise:<uuid>".into(),
            ));
        }
        request::check(&self.legal_basis, &self.requester, &self.reference)
            .map_err(|refusal| InvalidCommand::PersonalDataRequest(refusal.to_string()))?;
        Ok(Draft::without_postings(EntryBody::PersonalDataErased(
            pb::PersonalDataRequest {
                subject: self.subject.clone(),
                legal_basis: self.legal_basis.clone(),
                requester: self.requester.clone(),
                reference: self.reference.trim().to_string(),
                retain_until: String::new(),
            },
        )))
    }
}

/// As [`sealed`], except for a subject whose data was erased or is
/// restricted: nothing new is processed under it, so the value asked for is
/// dropped and the text stored before (`kept`, sealed under a key that is
/// gone or withheld) stays as it is.
pub async fn sealed_or_kept<T: WriteTx>(
    tx: &mut T,
    at: &Decision<'_>,
    subject: &str,
    field: &str,
    value: Option<&str>,
    kept: Option<&str>,
) -> Result<Option<String>, Failure> {
    let withheld = tx
        .subject_key(subject)
        .await?
        .is_some_and(|r| r.standing() != Standing::Live);
    if withheld {
        return Ok(kept.map(str::to_string));
    }
    sealed(tx, at, subject, field, value).await
}

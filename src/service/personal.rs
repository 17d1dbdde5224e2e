//! Personal data's use cases (docs/personal-data.md).
//!
//! Reading: a stored field is shown as its subject's standing allows — an
//! erased subject's as erased, a restricted one's as restricted (storage
//! only: nobody reads it), otherwise opened with the subject's data key
//! (or as it is, for legacy plain text) — and every value shown unmasked
//! is recorded in `personal_data_reads`. Requests: an admin's erasure
//! request through the writer, then the erasure list beside the master key.
//! Start-up: the erasure list applied to the database, so a restored
//! backup cannot bring an erased subject back.

use super::commands::personal::RequestErasure;
use super::commands::{Command, Submission};
use super::engine::WriterHandle;
use super::error::{CommandError, UseCaseError};
use crate::domain::Timestamp;
use crate::personal::erasure_list::{ErasureList, ErasureListError};
use crate::personal::request::Standing;
use crate::personal::sealed::{MasterKey, is_sealed, open};
use crate::store::personal::{PersonalRead, SubjectKeyRecord, stored_date};
use crate::store::{Store, StoreError};

/// What a stored personal field shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revealed {
    /// The value (opened, or plain text from before sealing).
    Value(String),
    /// The subject's key was destroyed: 已删除.
    Erased,
    /// Restricted to storage until the date: 受限.
    Restricted { retain_until: String },
    /// This process has no master key (or it does not open the data key).
    Unavailable,
}

impl Revealed {
    /// How a page or document shows what is not a value.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            Revealed::Value(_) => None,
            Revealed::Erased => Some("已删除 / erased"),
            Revealed::Restricted { .. } => Some("受限 / restricted"),
            Revealed::Unavailable => Some("（已加密）/ (sealed)"),
        }
    }
}

/// Who is reading, for the record of unmasked reads.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The user id, or `cli:<command>`.
    pub actor: String,
    pub role: String,
    /// The API route or document.
    pub purpose: String,
}

/// `text` (a stored field of `subject`) as it can be shown.
pub async fn reveal<S: Store>(
    store: &S,
    master: Option<&MasterKey>,
    subject: &str,
    field: &str,
    text: &str,
) -> Result<Revealed, StoreError> {
    let record = store.subject_key(subject).await?;
    match record.as_ref().map(SubjectKeyRecord::standing) {
        Some(Standing::Erased) => return Ok(Revealed::Erased),
        Some(Standing::Restricted { retain_until }) => {
            return Ok(Revealed::Restricted {
                retain_until: retain_until.to_string(),
            });
        }
        _ => {}
    }
    if !is_sealed(text) {
        return Ok(Revealed::Value(text.to_string()));
    }
    let (Some(record), Some(master)) = (record, master) else {
        return Ok(Revealed::Unavailable);
    };
    let wrapped = record.wrapped_key.expect("erased subjects returned above");
    let Ok(key) = master.unwrap(subject, &wrapped) else {
        tracing::error!(%subject, master_key = master.id(), "a data key does not open under the master key");
        return Ok(Revealed::Unavailable);
    };
    Ok(open(&key, subject, field, text).map_or(Revealed::Unavailable, Revealed::Value))
}

/// The record of `reader` reading `subject`'s `field` unmasked now.
pub fn read_by(reader: &Reader, subject: &str, field: &str) -> PersonalRead {
    PersonalRead {
        id: 0,
        read_at_us: Timestamp::now().as_micros(),
        actor: reader.actor.clone(),
        role: reader.role.clone(),
        subject: subject.to_string(),
        field: field.to_string(),
        purpose: reader.purpose.clone(),
    }
}

/// Records the erasure request; after an erasure, lists the subject in
/// `erasures` (beside the master key). Returns the subject's key row.
pub async fn request_erasure<S: Store>(
    store: &S,
    writer: &WriterHandle,
    erasures: Option<&ErasureList>,
    actor: String,
    idempotency_key: String,
    request: RequestErasure,
) -> Result<(SubjectKeyRecord, bool), UseCaseError> {
    let subject = request.subject.clone();
    let receipt = writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::RequestErasure(request),
        })
        .await?;
    let record = store
        .subject_key(&subject)
        .await?
        .expect("a recorded request leaves the subject a key row");
    if let Some(list) = erasures {
        // Failing here leaves the database right; the next start lists
        // what it holds (`apply_erasure_list`).
        let listed = match (
            record.erased_at_us,
            record.restricted_at_us,
            &record.retain_until,
        ) {
            (Some(erased_at_us), _, _) => list.append(&subject, erased_at_us),
            (None, Some(at), Some(until)) => {
                list.append_restriction(&subject, at, stored_date(until))
            }
            _ => Ok(()),
        };
        if let Err(error) = listed {
            tracing::error!(%error, "a request could not be added to the erasure list");
        }
    }
    Ok((record, receipt.replayed))
}

/// Subjects erased per sweep at most (the rest at the next).
const RETENTION_SWEEP_MAX: u32 = 500;

/// Erases every restricted subject whose retention period ended before
/// `now`'s date (`serve` runs it hourly): the request is the programme
/// office's, on the ground that the retention period ended
/// (`service_ended`), keyed per subject so that several instances record
/// it once. A subject whose period the writer's clock still counts as
/// running is left for the next sweep. Returns the subjects erased.
pub async fn erase_when_retention_ended<S: Store>(
    store: &S,
    writer: &WriterHandle,
    erasures: Option<&ErasureList>,
    now: Timestamp,
) -> Result<Vec<String>, UseCaseError> {
    let today = now.cst_date().to_string();
    let mut erased = Vec::new();
    for subject in store.retention_ended(&today, RETENTION_SWEEP_MAX).await? {
        let request = RequestErasure {
            subject: subject.clone(),
            legal_basis: "service_ended".into(),
            requester: "programme_office".into(),
            reference: "retention period ended".into(),
            retain_until: None,
        };
        let key = format!("retention-ended:{subject}");
        match request_erasure(
            store,
            writer,
            erasures,
            "system:retention".into(),
            key,
            request,
        )
        .await
        {
            Ok(_) => erased.push(subject),
            Err(UseCaseError::Command(
                CommandError::PersonalDataRetentionRunning { .. }
                | CommandError::PersonalDataErased,
            )) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(erased)
}

/// What applying the erasure list did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListApplied {
    /// Listed subjects whose key the database still held: destroyed now.
    pub shredded: Vec<String>,
    /// Listed restrictions the database did not hold (as long): held now.
    pub restricted: Vec<String>,
    /// Erasures and restrictions in the database but missing from the
    /// list: added.
    pub listed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyListError {
    #[error(transparent)]
    List(#[from] ErasureListError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes the database and the erasure list agree: every listed subject's
/// key destroyed, every listed restriction held (to its latest day), and
/// every erasure or restriction the database holds listed. Run at every
/// start and after `restore`.
pub async fn apply_erasure_list<S: Store>(
    store: &S,
    list: &ErasureList,
) -> Result<ListApplied, ApplyListError> {
    let listed = list.read()?;
    let mut applied = ListApplied::default();
    for (subject, erased_at_us) in &listed.erased {
        if store.shred_subject_key(subject, *erased_at_us).await? {
            tracing::warn!(%subject, "the erasure list destroyed a key this database still held (a restored backup)");
            applied.shredded.push(subject.clone());
        }
    }
    for (subject, (at, until)) in &listed.restricted {
        if listed.erased.contains_key(subject) {
            continue;
        }
        if store
            .hold_restriction(subject, *at, &until.to_string())
            .await?
        {
            tracing::warn!(%subject, "the erasure list restricted a subject this database did not (a restored backup)");
            applied.restricted.push(subject.clone());
        }
    }
    for (subject, erased_at_us) in store.erased_subjects().await? {
        if !listed.erased.contains_key(&subject) {
            list.append(&subject, erased_at_us)?;
            applied.listed += 1;
        }
    }
    for (subject, at, until) in store.restricted_subjects().await? {
        let until = stored_date(&until);
        if listed
            .restricted
            .get(&subject)
            .is_none_or(|(_, held)| *held < until)
        {
            list.append_restriction(&subject, at, until)?;
            applied.listed += 1;
        }
    }
    Ok(applied)
}

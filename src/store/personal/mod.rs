//! Storage for personal data keys and the record of unmasked reads
//! (docs/personal-data.md): one wrapped data key per subject, written by
//! the ledger writer in the transaction of the entry that first seals a
//! field of the subject, restricted or destroyed by the entries that say
//! so; and the append-only `personal_data_reads`.

pub(super) mod sql;

use std::future::Future;

use super::StoreError;
use crate::personal::request::Standing;

/// A `subject_keys` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKeyRecord {
    /// `enterprise:<id>`.
    pub subject: String,
    /// The data key wrapped by the master key; `None` once erased.
    pub wrapped_key: Option<Vec<u8>>,
    pub master_key_id: String,
    pub created_at_us: i64,
    pub erased_at_us: Option<i64>,
    pub restricted_at_us: Option<i64>,
    /// CST date (YYYY-MM-DD) a restriction's retention runs to.
    pub retain_until: Option<String>,
}

impl SubjectKeyRecord {
    /// The subject's standing as this row records it: erased (no key),
    /// restricted (until `retain_until`), or live.
    pub fn standing(&self) -> Standing {
        if self.wrapped_key.is_none() {
            return Standing::Erased;
        }
        match (self.restricted_at_us, &self.retain_until) {
            (Some(_), Some(until)) => Standing::Restricted {
                retain_until: stored_date(until),
            },
            _ => Standing::Live,
        }
    }
}

/// A `retain_until` as stored: always written from a date.
pub fn stored_date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("retain_until is written as a date")
}

/// One unmasked read of a subject's personal field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalRead {
    /// Assigned by the database (0 when recording).
    pub id: i64,
    pub read_at_us: i64,
    /// The user id, or `cli:<command>` for the command line.
    pub actor: String,
    pub role: String,
    pub subject: String,
    pub field: String,
    /// What the reader was doing: the API route or the export.
    pub purpose: String,
}

/// Reads listed per page at most.
pub const READS_PAGE_MAX: u32 = 500;

/// A data key that did not unwrap under the old master key during a
/// rotation (the rotation changed nothing).
#[derive(Debug, thiserror::Error)]
#[error("the data key of {subject} does not open under the old master key")]
pub struct RewrapFailed {
    pub subject: String,
}

pub trait PersonalStore {
    fn subject_key(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Option<SubjectKeyRecord>, StoreError>> + Send;
    /// Re-wraps every live data key with `rewrap` (subject, wrapped →
    /// wrapped under the new master key `new_master_id`), all in one
    /// transaction: either every key moves to the new master key or none
    /// does. Returns how many moved.
    fn rewrap_subject_keys(
        &self,
        rewrap: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync,
        new_master_id: &str,
    ) -> impl Future<Output = Result<Result<u64, RewrapFailed>, StoreError>> + Send;
    /// Every erased subject with the time of its erasure.
    fn erased_subjects(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
    /// Destroys `subject`'s key outside the writer (the erasure list
    /// applied to a restored database); true when a key was destroyed or
    /// the subject was not known as erased before.
    fn shred_subject_key(
        &self,
        subject: &str,
        erased_at_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Up to `limit` restricted subjects whose retention ended before
    /// `today` (YYYY-MM-DD) and whose key still exists, by subject.
    fn retention_ended(
        &self,
        today: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Every restricted subject whose key still exists: (subject,
    /// restricted_at_us, retain_until).
    fn restricted_subjects(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, i64, String)>, StoreError>> + Send;
    /// Holds a restriction outside the writer (the erasure list applied to
    /// a restored database): the subject's key row, if it has a key, is
    /// restricted until at least `retain_until`; true when that changed it.
    fn hold_restriction(
        &self,
        subject: &str,
        restricted_at_us: i64,
        retain_until: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records unmasked reads (one statement per read, one transaction).
    fn record_personal_reads(
        &self,
        reads: &[PersonalRead],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads, newest first: of `subject` if given, with ids below
    /// `before` if given, at most `limit` (≤ `READS_PAGE_MAX`).
    fn personal_reads(
        &self,
        subject: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PersonalRead>, StoreError>> + Send;
}

pub trait PersonalTx {
    fn subject_key(
        &mut self,
        subject: &str,
    ) -> impl Future<Output = Result<Option<SubjectKeyRecord>, StoreError>> + Send;
    fn insert_subject_key(
        &mut self,
        record: &SubjectKeyRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Marks the subject restricted until `retain_until` (its row exists).
    fn restrict_subject_key(
        &mut self,
        subject: &str,
        restricted_at_us: i64,
        retain_until: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Destroys the subject's key (a row is made if it had none).
    fn erase_subject_key(
        &mut self,
        subject: &str,
        erased_at_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

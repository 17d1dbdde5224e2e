//! Storage for personal data keys (docs/personal-data.md): one wrapped data
//! key per subject. Written by the ledger writer in the transaction of the
//! entry that first seals a field of the subject (and, later, by erasure).

pub(super) mod sql;

use std::future::Future;

use super::StoreError;

/// A `subject_keys` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKeyRecord {
    /// `enterprise:<id>` or `user:<id>`.
    pub subject: String,
    /// The data key wrapped by the master key; `None` once erased.
    pub wrapped_key: Option<Vec<u8>>,
    pub master_key_id: String,
    pub created_at_us: i64,
    pub erased_at_us: Option<i64>,
    pub restricted_at_us: Option<i64>,
}

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
}

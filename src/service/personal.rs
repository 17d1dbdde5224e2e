//! Reading personal fields (docs/personal-data.md "Who sees what"): a sealed
//! field is opened with its subject's data key, unwrapped by the master
//! key; an erased subject's field reads as erased; a field recorded before
//! sealing (legacy plain text) reads as it is.

use crate::personal::sealed::{MasterKey, is_sealed, open};
use crate::store::{Store, StoreError};

/// What a stored personal field shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revealed {
    /// The value (opened, or plain text from before sealing).
    Value(String),
    /// The subject's key was destroyed: 已删除.
    Erased,
    /// This process has no master key (or it does not open the data key).
    Unavailable,
}

/// `text` (a stored field of `subject`) as it can be shown.
pub async fn reveal<S: Store>(
    store: &S,
    master: Option<&MasterKey>,
    subject: &str,
    field: &str,
    text: &str,
) -> Result<Revealed, StoreError> {
    if !is_sealed(text) {
        return Ok(Revealed::Value(text.to_string()));
    }
    let Some(record) = store.subject_key(subject).await? else {
        return Ok(Revealed::Unavailable);
    };
    let Some(wrapped) = record.wrapped_key else {
        return Ok(Revealed::Erased);
    };
    let Some(master) = master else {
        return Ok(Revealed::Unavailable);
    };
    let Ok(key) = master.unwrap(subject, &wrapped) else {
        tracing::error!(%subject, master_key = master.id(), "a data key does not open under the master key");
        return Ok(Revealed::Unavailable);
    };
    Ok(open(&key, subject, field, text).map_or(Revealed::Unavailable, Revealed::Value))
}

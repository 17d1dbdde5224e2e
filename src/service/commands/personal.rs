//! Sealing personal fields under the writer's lock (docs/personal-data.md):
//! a subject's data key is read — or made, wrapped by the master key and
//! stored in the transaction of the entry that first needs it — and the
//! field sealed under it, so an entry and its projection row only ever hold
//! the ciphertext.

use uuid::Uuid;

use crate::personal::sealed::{DataKey, seal};
use crate::service::engine::Decision;
use crate::service::error::{CommandError, Failure};
use crate::store::WriteTx;
use crate::store::personal::SubjectKeyRecord;

/// The subject an enterprise's personal fields belong to.
pub fn enterprise_subject(id: Uuid) -> String {
    format!("enterprise:{id}")
}

/// `subject`'s data key, made now if it has none. An erased subject has
/// none any more: nothing personal is recorded under it again.
pub async fn data_key<T: WriteTx>(
    tx: &mut T,
    at: &Decision<'_>,
    subject: &str,
) -> Result<DataKey, Failure> {
    let master = at
        .personal_key
        .ok_or(CommandError::PersonalDataKeyUnavailable)?;
    match tx.subject_key(subject).await? {
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

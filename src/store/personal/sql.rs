//! Portable SQL for `PersonalStore` and `PersonalTx`, instantiated per
//! backend by `impl_personal_store!`.

use crate::store::personal::SubjectKeyRecord;

pub type SubjectKeyRow = (
    String,
    Option<Vec<u8>>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

pub const SELECT_SUBJECT_KEY: &str = "SELECT subject, wrapped_key, master_key_id, \
     created_at_us, erased_at_us, restricted_at_us FROM subject_keys WHERE subject = $1";
pub const SELECT_LIVE_KEYS: &str = "SELECT subject, wrapped_key FROM subject_keys \
     WHERE wrapped_key IS NOT NULL ORDER BY subject";
pub const UPDATE_WRAPPED: &str =
    "UPDATE subject_keys SET wrapped_key = $2, master_key_id = $3 WHERE subject = $1";
pub const INSERT_SUBJECT_KEY: &str = "INSERT INTO subject_keys (subject, wrapped_key, \
     master_key_id, created_at_us, erased_at_us, restricted_at_us) VALUES ($1, $2, $3, $4, $5, $6)";

pub fn subject_key(row: SubjectKeyRow) -> SubjectKeyRecord {
    let (subject, wrapped_key, master_key_id, created_at_us, erased_at_us, restricted_at_us) = row;
    SubjectKeyRecord {
        subject,
        wrapped_key,
        master_key_id,
        created_at_us,
        erased_at_us,
        restricted_at_us,
    }
}

/// Implements `PersonalStore` for `$store` (field `pool`) and `PersonalTx`
/// for `$tx` (field `tx`); needs a module function `map_err`.
macro_rules! impl_personal_store {
    ($store:ident, $tx:ident) => {
        impl $crate::store::personal::PersonalStore for $store {
            async fn subject_key(
                &self,
                subject: &str,
            ) -> Result<Option<$crate::store::personal::SubjectKeyRecord>, $crate::store::StoreError>
            {
                use $crate::store::personal::sql;
                let row: Option<sql::SubjectKeyRow> = sqlx::query_as(sql::SELECT_SUBJECT_KEY)
                    .bind(subject)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(sql::subject_key))
            }

            async fn rewrap_subject_keys(
                &self,
                rewrap: impl Fn(&str, &[u8]) -> Option<Vec<u8>> + Send + Sync,
                new_master_id: &str,
            ) -> Result<Result<u64, $crate::store::personal::RewrapFailed>, $crate::store::StoreError>
            {
                use $crate::store::personal::sql;
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(sql::SELECT_LIVE_KEYS)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let mut moved = 0;
                for (subject, wrapped) in rows {
                    let Some(rewrapped) = rewrap(&subject, &wrapped) else {
                        // Dropping the transaction rolls every row back.
                        return Ok(Err($crate::store::personal::RewrapFailed { subject }));
                    };
                    sqlx::query(sql::UPDATE_WRAPPED)
                        .bind(subject.as_str())
                        .bind(rewrapped)
                        .bind(new_master_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    moved += 1;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(Ok(moved))
            }
        }

        impl $crate::store::personal::PersonalTx for $tx {
            async fn subject_key(
                &mut self,
                subject: &str,
            ) -> Result<Option<$crate::store::personal::SubjectKeyRecord>, $crate::store::StoreError>
            {
                use $crate::store::personal::sql;
                let row: Option<sql::SubjectKeyRow> = sqlx::query_as(sql::SELECT_SUBJECT_KEY)
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(sql::subject_key))
            }

            async fn insert_subject_key(
                &mut self,
                r: &$crate::store::personal::SubjectKeyRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::personal::sql::INSERT_SUBJECT_KEY)
                    .bind(r.subject.as_str())
                    .bind(r.wrapped_key.as_deref())
                    .bind(r.master_key_id.as_str())
                    .bind(r.created_at_us)
                    .bind(r.erased_at_us)
                    .bind(r.restricted_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_personal_store;

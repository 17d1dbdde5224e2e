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

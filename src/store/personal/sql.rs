//! Portable SQL for `PersonalStore` and `PersonalTx`, instantiated per
//! backend by `impl_personal_store!`.

use crate::store::personal::{PersonalRead, SubjectKeyRecord};

pub type SubjectKeyRow = (
    String,
    Option<Vec<u8>>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);
pub type ReadRow = (i64, i64, String, String, String, String, String);

pub const SELECT_SUBJECT_KEY: &str = "SELECT subject, wrapped_key, master_key_id, \
     created_at_us, erased_at_us, restricted_at_us, retain_until FROM subject_keys WHERE subject = $1";
pub const SELECT_LIVE_KEYS: &str = "SELECT subject, wrapped_key FROM subject_keys \
     WHERE wrapped_key IS NOT NULL ORDER BY subject";
pub const SELECT_ERASED: &str = "SELECT subject, erased_at_us FROM subject_keys \
     WHERE erased_at_us IS NOT NULL ORDER BY subject";
pub const SELECT_RETENTION_ENDED: &str = "SELECT subject FROM subject_keys \
     WHERE restricted_at_us IS NOT NULL AND wrapped_key IS NOT NULL AND retain_until < $1 \
     ORDER BY subject LIMIT $2";
pub const SELECT_RESTRICTED: &str = "SELECT subject, restricted_at_us, retain_until \
     FROM subject_keys WHERE restricted_at_us IS NOT NULL AND wrapped_key IS NOT NULL \
     AND retain_until IS NOT NULL ORDER BY subject";
pub const HOLD_RESTRICTION: &str = "UPDATE subject_keys SET \
     restricted_at_us = COALESCE(restricted_at_us, $2), retain_until = $3 \
     WHERE subject = $1 AND wrapped_key IS NOT NULL \
     AND (restricted_at_us IS NULL OR retain_until IS NULL OR retain_until < $3)";
pub const UPDATE_WRAPPED: &str =
    "UPDATE subject_keys SET wrapped_key = $2, master_key_id = $3 WHERE subject = $1";
pub const INSERT_SUBJECT_KEY: &str = "INSERT INTO subject_keys (subject, wrapped_key, \
     master_key_id, created_at_us, erased_at_us, restricted_at_us, retain_until) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const RESTRICT: &str =
    "UPDATE subject_keys SET restricted_at_us = $2, retain_until = $3 WHERE subject = $1";
/// Destroys a key, or records a subject with none as erased; an erased
/// subject keeps its first erasure time.
pub const ERASE: &str = "INSERT INTO subject_keys (subject, wrapped_key, master_key_id, \
     created_at_us, erased_at_us) VALUES ($1, NULL, '', $2, $2) \
     ON CONFLICT (subject) DO UPDATE SET wrapped_key = NULL, \
     erased_at_us = COALESCE(subject_keys.erased_at_us, excluded.erased_at_us)";
/// As `ERASE`, changing nothing for a subject erased already.
pub const SHRED: &str = "INSERT INTO subject_keys (subject, wrapped_key, master_key_id, \
     created_at_us, erased_at_us) VALUES ($1, NULL, '', $2, $2) \
     ON CONFLICT (subject) DO UPDATE SET wrapped_key = NULL, erased_at_us = excluded.erased_at_us \
     WHERE subject_keys.erased_at_us IS NULL";
pub const INSERT_READ: &str = "INSERT INTO personal_data_reads (read_at_us, actor, role, \
     subject, field, purpose) VALUES ($1, $2, $3, $4, $5, $6)";
pub const SELECT_READS: &str = "SELECT id, read_at_us, actor, role, subject, field, purpose \
     FROM personal_data_reads WHERE ($1 IS NULL OR subject = $1) AND ($2 IS NULL OR id < $2) \
     ORDER BY id DESC LIMIT $3";

pub fn subject_key(row: SubjectKeyRow) -> SubjectKeyRecord {
    let (
        subject,
        wrapped_key,
        master_key_id,
        created_at_us,
        erased_at_us,
        restricted_at_us,
        retain_until,
    ) = row;
    SubjectKeyRecord {
        subject,
        wrapped_key,
        master_key_id,
        created_at_us,
        erased_at_us,
        restricted_at_us,
        retain_until,
    }
}

pub fn read(row: ReadRow) -> PersonalRead {
    let (id, read_at_us, actor, role, subject, field, purpose) = row;
    PersonalRead {
        id,
        read_at_us,
        actor,
        role,
        subject,
        field,
        purpose,
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

            async fn erased_subjects(&self) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::personal::sql::SELECT_ERASED)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn shred_subject_key(
                &self,
                subject: &str,
                erased_at_us: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::personal::sql::SHRED)
                    .bind(subject)
                    .bind(erased_at_us)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn retention_ended(
                &self,
                today: &str,
                limit: u32,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                sqlx::query_scalar($crate::store::personal::sql::SELECT_RETENTION_ENDED)
                    .bind(today)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn restricted_subjects(
                &self,
            ) -> Result<Vec<(String, i64, String)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::personal::sql::SELECT_RESTRICTED)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn hold_restriction(
                &self,
                subject: &str,
                restricted_at_us: i64,
                retain_until: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query($crate::store::personal::sql::HOLD_RESTRICTION)
                    .bind(subject)
                    .bind(restricted_at_us)
                    .bind(retain_until)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn record_personal_reads(
                &self,
                reads: &[$crate::store::personal::PersonalRead],
            ) -> Result<(), $crate::store::StoreError> {
                if reads.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for r in reads {
                    sqlx::query($crate::store::personal::sql::INSERT_READ)
                        .bind(r.read_at_us)
                        .bind(r.actor.as_str())
                        .bind(r.role.as_str())
                        .bind(r.subject.as_str())
                        .bind(r.field.as_str())
                        .bind(r.purpose.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn personal_reads(
                &self,
                subject: Option<&str>,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::store::personal::PersonalRead>, $crate::store::StoreError> {
                use $crate::store::personal::sql;
                let limit = limit.clamp(1, $crate::store::personal::READS_PAGE_MAX);
                let rows: Vec<sql::ReadRow> = sqlx::query_as(sql::SELECT_READS)
                    .bind(subject)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(rows.into_iter().map(sql::read).collect())
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
                    .bind(r.retain_until.as_deref())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn restrict_subject_key(
                &mut self,
                subject: &str,
                restricted_at_us: i64,
                retain_until: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::personal::sql::RESTRICT)
                    .bind(subject)
                    .bind(restricted_at_us)
                    .bind(retain_until)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn erase_subject_key(
                &mut self,
                subject: &str,
                erased_at_us: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::personal::sql::ERASE)
                    .bind(subject)
                    .bind(erased_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_personal_store;

//! Portable SQL for `HoldStore` and `HoldTx`, instantiated per backend by
//! `impl_hold_store!`.

use crate::store::StoreError;
use crate::store::hold::HoldRecord;
use crate::store::shared::{to_u64, uuid};

pub type HoldRow = (String, String, String, i64, i64, Option<i64>);

/// The newest hold of a voucher.
pub const SELECT_HOLD_OF: &str = "SELECT presentation_nonce, voucher_id, provider_id, \
     expires_at_us, held_sequence, ended_sequence FROM voucher_holds WHERE voucher_id = $1 \
     ORDER BY held_sequence DESC LIMIT 1";

pub const SELECT_HOLDS_AFTER: &str = "SELECT presentation_nonce, voucher_id, provider_id, \
     expires_at_us, held_sequence, ended_sequence FROM voucher_holds \
     WHERE presentation_nonce > $1 ORDER BY presentation_nonce LIMIT $2";

/// Open holds of a list of vouchers (the list follows).
pub const SELECT_OPEN_HOLDS_IN: &str = "SELECT presentation_nonce, voucher_id, provider_id, \
     expires_at_us, held_sequence, ended_sequence FROM voucher_holds \
     WHERE ended_sequence IS NULL AND voucher_id IN ";

/// Voucher ids per IN list: far below either backend's bind limit.
pub const IDS_PER_STATEMENT: usize = 400;

pub const INSERT_HOLD: &str = "INSERT INTO voucher_holds (presentation_nonce, voucher_id, \
     provider_id, expires_at_us, held_sequence, ended_sequence) VALUES ($1, $2, $3, $4, $5, $6)";

pub const END_HOLDS: &str = "UPDATE voucher_holds SET ended_sequence = $2 \
     WHERE voucher_id = $1 AND ended_sequence IS NULL";

pub const END_PROVIDER_HOLDS: &str = "UPDATE voucher_holds SET ended_sequence = $2 \
     WHERE voucher_id = $1 AND ended_sequence IS NULL AND provider_id = $3";

pub fn hold(row: HoldRow) -> Result<HoldRecord, StoreError> {
    let (presentation_nonce, voucher_id, provider_id, expires_at_us, held, ended) = row;
    Ok(HoldRecord {
        voucher_id: uuid(&voucher_id)?,
        provider_id: uuid(&provider_id)?,
        expires_at_us,
        held_sequence: to_u64(held, "hold sequence")?,
        ended_sequence: ended.map(|s| to_u64(s, "hold end sequence")).transpose()?,
        presentation_nonce,
    })
}

/// Implements `HoldStore` for `$store` (field `pool`) and `HoldTx` for
/// `$tx` (field `tx`); needs a module function `map_err`.
macro_rules! impl_hold_store {
    ($store:ident, $tx:ident, $db:ident) => {
        impl $crate::store::hold::HoldStore for $store {
            async fn hold_of(
                &self,
                voucher_id: uuid::Uuid,
            ) -> Result<Option<$crate::store::hold::HoldRecord>, $crate::store::StoreError> {
                use $crate::store::hold::sql;
                let row: Option<sql::HoldRow> = sqlx::query_as(sql::SELECT_HOLD_OF)
                    .bind(voucher_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(sql::hold).transpose()
            }

            async fn holds_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::hold::HoldRecord>, $crate::store::StoreError> {
                use $crate::store::hold::sql;
                let limit = limit.clamp(1, $crate::store::hold::HOLD_PAGE_MAX);
                let rows: Vec<sql::HoldRow> = sqlx::query_as(sql::SELECT_HOLDS_AFTER)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::hold).collect()
            }
        }

        impl $crate::store::hold::HoldTx for $tx {
            async fn hold_of(
                &mut self,
                voucher_id: uuid::Uuid,
            ) -> Result<Option<$crate::store::hold::HoldRecord>, $crate::store::StoreError> {
                use $crate::store::hold::sql;
                let row: Option<sql::HoldRow> = sqlx::query_as(sql::SELECT_HOLD_OF)
                    .bind(voucher_id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(sql::hold).transpose()
            }

            async fn open_holds_of(
                &mut self,
                voucher_ids: &[uuid::Uuid],
            ) -> Result<Vec<$crate::store::hold::HoldRecord>, $crate::store::StoreError> {
                use $crate::store::hold::sql;
                let mut found = Vec::new();
                for chunk in voucher_ids.chunks(sql::IDS_PER_STATEMENT) {
                    let mut builder =
                        sqlx::QueryBuilder::<sqlx::$db>::new(sql::SELECT_OPEN_HOLDS_IN);
                    builder.push_tuples(chunk, |mut row, id| {
                        row.push_bind(id.to_string());
                    });
                    let rows: Vec<sql::HoldRow> = builder
                        .build_query_as()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    for row in rows {
                        found.push(sql::hold(row)?);
                    }
                }
                Ok(found)
            }

            async fn insert_hold(
                &mut self,
                hold: &$crate::store::hold::HoldRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::hold::sql::INSERT_HOLD)
                    .bind(hold.presentation_nonce.as_str())
                    .bind(hold.voucher_id.to_string())
                    .bind(hold.provider_id.to_string())
                    .bind(hold.expires_at_us)
                    .bind($crate::store::shared::to_i64(hold.held_sequence))
                    .bind(hold.ended_sequence.map($crate::store::shared::to_i64))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn end_holds(
                &mut self,
                voucher_id: uuid::Uuid,
                provider: Option<uuid::Uuid>,
                sequence: u64,
            ) -> Result<u64, $crate::store::StoreError> {
                use $crate::store::hold::sql;
                let sequence = $crate::store::shared::to_i64(sequence);
                let query = match provider {
                    Some(provider) => sqlx::query(sql::END_PROVIDER_HOLDS)
                        .bind(voucher_id.to_string())
                        .bind(sequence)
                        .bind(provider.to_string()),
                    None => sqlx::query(sql::END_HOLDS)
                        .bind(voucher_id.to_string())
                        .bind(sequence),
                };
                Ok(query
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use impl_hold_store;

//! Portable SQL for `VoucherStore` and `VoucherTx`, instantiated per
//! backend by `impl_voucher_store!`.

use uuid::Uuid;

use crate::domain::status::VoucherStatus;
use crate::store::StoreError;
use crate::store::shared::{status, uuid};
use crate::store::voucher::{VoucherFilter, VoucherRecord};

pub const VOUCHER_COLUMNS: &str = "id, programme_code, enterprise_id, enterprise_uscc, \
     face_value_fen, remaining_fen, valid_from, valid_until, categories_json, issued_sequence, \
     key_id, signature, status, via, replaces_id, issued_at_us";

pub type VoucherRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    String,
    Vec<u8>,
    String,
    String,
    Option<String>,
    i64,
);

pub const SELECT_CLAIMED_SO_FAR: &str = "SELECT CAST(COALESCE(SUM(face_value_fen), 0) AS BIGINT), \
     COUNT(*) FROM vouchers WHERE enterprise_id = $1 AND programme_code = $2 \
     AND status NOT IN ('reissued', 'revoked')";

pub const SELECT_KEY_HORIZONS: &str =
    "SELECT key_id, MAX(valid_until) FROM vouchers GROUP BY key_id ORDER BY key_id";

pub const UPDATE_STATUS: &str = "UPDATE vouchers SET status = $2, updated_at_us = $3 WHERE id = $1";

pub fn claimed((face_value_fen, count): (i64, i64)) -> crate::store::voucher::ClaimedSoFar {
    crate::store::voucher::ClaimedSoFar {
        face_value_fen,
        count: u32::try_from(count).unwrap_or(u32::MAX),
    }
}

/// One `(enterprise id, face value, count)` row of a claimed-so-far query.
pub fn claimed_of(
    (id, face_value_fen, count): (String, i64, i64),
) -> Result<(Uuid, crate::store::voucher::ClaimedSoFar), StoreError> {
    Ok((uuid(&id)?, claimed((face_value_fen, count))))
}

/// Vouchers as parallel columns, for array-bound bulk inserts.
pub struct VoucherColumns {
    pub ids: Vec<String>,
    pub programme_codes: Vec<String>,
    pub enterprise_ids: Vec<String>,
    pub enterprise_usccs: Vec<String>,
    pub face_values_fen: Vec<i64>,
    pub remaining_fen: Vec<i64>,
    pub valid_from: Vec<String>,
    pub valid_until: Vec<String>,
    pub categories_json: Vec<String>,
    pub issued_sequences: Vec<i64>,
    pub key_ids: Vec<String>,
    pub signatures: Vec<Vec<u8>>,
    pub statuses: Vec<String>,
    pub vias: Vec<String>,
    pub replaces_ids: Vec<Option<String>>,
    pub issued_at_us: Vec<i64>,
}

impl VoucherColumns {
    pub fn of(records: &[VoucherRecord]) -> VoucherColumns {
        let column = |f: fn(&VoucherRecord) -> String| records.iter().map(f).collect::<Vec<_>>();
        VoucherColumns {
            ids: column(|v| v.id.to_string()),
            programme_codes: column(|v| v.programme_code.to_string()),
            enterprise_ids: column(|v| v.enterprise_id.to_string()),
            enterprise_usccs: column(|v| v.enterprise_uscc.clone()),
            face_values_fen: records.iter().map(|v| v.face_value_fen).collect(),
            remaining_fen: records.iter().map(|v| v.remaining_fen).collect(),
            valid_from: column(|v| v.valid_from.to_string()),
            valid_until: column(|v| v.valid_until.to_string()),
            categories_json: column(categories_json),
            issued_sequences: records.iter().map(|v| v.issued_sequence as i64).collect(),
            key_ids: column(|v| v.key_id.clone()),
            signatures: records.iter().map(|v| v.signature.to_vec()).collect(),
            statuses: column(|v| v.status.to_string()),
            vias: column(|v| v.via.clone()),
            replaces_ids: records
                .iter()
                .map(|v| v.replaces_id.map(|id| id.to_string()))
                .collect(),
            issued_at_us: records.iter().map(|v| v.issued_at_us).collect(),
        }
    }
}

/// The stored form of a voucher's service categories.
pub fn categories_json(voucher: &VoucherRecord) -> String {
    serde_json::to_string(&voucher.service_categories).expect("strings serialise")
}

pub fn voucher(row: VoucherRow) -> Result<VoucherRecord, StoreError> {
    let (
        id,
        programme_code,
        enterprise_id,
        enterprise_uscc,
        face_value_fen,
        remaining_fen,
        valid_from,
        valid_until,
        categories_json,
        issued_sequence,
        key_id,
        signature,
        stored_status,
        via,
        replaces_id,
        issued_at_us,
    ) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("voucher {id}: {what}"));
    Ok(VoucherRecord {
        id: uuid(&id)?,
        programme_code: crate::store::shared::programme_code(&programme_code)?,
        enterprise_id: uuid(&enterprise_id)?,
        enterprise_uscc,
        face_value_fen,
        remaining_fen,
        valid_from: valid_from.parse().map_err(|_| corrupt("valid_from"))?,
        valid_until: valid_until.parse().map_err(|_| corrupt("valid_until"))?,
        service_categories: serde_json::from_str(&categories_json)
            .map_err(|_| corrupt("categories"))?,
        issued_sequence: u64::try_from(issued_sequence).map_err(|_| corrupt("sequence"))?,
        key_id,
        signature: signature
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("signature"))?,
        status: status(
            VoucherStatus::parse,
            &stored_status,
            format_args!("voucher {id}"),
        )?,
        via,
        replaces_id: replaces_id.as_deref().map(uuid).transpose()?,
        issued_at_us,
    })
}

/// The filtered keyset query for `vouchers_after`.
pub fn page_query<'a, DB: sqlx::Database>(
    filter: &VoucherFilter,
    after: Option<Uuid>,
    limit: u32,
) -> sqlx::QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let filters = [
        (
            "enterprise_id",
            filter.enterprise_id.map(|id| id.to_string()),
        ),
        ("programme_code", filter.programme_code.clone()),
        ("key_id", filter.key_id.clone()),
        ("status", filter.status.map(|s| s.to_string())),
    ];
    let limit = i64::from(limit.clamp(1, crate::store::voucher::VOUCHER_PAGE_MAX));
    crate::store::shared::keyset_page(VOUCHER_COLUMNS, "vouchers", after, filters, limit)
}

/// The voucher whose `$column` equals `$value`, through `$executor` (the
/// pool, or the writer's transaction). Expands inside the store impls.
macro_rules! voucher_where {
    ($executor:expr, $column:literal, $value:expr) => {{
        use $crate::store::voucher::sql;
        $crate::store::shared::row_where!(
            $executor,
            "vouchers",
            sql::VOUCHER_COLUMNS,
            $column,
            $value,
            sql::VoucherRow,
            sql::voucher
        )
    }};
}
pub(crate) use voucher_where;

/// What an enterprise holds from a programme, through `$executor`.
macro_rules! claimed_so_far {
    ($executor:expr, $enterprise_id:expr, $programme_code:expr) => {{
        let row: (i64, i64) = sqlx::query_as($crate::store::voucher::sql::SELECT_CLAIMED_SO_FAR)
            .bind($enterprise_id.to_string())
            .bind($programme_code)
            .fetch_one($executor)
            .await
            .map_err(map_err)?;
        Ok($crate::store::voucher::sql::claimed(row))
    }};
}
pub(crate) use claimed_so_far;

macro_rules! impl_voucher_store {
    ($store:ident, $tx:ident) => {
        impl $crate::store::voucher::VoucherStore for $store {
            async fn voucher(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::voucher::VoucherRecord>, $crate::store::StoreError>
            {
                $crate::store::voucher::sql::voucher_where!(&self.pool, "id", id.to_string())
            }

            async fn voucher_issued_at(
                &self,
                sequence: u64,
            ) -> Result<Option<$crate::store::voucher::VoucherRecord>, $crate::store::StoreError>
            {
                let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
                $crate::store::voucher::sql::voucher_where!(&self.pool, "issued_sequence", sequence)
            }

            async fn claimed_so_far(
                &self,
                enterprise_id: uuid::Uuid,
                programme_code: &str,
            ) -> Result<$crate::store::voucher::ClaimedSoFar, $crate::store::StoreError> {
                $crate::store::voucher::sql::claimed_so_far!(
                    &self.pool,
                    enterprise_id,
                    programme_code
                )
            }

            async fn vouchers_after(
                &self,
                filter: &$crate::store::voucher::VoucherFilter,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> Result<Vec<$crate::store::voucher::VoucherRecord>, $crate::store::StoreError> {
                use $crate::store::voucher::sql;
                let mut query = sql::page_query(filter, after, limit);
                let rows: Vec<sql::VoucherRow> = query
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::voucher).collect()
            }

            async fn key_voucher_horizons(
                &self,
            ) -> Result<Vec<(String, String)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::voucher::sql::SELECT_KEY_HORIZONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }
        }

        impl $crate::store::voucher::VoucherTx for $tx {
            async fn voucher(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::voucher::VoucherRecord>, $crate::store::StoreError>
            {
                $crate::store::voucher::sql::voucher_where!(&mut *self.tx, "id", id.to_string())
            }

            async fn claimed_so_far(
                &mut self,
                enterprise_id: uuid::Uuid,
                programme_code: &str,
            ) -> Result<$crate::store::voucher::ClaimedSoFar, $crate::store::StoreError> {
                $crate::store::voucher::sql::claimed_so_far!(
                    &mut *self.tx,
                    enterprise_id,
                    programme_code
                )
            }

            async fn claimed_so_far_many(
                &mut self,
                enterprise_ids: &[uuid::Uuid],
                programme_code: &str,
            ) -> Result<
                Vec<(uuid::Uuid, $crate::store::voucher::ClaimedSoFar)>,
                $crate::store::StoreError,
            > {
                self.bulk_claimed_so_far(enterprise_ids, programme_code)
                    .await
            }

            async fn vouchers_by_ids(
                &mut self,
                ids: &[uuid::Uuid],
            ) -> Result<Vec<$crate::store::voucher::VoucherRecord>, $crate::store::StoreError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                self.bulk_vouchers_by_ids(ids).await
            }

            async fn insert_vouchers(
                &mut self,
                records: &[$crate::store::voucher::VoucherRecord],
            ) -> Result<(), $crate::store::StoreError> {
                if records.is_empty() {
                    return Ok(());
                }
                self.bulk_insert_vouchers(records).await
            }

            async fn set_voucher_status(
                &mut self,
                id: uuid::Uuid,
                status: &str,
                updated_at_us: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::voucher::sql::UPDATE_STATUS)
                    .bind(id.to_string())
                    .bind(status)
                    .bind(updated_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_voucher_store;

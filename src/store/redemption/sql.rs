//! Portable SQL for `RedemptionStore` and `RedemptionTx`, instantiated per
//! backend by `impl_redemption_store!`. Rows have more columns than sqlx's
//! tuple decoding takes, so `decode` reads them by position.

use sqlx::Row;
use uuid::Uuid;

use crate::domain::status::RedemptionStatus;
use crate::store::StoreError;
use crate::store::redemption::{InvoiceRecord, RedemptionFilter, RedemptionRecord};
use crate::store::shared::{status, uuid};

pub const REDEMPTION_COLUMNS: &str = "id, voucher_id, programme_code, provider_id, enterprise_id, \
     service_category, contract_number, description, contract_amount_fen, subsidy_fen, \
     returned_fen, single_use, presentation_nonce, invoice_code, invoice_number, invoice_date, \
     invoice_amount_fen, payment_proof_ref, fiscal_year, status, redeemed_sequence, \
     redeemed_at_us, rating, comment, confirmed_at_us, dispute_reason, resolution_note, \
     voucher_issued_at_us, voucher_face_value_fen";

pub const UPDATE_REDEMPTION: &str = "UPDATE redemptions SET status = $2, \
     rating = COALESCE($3, rating), comment = COALESCE($4, comment), \
     confirmed_at_us = COALESCE($5, confirmed_at_us), \
     dispute_reason = COALESCE($6, dispute_reason), \
     resolution_note = COALESCE($7, resolution_note), updated_at_us = $8 \
     WHERE id = $1 AND status = $9";

pub const UPDATE_DOCUMENTS: &str = "UPDATE redemptions SET \
     invoice_code = COALESCE($2, invoice_code), invoice_number = COALESCE($3, invoice_number), \
     invoice_date = COALESCE($4, invoice_date), \
     invoice_amount_fen = COALESCE($5, invoice_amount_fen), \
     payment_proof_ref = COALESCE($6, payment_proof_ref), updated_at_us = $7 WHERE id = $1";

pub const UPDATE_VOUCHER_VALUE: &str = "UPDATE vouchers SET status = $2, remaining_fen = $3, \
     updated_at_us = $4 WHERE id = $1 AND status = $5 AND remaining_fen = $6";

pub const SELECT_EXPIRED_VOUCHERS: &str = "SELECT id FROM vouchers \
     WHERE status = 'active' AND valid_until < $1 ORDER BY valid_until, id LIMIT $2";

pub const SELECT_PENDING_BEFORE: &str = "SELECT id FROM redemptions WHERE status = 'pending' \
     AND programme_code = $1 AND redeemed_at_us < $2 ORDER BY redeemed_at_us, id LIMIT $3";

/// The columns a new redemption row is written with (the confirmation,
/// dispute and resolution columns start empty).
pub const INSERT_COLUMNS: &str = "id, voucher_id, programme_code, provider_id, enterprise_id, \
     service_category, contract_number, description, contract_amount_fen, subsidy_fen, \
     returned_fen, single_use, presentation_nonce, invoice_code, invoice_number, invoice_date, \
     invoice_amount_fen, payment_proof_ref, fiscal_year, status, redeemed_sequence, \
     redeemed_at_us, voucher_issued_at_us, voucher_face_value_fen, updated_at_us";

/// Provider's total across programmes, then the enterprise's from the
/// programme, both in one fiscal year and without reversed redemptions.
pub const SELECT_TOTALS: &str = "SELECT \
     (SELECT CAST(COALESCE(SUM(subsidy_fen), 0) AS BIGINT) FROM redemptions \
      WHERE provider_id = $1 AND fiscal_year = $2 AND status <> 'reversed'), \
     (SELECT CAST(COALESCE(SUM(subsidy_fen), 0) AS BIGINT) FROM redemptions \
      WHERE enterprise_id = $3 AND programme_code = $4 AND fiscal_year = $5 \
      AND status <> 'reversed')";

/// Per (enterprise, programme) subsidy in a fiscal year; each backend
/// appends the year's parameter, ` AND enterprise_id` with its list
/// condition, and the GROUP BY.
pub const ENTERPRISE_TOTALS_SELECT: &str = "SELECT enterprise_id, programme_code, \
     CAST(COALESCE(SUM(subsidy_fen), 0) AS BIGINT) FROM redemptions \
     WHERE status <> 'reversed' AND fiscal_year = ";
pub const ENTERPRISE_TOTALS_GROUP: &str = " GROUP BY enterprise_id, programme_code";

pub fn enterprise_total(
    (id, code, fen): (String, String, i64),
) -> Result<(Uuid, String, i64), StoreError> {
    Ok((uuid(&id)?, code, fen))
}

/// A presentation is used once it redeemed a voucher or held one.
pub const SELECT_NONCE_USED: &str = "SELECT (SELECT COUNT(*) FROM redemptions WHERE \
     presentation_nonce = $1) + (SELECT COUNT(*) FROM voucher_holds WHERE presentation_nonce = $1)";

/// A redemption row, read by column position (`REDEMPTION_COLUMNS`).
pub fn decode<R: Row>(row: &R) -> Result<RedemptionRecord, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |error: sqlx::Error| StoreError::Corrupt(format!("redemption row: {error}"));
    let text = |i: usize| row.try_get::<String, _>(i).map_err(corrupt);
    let optional = |i: usize| row.try_get::<Option<String>, _>(i).map_err(corrupt);
    let int = |i: usize| row.try_get::<i64, _>(i).map_err(corrupt);
    let invoice = match (optional(13)?, optional(14)?, optional(15)?) {
        (Some(code), Some(number), Some(date)) => Some(InvoiceRecord {
            code,
            number,
            date,
            amount_fen: row
                .try_get::<Option<i64>, _>(16)
                .map_err(corrupt)?
                .unwrap_or(0),
        }),
        _ => None,
    };
    Ok(RedemptionRecord {
        id: uuid(&text(0)?)?,
        voucher_id: uuid(&text(1)?)?,
        programme_code: crate::store::shared::programme_code(&text(2)?)?,
        provider_id: uuid(&text(3)?)?,
        enterprise_id: uuid(&text(4)?)?,
        service_category: text(5)?,
        contract_number: text(6)?,
        description: text(7)?,
        contract_amount_fen: int(8)?,
        subsidy_fen: int(9)?,
        returned_fen: int(10)?,
        single_use: row.try_get::<i32, _>(11).map_err(corrupt)? == 1,
        presentation_nonce: optional(12)?,
        invoice,
        payment_proof_ref: optional(17)?,
        fiscal_year: row.try_get::<i32, _>(18).map_err(corrupt)?,
        status: status(RedemptionStatus::parse, &text(19)?, "redemption")?,
        redeemed_sequence: u64::try_from(int(20)?)
            .map_err(|_| StoreError::Corrupt("redemption sequence".into()))?,
        redeemed_at_us: int(21)?,
        rating: row.try_get::<Option<i32>, _>(22).map_err(corrupt)?,
        comment: optional(23)?,
        confirmed_at_us: row.try_get::<Option<i64>, _>(24).map_err(corrupt)?,
        dispute_reason: optional(25)?,
        resolution_note: optional(26)?,
        voucher_issued_at_us: int(27)?,
        voucher_face_value_fen: int(28)?,
    })
}

/// The filtered keyset query for `redemptions_after`.
pub fn page_query<'a, DB: sqlx::Database>(
    filter: &RedemptionFilter,
    after: Option<Uuid>,
    limit: u32,
) -> sqlx::QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let id = |value: Option<Uuid>| value.map(|id| id.to_string());
    let filters = [
        ("provider_id", id(filter.provider_id)),
        ("enterprise_id", id(filter.enterprise_id)),
        ("voucher_id", id(filter.voucher_id)),
        ("status", filter.status.map(|s| s.to_string())),
    ];
    let limit = i64::from(limit.clamp(1, crate::store::redemption::REDEMPTION_PAGE_MAX));
    crate::store::shared::keyset_page(REDEMPTION_COLUMNS, "redemptions", after, filters, limit)
}

/// The redemption whose `$column` equals `$value`, through `$executor`.
macro_rules! redemption_where {
    ($executor:expr, $column:literal, $value:expr) => {{
        use $crate::store::redemption::sql;
        let query = format!(
            concat!("SELECT {} FROM redemptions WHERE ", $column, " = $1"),
            sql::REDEMPTION_COLUMNS
        );
        let row = sqlx::query(&query)
            .bind($value)
            .fetch_optional($executor)
            .await
            .map_err(map_err)?;
        row.as_ref().map(sql::decode).transpose()
    }};
}
pub(crate) use redemption_where;

/// Both annual totals, through `$executor`.
macro_rules! redeemed_totals {
    ($executor:expr, $query:expr) => {{
        let q = $query;
        let (provider_fen, enterprise_fen): (i64, i64) =
            sqlx::query_as($crate::store::redemption::sql::SELECT_TOTALS)
                .bind(q.provider_id.to_string())
                .bind(q.fiscal_year)
                .bind(q.enterprise_id.to_string())
                .bind(q.programme_code)
                .bind(q.fiscal_year)
                .fetch_one($executor)
                .await
                .map_err(map_err)?;
        Ok($crate::store::redemption::RedeemedTotals {
            provider_fen,
            enterprise_fen,
        })
    }};
}
pub(crate) use redeemed_totals;

macro_rules! presentation_used {
    ($executor:expr, $nonce:expr) => {{
        let (count,): (i64,) = sqlx::query_as($crate::store::redemption::sql::SELECT_NONCE_USED)
            .bind($nonce)
            .fetch_one($executor)
            .await
            .map_err(map_err)?;
        Ok(count > 0)
    }};
}
pub(crate) use presentation_used;

macro_rules! impl_redemption_store {
    ($store:ident, $tx:ident, $db:ty) => {
        impl $crate::store::redemption::RedemptionStore for $store {
            async fn redemption(
                &self,
                id: uuid::Uuid,
            ) -> Result<
                Option<$crate::store::redemption::RedemptionRecord>,
                $crate::store::StoreError,
            > {
                $crate::store::redemption::sql::redemption_where!(&self.pool, "id", id.to_string())
            }

            async fn redemption_recorded_at(
                &self,
                sequence: u64,
            ) -> Result<
                Option<$crate::store::redemption::RedemptionRecord>,
                $crate::store::StoreError,
            > {
                let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
                $crate::store::redemption::sql::redemption_where!(
                    &self.pool,
                    "redeemed_sequence",
                    sequence
                )
            }

            async fn redemptions_after(
                &self,
                filter: &$crate::store::redemption::RedemptionFilter,
                after: Option<uuid::Uuid>,
                limit: u32,
            ) -> Result<Vec<$crate::store::redemption::RedemptionRecord>, $crate::store::StoreError>
            {
                use $crate::store::redemption::sql;
                let rows = sql::page_query::<$db>(filter, after, limit)
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(sql::decode).collect()
            }

            async fn redeemed_totals(
                &self,
                query: $crate::store::redemption::TotalsQuery<'_>,
            ) -> Result<$crate::store::redemption::RedeemedTotals, $crate::store::StoreError> {
                $crate::store::redemption::sql::redeemed_totals!(&self.pool, query)
            }

            async fn presentation_used(
                &self,
                nonce: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                $crate::store::redemption::sql::presentation_used!(&self.pool, nonce)
            }

            async fn vouchers_expired_before(
                &self,
                today: &str,
                limit: u32,
            ) -> Result<Vec<uuid::Uuid>, $crate::store::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as($crate::store::redemption::sql::SELECT_EXPIRED_VOUCHERS)
                        .bind(today)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map(|(id,)| $crate::store::shared::uuid(&id))
                    .collect()
            }

            async fn pending_redemptions_before(
                &self,
                programme_code: &str,
                before_us: i64,
                limit: u32,
            ) -> Result<Vec<uuid::Uuid>, $crate::store::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as($crate::store::redemption::sql::SELECT_PENDING_BEFORE)
                        .bind(programme_code)
                        .bind(before_us)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map(|(id,)| $crate::store::shared::uuid(&id))
                    .collect()
            }
        }

        impl $crate::store::redemption::RedemptionTx for $tx {
            async fn redeemed_totals(
                &mut self,
                query: $crate::store::redemption::TotalsQuery<'_>,
            ) -> Result<$crate::store::redemption::RedeemedTotals, $crate::store::StoreError> {
                $crate::store::redemption::sql::redeemed_totals!(&mut *self.tx, query)
            }

            async fn presentation_used(
                &mut self,
                nonce: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                $crate::store::redemption::sql::presentation_used!(&mut *self.tx, nonce)
            }

            async fn redemption(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<
                Option<$crate::store::redemption::RedemptionRecord>,
                $crate::store::StoreError,
            > {
                $crate::store::redemption::sql::redemption_where!(
                    &mut *self.tx,
                    "id",
                    id.to_string()
                )
            }

            async fn update_redemption(
                &mut self,
                u: &$crate::store::redemption::RedemptionUpdate,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(
                    sqlx::query($crate::store::redemption::sql::UPDATE_REDEMPTION)
                        .bind(u.id.to_string())
                        .bind(u.to.as_str())
                        .bind(u.rating)
                        .bind(u.comment.as_deref())
                        .bind(u.confirmed_at_us)
                        .bind(u.dispute_reason.as_deref())
                        .bind(u.resolution_note.as_deref())
                        .bind(u.updated_at_us)
                        .bind(u.from.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected(),
                )
            }

            async fn update_voucher_value(
                &mut self,
                u: &$crate::store::redemption::VoucherValueUpdate,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(
                    sqlx::query($crate::store::redemption::sql::UPDATE_VOUCHER_VALUE)
                        .bind(u.id.to_string())
                        .bind(u.to_status.as_str())
                        .bind(u.to_remaining_fen)
                        .bind(u.updated_at_us)
                        .bind(u.from_status.as_str())
                        .bind(u.from_remaining_fen)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected(),
                )
            }

            async fn nonces_used(
                &mut self,
                nonces: &[String],
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                if nonces.is_empty() {
                    return Ok(Vec::new());
                }
                self.bulk_nonces_used(nonces).await
            }

            async fn enterprise_totals_many(
                &mut self,
                enterprise_ids: &[uuid::Uuid],
                fiscal_year: i32,
            ) -> Result<Vec<(uuid::Uuid, String, i64)>, $crate::store::StoreError> {
                if enterprise_ids.is_empty() {
                    return Ok(Vec::new());
                }
                self.bulk_enterprise_totals(enterprise_ids, fiscal_year)
                    .await
            }

            async fn set_redemption_documents(
                &mut self,
                id: uuid::Uuid,
                invoice: Option<&$crate::store::redemption::InvoiceRecord>,
                payment_proof_ref: Option<&str>,
                updated_at_us: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::redemption::sql::UPDATE_DOCUMENTS)
                    .bind(id.to_string())
                    .bind(invoice.map(|i| i.code.as_str()))
                    .bind(invoice.map(|i| i.number.as_str()))
                    .bind(invoice.map(|i| i.date.as_str()))
                    .bind(invoice.map(|i| i.amount_fen))
                    .bind(payment_proof_ref)
                    .bind(updated_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_redemptions(
                &mut self,
                records: &[$crate::store::redemption::RedemptionRecord],
            ) -> Result<(), $crate::store::StoreError> {
                if records.is_empty() {
                    return Ok(());
                }
                self.bulk_insert_redemptions(records).await
            }

            async fn consume_vouchers(
                &mut self,
                uses: &[$crate::store::redemption::VoucherUse],
            ) -> Result<u64, $crate::store::StoreError> {
                if uses.is_empty() {
                    return Ok(0);
                }
                self.bulk_consume_vouchers(uses).await
            }
        }
    };
}
pub(crate) use impl_redemption_store;

/// Redemption rows as parallel columns (`INSERT_COLUMNS` order, without
/// `updated_at_us`, which is `redeemed_at_us`), for array-bound inserts.
pub struct RedemptionColumns {
    pub ids: Vec<String>,
    pub voucher_ids: Vec<String>,
    pub programme_codes: Vec<String>,
    pub provider_ids: Vec<String>,
    pub enterprise_ids: Vec<String>,
    pub categories: Vec<String>,
    pub contract_numbers: Vec<String>,
    pub descriptions: Vec<String>,
    pub contract_amounts: Vec<i64>,
    pub subsidies: Vec<i64>,
    pub returned: Vec<i64>,
    pub single_use: Vec<i32>,
    pub nonces: Vec<Option<String>>,
    pub invoice_codes: Vec<Option<String>>,
    pub invoice_numbers: Vec<Option<String>>,
    pub invoice_dates: Vec<Option<String>>,
    pub invoice_amounts: Vec<Option<i64>>,
    pub payment_proofs: Vec<Option<String>>,
    pub fiscal_years: Vec<i32>,
    pub statuses: Vec<String>,
    pub sequences: Vec<i64>,
    pub redeemed_at: Vec<i64>,
    pub voucher_issued_at: Vec<i64>,
    pub voucher_face_values: Vec<i64>,
}

impl RedemptionColumns {
    pub fn of(records: &[RedemptionRecord]) -> RedemptionColumns {
        let text = |f: fn(&RedemptionRecord) -> String| records.iter().map(f).collect::<Vec<_>>();
        let invoice = |f: fn(&InvoiceRecord) -> String| {
            records
                .iter()
                .map(|r| r.invoice.as_ref().map(f))
                .collect::<Vec<_>>()
        };
        RedemptionColumns {
            ids: text(|r| r.id.to_string()),
            voucher_ids: text(|r| r.voucher_id.to_string()),
            programme_codes: text(|r| r.programme_code.to_string()),
            provider_ids: text(|r| r.provider_id.to_string()),
            enterprise_ids: text(|r| r.enterprise_id.to_string()),
            categories: text(|r| r.service_category.clone()),
            contract_numbers: text(|r| r.contract_number.clone()),
            descriptions: text(|r| r.description.clone()),
            contract_amounts: records.iter().map(|r| r.contract_amount_fen).collect(),
            subsidies: records.iter().map(|r| r.subsidy_fen).collect(),
            returned: records.iter().map(|r| r.returned_fen).collect(),
            single_use: records.iter().map(|r| i32::from(r.single_use)).collect(),
            nonces: records
                .iter()
                .map(|r| r.presentation_nonce.clone())
                .collect(),
            invoice_codes: invoice(|i| i.code.clone()),
            invoice_numbers: invoice(|i| i.number.clone()),
            invoice_dates: invoice(|i| i.date.clone()),
            invoice_amounts: records
                .iter()
                .map(|r| r.invoice.as_ref().map(|i| i.amount_fen))
                .collect(),
            payment_proofs: records
                .iter()
                .map(|r| r.payment_proof_ref.clone())
                .collect(),
            fiscal_years: records.iter().map(|r| r.fiscal_year).collect(),
            statuses: text(|r| r.status.to_string()),
            sequences: records
                .iter()
                .map(|r| i64::try_from(r.redeemed_sequence).unwrap_or(i64::MAX))
                .collect(),
            redeemed_at: records.iter().map(|r| r.redeemed_at_us).collect(),
            voucher_issued_at: records.iter().map(|r| r.voucher_issued_at_us).collect(),
            voucher_face_values: records.iter().map(|r| r.voucher_face_value_fen).collect(),
        }
    }
}

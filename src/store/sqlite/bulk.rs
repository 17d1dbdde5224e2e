//! Batch reads and writes of the issuance path, as SQLite statements.
//!
//! Preparing a statement is cheap and local in SQLite, so multi-row VALUES
//! and IN lists sized to the batch (in chunks below the bind-parameter
//! limit) are the simple choice here; Postgres binds arrays instead
//! (`postgres::bulk`).

use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::redemption::sql as redemption_sql;
use crate::store::redemption::{RedemptionRecord, VoucherUse};
use crate::store::registry::sql::{
    self as registry_sql, ENTERPRISE_COLUMNS, EnterpriseRow, TagOrBlacklistRow,
};
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use crate::store::sqlite::{SqliteTx, map_err};
use crate::store::voucher::sql::{self as voucher_sql, VOUCHER_COLUMNS};
use crate::store::voucher::{ClaimedSoFar, VoucherRecord};

/// Ids per IN list, and vouchers per INSERT (17 parameters each): far
/// below SQLite's 32,766 bind parameters.
const CHUNK: usize = 400;

fn texts(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

fn push_in_list(builder: &mut QueryBuilder<'_, Sqlite>, ids: &[String]) {
    builder.push_tuples(ids, |mut row, id| {
        row.push_bind(id.clone());
    });
}

impl SqliteTx {}

impl crate::store::backend::BulkRows for SqliteTx {
    /// One guarded UPDATE … FROM a VALUES list for the whole batch, in
    /// chunks below the bind-parameter limit.
    async fn bulk_consume_vouchers(&mut self, uses: &[VoucherUse]) -> Result<u64, StoreError> {
        let mut changed = 0;
        for chunk in uses.chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(
                "UPDATE vouchers SET remaining_fen = vouchers.remaining_fen - u.used, \
                 status = u.status, updated_at_us = u.at \
                 FROM (SELECT column1 AS id, column2 AS used, column3 AS status, column4 AS at FROM (",
            );
            builder.push_values(chunk, |mut row, u| {
                row.push_bind(u.voucher_id.to_string())
                    .push_bind(u.used_fen)
                    .push_bind(u.status.clone())
                    .push_bind(u.updated_at_us);
            });
            builder.push(
                ")) AS u WHERE vouchers.id = u.id AND vouchers.status = 'active' \
                 AND vouchers.remaining_fen >= u.used",
            );
            changed += builder
                .build()
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(changed)
    }

    async fn bulk_insert_redemptions(
        &mut self,
        records: &[RedemptionRecord],
    ) -> Result<(), StoreError> {
        for chunk in records.chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO redemptions ({}) ",
                redemption_sql::INSERT_COLUMNS
            ));
            builder.push_values(chunk, |mut row, r| {
                let invoice = r.invoice.as_ref();
                row.push_bind(r.id.to_string())
                    .push_bind(r.voucher_id.to_string())
                    .push_bind(r.programme_code.clone())
                    .push_bind(r.provider_id.to_string())
                    .push_bind(r.enterprise_id.to_string())
                    .push_bind(r.service_category.clone())
                    .push_bind(r.contract_number.clone())
                    .push_bind(r.description.clone())
                    .push_bind(r.contract_amount_fen)
                    .push_bind(r.subsidy_fen)
                    .push_bind(r.returned_fen)
                    .push_bind(i32::from(r.single_use))
                    .push_bind(r.presentation_nonce.clone())
                    .push_bind(invoice.map(|i| i.code.clone()))
                    .push_bind(invoice.map(|i| i.number.clone()))
                    .push_bind(invoice.map(|i| i.date.clone()))
                    .push_bind(invoice.map(|i| i.amount_fen))
                    .push_bind(r.payment_proof_ref.clone())
                    .push_bind(r.fiscal_year)
                    .push_bind(r.status.clone())
                    .push_bind(i64::try_from(r.redeemed_sequence).unwrap_or(i64::MAX))
                    .push_bind(r.redeemed_at_us)
                    .push_bind(r.voucher_issued_at_us)
                    .push_bind(r.voucher_face_value_fen)
                    .push_bind(r.redeemed_at_us);
            });
            builder
                .build()
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn bulk_vouchers_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<VoucherRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in texts(ids).chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {VOUCHER_COLUMNS} FROM vouchers WHERE id IN "
            ));
            push_in_list(&mut builder, chunk);
            let rows: Vec<voucher_sql::VoucherRow> = builder
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
            for row in rows {
                found.push(voucher_sql::voucher(row)?);
            }
        }
        Ok(found)
    }

    async fn bulk_nonces_used(&mut self, nonces: &[String]) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in nonces.chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(
                "SELECT presentation_nonce FROM redemptions WHERE presentation_nonce IN ",
            );
            push_in_list(&mut builder, chunk);
            let rows: Vec<(String,)> = builder
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
            found.extend(rows.into_iter().map(|(nonce,)| nonce));
        }
        Ok(found)
    }

    async fn bulk_enterprise_totals(
        &mut self,
        ids: &[Uuid],
        fiscal_year: i32,
    ) -> Result<Vec<(Uuid, String, i64)>, StoreError> {
        let mut found = Vec::new();
        for chunk in texts(ids).chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(redemption_sql::ENTERPRISE_TOTALS_SELECT);
            builder.push_bind(fiscal_year);
            builder.push(" AND enterprise_id IN ");
            push_in_list(&mut builder, chunk);
            builder.push(redemption_sql::ENTERPRISE_TOTALS_GROUP);
            let rows: Vec<(String, String, i64)> = builder
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
            for row in rows {
                found.push(redemption_sql::enterprise_total(row)?);
            }
        }
        Ok(found)
    }

    async fn bulk_enterprises_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<EnterpriseRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in texts(ids).chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE id IN "
            ));
            push_in_list(&mut builder, chunk);
            let rows: Vec<EnterpriseRow> = builder
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
            for row in rows {
                found.push(registry_sql::enterprise(row)?);
            }
        }
        Ok(found)
    }

    async fn bulk_tags_and_blacklist(
        &mut self,
        ids: &[Uuid],
    ) -> Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError> {
        let mut rows: Vec<TagOrBlacklistRow> = Vec::new();
        for chunk in texts(ids).chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(registry_sql::TAGS_WHERE_ENTERPRISE_ID);
            builder.push(" IN ");
            push_in_list(&mut builder, chunk);
            builder.push(" UNION ALL ");
            builder.push(registry_sql::BLACKLIST_WHERE_ENTERPRISE_ID);
            builder.push(" IN ");
            push_in_list(&mut builder, chunk);
            rows.extend(
                builder
                    .build_query_as::<TagOrBlacklistRow>()
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?,
            );
        }
        registry_sql::split_tags_and_blacklist(rows)
    }

    async fn bulk_claimed_so_far(
        &mut self,
        ids: &[Uuid],
        programme_code: &str,
    ) -> Result<Vec<(Uuid, ClaimedSoFar)>, StoreError> {
        let mut found = Vec::new();
        for chunk in texts(ids).chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(
                "SELECT enterprise_id, CAST(COALESCE(SUM(face_value_fen), 0) AS BIGINT), COUNT(*) \
                 FROM vouchers WHERE status NOT IN ('reissued', 'revoked') AND programme_code = ",
            );
            builder.push_bind(programme_code.to_string());
            builder.push(" AND enterprise_id IN ");
            push_in_list(&mut builder, chunk);
            builder.push(" GROUP BY enterprise_id");
            let rows: Vec<(String, i64, i64)> = builder
                .build_query_as()
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
            for row in rows {
                found.push(voucher_sql::claimed_of(row)?);
            }
        }
        Ok(found)
    }

    async fn bulk_insert_vouchers(&mut self, records: &[VoucherRecord]) -> Result<(), StoreError> {
        for chunk in records.chunks(CHUNK) {
            let mut builder = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO vouchers ({VOUCHER_COLUMNS}, updated_at_us) "
            ));
            builder.push_values(chunk, |mut row, v| {
                row.push_bind(v.id.to_string())
                    .push_bind(v.programme_code.clone())
                    .push_bind(v.enterprise_id.to_string())
                    .push_bind(v.enterprise_uscc.clone())
                    .push_bind(v.face_value_fen)
                    .push_bind(v.remaining_fen)
                    .push_bind(v.valid_from.clone())
                    .push_bind(v.valid_until.clone())
                    .push_bind(voucher_sql::categories_json(v))
                    .push_bind(v.issued_sequence as i64)
                    .push_bind(v.key_id.clone())
                    .push_bind(v.signature.to_vec())
                    .push_bind(v.status.clone())
                    .push_bind(v.via.clone())
                    .push_bind(v.replaces_id.map(|id| id.to_string()))
                    .push_bind(v.issued_at_us)
                    .push_bind(v.issued_at_us);
            });
            builder
                .build()
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }
}

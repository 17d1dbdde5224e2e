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
use crate::store::registry::sql::{self as registry_sql, ENTERPRISE_COLUMNS, TagOrBlacklistRow};
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use crate::store::sqlite::{SqliteTx, chunked, map_err};
use crate::store::voucher::sql::{self as voucher_sql, VOUCHER_COLUMNS};
use crate::store::voucher::{ClaimedSoFar, VoucherRecord};

/// Ids per IN list, and vouchers per INSERT (17 parameters each): far
/// below SQLite's 32,766 bind parameters.
const CHUNK: usize = 400;

fn texts(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

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
                    .push_bind(u.status.as_str())
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
        chunked::insert(
            &mut self.tx,
            &format!(
                "INSERT INTO redemptions ({}) ",
                redemption_sql::INSERT_COLUMNS
            ),
            records,
            CHUNK,
            |mut row, r| {
                let invoice = r.invoice.as_ref();
                row.push_bind(r.id.to_string())
                    .push_bind(r.voucher_id.to_string())
                    .push_bind(r.programme_code.as_str())
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
                    .push_bind(r.status.as_str())
                    .push_bind(i64::try_from(r.redeemed_sequence).unwrap_or(i64::MAX))
                    .push_bind(r.redeemed_at_us)
                    .push_bind(r.voucher_issued_at_us)
                    .push_bind(r.voucher_face_value_fen)
                    .push_bind(r.redeemed_at_us);
            },
        )
        .await
    }

    async fn bulk_vouchers_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<VoucherRecord>, StoreError> {
        let query = format!("SELECT {VOUCHER_COLUMNS} FROM vouchers WHERE id IN ");
        chunked::select_in(
            &mut self.tx,
            &texts(ids),
            CHUNK,
            |builder, list| list(builder.push(&query)),
            voucher_sql::voucher,
        )
        .await
    }

    async fn bulk_nonces_used(&mut self, nonces: &[String]) -> Result<Vec<String>, StoreError> {
        chunked::select_in(
            &mut self.tx,
            nonces,
            CHUNK,
            |builder, list| {
                list(builder.push(
                    "SELECT presentation_nonce FROM redemptions WHERE presentation_nonce IN ",
                ));
                list(builder.push(
                    " UNION SELECT presentation_nonce FROM voucher_holds WHERE presentation_nonce IN ",
                ));
            },
            |(nonce,): (String,)| Ok(nonce),
        )
        .await
    }

    async fn bulk_enterprise_totals(
        &mut self,
        ids: &[Uuid],
        fiscal_year: i32,
    ) -> Result<Vec<(Uuid, String, i64)>, StoreError> {
        chunked::select_in(
            &mut self.tx,
            &texts(ids),
            CHUNK,
            |builder, list| {
                builder.push(redemption_sql::ENTERPRISE_TOTALS_SELECT);
                builder.push_bind(fiscal_year);
                list(builder.push(" AND enterprise_id IN "));
                builder.push(redemption_sql::ENTERPRISE_TOTALS_GROUP);
            },
            redemption_sql::enterprise_total,
        )
        .await
    }

    async fn bulk_enterprises_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<EnterpriseRecord>, StoreError> {
        let query = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE id IN ");
        chunked::select_in(
            &mut self.tx,
            &texts(ids),
            CHUNK,
            |builder, list| list(builder.push(&query)),
            registry_sql::enterprise,
        )
        .await
    }

    async fn bulk_tags_and_blacklist(
        &mut self,
        ids: &[Uuid],
    ) -> Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError> {
        let rows = chunked::select_in(
            &mut self.tx,
            &texts(ids),
            CHUNK,
            |builder, list| {
                builder.push(registry_sql::TAGS_WHERE_ENTERPRISE_ID);
                list(builder.push(" IN "));
                builder.push(" UNION ALL ");
                builder.push(registry_sql::BLACKLIST_WHERE_ENTERPRISE_ID);
                list(builder.push(" IN "));
            },
            |row: TagOrBlacklistRow| Ok(row),
        )
        .await?;
        registry_sql::split_tags_and_blacklist(rows)
    }

    async fn bulk_claimed_so_far(
        &mut self,
        ids: &[Uuid],
        programme_code: &str,
    ) -> Result<Vec<(Uuid, ClaimedSoFar)>, StoreError> {
        chunked::select_in(
            &mut self.tx,
            &texts(ids),
            CHUNK,
            |builder, list| {
                builder.push(
                    "SELECT enterprise_id, CAST(COALESCE(SUM(face_value_fen), 0) AS BIGINT), \
                     COUNT(*) FROM vouchers WHERE status NOT IN ('reissued', 'revoked') \
                     AND programme_code = ",
                );
                builder.push_bind(programme_code.to_string());
                list(builder.push(" AND enterprise_id IN "));
                builder.push(" GROUP BY enterprise_id");
            },
            voucher_sql::claimed_of,
        )
        .await
    }

    async fn bulk_insert_vouchers(&mut self, records: &[VoucherRecord]) -> Result<(), StoreError> {
        chunked::insert(
            &mut self.tx,
            &format!("INSERT INTO vouchers ({VOUCHER_COLUMNS}, updated_at_us) "),
            records,
            CHUNK,
            |mut row, v| {
                row.push_bind(v.id.to_string())
                    .push_bind(v.programme_code.as_str())
                    .push_bind(v.enterprise_id.to_string())
                    .push_bind(v.enterprise_uscc.clone())
                    .push_bind(v.face_value_fen)
                    .push_bind(v.remaining_fen)
                    .push_bind(v.valid_from.to_string())
                    .push_bind(v.valid_until.to_string())
                    .push_bind(voucher_sql::categories_json(v))
                    .push_bind(v.issued_sequence as i64)
                    .push_bind(v.key_id.clone())
                    .push_bind(v.signature.to_vec())
                    .push_bind(v.status.as_str())
                    .push_bind(v.via.clone())
                    .push_bind(v.replaces_id.map(|id| id.to_string()))
                    .push_bind(v.issued_at_us)
                    .push_bind(v.issued_at_us);
            },
        )
        .await
    }
}

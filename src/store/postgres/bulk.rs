//! Batch reads and writes of the issuance path, as Postgres arrays.
//!
//! Every statement here has one text whatever the batch size (rows arrive
//! as parallel arrays through `UNNEST`, lists as `= ANY($1)`), so each
//! connection prepares it once and Postgres reuses its plan. Multi-row
//! VALUES lists sized to the batch would be a new statement, parsed and
//! planned again, for almost every batch.

use uuid::Uuid;

use crate::store::StoreError;
use crate::store::postgres::{PostgresStore, PostgresTx, map_err};
use crate::store::redemption::sql as redemption_sql;
use crate::store::redemption::{RedemptionRecord, VoucherUse};
use crate::store::registry::sql::{
    self as registry_sql, ENTERPRISE_COLUMNS, EnterpriseRow, TagOrBlacklistRow,
};
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use crate::store::settlement::sql as settlement_sql;
use crate::store::settlement::{BatchRow, LineRecord};
use crate::store::voucher::sql as voucher_sql;
use crate::store::voucher::{ClaimedSoFar, VoucherRecord};

/// One index probe per enterprise (`vouchers_by_enterprise`), whatever the
/// statistics say: during a flash crowd on a new programme they are stale
/// (the table looked empty at the last ANALYZE), and a plain `= ANY` then
/// scans every voucher of the programme instead.
const SELECT_CLAIMED_MANY: &str = "SELECT e.id, c.face_value_fen, c.count \
     FROM UNNEST($2::text[]) AS e(id) CROSS JOIN LATERAL ( \
         SELECT CAST(COALESCE(SUM(face_value_fen), 0) AS BIGINT) AS face_value_fen, COUNT(*) AS count \
         FROM vouchers WHERE enterprise_id = e.id AND programme_code = $1 \
         AND status NOT IN ('reissued', 'revoked')) AS c \
     WHERE c.count > 0";

/// Sixteen parallel arrays, one per column of `VOUCHER_COLUMNS`; a new
/// voucher's `updated_at_us` is its `issued_at_us`.
const INSERT_VOUCHERS: &str = "INSERT INTO vouchers (id, programme_code, enterprise_id, \
     enterprise_uscc, face_value_fen, remaining_fen, valid_from, valid_until, categories_json, \
     issued_sequence, key_id, signature, status, via, replaces_id, issued_at_us, updated_at_us) \
     SELECT *, issued_at_us FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
     $5::int8[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::text[], \
     $12::bytea[], $13::text[], $14::text[], $15::text[], $16::int8[]) \
     AS v(id, programme_code, enterprise_id, enterprise_uscc, face_value_fen, remaining_fen, \
     valid_from, valid_until, categories_json, issued_sequence, key_id, signature, status, via, \
     replaces_id, issued_at_us)";

fn texts(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// One guarded update for all of a batch's vouchers: each must still be
/// active and hold what it gives.
const CONSUME_VOUCHERS: &str = "UPDATE vouchers AS v SET remaining_fen = v.remaining_fen - u.used, \
     status = u.status, updated_at_us = u.at \
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::int8[]) AS u(id, used, status, at) \
     WHERE v.id = u.id AND v.status = 'active' AND v.remaining_fen >= u.used";

impl PostgresTx {}

/// Batch rows per chunk sent to the renderer.
const BATCH_ROW_CHUNK: usize = 256;

impl PostgresStore {}

impl crate::store::backend::BulkRows for PostgresTx {
    async fn bulk_consume_vouchers(&mut self, uses: &[VoucherUse]) -> Result<u64, StoreError> {
        Ok(sqlx::query(CONSUME_VOUCHERS)
            .bind(
                uses.iter()
                    .map(|u| u.voucher_id.to_string())
                    .collect::<Vec<_>>(),
            )
            .bind(uses.iter().map(|u| u.used_fen).collect::<Vec<_>>())
            .bind(uses.iter().map(|u| u.status.as_str()).collect::<Vec<_>>())
            .bind(uses.iter().map(|u| u.updated_at_us).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?
            .rows_affected())
    }

    async fn bulk_insert_redemptions(
        &mut self,
        records: &[RedemptionRecord],
    ) -> Result<(), StoreError> {
        let c = redemption_sql::RedemptionColumns::of(records);
        let query = format!(
            "INSERT INTO redemptions ({}) SELECT *, at FROM UNNEST($1::text[], $2::text[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int8[], \
             $10::int8[], $11::int8[], $12::int4[], $13::text[], $14::text[], $15::text[], \
             $16::text[], $17::int8[], $18::text[], $19::int4[], $20::text[], $21::int8[], \
             $22::int8[], $23::int8[], $24::int8[]) \
             AS r(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r2, s, t, u, at, v1, v2)",
            redemption_sql::INSERT_COLUMNS
        );
        sqlx::query(&query)
            .bind(&c.ids)
            .bind(&c.voucher_ids)
            .bind(&c.programme_codes)
            .bind(&c.provider_ids)
            .bind(&c.enterprise_ids)
            .bind(&c.categories)
            .bind(&c.contract_numbers)
            .bind(&c.descriptions)
            .bind(&c.contract_amounts)
            .bind(&c.subsidies)
            .bind(&c.returned)
            .bind(&c.single_use)
            .bind(&c.nonces)
            .bind(&c.invoice_codes)
            .bind(&c.invoice_numbers)
            .bind(&c.invoice_dates)
            .bind(&c.invoice_amounts)
            .bind(&c.payment_proofs)
            .bind(&c.fiscal_years)
            .bind(&c.statuses)
            .bind(&c.sequences)
            .bind(&c.redeemed_at)
            .bind(&c.voucher_issued_at)
            .bind(&c.voucher_face_values)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn bulk_vouchers_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<VoucherRecord>, StoreError> {
        let query = format!(
            "SELECT {} FROM vouchers WHERE id = ANY($1)",
            voucher_sql::VOUCHER_COLUMNS
        );
        let rows: Vec<voucher_sql::VoucherRow> = sqlx::query_as(&query)
            .bind(texts(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(voucher_sql::voucher).collect()
    }

    async fn bulk_nonces_used(&mut self, nonces: &[String]) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT presentation_nonce FROM redemptions WHERE presentation_nonce = ANY($1) \
             UNION SELECT presentation_nonce FROM voucher_holds WHERE presentation_nonce = ANY($1)",
        )
        .bind(nonces)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(nonce,)| nonce).collect())
    }

    async fn bulk_enterprise_totals(
        &mut self,
        ids: &[Uuid],
        fiscal_year: i32,
    ) -> Result<Vec<(Uuid, String, i64)>, StoreError> {
        let query = format!(
            "{}$1 AND enterprise_id = ANY($2){}",
            redemption_sql::ENTERPRISE_TOTALS_SELECT,
            redemption_sql::ENTERPRISE_TOTALS_GROUP
        );
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&query)
            .bind(fiscal_year)
            .bind(texts(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.into_iter()
            .map(redemption_sql::enterprise_total)
            .collect()
    }

    async fn bulk_enterprises_by_ids(
        &mut self,
        ids: &[Uuid],
    ) -> Result<Vec<EnterpriseRecord>, StoreError> {
        let query = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises WHERE id = ANY($1)");
        let rows: Vec<EnterpriseRow> = sqlx::query_as(&query)
            .bind(texts(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(registry_sql::enterprise).collect()
    }

    async fn bulk_tags_and_blacklist(
        &mut self,
        ids: &[Uuid],
    ) -> Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError> {
        let query = format!(
            "{} = ANY($1) UNION ALL {} = ANY($1)",
            registry_sql::TAGS_WHERE_ENTERPRISE_ID,
            registry_sql::BLACKLIST_WHERE_ENTERPRISE_ID
        );
        let rows: Vec<TagOrBlacklistRow> = sqlx::query_as(&query)
            .bind(texts(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        registry_sql::split_tags_and_blacklist(rows)
    }

    async fn bulk_claimed_so_far(
        &mut self,
        ids: &[Uuid],
        programme_code: &str,
    ) -> Result<Vec<(Uuid, ClaimedSoFar)>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(SELECT_CLAIMED_MANY)
            .bind(programme_code)
            .bind(texts(ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(voucher_sql::claimed_of).collect()
    }

    async fn bulk_insert_vouchers(&mut self, records: &[VoucherRecord]) -> Result<(), StoreError> {
        let columns = voucher_sql::VoucherColumns::of(records);
        sqlx::query(INSERT_VOUCHERS)
            .bind(&columns.ids)
            .bind(&columns.programme_codes)
            .bind(&columns.enterprise_ids)
            .bind(&columns.enterprise_usccs)
            .bind(&columns.face_values_fen)
            .bind(&columns.remaining_fen)
            .bind(&columns.valid_from)
            .bind(&columns.valid_until)
            .bind(&columns.categories_json)
            .bind(&columns.issued_sequences)
            .bind(&columns.key_ids)
            .bind(&columns.signatures)
            .bind(&columns.statuses)
            .bind(&columns.vias)
            .bind(&columns.replaces_ids)
            .bind(&columns.issued_at_us)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

impl crate::store::backend::SettlementRows for PostgresTx {
    /// One statement per chunk of 10,000 lines: the columns as arrays.
    /// See `SettlementTx::lines_written`. ANALYZE samples a bounded
    /// number of rows, so it costs about the same for any run's size.
    async fn refresh_line_statistics(&mut self) -> Result<(), StoreError> {
        sqlx::Executor::execute(&mut *self.tx, "ANALYZE settlement_lines")
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn bulk_insert_settlement_lines(
        &mut self,
        lines: &[LineRecord],
    ) -> Result<(), StoreError> {
        let query = format!(
            "INSERT INTO settlement_lines ({}) SELECT * FROM UNNEST($1::text[], $2::text[], \
             $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::text[], $11::int8[], $12::text[], $13::int8[])",
            settlement_sql::LINE_COLUMNS
        );
        for chunk in lines.chunks(10_000) {
            let ids = |f: fn(&LineRecord) -> Uuid| texts(&chunk.iter().map(f).collect::<Vec<_>>());
            let ints = |f: fn(&LineRecord) -> i64| chunk.iter().map(f).collect::<Vec<_>>();
            let strs = |f: for<'l> fn(&'l LineRecord) -> &'l str| {
                chunk.iter().map(f).collect::<Vec<&str>>()
            };
            sqlx::query(&query)
                .bind(ids(|l| l.run_id))
                .bind(ids(|l| l.redemption_id))
                .bind(ints(|l| i64::from(l.line_no)))
                .bind(ids(|l| l.provider_id))
                .bind(ints(|l| l.subsidy_fen))
                .bind(strs(|l| l.state.as_str()))
                .bind(strs(|l| &l.flags_json))
                .bind(ids(|l| l.facts.voucher_id))
                .bind(strs(|l| &l.facts.enterprise_name))
                .bind(strs(|l| &l.facts.service_category))
                .bind(ints(|l| l.facts.contract_amount_fen))
                .bind(
                    chunk
                        .iter()
                        .map(|l| l.facts.invoice_number.as_deref())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|l| l.facts.confirmed_at_us)
                        .collect::<Vec<_>>(),
                )
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// A cursor over every candidate, read in chunks: one plan (hash joins
    /// over the whole programme) instead of a query per provider.
    async fn open_candidates_backend(
        &mut self,
        programme: &str,
        end_us: i64,
    ) -> Result<crate::store::settlement::CandidateCursor, StoreError> {
        // Plan for reading every row (hash joins), not for the first ones.
        sqlx::Executor::execute(&mut *self.tx, "SET LOCAL cursor_tuple_fraction = 1.0")
            .await
            .map_err(map_err)?;
        let sql = format!(
            "DECLARE settlement_candidates NO SCROLL CURSOR FOR {}",
            crate::store::settlement::sql::all_candidates_sql(programme, end_us)
        );
        // A bare string runs with the simple protocol (no Parse/Describe),
        // which DECLARE, FETCH and CLOSE need.
        sqlx::Executor::execute(&mut *self.tx, sql.as_str())
            .await
            .map_err(map_err)?;
        Ok(crate::store::settlement::CandidateCursor::Server { open: true })
    }

    async fn next_candidates_backend(
        &mut self,
        cursor: &mut crate::store::settlement::CandidateCursor,
        _programme: &str,
        _end_us: i64,
    ) -> Result<Vec<crate::store::settlement::CandidateRow>, StoreError> {
        use crate::store::settlement::CandidateCursor;
        let CandidateCursor::Server { open } = cursor else {
            return Ok(Vec::new());
        };
        if !*open {
            return Ok(Vec::new());
        }
        let rows = sqlx::Executor::fetch_all(
            &mut *self.tx,
            "FETCH FORWARD 10000 FROM settlement_candidates",
        )
        .await
        .map_err(map_err)?;
        if rows.is_empty() {
            sqlx::Executor::execute(&mut *self.tx, "CLOSE settlement_candidates")
                .await
                .map_err(map_err)?;
            *open = false;
        }
        rows.iter()
            .map(crate::store::settlement::sql::decode_candidate)
            .collect()
    }
}

impl crate::store::backend::BatchRowStream for PostgresStore {
    /// One query, its rows decoded as they arrive and sent on in chunks
    /// of `BATCH_ROW_CHUNK` (Postgres hands rows over cheaply; the chunks
    /// spare the renderer a wake-up per row).
    async fn stream_batch_rows_backend(
        &self,
        run_id: Uuid,
        provider: Option<Uuid>,
        sink: tokio::sync::mpsc::Sender<Result<Vec<BatchRow>, StoreError>>,
    ) {
        use futures_util::StreamExt;
        let run = run_id.to_string();
        let provider = provider.map(|p| p.to_string()).unwrap_or_default();
        let mut rows = sqlx::query(settlement_sql::SELECT_BATCH_ROWS)
            .bind(&run)
            .bind(&provider)
            .fetch(&self.pool);
        let mut chunk = Vec::with_capacity(BATCH_ROW_CHUNK);
        while let Some(row) = rows.next().await {
            match row
                .map_err(map_err)
                .and_then(|row| settlement_sql::decode_batch_row(&row))
            {
                Ok(decoded) => chunk.push(decoded),
                Err(error) => {
                    if !chunk.is_empty() && sink.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                    let _ = sink.send(Err(error)).await;
                    return;
                }
            }
            if chunk.len() == BATCH_ROW_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(BATCH_ROW_CHUNK));
                if sink.send(Ok(full)).await.is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = sink.send(Ok(chunk)).await;
        }
    }
}

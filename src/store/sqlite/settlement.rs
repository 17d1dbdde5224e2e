//! Settlement's bulk reads and writes on SQLite, moving many rows as one
//! JSON value.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands rows
//! to the caller one at a time through a channel, each column copied on
//! the way: for the million lines of a large run that hand-off (a thread
//! wake-up per row) costs more than the query itself
//! (docs/operations.md, `bench settle`; decision 0009). So preparing a run and
//! exporting its batch ask SQLite to pack rows with `json_group_array`
//! and read one text per provider or per chunk of lines. SQLite's JSON
//! keeps 64-bit integers and text exactly; the packed rows are decoded by
//! serde into the same records the row-at-a-time paths return.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::store::StoreError;
use crate::store::settlement::sql::{
    CANDIDATE_COLUMNS, CandidateColumns, LINE_COLUMNS, PROVIDER_CANDIDATES,
    SELECT_SETTLEMENT_PROVIDERS,
};
use crate::store::settlement::{BatchRow, CandidateCursor, CandidateRow, LineRecord};
use crate::store::sqlite::{SqliteStore, SqliteTx, chunked, map_err};

/// Lines per read while exporting a batch, and per INSERT while preparing.
const LINES_PER_PACK: usize = 2_000;

type ReadTx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// `SELECT json_group_array(json_array(<columns>)) <rest>`: every row of
/// the query as one JSON array of arrays (`[]` when there are none).
fn packed(columns: &str, rest: &str) -> String {
    format!("SELECT json_group_array(json_array({columns})) {rest}")
}

/// Decodes the packed rows of a `packed` query's one row, reading the
/// text where sqlx holds it (a large provider's pack is not copied again).
fn unpack<T: DeserializeOwned>(row: &SqliteRow, what: &'static str) -> Result<Vec<T>, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what} rows: {e}"));
    let text: &str = row.try_get(0).map_err(|e| corrupt(&e))?;
    serde_json::from_str(text).map_err(|e| corrupt(&e))
}

/// The columns of a batch line that the 兑付表 shows, in this order.
const BATCH_LINE_COLUMNS: &str = "line_no, provider_id, voucher_id, enterprise_name, \
     service_category, contract_amount_fen, subsidy_fen, invoice_number, confirmed_at_us";

#[derive(Deserialize)]
struct PackedBatchLine {
    line_no: u32,
    provider_id: Uuid,
    voucher_id: Uuid,
    enterprise_name: String,
    service_category: String,
    contract_amount_fen: i64,
    subsidy_fen: i64,
    invoice_number: Option<String>,
    confirmed_at_us: Option<i64>,
}

/// A provider's name, USCC and registry fields, as a batch row shows them.
struct ProviderLabel {
    name: String,
    uscc: String,
    fields_json: String,
}

impl SqliteTx {}

impl SqliteStore {}

/// Up to `LINES_PER_PACK` included lines after line `after`, in order.
async fn batch_pack(
    tx: &mut ReadTx,
    run_id: Uuid,
    provider: Option<Uuid>,
    after: u32,
    labels: &mut HashMap<Uuid, ProviderLabel>,
) -> Result<Vec<BatchRow>, StoreError> {
    let sql = packed(
        BATCH_LINE_COLUMNS,
        &format!(
            "FROM (SELECT {BATCH_LINE_COLUMNS} FROM settlement_lines \
             WHERE run_id = $1 AND state = 'included' AND ($2 = '' OR provider_id = $2) \
             AND line_no > $3 ORDER BY line_no LIMIT {LINES_PER_PACK})"
        ),
    );
    let row = sqlx::query(&sql)
        .bind(run_id.to_string())
        .bind(provider.map(|p| p.to_string()).unwrap_or_default())
        .bind(i64::from(after))
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
    let mut lines: Vec<PackedBatchLine> = unpack(&row, "batch line")?;
    lines.sort_unstable_by_key(|line| line.line_no);
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let label = match labels.entry(line.provider_id) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(missing) => missing.insert(provider_label(tx, line.provider_id).await?),
        };
        rows.push(BatchRow {
            line_no: line.line_no,
            provider_id: line.provider_id,
            provider_name: label.name.clone(),
            provider_uscc: label.uscc.clone(),
            provider_fields_json: label.fields_json.clone(),
            voucher_id: line.voucher_id,
            enterprise_name: line.enterprise_name,
            service_category: line.service_category,
            contract_amount_fen: line.contract_amount_fen,
            subsidy_fen: line.subsidy_fen,
            invoice_number: line.invoice_number,
            confirmed_at_us: line.confirmed_at_us,
        });
    }
    Ok(rows)
}

async fn provider_label(tx: &mut ReadTx, id: Uuid) -> Result<ProviderLabel, StoreError> {
    let found: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, uscc, fields_json FROM providers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?;
    let (name, uscc, fields_json) = found.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "settlement line names provider {id}, which does not exist"
        ))
    })?;
    Ok(ProviderLabel {
        name,
        uscc,
        fields_json,
    })
}

impl crate::store::backend::SettlementRows for SqliteTx {
    /// See `SettlementTx::lines_written`: nothing to do on SQLite.
    async fn refresh_line_statistics(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Multi-row INSERTs, in chunks below SQLite's bind-parameter limit.
    async fn bulk_insert_settlement_lines(
        &mut self,
        lines: &[LineRecord],
    ) -> Result<(), StoreError> {
        // 13 parameters a line: 2,000 lines stay under SQLite's 32,766.
        chunked::insert(
            &mut self.tx,
            &format!("INSERT INTO settlement_lines ({LINE_COLUMNS}) "),
            lines,
            LINES_PER_PACK,
            |mut row, line| {
                row.push_bind(line.run_id.to_string())
                    .push_bind(line.redemption_id.to_string())
                    .push_bind(i64::from(line.line_no))
                    .push_bind(line.provider_id.to_string())
                    .push_bind(line.subsidy_fen)
                    .push_bind(line.state.as_str())
                    .push_bind(line.flags_json.clone())
                    .push_bind(line.facts.voucher_id.to_string())
                    .push_bind(line.facts.enterprise_name.clone())
                    .push_bind(line.facts.service_category.clone())
                    .push_bind(line.facts.contract_amount_fen)
                    .push_bind(line.facts.invoice_number.clone())
                    .push_bind(line.facts.confirmed_at_us);
            },
        )
        .await
    }

    /// One query per provider (SQLite has no cursors that outlive a
    /// statement, and the transaction's connection writes in between).
    async fn open_candidates_backend(
        &mut self,
        programme: &str,
        end_us: i64,
    ) -> Result<CandidateCursor, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(SELECT_SETTLEMENT_PROVIDERS)
            .bind(programme)
            .bind(end_us)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let providers = rows
            .into_iter()
            .map(|(id,)| crate::store::shared::uuid(&id))
            .collect::<Result<Vec<Uuid>, StoreError>>()?;
        Ok(CandidateCursor::Providers { providers, next: 0 })
    }

    /// The next provider's candidates, all of them, in redemption order.
    async fn next_candidates_backend(
        &mut self,
        cursor: &mut CandidateCursor,
        programme: &str,
        end_us: i64,
    ) -> Result<Vec<CandidateRow>, StoreError> {
        let CandidateCursor::Providers { providers, next } = cursor else {
            return Ok(Vec::new());
        };
        let Some(provider) = providers.get(*next).copied() else {
            return Ok(Vec::new());
        };
        *next += 1;
        let row = sqlx::query(&packed(CANDIDATE_COLUMNS, PROVIDER_CANDIDATES))
            .bind(programme)
            .bind(provider.to_string())
            .bind(end_us)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let mut rows: Vec<CandidateColumns> = unpack(&row, "settlement candidate")?;
        rows.sort_unstable_by_key(|row| row.redeemed_sequence);
        Ok(rows.into_iter().map(CandidateRow::from).collect())
    }
}

impl crate::store::backend::BatchRowStream for SqliteStore {
    /// Reads the lines in packs of `LINES_PER_PACK`, in one read
    /// transaction (one snapshot for the whole table), looking each
    /// provider up once.
    async fn stream_batch_rows_backend(
        &self,
        run_id: Uuid,
        provider: Option<Uuid>,
        sink: tokio::sync::mpsc::Sender<Result<Vec<BatchRow>, StoreError>>,
    ) {
        let mut tx = match self.pool.begin().await {
            Ok(tx) => tx,
            Err(error) => {
                let _ = sink.send(Err(map_err(error))).await;
                return;
            }
        };
        let mut labels: HashMap<Uuid, ProviderLabel> = HashMap::new();
        let mut after = 0;
        loop {
            let pack = batch_pack(&mut tx, run_id, provider, after, &mut labels).await;
            let pack = match pack {
                Ok(pack) => pack,
                Err(error) => {
                    let _ = sink.send(Err(error)).await;
                    return;
                }
            };
            let Some(last) = pack.last().map(|row| row.line_no) else {
                return;
            };
            after = last;
            let full = pack.len() == LINES_PER_PACK;
            if sink.send(Ok(pack)).await.is_err() || !full {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::status::LineState;
    use crate::store::backend::{BatchRowStream, SettlementRows};
    use crate::store::settlement::LineFacts;
    use crate::store::{LedgerTx, Store};

    const PROVIDER_ROW: &str = "INSERT INTO providers (id, uscc, name, status, fields_json, \
         annual_cap_fen, version, created_at_us, updated_at_us) VALUES ($1, $2, $3, 'approved', \
         '{\"bank_name\":\"中国银行\"}', 100, 1, 0, 0)";

    fn line(run_id: Uuid, line_no: u32, provider_id: Uuid) -> LineRecord {
        LineRecord {
            run_id,
            redemption_id: Uuid::now_v7(),
            line_no,
            provider_id,
            subsidy_fen: i64::from(line_no) * 100,
            // Every seventh line is held: the batch leaves it out.
            state: if line_no.is_multiple_of(7) {
                LineState::Held
            } else {
                LineState::Included
            },
            flags_json: "[]".into(),
            facts: LineFacts {
                voucher_id: Uuid::now_v7(),
                enterprise_name: format!("舟山\"测试\"企业{line_no}"),
                service_category: "管理咨询".into(),
                contract_amount_fen: i64::from(line_no) * 300 + 9_007_199_254_740_993,
                invoice_number: line_no.is_multiple_of(2).then(|| format!("N{line_no}")),
                confirmed_at_us: (!line_no.is_multiple_of(3)).then_some(i64::from(line_no)),
            },
        }
    }

    async fn collect(store: &SqliteStore, run_id: Uuid, provider: Option<Uuid>) -> Vec<BatchRow> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let reader = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .stream_batch_rows_backend(run_id, provider, sender)
                    .await
            }
        });
        let mut rows = Vec::new();
        while let Some(pack) = receiver.recv().await {
            rows.extend(pack.expect("a pack of rows"));
        }
        reader.await.unwrap();
        rows
    }

    /// More lines than fit one pack, of two providers, some held: the
    /// packed read returns exactly the included lines, in order, every
    /// field as written (text with quotes and Chinese, integers beyond
    /// 2^53, NULLs), with the provider's registry row attached.
    #[tokio::test]
    async fn packed_reads_return_every_included_line_in_order_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let providers = [Uuid::now_v7(), Uuid::now_v7()];
        for (n, id) in providers.iter().enumerate() {
            sqlx::query(PROVIDER_ROW)
                .bind(id.to_string())
                .bind(format!("USCC{n}"))
                .bind(format!("服务机构{n}"))
                .execute(&store.pool)
                .await
                .unwrap();
        }
        let run_id = Uuid::now_v7();
        let count = (LINES_PER_PACK * 2 + 5) as u32;
        let lines: Vec<LineRecord> = (1..=count)
            .map(|n| line(run_id, n, providers[(n as usize / 100) % 2]))
            .collect();
        let mut tx = store.begin_append().await.unwrap();
        tx.bulk_insert_settlement_lines(&lines).await.unwrap();
        tx.commit().await.unwrap();

        for provider in [None, Some(providers[1])] {
            let expected: Vec<&LineRecord> = lines
                .iter()
                .filter(|l| l.state == LineState::Included)
                .filter(|l| provider.is_none_or(|p| p == l.provider_id))
                .collect();
            let rows = collect(&store, run_id, provider).await;
            assert_eq!(rows.len(), expected.len(), "provider {provider:?}");
            for (row, line) in rows.iter().zip(expected) {
                let n = providers
                    .iter()
                    .position(|p| *p == line.provider_id)
                    .unwrap();
                assert_eq!(row.line_no, line.line_no);
                assert_eq!(row.provider_id, line.provider_id);
                assert_eq!(row.provider_name, format!("服务机构{n}"));
                assert_eq!(row.provider_uscc, format!("USCC{n}"));
                assert_eq!(row.provider_fields_json, "{\"bank_name\":\"中国银行\"}");
                assert_eq!(row.voucher_id, line.facts.voucher_id);
                assert_eq!(row.enterprise_name, line.facts.enterprise_name);
                assert_eq!(row.service_category, line.facts.service_category);
                assert_eq!(row.contract_amount_fen, line.facts.contract_amount_fen);
                assert_eq!(row.subsidy_fen, line.subsidy_fen);
                assert_eq!(row.invoice_number, line.facts.invoice_number);
                assert_eq!(row.confirmed_at_us, line.facts.confirmed_at_us);
            }
        }
        store.close().await;
    }
}

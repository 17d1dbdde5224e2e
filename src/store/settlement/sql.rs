//! Portable SQL for `SettlementStore` and `SettlementTx`, instantiated per
//! backend by `impl_settlement_store!`. Rows are read by position through
//! `Cols`, so one decoder serves both databases.

use sqlx::Row;
use uuid::Uuid;

use crate::domain::settlement::{Candidate, InvoiceFacts};
use crate::domain::status::{LineState, PayoutStatus, RunStatus};
use crate::store::StoreError;
use crate::store::settlement::{
    BatchRow, CandidateRow, LineFacts, LineRecord, LivePlacement, PayoutRecord, ResolutionRecord,
    RunRecord, UtilisationGroup, UtilisationRow,
};
use crate::store::shared::{to_u64, uuid};

pub const RUN_COLUMNS: &str = "id, programme_code, period_from, period_until, status, \
     prepared_by, approved_by, lines_digest, prepared_sequence, approved_sequence, \
     prepared_at_us, approved_at_us";
pub const LINE_COLUMNS: &str = "run_id, redemption_id, line_no, provider_id, subsidy_fen, \
     state, flags, voucher_id, enterprise_name, service_category, contract_amount_fen, \
     invoice_number, confirmed_at_us";
pub const PAYOUT_COLUMNS: &str = "reference, run_id, provider_id, payee_name, bank_name, \
     account_number, gross_fen, offset_fen, net_fen, status, bank_message, updated_sequence";

/// `SELECT` every payout column `FROM payouts WHERE condition`.
pub fn select_payouts(condition: &str) -> String {
    format!("SELECT {PAYOUT_COLUMNS} FROM payouts WHERE {condition}")
}

/// What preparing a run reads of each candidate (`decode_candidate`).
pub const CANDIDATE_COLUMNS: &str = "r.id, r.provider_id, r.enterprise_id, \
     r.redeemed_sequence, r.redeemed_at_us, r.voucher_issued_at_us, r.voucher_face_value_fen, \
     r.contract_amount_fen, r.subsidy_fen, r.invoice_code, r.invoice_number, \
     r.invoice_amount_fen, r.payment_proof_ref, e.uscc, e.name, e.legal_representative, \
     r.voucher_id, r.service_category, r.confirmed_at_us";

/// One provider's candidates ($1 programme, $2 provider, $3 end), after
/// `SELECT <CANDIDATE_COLUMNS>`.
pub const PROVIDER_CANDIDATES: &str = "FROM redemptions r \
     JOIN enterprises e ON e.id = r.enterprise_id \
     WHERE r.programme_code = $1 AND r.provider_id = $2 AND r.status = 'confirmed' \
     AND r.redeemed_at_us < $3 \
     AND NOT EXISTS (SELECT 1 FROM settlement_lines l \
                     WHERE l.redemption_id = r.id AND l.state <> 'released')";

/// All providers' candidates in order, for a server-side cursor (the
/// values are inlined: DECLARE takes no parameters). `NOT IN` is hashed
/// once when the cursor opens: a per-row probe would scan the lines this
/// very preparation is inserting.
pub fn all_candidates_sql(programme: &str, end_us: i64) -> String {
    format!(
        "SELECT {CANDIDATE_COLUMNS} \
         FROM redemptions r JOIN enterprises e ON e.id = r.enterprise_id \
         WHERE r.programme_code = '{}' AND r.status = 'confirmed' AND r.redeemed_at_us < {end_us} \
         AND r.id NOT IN (SELECT redemption_id FROM settlement_lines WHERE state <> 'released') \
         ORDER BY r.provider_id, r.redeemed_sequence",
        programme.replace('\'', "''")
    )
}

/// The settleable redemptions' WHERE clause (confirmed, redeemed before
/// $2, in no batch), as a literal for `concat!`.
macro_rules! settleable {
    () => {
        "FROM redemptions r WHERE r.programme_code = $1 AND r.status = 'confirmed' \
         AND r.redeemed_at_us < $2 AND NOT EXISTS (SELECT 1 FROM settlement_lines l \
         WHERE l.redemption_id = r.id AND l.state <> 'released')"
    };
}

pub const SELECT_ANY_CANDIDATE: &str =
    concat!("SELECT CAST(1 AS BIGINT) ", settleable!(), " LIMIT 1");

pub const SELECT_SETTLEMENT_PROVIDERS: &str = concat!(
    "SELECT DISTINCT r.provider_id ",
    settleable!(),
    " ORDER BY r.provider_id"
);

pub const SELECT_PER_PROVIDER: &str = "SELECT provider_id, CAST(COUNT(*) AS BIGINT) \
     FROM redemptions WHERE programme_code = $1 AND status <> 'reversed' GROUP BY provider_id";

pub const SELECT_PER_FIRM: &str = "SELECT enterprise_id, CAST(COUNT(*) AS BIGINT) \
     FROM redemptions WHERE programme_code = $1 AND status <> 'reversed' GROUP BY enterprise_id";

/// (provider, firm) pairs of a programme with at least $2 redemptions
/// (`AnomalyRules::dominating_pair_min`: fewer can dominate no firm).
pub const SELECT_DOMINATING_PAIRS: &str = "SELECT provider_id, enterprise_id, \
     CAST(COUNT(*) AS BIGINT) FROM redemptions WHERE programme_code = $1 \
     AND status <> 'reversed' GROUP BY provider_id, enterprise_id HAVING COUNT(*) >= $2";

pub const SELECT_DUPLICATE_INVOICES: &str = "SELECT invoice_code, invoice_number, \
     CAST(COUNT(*) AS BIGINT) FROM redemptions \
     WHERE status <> 'reversed' AND invoice_number IS NOT NULL \
     GROUP BY invoice_code, invoice_number HAVING COUNT(*) > 1";

pub const SELECT_SETTLED_PER_PROVIDER: &str = "SELECT l.provider_id, \
     CAST(SUM(l.subsidy_fen) AS BIGINT) FROM settlement_lines l \
     JOIN redemptions r ON r.id = l.redemption_id \
     WHERE l.state = 'included' AND r.fiscal_year = $1 GROUP BY l.provider_id";

pub const INSERT_RUN: &str = "INSERT INTO settlement_runs (id, programme_code, period_from, \
     period_until, status, prepared_by, approved_by, lines_digest, prepared_sequence, \
     approved_sequence, prepared_at_us, approved_at_us) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub const SELECT_INCLUDED_TOTALS: &str = "SELECT provider_id, \
     CAST(SUM(subsidy_fen) AS BIGINT), CAST(COUNT(*) AS BIGINT) FROM settlement_lines \
     WHERE run_id = $1 AND state = 'included' GROUP BY provider_id ORDER BY provider_id";

/// `state <> 'released'` lets both databases use the partial unique index.
pub const SET_LINE_STATE: &str = "UPDATE settlement_lines SET state = $4 \
     WHERE redemption_id = $2 AND state <> 'released' AND run_id = $1 AND state = $3";

pub const RELEASE_LINES: &str = "UPDATE settlement_lines SET state = 'released' \
     WHERE run_id = $1 AND state = $2";
pub const RELEASE_PROVIDER_LINES: &str = "UPDATE settlement_lines SET state = 'released' \
     WHERE run_id = $1 AND state = $2 AND provider_id = $3";

pub const INSERT_RESOLUTION: &str = "INSERT INTO settlement_resolutions (run_id, \
     redemption_id, note, resolved_by, sequence, resolved_at_us) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub const APPROVE_RUN: &str = "UPDATE settlement_runs SET status = 'approved', \
     approved_by = $2, approved_sequence = $3, approved_at_us = $4 \
     WHERE id = $1 AND status = 'prepared'";

pub const SELECT_PENDING_OFFSETS: &str = "SELECT CAST(COALESCE(SUM(p.offset_fen), 0) AS BIGINT) \
     FROM payouts p JOIN settlement_runs s ON s.id = p.run_id \
     WHERE s.programme_code = $1 AND p.provider_id = $2 AND p.status = 'pending'";

pub const SETTLE_PAYOUT: &str = "UPDATE payouts SET status = $2, bank_message = $3, \
     updated_sequence = $4 WHERE reference = $1 AND status = 'pending'";

pub const SELECT_PAID_UNRECOVERED: &str = "SELECT s.programme_code, l.provider_id, \
     l.subsidy_fen FROM settlement_lines l JOIN settlement_runs s ON s.id = l.run_id \
     JOIN payouts p ON p.run_id = l.run_id AND p.provider_id = l.provider_id \
     WHERE l.redemption_id = $1 AND l.state <> 'released' AND l.state = 'included' \
     AND p.status = 'paid' AND NOT EXISTS \
     (SELECT 1 FROM recovered_redemptions x WHERE x.redemption_id = l.redemption_id)";

/// The included lines of a run (of one provider when $2 is its id).
pub const COUNT_INCLUDED: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM settlement_lines \
     WHERE run_id = $1 AND state = 'included' AND ($2 = '' OR provider_id = $2)";

/// Per line state: how many lines of a run and their subsidy.
pub const LINE_TOTALS: &str = "SELECT state, CAST(COUNT(*) AS BIGINT), \
     CAST(SUM(subsidy_fen) AS BIGINT) FROM settlement_lines WHERE run_id = $1 \
     GROUP BY state ORDER BY state";

pub const SELECT_PLACEMENT: &str = "SELECT l.run_id, s.status, l.state \
     FROM settlement_lines l JOIN settlement_runs s ON s.id = l.run_id \
     WHERE l.redemption_id = $1 AND l.state <> 'released'";

/// The lines carry their redemption's facts (migration 0013): only the
/// provider (one per group of lines) is joined.
pub const SELECT_BATCH_ROWS: &str = "SELECT l.line_no, l.provider_id, p.name, p.uscc, \
     p.fields_json, l.voucher_id, l.enterprise_name, l.service_category, \
     l.contract_amount_fen, l.subsidy_fen, l.invoice_number, l.confirmed_at_us \
     FROM settlement_lines l JOIN providers p ON p.id = l.provider_id \
     WHERE l.run_id = $1 AND l.state = 'included' AND ($2 = '' OR l.provider_id = $2) \
     ORDER BY l.line_no";

pub const SELECT_RESOLUTIONS: &str = "SELECT run_id, redemption_id, note, resolved_by, \
     sequence, resolved_at_us FROM settlement_resolutions WHERE run_id = $1 ORDER BY sequence";

/// Per group: face value issued (vouchers not replaced by a re-issue),
/// subsidy redeemed (not reversed), settled (in an approved batch, line
/// not released) and paid (its payout paid). `{group}` is the grouping
/// expression over `e` (enterprise) and `r` or `v`.
pub fn utilisation_sql(group: UtilisationGroup, month_expr: &str) -> String {
    let (redemption_group, voucher_group) = match group {
        UtilisationGroup::District => ("e.division".to_string(), "e.division".to_string()),
        UtilisationGroup::Zone => (
            "COALESCE(e.zone, '')".to_string(),
            "COALESCE(e.zone, '')".to_string(),
        ),
        UtilisationGroup::Category => (
            "r.service_category".to_string(),
            // A voucher covers several categories: issuance is not split by
            // category, so it is shown under the empty group.
            "''".to_string(),
        ),
        UtilisationGroup::Month => (
            month_expr.replace("{us}", "r.redeemed_at_us"),
            month_expr.replace("{us}", "v.issued_at_us"),
        ),
    };
    format!(
        "SELECT g, CAST(SUM(issued) AS BIGINT), CAST(SUM(redeemed) AS BIGINT), \
         CAST(SUM(settled) AS BIGINT), CAST(SUM(paid) AS BIGINT) FROM ( \
           SELECT {voucher_group} AS g, v.face_value_fen AS issued, 0 AS redeemed, \
                  0 AS settled, 0 AS paid \
           FROM vouchers v JOIN enterprises e ON e.id = v.enterprise_id \
           WHERE v.programme_code = $1 AND v.status <> 'reissued' \
           UNION ALL \
           SELECT {redemption_group}, 0, r.subsidy_fen, \
             CASE WHEN s.status = 'approved' THEN l.subsidy_fen ELSE 0 END, \
             CASE WHEN p.status = 'paid' THEN l.subsidy_fen ELSE 0 END \
           FROM redemptions r JOIN enterprises e ON e.id = r.enterprise_id \
           LEFT JOIN settlement_lines l ON l.redemption_id = r.id AND l.state = 'included' \
           LEFT JOIN settlement_runs s ON s.id = l.run_id \
           LEFT JOIN payouts p ON p.run_id = l.run_id AND p.provider_id = l.provider_id \
           WHERE r.programme_code = $1 AND r.status <> 'reversed' \
         ) AS rows GROUP BY g ORDER BY g"
    )
}

/// Reads columns by position, mapping decode failures to `Corrupt`.
pub struct Cols<'r, R> {
    row: &'r R,
    what: &'static str,
}

impl<'r, R: Row> Cols<'r, R>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    pub fn new(row: &'r R, what: &'static str) -> Self {
        Cols { row, what }
    }

    fn corrupt(&self, error: sqlx::Error) -> StoreError {
        StoreError::Corrupt(format!("{} row: {error}", self.what))
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.row
            .try_get::<String, _>(i)
            .map_err(|e| self.corrupt(e))
    }

    /// A status column, decoded by its type's `parse`.
    pub fn status<T>(&self, i: usize, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
        crate::store::shared::status(parse, &self.text(i)?, self.what)
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.row
            .try_get::<Option<String>, _>(i)
            .map_err(|e| self.corrupt(e))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.row.try_get::<i64, _>(i).map_err(|e| self.corrupt(e))
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.row
            .try_get::<Option<i64>, _>(i)
            .map_err(|e| self.corrupt(e))
    }

    pub fn id(&self, i: usize) -> Result<Uuid, StoreError> {
        uuid(&self.text(i)?)
    }

    pub fn opt_id(&self, i: usize) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(i)?.as_deref().map(uuid).transpose()
    }

    pub fn seq(&self, i: usize) -> Result<u64, StoreError> {
        to_u64(self.int(i)?, self.what)
    }

    pub fn line_no(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?)
            .map_err(|_| StoreError::Corrupt(format!("{} line_no", self.what)))
    }
}

/// Defines `decode_x(row) -> Result<T, StoreError>` for either backend's
/// rows, reading columns through `Cols`.
macro_rules! decoder {
    ($name:ident, $record:ty, $what:literal, |$c:ident| $build:expr) => {
        pub fn $name<R: Row>(row: &R) -> Result<$record, StoreError>
        where
            usize: sqlx::ColumnIndex<R>,
            for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
            for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        {
            let $c = Cols::new(row, $what);
            Ok($build)
        }
    };
}

/// `(id, count)` rows with the id parsed.
pub fn uuid_counts(rows: Vec<(String, i64)>) -> Result<Vec<(Uuid, i64)>, StoreError> {
    rows.into_iter()
        .map(|(id, n)| Ok((uuid(&id)?, n)))
        .collect()
}

decoder!(decode_run, RunRecord, "settlement run", |c| RunRecord {
    id: c.id(0)?,
    programme_code: crate::store::shared::programme_code(&c.text(1)?)?,
    period_from: c.text(2)?,
    period_until: c.text(3)?,
    status: c.status(4, RunStatus::parse)?,
    prepared_by: c.id(5)?,
    approved_by: c.opt_id(6)?,
    lines_digest: c.text(7)?,
    prepared_sequence: c.seq(8)?,
    approved_sequence: c
        .opt_int(9)?
        .map(|s| to_u64(s, "approved_sequence"))
        .transpose()?,
    prepared_at_us: c.int(10)?,
    approved_at_us: c.opt_int(11)?,
});

decoder!(decode_line, LineRecord, "settlement line", |c| LineRecord {
    run_id: c.id(0)?,
    redemption_id: c.id(1)?,
    line_no: c.line_no(2)?,
    provider_id: c.id(3)?,
    subsidy_fen: c.int(4)?,
    state: c.status(5, LineState::parse)?,
    flags_json: c.text(6)?,
    facts: LineFacts {
        voucher_id: c.id(7)?,
        enterprise_name: c.text(8)?,
        service_category: c.text(9)?,
        contract_amount_fen: c.int(10)?,
        invoice_number: c.opt_text(11)?,
        confirmed_at_us: c.opt_int(12)?,
    },
});

decoder!(decode_payout, PayoutRecord, "payout", |c| PayoutRecord {
    reference: c.text(0)?,
    run_id: c.id(1)?,
    provider_id: c.id(2)?,
    payee_name: c.text(3)?,
    bank_name: c.text(4)?,
    account_number: c.text(5)?,
    gross_fen: c.int(6)?,
    offset_fen: c.int(7)?,
    net_fen: c.int(8)?,
    status: c.status(9, PayoutStatus::parse)?,
    bank_message: c.opt_text(10)?,
    updated_sequence: c.seq(11)?,
});

/// A candidate's columns in `CANDIDATE_COLUMNS` order, as Postgres returns
/// them and SQLite packs them into JSON (`sqlite::settlement`).
#[derive(Debug, serde::Deserialize)]
pub struct CandidateColumns {
    pub redemption_id: Uuid,
    pub provider_id: Uuid,
    pub enterprise_id: Uuid,
    pub redeemed_sequence: u64,
    pub redeemed_at_us: i64,
    pub voucher_issued_at_us: i64,
    pub face_value_fen: i64,
    pub contract_amount_fen: i64,
    pub subsidy_fen: i64,
    pub invoice_code: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_amount_fen: Option<i64>,
    pub payment_proof_ref: Option<String>,
    pub enterprise_uscc: String,
    pub enterprise_name: String,
    pub enterprise_representative: Option<String>,
    pub voucher_id: Uuid,
    pub service_category: String,
    pub confirmed_at_us: Option<i64>,
}

impl From<CandidateColumns> for CandidateRow {
    fn from(c: CandidateColumns) -> CandidateRow {
        let invoice = match (
            c.invoice_code,
            c.invoice_number.clone(),
            c.invoice_amount_fen,
        ) {
            (Some(code), Some(number), Some(amount_fen)) => Some(InvoiceFacts {
                code,
                number,
                amount_fen,
            }),
            _ => None,
        };
        CandidateRow {
            candidate: Candidate {
                redemption_id: c.redemption_id,
                provider_id: c.provider_id,
                enterprise_id: c.enterprise_id,
                redeemed_sequence: c.redeemed_sequence,
                redeemed_at_us: c.redeemed_at_us,
                voucher_issued_at_us: c.voucher_issued_at_us,
                face_value_fen: c.face_value_fen,
                contract_amount_fen: c.contract_amount_fen,
                subsidy_fen: c.subsidy_fen,
                invoice,
                payment_proof: c
                    .payment_proof_ref
                    .is_some_and(|proof| !proof.trim().is_empty()),
                related_party: None,
            },
            enterprise_uscc: c.enterprise_uscc,
            enterprise_name: c.enterprise_name.clone(),
            enterprise_representative: c.enterprise_representative,
            facts: LineFacts {
                voucher_id: c.voucher_id,
                enterprise_name: c.enterprise_name,
                service_category: c.service_category,
                contract_amount_fen: c.contract_amount_fen,
                invoice_number: c.invoice_number,
                confirmed_at_us: c.confirmed_at_us,
            },
        }
    }
}

decoder!(
    decode_candidate,
    CandidateRow,
    "settlement candidate",
    |c| CandidateRow::from(CandidateColumns {
        redemption_id: c.id(0)?,
        provider_id: c.id(1)?,
        enterprise_id: c.id(2)?,
        redeemed_sequence: c.seq(3)?,
        redeemed_at_us: c.int(4)?,
        voucher_issued_at_us: c.int(5)?,
        face_value_fen: c.int(6)?,
        contract_amount_fen: c.int(7)?,
        subsidy_fen: c.int(8)?,
        invoice_code: c.opt_text(9)?,
        invoice_number: c.opt_text(10)?,
        invoice_amount_fen: c.opt_int(11)?,
        payment_proof_ref: c.opt_text(12)?,
        enterprise_uscc: c.text(13)?,
        enterprise_name: c.text(14)?,
        enterprise_representative: c.opt_text(15)?,
        voucher_id: c.id(16)?,
        service_category: c.text(17)?,
        confirmed_at_us: c.opt_int(18)?,
    })
);

decoder!(decode_batch_row, BatchRow, "batch row", |c| BatchRow {
    line_no: c.line_no(0)?,
    provider_id: c.id(1)?,
    provider_name: c.text(2)?,
    provider_uscc: c.text(3)?,
    provider_fields_json: c.text(4)?,
    voucher_id: c.id(5)?,
    enterprise_name: c.text(6)?,
    service_category: c.text(7)?,
    contract_amount_fen: c.int(8)?,
    subsidy_fen: c.int(9)?,
    invoice_number: c.opt_text(10)?,
    confirmed_at_us: c.opt_int(11)?,
});

decoder!(
    decode_resolution,
    ResolutionRecord,
    "settlement resolution",
    |c| ResolutionRecord {
        run_id: c.id(0)?,
        redemption_id: c.id(1)?,
        note: c.text(2)?,
        resolved_by: c.id(3)?,
        sequence: c.seq(4)?,
        resolved_at_us: c.int(5)?,
    }
);

decoder!(decode_utilisation, UtilisationRow, "utilisation", |c| {
    UtilisationRow {
        group: c.text(0)?,
        issued_fen: c.int(1)?,
        redeemed_fen: c.int(2)?,
        settled_fen: c.int(3)?,
        paid_fen: c.int(4)?,
    }
});

decoder!(
    decode_placement,
    LivePlacement,
    "settlement placement",
    |c| LivePlacement {
        run_id: c.id(0)?,
        run_status: c.status(1, RunStatus::parse)?,
        state: c.status(2, LineState::parse)?,
    }
);

/// Rows per multi-row INSERT: well under SQLite's 32,766 parameters.
pub const INSERT_CHUNK: usize = 1000;

/// `SELECT … FROM table WHERE column = $1 [ORDER BY …]`, decoded with `decode`.
macro_rules! select_by {
    ($executor:expr, $sql:expr, $bind:expr, $decode:path) => {{
        let rows = sqlx::query(&$sql)
            .bind($bind)
            .fetch_all($executor)
            .await
            .map_err(map_err)?;
        rows.iter().map($decode).collect::<Result<Vec<_>, _>>()
    }};
}
pub(crate) use select_by;

//! SQL shared by both backends.
//!
//! Most ledger SQL is portable (`$n` bind parameters, `ON CONFLICT`, integer
//! fen, UTC microseconds, blobs), so it is written once here and
//! instantiated for each backend by `impl_shared_store!`. What differs —
//! how a write transaction starts, how the head is locked, how migrations
//! are serialised, which error codes mean "busy" — lives in the backend's
//! own module.

use crate::domain::{Fen, Timestamp};
use crate::ledger::account::Account;
use crate::ledger::checkpoint::Checkpoint;
use crate::ledger::entry::{Entry, Hash32};
use crate::ledger::posting::{Posting, Side};

use super::{ChainHead, KeyedEntry, LedgerKeyRecord, StoreError};

pub const SELECT_HEAD: &str = "SELECT sequence, hash, recorded_at_us FROM ledger_head WHERE id = 1";

pub const UPDATE_HEAD: &str = "UPDATE ledger_head SET sequence = $1, hash = $2, \
     recorded_at_us = $3, tree_size = $4, tree_frontier = $5 WHERE id = 1";

/// The head with the Merkle tree's size and right edge.
pub const SELECT_HEAD_AND_TREE: &str = "SELECT sequence, hash, recorded_at_us, tree_size, \
     tree_frontier FROM ledger_head WHERE id = 1";

/// The stored tree's right edge; `Corrupt` if it does not fit its size.
pub fn frontier_from_row(
    size: i64,
    bytes: &[u8],
) -> Result<crate::ledger::merkle::Frontier, StoreError> {
    crate::ledger::merkle::Frontier::decode(to_u64(size, "tree size")?, bytes).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the tree's right edge ({} bytes) does not fit its size {size}",
            bytes.len()
        ))
    })
}

/// Rows naming a row that does not exist, or carrying facts copied from
/// the row they name that are no longer its facts, described (see
/// `Store::broken_references`). A settlement line's firm name is left out:
/// a firm may be renamed after its line was prepared.
pub const SELECT_BROKEN_REFERENCES: &str = "\
     SELECT 'voucher ' || v.id || ' names programme ' || v.programme_code || ', which does not exist' \
       FROM vouchers v \
       WHERE NOT EXISTS (SELECT 1 FROM programmes p WHERE p.code = v.programme_code) \
     UNION ALL SELECT 'voucher ' || v.id || ' names enterprise ' || v.enterprise_id || ', which does not exist' \
       FROM vouchers v \
       WHERE NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.id = v.enterprise_id) \
     UNION ALL SELECT 'voucher ' || v.id || ' names issuer key ' || v.key_id || ', which does not exist' \
       FROM vouchers v \
       WHERE NOT EXISTS (SELECT 1 FROM issuer_keys k WHERE k.key_id = v.key_id) \
     UNION ALL SELECT 'redemption ' || r.id || ' names voucher ' || r.voucher_id || ', which does not exist' \
       FROM redemptions r \
       WHERE NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.id = r.voucher_id) \
     UNION ALL SELECT 'redemption ' || r.id || ' names programme ' || r.programme_code || ', which does not exist' \
       FROM redemptions r \
       WHERE NOT EXISTS (SELECT 1 FROM programmes p WHERE p.code = r.programme_code) \
     UNION ALL SELECT 'redemption ' || r.id || ' names provider ' || r.provider_id || ', which does not exist' \
       FROM redemptions r \
       WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.id = r.provider_id) \
     UNION ALL SELECT 'redemption ' || r.id || ' names enterprise ' || r.enterprise_id || ', which does not exist' \
       FROM redemptions r \
       WHERE NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.id = r.enterprise_id) \
     UNION ALL SELECT 'redemption ' || r.id || ' does not match voucher ' || r.voucher_id \
       FROM redemptions r JOIN vouchers v ON v.id = r.voucher_id \
       WHERE r.voucher_issued_at_us <> v.issued_at_us \
       OR r.voucher_face_value_fen <> v.face_value_fen \
     UNION ALL SELECT 'settlement line ' || l.run_id || '/' || CAST(l.line_no AS TEXT) \
       || ' does not match redemption ' || l.redemption_id \
       FROM settlement_lines l LEFT JOIN redemptions r ON r.id = l.redemption_id \
       WHERE l.state <> 'released' AND (r.id IS NULL OR r.voucher_id <> l.voucher_id \
       OR r.service_category <> l.service_category \
       OR r.contract_amount_fen <> l.contract_amount_fen \
       OR r.invoice_number IS DISTINCT FROM l.invoice_number \
       OR r.confirmed_at_us IS DISTINCT FROM l.confirmed_at_us) \
     UNION ALL SELECT 'posting ' || CAST(p.sequence AS TEXT) || '/' || CAST(p.posting_index AS TEXT) \
       || ' belongs to no entry' \
       FROM ledger_postings p \
       WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.sequence = p.sequence) \
     LIMIT 10";

/// What the tables say the accounts that mirror them must hold, as
/// (account name, amount) parts to add up per account (docs/ledger.md §8,
/// step 10): outstanding vouchers are the active vouchers' remaining
/// value; a provider's payable is its redemptions' subsidy (not reversed)
/// less its payouts pending or paid; in payment, its pending payouts; paid,
/// its paid payouts (less recoveries, which only the ledger records).
pub const SELECT_MIRRORED_BALANCES: &str = "\
     SELECT 'vouchers_outstanding/' || programme_code, CAST(SUM(remaining_fen) AS BIGINT) \
       FROM vouchers WHERE status = 'active' GROUP BY programme_code \
     UNION ALL SELECT 'provider_payable/' || programme_code || '/' || provider_id, \
       CAST(SUM(subsidy_fen) AS BIGINT) \
       FROM redemptions WHERE status <> 'reversed' GROUP BY programme_code, provider_id \
     UNION ALL SELECT 'provider_payable/' || r.programme_code || '/' || p.provider_id, \
       -CAST(SUM(p.gross_fen) AS BIGINT) \
       FROM payouts p JOIN settlement_runs r ON r.id = p.run_id \
       WHERE p.status IN ('pending', 'paid') GROUP BY r.programme_code, p.provider_id \
     UNION ALL SELECT CASE p.status WHEN 'pending' THEN 'payout_pending/' ELSE 'paid/' END \
       || r.programme_code || '/' || p.provider_id, CAST(SUM(p.gross_fen) AS BIGINT) \
       FROM payouts p JOIN settlement_runs r ON r.id = p.run_id \
       WHERE p.status IN ('pending', 'paid') GROUP BY p.status, r.programme_code, p.provider_id";

pub const SELECT_ENTRIES: &str = "SELECT sequence, kind, body, actor, recorded_at_us, idempotency_key, \
     command_digest, prev_hash, hash \
     FROM ledger_entries WHERE sequence >= $1 ORDER BY sequence LIMIT $2";

pub const SELECT_POSTINGS: &str = "SELECT sequence, posting_index, account, side, amount_fen \
     FROM ledger_postings WHERE sequence >= $1 AND sequence <= $2 \
     ORDER BY sequence, posting_index";

pub const SELECT_BALANCES: &str =
    "SELECT account, balance_fen, last_sequence FROM account_balances ORDER BY account";

pub const SELECT_CHECKPOINTS: &str = "SELECT sequence, head_hash, signed_at_us, key_id, signature \
     FROM ledger_checkpoints ORDER BY sequence";

pub const SELECT_LATEST_CHECKPOINT: &str = "SELECT sequence, head_hash, signed_at_us, key_id, signature \
     FROM ledger_checkpoints ORDER BY sequence DESC LIMIT 1";

/// Checkpoints below a sequence, newest first: `$1` before, `$2` limit.
pub const SELECT_CHECKPOINTS_BEFORE: &str = "SELECT sequence, head_hash, signed_at_us, key_id, signature \
     FROM ledger_checkpoints WHERE sequence < $1 ORDER BY sequence DESC LIMIT $2";

pub const INSERT_CHECKPOINT: &str = "INSERT INTO ledger_checkpoints \
     (sequence, head_hash, signed_at_us, key_id, signature) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (sequence) DO NOTHING";

pub const INSERT_LEDGER_KEY: &str = "INSERT INTO ledger_keys (key_id, public_key, created_at_us) \
     VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING";

pub const SELECT_LEDGER_KEYS: &str =
    "SELECT key_id, public_key, created_at_us FROM ledger_keys ORDER BY created_at_us, key_id";

pub const SELECT_APPLIED_MIGRATIONS: &str =
    "SELECT version, checksum FROM schema_migrations ORDER BY version";

pub const INSERT_APPLIED_MIGRATION: &str = "INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES ($1, $2, $3, $4)";

/// Maps a driver error to what callers act on. `busy` says whether a
/// database error code means "try again" on this backend.
pub fn classify(error: sqlx::Error, busy: fn(&str) -> bool) -> StoreError {
    match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(error),
        sqlx::Error::Database(db) if db.code().is_some_and(|code| busy(&code)) => {
            StoreError::Unavailable(error)
        }
        sqlx::Error::Database(db)
            if matches!(
                db.kind(),
                sqlx::error::ErrorKind::UniqueViolation | sqlx::error::ErrorKind::CheckViolation
            ) =>
        {
            let constraint = db.constraint().unwrap_or("unnamed").to_string();
            StoreError::Conflict {
                constraint,
                source: error,
            }
        }
        _ => StoreError::Database(error),
    }
}

pub fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what}: {value}")))
}

pub fn to_i64(value: u64) -> i64 {
    // Sequence numbers come from the database as i64 and grow by one, so
    // they never approach 2^63.
    i64::try_from(value).expect("sequence numbers fit in i64")
}

pub fn hash32(bytes: Vec<u8>, what: &str) -> Result<Hash32, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

pub fn head_from_row(
    sequence: i64,
    hash: Vec<u8>,
    recorded_at_us: i64,
) -> Result<ChainHead, StoreError> {
    Ok(ChainHead {
        sequence: to_u64(sequence, "head sequence")?,
        hash: hash32(hash, "head hash")?,
        recorded_at: Timestamp::from_micros(recorded_at_us),
    })
}

pub type KeyedRow = (String, i64, Vec<u8>, i64, String, Vec<u8>);

pub fn keyed_from_row(
    (idempotency_key, sequence, hash, recorded_at_us, kind, digest): KeyedRow,
) -> Result<KeyedEntry, StoreError> {
    Ok(KeyedEntry {
        idempotency_key,
        sequence: to_u64(sequence, "sequence")?,
        hash: hash32(hash, "hash")?,
        recorded_at: Timestamp::from_micros(recorded_at_us),
        kind,
        command_digest: hash32(digest, "command digest")?,
    })
}

/// Row types as selected above, in column order.
pub type EntryRow = (
    i64,
    String,
    Vec<u8>,
    String,
    i64,
    String,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
);
pub type PostingRow = (i64, i32, String, String, i64);
pub type CheckpointRow = (i64, Vec<u8>, i64, String, Vec<u8>);
pub type LedgerKeyRow = (String, Vec<u8>, i64);

/// Joins entry rows with their posting rows (both in sequence order).
pub fn assemble_entries(
    entry_rows: Vec<EntryRow>,
    posting_rows: Vec<PostingRow>,
) -> Result<Vec<Entry>, StoreError> {
    let mut postings = posting_rows.into_iter().peekable();
    let mut entries = Vec::with_capacity(entry_rows.len());
    for (sequence, kind, body, actor, recorded_at_us, idempotency_key, digest, prev_hash, hash) in
        entry_rows
    {
        let mut entry = Entry {
            sequence: to_u64(sequence, "sequence")?,
            kind,
            body,
            actor,
            recorded_at: Timestamp::from_micros(recorded_at_us),
            idempotency_key,
            command_digest: hash32(digest, "command digest")?,
            prev_hash: hash32(prev_hash, "prev_hash")?,
            hash: hash32(hash, "hash")?,
            postings: Vec::new(),
        };
        while let Some((posting_sequence, _, _, _, _)) = postings.peek() {
            if *posting_sequence < sequence {
                // A posting whose entry is gone: surfaced by verify through
                // the entry sequence gap, so skip it here.
                postings.next();
                continue;
            }
            if *posting_sequence > sequence {
                break;
            }
            let (_, _, account, side, amount_fen) = postings.next().expect("peeked");
            entry.postings.push(Posting {
                account: Account::parse(&account).map_err(|e| {
                    StoreError::Corrupt(format!("entry {sequence}: account {account:?}: {e}"))
                })?,
                side: Side::from_code(side.as_bytes().first().copied().unwrap_or(0)).ok_or_else(
                    || StoreError::Corrupt(format!("entry {sequence}: side {side:?}")),
                )?,
                amount: Fen::new(amount_fen),
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// The postings of a batch of entries as parallel columns, in entry and
/// posting order, ready to bind.
pub struct PostingColumns {
    pub sequences: Vec<i64>,
    pub indexes: Vec<i32>,
    pub accounts: Vec<String>,
    pub sides: Vec<&'static str>,
    pub amounts_fen: Vec<i64>,
}

impl PostingColumns {
    pub fn of(entries: &[Entry]) -> PostingColumns {
        let count = entries.iter().map(|e| e.postings.len()).sum();
        let mut columns = PostingColumns {
            sequences: Vec::with_capacity(count),
            indexes: Vec::with_capacity(count),
            accounts: Vec::with_capacity(count),
            sides: Vec::with_capacity(count),
            amounts_fen: Vec::with_capacity(count),
        };
        for entry in entries {
            for (index, posting) in entry.postings.iter().enumerate() {
                columns.sequences.push(to_i64(entry.sequence));
                // An entry has at most POSTINGS_PER_ENTRY_MAX (100,000) postings.
                columns.indexes.push(index as i32);
                columns.accounts.push(posting.account.to_string());
                columns.sides.push(posting.side.as_code_str());
                columns.amounts_fen.push(posting.amount.as_fen());
            }
        }
        columns
    }

    pub fn len(&self) -> usize {
        self.sequences.len()
    }
}

pub fn checkpoint_from_row(
    (sequence, head_hash, signed_at_us, key_id, signature): CheckpointRow,
) -> Result<Checkpoint, StoreError> {
    Ok(Checkpoint {
        sequence: to_u64(sequence, "checkpoint sequence")?,
        head_hash: hash32(head_hash, "checkpoint head hash")?,
        signed_at: Timestamp::from_micros(signed_at_us),
        key_id,
        signature: signature
            .try_into()
            .map_err(|_| StoreError::Corrupt("checkpoint signature is not 64 bytes".into()))?,
    })
}

pub fn key_from_row(
    (key_id, public_key, created_at_us): LedgerKeyRow,
) -> Result<LedgerKeyRecord, StoreError> {
    Ok(LedgerKeyRecord {
        public_key: ed25519_dalek::VerifyingKey::from_bytes(&hash32(
            public_key,
            "ledger public key",
        )?)
        .map_err(|_| StoreError::Corrupt(format!("ledger key {key_id} is not Ed25519")))?,
        key_id,
        created_at: Timestamp::from_micros(created_at_us),
    })
}

/// The row of `$table` whose `$column` equals `$value`, decoded by
/// `$decode` (row → `Result<Record, StoreError>`), through `$executor`
/// (the pool, or the writer's transaction): `Result<Option<Record>, _>`.
/// Expands inside the store impls (needs their `map_err`).
macro_rules! row_where {
    ($executor:expr, $table:literal, $columns:expr, $column:expr, $value:expr, $row:ty, $decode:expr) => {{
        let query = format!(
            concat!("SELECT {} FROM ", $table, " WHERE {} = $1"),
            $columns, $column
        );
        let row: Option<$row> = sqlx::query_as(&query)
            .bind($value)
            .fetch_optional($executor)
            .await
            .map_err(map_err)?;
        row.map($decode).transpose()
    }};
}
pub(crate) use row_where;

/// A programme code stored as text; anything else is corruption.
pub fn programme_code(text: &str) -> Result<crate::domain::ProgrammeCode, StoreError> {
    crate::domain::ProgrammeCode::parse(text)
        .map_err(|_| StoreError::Corrupt(format!("not a programme code: {text:?}")))
}

/// A UUID stored as text; anything else is corruption.
pub fn uuid(text: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("not a UUID: {text:?}")))
}

/// A status column decoded by its type's `parse` (`VoucherStatus::parse`,
/// …); a name the type does not know is corruption of `what`.
pub fn status<T>(
    parse: fn(&str) -> Option<T>,
    text: &str,
    what: impl std::fmt::Display,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("{what}: unknown status {text:?}")))
}

/// One keyset page of `table` (rows keyed by UUID v7 text ids, so in order
/// of creation): `columns` of rows whose id sorts after `after` and whose
/// columns equal the given `filters` (those that are `Some`), at most
/// `limit` rows.
pub fn keyset_page<'a, DB: sqlx::Database>(
    columns: &str,
    table: &str,
    after: Option<uuid::Uuid>,
    filters: [(&'static str, Option<String>); 4],
    limit: i64,
) -> sqlx::QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::QueryBuilder::new(format!("SELECT {columns} FROM {table} WHERE id > "));
    query.push_bind(after.map(|id| id.to_string()).unwrap_or_default());
    for (column, value) in filters {
        if let Some(value) = value {
            query.push(format!(" AND {column} = "));
            query.push_bind(value);
        }
    }
    query.push(" ORDER BY id LIMIT ");
    query.push_bind(limit);
    query
}

//! Ledger endpoints: the public latest checkpoint, and for finance and
//! auditors the entries, postings and balances themselves.
//!
//! The checkpoint is meant to be public (it reveals only a sequence number,
//! a hash and a signature), so anyone can pin the ledger's history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::ApiQuery;
use super::page::{KeyPage, PAGE_DEFAULT, PAGE_MAX};
use super::{ApiError, AppState};
use crate::ledger::entry::{Entry, to_hex};
use crate::store::Store;

/// The largest sequence number a ledger can reach (they are stored as
/// i64); cursors from clients are held below it, so no input can overflow.
const SEQUENCE_MAX: u64 = i64::MAX as u64 - 1;

fn sequence_in_range(sequence: u64) -> u64 {
    sequence.min(SEQUENCE_MAX)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointPage {
    /// Cursor: checkpoints below this sequence number (absent: the newest).
    pub before: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    /// Newest first.
    pub checkpoints: Vec<CheckpointView>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryPage {
    /// Cursor: entries after this sequence number (0 for the first page).
    pub after: Option<u64>,
    /// Newest first: entries below this sequence (a number past the head,
    /// e.g. 9223372036854775807, for the newest page).
    pub before: Option<u64>,
    /// Only entries of this kind (`voucher_redeemed`, …).
    pub kind: Option<String>,
    /// Only entries recorded on or after / on or before these days (UTC+8).
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<chrono::NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<chrono::NaiveDate>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostingView {
    pub account: String,
    /// "debit" or "credit".
    pub side: &'static str,
    pub amount_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    pub sequence: u64,
    pub kind: String,
    pub actor: String,
    pub recorded_at: String,
    pub recorded_at_us: i64,
    pub idempotency_key: String,
    /// The canonical protobuf body, hex (docs/ledger.md §6).
    pub body_hex: String,
    pub command_digest: String,
    pub prev_hash: String,
    pub hash: String,
    pub postings: Vec<PostingView>,
}

impl From<Entry> for EntryView {
    fn from(entry: Entry) -> Self {
        EntryView {
            sequence: entry.sequence,
            kind: entry.kind,
            actor: entry.actor,
            recorded_at: entry.recorded_at.to_cst_rfc3339(),
            recorded_at_us: entry.recorded_at.as_micros(),
            idempotency_key: entry.idempotency_key,
            body_hex: to_hex(&entry.body),
            command_digest: to_hex(&entry.command_digest),
            prev_hash: to_hex(&entry.prev_hash),
            hash: to_hex(&entry.hash),
            postings: entry
                .postings
                .iter()
                .map(|p| PostingView {
                    account: p.account.to_string(),
                    side: p.side.as_str(),
                    amount_fen: p.amount.as_fen(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryList {
    pub entries: Vec<EntryView>,
    /// Pass as `after` (or, newest first, as `before`) for the next page;
    /// absent on the last page.
    pub next_cursor: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    pub account: String,
    pub balance_fen: i64,
    pub last_sequence: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceList {
    pub balances: Vec<BalanceView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

pub async fn entries<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(page): ApiQuery<EntryPage>,
) -> Result<Json<EntryList>, ApiError> {
    let limit = page.limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX);
    let filtered =
        page.before.is_some() || page.kind.is_some() || page.from.is_some() || page.until.is_some();
    let entries = if filtered {
        filtered_entries(&state.store, &page, limit).await?
    } else {
        state
            .store
            .entries(sequence_in_range(page.after.unwrap_or(0)) + 1, limit)
            .await?
    };
    let next_cursor = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.sequence))
        .flatten();
    Ok(Json(EntryList {
        entries: entries.into_iter().map(EntryView::from).collect(),
        next_cursor,
    }))
}

/// A page of the entries a kind, dates or `before` select (newest first
/// with `before`), each with its postings.
async fn filtered_entries<S: Store>(
    store: &S,
    page: &EntryPage,
    limit: u32,
) -> Result<Vec<crate::ledger::entry::Entry>, ApiError> {
    let kind = match page.kind.as_deref().map(str::trim) {
        Some(kind) => Some(
            crate::ledger::body::EntryKind::parse(kind)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "entry_kind_unknown",
                        format!("There is no entry kind {kind:?} (docs/ledger.md §6)."),
                        format!("没有这种分录类型：{kind}（见 docs/ledger.md 第 6 节）。"),
                    )
                })?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let day_start =
        |day: chrono::NaiveDate| crate::domain::Timestamp::cst_midnight(day).as_micros();
    let filter = crate::store::EntryFilter {
        after: page.after.map(sequence_in_range),
        before: page.before.map(sequence_in_range),
        kind,
        from_us: page.from.map(day_start),
        until_us: page.until.and_then(|day| day.succ_opt()).map(day_start),
        newest_first: page.before.is_some(),
    };
    let mut entries = Vec::new();
    for sequence in store.entry_sequences(&filter, limit).await? {
        entries.extend(
            store
                .entries(sequence, 1)
                .await?
                .into_iter()
                .filter(|entry| entry.sequence == sequence),
        );
    }
    Ok(entries)
}

pub async fn entry<S: Store>(
    State(state): State<AppState<S>>,
    Path(sequence): Path<String>,
) -> Result<Json<EntryView>, ApiError> {
    let sequence: u64 = sequence
        .parse()
        .ok()
        .filter(|s| *s <= SEQUENCE_MAX)
        .ok_or_else(ApiError::not_found)?;
    let found = state.store.entries(sequence, 1).await?.into_iter().next();
    match found {
        Some(entry) if entry.sequence == sequence => Ok(Json(EntryView::from(entry))),
        _ => Err(ApiError::not_found()),
    }
}

pub async fn balances<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(page): ApiQuery<KeyPage>,
) -> Result<Json<BalanceList>, ApiError> {
    let balances = state
        .store
        .balances_after(page.after(), page.limit())
        .await?;
    let next_cursor = page.next_cursor(&balances, |b| &b.account);
    Ok(Json(BalanceList {
        balances: balances
            .into_iter()
            .map(|b| BalanceView {
                account: b.account,
                balance_fen: b.balance_fen,
                last_sequence: b.last_sequence,
            })
            .collect(),
        next_cursor,
    }))
}

/// What verifying the whole ledger found.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    /// True when every check held.
    pub verified: bool,
    pub entries: u64,
    pub postings: u64,
    /// Signed checkpoints whose signatures and hashes were checked.
    pub checkpoints: u64,
    pub accounts: usize,
    /// The head hash the chain recomputes to (when verified).
    pub head_hash: Option<String>,
    /// The first bad sequence number, when there is one.
    pub failed_at_sequence: Option<u64>,
    /// What does not hold, when something does not.
    pub problem: Option<String>,
    /// When the check finished (UTC+8).
    pub checked_at: String,
    pub elapsed_ms: u64,
}

/// One verification at a time per process: it reads the whole ledger.
static VERIFICATION_RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs the same verification as `voucher-ledger verify` against the
/// keys the database publishes. A broken ledger is a 200 with
/// `verified: false` (the check itself worked); a second request while one
/// runs is told to wait. Ledgers too long for the request timeout are
/// verified with the CLI (docs/operations.md).
pub async fn verification<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<VerificationView>, ApiError> {
    let Ok(_running) = VERIFICATION_RUNNING.try_acquire() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "verification_running",
            "A verification is already running; try again when it has finished.",
            "已有一次校验正在进行，请稍后再试。",
        ));
    };
    let started = std::time::Instant::now();
    let outcome = crate::service::verify::verify_store(&state.store, &[]).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let checked_at = crate::domain::Timestamp::now().to_cst_rfc3339();
    Ok(Json(match outcome {
        Ok(summary) => VerificationView {
            verified: true,
            entries: summary.entries,
            postings: summary.postings,
            checkpoints: summary.checkpoints,
            accounts: summary.accounts,
            head_hash: Some(to_hex(&summary.head_hash)),
            failed_at_sequence: None,
            problem: None,
            checked_at,
            elapsed_ms,
        },
        Err(crate::service::verify::VerifyError::Store(error)) => return Err(error.into()),
        Err(error) => VerificationView {
            verified: false,
            entries: 0,
            postings: 0,
            checkpoints: 0,
            accounts: 0,
            head_hash: None,
            failed_at_sequence: error.sequence(),
            problem: Some(error.to_string()),
            checked_at,
            elapsed_ms,
        },
    }))
}

/// A checkpoint as published (docs/ledger.md, "Checkpoints").
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    pub sequence: u64,
    pub head_hash: String,
    pub signed_at: String,
    pub signed_at_us: i64,
    pub key_id: String,
    pub algorithm: &'static str,
    pub public_key: Option<String>,
    pub signature: String,
}

pub async fn latest_checkpoint<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Json<CheckpointView>, ApiError> {
    let Some(checkpoint) = state.store.latest_checkpoint().await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_checkpoint",
            "The ledger has not signed a checkpoint yet.",
            "账本尚未签署检查点。",
        ));
    };
    let keys = state.store.ledger_keys().await?;
    Ok(Json(CheckpointView::of(checkpoint, &keys)))
}

/// Signed checkpoints, newest first, a page at a time.
pub async fn checkpoints<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(page): ApiQuery<CheckpointPage>,
) -> Result<Json<CheckpointList>, ApiError> {
    let limit = page.limit.unwrap_or(PAGE_DEFAULT).clamp(1, PAGE_MAX);
    let before = sequence_in_range(page.before.unwrap_or(SEQUENCE_MAX));
    let found = state.store.checkpoints_before(before, limit).await?;
    let next_before = (found.len() == limit as usize)
        .then(|| found.last().map(|c| c.sequence))
        .flatten();
    let keys = state.store.ledger_keys().await?;
    Ok(Json(CheckpointList {
        checkpoints: found
            .into_iter()
            .map(|c| CheckpointView::of(c, &keys))
            .collect(),
        next_before,
    }))
}

impl CheckpointView {
    /// A checkpoint with the public key that signed it, when published.
    fn of(
        checkpoint: crate::ledger::checkpoint::Checkpoint,
        keys: &[crate::store::LedgerKeyRecord],
    ) -> CheckpointView {
        let public_key = keys
            .iter()
            .find(|key| key.key_id == checkpoint.key_id)
            .map(|key| to_hex(key.public_key.as_bytes()));
        CheckpointView {
            sequence: checkpoint.sequence,
            head_hash: to_hex(&checkpoint.head_hash),
            signed_at: checkpoint.signed_at.to_cst_rfc3339(),
            signed_at_us: checkpoint.signed_at.as_micros(),
            key_id: checkpoint.key_id,
            algorithm: "Ed25519",
            public_key,
            signature: to_hex(&checkpoint.signature),
        }
    }
}

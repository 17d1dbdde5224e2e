//! The transparency log for outsiders, no login (docs/transparency.md):
//! the C2SP tlog-tiles files under `/log/` — the verifier key, the newest
//! signed checkpoint, hash tiles and entry bundles — the proofs' JSON API
//! (`/api/v1/log/…`), and the receipts of vouchers, redemptions and runs
//! (in the route table and the OpenAPI document).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Auth;
use super::json::ApiQuery;
use super::{ApiError, AppState};
use crate::ledger::entry::Hash32;
use crate::ledger::note;
use crate::ledger::receipt::Receipt;
use crate::service::transparency::{self, LogError, TilePath};
use crate::store::Store;

/// Full tiles never change: cache them for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The checkpoint moves on: always revalidate.
const FRESH: &str = "no-cache";

/// The `/log/` files (outside the route table: they are not JSON).
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/log/vkey", get(vkey::<S>))
        .route("/log/checkpoint", get(checkpoint::<S>))
        .route("/log/tile/{*path}", get(tile::<S>))
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn vkey<S: Store>(State(state): State<AppState<S>>) -> Result<Response, ApiError> {
    let Some(key) = state.config.log_key else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "log_key_unknown",
            "This server does not sign the log.",
            "本服务不签署公示日志。",
        ));
    };
    Ok(text(
        format!("{}\n", note::vkey(&state.config.log_origin, &key)),
        FRESH,
    ))
}

fn no_checkpoint() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_log_checkpoint",
        "The log has not published a checkpoint yet (none signed, or none cosigned by its witnesses yet).",
        "公示日志尚未发布检查点（尚未签署，或见证方尚未联署）。",
    )
}

/// The published checkpoint (the newest signed one; with witnesses, the
/// newest every witness cosigned) with the witnesses' cosignature lines
/// after the log's own signature.
async fn checkpoint<S: Store>(State(state): State<AppState<S>>) -> Result<Response, ApiError> {
    let log = state.config.publication();
    let published = transparency::published_checkpoint(&state.store, &log).await?;
    let checkpoint = published.ok_or_else(no_checkpoint)?;
    let note = transparency::cosigned_note(&state.store, &checkpoint).await?;
    Ok(text(note, FRESH))
}

fn no_tile() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "tile_not_found",
        "No such tile: the path is not a tile of C2SP tlog-tiles, or the log is not that large yet.",
        "没有这个瓦片：路径不符合 C2SP tlog-tiles，或日志尚未增长到该处。",
    )
}

impl From<LogError> for ApiError {
    fn from(error: LogError) -> Self {
        match error {
            LogError::NoTile => no_tile(),
            LogError::BeyondTheTree { asked, size } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "beyond_the_log",
                format!("The log holds {size} entries; {asked} is beyond it."),
                format!("公示日志共 {size} 条，{asked} 超出范围。"),
            ),
            LogError::BadSize => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "tree_size_rejected",
                "A tree size must be at least 1, at least the entry's sequence, and not below the older size.",
                "树大小须至少为 1，且不小于条目序号，也不得小于较早的大小。",
            ),
            LogError::NotYetCheckpointed(sequence) => ApiError::new(
                StatusCode::CONFLICT,
                "receipt_not_ready",
                format!(
                    "No signed checkpoint covers entry {sequence} yet; the log signs one at least every minute while it moves: try again shortly."
                ),
                format!(
                    "尚无已签名的检查点覆盖条目 {sequence}；日志在变动时至少每分钟签署一次，请稍后再试。"
                ),
            ),
            LogError::Store(error) => error.into(),
        }
    }
}

async fn tile<S: Store>(
    State(state): State<AppState<S>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let tile = TilePath::parse(&path).ok_or_else(no_tile)?;
    let bytes = match tile.level {
        Some(level) => transparency::hash_tile(&state.store, level, tile.index, tile.width).await?,
        None => transparency::entry_tile(&state.store, tile.index, tile.width).await?,
    };
    // Full and partial tiles alike never change once they exist (a
    // partial tile of width W holds the first W of the full one).
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        bytes,
    )
        .into_response())
}

fn b64(hash: &Hash32) -> String {
    BASE64.encode(hash)
}

/// Which entry to prove, and against which tree size.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's sequence number.
    pub sequence: Option<u64>,
    /// Or: the voucher whose issue entry to prove.
    pub voucher_id: Option<Uuid>,
    /// Or: the redemption whose entry to prove.
    pub redemption_id: Option<Uuid>,
    /// Or: a payout's bank reference (`VL…`): the entry that last changed
    /// it (the run's approval while pending; the bank return once paid or
    /// failed).
    pub payout: Option<String>,
    /// The tree size (default: the newest signed checkpoint's).
    pub tree_size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionView {
    pub sequence: u64,
    /// `sequence - 1`.
    pub leaf_index: u64,
    /// The entry's kind and hash, as in the leaf.
    pub kind: String,
    pub entry_hash: String,
    /// The leaf record, base64 (docs/transparency.md).
    pub leaf: String,
    /// SHA-256(0x00 ‖ leaf), base64.
    pub leaf_hash: String,
    pub tree_size: u64,
    /// The root of the tree of `tree_size` entries, base64.
    pub root: String,
    /// RFC 9162 audit path, the leaf's sibling first, base64 hashes.
    pub proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) of `tree_size`, if one was
    /// signed at that size.
    pub checkpoint: Option<String>,
}

/// The inclusion proof of an entry.
pub async fn inclusion<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionView>, ApiError> {
    let named = [
        query.sequence.is_some(),
        query.voucher_id.is_some(),
        query.redemption_id.is_some(),
        query.payout.is_some(),
    ];
    if named.iter().filter(|named| **named).count() != 1 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Name exactly one of sequence, voucher_id, redemption_id and payout.",
            "sequence、voucher_id、redemption_id、payout 须且只须给出一个。",
        ));
    }
    let sequence = if let Some(sequence) = query.sequence {
        sequence
    } else if let Some(id) = query.voucher_id {
        let voucher = state.store.voucher(id).await?;
        voucher.ok_or_else(ApiError::not_found)?.issued_sequence
    } else if let Some(id) = query.redemption_id {
        let redemption = state.store.redemption(id).await?;
        redemption
            .ok_or_else(ApiError::not_found)?
            .redeemed_sequence
    } else {
        payout_by_reference(&state, query.payout.as_deref().unwrap_or_default())
            .await?
            .updated_sequence
    };
    let found = transparency::inclusion(
        &state.store,
        &state.config.publication(),
        sequence,
        query.tree_size,
    )
    .await?;
    let leaf = found.leaf.record();
    Ok(Json(InclusionView {
        sequence,
        leaf_index: sequence - 1,
        kind: found.leaf.kind.clone(),
        entry_hash: crate::ledger::entry::to_hex(&found.leaf.hash),
        leaf: BASE64.encode(&leaf),
        leaf_hash: b64(&found.leaf.leaf_hash()),
        tree_size: found.tree_size,
        root: b64(&found.root),
        proof: found.proof.iter().map(b64).collect(),
        checkpoint: found.checkpoint,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (0 allowed).
    pub from: u64,
    /// The newer tree size (default: the newest signed checkpoint's).
    pub to: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyView {
    pub from: u64,
    pub to: u64,
    /// Roots of both trees, base64.
    pub from_root: String,
    pub to_root: String,
    /// RFC 9162 consistency proof, base64 hashes (empty when `from` is 0
    /// or equals `to`).
    pub proof: Vec<String>,
}

/// The proof that one tree size extends another.
pub async fn consistency<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let to = match query.to {
        Some(to) => to,
        None => transparency::default_size(&state.store, &state.config.publication()).await?,
    };
    let (from_root, to_root, proof) =
        transparency::consistency(&state.store, query.from, to).await?;
    Ok(Json(ConsistencyView {
        from: query.from,
        to,
        from_root: b64(&from_root),
        to_root: b64(&to_root),
        proof: proof.iter().map(b64).collect(),
    }))
}

/// The receipt of a voucher's issue entry (its holder, admin, finance,
/// auditor).
pub async fn voucher_receipt<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let voucher = super::vouchers::visible_voucher(&state, &caller, &id).await?;
    let subject = format!("voucher {} issued", voucher.id);
    let receipt = transparency::receipt(
        &state.store,
        &state.config.publication(),
        voucher.issued_sequence,
        subject,
    )
    .await?;
    Ok(Json(receipt))
}

/// The receipt of a redemption's entry (its provider and enterprise,
/// admin, finance, auditor).
pub async fn redemption_receipt<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let record = super::redemptions::visible_redemption(&state, &caller, &id).await?;
    let subject = format!("redemption {} recorded", record.id);
    let receipt = transparency::receipt(
        &state.store,
        &state.config.publication(),
        record.redeemed_sequence,
        subject,
    )
    .await?;
    Ok(Json(receipt))
}

async fn payout_by_reference<S: Store>(
    state: &AppState<S>,
    reference: &str,
) -> Result<crate::store::settlement::PayoutRecord, ApiError> {
    if reference.len() > PAYOUT_REFERENCE_MAX {
        return Err(ApiError::not_found());
    }
    let payout = state.store.payout(reference).await?;
    payout.ok_or_else(ApiError::not_found)
}

/// Longer than any payout reference (they are 26 characters).
const PAYOUT_REFERENCE_MAX: usize = 64;

/// The receipt of a payout's latest state: the entry that fixed it (the
/// run's approval) or recorded the bank's answer (paid, failed). Its
/// provider's staff, finance, admin, auditor.
pub async fn payout_receipt<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path(reference): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let payout = payout_by_reference(&state, &reference).await?;
    if !super::settlement::may_see_provider(&caller, payout.provider_id) {
        return Err(ApiError::not_found());
    }
    let subject = format!(
        "payout {} of {} to provider {}: {}",
        payout.reference,
        crate::domain::Fen::new(payout.net_fen),
        payout.provider_id,
        payout.status.as_str()
    );
    let log = state.config.publication();
    let receipt =
        transparency::receipt(&state.store, &log, payout.updated_sequence, subject).await?;
    Ok(Json(receipt))
}

/// The receipt of a settlement run's approval (finance, admin, auditor);
/// 404 for a run not approved yet.
pub async fn run_receipt<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let id = ApiError::id_or_404(&id)?;
    let run = state.store.settlement_run(id).await?;
    let sequence = run
        .and_then(|run| run.approved_sequence)
        .ok_or_else(ApiError::not_found)?;
    let subject = format!("settlement run {id} approved");
    Ok(Json(
        transparency::receipt(&state.store, &state.config.publication(), sequence, subject).await?,
    ))
}

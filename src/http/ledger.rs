//! Public ledger endpoints: the latest signed checkpoint.
//!
//! The checkpoint is meant to be public (it reveals only a sequence number,
//! a hash and a signature), so anyone can pin the ledger's history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::{ApiError, AppState};
use crate::ledger::entry::to_hex;
use crate::store::Store;

pub fn router<S: Store>() -> Router<AppState<S>> {
    Router::new().route(
        "/api/v1/ledger/checkpoints/latest",
        get(latest_checkpoint::<S>),
    )
}

/// A checkpoint as published (docs/ledger.md, "Checkpoints").
#[derive(Debug, Serialize)]
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

async fn latest_checkpoint<S: Store>(
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
    let public_key = keys
        .iter()
        .find(|key| key.key_id == checkpoint.key_id)
        .map(|key| to_hex(&key.public_key));
    Ok(Json(CheckpointView {
        sequence: checkpoint.sequence,
        head_hash: to_hex(&checkpoint.head_hash),
        signed_at: checkpoint.signed_at.to_cst_rfc3339(),
        signed_at_us: checkpoint.signed_at.as_micros(),
        key_id: checkpoint.key_id,
        algorithm: "Ed25519",
        public_key,
        signature: to_hex(&checkpoint.signature),
    }))
}

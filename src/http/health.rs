//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::store::Store;

/// A health check that hangs is as bad as a failed one.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz<S: Store>(State(state): State<AppState<S>>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(json!({
            "status": "ok",
            "database": state.store.backend().as_str(),
        }))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database unreachable");
            Err(ApiError::database_unavailable())
        }
        Err(_) => Err(ApiError::database_unavailable()),
    }
}

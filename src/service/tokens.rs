//! Voucher verification against this deployment's issuer keys: the same
//! set `GET /.well-known/voucher-keys.json` publishes, read from the
//! ledger's projection, so the online answer and an offline verifier
//! holding that file agree.

use crate::store::{Store, StoreError};
use crate::token::report::KnownKey;

/// Every issuer key this deployment has published, with its status.
pub async fn known_keys<S: Store>(store: &S) -> Result<Vec<KnownKey>, StoreError> {
    let records = store.issuer_keys().await?;
    Ok(records
        .into_iter()
        .map(|record| KnownKey {
            key_id: record.key_id,
            public_key: record.public_key,
            status: record.status,
        })
        .collect())
}

/// The trusted voucher's state here, or `unknown` if this ledger has no
/// such voucher.
pub async fn voucher_state<S: Store>(
    store: &S,
    report: &crate::token::report::VerificationReport,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some(id) = report.trusted_voucher_id() else {
        return Ok(None);
    };
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Ok(None);
    };
    Ok(Some(store.voucher(id).await?.map_or_else(
        || "unknown".to_string(),
        |v| v.status.to_string(),
    )))
}

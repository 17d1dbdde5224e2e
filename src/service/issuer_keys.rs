//! Issuer-key use cases: make a new key the one that signs vouchers (the
//! previous one retires), revoke a compromised key. Re-issuing a revoked
//! key's vouchers is `vouchers::reissue_key`.

use super::commands::{ActivateIssuerKey, Envelope, RevokeIssuerKey};
use super::engine::WriterHandle;
use super::written::Written;

/// Activates the Ed25519 public key `public_key` for signing vouchers.
pub async fn activate(writer: &WriterHandle, by: Envelope, public_key: [u8; 32]) -> Written {
    writer
        .submit(by.submission(ActivateIssuerKey { public_key }))
        .await
}

/// Revokes issuer key `key_id`: its vouchers are refused from now on.
pub async fn revoke(
    writer: &WriterHandle,
    by: Envelope,
    key_id: String,
    reason: String,
) -> Written {
    writer
        .submit(by.submission(RevokeIssuerKey { key_id, reason }))
        .await
}

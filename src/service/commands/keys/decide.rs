//! Issuer-key commands under the lock: a new key retires the active one;
//! a retired or revoked key never signs again.

use crate::domain::key_status::KeyStatus;
use crate::ledger::body::{EntryBody, pb};
use crate::store::WriteTx;
use crate::store::registry::IssuerKeyRecord;

use super::super::{Draft, InvalidCommand};
use super::{ActivateIssuerKey, RevokeIssuerKey};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::CommandError;

impl Decide for ActivateIssuerKey {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| CommandError::Invalid(InvalidCommand::PublicKey))?;
        let key_id = crate::key_id::key_id_for(&key);
        if let Some(existing) = tx.issuer_key(&key_id).await? {
            if existing.status == KeyStatus::Active {
                return Err(CommandError::Unchanged {
                    id: uuid::Uuid::nil(),
                }
                .into());
            }
            // A retired or revoked key never signs again.
            return Err(CommandError::KeyState {
                key_id,
                status: existing.status.as_str().to_string(),
            }
            .into());
        }
        let now_us = at.now_us();
        let retired = tx.active_issuer_key().await?;
        if let Some(previous) = &retired {
            tx.save_issuer_key(&IssuerKeyRecord {
                status: KeyStatus::Retired,
                retired_at_us: Some(now_us),
                ..previous.clone()
            })
            .await?;
        }
        tx.save_issuer_key(&IssuerKeyRecord {
            key_id: key_id.clone(),
            public_key: key,
            status: KeyStatus::Active,
            activated_at_us: now_us,
            retired_at_us: None,
            revoked_at_us: None,
            revoke_reason: None,
        })
        .await?;
        let body = EntryBody::IssuerKeyActivated(pb::IssuerKeyActivated {
            key_id,
            public_key: self.public_key.to_vec(),
            retired_key_id: retired.map(|k| k.key_id).unwrap_or_default(),
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for RevokeIssuerKey {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let key = tx
            .issuer_key(&self.key_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        if key.status == KeyStatus::Revoked {
            return Err(CommandError::Unchanged {
                id: uuid::Uuid::nil(),
            }
            .into());
        }
        tx.save_issuer_key(&IssuerKeyRecord {
            status: KeyStatus::Revoked,
            revoked_at_us: Some(at.now_us()),
            revoke_reason: Some(self.reason.clone()),
            ..key
        })
        .await?;
        Ok(Decided::new(draft.body, checked))
    }
}

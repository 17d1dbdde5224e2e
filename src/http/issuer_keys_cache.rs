//! The published issuer keys, at most a second old, for handlers that
//! verify QR texts at the counter: the writer re-checks the voucher's key
//! status under the ledger lock, so a second-old copy can at worst let a
//! request reach that check (and be refused there with
//! `token_key_revoked`). A key revoked or activated through this process's
//! writer drops the copy at once (`credential_epoch`). It spares every
//! redemption a read of the key table.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::service::tokens::known_keys;
use crate::store::{Store, StoreError};
use crate::token::report::KnownKey;

const TTL: Duration = Duration::from_secs(1);

type Entry = Option<(Instant, u64, Arc<Vec<KnownKey>>)>;

#[derive(Default)]
pub struct IssuerKeysCache {
    entry: Mutex<Entry>,
}

impl IssuerKeysCache {
    /// The keys; `epoch` is the writer's current `credential_epoch`.
    pub async fn known<S: Store>(
        &self,
        store: &S,
        epoch: u64,
    ) -> Result<Arc<Vec<KnownKey>>, StoreError> {
        if let Some((at, read_in, keys)) = self.lock().as_ref()
            && at.elapsed() < TTL
            && *read_in == epoch
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(known_keys(store).await?);
        *self.lock() = Some((Instant::now(), epoch, keys.clone()));
        Ok(keys)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entry> {
        self.entry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! A one-second cache of live API tokens, so that a busy integration (or a
//! flash crowd of enterprise clients) is not one database read per request
//! before any work starts.
//!
//! A cached token is used only while all of these hold: it was read less
//! than a second ago, it has not expired, and this process's writer has
//! committed nothing since that ends credentials (`credential_epoch`:
//! token revocations, password changes, ended sessions). So a revocation
//! through this process takes effect at once; one made through another
//! process sharing the database takes effect within a second. Unknown or
//! dead tokens are never cached: they are read every time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{Principal, Timestamp};
use crate::service::access::{self, AccessError, hash_secret};
use crate::store::Store;

const TTL: Duration = Duration::from_secs(1);
/// Beyond this many tokens the cache starts afresh.
const ENTRIES_MAX: usize = 100_000;

struct Cached {
    principal: Principal,
    expires_at_us: i64,
    read_at: Instant,
    epoch: u64,
}

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Cached>>,
}

impl TokenCache {
    /// The principal behind `secret` if the token is live. `epoch` is the
    /// writer's current `credential_epoch`.
    pub async fn authenticate<S: Store>(
        &self,
        store: &S,
        epoch: u64,
        secret: &str,
    ) -> Result<Option<Principal>, AccessError> {
        let hash = hash_secret(secret);
        if let Some(principal) = self.fresh(&hash, epoch) {
            return Ok(Some(principal));
        }
        let Some((principal, expires_at_us)) = access::live_token(store, &hash).await? else {
            self.lock().remove(&hash);
            return Ok(None);
        };
        let mut entries = self.lock();
        if entries.len() >= ENTRIES_MAX {
            entries.clear();
        }
        let cached = Cached {
            principal: principal.clone(),
            expires_at_us,
            read_at: Instant::now(),
            epoch,
        };
        entries.insert(hash, cached);
        Ok(Some(principal))
    }

    fn fresh(&self, hash: &[u8; 32], epoch: u64) -> Option<Principal> {
        let entries = self.lock();
        let cached = entries.get(hash)?;
        let usable = cached.epoch == epoch
            && cached.read_at.elapsed() < TTL
            && cached.expires_at_us > Timestamp::now().as_micros();
        usable.then(|| cached.principal.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

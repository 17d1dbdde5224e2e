//! A one-second cache of programme terms for handlers that use them only
//! to default or pre-check a request (a claim's face value): the writer
//! re-checks everything under the ledger lock with the current terms, so a
//! second-old copy can at worst let a request reach that check. It spares a
//! flash crowd thousands of reads of the same row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::programme::ProgrammeTerms;
use crate::store::{Store, StoreError};

const TTL: Duration = Duration::from_secs(1);
/// Beyond this many programmes the cache starts afresh.
const ENTRIES_MAX: usize = 1_000;

#[derive(Default)]
pub struct TermsCache {
    entries: Mutex<HashMap<String, (Instant, Arc<ProgrammeTerms>)>>,
}

impl TermsCache {
    /// The programme's terms, at most a second old; `None` if it does not exist.
    pub async fn terms<S: Store>(
        &self,
        store: &S,
        code: &str,
    ) -> Result<Option<Arc<ProgrammeTerms>>, StoreError> {
        if let Some((at, terms)) = self.lock().get(code)
            && at.elapsed() < TTL
        {
            return Ok(Some(terms.clone()));
        }
        let Some(record) = store.programme(code).await? else {
            return Ok(None);
        };
        let terms = Arc::new(record.terms);
        let mut entries = self.lock();
        if entries.len() >= ENTRIES_MAX {
            entries.clear();
        }
        entries.insert(code.to_string(), (Instant::now(), terms.clone()));
        Ok(Some(terms))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<ProgrammeTerms>)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

//! `verify`'s part for personal data (docs/ledger.md §8 step 7c): every
//! subject a `personal_data_erased` entry names has no data key left, and
//! every subject a `personal_data_restricted` entry names (and no erasure
//! since) is restricted at least until the latest date such an entry
//! gave. A key destroyed, or a restriction held, without an entry is
//! allowed: the erasure list applies them to a restored backup that
//! predates their entries.

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::body::EntryBody;
use crate::store::Store;

/// The erasure and restriction entries seen so far.
#[derive(Debug, Default)]
pub struct PersonalRequests {
    erased: BTreeSet<String>,
    /// Subject → the latest retain_until a restriction gave.
    restricted: BTreeMap<String, String>,
}

impl PersonalRequests {
    pub fn apply(&mut self, body: &EntryBody) {
        match body {
            EntryBody::PersonalDataErased(request) => {
                self.restricted.remove(&request.subject);
                self.erased.insert(request.subject.clone());
            }
            EntryBody::PersonalDataRestricted(request) => {
                let until = self.restricted.entry(request.subject.clone()).or_default();
                // ISO dates compare as text.
                if request.retain_until > *until {
                    until.clone_from(&request.retain_until);
                }
            }
            _ => {}
        }
    }

    /// Compares `subject_keys` with the entries; the first difference.
    pub async fn check<S: Store>(
        &self,
        store: &S,
    ) -> Result<Option<String>, crate::store::StoreError> {
        for subject in &self.erased {
            let record = store.subject_key(subject).await?;
            if record
                .as_ref()
                .is_none_or(|r| r.wrapped_key.is_some() || r.erased_at_us.is_none())
            {
                return Ok(Some(format!(
                    "{subject} was erased by an entry but subject_keys still holds its key"
                )));
            }
        }
        for (subject, until) in &self.restricted {
            let record = store.subject_key(subject).await?;
            let matches = record.as_ref().is_some_and(|r| {
                // At least until then: the erasure list may hold a later
                // restriction whose entry a restored backup lacks.
                r.wrapped_key.is_none()
                    || (r.restricted_at_us.is_some()
                        && r.retain_until.as_ref().is_some_and(|held| held >= until))
            });
            if !matches {
                return Ok(Some(format!(
                    "{subject} was restricted until {until} by an entry but subject_keys does not say so"
                )));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::body::pb;

    fn request(subject: &str, until: &str) -> pb::PersonalDataRequest {
        pb::PersonalDataRequest {
            subject: subject.into(),
            retain_until: until.into(),
            ..pb::PersonalDataRequest::default()
        }
    }

    #[test]
    fn the_latest_restriction_counts_until_an_erasure() {
        let mut seen = PersonalRequests::default();
        seen.apply(&EntryBody::PersonalDataRestricted(request(
            "enterprise:a",
            "2056-12-31",
        )));
        seen.apply(&EntryBody::PersonalDataRestricted(request(
            "enterprise:a",
            "2030-01-01",
        )));
        assert_eq!(seen.restricted["enterprise:a"], "2056-12-31");
        seen.apply(&EntryBody::PersonalDataErased(request("enterprise:a", "")));
        assert!(seen.restricted.is_empty());
        assert!(seen.erased.contains("enterprise:a"));
    }
}

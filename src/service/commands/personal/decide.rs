//! Deciding an erasure request under the lock: the subject's standing as
//! its key row has it, today's CST date, and `personal::request::decide`.

use super::{RequestErasure, live_key, subject_enterprise};
use crate::ledger::body::EntryBody;
use crate::personal::request::{self, Outcome, RequestRefusal, Standing};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::CommandError;
use crate::store::WriteTx;
use crate::store::personal::SubjectKeyRecord;

use super::super::Draft;

impl Decide for RequestErasure {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let enterprise = subject_enterprise(&self.subject).ok_or(CommandError::NotFound)?;
        tx.enterprise_by_id(enterprise)
            .await?
            .ok_or(CommandError::NotFound)?;
        let record = tx.subject_key(&self.subject).await?;
        let today = at.now.cst_date();
        let outcome = request::decide(
            record
                .as_ref()
                .map_or(Standing::Live, SubjectKeyRecord::standing),
            self.retain_until,
            today,
        )
        .map_err(|refusal| match refusal {
            RequestRefusal::RetentionRunning(until) => CommandError::PersonalDataRetentionRunning {
                retain_until: until.to_string(),
            },
            _ => CommandError::PersonalDataErased,
        })?;
        let EntryBody::PersonalDataErased(mut body) = draft.body else {
            unreachable!("an erasure request drafts an erasure");
        };
        let body = match outcome {
            Outcome::Erase => {
                tx.erase_subject_key(&self.subject, at.now_us()).await?;
                EntryBody::PersonalDataErased(body)
            }
            Outcome::Restrict { retain_until } => {
                // A subject with nothing sealed yet gets its key now, so
                // that its row can carry the restriction.
                if record.is_none() {
                    live_key(tx, at, &self.subject, None).await?;
                }
                let until = retain_until.to_string();
                tx.restrict_subject_key(&self.subject, at.now_us(), &until)
                    .await?;
                body.retain_until = until;
                EntryBody::PersonalDataRestricted(body)
            }
        };
        Ok(Decided::new(body, checked))
    }
}

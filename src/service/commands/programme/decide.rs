//! Programme commands under the lock: each step of a programme's life
//! checks the status it starts from.

use crate::domain::programme::ProgrammeStatus;
use crate::ledger::body::{EntryBody, pb};
use crate::store::WriteTx;
use crate::store::registry::ProgrammeRecord;

use super::super::Draft;
use super::{ChangeProgramme, ProgrammeChange};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};

impl Decide for ChangeProgramme {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let body = change_programme(tx, self.code.as_str(), &self.change, at.now_us()).await?;
        Ok(Decided::new(body, checked))
    }
}

/// Applies a programme lifecycle change; returns the entry body.
async fn change_programme<T: WriteTx>(
    tx: &mut T,
    code: &str,
    change: &ProgrammeChange,
    now_us: i64,
) -> Result<EntryBody, Failure> {
    use ProgrammeStatus::{Closed, Draft, Open};
    let existing = tx.programme(code).await?;
    let state_error = |status: &str, needed: &'static str| {
        Failure::Rule(CommandError::ProgrammeState {
            status: status.to_string(),
            needed,
        })
    };
    let record = match (change, existing) {
        (ProgrammeChange::Create(terms), None) => ProgrammeRecord {
            code: code.to_string(),
            status: Draft.as_str().to_string(),
            terms_json: terms.to_canonical_json(),
            version: 1,
            created_at_us: now_us,
            updated_at_us: now_us,
        },
        (ProgrammeChange::Create(_), Some(_)) => return Err(CommandError::ProgrammeExists.into()),
        (_, None) => return Err(CommandError::NotFound.into()),
        (
            ProgrammeChange::UpdateDraft(terms) | ProgrammeChange::Amend { terms, .. },
            Some(current),
        ) => {
            let needed = if matches!(change, ProgrammeChange::UpdateDraft(_)) {
                Draft
            } else {
                Open
            };
            if current.status != needed.as_str() {
                return Err(state_error(&current.status, needed.as_str()));
            }
            let terms_json = terms.to_canonical_json();
            if terms_json == current.terms_json {
                return Err(CommandError::Unchanged {
                    id: uuid::Uuid::nil(),
                }
                .into());
            }
            ProgrammeRecord {
                terms_json,
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Open, Some(current)) if current.status == Draft.as_str() => {
            ProgrammeRecord {
                status: Open.as_str().to_string(),
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Open, Some(current)) => {
            return Err(state_error(&current.status, "draft"));
        }
        (ProgrammeChange::Close, Some(current)) if current.status == Open.as_str() => {
            ProgrammeRecord {
                status: Closed.as_str().to_string(),
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Close, Some(current)) => {
            return Err(state_error(&current.status, "open"));
        }
    };
    let is_new = record.version == 1;
    tx.save_programme(&record, is_new).await?;
    let body = pb::ProgrammeRecorded {
        code: record.code.clone(),
        status: record.status.clone(),
        version: record.version,
        terms_json: record.terms_json.clone(),
        reason: change.reason().to_string(),
    };
    Ok(match change {
        ProgrammeChange::Create(_) => EntryBody::ProgrammeCreated(body),
        ProgrammeChange::UpdateDraft(_) => EntryBody::ProgrammeDraftUpdated(body),
        ProgrammeChange::Open => EntryBody::ProgrammeOpened(body),
        ProgrammeChange::Amend { .. } => EntryBody::ProgrammeAmended(body),
        ProgrammeChange::Close => EntryBody::ProgrammeClosed(body),
    })
}

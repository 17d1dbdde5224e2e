//! Programme commands under the lock: each step of a programme's life
//! checks the status it starts from.

use crate::domain::ProgrammeCode;
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
        let body = change_programme(tx, &self.code, &self.change, at.now_us()).await?;
        Ok(Decided::new(body, checked))
    }
}

/// Applies a programme lifecycle change; returns the entry body.
async fn change_programme<T: WriteTx>(
    tx: &mut T,
    code: &ProgrammeCode,
    change: &ProgrammeChange,
    now_us: i64,
) -> Result<EntryBody, Failure> {
    use ProgrammeStatus::{Closed, Draft, Open};
    let existing = tx.programme(code.as_str()).await?;
    // What the change needs the programme to be in, and what it makes it.
    let (needed, becomes) = match change {
        ProgrammeChange::Create(_) => (None, Draft),
        ProgrammeChange::UpdateDraft(_) => (Some(Draft), Draft),
        ProgrammeChange::Amend { .. } => (Some(Open), Open),
        ProgrammeChange::Open => (Some(Draft), Open),
        ProgrammeChange::Close => (Some(Open), Closed),
    };
    // The terms the change sets (Open and Close keep the current ones).
    let edited = match change {
        ProgrammeChange::Create(terms)
        | ProgrammeChange::UpdateDraft(terms)
        | ProgrammeChange::Amend { terms, .. } => Some(terms),
        ProgrammeChange::Open | ProgrammeChange::Close => None,
    };
    let record = match (existing, needed, edited) {
        (None, None, Some(terms)) => ProgrammeRecord {
            code: code.clone(),
            status: becomes,
            terms: terms.clone(),
            version: 1,
            created_at_us: now_us,
            updated_at_us: now_us,
        },
        (Some(_), None, _) => return Err(CommandError::ProgrammeExists.into()),
        (None, _, _) => return Err(CommandError::NotFound.into()),
        (Some(current), Some(needed), _) if current.status != needed => {
            return Err(CommandError::ProgrammeState {
                status: current.status,
                needed: needed.as_str(),
            }
            .into());
        }
        (Some(current), _, Some(terms)) if current.terms == *terms => {
            return Err(CommandError::Unchanged {
                id: uuid::Uuid::nil(),
            }
            .into());
        }
        (Some(current), _, edited) => ProgrammeRecord {
            status: becomes,
            terms: edited.cloned().unwrap_or(current.terms),
            version: current.version + 1,
            updated_at_us: now_us,
            ..current
        },
    };
    let is_new = record.version == 1;
    tx.save_programme(&record, is_new).await?;
    let body = pb::ProgrammeRecorded {
        code: record.code.to_string(),
        status: record.status.to_string(),
        version: record.version,
        terms_json: record.terms.to_canonical_json(),
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

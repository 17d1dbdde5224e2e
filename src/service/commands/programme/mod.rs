//! The programme family: a programme's life — create (draft), edit the
//! draft, open, amend (open only; recorded with a reason), close.

mod decide;

use serde::Serialize;

use super::{Draft, InvalidCommand, TEXT_LEN_MAX, ToDraft, check_text};
use crate::domain::ProgrammeCode;
use crate::domain::programme::ProgrammeTerms;
use crate::ledger::body::{EntryBody, pb};

/// A step in a programme's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeProgramme {
    pub code: ProgrammeCode,
    pub change: ProgrammeChange,
}

impl ToDraft for ChangeProgramme {
    /// The final body (status, version) is written under the lock by
    /// its `Decide`.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if let Some(terms) = self.change.terms() {
            terms.validate().map_err(|errors| {
                InvalidCommand::Terms(
                    errors
                        .into_iter()
                        .map(|e| e.field)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        }
        if let ProgrammeChange::Amend { reason, .. } = &self.change {
            check_text("reason", reason, TEXT_LEN_MAX, true)?;
        }
        Ok(Draft::without_postings(EntryBody::ProgrammeCreated(
            pb::ProgrammeRecorded {
                code: self.code.to_string(),
                ..pb::ProgrammeRecorded::default()
            },
        )))
    }
}

/// What happens to a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ProgrammeChange {
    Create(ProgrammeTerms),
    UpdateDraft(ProgrammeTerms),
    Open,
    Amend {
        terms: ProgrammeTerms,
        reason: String,
    },
    Close,
}

impl ProgrammeChange {
    pub fn name(&self) -> &'static str {
        match self {
            ProgrammeChange::Create(_) => "create",
            ProgrammeChange::UpdateDraft(_) => "update_draft",
            ProgrammeChange::Open => "open",
            ProgrammeChange::Amend { .. } => "amend",
            ProgrammeChange::Close => "close",
        }
    }

    pub fn terms(&self) -> Option<&ProgrammeTerms> {
        match self {
            ProgrammeChange::Create(terms) | ProgrammeChange::UpdateDraft(terms) => Some(terms),
            ProgrammeChange::Amend { terms, .. } => Some(terms),
            ProgrammeChange::Open | ProgrammeChange::Close => None,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            ProgrammeChange::Amend { reason, .. } => reason,
            _ => "",
        }
    }
}

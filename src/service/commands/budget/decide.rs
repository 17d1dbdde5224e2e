//! Budget commands under the lock: funding needs a programme that is not
//! closed; a journal is its postings.

use crate::domain::programme::ProgrammeStatus;
use crate::store::WriteTx;

use super::super::Draft;
use super::{FundProgramme, Journal};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::CommandError;

impl Decide for FundProgramme {
    /// Funding a registered programme needs it not closed. A code with no
    /// programme row is a scratch ledger's (drills, benchmarks, the store
    /// contract tests); the API refuses unknown programmes (404) before
    /// submitting.
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if let Some(p) = tx.programme(self.programme.as_str()).await?
            && p.status == ProgrammeStatus::Closed
        {
            return Err(CommandError::ProgrammeState {
                status: p.status,
                needed: "draft or open",
            }
            .into());
        }
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for Journal {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        Ok(Decided::new(draft.body, checked))
    }
}

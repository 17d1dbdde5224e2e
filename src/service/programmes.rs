//! Programme use cases: a step in a programme's life (create, edit the
//! draft, open, amend, close) and funding its budget.

use crate::domain::{Fen, ProgrammeCode};

use super::commands::{ChangeProgramme, Envelope, FundProgramme, ProgrammeChange};
use super::engine::WriterHandle;
use super::written::Written;

/// Takes programme `code` through `change`.
pub async fn change(
    writer: &WriterHandle,
    by: Envelope,
    code: ProgrammeCode,
    change: ProgrammeChange,
) -> Written {
    writer
        .submit(by.submission(ChangeProgramme { code, change }))
        .await
}

/// Adds `amount` to programme `programme`'s budget, citing `reference`
/// (the appropriation document).
pub async fn fund(
    writer: &WriterHandle,
    by: Envelope,
    programme: ProgrammeCode,
    amount: Fen,
    reference: String,
) -> Written {
    writer
        .submit(by.submission(FundProgramme {
            programme,
            amount,
            reference,
        }))
        .await
}

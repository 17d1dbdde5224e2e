//! How a write went, as the callers of use cases need it: a record that
//! may be new, updated or unchanged; a change that may have changed
//! nothing. "Unchanged" is a refusal inside the writer (nothing is
//! recorded) but a success for whoever asked.

use crate::ledger::body::EntryKind;

use super::engine::Receipt;
use super::error::CommandError;

/// What a write use case answers: the receipt of its entry, or why not.
pub type Written = Result<Receipt, CommandError>;

/// What recording (create or update) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new record: an entry of the creating kind (not a replay).
    Created,
    /// An existing record changed, or a retry of any write was replayed.
    Updated,
    /// Nothing differed; nothing was recorded.
    Unchanged,
}

impl Recorded {
    /// Reads a writer's answer to a record-or-update command whose new
    /// records are entries of `created`.
    pub fn from_result(
        result: Result<Receipt, CommandError>,
        created: EntryKind,
    ) -> Result<Recorded, CommandError> {
        match result {
            Ok(receipt) if receipt.kind == Some(created) && !receipt.replayed => {
                Ok(Recorded::Created)
            }
            Ok(_) => Ok(Recorded::Updated),
            Err(CommandError::Unchanged { .. }) => Ok(Recorded::Unchanged),
            Err(error) => Err(error),
        }
    }

    pub fn changed(self) -> bool {
        self != Recorded::Unchanged
    }
}

/// A change that found nothing to change counts as done: the caller shows
/// the object as it stands.
pub fn unchanged_is_done<T>(result: Result<T, CommandError>) -> Result<(), CommandError> {
    match result {
        Ok(_) | Err(CommandError::Unchanged { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

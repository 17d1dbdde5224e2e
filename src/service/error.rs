//! The error of a use case that submits commands and reads the store: a
//! command refused (a rule, or the writer unavailable) or a store failure.

use super::writer::CommandError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

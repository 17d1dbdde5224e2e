//! Balanced journals between accounts: the ledger's own tools (drills and
//! benchmarks on scratch databases) append them. A journal may not touch
//! an account that mirrors a table (`ledger::derive`).

use crate::ledger::posting::Posting;

use super::commands::{Envelope, Journal};
use super::engine::WriterHandle;
use super::written::Written;

/// Appends a journal of `postings` with `memo`.
pub async fn post(
    writer: &WriterHandle,
    by: Envelope,
    memo: String,
    postings: Vec<Posting>,
) -> Written {
    writer
        .submit(by.submission(Journal { memo, postings }))
        .await
}

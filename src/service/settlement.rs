//! Settlement use cases: prepare a programme's run for a period, resolve a
//! held line, approve a run (never by its preparer), record what the bank
//! returned. Each is decided under the lock by the settlement family
//! (`commands::settlement`); the caller reads the run back.

use uuid::Uuid;

use crate::domain::ProgrammeCode;
use crate::domain::settlement::Period;

use super::commands::{
    ApproveSettlement, Envelope, PayoutOutcome, PrepareSettlement, RecordPayouts,
    ResolveSettlementLine,
};
use super::engine::WriterHandle;
use super::written::Written;

/// Prepares the run of `programme` for `period`, by user `prepared_by`.
pub async fn prepare(
    writer: &WriterHandle,
    by: Envelope,
    programme: ProgrammeCode,
    period: Period,
    prepared_by: Uuid,
) -> Written {
    writer
        .submit(by.submission(PrepareSettlement {
            programme,
            period,
            prepared_by,
        }))
        .await
}

/// Clears a held line's blocking flags with `note`: it joins the batch.
pub async fn resolve_line(
    writer: &WriterHandle,
    by: Envelope,
    run_id: Uuid,
    redemption_id: Uuid,
    note: String,
    resolved_by: Uuid,
) -> Written {
    writer
        .submit(by.submission(ResolveSettlementLine {
            run_id,
            redemption_id,
            note,
            resolved_by,
        }))
        .await
}

/// Approves a prepared run by user `approved_by` (not its preparer).
pub async fn approve(
    writer: &WriterHandle,
    by: Envelope,
    run_id: Uuid,
    approved_by: Uuid,
) -> Written {
    writer
        .submit(by.submission(ApproveSettlement {
            run_id,
            approved_by,
        }))
        .await
}

/// Records what the bank said about payouts of an approved run.
pub async fn record_payouts(
    writer: &WriterHandle,
    by: Envelope,
    run_id: Uuid,
    results: Vec<PayoutOutcome>,
) -> Written {
    writer
        .submit(by.submission(RecordPayouts { run_id, results }))
        .await
}

//! The settlement family: prepare a programme's run for a period, resolve
//! held lines, approve (never by the preparer), and record what the bank
//! returned. Lines, flags and payouts are decided under the lock
//! (service::settlement).

mod decide;
pub mod facts;
pub mod plan;
pub mod prepare;

use serde::Serialize;
use uuid::Uuid;

use super::{Draft, InvalidCommand, REFERENCE_LEN_MAX, TEXT_LEN_MAX, ToDraft, check_text};
use crate::domain::ProgrammeCode;
use crate::domain::bank_file::BankOutcome;
use crate::domain::settlement::Period;
use crate::ledger::body::{EntryBody, pb};

/// Prepare the settlement run of a programme for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrepareSettlement {
    pub programme: ProgrammeCode,
    pub period: Period,
    pub prepared_by: Uuid,
}

impl ToDraft for PrepareSettlement {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::SettlementPrepared(
            pb::SettlementPrepared {
                programme_code: self.programme.to_string(),
                period_from: self.period.from().to_string(),
                period_until: self.period.until().to_string(),
                prepared_by: self.prepared_by.to_string(),
                ..pb::SettlementPrepared::default()
            },
        )))
    }
}

/// Clear a held line's blocking flags with a note: it joins the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolveSettlementLine {
    pub run_id: Uuid,
    pub redemption_id: Uuid,
    pub note: String,
    pub resolved_by: Uuid,
}

impl ToDraft for ResolveSettlementLine {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("note", &self.note, TEXT_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::SettlementLineResolved(
            pb::SettlementLineResolved {
                run_id: self.run_id.to_string(),
                redemption_id: self.redemption_id.to_string(),
                note: self.note.clone(),
                resolved_by: self.resolved_by.to_string(),
                ..pb::SettlementLineResolved::default()
            },
        )))
    }
}

/// Approve a prepared run (never by its preparer): payouts are fixed and
/// their money moves to payout_pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApproveSettlement {
    pub run_id: Uuid,
    pub approved_by: Uuid,
}

impl ToDraft for ApproveSettlement {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::SettlementApproved(
            pb::SettlementApproved {
                run_id: self.run_id.to_string(),
                approved_by: self.approved_by.to_string(),
                ..pb::SettlementApproved::default()
            },
        )))
    }
}

/// Apply what the bank returned for payouts of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordPayouts {
    pub run_id: Uuid,
    pub results: Vec<PayoutOutcome>,
}

/// What the bank said about one payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutOutcome {
    pub reference: String,
    pub outcome: BankOutcome,
    pub message: String,
}

impl ToDraft for RecordPayouts {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if self.results.is_empty() {
            return Err(InvalidCommand::Empty { field: "results" });
        }
        for result in &self.results {
            check_text("reference", &result.reference, REFERENCE_LEN_MAX, true)?;
            check_text("message", &result.message, TEXT_LEN_MAX, false)?;
        }
        Ok(Draft::without_postings(EntryBody::PayoutsRecorded(
            pb::PayoutsRecorded {
                run_id: self.run_id.to_string(),
                results: Vec::new(),
            },
        )))
    }
}

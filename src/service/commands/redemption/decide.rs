//! Redemption commands under the lock: redeem (judged on facts gathered
//! in the batch, written by the batch's cache), change a redemption's
//! status (a reversal's postings planned from the voucher as it stands),
//! attach documents, and recoveries.

use crate::domain::redemption::{RedemptionAction, ValueReturn, next_status, value_return};
use crate::domain::status::{RedemptionStatus, RunStatus, VoucherStatus};
use crate::domain::{Fen, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::WriteTx;
use crate::store::redemption::{InvoiceRecord, RedemptionTx, RedemptionUpdate, VoucherValueUpdate};
use crate::store::voucher::VoucherTx;

use super::super::Draft;
use super::super::guarded::{GuardedChange, changed_outside, programme_account};
use super::{
    AttachRedemptionDocuments, ChangedBy, OpenRecovery, RecoverRedemption, RedeemSpec,
    RedemptionChange, plan, recovery,
};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};

impl Decide for RedeemSpec {
    /// Planned before its balances are checked (its postings depend on the
    /// voucher's remaining value); the batch's cache writes the row and the
    /// voucher's guarded update before the batch commits.
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        let prefetched = &mut *at.prefetched;
        let mut planned = plan::plan(
            tx,
            &mut prefetched.issuance,
            &mut prefetched.redemptions,
            self,
            at.now,
            at.sequence,
        )
        .await?;
        let checked = at.check(tx, std::mem::take(&mut planned.postings)).await?;
        at.prefetched
            .redemptions
            .end_holds(tx, self.voucher_id, at.sequence)
            .await?;
        let summary = planned.summary();
        let (body, record, used) = planned.into_parts();
        at.prefetched
            .redemptions
            .add(&summary, record.clone(), used);
        Ok(Decided::redeemed(body, checked, record))
    }
}

impl Decide for RedemptionChange {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        plan_change(tx, self, at.now).await?.decide(tx, at).await
    }
}

impl Decide for AttachRedemptionDocuments {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let record = RedemptionTx::redemption(tx, self.redemption_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        let allowed = match self.by {
            ChangedBy::Provider(id) => id == record.provider_id,
            // An enterprise brings its own payment proof, not invoices.
            ChangedBy::Enterprise(id) => id == record.enterprise_id && self.invoice.is_none(),
            ChangedBy::Admin => true,
            ChangedBy::Sweep => false,
        };
        if !allowed {
            return Err(CommandError::NotFound.into());
        }
        if record.status == RedemptionStatus::Reversed {
            return Err(CommandError::RedemptionState {
                status: record.status,
                action: "attach_documents",
            }
            .into());
        }
        let invoice = self.invoice.as_ref().map(|i| InvoiceRecord {
            code: i.code.clone(),
            number: i.number.clone(),
            date: i.date.to_string(),
            amount_fen: i.amount.as_fen(),
        });
        tx.set_redemption_documents(
            self.redemption_id,
            invoice.as_ref(),
            self.payment_proof_ref.as_deref(),
            at.now_us(),
        )
        .await?;
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for OpenRecovery {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        recovery::plan_recovery(tx, &self.programme, self.provider_id, &self.reason)
            .await?
            .decide(tx, at)
            .await
    }
}

impl Decide for RecoverRedemption {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        recovery::plan_redemption_recovery(tx, self.redemption_id, &self.reason)
            .await?
            .decide(tx, at)
            .await
    }
}

async fn plan_change<T: WriteTx>(
    tx: &mut T,
    change: &RedemptionChange,
    now: Timestamp,
) -> Result<GuardedChange, Failure> {
    let record = RedemptionTx::redemption(tx, change.redemption_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let allowed = match (change.by, change.action) {
        (ChangedBy::Enterprise(id), RedemptionAction::Confirm | RedemptionAction::Dispute) => {
            id == record.enterprise_id
        }
        (ChangedBy::Provider(id), RedemptionAction::Reverse) => id == record.provider_id,
        (ChangedBy::Sweep, RedemptionAction::Confirm) | (ChangedBy::Admin, _) => true,
        _ => false,
    };
    if !allowed {
        return Err(CommandError::NotFound.into());
    }
    let to =
        next_status(record.status, change.action).ok_or_else(|| CommandError::RedemptionState {
            status: record.status,
            action: change.action.as_str(),
        })?;
    // Once a finance user approved its batch, a redemption is settled:
    // undoing it is a recovery, not a reversal. In a run not yet approved,
    // its line leaves the run with it.
    let mut release_line = None;
    if (to == RedemptionStatus::Reversed || to == RedemptionStatus::Frozen)
        && let Some(placement) = tx.live_placement(record.id).await?
    {
        if placement.run_status == RunStatus::Approved {
            return Err(CommandError::RedemptionSettled {
                run_id: placement.run_id,
            }
            .into());
        }
        release_line = Some((placement.run_id, placement.state));
    }
    let now_us = now.as_micros();
    let text = (!change.text.is_empty()).then(|| change.text.clone());
    let mut update = RedemptionUpdate {
        id: record.id,
        from: record.status,
        to,
        rating: None,
        comment: None,
        confirmed_at_us: None,
        dispute_reason: None,
        resolution_note: None,
        updated_at_us: now_us,
    };
    match change.action {
        RedemptionAction::Confirm => {
            update.rating = change.rating.map(i32::from);
            update.comment = text;
            update.confirmed_at_us = Some(now_us);
        }
        RedemptionAction::Dispute => update.dispute_reason = text,
        RedemptionAction::RejectDispute => {
            update.resolution_note = text;
            update.confirmed_at_us = Some(now_us);
        }
        RedemptionAction::UpholdDispute | RedemptionAction::Reverse | RedemptionAction::Freeze => {
            update.resolution_note = text
        }
    }
    if to != RedemptionStatus::Reversed {
        return Ok(GuardedChange {
            postings: Vec::new(),
            body: change.body(),
            redemption: Some(update),
            voucher: None,
            release_line,
            recovered: None,
        });
    }
    // A reversal: the subsidy leaves the provider's payable, back onto the
    // voucher if it can still be used, else to the budget.
    let voucher = VoucherTx::voucher(tx, record.voucher_id)
        .await?
        .ok_or_else(|| changed_outside("voucher", record.voucher_id))?;
    let destination = value_return(voucher.status, voucher.valid_until, now.cst_date());
    let subsidy = Fen::new(record.subsidy_fen);
    let payable = Account::of_party(
        AccountKind::ProviderPayable,
        &record.programme_code,
        record.provider_id,
    );
    let (to_account, voucher_update) = match destination {
        ValueReturn::Voucher => (
            programme_account(AccountKind::VouchersOutstanding, &record.programme_code),
            Some(VoucherValueUpdate {
                id: voucher.id,
                from_status: voucher.status,
                from_remaining_fen: voucher.remaining_fen,
                to_status: VoucherStatus::Active,
                to_remaining_fen: voucher.remaining_fen + record.subsidy_fen,
                updated_at_us: now_us,
            }),
        ),
        ValueReturn::Budget => (
            programme_account(AccountKind::BudgetAvailable, &record.programme_code),
            None,
        ),
    };
    let body = EntryBody::RedemptionReversed(pb::RedemptionReversed {
        redemption_id: record.id.to_string(),
        voucher_id: record.voucher_id.to_string(),
        reason: change.text.clone(),
        subsidy_fen: record.subsidy_fen,
        returned_to: destination.as_str().to_string(),
        dispute_upheld: change.action == RedemptionAction::UpholdDispute,
    });
    Ok(GuardedChange {
        postings: vec![
            Posting::debit(to_account, subsidy),
            Posting::credit(payable, subsidy),
        ],
        body,
        redemption: Some(update),
        voucher: voucher_update,
        release_line,
        recovered: None,
    })
}

//! Commands whose postings depend on what the ledger holds now — a
//! redemption (the voucher's remaining value), a reversal (where the value
//! returns), an expiry or revocation (what is left on the voucher) — are
//! planned under the chain-head lock before their balances are checked,
//! then written. Planning only reads; writing uses guarded updates that
//! must change exactly the row the plan read, so nothing changes twice.

use crate::service::commands::{
    ApproveSettlement, OpenRecovery, PrepareSettlement, RecordPayouts, RecoverRedemption,
    ResolveSettlementLine, WithdrawVoucher,
};
use uuid::Uuid;

use super::commands::{ChangedBy, Command, RedemptionChange};
use super::effects::{Failure, Prefetched};
use super::redemption::{self, RedemptionPlan};
use super::writer::CommandError;
use crate::domain::redemption::{RedemptionAction, ValueReturn, next_status, value_return};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::redemption::{
    RedemptionRecord, RedemptionTx, RedemptionUpdate, VoucherValueUpdate,
};
use crate::store::registry::RegistryTx;
use crate::store::settlement::SettlementTx;
use crate::store::voucher::VoucherTx;
use crate::store::{LedgerTx, StoreError};

/// A command decided under the lock, not yet written.
pub enum Plan {
    Redeem(Box<RedemptionPlan>),
    Change(Box<ChangePlan>),
    Settlement(Box<super::settlement::SettlementPlan>),
}

/// A change to a redemption or a voucher: guarded updates and an entry.
pub struct ChangePlan {
    postings: Vec<Posting>,
    body: EntryBody,
    redemption: Option<RedemptionUpdate>,
    voucher: Option<VoucherValueUpdate>,
    /// The redemption's line in a prepared (unapproved) settlement run,
    /// released when the redemption is reversed or frozen: (run, state).
    release_line: Option<(Uuid, String)>,
    /// A paid redemption recovered: (redemption, amount), recorded once.
    recovered: Option<(Uuid, i64)>,
}

impl Plan {
    pub fn postings(&self) -> &[Posting] {
        match self {
            Plan::Redeem(plan) => &plan.postings,
            Plan::Change(plan) => &plan.postings,
            Plan::Settlement(plan) => &plan.postings,
        }
    }
}

/// Plans `command` if it is one of these; `None` for every other command.
pub async fn plan<T: LedgerTx + RegistryTx + VoucherTx + RedemptionTx + SettlementTx + Send>(
    tx: &mut T,
    prefetched: &mut Prefetched,
    command: &Command,
    now: Timestamp,
    sequence: u64,
) -> Result<Option<Plan>, Failure> {
    if !super::redemption_cache::RedemptionCache::survives(command) {
        // Reversals, expiries, revocations and recoveries change what the
        // batch's redemptions cached (effects::apply does the same for
        // every other command).
        prefetched.redemptions.flush_and_forget(tx).await?;
    }
    let plan = match command {
        Command::RedeemVoucher(spec) => Plan::Redeem(Box::new(
            redemption::plan(
                tx,
                &mut prefetched.issuance,
                &mut prefetched.redemptions,
                spec,
                now,
                sequence,
            )
            .await?,
        )),
        Command::ChangeRedemption(change) => {
            prefetched.issuance.flush(tx).await?;
            plan_change(tx, change, now).await?
        }
        Command::WithdrawVoucher(WithdrawVoucher {
            voucher_id,
            revoke_reason,
        }) => {
            prefetched.issuance.flush(tx).await?;
            plan_withdrawal(tx, *voucher_id, revoke_reason.as_deref(), now).await?
        }
        Command::OpenRecovery(OpenRecovery {
            programme,
            provider_id,
            reason,
        }) => plan_recovery(tx, programme, *provider_id, reason).await?,
        Command::RecoverRedemption(RecoverRedemption {
            redemption_id,
            reason,
        }) => plan_redemption_recovery(tx, *redemption_id, reason).await?,
        Command::PrepareSettlement(PrepareSettlement { .. })
        | Command::ResolveSettlementLine(ResolveSettlementLine { .. })
        | Command::ApproveSettlement(ApproveSettlement { .. })
        | Command::RecordPayouts(RecordPayouts { .. }) => {
            prefetched.issuance.flush(tx).await?;
            match super::settlement::plan(tx, command, now, sequence).await? {
                Some(plan) => Plan::Settlement(Box::new(plan)),
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(plan))
}

/// Writes a plan (every guarded update must change exactly one row);
/// returns the entry body and, for a redemption, its row as recorded.
pub async fn write<T: RedemptionTx + RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    prefetched: &mut Prefetched,
    plan: Plan,
    now: Timestamp,
    sequence: u64,
) -> Result<(EntryBody, Option<RedemptionRecord>), Failure> {
    match plan {
        Plan::Settlement(plan) => Ok((
            super::settlement::write(tx, *plan, now, sequence).await?,
            None,
        )),
        Plan::Redeem(plan) => {
            let summary = plan.summary();
            let (body, record, used) = plan.into_parts();
            prefetched.redemptions.add(&summary, record.clone(), used);
            Ok((body, Some(record)))
        }
        Plan::Change(plan) => {
            let ChangePlan {
                body,
                redemption,
                voucher,
                release_line,
                recovered,
                ..
            } = *plan;
            if let Some(update) = &voucher
                && tx.update_voucher_value(update).await? != 1
            {
                return Err(changed_outside("voucher", update.id).into());
            }
            if let Some(update) = &redemption
                && tx.update_redemption(update).await? != 1
            {
                return Err(changed_outside("redemption", update.id).into());
            }
            if let (Some((run_id, state)), Some(update)) = (&release_line, &redemption)
                && tx
                    .set_line_state(*run_id, update.id, state, "released")
                    .await?
                    != 1
            {
                return Err(changed_outside("settlement line", update.id).into());
            }
            if let Some((redemption_id, amount_fen)) = recovered {
                tx.insert_recovered(redemption_id, amount_fen, sequence)
                    .await?;
            }
            Ok((body, None))
        }
    }
}

fn changed_outside(what: &str, id: Uuid) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} changed outside the ledger writer"))
}

fn programme_account(kind: AccountKind, code: &str) -> Result<Account, StoreError> {
    let code = ProgrammeCode::parse(code)
        .map_err(|_| StoreError::Corrupt(format!("programme code {code:?}")))?;
    Account::programme(kind, &code).map_err(|e| StoreError::Corrupt(e.to_string()))
}

async fn plan_change<T: RegistryTx + VoucherTx + RedemptionTx + SettlementTx + Send>(
    tx: &mut T,
    change: &RedemptionChange,
    now: Timestamp,
) -> Result<Plan, Failure> {
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
    let to = next_status(&record.status, change.action).ok_or_else(|| {
        CommandError::RedemptionState {
            status: record.status.clone(),
            action: change.action.as_str(),
        }
    })?;
    // Once a finance user approved its batch, a redemption is settled:
    // undoing it is a recovery, not a reversal. In a run not yet approved,
    // its line leaves the run with it.
    let mut release_line = None;
    if (to == "reversed" || to == "frozen")
        && let Some(placement) = tx.live_placement(record.id).await?
    {
        if placement.run_status == "approved" {
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
        from: record.status.clone(),
        to: to.to_string(),
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
    if to != "reversed" {
        return Ok(Plan::Change(Box::new(ChangePlan {
            postings: Vec::new(),
            body: change.body(),
            redemption: Some(update),
            voucher: None,
            release_line,
            recovered: None,
        })));
    }
    // A reversal: the subsidy leaves the provider's payable, back onto the
    // voucher if it can still be used, else to the budget.
    let voucher = VoucherTx::voucher(tx, record.voucher_id)
        .await?
        .ok_or_else(|| changed_outside("voucher", record.voucher_id))?;
    let valid_until = voucher
        .valid_until
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("voucher {} valid_until", voucher.id)))?;
    let destination = value_return(&voucher.status, valid_until, now.cst_date());
    let subsidy = Fen::new(record.subsidy_fen);
    let code = ProgrammeCode::parse(&record.programme_code)
        .map_err(|_| StoreError::Corrupt(format!("programme {:?}", record.programme_code)))?;
    let payable = Account::party(
        AccountKind::ProviderPayable,
        &code,
        &record.provider_id.to_string(),
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (to_account, voucher_update) = match destination {
        ValueReturn::Voucher => (
            programme_account(AccountKind::VouchersOutstanding, &record.programme_code)?,
            Some(VoucherValueUpdate {
                id: voucher.id,
                from_status: voucher.status.clone(),
                from_remaining_fen: voucher.remaining_fen,
                to_status: "active".into(),
                to_remaining_fen: voucher.remaining_fen + record.subsidy_fen,
                updated_at_us: now_us,
            }),
        ),
        ValueReturn::Budget => (
            programme_account(AccountKind::BudgetAvailable, &record.programme_code)?,
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
    Ok(Plan::Change(Box::new(ChangePlan {
        postings: vec![
            Posting::debit(to_account, subsidy),
            Posting::credit(payable, subsidy),
        ],
        body,
        redemption: Some(update),
        voucher: voucher_update,
        release_line,
        recovered: None,
    })))
}

async fn plan_withdrawal<T: VoucherTx + Send>(
    tx: &mut T,
    voucher_id: Uuid,
    revoke_reason: Option<&str>,
    now: Timestamp,
) -> Result<Plan, Failure> {
    let voucher = VoucherTx::voucher(tx, voucher_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if voucher.status != "active" {
        return Err(CommandError::VoucherState {
            status: voucher.status,
        }
        .into());
    }
    let to_status = match revoke_reason {
        Some(_) => "revoked",
        None => {
            let today = now.cst_date().to_string();
            if voucher.valid_until >= today {
                return Err(CommandError::VoucherNotExpired {
                    valid_until: voucher.valid_until,
                }
                .into());
            }
            "expired"
        }
    };
    let remaining = Fen::new(voucher.remaining_fen);
    let postings = if remaining.is_positive() {
        vec![
            Posting::debit(
                programme_account(AccountKind::BudgetAvailable, &voucher.programme_code)?,
                remaining,
            ),
            Posting::credit(
                programme_account(AccountKind::VouchersOutstanding, &voucher.programme_code)?,
                remaining,
            ),
        ]
    } else {
        Vec::new()
    };
    let withdrawn = pb::VoucherWithdrawn {
        voucher_id: voucher.id.to_string(),
        programme_code: voucher.programme_code.clone(),
        remaining_fen: voucher.remaining_fen,
        reason: revoke_reason.unwrap_or_default().to_string(),
    };
    Ok(Plan::Change(Box::new(ChangePlan {
        postings,
        body: match revoke_reason {
            Some(_) => EntryBody::VoucherRevoked(withdrawn),
            None => EntryBody::VoucherExpired(withdrawn),
        },
        redemption: None,
        release_line: None,
        recovered: None,
        voucher: Some(VoucherValueUpdate {
            id: voucher.id,
            from_status: voucher.status,
            from_remaining_fen: voucher.remaining_fen,
            to_status: to_status.into(),
            to_remaining_fen: 0,
            updated_at_us: now.as_micros(),
        }),
    })))
}

/// One account's balance as the transaction sees it (0 if never posted).
pub(super) async fn balance_in<T: LedgerTx + Send>(
    tx: &mut T,
    account: &Account,
) -> Result<i64, StoreError> {
    let name = account.to_string();
    Ok(tx
        .load_balances(&[name.as_str()])
        .await?
        .into_iter()
        .find(|(account, _)| *account == name)
        .map_or(0, |(_, balance)| balance))
}

/// What a provider was paid becomes its recovery receivable (追回):
/// `amount` of its `paid` in `programme`, for one redemption or (None) all.
fn recovery(
    programme: &ProgrammeCode,
    provider_id: Uuid,
    amount: Fen,
    reason: &str,
    redemption_id: Option<Uuid>,
) -> Result<Plan, Failure> {
    let party = provider_id.to_string();
    let account = |kind| {
        Account::party(kind, programme, &party).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(Plan::Change(Box::new(ChangePlan {
        postings: vec![
            Posting::debit(account(AccountKind::RecoveryReceivable)?, amount),
            Posting::credit(account(AccountKind::Paid)?, amount),
        ],
        body: EntryBody::RecoveryOpened(pb::RecoveryOpened {
            programme_code: programme.to_string(),
            provider_id: party.clone(),
            amount_fen: amount.as_fen(),
            reason: reason.to_string(),
            redemption_id: redemption_id.map(|id| id.to_string()).unwrap_or_default(),
        }),
        redemption: None,
        voucher: None,
        release_line: None,
        recovered: redemption_id.map(|id| (id, amount.as_fen())),
    })))
}

fn paid_account(programme: &ProgrammeCode, provider_id: Uuid) -> Result<Account, StoreError> {
    Account::party(AccountKind::Paid, programme, &provider_id.to_string())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Moves the provider's whole `paid` balance in the programme to its
/// recovery receivable.
async fn plan_recovery<T: LedgerTx + Send>(
    tx: &mut T,
    programme: &ProgrammeCode,
    provider_id: Uuid,
    reason: &str,
) -> Result<Plan, Failure> {
    let amount = balance_in(tx, &paid_account(programme, provider_id)?).await?;
    if amount <= 0 {
        return Err(CommandError::NothingToRecover.into());
    }
    recovery(programme, provider_id, Fen::new(amount), reason, None)
}

/// Moves one settled, paid redemption's subsidy from its provider's `paid`
/// to its recovery receivable (an enterprise found fraudulent), once.
async fn plan_redemption_recovery<T: LedgerTx + SettlementTx + Send>(
    tx: &mut T,
    redemption_id: Uuid,
    reason: &str,
) -> Result<Plan, Failure> {
    let (code, provider_id, subsidy_fen) = tx
        .paid_unrecovered(redemption_id)
        .await?
        .ok_or(CommandError::NothingToRecover)?;
    let programme = ProgrammeCode::parse(&code)
        .map_err(|_| StoreError::Corrupt(format!("programme code {code:?}")))?;
    // Less left than the subsidy: the provider's whole paid balance was
    // recovered already (the provider was found fraudulent too).
    if balance_in(tx, &paid_account(&programme, provider_id)?).await? < subsidy_fen {
        return Err(CommandError::NothingToRecover.into());
    }
    recovery(
        &programme,
        provider_id,
        Fen::new(subsidy_fen),
        reason,
        Some(redemption_id),
    )
}

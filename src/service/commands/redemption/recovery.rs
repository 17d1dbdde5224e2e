//! Recoveries (追回) planned under the lock: what a provider marked
//! fraudulent was paid from a programme, or one settled redemption's paid
//! subsidy, becomes the provider's recovery receivable.

use uuid::Uuid;

use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::LedgerTx;
use crate::store::settlement::SettlementTx;

use super::super::guarded::GuardedChange;
use crate::service::error::{CommandError, Failure};

/// What a provider was paid becomes its recovery receivable (追回):
/// `amount` of its `paid` in `programme`, for one redemption or (None) all.
fn recovery(
    programme: &ProgrammeCode,
    provider_id: Uuid,
    amount: Fen,
    reason: &str,
    redemption_id: Option<Uuid>,
) -> Result<GuardedChange, Failure> {
    let party = provider_id.to_string();
    let account = |kind| Account::of_party(kind, programme, provider_id);
    Ok(GuardedChange {
        postings: vec![
            Posting::debit(account(AccountKind::RecoveryReceivable), amount),
            Posting::credit(account(AccountKind::Paid), amount),
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
    })
}

fn paid_account(programme: &ProgrammeCode, provider_id: Uuid) -> Account {
    Account::of_party(AccountKind::Paid, programme, provider_id)
}

/// Moves the provider's whole `paid` balance in the programme to its
/// recovery receivable.
pub async fn plan_recovery<T: LedgerTx + Send>(
    tx: &mut T,
    programme: &ProgrammeCode,
    provider_id: Uuid,
    reason: &str,
) -> Result<GuardedChange, Failure> {
    let amount = crate::store::balance_in(tx, &paid_account(programme, provider_id)).await?;
    if amount <= 0 {
        return Err(CommandError::NothingToRecover.into());
    }
    recovery(programme, provider_id, Fen::new(amount), reason, None)
}

/// Moves one settled, paid redemption's subsidy from its provider's `paid`
/// to its recovery receivable (an enterprise found fraudulent), once.
pub async fn plan_redemption_recovery<T: LedgerTx + SettlementTx + Send>(
    tx: &mut T,
    redemption_id: Uuid,
    reason: &str,
) -> Result<GuardedChange, Failure> {
    let (code, provider_id, subsidy_fen) = tx
        .paid_unrecovered(redemption_id)
        .await?
        .ok_or(CommandError::NothingToRecover)?;
    let programme = code;
    // Less left than the subsidy: the provider's whole paid balance was
    // recovered already (the provider was found fraudulent too).
    if crate::store::balance_in(tx, &paid_account(&programme, provider_id)).await? < subsidy_fen {
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

//! A provider's account with the programme, as the provider sees it: per
//! programme, what it is owed (payable once confirmed, in payment, paid)
//! and what it owes back (recovery receivable, 追回, offset against its
//! next payouts); and every payout with its settlement run, from which its
//! statements are downloaded.

use std::collections::HashMap;

use uuid::Uuid;

use crate::ledger::account::{Account, AccountKind};
use crate::store::registry::every_programme;
use crate::store::settlement::{PayoutRecord, RunRecord};
use crate::store::{Store, StoreError};

/// One programme's per-provider balances, in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeBalances {
    pub programme_code: String,
    /// Confirmed subsidies not yet in an approved batch.
    pub payable_fen: i64,
    /// In an approved batch, waiting for the bank.
    pub payout_pending_fen: i64,
    pub paid_fen: i64,
    /// Paid subsidies found fraudulent, still to be taken back.
    pub recovery_receivable_fen: i64,
}

/// The provider's whole account.
#[derive(Debug, Clone)]
pub struct ProviderAccount {
    /// Programmes where any balance is not zero.
    pub balances: Vec<ProgrammeBalances>,
    /// Newest first, each with its run.
    pub payouts: Vec<(PayoutRecord, RunRecord)>,
}

pub async fn provider_account<S: Store>(
    store: &S,
    provider_id: Uuid,
) -> Result<ProviderAccount, StoreError> {
    let mut balances = Vec::new();
    for programme in &every_programme(store).await? {
        let balance = async |kind| -> Result<i64, StoreError> {
            let account = Account::of_party(kind, &programme.code, provider_id);
            store.balance_of(&account.to_string()).await
        };
        let row = ProgrammeBalances {
            programme_code: programme.code.to_string(),
            payable_fen: balance(AccountKind::ProviderPayable).await?,
            payout_pending_fen: balance(AccountKind::PayoutPending).await?,
            paid_fen: balance(AccountKind::Paid).await?,
            recovery_receivable_fen: balance(AccountKind::RecoveryReceivable).await?,
        };
        let any = row.payable_fen != 0
            || row.payout_pending_fen != 0
            || row.paid_fen != 0
            || row.recovery_receivable_fen != 0;
        if any {
            balances.push(row);
        }
    }
    let mut runs: HashMap<Uuid, RunRecord> = HashMap::new();
    let mut payouts = Vec::new();
    for payout in store.provider_payouts(provider_id).await? {
        let run = match runs.get(&payout.run_id) {
            Some(run) => run.clone(),
            None => {
                let Some(run) = store.settlement_run(payout.run_id).await? else {
                    return Err(StoreError::Corrupt(format!(
                        "payout {} names run {} that does not exist",
                        payout.reference, payout.run_id
                    )));
                };
                runs.insert(payout.run_id, run.clone());
                run
            }
        };
        payouts.push((payout, run));
    }
    Ok(ProviderAccount { balances, payouts })
}

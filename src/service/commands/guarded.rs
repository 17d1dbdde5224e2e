//! A change planned under the lock and written with guarded updates: a
//! reversal, an expiry or revocation, a recovery. Planning only reads;
//! writing must change exactly the rows the plan read (each update names
//! the state it read), so nothing changes twice — a row that changed
//! outside the writer is corruption, not a refusal.

use uuid::Uuid;

use crate::domain::ProgrammeCode;
use crate::domain::status::LineState;
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::EntryBody;
use crate::ledger::posting::Posting;
use crate::store::redemption::{RedemptionUpdate, VoucherValueUpdate};
use crate::store::{StoreError, WriteTx};

use crate::service::engine::{Decided, Decides, Decision};

/// A change to a redemption or a voucher: guarded updates and an entry.
pub struct GuardedChange {
    pub postings: Vec<Posting>,
    pub body: EntryBody,
    pub redemption: Option<RedemptionUpdate>,
    pub voucher: Option<VoucherValueUpdate>,
    /// The redemption's line in a prepared (unapproved) settlement run,
    /// released when the redemption is reversed or frozen: (run, state).
    pub release_line: Option<(Uuid, LineState)>,
    /// A paid redemption recovered: (redemption, amount), recorded once.
    pub recovered: Option<(Uuid, i64)>,
}

impl GuardedChange {
    /// Checks the postings against the batch's balances, then writes.
    pub async fn decide<T: WriteTx>(self, tx: &mut T, at: &mut Decision<'_>) -> Decides {
        let checked = at.check(tx, self.postings).await?;
        if let Some(update) = &self.voucher
            && tx.update_voucher_value(update).await? != 1
        {
            return Err(changed_outside("voucher", update.id).into());
        }
        if let Some(update) = &self.redemption
            && tx.update_redemption(update).await? != 1
        {
            return Err(changed_outside("redemption", update.id).into());
        }
        if let (Some((run_id, state)), Some(update)) = (&self.release_line, &self.redemption)
            && tx
                .set_line_state(*run_id, update.id, *state, LineState::Released)
                .await?
                != 1
        {
            return Err(changed_outside("settlement line", update.id).into());
        }
        if let Some((redemption_id, amount_fen)) = self.recovered {
            tx.insert_recovered(redemption_id, amount_fen, at.sequence)
                .await?;
        }
        Ok(Decided::new(self.body, checked))
    }
}

/// A row the plan read changed before the guarded update: only a writer
/// outside the ledger can do that.
pub fn changed_outside(what: &str, id: Uuid) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} changed outside the ledger writer"))
}

/// A programme-level account of a stored programme code.
pub fn programme_account(kind: AccountKind, code: &ProgrammeCode) -> Account {
    Account::of_programme(kind, code)
}

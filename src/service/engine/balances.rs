//! Balances of the accounts a batch touches: loaded once, carried from one
//! command to the next within the batch, written once at the end. A
//! command's postings are checked against them (no account may cross to
//! the wrong side of zero) and the check's result — [`Checked`] — is the
//! only way postings reach an entry.

use std::collections::HashMap;

use crate::ledger::posting::{Posting, check_balanced, net_changes};
use crate::store::{BalanceWrite, LedgerTx};

use super::super::commands::InvalidCommand;
use super::super::error::{CommandError, Failure};

/// Postings that balance and that the batch's balances allow, with the
/// balances they produce. Made only by [`Balances::check`]; an entry's
/// postings are taken from it, so nothing unchecked is ever appended.
#[derive(Debug)]
pub struct Checked {
    postings: Vec<Posting>,
    updated: Vec<(String, i64, i64)>,
}

/// Balances of the accounts a batch touches, as loaded and as changed.
pub struct Balances {
    slots: HashMap<String, Slot>,
}

struct Slot {
    normal_sign: i64,
    loaded_fen: Option<i64>,
    balance_fen: i64,
    last_sequence: u64,
}

impl Balances {
    pub fn load(rows: Vec<(String, i64)>) -> Balances {
        let slots = rows
            .into_iter()
            .map(|(account, balance_fen)| {
                let slot = Slot {
                    normal_sign: 0,
                    loaded_fen: Some(balance_fen),
                    balance_fen,
                    last_sequence: 0,
                };
                (account, slot)
            })
            .collect();
        Balances { slots }
    }

    /// Checks `postings` for an entry: they balance, and every account
    /// they touch stays on its side of zero given what the batch holds so
    /// far (accounts the batch has not loaded yet — postings planned under
    /// the lock can name accounts the batch's drafts did not — are loaded
    /// first). Nothing changes until `commit`.
    pub async fn check<T: LedgerTx + Send>(
        &mut self,
        tx: &mut T,
        postings: Vec<Posting>,
    ) -> Result<Checked, Failure> {
        check_balanced(&postings)
            .map_err(|e| CommandError::Invalid(InvalidCommand::Postings(e)))?;
        // Each account named once: (name, normal sign, net change).
        let changes: Vec<(String, i64, i64)> = net_changes(&postings)
            .into_iter()
            .map(|(account, change)| (account.to_string(), account.normal_side().sign(), change))
            .collect();
        let missing: Vec<&str> = changes
            .iter()
            .map(|(name, _, _)| name.as_str())
            .filter(|name| !self.slots.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            let loaded = Balances::load(tx.load_balances(&missing).await?);
            self.slots.extend(loaded.slots);
        }
        let updated = self.updated(changes)?;
        Ok(Checked { postings, updated })
    }

    /// The balances net changes would produce, if every account stays on
    /// its side of zero; otherwise names the first that would not.
    fn updated(
        &self,
        changes: Vec<(String, i64, i64)>,
    ) -> Result<Vec<(String, i64, i64)>, CommandError> {
        let mut updated = Vec::with_capacity(changes.len());
        for (name, sign, change) in changes {
            let current = self.slots.get(&name).map_or(0, |slot| slot.balance_fen);
            let next = current.checked_add(change).ok_or(CommandError::Overflow)?;
            if next * sign < 0 {
                return Err(CommandError::InsufficientBalance { account: name });
            }
            updated.push((name, sign, next));
        }
        Ok(updated)
    }

    /// Applies what `check` returned, as of entry `sequence`; hands back
    /// the postings for the entry.
    pub fn commit(&mut self, checked: Checked, sequence: u64) -> Vec<Posting> {
        for (name, sign, next) in checked.updated {
            if next * sign < 0 {
                crate::invariant::broken(&format!("{name} would be left at {next} fen"));
            }
            let slot = self.slots.entry(name).or_insert(Slot {
                normal_sign: sign,
                loaded_fen: None,
                balance_fen: 0,
                last_sequence: 0,
            });
            slot.normal_sign = sign;
            slot.balance_fen = next;
            slot.last_sequence = sequence;
        }
        checked.postings
    }

    /// The rows to write: every account an accepted command changed.
    pub fn writes(&self) -> Vec<BalanceWrite> {
        let mut writes: Vec<BalanceWrite> = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.last_sequence != 0)
            .map(|(account, slot)| BalanceWrite {
                account: account.clone(),
                normal_sign: slot.normal_sign,
                previous_fen: slot.loaded_fen,
                balance_fen: slot.balance_fen,
                last_sequence: slot.last_sequence,
            })
            .collect();
        // A fixed order keeps lock acquisition order stable.
        writes.sort_by(|a, b| a.account.cmp(&b.account));
        writes
    }
}

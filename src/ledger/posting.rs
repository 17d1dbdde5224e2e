//! Postings: the double-entry lines of a ledger entry.

use std::collections::BTreeMap;

use crate::domain::Fen;

use super::account::Account;

/// Debit or credit. A debit adds to an account's balance, a credit subtracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Side {
    Debit,
    Credit,
}

impl Side {
    /// One byte in the hashed encoding: `D` (0x44) or `C` (0x43).
    pub fn code(self) -> u8 {
        match self {
            Side::Debit => b'D',
            Side::Credit => b'C',
        }
    }

    /// The same code as text, as stored in the `side` column.
    pub fn as_code_str(self) -> &'static str {
        match self {
            Side::Debit => "D",
            Side::Credit => "C",
        }
    }

    pub fn from_code(code: u8) -> Option<Side> {
        match code {
            b'D' => Some(Side::Debit),
            b'C' => Some(Side::Credit),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }
}

/// One line: an amount (always > 0) debited or credited to an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Posting {
    pub account: Account,
    pub side: Side,
    pub amount: Fen,
}

impl Posting {
    pub fn debit(account: Account, amount: Fen) -> Posting {
        Posting {
            account,
            side: Side::Debit,
            amount,
        }
    }

    pub fn credit(account: Account, amount: Fen) -> Posting {
        Posting {
            account,
            side: Side::Credit,
            amount,
        }
    }

    /// The posting's effect on its account's balance (debits − credits).
    pub fn signed_fen(&self) -> i64 {
        match self.side {
            Side::Debit => self.amount.as_fen(),
            Side::Credit => -self.amount.as_fen(),
        }
    }
}

/// Why a set of postings cannot form an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error("posting {index} has a non-positive amount")]
    NonPositiveAmount { index: usize },
    #[error("debits ({debit_fen} fen) and credits ({credit_fen} fen) differ")]
    Unbalanced { debit_fen: i128, credit_fen: i128 },
    #[error("an entry has at most {POSTINGS_PER_ENTRY_MAX} postings")]
    TooMany,
}

/// Bound on postings per entry, so one entry's work is bounded. A
/// settlement approval posts two to four per provider paid, so a batch of
/// a whole city's providers fits with room to spare.
pub const POSTINGS_PER_ENTRY_MAX: usize = 100_000;

/// Checks that every amount is positive and debits equal credits. Sums are
/// taken in i128 so that no set of i64 amounts can overflow the check.
pub fn check_balanced(postings: &[Posting]) -> Result<(), PostingError> {
    if postings.len() > POSTINGS_PER_ENTRY_MAX {
        return Err(PostingError::TooMany);
    }
    let mut debit_fen: i128 = 0;
    let mut credit_fen: i128 = 0;
    for (index, posting) in postings.iter().enumerate() {
        if !posting.amount.is_positive() {
            return Err(PostingError::NonPositiveAmount { index });
        }
        match posting.side {
            Side::Debit => debit_fen += i128::from(posting.amount.as_fen()),
            Side::Credit => credit_fen += i128::from(posting.amount.as_fen()),
        }
    }
    if debit_fen != credit_fen {
        return Err(PostingError::Unbalanced {
            debit_fen,
            credit_fen,
        });
    }
    Ok(())
}

/// The net change per account, in account-name order. Balance updates are
/// applied per account on the net change, so an entry that debits and
/// credits one account touches it once.
pub fn net_changes(postings: &[Posting]) -> BTreeMap<&Account, i64> {
    let mut changes: BTreeMap<&Account, i64> = BTreeMap::new();
    for posting in postings {
        *changes.entry(&posting.account).or_default() += posting.signed_fen();
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProgrammeCode;
    use crate::ledger::account::AccountKind;

    fn account(kind: AccountKind) -> Account {
        Account::programme(kind, &ProgrammeCode::parse("P1").unwrap()).unwrap()
    }

    #[test]
    fn balanced_postings_pass_and_unbalanced_fail() {
        let available = account(AccountKind::BudgetAvailable);
        let funding = account(AccountKind::ProgrammeFunding);
        let balanced = [
            Posting::debit(available.clone(), Fen::new(500)),
            Posting::credit(funding.clone(), Fen::new(500)),
        ];
        assert_eq!(check_balanced(&balanced), Ok(()));
        assert_eq!(check_balanced(&[]), Ok(()));
        let unbalanced = [
            Posting::debit(available.clone(), Fen::new(500)),
            Posting::credit(funding.clone(), Fen::new(499)),
        ];
        assert_eq!(
            check_balanced(&unbalanced),
            Err(PostingError::Unbalanced {
                debit_fen: 500,
                credit_fen: 499
            })
        );
        let zero = [Posting::debit(available, Fen::ZERO)];
        assert_eq!(
            check_balanced(&zero),
            Err(PostingError::NonPositiveAmount { index: 0 })
        );
    }

    #[test]
    fn huge_amounts_cannot_overflow_the_balance_check() {
        let available = account(AccountKind::BudgetAvailable);
        let funding = account(AccountKind::ProgrammeFunding);
        let postings = [
            Posting::debit(available.clone(), Fen::new(i64::MAX)),
            Posting::debit(available, Fen::new(i64::MAX)),
            Posting::credit(funding, Fen::new(1)),
        ];
        assert!(matches!(
            check_balanced(&postings),
            Err(PostingError::Unbalanced { .. })
        ));
    }

    #[test]
    fn net_changes_combine_lines_of_one_account() {
        let available = account(AccountKind::BudgetAvailable);
        let outstanding = account(AccountKind::VouchersOutstanding);
        let postings = [
            Posting::debit(available.clone(), Fen::new(300)),
            Posting::credit(available.clone(), Fen::new(100)),
            Posting::credit(outstanding.clone(), Fen::new(200)),
        ];
        let changes = net_changes(&postings);
        assert_eq!(changes[&available], 200);
        assert_eq!(changes[&outstanding], -200);
    }
}

//! The budget family: money into a programme, and the ledger's own
//! balanced journals (benchmarks, drills on scratch databases).

mod decide;

use serde::Serialize;

use super::{Draft, InvalidCommand, TEXT_LEN_MAX, ToDraft, check_text};
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;

/// Add money to a programme's budget (initial funding or a top-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundProgramme {
    pub programme: ProgrammeCode,
    pub amount: Fen,
    pub reference: String,
}

impl ToDraft for FundProgramme {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if !self.amount.is_positive() {
            return Err(InvalidCommand::NonPositiveAmount);
        }
        check_text("reference", &self.reference, TEXT_LEN_MAX, true)?;
        let available = Account::programme(AccountKind::BudgetAvailable, &self.programme)
            .expect("budget_available is a programme-level account");
        let funding = Account::programme(AccountKind::ProgrammeFunding, &self.programme)
            .expect("programme_funding is a programme-level account");
        Ok(Draft {
            body: EntryBody::ProgrammeFunded(pb::ProgrammeFunded {
                programme_code: self.programme.to_string(),
                amount_fen: self.amount.as_fen(),
                reference: self.reference.clone(),
            }),
            postings: vec![
                Posting::debit(available, self.amount),
                Posting::credit(funding, self.amount),
            ],
        })
    }
}

/// A balanced journal between accounts, with a memo. Only the ledger's
/// own tools issue these (benchmarks, drills on scratch databases); a
/// journal may not touch accounts that mirror tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Journal {
    pub memo: String,
    pub postings: Vec<Posting>,
}

impl ToDraft for Journal {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("memo", &self.memo, TEXT_LEN_MAX, true)?;
        if let Some(posting) = self
            .postings
            .iter()
            .find(|p| !crate::ledger::derive::journal_may_touch(p.account.kind()))
        {
            return Err(InvalidCommand::JournalAccount(posting.account.to_string()));
        }
        Ok(Draft {
            body: EntryBody::Journal(pb::Journal {
                memo: self.memo.clone(),
            }),
            postings: self.postings.clone(),
        })
    }
}

//! Commands: every change to the ledger, as a value.
//!
//! A command is what a caller asks for; `Command::draft` turns it into an
//! entry body and postings without touching the database (pure), and the
//! writer then applies the postings under the floor guards and appends the
//! entry. Keeping commands as plain values lets the writer batch them, lets
//! a retry be recognised by digest, and (later) lets an offline queue carry
//! them.

use sha2::{Digest, Sha256};

use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::entry::{ACTOR_LEN_MAX, Hash32, IDEMPOTENCY_KEY_LEN_MAX};
use crate::ledger::posting::{Posting, PostingError, check_balanced};

/// Longest free-text field (references, memos), in bytes.
pub const TEXT_LEN_MAX: usize = 500;

/// A change to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add money to a programme's budget (initial funding or a top-up).
    FundProgramme {
        programme: ProgrammeCode,
        amount: Fen,
        reference: String,
    },
    /// A balanced journal between accounts, with a memo. Only the ledger's
    /// own tools issue these (benchmarks, drills on scratch databases).
    Journal {
        memo: String,
        postings: Vec<Posting>,
    },
}

/// A command with who asked and the key that makes retries safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub actor: String,
    pub idempotency_key: String,
    pub command: Command,
}

/// An entry ready to be sequenced: body and postings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub body: EntryBody,
    pub postings: Vec<Posting>,
}

/// Why a command was refused before it touched the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCommand {
    #[error("the amount must be greater than zero")]
    NonPositiveAmount,
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error(transparent)]
    Postings(#[from] PostingError),
}

impl Submission {
    /// Checks the envelope (actor and key) and the command.
    pub fn validate(&self) -> Result<Draft, InvalidCommand> {
        check_text("actor", &self.actor, ACTOR_LEN_MAX, true)?;
        check_text(
            "idempotency_key",
            &self.idempotency_key,
            IDEMPOTENCY_KEY_LEN_MAX,
            true,
        )?;
        self.command.draft()
    }
}

fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    required: bool,
) -> Result<(), InvalidCommand> {
    if required && text.trim().is_empty() {
        return Err(InvalidCommand::Empty { field });
    }
    if text.len() > max {
        return Err(InvalidCommand::TooLong { field, max });
    }
    Ok(())
}

impl Command {
    /// The stable name of the command, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::FundProgramme { .. } => "fund_programme",
            Command::Journal { .. } => "journal",
        }
    }

    /// Body and postings for this command, validated and balanced.
    pub fn draft(&self) -> Result<Draft, InvalidCommand> {
        let draft = match self {
            Command::FundProgramme {
                programme,
                amount,
                reference,
            } => {
                if !amount.is_positive() {
                    return Err(InvalidCommand::NonPositiveAmount);
                }
                check_text("reference", reference, TEXT_LEN_MAX, true)?;
                let available = Account::programme(AccountKind::BudgetAvailable, programme)
                    .expect("budget_available is a programme-level account");
                let funding = Account::programme(AccountKind::ProgrammeFunding, programme)
                    .expect("programme_funding is a programme-level account");
                Draft {
                    body: EntryBody::ProgrammeFunded(pb::ProgrammeFunded {
                        programme_code: programme.to_string(),
                        amount_fen: amount.as_fen(),
                        reference: reference.clone(),
                    }),
                    postings: vec![
                        Posting::debit(available, *amount),
                        Posting::credit(funding, *amount),
                    ],
                }
            }
            Command::Journal { memo, postings } => {
                check_text("memo", memo, TEXT_LEN_MAX, true)?;
                Draft {
                    body: EntryBody::Journal(pb::Journal { memo: memo.clone() }),
                    postings: postings.clone(),
                }
            }
        };
        check_balanced(&draft.postings)?;
        Ok(draft)
    }

    /// SHA-256 over a length-prefixed encoding of the command's name and
    /// fields: equal exactly when two commands ask for the same thing. The
    /// entry records it so that a retry (same key, same digest) is answered
    /// with the first result and a different command reusing a key is
    /// refused.
    pub fn digest(&self) -> Hash32 {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u32).to_be_bytes());
            hasher.update(bytes);
        };
        field(self.name().as_bytes());
        match self {
            Command::FundProgramme {
                programme,
                amount,
                reference,
            } => {
                field(programme.as_str().as_bytes());
                field(&amount.as_fen().to_be_bytes());
                field(reference.as_bytes());
            }
            Command::Journal { memo, postings } => {
                field(memo.as_bytes());
                for posting in postings {
                    field(posting.account.to_string().as_bytes());
                    field(&[posting.side.code()]);
                    field(&posting.amount.as_fen().to_be_bytes());
                }
            }
        }
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fund(amount: i64, reference: &str) -> Command {
        Command::FundProgramme {
            programme: ProgrammeCode::parse("ZS2026-01").unwrap(),
            amount: Fen::new(amount),
            reference: reference.into(),
        }
    }

    #[test]
    fn funding_debits_available_and_credits_funding() {
        let draft = fund(300_000_000, "舟财企〔2026〕12号").draft().unwrap();
        assert_eq!(draft.postings.len(), 2);
        assert_eq!(
            draft.postings[0].account.to_string(),
            "budget_available/ZS2026-01"
        );
        assert_eq!(
            draft.postings[1].account.to_string(),
            "programme_funding/ZS2026-01"
        );
    }

    #[test]
    fn invalid_commands_are_refused_before_the_database() {
        assert_eq!(fund(0, "r").draft(), Err(InvalidCommand::NonPositiveAmount));
        assert_eq!(
            fund(-5, "r").draft(),
            Err(InvalidCommand::NonPositiveAmount)
        );
        assert_eq!(
            fund(5, " ").draft(),
            Err(InvalidCommand::Empty { field: "reference" })
        );
        assert_eq!(
            fund(5, &"x".repeat(501)).draft(),
            Err(InvalidCommand::TooLong {
                field: "reference",
                max: TEXT_LEN_MAX
            })
        );
        let submission = Submission {
            actor: "cli:test".into(),
            idempotency_key: "k".repeat(256),
            command: fund(5, "r"),
        };
        assert!(matches!(
            submission.validate(),
            Err(InvalidCommand::TooLong {
                field: "idempotency_key",
                ..
            })
        ));
    }

    #[test]
    fn digests_tell_commands_apart() {
        assert_eq!(fund(5, "a").digest(), fund(5, "a").digest());
        assert_ne!(fund(5, "a").digest(), fund(6, "a").digest());
        assert_ne!(fund(5, "a").digest(), fund(5, "b").digest());
        // Length prefixes keep field boundaries: ("ab","") ≠ ("a","b").
        let journal = |memo: &str| Command::Journal {
            memo: memo.into(),
            postings: vec![],
        };
        assert_ne!(journal("ab").digest(), journal("a").digest());
    }
}

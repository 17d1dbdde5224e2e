//! The postings every entry kind must carry, re-derived from its body.
//!
//! An entry's hash covers its postings, but whoever can rewrite the
//! database after the last signed checkpoint can re-hash the chain. So
//! `verify` does not take an entry's postings on trust: it rebuilds the
//! postings the entry's body implies (docs/ledger.md §6, the table of
//! kinds) and requires the stored ones to be exactly those — the same
//! accounts, sides and amounts, in any order. A redemption whose postings
//! were changed and re-hashed no longer matches its body.
//!
//! A few facts are not in the body itself: a reversal posts to the
//! provider and programme of the redemption it reverses, and an approval
//! or a bank result to the programme of its settlement run. `PostingRules`
//! remembers those as the chain passes the entries that establish them.
//!
//! A `journal` entry is a manual adjustment whose postings are its
//! content. It may not touch the accounts whose balance is exactly what a
//! table says — outstanding vouchers (the vouchers table), payables and
//! payouts in payment (redemptions and payouts) — so those cross-table
//! checks of `verify` hold without exception. `paid` and receivables are
//! ledger facts beyond the tables already (recoveries move them), and
//! `verify` counts journal postings to `paid` like recoveries.
//!
//! Pure: bodies in, expected postings out.

use std::collections::HashMap;

use crate::domain::{Fen, ProgrammeCode};

use super::account::{Account, AccountKind};
use super::body::EntryBody;
use super::posting::Posting;

/// What the chain has established so far that later bodies refer to.
#[derive(Debug, Default)]
pub struct PostingRules {
    /// Redemption id → (programme, provider id).
    redemptions: HashMap<String, (String, String)>,
    /// Settlement run id → programme.
    runs: HashMap<String, String>,
}

/// One posting as compared: account name and signed amount.
type Line = (String, i64);

fn programme(code: &str) -> Result<ProgrammeCode, String> {
    ProgrammeCode::parse(code).map_err(|e| format!("names programme {code:?}: {e}"))
}

fn at(kind: AccountKind, code: &str) -> Result<Account, String> {
    Account::programme(kind, &programme(code)?).map_err(|e| e.to_string())
}

fn of(kind: AccountKind, code: &str, party: &str) -> Result<Account, String> {
    Account::party(kind, &programme(code)?, party).map_err(|e| e.to_string())
}

/// Debit `to`, credit `from`, by `fen` (nothing when `fen` is 0).
fn moved(to: Account, from: Account, fen: i64, lines: &mut Vec<Posting>) {
    if fen != 0 {
        lines.push(Posting::debit(to, Fen::new(fen)));
        lines.push(Posting::credit(from, Fen::new(fen)));
    }
}

/// Accounts a journal may touch (the writer refuses any other, as verify
/// would).
pub fn journal_may_touch(kind: AccountKind) -> bool {
    !matches!(
        kind,
        AccountKind::VouchersOutstanding
            | AccountKind::ProviderPayable
            | AccountKind::PayoutPending
    )
}

impl PostingRules {
    /// Checks `postings` against what `body` implies, and learns what later
    /// entries will need. The error says what differs.
    pub fn check(&mut self, body: &EntryBody, postings: &[Posting]) -> Result<(), String> {
        if let EntryBody::Journal(_) = body {
            return match postings
                .iter()
                .find(|p| !journal_may_touch(p.account.kind()))
            {
                Some(p) => Err(format!(
                    "of a journal may not touch {}: its balance is what a table says",
                    p.account
                )),
                None => Ok(()),
            };
        }
        let expected = self.expected(body)?;
        let mut want: Vec<Line> = expected.iter().map(line).collect();
        let mut have: Vec<Line> = postings.iter().map(line).collect();
        want.sort();
        have.sort();
        if want != have {
            return Err(format!(
                "are not the ones its body implies: {} instead of {}",
                describe(&have),
                describe(&want)
            ));
        }
        Ok(())
    }

    /// The postings `body` implies.
    fn expected(&mut self, body: &EntryBody) -> Result<Vec<Posting>, String> {
        use AccountKind::*;
        let mut lines = Vec::new();
        match body {
            EntryBody::ProgrammeFunded(b) => moved(
                at(BudgetAvailable, &b.programme_code)?,
                at(ProgrammeFunding, &b.programme_code)?,
                b.amount_fen,
                &mut lines,
            ),
            EntryBody::VoucherIssued(b) => moved(
                at(VouchersOutstanding, &b.programme_code)?,
                at(BudgetAvailable, &b.programme_code)?,
                b.face_value_fen,
                &mut lines,
            ),
            EntryBody::VoucherRedeemed(b) => {
                self.redemptions.insert(
                    b.redemption_id.clone(),
                    (b.programme_code.clone(), b.provider_id.clone()),
                );
                let outstanding = at(VouchersOutstanding, &b.programme_code)?;
                moved(
                    of(ProviderPayable, &b.programme_code, &b.provider_id)?,
                    outstanding.clone(),
                    b.subsidy_fen,
                    &mut lines,
                );
                moved(
                    at(BudgetAvailable, &b.programme_code)?,
                    outstanding,
                    b.returned_fen,
                    &mut lines,
                );
            }
            EntryBody::RedemptionReversed(b) => {
                let (code, provider) = self.redemptions.get(&b.redemption_id).ok_or_else(|| {
                    format!(
                        "name redemption {}, which no entry recorded",
                        b.redemption_id
                    )
                })?;
                let to = match b.returned_to.as_str() {
                    "voucher" => at(VouchersOutstanding, code)?,
                    "budget" => at(BudgetAvailable, code)?,
                    other => {
                        return Err(format!(
                            "return a subsidy to {other:?}, not a voucher or the budget"
                        ));
                    }
                };
                moved(
                    to,
                    of(ProviderPayable, code, provider)?,
                    b.subsidy_fen,
                    &mut lines,
                );
            }
            EntryBody::RecoveryOpened(b) => moved(
                of(RecoveryReceivable, &b.programme_code, &b.provider_id)?,
                of(Paid, &b.programme_code, &b.provider_id)?,
                b.amount_fen,
                &mut lines,
            ),
            EntryBody::VoucherExpired(b) | EntryBody::VoucherRevoked(b) => moved(
                at(BudgetAvailable, &b.programme_code)?,
                at(VouchersOutstanding, &b.programme_code)?,
                b.remaining_fen,
                &mut lines,
            ),
            EntryBody::SettlementPrepared(b) => {
                self.runs.insert(b.run_id.clone(), b.programme_code.clone());
            }
            EntryBody::SettlementApproved(b) => {
                let code = self.run(&b.run_id)?;
                for payout in &b.payouts {
                    let provider = &payout.provider_id;
                    let payable = of(ProviderPayable, &code, provider)?;
                    if payout.net_fen == 0 {
                        moved(
                            of(Paid, &code, provider)?,
                            payable,
                            payout.gross_fen,
                            &mut lines,
                        );
                        offset(&code, provider, payout.offset_fen, &mut lines)?;
                    } else {
                        moved(
                            of(PayoutPending, &code, provider)?,
                            payable,
                            payout.gross_fen,
                            &mut lines,
                        );
                    }
                }
            }
            EntryBody::PayoutsRecorded(b) => {
                let code = self.run(&b.run_id)?;
                for result in &b.results {
                    let provider = &result.provider_id;
                    let pending = of(PayoutPending, &code, provider)?;
                    match result.outcome.as_str() {
                        "paid" => {
                            moved(
                                of(Paid, &code, provider)?,
                                pending,
                                result.gross_fen,
                                &mut lines,
                            );
                            offset(&code, provider, result.offset_fen, &mut lines)?;
                        }
                        "failed" => moved(
                            of(ProviderPayable, &code, provider)?,
                            pending,
                            result.gross_fen,
                            &mut lines,
                        ),
                        other => {
                            return Err(format!(
                                "record a payout as {other:?}, not paid or failed"
                            ));
                        }
                    }
                }
            }
            // Every other kind moves no money (a re-issued voucher's value
            // stays outstanding).
            _ => {}
        }
        Ok(lines)
    }

    fn run(&self, run_id: &str) -> Result<String, String> {
        self.runs
            .get(run_id)
            .cloned()
            .ok_or_else(|| format!("name settlement run {run_id}, which no entry prepared"))
    }
}

/// A recovery offset taken from a payment: receivable back to the budget.
fn offset(code: &str, provider: &str, fen: i64, lines: &mut Vec<Posting>) -> Result<(), String> {
    moved(
        at(AccountKind::BudgetAvailable, code)?,
        of(AccountKind::RecoveryReceivable, code, provider)?,
        fen,
        lines,
    );
    Ok(())
}

fn line(posting: &Posting) -> Line {
    (posting.account.to_string(), posting.signed_fen())
}

fn describe(lines: &[Line]) -> String {
    if lines.is_empty() {
        return "none".into();
    }
    lines
        .iter()
        .map(|(account, fen)| {
            let side = if *fen >= 0 { "D" } else { "C" };
            format!("{side} {account} {}", fen.abs())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::body::pb;

    const P: &str = "P1";
    const PROVIDER: &str = "01a21208-0000-7000-8000-000000000001";

    fn redeemed(subsidy: i64, returned: i64) -> EntryBody {
        EntryBody::VoucherRedeemed(pb::VoucherRedeemed {
            redemption_id: "r1".into(),
            programme_code: P.into(),
            provider_id: PROVIDER.into(),
            subsidy_fen: subsidy,
            returned_fen: returned,
            ..Default::default()
        })
    }

    fn redemption_postings(subsidy: i64, returned: i64) -> Vec<Posting> {
        let mut lines = Vec::new();
        let outstanding = at(AccountKind::VouchersOutstanding, P).unwrap();
        moved(
            of(AccountKind::ProviderPayable, P, PROVIDER).unwrap(),
            outstanding.clone(),
            subsidy,
            &mut lines,
        );
        moved(
            at(AccountKind::BudgetAvailable, P).unwrap(),
            outstanding,
            returned,
            &mut lines,
        );
        lines
    }

    #[test]
    fn a_redemption_must_post_exactly_what_its_body_says_in_any_order() {
        let mut rules = PostingRules::default();
        let mut postings = redemption_postings(200_000, 300_000);
        postings.reverse();
        assert_eq!(rules.check(&redeemed(200_000, 300_000), &postings), Ok(()));
        // A changed amount, a changed account, a missing or extra line.
        let mut changed = redemption_postings(200_000, 300_000);
        changed[0].amount = Fen::new(250_000);
        changed[1].amount = Fen::new(250_000);
        assert!(rules.check(&redeemed(200_000, 300_000), &changed).is_err());
        let other = redemption_postings(200_000, 0);
        assert!(rules.check(&redeemed(200_000, 300_000), &other).is_err());
        assert!(rules.check(&redeemed(200_000, 0), &other).is_ok());
    }

    #[test]
    fn a_reversal_posts_to_the_redemptions_provider_and_programme() {
        let mut rules = PostingRules::default();
        rules
            .check(&redeemed(100, 0), &redemption_postings(100, 0))
            .unwrap();
        let reversed = EntryBody::RedemptionReversed(pb::RedemptionReversed {
            redemption_id: "r1".into(),
            subsidy_fen: 100,
            returned_to: "budget".into(),
            ..Default::default()
        });
        let mut lines = Vec::new();
        moved(
            at(AccountKind::BudgetAvailable, P).unwrap(),
            of(AccountKind::ProviderPayable, P, PROVIDER).unwrap(),
            100,
            &mut lines,
        );
        assert_eq!(rules.check(&reversed, &lines), Ok(()));
        let mut wrong = lines.clone();
        wrong[0].account = at(AccountKind::VouchersOutstanding, P).unwrap();
        assert!(rules.check(&reversed, &wrong).is_err());
        let mut unknown = PostingRules::default();
        assert!(unknown.check(&reversed, &lines).is_err());
    }

    #[test]
    fn kinds_that_move_no_money_carry_no_postings() {
        let mut rules = PostingRules::default();
        let body = EntryBody::ZoneDefined(pb::ZoneDefined::default());
        assert_eq!(rules.check(&body, &[]), Ok(()));
        assert!(rules.check(&body, &redemption_postings(1, 0)).is_err());
    }

    #[test]
    fn a_journal_stays_out_of_the_accounts_that_mirror_tables() {
        let mut rules = PostingRules::default();
        let body = EntryBody::Journal(pb::Journal { memo: "m".into() });
        let mut lapse = Vec::new();
        moved(
            at(AccountKind::Lapsed, P).unwrap(),
            at(AccountKind::BudgetAvailable, P).unwrap(),
            5,
            &mut lapse,
        );
        assert_eq!(rules.check(&body, &lapse), Ok(()));
        assert!(rules.check(&body, &redemption_postings(5, 0)).is_err());
    }
}

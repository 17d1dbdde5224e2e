//! Replaying settlement entries: each run's status and totals and each
//! payout's amounts and outcome, as the ledger's entries alone say they
//! are, with the rules those entries must keep among themselves (a batch
//! total is the sum of its payouts; a payout gets one outcome; no more is
//! paid than was settled). `verify` then holds the settlement tables to
//! this. Pure: entries in, states out.

use std::collections::HashMap;

use super::account::AccountKind;
use super::body::EntryBody;
use super::posting::Posting;

/// A run as the entries leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunState {
    pub programme_code: String,
    pub status: String,
    pub lines_digest: Vec<u8>,
    /// Included lines' subsidy when prepared, plus resolved lines.
    pub included_fen: i64,
    /// The batch total fixed by the approval.
    pub approved_fen: Option<i64>,
}

/// A payout as the entries leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutState {
    pub run_id: String,
    pub provider_id: String,
    pub gross_fen: i64,
    pub offset_fen: i64,
    pub status: String,
}

/// What the entries say about settlement.
#[derive(Debug, Default)]
pub struct SettlementReplay {
    pub runs: HashMap<String, RunState>,
    pub payouts: HashMap<String, PayoutState>,
    /// Per programme: subsidy settled (approved batches) and paid.
    pub settled_fen: HashMap<String, i64>,
    pub paid_fen: HashMap<String, i64>,
}

/// Net of `postings` on accounts of `kind` (debits − credits).
fn net(postings: &[Posting], kind: AccountKind) -> i64 {
    postings
        .iter()
        .filter(|p| p.account.kind() == kind)
        .map(|p| p.signed_fen())
        .sum()
}

impl SettlementReplay {
    /// Applies one entry (other kinds change nothing here).
    pub fn apply(&mut self, body: &EntryBody, postings: &[Posting]) -> Result<(), String> {
        match body {
            EntryBody::SettlementPrepared(prepared) => {
                if self.runs.contains_key(&prepared.run_id) {
                    return Err(format!("run {} prepared twice", prepared.run_id));
                }
                if !postings.is_empty() {
                    return Err("preparing a run moves no money".into());
                }
                self.runs.insert(
                    prepared.run_id.clone(),
                    RunState {
                        programme_code: prepared.programme_code.clone(),
                        status: "prepared".into(),
                        lines_digest: prepared.lines_digest.clone(),
                        included_fen: prepared.included_fen,
                        approved_fen: None,
                    },
                );
            }
            EntryBody::SettlementLineResolved(resolved) => {
                let run = self.run(&resolved.run_id, "prepared")?;
                run.included_fen += resolved.subsidy_fen;
            }
            EntryBody::SettlementApproved(approved) => {
                let run = self.run(&approved.run_id, "prepared")?;
                run.status = "approved".into();
                run.approved_fen = Some(approved.total_fen);
                let programme = run.programme_code.clone();
                let gross: i64 = approved.payouts.iter().map(|p| p.gross_fen).sum();
                if gross != approved.total_fen {
                    return Err(format!(
                        "run {}: payouts add up to {gross} fen, the total says {}",
                        approved.run_id, approved.total_fen
                    ));
                }
                if -net(postings, AccountKind::ProviderPayable) != gross {
                    return Err(format!(
                        "run {}: approval moves {} fen out of payable, not its total {gross}",
                        approved.run_id,
                        -net(postings, AccountKind::ProviderPayable)
                    ));
                }
                *self.settled_fen.entry(programme.clone()).or_default() += gross;
                for payout in &approved.payouts {
                    if payout.offset_fen < 0
                        || payout.offset_fen > payout.gross_fen
                        || payout.net_fen != payout.gross_fen - payout.offset_fen
                    {
                        return Err(format!(
                            "payout {}: amounts do not add up",
                            payout.reference
                        ));
                    }
                    // A payout the offset covers wholly is paid at approval.
                    let status = if payout.net_fen == 0 {
                        "paid"
                    } else {
                        "pending"
                    };
                    if status == "paid" {
                        *self.paid_fen.entry(programme.clone()).or_default() += payout.gross_fen;
                    }
                    let previous = self.payouts.insert(
                        payout.reference.clone(),
                        PayoutState {
                            run_id: approved.run_id.clone(),
                            provider_id: payout.provider_id.clone(),
                            gross_fen: payout.gross_fen,
                            offset_fen: payout.offset_fen,
                            status: status.into(),
                        },
                    );
                    if previous.is_some() {
                        return Err(format!("payout {} approved twice", payout.reference));
                    }
                }
            }
            EntryBody::PayoutsRecorded(recorded) => {
                let mut paid = 0;
                for result in &recorded.results {
                    let payout = self
                        .payouts
                        .get_mut(&result.reference)
                        .ok_or_else(|| format!("payout {} was never approved", result.reference))?;
                    if payout.status != "pending" || payout.run_id != recorded.run_id {
                        return Err(format!(
                            "payout {} is {}, it cannot become {}",
                            result.reference, payout.status, result.outcome
                        ));
                    }
                    match result.outcome.as_str() {
                        "paid" => paid += payout.gross_fen,
                        "failed" => {}
                        other => return Err(format!("unknown payout outcome {other:?}")),
                    }
                    payout.status = result.outcome.clone();
                }
                if net(postings, AccountKind::Paid) != paid {
                    return Err(format!(
                        "run {}: {} fen posted as paid, the results say {paid}",
                        recorded.run_id,
                        net(postings, AccountKind::Paid)
                    ));
                }
                let programme = self
                    .runs
                    .get(&recorded.run_id)
                    .map(|run| run.programme_code.clone())
                    .ok_or_else(|| format!("run {} was never prepared", recorded.run_id))?;
                let paid_total = self.paid_fen.entry(programme.clone()).or_default();
                *paid_total += paid;
                if *paid_total > self.settled_fen.get(&programme).copied().unwrap_or(0) {
                    return Err(format!("programme {programme}: more paid than settled"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn run(&mut self, id: &str, needed: &str) -> Result<&mut RunState, String> {
        let run = self
            .runs
            .get_mut(id)
            .ok_or_else(|| format!("run {id} was never prepared"))?;
        if run.status != needed {
            return Err(format!("run {id} is {}, not {needed}", run.status));
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Fen, ProgrammeCode};
    use crate::ledger::account::Account;
    use crate::ledger::body::pb;

    fn account(kind: AccountKind) -> Account {
        Account::party(kind, &ProgrammeCode::parse("ZS2026-01").unwrap(), "p1").unwrap()
    }

    fn prepared() -> EntryBody {
        EntryBody::SettlementPrepared(pb::SettlementPrepared {
            run_id: "r1".into(),
            programme_code: "ZS2026-01".into(),
            included_fen: 1_000,
            ..Default::default()
        })
    }

    fn approved(total: i64) -> (EntryBody, Vec<Posting>) {
        (
            EntryBody::SettlementApproved(pb::SettlementApproved {
                run_id: "r1".into(),
                total_fen: total,
                payouts: vec![pb::Payout {
                    reference: "VL1".into(),
                    provider_id: "p1".into(),
                    gross_fen: 1_000,
                    net_fen: 1_000,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            vec![
                Posting::debit(account(AccountKind::PayoutPending), Fen::new(1_000)),
                Posting::credit(account(AccountKind::ProviderPayable), Fen::new(1_000)),
            ],
        )
    }

    fn recorded(outcome: &str, paid_posted: i64) -> (EntryBody, Vec<Posting>) {
        let postings = if paid_posted > 0 {
            vec![
                Posting::debit(account(AccountKind::Paid), Fen::new(paid_posted)),
                Posting::credit(account(AccountKind::PayoutPending), Fen::new(paid_posted)),
            ]
        } else {
            Vec::new()
        };
        (
            EntryBody::PayoutsRecorded(pb::PayoutsRecorded {
                run_id: "r1".into(),
                results: vec![pb::PayoutResult {
                    reference: "VL1".into(),
                    outcome: outcome.into(),
                    ..Default::default()
                }],
            }),
            postings,
        )
    }

    #[test]
    fn a_run_is_prepared_approved_and_paid_once() {
        let mut replay = SettlementReplay::default();
        replay.apply(&prepared(), &[]).unwrap();
        let (body, postings) = approved(1_000);
        replay.apply(&body, &postings).unwrap();
        let (body, postings) = recorded("paid", 1_000);
        replay.apply(&body, &postings).unwrap();
        assert_eq!(replay.payouts["VL1"].status, "paid");
        assert_eq!(replay.paid_fen["ZS2026-01"], 1_000);
        // Paying it again is refused.
        assert!(replay.apply(&body, &postings).is_err());
        assert!(replay.apply(&prepared(), &[]).is_err());
    }

    #[test]
    fn totals_and_postings_must_agree_with_the_payouts() {
        let mut replay = SettlementReplay::default();
        replay.apply(&prepared(), &[]).unwrap();
        let (body, postings) = approved(999);
        assert!(
            replay
                .apply(&body, &postings)
                .unwrap_err()
                .contains("add up")
        );
        let mut replay = SettlementReplay::default();
        replay.apply(&prepared(), &[]).unwrap();
        let (body, postings) = approved(1_000);
        replay.apply(&body, &postings).unwrap();
        let (body, postings) = recorded("paid", 500);
        assert!(
            replay
                .apply(&body, &postings)
                .unwrap_err()
                .contains("posted as paid")
        );
    }
}

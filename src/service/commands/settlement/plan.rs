//! Settlement steps after preparing, under the chain-head lock: resolving
//! a held line, approving (maker-checker, payouts and their postings), and
//! applying the bank's results. Planning only reads: the facts are
//! gathered here and judged by the pure rules in domain::settlement; the
//! writes that follow are guarded so that each changes exactly the rows
//! the plan read.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::domain::bank_file::BankOutcome;
use crate::domain::settlement::{FlagCode, LineState, Severity};
use crate::domain::settlement_payout::{PayoutAmounts, payout_reference};
use crate::domain::status::{PayoutStatus, RunStatus};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::registry::RegistryTx;
use crate::store::settlement::{PayoutRecord, ResolutionRecord, SettlementTx};
use crate::store::{LedgerTx, StoreError, WriteTx};

use super::super::PayoutOutcome;
use super::facts::*;
use crate::service::engine::{Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};

/// A settlement command decided under the lock, not yet written.
pub struct SettlementPlan {
    pub postings: Vec<Posting>,
    body: EntryBody,
    writes: Writes,
}

enum Writes {
    Resolve(ResolutionRecord),
    Approve {
        run_id: Uuid,
        approved_by: Uuid,
        payouts: Vec<PayoutRecord>,
    },
    Payouts {
        run_id: Uuid,
        applied: Vec<(PayoutRecord, BankOutcome, String)>,
    },
}

impl SettlementPlan {
    /// Checks the postings against the batch's balances, then writes.
    pub async fn decide<T: WriteTx>(self, tx: &mut T, at: &mut Decision<'_>) -> Decides {
        let checked = at.check(tx, self.postings).await?;
        let body = write(tx, self.body, self.writes, at.now, at.sequence).await?;
        Ok(Decided::new(body, checked))
    }
}

/// Writes what a plan decided; returns the entry body.
async fn write<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    body: EntryBody,
    writes: Writes,
    now: Timestamp,
    sequence: u64,
) -> Result<EntryBody, Failure> {
    match writes {
        Writes::Resolve(resolution) => {
            let moved = tx
                .set_line_state(
                    resolution.run_id,
                    resolution.redemption_id,
                    LineState::Held,
                    LineState::Included,
                )
                .await?;
            if moved != 1 {
                return Err(outside("settlement line", resolution.redemption_id).into());
            }
            tx.insert_resolution(&resolution).await?;
        }
        Writes::Approve {
            run_id,
            approved_by,
            payouts,
        } => {
            if tx
                .approve_run(run_id, approved_by, sequence, now.as_micros())
                .await?
                != 1
            {
                return Err(outside("settlement run", run_id).into());
            }
            tx.release_lines(run_id, None, LineState::Held).await?;
            tx.insert_payouts(&payouts).await?;
        }
        Writes::Payouts { run_id, applied } => {
            for (payout, outcome, message) in applied {
                if tx
                    .settle_payout(&payout.reference, outcome.as_str(), &message, sequence)
                    .await?
                    != 1
                {
                    return Err(StoreError::Corrupt(format!(
                        "payout {} changed outside the ledger writer",
                        payout.reference
                    ))
                    .into());
                }
                if outcome == BankOutcome::Failed {
                    tx.release_lines(run_id, Some(payout.provider_id), LineState::Included)
                        .await?;
                }
            }
        }
    }
    Ok(body)
}

pub async fn plan_resolve<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    redemption_id: Uuid,
    note: &str,
    resolved_by: Uuid,
    now: Timestamp,
    sequence: u64,
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, RunStatus::Prepared).await?;
    let line = tx
        .run_line(run_id, redemption_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if line.state != LineState::Held {
        return Err(CommandError::LineNotHeld { state: line.state }.into());
    }
    let blocking: Vec<FlagCode> = stored_flags(&line)?
        .iter()
        .filter_map(|flag| FlagCode::parse(&flag.code))
        .filter(|code| code.severity() == Severity::Blocking)
        .collect();
    let stuck: Vec<String> = blocking
        .iter()
        .filter(|code| !code.resolvable())
        .map(|code| code.as_str().to_string())
        .collect();
    if !stuck.is_empty() {
        return Err(CommandError::FlagsNotResolvable { codes: stuck }.into());
    }
    // A line held for another reason did not count toward the provider's
    // annual cap when the run was prepared: it must fit now.
    let year: i32 = run
        .period_until
        .get(..4)
        .and_then(|year| year.parse().ok())
        .ok_or_else(|| outside("settlement run period", run_id))?;
    let settled = tx
        .settled_per_provider(year)
        .await?
        .into_iter()
        .find(|(provider, _)| *provider == line.provider_id)
        .map_or(0, |(_, fen)| fen);
    let cap = provider_row(tx, line.provider_id).await?.annual_cap_fen;
    if settled + line.subsidy_fen > cap {
        return Err(CommandError::FlagsNotResolvable {
            codes: vec![FlagCode::ProviderAnnualCap.as_str().to_string()],
        }
        .into());
    }
    Ok(SettlementPlan {
        postings: Vec::new(),
        body: EntryBody::SettlementLineResolved(pb::SettlementLineResolved {
            run_id: run_id.to_string(),
            redemption_id: redemption_id.to_string(),
            note: note.to_string(),
            resolved_by: resolved_by.to_string(),
            flag_codes: blocking.iter().map(|c| c.as_str().to_string()).collect(),
            subsidy_fen: line.subsidy_fen,
        }),
        writes: Writes::Resolve(ResolutionRecord {
            run_id,
            redemption_id,
            note: note.to_string(),
            resolved_by,
            sequence,
            resolved_at_us: now.as_micros(),
        }),
    })
}

pub async fn plan_approve<T: LedgerTx + RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    approved_by: Uuid,
    sequence: u64,
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, RunStatus::Prepared).await?;
    if run.prepared_by == approved_by {
        return Err(CommandError::SelfApproval.into());
    }
    let programme = run.programme_code.clone();
    // A line whose redemption was reversed or frozen left the run then
    // (`commands::redemption`, `RedemptionChange`), so every included line is still confirmed.
    let held = tx.run_lines_count(run_id, LineState::Held.as_str()).await?;
    let mut totals: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for (provider, fen, count) in tx.included_totals(run_id).await? {
        totals.insert(provider, (fen, count));
    }

    let mut postings = Vec::new();
    let mut payouts = Vec::new();
    let mut bodies = Vec::new();
    for (provider, (gross, lines)) in totals {
        let view = provider_row(tx, provider).await?;
        let receivable = party_account(AccountKind::RecoveryReceivable, &programme, provider);
        let open = crate::store::balance_in(tx, &receivable).await?
            - tx.pending_offsets(programme.as_str(), provider).await?;
        let amounts = PayoutAmounts::new(gross, open);
        let payable = party_account(AccountKind::ProviderPayable, &programme, provider);
        let settled_now = amounts.net_fen() == 0;
        if settled_now {
            postings.push(Posting::debit(
                party_account(AccountKind::Paid, &programme, provider),
                Fen::new(gross),
            ));
            postings.push(Posting::credit(payable, Fen::new(gross)));
            postings.extend(offset_postings(&programme, provider, amounts.offset_fen));
        } else {
            postings.push(Posting::debit(
                party_account(AccountKind::PayoutPending, &programme, provider),
                Fen::new(gross),
            ));
            postings.push(Posting::credit(payable, Fen::new(gross)));
        }
        let reference = payout_reference(run_id, provider);
        bodies.push(pb::Payout {
            reference: reference.clone(),
            provider_id: provider.to_string(),
            gross_fen: gross,
            offset_fen: amounts.offset_fen,
            net_fen: amounts.net_fen(),
            line_count: lines,
        });
        payouts.push(PayoutRecord {
            reference,
            run_id,
            provider_id: provider,
            payee_name: view.fields.account_name.clone(),
            bank_name: view.fields.bank_name.clone(),
            account_number: view.fields.account_number.clone(),
            gross_fen: gross,
            offset_fen: amounts.offset_fen,
            net_fen: amounts.net_fen(),
            status: if settled_now {
                PayoutStatus::Paid
            } else {
                PayoutStatus::Pending
            },
            bank_message: settled_now.then(|| "全额抵扣追回款 / wholly offset".to_string()),
            updated_sequence: sequence,
        });
    }
    let total_fen = payouts.iter().map(|p| p.gross_fen).sum();
    Ok(SettlementPlan {
        postings,
        body: EntryBody::SettlementApproved(pb::SettlementApproved {
            run_id: run_id.to_string(),
            approved_by: approved_by.to_string(),
            payouts: bodies,
            released_count: held,
            total_fen,
        }),
        writes: Writes::Approve {
            run_id,
            approved_by,
            payouts,
        },
    })
}

/// Recovery taken back from a payment: the receivable shrinks and the
/// money is the programme's again.
fn offset_postings(programme: &ProgrammeCode, provider: Uuid, offset_fen: i64) -> Vec<Posting> {
    if offset_fen == 0 {
        return Vec::new();
    }
    let available = Account::of_programme(AccountKind::BudgetAvailable, programme);
    vec![
        Posting::debit(available, Fen::new(offset_fen)),
        Posting::credit(
            party_account(AccountKind::RecoveryReceivable, programme, provider),
            Fen::new(offset_fen),
        ),
    ]
}

pub async fn plan_payouts<T: SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    results: &[PayoutOutcome],
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, RunStatus::Approved).await?;
    let programme = run.programme_code.clone();
    let payouts: HashMap<String, PayoutRecord> = tx
        .run_payouts(run_id)
        .await?
        .into_iter()
        .map(|p| (p.reference.clone(), p))
        .collect();
    let mut postings = Vec::new();
    let mut applied = Vec::new();
    let mut bodies = Vec::new();
    for result in results {
        let payout = payouts
            .get(&result.reference)
            .ok_or(CommandError::NotFound)?;
        if payout.status != PayoutStatus::Pending
            || applied
                .iter()
                .any(|(p, _, _): &(PayoutRecord, _, _)| p.reference == payout.reference)
        {
            return Err(CommandError::PayoutState {
                reference: payout.reference.clone(),
                status: payout.status,
            }
            .into());
        }
        let gross = Fen::new(payout.gross_fen);
        let pending = party_account(AccountKind::PayoutPending, &programme, payout.provider_id);
        match result.outcome {
            BankOutcome::Paid => {
                postings.push(Posting::debit(
                    party_account(AccountKind::Paid, &programme, payout.provider_id),
                    gross,
                ));
                postings.push(Posting::credit(pending, gross));
                postings.extend(offset_postings(
                    &programme,
                    payout.provider_id,
                    payout.offset_fen,
                ));
            }
            BankOutcome::Failed => {
                postings.push(Posting::debit(
                    party_account(AccountKind::ProviderPayable, &programme, payout.provider_id),
                    gross,
                ));
                postings.push(Posting::credit(pending, gross));
            }
        }
        bodies.push(pb::PayoutResult {
            reference: payout.reference.clone(),
            provider_id: payout.provider_id.to_string(),
            outcome: result.outcome.as_str().to_string(),
            gross_fen: payout.gross_fen,
            offset_fen: if result.outcome == BankOutcome::Paid {
                payout.offset_fen
            } else {
                0
            },
            bank_message: result.message.clone(),
        });
        applied.push((payout.clone(), result.outcome, result.message.clone()));
    }
    Ok(SettlementPlan {
        postings,
        body: EntryBody::PayoutsRecorded(pb::PayoutsRecorded {
            run_id: run_id.to_string(),
            results: bodies,
        }),
        writes: Writes::Payouts { run_id, applied },
    })
}

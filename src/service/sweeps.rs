//! Idempotent sweeps, scheduled by `serve` and run on demand (API, CLI):
//! expire vouchers past their last valid day (their remaining value back
//! to the budget) and confirm redemptions the enterprise left pending
//! longer than its programme's `auto_confirm_days`.
//!
//! Each item is its own ledger command keyed `sweep:expire:<voucher>` or
//! `sweep:confirm:<redemption>`, so two sweeps at once (two processes, a
//! retry) record each change once.

use crate::service::commands::WithdrawVoucher;
use std::collections::HashMap;

use uuid::Uuid;

use super::commands::{ChangedBy, Command, RedemptionChange, Submission};
use super::engine::{CommandError, WriterHandle};
use super::error::UseCaseError;
use super::fan_out::submit_all;
use crate::domain::Timestamp;
use crate::domain::redemption::RedemptionAction;
use crate::store::Store;
use crate::store::registry::every_programme;

/// Items read per page; at most this many commands in flight.
const PAGE: u32 = 500;
const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// What a sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Changes this sweep recorded.
    pub changed: u64,
    /// Items another sweep (or a person) changed first.
    pub already_done: u64,
}

impl SweepReport {
    fn add(&mut self, result: Result<bool, CommandError>) -> Result<(), CommandError> {
        match result {
            Ok(true) => self.already_done += 1,
            Ok(false) => self.changed += 1,
            // Changed by someone else between the read and the command.
            Err(CommandError::VoucherState { .. } | CommandError::RedemptionState { .. }) => {
                self.already_done += 1
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

/// Expires every active voucher whose last valid day is before `now`'s
/// date (UTC+8).
pub async fn expire_vouchers<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    now: Timestamp,
) -> Result<SweepReport, UseCaseError> {
    let today = now.cst_date().to_string();
    let mut report = SweepReport::default();
    loop {
        let due = store.vouchers_expired_before(&today, PAGE).await?;
        if due.is_empty() {
            return Ok(report);
        }
        let jobs = due
            .into_iter()
            .map(|voucher_id| {
                let submission = Submission {
                    actor: actor.to_string(),
                    idempotency_key: format!("sweep:expire:{voucher_id}"),
                    command: Command::WithdrawVoucher(WithdrawVoucher {
                        voucher_id,
                        revoke_reason: None,
                    }),
                };
                (voucher_id, submission)
            })
            .collect();
        run_page(writer, jobs, &mut report).await?;
    }
}

/// Confirms every pending redemption older than its programme's
/// `auto_confirm_days` (programmes with 0 never auto-confirm).
pub async fn auto_confirm<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    now: Timestamp,
) -> Result<SweepReport, UseCaseError> {
    let mut report = SweepReport::default();
    let mut days: HashMap<String, u32> = HashMap::new();
    for programme in every_programme(store).await? {
        let terms = programme.terms;
        days.insert(programme.code.to_string(), terms.auto_confirm_days);
    }
    for (code, days) in days.into_iter().filter(|(_, days)| *days > 0) {
        let before_us = now.as_micros() - i64::from(days) * MICROS_PER_DAY;
        loop {
            let due = store
                .pending_redemptions_before(&code, before_us, PAGE)
                .await?;
            if due.is_empty() {
                break;
            }
            let jobs = due
                .into_iter()
                .map(|redemption_id| {
                    let submission = Submission {
                        actor: actor.to_string(),
                        idempotency_key: format!("sweep:confirm:{redemption_id}"),
                        command: Command::ChangeRedemption(RedemptionChange {
                            redemption_id,
                            by: ChangedBy::Sweep,
                            action: RedemptionAction::Confirm,
                            rating: None,
                            text: String::new(),
                        }),
                    };
                    (redemption_id, submission)
                })
                .collect();
            run_page(writer, jobs, &mut report).await?;
        }
    }
    Ok(report)
}

/// Submits one page and counts its results. Items changed by others drop
/// out of the next page's query; any other error ends the sweep.
async fn run_page(
    writer: &WriterHandle,
    jobs: Vec<(Uuid, Submission)>,
    report: &mut SweepReport,
) -> Result<(), UseCaseError> {
    let results = submit_all(writer, jobs, PAGE as usize, |_, _| {}).await;
    for (_, result) in results {
        report.add(result.map(|receipt| receipt.replayed))?;
    }
    Ok(())
}

/// Runs both sweeps once and logs what they did (the scheduled run).
pub async fn run_scheduled<S: Store>(store: &S, writer: &WriterHandle) {
    let now = Timestamp::now();
    let expired = expire_vouchers(store, writer, SCHEDULE_ACTOR, now).await;
    match &expired {
        Ok(report) if report.changed > 0 => {
            tracing::info!(expired = report.changed, "expiry sweep")
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "expiry sweep failed; will retry"),
    }
    count_sweep("expiry", expired.as_ref().ok().map(|report| report.changed));
    let confirmed = auto_confirm(store, writer, SCHEDULE_ACTOR, now).await;
    match &confirmed {
        Ok(report) if report.changed > 0 => {
            tracing::info!(confirmed = report.changed, "auto-confirm sweep")
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "auto-confirm sweep failed; will retry"),
    }
    count_sweep(
        "auto_confirm",
        confirmed.as_ref().ok().map(|report| report.changed),
    );
}

/// Counts one run of `sweep`: what it changed, or that it failed.
fn count_sweep(sweep: &'static str, changed: Option<u64>) {
    let outcome = if changed.is_some() { "ok" } else { "failed" };
    metrics::counter!(crate::metrics::SWEEPS, "sweep" => sweep, "outcome" => outcome).increment(1);
    if let Some(changed) = changed {
        metrics::counter!(crate::metrics::SWEPT, "sweep" => sweep).increment(changed);
    }
}

/// The actor of scheduled sweeps' entries.
pub const SCHEDULE_ACTOR: &str = "system:sweep";

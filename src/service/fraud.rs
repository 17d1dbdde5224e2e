//! Marking an enterprise or a provider as fraudulent (套现, 虚假交易, 串通):
//! it is blacklisted from today; an enterprise's active vouchers are
//! revoked (their value back to the budget); every unsettled redemption it
//! is party to is frozen (only a reversal can follow); a provider is removed
//! (出库) and what it has been paid from each programme becomes a recovery
//! receivable (追回) that settlement offsets against its later payouts.
//!
//! Each step is its own ledger command keyed from the request's key, so a
//! retry (or a second marking) completes what is missing and records
//! nothing twice.

use crate::service::commands::{
    ChangeProviderStatus, OpenRecovery, RecoverRedemption, WithdrawVoucher,
};
use chrono::NaiveDate;
use uuid::Uuid;

use super::commands::{BlacklistSpec, ChangedBy, Command, PartyKind, RedemptionChange, Submission};
use super::engine::{CommandError, WriterHandle};
use super::error::UseCaseError;
use super::fan_out::submit_all;
use crate::domain::provider::ProviderStatus;
use crate::domain::redemption::RedemptionAction;
use crate::domain::status::{RedemptionStatus, VoucherStatus};
use crate::ledger::account::{Account, AccountKind};
use crate::store::Store;
use crate::store::redemption::RedemptionFilter;
use crate::store::registry::every_programme;
use crate::store::voucher::VoucherFilter;

const PAGE: u32 = 500;

/// What a marking did (counts of changes this request recorded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FraudReport {
    pub vouchers_revoked: u64,
    pub redemptions_frozen: u64,
    /// An enterprise's settled and paid redemptions whose subsidy became
    /// its providers' recovery receivables.
    pub redemptions_recovered: u64,
    pub provider_removed: bool,
    /// The provider's recovery receivables across programmes, after.
    pub recovery_receivable_fen: i64,
}

/// What is marked and why.
pub struct Marking {
    pub party_kind: PartyKind,
    pub party_id: Uuid,
    pub reason: String,
    pub source: String,
    pub today: NaiveDate,
}

/// Marks `marking.party_id` fraudulent; see the module comment.
pub async fn mark<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    key: &str,
    marking: Marking,
) -> Result<FraudReport, UseCaseError> {
    let exists = match marking.party_kind {
        PartyKind::Enterprise => store.enterprise_by_id(marking.party_id).await?.is_some(),
        PartyKind::Provider => store.provider_by_id(marking.party_id).await?.is_some(),
    };
    if !exists {
        return Err(CommandError::NotFound.into());
    }
    let submission = |suffix: String, command: Command| Submission {
        actor: actor.to_string(),
        idempotency_key: format!("{key}:{suffix}"),
        command,
    };
    let listed = writer
        .submit(submission(
            "blacklist".into(),
            Command::BlacklistParty(BlacklistSpec {
                entry_id: Uuid::now_v7(),
                party_kind: marking.party_kind,
                party_id: marking.party_id,
                reason: marking.reason.clone(),
                source: marking.source.clone(),
                effective_from: marking.today,
                effective_until: None,
            }),
        ))
        .await;
    match listed {
        // Unchanged: the same entry is already on the blacklist.
        Ok(_) | Err(CommandError::Unchanged { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let mut report = FraudReport::default();
    if marking.party_kind == PartyKind::Provider {
        let removal = writer
            .submit(submission(
                "remove".into(),
                Command::ChangeProviderStatus(ChangeProviderStatus {
                    provider_id: marking.party_id,
                    status: ProviderStatus::Removed,
                    reason: marking.reason.clone(),
                }),
            ))
            .await;
        report.provider_removed = match removal {
            Ok(receipt) => !receipt.replayed,
            // Already removed.
            Err(CommandError::ProviderTransition { .. }) => false,
            Err(other) => return Err(other.into()),
        };
    }
    // Freeze its unsettled redemptions.
    let filter = match marking.party_kind {
        PartyKind::Enterprise => RedemptionFilter {
            enterprise_id: Some(marking.party_id),
            ..RedemptionFilter::default()
        },
        PartyKind::Provider => RedemptionFilter {
            provider_id: Some(marking.party_id),
            ..RedemptionFilter::default()
        },
    };
    let mut jobs = Vec::new();
    let mut recoveries = Vec::new();
    let mut after = None;
    loop {
        let page = store.redemptions_after(&filter, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        if marking.party_kind == PartyKind::Enterprise {
            // Settled and paid ones cannot be frozen: what was paid for
            // them is recovered from their providers instead.
            for redemption in page
                .iter()
                .filter(|r| r.status == RedemptionStatus::Confirmed)
            {
                let command = Command::RecoverRedemption(RecoverRedemption {
                    redemption_id: redemption.id,
                    reason: marking.reason.clone(),
                });
                recoveries.push((
                    (),
                    submission(format!("recover-redemption:{}", redemption.id), command),
                ));
            }
        }
        for redemption in page.iter().filter(|r| {
            use RedemptionStatus::*;
            matches!(r.status, Pending | Confirmed | Disputed)
        }) {
            let command = Command::ChangeRedemption(RedemptionChange {
                redemption_id: redemption.id,
                by: ChangedBy::Admin,
                action: RedemptionAction::Freeze,
                rating: None,
                text: marking.reason.clone(),
            });
            jobs.push(((), submission(format!("freeze:{}", redemption.id), command)));
        }
    }
    report.redemptions_frozen = count_changes(writer, jobs).await?;
    report.redemptions_recovered = count_changes(writer, recoveries).await?;
    // Revoke an enterprise's active vouchers.
    if marking.party_kind == PartyKind::Enterprise {
        let filter = VoucherFilter {
            enterprise_id: Some(marking.party_id),
            status: Some(VoucherStatus::Active),
            ..VoucherFilter::default()
        };
        let mut jobs = Vec::new();
        let mut after = None;
        loop {
            let page = store.vouchers_after(&filter, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for voucher in page {
                let command = Command::WithdrawVoucher(WithdrawVoucher {
                    voucher_id: voucher.id,
                    revoke_reason: Some(marking.reason.clone()),
                });
                jobs.push(((), submission(format!("revoke:{}", voucher.id), command)));
            }
        }
        report.vouchers_revoked = count_changes(writer, jobs).await?;
    }
    // Recover what a provider has been paid.
    if marking.party_kind == PartyKind::Provider {
        let mut jobs = Vec::new();
        let mut receivables = Vec::new();
        for programme in every_programme(store).await? {
            let code = programme.code.clone();
            let party = marking.party_id.to_string();
            receivables.push(
                Account::party(AccountKind::RecoveryReceivable, &code, &party)
                    .expect("a UUID is a valid party")
                    .to_string(),
            );
            let command = Command::OpenRecovery(OpenRecovery {
                programme: code,
                provider_id: marking.party_id,
                reason: marking.reason.clone(),
            });
            jobs.push((
                (),
                submission(format!("recover:{}", programme.code), command),
            ));
        }
        count_changes(writer, jobs).await?;
        for account in receivables {
            report.recovery_receivable_fen += store.balance_of(&account).await?;
        }
    }
    Ok(report)
}

/// Submits `jobs`; counts the changes they recorded. Items already in the
/// asked state (or with nothing to do) are not errors.
async fn count_changes(
    writer: &WriterHandle,
    jobs: Vec<((), Submission)>,
) -> Result<u64, UseCaseError> {
    let mut changed = 0;
    for (_, result) in submit_all(writer, jobs, PAGE as usize, |_, _| {}).await {
        match result {
            Ok(receipt) if !receipt.replayed => changed += 1,
            Ok(_)
            | Err(CommandError::RedemptionState { .. })
            | Err(CommandError::VoucherState { .. })
            // Settled already: what was paid is recovered instead.
            | Err(CommandError::RedemptionSettled { .. })
            | Err(CommandError::NothingToRecover) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(changed)
}

//! A redemption decided under the lock: judged on the gathered facts, its
//! postings from the assessment. Written by the batch's cache
//! (`cache::RedemptionCache::flush`): the voucher's remaining value is
//! lowered by a guarded update and the redemption row inserted, in the
//! transaction of the ledger entry. A single-use voucher also has a partial
//! unique index over its live redemptions, so exactly-once holds in the
//! database itself.

use chrono::Datelike;
use uuid::Uuid;

use super::cache::RedemptionPlanSummary;
use super::facts::gather;
use crate::domain::redemption::{Contract, assess};
use crate::domain::status::{RedemptionStatus, VoucherStatus};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::service::commands::RedeemSpec;
use crate::service::commands::voucher::issue::IssuanceCache;
use crate::service::error::CommandError;
use crate::service::error::Failure;
use crate::store::hold::HoldTx;
use crate::store::redemption::{InvoiceRecord, RedemptionRecord, RedemptionTx, VoucherUse};
use crate::store::registry::RegistryTx;
use crate::store::voucher::VoucherTx;

/// A redemption decided under the lock, not yet written.
pub struct RedemptionPlan {
    pub postings: Vec<Posting>,
    record: RedemptionRecord,
    body: pb::VoucherRedeemed,
    used_fen: i64,
    status_after: VoucherStatus,
}

/// Judges `spec` under the lock; a refusal carries every reason.
pub async fn plan<T: RegistryTx + VoucherTx + RedemptionTx + HoldTx + Send>(
    tx: &mut T,
    issuance: &mut IssuanceCache,
    cache: &mut super::cache::RedemptionCache,
    spec: &RedeemSpec,
    now: Timestamp,
    sequence: u64,
) -> Result<RedemptionPlan, Failure> {
    // The voucher may have been issued earlier in this batch.
    issuance.flush(tx).await?;
    let gathered = gather(
        &mut super::cache::BatchReads { tx, cache },
        spec.voucher_id,
        spec.provider_id,
        &spec.shown,
        now,
    )
    .await?;
    if gathered.voucher.programme_code != spec.programme {
        return Err(CommandError::NotFound.into());
    }
    let contract = Contract {
        category: spec.service_category.clone(),
        amount: spec.contract_amount,
    };
    let assessment = assess(&gathered.facts, &contract);
    if !assessment.allowed() {
        return Err(CommandError::NotRedeemable {
            refusals: assessment.refusals,
        }
        .into());
    }
    let postings = postings(
        &spec.programme,
        spec.provider_id,
        assessment.subsidy,
        assessment.returned_to_budget,
    );
    let used_fen = assessment.subsidy.as_fen() + assessment.returned_to_budget.as_fen();
    let status_after = if assessment.remaining_after.is_positive() {
        VoucherStatus::Active
    } else {
        VoucherStatus::Redeemed
    };
    let record = RedemptionRecord {
        id: spec.redemption_id,
        voucher_id: spec.voucher_id,
        programme_code: spec.programme.clone(),
        provider_id: spec.provider_id,
        enterprise_id: gathered.holder.id,
        service_category: spec.service_category.clone(),
        contract_number: spec.contract_number.clone(),
        description: spec.description.clone(),
        contract_amount_fen: spec.contract_amount.as_fen(),
        subsidy_fen: assessment.subsidy.as_fen(),
        returned_fen: assessment.returned_to_budget.as_fen(),
        single_use: !gathered.facts.voucher.divisible,
        presentation_nonce: spec.shown.nonce().map(str::to_string),
        invoice: spec.invoice.as_ref().map(|invoice| InvoiceRecord {
            code: invoice.code.clone(),
            number: invoice.number.clone(),
            date: invoice.date.to_string(),
            amount_fen: invoice.amount.as_fen(),
        }),
        payment_proof_ref: spec.payment_proof_ref.clone(),
        fiscal_year: gathered.facts.today.year(),
        status: RedemptionStatus::Pending,
        voucher_issued_at_us: gathered.voucher.issued_at_us,
        voucher_face_value_fen: gathered.voucher.face_value_fen,
        redeemed_sequence: sequence,
        redeemed_at_us: now.as_micros(),
        rating: None,
        comment: None,
        confirmed_at_us: None,
        dispute_reason: None,
        resolution_note: None,
    };
    let body = pb::VoucherRedeemed {
        enterprise_id: gathered.holder.id.to_string(),
        subsidy_fen: assessment.subsidy.as_fen(),
        enterprise_share_fen: assessment.enterprise_share.as_fen(),
        returned_fen: assessment.returned_to_budget.as_fen(),
        remaining_after_fen: assessment.remaining_after.as_fen(),
        ..spec.body()
    };
    Ok(RedemptionPlan {
        postings,
        record,
        body,
        used_fen,
        status_after,
    })
}

/// The subsidy to the provider's payable; a single-use voucher's unused
/// value back to the budget. Both out of vouchers_outstanding.
pub fn postings(
    programme: &ProgrammeCode,
    provider_id: Uuid,
    subsidy: Fen,
    returned_to_budget: Fen,
) -> Vec<Posting> {
    let outstanding = Account::programme(AccountKind::VouchersOutstanding, programme)
        .expect("vouchers_outstanding is a programme-level account");
    let payable = Account::party(
        AccountKind::ProviderPayable,
        programme,
        &provider_id.to_string(),
    )
    .expect("a UUID is a valid party");
    let mut postings = vec![
        Posting::debit(payable, subsidy),
        Posting::credit(outstanding.clone(), subsidy),
    ];
    if returned_to_budget.is_positive() {
        let available = Account::programme(AccountKind::BudgetAvailable, programme)
            .expect("budget_available is a programme-level account");
        postings.push(Posting::debit(available, returned_to_budget));
        postings.push(Posting::credit(outstanding, returned_to_budget));
    }
    postings
}

impl RedemptionPlan {
    pub fn summary(&self) -> RedemptionPlanSummary {
        RedemptionPlanSummary {
            voucher_id: self.record.voucher_id,
            provider_id: self.record.provider_id,
            enterprise_id: self.record.enterprise_id,
            programme_code: self.record.programme_code.to_string(),
            fiscal_year: self.record.fiscal_year,
            subsidy_fen: self.record.subsidy_fen,
            used_fen: self.used_fen,
            status_after: self.status_after,
            nonce: self.record.presentation_nonce.clone(),
        }
    }
}

impl RedemptionPlan {
    /// The entry body, the row to insert and what the voucher gives: the
    /// batch's cache writes rows and guarded updates together before the
    /// batch commits (`RedemptionCache::flush`).
    pub fn into_parts(self) -> (EntryBody, RedemptionRecord, VoucherUse) {
        let used = VoucherUse {
            voucher_id: self.record.voucher_id,
            used_fen: self.used_fen,
            status: self.status_after,
            updated_at_us: self.record.redeemed_at_us,
        };
        (EntryBody::VoucherRedeemed(self.body), self.record, used)
    }
}

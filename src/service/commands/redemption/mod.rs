//! The redemption family: a provider redeems a voucher against a contract;
//! the redemption is then confirmed, disputed, resolved or reversed, gets
//! its documents, and — where fraud is found — its paid subsidy recovered.

pub mod cache;
mod decide;
pub mod facts;
mod hold;
pub mod plan;
mod recovery;

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::{
    DESCRIPTION_LEN_MAX, Draft, InvalidCommand, REFERENCE_LEN_MAX, TAG_LEN_MAX, TEXT_LEN_MAX,
    ToDraft, check_text,
};
use crate::domain::redemption::RedemptionAction;
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::body::{EntryBody, pb};

/// A provider records a service contract against a voucher: every
/// redemption rule is checked under the lock, the subsidy moves from
/// vouchers_outstanding to the provider's payable, a single-use voucher's
/// unused value back to the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedeemSpec {
    /// Generated per request: not part of what was asked.
    #[serde(skip)]
    pub redemption_id: Uuid,
    pub voucher_id: Uuid,
    pub programme: ProgrammeCode,
    pub provider_id: Uuid,
    pub shown: ShownToken,
    pub service_category: String,
    pub contract_number: String,
    pub description: String,
    pub contract_amount: Fen,
    pub invoice: Option<InvoiceSpec>,
    pub payment_proof_ref: Option<String>,
}

impl ToDraft for RedeemSpec {
    /// The postings depend on the voucher's remaining value, read under the
    /// lock: service::redemption plans them.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_contract(&self.service_category, self.contract_amount)?;
        check_text(
            "contract_number",
            &self.contract_number,
            REFERENCE_LEN_MAX,
            true,
        )?;
        check_text("description", &self.description, DESCRIPTION_LEN_MAX, true)?;
        if let Some(reference) = &self.payment_proof_ref {
            check_text("payment_proof_ref", reference, REFERENCE_LEN_MAX, true)?;
        }
        if let Some(invoice) = &self.invoice {
            invoice.check()?;
        }
        Ok(Draft::without_postings(EntryBody::VoucherRedeemed(
            self.body(),
        )))
    }
}

impl RedeemSpec {
    /// The entry body as far as the request fixes it; the amounts are
    /// decided under the lock.
    pub fn body(&self) -> pb::VoucherRedeemed {
        pb::VoucherRedeemed {
            redemption_id: self.redemption_id.to_string(),
            voucher_id: self.voucher_id.to_string(),
            programme_code: self.programme.to_string(),
            provider_id: self.provider_id.to_string(),
            service_category: self.service_category.clone(),
            contract_number: self.contract_number.clone(),
            description: self.description.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            presentation_nonce: self.shown.nonce().unwrap_or_default().to_string(),
            invoice: self.invoice.as_ref().map(InvoiceSpec::body),
            payment_proof_ref: self.payment_proof_ref.clone().unwrap_or_default(),
            ..pb::VoucherRedeemed::default()
        }
    }
}

/// A provider's preview of a fresh presentation holds the voucher for it
/// for the programme's hold window (docs/redemption-lifecycle.md "Holds"):
/// every redemption rule is checked for this contract first, as a preview
/// would; nobody else may hold or redeem the voucher meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldVoucher {
    pub voucher_id: Uuid,
    pub programme: ProgrammeCode,
    pub provider_id: Uuid,
    /// Hex nonce of the fresh presentation shown.
    pub nonce_hex: String,
    pub service_category: String,
    pub contract_amount: Fen,
}

impl ToDraft for HoldVoucher {
    /// The expiry is decided under the lock (now + the hold window).
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_contract(&self.service_category, self.contract_amount)?;
        Ok(Draft::without_postings(EntryBody::VoucherHeld(
            pb::VoucherHeld {
                voucher_id: self.voucher_id.to_string(),
                programme_code: self.programme.to_string(),
                provider_id: self.provider_id.to_string(),
                presentation_nonce: self.nonce_hex.clone(),
                ..pb::VoucherHeld::default()
            },
        )))
    }
}

/// The provider lets its live hold on a voucher go (the clerk cancelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseHold {
    pub voucher_id: Uuid,
    pub provider_id: Uuid,
}

impl ToDraft for ReleaseHold {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::VoucherHoldReleased(
            pb::VoucherHoldReleased {
                voucher_id: self.voucher_id.to_string(),
                provider_id: self.provider_id.to_string(),
            },
        )))
    }
}

/// What a redemption (or a hold for one) asks of its contract: a service
/// category and a positive amount.
fn check_contract(service_category: &str, amount: Fen) -> Result<(), InvalidCommand> {
    if !amount.is_positive() {
        return Err(InvalidCommand::NonPositiveAmount);
    }
    check_text("service_category", service_category, TAG_LEN_MAX, true)
}

/// How the voucher was shown at the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ShownToken {
    /// The voucher's own (printed) token.
    Static,
    /// A rotating presentation, by its nonce (hex): usable once.
    Presentation { nonce_hex: String },
    /// A presentation no longer fresh, shown by the provider that holds
    /// the voucher with it (docs/redemption-lifecycle.md "Holds"): accepted
    /// while that hold is live.
    Held { nonce_hex: String },
}

impl ShownToken {
    /// The presentation's nonce, if a presentation was shown.
    pub fn nonce(&self) -> Option<&str> {
        match self {
            ShownToken::Static => None,
            ShownToken::Presentation { nonce_hex } | ShownToken::Held { nonce_hex } => {
                Some(nonce_hex)
            }
        }
    }
}

/// A VAT invoice from the provider to the enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceSpec {
    pub code: String,
    pub number: String,
    pub date: NaiveDate,
    pub amount: Fen,
}

impl InvoiceSpec {
    fn check(&self) -> Result<(), InvalidCommand> {
        // A fully digital invoice (数电票) has no code (domain::invoice).
        check_text("invoice_code", &self.code, REFERENCE_LEN_MAX, false)?;
        check_text("invoice_number", &self.number, REFERENCE_LEN_MAX, true)?;
        if !self.amount.is_positive() {
            return Err(InvalidCommand::NonPositiveAmount);
        }
        Ok(())
    }

    pub fn body(&self) -> pb::Invoice {
        pb::Invoice {
            code: self.code.clone(),
            number: self.number.clone(),
            date: self.date.to_string(),
            amount_fen: self.amount.as_fen(),
        }
    }
}

/// Who changes a redemption: the checks under the lock depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangedBy {
    /// The enterprise that holds the voucher.
    Enterprise(Uuid),
    /// The provider that recorded the redemption.
    Provider(Uuid),
    /// The bureau's admin.
    Admin,
    /// The scheduled auto-confirm sweep.
    Sweep,
}

/// Confirm, dispute, resolve or reverse a recorded redemption; a
/// reversal's postings are planned under the lock (`decide.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedemptionChange {
    pub redemption_id: Uuid,
    pub by: ChangedBy,
    pub action: RedemptionAction,
    /// The enterprise's 1–5 rating, with a confirmation.
    pub rating: Option<u8>,
    /// A confirmation's comment (may be empty), or the reason of a dispute,
    /// a reversal or a resolution (required).
    pub text: String,
}

impl ToDraft for RedemptionChange {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if self.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(InvalidCommand::Rating);
        }
        let required = self.action != RedemptionAction::Confirm;
        check_text("reason", &self.text, TEXT_LEN_MAX, required)?;
        Ok(Draft::without_postings(self.body()))
    }
}

impl RedemptionChange {
    /// The entry body as far as the request fixes it (a reversal's amounts
    /// are decided under the lock).
    pub fn body(&self) -> EntryBody {
        let id = self.redemption_id.to_string();
        match self.action {
            RedemptionAction::Confirm => EntryBody::RedemptionConfirmed(pb::RedemptionConfirmed {
                redemption_id: id,
                rating: self.rating.map_or(0, i32::from),
                comment: self.text.clone(),
                auto: self.by == ChangedBy::Sweep,
            }),
            RedemptionAction::Dispute => EntryBody::RedemptionDisputed(pb::RedemptionDisputed {
                redemption_id: id,
                reason: self.text.clone(),
            }),
            RedemptionAction::RejectDispute => {
                EntryBody::RedemptionDisputeRejected(pb::RedemptionDisputeRejected {
                    redemption_id: id,
                    note: self.text.clone(),
                })
            }
            RedemptionAction::Freeze => EntryBody::RedemptionFrozen(pb::RedemptionFrozen {
                redemption_id: id,
                reason: self.text.clone(),
            }),
            RedemptionAction::UpholdDispute | RedemptionAction::Reverse => {
                EntryBody::RedemptionReversed(pb::RedemptionReversed {
                    redemption_id: id,
                    reason: self.text.clone(),
                    dispute_upheld: self.action == RedemptionAction::UpholdDispute,
                    ..pb::RedemptionReversed::default()
                })
            }
        }
    }
}

/// Add or replace a redemption's invoice and/or payment proof reference
/// (by its provider, or its enterprise for the payment proof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachRedemptionDocuments {
    pub redemption_id: Uuid,
    pub by: ChangedBy,
    pub invoice: Option<InvoiceSpec>,
    pub payment_proof_ref: Option<String>,
}

impl ToDraft for AttachRedemptionDocuments {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if self.invoice.is_none() && self.payment_proof_ref.is_none() {
            return Err(InvalidCommand::Empty { field: "documents" });
        }
        if let Some(invoice) = &self.invoice {
            invoice.check()?;
        }
        if let Some(reference) = &self.payment_proof_ref {
            check_text("payment_proof_ref", reference, REFERENCE_LEN_MAX, true)?;
        }
        Ok(Draft::without_postings(
            EntryBody::RedemptionDocumentsAttached(documents_body(
                self.redemption_id,
                self.invoice.as_ref(),
                self.payment_proof_ref.as_deref(),
            )),
        ))
    }
}

/// The body of documents attached to a redemption.
pub fn documents_body(
    redemption_id: Uuid,
    invoice: Option<&InvoiceSpec>,
    payment_proof_ref: Option<&str>,
) -> pb::RedemptionDocuments {
    pb::RedemptionDocuments {
        redemption_id: redemption_id.to_string(),
        invoice: invoice.map(InvoiceSpec::body),
        payment_proof_ref: payment_proof_ref.unwrap_or_default().to_string(),
    }
}

/// Turn what a provider marked fraudulent has been paid from a programme
/// into a recovery receivable (追回); the amount is the provider's `paid`
/// balance, read under the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenRecovery {
    pub programme: ProgrammeCode,
    pub provider_id: Uuid,
    pub reason: String,
}

impl ToDraft for OpenRecovery {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("reason", &self.reason, TEXT_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::RecoveryOpened(
            pb::RecoveryOpened {
                programme_code: self.programme.to_string(),
                provider_id: self.provider_id.to_string(),
                amount_fen: 0,
                reason: self.reason.clone(),
                redemption_id: String::new(),
            },
        )))
    }
}

/// Turn the paid subsidy of one settled redemption (of an enterprise found
/// fraudulent) into its provider's recovery receivable, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoverRedemption {
    pub redemption_id: Uuid,
    pub reason: String,
}

impl ToDraft for RecoverRedemption {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("reason", &self.reason, TEXT_LEN_MAX, true)?;
        Ok(Draft::without_postings(EntryBody::RecoveryOpened(
            pb::RecoveryOpened {
                redemption_id: self.redemption_id.to_string(),
                reason: self.reason.clone(),
                ..pb::RecoveryOpened::default()
            },
        )))
    }
}

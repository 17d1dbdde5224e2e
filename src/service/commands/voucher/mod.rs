//! The voucher family: issue (claim or allocation), reissue under a new
//! key, and withdraw (expiry or revocation).

mod decide;
pub mod issue;

use serde::Serialize;
use uuid::Uuid;

use super::{Draft, InvalidCommand, TEXT_LEN_MAX, ToDraft, check_text};
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;

/// Issue a voucher of `face_value` from a programme to an enterprise:
/// eligibility and caps are re-checked under the lock, the face value
/// moves from budget_available to vouchers_outstanding (refused with
/// `BudgetExhausted` if the budget does not cover it), and the active
/// issuer key signs it with the entry's sequence number inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueVoucher {
    /// Generated per request: not part of what was asked.
    #[serde(skip)]
    pub voucher_id: Uuid,
    pub programme: ProgrammeCode,
    pub enterprise_id: Uuid,
    pub face_value: Fen,
    pub via: IssueVia,
}

impl ToDraft for IssueVoucher {
    /// The voucher's dates, categories, key and signature are only known
    /// under the lock: its `Decide` (`decide.rs`) writes the final body.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if !self.face_value.is_positive() {
            return Err(InvalidCommand::NonPositiveAmount);
        }
        let outstanding = Account::programme(AccountKind::VouchersOutstanding, &self.programme)
            .expect("vouchers_outstanding is a programme-level account");
        let available = Account::programme(AccountKind::BudgetAvailable, &self.programme)
            .expect("budget_available is a programme-level account");
        Ok(Draft {
            body: EntryBody::VoucherIssued(pb::VoucherIssued {
                voucher_id: self.voucher_id.to_string(),
                programme_code: self.programme.to_string(),
                enterprise_id: self.enterprise_id.to_string(),
                face_value_fen: self.face_value.as_fen(),
                via: self.via.as_str().to_string(),
                ..pb::VoucherIssued::default()
            }),
            postings: vec![
                Posting::debit(outstanding, self.face_value),
                Posting::credit(available, self.face_value),
            ],
        })
    }
}

/// How a voucher came to be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IssueVia {
    /// The enterprise claimed it (the claim window applies).
    Claim,
    /// The admin allocated it (every rule but the claim window applies).
    Allocation,
}

impl IssueVia {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueVia::Claim => "claim",
            IssueVia::Allocation => "allocation",
        }
    }
}

/// Replace an active voucher signed by a revoked key with one signed by
/// the active key: same enterprise, value and validity; no money moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReissueVoucher {
    pub voucher_id: Uuid,
    #[serde(skip)]
    pub new_voucher_id: Uuid,
}

impl ToDraft for ReissueVoucher {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::VoucherReissued(
            pb::VoucherIssued {
                voucher_id: self.new_voucher_id.to_string(),
                replaces_voucher_id: self.voucher_id.to_string(),
                via: "reissue".into(),
                ..pb::VoucherIssued::default()
            },
        )))
    }
}

/// Expire (the sweep, `revoke_reason` None) or revoke (the admin) an
/// active voucher: its remaining value goes back to the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawVoucher {
    pub voucher_id: Uuid,
    pub revoke_reason: Option<String>,
}

impl ToDraft for WithdrawVoucher {
    /// The postings depend on what is left on the voucher:
    /// its `Decide` plans them under the lock.
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if let Some(reason) = &self.revoke_reason {
            check_text("reason", reason, TEXT_LEN_MAX, true)?;
        }
        let withdrawn = pb::VoucherWithdrawn {
            voucher_id: self.voucher_id.to_string(),
            reason: self.revoke_reason.clone().unwrap_or_default(),
            ..pb::VoucherWithdrawn::default()
        };
        Ok(Draft::without_postings(match self.revoke_reason {
            Some(_) => EntryBody::VoucherRevoked(withdrawn),
            None => EntryBody::VoucherExpired(withdrawn),
        }))
    }
}

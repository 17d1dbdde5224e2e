//! Voucher commands under the lock: issue (every rule, then the budget),
//! reissue under the active key, withdraw (expiry or revocation: what is
//! left goes back to the budget).

use crate::domain::Fen;
use crate::domain::status::VoucherStatus;
use crate::ledger::account::AccountKind;
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::WriteTx;
use crate::store::redemption::VoucherValueUpdate;

use super::super::Draft;
use super::super::guarded::{GuardedChange, programme_account};
use super::issue::{self, IssueContext, IssueRequest};
use super::{IssueVoucher, ReissueVoucher, WithdrawVoucher};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};

impl Decide for IssueVoucher {
    /// A voucher issue that the budget cannot cover is refused — but only
    /// after its own rules, so a claimant of a closed programme, or one who
    /// is not eligible, is told that rather than "budget exhausted".
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = match at.check(tx, draft.postings).await {
            Err(Failure::Rule(CommandError::InsufficientBalance { .. })) => None,
            Err(failure) => return Err(failure),
            Ok(checked) => Some(checked),
        };
        let context = IssueContext {
            now: at.now,
            sequence: at.sequence,
            issuer_keys: at.issuer_keys,
            budget_exhausted: checked.is_none(),
        };
        let request = IssueRequest {
            voucher_id: self.voucher_id,
            programme: &self.programme,
            enterprise_id: self.enterprise_id,
            face_value: self.face_value,
            via: self.via,
        };
        let body = issue::issue(tx, &mut at.prefetched.issuance, &request, &context).await?;
        let Some(checked) = checked else {
            // The issue must have refused; never append past a floor.
            crate::invariant::broken("issue_voucher wrote a voucher the budget cannot cover");
        };
        Ok(Decided::new(body, checked))
    }
}

impl Decide for ReissueVoucher {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let context = IssueContext {
            now: at.now,
            sequence: at.sequence,
            issuer_keys: at.issuer_keys,
            budget_exhausted: false,
        };
        let body = issue::reissue(
            tx,
            &mut at.prefetched.issuance,
            self.voucher_id,
            self.new_voucher_id,
            &context,
        )
        .await?;
        Ok(Decided::new(body, checked))
    }
}

impl Decide for WithdrawVoucher {
    /// Plans the withdrawal from the voucher as it stands (an expiry only
    /// after its last valid day), then writes it with a guarded update.
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        let voucher = crate::store::voucher::VoucherTx::voucher(tx, self.voucher_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        if voucher.status != VoucherStatus::Active {
            return Err(CommandError::VoucherState {
                status: voucher.status,
            }
            .into());
        }
        let revoke_reason = self.revoke_reason.as_deref();
        let to_status = match revoke_reason {
            Some(_) => VoucherStatus::Revoked,
            None => {
                if voucher.valid_until >= at.now.cst_date() {
                    return Err(CommandError::VoucherNotExpired {
                        valid_until: voucher.valid_until.to_string(),
                    }
                    .into());
                }
                VoucherStatus::Expired
            }
        };
        let remaining = Fen::new(voucher.remaining_fen);
        let postings = if remaining.is_positive() {
            vec![
                Posting::debit(
                    programme_account(AccountKind::BudgetAvailable, &voucher.programme_code),
                    remaining,
                ),
                Posting::credit(
                    programme_account(AccountKind::VouchersOutstanding, &voucher.programme_code),
                    remaining,
                ),
            ]
        } else {
            Vec::new()
        };
        let withdrawn = pb::VoucherWithdrawn {
            voucher_id: voucher.id.to_string(),
            programme_code: voucher.programme_code.to_string(),
            remaining_fen: voucher.remaining_fen,
            reason: revoke_reason.unwrap_or_default().to_string(),
        };
        GuardedChange {
            postings,
            body: match revoke_reason {
                Some(_) => EntryBody::VoucherRevoked(withdrawn),
                None => EntryBody::VoucherExpired(withdrawn),
            },
            redemption: None,
            release_line: None,
            recovered: None,
            voucher: Some(VoucherValueUpdate {
                id: voucher.id,
                from_status: voucher.status,
                from_remaining_fen: voucher.remaining_fen,
                to_status,
                to_remaining_fen: 0,
                updated_at_us: at.now_us(),
            }),
        }
        .decide(tx, at)
        .await
    }
}

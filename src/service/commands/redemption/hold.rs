//! Holds under the lock (docs/redemption-lifecycle.md "Holds"): a hold is
//! placed only where the redemption it prepares could go ahead now — every
//! rule judged on the facts a redemption gathers, for the contract being
//! previewed — and released only by the provider that holds it.

use crate::domain::redemption::{Contract, assess};
use crate::ledger::body::{EntryBody, pb};
use crate::store::WriteTx;
use crate::store::hold::{HoldRecord, HoldTx};

use super::super::Draft;
use super::cache::BatchReads;
use super::facts::gather;
use super::{HoldVoucher, ReleaseHold, ShownToken};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::CommandError;

/// Microseconds in a minute.
const MINUTE_US: i64 = 60_000_000;

impl Decide for HoldVoucher {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        // The voucher may have been issued earlier in this batch.
        at.prefetched.issuance.flush(tx).await?;
        let shown = ShownToken::Presentation {
            nonce_hex: self.nonce_hex.clone(),
        };
        let reads = &mut BatchReads {
            tx: &mut *tx,
            cache: &mut at.prefetched.redemptions,
        };
        let live = HoldTx::hold_of(&mut *reads.tx, self.voucher_id)
            .await?
            .filter(|hold| hold.live_at(at.now.as_micros()));
        if live.as_ref().is_some_and(|hold| {
            hold.provider_id == self.provider_id && hold.presentation_nonce == self.nonce_hex
        }) {
            // This very hold exists: a second preview of the same code.
            return Err(CommandError::Unchanged {
                id: self.voucher_id,
            }
            .into());
        }
        let gathered = gather(reads, self.voucher_id, self.provider_id, &shown, at.now).await?;
        if gathered.voucher.programme_code != self.programme {
            return Err(CommandError::NotFound.into());
        }
        let contract = Contract {
            category: self.service_category.clone(),
            amount: self.contract_amount,
        };
        let assessment = assess(&gathered.facts, &contract);
        if !assessment.allowed() {
            return Err(CommandError::NotRedeemable {
                refusals: assessment.refusals,
            }
            .into());
        }
        let expires_at_us = at.now.as_micros() + i64::from(gathered.hold_minutes) * MINUTE_US;
        let hold = HoldRecord {
            presentation_nonce: self.nonce_hex.clone(),
            voucher_id: self.voucher_id,
            provider_id: self.provider_id,
            expires_at_us,
            held_sequence: at.sequence,
            ended_sequence: None,
        };
        tx.insert_hold(&hold).await?;
        // Redemptions later in this batch read the batch's cache: they
        // must see this hold.
        at.prefetched.redemptions.remember_hold(&hold);
        let body = EntryBody::VoucherHeld(pb::VoucherHeld {
            voucher_id: self.voucher_id.to_string(),
            programme_code: self.programme.to_string(),
            provider_id: self.provider_id.to_string(),
            presentation_nonce: self.nonce_hex.clone(),
            expires_at_us,
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for ReleaseHold {
    /// Only a live hold of this provider is released; anything else is
    /// `NotFound`.
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let mine = HoldTx::hold_of(tx, self.voucher_id)
            .await?
            .is_some_and(|hold| {
                hold.provider_id == self.provider_id && hold.live_at(at.now.as_micros())
            });
        if !mine {
            return Err(CommandError::NotFound.into());
        }
        tx.end_holds(self.voucher_id, Some(self.provider_id), at.sequence)
            .await?;
        Ok(Decided::new(draft.body, checked))
    }
}

//! Replaying holds: each hold as the `voucher_held`, `voucher_hold_released`
//! and `voucher_redeemed` entries leave it. `verify` compares this with the
//! `voucher_holds` table, so a hold planted, stretched or ended behind the
//! writer's back is found. Pure: entries in, states out.

use std::collections::HashMap;

use super::body::EntryBody;

/// A hold as the entries leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldState {
    pub voucher_id: String,
    pub provider_id: String,
    pub expires_at_us: i64,
    pub held_sequence: u64,
    pub ended_sequence: Option<u64>,
}

/// Every hold, by the nonce of the presentation it was placed with.
#[derive(Debug, Default)]
pub struct HoldReplay {
    pub holds: HashMap<String, HoldState>,
}

impl HoldReplay {
    /// Applies the entry at `sequence` (other kinds change nothing here).
    pub fn apply(&mut self, sequence: u64, body: &EntryBody) -> Result<(), String> {
        match body {
            EntryBody::VoucherHeld(held) => {
                let state = HoldState {
                    voucher_id: held.voucher_id.clone(),
                    provider_id: held.provider_id.clone(),
                    expires_at_us: held.expires_at_us,
                    held_sequence: sequence,
                    ended_sequence: None,
                };
                if self
                    .holds
                    .insert(held.presentation_nonce.clone(), state)
                    .is_some()
                {
                    return Err(format!(
                        "presentation {} held a voucher twice",
                        held.presentation_nonce
                    ));
                }
            }
            EntryBody::VoucherHoldReleased(released) => {
                self.end(sequence, &released.voucher_id, Some(&released.provider_id))
            }
            EntryBody::VoucherRedeemed(redeemed) => self.end(sequence, &redeemed.voucher_id, None),
            _ => {}
        }
        Ok(())
    }

    /// Ends the voucher's open holds (of `provider` only, if given), as the
    /// writer does.
    fn end(&mut self, sequence: u64, voucher_id: &str, provider: Option<&str>) {
        for hold in self.holds.values_mut() {
            if hold.voucher_id == voucher_id
                && hold.ended_sequence.is_none()
                && provider.is_none_or(|p| p == hold.provider_id)
            {
                hold.ended_sequence = Some(sequence);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::body::pb;

    fn held(nonce: &str, voucher: &str, provider: &str) -> EntryBody {
        EntryBody::VoucherHeld(pb::VoucherHeld {
            voucher_id: voucher.into(),
            provider_id: provider.into(),
            presentation_nonce: nonce.into(),
            expires_at_us: 1_000,
            ..pb::VoucherHeld::default()
        })
    }

    #[test]
    fn holds_end_by_release_or_redemption_and_a_presentation_holds_once() {
        let mut replay = HoldReplay::default();
        replay.apply(1, &held("n1", "v", "p")).unwrap();
        replay
            .apply(
                2,
                &EntryBody::VoucherHoldReleased(pb::VoucherHoldReleased {
                    voucher_id: "v".into(),
                    provider_id: "q".into(),
                }),
            )
            .unwrap();
        assert_eq!(replay.holds["n1"].ended_sequence, None, "not q's hold");
        replay.apply(3, &held("n2", "v", "q")).unwrap();
        replay
            .apply(
                4,
                &EntryBody::VoucherRedeemed(pb::VoucherRedeemed {
                    voucher_id: "v".into(),
                    ..pb::VoucherRedeemed::default()
                }),
            )
            .unwrap();
        assert_eq!(replay.holds["n1"].ended_sequence, Some(4));
        assert_eq!(replay.holds["n2"].ended_sequence, Some(4));
        assert_eq!(replay.holds["n2"].held_sequence, 3);
        assert!(replay.apply(5, &held("n1", "w", "p")).is_err());
    }
}

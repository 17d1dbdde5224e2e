//! Replaying voucher and redemption entries: each voucher's status and
//! remaining value, and each redemption's status, as the ledger's entries
//! alone say they are. `verify` compares this with the `vouchers` and
//! `redemptions` tables, so a row changed behind the writer's back is found
//! even when every hash still holds. Pure: entries in, states out.

use std::collections::HashMap;

use super::body::EntryBody;

/// A voucher as the entries leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherState {
    pub status: String,
    pub remaining_fen: i64,
}

/// What the entries say about vouchers and redemptions.
#[derive(Debug, Default)]
pub struct VoucherReplay {
    pub vouchers: HashMap<String, VoucherState>,
    pub redemptions: HashMap<String, String>,
    /// Redemption id → (voucher id, subsidy), for reversals.
    redeemed: HashMap<String, (String, i64)>,
}

impl VoucherReplay {
    /// Applies one entry's body (other kinds change nothing here). A body
    /// naming an unknown voucher or redemption is reported.
    pub fn apply(&mut self, body: &EntryBody) -> Result<(), String> {
        match body {
            EntryBody::VoucherIssued(issued) | EntryBody::VoucherReissued(issued) => {
                if !issued.replaces_voucher_id.is_empty() {
                    self.voucher(&issued.replaces_voucher_id)?.status = "reissued".into();
                }
                self.vouchers.insert(
                    issued.voucher_id.clone(),
                    VoucherState {
                        status: "active".into(),
                        remaining_fen: issued.remaining_fen,
                    },
                );
            }
            EntryBody::VoucherRedeemed(redeemed) => {
                let voucher = self.voucher(&redeemed.voucher_id)?;
                voucher.remaining_fen = redeemed.remaining_after_fen;
                voucher.status = if redeemed.remaining_after_fen > 0 {
                    "active"
                } else {
                    "redeemed"
                }
                .into();
                self.redemptions
                    .insert(redeemed.redemption_id.clone(), "pending".into());
                self.redeemed.insert(
                    redeemed.redemption_id.clone(),
                    (redeemed.voucher_id.clone(), redeemed.subsidy_fen),
                );
            }
            EntryBody::RedemptionConfirmed(body) => self.set(&body.redemption_id, "confirmed")?,
            EntryBody::RedemptionDisputeRejected(body) => {
                self.set(&body.redemption_id, "confirmed")?
            }
            EntryBody::RedemptionDisputed(body) => self.set(&body.redemption_id, "disputed")?,
            EntryBody::RedemptionFrozen(body) => self.set(&body.redemption_id, "frozen")?,
            EntryBody::RedemptionReversed(body) => {
                self.set(&body.redemption_id, "reversed")?;
                if body.returned_to == "voucher" {
                    let voucher = self.voucher(&body.voucher_id)?;
                    voucher.remaining_fen += body.subsidy_fen;
                    voucher.status = "active".into();
                }
            }
            EntryBody::VoucherExpired(body) => self.withdraw(&body.voucher_id, "expired")?,
            EntryBody::VoucherRevoked(body) => self.withdraw(&body.voucher_id, "revoked")?,
            _ => {}
        }
        Ok(())
    }

    fn voucher(&mut self, id: &str) -> Result<&mut VoucherState, String> {
        self.vouchers
            .get_mut(id)
            .ok_or_else(|| format!("an entry names voucher {id}, which no entry issued"))
    }

    fn set(&mut self, redemption: &str, status: &str) -> Result<(), String> {
        let slot = self.redemptions.get_mut(redemption).ok_or_else(|| {
            format!("an entry names redemption {redemption}, which no entry recorded")
        })?;
        *slot = status.to_string();
        Ok(())
    }

    fn withdraw(&mut self, voucher: &str, status: &str) -> Result<(), String> {
        let state = self.voucher(voucher)?;
        state.status = status.to_string();
        state.remaining_fen = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::body::pb;

    fn issued(id: &str, fen: i64) -> EntryBody {
        EntryBody::VoucherIssued(pb::VoucherIssued {
            voucher_id: id.into(),
            face_value_fen: fen,
            remaining_fen: fen,
            ..pb::VoucherIssued::default()
        })
    }

    fn redeemed(redemption: &str, voucher: &str, subsidy: i64, after: i64) -> EntryBody {
        EntryBody::VoucherRedeemed(pb::VoucherRedeemed {
            redemption_id: redemption.into(),
            voucher_id: voucher.into(),
            subsidy_fen: subsidy,
            remaining_after_fen: after,
            ..pb::VoucherRedeemed::default()
        })
    }

    #[test]
    fn a_lifecycle_replays_to_the_states_the_tables_should_hold() {
        let mut replay = VoucherReplay::default();
        let steps = [
            issued("v1", 1_000),
            redeemed("r1", "v1", 300, 700),
            EntryBody::RedemptionDisputed(pb::RedemptionDisputed {
                redemption_id: "r1".into(),
                reason: "x".into(),
            }),
            EntryBody::RedemptionReversed(pb::RedemptionReversed {
                redemption_id: "r1".into(),
                voucher_id: "v1".into(),
                subsidy_fen: 300,
                returned_to: "voucher".into(),
                ..pb::RedemptionReversed::default()
            }),
            redeemed("r2", "v1", 1_000, 0),
            EntryBody::RedemptionConfirmed(pb::RedemptionConfirmed {
                redemption_id: "r2".into(),
                ..pb::RedemptionConfirmed::default()
            }),
            issued("v2", 500),
            EntryBody::VoucherExpired(pb::VoucherWithdrawn {
                voucher_id: "v2".into(),
                ..pb::VoucherWithdrawn::default()
            }),
        ];
        for step in &steps {
            replay.apply(step).unwrap();
        }
        let state = |id: &str| replay.vouchers[id].clone();
        assert_eq!(
            state("v1"),
            VoucherState {
                status: "redeemed".into(),
                remaining_fen: 0
            }
        );
        assert_eq!(state("v2").status, "expired");
        assert_eq!(replay.redemptions["r1"], "reversed");
        assert_eq!(replay.redemptions["r2"], "confirmed");
    }

    #[test]
    fn an_entry_about_an_unknown_voucher_is_reported() {
        let mut replay = VoucherReplay::default();
        assert!(replay.apply(&redeemed("r1", "nowhere", 1, 0)).is_err());
    }
}

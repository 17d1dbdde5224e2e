//! Offline acceptance rules (docs/redemption-lifecycle.md "Offline"): what a
//! programme lets a provider's device accept without the network, how old
//! its status list may be, and what a sync decides when the voucher's value
//! is already gone. Pure: the caller gathers the facts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Fen;
use super::eligibility::Check;
use super::status::VoucherStatus;

/// How long a device may go on a status list when the programme does not
/// say: the EU DCC verifiers' 24 hours.
pub const LIST_MAX_AGE_MINUTES_DEFAULT: u32 = 24 * 60;
/// The longest a programme may allow: a week.
pub const LIST_MAX_AGE_MINUTES_MAX: u32 = 7 * 24 * 60;
/// A list dated this far after the acceptance is a clock problem, not
/// freshness.
pub const LIST_CLOCK_SKEW_US: i64 = 5 * 60 * 1_000_000;

/// What a programme lets providers accept offline. Zero caps: offline
/// acceptance is off (terms written before offline redemption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineTerms {
    /// Most subsidy one device may accept offline on one voucher between
    /// syncs (under one status list).
    pub voucher_cap_fen: i64,
    /// Most subsidy one device may accept offline between syncs.
    pub device_cap_fen: i64,
    /// Most acceptances one device may make offline between syncs.
    pub device_cap_count: u32,
    /// A device refuses (and the server does not credit) acceptances made
    /// on a status list older than this many minutes (1–10080; default
    /// 1440, a day).
    #[serde(default = "default_list_max_age_minutes")]
    pub list_max_age_minutes: u32,
}

fn default_list_max_age_minutes() -> u32 {
    LIST_MAX_AGE_MINUTES_DEFAULT
}

impl Default for OfflineTerms {
    fn default() -> Self {
        OfflineTerms {
            voucher_cap_fen: 0,
            device_cap_fen: 0,
            device_cap_count: 0,
            list_max_age_minutes: LIST_MAX_AGE_MINUTES_DEFAULT,
        }
    }
}

impl OfflineTerms {
    /// Whether devices may accept this programme's vouchers offline.
    pub fn allowed(&self) -> bool {
        self.voucher_cap_fen > 0
    }

    /// Terms that never mention offline serialise as before.
    pub fn is_off(&self) -> bool {
        *self == OfflineTerms::default()
    }

    /// Problems with these terms, as (English, Chinese).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut problems = Vec::new();
        if self.voucher_cap_fen < 0 || self.device_cap_fen < 0 {
            problems.push(("Offline caps are not negative.", "离线限额不能为负数。"));
        }
        if self.allowed() && (self.device_cap_fen <= 0 || self.device_cap_count == 0) {
            problems.push((
                "With offline acceptance on, the per-device caps (value and count) must be positive.",
                "启用离线受理时，每台设备的金额和笔数上限须大于零。",
            ));
        }
        if !(1..=LIST_MAX_AGE_MINUTES_MAX).contains(&self.list_max_age_minutes) {
            problems.push((
                "A status list may be 1 to 10080 minutes (a week) old.",
                "状态清单有效期须为 1 至 10080 分钟（一周）。",
            ));
        }
        problems
    }
}

/// What one device has already accepted under one status list (from the
/// records already synced), to check the caps against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceUse {
    pub count: u32,
    pub subsidy: Fen,
    /// Of `subsidy`, on this acceptance's voucher.
    pub on_voucher: Fen,
}

/// Which cap an acceptance of `subsidy` breaks, if any.
pub fn cap_breach(terms: &OfflineTerms, used: DeviceUse, subsidy: Fen) -> Option<&'static str> {
    if !terms.allowed() {
        Some("offline_not_allowed")
    } else if used.on_voucher.as_fen().saturating_add(subsidy.as_fen()) > terms.voucher_cap_fen {
        Some("offline_voucher_cap_exceeded")
    } else if used.count.saturating_add(1) > terms.device_cap_count
        || used.subsidy.as_fen().saturating_add(subsidy.as_fen()) > terms.device_cap_fen
    {
        Some("offline_device_cap_exceeded")
    } else {
        None
    }
}

/// Whether a device held a fresh enough list when it accepted: published at
/// most `max_age_minutes` before the acceptance, and not (beyond clock
/// skew) after it.
pub fn list_fresh(published_at_us: i64, accepted_at_us: i64, max_age_minutes: u32) -> bool {
    let age = accepted_at_us - published_at_us;
    age >= -LIST_CLOCK_SKEW_US && age <= i64::from(max_age_minutes) * 60 * 1_000_000
}

/// What a sync does with an offline acceptance whose rules all passed:
/// the ledger's order decides (first recorded wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Pay `paid` (a redemption); `conflict` of the accepted subsidy could
    /// not be paid (a divisible voucher had less left).
    Redeem { paid: Fen, conflict: Fen },
    /// Nothing left to pay: an `offline_conflict`, recorded, never paid.
    Conflict { reason: &'static str },
}

/// The reason code of a partial payment's unpaid rest.
pub const VALUE_EXHAUSTED: &str = "voucher_value_exhausted";

/// Decides an accepted `claimed` subsidy against the voucher as the
/// ledger has it now.
pub fn settle(status: VoucherStatus, remaining: Fen, claimed: Fen) -> Settled {
    let reason = match status {
        VoucherStatus::Active if remaining.is_positive() => {
            let paid = Fen::new(claimed.as_fen().min(remaining.as_fen()));
            return Settled::Redeem {
                paid,
                conflict: Fen::new(claimed.as_fen() - paid.as_fen()),
            };
        }
        VoucherStatus::Active | VoucherStatus::Redeemed => "voucher_already_redeemed",
        VoucherStatus::Revoked => "voucher_revoked",
        VoucherStatus::Expired => "voucher_expired",
        VoucherStatus::Reissued => "voucher_reissued",
    };
    Settled::Conflict { reason }
}

/// An offline acceptance refused at sync, with its reason in both
/// languages (the codes of docs/redemption-lifecycle.md "Offline").
pub fn refusal(code: &'static str) -> Check {
    let (message, message_zh) = match code {
        "offline_device_unregistered" => (
            "The accepting device is not registered to this provider (or was registered after the acceptance).",
            "受理设备未登记在本服务机构名下（或登记晚于受理时间）。",
        ),
        "offline_record_synced" => (
            "This offline record was synced already.",
            "此离线受理记录已同步。",
        ),
        "presentation_already_used" => (
            "This presentation was accepted already.",
            "此出示码已被受理。",
        ),
        "holder_binding_invalid" => (
            "The presentation's device binding is not one the ledger recorded for this voucher.",
            "出示码中的设备绑定不是账本为此补贴券记录的绑定。",
        ),
        "holder_binding_superseded" => (
            "The holder re-bound the voucher to another device before this acceptance.",
            "受理前持券企业已将补贴券改绑到其他设备。",
        ),
        "offline_list_unknown" => (
            "The device named a status list that was never published.",
            "受理设备所用的状态清单不存在。",
        ),
        "offline_list_stale" => (
            "The device's status list was older than the programme allows when it accepted.",
            "受理时设备的状态清单已超过本项目允许的时限。",
        ),
        "voucher_on_status_list" => (
            "The device's own status list already showed the voucher as used or withdrawn.",
            "受理设备的状态清单已显示此补贴券已使用或已作废。",
        ),
        "offline_subsidy_mismatch" => (
            "The subsidy accepted is not the programme's share of the contract, or is more than the voucher had left by the device's list.",
            "受理的补贴金额与项目补贴比例不符，或超过设备清单显示的余额。",
        ),
        "offline_not_allowed" => (
            "This programme does not allow offline acceptance.",
            "本项目不允许离线受理。",
        ),
        "offline_voucher_cap_exceeded" => (
            "The acceptance passes the programme's offline cap per voucher.",
            "超过本项目单张补贴券的离线受理上限。",
        ),
        "offline_device_cap_exceeded" => (
            "The acceptance passes the programme's offline cap per device between syncs.",
            "超过本项目每台设备两次同步之间的离线受理上限。",
        ),
        _ => ("The offline acceptance was refused.", "离线受理被拒绝。"),
    };
    Check {
        code,
        passed: false,
        message: message.to_string(),
        message_zh: message_zh.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> OfflineTerms {
        OfflineTerms {
            voucher_cap_fen: 50_000,
            device_cap_fen: 100_000,
            device_cap_count: 3,
            list_max_age_minutes: 1440,
        }
    }

    #[test]
    fn caps_per_voucher_and_per_device() {
        let t = terms();
        let none = DeviceUse::default();
        assert_eq!(cap_breach(&t, none, Fen::new(50_000)), None);
        assert_eq!(
            cap_breach(&t, none, Fen::new(50_001)),
            Some("offline_voucher_cap_exceeded")
        );
        let used = DeviceUse {
            count: 2,
            subsidy: Fen::new(60_000),
            on_voucher: Fen::ZERO,
        };
        assert_eq!(cap_breach(&t, used, Fen::new(40_000)), None);
        assert_eq!(
            cap_breach(&t, used, Fen::new(40_001)),
            Some("offline_device_cap_exceeded")
        );
        let full = DeviceUse { count: 3, ..none };
        assert_eq!(
            cap_breach(&t, full, Fen::new(1)),
            Some("offline_device_cap_exceeded")
        );
        assert_eq!(
            cap_breach(&OfflineTerms::default(), none, Fen::new(1)),
            Some("offline_not_allowed")
        );
    }

    #[test]
    fn lists_are_fresh_for_their_age_and_not_from_the_future() {
        let hour = 3_600 * 1_000_000;
        assert!(list_fresh(0, 24 * hour, 1440));
        assert!(!list_fresh(0, 24 * hour + 1, 1440));
        assert!(list_fresh(LIST_CLOCK_SKEW_US, 0, 1440));
        assert!(!list_fresh(LIST_CLOCK_SKEW_US + 1, 0, 1440));
    }

    #[test]
    fn the_ledger_order_decides_what_is_paid() {
        assert_eq!(
            settle(VoucherStatus::Active, Fen::new(300), Fen::new(200)),
            Settled::Redeem {
                paid: Fen::new(200),
                conflict: Fen::ZERO
            }
        );
        assert_eq!(
            settle(VoucherStatus::Active, Fen::new(150), Fen::new(200)),
            Settled::Redeem {
                paid: Fen::new(150),
                conflict: Fen::new(50)
            }
        );
        for (status, reason) in [
            (VoucherStatus::Redeemed, "voucher_already_redeemed"),
            (VoucherStatus::Revoked, "voucher_revoked"),
            (VoucherStatus::Expired, "voucher_expired"),
            (VoucherStatus::Reissued, "voucher_reissued"),
        ] {
            assert_eq!(
                settle(status, Fen::new(100), Fen::new(50)),
                Settled::Conflict { reason }
            );
        }
        assert_eq!(
            settle(VoucherStatus::Active, Fen::ZERO, Fen::new(50)),
            Settled::Conflict {
                reason: "voucher_already_redeemed"
            }
        );
    }

    #[test]
    fn terms_are_checked() {
        assert!(OfflineTerms::default().problems().is_empty());
        assert!(terms().problems().is_empty());
        let no_device_cap = OfflineTerms {
            device_cap_count: 0,
            ..terms()
        };
        assert_eq!(no_device_cap.problems().len(), 1);
        let old = OfflineTerms {
            list_max_age_minutes: 10_081,
            ..terms()
        };
        assert_eq!(old.problems().len(), 1);
    }
}

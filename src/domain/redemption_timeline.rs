//! Where a redemption is on its way from the counter to the provider's
//! bank account, as four steps people recognise: 核销 → 企业确认 → 结算 →
//! 支付. Pure: the facts come from the redemption, its settlement line and
//! its payout.

use serde::Serialize;
use utoipa::ToSchema;

use super::status::{LineState, PayoutStatus, RedemptionStatus, RunStatus};

/// What is known about one redemption's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub status: RedemptionStatus,
    /// RFC 3339 instants (UTC+8), as the API shows them.
    pub redeemed_at: String,
    pub confirmed_at: Option<String>,
    /// Its settlement line, if it is in a run: the run's status, the line's
    /// state and when the run was approved.
    pub settlement: Option<(RunStatus, LineState, Option<String>)>,
    /// Its provider's payout in that run.
    pub payout: Option<PayoutStatus>,
}

/// done: happened; current: what is awaited now; waiting: later;
/// stopped: will not happen as things stand (disputed, frozen, reversed,
/// held, a failed payment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Done,
    Current,
    Waiting,
    Stopped,
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Step {
    /// redeemed, confirmed, settled or paid.
    pub step: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    pub state: StepState,
    /// When it happened, if it did and the time is known.
    pub at: Option<String>,
    /// A word on the state (e.g. 有异议, 已纳入批次待审批, 支付失败).
    pub note_zh: &'static str,
    pub note_en: &'static str,
}

fn step(
    step: &'static str,
    (label_zh, label_en): (&'static str, &'static str),
    state: StepState,
    at: Option<String>,
    (note_zh, note_en): (&'static str, &'static str),
) -> Step {
    Step {
        step,
        label_zh,
        label_en,
        state,
        at,
        note_zh,
        note_en,
    }
}

/// The four steps of `progress`, in order.
pub fn timeline(progress: &Progress) -> Vec<Step> {
    use StepState::*;
    let none = ("", "");
    let redeemed = step(
        "redeemed",
        ("核销", "Redeemed"),
        Done,
        Some(progress.redeemed_at.clone()),
        none,
    );
    let (confirm_state, confirm_note) = match progress.status {
        RedemptionStatus::Pending => (Current, ("待企业确认", "awaiting the enterprise")),
        RedemptionStatus::Confirmed => (Done, none),
        RedemptionStatus::Disputed => (Stopped, ("企业有异议", "disputed by the enterprise")),
        RedemptionStatus::Frozen => (Stopped, ("已冻结待核查", "frozen for review")),
        RedemptionStatus::Reversed => (
            Stopped,
            (
                "已撤销，金额退回服务券",
                "reversed; the amount went back to the voucher",
            ),
        ),
    };
    let confirmed = step(
        "confirmed",
        ("企业确认", "Confirmed"),
        confirm_state,
        progress.confirmed_at.clone(),
        confirm_note,
    );
    let settled_open = confirm_state == Done;
    let (settle_state, settle_at, settle_note) = match (&progress.settlement, settled_open) {
        (_, false) => (Waiting, None, none),
        (None, true) => (Current, None, ("待财政结算", "awaiting settlement")),
        (Some((_, LineState::Held, _)), true) => (
            Stopped,
            None,
            ("结算暂缓，待财政核实", "held in settlement for review"),
        ),
        (Some((_, LineState::Released, _)), true) => (
            Current,
            None,
            ("移出本批，待下一批结算", "released; waits for the next run"),
        ),
        (Some((RunStatus::Prepared, LineState::Included, _)), true) => (
            Current,
            None,
            ("已纳入结算批次，待审批", "in a run awaiting approval"),
        ),
        (Some((RunStatus::Approved, LineState::Included, at)), true) => (Done, at.clone(), none),
    };
    let settled = step(
        "settled",
        ("结算", "Settled"),
        settle_state,
        settle_at,
        settle_note,
    );
    let (pay_state, pay_note) = match (settle_state, progress.payout) {
        (Done, Some(PayoutStatus::Paid)) => (Done, none),
        (Done, Some(PayoutStatus::Failed)) => (
            Stopped,
            (
                "支付失败，财政将重新支付",
                "payment failed; finance will pay again",
            ),
        ),
        (Done, _) => (Current, ("待银行支付", "awaiting the bank")),
        _ => (Waiting, none),
    };
    let paid = step("paid", ("支付", "Paid"), pay_state, None, pay_note);
    vec![redeemed, confirmed, settled, paid]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(status: RedemptionStatus) -> Progress {
        Progress {
            status,
            redeemed_at: "2026-12-01T10:00:00+08:00".into(),
            confirmed_at: None,
            settlement: None,
            payout: None,
        }
    }

    fn states(p: &Progress) -> Vec<StepState> {
        timeline(p).iter().map(|s| s.state).collect()
    }

    #[test]
    fn each_stage_of_a_redemption_lights_its_steps() {
        use StepState::*;
        let mut p = progress(RedemptionStatus::Pending);
        assert_eq!(states(&p), [Done, Current, Waiting, Waiting]);
        p.status = RedemptionStatus::Confirmed;
        p.confirmed_at = Some("2026-12-02T09:00:00+08:00".into());
        assert_eq!(states(&p), [Done, Done, Current, Waiting]);
        p.settlement = Some((RunStatus::Prepared, LineState::Included, None));
        assert_eq!(states(&p), [Done, Done, Current, Waiting]);
        assert_eq!(timeline(&p)[2].note_zh, "已纳入结算批次，待审批");
        p.settlement = Some((
            RunStatus::Approved,
            LineState::Included,
            Some("2026-12-03T09:00:00+08:00".into()),
        ));
        p.payout = Some(PayoutStatus::Pending);
        assert_eq!(states(&p), [Done, Done, Done, Current]);
        assert_eq!(
            timeline(&p)[2].at.as_deref(),
            Some("2026-12-03T09:00:00+08:00")
        );
        p.payout = Some(PayoutStatus::Paid);
        assert_eq!(states(&p), [Done, Done, Done, Done]);
        p.payout = Some(PayoutStatus::Failed);
        assert_eq!(states(&p), [Done, Done, Done, Stopped]);
    }

    #[test]
    fn a_stopped_step_keeps_the_later_ones_waiting() {
        use StepState::*;
        for status in [
            RedemptionStatus::Disputed,
            RedemptionStatus::Frozen,
            RedemptionStatus::Reversed,
        ] {
            assert_eq!(
                states(&progress(status)),
                [Done, Stopped, Waiting, Waiting],
                "{status}"
            );
        }
        let mut held = progress(RedemptionStatus::Confirmed);
        held.settlement = Some((RunStatus::Prepared, LineState::Held, None));
        assert_eq!(states(&held), [Done, Done, Stopped, Waiting]);
        assert_eq!(
            timeline(&held).iter().map(|s| s.step).collect::<Vec<_>>(),
            ["redeemed", "confirmed", "settled", "paid"]
        );
    }
}

//! Settlement commands under the lock: each is planned from what the
//! ledger holds now (`prepare`, `plan`), its postings checked against the
//! batch's balances, then written.

use crate::store::WriteTx;

use super::super::Draft;
use super::{
    ApproveSettlement, PrepareSettlement, RecordPayouts, ResolveSettlementLine, plan, prepare,
};
use crate::service::engine::{Decide, Decided, Decides, Decision};

impl Decide for PrepareSettlement {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let preparation = prepare::plan_prepare(
            tx,
            &self.programme,
            &self.period,
            self.prepared_by,
            at.now,
            at.sequence,
        )
        .await?;
        let body = prepare::write_preparation(tx, preparation).await?;
        Ok(Decided::new(body, checked))
    }
}

impl Decide for ResolveSettlementLine {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        plan::plan_resolve(
            tx,
            self.run_id,
            self.redemption_id,
            &self.note,
            self.resolved_by,
            at.now,
            at.sequence,
        )
        .await?
        .decide(tx, at)
        .await
    }
}

impl Decide for ApproveSettlement {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        plan::plan_approve(tx, self.run_id, self.approved_by, at.sequence)
            .await?
            .decide(tx, at)
            .await
    }
}

impl Decide for RecordPayouts {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        plan::plan_payouts(tx, self.run_id, &self.results)
            .await?
            .decide(tx, at)
            .await
    }
}

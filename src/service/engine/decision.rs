//! The one way a command is decided under the chain-head lock: every
//! command implements [`Decide`] in its family's `decide.rs`, reading what
//! it needs through the batch's transaction and caches, checking its
//! postings against the batch's balances ([`Decision::check`]) and writing
//! its rows — every check (read) before the first write, so a command
//! refused for a rule leaves nothing behind and needs no savepoint.

use std::future::Future;

use crate::domain::Timestamp;
use crate::ledger::body::EntryBody;
use crate::ledger::posting::Posting;
use crate::store::redemption::RedemptionRecord;
use crate::store::{LedgerTx, WriteTx};

use super::super::commands::Draft;
use super::super::error::Failure;
use super::super::issuer_keyring::IssuerKeyring;
use super::balances::{Balances, Checked};
use super::prefetch::Prefetched;

/// What deciding a command gives: the decided entry, or why not.
pub type Decides = Result<Decided, Failure>;

/// A command decided under the lock.
pub trait Decide {
    /// Decides this command as entry `at.sequence` at `at.now`, given its
    /// draft (body and postings as far as the request fixes them).
    fn decide<T: WriteTx>(
        &self,
        tx: &mut T,
        at: &mut Decision<'_>,
        draft: Draft,
    ) -> impl Future<Output = Decides> + Send;
}

/// What a command decides with: the entry it would become and the batch
/// so far.
pub struct Decision<'a> {
    /// The entry's time.
    pub now: Timestamp,
    /// The entry's sequence number (vouchers carry it).
    pub sequence: u64,
    /// Private halves of the issuer keys, for signing vouchers.
    pub issuer_keys: &'a IssuerKeyring,
    /// The ledger key: status lists are signed with it.
    pub ledger_key: &'a crate::ledger::checkpoint::KeyPair,
    /// The personal data master key, when this writer has one.
    pub personal_key: Option<&'a crate::personal::sealed::MasterKey>,
    /// Rows the batch loaded up front, kept current as it writes.
    pub prefetched: &'a mut Prefetched,
    pub(super) balances: &'a mut Balances,
}

impl Decision<'_> {
    /// Checks the entry's postings against the batch's balances: they
    /// balance and no account crosses to the wrong side of zero. The
    /// result is the only way postings reach the entry.
    pub async fn check<T: LedgerTx + Send>(
        &mut self,
        tx: &mut T,
        postings: Vec<Posting>,
    ) -> Result<Checked, Failure> {
        self.balances.check(tx, postings).await
    }

    /// The entry's time in microseconds, as rows store it.
    pub fn now_us(&self) -> i64 {
        self.now.as_micros()
    }
}

/// A decided command: its entry's final body and checked postings, and for
/// a redemption its row as recorded (answered to the caller).
pub struct Decided {
    pub(super) body: EntryBody,
    pub(super) checked: Checked,
    pub(super) redemption: Option<RedemptionRecord>,
}

impl Decided {
    pub fn new(body: EntryBody, checked: Checked) -> Decided {
        Decided {
            body,
            checked,
            redemption: None,
        }
    }

    pub fn redeemed(body: EntryBody, checked: Checked, record: RedemptionRecord) -> Decided {
        Decided {
            body,
            checked,
            redemption: Some(record),
        }
    }
}

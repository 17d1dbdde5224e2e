//! One batch of commands in one transaction: lock the chain head, load
//! what the batch touches (idempotency keys, balances, prefetched rows),
//! decide each command in order — its family's `Decide` against the batch
//! so far — seal each accepted entry onto the chain, then write entries,
//! balances and the head and commit once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::domain::Timestamp;
use crate::ledger::body::EntryKind;
use crate::ledger::entry::{Entry, Hash32, Unsealed};
use crate::ledger::merkle;
use crate::store::{ChainHead, LedgerTx, Store, StoreError, TreeGrowth, WriteTx};

use super::super::commands::{Command, Draft, InvalidCommand, Submission, command_table};
use super::super::error::{CommandError, Failure};
use super::super::issuer_keyring::IssuerKeyring;
use super::balances::Balances;
use super::decision::{Decide, Decided, Decision};
use super::prefetch::Prefetched;

/// What a successful append returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub sequence: u64,
    pub hash: Hash32,
    pub recorded_at: Timestamp,
    /// True when this key had already been applied and the first result is
    /// returned without a second effect.
    pub replayed: bool,
    /// The kind of the entry (e.g. registered vs updated); `None` only if a
    /// replayed entry's stored kind is unknown to this binary.
    pub kind: Option<EntryKind>,
    /// The voucher this entry issued (issues and re-issues, not replays),
    /// so the caller need not read it back.
    pub voucher: Option<Arc<crate::store::voucher::VoucherRecord>>,
    /// The redemption this entry recorded (not on replays).
    pub redemption: Option<Arc<crate::store::redemption::RedemptionRecord>>,
}

/// How one batch attempt ended: per-submission results, or a failure of the
/// whole transaction.
pub(super) type BatchResults = Vec<Result<Receipt, CommandError>>;

/// One transaction for the whole batch: lock the head, load what the batch
/// touches, decide each command in memory (a refused command changes
/// nothing, so its batch-mates are unaffected), then write entries,
/// balances and the head. A store error fails the whole transaction; the
/// caller (`Writer::process`) splits it to isolate the failing command.
pub(super) async fn append_batch<S: Store>(
    store: &S,
    submissions: &[Submission],
    issuer_keys: &IssuerKeyring,
    ledger_key: &crate::ledger::checkpoint::KeyPair,
    personal_key: Option<&crate::personal::sealed::MasterKey>,
) -> Result<(BatchResults, ChainHead), StoreError> {
    // Pure work first: nothing here needs the lock.
    let drafts: Vec<Result<Draft, InvalidCommand>> =
        submissions.iter().map(Submission::validate).collect();
    let digests: Vec<Hash32> = submissions.iter().map(|s| s.command.digest()).collect();

    let timer = std::time::Instant::now();
    let mut tx = store.begin_append().await?;
    let t_begin = timer.elapsed();
    let keys: Vec<&str> = submissions
        .iter()
        .map(|s| s.idempotency_key.as_str())
        .collect();
    let accounts: BTreeSet<String> = drafts
        .iter()
        .flatten()
        .flat_map(|draft| draft.postings.iter().map(|p| p.account.to_string()))
        .collect();
    let account_names: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let opened = tx.open_batch(&keys, &account_names).await?;
    let start = opened.head;
    let tree = opened.tree;
    if tree.size() != start.sequence {
        crate::invariant::broken(&format!(
            "the tree holds {} entries, the chain {} (the tree is caught up at startup)",
            tree.size(),
            start.sequence
        ));
    }
    let mut seen: HashMap<String, (Receipt, Hash32)> = opened
        .keyed
        .into_iter()
        .map(|found| {
            let receipt = Receipt {
                sequence: found.sequence,
                hash: found.hash,
                recorded_at: found.recorded_at,
                replayed: true,
                kind: EntryKind::parse(&found.kind),
                voucher: None,
                redemption: None,
            };
            (found.idempotency_key, (receipt, found.command_digest))
        })
        .collect();
    let mut balances = Balances::load(opened.balances);
    let t_open = timer.elapsed();
    let commands: Vec<&Command> = submissions.iter().map(|s| &s.command).collect();
    let mut prefetched = Prefetched::load(&mut tx, &commands).await?;
    let t_load = timer.elapsed();

    let mut head = start;
    let mut entries = Vec::new();
    let mut results = Vec::with_capacity(submissions.len());
    for ((submission, draft), digest) in submissions.iter().zip(drafts).zip(digests) {
        let mut batch = BatchState {
            head: &mut head,
            seen: &mut seen,
            balances: &mut balances,
            prefetched: &mut prefetched,
            entries: &mut entries,
            issuer_keys,
            ledger_key,
            personal_key,
        };
        match decide(&mut tx, submission, draft, digest, &mut batch).await {
            Ok(receipt) => results.push(Ok(receipt)),
            Err(Failure::Rule(error)) => results.push(Err(error)),
            Err(Failure::Store(error)) => return Err(error),
        }
    }

    let t_decide = timer.elapsed();
    prefetched.issuance.flush(&mut tx).await?;
    prefetched.redemptions.flush(&mut tx).await?;
    if !entries.is_empty() {
        check_chain(&start, &entries, &head);
        let growth = TreeGrowth::of(tree, entries.iter().map(merkle::entry_leaf));
        assert_eq!(growth.frontier.size(), head.sequence, "one leaf per entry");
        tx.append(&entries, &balances.writes(), &growth, &head)
            .await?;
    }
    let t_write = timer.elapsed();
    tx.commit().await?;
    tracing::debug!(
        size = submissions.len(),
        begin_us = t_begin.as_micros() as u64,
        open_us = (t_open - t_begin).as_micros() as u64,
        prefetch_us = (t_load - t_open).as_micros() as u64,
        decide_us = (t_decide - t_load).as_micros() as u64,
        write_us = (t_write - t_decide).as_micros() as u64,
        commit_us = (timer.elapsed() - t_write).as_micros() as u64,
        "batch committed"
    );
    Ok((results, head))
}

/// The batch's entries extend the head it started from one by one — each
/// sequence one more than the last, each linked to the last's hash — and
/// end at the head it will store. Checked again, after the fact, before
/// anything is written: the database's insert trigger is the third check.
fn check_chain(start: &ChainHead, entries: &[Entry], head: &ChainHead) {
    let mut previous = (start.sequence, start.hash, start.recorded_at);
    for entry in entries {
        if entry.sequence != previous.0 + 1
            || entry.prev_hash != previous.1
            || entry.recorded_at < previous.2
        {
            crate::invariant::broken(&format!(
                "entry {} does not extend the chain at {}",
                entry.sequence, previous.0
            ));
        }
        previous = (entry.sequence, entry.hash, entry.recorded_at);
    }
    if (previous.0, previous.1) != (head.sequence, head.hash) {
        crate::invariant::broken("the batch's head is not its last entry");
    }
}

/// What `decide` reads and advances: the batch so far.
struct BatchState<'a> {
    head: &'a mut ChainHead,
    seen: &'a mut HashMap<String, (Receipt, Hash32)>,
    balances: &'a mut Balances,
    prefetched: &'a mut Prefetched,
    entries: &'a mut Vec<Entry>,
    issuer_keys: &'a IssuerKeyring,
    ledger_key: &'a crate::ledger::checkpoint::KeyPair,
    personal_key: Option<&'a crate::personal::sealed::MasterKey>,
}

/// Decides one command against the batch's state and, if it is accepted,
/// appends its sealed entry and advances the head. Checks come first
/// (idempotency, the draft, then the command's own `Decide`, which checks
/// before it writes), so a refused command leaves nothing behind.
async fn decide<T: WriteTx>(
    tx: &mut T,
    submission: &Submission,
    draft: Result<Draft, InvalidCommand>,
    digest: Hash32,
    batch: &mut BatchState<'_>,
) -> Result<Receipt, Failure> {
    if let Some((receipt, first_digest)) = batch.seen.get(&submission.idempotency_key) {
        if *first_digest != digest {
            return Err(CommandError::IdempotencyKeyReused.into());
        }
        return Ok(Receipt {
            replayed: true,
            voucher: None,
            redemption: None,
            ..receipt.clone()
        });
    }
    let draft = draft.map_err(CommandError::Invalid)?;
    let head = *batch.head;
    let sequence = head.sequence + 1;
    // Time never runs backwards along the chain, even across processes
    // whose clocks differ slightly.
    let recorded_at = Timestamp::now().max(head.recorded_at);
    batch.prefetched.before(tx, &submission.command).await?;
    let mut at = Decision {
        now: recorded_at,
        sequence,
        issuer_keys: batch.issuer_keys,
        ledger_key: batch.ledger_key,
        personal_key: batch.personal_key,
        prefetched: batch.prefetched,
        balances: batch.balances,
    };
    let Decided {
        body,
        checked,
        redemption,
    } = decide_command(&submission.command, tx, &mut at, draft).await?;
    let postings = batch.balances.commit(checked, sequence);
    let kind = body.kind();
    let issued = crate::service::issuance::issued_record(&body, sequence, recorded_at)
        .map_err(Failure::Store)?;
    let entry = Unsealed {
        kind: kind.as_str().to_string(),
        body: body.encode(),
        actor: submission.actor.clone(),
        recorded_at,
        idempotency_key: submission.idempotency_key.clone(),
        command_digest: digest,
        postings,
    }
    .seal(sequence, head.hash);
    *batch.head = ChainHead {
        sequence,
        hash: entry.hash,
        recorded_at,
    };
    let receipt = Receipt {
        sequence,
        hash: entry.hash,
        recorded_at,
        replayed: false,
        kind: Some(kind),
        voucher: issued.map(Arc::new),
        redemption: redemption.map(Arc::new),
    };
    batch.seen.insert(
        submission.idempotency_key.clone(),
        (receipt.clone(), digest),
    );
    batch.entries.push(entry);
    Ok(receipt)
}

/// Generates `decide_command` from the command table: each command is
/// decided by its own `Decide`.
macro_rules! decide_dispatch {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal,)*) => {
        async fn decide_command<T: WriteTx>(
            command: &Command,
            tx: &mut T,
            at: &mut Decision<'_>,
            draft: Draft,
        ) -> Result<Decided, Failure> {
            match command {
                $(Command::$variant(command) => command.decide(tx, at, draft).await,)*
            }
        }
    };
}

command_table!(decide_dispatch);

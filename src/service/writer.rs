//! The single writer: group commit of ledger commands.
//!
//! Every process has one writer task. Callers `submit` through a bounded
//! queue; the writer takes up to `batch_max` waiting submissions into one
//! database transaction. The transaction locks the chain head row (every
//! appender in every process passes through that lock), loads the
//! idempotency keys and balances the batch touches, decides each command
//! in memory — a command that breaks a rule is refused alone and changes
//! nothing, its batch-mates go on — and then writes all entries with a few
//! multi-row statements, the new balances with compare-and-set updates, and
//! the head, and commits once. One fsync and a handful of statements cover
//! the whole batch, which is where the throughput comes from. Replies are
//! sent only after the commit, so an acknowledged append is durable.
//! docs/decisions/0002-batch-decides-under-the-head-lock.md says why this is
//! as safe as per-statement guarded updates.
//!
//! The writer also signs checkpoints: after every `checkpoint_every_entries`
//! new entries, and every `checkpoint_interval` if the chain moved.

use crate::service::commands::IssueVoucher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::domain::Timestamp;
use crate::ledger::account::Account;
use crate::ledger::body::EntryKind;
use crate::ledger::checkpoint::{Checkpoint, KeyPair};
use crate::ledger::entry::{Entry, Hash32, Unsealed};
use crate::ledger::posting::net_changes;
use crate::store::{BalanceWrite, ChainHead, LedgerKeyRecord, LedgerTx, Store, StoreError};

use super::commands::{Draft, InvalidCommand, Submission};
use super::effects::{self, Failure};
use crate::store::access::AccessTx;
use crate::store::redemption::RedemptionTx;
use crate::store::registry::RegistryTx;
use crate::store::voucher::VoucherTx;

/// Tuning for the writer. The defaults suit both backends on small hardware.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Most commands in one transaction: bounds a transaction's duration
    /// and how long the chain head stays locked.
    pub batch_max: usize,
    /// Most submissions waiting; beyond it `submit` waits (back-pressure).
    pub queue_max: usize,
    /// Sign a checkpoint once this many entries have been appended since the last.
    pub checkpoint_every_entries: u64,
    /// And at least this often while the chain moves.
    pub checkpoint_interval: Duration,
    /// Attempts for a batch whose transaction failed for a transient reason.
    pub batch_attempts_max: u32,
    /// The issuer private keys vouchers are signed with.
    pub issuer_keys: Arc<super::issuer_keyring::IssuerKeyring>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_max: 512,
            queue_max: 8192,
            checkpoint_every_entries: 1000,
            checkpoint_interval: Duration::from_secs(60),
            batch_attempts_max: 3,
            issuer_keys: Arc::default(),
        }
    }
}

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

pub use super::error::CommandError;

type Reply = oneshot::Sender<Result<Receipt, CommandError>>;

struct Queued {
    submission: Submission,
    reply: Reply,
}

/// A cheap, cloneable handle to submit commands.
#[derive(Clone)]
pub struct WriterHandle {
    queue: mpsc::Sender<Queued>,
    credential_epoch: Arc<AtomicU64>,
}

impl WriterHandle {
    /// Appends the submission's entry (or finds it, on a retry) and returns
    /// once it is durable.
    pub async fn submit(&self, submission: Submission) -> Result<Receipt, CommandError> {
        submission.validate()?;
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { submission, reply })
            .await
            .map_err(|_| CommandError::ShuttingDown)?;
        answer.await.map_err(|_| CommandError::ShuttingDown)?
    }

    /// Advances whenever this writer commits an entry that ends
    /// credentials (a token revoked, a password changed, a session ended,
    /// an issuer key revoked or replaced),
    /// before the submitter hears back — so a cache of authenticated
    /// credentials that remembers the epoch it read them in can tell they
    /// may be stale.
    pub fn credential_epoch(&self) -> u64 {
        self.credential_epoch.load(Ordering::Acquire)
    }
}

/// Starts the writer task. It runs until every `WriterHandle` is dropped,
/// then finishes the queued work, signs a last checkpoint and ends.
pub fn spawn<S: Store>(
    store: S,
    signer: Arc<KeyPair>,
    config: WriterConfig,
) -> (WriterHandle, JoinHandle<()>) {
    let (queue, receiver) = mpsc::channel(config.queue_max);
    let credential_epoch = Arc::new(AtomicU64::new(0));
    let writer = Writer {
        store,
        signer,
        config,
        receiver,
        last_checkpoint_sequence: None,
        credential_epoch: credential_epoch.clone(),
    };
    let handle = WriterHandle {
        queue,
        credential_epoch,
    };
    (handle, tokio::spawn(writer.run()))
}

struct Writer<S: Store> {
    store: S,
    signer: Arc<KeyPair>,
    config: WriterConfig,
    receiver: mpsc::Receiver<Queued>,
    last_checkpoint_sequence: Option<u64>,
    credential_epoch: Arc<AtomicU64>,
}

/// How one batch attempt ended: per-submission results, or a failure of the
/// whole transaction.
type BatchResults = Vec<Result<Receipt, CommandError>>;

impl<S: Store> Writer<S> {
    async fn run(mut self) {
        let mut ticker = tokio::time::interval_at(
            Instant::now() + self.config.checkpoint_interval,
            self.config.checkpoint_interval,
        );
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(self.config.batch_max);
        loop {
            tokio::select! {
                received = self.receiver.recv_many(&mut batch, self.config.batch_max) => {
                    if received == 0 {
                        break;
                    }
                    // Clients woken by the previous batch's replies are about
                    // to resubmit: let them run once, so the first of them is
                    // not committed alone while the rest wait a whole batch.
                    if batch.len() < self.config.batch_max {
                        tokio::task::yield_now().await;
                        while batch.len() < self.config.batch_max {
                            match self.receiver.try_recv() {
                                Ok(queued) => batch.push(queued),
                                Err(_) => break,
                            }
                        }
                    }
                    let head = self.process(std::mem::take(&mut batch)).await;
                    if let Some(head) = head {
                        self.checkpoint_if_due(head, false).await;
                    }
                }
                _ = ticker.tick() => {
                    if let Ok(head) = self.store.head().await {
                        self.checkpoint_if_due(head, true).await;
                    }
                }
            }
        }
        if let Ok(head) = self.store.head().await {
            self.checkpoint_if_due(head, true).await;
        }
        tracing::info!("ledger writer stopped");
    }

    /// Runs one batch and answers every submission. Returns the head after
    /// the last part of the batch that committed.
    ///
    /// A transaction that fails for a reason that is not transient (the
    /// database refused a value, a constraint, a fault) is split in halves
    /// and each half retried in queue order, until the submission whose
    /// write fails stands alone: it alone is answered with the failure and
    /// every batch-mate commits. A batch of n with one culprit costs about
    /// 2·log2(n) extra transactions, paid only when something failed.
    async fn process(&mut self, batch: Vec<Queued>) -> Option<ChainHead> {
        let (submissions, replies): (Vec<Submission>, Vec<Reply>) =
            batch.into_iter().map(|q| (q.submission, q.reply)).unzip();
        let mut answers: Vec<Option<Result<Receipt, CommandError>>> =
            std::iter::repeat_with(|| None)
                .take(submissions.len())
                .collect();
        let mut parts = std::collections::VecDeque::new();
        parts.push_back(0..submissions.len());
        let mut last_head = None;
        while let Some(part) = parts.pop_front() {
            match self.append_retrying(&submissions[part.clone()]).await {
                Ok((results, head)) => {
                    for (slot, result) in answers[part].iter_mut().zip(results) {
                        *slot = Some(result);
                    }
                    last_head = Some(head);
                }
                Err(StoreError::Unavailable(error)) => {
                    tracing::error!(%error, size = part.len(), "ledger batch failed: database unavailable");
                    for slot in &mut answers[part] {
                        *slot = Some(Err(CommandError::Unavailable));
                    }
                }
                Err(error) if part.len() == 1 => {
                    let submission = &submissions[part.start];
                    tracing::error!(
                        error = ?error,
                        command = submission.command.name(),
                        actor = %submission.actor,
                        "ledger command failed alone; its batch-mates were committed"
                    );
                    answers[part.start] = Some(Err(CommandError::from_lone_failure(&error)));
                }
                Err(error) => {
                    tracing::warn!(error = ?error, size = part.len(), "ledger batch failed; splitting it to find the command that fails");
                    let middle = part.start + part.len() / 2;
                    parts.push_front(middle..part.end);
                    parts.push_front(part.start..middle);
                }
            }
        }
        let ends_credentials = answers.iter().flatten().flatten().any(|receipt| {
            !receipt.replayed && receipt.kind.is_some_and(EntryKind::ends_credentials)
        });
        if ends_credentials {
            self.credential_epoch.fetch_add(1, Ordering::AcqRel);
        }
        for (reply, answer) in replies.into_iter().zip(answers) {
            let answer = answer.expect("every part of a batch is answered");
            // A caller that gave up waiting is not an error here.
            let _ = reply.send(answer);
        }
        last_head
    }

    /// One transaction for `submissions`, retried while it fails for a
    /// transient reason.
    async fn append_retrying(
        &self,
        submissions: &[Submission],
    ) -> Result<(BatchResults, ChainHead), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match append_batch(&self.store, submissions, &self.config.issuer_keys).await {
                Err(StoreError::Unavailable(error)) if attempt < self.config.batch_attempts_max => {
                    tracing::warn!(%error, attempt, "ledger batch failed, retrying");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn checkpoint_if_due(&mut self, head: ChainHead, on_timer: bool) {
        if head.sequence == 0 {
            return;
        }
        let last = match self.last_checkpoint_sequence {
            Some(last) => last,
            None => match self.store.latest_checkpoint().await {
                Ok(latest) => latest.map_or(0, |c| c.sequence),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the latest checkpoint");
                    return;
                }
            },
        };
        let due = head.sequence > last
            && (on_timer || head.sequence - last >= self.config.checkpoint_every_entries);
        if !due {
            self.last_checkpoint_sequence = Some(last);
            return;
        }
        match sign_checkpoint(&self.store, &self.signer, head).await {
            Ok(checkpoint) => self.last_checkpoint_sequence = Some(checkpoint.sequence),
            Err(error) => tracing::warn!(%error, "checkpoint failed; will retry"),
        }
    }
}

/// Publishes the signer's public key in the ledger's key table, so that
/// `verify` and auditors can check the checkpoints it signs.
pub async fn publish_ledger_key<S: Store>(store: &S, signer: &KeyPair) -> Result<(), StoreError> {
    store
        .register_ledger_key(&LedgerKeyRecord {
            key_id: signer.key_id().to_string(),
            public_key: signer.public_key().to_bytes(),
            created_at: Timestamp::now(),
        })
        .await
}

/// Signs and stores a checkpoint of `head`. Another process may have signed
/// the same sequence first; that is fine.
pub async fn sign_checkpoint<S: Store>(
    store: &S,
    signer: &KeyPair,
    head: ChainHead,
) -> Result<Checkpoint, StoreError> {
    let checkpoint = signer.sign(head.sequence, head.hash, Timestamp::now());
    let stored = store.insert_checkpoint(&checkpoint).await?;
    tracing::info!(
        sequence = head.sequence,
        stored,
        key_id = signer.key_id(),
        "checkpoint signed"
    );
    Ok(checkpoint)
}

/// One transaction for the whole batch: lock the head, load what the batch
/// touches, decide each command in memory (a refused command changes
/// nothing, so its batch-mates are unaffected), then write entries,
/// balances and the head. A store error fails the whole transaction; the
/// caller (`Writer::process`) splits it to isolate the failing command.
async fn append_batch<S: Store>(
    store: &S,
    submissions: &[Submission],
    issuer_keys: &super::issuer_keyring::IssuerKeyring,
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
    let commands: Vec<&super::commands::Command> = submissions.iter().map(|s| &s.command).collect();
    let mut prefetched = effects::Prefetched::load(&mut tx, &commands).await?;
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
        tx.append(&entries, &balances.writes(), &head).await?;
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

/// What `decide` reads and advances: the batch so far.
struct BatchState<'a> {
    head: &'a mut ChainHead,
    seen: &'a mut HashMap<String, (Receipt, Hash32)>,
    balances: &'a mut Balances,
    prefetched: &'a mut effects::Prefetched,
    entries: &'a mut Vec<Entry>,
    issuer_keys: &'a super::issuer_keyring::IssuerKeyring,
}

/// Decides one command against the batch's state and, if it is accepted,
/// writes its domain rows, appends its sealed entry and advances the head.
/// Checks come first (idempotency, balances, then the effects' own checks),
/// so a refused command leaves nothing behind.
async fn decide<
    T: LedgerTx
        + AccessTx
        + RegistryTx
        + VoucherTx
        + RedemptionTx
        + crate::store::settlement::SettlementTx
        + Send,
>(
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
    // Redemptions, reversals, expiries and revocations post what the
    // ledger holds now: they are planned (every check, no writes) before
    // their balances are checked.
    let planned = super::lifecycle::plan(
        tx,
        batch.prefetched,
        &submission.command,
        recorded_at,
        sequence,
    )
    .await?;
    let postings = match &planned {
        Some(plan) => {
            // Planned postings get the same checks as drafted ones: never
            // append an entry that verify would refuse.
            crate::ledger::posting::check_balanced(plan.postings())
                .map_err(|e| CommandError::Invalid(InvalidCommand::Postings(e)))?;
            batch.balances.load_missing(tx, plan.postings()).await?;
            plan.postings().to_vec()
        }
        None => draft.postings,
    };
    // A voucher issue that the budget cannot cover is refused — but only
    // after its own rules, so a claimant of a closed programme, or one who
    // is not eligible, is told that rather than "budget exhausted".
    let (changes, budget_exhausted) = match (
        &submission.command,
        batch.balances.check(&net_changes(&postings)),
    ) {
        (_, Ok(changes)) => (Some(changes), false),
        (
            super::commands::Command::IssueVoucher(IssueVoucher { .. }),
            Err(CommandError::InsufficientBalance { .. }),
        ) => (None, true),
        (_, Err(error)) => return Err(error.into()),
    };
    let context = effects::Context {
        now: recorded_at,
        sequence,
        issuer_keys: batch.issuer_keys,
        budget_exhausted,
    };
    let (body, redemption) = match planned {
        Some(plan) => {
            super::lifecycle::write(tx, batch.prefetched, plan, recorded_at, sequence).await?
        }
        None => (
            effects::apply(tx, batch.prefetched, &submission.command, &context)
                .await?
                .unwrap_or(draft.body),
            None,
        ),
    };
    let Some(changes) = changes else {
        // The effect must have refused; never append past a floor.
        crate::invariant::broken(&format!(
            "the effect of {} ignored a floor refusal",
            submission.command.name()
        ));
    };
    batch.balances.commit(changes, sequence);
    let kind = body.kind();
    let issued =
        super::issuance::issued_record(&body, sequence, recorded_at).map_err(Failure::Store)?;
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

/// Balances of the accounts a batch touches, as loaded and as changed.
struct Balances {
    slots: HashMap<String, Slot>,
}

struct Slot {
    normal_sign: i64,
    loaded_fen: Option<i64>,
    balance_fen: i64,
    last_sequence: u64,
}

impl Balances {
    fn load(rows: Vec<(String, i64)>) -> Balances {
        let slots = rows
            .into_iter()
            .map(|(account, balance_fen)| {
                let slot = Slot {
                    normal_sign: 0,
                    loaded_fen: Some(balance_fen),
                    balance_fen,
                    last_sequence: 0,
                };
                (account, slot)
            })
            .collect();
        Balances { slots }
    }

    /// Loads the balances of accounts in `postings` that the batch has not
    /// loaded yet (postings planned under the lock name accounts the
    /// batch's drafts did not).
    async fn load_missing<T: LedgerTx + Send>(
        &mut self,
        tx: &mut T,
        postings: &[crate::ledger::posting::Posting],
    ) -> Result<(), StoreError> {
        let missing: BTreeSet<String> = postings
            .iter()
            .map(|p| p.account.to_string())
            .filter(|name| !self.slots.contains_key(name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = missing.iter().map(String::as_str).collect();
        let loaded = Balances::load(tx.load_balances(&names).await?);
        self.slots.extend(loaded.slots);
        Ok(())
    }

    /// The balances an entry's net changes would produce, if every account
    /// stays on its side of zero; otherwise names the first that would not.
    /// Nothing changes until `commit`.
    fn check(
        &self,
        changes: &BTreeMap<&Account, i64>,
    ) -> Result<Vec<(String, i64, i64)>, CommandError> {
        let mut updated = Vec::with_capacity(changes.len());
        for (account, change) in changes {
            let name = account.to_string();
            let sign = account.normal_side().sign();
            let current = self.slots.get(&name).map_or(0, |slot| slot.balance_fen);
            let next = current.checked_add(*change).ok_or(CommandError::Overflow)?;
            if next * sign < 0 {
                return Err(CommandError::InsufficientBalance { account: name });
            }
            updated.push((name, sign, next));
        }
        Ok(updated)
    }

    /// Applies what `check` returned, as of entry `sequence`.
    fn commit(&mut self, updated: Vec<(String, i64, i64)>, sequence: u64) {
        for (name, sign, next) in updated {
            let slot = self.slots.entry(name).or_insert(Slot {
                normal_sign: sign,
                loaded_fen: None,
                balance_fen: 0,
                last_sequence: 0,
            });
            slot.normal_sign = sign;
            slot.balance_fen = next;
            slot.last_sequence = sequence;
        }
    }

    /// The rows to write: every account an accepted command changed.
    fn writes(&self) -> Vec<BalanceWrite> {
        let mut writes: Vec<BalanceWrite> = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.last_sequence != 0)
            .map(|(account, slot)| BalanceWrite {
                account: account.clone(),
                normal_sign: slot.normal_sign,
                previous_fen: slot.loaded_fen,
                balance_fen: slot.balance_fen,
                last_sequence: slot.last_sequence,
            })
            .collect();
        // A fixed order keeps lock acquisition order stable.
        writes.sort_by(|a, b| a.account.cmp(&b.account));
        writes
    }
}

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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::domain::Timestamp;
use crate::ledger::body::EntryKind;
use crate::ledger::checkpoint::{Checkpoint, KeyPair};
use crate::store::{ChainHead, LedgerKeyRecord, Store, StoreError};

use super::super::commands::Submission;
use super::super::error::CommandError;
use super::batch::{BatchResults, Receipt, append_batch};

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
    pub issuer_keys: Arc<super::super::issuer_keyring::IssuerKeyring>,
    /// The transparency log's origin: with every checkpoint, the writer
    /// signs the tree as a C2SP checkpoint under this name. `None` (the
    /// one-shot CLI commands): chain checkpoints only — the service that
    /// publishes the log (`serve`, with its `--log-origin`) signs the tree,
    /// so no command signs one under a name the log does not publish.
    pub log_origin: Option<String>,
    /// Witnesses each tree checkpoint is sent to for cosigning.
    pub witnesses: Vec<crate::service::witness_push::WitnessTarget>,
    /// Wraps subjects' data keys (docs/personal-data.md); without it, a
    /// command that would seal personal data is refused
    /// (`personal_data_key_unavailable`).
    pub personal_key: Option<Arc<crate::personal::sealed::MasterKey>>,
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
            log_origin: None,
            witnesses: Vec::new(),
            personal_key: None,
        }
    }
}

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
    /// False once the writer task has stopped.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }

    /// Commands waiting for the writer now.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

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
        log_signing: None,
        witness_sizes: Default::default(),
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
    /// The tree checkpoint being signed off the writer's path (at most one
    /// at a time; awaited before the writer ends).
    log_signing: Option<JoinHandle<()>>,
    /// Where each witness is, as far as this process knows.
    witness_sizes: crate::service::witness_push::WitnessSizes,
}

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
        // The last tree checkpoint covers the last entry: wait for one
        // still running, sign, and wait for that one too.
        if let Some(signing) = self.log_signing.take() {
            let _ = signing.await;
        }
        if let Ok(head) = self.store.head().await {
            self.checkpoint_if_due(head, true).await;
        }
        if let Some(signing) = self.log_signing.take() {
            let _ = signing.await;
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
        let started = std::time::Instant::now();
        metrics::histogram!(crate::metrics::BATCH_COMMANDS).record(batch.len() as f64);
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
                    metrics::counter!(crate::metrics::BATCH_FAILURES, "cause" => "unavailable")
                        .increment(1);
                    tracing::error!(%error, size = part.len(), "ledger batch failed: database unavailable");
                    for slot in &mut answers[part] {
                        *slot = Some(Err(CommandError::Unavailable));
                    }
                }
                Err(error) if part.len() == 1 => {
                    metrics::counter!(crate::metrics::BATCH_FAILURES, "cause" => "command")
                        .increment(1);
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
                    metrics::counter!(crate::metrics::BATCH_FAILURES, "cause" => "split")
                        .increment(1);
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
        for (submission, answer) in submissions.iter().zip(&answers) {
            if let Some(Ok(receipt)) = answer {
                count_committed(&submission.command, receipt.replayed);
            }
        }
        metrics::histogram!(crate::metrics::BATCH_DURATION).record(started.elapsed().as_secs_f64());
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
            match append_batch(
                &self.store,
                submissions,
                &self.config.issuer_keys,
                &self.signer,
                self.config.personal_key.as_deref(),
            )
            .await
            {
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
            Ok(checkpoint) => {
                self.last_checkpoint_sequence = Some(checkpoint.sequence);
                self.sign_log_checkpoint();
            }
            Err(error) => tracing::warn!(%error, "checkpoint failed; will retry"),
        }
    }

    /// Signs the tree as it is now as a C2SP checkpoint, on its own task:
    /// it reads the stored tree and writes one row, and appends go on
    /// meanwhile. Skipped while the previous one is still running.
    fn sign_log_checkpoint(&mut self) {
        let Some(origin) = self.config.log_origin.clone() else {
            return;
        };
        if self
            .log_signing
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        self.log_signing = Some(tokio::spawn(sign_and_witness(
            self.store.clone(),
            self.signer.clone(),
            origin,
            self.config.witnesses.clone(),
            self.witness_sizes.clone(),
        )));
    }
}

/// Counts a command the writer answered with an entry: committed now, or
/// replayed from an earlier entry with the same key.
fn count_committed(command: &crate::service::commands::Command, replayed: bool) {
    use crate::service::commands::{Command, IssueVia};
    if replayed {
        metrics::counter!(crate::metrics::REPLAYS).increment(1);
        return;
    }
    metrics::counter!(crate::metrics::COMMANDS, "command" => command.name()).increment(1);
    match command {
        Command::IssueVoucher(issue) if matches!(issue.via, IssueVia::Claim) => {
            metrics::counter!(crate::metrics::CLAIMS).increment(1);
        }
        Command::RedeemVoucher(_) => metrics::counter!(crate::metrics::REDEMPTIONS).increment(1),
        _ => {}
    }
}

/// Signs the tree as it is now and sends the checkpoint to each witness;
/// failures are logged (the next checkpoint tries again).
async fn sign_and_witness<S: Store>(
    store: S,
    signer: Arc<KeyPair>,
    origin: String,
    witnesses: Vec<crate::service::witness_push::WitnessTarget>,
    sizes: crate::service::witness_push::WitnessSizes,
) {
    use crate::service::{transparency, witness_push};
    let checkpoint = match transparency::sign_log_checkpoint(&store, &signer, &origin).await {
        Ok(Some(checkpoint)) => checkpoint,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "tree checkpoint failed; will retry");
            return;
        }
    };
    tracing::info!(tree_size = checkpoint.tree_size, %origin, "tree checkpoint signed");
    let client = reqwest::Client::new();
    for witness in &witnesses {
        match witness_push::push(&store, &client, witness, &sizes, &checkpoint).await {
            Ok(_) => {
                tracing::info!(witness = %witness.name, tree_size = checkpoint.tree_size, "cosigned")
            }
            Err(error) => tracing::warn!(witness = %witness.name, %error, "not cosigned"),
        }
    }
}

/// Publishes the signer's public key in the ledger's key table, so that
/// `verify` and auditors can check the checkpoints it signs.
pub async fn publish_ledger_key<S: Store>(store: &S, signer: &KeyPair) -> Result<(), StoreError> {
    store
        .register_ledger_key(&LedgerKeyRecord {
            key_id: signer.key_id().to_string(),
            public_key: signer.public_key(),
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

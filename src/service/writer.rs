//! The single writer: group commit of ledger commands.
//!
//! Every process has one writer task. Callers `submit` through a bounded
//! queue; the writer takes up to `batch_max` waiting submissions into one
//! database transaction, which locks the chain head, runs each command
//! under its own savepoint (a command that breaks a rule is rolled back
//! alone, its batch-mates go on) and commits once. One fsync then covers
//! the whole batch, which is where the throughput comes from. Replies are
//! sent only after the commit, so an acknowledged append is durable.
//!
//! The writer also signs checkpoints: after every `checkpoint_every_entries`
//! new entries, and every `checkpoint_interval` if the chain moved.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::domain::Timestamp;
use crate::ledger::checkpoint::{Checkpoint, LedgerSigner};
use crate::ledger::entry::{Hash32, Unsealed};
use crate::ledger::posting::net_changes;
use crate::store::{ChainHead, LedgerKeyRecord, LedgerTx, Store, StoreError};

use super::command::{InvalidCommand, Submission};

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
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            batch_max: 512,
            queue_max: 8192,
            checkpoint_every_entries: 1000,
            checkpoint_interval: Duration::from_secs(60),
            batch_attempts_max: 3,
        }
    }
}

/// What a successful append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub sequence: u64,
    pub hash: Hash32,
    pub recorded_at: Timestamp,
    /// True when this key had already been applied and the first result is
    /// returned without a second effect.
    pub replayed: bool,
}

/// Why a command was not appended.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Invalid(#[from] InvalidCommand),
    /// A floor guard refused a posting: the account does not hold enough.
    #[error("account {account} does not hold enough for this command")]
    InsufficientBalance { account: String },
    /// The key was already used for a different command.
    #[error("the idempotency key was already used for a different command")]
    IdempotencyKeyReused,
    /// The database could not be reached or stayed busy; retrying with the
    /// same idempotency key is safe.
    #[error("the ledger is temporarily unavailable")]
    Unavailable,
    /// The writer has stopped (the process is shutting down).
    #[error("the ledger writer is shutting down")]
    ShuttingDown,
    #[error("internal error in the ledger writer")]
    Internal,
}

impl CommandError {
    /// Stable code for API bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Invalid(_) => "invalid_command",
            CommandError::InsufficientBalance { .. } => "insufficient_balance",
            CommandError::IdempotencyKeyReused => "idempotency_key_reused",
            CommandError::Unavailable => "ledger_unavailable",
            CommandError::ShuttingDown => "shutting_down",
            CommandError::Internal => "internal_error",
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
}

/// Starts the writer task. It runs until every `WriterHandle` is dropped,
/// then finishes the queued work, signs a last checkpoint and ends.
pub fn spawn<S: Store>(
    store: S,
    signer: Arc<LedgerSigner>,
    config: WriterConfig,
) -> (WriterHandle, JoinHandle<()>) {
    let (queue, receiver) = mpsc::channel(config.queue_max);
    let writer = Writer {
        store,
        signer,
        config,
        receiver,
        last_checkpoint_sequence: None,
    };
    (WriterHandle { queue }, tokio::spawn(writer.run()))
}

struct Writer<S: Store> {
    store: S,
    signer: Arc<LedgerSigner>,
    config: WriterConfig,
    receiver: mpsc::Receiver<Queued>,
    last_checkpoint_sequence: Option<u64>,
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

    /// Runs one batch (retrying transient failures) and answers every
    /// submission. Returns the head after the batch if it committed.
    async fn process(&mut self, batch: Vec<Queued>) -> Option<ChainHead> {
        let (submissions, replies): (Vec<Submission>, Vec<Reply>) =
            batch.into_iter().map(|q| (q.submission, q.reply)).unzip();
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match append_batch(&self.store, &submissions).await {
                Err(StoreError::Unavailable(error)) if attempt < self.config.batch_attempts_max => {
                    tracing::warn!(%error, attempt, "ledger batch failed, retrying");
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                other => break other,
            }
        };
        match outcome {
            Ok((results, head)) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that gave up waiting is not an error here.
                    let _ = reply.send(result);
                }
                Some(head)
            }
            Err(error) => {
                let unavailable = matches!(error, StoreError::Unavailable(_));
                tracing::error!(error = ?error, size = submissions.len(), "ledger batch failed");
                for reply in replies {
                    let _ = reply.send(Err(if unavailable {
                        CommandError::Unavailable
                    } else {
                        CommandError::Internal
                    }));
                }
                None
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
pub async fn publish_ledger_key<S: Store>(store: &S, signer: &LedgerSigner) -> Result<(), StoreError> {
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
    signer: &LedgerSigner,
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

/// One transaction for the whole batch. A failed command's writes are
/// rolled back to its savepoint; a store error fails the whole batch.
async fn append_batch<S: Store>(
    store: &S,
    submissions: &[Submission],
) -> Result<(BatchResults, ChainHead), StoreError> {
    let mut tx = store.begin_append().await?;
    let mut head = tx.lock_head().await?;
    let start_sequence = head.sequence;
    let mut results = Vec::with_capacity(submissions.len());
    for submission in submissions {
        tx.savepoint().await?;
        match append_one(&mut tx, &mut head, submission).await {
            Ok(receipt) => {
                tx.release_savepoint().await?;
                results.push(Ok(receipt));
            }
            Err(Failure::Rule(error)) => {
                tx.rollback_to_savepoint().await?;
                results.push(Err(error));
            }
            Err(Failure::Store(error)) => return Err(error),
        }
    }
    if head.sequence != start_sequence {
        tx.set_head(&head).await?;
    }
    tx.commit().await?;
    Ok((results, head))
}

enum Failure {
    Rule(CommandError),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

async fn append_one<T: LedgerTx>(
    tx: &mut T,
    head: &mut ChainHead,
    submission: &Submission,
) -> Result<Receipt, Failure> {
    let digest = submission.command.digest();
    if let Some(existing) = tx.find_by_idempotency_key(&submission.idempotency_key).await? {
        if existing.command_digest != digest {
            return Err(Failure::Rule(CommandError::IdempotencyKeyReused));
        }
        return Ok(Receipt {
            sequence: existing.sequence,
            hash: existing.hash,
            recorded_at: existing.recorded_at,
            replayed: true,
        });
    }
    let draft = submission
        .command
        .draft()
        .map_err(|e| Failure::Rule(CommandError::Invalid(e)))?;
    let sequence = head.sequence + 1;
    for (account, change) in net_changes(&draft.postings) {
        if change != 0 && !tx.apply_balance_change(account, change, sequence).await? {
            return Err(Failure::Rule(CommandError::InsufficientBalance {
                account: account.to_string(),
            }));
        }
    }
    // Time never runs backwards along the chain, even across processes
    // whose clocks differ slightly.
    let recorded_at = Timestamp::now().max(head.recorded_at);
    let entry = Unsealed {
        kind: draft.body.kind().as_str().to_string(),
        body: draft.body.encode(),
        actor: submission.actor.clone(),
        recorded_at,
        idempotency_key: submission.idempotency_key.clone(),
        command_digest: digest,
        postings: draft.postings,
    }
    .seal(sequence, head.hash);
    tx.insert_entry(&entry).await?;
    *head = ChainHead {
        sequence,
        hash: entry.hash,
        recorded_at,
    };
    Ok(Receipt {
        sequence,
        hash: entry.hash,
        recorded_at,
        replayed: false,
    })
}

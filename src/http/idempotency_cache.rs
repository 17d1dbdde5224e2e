//! Group commit for the idempotency table.
//!
//! Every mutating request claims its key before it runs and stores its
//! response after: two writes per request. Done one transaction each,
//! they queue behind each other (and, on SQLite, behind the ledger
//! writer's lock on the file) and became the ceiling of claims per second.
//! So, like the ledger writer, one task takes every waiting operation into
//! one transaction. These rows are a response cache over the ledger's own
//! exactly-once guarantee, so the transaction is not fsynced
//! (docs/decisions/0005-idempotency-cache-is-not-fsynced.md).

use tokio::sync::{mpsc, oneshot};

use crate::store::Store;
use crate::store::access::IdempotencyOp;

/// Most operations in one transaction.
const BATCH_MAX: usize = 512;
/// Most operations waiting.
const QUEUE_MAX: usize = 8192;

type Reply = oneshot::Sender<Result<bool, CacheUnavailable>>;

/// The cache write failed (the database is unavailable); the caller
/// answers 503 and the client retries with the same key.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the idempotency cache could not be written")]
pub struct CacheUnavailable;

/// A cheap, cloneable handle to the batching task.
#[derive(Clone)]
pub struct IdempotencyCache {
    queue: mpsc::Sender<(IdempotencyOp, Reply)>,
}

impl IdempotencyCache {
    /// Writes waiting for their batch now.
    pub fn queue_depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// Starts the task; it ends when every handle is dropped.
    pub fn spawn<S: Store>(store: S) -> IdempotencyCache {
        let (queue, mut receiver) = mpsc::channel::<(IdempotencyOp, Reply)>(QUEUE_MAX);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH_MAX);
            while receiver.recv_many(&mut batch, BATCH_MAX).await > 0 {
                let (ops, replies): (Vec<IdempotencyOp>, Vec<Reply>) =
                    std::mem::take(&mut batch).into_iter().unzip();
                match store.write_idempotency(&ops).await {
                    Ok(changed) => {
                        for (reply, changed) in replies.into_iter().zip(changed) {
                            let _ = reply.send(Ok(changed));
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, size = ops.len(), "idempotency cache write failed");
                        for reply in replies {
                            let _ = reply.send(Err(CacheUnavailable));
                        }
                    }
                }
            }
        });
        IdempotencyCache { queue }
    }

    /// Applies `op` with whatever else is waiting; whether it changed a row.
    pub async fn write(&self, op: IdempotencyOp) -> Result<bool, CacheUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((op, reply))
            .await
            .map_err(|_| CacheUnavailable)?;
        answer.await.map_err(|_| CacheUnavailable)?
    }
}

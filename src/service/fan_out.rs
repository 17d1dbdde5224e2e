//! Submitting many commands at once (imports, allocations, re-issues):
//! enough in the writer's queue to fill its batches, never so many that
//! other callers wait behind one big job.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::commands::Submission;
use super::engine::{CommandError, Receipt, WriterHandle};

/// Submits every job's command with at most `in_flight` outstanding,
/// calling `progress(done, total)` after each answer. Returns each job's
/// tag with its result, in completion order.
pub async fn submit_all<T: Send + 'static>(
    writer: &WriterHandle,
    jobs: Vec<(T, Submission)>,
    in_flight: usize,
    mut progress: impl FnMut(usize, usize),
) -> Vec<(T, Result<Receipt, CommandError>)> {
    let total = jobs.len();
    let permits = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(total);
    let mut done = 0;
    for (tag, submission) in jobs {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let writer = writer.clone();
        tasks.spawn(async move {
            let result = writer.submit(submission).await;
            drop(permit);
            (tag, result)
        });
        // Collect what has finished, so progress is reported as it happens.
        while let Some(joined) = tasks.try_join_next() {
            done += 1;
            progress(done, total);
            results.push(joined.expect("submission tasks do not panic"));
        }
    }
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        progress(done, total);
        results.push(joined.expect("submission tasks do not panic"));
    }
    results
}

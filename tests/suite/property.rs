//! Property: random command sequences — fundings, transfers that may
//! overdraw, retries, key reuse — keep every entry balanced, the trial
//! balance at zero, every account on its side of zero and the chain valid,
//! after every step, and match a simple in-memory model exactly.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use voucher_ledger::ledger::account::AccountKind;
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::service::{Command, CommandError, Submission, WriterConfig};
use voucher_ledger::store::{PostgresStore, SqliteStore, Store};

use crate::helpers::{TestDb, fund, start_writer, transfer};

/// Accounts a journal may touch (outstanding vouchers, payables and
/// payouts in payment mirror tables: src/ledger/derive.rs).
const KINDS: [AccountKind; 3] = [
    AccountKind::ProgrammeFunding,
    AccountKind::BudgetAvailable,
    AccountKind::Lapsed,
];
const PROGRAMMES: [&str; 2] = ["PA", "PB"];

#[derive(Debug, Clone)]
enum Step {
    Fund {
        programme: usize,
        amount_fen: i64,
    },
    Transfer {
        programme: usize,
        from: usize,
        to: usize,
        amount_fen: i64,
    },
    /// Resubmit an earlier step's submission unchanged.
    Retry {
        step: usize,
    },
    /// Reuse an earlier step's key for a new funding.
    ReuseKey {
        step: usize,
        amount_fen: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..2usize, 1..5_000i64).prop_map(|(programme, amount_fen)| Step::Fund {
            programme,
            amount_fen
        }),
        (0..2usize, 0..3usize, 0..3usize, 1..3_000i64)
            .prop_filter("distinct accounts", |(_, from, to, _)| from != to)
            .prop_map(|(programme, from, to, amount_fen)| Step::Transfer {
                programme,
                from,
                to,
                amount_fen
            }),
        (0..40usize).prop_map(|step| Step::Retry { step }),
        (0..40usize, 1..5_000i64)
            .prop_map(|(step, amount_fen)| Step::ReuseKey { step, amount_fen }),
    ]
}

/// What the ledger should hold: balances, and which keys have entries.
#[derive(Default)]
struct Model {
    balances: HashMap<String, i64>,
    /// Keys that own an entry: its sequence and the command accepted.
    applied_keys: HashMap<String, (u64, Command)>,
    next_sequence: u64,
}

impl Model {
    /// Applies `changes` if no account would cross zero; returns whether it did.
    fn try_apply(&mut self, changes: &[(String, i64, i64)]) -> bool {
        let fits = changes.iter().all(|(name, change, sign)| {
            (self.balances.get(name).copied().unwrap_or(0) + change) * sign >= 0
        });
        if fits {
            for (name, change, _) in changes {
                *self.balances.entry(name.clone()).or_default() += change;
            }
        }
        fits
    }
}

fn changes_of(submission: &Submission) -> Vec<(String, i64, i64)> {
    let draft = submission.command.draft().expect("valid");
    voucher_ledger::ledger::posting::net_changes(&draft.postings)
        .into_iter()
        .map(|(account, change)| (account.to_string(), change, account.normal_side().sign()))
        .collect()
}

async fn run_case<S: Store>(store: S, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    let mut model = Model {
        next_sequence: 1,
        ..Model::default()
    };
    // Every submission is queued before the writer answers the first, in
    // step order (join_all polls them in order, and the queue has room), so
    // the writer decides them in that order but many to a batch: balances
    // carried across batch-mates, keys seen earlier in the same batch.
    let mut history: Vec<Submission> = Vec::new();
    for (index, step) in steps.into_iter().enumerate() {
        let submission = match step {
            Step::Fund {
                programme,
                amount_fen,
            } => fund(PROGRAMMES[programme], amount_fen, &format!("s{index}")),
            Step::Transfer {
                programme,
                from,
                to,
                amount_fen,
            } => transfer(
                PROGRAMMES[programme],
                KINDS[from],
                KINDS[to],
                amount_fen,
                &format!("s{index}"),
            ),
            Step::Retry { step } if !history.is_empty() => history[step % history.len()].clone(),
            Step::ReuseKey { step, amount_fen } if !history.is_empty() => {
                let key = history[step % history.len()].idempotency_key.clone();
                fund(PROGRAMMES[0], amount_fen + 100_000, &key)
            }
            _ => continue,
        };
        history.push(submission);
    }
    let outcomes = futures_util::future::join_all(history.iter().map(|submission| {
        let writer = writer.clone();
        let submission = submission.clone();
        async move { writer.submit(submission).await }
    }))
    .await;
    for (submission, outcome) in history.iter().zip(outcomes) {
        let key = submission.idempotency_key.clone();
        match model.applied_keys.get(&key).cloned() {
            Some((sequence, accepted)) => {
                let same = accepted == submission.command;
                match outcome {
                    Ok(receipt) => {
                        prop_assert!(same, "a different command under a used key was accepted");
                        prop_assert!(receipt.replayed);
                        prop_assert_eq!(receipt.sequence, sequence);
                    }
                    Err(CommandError::IdempotencyKeyReused) => prop_assert!(!same),
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }
            None => {
                let fits = model.try_apply(&changes_of(submission));
                match outcome {
                    Ok(receipt) => {
                        prop_assert!(fits, "an overdraft was accepted");
                        prop_assert!(!receipt.replayed);
                        prop_assert_eq!(receipt.sequence, model.next_sequence);
                        model
                            .applied_keys
                            .insert(key, (receipt.sequence, submission.command.clone()));
                        model.next_sequence += 1;
                    }
                    Err(CommandError::InsufficientBalance { .. }) => prop_assert!(!fits),
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
    }
    // The whole ledger verifies and matches the model.
    let summary = verify_store(&store, &[])
        .await
        .map_err(|e| TestCaseError::fail(format!("verify: {e}")))?;
    prop_assert_eq!(summary.entries, model.next_sequence - 1);
    for projected in store.balances().await.expect("balances") {
        let expected = model.balances.get(&projected.account).copied().unwrap_or(0);
        prop_assert_eq!(projected.balance_fen, expected, "{}", projected.account);
    }
    drop(writer);
    task.await.expect("writer task");
    Ok(())
}

/// A runner of `cases` random cases that keeps no failure files.
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn random_command_sequences_keep_the_sqlite_ledger_sound() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runner(24)
        .run(&proptest::collection::vec(step(), 1..30), |steps| {
            runtime.block_on(async {
                let db = TestDb::sqlite();
                let store = SqliteStore::connect(db.url()).await.expect("connect");
                store.migrate().await.expect("migrate");
                run_case(store, steps).await
            })
        })
        .unwrap();
}

#[test]
fn random_command_sequences_keep_the_postgres_ledger_sound() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if runtime.block_on(TestDb::postgres()).is_none() {
        return;
    }
    runner(8)
        .run(&proptest::collection::vec(step(), 1..30), |steps| {
            runtime.block_on(async {
                let db = TestDb::postgres().await.expect("configured");
                let store = PostgresStore::connect(db.url()).await.expect("connect");
                store.migrate().await.expect("migrate");
                run_case(store, steps).await
            })
        })
        .unwrap();
}

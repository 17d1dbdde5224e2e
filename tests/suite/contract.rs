//! The store contract: the same behaviour on SQLite and PostgreSQL.

use voucher_ledger::ledger::account::AccountKind::{BudgetAvailable, Lapsed, ProgrammeFunding};
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::service::{CommandError, WriterConfig};
use voucher_ledger::store::Store;

use crate::helpers::{TestDb, account, balance, fund, on_both_backends, start_writer, transfer};

on_both_backends!(
    appends_are_numbered_from_one_without_gaps_and_verify,
    a_retry_with_the_same_key_returns_the_first_receipt_and_appends_nothing,
    reusing_a_key_for_a_different_command_is_refused_and_appends_nothing,
    an_overdraft_fails_alone_and_its_batch_mates_commit,
    many_concurrent_clients_never_overdraw_and_form_one_chain,
    two_writers_on_one_database_form_one_gapless_chain,
    the_database_refuses_update_and_delete_of_ledger_rows,
    the_database_refuses_an_entry_that_does_not_extend_the_chain,
    the_database_refuses_a_posting_or_checkpoint_outside_its_entry,
    migrations_are_idempotent,
    checkpoints_are_signed_and_verified,
);

async fn appends_are_numbered_from_one_without_gaps_and_verify<S: Store>(store: S, _db: &TestDb) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    let first = writer.submit(fund("P1", 10_000, "fund-1")).await.unwrap();
    assert_eq!(first.sequence, 1);
    assert!(!first.replayed);
    for n in 2..=20u64 {
        let receipt = writer
            .submit(transfer(
                "P1",
                BudgetAvailable,
                Lapsed,
                100,
                &format!("t-{n}"),
            ))
            .await
            .unwrap();
        assert_eq!(receipt.sequence, n);
    }
    drop(writer);
    task.await.unwrap();
    let summary = verify_store(&store, &[]).await.unwrap();
    assert_eq!(summary.entries, 20);
    assert_eq!(summary.postings, 40);
    assert_eq!(
        balance(&store, &account(BudgetAvailable, "P1")).await,
        10_000 - 1_900
    );
    assert_eq!(balance(&store, &account(Lapsed, "P1")).await, 1_900);
    assert_eq!(
        balance(&store, &account(ProgrammeFunding, "P1")).await,
        -10_000
    );
    let head = store.head().await.unwrap();
    assert_eq!(head.sequence, 20);
    assert_eq!(head.hash, summary.head_hash);
}

async fn a_retry_with_the_same_key_returns_the_first_receipt_and_appends_nothing<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    let first = writer.submit(fund("P1", 500, "fund-once")).await.unwrap();
    // Twenty concurrent retries of the same command with the same key.
    let retries: Vec<_> = (0..20)
        .map(|_| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.submit(fund("P1", 500, "fund-once")).await })
        })
        .collect();
    for retry in retries {
        let receipt = retry.await.unwrap().unwrap();
        assert!(receipt.replayed);
        assert_eq!(
            (receipt.sequence, receipt.hash),
            (first.sequence, first.hash)
        );
    }
    drop(writer);
    task.await.unwrap();
    assert_eq!(store.head().await.unwrap().sequence, 1);
    assert_eq!(balance(&store, &account(BudgetAvailable, "P1")).await, 500);
}

async fn reusing_a_key_for_a_different_command_is_refused_and_appends_nothing<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 500, "k")).await.unwrap();
    let error = writer.submit(fund("P1", 501, "k")).await.unwrap_err();
    assert!(
        matches!(error, CommandError::IdempotencyKeyReused),
        "{error:?}"
    );
    assert_eq!(error.code(), "idempotency_key_reused");
    drop(writer);
    task.await.unwrap();
    assert_eq!(store.head().await.unwrap().sequence, 1);
    assert_eq!(balance(&store, &account(BudgetAvailable, "P1")).await, 500);
}

async fn an_overdraft_fails_alone_and_its_batch_mates_commit<S: Store>(store: S, _db: &TestDb) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 1_000, "fund")).await.unwrap();
    // 30 concurrent claims of 100 fen against 1,000 fen: they share
    // batches, exactly 10 fit, the rest are refused without effect.
    let attempts: Vec<_> = (0..30)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .submit(transfer(
                        "P1",
                        BudgetAvailable,
                        Lapsed,
                        100,
                        &format!("c-{n}"),
                    ))
                    .await
            })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(CommandError::InsufficientBalance { account }) => {
                assert_eq!(account, "budget_available/P1");
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 10);
    // A refused command's key stays free: a later, affordable retry works.
    writer.submit(fund("P1", 100, "top-up")).await.unwrap();
    drop(writer);
    task.await.unwrap();
    assert_eq!(balance(&store, &account(BudgetAvailable, "P1")).await, 100);
    assert_eq!(balance(&store, &account(Lapsed, "P1")).await, 1_000);
    let summary = verify_store(&store, &[]).await.unwrap();
    assert_eq!(summary.entries, 12);
}

async fn many_concurrent_clients_never_overdraw_and_form_one_chain<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let config = WriterConfig {
        batch_max: 16,
        ..WriterConfig::default()
    };
    let (writer, task) = start_writer(&store, config).await;
    writer.submit(fund("P1", 50_000, "fund")).await.unwrap();
    let clients: Vec<_> = (0..32)
        .map(|client| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut ok = 0u64;
                for n in 0..25 {
                    let key = format!("c-{client}-{n}");
                    let amount = 37 + (client * 13 + n * 7) % 100;
                    match writer
                        .submit(transfer("P1", BudgetAvailable, Lapsed, amount, &key))
                        .await
                    {
                        Ok(_) => ok += amount as u64,
                        Err(CommandError::InsufficientBalance { .. }) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
                ok
            })
        })
        .collect();
    let mut moved = 0;
    for client in clients {
        moved += client.await.unwrap();
    }
    drop(writer);
    task.await.unwrap();
    let available = balance(&store, &account(BudgetAvailable, "P1")).await;
    let outstanding = balance(&store, &account(Lapsed, "P1")).await;
    assert!(available >= 0);
    assert_eq!(outstanding as u64, moved);
    assert_eq!(available + outstanding, 50_000);
    verify_store(&store, &[]).await.unwrap();
}

async fn two_writers_on_one_database_form_one_gapless_chain<S: Store>(store: S, db: &TestDb) {
    let (writer_a, task_a) = start_writer(&store, WriterConfig::default()).await;
    // A second store with its own pool, as another app instance would have.
    let second_store = S::open(db.url()).await.expect("second connection");
    let (writer_b, task_b) = start_writer(&second_store, WriterConfig::default()).await;
    writer_a
        .submit(fund("P1", 1_000_000, "fund"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (name, writer) in [("a", writer_a.clone()), ("b", writer_b.clone())] {
        for client in 0..8 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..25 {
                    writer
                        .submit(transfer(
                            "P1",
                            BudgetAvailable,
                            Lapsed,
                            1,
                            &format!("{name}-{client}-{n}"),
                        ))
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    drop((writer_a, writer_b));
    task_a.await.unwrap();
    task_b.await.unwrap();
    let summary = verify_store(&store, &[]).await.unwrap();
    assert_eq!(summary.entries, 1 + 2 * 8 * 25);
    assert_eq!(balance(&store, &account(Lapsed, "P1")).await, 400);
    second_store.close().await;
}

async fn the_database_refuses_update_and_delete_of_ledger_rows<S: Store>(store: S, db: &TestDb) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 500, "fund")).await.unwrap();
    drop(writer);
    task.await.unwrap();
    voucher_ledger::service::engine::sign_checkpoint(
        &store,
        &voucher_ledger::ledger::checkpoint::KeyPair::generate(),
        store.head().await.unwrap(),
    )
    .await
    .unwrap();
    let statements = [
        "UPDATE ledger_entries SET actor = 'mallory' WHERE sequence = 1",
        "DELETE FROM ledger_entries WHERE sequence = 1",
        "UPDATE ledger_postings SET amount_fen = 1 WHERE sequence = 1",
        "DELETE FROM ledger_postings WHERE sequence = 1",
        "UPDATE ledger_checkpoints SET sequence = 2",
        "DELETE FROM ledger_checkpoints",
        "UPDATE ledger_keys SET key_id = 'x'",
        "DELETE FROM ledger_keys",
    ];
    for sql in statements {
        let error = db.try_execute(sql).await.expect_err(sql);
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    if store.backend() == voucher_ledger::store::Backend::Postgres {
        for table in [
            "ledger_entries",
            "ledger_postings",
            "ledger_checkpoints",
            "ledger_keys",
        ] {
            let sql = format!("TRUNCATE {table} CASCADE");
            let error = db.try_execute(&sql).await.expect_err(&sql);
            assert!(error.contains("append-only"), "{sql}: {error}");
        }
    }
    verify_store(&store, &[]).await.unwrap();
}

async fn the_database_refuses_an_entry_that_does_not_extend_the_chain<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 500, "fund")).await.unwrap();
    drop(writer);
    task.await.unwrap();
    let zero = "0000000000000000000000000000000000000000000000000000000000000000";
    let blob = |hex: &str| match store.backend() {
        voucher_ledger::store::Backend::Sqlite => format!("X'{hex}'"),
        voucher_ledger::store::Backend::Postgres => format!("'\\x{hex}'::bytea"),
    };
    let sql = format!(
        "INSERT INTO ledger_entries (sequence, kind, body, actor, recorded_at_us, idempotency_key, \
         command_digest, prev_hash, hash) VALUES (2, 'journal', {b}, 'x', 0, 'forged', {z}, {z}, {h})",
        b = blob("0a0178"),
        z = blob(zero),
        h = blob(&"11".repeat(32)),
    );
    let error = db.try_execute(&sql).await.expect_err("forged entry");
    assert!(error.contains("extend the chain"), "{error}");
}

/// Appending is inserting, so the append-only triggers let INSERT through;
/// but a posting must belong to an entry appended in the same transaction
/// and a checkpoint must sign an existing entry's hash. Planted rows are
/// refused, and the next honest append still verifies.
async fn the_database_refuses_a_posting_or_checkpoint_outside_its_entry<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 500, "fund")).await.unwrap();
    let blob = |hex: &str| match store.backend() {
        voucher_ledger::store::Backend::Sqlite => format!("X'{hex}'"),
        voucher_ledger::store::Backend::Postgres => format!("'\\x{hex}'::bytea"),
    };
    for sequence in [1, 2, 99] {
        let sql = format!(
            "INSERT INTO ledger_postings (sequence, posting_index, account, side, amount_fen) \
             VALUES ({sequence}, 7, 'lapsed/P1', 'D', 1)"
        );
        let error = db.try_execute(&sql).await.expect_err("planted posting");
        assert!(error.contains("same transaction"), "{sequence}: {error}");
    }
    let sql = format!(
        "INSERT INTO ledger_checkpoints (sequence, head_hash, signed_at_us, key_id, signature) \
         VALUES (1, {}, 0, 'k', {})",
        blob(&"11".repeat(32)),
        blob(&"22".repeat(64))
    );
    let error = db.try_execute(&sql).await.expect_err("forged checkpoint");
    assert!(error.contains("existing entry"), "{error}");
    writer
        .submit(transfer("P1", BudgetAvailable, Lapsed, 10, "after"))
        .await
        .unwrap();
    drop(writer);
    task.await.unwrap();
    assert_eq!(verify_store(&store, &[]).await.unwrap().entries, 2);
}

async fn migrations_are_idempotent<S: Store>(store: S, _db: &TestDb) {
    assert_eq!(store.migrate().await.unwrap(), Vec::<u32>::new());
    assert_eq!(store.migrate().await.unwrap(), Vec::<u32>::new());
    assert_eq!(store.head().await.unwrap().sequence, 0);
}

async fn checkpoints_are_signed_and_verified<S: Store>(store: S, _db: &TestDb) {
    let config = WriterConfig {
        checkpoint_every_entries: 5,
        ..WriterConfig::default()
    };
    let (writer, task) = start_writer(&store, config).await;
    writer.submit(fund("P1", 10_000, "fund")).await.unwrap();
    for n in 0..11 {
        writer
            .submit(transfer(
                "P1",
                BudgetAvailable,
                Lapsed,
                10,
                &format!("t-{n}"),
            ))
            .await
            .unwrap();
    }
    drop(writer);
    task.await.unwrap();
    let checkpoints = store.checkpoints().await.unwrap();
    // Every 5 entries while running, and one at shutdown for the tail.
    assert!(checkpoints.len() >= 2, "{checkpoints:?}");
    assert_eq!(checkpoints.last().unwrap().sequence, 12);
    let summary = verify_store(&store, &[]).await.unwrap();
    assert_eq!(summary.checkpoints, checkpoints.len() as u64);
    // With a trusted key that did not sign them, verification fails.
    let stranger = voucher_ledger::ledger::checkpoint::KeyPair::generate().public_key();
    let error = verify_store(&store, &[stranger]).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no checkpoint is signed by the trusted key"),
        "{error}"
    );
}

mod issuer_keys {
    use voucher_ledger::ledger::checkpoint::KeyPair;
    use voucher_ledger::service::commands::{
        ActivateIssuerKey, Command, RevokeIssuerKey, Submission,
    };
    use voucher_ledger::service::{CommandError, WriterConfig};
    use voucher_ledger::store::Store;

    use crate::helpers::{TestDb, on_both_backends, start_writer};

    on_both_backends!(only_one_key_is_active_and_old_keys_never_sign_again);

    fn submission(key: &str, command: Command) -> Submission {
        Submission {
            actor: "test:ops".into(),
            idempotency_key: key.into(),
            command,
        }
    }

    async fn only_one_key_is_active_and_old_keys_never_sign_again<S: Store>(
        store: S,
        _db: &TestDb,
    ) {
        let (writer, task) = start_writer(&store, WriterConfig::default()).await;
        let (first, second) = (KeyPair::generate(), KeyPair::generate());
        let activate = |key: &KeyPair| {
            Command::ActivateIssuerKey(ActivateIssuerKey {
                public_key: key.public_key().to_bytes(),
            })
        };
        writer
            .submit(submission("a1", activate(&first)))
            .await
            .unwrap();
        writer
            .submit(submission("a2", activate(&second)))
            .await
            .unwrap();
        let again = writer
            .submit(submission("a3", activate(&first)))
            .await
            .unwrap_err();
        assert!(matches!(again, CommandError::KeyState { .. }), "{again:?}");
        let same = writer
            .submit(submission("a4", activate(&second)))
            .await
            .unwrap_err();
        assert!(matches!(same, CommandError::Unchanged { .. }));
        let revoke = Command::RevokeIssuerKey(RevokeIssuerKey {
            key_id: "ffffffffffffffff".into(),
            reason: "x".into(),
        });
        assert!(matches!(
            writer.submit(submission("r1", revoke)).await,
            Err(CommandError::NotFound)
        ));
        drop(writer);
        task.await.unwrap();
        let keys = store.issuer_keys().await.unwrap();
        let statuses: Vec<&str> = keys.iter().map(|k| k.status.as_str()).collect();
        assert_eq!(statuses, ["retired", "active"]);
        voucher_ledger::service::verify::verify_store(&store, &[])
            .await
            .unwrap();
    }
}

//! Tampering: with the triggers out of the way (as a database superuser
//! could do), any change to history makes `verify` fail and name the first
//! bad sequence number.

use voucher_ledger::ledger::account::AccountKind::{BudgetAvailable, Lapsed};
use voucher_ledger::service::WriterConfig;
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::store::Store;

use crate::helpers::{TestDb, fund, on_both_backends, start_writer, transfer};

on_both_backends!(
    the_verification_endpoint_reports_a_tampered_entry_by_its_sequence,
    changing_one_byte_of_a_body_is_caught_at_that_entry,
    changing_a_posting_amount_is_caught_at_that_entry,
    changing_a_stored_hash_is_caught_at_that_entry,
    rewriting_an_entry_with_a_recomputed_hash_is_caught_at_the_next_link,
    deleting_an_entry_is_caught_at_the_gap,
    deleting_the_last_entry_is_caught_by_the_head,
    swapping_two_entries_is_caught_at_the_first,
    changing_a_balance_projection_is_caught,
    changing_a_checkpoint_is_caught,
    a_planted_posting_is_found,
    a_corrupted_head_hash_or_time_is_caught,
    a_trusted_key_that_signed_no_checkpoint_vouches_for_nothing,
);

/// Ten entries: a funding and nine transfers; a checkpoint at the end.
async fn ten_entries<S: Store>(store: &S) {
    let (writer, task) = start_writer(store, WriterConfig::default()).await;
    writer.submit(fund("P1", 10_000, "fund")).await.unwrap();
    for n in 2..=10 {
        writer
            .submit(transfer(
                "P1",
                BudgetAvailable,
                Lapsed,
                n * 10,
                &format!("t-{n}"),
            ))
            .await
            .unwrap();
    }
    drop(writer);
    task.await.unwrap();
    verify_store(store, &[])
        .await
        .expect("untouched ledger verifies");
}

async fn failing_sequence<S: Store>(store: &S) -> Option<u64> {
    let error = verify_store(store, &[])
        .await
        .expect_err("tampered ledger must fail");
    error.sequence()
}

async fn changing_one_byte_of_a_body_is_caught_at_that_entry<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    let mut body = store.entries(5, 1).await.unwrap()[0].body.clone();
    let last = body.len() - 1;
    body[last] ^= 0x01;
    db.tamper(
        &["UPDATE ledger_entries SET body = $1 WHERE sequence = 5"],
        Some(body),
    )
    .await;
    assert_eq!(failing_sequence(&store).await, Some(5));
}

async fn changing_a_posting_amount_is_caught_at_that_entry<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &["UPDATE ledger_postings SET amount_fen = amount_fen + 1 WHERE sequence = 6 AND posting_index = 0"],
        None,
    )
    .await;
    assert_eq!(failing_sequence(&store).await, Some(6));
}

async fn changing_a_stored_hash_is_caught_at_that_entry<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &["UPDATE ledger_entries SET hash = $1 WHERE sequence = 7"],
        Some(vec![0xab; 32]),
    )
    .await;
    assert_eq!(failing_sequence(&store).await, Some(7));
}

async fn rewriting_an_entry_with_a_recomputed_hash_is_caught_at_the_next_link<S: Store>(
    store: S,
    db: &TestDb,
) {
    ten_entries(&store).await;
    let mut entry = store.entries(5, 1).await.unwrap().remove(0);
    let last = entry.body.len() - 1;
    entry.body[last] ^= 0x01;
    let rehashed = entry.compute_hash();
    db.tamper(
        &["UPDATE ledger_entries SET body = $1 WHERE sequence = 5"],
        Some(entry.body.clone()),
    )
    .await;
    db.tamper(
        &["UPDATE ledger_entries SET hash = $1 WHERE sequence = 5"],
        Some(rehashed.to_vec()),
    )
    .await;
    // Entry 5 is self-consistent now; entry 6 still links to the old hash.
    assert_eq!(failing_sequence(&store).await, Some(6));
}

async fn deleting_an_entry_is_caught_at_the_gap<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &[
            "DELETE FROM ledger_postings WHERE sequence = 4",
            "DELETE FROM ledger_entries WHERE sequence = 4",
        ],
        None,
    )
    .await;
    assert_eq!(failing_sequence(&store).await, Some(4));
}

async fn deleting_the_last_entry_is_caught_by_the_head<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &[
            "DELETE FROM ledger_checkpoints",
            "DELETE FROM ledger_postings WHERE sequence = 10",
            "DELETE FROM ledger_entries WHERE sequence = 10",
        ],
        None,
    )
    .await;
    assert_eq!(failing_sequence(&store).await, Some(10));
}

async fn swapping_two_entries_is_caught_at_the_first<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    let moves = [(3, 1_000_003), (8, 3), (1_000_003, 8)];
    let mut statements = Vec::new();
    for (from, to) in moves {
        statements.push(format!(
            "UPDATE ledger_postings SET sequence = {to} WHERE sequence = {from}"
        ));
        statements.push(format!(
            "UPDATE ledger_entries SET sequence = {to} WHERE sequence = {from}"
        ));
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    db.tamper(&statements, None).await;
    assert_eq!(failing_sequence(&store).await, Some(3));
}

async fn changing_a_balance_projection_is_caught<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &["UPDATE account_balances SET balance_fen = balance_fen + 1 WHERE account = 'lapsed/P1'"],
        None,
    )
    .await;
    let error = verify_store(&store, &[])
        .await
        .expect_err("projection mismatch");
    assert!(error.to_string().contains("lapsed/P1"), "{error}");
    assert_eq!(
        error.sequence(),
        Some(10),
        "names the last entry that touched the account"
    );
}

async fn changing_a_checkpoint_is_caught<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    let checkpoint = store
        .latest_checkpoint()
        .await
        .unwrap()
        .expect("final checkpoint");
    assert_eq!(checkpoint.sequence, 10);
    db.tamper(
        &["UPDATE ledger_checkpoints SET head_hash = $1"],
        Some(vec![0x11; 32]),
    )
    .await;
    let error = verify_store(&store, &[]).await.expect_err("bad checkpoint");
    assert_eq!(error.sequence(), Some(10));
    assert!(error.to_string().contains("checkpoint"), "{error}");
}

/// A posting planted under a sequence not yet appended (as someone with the
/// triggers off could): verify names it, before the next honest append
/// makes an honest entry look tampered.
async fn a_planted_posting_is_found<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(
        &[
            "INSERT INTO ledger_postings (sequence, posting_index, account, side, amount_fen) \
           VALUES (11, 0, 'lapsed/P1', 'D', 5)",
        ],
        None,
    )
    .await;
    let error = verify_store(&store, &[])
        .await
        .expect_err("planted posting");
    assert!(
        error
            .to_string()
            .contains("posting 11/0 belongs to no entry"),
        "{error}"
    );
}

async fn a_corrupted_head_hash_or_time_is_caught<S: Store>(store: S, db: &TestDb) {
    ten_entries(&store).await;
    db.tamper(&["UPDATE ledger_head SET hash = $1"], Some(vec![0x5a; 32]))
        .await;
    let error = verify_store(&store, &[])
        .await
        .expect_err("corrupt head hash");
    assert!(
        error.to_string().contains("chain head at 10: its hash"),
        "{error}"
    );
    assert_eq!(error.sequence(), Some(10));
    let hash = store.entries(10, 1).await.unwrap()[0].hash.to_vec();
    db.tamper(&["UPDATE ledger_head SET hash = $1"], Some(hash))
        .await;
    verify_store(&store, &[]).await.unwrap();
    db.tamper(
        &["UPDATE ledger_head SET recorded_at_us = recorded_at_us + 1"],
        None,
    )
    .await;
    let error = verify_store(&store, &[])
        .await
        .expect_err("corrupt head time");
    assert!(
        error.to_string().contains("chain head at 10: its time"),
        "{error}"
    );
}

/// `verify --trusted-key K` with no checkpoint signed by K would vouch for
/// a ledger rewritten whole with its checkpoints dropped.
async fn a_trusted_key_that_signed_no_checkpoint_vouches_for_nothing<S: Store>(
    store: S,
    db: &TestDb,
) {
    ten_entries(&store).await;
    let key = store.ledger_keys().await.unwrap().remove(0).public_key;
    verify_store(&store, &[key]).await.unwrap();
    db.tamper(&["DELETE FROM ledger_checkpoints"], None).await;
    verify_store(&store, &[]).await.unwrap();
    let error = verify_store(&store, &[key])
        .await
        .expect_err("no checkpoint");
    assert!(
        error
            .to_string()
            .contains("no checkpoint is signed by the trusted key"),
        "{error}"
    );
}

async fn the_verification_endpoint_reports_a_tampered_entry_by_its_sequence<S: Store>(
    store: S,
    db: &TestDb,
) {
    let world = crate::api_client::World::new(store.clone()).await;
    let auditor = world.bearer("auditor");
    let sound = world.api.get("/api/v1/ledger/verification", &auditor).await;
    assert_eq!(sound.status, axum::http::StatusCode::OK, "{:?}", sound.body);
    assert_eq!(sound.body["verified"], true, "{:?}", sound.body);
    let head = store.head().await.unwrap().sequence;
    assert_eq!(sound.body["entries"], head);

    let mut body = store.entries(3, 1).await.unwrap()[0].body.clone();
    let last = body.len() - 1;
    body[last] ^= 0x01;
    db.tamper(
        &["UPDATE ledger_entries SET body = $1 WHERE sequence = 3"],
        Some(body),
    )
    .await;
    let broken = world.api.get("/api/v1/ledger/verification", &auditor).await;
    assert_eq!(
        broken.status,
        axum::http::StatusCode::OK,
        "{:?}",
        broken.body
    );
    assert_eq!(broken.body["verified"], false, "{:?}", broken.body);
    assert_eq!(broken.body["failed_at_sequence"], 3);
    assert!(
        broken.body["problem"]
            .as_str()
            .is_some_and(|p| !p.is_empty())
    );
}

//! A command whose write the database refuses fails alone: the writer
//! splits its batch until the failing command stands alone and commits
//! every batch-mate (both backends, through the store's fault hook and
//! through a value Postgres itself refuses).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use voucher_ledger::service::commands::DefineZone;

use voucher_ledger::ledger::account::AccountKind::{BudgetAvailable, Lapsed};
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::service::{CommandError, WriterConfig};
use voucher_ledger::store::Store;

use crate::helpers::{TestDb, account, balance, fund, on_both_backends, start_writer, transfer};

on_both_backends!(
    a_command_whose_write_fails_fails_alone_and_its_batch_mates_commit,
    poisoning_load_fails_no_clean_write,
    a_value_the_database_refuses_is_answered_to_its_sender_alone,
    nul_senders_over_http_fail_no_clean_request,
);

async fn a_command_whose_write_fails_fails_alone_and_its_batch_mates_commit<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 1_000_000, "fund")).await.unwrap();
    store.write_faults().fail_appends_of("poison");
    // Queued together, so they share the writer's batches; the poisoned
    // command sits in the middle.
    let submissions = (0..41).map(|n| {
        let key = if n == 20 {
            "poison".to_string()
        } else {
            format!("clean-{n}")
        };
        let writer = writer.clone();
        tokio::spawn(async move {
            let result = writer
                .submit(transfer("P1", BudgetAvailable, Lapsed, 100, &key))
                .await;
            (key, result)
        })
    });
    let handles: Vec<_> = submissions.collect();
    let mut committed = 0;
    for handle in handles {
        let (key, result) = handle.await.unwrap();
        if key == "poison" {
            let error = result.unwrap_err();
            assert!(matches!(error, CommandError::Internal), "{key}: {error:?}");
        } else {
            assert!(result.is_ok(), "{key}: {result:?}");
            committed += 1;
        }
    }
    assert_eq!(committed, 40);
    drop(writer);
    task.await.unwrap();
    let summary = verify_store(&store, &[]).await.unwrap();
    assert_eq!(summary.entries, 41, "the fund and the 40 clean transfers");
    assert_eq!(balance(&store, &account(Lapsed, "P1")).await, 40 * 100);
}

/// Clients that send failing writes alongside clients that send clean
/// ones, for a bounded time: no clean write fails.
async fn poisoning_load_fails_no_clean_write<S: Store>(store: S, _db: &TestDb) {
    const CLIENTS: u64 = 4;
    const FOR: Duration = Duration::from_secs(3);
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer
        .submit(fund("P1", 1_000_000_000, "fund"))
        .await
        .unwrap();
    let clean_ok = Arc::new(AtomicU64::new(0));
    let poison_refused = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS * 2 {
        let poisoner = client % 2 == 0;
        let writer = writer.clone();
        let faults = store.write_faults().clone();
        let clean_ok = clean_ok.clone();
        let poison_refused = poison_refused.clone();
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while started.elapsed() < FOR && n < 10_000 {
                n += 1;
                let key = format!("{client}-{n}");
                if poisoner {
                    faults.fail_appends_of(&key);
                }
                let result = writer
                    .submit(transfer("P1", BudgetAvailable, Lapsed, 1, &key))
                    .await;
                match (poisoner, result) {
                    (false, Ok(_)) => {
                        clean_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    (false, Err(error)) => panic!("clean write {key} failed: {error:?}"),
                    (true, Err(CommandError::Internal)) => {
                        poison_refused.fetch_add(1, Ordering::Relaxed);
                    }
                    (true, other) => panic!("poisoned write {key}: {other:?}"),
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    drop(writer);
    task.await.unwrap();
    let clean = clean_ok.load(Ordering::Relaxed);
    assert!(clean > 0 && poison_refused.load(Ordering::Relaxed) > 0);
    verify_store(&store, &[]).await.unwrap();
    assert_eq!(
        balance(&store, &account(Lapsed, "P1")).await,
        i64::try_from(clean).unwrap()
    );
}

/// A NUL character in a zone name: Postgres refuses it (SQLSTATE 22021) and
/// the writer answers `input_refused` to that submission only; SQLite
/// stores it. Either way the batch-mates commit. (The HTTP boundary
/// refuses NUL before it reaches the writer: see the text rule tests.)
async fn a_value_the_database_refuses_is_answered_to_its_sender_alone<S: Store>(
    store: S,
    _db: &TestDb,
) {
    use voucher_ledger::service::{Command, Submission};
    let (writer, task) = start_writer(&store, WriterConfig::default()).await;
    writer.submit(fund("P1", 1_000_000, "fund")).await.unwrap();
    let nul = Submission {
        actor: "test:admin".into(),
        idempotency_key: "nul".into(),
        command: Command::DefineZone(DefineZone {
            name: "新城\u{0}区".into(),
            division: voucher_ledger::domain::DivisionCode::parse("330902").unwrap(),
        }),
    };
    let clean: Vec<Submission> = (0..10)
        .map(|n| transfer("P1", BudgetAvailable, Lapsed, 100, &format!("c-{n}")))
        .collect();
    let nul_writer = writer.clone();
    let nul_result = tokio::spawn(async move { nul_writer.submit(nul).await });
    let clean_results: Vec<_> = clean
        .into_iter()
        .map(|submission| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.submit(submission).await })
        })
        .collect();
    for result in clean_results {
        result.await.unwrap().unwrap();
    }
    let nul_result = nul_result.await.unwrap();
    match store.backend() {
        voucher_ledger::store::Backend::Postgres => {
            let error = nul_result.unwrap_err();
            assert_eq!(error.code(), "input_refused", "{error:?}");
        }
        voucher_ledger::store::Backend::Sqlite => {
            nul_result.unwrap();
        }
    }
    drop(writer);
    task.await.unwrap();
    verify_store(&store, &[]).await.unwrap();
}

/// Through the API: clients sending NUL in a token name alongside clients
/// making clean changes, for a bounded time: every NUL request is a 422
/// naming the field, every clean one succeeds (both backends).
async fn nul_senders_over_http_fail_no_clean_request<S: Store>(store: S, _db: &TestDb) {
    use axum::http::StatusCode;
    const FOR: Duration = Duration::from_secs(2);
    let world = crate::api_client::World::new(store).await;
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..8 {
        let api = world.api.clone();
        let who = world.bearer(if client % 2 == 0 {
            "provider_a"
        } else {
            "admin"
        });
        clients.push(tokio::spawn(async move {
            let (mut clean, mut refused) = (0, 0);
            let mut n = 0;
            while started.elapsed() < FOR && n < 500 {
                n += 1;
                let key = format!("{client}-{n}");
                if client % 2 == 0 {
                    let body = serde_json::json!({"name": format!("bad\u{0}{n}"), "ttl_days": 1});
                    let reply = api.post("/api/v1/me/tokens", &who, body, &key).await;
                    reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "text_control_character");
                    refused += 1;
                } else {
                    let body = serde_json::json!({"name": format!("新城{client}-{n}"), "division": "330902"});
                    let reply = api.post("/api/v1/zones", &who, body, &key).await;
                    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
                    clean += 1;
                }
            }
            (clean, refused)
        }));
    }
    let (mut clean, mut refused) = (0, 0);
    for client in clients {
        let (c, r) = client.await.unwrap();
        clean += c;
        refused += r;
    }
    assert!(clean > 0 && refused > 0);
    assert_eq!(world.count_entries("zone_defined").await, clean);
    assert_eq!(
        world.count_entries("api_token_created").await,
        7,
        "only the seeded tokens"
    );
    verify_store(&world.store, &[]).await.unwrap();
}

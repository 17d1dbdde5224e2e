//! Witnesses (issue 20 point 6), on both backends: a real `witness serve`
//! process cosigns the log's checkpoints while they extend each other,
//! answers 409 to a stale size and 422 to rewritten history, keeps its
//! state across a restart; `/log/checkpoint` publishes the cosignature;
//! `verify --witness-key` fails once the tail is rewritten and re-signed.

use std::path::Path;

use tokio::process::Child;
use voucher_ledger::ledger::cosignature;
use voucher_ledger::ledger::note;
use voucher_ledger::service::transparency::{
    Publication, published_checkpoint, sign_log_checkpoint,
};
use voucher_ledger::service::verify::verify_witnessed;
use voucher_ledger::service::witness_push::{PushError, WitnessSizes, WitnessTarget, push};
use voucher_ledger::store::Store;

use crate::api_client::{As, LOG_ORIGIN, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(a_witness_cosigns_what_extends_and_refuses_the_rest);

const WITNESS: &str = "audit.test/witness";

/// Starts `witness serve` for the world's log; returns the process and the
/// target (URL and verifier key, read from what it prints).
async fn witness<S: Store>(world: &World<S>, dir: &Path) -> (Child, WitnessTarget) {
    let log_vkey = note::vkey(LOG_ORIGIN, &world.ledger_key.public_key());
    let (child, target) = crate::processes::start_witness(dir, WITNESS, &log_vkey).await;
    let target = WitnessTarget::parse(&target).unwrap();
    assert_eq!(target.name, WITNESS);
    (child, target)
}

async fn a_witness_cosigns_what_extends_and_refuses_the_rest<S: Store>(store: S, db: &TestDb) {
    let world = World::new(store).await;
    let store = &world.store;
    let dir = tempfile::tempdir().unwrap();
    let (mut process, target) = witness(&world, dir.path()).await;
    let client = reqwest::Client::new();
    let sizes = WitnessSizes::default();
    let required = [(target.name.clone(), target.key)];

    // Two checkpoints, each extending the last: both cosigned.
    world.add_entries("a", 10).await;
    let first = sign_log_checkpoint(store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    push(store, &client, &target, &sizes, &first)
        .await
        .expect("first cosigned");
    world.add_entries("b", 10).await;
    let second = sign_log_checkpoint(store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    // Signed, not yet cosigned: a log with this witness still publishes
    // the first.
    let witnessed = Publication {
        origin: LOG_ORIGIN.into(),
        witnesses: vec![WITNESS.into()],
    };
    let unwitnessed = Publication {
        origin: LOG_ORIGIN.into(),
        witnesses: Vec::new(),
    };
    let published = |log| async move {
        published_checkpoint(store, &log)
            .await
            .unwrap()
            .map(|checkpoint| checkpoint.note)
    };
    assert_eq!(published(witnessed.clone()).await, Some(first.note.clone()));
    assert_eq!(
        published(unwitnessed.clone()).await,
        Some(second.note.clone())
    );
    push(store, &client, &target, &sizes, &second)
        .await
        .expect("second cosigned");
    assert_eq!(
        published(witnessed.clone()).await,
        Some(second.note.clone())
    );
    let two_witnesses = Publication {
        witnesses: vec![WITNESS.into(), "audit.test/absent".into()],
        ..witnessed
    };
    assert_eq!(
        published(two_witnesses).await,
        None,
        "one witness never cosigned"
    );

    // Published with the cosignature; checked with the witness's key.
    let (_, _, published) = world.api.download("/log/checkpoint", &As::Nobody).await;
    let published = note::parse(std::str::from_utf8(&published).unwrap()).unwrap();
    assert!(published.signed_by(LOG_ORIGIN, &world.ledger_key.public_key()));
    assert!(cosignature::cosigned_at(&published, WITNESS, &target.key).is_some());
    verify_witnessed(store, &[], &required)
        .await
        .expect("cosigned and consistent");
    // A checkpoint signed under another origin (`checkpoint --log-origin`
    // given another name) is never this log's.
    world.add_entries("o", 1).await;
    sign_log_checkpoint(store, &world.ledger_key, "other.test/log")
        .await
        .unwrap()
        .unwrap();
    let unwitnessed = Publication {
        origin: LOG_ORIGIN.into(),
        witnesses: Vec::new(),
    };
    let newest = published_checkpoint(store, &unwitnessed).await.unwrap();
    assert_eq!(
        newest.map(|checkpoint| checkpoint.note),
        Some(second.note.clone())
    );

    // Stale: a process of the log that thinks the witness is still at 0.
    // It is told the size (409) and goes on from there: the same answer.
    let fresh = WitnessSizes::default();
    push(store, &client, &target, &fresh, &second)
        .await
        .expect("caught up after a 409");
    let stale = client
        .post(format!("{}/add-checkpoint", target.url))
        .body(format!("old {}\n\n{}", first.tree_size, second.note))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 409);
    assert_eq!(
        stale.text().await.unwrap().trim(),
        second.tree_size.to_string()
    );

    // The witness's state survives a restart.
    process.kill().await.unwrap();
    let (_process, target) = witness(&world, dir.path()).await;
    let stale = client
        .post(format!("{}/add-checkpoint", target.url))
        .body(format!("old 0\n\n{}", second.note))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status().as_u16(),
        409,
        "remembered across the restart"
    );

    // Someone with the database rewrites entry 3 and everything after,
    // rebuilds the tree, drops the later signed checkpoints and their
    // cosignatures, and signs the rewritten tree with the ledger key.
    db.tamper(
        &["UPDATE ledger_entries SET actor = 'rewritten' WHERE sequence = 3"],
        None,
    )
    .await;
    db.rehash_from(store, 3).await;
    db.tamper(
        &[
            "DELETE FROM log_cosignatures",
            "DELETE FROM log_checkpoints",
        ],
        None,
    )
    .await;
    world.add_entries("c", 5).await;
    let forged = sign_log_checkpoint(store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    // The ledger alone now verifies; the witness refuses the rewritten tree.
    verify_witnessed(store, &[], &[])
        .await
        .expect("consistent on its own");
    let refused = push(store, &client, &target, &sizes, &forged).await;
    assert!(
        matches!(refused, Err(PushError::Refused { status: 422, .. })),
        "{refused:?}"
    );
    // And verify, asked to require the witness, fails.
    let failed = verify_witnessed(store, &[], &required).await.unwrap_err();
    assert!(
        failed.to_string().contains("not cosigned by witness"),
        "{failed}"
    );
    // So does the command an auditor runs, given the witness's key.
    let vkey = cosignature::witness_vkey(&target.name, &target.key);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .args(["verify", "--database-url", db.url(), "--witness-key", &vkey])
        .env_remove("VOUCHER_DATABASE_URL")
        .output()
        .expect("verify runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{said}");
    assert!(said.contains("not cosigned by witness"), "{said}");
}

//! Receipts people keep (issue 20 point 5), on both backends: the voucher
//! holder downloads the receipt of its voucher's issue; `voucher-ledger
//! receipt verify` (the binary, offline) accepts it with the log's key and
//! refuses it after one byte of its leaf, proof or checkpoint changes, under
//! another key, or when a witness that did not cosign is required.

use std::path::Path;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::ledger::{cosignature, note};
use voucher_ledger::service::transparency::sign_log_checkpoint;
use voucher_ledger::store::Store;

use crate::api_client::{As, LOG_ORIGIN};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    a_receipt_verifies_offline_and_not_once_changed,
    a_payout_receipt_follows_the_payout_to_the_bank_and_stays_its_providers
);

/// Runs `receipt verify` on `receipt`: (exit code, stdout).
fn verify(dir: &Path, receipt: &Value, keys: &[&str]) -> (i32, String) {
    let file = dir.join("receipt.json");
    std::fs::write(&file, serde_json::to_vec(receipt).unwrap()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .args(["receipt", "verify"])
        .arg(&file)
        .args(keys)
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `receipt` with one byte of its base64 field `field` (or element
/// `index` of the proof) changed.
fn bent(receipt: &Value, field: &str, index: Option<usize>) -> Value {
    let mut out = receipt.clone();
    let slot = match index {
        Some(i) => &mut out[field][i],
        None => &mut out[field],
    };
    let mut bytes = BASE64.decode(slot.as_str().unwrap()).unwrap();
    bytes[3] ^= 1;
    *slot = Value::String(BASE64.encode(bytes));
    out
}

async fn a_receipt_verifies_offline_and_not_once_changed<S: Store>(store: S, _db: &TestDb) {
    let scene = crate::settlement::setting(store, 1).await;
    let world = &scene.world;
    let voucher = scene.vouchers[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/vouchers/{voucher}/receipt");
    if world
        .store
        .latest_log_checkpoint(LOG_ORIGIN)
        .await
        .unwrap()
        .is_none()
    {
        world
            .api
            .get(&path, &scene.firms[0].bearer())
            .await
            .expect_error(StatusCode::CONFLICT, "receipt_not_ready");
    }
    sign_log_checkpoint(&world.store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap();
    let reply = world.api.get(&path, &scene.firms[0].bearer()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let receipt = reply.body;
    assert_eq!(receipt["format"], "voucher-ledger-receipt/1");
    // Someone else's voucher, or nobody: no receipt.
    world
        .api
        .get(&path, &world.bearer("enterprise_b"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        world.api.get(&path, &As::Nobody).await.status,
        StatusCode::UNAUTHORIZED
    );

    let dir = tempfile::tempdir().unwrap();
    let log_key = format!(
        "--log-key={}",
        note::vkey(LOG_ORIGIN, &world.ledger_key.public_key())
    );
    let (code, said) = verify(dir.path(), &receipt, &[&log_key]);
    assert_eq!(code, 0, "{said}");
    assert!(said.starts_with("ok: entry "), "{said}");
    assert!(said.contains("(voucher_issued"), "{said}");
    // One byte changed anywhere: refused (exit 3).
    let mut changed = vec![bent(&receipt, "leaf", None)];
    for i in 0..receipt["proof"].as_array().unwrap().len() {
        changed.push(bent(&receipt, "proof", Some(i)));
    }
    let mut checkpoint = receipt.clone();
    let text = checkpoint["checkpoint"].as_str().unwrap().to_string();
    let root_line = text.lines().nth(2).unwrap().to_string();
    let mut root = BASE64.decode(&root_line).unwrap();
    root[0] ^= 1;
    checkpoint["checkpoint"] = Value::String(text.replacen(&root_line, &BASE64.encode(root), 1));
    changed.push(checkpoint);
    for receipt in &changed {
        let (code, said) = verify(dir.path(), receipt, &[&log_key]);
        assert_eq!(code, 3, "{said}");
        assert!(said.starts_with("FAILED"), "{said}");
    }
    // Another log's key; a witness that never cosigned.
    let stranger = KeyPair::generate();
    let other_log = format!(
        "--log-key={}",
        note::vkey(LOG_ORIGIN, &stranger.public_key())
    );
    assert_eq!(verify(dir.path(), &receipt, &[&other_log]).0, 3);
    let witness = format!(
        "--witness-key={}",
        cosignature::witness_vkey("audit.test/w", &stranger.public_key())
    );
    let (code, said) = verify(dir.path(), &receipt, &[&log_key, &witness]);
    assert_eq!(code, 3, "{said}");
    assert!(said.contains("not cosigned"), "{said}");
}

/// The receipt at `path` for `who` once a checkpoint covers the newest
/// entry; checked offline with the log's key.
async fn fresh_receipt<S: Store>(
    world: &crate::api_client::World<S>,
    path: &str,
    who: &As,
    dir: &Path,
) -> Value {
    sign_log_checkpoint(&world.store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap();
    let reply = world.api.get(path, who).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let log_key = format!(
        "--log-key={}",
        note::vkey(LOG_ORIGIN, &world.ledger_key.public_key())
    );
    let (code, said) = verify(dir, &reply.body, &[&log_key]);
    assert_eq!(code, 0, "{said}");
    reply.body
}

/// The leaf's entry kind.
fn leaf_kind(receipt: &Value) -> String {
    let leaf = BASE64.decode(receipt["leaf"].as_str().unwrap()).unwrap();
    let (_, kind, _) = voucher_ledger::ledger::merkle::parse_leaf_record(&leaf).unwrap();
    kind.to_string()
}

async fn a_payout_receipt_follows_the_payout_to_the_bank_and_stays_its_providers<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (scene, _) = crate::settlement::confirmed(store, 1, "payout-receipt-").await;
    let world = &scene.world;
    let period = crate::settlement::this_quarter();
    let run = crate::settlement::prepare(world, &world.bearer("finance"), &period, "prep").await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let approved = crate::settlement::approve(world, &scene.checker, &run.body, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let payout = approved.body["payouts"][0].clone();
    let reference = payout["reference"].as_str().unwrap();
    let path = format!("/api/v1/payouts/{reference}/receipt");
    let dir = tempfile::tempdir().unwrap();

    // Fixed at approval: the provider's staff hold the receipt of it.
    let pending = fresh_receipt(world, &path, &scene.provider.staff, dir.path()).await;
    assert_eq!(leaf_kind(&pending), "settlement_approved");
    assert!(pending["subject"].as_str().unwrap().contains("pending"));
    let run_receipt = world
        .api
        .get(
            &format!(
                "/api/v1/settlement-runs/{}/receipt",
                run.body["id"].as_str().unwrap()
            ),
            &world.bearer("finance"),
        )
        .await;
    assert_eq!(run_receipt.body["sequence"], pending["sequence"]);
    // The proof API finds the same entry by the reference, for anyone.
    let proof = world
        .api
        .get(
            &format!("/api/v1/log/inclusion?payout={reference}"),
            &As::Nobody,
        )
        .await;
    assert_eq!(proof.status, StatusCode::OK, "{:?}", proof.body);
    assert_eq!(proof.body["sequence"], pending["sequence"]);

    // Paid: the receipt moves on to the entry that recorded the bank's answer.
    let account = payout["account_number"].as_str().unwrap();
    let fen = payout["net_fen"].as_i64().unwrap();
    let amount = format!("{}.{:02}", fen / 100, fen % 100);
    let answer = [format!("{reference},{account},{amount},成功,")];
    let imported = crate::settlement::bank_return(world, &run.body, &answer, "bank").await;
    assert_eq!(imported.status, StatusCode::OK, "{:?}", imported.body);
    let paid = fresh_receipt(world, &path, &world.bearer("finance"), dir.path()).await;
    assert_eq!(leaf_kind(&paid), "payouts_recorded");
    assert!(paid["sequence"].as_u64() > pending["sequence"].as_u64());
    assert!(paid["subject"].as_str().unwrap().contains("paid"));

    // Another provider's staff, an enterprise, nobody: not theirs.
    let other = crate::redemption::counter(
        world,
        crate::redemption::provider_fields(
            &crate::redemption::uscc(41),
            &crate::redemption::uscc(42),
            "5,000,000",
        ),
        "approved",
    )
    .await;
    world
        .api
        .get(&path, &other.staff)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        world.api.get(&path, &scene.firms[0].bearer()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        world.api.get(&path, &As::Nobody).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An unknown or absurd reference: 404, never a 5xx.
    for unknown in ["VLNOSUCHREFERENCE", &"X".repeat(500)] {
        world
            .api
            .get(
                &format!("/api/v1/payouts/{unknown}/receipt"),
                &world.bearer("finance"),
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
}

//! Verification for anyone: `POST /api/v1/tokens/verify` with no login,
//! against the keys this deployment publishes, on both backends.

use axum::http::StatusCode;
use chrono::Days;
use serde_json::{Value, json};
use voucher_ledger::domain::Timestamp;
use voucher_ledger::ledger::checkpoint::KeyPair;
use voucher_ledger::store::Store;
use voucher_ledger::token::presentation::present;
use voucher_ledger::token::voucher::sign;

use crate::api_client::{As, World};
use crate::helpers::{TestDb, on_both_backends, sample_voucher_claims};

on_both_backends!(anyone_verifies_a_token_and_learns_its_key_status_and_contents);

async fn anyone_verifies_a_token_and_learns_its_key_status_and_contents<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let issuer = world.activate_issuer_key().await;
    let today = Timestamp::now().cst_date();
    let mut claims = sample_voucher_claims(issuer.signing_key());
    claims.valid_from = today - Days::new(1);
    claims.valid_until = today + Days::new(30);
    let current = sign(&claims, issuer.signing_key());
    claims.valid_until = today - Days::new(1);
    let expired = sign(&claims, issuer.signing_key());

    let report = world.verify(&current).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["signature_valid"], true);
    assert_eq!(report["key_id"], issuer.key_id());
    assert_eq!(report["key_status"], "active");
    assert_eq!(report["voucher"]["enterprise_uscc"], "91330902MA00000153");
    assert_eq!(report["voucher"]["face_value_yuan"], "5000.00");
    assert_eq!(report["checked_on"], today.to_string());

    // A rotating presentation of it, made now by the same key.
    let seconds = Timestamp::now().as_micros() / 1_000_000;
    let shown = present(&current, issuer.signing_key(), [7; 16], seconds, 120).unwrap();
    let report = world.verify(&shown).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["kind"], "presentation");
    assert_eq!(report["presentation_key_id"], issuer.key_id());
    assert_eq!(report["voucher"]["face_value_yuan"], "5000.00");
    let stale = present(&current, issuer.signing_key(), [7; 16], seconds - 600, 120).unwrap();
    assert_eq!(world.verify(&stale).await["code"], "presentation_expired");

    let report = world.verify(&expired).await;
    assert_eq!(
        (report["valid"].clone(), report["code"].clone()),
        (json!(false), json!("voucher_expired"))
    );
    assert_eq!(report["signature_valid"], true);

    // One character changed: the signature no longer covers it.
    let mut tampered = current.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    let report = world.verify(std::str::from_utf8(&tampered).unwrap()).await;
    assert_eq!(report["valid"], false);
    assert_ne!(report["code"], Value::Null);
    assert_eq!(report["voucher"], Value::Null);

    let stranger = KeyPair::generate();
    let mut foreign = sample_voucher_claims(stranger.signing_key());
    foreign.valid_until = claims.valid_until;
    let report = world.verify(&sign(&foreign, stranger.signing_key())).await;
    assert_eq!(report["code"], "token_unknown_key");
    assert_eq!(report["key_status"], "unknown");

    // Revoked through the admin API: its vouchers are refused from then on.
    let revoked = world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{}/revoke", issuer.key_id()),
            &world.bearer("admin"),
            json!({"reason": "key file leaked"}),
            "revoke",
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let report = world.verify(&current).await;
    assert_eq!(report["code"], "token_key_revoked");
    assert_eq!(report["key_status"], "revoked");
    assert_eq!(report["voucher"], Value::Null);
    assert!(!report["message_zh"].as_str().unwrap().is_empty());

    // A request without a token is refused, and nothing is recorded.
    let before = world.store.head().await.unwrap().sequence;
    let empty = world
        .api
        .send(
            "POST",
            "/api/v1/tokens/verify",
            &As::Nobody,
            Some(json!({"token": " "})),
            None,
        )
        .await;
    assert_eq!(
        (empty.status, empty.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "token_required")
    );
    assert_eq!(world.store.head().await.unwrap().sequence, before);
}

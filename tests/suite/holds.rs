//! Holds at the counter (docs/redemption-lifecycle.md "Holds"): a provider's
//! preview of a fresh presentation holds the voucher for it, so its clerk
//! may redeem after the presentation's minute has passed; nobody else may
//! hold or redeem meanwhile; a hold ends by redemption, release or time,
//! and `verify` checks every hold against its entries. Both backends.

use axum::http::StatusCode;
use serde_json::{Value, json};
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::store::Store;

use crate::api_client::World;
use crate::helpers::{TestDb, on_both_backends};
use crate::redemption::{Counter, counter, present, provider_fields, setting, uscc};

on_both_backends!(
    a_hold_lets_its_clerk_redeem_after_the_code_went_stale_and_keeps_others_out,
    racing_holds_from_two_providers_give_the_voucher_to_one,
    no_redemption_slips_in_under_another_providers_hold,
    a_typed_short_code_works_like_the_scan_once_and_guessing_is_limited,
);

/// A presentation of `voucher` made `age` seconds ago that lives
/// `lifetime` seconds, signed with the active issuer key as the server
/// would sign one.
pub(crate) async fn presentation_aged<S: Store>(
    world: &World<S>,
    voucher: &Value,
    age: i64,
    lifetime: i64,
) -> String {
    use rand_core::{OsRng, RngCore};
    let keys = world.store.issuer_keys().await.unwrap();
    let active = keys
        .iter()
        .find(|k| k.status == voucher_ledger::domain::key_status::KeyStatus::Active)
        .unwrap();
    let key = world
        .issuer_keys
        .signing_key(&active.key_id)
        .unwrap()
        .unwrap();
    let mut nonce = [0u8; voucher_ledger::token::presentation::NONCE_BYTES];
    OsRng.fill_bytes(&mut nonce);
    let now = voucher_ledger::domain::Timestamp::now().as_micros() / 1_000_000;
    voucher_ledger::token::presentation::present(
        voucher["token"].as_str().unwrap(),
        &key,
        nonce,
        now - age,
        lifetime,
    )
    .unwrap()
}

fn preview_body(qr_text: &str) -> Value {
    json!({
        "qr_text": qr_text,
        "service_category": "管理咨询",
        "contract_amount_fen": 200_000,
    })
}

fn redeem_body(qr_text: &str) -> Value {
    crate::redemption::contract(qr_text, 200_000)
}

async fn hold<S: Store>(world: &World<S>, who: &Counter, text: &str, key: &str) -> Value {
    let held = world
        .api
        .post(
            "/api/v1/redemptions/holds",
            &who.staff,
            preview_body(text),
            key,
        )
        .await;
    assert_eq!(held.status, StatusCode::OK, "{:?}", held.body);
    held.body
}

fn reason_codes(preview: &Value) -> Vec<String> {
    preview["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

async fn second_provider<S: Store>(world: &World<S>) -> Counter {
    counter(
        world,
        provider_fields(&uscc(7), &uscc(8), "5,000,000"),
        "approved",
    )
    .await
}

async fn a_hold_lets_its_clerk_redeem_after_the_code_went_stale_and_keeps_others_out<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (world, firm, voucher, a) = setting(store, true, "rotating").await;
    let b = second_provider(&world).await;
    let voucher_id = voucher["id"].as_str().unwrap();

    // A presentation with 3 seconds left: A previews it and holds the voucher.
    let shown = presentation_aged(&world, &voucher, 57, 60).await;
    let held = hold(&world, &a, &shown, "hold-a").await;
    assert!(held["held_until"].is_string(), "{held}");
    assert_eq!(held["preview"]["redeemable"], true, "{held}");
    // The same code again: the running hold, nothing more recorded.
    let again = hold(&world, &a, &shown, "hold-a-again").await;
    assert_eq!(again["held_until"], held["held_until"]);
    assert_eq!(world.count_entries("voucher_held").await, 1);

    // The holder sees 核销中, by whom.
    let seen = world
        .api
        .get(&format!("/api/v1/vouchers/{voucher_id}"), &firm.bearer())
        .await;
    assert_eq!(seen.body["held_until"], held["held_until"]);
    assert!(
        seen.body["held_by"].as_str().unwrap().contains("服务机构"),
        "{}",
        seen.body
    );

    // B, with a fresh code of its own: told the voucher is held, not held
    // for B, and its redemption refused.
    let fresh = present(&world, &firm, &voucher).await;
    let refused = hold(&world, &b, &fresh, "hold-b").await;
    assert!(refused["held_until"].is_null(), "{refused}");
    assert!(reason_codes(&refused["preview"]).contains(&"voucher_held".to_string()));
    world
        .api
        .post(
            "/api/v1/redemptions",
            &b.staff,
            redeem_body(&fresh),
            "redeem-b",
        )
        .await
        .expect_error(StatusCode::CONFLICT, "voucher_held");

    // The clerk types for longer than the code lives: once it is stale, a
    // redemption without the hold would be refused; with it, A redeems.
    // (Presentations expire on whole seconds: wait until this one has.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let verified = world.verify(&shown).await;
        if verified["code"] == "presentation_expired" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{verified}");
    }
    let redeemed = world
        .api
        .post(
            "/api/v1/redemptions",
            &a.staff,
            redeem_body(&shown),
            "redeem-a",
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);

    // The redemption ended the hold: B may hold (then lets it go), and the
    // stale code is refused now that no hold stands behind it.
    let fresh = present(&world, &firm, &voucher).await;
    let b_held = hold(&world, &b, &fresh, "hold-b-2").await;
    assert!(b_held["held_until"].is_string(), "{b_held}");
    let release = format!("/api/v1/redemptions/holds/{voucher_id}");
    let released = world
        .api
        .send("DELETE", &release, &b.staff, None, Some("release-b"))
        .await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    world
        .api
        .send("DELETE", &release, &b.staff, None, Some("release-b-again"))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    world
        .api
        .post(
            "/api/v1/redemptions",
            &a.staff,
            redeem_body(&shown),
            "redeem-a-again",
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "presentation_expired");
    // A code that held a voucher is used: B's released one redeems nothing.
    world
        .api
        .post(
            "/api/v1/redemptions",
            &a.staff,
            redeem_body(&fresh),
            "redeem-fresh",
        )
        .await
        .expect_error(StatusCode::CONFLICT, "presentation_already_used");
    assert_eq!(world.count_entries("voucher_hold_released").await, 1);

    // verify replays every hold; a hold stretched behind the writer's back
    // is found.
    verify_store(&world.store, &[]).await.unwrap();
    db.tamper(
        &["UPDATE voucher_holds SET expires_at_us = expires_at_us + 60000000"],
        None,
    )
    .await;
    let error = verify_store(&world.store, &[]).await.unwrap_err();
    assert!(error.to_string().contains("hold"), "{error}");
}

/// Two providers' clerks preview one voucher at once, each with its own
/// fresh code: the writer gives the voucher to one provider; every request
/// of the other is told `voucher_held`; the winner redeems.
async fn racing_holds_from_two_providers_give_the_voucher_to_one<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, a) = setting(store, true, "rotating").await;
    let b = second_provider(&world).await;
    let mut codes = Vec::new();
    for _ in 0..16 {
        codes.push(present(&world, &firm, &voucher).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, code) in codes.iter().enumerate() {
        let (api, staff) = if index % 2 == 0 {
            (world.api.clone(), a.staff.clone())
        } else {
            (world.api.clone(), b.staff.clone())
        };
        let code = code.clone();
        tasks.spawn(async move {
            let reply = api
                .post(
                    "/api/v1/redemptions/holds",
                    &staff,
                    preview_body(&code),
                    &format!("race-{index}"),
                )
                .await;
            (index % 2, code, reply)
        });
    }
    let mut held_by = [0, 0];
    let mut refused = [0, 0];
    let mut winning_code = None;
    while let Some(done) = tasks.join_next().await {
        let (side, code, reply) = done.unwrap();
        match reply.status {
            StatusCode::OK if reply.body["held_until"].is_string() => {
                held_by[side] += 1;
                winning_code = Some((side, code));
            }
            StatusCode::OK => {
                assert!(
                    reason_codes(&reply.body["preview"]).contains(&"voucher_held".to_string()),
                    "{}",
                    reply.body
                );
                refused[side] += 1;
            }
            StatusCode::CONFLICT => {
                assert_eq!(reply.code(), "voucher_held", "{:?}", reply.body);
                refused[side] += 1;
            }
            other => panic!("{other}: {:?}", reply.body),
        }
    }
    assert!(
        (held_by[0] > 0) != (held_by[1] > 0),
        "one provider holds: {held_by:?}, refused {refused:?}"
    );
    let winner_side = usize::from(held_by[1] > 0);
    assert_eq!(refused[1 - winner_side], 8, "every request of the other");
    // The winner's clerk previews the code the enterprise shows now (its
    // newest hold) and redeems with it.
    let (side, _) = winning_code.unwrap();
    let winner = if side == 0 { &a } else { &b };
    let code = present(&world, &firm, &voucher).await;
    let held = hold(&world, winner, &code, "race-final-hold").await;
    assert!(held["held_until"].is_string(), "{held}");
    let redeemed = world
        .api
        .post(
            "/api/v1/redemptions",
            &winner.staff,
            redeem_body(&code),
            "race-redeem",
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    verify_store(&world.store, &[]).await.unwrap();
}

/// The 10 digits under the QR: typed at the counter they stand for the
/// presentation (the hold, then the redemption); another counter cannot use
/// them; a burst of guesses is refused with 429 after the per-provider
/// limit, each refusal counted.
async fn a_typed_short_code_works_like_the_scan_once_and_guessing_is_limited<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, a) = setting(store, true, "rotating").await;
    let b = second_provider(&world).await;
    let path = format!(
        "/api/v1/vouchers/{}/presentation",
        voucher["id"].as_str().unwrap()
    );
    let shown = world.api.get(&path, &firm.bearer()).await;
    let typed = shown.body["short_code"].as_str().unwrap().to_string();
    assert_eq!(typed.len(), 12, "shown as 1234 5678 90: {typed}");
    let held = hold(&world, &a, &typed, "typed-hold").await;
    assert!(held["held_until"].is_string(), "{held}");
    assert_eq!(
        held["preview"]["qr_text"], shown.body["text"],
        "the presentation behind it"
    );
    // Another counter: the code is taken.
    world
        .api
        .post(
            "/api/v1/redemptions/holds",
            &b.staff,
            preview_body(&typed),
            "typed-b",
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "short_code_unknown");
    let redeemed = world
        .api
        .post(
            "/api/v1/redemptions",
            &a.staff,
            redeem_body(held["preview"]["qr_text"].as_str().unwrap()),
            "typed-redeem",
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);

    // Guessing from one provider: well-formed codes (right check digit)
    // that stand for nothing are refused, and past the limit refused with
    // 429 before any look-up. B typed one code above.
    let limit = voucher_ledger::http::rate_limit::SHORT_CODES_PER_MINUTE as usize;
    let (mut unknown, mut limited) = (1, 0);
    for guess in 0..(limit + 5) {
        let code = voucher_ledger::domain::short_code::short_code(guess as u64 * 7919);
        let reply = world
            .api
            .post(
                "/api/v1/redemptions/holds",
                &b.staff,
                preview_body(&code),
                &format!("guess-{guess}"),
            )
            .await;
        match reply.code() {
            "short_code_unknown" => unknown += 1,
            "short_code_attempts_exceeded" => {
                assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
                limited += 1
            }
            other => panic!("{other}: {:?}", reply.body),
        }
    }
    assert_eq!(unknown, limit, "the limit's worth of look-ups");
    assert_eq!(limited, 6, "then 429 for the rest of the minute");
    // The limit is per provider: A still types.
    let fresh = world.api.get(&path, &firm.bearer()).await;
    let again = hold(
        &world,
        &a,
        fresh.body["short_code"].as_str().unwrap(),
        "typed-a-2",
    )
    .await;
    assert_eq!(again["preview"]["qr_text"], fresh.body["text"]);
}

/// Provider A's clerks hold while provider B's redeem, all at once (so
/// holds and redemptions share writer batches): B's redemption may come
/// before A's first hold, never while A's hold stands.
async fn no_redemption_slips_in_under_another_providers_hold<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, a) = setting(store, true, "rotating").await;
    let b = second_provider(&world).await;
    let mut codes = Vec::new();
    for _ in 0..16 {
        codes.push(present(&world, &firm, &voucher).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, code) in codes.into_iter().enumerate() {
        let api = world.api.clone();
        let (staff, path, body) = if index % 2 == 0 {
            (
                a.staff.clone(),
                "/api/v1/redemptions/holds",
                preview_body(&code),
            )
        } else {
            (b.staff.clone(), "/api/v1/redemptions", redeem_body(&code))
        };
        tasks.spawn(async move { api.post(path, &staff, body, &format!("mix-{index}")).await });
    }
    while let Some(done) = tasks.join_next().await {
        let reply = done.unwrap();
        assert!(reply.status.as_u16() < 500, "{:?}", reply.body);
    }
    // Every redemption by B against every hold by A.
    let holds: Vec<(u64, Option<u64>)> = world
        .store
        .holds_after("", 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.provider_id.to_string() == a.provider_id)
        .map(|h| (h.held_sequence, h.ended_sequence))
        .collect();
    let redemptions = world
        .store
        .redemptions_after(&Default::default(), None, 500)
        .await
        .unwrap();
    for redemption in redemptions
        .iter()
        .filter(|r| r.provider_id.to_string() == b.provider_id)
    {
        let s = redemption.redeemed_sequence;
        for (held, ended) in &holds {
            assert!(
                !(*held < s && ended.is_none_or(|e| e >= s)),
                "B redeemed at {s} under A's hold placed at {held} (ended {ended:?})"
            );
        }
    }
    verify_store(&world.store, &[]).await.unwrap();
}

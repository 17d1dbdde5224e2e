//! Offline redemption (issue 22, docs/redemption-lifecycle.md "Offline"):
//! a holder-bound voucher presented without the network, accepted by a
//! provider's registered device, synced exactly once; conflicts decided by
//! the ledger's order (never paid twice, never dropped); every refusal by
//! its code; `verify` checks it all. Both backends, through the HTTP API.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use uuid::Uuid;
use voucher_ledger::domain::{Fen, Timestamp};
use voucher_ledger::service::verify::verify_store;
use voucher_ledger::store::Store;
use voucher_ledger::token::offline::{RecordClaims, offline_bytes, present_offline, seal_record};

use crate::api_client::{Reply, World};
use crate::helpers::{TestDb, on_both_backends};
use crate::issuance::{Firm, scene, terms};
use crate::redemption::{Counter, counter, provider_fields, uscc};

on_both_backends!(
    an_offline_acceptance_syncs_once_and_is_a_redemption_like_any_other,
    two_offline_acceptances_of_one_voucher_pay_once_in_either_order,
    an_offline_and_an_online_redemption_of_one_voucher_pay_once,
    a_divisible_voucher_accepted_beyond_its_value_pays_no_more_than_its_face,
    every_offline_refusal_answers_with_its_own_code,
    status_lists_are_signed_chained_and_report_what_changed,
    a_verifier_written_from_the_docs_agrees_with_the_server,
    verify_finds_offline_rows_changed_behind_the_ledger,
    p256_holder_and_device_keys_work_like_ed25519,
);

const PROGRAMME: &str = "ZS2026-OFF";
const FACE: i64 = 500_000;

fn now_s() -> i64 {
    Timestamp::now().as_micros() / 1_000_000
}

/// A programme allowing offline acceptance (¥5,000 per voucher; ten
/// acceptances and ¥20,000 per device between syncs; lists good for
/// `max_age_minutes`), `firms` firms each holding one voucher, and two
/// approved providers.
async fn offline_scene<S: Store>(
    store: S,
    divisible: bool,
    firms: usize,
    max_age_minutes: u32,
) -> (World<S>, Vec<(Firm, Value)>, Counter, Counter) {
    let mut terms = terms(20 * FACE, &[FACE], 1, "rotating");
    terms["divisible"] = json!(divisible);
    terms["offline"] = json!({
        "voucher_cap_fen": FACE,
        "device_cap_fen": 4 * FACE,
        "device_cap_count": 10,
        "list_max_age_minutes": max_age_minutes,
    });
    let (world, _issuer, found) = scene(store, PROGRAMME, terms, "100000", (1, firms)).await;
    let mut held = Vec::new();
    for firm in found {
        let voucher = world
            .api
            .post(
                &format!("/api/v1/programmes/{PROGRAMME}/claims"),
                &firm.bearer(),
                json!({}),
                &format!("claim:{}", firm.uscc),
            )
            .await;
        assert_eq!(voucher.status, StatusCode::CREATED, "{:?}", voucher.body);
        held.push((firm, voucher.body));
    }
    let a = counter(
        &world,
        provider_fields(&uscc(1), &uscc(2), "5,000,000"),
        "approved",
    )
    .await;
    let b = counter(
        &world,
        provider_fields(&uscc(3), &uscc(4), "5,000,000"),
        "approved",
    )
    .await;
    (world, held, a, b)
}

/// The holder's device: its key and the certificate the issuer signed.
struct Holder {
    key: SigningKey,
    certificate: Vec<u8>,
    token: String,
}

async fn bind<S: Store>(
    world: &World<S>,
    firm: &Firm,
    voucher: &Value,
    key: &SigningKey,
    idempotency: &str,
) -> Reply {
    world
        .api
        .post(
            &format!(
                "/api/v1/vouchers/{}/holder-keys",
                voucher["id"].as_str().unwrap()
            ),
            &firm.bearer(),
            json!({"algorithm": "Ed25519", "public_key": STANDARD.encode(key.verifying_key().as_bytes())}),
            idempotency,
        )
        .await
}

async fn holder<S: Store>(world: &World<S>, firm: &Firm, voucher: &Value, seed: u8) -> Holder {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let bound = bind(world, firm, voucher, &key, &format!("bind:{seed}")).await;
    assert_eq!(bound.status, StatusCode::OK, "{:?}", bound.body);
    let newest = bound.body["bindings"].as_array().unwrap().last().unwrap();
    Holder {
        key,
        certificate: STANDARD
            .decode(newest["certificate"].as_str().unwrap())
            .unwrap(),
        token: voucher["token"].as_str().unwrap().to_string(),
    }
}

impl Holder {
    /// A presentation made `at` for `provider`, with a fresh nonce.
    fn present(&self, provider: &Counter, at: i64, nonce: u8) -> Vec<u8> {
        offline_bytes(&self.present_text(provider, at, nonce)).unwrap()
    }

    /// The same as its `VO1:` QR text.
    fn present_text(&self, provider: &Counter, at: i64, nonce: u8) -> String {
        let text = present_offline(
            &self.token,
            &self.certificate,
            [nonce; 16],
            at,
            Uuid::parse_str(&provider.provider_id).unwrap(),
            |payload| self.key.sign(payload).to_bytes(),
        )
        .unwrap();
        assert!(text.starts_with("VO1:"));
        text
    }
}

/// A provider's registered device.
struct Device {
    id: Uuid,
    key: SigningKey,
}

async fn register<S: Store>(world: &World<S>, provider: &Counter, seed: u8) -> Device {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let registered = world
        .api
        .post(
            "/api/v1/offline/devices",
            &provider.staff,
            json!({"algorithm": "Ed25519", "public_key": STANDARD.encode(key.verifying_key().as_bytes()), "label": "岱山网点"}),
            &format!("device:{seed}"),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    Device {
        id: Uuid::parse_str(registered.body["device_id"].as_str().unwrap()).unwrap(),
        key,
    }
}

/// The status lists a device holding list `after` fetches.
async fn lists<S: Store>(world: &World<S>, provider: &Counter, after: u64) -> Value {
    let page = world
        .api
        .get(
            &format!("/api/v1/offline/status-lists?after={after}"),
            &provider.staff,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    page.body
}

async fn publish<S: Store>(world: &World<S>, key: &str) -> u64 {
    let published = world
        .api
        .post(
            "/api/v1/offline/status-lists",
            &world.bearer("admin"),
            json!({"min_interval_seconds": 0}),
            key,
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);
    published.body["newest"].as_u64().unwrap()
}

struct Acceptance {
    record_number: u64,
    accepted_at: i64,
    list: u64,
    amount: i64,
    subsidy: i64,
}

impl Acceptance {
    fn new(record_number: u64, list: u64, amount: i64) -> Acceptance {
        Acceptance {
            record_number,
            accepted_at: now_s(),
            list,
            amount,
            subsidy: amount / 2,
        }
    }
}

impl Device {
    fn record(&self, presentation: Vec<u8>, a: &Acceptance) -> String {
        let claims = RecordClaims {
            presentation,
            device_id: self.id,
            record_number: a.record_number,
            accepted_at: a.accepted_at,
            list_number: a.list,
            service_category: "管理咨询".into(),
            contract_amount: Fen::new(a.amount),
            subsidy: Fen::new(a.subsidy),
            contract_number: format!("LX-{}", a.record_number),
            description: "离线受理：企业管理诊断".into(),
        };
        STANDARD.encode(seal_record(&claims, |p| self.key.sign(p).to_bytes()))
    }
}

async fn sync<S: Store>(world: &World<S>, provider: &Counter, record: &str, key: &str) -> Reply {
    world
        .api
        .post(
            "/api/v1/offline/acceptances",
            &provider.staff,
            json!({"record": record}),
            key,
        )
        .await
}

async fn verified<S: Store>(world: &World<S>) {
    verify_store(&world.store, &[]).await.unwrap();
}

async fn an_offline_acceptance_syncs_once_and_is_a_redemption_like_any_other<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, held, a, _b) = offline_scene(store, false, 1, 1440).await;
    let (firm, voucher) = &held[0];
    let holder = holder(&world, firm, voucher, 1).await;
    let device = register(&world, &a, 11).await;
    let list = publish(&world, "list").await;
    assert!(list >= 1);
    // Offline from here: the holder presents, the device accepts.
    let accepted = Acceptance::new(1, list, 200_000);
    let record = device.record(holder.present(&a, now_s(), 1), &accepted);
    let synced = sync(&world, &a, &record, "sync-1").await;
    assert_eq!(synced.status, StatusCode::OK, "{:?}", synced.body);
    assert_eq!(synced.body["outcome"], "redeemed");
    assert_eq!(synced.body["paid_fen"], 100_000);
    assert_eq!(synced.body["conflict_fen"], 0);
    assert_eq!(synced.body["replayed"], false);
    let redemption_id = synced.body["redemption_id"].as_str().unwrap().to_string();
    // Exactly once: the same key, and the same record under another key.
    let again = sync(&world, &a, &record, "sync-1").await;
    assert_eq!(again.body["id"], synced.body["id"]);
    let other_key = sync(&world, &a, &record, "sync-1-again").await;
    assert_eq!(other_key.status, StatusCode::OK, "{:?}", other_key.body);
    assert_eq!(other_key.body["replayed"], true);
    assert_eq!(other_key.body["id"], synced.body["id"]);
    assert_eq!(world.count_entries("voucher_redeemed").await, 1);
    // A redemption like any other: the provider's list, the enterprise's,
    // the voucher's state, and the enterprise may confirm it.
    let mine = world.api.get("/api/v1/redemptions", &a.staff).await;
    assert!(
        mine.body["redemptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == redemption_id.as_str()),
        "{:?}",
        mine.body
    );
    let confirmed = world
        .api
        .post(
            &format!("/api/v1/redemptions/{redemption_id}/confirm"),
            &firm.bearer(),
            json!({"rating": 5}),
            "confirm",
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let now = world
        .api
        .get(
            &format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap()),
            &firm.bearer(),
        )
        .await;
    assert_eq!(now.body["status"], "redeemed");
    let listed = world
        .api
        .get("/api/v1/offline/acceptances", &firm.bearer())
        .await;
    assert_eq!(listed.body["acceptances"].as_array().unwrap().len(), 1);
    for kind in [
        "holder_key_bound",
        "offline_device_registered",
        "status_list_published",
    ] {
        assert!(world.count_entries(kind).await >= 1, "{kind}");
    }
    verified(&world).await;
}

async fn two_offline_acceptances_of_one_voucher_pay_once_in_either_order<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, held, a, b) = offline_scene(store, false, 2, 1440).await;
    let (da, db) = (
        register(&world, &a, 21).await,
        register(&world, &b, 22).await,
    );
    let list = publish(&world, "list").await;
    for (round, (firm, voucher)) in held.iter().enumerate() {
        let holder = holder(&world, firm, voucher, 30 + round as u8).await;
        let n = round as u64 + 1;
        let to_a = da.record(
            holder.present(&a, now_s(), 10 + round as u8),
            &Acceptance::new(n, list, 200_000),
        );
        let to_b = db.record(
            holder.present(&b, now_s(), 20 + round as u8),
            &Acceptance::new(n, list, 300_000),
        );
        // Round 0: A syncs first; round 1: B does.
        let order = if round == 0 {
            [(&a, &to_a, "A"), (&b, &to_b, "B")]
        } else {
            [(&b, &to_b, "B"), (&a, &to_a, "A")]
        };
        let first = sync(&world, order[0].0, order[0].1, &format!("s{round}-1")).await;
        let second = sync(&world, order[1].0, order[1].1, &format!("s{round}-2")).await;
        assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
        assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
        assert_eq!(first.body["outcome"], "redeemed", "{} first", order[0].2);
        assert_eq!(second.body["outcome"], "offline_conflict");
        assert_eq!(second.body["paid_fen"], 0);
        assert_eq!(second.body["conflict_reason"], "voucher_already_redeemed");
        assert_eq!(second.body["conflict_fen"], second.body["claimed_fen"]);
        // Visible to the losing provider, the enterprise and finance.
        let loser = order[1].0;
        for who in [loser.staff.clone(), firm.bearer(), world.bearer("finance")] {
            let seen = world
                .api
                .get(
                    &format!(
                        "/api/v1/offline/acceptances?conflicts=true&voucher_id={}",
                        voucher["id"].as_str().unwrap()
                    ),
                    &who,
                )
                .await;
            assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);
            let rows = seen.body["acceptances"].as_array().unwrap();
            assert_eq!(rows.len(), 1, "{:?}", seen.body);
            assert_eq!(rows[0]["outcome"], "offline_conflict");
        }
    }
    // Paid once per voucher: two redemptions, two conflicts.
    assert_eq!(world.count_entries("voucher_redeemed").await, 2);
    assert_eq!(world.count_entries("offline_conflict_recorded").await, 2);
    verified(&world).await;
}

async fn an_offline_and_an_online_redemption_of_one_voucher_pay_once<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, held, a, b) = offline_scene(store, false, 2, 1440).await;
    let device = register(&world, &a, 41).await;
    let list = publish(&world, "list").await;
    // Online first, then the offline acceptance syncs: a conflict.
    let (firm, voucher) = &held[0];
    let h = holder(&world, firm, voucher, 42).await;
    let record = device.record(
        h.present(&a, now_s(), 1),
        &Acceptance::new(1, list, 200_000),
    );
    let live = crate::redemption::present(&world, firm, voucher).await;
    let online = world
        .api
        .post(
            "/api/v1/redemptions",
            &b.staff,
            crate::redemption::contract(&live, 200_000),
            "online-1",
        )
        .await;
    assert_eq!(online.status, StatusCode::CREATED, "{:?}", online.body);
    let late = sync(&world, &a, &record, "late").await;
    assert_eq!(late.status, StatusCode::OK, "{:?}", late.body);
    assert_eq!(late.body["outcome"], "offline_conflict");
    // Offline first: the online redemption afterwards is refused.
    let (firm, voucher) = &held[1];
    let h = holder(&world, firm, voucher, 43).await;
    let record = device.record(
        h.present(&a, now_s(), 2),
        &Acceptance::new(2, list, 200_000),
    );
    let live = crate::redemption::present(&world, firm, voucher).await;
    let early = sync(&world, &a, &record, "early").await;
    assert_eq!(early.body["outcome"], "redeemed", "{:?}", early.body);
    world
        .api
        .post(
            "/api/v1/redemptions",
            &b.staff,
            crate::redemption::contract(&live, 200_000),
            "online-2",
        )
        .await
        .expect_error(StatusCode::CONFLICT, "voucher_already_redeemed");
    verified(&world).await;
}

async fn a_divisible_voucher_accepted_beyond_its_value_pays_no_more_than_its_face<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, held, a, b) = offline_scene(store, true, 1, 1440).await;
    let (firm, voucher) = &held[0];
    let h = holder(&world, firm, voucher, 51).await;
    let (da, db) = (
        register(&world, &a, 52).await,
        register(&world, &b, 53).await,
    );
    let list = publish(&world, "list").await;
    // ¥4,000 and ¥3,000 of subsidy accepted offline on a ¥5,000 voucher.
    let first = da.record(
        h.present(&a, now_s(), 1),
        &Acceptance::new(1, list, 800_000),
    );
    let second = db.record(
        h.present(&b, now_s(), 2),
        &Acceptance::new(1, list, 600_000),
    );
    let one = sync(&world, &a, &first, "d1").await;
    assert_eq!(one.body["outcome"], "redeemed", "{:?}", one.body);
    assert_eq!(one.body["paid_fen"], 400_000);
    let two = sync(&world, &b, &second, "d2").await;
    assert_eq!(two.status, StatusCode::OK, "{:?}", two.body);
    assert_eq!(two.body["outcome"], "partly_paid");
    assert_eq!(two.body["paid_fen"], 100_000);
    assert_eq!(two.body["conflict_fen"], 200_000);
    assert_eq!(two.body["conflict_reason"], "voucher_value_exhausted");
    let paid: i64 = [&one, &two]
        .iter()
        .map(|r| r.body["paid_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(paid, FACE, "never more than the face value");
    let now = world
        .api
        .get(
            &format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap()),
            &firm.bearer(),
        )
        .await;
    assert_eq!(now.body["remaining_fen"], 0);
    verified(&world).await;
}

async fn every_offline_refusal_answers_with_its_own_code<S: Store>(store: S, _db: &TestDb) {
    let (world, held, a, b) = offline_scene(store, true, 4, 1).await;
    let (firm, voucher) = &held[0];
    let h = holder(&world, firm, voucher, 61).await;
    let da = register(&world, &a, 62).await;
    let db = register(&world, &b, 63).await;
    let list = publish(&world, "list").await;
    let refused = |reply: Reply, status: StatusCode, code: &str| {
        reply.expect_error(status, code);
    };
    // A forged holder signature: another key signs the presentation.
    let forged = Holder {
        key: SigningKey::from_bytes(&[99; 32]),
        certificate: h.certificate.clone(),
        token: h.token.clone(),
    };
    let record = da.record(
        forged.present(&a, now_s(), 1),
        &Acceptance::new(1, list, 100_000),
    );
    refused(
        sync(&world, &a, &record, "r-forged").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "holder_signature_invalid",
    );
    // A forged device signature.
    let impostor = Device {
        id: da.id,
        key: SigningKey::from_bytes(&[98; 32]),
    };
    let record = impostor.record(
        h.present(&a, now_s(), 2),
        &Acceptance::new(2, list, 100_000),
    );
    refused(
        sync(&world, &a, &record, "r-device-sig").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "device_signature_invalid",
    );
    // An unregistered device, and another provider's device.
    let stranger = Device {
        id: Uuid::now_v7(),
        key: SigningKey::from_bytes(&[97; 32]),
    };
    let record = stranger.record(
        h.present(&a, now_s(), 3),
        &Acceptance::new(1, list, 100_000),
    );
    refused(
        sync(&world, &a, &record, "r-unregistered").await,
        StatusCode::FORBIDDEN,
        "offline_device_unregistered",
    );
    let record = db.record(
        h.present(&b, now_s(), 4),
        &Acceptance::new(1, list, 100_000),
    );
    refused(
        sync(&world, &a, &record, "r-other-provider").await,
        StatusCode::FORBIDDEN,
        "offline_device_unregistered",
    );
    // A presentation made for another provider.
    let record = da.record(
        h.present(&b, now_s(), 5),
        &Acceptance::new(3, list, 100_000),
    );
    refused(
        sync(&world, &a, &record, "r-wrong-provider").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "presentation_wrong_provider",
    );
    // A replayed holder presentation: accepted once, then shown again.
    let shown = h.present(&a, now_s(), 6);
    let ok = sync(
        &world,
        &a,
        &da.record(shown.clone(), &Acceptance::new(4, list, 100_000)),
        "r-first",
    )
    .await;
    assert_eq!(ok.body["outcome"], "redeemed", "{:?}", ok.body);
    refused(
        sync(
            &world,
            &a,
            &da.record(shown, &Acceptance::new(5, list, 100_000)),
            "r-replay",
        )
        .await,
        StatusCode::CONFLICT,
        "presentation_already_used",
    );
    // Caps: the device took ¥500 of this voucher under this list already;
    // ¥4,600 more passes the ¥5,000 per voucher.
    let over = Acceptance::new(6, list, 920_000);
    refused(
        sync(
            &world,
            &a,
            &da.record(h.present(&a, now_s(), 7), &over),
            "r-cap",
        )
        .await,
        StatusCode::CONFLICT,
        "offline_voucher_cap_exceeded",
    );
    // Hostile records fail alone with a 4xx: numbers beyond the database's
    // integers, a subsidy above the face value, bytes that are no record.
    let huge = Acceptance::new(u64::MAX, list, 100_000);
    refused(
        sync(
            &world,
            &a,
            &da.record(h.present(&a, now_s(), 13), &huge),
            "r-huge",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "offline_record_malformed",
    );
    let mut greedy = Acceptance::new(12, list, i64::MAX);
    greedy.subsidy = i64::MAX / 2;
    refused(
        sync(
            &world,
            &a,
            &da.record(h.present(&a, now_s(), 14), &greedy),
            "r-greedy",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "offline_subsidy_mismatch",
    );
    for (n, junk) in ["", "not base64!", "AAAA", &STANDARD.encode([0u8; 70])]
        .iter()
        .enumerate()
    {
        refused(
            sync(&world, &a, junk, &format!("r-junk-{n}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "offline_record_malformed",
        );
    }
    // A list that was never published.
    refused(
        sync(
            &world,
            &a,
            &da.record(
                h.present(&a, now_s(), 8),
                &Acceptance::new(7, 9_999, 100_000),
            ),
            "r-no-list",
        )
        .await,
        StatusCode::CONFLICT,
        "offline_list_unknown",
    );
    // A stale list: this programme allows one minute; the device's clock
    // says it accepted four minutes after the list was published.
    let mut late = Acceptance::new(8, list, 100_000);
    late.accepted_at = now_s() + 240;
    refused(
        sync(
            &world,
            &a,
            &da.record(h.present(&a, late.accepted_at, 9), &late),
            "r-stale",
        )
        .await,
        StatusCode::CONFLICT,
        "offline_list_stale",
    );
    // A re-bound voucher: the old device's presentation no longer counts.
    let (firm2, voucher2) = &held[1];
    let old = holder(&world, firm2, voucher2, 64).await;
    let _new = holder(&world, firm2, voucher2, 65).await;
    // Accepted (a second) after the re-binding.
    let mut after = Acceptance::new(9, list, 100_000);
    after.accepted_at = now_s() + 1;
    refused(
        sync(
            &world,
            &a,
            &da.record(old.present(&a, after.accepted_at, 10), &after),
            "r-rebound",
        )
        .await,
        StatusCode::CONFLICT,
        "holder_binding_superseded",
    );
    // A voucher on the status list: revoked, a new list fetched, then
    // "accepted" against that list.
    let (firm3, voucher3) = &held[2];
    let h3 = holder(&world, firm3, voucher3, 66).await;
    let revoked = world
        .api
        .post(
            &format!(
                "/api/v1/vouchers/{}/revoke",
                voucher3["id"].as_str().unwrap()
            ),
            &world.bearer("admin"),
            json!({"reason": "企业注销"}),
            "revoke-3",
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let newer = publish(&world, "publish-after-revoke").await;
    refused(
        sync(
            &world,
            &a,
            &da.record(
                h3.present(&a, now_s(), 11),
                &Acceptance::new(10, newer, 100_000),
            ),
            "r-listed",
        )
        .await,
        StatusCode::CONFLICT,
        "voucher_on_status_list",
    );
    // A revoked issuer key: the voucher's key is revoked before the
    // acceptance, so the presentation is refused (the voucher is re-issued).
    let (firm4, voucher4) = &held[3];
    let h4 = holder(&world, firm4, voucher4, 67).await;
    let key_id = voucher4["key_id"].as_str().unwrap().to_string();
    world.activate_issuer_key().await;
    let revoked = world
        .api
        .post(
            &format!("/api/v1/issuer-keys/{key_id}/revoke"),
            &world.bearer("admin"),
            json!({"reason": "密钥泄露"}),
            "revoke-key",
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let mut after = Acceptance::new(11, newer, 100_000);
    after.accepted_at = now_s() + 1;
    refused(
        sync(
            &world,
            &a,
            &da.record(h4.present(&a, after.accepted_at, 12), &after),
            "r-revoked-key",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "token_key_revoked",
    );
    // A device past its count cap between syncs (under a fresh list).
    let fresh = publish(&world, "publish-for-caps").await;
    let (_, c) = offline_scene_caps(&world, &a, fresh).await;
    assert_eq!(c, "offline_device_cap_exceeded");
    verified(&world).await;
}

/// Fills a fresh device's count cap (10) under `list` with tiny
/// acceptances of one holder's divisible voucher, then one more.
async fn offline_scene_caps<S: Store>(
    world: &World<S>,
    provider: &Counter,
    list: u64,
) -> (u64, String) {
    let firms = crate::issuance::seed_firms(&world.store, &world.writer, 900, 1).await;
    let firm = &firms[0];
    let voucher = world
        .api
        .post(
            &format!("/api/v1/programmes/{PROGRAMME}/claims"),
            &firm.bearer(),
            json!({}),
            "claim-caps",
        )
        .await;
    assert_eq!(voucher.status, StatusCode::CREATED, "{:?}", voucher.body);
    let h = holder(world, firm, &voucher.body, 70).await;
    let device = register(world, provider, 71).await;
    for n in 1..=11u64 {
        let record = device.record(
            h.present(provider, now_s(), 100 + n as u8),
            &Acceptance::new(n, list, 2_000),
        );
        let synced = sync(world, provider, &record, &format!("cap-{n}")).await;
        if n <= 10 {
            assert_eq!(synced.body["outcome"], "redeemed", "{n}: {:?}", synced.body);
        } else {
            assert_eq!(synced.status, StatusCode::CONFLICT, "{:?}", synced.body);
            return (n, synced.code().to_string());
        }
    }
    unreachable!()
}

async fn status_lists_are_signed_chained_and_report_what_changed<S: Store>(store: S, _db: &TestDb) {
    let (world, held, a, _b) = offline_scene(store, false, 1, 1440).await;
    let first = publish(&world, "p1").await;
    let (firm, voucher) = &held[0];
    let live = crate::redemption::present(&world, firm, voucher).await;
    let redeemed = world
        .api
        .post(
            "/api/v1/redemptions",
            &a.staff,
            crate::redemption::contract(&live, 200_000),
            "online",
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    let second = publish(&world, "p2").await;
    assert_eq!(second, first + 1);
    let page = lists(&world, &a, first - 1).await;
    let key = VerifyingKey::from_bytes(
        &STANDARD
            .decode(page["ledger_public_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let got = page["lists"].as_array().unwrap();
    assert!(got.len() >= 2, "{page:?}");
    let mut previous_digest = None::<String>;
    for list in got {
        let body = list["body"].as_str().unwrap();
        let signature: [u8; 64] = STANDARD
            .decode(list["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        key.verify_strict(
            body.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .expect("signed by the ledger key");
        let parsed: Value = serde_json::from_str(body).unwrap();
        if let Some(previous) = &previous_digest {
            assert_eq!(parsed["previous_digest"], previous.as_str());
        }
        previous_digest = Some(list["digest"].as_str().unwrap().to_string());
    }
    let last: Value = serde_json::from_str(got[1]["body"].as_str().unwrap()).unwrap();
    let reported = last["vouchers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == voucher["id"])
        .expect("the redeemed voucher is reported");
    assert_eq!(reported["status"], "redeemed");
    assert!(
        last["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == PROGRAMME && p["offline"]["voucher_cap_fen"] == FACE)
    );
    // A provider that may no longer redeem is on the next list.
    let suspended = world
        .api
        .post(
            &format!("/api/v1/providers/{}/status", a.provider_id),
            &world.bearer("admin"),
            json!({"status": "suspended", "reason": "检查"}),
            "suspend",
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{:?}", suspended.body);
    publish(&world, "p3").await;
    let page = lists(&world, &a, second).await;
    let newest: Value = serde_json::from_str(page["lists"][0]["body"].as_str().unwrap()).unwrap();
    assert!(
        newest["barred_providers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == a.provider_id.as_str() && p["reason"] == "suspended"),
        "{newest:?}"
    );
    verified(&world).await;
}

/// tests/contract/offline_verify.py, written from docs/token-format.md
/// alone, reads what this server makes — presentations, records, status
/// lists — as the server does, and refuses the same forgeries.
async fn a_verifier_written_from_the_docs_agrees_with_the_server<S: Store>(store: S, _db: &TestDb) {
    if !crate::interop::python_has_cryptography() {
        return;
    }
    let (world, held, a, b) = offline_scene(store, false, 1, 1440).await;
    let (firm, voucher) = &held[0];
    let h = holder(&world, firm, voucher, 81).await;
    let device = register(&world, &a, 82).await;
    let first = publish(&world, "v-list-1").await;
    let keys = world
        .api
        .get(
            "/.well-known/voucher-keys.json",
            &crate::api_client::As::Nobody,
        )
        .await
        .body;
    let now = now_s();
    let text = h.present_text(&a, now, 1);
    let accepted = Acceptance::new(1, first, 200_000);
    let record = device.record(offline_bytes(&text).unwrap(), &accepted);
    let device_json = json!({"algorithm": "Ed25519", "public_key": STANDARD.encode(device.key.verifying_key().as_bytes())});
    let dir = tempfile::tempdir().unwrap();
    let check = |case: Value| {
        let path = dir.path().join("case.json");
        std::fs::write(&path, serde_json::to_vec(&case).unwrap()).unwrap();
        let output = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/contract/offline_verify.py"
            ))
            .arg(&path)
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let case = |presentation: &str, provider: &Counter, at: i64| json!({"issuer_keys": keys, "presentation": presentation, "provider_id": provider.provider_id, "accepted_at": at});
    // The server pays it, and the verifier from the docs accepts it.
    let synced = sync(&world, &a, &record, "v-sync").await;
    assert_eq!(synced.body["outcome"], "redeemed", "{:?}", synced.body);
    let second = publish(&world, "v-list-2").await;
    let page = lists(&world, &a, first - 1).await;
    let mut good = case(&text, &a, now);
    good["record"] = json!(record);
    good["device"] = device_json.clone();
    good["lists"] = page.clone();
    let verdict = check(good);
    assert_eq!(verdict["presentation"], "valid", "{verdict}");
    assert_eq!(verdict["record"], "valid", "{verdict}");
    assert_eq!(verdict["lists"], "valid", "{verdict}");
    assert_eq!(
        verdict["vouchers"][voucher["id"].as_str().unwrap()]["status"],
        "redeemed",
        "list {second} reports the redemption: {verdict}"
    );
    // The forgeries the server refuses, refused by the docs' verifier too.
    let forged = Holder {
        key: SigningKey::from_bytes(&[83; 32]),
        certificate: h.certificate.clone(),
        token: h.token.clone(),
    };
    for (presentation, provider, at, code) in [
        (
            forged.present_text(&a, now, 2),
            &a,
            now,
            "holder_signature_invalid",
        ),
        (
            h.present_text(&b, now, 3),
            &a,
            now,
            "presentation_wrong_provider",
        ),
        (
            h.present_text(&a, now, 4),
            &a,
            now + 700,
            "presentation_expired",
        ),
    ] {
        let verdict = check(case(&presentation, provider, at));
        assert_eq!(verdict["presentation"], code, "{verdict}");
    }
    let impostor = Device {
        id: device.id,
        key: SigningKey::from_bytes(&[84; 32]),
    };
    let mut bad_record = case(&text, &a, now);
    bad_record["record"] = json!(impostor.record(offline_bytes(&text).unwrap(), &accepted));
    bad_record["device"] = device_json;
    assert_eq!(check(bad_record)["record"], "device_signature_invalid");
    let mut tampered = page.clone();
    let body = tampered["lists"][1]["body"]
        .as_str()
        .unwrap()
        .replacen("redeemed", "active", 1);
    tampered["lists"][1]["body"] = json!(body);
    let mut bad_lists = case(&text, &a, now);
    bad_lists["lists"] = tampered;
    assert_eq!(check(bad_lists)["lists"], "signature");
}

/// With the append-only triggers out of the way (a database superuser),
/// each offline table changed behind the ledger fails `verify`, and
/// putting it back passes again.
async fn verify_finds_offline_rows_changed_behind_the_ledger<S: Store>(store: S, db: &TestDb) {
    let (world, held, a, b) = offline_scene(store, false, 1, 1440).await;
    let (firm, voucher) = &held[0];
    let h = holder(&world, firm, voucher, 91).await;
    let (da, dbv) = (
        register(&world, &a, 92).await,
        register(&world, &b, 93).await,
    );
    let list = publish(&world, "t-list").await;
    let one = da.record(
        h.present(&a, now_s(), 1),
        &Acceptance::new(1, list, 200_000),
    );
    let two = dbv.record(
        h.present(&b, now_s(), 2),
        &Acceptance::new(1, list, 200_000),
    );
    assert_eq!(
        sync(&world, &a, &one, "t1").await.body["outcome"],
        "redeemed"
    );
    assert_eq!(
        sync(&world, &b, &two, "t2").await.body["outcome"],
        "offline_conflict"
    );
    publish(&world, "t-list-2").await;
    verified(&world).await;
    let cases: [(&str, &str, &str); 5] = [
        (
            "UPDATE offline_acceptances SET conflict_reason = 'voucher_revoked' WHERE conflict_fen > 0",
            "UPDATE offline_acceptances SET conflict_reason = 'voucher_already_redeemed' WHERE conflict_fen > 0",
            "offline acceptance",
        ),
        (
            "UPDATE status_lists SET body = replace(body, '\"redeemed\"', '\"active\"') WHERE number = 2",
            "UPDATE status_lists SET body = replace(body, '\"active\"', '\"redeemed\"') WHERE number = 2",
            "status list 2",
        ),
        (
            "UPDATE status_list_vouchers SET remaining_fen = remaining_fen + 1 WHERE list_number = 2",
            "UPDATE status_list_vouchers SET remaining_fen = remaining_fen - 1 WHERE list_number = 2",
            "status list 2",
        ),
        (
            "UPDATE offline_devices SET label = '别处' WHERE label = '岱山网点'",
            "UPDATE offline_devices SET label = '岱山网点' WHERE label = '别处'",
            "offline device",
        ),
        (
            "UPDATE holder_bindings SET bound_sequence = bound_sequence + 1000",
            "UPDATE holder_bindings SET bound_sequence = bound_sequence - 1000",
            "holder binding",
        ),
    ];
    for (tamper, restore, named) in cases {
        db.tamper(&[tamper], None).await;
        let error = verify_store(&world.store, &[])
            .await
            .expect_err("a changed offline row fails verify");
        assert!(error.to_string().contains(named), "{tamper}: {error}");
        db.tamper(&[restore], None).await;
        verified(&world).await;
    }
}

/// Browsers without WebCrypto Ed25519 make ECDSA P-256 keys: a P-256
/// holder binding and a P-256 device sign as WebCrypto does (r ‖ s over
/// SHA-256), and the sync pays; a P-256 signature by another key is refused.
async fn p256_holder_and_device_keys_work_like_ed25519<S: Store>(store: S, _db: &TestDb) {
    use p256::ecdsa::signature::Signer as _;
    let (world, held, a, _b) = offline_scene(store, false, 1, 1440).await;
    let (firm, voucher) = &held[0];
    let point = |key: &p256::ecdsa::SigningKey| {
        STANDARD.encode(key.verifying_key().to_encoded_point(false).as_bytes())
    };
    let raw = |key: &p256::ecdsa::SigningKey, message: &[u8]| -> [u8; 64] {
        let signature: p256::ecdsa::Signature = key.sign(message);
        signature.to_bytes().into()
    };
    let holder_key = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
    let bound = world
        .api
        .post(
            &format!(
                "/api/v1/vouchers/{}/holder-keys",
                voucher["id"].as_str().unwrap()
            ),
            &firm.bearer(),
            json!({"algorithm": "ECDSA-P256", "public_key": point(&holder_key)}),
            "bind-p256",
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{:?}", bound.body);
    assert_eq!(bound.body["bindings"][0]["algorithm"], "ECDSA-P256");
    let certificate = STANDARD
        .decode(bound.body["bindings"][0]["certificate"].as_str().unwrap())
        .unwrap();
    let device_key = p256::ecdsa::SigningKey::from_slice(&[6; 32]).unwrap();
    let registered = world
        .api
        .post(
            "/api/v1/offline/devices",
            &a.staff,
            json!({"algorithm": "ECDSA-P256", "public_key": point(&device_key), "label": "旧手机"}),
            "device-p256",
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{:?}", registered.body);
    let device_id = Uuid::parse_str(registered.body["device_id"].as_str().unwrap()).unwrap();
    let list = publish(&world, "p256-list").await;
    let provider = Uuid::parse_str(&a.provider_id).unwrap();
    let token = voucher["token"].as_str().unwrap();
    let present = |signer: &p256::ecdsa::SigningKey, nonce: u8| {
        offline_bytes(
            &present_offline(token, &certificate, [nonce; 16], now_s(), provider, |p| {
                raw(signer, p)
            })
            .unwrap(),
        )
        .unwrap()
    };
    let record = |presentation: Vec<u8>, n: u64| {
        let claims = RecordClaims {
            presentation,
            device_id,
            record_number: n,
            accepted_at: now_s(),
            list_number: list,
            service_category: "管理咨询".into(),
            contract_amount: Fen::new(200_000),
            subsidy: Fen::new(100_000),
            contract_number: format!("P256-{n}"),
            description: "离线受理".into(),
        };
        STANDARD.encode(seal_record(&claims, |p| raw(&device_key, p)))
    };
    let stranger = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    sync(&world, &a, &record(present(&stranger, 1), 1), "p256-forged")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "holder_signature_invalid");
    let paid = sync(&world, &a, &record(present(&holder_key, 2), 2), "p256-ok").await;
    assert_eq!(paid.status, StatusCode::OK, "{:?}", paid.body);
    assert_eq!(paid.body["outcome"], "redeemed");
    verified(&world).await;
}

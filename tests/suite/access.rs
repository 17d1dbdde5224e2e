//! Access control and API conventions (issue 3), on both backends.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::json;
use voucher_ledger::http::routes::{ROUTES, RouteId};
use voucher_ledger::store::Store;

use crate::api_client::{As, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    every_route_allows_and_denies_exactly_as_the_matrix_says,
    foreign_ids_answer_404_and_change_nothing,
    unknown_and_server_owned_fields_are_refused,
    a_display_name_names_the_user_and_stays_off_the_ledger,
    an_idempotent_replay_returns_the_first_response_and_acts_once,
    a_changed_body_under_a_used_key_is_422,
    twenty_concurrent_requests_with_one_key_act_once,
    mutations_without_an_idempotency_key_are_refused,
    cookie_sessions_need_the_csrf_token_and_end_at_logout,
    api_tokens_work_until_revoked_and_their_secret_is_shown_once,
    repeated_failed_logins_lock_the_account_and_are_in_the_ledger,
    a_user_works_only_for_a_registered_party_of_its_kind,
    login_is_rate_limited_with_retry_after,
    ledger_entries_name_the_user_and_role_that_caused_them,
    a_password_change_ends_sessions_and_the_old_password,
    stored_idempotency_responses_expire_after_the_retention,
    the_ledger_with_access_events_verifies,
    lists_page_by_key_without_gaps_or_repeats,
);

use Cell::{Allow, Deny};
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Allow,
    Deny,
}

/// Who may pass each route's policy: nobody, admin, finance, provider,
/// enterprise, auditor. Every route in ROUTES must have a row here.
#[rustfmt::skip]
const MATRIX: &[(RouteId, [Cell; 6])] = &[
    //                           nobody admin  finance provider enterprise auditor
    (RouteId::Healthz,          [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::OpenApi,          [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::LatestCheckpoint, [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::LogInclusion,     [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::PublicProgrammes, [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::PublicNotice,     [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::LogConsistency,   [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::Login,            [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::Logout,           [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::Me,               [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::ChangePassword,   [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::ListMyTokens,     [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::CreateToken,      [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::RevokeToken,      [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::ListUsers,        [Deny,  Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::CreateUser,       [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ResetPassword,    [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::GetUser,          [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::LedgerEntries,    [Deny,  Deny,  Allow, Deny,  Deny,  Allow]),
    (RouteId::LedgerEntry,      [Deny,  Deny,  Allow, Deny,  Deny,  Allow]),
    (RouteId::LedgerBalances,   [Deny,  Deny,  Allow, Deny,  Deny,  Allow]),
    (RouteId::LedgerVerification, [Deny, Deny, Allow, Deny,  Deny,  Allow]),
    (RouteId::LedgerCheckpoints, [Deny, Deny,  Allow, Deny,  Deny,  Allow]),
    (RouteId::ListEnterprises,  [Deny,  Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::RecordEnterprise, [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::GetEnterprise,    [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::TagEnterprise,    [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::BlacklistEnterprise, [Deny, Allow, Deny, Deny, Deny,  Deny ]),
    (RouteId::ImportEnterprises, [Deny, Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ListProgrammes,   [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::CreateProgramme,  [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::GetProgramme,     [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::UpdateProgrammeDraft, [Deny, Allow, Deny, Deny, Deny,  Deny ]),
    (RouteId::OpenProgramme,    [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::AmendProgramme,   [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::CloseProgramme,   [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::FundProgramme,    [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::MyEligibility,    [Deny,  Deny,  Deny,  Deny,  Allow, Deny ]),
    (RouteId::AcceptingProviders, [Deny, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::ListProviders,    [Deny,  Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::RecordProvider,   [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::GetProvider,      [Deny,  Allow, Allow, Allow, Deny,  Allow]),
    (RouteId::ProviderAccount,  [Deny,  Allow, Allow, Allow, Deny,  Allow]),
    (RouteId::ChangeProviderStatus, [Deny, Allow, Deny, Deny, Deny,  Deny ]),
    (RouteId::ImportTags,       [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ImportProviders,  [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ImportBlacklist,  [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::VoucherKeys,      [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::VerifyToken,      [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::RotateIssuerKey,  [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::RevokeIssuerKey,  [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ListZones,        [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::DefineZone,       [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ClaimVoucher,     [Deny,  Deny,  Deny,  Deny,  Allow, Deny ]),
    (RouteId::AllocateVouchers, [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ListVouchers,     [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::GetVoucher,       [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::VoucherReceipt,   [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::VoucherQrPng,     [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::VoucherQrSvg,     [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::VoucherPrint,     [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::VoucherPresentation, [Deny, Deny, Deny,  Deny,  Allow, Deny ]),
    (RouteId::VoucherPresentationPng, [Deny, Deny, Deny, Deny, Allow, Deny ]),
    (RouteId::VoucherPresentationSvg, [Deny, Deny, Deny, Deny, Allow, Deny ]),
    (RouteId::ReissueIssuerKey, [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::PreviewRedemption, [Deny, Deny,  Deny,  Allow, Deny,  Deny ]),
    (RouteId::HoldVoucher,      [Deny,  Deny,  Deny,  Allow, Deny,  Deny ]),
    (RouteId::ReleaseHold,      [Deny,  Deny,  Deny,  Allow, Deny,  Deny ]),
    (RouteId::Redeem,           [Deny,  Deny,  Deny,  Allow, Deny,  Deny ]),
    (RouteId::ListRedemptions,  [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::BindHolderKey,    [Deny,  Deny,  Deny,  Deny,  Allow, Deny ]),
    (RouteId::HolderKeys,       [Deny,  Allow, Allow, Deny,  Allow, Allow]),
    (RouteId::RegisterOfflineDevice, [Deny, Deny, Deny, Allow, Deny, Deny ]),
    (RouteId::ListOfflineDevices, [Deny, Deny, Deny,  Allow, Deny,  Deny ]),
    (RouteId::StatusLists,      [Deny,  Allow, Deny,  Allow, Deny,  Allow]),
    (RouteId::PublishStatusList, [Deny, Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::SyncOfflineAcceptance, [Deny, Deny, Deny, Allow, Deny, Deny ]),
    (RouteId::ListOfflineAcceptances, [Deny, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::RequestErasure,   [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::PersonalDataSubject, [Deny, Allow, Deny, Deny,  Deny,  Allow]),
    (RouteId::PersonalDataReads, [Deny, Allow, Deny,  Deny,  Deny,  Allow]),
    (RouteId::GetRedemption,    [Deny,  Allow, Allow, Allow, Allow, Allow]),
    (RouteId::RedemptionReceipt, [Deny, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::ConfirmRedemption, [Deny, Deny,  Deny,  Deny,  Allow, Deny ]),
    (RouteId::DisputeRedemption, [Deny, Deny,  Deny,  Deny,  Allow, Deny ]),
    (RouteId::ResolveDispute,   [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::ReverseRedemption, [Deny, Allow, Deny,  Allow, Deny,  Deny ]),
    (RouteId::RevokeVoucher,    [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::SweepExpiry,      [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::SweepAutoConfirm, [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::MarkFraud,        [Deny,  Allow, Deny,  Deny,  Deny,  Deny ]),
    (RouteId::AttachDocuments,  [Deny,  Allow, Deny,  Allow, Allow, Deny ]),
    (RouteId::ScanPhoto,        [Deny,  Deny,  Deny,  Allow, Deny,  Deny ]),
    (RouteId::PrepareSettlement,     [Deny, Deny,  Allow, Deny,  Deny,  Deny ]),
    (RouteId::ListSettlementRuns,    [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::GetSettlementRun,      [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::RunReceipt,            [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::ListSettlementLines,   [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::ResolveSettlementLine, [Deny, Deny,  Allow, Deny,  Deny,  Deny ]),
    (RouteId::ApproveSettlement,     [Deny, Deny,  Allow, Deny,  Deny,  Deny ]),
    (RouteId::PaymentFile,           [Deny, Deny,  Allow, Deny,  Deny,  Deny ]),
    (RouteId::BankReturn,            [Deny, Deny,  Allow, Deny,  Deny,  Deny ]),
    (RouteId::SettlementReport,      [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::ProviderStatement,     [Deny, Allow, Allow, Allow, Deny,  Allow]),
    (RouteId::Readyz,                [Allow, Allow, Allow, Allow, Allow, Allow]),
    (RouteId::Metrics,               [Deny, Allow, Deny,  Deny,  Deny,  Allow]),
    (RouteId::PayoutReceipt,         [Deny, Allow, Allow, Allow, Deny,  Allow]),
    (RouteId::Utilisation,           [Deny, Allow, Allow, Deny,  Deny,  Allow]),
    (RouteId::UtilisationChart,      [Deny, Allow, Allow, Deny,  Deny,  Allow]),
];

const CALLERS: [&str; 6] = [
    "nobody",
    "admin",
    "finance",
    "provider_a",
    "enterprise_a",
    "auditor",
];

async fn every_route_allows_and_denies_exactly_as_the_matrix_says<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let listed: HashSet<RouteId> = MATRIX.iter().map(|(id, _)| *id).collect();
    let routed: HashSet<RouteId> = ROUTES.iter().map(|r| r.id).collect();
    assert_eq!(
        listed, routed,
        "every route needs a row in MATRIX, and only routes"
    );
    let world = World::new(store).await;
    let before = world.store.head().await.unwrap().sequence;
    for (index, route) in ROUTES.iter().enumerate() {
        let row = MATRIX.iter().find(|(id, _)| *id == route.id).unwrap().1;
        // Ids that exist for nobody: the handler answers 404 if the policy lets it run.
        let path = route
            .path
            .replace("{token_id}", "01a21208-0000-7000-8000-000000000000")
            .replace("{user_id}", "01a21208-0000-7000-8000-000000000000")
            .replace("{sequence}", "999999")
            .replace("{enterprise_id}", "01a21208-0000-7000-8000-000000000000")
            .replace("{code}", "NO-SUCH-PROGRAMME")
            .replace("{provider_id}", "01a21208-0000-7000-8000-000000000000")
            .replace("{key_id}", "0000000000000000");
        // An empty object: handlers with bodies refuse it, so allowed calls change nothing.
        let body = route.is_mutating().then(|| json!({}));
        for (column, caller) in CALLERS.iter().enumerate() {
            let who = if *caller == "nobody" {
                As::Nobody
            } else {
                world.bearer(caller)
            };
            let key = format!("matrix-{index}-{column}");
            let reply = world
                .api
                .send(route.method, &path, &who, body.clone(), Some(&key))
                .await;
            let cell = (
                route.method,
                route.path,
                *caller,
                reply.status,
                reply.code().to_string(),
            );
            match row[column] {
                // Allowed: the request reached the handler — not refused by
                // the route policy, and bound to a handler at that method
                // and path (not 405, not `route_not_found`). A handler may
                // still answer 401/403 of its own (a wrong password, a
                // provider's standing), with its own code.
                Allow => {
                    assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{cell:?}");
                    assert!(
                        !["authentication_required", "forbidden", "route_not_found"]
                            .contains(&reply.code())
                            || reply.status.is_success(),
                        "expected the handler to be reached: {cell:?}"
                    );
                }
                Deny if *caller == "nobody" => {
                    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{cell:?}");
                    assert_eq!(reply.code(), "authentication_required", "{cell:?}");
                }
                Deny => {
                    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{cell:?}");
                    assert_eq!(reply.code(), "forbidden", "{cell:?}");
                }
            }
        }
    }
    // Nothing in the matrix was a valid change.
    assert_eq!(world.store.head().await.unwrap().sequence, before);
}

async fn foreign_ids_answer_404_and_change_nothing<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let tokens = world
        .api
        .get("/api/v1/me/tokens", &world.bearer("provider_b"))
        .await;
    let foreign_token = tokens.body["tokens"][0]["id"].as_str().unwrap().to_string();
    let before = world.store.head().await.unwrap().sequence;
    for attacker in ["provider_a", "enterprise_a", "admin", "finance", "auditor"] {
        let reply = world
            .api
            .send(
                "DELETE",
                &format!("/api/v1/me/tokens/{foreign_token}"),
                &world.bearer(attacker),
                None,
                Some(&format!("idor-{attacker}")),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{attacker}"
        );
    }
    // The victim's token still works.
    let me = world
        .api
        .get("/api/v1/me", &world.bearer("provider_b"))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(world.store.head().await.unwrap().sequence, before);
    // Users: providers and enterprises see only themselves; a foreign id is
    // indistinguishable from a missing one.
    let other = world.users["enterprise_b"].id;
    for attacker in ["provider_a", "enterprise_a"] {
        let reply = world
            .api
            .get(&format!("/api/v1/users/{other}"), &world.bearer(attacker))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{attacker}");
        let missing = world
            .api
            .get(
                "/api/v1/users/01a21208-0000-7000-8000-000000000000",
                &world.bearer(attacker),
            )
            .await;
        assert_eq!(reply.body, missing.body);
        let own = world.users[attacker].id;
        let reply = world
            .api
            .get(&format!("/api/v1/users/{own}"), &world.bearer(attacker))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.body["party_id"],
            json!(world.users[attacker].party_id)
        );
    }
    let reply = world
        .api
        .get(&format!("/api/v1/users/{other}"), &world.bearer("auditor"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

async fn unknown_and_server_owned_fields_are_refused<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let base =
        json!({"username": "newbie", "password": "a long enough password", "role": "auditor"});
    for (field, value) in [
        ("id", json!("01a21208-0000-7000-8000-000000000000")),
        ("created_at", json!("2026-01-01")),
        ("failed_logins", json!(0)),
        ("password_hash", json!("$argon2id$")),
        ("is_admin", json!(true)),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let reply = world
            .api
            .post("/api/v1/users", &admin, body, &format!("mass-{field}"))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_body"),
            "{field}"
        );
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field),
            "{field}"
        );
    }
    let reply = world
        .api
        .post(
            "/api/v1/me/tokens",
            &admin,
            json!({"name": "x", "ttl_days": 5, "user_id": "x"}),
            "mass-token",
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = world
        .api
        .get("/api/v1/users?limit=5&role=admin", &admin)
        .await;
    reply.expect_error(StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(world.count_entries("user_created").await, 7);
}

async fn a_display_name_names_the_user_and_stays_off_the_ledger<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let user = |username: &str, name: &str| {
        json!({"username": username, "password": "a long enough password",
               "role": "finance", "display_name": name})
    };
    let named = world
        .api
        .post(
            "/api/v1/users",
            &admin,
            user("clerk", "  欧阳娜娜 "),
            "named",
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{:?}", named.body);
    assert_eq!(named.body["display_name"], "欧阳娜娜", "trimmed");
    let blank = world
        .api
        .post("/api/v1/users", &admin, user("clerk2", "   "), "blank")
        .await;
    assert_eq!(blank.status, StatusCode::CREATED);
    assert!(blank.body["display_name"].is_null(), "blank is none");
    // 50 characters pass; 51 are refused, and nothing is written.
    let fifty = "名".repeat(50);
    let reply = world
        .api
        .post("/api/v1/users", &admin, user("clerk3", &fifty), "fifty")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply_id = reply.body["id"].as_str().map(str::to_string);
    let reply = world
        .api
        .post(
            "/api/v1/users",
            &admin,
            user("clerk4", &"名".repeat(51)),
            "too-long",
        )
        .await;
    reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "display_name_rejected");
    assert!(
        reply.body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("50")
    );
    assert_eq!(world.count_entries("user_created").await, 10);
    // The name is on the user, not in any entry of the chain.
    let entries = world
        .api
        .get(
            "/api/v1/ledger/entries?kind=user_created&limit=100",
            &world.bearer("auditor"),
        )
        .await;
    assert_eq!(entries.status, StatusCode::OK);
    // Bodies are hex of protobuf: look for each text's UTF-8 bytes in hex.
    let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let bodies: Vec<&str> = entries.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["body_hex"].as_str().unwrap())
        .collect();
    let fifty_id = reply_id.expect("the 50-character user was created");
    assert!(
        bodies.iter().any(|body| body.contains(&hex(&fifty_id))),
        "the entries are the ones created"
    );
    // The login too enters the chain only sealed (docs/personal-data.md).
    for name in ["欧阳娜娜", "名名名", "clerk3"] {
        assert!(
            !bodies.iter().any(|body| body.contains(&hex(name))),
            "{name}"
        );
    }
}

async fn an_idempotent_replay_returns_the_first_response_and_acts_once<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let body =
        json!({"username": "clerk", "password": "a long enough password", "role": "finance"});
    let first = world
        .api
        .post("/api/v1/users", &admin, body.clone(), "create-clerk")
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = world
        .api
        .post("/api/v1/users", &admin, body, "create-clerk")
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(world.count_entries("user_created").await, 8);
    // The same key from another user is that user's own key.
    let other = world
        .api
        .post(
            "/api/v1/me/tokens",
            &world.bearer("finance"),
            json!({"name": "ci", "ttl_days": 1}),
            "create-clerk",
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    // A replayed token creation never reveals the secret again.
    let replay = world
        .api
        .post(
            "/api/v1/me/tokens",
            &world.bearer("finance"),
            json!({"name": "ci", "ttl_days": 1}),
            "create-clerk",
        )
        .await;
    replay.expect_error(StatusCode::CONFLICT, "idempotency_replay_unavailable");
    assert!(
        !replay
            .body
            .to_string()
            .contains(other.body["secret"].as_str().unwrap())
    );
}

async fn a_changed_body_under_a_used_key_is_422<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let body =
        json!({"username": "clerk", "password": "a long enough password", "role": "finance"});
    let first = world.api.post("/api/v1/users", &admin, body, "k").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let changed =
        json!({"username": "clerk2", "password": "a long enough password", "role": "finance"});
    let reply = world.api.post("/api/v1/users", &admin, changed, "k").await;
    reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(world.count_entries("user_created").await, 8);
}

async fn twenty_concurrent_requests_with_one_key_act_once<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let body =
        json!({"username": "racer", "password": "a long enough password", "role": "auditor"});
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let api = world.api.clone();
            let (admin, body) = (admin.clone(), body.clone());
            tokio::spawn(async move { api.post("/api/v1/users", &admin, body, "race").await })
        })
        .collect();
    let mut ids = HashSet::new();
    for request in requests {
        let reply = request.await.unwrap();
        match reply.status {
            StatusCode::CREATED => {
                ids.insert(reply.body["id"].as_str().unwrap().to_string());
            }
            StatusCode::CONFLICT => assert_eq!(reply.code(), "idempotency_request_in_progress"),
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert_eq!(ids.len(), 1, "every success names the same user");
    assert_eq!(
        world.count_entries("user_created").await,
        8,
        "exactly one effect"
    );
}

async fn mutations_without_an_idempotency_key_are_refused<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let body =
        json!({"username": "nokey", "password": "a long enough password", "role": "auditor"});
    let reply = world
        .api
        .send("POST", "/api/v1/users", &admin, Some(body.clone()), None)
        .await;
    reply.expect_error(StatusCode::BAD_REQUEST, "idempotency_key_required");
    let long = "k".repeat(256);
    let reply = world.api.post("/api/v1/users", &admin, body, &long).await;
    reply.expect_error(StatusCode::BAD_REQUEST, "idempotency_key_invalid");
    assert_eq!(world.count_entries("user_created").await, 7);
}

async fn cookie_sessions_need_the_csrf_token_and_end_at_logout<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = &world.users["admin"];
    let (cookie, csrf) = world.api.login(&admin.username, &admin.password).await;
    let with = As::Session {
        cookie: cookie.clone(),
        csrf: Some(csrf.clone()),
    };
    let without = As::Session {
        cookie: cookie.clone(),
        csrf: None,
    };
    let wrong = As::Session {
        cookie: cookie.clone(),
        csrf: Some("0".repeat(64)),
    };
    assert_eq!(
        world.api.get("/api/v1/me", &without).await.status,
        StatusCode::OK
    );
    let body = json!({"name": "from the portal", "ttl_days": 7});
    for (who, key) in [(&without, "csrf-1"), (&wrong, "csrf-2")] {
        let reply = world
            .api
            .post("/api/v1/me/tokens", who, body.clone(), key)
            .await;
        reply.expect_error(StatusCode::FORBIDDEN, "csrf_token_invalid");
    }
    let reply = world
        .api
        .post("/api/v1/me/tokens", &with, body, "csrf-3")
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = world
        .api
        .send("DELETE", "/api/v1/session", &with, None, Some("logout"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let reply = world.api.get("/api/v1/me", &with).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Ended sessions are purged later; the ledger keeps the events.
    assert_eq!(
        world.store.purge_sessions(0).await.unwrap(),
        0,
        "nothing ended before 1970"
    );
    assert_eq!(world.store.purge_sessions(i64::MAX).await.unwrap(), 1);
    assert_eq!(world.count_entries("login_succeeded").await, 1);
    assert_eq!(world.count_entries("session_ended").await, 1);
}

async fn api_tokens_work_until_revoked_and_their_secret_is_shown_once<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let provider = world.bearer("provider_a");
    let created = world
        .api
        .post(
            "/api/v1/me/tokens",
            &provider,
            json!({"name": "billing", "ttl_days": 30}),
            "t1",
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let secret = created.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("vlt_"));
    let id = created.body["token"]["id"].as_str().unwrap().to_string();
    let listed = world.api.get("/api/v1/me/tokens", &provider).await;
    assert!(
        !listed.body.to_string().contains(&secret),
        "lists never show secrets"
    );
    let new_token = As::Bearer(secret.clone());
    let me = world.api.get("/api/v1/me", &new_token).await;
    assert_eq!(me.body["username"], "provider-a");
    let revoked = world
        .api
        .send(
            "DELETE",
            &format!("/api/v1/me/tokens/{id}"),
            &provider,
            None,
            Some("r1"),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let me = world.api.get("/api/v1/me", &new_token).await;
    me.expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let bad = world
        .api
        .post(
            "/api/v1/me/tokens",
            &provider,
            json!({"name": "x", "ttl_days": 0}),
            "t2",
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(world.count_entries("api_token_revoked").await, 1);
}

/// `POST /users` binds a provider or enterprise user only to a registered
/// party of that kind.
async fn a_user_works_only_for_a_registered_party_of_its_kind<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let provider = crate::redemption::counter(
        &world,
        crate::redemption::provider_fields(
            &crate::redemption::uscc(81),
            &crate::redemption::uscc(82),
            "100000",
        ),
        "approved",
    )
    .await;
    let firm = crate::issuance::seed_firms(&world.store, &world.writer, 1, 1)
        .await
        .remove(0);
    let create = async |username: &str, role: &str, party: &str, key: &str| {
        let body = json!({
            "username": username,
            "password": "a perfectly long password",
            "role": role,
            "party_id": party,
        });
        world.api.post("/api/v1/users", &admin, body, key).await
    };
    let firm_id = firm.enterprise_id.to_string();
    let refused = [
        (
            "ent-on-provider",
            "enterprise",
            provider.provider_id.as_str(),
        ),
        ("prov-on-firm", "provider", firm_id.as_str()),
        (
            "ent-on-nothing",
            "enterprise",
            "01a21208-0000-7000-8000-000000000000",
        ),
    ];
    for (n, (username, role, party)) in refused.into_iter().enumerate() {
        create(username, role, party, &format!("u{n}"))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "party_unknown");
    }
    let made = create("ent-ok", "enterprise", &firm_id, "ok1").await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let made = create("prov-ok", "provider", &provider.provider_id, "ok2").await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
}

async fn repeated_failed_logins_lock_the_account_and_are_in_the_ledger<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    for _ in 0..5 {
        let reply = world.api.try_login("auditor", "wrong password!!").await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let password = world.users["auditor"].password.clone();
    let reply = world.api.try_login("auditor", &password).await;
    reply.expect_error(StatusCode::FORBIDDEN, "account_locked");
    assert!(
        reply.body["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("锁定")
    );
    assert_eq!(world.count_entries("login_failed").await, 5);
    assert_eq!(world.count_entries("login_succeeded").await, 0);
    // Without the password, a locked account answers exactly as an
    // unknown username does, and after a password check of its own (so
    // the time it takes does not tell either): the lock is shown only to
    // someone who knows the password.
    // The quickest of a few attempts each, so a scheduling stall on a busy
    // machine does not decide (10 attempts per username a minute are allowed).
    let mut locked_time = std::time::Duration::MAX;
    let mut unknown_time = std::time::Duration::MAX;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let locked = world.api.try_login("auditor", "wrong password!!").await;
        locked_time = locked_time.min(started.elapsed());
        let started = std::time::Instant::now();
        let unknown = world.api.try_login("ghost", "whatever at all").await;
        unknown_time = unknown_time.min(started.elapsed());
        unknown.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(
            (locked.status, &locked.body),
            (unknown.status, &unknown.body)
        );
    }
    assert!(
        locked_time * 4 >= unknown_time,
        "a locked account answers in {locked_time:?}, an unknown user in {unknown_time:?}"
    );
    assert_eq!(world.count_entries("login_failed").await, 5);
}

async fn login_is_rate_limited_with_retry_after<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let body = json!({"username": "nobody-here", "password": "not the password"});
    let mut limited = None;
    for _ in 0..12 {
        let reply = world
            .api
            .send(
                "POST",
                "/api/v1/session",
                &As::Nobody,
                Some(body.clone()),
                None,
            )
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
    }
    let reply = limited.expect("the 11th attempt in a minute is refused");
    assert_eq!(reply.code(), "rate_limited");
    let wait: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
}

async fn ledger_entries_name_the_user_and_role_that_caused_them<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let body =
        json!({"username": "traced", "password": "a long enough password", "role": "auditor"});
    let created = world
        .api
        .post("/api/v1/users", &world.bearer("admin"), body, "trace")
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let entries = world
        .api
        .get("/api/v1/ledger/entries?limit=200", &world.bearer("auditor"))
        .await;
    let last = world.last_entry().await;
    assert_eq!(last["kind"], "user_created");
    let admin = world.users["admin"].id;
    let actor = last["actor"].as_str().unwrap();
    assert!(
        actor.starts_with(&format!("user:admin:{admin}:token:")),
        "{actor}"
    );
    assert!(
        last["idempotency_key"]
            .as_str()
            .unwrap()
            .ends_with(":trace")
    );
    // No secret or password hash is ever in an entry.
    for entry in entries.body["entries"].as_array().unwrap() {
        let text = entry.to_string();
        assert!(
            !text.contains("argon2") && !text.contains("vlt_") && !text.contains("password"),
            "{text}"
        );
    }
}

async fn a_password_change_ends_sessions_and_the_old_password<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let old = world.users["finance"].password.clone();
    let token = world.bearer("finance");
    assert_eq!(
        world.api.get("/api/v1/me", &token).await.status,
        StatusCode::OK
    );
    let (cookie, csrf) = world.api.login("finance", &old).await;
    let session = As::Session {
        cookie,
        csrf: Some(csrf),
    };
    let change = async |current: &str, new: &str, key: &str| {
        let body = json!({"current_password": current, "new_password": new});
        world
            .api
            .send(
                "PUT",
                "/api/v1/me/password",
                &session,
                Some(body),
                Some(key),
            )
            .await
    };
    let wrong = change("not it at all", "a brand new password", "p0").await;
    wrong.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let short = change(&old, "short", "p1").await;
    short.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "password_rejected");
    let changed = change(&old, "a brand new password", "p2").await;
    assert_eq!(changed.status, StatusCode::OK);
    let me = world.api.get("/api/v1/me", &session).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "sessions end with the change"
    );
    // So do the user's API tokens: whoever knew the old password may have
    // made them.
    world
        .api
        .get("/api/v1/me", &token)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let reply = world.api.try_login("finance", &old).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    world.api.login("finance", "a brand new password").await;
}

async fn stored_idempotency_responses_expire_after_the_retention<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let body = json!({"name": "retention", "ttl_days": 1});
    let first = world
        .api
        .post(
            "/api/v1/me/tokens",
            &world.bearer("admin"),
            body.clone(),
            "r",
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let scope = format!("user:{}", world.users["admin"].id);
    assert!(
        world
            .store
            .idempotency(&scope, "r")
            .await
            .unwrap()
            .is_some()
    );
    // Keys younger than the cut-off stay; older ones go.
    let kept = world
        .store
        .purge_idempotency(first_created(&world, &scope).await - 1)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    let purged = world.store.purge_idempotency(i64::MAX).await.unwrap();
    assert!(purged >= 1);
    assert!(
        world
            .store
            .idempotency(&scope, "r")
            .await
            .unwrap()
            .is_none()
    );
    // After expiry the HTTP key is free again, but the ledger still holds an
    // entry under the same ledger key: the effect stays exactly-once beyond
    // the retention, and no second token is issued.
    let again = world
        .api
        .post("/api/v1/me/tokens", &world.bearer("admin"), body, "r")
        .await;
    again.expect_error(StatusCode::CONFLICT, "token_already_issued");
    assert_eq!(world.count_entries("api_token_created").await, 8);
}

async fn first_created<S: Store>(world: &World<S>, scope: &str) -> i64 {
    world
        .store
        .idempotency(scope, "r")
        .await
        .unwrap()
        .unwrap()
        .created_at_us
}

async fn the_ledger_with_access_events_verifies<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = &world.users["admin"];
    let (cookie, csrf) = world.api.login(&admin.username, &admin.password).await;
    let session = As::Session {
        cookie,
        csrf: Some(csrf),
    };
    world
        .api
        .try_login(&admin.username, "wrong password here")
        .await;
    world
        .api
        .send("DELETE", "/api/v1/session", &session, None, Some("bye"))
        .await;
    let summary = voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
    // 7 users and 7 tokens seeded, a login, a failed login, a logout.
    assert_eq!(summary.entries, 17);
    let page = world
        .api
        .get("/api/v1/ledger/balances?limit=1", &world.bearer("auditor"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body["balances"].as_array().unwrap().is_empty(),
        "access events move no money"
    );
}

/// Keyset pages (users here; enterprises, providers, programmes and
/// balances share `KeyPage`): walking `next_cursor` visits every row once,
/// in key order, and the last page has no cursor.
async fn lists_page_by_key_without_gaps_or_repeats<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let auditor = world.bearer("auditor");
    let mut expected: Vec<String> = world.users.values().map(|u| u.username.clone()).collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = world
            .api
            .get(&format!("/api/v1/users?after={cursor}&limit=3"), &auditor)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let users = page.body["users"].as_array().unwrap();
        assert!(users.len() <= 3);
        seen.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_string()),
        );
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(3));
    // Out-of-range limits are clamped, not refused.
    let one = world.api.get("/api/v1/users?limit=0", &auditor).await;
    assert_eq!(one.body["users"].as_array().unwrap().len(), 1);
    let all = world.api.get("/api/v1/users?limit=100000", &auditor).await;
    assert_eq!(all.body["users"].as_array().unwrap().len(), expected.len());
    assert_eq!(all.body["next_cursor"], serde_json::Value::Null);
}

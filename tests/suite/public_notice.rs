//! The public notice (公示, issue 20 point 7), on both backends: anyone, no
//! login, sees a programme's approved providers, each approved run's
//! payouts per provider with the number of redemptions and a working link
//! to the inclusion proof of the approval, and the totals — in JSON, on
//! the page and as CSV — and nothing personal: no legal representative,
//! contact person, phone, user account or bank account of any firm the
//! registry holds.

use axum::http::StatusCode;
use voucher_ledger::http::{ApiConfig, AppState};
use voucher_ledger::store::Store;

use crate::api_client::{Api, As, World};
use crate::documents::{LINES, PROVIDERS, approved_run};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(the_notice_shows_payouts_with_proofs_and_nothing_personal);

fn site<S: Store>(world: &World<S>) -> Api {
    Api {
        router: voucher_ledger::web::site(AppState::new(
            world.store.clone(),
            world.writer.clone(),
            ApiConfig::default(),
        )),
    }
}

/// Every personal value the registry holds about firms and people: legal
/// representatives, contact persons, phones, bank accounts and account
/// names, and every username — read as the admin.
async fn personal_values<S: Store>(world: &World<S>) -> Vec<String> {
    let admin = world.bearer("admin");
    let mut values = Vec::new();
    for (path, list) in [
        ("/api/v1/providers?limit=200", "providers"),
        ("/api/v1/enterprises?limit=200", "enterprises"),
    ] {
        let reply = world.api.get(path, &admin).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        for row in reply.body[list].as_array().unwrap() {
            for key in [
                "legal_representative",
                "contact",
                "contact_person",
                "contact_phone",
                "phone",
                "account_number",
            ] {
                let found = row[key]
                    .as_str()
                    .or_else(|| row["fields"][key].as_str())
                    .or_else(|| row["provider"][key].as_str());
                if let Some(value) = found.filter(|v| v.chars().count() >= 2) {
                    values.push(value.to_string());
                }
            }
        }
    }
    let users = world.api.get("/api/v1/users?limit=200", &admin).await;
    for user in users.body["users"].as_array().unwrap() {
        values.push(user["username"].as_str().unwrap().to_string());
    }
    values
}

async fn the_notice_shows_payouts_with_proofs_and_nothing_personal<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (scene, run, _) = approved_run(store).await;
    let world = &scene.world;
    let code = run["programme_code"].as_str().unwrap();
    let list = world
        .api
        .get("/api/v1/public/programmes", &As::Nobody)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.to_string().contains(code));
    let notice = world
        .api
        .get(&format!("/api/v1/public/programmes/{code}"), &As::Nobody)
        .await;
    assert_eq!(notice.status, StatusCode::OK, "{:?}", notice.body);
    let notice = notice.body;
    let runs = notice["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let payouts = runs[0]["payouts"].as_array().unwrap();
    assert_eq!(payouts.len(), PROVIDERS.len());
    let redemptions: u64 = payouts
        .iter()
        .map(|p| p["redemptions"].as_u64().unwrap())
        .sum();
    assert_eq!(redemptions, LINES as u64);
    let total: i64 = payouts
        .iter()
        .map(|p| p["gross_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(total, run["included_fen"].as_i64().unwrap());
    for (name, _, _) in PROVIDERS {
        assert!(payouts.iter().any(|p| p["provider_name"] == name), "{name}");
        let listed = notice["providers"].as_array().unwrap();
        assert!(
            listed.iter().any(|p| p["name"] == name),
            "{name} in 入库名单"
        );
    }
    assert!(notice["totals"]["funding_fen"].as_i64().unwrap() > 0);
    // The proof link answers the approval's inclusion proof.
    let proof = world
        .api
        .get(runs[0]["proof"].as_str().unwrap(), &As::Nobody)
        .await;
    assert_eq!(proof.status, StatusCode::OK);
    assert_eq!(proof.body["sequence"], run["approved_sequence"]);
    assert_eq!(proof.body["kind"], "settlement_approved");
    // A draft or unknown programme is not public.
    world
        .api
        .get("/api/v1/public/programmes/NO-SUCH", &As::Nobody)
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");

    // The page and the CSV, with no login.
    let site = site(world);
    let (status, _, page) = site
        .download(&format!("/public/programmes/{code}"), &As::Nobody)
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    let (status, headers, csv) = site
        .download(
            &format!("/public/programmes/{code}/notice.csv"),
            &As::Nobody,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(csv).unwrap();
    for (name, _, _) in PROVIDERS {
        assert!(page.contains(name) && csv.contains(name), "{name}");
    }
    assert!(page.contains("入库服务机构名单") && page.contains("/api/v1/log/inclusion?sequence="));
    assert!(csv.starts_with('\u{feff}'), "a BOM for spreadsheets");

    // Nothing personal anywhere.
    let personal = personal_values(world).await;
    assert!(personal.len() > 5, "{personal:?}");
    let json = notice.to_string();
    for value in &personal {
        for (what, text) in [("json", &json), ("page", &page), ("csv", &csv)] {
            assert!(
                !text.contains(value.as_str()),
                "{value:?} in the public {what}"
            );
        }
    }
}

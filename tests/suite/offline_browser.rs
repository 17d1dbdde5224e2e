//! Offline redemption in real browsers (issue 22), on SQLite and on
//! PostgreSQL, with the network really cut — the server stopped:
//!
//! 1. online, the provider's tablet registers its device on the offline
//!    page and receives a signed status list; the enterprise's phone opens
//!    its voucher, which binds the phone's key;
//! 2. the server stops: the phone makes an offline code for the provider;
//!    the tablet's page — reloaded from its service worker — checks it,
//!    accepts it and queues it; the queue survives a reload and a browser
//!    restart;
//! 3. the server comes back on the same address: the tablet syncs (once:
//!    syncing again changes nothing); the redemption is in the provider's
//!    list, the enterprise confirms it, and finance's next settlement run
//!    holds it; `verify` passes.

use std::path::Path;

use serde_json::Value;

use crate::helpers::TestDb;
use crate::portal_journey::{at, log_in, submit, this_quarter};
use crate::processes::{self, on_both_databases, terminate};
use crate::webdriver::{Browser, Driver};

const PHONE: (u32, u32) = (412, 915);
const TABLET: (u32, u32) = (1024, 900);
const PROGRAMME: &str = "ZS2026-01";

on_both_databases!(
    offline_browser,
    a_voucher_is_presented_accepted_and_synced_with_the_network_cut
);

/// The demo's users and passwords from its first run's output.
fn passwords(printed: &str) -> std::collections::HashMap<String, String> {
    printed
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [_, username, password] if username.starts_with("demo-") => {
                    Some((username.to_string(), password.to_string()))
                }
                _ => None,
            },
        )
        .collect()
}

/// The state of the device's queue rows, in order.
async fn queue(browser: &Browser) -> Vec<String> {
    browser
        .script(
            "return Array.from(document.querySelectorAll('[data-queue] tr')).map(tr => tr.dataset.status);",
            vec![],
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_for(browser: &Browser, what: &str, script: &str) {
    browser.wait_until(what, script).await;
}

async fn open_offline_page(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/provider/offline")).await;
    browser.find("[data-offline-counter]").await;
}

async fn start(dir: &Path, address: &str, db: &TestDb) -> (tokio::process::Child, String, String) {
    processes::start_demo_at(dir, address, &["--database-url", db.url()]).await
}

async fn a_voucher_is_presented_accepted_and_synced_with_the_network_cut(db: &TestDb) {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let artefacts = crate::helpers::artefacts(db, "offline-browser");
    let shot = |name: &str| artefacts.join(format!("{name}.png"));
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let (mut server, base, printed) = start(dir.path(), &address, db).await;
    let passwords = passwords(&printed);
    let password = |user: &str| passwords[user].clone();

    // 1. Online: the tablet registers and takes a status list.
    let tablet_profile = dir.path().join("tablet");
    let tablet = driver.browser(&tablet_profile, TABLET, None).await;
    log_in(
        &tablet,
        &base,
        "demo-provider",
        &password("demo-provider"),
        "/provider",
    )
    .await;
    open_offline_page(&tablet, &base).await;
    tablet.fill("[data-device-label]", "岱山网点平板").await;
    tablet.click("[data-register-button]").await;
    wait_for(
        &tablet,
        "the device registered and a list received",
        "return document.querySelector('[data-device-line]').classList.contains('ok') && document.querySelector('[data-list-line]').classList.contains('ok')",
    )
    .await;
    wait_for(
        &tablet,
        "the service worker controls the page",
        "return !!navigator.serviceWorker.controller",
    )
    .await;
    let provider_id = tablet
        .script(
            "return document.querySelector('[data-offline-counter]').dataset.providerId",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    tablet.screenshot(&shot("01-tablet-registered")).await;

    // The phone opens its voucher: the page binds the phone's key.
    let phone = driver.browser(&dir.path().join("phone"), PHONE, None).await;
    log_in(
        &phone,
        &base,
        "demo-enterprise",
        &password("demo-enterprise"),
        "/enterprise",
    )
    .await;
    phone.goto(&format!("{base}/enterprise/vouchers")).await;
    phone
        .click_and_load("main a[href^='/enterprise/vouchers/']")
        .await;
    at(&phone, "/enterprise/vouchers/").await;
    let voucher_id = phone.url().await.rsplit('/').next().unwrap().to_string();
    wait_for(
        &phone,
        "the phone is bound",
        "return !document.querySelector('[data-holder-present]').disabled",
    )
    .await;
    phone.screenshot(&shot("02-phone-bound")).await;

    // 2. The network is cut: the server stops.
    terminate(&server);
    assert!(server.wait().await.unwrap().success());

    // The phone makes an offline code for the tablet's provider.
    phone
        .script(
            "const s = document.querySelector('[data-holder-provider]'); s.value = arguments[0]; return s.value;",
            vec![Value::from(provider_id.clone())],
        )
        .await;
    phone.click("[data-holder-present]").await;
    wait_for(
        &phone,
        "an offline code",
        "return document.querySelector('[data-holder-text]').value.startsWith('VO1:') && !!document.querySelector('[data-holder-qr] svg')",
    )
    .await;
    let code = phone
        .script(
            "return document.querySelector('[data-holder-text]').value",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    phone.screenshot(&shot("03-phone-offline-code")).await;

    // The tablet's page, reloaded with no server: from its service worker.
    open_offline_page(&tablet, &base).await;
    wait_for(
        &tablet,
        "the page knows it is offline",
        "return document.querySelector('[data-network-line]').classList.contains('warning')",
    )
    .await;
    tablet
        .script(
            "document.querySelector('[data-code]').value = arguments[0];",
            vec![Value::from(code.clone())],
        )
        .await;
    tablet.fill("[data-amount]", "1,200").await;
    tablet.fill("[data-contract-number]", "DS-LX-0001").await;
    tablet
        .fill("[data-description]", "海岛企业质量体系咨询")
        .await;
    tablet.click("[data-check]").await;
    wait_for(
        &tablet,
        "the check",
        "return !document.querySelector('[data-check-result]').hidden",
    )
    .await;
    let result = tablet.text("[data-check-result]").await;
    assert!(
        result.contains("600.00"),
        "half of ¥1,200 may be accepted: {result}"
    );
    tablet.click("[data-accept]").await;
    wait_for(
        &tablet,
        "the acceptance queued",
        "return Array.from(document.querySelectorAll('[data-queue] tr')).some(tr => tr.dataset.status === 'queued')",
    )
    .await;
    tablet.screenshot(&shot("04-tablet-accepted-offline")).await;
    // A code changed in transit: refused on the device, nothing queued.
    let mut forged: Vec<char> = code.chars().collect();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    tablet
        .script(
            "document.querySelector('[data-code]').value = arguments[0];",
            vec![Value::from(forged)],
        )
        .await;
    tablet.click("[data-check]").await;
    wait_for(
        &tablet,
        "a changed code is refused",
        "const r = document.querySelector('[data-check-result]'); return r.classList.contains('error') && /token_|holder_/.test(r.textContent)",
    )
    .await;
    assert!(
        tablet
            .script(
                "return document.querySelector('[data-accept]').disabled",
                vec![]
            )
            .await
            .as_bool()
            .unwrap()
    );
    // The same code again: refused on the device.
    tablet
        .script(
            "document.querySelector('[data-code]').value = arguments[0];",
            vec![Value::from(code.clone())],
        )
        .await;
    tablet.click("[data-check]").await;
    wait_for(
        &tablet,
        "a replay is refused",
        "const r = document.querySelector('[data-check-result]'); return r.classList.contains('error') && r.textContent.includes('presentation_already_used')",
    )
    .await;

    // The queue survives a reload…
    open_offline_page(&tablet, &base).await;
    wait_for(
        &tablet,
        "the queue after a reload",
        "return document.querySelectorAll('[data-queue] tr').length === 1",
    )
    .await;
    assert_eq!(queue(&tablet).await, ["queued"]);
    // …and a browser restart.
    tablet.quit().await;
    let tablet = driver.browser(&tablet_profile, TABLET, None).await;
    open_offline_page(&tablet, &base).await;
    wait_for(
        &tablet,
        "the queue after a browser restart",
        "return document.querySelectorAll('[data-queue] tr').length === 1",
    )
    .await;
    assert_eq!(queue(&tablet).await, ["queued"]);
    tablet
        .screenshot(&shot("05-tablet-restarted-offline"))
        .await;

    // 3. The network returns: the same server on the same address.
    let (restarted, again, _) = start(dir.path(), &address, db).await;
    server = restarted;
    assert_eq!(again, base);
    tablet.click("[data-sync]").await;
    wait_for(
        &tablet,
        "synced",
        "return Array.from(document.querySelectorAll('[data-queue] tr')).every(tr => tr.dataset.status === 'redeemed')",
    )
    .await;
    // Once: syncing again, and reloading, change nothing.
    tablet.click("[data-sync]").await;
    open_offline_page(&tablet, &base).await;
    wait_for(
        &tablet,
        "the synced acceptance listed",
        "return document.querySelectorAll('[data-acceptances] tr[data-outcome=redeemed]').length === 1",
    )
    .await;
    tablet.screenshot(&shot("06-tablet-synced")).await;

    // In the provider's list of redemptions.
    tablet.goto(&format!("{base}/provider/redemptions")).await;
    let listed = tablet.text("main").await;
    assert!(
        listed.contains("DS-LX-0001") || listed.contains("600.00"),
        "{listed}"
    );

    // The enterprise confirms it.
    phone.goto(&format!("{base}/enterprise/redemptions")).await;
    phone.click("select[name=rating] option[value='5']").await;
    submit(&phone, "/confirm").await;
    phone.find(".notice.ok").await;
    phone.screenshot(&shot("07-phone-confirmed")).await;

    // Finance's next settlement run holds it.
    let finance = driver
        .browser(&dir.path().join("finance"), TABLET, None)
        .await;
    log_in(
        &finance,
        &base,
        "demo-finance",
        &password("demo-finance"),
        "/finance",
    )
    .await;
    finance
        .click(&format!("select#programme option[value='{PROGRAMME}']"))
        .await;
    finance.fill("#period", &this_quarter()).await;
    submit(&finance, "/finance/runs").await;
    at(&finance, "/finance/runs/").await;
    let run = finance.text("main").await;
    assert!(
        run.contains(&voucher_id) && run.contains("¥1,200.00") && run.contains("¥600.00"),
        "the run lists the offline redemption of {voucher_id}: {run}"
    );
    finance.screenshot(&shot("08-finance-run")).await;

    terminate(&server);
    assert!(server.wait().await.unwrap().success());
    let (code, out) = processes::run(dir.path(), &["verify", "--database-url", db.url()]).await;
    assert_eq!(code, 0, "verify after the offline journey: {out}");
}

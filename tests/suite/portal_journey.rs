//! The portals end to end in a real browser (Debian's headless Chromium
//! driven through chromedriver), against the real `demo` server on an
//! ephemeral port, on SQLite and on PostgreSQL.
//!
//! The journey: the admin creates, funds and opens a programme (and adds a
//! second finance user); the enterprise claims and shows its rotating QR;
//! the provider's scan page reads that very QR through the camera
//! (Chromium's fake capture device plays a video made from a screenshot of
//! the enterprise's QR) and redeems; the enterprise confirms; one finance
//! user prepares the settlement, is told it may not approve it, and another
//! approves; the 兑付表 XLSX downloads; the provider downloads its statement. Along the way each form's refusal
//! path is taken once in the browser. Every page must render without a
//! console error; each step leaves a screenshot in
//! `target/test-artefacts/browser/<backend>/`, and the server time of each
//! page (its `Server-Timing`) is printed. Then the sweep: every page of
//! every role at a 390×844 phone viewport, where the page may not scroll
//! sideways, with whole-page screenshots at 390 and 1366 px in `sweep/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::TestDb;
use crate::processes::{self, on_both_databases, terminate};
use crate::webdriver::{Browser, Driver, WAIT, y4m_of_png};

const PROGRAMME: &str = "ZS2026-E2E";
const PHONE: (u32, u32) = (412, 915);
/// The demo's presentation lifetime in this journey.
const PRESENTATION: Duration = Duration::from_secs(20);
const DESKTOP: (u32, u32) = (1280, 900);

on_both_databases!(
    portal_journey,
    portals_take_a_voucher_from_programme_to_paid_report
);

/// What the journey records as it goes.
struct Journey {
    base: String,
    artefacts: PathBuf,
    step: usize,
    /// (page, server milliseconds) of every page looked at.
    timings: Vec<(String, f64)>,
}

impl Journey {
    /// Checks the page rendered cleanly, records its server time, and
    /// takes its screenshot. A console error fails the test, except the
    /// document's own 4xx when `refused` (a refused form answers 422).
    async fn step(&mut self, browser: &Browser, name: &str, refused: bool) {
        for (level, message) in browser.console().await {
            let own_refusal = refused && message.contains("status of 4");
            assert!(
                level != "SEVERE" || own_refusal,
                "console error on {} at step {name}: {message}",
                browser.url().await
            );
        }
        let url = browser.url().await;
        let page = url.strip_prefix(&self.base).unwrap_or(&url).to_string();
        if let Some(ms) = server_time(browser).await {
            self.timings.push((page, ms));
        }
        self.step += 1;
        let file = self.artefacts.join(format!("{:02}-{name}.png", self.step));
        browser.screenshot(&file).await;
    }
}

/// The page's server time in ms (its `Server-Timing: app;dur=…`).
async fn server_time(browser: &Browser) -> Option<f64> {
    browser
        .script(
            "const n = performance.getEntriesByType('navigation')[0];
             const t = n && n.serverTiming.find(t => t.name === 'app');
             return t ? t.duration : null;",
            vec![],
        )
        .await
        .as_f64()
}

/// The phone of the sweep (an iPhone 12–14 viewport) and the desktop.
const SWEEP_PHONE: (u32, u32) = (390, 844);
const SWEEP_DESKTOP: (u32, u32) = (1366, 900);

impl Journey {
    /// Opens every page of `paths` in `browser` as `role`, each checked
    /// like a step (console clean, server time recorded), at a 390 px phone
    /// width — where nothing may scroll sideways — and at 1366 px, with a
    /// whole-page screenshot at each width in `sweep/`.
    async fn sweep(&mut self, browser: &Browser, role: &str, paths: &[String]) {
        let shots = self.artefacts.join("sweep");
        std::fs::create_dir_all(&shots).unwrap();
        for path in paths {
            browser.viewport(SWEEP_PHONE.0, SWEEP_PHONE.1, true).await;
            browser.goto(&format!("{}{path}", self.base)).await;
            browser.find("main").await;
            for (level, message) in browser.console().await {
                assert!(level != "SEVERE", "console error on {path}: {message}");
            }
            if let Some(ms) = server_time(browser).await {
                self.timings.push((path.clone(), ms));
            }
            let widths = browser
                .script(
                    "return [document.scrollingElement.scrollWidth, window.innerWidth,
                             Array.from(document.querySelectorAll('body *'))
                               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                               .slice(0, 3).map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))]",
                    vec![],
                )
                .await;
            let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert_eq!(inner, u64::from(SWEEP_PHONE.0), "the phone viewport");
            assert!(
                scroll <= inner,
                "{path} ({role}) scrolls sideways at {inner} px: {scroll} px wide; too wide: {}",
                widths[2]
            );
            let slug: String = path
                .split('?')
                .next()
                .unwrap_or_default()
                .trim_matches('/')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .take(60)
                .collect();
            browser
                .page_png(
                    &shots.join(format!("{role}-{slug}-390.png")),
                    SWEEP_PHONE.0,
                    true,
                )
                .await;
            browser
                .page_png(
                    &shots.join(format!("{role}-{slug}-1366.png")),
                    SWEEP_DESKTOP.0,
                    false,
                )
                .await;
        }
        browser
            .viewport(SWEEP_DESKTOP.0, SWEEP_DESKTOP.1, false)
            .await;
    }
}

pub(crate) async fn log_in(
    browser: &Browser,
    base: &str,
    username: &str,
    password: &str,
    home: &str,
) {
    browser.goto(&format!("{base}/login")).await;
    browser.fill("#username", username).await;
    browser.fill("#password", password).await;
    browser
        .click_and_load("main form button[type=submit]")
        .await;
    at(browser, home).await;
}

/// Waits until the browser shows `path` (a prefix when it ends with `/`).
pub(crate) async fn at(browser: &Browser, path: &str) {
    let script = if path.ends_with('/') {
        format!("return location.pathname.startsWith('{path}')")
    } else {
        format!("return location.pathname === '{path}'")
    };
    browser.wait_until(&format!("at {path}"), &script).await;
}

/// Submits the form whose action ends with `action`, and waits for the
/// page that answers.
pub(crate) async fn submit(browser: &Browser, action: &str) {
    browser
        .click_and_load(&format!("form[action$='{action}'] button[type=submit]"))
        .await;
}

/// Waits for a refusal with `code` on the page.
async fn refused_with(browser: &Browser, code: &str) {
    browser
        .find(&format!(".notice.error[data-code='{code}']"))
        .await;
}

/// Claims a voucher of `programme` from the enterprise's home page —
/// 申领, then 确认申领 on the page that states face value and validity —
/// and waits for the voucher's page.
async fn claim(enterprise: &Browser, programme: &str) {
    enterprise
        .click_and_load(&format!(
            "section[aria-labelledby='p-{programme}'] button[type=submit]"
        ))
        .await;
    enterprise
        .find("[data-claim-confirm] [data-validity]")
        .await;
    enterprise
        .click_and_load("[data-claim-confirm] button[type=submit]")
        .await;
    at(enterprise, "/enterprise/vouchers/").await;
}

/// The redeem form's live settlement warnings now shown (empty: hidden).
async fn live_warnings(browser: &Browser) -> Vec<String> {
    let shown = browser
        .script(
            "const box = document.querySelector('[data-live-warnings]');
             return box.hidden ? [] : Array.from(box.querySelectorAll('li')).map(li => li.textContent);",
            vec![],
        )
        .await;
    shown
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Sets an input's value by id (date inputs take no typing).
async fn set_value(browser: &Browser, id: &str, value: &str) {
    browser
        .script(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![Value::from(id), Value::from(value)],
        )
        .await;
}

/// This quarter in UTC+8 (`2026Q4`), as the finance page suggests.
pub(crate) fn this_quarter() -> String {
    use chrono::Datelike;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    format!("{}Q{}", today.year(), today.month0() / 3 + 1)
}

/// The witness the journey's log sends its checkpoints to.
const WITNESS: &str = "audit.test/journey-witness";

/// What `start_demo` started: the server, its base URL, the demo users'
/// passwords by username, and the witness process with its verifier key.
struct Demo {
    server: tokio::process::Child,
    base: String,
    passwords: HashMap<String, String>,
    _witness: tokio::process::Child,
    witness_vkey: String,
}

/// Starts a witness for the demo's log key (made here), then `demo` on `db`
/// sending it every checkpoint.
async fn start_demo(dir: &Path, db: &TestDb) -> Demo {
    let log_key = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    voucher_ledger::keyfile::write_new(&dir.join("data/ledger-signing-key"), &log_key).unwrap();
    let log_vkey = voucher_ledger::ledger::note::vkey(
        voucher_ledger::service::transparency::DEFAULT_LOG_ORIGIN,
        &log_key.public_key(),
    );
    let (witness, target) = processes::start_witness(dir, WITNESS, &log_vkey).await;
    let witness_vkey = target.split_once(' ').unwrap().1.to_string();
    // The phone's QR lives PRESENTATION seconds instead of 60, so the
    // journey can outlast a code without a long sleep.
    let lifetime = PRESENTATION.as_secs().to_string();
    let (server, base, printed) = processes::start_demo(
        dir,
        &[
            "--database-url",
            db.url(),
            "--presentation-seconds",
            &lifetime,
            // Receipts need a cosigned checkpoint over their entry: one a second.
            "--checkpoint-seconds",
            "1",
            "--witness",
            &target,
        ],
    )
    .await;
    let passwords = printed
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [_, username, password] if username.starts_with("demo-") => {
                    Some((username.to_string(), password.to_string()))
                }
                _ => None,
            },
        )
        .collect();
    Demo {
        server,
        base,
        passwords,
        _witness: witness,
        witness_vkey,
    }
}

async fn portals_take_a_voucher_from_programme_to_paid_report(db: &TestDb) {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let artefacts = crate::helpers::artefacts(db, "browser");
    let backend = artefacts.file_name().unwrap().to_string_lossy().to_string();
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path(), db).await;
    let (server, base, passwords) = (&demo.server, demo.base.clone(), &demo.passwords);
    let password = |user: &str| passwords[user].clone();
    let mut journey = Journey {
        base: base.clone(),
        artefacts,
        step: 0,
        timings: Vec::new(),
    };

    // The admin: a programme created (refused once), funded and opened,
    // and a second finance user for the checker's side of settlement.
    let admin = driver
        .browser(&dir.path().join("admin"), DESKTOP, None)
        .await;
    log_in(
        &admin,
        &base,
        "demo-admin",
        &password("demo-admin"),
        "/admin",
    )
    .await;
    journey.step(&admin, "admin-programmes", false).await;
    admin
        .click_and_load("a[href='/admin/programmes/new']")
        .await;
    admin.fill("#code", PROGRAMME).await;
    admin.fill("#name", "舟山市服务券（端到端测试）").await;
    admin.fill("#face_values", "一千").await;
    submit(&admin, "/admin/programmes").await;
    refused_with(&admin, "amount_invalid").await;
    journey.step(&admin, "admin-programme-refused", true).await;
    admin.fill("#face_values", "1000, 5000").await;
    submit(&admin, "/admin/programmes").await;
    admin.find(".notice.ok").await;
    admin.fill(&format!("#amount-{PROGRAMME}"), "100,000").await;
    admin
        .fill(&format!("#reference-{PROGRAMME}"), "舟财企〔2026〕99号")
        .await;
    submit(&admin, &format!("/admin/programmes/{PROGRAMME}/fund")).await;
    admin.find(".notice.ok").await;
    submit(&admin, &format!("/admin/programmes/{PROGRAMME}/open")).await;
    admin.find(".notice.ok").await;
    let card = admin
        .text(&format!("section[data-programme='{PROGRAMME}']"))
        .await;
    assert!(card.contains("申领中"), "{card}");
    assert!(card.contains("¥100,000.00"), "{card}");
    journey.step(&admin, "admin-programme-open", false).await;
    admin.goto(&format!("{base}/admin/users")).await;
    admin.fill("#username", "finance-checker").await;
    admin.fill("#password", "short").await;
    admin.click("select#role option[value='finance']").await;
    submit(&admin, "/admin/users").await;
    refused_with(&admin, "password_rejected").await;
    journey.step(&admin, "admin-user-refused", true).await;
    admin.fill("#password", "checker password 2026").await;
    admin.fill("#display_name", "刘洋").await;
    admin.click("select#role option[value='finance']").await;
    submit(&admin, "/admin/users").await;
    admin.find(".notice.ok").await;
    journey.step(&admin, "admin-user-created", false).await;

    // The provider's phone is ready (logged in, on another page) before
    // the enterprise shows its QR: Chromium opens the camera file only when
    // the scan page starts the camera, and the presentation on screen lives
    // 60 s, so the window between showing and redeeming stays short.
    let camera = dir.path().join("camera.y4m");
    let provider = driver
        .browser(&dir.path().join("provider"), PHONE, Some(&camera))
        .await;
    log_in(
        &provider,
        &base,
        "demo-provider",
        &password("demo-provider"),
        "/provider",
    )
    .await;
    provider.goto(&format!("{base}/provider/redemptions")).await;

    // The enterprise, on a phone: claims, and shows its rotating QR.
    let enterprise = driver
        .browser(&dir.path().join("enterprise"), PHONE, None)
        .await;
    log_in(
        &enterprise,
        &base,
        "demo-enterprise",
        &password("demo-enterprise"),
        "/enterprise",
    )
    .await;
    journey
        .step(&enterprise, "enterprise-programmes", false)
        .await;
    claim(&enterprise, PROGRAMME).await;
    let voucher_path = enterprise.url().await.replacen(&base, "", 1);
    let shown = enterprise
        .wait_until(
            "the QR",
            "const q = document.querySelector('[data-qr-text]'); return q && q.dataset.qrText;",
        )
        .await;
    let shown = shown.as_str().unwrap().to_string();
    assert!(
        shown.starts_with("VP1:"),
        "a rotating presentation: {shown}"
    );
    journey
        .step(&enterprise, "enterprise-voucher-qr", false)
        .await;
    // The fragment the page's script fetches before the QR expires holds a
    // fresh presentation (a new nonce), not the one on screen.
    let next = enterprise
        .script_async(
            "const done = arguments[arguments.length - 1];
             const box = document.querySelector('[data-presentation]');
             fetch(box.dataset.presentation, { credentials: 'same-origin', cache: 'no-store' })
                 .then(r => r.ok ? r.text() : 'status ' + r.status)
                 .then(done, e => done(String(e)));",
        )
        .await;
    let next = next.as_str().unwrap_or_default();
    let fresh = next
        .split("data-qr-text=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a QR in the refresh fragment: {next}"));
    assert!(fresh.starts_with("VP1:") && fresh != shown, "{fresh}");
    let qr_png = enterprise.element_png("[data-qr-text]").await;
    std::fs::write(&camera, y4m_of_png(&qr_png)).unwrap();
    // The code on screen was signed at most now; it is dead by this instant.
    let code_dead_at = Instant::now() + PRESENTATION + Duration::from_secs(1);
    // A rotating programme prints no redeemable paper: the page says so and
    // offers only a record.
    assert!(
        enterprise.find_all("[data-no-paper]").await.len() == 1,
        "the no-paper notice"
    );
    assert!(
        !enterprise.text("main").await.contains("打印纸质券（A6）"),
        "no redeemable A6 for a rotating programme"
    );

    // The provider's camera now sees that QR.
    provider.goto(&format!("{base}/provider")).await;
    let scanned = provider
        .wait_until(
            "the camera reads the QR",
            "const t = document.getElementById('qr_text'); return t && t.value.startsWith('VP1:') && t.value;",
        )
        .await;
    assert_eq!(
        scanned.as_str().unwrap(),
        shown,
        "the camera read exactly the QR shown"
    );
    journey
        .step(&provider, "provider-scanned-by-camera", false)
        .await;
    provider.fill("#contract_amount", "三千元").await;
    submit(&provider, "/provider/preview").await;
    refused_with(&provider, "amount_invalid").await;
    journey
        .step(&provider, "provider-preview-refused", true)
        .await;
    // The refused form kept the code (and the camera did not write over
    // it); only the amount is corrected.
    let kept = provider
        .script("return document.getElementById('qr_text').value;", vec![])
        .await;
    assert_eq!(kept.as_str(), Some(shown.as_str()));
    provider.fill("#contract_amount", "3000").await;
    submit(&provider, "/provider/preview").await;
    let subsidy = provider
        .wait_until(
            "the preview",
            "const s = document.querySelector('[data-subsidy]'); return s && s.dataset.subsidy;",
        )
        .await;
    assert_eq!(
        subsidy.as_str(),
        Some("100000"),
        "min(remaining 1,000 元, 50 % × 3,000 元)"
    );
    // The valid preview of a fresh code holds the voucher for this clerk.
    provider.find("[data-held-until]").await;
    // Before any document is typed, the form warns of what settlement
    // would hold back: no invoice, no payment proof.
    let warnings = live_warnings(&provider).await;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    journey
        .step(&provider, "provider-preview-held", false)
        .await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    let typed = [
        ("#contract_number", "HT-2026-E2E-001"),
        ("#description", "ISO 9001 质量管理体系咨询"),
        ("#invoice_code", "033002600111"),
        ("#invoice_number", "2026"),
        ("#invoice_amount", "3000"),
        ("#payment_proof_ref", "BANK-E2E-0001"),
    ];
    for (field, value) in typed {
        provider.fill(field, value).await;
    }
    set_value(&provider, "invoice_date", &today).await;
    // An invoice below the contract is warned of as it is typed; the full
    // amount clears every warning.
    provider.fill("#invoice_amount", "2500").await;
    let warnings = live_warnings(&provider).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("小于"), "{warnings:?}");
    provider.fill("#invoice_amount", "3000").await;
    assert!(live_warnings(&provider).await.is_empty());
    // A wrong invoice number is refused, and every typed field comes back.
    submit(&provider, "/provider/redeem").await;
    refused_with(&provider, "invoice_number_invalid").await;
    journey
        .step(&provider, "provider-redeem-refused-form-kept", true)
        .await;
    for (field, value) in typed.iter().copied().chain([
        ("#invoice_date", today.as_str()),
        ("#contract_amount", "3000"),
    ]) {
        let kept = provider
            .script(
                "return document.querySelector(arguments[0]).value;",
                vec![Value::from(field)],
            )
            .await;
        assert_eq!(kept.as_str(), Some(value), "{field} kept after the refusal");
    }
    // The clerk is slower than the code: it dies before the corrected
    // submit, which the hold still lets through.
    provider.fill("#invoice_number", "20260001").await;
    let wait = code_dead_at.saturating_duration_since(Instant::now());
    tokio::time::sleep(wait).await;
    submit(&provider, "/provider/redeem").await;
    at(&provider, "/provider/redemptions/").await;
    let redemption_path = provider.url().await.replacen(&base, "", 1);
    provider.find(".notice.ok").await;
    assert_eq!(provider.text("[data-status]").await, "待企业确认");
    journey.step(&provider, "provider-redeemed", false).await;

    // The enterprise confirms the service (a dispute without a reason is
    // refused first).
    enterprise
        .goto(&format!("{base}/enterprise/redemptions"))
        .await;
    let provider_named = enterprise.text("[data-provider]").await;
    assert!(
        provider_named.contains("有限公司"),
        "the card names the provider: {provider_named}"
    );
    journey
        .step(&enterprise, "enterprise-to-confirm", false)
        .await;
    enterprise
        .script("document.querySelectorAll('details').forEach(d => d.open = true); document.querySelectorAll('textarea[name=reason]').forEach(t => t.removeAttribute('required'));", vec![])
        .await;
    submit(&enterprise, "/dispute").await;
    refused_with(&enterprise, "field_required").await;
    journey
        .step(&enterprise, "enterprise-dispute-refused", true)
        .await;
    enterprise
        .click("select[name=rating] option[value='5']")
        .await;
    enterprise
        .fill("input[name=comment]", "服务专业，按时完成")
        .await;
    submit(&enterprise, "/confirm").await;
    enterprise.find(".notice.ok").await;
    journey
        .step(&enterprise, "enterprise-confirmed", false)
        .await;

    // A second voucher, redeemed at a desk whose camera does not work: the
    // clerk types the short code shown under the QR.
    enterprise.goto(&format!("{base}/enterprise")).await;
    claim(&enterprise, PROGRAMME).await;
    let short_code = enterprise.text("[data-short-code]").await;
    assert_eq!(
        short_code.chars().filter(char::is_ascii_digit).count(),
        10,
        "{short_code}"
    );
    let desk = driver.browser(&dir.path().join("desk"), PHONE, None).await;
    log_in(
        &desk,
        &base,
        "demo-provider",
        &password("demo-provider"),
        "/provider",
    )
    .await;
    desk.fill("#qr_text", &short_code).await;
    desk.fill("#contract_amount", "2000").await;
    submit(&desk, "/provider/preview").await;
    desk.find("[data-held-until]").await;
    for (field, value) in [
        ("#contract_number", "HT-2026-E2E-002"),
        ("#description", "知识产权贯标咨询"),
        ("#invoice_code", "033002600111"),
        ("#invoice_number", "20260002"),
        ("#invoice_amount", "2000"),
        ("#payment_proof_ref", "BANK-E2E-0002"),
    ] {
        desk.fill(field, value).await;
    }
    set_value(&desk, "invoice_date", &today).await;
    submit(&desk, "/provider/redeem").await;
    at(&desk, "/provider/redemptions/").await;
    desk.find(".notice.ok").await;
    journey
        .step(&desk, "provider-redeemed-by-typed-code", false)
        .await;
    desk.quit().await;

    // Finance (maker): a wrong period is refused, then the run is prepared;
    // held lines are resolved with a note; approving one's own run is refused.
    let maker = driver
        .browser(&dir.path().join("maker"), DESKTOP, None)
        .await;
    log_in(
        &maker,
        &base,
        "demo-finance",
        &password("demo-finance"),
        "/finance",
    )
    .await;
    maker
        .click(&format!("select#programme option[value='{PROGRAMME}']"))
        .await;
    maker.fill("#period", "2026Q5").await;
    submit(&maker, "/finance/runs").await;
    refused_with(&maker, "period_invalid").await;
    journey.step(&maker, "finance-period-refused", true).await;
    maker
        .click(&format!("select#programme option[value='{PROGRAMME}']"))
        .await;
    maker.fill("#period", &this_quarter()).await;
    submit(&maker, "/finance/runs").await;
    at(&maker, "/finance/runs/").await;
    let run_url = maker.url().await;
    journey.step(&maker, "finance-run-prepared", false).await;
    while let Some(note) = maker
        .find_all("form[action*='/resolve'] input[name=note]")
        .await
        .into_iter()
        .next()
    {
        maker.click_element(&note).await;
        maker
            .fill(
                "form[action*='/resolve'] input[name=note]",
                "已核对合同、发票与付款凭证",
            )
            .await;
        submit(&maker, "/resolve").await;
        maker.find(".notice.ok").await;
    }
    let included = maker.text("[data-run-status]").await;
    assert_eq!(included, "待审批");
    assert_eq!(
        maker.find_all("tr[data-line-state='included']").await.len(),
        1
    );
    // The preparer is told why they cannot approve; no button that fails.
    let blocked = maker.text("[data-approve-blocked]").await;
    assert!(blocked.contains("另一位财务人员"), "{blocked}");
    assert!(
        maker
            .find_all("form[action$='/approve'] button[type=submit]")
            .await
            .is_empty()
    );
    journey
        .step(&maker, "finance-self-approval-explained", false)
        .await;

    // Finance (checker): approves, and downloads the 兑付表.
    let checker = driver
        .browser(&dir.path().join("checker"), DESKTOP, None)
        .await;
    log_in(
        &checker,
        &base,
        "finance-checker",
        "checker password 2026",
        "/finance",
    )
    .await;
    checker.goto(&run_url).await;
    // The checker sees what they approve: provider, enterprise and invoice
    // on the line.
    let line = checker.text("tr[data-line-state='included']").await;
    for fact in ["有限公司", "20260001", "¥3,000.00", "¥1,000.00"] {
        assert!(line.contains(fact), "{fact} on the line: {line}");
    }
    assert!(
        checker
            .find_all("tr[data-line-state='included'] td")
            .await
            .len()
            >= 8,
        "provider, enterprise, service, contract, invoice, subsidy…"
    );
    submit(&checker, "/approve").await;
    checker.find("[data-run-status='approved']").await;
    // People by name: the demo's finance user (王芳) prepared, the
    // checker created above as 刘洋 approved.
    let people = checker.text("dl.facts").await;
    assert!(
        people.contains("王芳") && people.contains("刘洋"),
        "{people}"
    );
    journey.step(&checker, "finance-approved", false).await;
    checker.click("a[href$='/report/batch.xlsx']").await;
    let xlsx = downloaded(&checker.downloads, ".xlsx").await;
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
    std::fs::copy(&xlsx, journey.artefacts.join("兑付表.xlsx")).unwrap();
    journey
        .step(&checker, "finance-report-downloaded", false)
        .await;

    // The provider sees the payout and downloads its statement.
    provider.goto(&format!("{base}/provider/account")).await;
    let payouts = provider.text("main").await;
    assert!(payouts.contains("待银行支付"), "{payouts}");
    journey.step(&provider, "provider-statements", false).await;
    provider.click("a[href$='/statement.xlsx']").await;
    let statement = downloaded(&provider.downloads, ".xlsx").await;
    assert!(std::fs::read(&statement).unwrap().starts_with(b"PK"));

    // The auditor sees the whole story verified.
    let auditor = driver
        .browser(&dir.path().join("auditor"), DESKTOP, None)
        .await;
    log_in(
        &auditor,
        &base,
        "demo-auditor",
        &password("demo-auditor"),
        "/auditor",
    )
    .await;
    auditor
        .click_and_load("form[action='/auditor'] button[data-busy]")
        .await;
    auditor.find("[data-verified='true']").await;
    journey.step(&auditor, "auditor-verified", false).await;

    // Receipts (issue 20): checked in the browser, not by the server.
    let voucher_receipt = voucher_path.replacen("/enterprise/vouchers/", "/receipts/vouchers/", 1);
    let kept = receipt_holds(
        &mut journey,
        &enterprise,
        &voucher_receipt,
        "enterprise-receipt",
    )
    .await;
    enterprise
        .script(
            "var box = document.querySelector('#receipt-json');
             var receipt = JSON.parse(box.value);
             var leaf = atob(receipt.leaf);
             receipt.leaf = btoa(leaf.slice(0, -1) + String.fromCharCode(leaf.charCodeAt(leaf.length - 1) ^ 1));
             box.value = JSON.stringify(receipt);",
            vec![],
        )
        .await;
    enterprise.click("[data-receipt-verify]").await;
    verdict(&enterprise, "invalid").await;
    journey
        .step(&enterprise, "enterprise-receipt-one-byte-changed", false)
        .await;
    provider.goto(&format!("{base}/provider/account")).await;
    let payout_receipt = provider
        .script(
            "return document.querySelector('a[data-receipt-link]').getAttribute('href')",
            vec![],
        )
        .await;
    let payout_receipt = payout_receipt.as_str().unwrap().to_string();
    receipt_holds(
        &mut journey,
        &provider,
        &payout_receipt,
        "provider-payout-receipt",
    )
    .await;
    let run_receipt = run_url.replacen(
        &format!("{base}/finance/runs/"),
        "/receipts/settlement-runs/",
        1,
    );
    receipt_holds(&mut journey, &checker, &run_receipt, "finance-run-receipt").await;

    // Every page of every role renders without a console error, and fits
    // a 390 px phone without scrolling sideways.
    let pages = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let visitor = driver
        .browser(&dir.path().join("visitor"), DESKTOP, None)
        .await;
    journey
        .sweep(
            &visitor,
            "visitor",
            &pages(&[
                "/login",
                "/public",
                &format!("/public/programmes/{PROGRAMME}"),
                "/public/receipt",
            ]),
        )
        .await;
    // Anyone checks a receipt they were given on the public page, with the
    // log's key; under another key it does not hold.
    visitor.goto(&format!("{base}/public/receipt")).await;
    visitor
        .script(
            "document.querySelector('#receipt-json').value = arguments[0]",
            vec![Value::String(kept.clone())],
        )
        .await;
    visitor
        .fill("#receipt-witness-keys", &demo.witness_vkey)
        .await;
    visitor.click("[data-receipt-verify]").await;
    verdict(&visitor, "valid").await;
    let checks = visitor.text("[data-receipt-result]").await;
    assert!(
        checks.contains(&format!("见证方 {WITNESS} 已联署")),
        "{checks}"
    );
    journey
        .step(&visitor, "public-receipt-checked", false)
        .await;
    // A witness that did not cosign it.
    let absent = voucher_ledger::ledger::cosignature::witness_vkey(
        "audit.test/absent",
        &voucher_ledger::ledger::checkpoint::KeyPair::generate().public_key(),
    );
    visitor
        .script(
            "document.querySelector('#receipt-witness-keys').value = arguments[0]",
            vec![Value::String(format!("{}\n{absent}", demo.witness_vkey))],
        )
        .await;
    visitor.click("[data-receipt-verify]").await;
    verdict(&visitor, "invalid").await;
    journey
        .step(&visitor, "public-receipt-witness-absent", false)
        .await;
    let stranger = voucher_ledger::ledger::checkpoint::KeyPair::generate();
    let wrong_key = voucher_ledger::ledger::note::vkey(
        voucher_ledger::service::transparency::DEFAULT_LOG_ORIGIN,
        &stranger.public_key(),
    );
    visitor
        .script(
            "document.querySelector('#receipt-log-key').value = arguments[0]",
            vec![Value::String(wrong_key)],
        )
        .await;
    visitor.click("[data-receipt-verify]").await;
    verdict(&visitor, "invalid").await;
    journey
        .step(&visitor, "public-receipt-another-key", false)
        .await;
    visitor.quit().await;
    // One enterprise's page (its contact opened, its personal data's
    // standing and the erasure form), reached from the registry's link.
    admin.goto(&format!("{base}/admin/enterprises")).await;
    let enterprise_page = admin
        .wait_until(
            "an enterprise link",
            "const a = document.querySelector('a[href^=\"/admin/enterprises/\"]'); return a && a.getAttribute('href');",
        )
        .await;
    let enterprise_page = enterprise_page.as_str().unwrap().to_string();
    journey
        .sweep(
            &admin,
            "admin",
            &pages(&[
                "/admin",
                &enterprise_page,
                "/admin/programmes/new",
                &format!("/admin/programmes/{PROGRAMME}/edit"),
                "/admin/users",
                "/admin/enterprises",
                "/admin/providers",
                "/admin/keys",
                "/account/password",
            ]),
        )
        .await;
    journey
        .sweep(
            &enterprise,
            "enterprise",
            &pages(&[
                "/enterprise",
                &format!("/enterprise/programmes/{PROGRAMME}"),
                "/enterprise/vouchers",
                &voucher_path,
                "/enterprise/redemptions",
                &redemption_path.replacen("/provider/", "/enterprise/", 1),
                &voucher_receipt,
                "/account/password",
            ]),
        )
        .await;
    journey
        .sweep(
            &provider,
            "provider",
            &pages(&[
                "/provider",
                "/provider/offline",
                "/provider/redemptions",
                &redemption_path,
                "/provider/account",
                &payout_receipt,
            ]),
        )
        .await;
    let run_path = run_url.strip_prefix(&base).unwrap_or(&run_url).to_string();
    journey
        .sweep(
            &checker,
            "finance",
            &pages(&[
                "/finance",
                &run_path,
                &format!("/finance/utilisation/{PROGRAMME}"),
                &run_receipt,
            ]),
        )
        .await;
    journey
        .sweep(
            &auditor,
            "auditor",
            &pages(&[
                "/auditor",
                "/auditor/checkpoints",
                "/auditor/entries/1",
                "/auditor/entries/2",
            ]),
        )
        .await;
    // The same pages in English, switched with the header's button.
    enterprise
        .goto(&format!("{base}/enterprise/vouchers"))
        .await;
    enterprise
        .click_and_load("form[action='/language'] button")
        .await;
    enterprise
        .wait_until("English", "return document.documentElement.lang === 'en'")
        .await;
    assert!(enterprise.text("h1").await.contains("My vouchers"));
    journey
        .step(&enterprise, "enterprise-in-english", false)
        .await;

    println!("server time per page ({backend}):");
    for (page, ms) in &journey.timings {
        println!("  {ms:>7.2} ms  {page}");
    }
    let slowest = journey
        .timings
        .iter()
        .map(|(_, ms)| *ms)
        .fold(0.0, f64::max);
    println!(
        "  slowest: {slowest:.2} ms over {} pages",
        journey.timings.len()
    );
    for browser in [admin, enterprise, provider, maker, checker, auditor] {
        browser.quit().await;
    }
    terminate(server);
}

/// Opens receipt page `path` (waiting for a checkpoint to cover its entry),
/// checks it in the browser and expects it to hold; returns its JSON.
async fn receipt_holds(journey: &mut Journey, browser: &Browser, path: &str, step: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        browser.goto(&format!("{}{path}", journey.base)).await;
        let ready = browser
            .script(
                "return document.querySelector('[data-receipt-check]') !== null",
                vec![],
            )
            .await;
        if ready == Value::Bool(true) {
            break;
        }
        // 409 receipt_not_ready until a checkpoint covers the entry (the
        // console's "status of 409" for it is expected and dropped).
        assert!(Instant::now() < deadline, "no receipt at {path}");
        browser.console().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    browser.click("[data-receipt-verify]").await;
    verdict(browser, "valid").await;
    journey.step(browser, step, false).await;
    let json = browser
        .script(
            "return document.querySelector('#receipt-json').value",
            vec![],
        )
        .await;
    json.as_str().unwrap().to_string()
}

/// Waits for the receipt checker's verdict and expects `expected`.
async fn verdict(browser: &Browser, expected: &str) {
    let found = browser
        .wait_until(
            "the receipt check's verdict",
            "return document.querySelector('[data-receipt-result]').getAttribute('data-verdict')",
        )
        .await;
    let checks = browser.text("[data-receipt-result]").await;
    assert_eq!(found.as_str(), Some(expected), "{checks}");
}

/// Waits for a finished download ending with `suffix` in `dir`.
async fn downloaded(dir: &Path, suffix: &str) -> PathBuf {
    let deadline = Instant::now() + WAIT;
    loop {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix));
        if let Some(path) = done {
            return path;
        }
        assert!(
            Instant::now() < deadline,
            "no {suffix} downloaded into {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The portal pages over HTTP (in-process, both backends): every form's
//! refusal path answers with the page again, a 4xx status and its stable
//! code, and records nothing; forms need the session's CSRF token; a
//! double-submitted form acts once; pages are for their role; both
//! languages render. The real-browser journey is in `portal_journey`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;
use voucher_ledger::domain::Role;
use voucher_ledger::http::{ApiConfig, AppState};
use voucher_ledger::store::Store;

use crate::api_client::World;
use crate::helpers::{TestDb, on_both_backends};
use crate::redemption::{contract, setting};

on_both_backends!(
    logging_out_ends_the_session_and_a_new_password_replaces_the_old,
    a_provider_sees_what_it_is_owed_and_downloads_its_statements,
    every_portal_form_refuses_bad_input_with_its_code_and_records_nothing,
    a_form_without_the_session_csrf_token_is_refused_and_a_double_submit_acts_once,
    pages_are_for_their_role_and_speak_chinese_or_english,
    the_utilisation_page_shows_every_figure_the_api_answers,
    the_checkers_page_names_people_and_shows_each_lines_facts,
    the_enterprise_sees_who_provided_the_service_it_confirms,
    a_clerk_slower_than_the_code_still_redeems_and_a_refusal_keeps_the_form,
    an_admin_resets_a_password_and_the_user_must_choose_their_own_first,
    an_enterprise_reads_the_guide_and_confirms_before_it_claims,
    an_admin_erases_a_contact_from_the_enterprise_page,
);

/// The portal as one browser sees it: its cookies, and the CSRF token of
/// the pages it was shown.
struct Portal {
    site: Router,
    cookies: HashMap<String, String>,
    csrf: String,
}

/// A page as answered.
struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

impl Page {
    /// The code of the refusal shown on the page, if any.
    fn refusal(&self) -> Option<&str> {
        let start = self.html.find("class=\"notice error\"")?;
        let rest = &self.html[start..];
        let code = rest.split("data-code=\"").nth(1)?;
        code.split('"').next()
    }
}

impl Portal {
    fn new(site: &Router) -> Portal {
        Portal {
            site: site.clone(),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let response = self.site.clone().oneshot(request).await.unwrap();
        for cookie in response.headers().get_all(header::SET_COOKIE) {
            let pair = cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.into(), value.into());
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        let html = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(csrf) = hidden_value(&html, "csrf") {
            self.csrf = csrf;
        }
        Page {
            status,
            location,
            html,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    /// Posts a URL-encoded form with this session's CSRF token and a fresh
    /// idempotency key, unless `fields` carries its own.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            pairs.push(("csrf".into(), self.csrf.clone()));
        }
        if !fields.iter().any(|(k, _)| *k == "key") {
            pairs.push(("key".into(), uuid::Uuid::now_v7().to_string()));
        }
        let body: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Posts a multipart form with one file.
    async fn post_file(&mut self, path: &str, field: &str, name: &str, bytes: &[u8]) -> Page {
        let boundary = "portal-test-boundary";
        let mut body = Vec::new();
        for (key, value) in [
            ("csrf", self.csrf.clone()),
            ("key", uuid::Uuid::now_v7().to_string()),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Opens the login form at `form_path` and submits it with its
    /// double-submit token, the credentials and, if given, a `next` page;
    /// the answer to the submission.
    async fn submit_login(
        &mut self,
        form_path: &str,
        username: &str,
        password: &str,
        next: Option<&str>,
    ) -> Page {
        let form = self.get(form_path).await;
        let token = hidden_value(&form.html, "login_token").expect("a login form");
        let mut fields = vec![
            ("username", username),
            ("password", password),
            ("login_token", token.as_str()),
        ];
        fields.extend(next.map(|next| ("next", next)));
        self.post("/login", &fields).await
    }

    /// Logs in, and checks the start page it lands on renders.
    async fn log_in(site: &Router, username: &str, password: &str) -> Portal {
        let mut portal = Portal::new(site);
        let done = portal
            .submit_login("/login", username, password, None)
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
        let home = done.location.unwrap();
        let page = portal.get(&home).await;
        assert_eq!(page.status, StatusCode::OK, "{home}: {}", page.html);
        portal
    }
}

/// The value of the hidden field `name` in a page.
fn hidden_value(html: &str, name: &str) -> Option<String> {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn site<S: Store>(world: &World<S>) -> Router {
    voucher_ledger::web::site(AppState::new(
        world.store.clone(),
        world.writer.clone(),
        ApiConfig {
            issuer_keys: world.issuer_keys.clone(),
            personal_key: Some(world.personal_key.clone()),
            ..ApiConfig::default()
        },
    ))
}

/// The programme of `redemption::setting`.
const PROGRAMME: &str = "ZS2026-R1";

/// A world with an open programme, a firm holding a static voucher, an
/// approved provider, a pending redemption and a confirmed one in a
/// prepared settlement run; web users for the firm and the provider. Returns the world, the
/// voucher's token, the redemption id and the run id.
async fn scene<S: Store>(store: S) -> (World<S>, String, String, String) {
    let (world, firm, voucher, provider) = setting(store, true, "static").await;
    world
        .add_user("firm-web", Role::Enterprise, Some(firm.enterprise_id))
        .await;
    let staff_party = uuid::Uuid::parse_str(&provider.provider_id).unwrap();
    world
        .add_user("counter-web", Role::Provider, Some(staff_party))
        .await;
    let token = voucher["token"].as_str().unwrap().to_string();
    let mut redemptions = Vec::new();
    for (index, key) in ["portal-pending", "portal-settled"].into_iter().enumerate() {
        // Each with its own contract and invoice (a shared invoice would be
        // held by reconciliation as a duplicate).
        let mut body = contract(&token, 200_000);
        body["contract_number"] = json!(format!("ZSHT-2026-WEB-{index}"));
        body["invoice"]["number"] = json!(format!("0009876{index}"));
        let redeemed = world
            .api
            .post("/api/v1/redemptions", &provider.staff, body, key)
            .await;
        assert_eq!(redeemed.status, StatusCode::CREATED, "{:?}", redeemed.body);
        redemptions.push(redeemed.body["id"].as_str().unwrap().to_string());
    }
    let confirmed = world
        .api
        .post(
            &format!("/api/v1/redemptions/{}/confirm", redemptions[1]),
            &firm.bearer(),
            json!({}),
            "portal-confirm",
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let redemption = redemptions.remove(0);
    let run = world
        .api
        .post(
            "/api/v1/settlement-runs",
            &world.bearer("finance"),
            json!({ "programme": PROGRAMME, "period": "2026" }),
            "portal-run",
        )
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{:?}", run.body);
    let run = run.body["id"].as_str().unwrap().to_string();
    (world, token, redemption, run)
}

const SEEDED_PASSWORD: &str = "seeded user password 123";

async fn every_portal_form_refuses_bad_input_with_its_code_and_records_nothing<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, token, redemption, run) = scene(store).await;
    let site = site(&world);
    // Logging in is recorded (also a failed attempt), so every login of
    // this test happens before the ledger head is noted.
    let mut nobody = Portal::new(&site);
    let form = nobody.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    let stale = nobody
        .post(
            "/login",
            &[
                ("username", "admin"),
                ("password", "admin password 123"),
                ("login_token", "forged"),
            ],
        )
        .await;
    assert_eq!(stale.refusal(), Some("login_form_expired"));
    let mut admin = Portal::log_in(&site, "admin", "admin password 123").await;
    let mut finance = Portal::log_in(&site, "finance", "finance password 123").await;
    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let mut counter = Portal::log_in(&site, "counter-web", SEEDED_PASSWORD).await;
    let head = world.store.head().await.unwrap().sequence;

    let fake = "01a21208-0000-7000-8000-000000000000";
    let key_id = world.store.issuer_keys().await.unwrap()[0].key_id.clone();
    let expect = async |portal: &mut Portal, path: &str, fields: &[(&str, &str)], code: &str| {
        let page = portal.post(path, fields).await;
        assert!(
            page.status.is_client_error(),
            "{path}: {} {}",
            page.status,
            page.html
        );
        assert_eq!(page.refusal(), Some(code), "{path}: {}", page.html);
        assert!(
            page.html.contains("<form"),
            "{path}: the form is shown again"
        );
    };
    // Account.
    expect(
        &mut admin,
        "/account/password",
        &[
            ("current_password", "admin password 123"),
            ("new_password", "short"),
        ],
        "password_rejected",
    )
    .await;
    // Admin.
    expect(
        &mut admin,
        "/admin/programmes",
        &[("name", "x")],
        "field_required",
    )
    .await;
    expect(
        &mut admin,
        "/admin/programmes",
        &[
            ("code", "ZS2026-W1"),
            ("name", "网页测试"),
            ("face_values", "一千"),
        ],
        "amount_invalid",
    )
    .await;
    expect(
        &mut admin,
        &format!("/admin/programmes/{PROGRAMME}/edit"),
        &[("status", "open"), ("name", "")],
        "field_required",
    )
    .await;
    let fund = format!("/admin/programmes/{PROGRAMME}/fund");
    let amount_field = format!("amount-{PROGRAMME}");
    let reference_field = format!("reference-{PROGRAMME}");
    expect(
        &mut admin,
        &fund,
        &[(&amount_field, "-5"), (&reference_field, "文号")],
        "amount_not_positive",
    )
    .await;
    expect(
        &mut admin,
        "/admin/users",
        &[
            ("username", "too-short"),
            ("password", "short"),
            ("role", "admin"),
        ],
        "password_rejected",
    )
    .await;
    expect(
        &mut admin,
        "/admin/users",
        &[
            ("username", "nobodys-clerk"),
            ("password", "a long enough password"),
            ("role", "enterprise"),
            ("party_uscc", "91330902MA0000000X"),
        ],
        "party_not_found",
    )
    .await;
    expect(
        &mut admin,
        "/admin/providers",
        &[("name", "无代码机构")],
        "field_required",
    )
    .await;
    let provider_uscc = crate::redemption::uscc(1);
    expect(
        &mut admin,
        &format!("/admin/providers/{provider_uscc}/status"),
        &[("status", "suspended"), ("reason", "")],
        "field_required",
    )
    .await;
    expect(&mut admin, "/admin/imports", &[], "file_required").await;
    let report = admin
        .post_file(
            "/admin/imports",
            "file",
            "firms.csv",
            "统一社会信用代码,企业名称,行政区划代码,功能区,行业,从业人员,营业收入(元),联系人\n91350100M000100Y4Z,坏代码公司,330902,,工业,10,1000000,张三\n"
                .as_bytes(),
        )
        .await;
    assert_eq!(
        report.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        report.html
    );
    assert_eq!(report.refusal(), Some("import_rows_invalid"));
    assert!(
        report.html.contains("data-import-report"),
        "{}",
        report.html
    );
    expect(
        &mut admin,
        "/admin/fraud",
        &[
            ("party_kind", "provider"),
            ("fraud_uscc", "91330900MA2P9999X"),
            ("reason", "套现"),
            ("source", "稽查"),
        ],
        "party_not_found",
    )
    .await;
    expect(
        &mut admin,
        &format!("/admin/keys/{key_id}/revoke"),
        &[],
        "field_required",
    )
    .await;
    // Enterprise.
    expect(
        &mut firm,
        "/enterprise/claims",
        &[("programme", PROGRAMME), ("face_value_fen", "a lot")],
        "face_value_required",
    )
    .await;
    let base = format!("/enterprise/redemptions/{redemption}");
    expect(
        &mut firm,
        &format!("{base}/confirm"),
        &[("rating", "9")],
        "rating_invalid",
    )
    .await;
    expect(
        &mut firm,
        &format!("{base}/dispute"),
        &[("reason", "")],
        "field_required",
    )
    .await;
    expect(
        &mut firm,
        &format!("{base}/documents"),
        &[],
        "field_required",
    )
    .await;
    // Provider.
    expect(
        &mut counter,
        "/provider/preview",
        &[("qr_text", "")],
        "field_required",
    )
    .await;
    expect(
        &mut counter,
        "/provider/preview",
        &[
            ("qr_text", &token),
            ("service_category", "管理咨询"),
            ("contract_amount", "三千"),
        ],
        "amount_invalid",
    )
    .await;
    expect(
        &mut counter,
        "/provider/preview",
        &[
            ("qr_text", "VL1:NOT-A-VOUCHER"),
            ("service_category", "管理咨询"),
            ("contract_amount", "3000"),
        ],
        "token_malformed",
    )
    .await;
    expect(&mut counter, "/provider/photo", &[], "photo_required").await;
    let redeem = [
        ("qr_text", token.as_str()),
        ("service_category", "管理咨询"),
        ("contract_amount", "3000"),
        ("contract_number", ""),
    ];
    expect(&mut counter, "/provider/redeem", &redeem, "field_required").await;
    let base = format!("/provider/redemptions/{redemption}");
    expect(
        &mut counter,
        &format!("{base}/documents"),
        &[],
        "documents_required",
    )
    .await;
    expect(
        &mut counter,
        &format!("{base}/documents"),
        &[("invoice_code", "033002600111")],
        "field_required",
    )
    .await;
    expect(
        &mut counter,
        &format!("{base}/reverse"),
        &[("reason", "")],
        "field_required",
    )
    .await;
    // Finance.
    expect(
        &mut finance,
        "/finance/runs",
        &[("programme", PROGRAMME), ("period", "2026Q5")],
        "period_invalid",
    )
    .await;
    expect(
        &mut finance,
        "/finance/runs",
        &[("programme", PROGRAMME)],
        "field_required",
    )
    .await;
    expect(
        &mut finance,
        &format!("/finance/runs/{run}/lines/{redemption}/resolve"),
        &[],
        "field_required",
    )
    .await;
    expect(
        &mut finance,
        &format!("/finance/runs/{run}/bank-return"),
        &[],
        "file_required",
    )
    .await;
    expect(
        &mut finance,
        &format!("/finance/runs/{fake}/approve"),
        &[],
        "not_found",
    )
    .await;

    assert_eq!(
        world.store.head().await.unwrap().sequence,
        head,
        "no refused form recorded anything"
    );

    // The same forms filled in correctly do their work.
    let new_uscc = crate::redemption::uscc(77);
    let registered = admin
        .post(
            "/admin/providers",
            &[
                ("uscc", &new_uscc),
                ("name", "舟山网页登记服务机构有限公司"),
                ("legal_representative", "赵六"),
                ("categories", "法律"),
                ("categories", "知识产权"),
                ("bank_name", "中国银行舟山分行"),
                ("account_name", "舟山网页登记服务机构有限公司"),
                ("account_number", "6216610000001234567"),
                ("annual_cap", "2,000,000"),
            ],
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::SEE_OTHER,
        "{}",
        registered.html
    );
    let approved = admin
        .post(
            &format!("/admin/providers/{new_uscc}/status"),
            &[("status", "approved"), ("reason", "材料齐全，审核入库")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let listed = admin.get("/admin/providers").await;
    let row = listed
        .html
        .split(&format!("data-provider=\"{new_uscc}\""))
        .nth(1)
        .unwrap();
    assert!(row.split("</tr>").next().unwrap().contains("入库"), "{row}");
}

async fn a_form_without_the_session_csrf_token_is_refused_and_a_double_submit_acts_once<
    S: Store,
>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, redemption, _run) = scene(store).await;
    let site = site(&world);
    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let head = world.store.head().await.unwrap().sequence;
    let confirm = format!("/enterprise/redemptions/{redemption}/confirm");
    let forged = firm
        .post(&confirm, &[("rating", "5"), ("csrf", "from-another-site")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.refusal(), Some("csrf_token_invalid"));
    assert_eq!(world.store.head().await.unwrap().sequence, head);

    let confirmed_before = world.count_entries("redemption_confirmed").await;
    let key = uuid::Uuid::now_v7().to_string();
    let first = firm.post(&confirm, &[("rating", "5"), ("key", &key)]).await;
    let again = firm.post(&confirm, &[("rating", "5"), ("key", &key)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.html);
    assert_eq!(
        world.count_entries("redemption_confirmed").await,
        confirmed_before + 1,
        "the same form sent twice confirms once"
    );
    let shown = firm.get(first.location.as_deref().unwrap()).await;
    assert!(shown.html.contains("已确认服务完成"), "{}", shown.html);
}

async fn pages_are_for_their_role_and_speak_chinese_or_english<S: Store>(store: S, _db: &TestDb) {
    let (world, _token, _redemption, _run) = scene(store).await;
    let site = site(&world);
    let mut nobody = Portal::new(&site);
    let sent = nobody.get("/enterprise/vouchers?after=x").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let login = sent.location.unwrap();
    assert_eq!(login, "/login?next=/enterprise/vouchers%3Fafter%3Dx");
    // Logging in from there comes back to the page asked for; a `next`
    // that leaves the site is ignored.
    for (next, lands) in [
        (
            "/enterprise/vouchers?after=x",
            "/enterprise/vouchers?after=x",
        ),
        ("//evil.example/", "/enterprise"),
    ] {
        let mut visitor = Portal::new(&site);
        let form = visitor.get(&login).await;
        assert_eq!(
            hidden_value(&form.html, "next").as_deref(),
            Some("/enterprise/vouchers?after=x")
        );
        let done = visitor
            .submit_login(&login, "firm-web", SEEDED_PASSWORD, Some(next))
            .await;
        assert_eq!(done.location.as_deref(), Some(lands), "next = {next}");
    }

    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let forbidden = firm.get("/admin").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.refusal(), Some("forbidden"));

    let chinese = firm.get("/enterprise/vouchers").await;
    assert!(chinese.html.contains("<html lang=\"zh-CN\">"));
    assert!(chinese.html.contains("我的服务券"));
    let switched = firm.get("/language?to=en&back=/enterprise/vouchers").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location.as_deref(), Some("/enterprise/vouchers"));
    let english = firm.get("/enterprise/vouchers").await;
    assert!(english.html.contains("<html lang=\"en\">"));
    assert!(english.html.contains("My vouchers"), "{}", english.html);
    assert!(!english.html.contains("我的服务券"));
    let elsewhere = firm.get("/language?to=en&back=//evil.example").await;
    assert_eq!(
        elsewhere.location.as_deref(),
        Some("/"),
        "only paths on this site"
    );

    // Every role's pages render for that role.
    let pages: [(&str, &str, &[&str]); 4] = [
        (
            "admin",
            "admin password 123",
            &[
                "/admin",
                "/admin/programmes/new",
                "/admin/users",
                "/admin/enterprises",
                "/admin/keys",
            ],
        ),
        (
            "finance",
            "finance password 123",
            &["/finance", "/finance/utilisation/ZS2026-R1"],
        ),
        (
            "auditor",
            "auditor password 123",
            &["/auditor", "/auditor/entries/1"],
        ),
        (
            "counter-web",
            SEEDED_PASSWORD,
            &["/provider", "/provider/redemptions"],
        ),
    ];
    for (user, password, paths) in pages {
        let mut portal = Portal::log_in(&site, user, password).await;
        for path in paths {
            let page = portal.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{user} {path}: {}", page.html);
            assert_eq!(page.refusal(), None, "{user} {path}");
        }
    }
}

/// 资金使用情况: each of the nine totals on the page is the API's figure, in
/// 元 with two decimals, next to its label.
async fn the_utilisation_page_shows_every_figure_the_api_answers<S: Store>(store: S, _db: &TestDb) {
    let (world, _token, _redemption, _run) = scene(store).await;
    let site = site(&world);
    let api = world
        .api
        .get(
            &format!("/api/v1/programmes/{PROGRAMME}/utilisation?by=district"),
            &world.bearer("finance"),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{:?}", api.body);
    let mut finance = Portal::log_in(&site, "finance", "finance password 123").await;
    let page = finance
        .get(&format!("/finance/utilisation/{PROGRAMME}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let labels = [
        ("funding_fen", "拨入资金"),
        ("available_fen", "可发放"),
        ("outstanding_fen", "已发放未使用"),
        ("payable_fen", "待结算"),
        ("payout_pending_fen", "待支付"),
        ("paid_fen", "已支付"),
        ("lapsed_fen", "过期作废退回"),
        ("recovery_receivable_fen", "待追回"),
        ("recovered_fen", "已追回"),
    ];
    let mut nonzero = 0;
    for (key, label) in labels {
        let fen = api.body[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{key}: {}", api.body));
        nonzero += usize::from(fen != 0);
        let shown = voucher_ledger::domain::Fen::new(fen).to_string();
        let expected = format!("<dt>{label}</dt><dd>{shown}</dd>");
        assert!(
            page.html.contains(&expected),
            "{key}: expected {expected} on the page: {}",
            page.html
        );
    }
    assert!(nonzero >= 3, "the scene moves money: {}", api.body);
}

/// The run page as the checker reads it: people by name, and for each line
/// the provider, the enterprise, the service and voucher, the contract and
/// the invoice; the preparer is told why they cannot approve instead of
/// being offered a button that fails.
async fn the_checkers_page_names_people_and_shows_each_lines_facts<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, _redemption, run) = scene(store).await;
    world.add_user("checker", Role::Finance, None).await;
    let site = site(&world);
    let lines = world
        .api
        .get(
            &format!("/api/v1/settlement-runs/{run}/lines"),
            &world.bearer("finance"),
        )
        .await;
    assert_eq!(lines.status, StatusCode::OK, "{:?}", lines.body);
    let lines = lines.body["lines"].as_array().unwrap().clone();
    assert!(!lines.is_empty());
    let path = format!("/finance/runs/{run}");
    let mut preparer = Portal::log_in(&site, "finance", "finance password 123").await;
    let page = preparer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("<dt>制单</dt><dd>finance</dd>"),
        "{}",
        page.html
    );
    for line in &lines {
        for field in [
            "provider_name",
            "enterprise_name",
            "voucher_id",
            "invoice_number",
        ] {
            let value = line[field].as_str().unwrap_or_default();
            assert!(!value.is_empty(), "{field}: {line}");
            assert!(page.html.contains(value), "{field} {value} on the page");
        }
        let contract =
            voucher_ledger::domain::Fen::new(line["contract_amount_fen"].as_i64().unwrap());
        assert!(
            page.html.contains(&contract.to_string()),
            "contract {contract}"
        );
    }
    // Each flag's numbers in words and 元, never the stored fen wording.
    let mut details = 0;
    for flag in lines.iter().flat_map(|l| l["flags"].as_array().unwrap()) {
        if flag["detail"].as_str().unwrap().is_empty() {
            continue;
        }
        details += 1;
        let words = flag["detail_zh"].as_str().unwrap();
        assert!(page.html.contains(words), "{words} on the page");
        assert!(
            !page.html.contains(flag["detail"].as_str().unwrap()),
            "{flag}"
        );
    }
    assert!(
        details > 0,
        "the scene's lines carry a flag with numbers: {lines:?}"
    );
    // Each line links to its redemption, which the checker can open.
    for line in &lines {
        let href = format!(
            "/finance/redemptions/{}",
            line["redemption_id"].as_str().unwrap()
        );
        assert!(page.html.contains(&format!("href=\"{href}\"")), "{href}");
        let redemption = preparer.get(&href).await;
        assert_eq!(redemption.status, StatusCode::OK, "{}", redemption.html);
        assert!(
            redemption
                .html
                .contains(line["provider_name"].as_str().unwrap())
        );
        assert!(redemption.html.contains("data-timeline"));
    }
    assert!(page.html.contains("data-approve-blocked"), "{}", page.html);
    assert!(!page.html.contains(&format!("action=\"{path}/approve\"")));
    let mut checker = Portal::log_in(&site, "checker", SEEDED_PASSWORD).await;
    let page = checker.get(&path).await;
    assert!(!page.html.contains("data-approve-blocked"));
    assert!(
        page.html.contains(&format!("action=\"{path}/approve\"")),
        "{}",
        page.html
    );
}

/// The card an enterprise confirms names the provider and the invoice
/// amount; the provider's list names the enterprise.
async fn the_enterprise_sees_who_provided_the_service_it_confirms<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, redemption, _run) = scene(store).await;
    let site = site(&world);
    let api = world
        .api
        .get(
            &format!("/api/v1/redemptions/{redemption}"),
            &world.bearer("admin"),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{:?}", api.body);
    let provider_name = api.body["provider_name"].as_str().unwrap().to_string();
    let enterprise_name = api.body["enterprise_name"].as_str().unwrap().to_string();
    assert!(
        !provider_name.is_empty() && !enterprise_name.is_empty(),
        "{}",
        api.body
    );
    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let page = firm.get("/enterprise/redemptions").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains(&format!("<dd data-provider>{provider_name}</dd>")),
        "{}",
        page.html
    );
    let invoice =
        voucher_ledger::domain::Fen::new(api.body["invoice"]["amount_fen"].as_i64().unwrap());
    assert!(
        page.html.contains(&invoice.to_string()),
        "invoice amount on the card"
    );
    let mut counter = Portal::log_in(&site, "counter-web", SEEDED_PASSWORD).await;
    let list = counter.get("/provider/redemptions").await;
    assert!(list.html.contains(&enterprise_name), "{}", list.html);
}

/// The front desk with a rotating code: the preview holds the voucher for
/// the clerk, who types for longer than the code lives; a refused submit
/// comes back with every typed field; corrected, the stale code redeems
/// under the hold. The holder sees 核销中 meanwhile.
async fn a_clerk_slower_than_the_code_still_redeems_and_a_refusal_keeps_the_form<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, firm, voucher, provider) =
        crate::redemption::setting(store, true, "rotating").await;
    let staff_party = uuid::Uuid::parse_str(&provider.provider_id).unwrap();
    world
        .add_user("clerk-web", Role::Provider, Some(staff_party))
        .await;
    world
        .add_user("holder-web", Role::Enterprise, Some(firm.enterprise_id))
        .await;
    let site = site(&world);
    let mut clerk = Portal::log_in(&site, "clerk-web", SEEDED_PASSWORD).await;
    // A code with 3 seconds left.
    let code = crate::holds::presentation_aged(&world, &voucher, 57, 60).await;
    let preview = clerk
        .post(
            "/provider/preview",
            &[
                ("qr_text", &code),
                ("service_category", "管理咨询"),
                ("contract_amount", "2000"),
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("data-held-until"), "{}", preview.html);
    let mut holder = Portal::log_in(&site, "holder-web", SEEDED_PASSWORD).await;
    let shown = holder
        .get(&format!(
            "/enterprise/vouchers/{}",
            voucher["id"].as_str().unwrap()
        ))
        .await;
    assert!(shown.html.contains("data-held"), "核销中: {}", shown.html);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while world.verify(&code).await["code"] != "presentation_expired" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let mut typed = vec![
        ("qr_text", code.as_str()),
        ("service_category", "管理咨询"),
        ("contract_amount", "2000"),
        ("contract_number", "ZSHT-SLOW-1"),
        ("description", "慢慢填写的服务内容"),
        ("invoice_code", "033002600111"),
        ("invoice_number", "12"),
        ("invoice_date", "2026-06-01"),
        ("invoice_amount", "2000"),
        ("payment_proof_ref", "回单 SLOW-1"),
    ];
    let refused = clerk.post("/provider/redeem", &typed).await;
    assert_eq!(
        refused.refusal(),
        Some("invoice_number_invalid"),
        "{}",
        refused.html
    );
    for (name, value) in &typed {
        assert!(
            refused.html.contains(value),
            "{name} kept: {}",
            refused.html
        );
    }
    typed[6] = ("invoice_number", "00012399");
    let done = clerk.post("/provider/redeem", &typed).await;
    assert!(
        done.location
            .as_deref()
            .is_some_and(|to| to.starts_with("/provider/redemptions/")),
        "redeemed under the hold: {:?} {}",
        done.status,
        done.html
    );
}

/// A lost password: the admin sets a new one (web), the user's sessions
/// and tokens end, the user logs in with it and can do nothing but choose
/// their own (pages redirect, the API answers 403
/// `password_change_required`); after the change, everything works again.
async fn an_admin_resets_a_password_and_the_user_must_choose_their_own_first<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, _redemption, _run) = scene(store).await;
    let site = site(&world);
    let counter_token = world.add_user("reset-me", Role::Finance, None).await;
    let users = world
        .api
        .get("/api/v1/users?limit=200", &world.bearer("admin"))
        .await;
    let id = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "reset-me")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut admin = Portal::log_in(&site, "admin", "admin password 123").await;
    let reset = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", "given by the admin 42")],
        )
        .await;
    assert_eq!(reset.refusal(), None, "{}", reset.html);
    // The old API token ended with the reset.
    world
        .api
        .get("/api/v1/me", &counter_token)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let login = world
        .api
        .try_login("reset-me", "given by the admin 42")
        .await;
    assert_eq!(login.body["must_change_password"], true, "{}", login.body);
    let (cookie, csrf) = world.api.login("reset-me", "given by the admin 42").await;
    let session = crate::api_client::As::Session {
        cookie: cookie.clone(),
        csrf: Some(csrf.clone()),
    };
    world
        .api
        .get("/api/v1/settlement-runs", &session)
        .await
        .expect_error(StatusCode::FORBIDDEN, "password_change_required");
    assert_eq!(
        world.api.get("/api/v1/me", &session).await.status,
        StatusCode::OK
    );
    // The portal sends the user to the password page first.
    let mut user = Portal::log_in(&site, "reset-me", "given by the admin 42").await;
    let home = user.get("/finance").await;
    assert_eq!(home.location.as_deref(), Some("/account/password?reset=1"));
    let form = user.get("/account/password?reset=1").await;
    assert!(form.html.contains("data-reset"), "{}", form.html);
    let changed = world
        .api
        .send(
            "PUT",
            "/api/v1/me/password",
            &session,
            Some(serde_json::json!({
                "current_password": "given by the admin 42",
                "new_password": "my very own password 7",
            })),
            Some("reset-me-change"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    let login = world
        .api
        .try_login("reset-me", "my very own password 7")
        .await;
    assert_eq!(login.body["must_change_password"], false);
    let (cookie, csrf) = world.api.login("reset-me", "my very own password 7").await;
    let session = crate::api_client::As::Session {
        cookie,
        csrf: Some(csrf),
    };
    assert_eq!(
        world
            .api
            .get("/api/v1/settlement-runs", &session)
            .await
            .status,
        StatusCode::OK
    );
}

async fn a_provider_sees_what_it_is_owed_and_downloads_its_statements<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, redemption, run) = scene(store).await;
    let site = site(&world);
    let provider_uscc = crate::redemption::uscc(1);
    let mut counter = Portal::log_in(&site, "counter-web", SEEDED_PASSWORD).await;
    let before = counter.get("/provider/account").await;
    assert_eq!(before.status, StatusCode::OK);
    // Two redemptions of 2,000 元 at 50 %: 2,000 元 owed, nothing paid yet.
    assert!(before.html.contains("¥2,000.00"), "{}", before.html);
    assert!(before.html.contains("还没有结算付款"), "{}", before.html);

    let checker = world.add_user("finance-checker", Role::Finance, None).await;
    let approved = world
        .api
        .post(
            &format!("/api/v1/settlement-runs/{run}/approve"),
            &checker,
            json!({}),
            "portal-approve",
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let after = counter.get("/provider/account").await;
    assert!(after.html.contains("待银行支付"), "{}", after.html);
    let statement = after
        .html
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.ends_with("/statement.xlsx"))
        .expect("a statement link")
        .to_string();
    assert!(statement.contains(&run), "{statement}");
    let downloaded = counter.get(&statement).await;
    assert_eq!(downloaded.status, StatusCode::OK);
    assert!(downloaded.html.starts_with("PK"), "an XLSX file");

    // Another provider's staff cannot read this account.
    let other = world
        .api
        .get(
            &format!("/api/v1/providers/{provider_uscc}/account"),
            &world.bearer("provider_b"),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let own = world
        .api
        .get(
            &format!("/api/v1/providers/{provider_uscc}/account"),
            &world.bearer("finance"),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let balances = own.body["balances"].as_array().unwrap();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0]["payable_fen"], 100_000, "the pending one");
    assert_eq!(
        balances[0]["payout_pending_fen"], 100_000,
        "the approved one"
    );

    // Finance imports the bank's answer on the run's page: each line's
    // result in words, the counts with their measure word.
    let payout = &approved.body["payouts"][0];
    let answer = format!(
        "业务参考号,收款账号,金额,状态,备注\n{},{},1000.00,成功,\nVLNOSUCHREFERENCE,1,1.00,成功,\n",
        payout["reference"].as_str().unwrap(),
        payout["account_number"].as_str().unwrap()
    );
    let mut finance = Portal::log_in(&site, "finance", "finance password 123").await;
    let imported = finance
        .post_file(
            &format!("/finance/runs/{run}/bank-return"),
            "file",
            "bank.csv",
            answer.as_bytes(),
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.html);
    for (result, words) in [("paid", "已支付"), ("unknown_reference", "无此参考号")] {
        assert!(
            imported
                .html
                .contains(&format!("data-result=\"{result}\">{words}<")),
            "{result} shown as {words}: {}",
            imported.html
        );
    }
    assert!(
        imported.html.contains("已支付 1 笔，失败 0 笔"),
        "{}",
        imported.html
    );

    // The paid redemption's way, in the API and on the enterprise's page:
    // every step done; the pending one waits for the enterprise.
    let finance_bearer = world.bearer("finance");
    let lines = world
        .api
        .get(
            &format!("/api/v1/settlement-runs/{run}/lines"),
            &finance_bearer,
        )
        .await;
    let paid_id = lines.body["lines"][0]["redemption_id"]
        .as_str()
        .unwrap()
        .to_string();
    let states_of = |reply: &crate::api_client::Reply| -> Vec<String> {
        reply.body["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["state"].as_str().unwrap().to_string())
            .collect()
    };
    let paid = world
        .api
        .get(&format!("/api/v1/redemptions/{paid_id}"), &finance_bearer)
        .await;
    assert_eq!(states_of(&paid), ["done"; 4], "{:?}", paid.body["timeline"]);
    let pending = world
        .api
        .get(
            &format!("/api/v1/redemptions/{redemption}"),
            &finance_bearer,
        )
        .await;
    assert_eq!(
        states_of(&pending),
        ["done", "current", "waiting", "waiting"]
    );
    let listed = world.api.get("/api/v1/redemptions", &finance_bearer).await;
    assert!(
        listed.body["redemptions"][0].get("timeline").is_none(),
        "lists carry no timeline"
    );
    let mut holder = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let page = holder
        .get(&format!("/enterprise/redemptions/{paid_id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("data-step=\"paid\" data-state=\"done\""),
        "{}",
        page.html
    );
    let history = holder.get("/enterprise/redemptions").await;
    assert!(
        history
            .html
            .contains(&format!("href=\"/enterprise/redemptions/{paid_id}\""))
    );
}

async fn logging_out_ends_the_session_and_a_new_password_replaces_the_old<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (world, _token, _redemption, _run) = scene(store).await;
    let site = site(&world);
    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let out = firm.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.html);
    assert_eq!(out.location.as_deref(), Some("/login"));
    let after = firm.get("/enterprise").await;
    assert_eq!(
        after.location.as_deref(),
        Some("/login?next=/enterprise"),
        "the session is over"
    );

    let mut firm = Portal::log_in(&site, "firm-web", SEEDED_PASSWORD).await;
    let changed = firm
        .post(
            "/account/password",
            &[
                ("current_password", SEEDED_PASSWORD),
                ("new_password", "a brand new password 2026"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    assert_eq!(changed.location.as_deref(), Some("/login?done=password"));
    let notice = firm.get("/login?done=password").await;
    assert!(notice.html.contains("密码已修改"), "{}", notice.html);
    let refused = Portal::new(&site)
        .submit_login("/login", "firm-web", SEEDED_PASSWORD, None)
        .await;
    assert_eq!(refused.refusal(), Some("invalid_credentials"));
    Portal::log_in(&site, "firm-web", "a brand new password 2026").await;
}

/// The 办事指南 of a programme says where the enterprise stands (every
/// condition, the year's cap used and left, the validity of a voucher
/// claimed today), which providers accept it and the steps; a claim is
/// made only from the confirmation that states the face value and
/// validity, once however often it is pressed.
async fn an_enterprise_reads_the_guide_and_confirms_before_it_claims<S: Store>(
    store: S,
    _db: &TestDb,
) {
    const CODE: &str = "ZS2026-G1";
    let terms = crate::issuance::terms(1_000_000, &[500_000], 3, "static");
    let (world, _issuer, firms) = crate::issuance::scene(store, CODE, terms, "50000", (1, 1)).await;
    let firm = &firms[0];
    world
        .add_user("guide-web", Role::Enterprise, Some(firm.enterprise_id))
        .await;
    let mut counters = Vec::new();
    for (n, status) in [(61, "approved"), (63, "applied")] {
        let fields = crate::redemption::provider_fields(
            &crate::redemption::uscc(n),
            &crate::redemption::uscc(62),
            "5,000,000",
        );
        counters.push(crate::redemption::counter(&world, fields, status).await);
    }
    let (provider, unapproved) = (&counters[0], &counters[1]);

    // The API: where the firm stands, and who accepts the voucher.
    let standing = || async {
        let all = world
            .api
            .get("/api/v1/me/eligibility", &firm.bearer())
            .await;
        all.body["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["programme"] == CODE)
            .unwrap()
            .clone()
    };
    let row = standing().await;
    assert_eq!(row["eligible"], true, "{row}");
    assert_eq!(
        (
            row["claimed_this_year_fen"].as_i64(),
            row["annual_cap_fen"].as_i64(),
            row["cap_left_fen"].as_i64()
        ),
        (Some(0), Some(1_500_000), Some(1_500_000))
    );
    assert_eq!(
        (
            row["vouchers_this_year"].as_u64(),
            row["annual_voucher_count"].as_u64()
        ),
        (Some(0), Some(3))
    );
    let today = voucher_ledger::domain::Timestamp::now()
        .cst_date()
        .to_string();
    assert_eq!(row["valid_from"], today.as_str(), "{row}");
    assert!(row["valid_until"].as_str().unwrap() >= today.as_str());
    let accepting = world
        .api
        .get(
            &format!("/api/v1/programmes/{CODE}/providers"),
            &firm.bearer(),
        )
        .await;
    assert_eq!(accepting.status, StatusCode::OK, "{:?}", accepting.body);
    let ids: Vec<&str> = accepting.body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&provider.provider_id.as_str()), "{ids:?}");
    assert!(
        !ids.contains(&unapproved.provider_id.as_str()),
        "only approved providers"
    );
    let unknown = world
        .api
        .get("/api/v1/programmes/ZS2099-XX/providers", &firm.bearer())
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The pages.
    let site = site(&world);
    let mut web = Portal::log_in(&site, "guide-web", SEEDED_PASSWORD).await;
    let home = web.get("/enterprise").await;
    assert!(
        home.html
            .contains(&format!("href=\"/enterprise/programmes/{CODE}\"")),
        "{}",
        home.html
    );
    assert!(home.html.contains("尚可申领"), "{}", home.html);
    let guide = web.get(&format!("/enterprise/programmes/{CODE}")).await;
    assert_eq!(guide.status, StatusCode::OK, "{}", guide.html);
    // The validity starts today (UTC+8) — as of the page, which may have
    // been drawn after midnight there.
    let today_after = voucher_ledger::domain::Timestamp::now()
        .cst_date()
        .to_string();
    assert!(
        guide.html.contains(&today) || guide.html.contains(&today_after),
        "{today} in the guide: {}",
        guide.html
    );
    let provider_name = &accepting.body["providers"][0]["name"];
    for words in [
        "申领条件",
        "data-passed=\"true\"",
        "办理步骤",
        "¥15,000.00",
        provider_name.as_str().unwrap(),
    ] {
        assert!(
            guide.html.contains(words),
            "{words} in the guide: {}",
            guide.html
        );
    }

    // Pressing 申领 shows what would be claimed and claims nothing.
    let head = world.store.head().await.unwrap().sequence;
    let key = uuid::Uuid::now_v7().to_string();
    let fields = [
        ("programme", CODE),
        ("face_value_fen", "500000"),
        ("key", key.as_str()),
    ];
    let confirm = web.post("/enterprise/claims", &fields).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.html);
    assert!(
        confirm.html.contains("data-claim-confirm"),
        "{}",
        confirm.html
    );
    assert!(confirm.html.contains("¥5,000.00") && confirm.html.contains(today.as_str()));
    assert!(
        confirm
            .html
            .contains(&format!("name=\"key\" value=\"{key}\"")),
        "the same key carries on"
    );
    assert_eq!(
        world.store.head().await.unwrap().sequence,
        head,
        "nothing claimed yet"
    );

    // The confirmation claims; pressed twice, it claims once.
    let confirmed = [
        ("programme", CODE),
        ("face_value_fen", "500000"),
        ("key", key.as_str()),
        ("confirmed", "yes"),
    ];
    let claimed = web.post("/enterprise/claims", &confirmed).await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER, "{}", claimed.html);
    let again = web.post("/enterprise/claims", &confirmed).await;
    assert_eq!(
        again.location, claimed.location,
        "the retry answers the same voucher"
    );
    let row = standing().await;
    assert_eq!(row["vouchers_this_year"], 1);
    assert_eq!(row["cap_left_fen"], 1_000_000);
}

/// The admin opens one enterprise (its contact shown, the read recorded),
/// is refused a request without a case number or with an unknown legal
/// basis (nothing recorded), then records an erasure: the page says
/// 已删除 and shows the contact no more.
async fn an_admin_erases_a_contact_from_the_enterprise_page<S: Store>(store: S, _db: &TestDb) {
    let (world, firm, _voucher, _provider) = setting(store, true, "static").await;
    crate::personal_erasure::give_contact(&world, &firm, "周晓梅 13905812345").await;
    let site = site(&world);
    let mut admin = Portal::log_in(&site, "admin", "admin password 123").await;
    let path = format!("/admin/enterprises/{}", firm.enterprise_id);
    let page = admin.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("周晓梅 13905812345") && page.html.contains("在用"));
    assert!(page.html.contains("data-reads"), "the read is listed");
    let action = format!("{path}/erasure");
    let entries = world.store.head().await.unwrap().sequence;
    for (fields, code) in [
        (
            vec![
                ("legal_basis", "consent_withdrawn"),
                ("requester", "data_subject"),
                ("reference", " "),
            ],
            "field_required",
        ),
        (
            vec![
                ("legal_basis", "because"),
                ("requester", "data_subject"),
                ("reference", "PI-1"),
            ],
            "legal_basis_invalid",
        ),
        (
            vec![
                ("legal_basis", "other_law"),
                ("requester", "data_subject"),
                ("reference", "PI-1"),
                ("retain_until", "2056-13-01"),
            ],
            "date_invalid",
        ),
    ] {
        let refused = admin.post(&action, &fields).await;
        assert!(
            refused.status.is_client_error(),
            "{code}: {}",
            refused.status
        );
        assert_eq!(refused.refusal(), Some(code), "{}", refused.html);
    }
    assert_eq!(
        world.store.head().await.unwrap().sequence,
        entries,
        "nothing recorded"
    );
    let done = admin
        .post(
            &action,
            &[
                ("legal_basis", "consent_withdrawn"),
                ("requester", "data_subject"),
                ("reference", "PI-2026-7"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let page = admin.get(&done.location.unwrap()).await;
    assert!(page.html.contains("已删除"), "{}", page.html);
    assert!(!page.html.contains("周晓梅") && !page.html.contains("13905812345"));
    assert!(!page.html.contains("/erasure"), "no form once erased");
}

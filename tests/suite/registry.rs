//! The enterprise registry and its import (issue 4), on both backends.

use axum::http::StatusCode;
use serde_json::json;
use voucher_ledger::domain::Uscc;
use voucher_ledger::store::Store;

use crate::api_client::{As, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(
    a_mixed_file_gets_the_exact_row_and_column_report_and_writes_nothing,
    valid_rows_mode_imports_the_good_rows_and_reports_the_bad,
    importing_the_same_file_twice_changes_nothing_the_second_time,
    an_update_rederives_the_size_class_and_is_a_new_ledger_entry,
    a_legacy_uscc_needs_an_explicit_reason_which_the_ledger_keeps,
    enterprise_users_see_only_their_own_enterprise,
    tags_and_blacklist_entries_are_recorded_and_shown,
    xlsx_and_csv_give_identical_results,
    an_export_reimports_unchanged_in_both_formats,
    a_tag_list_imports_by_uscc_with_a_row_report,
    zones_are_defined_with_a_parent_division_and_checked,
    provider_and_blacklist_files_import_with_row_reports_and_reimport_unchanged,
    a_response_too_large_to_keep_reaches_the_client_whole,
);

fn uscc(n: usize) -> String {
    Uscc::complete(&format!("91330902{n:08}"))
        .unwrap()
        .to_string()
}

/// Posts a CSV import as the admin.
async fn import<S: Store>(
    world: &World<S>,
    csv: &str,
    mode: &str,
    key: &str,
) -> crate::api_client::Reply {
    import_bytes(world, csv.as_bytes().to_vec(), mode, key).await
}

/// Posts an enterprise import file (CSV or XLSX bytes) as the admin.
async fn import_bytes<S: Store>(
    world: &World<S>,
    bytes: Vec<u8>,
    mode: &str,
    key: &str,
) -> crate::api_client::Reply {
    post_file(world, "enterprises", bytes, mode, key).await
}

/// Posts a file to `/api/v1/imports/{what}` as the admin.
async fn post_file<S: Store>(
    world: &World<S>,
    what: &str,
    bytes: Vec<u8>,
    mode: &str,
    key: &str,
) -> crate::api_client::Reply {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/imports/{what}?mode={mode}"))
        .header(
            "authorization",
            format!("Bearer {}", world.users["admin"].token),
        )
        .header("idempotency-key", key)
        .body(axum::body::Body::from(bytes))
        .unwrap();
    world.api.raw(request).await
}

/// The same table as an XLSX workbook: numeric-looking cells as numbers,
/// as a clerk's spreadsheet would hold them.
fn as_xlsx(csv: &str) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, line) in csv.lines().enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(number) if !cell.is_empty() && cell.len() < 15 => {
                    sheet.write_number(r, c, number).unwrap()
                }
                _ => sheet.write_string(r, c, cell).unwrap(),
            };
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn mixed_file() -> String {
    format!(
        "统一社会信用代码,企业名称,行政区划代码,行业,从业人员,营业收入(元)\n\
         {},好企业一,330902,工业,45,5000000\n\
         91330902000000019X,坏代码,330902,工业,45,5000000\n\
         {},好企业二,330903,零售业,8,900000.50\n\
         {},坏字段,990000,农业,-1,12.345\n\
         {},重复,330902,工业,45,5000000\n",
        uscc(1),
        uscc(2),
        uscc(3),
        uscc(1)
    )
}

async fn a_mixed_file_gets_the_exact_row_and_column_report_and_writes_nothing<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let reply = import(&world, &mixed_file(), "all_or_nothing", "m1").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors: Vec<(u64, String, String)> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        (3, "uscc", "uscc_check_failed"),
        (5, "division", "division_invalid"),
        (5, "sector", "sector_invalid"),
        (5, "staff", "staff_invalid"),
        (5, "revenue", "revenue_invalid"),
        (6, "uscc", "duplicate_in_file"),
    ];
    let expected: Vec<(u64, String, String)> = expected
        .iter()
        .map(|(r, c, k)| (*r, c.to_string(), k.to_string()))
        .collect();
    assert_eq!(errors, expected);
    assert_eq!(reply.body["applied"], false);
    assert_eq!(world.count_entries("enterprise_registered").await, 0);
    // The same report as CSV, for download.
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/imports/enterprises")
        .header(
            "authorization",
            format!("Bearer {}", world.users["admin"].token),
        )
        .header("idempotency-key", "m2")
        .header("accept", "text/csv")
        .body(axum::body::Body::from(mixed_file()))
        .unwrap();
    let csv = world.api.raw(request).await;
    let text = csv.body.as_str().unwrap().to_string();
    assert!(
        text.starts_with("row,column,code,message,message_zh"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 7);
}

async fn valid_rows_mode_imports_the_good_rows_and_reports_the_bad<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let reply = import(&world, &mixed_file(), "valid_rows", "v1").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["created"], 2);
    assert_eq!(reply.body["applied"], true);
    assert_eq!(reply.body["errors"].as_array().unwrap().len(), 6);
    assert_eq!(world.count_entries("enterprise_registered").await, 2);
    let listed = world
        .api
        .get("/api/v1/enterprises", &world.bearer("finance"))
        .await;
    let names: Vec<&str> = listed.body["enterprises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["好企业一", "好企业二"]);
    // 零售业, 8 staff, 90 万元: micro (below 10 staff).
    assert_eq!(listed.body["enterprises"][1]["size_class"], "micro");
    assert_eq!(listed.body["enterprises"][1]["revenue_fen"], 90_000_050);
}

async fn importing_the_same_file_twice_changes_nothing_the_second_time<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let file = format!(
        "uscc,name,division,sector,staff,revenue,contact\n{},甲,330902,industry,300,20000000,张三\n{},乙,330921,software_it,12,600000,\n",
        uscc(7),
        uscc(8)
    );
    let first = import(&world, &file, "all_or_nothing", "t1").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["created"], 2);
    let head = world.store.head().await.unwrap().sequence;
    let second = import(&world, &file, "all_or_nothing", "t2").await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        (
            second.body["created"].clone(),
            second.body["unchanged"].clone()
        ),
        (json!(0), json!(2))
    );
    assert_eq!(
        world.store.head().await.unwrap().sequence,
        head,
        "no new entry"
    );
    // XLSX support is a later step; CSV with a UTF-8 BOM (as Excel saves it) works.
    let with_bom = format!("\u{feff}{file}");
    let third = import(&world, &with_bom, "all_or_nothing", "t3").await;
    assert_eq!(third.body["unchanged"], 2);
}

async fn an_update_rederives_the_size_class_and_is_a_new_ledger_entry<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let mut body = json!({"uscc": uscc(11), "name": "舟山渔具厂", "division": "330921", "sector": "industry",
                          "staff": 15, "revenue_yuan": "2000000.00"});
    let created = world
        .api
        .post("/api/v1/enterprises", &admin, body.clone(), "u1")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["enterprise"]["size_class"], "micro");
    body["staff"] = json!(320);
    body["revenue_yuan"] = json!("25000000");
    let updated = world
        .api
        .post("/api/v1/enterprises", &admin, body.clone(), "u2")
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["enterprise"]["size_class"], "medium");
    assert_eq!(updated.body["enterprise"]["version"], 2);
    assert_eq!(
        updated.body["enterprise"]["id"],
        created.body["enterprise"]["id"]
    );
    let same = world
        .api
        .post("/api/v1/enterprises", &admin, body, "u3")
        .await;
    assert_eq!(
        (same.status, same.body["changed"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert_eq!(world.count_entries("enterprise_registered").await, 1);
    assert_eq!(world.count_entries("enterprise_updated").await, 1);
    let bad = json!({"uscc": uscc(12), "name": "", "division": "330921", "sector": "industry",
                     "staff": 15, "revenue_yuan": "12.345"});
    let refused = world
        .api
        .post("/api/v1/enterprises", &admin, bad, "u4")
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.code(), "name_invalid");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revenue"),
        "every problem is listed"
    );
}

async fn a_legacy_uscc_needs_an_explicit_reason_which_the_ledger_keeps<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let legacy = format!("{}0", &uscc(21)[..17]);
    let legacy = if Uscc::parse(&legacy).is_ok() {
        format!("{}1", &uscc(21)[..17])
    } else {
        legacy
    };
    let mut body = json!({"uscc": legacy, "name": "试点企业", "division": "330902", "sector": "other",
                          "staff": 5, "revenue_yuan": "0"});
    let refused = world
        .api
        .post("/api/v1/enterprises", &admin, body.clone(), "l1")
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    body["legacy_uscc_reason"] = json!("2016 年试点期间发放");
    let admitted = world
        .api
        .post("/api/v1/enterprises", &admin, body, "l2")
        .await;
    assert_eq!(admitted.status, StatusCode::CREATED, "{:?}", admitted.body);
    assert_eq!(admitted.body["enterprise"]["uscc_override"], true);
    let last = world.last_entry().await;
    assert_eq!(last["kind"], "enterprise_registered");
    let body_bytes = last["body_hex"].as_str().unwrap();
    let reason_hex: String = "2016 年试点期间发放"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        body_bytes.contains(&reason_hex),
        "the override reason is in the entry"
    );
}

async fn enterprise_users_see_only_their_own_enterprise<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let file = format!(
        "uscc,name,division,sector,staff,revenue\n{},自己,330902,industry,30,4000000\n",
        uscc(31)
    );
    import(&world, &file, "all_or_nothing", "e1").await;
    let listed = world
        .api
        .get("/api/v1/enterprises", &world.bearer("admin"))
        .await;
    let id = listed.body["enterprises"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let as_enterprise = world
        .api
        .get(
            &format!("/api/v1/enterprises/{id}"),
            &world.bearer("enterprise_a"),
        )
        .await;
    assert_eq!(
        as_enterprise.status,
        StatusCode::NOT_FOUND,
        "not the enterprise this user acts for"
    );
    let as_auditor = world
        .api
        .get(
            &format!("/api/v1/enterprises/{id}"),
            &world.bearer("auditor"),
        )
        .await;
    assert_eq!(as_auditor.status, StatusCode::OK);
    assert_eq!(as_auditor.body["enterprise"]["name"], "自己");
    let nobody = world
        .api
        .get(&format!("/api/v1/enterprises/{id}"), &As::Nobody)
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

async fn tags_and_blacklist_entries_are_recorded_and_shown<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let file = format!(
        "uscc,name,division,sector,staff,revenue\n{},标签企业,330903,industry,30,4000000\n",
        uscc(41)
    );
    import(&world, &file, "all_or_nothing", "g1").await;
    let listed = world.api.get("/api/v1/enterprises", &admin).await;
    let id = listed.body["enterprises"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tag = json!({"tag": "专精特新培育库", "valid_from": "2026-01-01", "valid_until": "2028-12-31",
                     "source": "浙江省经信厅 2026 年第一批"});
    let tagged = world
        .api
        .post(
            &format!("/api/v1/enterprises/{id}/tags"),
            &admin,
            tag.clone(),
            "g2",
        )
        .await;
    assert_eq!(tagged.status, StatusCode::OK, "{:?}", tagged.body);
    assert_eq!(tagged.body["tags"][0]["tag"], "专精特新培育库");
    let again = world
        .api
        .post(&format!("/api/v1/enterprises/{id}/tags"), &admin, tag, "g3")
        .await;
    assert_eq!(again.status, StatusCode::OK, "tagging twice is harmless");
    let reversed = json!({"tag": "隐形冠军", "valid_from": "2027-01-01", "valid_until": "2026-01-01", "source": "x"});
    let refused = world
        .api
        .post(
            &format!("/api/v1/enterprises/{id}/tags"),
            &admin,
            reversed,
            "g4",
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let entry = json!({"reason": "失信", "source": "信用中国", "effective_from": "2026-11-01"});
    let listed = world
        .api
        .post(
            &format!("/api/v1/enterprises/{id}/blacklist"),
            &admin,
            entry,
            "g5",
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["blacklist"][0]["reason"], "失信");
    assert_eq!(world.count_entries("enterprise_tagged").await, 1);
    assert_eq!(world.count_entries("party_blacklisted").await, 1);
    let summary = voucher_ledger::service::verify::verify_store(&world.store, &[])
        .await
        .unwrap();
    assert!(summary.entries > 15);
}

async fn xlsx_and_csv_give_identical_results<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let csv = mixed_file();
    let from_csv = import(&world, &csv, "valid_rows", "x1").await;
    // The good rows exist now, so the XLSX import finds them unchanged;
    // compare errors, which depend only on the file.
    let from_xlsx = import_bytes(&world, as_xlsx(&csv), "valid_rows", "x2").await;
    assert_eq!(from_xlsx.status, from_csv.status);
    assert_eq!(
        from_xlsx.body["errors"], from_csv.body["errors"],
        "{:?}",
        from_xlsx.body
    );
    assert_eq!(from_xlsx.body["rows"], from_csv.body["rows"]);
    assert_eq!(
        from_xlsx.body["unchanged"], from_csv.body["created"],
        "the XLSX says exactly what the CSV said"
    );
    let garbage = import_bytes(
        &world,
        b"PK\x03\x04not really a zip".to_vec(),
        "valid_rows",
        "x3",
    )
    .await;
    garbage.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "");
    assert_eq!(garbage.body["errors"][0]["code"], "xlsx_unreadable");
}

async fn an_export_reimports_unchanged_in_both_formats<S: Store>(store: S, _db: &TestDb) {
    use voucher_ledger::service::export::{Format, enterprises, render};
    let world = World::new(store).await;
    let zone = json!({"name": "新城", "division": "330902"});
    assert_eq!(
        world
            .api
            .post("/api/v1/zones", &world.bearer("admin"), zone, "z")
            .await
            .status,
        StatusCode::OK
    );
    // Names that a spreadsheet would run as formulas, and one that really
    // begins with a quote: exported neutralised, re-imported as they were.
    let file = format!(
        "uscc,name,division,zone,sector,staff,revenue,contact\n{},=1+2出口企业,330902,新城,industry,30,4000000.55,-王\n{},@另一家,330922,,retail,7,99.00,'+1\n",
        uscc(51),
        uscc(52)
    );
    let first = import(&world, &file, "all_or_nothing", "r1").await;
    assert_eq!(first.body["created"], 2, "{:?}", first.body);
    let stored = world
        .store
        .enterprise_by_uscc(&uscc(51))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "=1+2出口企业");
    let reader = voucher_ledger::service::personal::Reader {
        actor: "cli:export".into(),
        role: "operator".into(),
        purpose: "export enterprises".into(),
    };
    let sheet = enterprises(&world.store, Some(&world.personal_key), &reader)
        .await
        .unwrap();
    assert_eq!(sheet.headers[0], "uscc");
    let csv = String::from_utf8(render(&sheet, Format::Csv).unwrap()).unwrap();
    for cell in csv.lines().flat_map(|line| line.split(',')) {
        assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?} in {csv}");
    }
    assert!(csv.contains("'=1+2出口企业") && csv.contains("'@另一家") && csv.contains("'-王"));
    for (format, key) in [(Format::Csv, "r2"), (Format::Xlsx, "r3")] {
        let bytes = render(&sheet, format).unwrap();
        let again = import_bytes(&world, bytes, "all_or_nothing", key).await;
        assert_eq!(again.status, StatusCode::OK, "{format:?}: {:?}", again.body);
        assert_eq!(
            (
                again.body["unchanged"].clone(),
                again.body["created"].clone()
            ),
            (json!(2), json!(0)),
            "{format:?}"
        );
    }
}

async fn a_tag_list_imports_by_uscc_with_a_row_report<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let firms = format!(
        "uscc,name,division,sector,staff,revenue\n{},甲,330902,industry,30,4000000\n{},乙,330903,retail,8,500000\n",
        uscc(61),
        uscc(62)
    );
    import(&world, &firms, "all_or_nothing", "t0").await;
    let list = format!(
        "统一社会信用代码,标签,认定日期,有效期至,来源\n\
         {},专精特新培育库,2026-01-01,2028-12-31,浙江省经信厅 2026 年第一批\n\
         {},专精特新培育库,2026-01-01,,浙江省经信厅 2026 年第一批\n\
         {},专精特新培育库,2026-01-01,,浙江省经信厅 2026 年第一批\n\
         {},隐形冠军,2026-13-01,,x\n",
        uscc(61),
        uscc(62),
        uscc(63),
        uscc(61)
    );
    let post = async |file: &str, mode: &str, key: &str| {
        post_import(&world, "tags", file, mode, key).await
    };
    // In valid_rows mode a bad row does not hold back the good ones; here
    // everything is refused (all or nothing) because row 5 has a bad date.
    let bad_date = post(&list, "all_or_nothing", "t1").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.body["errors"][0]["row"], 5);
    assert_eq!(bad_date.body["errors"][0]["column"], "valid_from");
    assert_eq!(world.count_entries("enterprise_tagged").await, 0);
    let fixed = list.replace("2026-13-01", "2026-03-01");
    let unknown = post(&fixed, "all_or_nothing", "t2").await;
    assert_eq!(unknown.body["errors"][0]["code"], "enterprise_unknown");
    assert_eq!(unknown.body["errors"][0]["row"], 4);
    assert_eq!(world.count_entries("enterprise_tagged").await, 0);
    let applied = post(&fixed, "valid_rows", "t3").await;
    assert_eq!(applied.body["created"], 3, "{:?}", applied.body);
    let again = post(&fixed, "valid_rows", "t4").await;
    assert_eq!(
        (
            again.body["created"].clone(),
            again.body["unchanged"].clone()
        ),
        (json!(0), json!(3))
    );
    assert_eq!(world.count_entries("enterprise_tagged").await, 3);
}

async fn zones_are_defined_with_a_parent_division_and_checked<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    let admin = world.bearer("admin");
    let defined = world
        .api
        .post(
            "/api/v1/zones",
            &admin,
            json!({"name": "高新区", "division": "330902"}),
            "z1",
        )
        .await;
    assert_eq!(defined.body["zones"][0]["name"], "高新区");
    let bad = world
        .api
        .post(
            "/api/v1/zones",
            &admin,
            json!({"name": "x", "division": "99"}),
            "z2",
        )
        .await;
    bad.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "division_invalid");
    let firm = |zone: &str, division: &str| {
        json!({"uscc": uscc(71), "name": "园区企业", "division": division, "zone": zone, "sector": "industry",
               "staff": 30, "revenue_yuan": "4000000"})
    };
    let unknown = world
        .api
        .post(
            "/api/v1/enterprises",
            &admin,
            firm("自贸区", "330902"),
            "e1",
        )
        .await;
    unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "zone_unknown");
    let outside = world
        .api
        .post(
            "/api/v1/enterprises",
            &admin,
            firm("高新区", "330921"),
            "e2",
        )
        .await;
    outside.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "zone_outside_division");
    let inside = world
        .api
        .post(
            "/api/v1/enterprises",
            &admin,
            firm("高新区", "330902"),
            "e3",
        )
        .await;
    assert_eq!(inside.status, StatusCode::CREATED, "{:?}", inside.body);
    assert_eq!(world.count_entries("zone_defined").await, 1);
}

async fn post_import<S: Store>(
    world: &World<S>,
    what: &str,
    file: &str,
    mode: &str,
    key: &str,
) -> crate::api_client::Reply {
    post_file(world, what, file.as_bytes().to_vec(), mode, key).await
}

async fn provider_and_blacklist_files_import_with_row_reports_and_reimport_unchanged<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let world = World::new(store).await;
    let provider_uscc = Uscc::complete("9133090066600001").unwrap().to_string();
    let providers = format!(
        "统一社会信用代码,机构名称,法定代表人,服务类别,开户银行,户名,账号,年度结算上限(元)\n\
         {provider_uscc},舟山检测中心,赵六,检验检测、知识产权,工商银行舟山分行,舟山检测中心,6222 0000 1111 2222,\"5,000,000\"\n\
         bad,坏机构,钱七,,银行,户名,12ab,0\n"
    );
    let all = post_import(&world, "providers", &providers, "all_or_nothing", "pv1").await;
    assert_eq!(all.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(all.body["applied"], false);
    let columns: Vec<&str> = all.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["column"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["uscc", "account_number", "categories", "annual_cap_yuan"]
    );
    assert_eq!(world.count_entries("provider_registered").await, 0);
    let some = post_import(&world, "providers", &providers, "valid_rows", "pv2").await;
    assert_eq!(some.body["created"], 1, "{:?}", some.body);
    let again = post_import(&world, "providers", &providers, "valid_rows", "pv3").await;
    assert_eq!(again.body["unchanged"], 1);
    // Blacklist: one enterprise, one provider, one unknown party.
    let firms = format!(
        "uscc,name,division,sector,staff,revenue\n{},黑名单企业,330902,industry,30,4000000\n",
        uscc(81)
    );
    import(&world, &firms, "all_or_nothing", "bl0").await;
    let blacklist = format!(
        "uscc,party_kind,reason,source,effective_from,effective_until\n\
         {},企业,失信,信用中国,2026-10-01,\n\
         {provider_uscc},服务机构,套现,区经信局,2026-11-01,2027-11-01\n\
         {},enterprise,四无,区经信局,2026-11-01,\n",
        uscc(81),
        uscc(82)
    );
    let refused = post_import(&world, "blacklist", &blacklist, "all_or_nothing", "bl1").await;
    assert_eq!(refused.body["errors"][0]["code"], "party_unknown");
    assert_eq!(refused.body["errors"][0]["row"], 4);
    assert_eq!(world.count_entries("party_blacklisted").await, 0);
    let applied = post_import(&world, "blacklist", &blacklist, "valid_rows", "bl2").await;
    assert_eq!(applied.body["created"], 2, "{:?}", applied.body);
    let again = post_import(&world, "blacklist", &blacklist, "valid_rows", "bl3").await;
    assert_eq!(again.body["unchanged"], 2, "no duplicate entries");
    assert_eq!(world.count_entries("party_blacklisted").await, 2);
}

async fn a_response_too_large_to_keep_reaches_the_client_whole<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    // 3,000 bad rows, five problems each: a report far over the 1 MiB kept for replay.
    let mut file = String::from("uscc,name,division,sector,staff,revenue\n");
    for n in 0..3_000 {
        file.push_str(&format!("BAD{n},名称,990000,农业,-1,1.234\n"));
    }
    let first = post_file(
        &world,
        "enterprises",
        file.clone().into_bytes(),
        "all_or_nothing",
        "big",
    )
    .await;
    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = first.body["errors"]
        .as_array()
        .expect("the whole report, not an empty body");
    assert_eq!(errors.len(), 3_000 * 5);
    assert!(
        first.body.to_string().len() > voucher_ledger::http::idempotency::STORED_RESPONSE_BYTES_MAX
    );
    let replay = post_file(
        &world,
        "enterprises",
        file.into_bytes(),
        "all_or_nothing",
        "big",
    )
    .await;
    replay.expect_error(StatusCode::CONFLICT, "idempotency_replay_unavailable");
}

//! The documents a finance officer signs, read the way an officer's tools
//! read them: the 兑付表 and a statement PDF through `pdftotext` and
//! `pdffonts` (every payee's full name, bank and account number and every
//! 券号 whole; 共 N 页; every font embedded), the workbook through openpyxl
//! (print setup). Both backends.

use std::path::Path;
use std::process::Command as Process;

use axum::http::StatusCode;
use serde_json::{Value, json};
use voucher_ledger::store::Store;

use crate::helpers::{TestDb, on_both_backends};
use crate::redemption::{counter, provider_fields, uscc};
use crate::settlement::{
    Scene, approve, confirm, contract, prepare, reader_available, redeem, setting, this_quarter,
};

on_both_backends!(
    the_batch_pdf_prints_every_payee_and_voucher_whole_on_numbered_pages,
    the_workbook_prints_landscape_one_page_wide_with_its_header_repeated,
);

/// Long names of the kind the registry holds: a name wraps in the detail
/// table, yet each must appear whole somewhere a reader can copy it.
pub(crate) const PROVIDERS: [(&str, &str, &str); 3] = [
    (
        "舟山市定海区海洋经济与数字化转型管理咨询服务有限责任公司",
        "中国工商银行股份有限公司舟山定海海洋经济开发区支行",
        "6222021207001234567",
    ),
    (
        "浙江舟山群岛新区普陀检验检测认证技术服务有限公司",
        "中国农业银行股份有限公司舟山普陀沈家门支行",
        "19505101040012345",
    ),
    (
        "岱山县知识产权代理事务所（普通合伙）",
        "浙江岱山农村商业银行股份有限公司高亭支行",
        "201000123456789012",
    ),
];
pub(crate) const LINES: usize = 45;

/// A run of `LINES` confirmed redemptions spread over the three providers,
/// approved; returns the world and the run.
pub(crate) async fn approved_run<S: Store>(store: S) -> (Scene<S>, Value, Vec<String>) {
    let scene = setting(store, LINES).await;
    let mut counters = Vec::new();
    for (index, (name, bank, account)) in PROVIDERS.iter().enumerate() {
        let mut fields = provider_fields(&uscc(200 + index as u32), &uscc(299), "5,000,000");
        fields["name"] = json!(name);
        fields["bank_name"] = json!(bank);
        fields["account_name"] = json!(name);
        fields["account_number"] = json!(account);
        counters.push(counter(&scene.world, fields, "approved").await);
    }
    let mut voucher_ids = Vec::new();
    for (index, (firm, voucher)) in scene.firms.iter().zip(&scene.vouchers).enumerate() {
        let body = contract(voucher, &format!("DOC{index}"), 400_000, true);
        let redemption = redeem(
            &scene.world,
            &counters[index % 3],
            body,
            &format!("r{index}"),
        )
        .await;
        confirm(&scene.world, firm, &redemption, &format!("c{index}")).await;
        voucher_ids.push(voucher["id"].as_str().unwrap().to_string());
    }
    let finance = scene.world.bearer("finance");
    let run = prepare(&scene.world, &finance, &this_quarter(), "prep")
        .await
        .body;
    let approved = approve(&scene.world, &scene.checker, &run, "approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    // What the 422 report_too_long_for_pdf check counts: the lines a
    // 兑付表 (all) or a statement (one provider's) holds.
    let run_id: uuid::Uuid = approved.body["id"].as_str().unwrap().parse().unwrap();
    let store = &scene.world.store;
    assert_eq!(
        store.included_line_count(run_id, None).await.unwrap(),
        LINES as u64
    );
    let provider: uuid::Uuid = approved.body["payouts"][0]["provider_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        store
            .included_line_count(run_id, Some(provider))
            .await
            .unwrap(),
        (LINES / 3) as u64
    );
    (scene, approved.body, voucher_ids)
}

async fn download<S: Store>(scene: &Scene<S>, path: &str, to: &Path) {
    let (status, _, bytes) = scene
        .world
        .api
        .download(path, &scene.world.bearer("auditor"))
        .await;
    assert_eq!(status, StatusCode::OK, "{path}");
    std::fs::write(to, bytes).unwrap();
}

fn run_tool(program: &str, args: &[&str]) -> String {
    let output = Process::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every font `pdffonts` lists is embedded (`emb` column says yes).
fn assert_every_font_embedded(pdf: &Path) {
    let listing = run_tool("pdffonts", &[pdf.to_str().unwrap()]);
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert!(!fonts.is_empty(), "{listing}");
    for font in fonts {
        // name type encoding emb sub uni object ID
        let columns: Vec<&str> = font.split_whitespace().collect();
        let emb = columns[columns.len() - 5];
        assert_eq!(emb, "yes", "not embedded: {font}\n{listing}");
    }
}

async fn the_batch_pdf_prints_every_payee_and_voucher_whole_on_numbered_pages<S: Store>(
    store: S,
    db: &TestDb,
) {
    let (scene, run, voucher_ids) = approved_run(store).await;
    let run_id = run["id"].as_str().unwrap();
    // Kept for a person to look at: the PDFs and their pages as PNGs.
    let dir = crate::helpers::artefacts(db, "documents");
    let pdf = dir.join("batch.pdf");
    download(
        &scene,
        &format!("/api/v1/settlement-runs/{run_id}/report/batch.pdf"),
        &pdf,
    )
    .await;
    if !reader_available("pdftotext", &["-v"]) || !reader_available("pdffonts", &["-v"]) {
        return;
    }
    assert_every_font_embedded(&pdf);
    // The raw text stream, in the order it was drawn: a cell's line is one
    // piece of text, so whole values appear whole.
    let text = run_tool("pdftotext", &["-raw", pdf.to_str().unwrap(), "-"]);
    for (name, bank, account) in PROVIDERS {
        for whole in [name, bank, account] {
            assert!(text.contains(whole), "{whole} is not whole in:\n{text}");
        }
    }
    for id in &voucher_ids {
        assert!(text.contains(id.as_str()), "券号 {id} is not whole");
    }
    let pages: usize = run_tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(pages >= 2, "{LINES} lines fit on {pages} page");
    for page in 1..=pages {
        assert!(
            text.contains(&format!("第 {page} 页 / 共 {pages} 页")),
            "page {page}"
        );
    }
    // The table header is drawn on every page the table continues onto.
    assert!(text.matches("统一社会信用代码").count() >= pages, "{text}");
    for words in [
        "合计（大写）：人民币",
        "收款汇总",
        "编制人：finance（",
        "审核人：刘洋（",
        "单位（盖章）",
        "经办人（签字）",
    ] {
        assert!(text.contains(words), "{words} missing");
    }

    // A provider's statement: its payee whole, its payment status in words.
    let provider_id = run["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["payee_name"] == PROVIDERS[1].0)
        .unwrap()["provider_id"]
        .as_str()
        .unwrap()
        .to_string();
    let statement = dir.join("statement.pdf");
    download(
        &scene,
        &format!("/api/v1/settlement-runs/{run_id}/statements/{provider_id}/statement.pdf"),
        &statement,
    )
    .await;
    assert_every_font_embedded(&statement);
    let text = run_tool("pdftotext", &["-raw", statement.to_str().unwrap(), "-"]);
    for whole in [
        PROVIDERS[1].0,
        PROVIDERS[1].1,
        PROVIDERS[1].2,
        "付款状态：待支付",
    ] {
        assert!(
            text.contains(whole),
            "{whole} missing from the statement:\n{text}"
        );
    }
    assert!(
        !text.contains(PROVIDERS[0].0),
        "another payee on the statement"
    );
    assert!(!text.contains("pending"), "{text}");
    if reader_available("pdftoppm", &["-v"]) {
        for (file, stem) in [(&pdf, "batch"), (&statement, "statement")] {
            let prefix = dir.join(stem);
            run_tool(
                "pdftoppm",
                &[
                    "-png",
                    "-r",
                    "80",
                    file.to_str().unwrap(),
                    prefix.to_str().unwrap(),
                ],
            );
        }
    }
}

async fn the_workbook_prints_landscape_one_page_wide_with_its_header_repeated<S: Store>(
    store: S,
    _db: &TestDb,
) {
    let (scene, run, _) = approved_run(store).await;
    let run_id = run["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("batch.xlsx");
    download(
        &scene,
        &format!("/api/v1/settlement-runs/{run_id}/report/batch.xlsx"),
        &xlsx,
    )
    .await;
    if !reader_available("python3", &["-c", "import openpyxl"]) {
        return;
    }
    let script = "import sys, openpyxl\n\
        ws = openpyxl.load_workbook(sys.argv[1]).active\n\
        header = next(r for r in range(1, 20) if ws.cell(r, 1).value == '序号')\n\
        print(ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth or 1,\n\
              ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage)\n\
        print(ws.freeze_panes == 'A%d' % (header + 1), ws.print_title_rows == '$%d:$%d' % (header, header))\n\
        print([str(r) for r in ws.merged_cells.ranges], ws.cell(1, 1).value)\n\
        print(ws.oddFooter.center.text)\n";
    let out = run_tool("python3", &["-c", script, xlsx.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "landscape 9 1 0 True", "{out}");
    assert_eq!(lines[1], "True True", "{out}");
    assert_eq!(lines[2], "['A1:L1'] 服务补贴券兑付结算表", "{out}");
    assert_eq!(lines[3], "第 &P 页 / 共 &N 页", "{out}");
}

//! Hostile workbooks: each is refused with a 4xx code in under 2 s, and
//! the process's resident memory grows by less than 64 MiB while it is
//! refused (read from /proc) — through the API of a running server and
//! through the CLI.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::processes::{Session, create_user_cli, data_url, run_child_measured, serve, terminate};

const GROWTH_MAX_BYTES: u64 = 64 * 1024 * 1024;
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// A workbook of the given members around a first worksheet `sheet`.
fn workbook(sheet: impl FnOnce(&mut dyn Write), extra: Option<(&str, u64)>) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options.large_file(true))
        .unwrap();
    sheet(&mut zip);
    if let Some((name, zeros)) = extra {
        zip.start_file(name, options.large_file(true)).unwrap();
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..zeros / block.len() as u64 {
            zip.write_all(&block).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// Two cells, A1 and XFD1048576: 1.6 KB that a naive reader turns into
/// 17 billion cells.
fn corner_cells() -> Vec<u8> {
    workbook(
        |out| {
            write!(
                out,
                r#"{SHEET_START}<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>uscc</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>"#
            )
            .unwrap();
        },
        None,
    )
}

/// About 1 MiB that unpacks to 1 GiB of shared strings.
fn deflate_bomb() -> Vec<u8> {
    workbook(
        |out| {
            write!(out, r#"{SHEET_START}<sheetData></sheetData></worksheet>"#).unwrap();
        },
        Some(("xl/sharedStrings.xml", 1024 * 1024 * 1024)),
    )
}

/// A million rows, as Excel writes them (with their dimension).
fn million_rows() -> Vec<u8> {
    workbook(
        |out| {
            write!(
                out,
                r#"{SHEET_START}<dimension ref="A1:A1000000"/><sheetData>"#
            )
            .unwrap();
            for row in 1..=1_000_000 {
                write!(
                    out,
                    r#"<row r="{row}"><c r="A{row}"><v>{row}</v></c></row>"#
                )
                .unwrap();
            }
            write!(out, "</sheetData></worksheet>").unwrap();
        },
        None,
    )
}

/// Resident memory of a process now, and its peak so far, in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|rest| {
                rest.trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap()
                    * 1024
            })
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn hostile() -> [(&'static str, Vec<u8>); 3] {
    [
        ("corner cells", corner_cells()),
        ("deflate bomb", deflate_bomb()),
        ("a million rows", million_rows()),
    ]
}

#[tokio::test]
async fn hostile_workbooks_are_refused_quickly_by_the_api_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    let password = "bomb squad admin password";
    let (code, _, err) = create_user_cli(dir.path(), &url, "admin", "admin", password).await;
    assert_eq!(code, 0, "{err}");
    let (child, base) = serve(dir.path(), &["--database-url", &url]).await;
    let pid = child.id().unwrap();
    let Session {
        client,
        cookie,
        csrf,
    } = Session::login(&base, "admin", password).await;
    let files = hostile();
    let (baseline, _) = memory_of(pid);
    for (n, (what, bytes)) in files.into_iter().enumerate() {
        let started = Instant::now();
        let reply = client
            .post(format!("{base}/api/v1/imports/enterprises"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("idempotency-key", format!("bomb-{n}"))
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(bytes)
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        let status = reply.status().as_u16();
        let body: serde_json::Value = reply.json().await.unwrap();
        assert!((400..500).contains(&status), "{what}: {status} {body}");
        let code = body["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            ["xlsx_too_large", "too_many_rows", "too_many_columns"].contains(&code.as_str()),
            "{what}: {body}"
        );
        assert!(took < ANSWER_WITHIN, "{what} took {took:?}");
        let (_, peak) = memory_of(pid);
        assert!(
            peak.saturating_sub(baseline) < GROWTH_MAX_BYTES,
            "{what}: resident memory grew from {baseline} to a peak of {peak} bytes"
        );
    }
    terminate(&child);
}

#[tokio::test]
async fn hostile_workbooks_are_refused_quickly_by_the_cli_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let url = data_url(dir.path());
    // The same import of a small valid file is the baseline.
    let valid = dir.path().join("valid.csv");
    std::fs::write(
        &valid,
        "uscc,name,division,sector,staff,revenue\n91330902MA00000153,舟山基线有限公司,330902,industry,8,1500000\n",
    )
    .unwrap();
    let import = |file: &Path| {
        vec![
            "import".to_string(),
            "enterprises".into(),
            file.display().to_string(),
            "--database-url".into(),
            url.clone(),
        ]
    };
    let (code, out, _, baseline_peak) = run_child_measured(dir.path(), &import(&valid)).await;
    assert_eq!(code, 0, "{out}");
    for (what, bytes) in hostile() {
        let file = dir.path().join("hostile.xlsx");
        std::fs::write(&file, bytes).unwrap();
        let started = Instant::now();
        let (code, out, err, peak) = run_child_measured(dir.path(), &import(&file)).await;
        let took = started.elapsed();
        assert_ne!(code, 0, "{what}: {out}");
        assert!(
            err.contains("xlsx_too_large")
                || err.contains("too_many_rows")
                || out.contains("xlsx_too_large")
                || out.contains("too_many_rows"),
            "{what}: {out}{err}"
        );
        assert!(took < ANSWER_WITHIN, "{what} took {took:?}");
        assert!(
            peak.saturating_sub(baseline_peak) < GROWTH_MAX_BYTES,
            "{what}: peak {peak} bytes against {baseline_peak} for a valid file"
        );
    }
}

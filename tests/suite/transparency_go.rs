//! The transparency log checked by Go's own packages
//! (`golang.org/x/mod/sumdb/note` and `tlog`, the checksum database's):
//! our checkpoint's signature, the tiles, inclusion and consistency proofs
//! (tests/go/tlogcheck) — and by a verifier written from
//! docs/transparency.md alone (tests/contract/tlog_verify.py, Python). Go
//! is required when `CI=true` (Debian's `golang-go` and
//! `golang-golang-x-mod-dev`, built in GOPATH mode with no network) and
//! skipped with a message otherwise; Python always runs.

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use serde_json::Value;
use voucher_ledger::service::transparency::{TILE_WIDTH, TilePath, sign_log_checkpoint};
use voucher_ledger::store::Store;

use crate::api_client::{As, LOG_ORIGIN, World};
use crate::helpers::{TestDb, on_both_backends};

on_both_backends!(go_and_a_verifier_from_the_docs_accept_the_log);

/// Where Debian puts golang.org/x/mod.
const GOPATH: &str = "/usr/share/gocode";

fn go_available() -> bool {
    let found = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new(GOPATH)
            .join("src/golang.org/x/mod/sumdb/tlog")
            .is_dir();
    if !found {
        let required = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !required,
            "CI=true but Go or golang.org/x/mod is missing (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        eprintln!("skipping the Go check: go or {GOPATH}/src/golang.org/x/mod is missing");
    }
    found
}

async fn go_and_a_verifier_from_the_docs_accept_the_log<S: Store>(store: S, _db: &TestDb) {
    let world = World::new(store).await;
    world.add_entries("go", 300).await;
    let checkpoint = sign_log_checkpoint(&world.store, &world.ledger_key, LOG_ORIGIN)
        .await
        .unwrap()
        .unwrap();
    let size = checkpoint.tree_size;
    let dir = tempfile::tempdir().unwrap();
    let api = &world.api;
    for (file, path) in [("vkey", "/log/vkey"), ("checkpoint", "/log/checkpoint")] {
        let (status, _, bytes) = api.download(path, &As::Nobody).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        std::fs::write(dir.path().join(file), bytes).unwrap();
    }
    // Every hash tile of the checkpoint's tree, at its C2SP path.
    let mut level = 0u8;
    while size >> (8 * u32::from(level)) > 0 {
        let hashes = size >> (8 * u32::from(level));
        let mut tiles: Vec<TilePath> = (0..hashes / TILE_WIDTH)
            .map(|index| TilePath {
                level: Some(level),
                index,
                width: TILE_WIDTH,
            })
            .collect();
        if hashes % TILE_WIDTH > 0 {
            tiles.push(TilePath {
                level: Some(level),
                index: hashes / TILE_WIDTH,
                width: hashes % TILE_WIDTH,
            });
        }
        for tile in tiles {
            let (status, _, bytes) = api
                .download(&format!("/log/tile/{}", tile.render()), &As::Nobody)
                .await;
            assert_eq!(status, StatusCode::OK, "{tile:?}");
            let file = dir.path().join("tiles").join(tile.render());
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, bytes).unwrap();
            if level == 0 {
                // The entry bundle beside each leaf tile.
                let bundle = TilePath {
                    level: None,
                    ..tile
                };
                let (status, _, bytes) = api
                    .download(&format!("/log/tile/{}", bundle.render()), &As::Nobody)
                    .await;
                assert_eq!(status, StatusCode::OK, "{bundle:?}");
                let file = dir.path().join(bundle.render());
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, bytes).unwrap();
            }
        }
        level += 1;
    }
    let mut inclusion = Vec::new();
    for sequence in [1, 2, 3, 17, 128, 255, 256, 257, size - 1, size] {
        for tree_size in [size, sequence.max(200)] {
            let reply = api
                .get(
                    &format!("/api/v1/log/inclusion?sequence={sequence}&tree_size={tree_size}"),
                    &As::Nobody,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            inclusion.push(reply.body);
        }
    }
    let mut consistency = Vec::new();
    for (from, to) in [
        (1, size),
        (2, 3),
        (7, 200),
        (256, 257),
        (100, size),
        (size - 1, size),
    ] {
        let reply = api
            .get(
                &format!("/api/v1/log/consistency?from={from}&to={to}"),
                &As::Nobody,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        consistency.push(reply.body);
    }
    let write_json = |name: &str, value: Vec<Value>| {
        std::fs::write(dir.path().join(name), serde_json::to_vec(&value).unwrap()).unwrap();
    };
    write_json("inclusion.json", inclusion);
    write_json("consistency.json", consistency);

    // The verifier written from docs/transparency.md alone (Python).
    let python = |dir: &Path| {
        Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/tlog_verify.py"))
            .arg(dir)
            .output()
            .expect("python3 runs")
    };
    let output = python(dir.path());
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !go_available() {
        return;
    }

    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/tlogcheck");
    let run = |dir: &Path| {
        Command::new("go")
            .args(["run", "."])
            .arg(dir)
            .current_dir(&program)
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOFLAGS", "")
            .env(
                "GOCACHE",
                std::env::temp_dir().join("voucher-ledger-go-cache"),
            )
            .output()
            .expect("go runs")
    };
    let output = run(dir.path());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(
        said.starts_with(&format!("ok: checkpoint of {size} entries")),
        "{said}"
    );

    // Go refuses what it should: a tile with one byte changed.
    let tile = dir.path().join("tiles/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let output = run(dir.path());
    assert!(!output.status.success(), "a changed tile passed");
    assert!(String::from_utf8_lossy(&output.stderr).contains("tiles"));
    let output = python(dir.path());
    assert!(
        !output.status.success(),
        "a changed tile passed the docs' verifier"
    );
}

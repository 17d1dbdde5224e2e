//! Build script: compiles `proto/` with protox (pure Rust, no system `protoc`)
//! and embeds the SQL migrations so the binary carries its own schema.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    compile_protos();
    embed_migrations();
}

fn compile_protos() {
    let files = [
        "proto/voucher_ledger/ledger/v1/entries.proto",
        "proto/voucher_ledger/token/v1/voucher.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(files, ["proto"]).expect("proto/ must compile");
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("prost code generation must succeed");
}

/// Writes `migrations.rs` into OUT_DIR: for each backend, a sorted list of
/// (version, name, sql) with the SQL embedded by `include_str!`.
fn embed_migrations() {
    println!("cargo:rerun-if-changed=migrations");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = manifest_dir.join("migrations").join(backend);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(
            out,
            "pub const {}: &[Migration] = &[",
            backend.to_uppercase()
        )
        .unwrap();
        for path in &files {
            let (version, name) = split_migration_name(path);
            writeln!(
                out,
                "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({:?}) }},",
                path.display()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let out_path = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(out_path, out).unwrap();
}

/// `0001_ledger.sql` → (1, "ledger").
fn split_migration_name(path: &Path) -> (u32, String) {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let (version, name) = stem
        .split_once('_')
        .unwrap_or_else(|| panic!("migration {stem} must be named NNNN_name.sql"));
    let version: u32 = version
        .parse()
        .unwrap_or_else(|_| panic!("migration {stem} must start with a number"));
    (version, name.to_string())
}

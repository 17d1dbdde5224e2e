//! A real, independent QR reader (`zbarimg` from Debian's zbar-tools)
//! decodes our voucher PNGs to exactly the token text. Required under CI
//! (.ci/run installs zbar-tools).

use std::process::Command;

use ed25519_dalek::SigningKey;
use voucher_ledger::token::qr;
use voucher_ledger::token::voucher::sign;

use crate::helpers::sample_voucher_claims;

const BINARY: &str = env!("CARGO_BIN_EXE_voucher-ledger");

pub fn zbarimg_available() -> bool {
    let available = Command::new("zbarimg")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    let required = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(available || !required, "CI=true but zbarimg is missing");
    available
}

/// What zbarimg reads from an image file: the raw text of the one symbol.
pub fn read_qr(path: &std::path::Path) -> String {
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "zbarimg found no QR code: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

fn token() -> String {
    let key = SigningKey::from_bytes(&[21; 32]);
    sign(&sample_voucher_claims(&key), &key)
}

#[test]
fn zbarimg_reads_a_voucher_png_as_exactly_its_token_text() {
    if !zbarimg_available() {
        eprintln!("skipping: zbarimg (zbar-tools) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = token();
    for module_pixels in [3, qr::PNG_MODULE_PIXELS_DEFAULT] {
        let path = dir.path().join(format!("voucher-{module_pixels}.png"));
        std::fs::write(&path, qr::png(&text, module_pixels).unwrap()).unwrap();
        assert_eq!(read_qr(&path), text, "at {module_pixels} px per module");
    }
}

#[test]
fn the_qr_command_writes_a_png_zbarimg_reads_and_refuses_a_mistyped_token() {
    let dir = tempfile::tempdir().unwrap();
    let text = token();
    let png = dir.path().join("voucher.png");
    let svg = dir.path().join("voucher.svg");
    let status = Command::new(BINARY)
        .arg("qr")
        .arg(&text)
        .arg("--png")
        .arg(&png)
        .arg("--svg")
        .arg(&svg)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    if zbarimg_available() {
        assert_eq!(read_qr(&png), text);
    }

    // One character dropped: not a token, nothing written, a clear code.
    let bad = dir.path().join("bad.png");
    let output = Command::new(BINARY)
        .arg("qr")
        .arg(&text[..text.len() - 1])
        .arg("--png")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("token_malformed"));
    assert!(!bad.exists());
}

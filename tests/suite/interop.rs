//! Another language verifies our vouchers from the documentation alone:
//! tests/interop/verify_voucher.py (Python, `cryptography`), written from
//! docs/token-format.md. Required under CI (.ci/run installs the package).

use std::process::Command;

use ed25519_dalek::SigningKey;
use voucher_ledger::ledger::entry::to_hex;
use voucher_ledger::token::voucher::sign;

use crate::helpers::sample_voucher_claims;

pub(crate) fn python_has_cryptography() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|status| status.success());
    let required = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        available || !required,
        "CI=true but python3 with `cryptography` is missing"
    );
    available
}

fn run(text: &str, public_hex: &str, today: &str) -> (bool, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/verify_voucher.py"
    );
    let output = Command::new("python3")
        .args([script, text, public_hex, today])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    )
}

#[test]
fn an_independent_python_verifier_accepts_our_vouchers_and_refuses_tampering() {
    if !python_has_cryptography() {
        eprintln!("skipping: python3 with `cryptography` is not installed");
        return;
    }
    let key = SigningKey::from_bytes(&[11; 32]);
    let claims = sample_voucher_claims(&key);
    let text = sign(&claims, &key);
    let public_hex = to_hex(key.verifying_key().as_bytes());
    let (ok, out) = run(&text, &public_hex, "2026-05-01");
    assert!(ok, "{out}");
    let fields: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(fields["enterprise_uscc"], "91330902MA00000153");
    assert_eq!(fields["face_value_fen"], 500_000);
    assert_eq!(fields["service_categories"][0], "管理咨询");
    assert_eq!(fields["voucher_id"], to_hex(claims.voucher_id.as_bytes()));
    // Their refusals match ours.
    assert_eq!(run(&text, &public_hex, "2026-09-01").1, "voucher_expired");
    let other = to_hex(SigningKey::from_bytes(&[12; 32]).verifying_key().as_bytes());
    assert_eq!(run(&text, &other, "2026-05-01").1, "token_unknown_key");
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == '0' { '1' } else { '0' };
    let tampered: String = chars.into_iter().collect();
    let (ok, code) = run(&tampered, &public_hex, "2026-05-01");
    assert!(!ok, "{code}");
    // A key of small order with R = the identity and S = 0: OpenSSL alone
    // would accept it for any payload; the documented verifier refuses it.
    let weak_bytes = [
        1u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ];
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&weak_bytes).unwrap();
    let mut forged_claims = sample_voucher_claims(&key);
    forged_claims.key_id = voucher_ledger::ledger::checkpoint::key_id_for(&weak);
    let mut forged_signature = [0u8; 64];
    forged_signature[0] = 1;
    let forged = voucher_ledger::token::voucher::assemble(&forged_claims, &forged_signature);
    assert_eq!(
        run(&forged, &to_hex(&weak_bytes), "2026-05-01").1,
        "token_signature_invalid"
    );
}

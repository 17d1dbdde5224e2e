//! The systemd unit in docs/deploy (issue 21 point 7): hardened as the
//! docs say, and accepted by `systemd-analyze verify` with no warning
//! about it (where systemd is present; a unit with a bad value or a
//! missing binary is shown to be caught).

use std::path::Path;

const UNIT: &str = include_str!("../../docs/deploy/voucher-ledger.service");

/// `systemd-analyze verify` of `text` as a unit file: (passed, what it said
/// about the unit).
fn analyze(text: &str) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voucher-ledger.service");
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .ok()?;
    let said: String = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains("voucher-ledger"))
        .map(|line| format!("{line}\n"))
        .collect();
    Some((output.status.success() && said.is_empty(), said))
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    for line in [
        "User=voucher-ledger",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/voucher-ledger",
        "ExecStart=/usr/local/bin/voucher-ledger serve",
    ] {
        assert!(UNIT.lines().any(|l| l == line), "the unit lacks {line}");
    }
    if !Path::new("/usr/bin/systemd-analyze").exists() {
        eprintln!("skipping systemd-analyze: systemd is not installed here");
        return;
    }
    // The unit as installed, with this build's binary where it would be.
    let binary = env!("CARGO_BIN_EXE_voucher-ledger");
    let unit = UNIT.replace("/usr/local/bin/voucher-ledger", binary);
    let Some((passed, said)) = analyze(&unit) else {
        return;
    };
    assert!(passed, "systemd-analyze verify: {said}");
    let bad_value = unit.replace("ProtectSystem=strict", "ProtectSystem=bogus");
    assert!(!analyze(&bad_value).unwrap().0, "a bad value is caught");
    let no_binary = unit.replace(binary, "/nonexistent/voucher-ledger");
    assert!(
        !analyze(&no_binary).unwrap().0,
        "a missing binary is caught"
    );
}

//! The configuration file (issue 21 point 4): `config check` round-trips
//! every setting of `serve`, names where each came from (file,
//! environment, default), redacts the database password and refuses an
//! unknown key by name; `serve` runs with the file, a flag overriding it.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs the binary in `dir` with `env`: (exit code, stdout, stderr).
fn voucher_ledger(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"));
    command.current_dir(dir).args(args);
    for name in [
        "VOUCHER_CONFIG",
        "VOUCHER_LISTEN",
        "VOUCHER_DATABASE_URL",
        "VOUCHER_LOG_FORMAT",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `config check`'s lines as key → (value as TOML, source).
fn settings(printed: &str) -> std::collections::BTreeMap<String, (String, String)> {
    printed
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, rest) = line.split_once(" = ")?;
            let (value, source) = rest.split_once("  # ")?;
            Some((key.to_string(), (value.to_string(), source.to_string())))
        })
        .collect()
}

#[test]
fn config_check_round_trips_every_setting_and_refuses_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let witness = voucher_ledger::ledger::cosignature::witness_vkey(
        "audit.example/w",
        &voucher_ledger::ledger::checkpoint::KeyPair::generate().public_key(),
    );
    // Every setting of serve, none at its default.
    let file = format!(
        r#"database_url = "sqlite://elsewhere/ledger.db"
key_file = "keys/ledger.key"
issuer_key_dir = "keys/issuers"
listen = "127.0.0.1:9901"
secure_cookies = true
idempotency_retention_hours = 48
presentation_seconds = 30
log_origin = "vl.example.gov.cn/zhoushan"
witness = ["http://witness.example {witness}"]
checkpoint_seconds = 5
admin_listen = "127.0.0.1:9902"
drain_seconds = 7
log_format = "json"
"#
    );
    let path = dir.path().join("voucher-ledger.toml");
    std::fs::write(&path, &file).unwrap();
    let config = path.display().to_string();
    let (code, printed, err) =
        voucher_ledger(dir.path(), &["config", "check", "--config", &config], &[]);
    assert_eq!(code, 0, "{err}");
    let given: toml::Table = toml::from_str(&file).unwrap();
    let shown = settings(&printed);
    for (key, value) in &given {
        let (text, source) = shown
            .get(key)
            .unwrap_or_else(|| panic!("{key} not shown:\n{printed}"));
        assert_eq!(source, "file", "{key}:\n{printed}");
        let parsed: toml::Table = toml::from_str(&format!("v = {text}")).unwrap();
        let expected = match value {
            toml::Value::Integer(n) => toml::Value::String(n.to_string()),
            toml::Value::Boolean(b) => toml::Value::String(b.to_string()),
            other => other.clone(),
        };
        assert_eq!(parsed["v"], expected, "{key}:\n{printed}");
    }
    // What it prints is itself a configuration that means the same.
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &printed).unwrap();
    let again = again.display().to_string();
    let (code, reprinted, err) =
        voucher_ledger(dir.path(), &["config", "check", "--config", &again], &[]);
    assert_eq!(code, 0, "{err}");
    let values = |map: std::collections::BTreeMap<String, (String, String)>| {
        map.into_iter()
            .map(|(k, (v, _))| (k, v))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(settings(&reprinted)), values(shown));

    // The environment overrides the file; the file names itself by
    // VOUCHER_CONFIG too.
    let (code, printed, err) = voucher_ledger(
        dir.path(),
        &["config", "check"],
        &[
            ("VOUCHER_CONFIG", &config),
            ("VOUCHER_LISTEN", "127.0.0.1:9903"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let shown = settings(&printed);
    assert_eq!(
        shown["listen"],
        (
            "\"127.0.0.1:9903\"".to_string(),
            "environment VOUCHER_LISTEN".to_string()
        )
    );
    assert_eq!(shown["checkpoint_seconds"].1, "file");
    // Without a file, defaults.
    let (_, printed, _) = voucher_ledger(dir.path(), &["config", "check"], &[]);
    assert_eq!(
        settings(&printed)["checkpoint_seconds"],
        ("\"60\"".to_string(), "default".to_string())
    );

    // A password never printed.
    std::fs::write(
        &path,
        "database_url = \"postgres://app:s3cret@db.example/ledger\"\n",
    )
    .unwrap();
    let (code, printed, _) =
        voucher_ledger(dir.path(), &["config", "check", "--config", &config], &[]);
    assert_eq!(code, 0);
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(
        printed.contains("postgres://app:***@db.example/ledger"),
        "{printed}"
    );

    // Unknown keys and bad values are refused by name.
    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap();
    let (code, _, err) = voucher_ledger(dir.path(), &["config", "check", "--config", &config], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown key `listen_port`"), "{err}");
    std::fs::write(&path, "presentation_seconds = 5000\n").unwrap();
    let (code, _, err) = voucher_ledger(dir.path(), &["config", "check", "--config", &config], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("presentation-seconds"), "{err}");
}

/// `serve` takes its database and monitoring address from the file; a
/// flag overrides the file's listen address.
#[tokio::test]
async fn serve_runs_from_the_file_and_a_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vl.toml");
    std::fs::write(
        &path,
        "database_url = \"sqlite://from-file/ledger.db\"\nlisten = \"127.0.0.1:1\"\nadmin_listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_voucher-ledger"))
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env_remove("VOUCHER_DATABASE_URL")
        .env_remove("VOUCHER_LISTEN")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(!first.ends_with(":1"), "the flag wins: {first}");
    let second = lines.next_line().await.unwrap().unwrap();
    assert!(second.starts_with("admin listening on "), "{second}");
    assert!(dir.path().join("from-file/ledger.db").exists());
    crate::processes::terminate(&child);
    assert!(child.wait().await.unwrap().success());
}

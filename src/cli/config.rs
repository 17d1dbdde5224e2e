//! The configuration file (docs/operations.md, "Configuration"): a flat
//! TOML file (`--config FILE` or `VOUCHER_CONFIG`) whose keys are the
//! long names of the settings that have an environment variable
//! (`database_url`, `listen`, `witness`, …; `-` or `_`).
//!
//! The file's values become the settings' defaults in the command-line
//! parser, so clap's own order gives the documented precedence: a flag,
//! then the environment, then the file, then the built-in default. A key
//! that names no such setting is refused with its name; a value is checked
//! by the same parser as the flag.
//!
//! `config check` prints the settings `serve` would run with, where each
//! came from, with secrets (a database password) redacted.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// The environment variable naming the file.
pub const CONFIG_ENV: &str = "VOUCHER_CONFIG";
/// A configuration file is small.
const CONFIG_BYTES_MAX: u64 = 64 * 1024;

/// The file's settings: key (long name with `_`) → values.
#[derive(Debug, Default)]
pub struct FileSettings {
    pub path: Option<PathBuf>,
    values: BTreeMap<String, Vec<String>>,
}

/// `--config FILE` / `--config=FILE` among `args`, else `VOUCHER_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV)
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

fn key_of(long: &str) -> String {
    long.replace('-', "_")
}

/// Reads the file (if one is named) into key → values.
pub fn read(args: &[OsString]) -> anyhow::Result<FileSettings> {
    let Some(path) = config_path(args) else {
        return Ok(FileSettings::default());
    };
    let size = std::fs::metadata(&path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?
        .len();
    if size > CONFIG_BYTES_MAX {
        bail!("{} is over {} bytes", path.display(), CONFIG_BYTES_MAX);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        let strings = match value {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| scalar(&key, item, &path))
                .collect::<anyhow::Result<Vec<_>>>()?,
            other => vec![scalar(&key, other, &path)?],
        };
        values.insert(key_of(&key), strings);
    }
    Ok(FileSettings {
        path: Some(path),
        values,
    })
}

fn scalar(key: &str, value: toml::Value, path: &Path) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(text) => text,
        toml::Value::Integer(number) => number.to_string(),
        toml::Value::Boolean(flag) => flag.to_string(),
        _ => bail!(
            "{}: `{key}` must be a string, an integer, a boolean or a list of them",
            path.display()
        ),
    })
}

/// Every setting a file may hold in `command` and its subcommands: the
/// arguments with an environment variable, by key.
fn settings(command: &Command, into: &mut BTreeSet<String>) {
    for arg in command.get_arguments() {
        if let (Some(_), Some(long)) = (arg.get_env(), arg.get_long())
            && long != "config"
        {
            into.insert(key_of(long));
        }
    }
    for sub in command.get_subcommands() {
        settings(sub, into);
    }
}

/// `command` with the file's values as the defaults of its settings.
fn with_defaults(mut command: Command, file: &FileSettings) -> Command {
    let ids: Vec<(clap::Id, String)> = command
        .get_arguments()
        .filter(|arg| arg.get_env().is_some())
        .filter_map(|arg| Some((arg.get_id().clone(), key_of(arg.get_long()?))))
        .collect();
    for (id, key) in ids {
        if let Some(values) = file.values.get(&key) {
            let values: Vec<clap::builder::OsStr> =
                values.iter().map(|v| v.clone().into()).collect();
            command = command.mut_arg(id, |arg| arg.default_values(values));
        }
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| with_defaults(sub, file));
    }
    command
}

/// The command line parser with the file applied; refuses a key that
/// names no setting.
pub fn command(base: Command, file: &FileSettings) -> anyhow::Result<Command> {
    let mut known = BTreeSet::new();
    settings(&base, &mut known);
    if let Some(unknown) = file.values.keys().find(|key| !known.contains(*key)) {
        let path = file.path.as_deref().unwrap_or(Path::new("?"));
        bail!(
            "{}: unknown key `{unknown}` (keys are the settings' long names: {})",
            path.display(),
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(with_defaults(base, file))
}

/// What `config check` prints: one TOML line per setting of the
/// commands given (the global ones, then `serve`'s), with where its value
/// came from.
pub fn describe(commands: &[(&Command, &ArgMatches)], file: &FileSettings) -> String {
    let mut out = String::new();
    if let Some(path) = &file.path {
        out.push_str(&format!("# configuration file: {}\n", path.display()));
    }
    out.push_str("# precedence: flag > environment > file > default\n");
    for (command, matches) in commands {
        describe_settings(command, matches, file, &mut out);
    }
    for secret in ["VOUCHER_LEDGER_KEY", "VOUCHER_ISSUER_KEY"] {
        let state = if std::env::var_os(secret).is_some() {
            "set (redacted)"
        } else {
            "not set"
        };
        out.push_str(&format!("# {secret}: {state}\n"));
    }
    out
}

fn describe_settings(
    command: &Command,
    matches: &ArgMatches,
    file: &FileSettings,
    out: &mut String,
) {
    for arg in command.get_arguments() {
        let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        if long == "config" || (arg.is_global_set() && command.get_name() != "voucher-ledger") {
            continue;
        }
        let key = key_of(long);
        let id = arg.get_id().as_str();
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|raw| {
                raw.map(|value| redact(&key, &value.to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag".to_string(),
            Some(ValueSource::EnvVariable) => format!("environment {}", env.to_string_lossy()),
            Some(ValueSource::DefaultValue) if file.values.contains_key(&key) => "file".into(),
            _ => "default".into(),
        };
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append);
        let shown = match values.as_slice() {
            [] if repeatable => "[]".to_string(),
            [] => {
                out.push_str(&format!("# {key}: not set\n"));
                continue;
            }
            [one] if !repeatable => toml_string(one),
            many => format!(
                "[{}]",
                many.iter()
                    .map(|v| toml_string(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push_str(&format!("{key} = {shown}  # {source}\n"));
    }
}

fn toml_string(value: &str) -> String {
    // A JSON string is a TOML basic string (the same escapes).
    serde_json::to_string(value).expect("a string serialises")
}

/// A database URL without its password.
fn redact(key: &str, value: &str) -> String {
    if key != "database_url" {
        return value.to_string();
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return value.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted_and_nothing_else() {
        assert_eq!(
            redact("database_url", "postgres://app:s3cret@db.example/ledger"),
            "postgres://app:***@db.example/ledger"
        );
        assert_eq!(
            redact("database_url", "postgres://app@db/ledger"),
            "postgres://app@db/ledger"
        );
        assert_eq!(redact("listen", "a:b@c"), "a:b@c");
    }

    #[test]
    fn the_file_is_named_by_flag_or_environment() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["vl", "--config", "a.toml", "serve"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&args(&["vl", "serve", "--config=b.toml"])),
            Some(PathBuf::from("b.toml"))
        );
    }
}

//! The ledger's signing key on disk or in the environment.
//!
//! The key signs checkpoints, so whoever holds it can vouch for history:
//! it lives in a file readable only by its owner (mode 0600), or comes from
//! `VOUCHER_LEDGER_KEY` (hex of the 32-byte seed) where a secret store
//! injects it. It never appears in logs, errors or `Debug` output.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::{from_hex, to_hex};

/// Environment variable holding the seed in hex, overriding the file.
pub const LEDGER_KEY_ENV: &str = "VOUCHER_LEDGER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{LEDGER_KEY_ENV} must be 64 hex characters (a 32-byte Ed25519 seed)")]
    BadEnvironmentKey,
    #[error("the key file {path} must hold 64 hex characters (a 32-byte Ed25519 seed)")]
    BadFile { path: String },
    #[error("the key file {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    TooOpen { path: String, mode: u32 },
    #[error("cannot use the key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How the key was obtained, so start-up can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    ExistingFile,
    CreatedFile,
}

/// Loads the signer from the environment if set, else from `path`,
/// creating a new key there (mode 0600, parent directories too) if the
/// file does not exist.
pub fn load_or_create(path: &Path) -> Result<(KeyPair, KeySource), KeyFileError> {
    if let Ok(hex) = std::env::var(LEDGER_KEY_ENV) {
        let seed = from_hex::<32>(hex.trim()).ok_or(KeyFileError::BadEnvironmentKey)?;
        return Ok((KeyPair::from_secret(&seed), KeySource::Environment));
    }
    match load_or_create_file(path) {
        // Another process created the file between our read and our create:
        // use the key it wrote.
        Err(KeyFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            load_or_create_file(path)
        }
        other => other,
    }
}

/// Loads the key in an existing file (mode 0600 or stricter).
pub fn load_existing(path: &Path) -> Result<KeyPair, KeyFileError> {
    Ok(KeyPair::from_secret(&read_seed(path)?))
}

/// The 32 bytes (64 hex characters) in an existing key file, refused when
/// others may read it: any 32-byte secret kept like the signing key (the
/// personal data master key too).
pub fn read_seed(path: &Path) -> Result<[u8; 32], KeyFileError> {
    let shown = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: shown.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen { path: shown, mode });
    }
    from_hex::<32>(text.trim()).ok_or(KeyFileError::BadFile { path: shown })
}

/// The key in the file at `path` (created 0600 if absent), never from the
/// environment: a witness's key must not be the ledger's.
pub fn load_or_create_file(path: &Path) -> Result<(KeyPair, KeySource), KeyFileError> {
    let shown = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: shown.clone(),
        source,
    };
    match std::fs::metadata(path) {
        Ok(_) => Ok((load_existing(path)?, KeySource::ExistingFile)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::generate();
            // create_new inside: never overwrite a key another process just wrote.
            write_new(path, &key)?;
            Ok((key, KeySource::CreatedFile))
        }
        Err(error) => Err(io(error)),
    }
}

/// Writes a new key pair's seed to `path` (mode 0600, parent directories
/// created); refuses to overwrite an existing file.
pub fn write_new(path: &Path, key: &KeyPair) -> Result<(), KeyFileError> {
    write_seed(path, &key.secret_bytes())
}

/// Writes a 32-byte secret as hex to a new file `path` (mode 0600, parent
/// directories created); refuses to overwrite an existing file.
pub fn write_seed(path: &Path, seed: &[u8; 32]) -> Result<(), KeyFileError> {
    let shown = path.display().to_string();
    let io = |source| KeyFileError::Io {
        path: shown.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        crate::private_file::create_dir(parent).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    let mut seed_hex = to_hex(seed);
    seed_hex.push('\n');
    file.write_all(seed_hex.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_file_is_private_and_loads_back_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("ledger-key");
        let (created, source) = load_or_create(&path).unwrap();
        assert_eq!(source, KeySource::CreatedFile);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (loaded, source) = load_or_create(&path).unwrap();
        assert_eq!(source, KeySource::ExistingFile);
        assert_eq!(loaded.key_id(), created.key_id());
    }

    #[test]
    fn a_readable_or_malformed_key_file_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger-key");
        std::fs::write(&path, "ab".repeat(32)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = load_or_create(&path).unwrap_err();
        assert!(matches!(error, KeyFileError::TooOpen { mode: 0o644, .. }));
        assert!(!error.to_string().contains("abab"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::BadFile { .. })
        ));
    }
}

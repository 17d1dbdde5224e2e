//! The personal data master key on disk or in the environment
//! (docs/personal-data.md "Keys"): it wraps every subject's data key and is
//! never stored in the database, so a database copy (a backup, a dump)
//! holds personal fields only as ciphertext nobody can open without it.
//! Kept like the ledger signing key: a file of 64 hex characters, mode
//! 0600, or `VOUCHER_PERSONAL_DATA_KEY` where a secret store injects it.

use std::path::Path;

use super::sealed::MasterKey;
use crate::keyfile::{KeyFileError, KeySource, read_seed, write_seed};
use crate::ledger::entry::from_hex;

/// Environment variable holding the master key in hex, overriding the file.
pub const MASTER_KEY_ENV: &str = "VOUCHER_PERSONAL_DATA_KEY";
/// Its file in the data directory.
pub const MASTER_KEY_FILE: &str = "personal-data-key";

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{MASTER_KEY_ENV} must be 64 hex characters (a 32-byte key)")]
    BadEnvironmentKey,
    #[error(transparent)]
    File(#[from] KeyFileError),
}

/// Where the master key file lives: beside the ledger signing key.
pub fn beside(ledger_key_file: &Path) -> std::path::PathBuf {
    ledger_key_file.with_file_name(MASTER_KEY_FILE)
}

/// The master key from the environment or an existing file, never a new
/// one: for readers (exports), which have nothing to seal.
pub fn load_existing(path: &Path) -> Result<Option<MasterKey>, MasterKeyError> {
    if std::env::var(MASTER_KEY_ENV).is_err() && !path.exists() {
        return Ok(None);
    }
    Ok(Some(load_or_create(path)?.0))
}

/// The master key from the environment if set, else from `path`, created
/// there (0600) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<(MasterKey, KeySource), MasterKeyError> {
    if let Ok(hex) = std::env::var(MASTER_KEY_ENV) {
        let key = from_hex::<32>(hex.trim()).ok_or(MasterKeyError::BadEnvironmentKey)?;
        return Ok((MasterKey::from_bytes(key), KeySource::Environment));
    }
    if path.exists() {
        return Ok((
            MasterKey::from_bytes(read_seed(path)?),
            KeySource::ExistingFile,
        ));
    }
    let key = MasterKey::generate();
    match write_seed(path, &key.secret_bytes()) {
        Ok(()) => Ok((key, KeySource::CreatedFile)),
        // Another process created it first: use its key.
        Err(KeyFileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            Ok((
                MasterKey::from_bytes(read_seed(path)?),
                KeySource::ExistingFile,
            ))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_master_key_file_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(MASTER_KEY_FILE);
        let (made, source) = load_or_create(&path).unwrap();
        assert_eq!(source, KeySource::CreatedFile);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, source) = load_or_create(&path).unwrap();
        assert_eq!(source, KeySource::ExistingFile);
        assert_eq!(made, again);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(MasterKeyError::File(KeyFileError::TooOpen { .. }))
        ));
    }
}

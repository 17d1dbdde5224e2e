//! The issuer private keys this process may sign vouchers with.
//!
//! Which key signs is decided by the ledger (the one `issuer_keys` row that
//! is active, read under the writer's lock); this ring only answers "give
//! me the private half of key K". Keys come from `VOUCHER_ISSUER_KEY` (hex
//! seed, for secret stores) or from `<dir>/<key id>.key` files (mode 0600,
//! as `voucher-ledger keys rotate` writes them), loaded on first use — so
//! after a rotation by the operator, every instance sharing the directory
//! picks the new key up without a restart. Private keys never appear in
//! `Debug` output, logs or errors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use ed25519_dalek::SigningKey;

use crate::keyfile::{self, KeyFileError};
use crate::ledger::checkpoint::KeyPair;
use crate::ledger::entry::from_hex;

/// Environment variable holding one issuer key's seed in hex.
pub const ISSUER_KEY_ENV: &str = "VOUCHER_ISSUER_KEY";

#[derive(Default)]
pub struct IssuerKeyring {
    dir: Option<PathBuf>,
    keys: Mutex<HashMap<String, SigningKey>>,
}

impl std::fmt::Debug for IssuerKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        f.debug_struct("IssuerKeyring")
            .field("dir", &self.dir)
            .field("loaded_key_ids", &ids)
            .finish()
    }
}

impl IssuerKeyring {
    /// A ring that loads keys from `dir` on demand, plus the key in
    /// `VOUCHER_ISSUER_KEY` if set.
    pub fn from_dir_and_env(dir: PathBuf) -> Result<IssuerKeyring, KeyFileError> {
        let ring = IssuerKeyring {
            dir: Some(dir),
            keys: Mutex::default(),
        };
        if let Ok(hex) = std::env::var(ISSUER_KEY_ENV) {
            let seed = from_hex::<32>(hex.trim()).ok_or(KeyFileError::BadEnvironmentKey)?;
            ring.add(KeyPair::from_secret(&seed).signing_key().clone());
        }
        Ok(ring)
    }

    /// Makes `key` available (tests, and the process that just created it).
    pub fn add(&self, key: SigningKey) {
        let key_id = crate::ledger::checkpoint::key_id_for(&key.verifying_key());
        self.lock().insert(key_id, key);
    }

    /// Makes a new issuer key: its private half written to
    /// `<dir>/<key id>.key` (mode 0600, never overwriting) and held in
    /// this ring. `Ok(None)` when this ring has no key directory (keys
    /// only from the environment): then a rotation is an operator's job.
    pub fn create(&self) -> Result<Option<KeyPair>, KeyFileError> {
        let Some(dir) = self.dir.as_ref() else {
            return Ok(None);
        };
        let pair = KeyPair::generate();
        keyfile::write_new(&dir.join(format!("{}.key", pair.key_id())), &pair)?;
        self.add(pair.signing_key().clone());
        Ok(Some(pair))
    }

    /// The private key with this id: from memory, else from its file.
    /// `Ok(None)` when this process does not hold it.
    pub fn signing_key(&self, key_id: &str) -> Result<Option<SigningKey>, KeyFileError> {
        if let Some(key) = self.lock().get(key_id) {
            return Ok(Some(key.clone()));
        }
        // Key ids are 16 lower-case hex digits: never a path.
        let well_formed = key_id.len() == 16 && key_id.bytes().all(|b| b.is_ascii_hexdigit());
        let Some(dir) = self.dir.as_ref().filter(|_| well_formed) else {
            return Ok(None);
        };
        let path = dir.join(format!("{key_id}.key"));
        if !path.exists() {
            return Ok(None);
        }
        let pair = keyfile::load_existing(&path)?;
        if pair.key_id() != key_id {
            return Err(KeyFileError::BadFile {
                path: path.display().to_string(),
            });
        }
        let key = pair.signing_key().clone();
        self.lock().insert(key_id.to_string(), key.clone());
        Ok(Some(key))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SigningKey>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_load_from_their_files_by_id_and_never_show_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let pair = KeyPair::generate();
        keyfile::write_new(&dir.path().join(format!("{}.key", pair.key_id())), &pair).unwrap();
        let ring = IssuerKeyring {
            dir: Some(dir.path().to_path_buf()),
            keys: Mutex::default(),
        };
        let key = ring.signing_key(pair.key_id()).unwrap().unwrap();
        assert_eq!(key.to_bytes(), pair.secret_bytes());
        assert!(ring.signing_key("0123456789abcdef").unwrap().is_none());
        assert!(ring.signing_key("../../etc/passwd").unwrap().is_none());
        let shown = format!("{ring:?}");
        assert!(shown.contains(pair.key_id()), "{shown}");
        assert!(!shown.contains(&crate::ledger::entry::to_hex(&pair.secret_bytes())));
    }
}

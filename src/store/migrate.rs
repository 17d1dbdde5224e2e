//! Schema migrations, embedded in the binary.
//!
//! `migrations/sqlite` and `migrations/postgres` hold one file per version
//! with matching numbers and names (`0001_ledger.sql`); `build.rs` embeds
//! them. Applied versions are recorded with a SHA-256 of their SQL, so a
//! migration edited after it ran is reported instead of silently skipped.

use sha2::{Digest, Sha256};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> Vec<u8> {
        Sha256::digest(self.sql.as_bytes()).to_vec()
    }
}

// Defines `SQLITE` and `POSTGRES`: `&[Migration]` in version order.
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The bookkeeping table, identical in both dialects.
pub const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version       BIGINT PRIMARY KEY,
    name          TEXT   NOT NULL,
    checksum      BYTEA  NOT NULL,
    applied_at_us BIGINT NOT NULL
)";

/// What to do with each embedded migration, given the applied ones
/// (version, checksum). Errors if an applied migration's SQL changed or
/// the database is newer than this binary.
pub fn plan<'m>(
    embedded: &'m [Migration],
    applied: &[(i64, Vec<u8>)],
) -> Result<Vec<&'m Migration>, String> {
    for (version, checksum) in applied {
        match embedded.iter().find(|m| i64::from(m.version) == *version) {
            None => {
                return Err(format!(
                    "the database has migration {version}, which this binary does not know: it is newer than this program"
                ));
            }
            Some(migration) if &migration.checksum() != checksum => {
                return Err(format!(
                    "migration {version} ({}) was changed after it was applied",
                    migration.name
                ));
            }
            Some(_) => {}
        }
    }
    Ok(embedded
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == i64::from(m.version)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migration_versions_and_names() {
        let sqlite: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        let postgres: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
        let mut sorted = sqlite.clone();
        sorted.sort();
        sorted.dedup_by_key(|(v, _)| *v);
        assert_eq!(sorted, sqlite, "versions are unique and ascending");
    }

    #[test]
    fn plan_skips_applied_and_refuses_edited_or_unknown_migrations() {
        let first = SQLITE[0];
        assert_eq!(plan(SQLITE, &[]).unwrap().len(), SQLITE.len());
        let applied = [(i64::from(first.version), first.checksum())];
        assert_eq!(plan(SQLITE, &applied).unwrap().len(), SQLITE.len() - 1);
        let edited = [(i64::from(first.version), vec![0u8; 32])];
        assert!(plan(SQLITE, &edited).unwrap_err().contains("changed"));
        let unknown = [(9999, vec![0u8; 32])];
        assert!(plan(SQLITE, &unknown).unwrap_err().contains("newer"));
    }
}

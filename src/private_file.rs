//! Files only the service's own user may read: the data directory (0700)
//! and the SQLite database with its WAL and shared-memory files (0600).
//!
//! The database holds password and token hashes and bank account numbers,
//! so it must not be world-readable however the process's umask is set.
//! Directories are made 0700 when this program creates them (an existing
//! directory is the operator's choice and is left alone). The database
//! file is created empty with 0600 before SQLite opens it — SQLite gives
//! its `-wal` and `-shm` files the main file's mode — and an existing
//! database file that others can read is narrowed to 0600 at start.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of directories this program creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the database and key files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and any missing parents, each 0700.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// Makes sure the database file at `path` exists with mode 0600 (its
/// directory created 0700 if missing), and narrows the modes of it and
/// its `-wal`/`-shm` companions if group or others could read them.
pub fn prepare_database_file(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        create_dir(parent)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        narrow(Path::new(&name))?;
    }
    Ok(())
}

/// Sets a file's mode to 0600 if group or others have any access.
pub fn narrow(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "database file was readable by others; narrowed to 0600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_and_its_directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data").join("inner");
        let db = data.join("ledger.db");
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&db), FILE_MODE);
        assert_eq!(mode(&data), DIR_MODE);
        assert_eq!(mode(&dir.path().join("data")), DIR_MODE);
    }

    #[test]
    fn an_existing_readable_database_is_narrowed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let wal = dir.path().join("ledger.db-wal");
        for file in [&db, &wal] {
            std::fs::write(file, b"").unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare_database_file(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (FILE_MODE, FILE_MODE));
    }
}

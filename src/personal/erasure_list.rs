//! The erasure list (docs/personal-data.md "Backups"): every subject whose
//! data key was destroyed, and every restriction, one line each, in a 0600
//! file kept beside the master key — outside the database, so it outlives
//! any database backup.
//!
//! A backup taken before an erasure still holds the subject's wrapped key
//! (and one taken before a restriction, the subject unrestricted).
//! Whenever a database is put back (`restore`) or a service starts, the
//! list is applied to it first: every listed subject's key is destroyed
//! again, every listed restriction held again, so a restored backup cannot
//! bring an erased or restricted subject back. The list is only ever
//! appended to (`O_APPEND`, one `write` per line, then `fsync`), and every
//! start also appends what the database knows but the list does not (an
//! append that was interrupted).
//!
//! Lines: `subject TAB micros` (erased), or `subject TAB micros TAB
//! restricted TAB YYYY-MM-DD` (restricted until that day).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;

use crate::private_file::FILE_MODE;

/// Its file in the data directory, beside the master key.
pub const ERASURE_LIST_FILE: &str = "personal-data-erasures";
/// Largest list read (about 500,000 erasures).
pub const ERASURE_LIST_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Longest subject written to it.
const SUBJECT_LEN_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ErasureListError {
    #[error("cannot use the erasure list {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the erasure list {path} is damaged at line {line}: restore it from its own backup")]
    Damaged { path: PathBuf, line: usize },
    #[error("the erasure list {path} is larger than {ERASURE_LIST_BYTES_MAX} bytes")]
    TooLarge { path: PathBuf },
}

/// What the list says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Erased subjects, with the time of their (first listed) erasure.
    pub erased: BTreeMap<String, i64>,
    /// Restricted subjects: the time of the first restriction listed and
    /// the latest day any listed restriction runs to.
    pub restricted: BTreeMap<String, (i64, NaiveDate)>,
}

/// The erasure list at a path; appends are serialised within the process.
#[derive(Debug)]
pub struct ErasureList {
    path: PathBuf,
    append: Mutex<()>,
}

impl ErasureList {
    pub fn at(path: PathBuf) -> ErasureList {
        ErasureList {
            path,
            append: Mutex::new(()),
        }
    }

    /// The list beside the master key file `master_key_file`.
    pub fn beside(master_key_file: &Path) -> ErasureList {
        ErasureList::at(master_key_file.with_file_name(ERASURE_LIST_FILE))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: io::Error) -> ErasureListError {
        ErasureListError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Every erased subject with the time of its erasure (µs); empty when
    /// the file does not exist yet.
    pub fn subjects(&self) -> Result<BTreeMap<String, i64>, ErasureListError> {
        Ok(self.read()?.erased)
    }

    /// Everything listed; nothing when the file does not exist yet.
    pub fn read(&self) -> Result<Listed, ErasureListError> {
        let size = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Listed::default()),
            Err(error) => return Err(self.io(error)),
        };
        if size > ERASURE_LIST_BYTES_MAX {
            return Err(ErasureListError::TooLarge {
                path: self.path.clone(),
            });
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.io(e))?;
        parse(&text).map_err(|line| ErasureListError::Damaged {
            path: self.path.clone(),
            line,
        })
    }

    /// Appends `subject` (erased at `erased_at_us`) and flushes it to disk.
    pub fn append(&self, subject: &str, erased_at_us: i64) -> Result<(), ErasureListError> {
        self.append_line(subject, &format!("{subject}\t{erased_at_us}\n"))
    }

    /// Appends `subject`'s restriction (from `restricted_at_us`, until the
    /// day `retain_until`) and flushes it to disk.
    pub fn append_restriction(
        &self,
        subject: &str,
        restricted_at_us: i64,
        retain_until: NaiveDate,
    ) -> Result<(), ErasureListError> {
        let line = format!("{subject}\t{restricted_at_us}\t{RESTRICTED}\t{retain_until}\n");
        self.append_line(subject, &line)
    }

    fn append_line(&self, subject: &str, line: &str) -> Result<(), ErasureListError> {
        assert!(
            valid_subject(subject),
            "only well-formed subjects reach the erasure list"
        );
        let _one_at_a_time = self
            .append
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(parent) = self.path.parent()
            && !parent.as_os_str().is_empty()
        {
            crate::private_file::create_dir(parent).map_err(|e| self.io(e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))
    }
}

fn valid_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.len() <= SUBJECT_LEN_MAX
        && subject.bytes().all(|b| b.is_ascii_graphic())
}

/// The word that marks a restriction's line.
const RESTRICTED: &str = "restricted";

/// The list's lines; `Err(line)` names the first line that is neither
/// `subject TAB micros` nor `subject TAB micros TAB restricted TAB date`.
/// A subject erased twice keeps its first time; restrictions keep the
/// first time and the latest day. A last line without its newline (an
/// append cut short by a crash) is damage too: nothing is guessed.
fn parse(text: &str) -> Result<Listed, usize> {
    let mut listed = Listed::default();
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(text.lines().count());
    }
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (subject, at) = match fields.as_slice() {
            [subject, at] | [subject, at, RESTRICTED, _] => (*subject, *at),
            _ => return Err(index + 1),
        };
        let at: i64 = at.parse().map_err(|_| index + 1)?;
        if !valid_subject(subject) {
            return Err(index + 1);
        }
        match fields.as_slice() {
            [_, _, _, until] => {
                let until = NaiveDate::parse_from_str(until, "%Y-%m-%d").map_err(|_| index + 1)?;
                let held = listed
                    .restricted
                    .entry(subject.to_string())
                    .or_insert((at, until));
                held.1 = held.1.max(until);
            }
            _ => {
                listed.erased.entry(subject.to_string()).or_insert(at);
            }
        }
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn appended_subjects_read_back_from_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let list = ErasureList::beside(&dir.path().join("data").join("personal-data-key"));
        assert!(list.subjects().unwrap().is_empty());
        list.append("enterprise:a", 10).unwrap();
        list.append("enterprise:b", 20).unwrap();
        list.append("enterprise:a", 30).unwrap();
        let subjects = list.subjects().unwrap();
        assert_eq!(subjects.len(), 2);
        assert_eq!(subjects["enterprise:a"], 10);
        let mode = std::fs::metadata(list.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn restrictions_keep_their_latest_day() {
        let dir = tempfile::tempdir().unwrap();
        let list = ErasureList::at(dir.path().join(ERASURE_LIST_FILE));
        let day = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
        list.append_restriction("enterprise:a", 5, day("2056-12-31"))
            .unwrap();
        list.append_restriction("enterprise:a", 6, day("2030-01-01"))
            .unwrap();
        list.append("enterprise:b", 7).unwrap();
        let listed = list.read().unwrap();
        assert_eq!(listed.restricted["enterprise:a"], (5, day("2056-12-31")));
        assert_eq!(listed.erased.len(), 1);
        assert!(!listed.erased.contains_key("enterprise:a"));
    }

    #[test]
    fn a_damaged_list_is_refused_not_guessed() {
        assert_eq!(parse("enterprise:a\t1\nenterprise:b\t2"), Err(2));
        assert_eq!(parse("enterprise:a 1\n"), Err(1));
        assert_eq!(parse("enterprise:a\tx\n"), Err(1));
        assert_eq!(parse("\t1\n"), Err(1));
        assert_eq!(parse("enterprise:a\t1\trestricted\n"), Err(1));
        assert_eq!(parse("enterprise:a\t1\trestricted\t2056-13-01\n"), Err(1));
        assert_eq!(parse("enterprise:a\t1\tkept\t2056-12-01\n"), Err(1));
        assert_eq!(parse("enterprise:a\t1\n").unwrap().erased.len(), 1);
        assert_eq!(parse("").unwrap(), Listed::default());
    }
}

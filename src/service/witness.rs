//! A witness of transparency logs (C2SP tlog-witness): it remembers, per
//! log, the last checkpoint it cosigned, and cosigns a new one only if the
//! log's key signed it and a consistency proof shows it extends that one.
//! Run by an outside body (an audit office, the people's bank) with
//! `voucher-ledger witness serve`; docs/transparency.md, "Witnesses".
//!
//! This module is the decision (pure) and the per-log state on disk
//! (written atomically and durably); the HTTP server is in `cli/witness.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::ledger::entry::{Hash32, to_hex};
use crate::ledger::merkle;
use crate::ledger::note::{self, SignedNote, TreeHead};

/// Most hashes a consistency proof may carry (2·log₂ of 2^63 leaves).
pub const PROOF_HASHES_MAX: usize = 126;
/// Largest add-checkpoint request body.
pub const REQUEST_BYTES_MAX: usize = 64 * 1024;

/// A log this witness accepts: its origin and checkpoint key.
#[derive(Debug, Clone)]
pub struct KnownLog {
    pub origin: String,
    pub key: VerifyingKey,
}

/// What the witness last cosigned for a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    pub size: u64,
    pub root: Hash32,
}

/// An add-checkpoint request: the size the log believes the witness is
/// at, the consistency proof from there, and the new checkpoint.
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash32>,
    pub note: SignedNote,
    pub head: TreeHead,
}

/// Why a checkpoint is not cosigned, with the HTTP status the protocol
/// gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown log {0}")]
    UnknownLog(String),
    #[error("the checkpoint is not signed by the log's key")]
    BadSignature,
    /// The witness is at another size than the request's `old`.
    #[error("the witness is at size {0}")]
    Conflict(u64),
    #[error("the consistency proof does not verify")]
    BadProof,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::BadSignature => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict(_) => 409,
            Refusal::BadProof => 422,
        }
    }
}

/// Reads `old <size>`, the proof's base64 hashes one per line, a blank
/// line, then the checkpoint note.
pub fn parse_request(body: &str) -> Result<AddCheckpoint, Refusal> {
    let malformed = |why: &str| Refusal::Malformed(why.to_string());
    let (first, rest) = body
        .split_once('\n')
        .ok_or_else(|| malformed("no old line"))?;
    let old = first
        .strip_prefix("old ")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| malformed("the first line is old <size>"))?;
    // No proof: the blank line comes at once (the note has a blank line
    // of its own, before its signatures).
    let (proof_lines, note_text) = match rest.strip_prefix('\n') {
        Some(note) => ("", note),
        None => rest
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?,
    };
    let mut proof = Vec::new();
    for line in proof_lines.lines().filter(|line| !line.is_empty()) {
        let hash: Hash32 = BASE64
            .decode(line)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| malformed("a proof line is a base64 hash"))?;
        proof.push(hash);
        if proof.len() > PROOF_HASHES_MAX {
            return Err(malformed("too many proof hashes"));
        }
    }
    let note = note::parse(note_text).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let head = TreeHead::parse(&note.text).map_err(|e| Refusal::Malformed(e.to_string()))?;
    if old > head.size {
        return Err(malformed("old is beyond the checkpoint's size"));
    }
    Ok(AddCheckpoint {
        old,
        proof,
        note,
        head,
    })
}

/// Decides a request against the witness's state for that log (`None`:
/// never seen; treated as size 0). Returns the state to record before
/// cosigning.
pub fn decide(
    logs: &[KnownLog],
    state: Option<LogState>,
    request: &AddCheckpoint,
) -> Result<LogState, Refusal> {
    let origin = &request.head.origin;
    let log = logs
        .iter()
        .find(|log| &log.origin == origin)
        .ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
    if !request.note.signed_by(&log.origin, &log.key) {
        return Err(Refusal::BadSignature);
    }
    let known = state.unwrap_or(LogState {
        size: 0,
        root: merkle::empty_root(),
    });
    if request.old != known.size {
        return Err(Refusal::Conflict(known.size));
    }
    if !merkle::verify_consistency(
        known.size,
        request.head.size,
        &known.root,
        &request.head.root,
        &request.proof,
    ) {
        return Err(Refusal::BadProof);
    }
    Ok(LogState {
        size: request.head.size,
        root: request.head.root,
    })
}

/// The witness's per-log state: one small file per log in a directory,
/// replaced atomically (written to a temporary file, synced, renamed, the
/// directory synced), so a crash leaves the old state or the new one.
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub fn open(dir: &Path) -> std::io::Result<StateDir> {
        std::fs::create_dir_all(dir)?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.state",
            to_hex(&Sha256::digest(origin.as_bytes()))
        ))
    }

    pub fn load(&self, origin: &str) -> std::io::Result<Option<LogState>> {
        let text = match std::fs::read_to_string(self.path(origin)) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "a corrupt state file");
        let mut lines = text.lines();
        let (Some(logged), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad());
        };
        if logged != origin {
            return Err(bad());
        }
        let size = size.parse().map_err(|_| bad())?;
        let root = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(bad)?;
        Ok(Some(LogState { size, root }))
    }

    pub fn save(&self, origin: &str, state: LogState) -> std::io::Result<()> {
        let path = self.path(origin);
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        write!(
            file,
            "{origin}\n{}\n{}\n",
            state.size,
            BASE64.encode(state.root)
        )?;
        file.as_file().sync_all()?;
        file.persist(&path).map_err(|e| e.error)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::ledger::merkle::Frontier;

    const ORIGIN: &str = "log.example/a";

    fn log_key() -> SigningKey {
        SigningKey::from_bytes(&[4; 32])
    }

    /// Roots of a tree of `n` leaves, and its stored nodes.
    fn tree(
        n: u64,
    ) -> (
        Vec<Hash32>,
        std::collections::HashMap<merkle::NodeId, Hash32>,
    ) {
        let mut frontier = Frontier::EMPTY;
        let mut roots = vec![frontier.root()];
        let mut nodes = std::collections::HashMap::new();
        for i in 0..n {
            nodes.extend(frontier.push(merkle::leaf_hash(&[i as u8])));
            roots.push(frontier.root());
        }
        (roots, nodes)
    }

    fn request(old: u64, new: u64, root: Hash32, proof: &[Hash32]) -> String {
        let head = TreeHead {
            origin: ORIGIN.into(),
            size: new,
            root,
        };
        let note = note::sign(&head.text(), ORIGIN, &log_key()).render();
        let lines: String = proof
            .iter()
            .map(|h| format!("{}\n", BASE64.encode(h)))
            .collect();
        format!("old {old}\n{lines}\n{note}")
    }

    #[test]
    fn a_consistent_checkpoint_is_accepted_and_every_other_refused() {
        let logs = [KnownLog {
            origin: ORIGIN.into(),
            key: log_key().verifying_key(),
        }];
        let (roots, nodes) = tree(20);
        let proof = |old, new| merkle::consistency_proof(old, new, &mut |id| nodes[&id]);
        // First contact: from 0.
        let first = parse_request(&request(0, 8, roots[8], &[])).unwrap();
        let state = decide(&logs, None, &first).unwrap();
        assert_eq!(
            state,
            LogState {
                size: 8,
                root: roots[8]
            }
        );
        // Onwards with a proof.
        let next = parse_request(&request(8, 13, roots[13], &proof(8, 13))).unwrap();
        let state = decide(&logs, Some(state), &next).unwrap();
        assert_eq!(state.size, 13);
        // Stale: the log thinks the witness is at 8.
        let stale = parse_request(&request(8, 20, roots[20], &proof(8, 20))).unwrap();
        assert_eq!(
            decide(&logs, Some(state), &stale),
            Err(Refusal::Conflict(13))
        );
        // Rewritten history: another root at 20, with the honest proof.
        let rewritten = parse_request(&request(13, 20, [9; 32], &proof(13, 20))).unwrap();
        assert_eq!(
            decide(&logs, Some(state), &rewritten),
            Err(Refusal::BadProof)
        );
        // The same checkpoint again is cosigned again.
        let again = parse_request(&request(13, 13, roots[13], &[])).unwrap();
        assert!(decide(&logs, Some(state), &again).is_ok());
        // Not the log's key, or an unknown log.
        let other = SigningKey::from_bytes(&[5; 32]);
        let head = TreeHead {
            origin: ORIGIN.into(),
            size: 20,
            root: roots[20],
        };
        let forged = format!(
            "old 13\n{}\n\n{}",
            proof(13, 20)
                .iter()
                .map(|h| BASE64.encode(h))
                .collect::<Vec<_>>()
                .join("\n"),
            note::sign(&head.text(), ORIGIN, &other).render()
        );
        let forged = parse_request(&forged).unwrap();
        assert_eq!(
            decide(&logs, Some(state), &forged),
            Err(Refusal::BadSignature)
        );
        assert!(matches!(
            decide(&[], Some(state), &next),
            Err(Refusal::UnknownLog(_))
        ));
        for bad in [
            "",
            "old x\n\n",
            "new 1\n\n",
            "old 1\nnot-base64\n\nx",
            "old 9\n\nlog.example/a\n5\nAAAA\n",
        ] {
            assert!(
                matches!(parse_request(bad), Err(Refusal::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_state_survives_a_reopen_and_is_per_log() {
        let dir = tempfile::tempdir().unwrap();
        let states = StateDir::open(dir.path()).unwrap();
        assert_eq!(states.load(ORIGIN).unwrap(), None);
        let state = LogState {
            size: 7,
            root: [1; 32],
        };
        states.save(ORIGIN, state).unwrap();
        let reopened = StateDir::open(dir.path()).unwrap();
        assert_eq!(reopened.load(ORIGIN).unwrap(), Some(state));
        assert_eq!(reopened.load("log.example/b").unwrap(), None);
    }
}

//! Verification of a whole ledger, entry by entry.
//!
//! `ChainVerifier` is fed entries in sequence order (from a database, a
//! backup or an export) and checks everything docs/ledger.md promises:
//! gapless sequence numbers, the hash chain, canonical bodies, balanced
//! postings, account floors, non-decreasing time, and every signed
//! checkpoint. At the end it compares the recomputed balances with the
//! stored projection. It does no I/O; `service::verify` feeds it.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;

use super::account::Account;
use super::body::EntryBody;
use super::checkpoint::{Checkpoint, verify_signature};
use super::entry::{Entry, GENESIS_PREV_HASH, Hash32, to_hex};
use super::posting::{check_balanced, net_changes};

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("entry {expected} is missing (found {found} in its place)")]
    SequenceGap { expected: u64, found: u64 },
    #[error("entry {sequence}: prev_hash does not match the hash of entry {}", sequence - 1)]
    BrokenLink { sequence: u64 },
    #[error("entry {sequence}: stored hash {stored} differs from recomputed {computed}")]
    HashMismatch {
        sequence: u64,
        stored: String,
        computed: String,
    },
    #[error("entry {sequence}: {reason}")]
    BadBody { sequence: u64, reason: String },
    #[error("entry {sequence}: postings {reason}")]
    BadPostings { sequence: u64, reason: String },
    #[error("entry {sequence}: account {account} crosses zero to {balance_fen} fen")]
    FloorBroken {
        sequence: u64,
        account: String,
        balance_fen: i64,
    },
    #[error("entry {sequence}: recorded before entry {}", sequence - 1)]
    TimeWentBackwards { sequence: u64 },
    #[error("checkpoint at {sequence}: {reason}")]
    BadCheckpoint { sequence: u64, reason: String },
    #[error("chain head says sequence {head_sequence}, the last entry is {last_sequence}")]
    HeadMismatch { head_sequence: u64, last_sequence: u64 },
    #[error(
        "balance of {account} is {projected_fen} fen in the projection but {recomputed_fen} fen from postings (last touched by entry {sequence})"
    )]
    ProjectionMismatch {
        account: String,
        projected_fen: i64,
        recomputed_fen: i64,
        sequence: u64,
    },
    #[error("trial balance is {0} fen, not zero")]
    TrialBalance(i128),
}

impl Problem {
    /// The sequence number this problem is attached to, if any: what
    /// `voucher-ledger verify` names as "the first bad sequence number".
    pub fn sequence(&self) -> Option<u64> {
        match self {
            Problem::SequenceGap { expected, .. } => Some(*expected),
            Problem::BrokenLink { sequence }
            | Problem::HashMismatch { sequence, .. }
            | Problem::BadBody { sequence, .. }
            | Problem::BadPostings { sequence, .. }
            | Problem::FloorBroken { sequence, .. }
            | Problem::TimeWentBackwards { sequence }
            | Problem::BadCheckpoint { sequence, .. }
            | Problem::ProjectionMismatch { sequence, .. } => Some(*sequence),
            Problem::HeadMismatch {
                head_sequence,
                last_sequence,
            } => Some(head_sequence.min(last_sequence) + 1),
            Problem::TrialBalance(_) => None,
        }
    }
}

/// The stored balance of one account, as the projection table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedBalance {
    pub account: String,
    pub balance_fen: i64,
    pub last_sequence: u64,
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    pub postings: u64,
    pub checkpoints: u64,
    pub head_hash: Hash32,
    pub accounts: usize,
}

/// Streaming verifier: `push` each entry in order, then `finish`.
pub struct ChainVerifier {
    next_sequence: u64,
    prev_hash: Hash32,
    prev_recorded_at: i64,
    postings: u64,
    balances: BTreeMap<String, (i64, u64)>,
    /// Checkpoints not yet reached, by sequence.
    pending_checkpoints: BTreeMap<u64, Checkpoint>,
    checkpoint_count: u64,
    keys: HashMap<String, VerifyingKey>,
}

impl ChainVerifier {
    /// `checkpoints` are checked as the chain passes their sequence;
    /// `keys` are the ledger's public keys by key id.
    pub fn new(checkpoints: Vec<Checkpoint>, keys: HashMap<String, VerifyingKey>) -> ChainVerifier {
        let checkpoint_count = checkpoints.len() as u64;
        ChainVerifier {
            next_sequence: 1,
            prev_hash: GENESIS_PREV_HASH,
            prev_recorded_at: i64::MIN,
            postings: 0,
            balances: BTreeMap::new(),
            pending_checkpoints: checkpoints.into_iter().map(|c| (c.sequence, c)).collect(),
            checkpoint_count,
            keys,
        }
    }

    /// Checks the next entry. The first problem found is returned; after
    /// a problem the verifier should not be fed further.
    pub fn push(&mut self, entry: &Entry) -> Result<(), Problem> {
        let sequence = entry.sequence;
        if sequence != self.next_sequence {
            return Err(Problem::SequenceGap {
                expected: self.next_sequence,
                found: sequence,
            });
        }
        let computed = entry.compute_hash();
        if computed != entry.hash {
            return Err(Problem::HashMismatch {
                sequence,
                stored: to_hex(&entry.hash),
                computed: to_hex(&computed),
            });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(Problem::BrokenLink { sequence });
        }
        if entry.recorded_at.as_micros() < self.prev_recorded_at {
            return Err(Problem::TimeWentBackwards { sequence });
        }
        EntryBody::decode_canonical(&entry.kind, &entry.body).map_err(|e| Problem::BadBody {
            sequence,
            reason: e.to_string(),
        })?;
        check_balanced(&entry.postings).map_err(|e| Problem::BadPostings {
            sequence,
            reason: e.to_string(),
        })?;
        for (account, change) in net_changes(&entry.postings) {
            self.apply(sequence, account, change)?;
        }
        self.postings += entry.postings.len() as u64;
        self.prev_hash = entry.hash;
        self.prev_recorded_at = entry.recorded_at.as_micros();
        self.next_sequence += 1;
        if let Some(checkpoint) = self.pending_checkpoints.remove(&sequence) {
            self.check_checkpoint(&checkpoint, &entry.hash)?;
        }
        Ok(())
    }

    fn apply(&mut self, sequence: u64, account: &Account, change: i64) -> Result<(), Problem> {
        let name = account.to_string();
        let slot = self.balances.entry(name.clone()).or_insert((0, sequence));
        let balance = slot.0.checked_add(change).ok_or_else(|| Problem::BadPostings {
            sequence,
            reason: format!("overflow the balance of {name}"),
        })?;
        if balance * account.normal_side().sign() < 0 {
            return Err(Problem::FloorBroken {
                sequence,
                account: name,
                balance_fen: balance,
            });
        }
        *slot = (balance, sequence);
        Ok(())
    }

    fn check_checkpoint(&self, checkpoint: &Checkpoint, entry_hash: &Hash32) -> Result<(), Problem> {
        let bad = |reason: &str| Problem::BadCheckpoint {
            sequence: checkpoint.sequence,
            reason: reason.to_string(),
        };
        if &checkpoint.head_hash != entry_hash {
            return Err(bad("signed head hash differs from the entry's hash"));
        }
        let key = self
            .keys
            .get(&checkpoint.key_id)
            .ok_or_else(|| bad(&format!("unknown ledger key {}", checkpoint.key_id)))?;
        if !verify_signature(checkpoint, key) {
            return Err(bad("signature does not verify"));
        }
        Ok(())
    }

    /// Completes verification against the stored chain head (if any) and
    /// the balance projection.
    pub fn finish(
        self,
        head_sequence: Option<u64>,
        projection: &[ProjectedBalance],
    ) -> Result<Summary, Problem> {
        let last_sequence = self.next_sequence - 1;
        if let Some((&sequence, _)) = self.pending_checkpoints.iter().next() {
            return Err(Problem::BadCheckpoint {
                sequence,
                reason: format!("signs an entry beyond the last one ({last_sequence})"),
            });
        }
        if head_sequence.unwrap_or(0) != last_sequence {
            return Err(Problem::HeadMismatch {
                head_sequence: head_sequence.unwrap_or(0),
                last_sequence,
            });
        }
        let projected: BTreeMap<&str, &ProjectedBalance> =
            projection.iter().map(|p| (p.account.as_str(), p)).collect();
        for (account, (balance, sequence)) in &self.balances {
            let stored = projected.get(account.as_str());
            if stored.map(|p| p.balance_fen) != Some(*balance) {
                return Err(Problem::ProjectionMismatch {
                    account: account.clone(),
                    projected_fen: stored.map_or(0, |p| p.balance_fen),
                    recomputed_fen: *balance,
                    sequence: *sequence,
                });
            }
        }
        for stored in projection {
            if !self.balances.contains_key(&stored.account) && stored.balance_fen != 0 {
                return Err(Problem::ProjectionMismatch {
                    account: stored.account.clone(),
                    projected_fen: stored.balance_fen,
                    recomputed_fen: 0,
                    sequence: stored.last_sequence,
                });
            }
        }
        let trial: i128 = self.balances.values().map(|(b, _)| i128::from(*b)).sum();
        if trial != 0 {
            return Err(Problem::TrialBalance(trial));
        }
        Ok(Summary {
            entries: last_sequence,
            postings: self.postings,
            checkpoints: self.checkpoint_count,
            head_hash: self.prev_hash,
            accounts: self.balances.len(),
        })
    }

    /// Balances recomputed so far, by account name.
    pub fn balances(&self) -> impl Iterator<Item = (&str, i64)> {
        self.balances
            .iter()
            .map(|(name, (balance, _))| (name.as_str(), *balance))
    }
}

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
use super::derive::PostingRules;
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
    HeadMismatch {
        head_sequence: u64,
        last_sequence: u64,
    },
    #[error("chain head at {sequence}: its {what} is not the last entry's")]
    HeadCorrupt { sequence: u64, what: &'static str },
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
    #[error("entry {sequence}: voucher {reason}")]
    BadVoucher { sequence: u64, reason: String },
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
            | Problem::BadVoucher { sequence, .. }
            | Problem::ProjectionMismatch { sequence, .. }
            | Problem::HeadCorrupt { sequence, .. } => Some(*sequence),
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

/// The stored chain head (`ledger_head`), as `finish` compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHead {
    pub sequence: u64,
    pub hash: Hash32,
    pub recorded_at_us: i64,
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
    /// Issuer keys as the chain activated them, to check every voucher's
    /// signature from the ledger alone.
    issuer_keys: HashMap<String, VerifyingKey>,
    /// The postings each body implies (`super::derive`).
    rules: PostingRules,
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
            issuer_keys: HashMap::new(),
            rules: PostingRules::default(),
        }
    }

    /// Checks the next entry and returns its decoded body (for checks that
    /// follow the entries, like the voucher projections). The first problem
    /// found is returned; after a problem the verifier should not be fed
    /// further.
    pub fn push(&mut self, entry: &Entry) -> Result<EntryBody, Problem> {
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
        let body = EntryBody::decode_canonical(&entry.kind, &entry.body).map_err(|e| {
            Problem::BadBody {
                sequence,
                reason: e.to_string(),
            }
        })?;
        check_balanced(&entry.postings).map_err(|e| Problem::BadPostings {
            sequence,
            reason: e.to_string(),
        })?;
        check_within_programmes(sequence, &entry.postings)?;
        self.rules
            .check(&body, &entry.postings)
            .map_err(|reason| Problem::BadPostings { sequence, reason })?;
        self.check_issuance(entry, &body)?;
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
        Ok(body)
    }

    /// Learns issuer keys from their activation entries, and checks that
    /// every issued voucher's signature verifies under the key the chain had
    /// activated (its token rebuilt from the body and this entry's sequence).
    /// (Its postings — exactly its face value out of the budget — are
    /// checked with every other kind's, by `PostingRules`.)
    fn check_issuance(&mut self, entry: &Entry, body: &EntryBody) -> Result<(), Problem> {
        let sequence = entry.sequence;
        let bad = |reason: String| Problem::BadVoucher { sequence, reason };
        let voucher = match body {
            EntryBody::IssuerKeyActivated(activated) => {
                let bytes: [u8; 32] = activated
                    .public_key
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("issuer key is not 32 bytes".into()))?;
                let key = VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| bad("issuer key is not an Ed25519 key".into()))?;
                if super::checkpoint::key_id_for(&key) != activated.key_id {
                    return Err(bad("issuer key id does not match its key".into()));
                }
                self.issuer_keys.insert(activated.key_id.clone(), key);
                return Ok(());
            }
            EntryBody::VoucherIssued(voucher) | EntryBody::VoucherReissued(voucher) => voucher,
            _ => return Ok(()),
        };
        let claims = super::issued_voucher::claims_of_issue(voucher, sequence)
            .map_err(|reason| bad(reason.to_string()))?;
        let key = self.issuer_keys.get(&voucher.key_id).ok_or_else(|| {
            bad(format!(
                "signed by key {} the chain never activated",
                voucher.key_id
            ))
        })?;
        let signature = voucher
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| bad("signature is not 64 bytes".into()))?;
        if !crate::token::voucher::signature_verifies(&claims, &signature, key) {
            return Err(bad(format!(
                "{} signature does not verify",
                voucher.voucher_id
            )));
        }
        Ok(())
    }

    fn apply(&mut self, sequence: u64, account: &Account, change: i64) -> Result<(), Problem> {
        let name = account.to_string();
        let slot = self.balances.entry(name.clone()).or_insert((0, sequence));
        let balance = slot
            .0
            .checked_add(change)
            .ok_or_else(|| Problem::BadPostings {
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

    fn check_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        entry_hash: &Hash32,
    ) -> Result<(), Problem> {
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

    /// Completes verification against the stored chain head (if any:
    /// its sequence, hash and time must be the last entry's) and the
    /// balance projection.
    pub fn finish(
        self,
        head: Option<StoredHead>,
        projection: &[ProjectedBalance],
    ) -> Result<Summary, Problem> {
        let head_sequence = head.map(|h| h.sequence);
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
        if let Some(head) = head {
            // An empty chain's head is the genesis hash at time 0.
            let last_time = if last_sequence == 0 {
                0
            } else {
                self.prev_recorded_at
            };
            let corrupt = |what| Problem::HeadCorrupt {
                sequence: last_sequence,
                what,
            };
            if head.hash != self.prev_hash {
                return Err(corrupt("hash"));
            }
            if head.recorded_at_us != last_time {
                return Err(corrupt("time"));
            }
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

/// Every entry balances within each programme it touches: money never
/// moves between programmes. With every programme starting at zero, this
/// is what makes `-funding = available + outstanding + payable +
/// payout_pending + paid + lapsed + receivable` hold for each programme at
/// every sequence number, not only at the end.
fn check_within_programmes(
    sequence: u64,
    postings: &[super::posting::Posting],
) -> Result<(), Problem> {
    let mut per_programme: BTreeMap<&str, i128> = BTreeMap::new();
    for posting in postings {
        *per_programme
            .entry(posting.account.programme_code().as_str())
            .or_default() += i128::from(posting.signed_fen());
    }
    match per_programme.into_iter().find(|(_, net)| *net != 0) {
        Some((programme, net)) => Err(Problem::BadPostings {
            sequence,
            reason: format!("move {net} fen into or out of programme {programme}"),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Fen, ProgrammeCode, Timestamp};
    use crate::ledger::account::AccountKind;
    use crate::ledger::body::pb;
    use crate::ledger::checkpoint::KeyPair;
    use crate::ledger::entry::Unsealed;
    use crate::ledger::posting::Posting;

    fn account(kind: AccountKind) -> Account {
        Account::programme(kind, &ProgrammeCode::parse("P1").unwrap()).unwrap()
    }

    /// A chain of `n` entries: a funding of 1,000 fen, then 10-fen moves.
    fn chain(n: u64) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for sequence in 1..=n {
            let (from, to, amount) = if sequence == 1 {
                (
                    AccountKind::ProgrammeFunding,
                    AccountKind::BudgetAvailable,
                    1_000,
                )
            } else {
                (AccountKind::BudgetAvailable, AccountKind::Lapsed, 10)
            };
            let prev = entries.last().map_or(GENESIS_PREV_HASH, |e| e.hash);
            entries.push(
                Unsealed {
                    kind: "journal".into(),
                    body: EntryBody::Journal(pb::Journal {
                        memo: format!("m{sequence}"),
                    })
                    .encode(),
                    actor: "test".into(),
                    recorded_at: Timestamp::from_micros(sequence as i64),
                    idempotency_key: format!("k{sequence}"),
                    command_digest: [0; 32],
                    postings: vec![
                        Posting::debit(account(to), Fen::new(amount)),
                        Posting::credit(account(from), Fen::new(amount)),
                    ],
                }
                .seal(sequence, prev),
            );
        }
        entries
    }

    /// Appends an entry of `body` with `postings` to `entries`.
    fn append(entries: &mut Vec<Entry>, body: EntryBody, postings: Vec<Posting>) {
        let sequence = entries.len() as u64 + 1;
        let prev = entries.last().map_or(GENESIS_PREV_HASH, |e| e.hash);
        let entry = Unsealed {
            kind: body.kind().as_str().into(),
            body: body.encode(),
            actor: "test".into(),
            recorded_at: Timestamp::from_micros(sequence as i64),
            idempotency_key: format!("k{sequence}"),
            command_digest: [0; 32],
            postings,
        }
        .seal(sequence, prev);
        entries.push(entry);
    }

    /// A voucher of 10 fen issued at `sequence`, signed by `signer`.
    fn issued(signer: &KeyPair, sequence: u64) -> pb::VoucherIssued {
        let mut claims = crate::token::fixtures::claims(signer.signing_key(), 10, "管理咨询");
        claims.issued_sequence = sequence;
        // The programme `chain` funds.
        claims.programme_code = "P1".into();
        pb::VoucherIssued {
            voucher_id: claims.voucher_id.to_string(),
            programme_code: claims.programme_code.clone(),
            enterprise_uscc: claims.enterprise_uscc.clone(),
            face_value_fen: 10,
            remaining_fen: 10,
            valid_from: claims.valid_from.to_string(),
            valid_until: claims.valid_until.to_string(),
            service_categories: claims.service_categories.clone(),
            key_id: claims.key_id.clone(),
            signature: crate::token::voucher::signature_of(&claims, signer.signing_key()).to_vec(),
            via: "claim".into(),
            ..pb::VoucherIssued::default()
        }
    }

    #[test]
    fn every_voucher_signature_is_checked_against_the_keys_the_chain_activated() {
        let issuer = KeyPair::generate();
        let reserve = || {
            vec![
                Posting::debit(account(AccountKind::VouchersOutstanding), Fen::new(10)),
                Posting::credit(account(AccountKind::BudgetAvailable), Fen::new(10)),
            ]
        };
        let mut entries = chain(1);
        let activation = EntryBody::IssuerKeyActivated(pb::IssuerKeyActivated {
            key_id: issuer.key_id().into(),
            public_key: issuer.public_key().to_bytes().to_vec(),
            retired_key_id: String::new(),
        });
        append(&mut entries, activation, vec![]);
        append(
            &mut entries,
            EntryBody::VoucherIssued(issued(&issuer, 3)),
            reserve(),
        );
        assert!(run(&entries, &projection(&entries)).is_ok());
        // Signed for another sequence number: the rebuilt token differs.
        let mut wrong = entries.clone();
        wrong.pop();
        append(
            &mut wrong,
            EntryBody::VoucherIssued(issued(&issuer, 9)),
            reserve(),
        );
        let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
        let problem = wrong.iter().find_map(|e| verifier.push(e).err()).unwrap();
        assert!(
            matches!(problem, Problem::BadVoucher { sequence: 3, .. }),
            "{problem}"
        );
        // Signed by a key the chain never activated.
        let stranger = KeyPair::generate();
        let mut foreign = chain(1);
        append(
            &mut foreign,
            EntryBody::VoucherIssued(issued(&stranger, 2)),
            reserve(),
        );
        let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
        let problem = foreign.iter().find_map(|e| verifier.push(e).err()).unwrap();
        assert!(problem.to_string().contains("never activated"), "{problem}");
    }

    fn projection(entries: &[Entry]) -> Vec<ProjectedBalance> {
        let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
        for entry in entries {
            verifier.push(entry).unwrap();
        }
        let last = entries.len() as u64;
        verifier
            .balances()
            .map(|(account, balance_fen)| ProjectedBalance {
                account: account.to_string(),
                balance_fen,
                last_sequence: last,
            })
            .collect()
    }

    fn run(entries: &[Entry], projection: &[ProjectedBalance]) -> Result<Summary, Problem> {
        let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
        for entry in entries {
            verifier.push(entry)?;
        }
        verifier.finish(Some(head_of(entries)), projection)
    }

    /// The head row an honest store holds after `entries`.
    fn head_of(entries: &[Entry]) -> StoredHead {
        entries.last().map_or(
            StoredHead {
                sequence: 0,
                hash: GENESIS_PREV_HASH,
                recorded_at_us: 0,
            },
            |e| StoredHead {
                sequence: e.sequence,
                hash: e.hash,
                recorded_at_us: e.recorded_at.as_micros(),
            },
        )
    }

    /// Re-seals entry `index` after `change`, as a forger with no key would.
    fn forge(entries: &mut [Entry], index: usize, change: impl FnOnce(&mut Entry)) {
        change(&mut entries[index]);
        entries[index].hash = entries[index].compute_hash();
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let entries = chain(6);
        let summary = run(&entries, &projection(&entries)).unwrap();
        assert_eq!(summary.entries, 6);
        assert_eq!(summary.postings, 12);
        assert_eq!(summary.head_hash, entries[5].hash);
    }

    #[test]
    fn a_rehashed_entry_breaks_the_next_link() {
        let mut entries = chain(6);
        let balances = projection(&entries);
        forge(&mut entries, 2, |e| e.actor = "mallory".into());
        assert_eq!(
            run(&entries, &balances),
            Err(Problem::BrokenLink { sequence: 4 })
        );
    }

    #[test]
    fn forged_entries_are_caught_by_their_own_checks() {
        let balances = projection(&chain(6));
        type Forgery = Box<dyn Fn(&mut Entry)>;
        type Expected = fn(&Problem) -> bool;
        let cases: Vec<(Forgery, Expected)> = vec![
            (Box::new(|e| e.postings[0].amount = Fen::new(11)), |p| {
                matches!(p, Problem::BadPostings { sequence: 6, .. })
            }),
            (
                Box::new(|e| e.recorded_at = Timestamp::from_micros(0)),
                |p| matches!(p, Problem::TimeWentBackwards { sequence: 6 }),
            ),
            (Box::new(|e| e.body.push(0)), |p| {
                matches!(p, Problem::BadBody { sequence: 6, .. })
            }),
            (
                Box::new(|e| {
                    e.postings[0].amount = Fen::new(5_000);
                    e.postings[1].amount = Fen::new(5_000);
                }),
                |p| matches!(p, Problem::FloorBroken { sequence: 6, .. }),
            ),
        ];
        for (change, expected) in cases {
            let mut entries = chain(6);
            forge(&mut entries, 5, change);
            let problem = run(&entries, &balances).unwrap_err();
            assert!(expected(&problem), "{problem:?}");
        }
    }

    #[test]
    fn a_gap_names_the_missing_sequence() {
        let mut entries = chain(6);
        entries.remove(3);
        assert_eq!(
            run(&entries, &[]),
            Err(Problem::SequenceGap {
                expected: 4,
                found: 5
            })
        );
    }

    #[test]
    fn a_wrong_projection_or_head_is_caught() {
        let entries = chain(4);
        let mut balances = projection(&entries);
        balances[0].balance_fen += 1;
        assert!(matches!(
            run(&entries, &balances),
            Err(Problem::ProjectionMismatch { .. })
        ));
        let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
        for entry in &entries {
            verifier.push(entry).unwrap();
        }
        let mut head = head_of(&entries);
        head.sequence = 5;
        assert_eq!(
            verifier.finish(Some(head), &projection(&entries)),
            Err(Problem::HeadMismatch {
                head_sequence: 5,
                last_sequence: 4
            })
        );
        // A head with the right sequence but another hash or time.
        let finish_with = |change: fn(&mut StoredHead)| {
            let mut verifier = ChainVerifier::new(Vec::new(), HashMap::new());
            for entry in &entries {
                verifier.push(entry).unwrap();
            }
            let mut head = head_of(&entries);
            change(&mut head);
            verifier.finish(Some(head), &projection(&entries))
        };
        assert!(finish_with(|_| ()).is_ok());
        assert_eq!(
            finish_with(|head| head.hash[0] ^= 1),
            Err(Problem::HeadCorrupt {
                sequence: 4,
                what: "hash"
            })
        );
        assert_eq!(
            finish_with(|head| head.recorded_at_us += 1),
            Err(Problem::HeadCorrupt {
                sequence: 4,
                what: "time"
            })
        );
    }

    #[test]
    fn checkpoints_must_match_the_chain_and_verify() {
        let entries = chain(4);
        let signer = KeyPair::from_secret(&[9; 32]);
        let keys: HashMap<_, _> = [(signer.key_id().to_string(), signer.public_key())].into();
        let good = signer.sign(3, entries[2].hash, Timestamp::from_micros(10));
        let wrong_hash = signer.sign(2, entries[3].hash, Timestamp::from_micros(10));
        let beyond = signer.sign(9, entries[3].hash, Timestamp::from_micros(10));
        let run_with = |checkpoints: Vec<Checkpoint>| {
            let mut verifier = ChainVerifier::new(checkpoints, keys.clone());
            for entry in &entries {
                verifier.push(entry)?;
            }
            verifier.finish(Some(head_of(&entries)), &projection(&entries))
        };
        assert_eq!(run_with(vec![good.clone()]).unwrap().checkpoints, 1);
        assert!(matches!(
            run_with(vec![wrong_hash]),
            Err(Problem::BadCheckpoint { sequence: 2, .. })
        ));
        assert!(matches!(
            run_with(vec![beyond]),
            Err(Problem::BadCheckpoint { sequence: 9, .. })
        ));
        let mut forged = good;
        forged.signed_at = Timestamp::from_micros(11);
        assert!(matches!(
            run_with(vec![forged]),
            Err(Problem::BadCheckpoint { sequence: 3, .. })
        ));
    }
}

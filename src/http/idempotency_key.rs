//! What handlers (and the text rule) need of idempotency, below the
//! middleware that enforces it: the ledger key a request carries, the mark
//! that a response must not be replayed, the replay header, and the fields
//! left out of a request's fingerprint.

/// Set on a response answered from an earlier request with the same key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Body fields that are secrets: left out of the stored fingerprint, which
/// would otherwise be an offline-guessable hash of them (and exempt from
/// the text rule: never stored or shown).
pub(crate) const SECRET_FIELDS: [&str; 3] = ["password", "current_password", "new_password"];

/// The ledger idempotency key for this request: `user:<id>:<client key>`.
#[derive(Debug, Clone)]
pub struct LedgerKey(pub String);

/// Put on a response whose body holds a secret shown once: it is not stored,
/// and a replay gets 409 `idempotency_replay_unavailable` instead.
#[derive(Debug, Clone, Copy)]
pub struct NotReplayable;

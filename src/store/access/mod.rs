//! Storage for identity and access: users, sessions, API tokens and stored
//! HTTP idempotency responses.
//!
//! Writes that matter (a user created, a login, a token issued or revoked)
//! happen only inside the ledger writer's transaction through `AccessTx`,
//! next to the ledger entry that records them. Reads for authenticating a
//! request go through `AccessStore` on the pool.

pub(super) mod sql;

use std::future::Future;

use uuid::Uuid;

use super::StoreError;

/// A `users` row. `password_hash` is an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    pub party_id: Option<Uuid>,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until_us: Option<i64>,
    pub created_at_us: i64,
    /// The person's name as signed on documents; personal data kept in
    /// this row only (never in a ledger entry).
    pub display_name: Option<String>,
}

impl UserRecord {
    /// How documents and pages name this user: the display name when one
    /// was given, otherwise the login name.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("party_id", &self.party_id)
            .field("password_hash", &"[redacted]")
            .field("failed_logins", &self.failed_logins)
            .field("locked_until_us", &self.locked_until_us)
            .finish()
    }
}

/// A `sessions` row; the session secret itself is never stored, only its
/// SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: [u8; 32],
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

/// An `api_tokens` row; the token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_hash: [u8; 32],
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

/// An `api_idempotency` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: [u8; 32],
    /// `None` while the first request is still running.
    pub status: Option<u16>,
    pub response: Option<Vec<u8>>,
    pub created_at_us: i64,
}

/// One change to the idempotency table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyOp {
    /// Claims `(principal, key)` for a first request; changes nothing (false)
    /// if a row exists.
    Claim {
        principal: String,
        key: String,
        fingerprint: [u8; 32],
        now_us: i64,
    },
    /// Stores the response of the request that holds the claim.
    Complete {
        principal: String,
        key: String,
        status: u16,
        response: Vec<u8>,
        now_us: i64,
    },
    /// Gives up a claim whose request failed unexpectedly, so a retry runs again.
    Release { principal: String, key: String },
    /// Takes over a claim left in progress since before `stale_before_us`
    /// (its request died); true if the caller now holds it.
    TakeOver {
        principal: String,
        key: String,
        stale_before_us: i64,
        now_us: i64,
    },
}

/// Bound on users or tokens returned by one list call.
pub const ACCESS_PAGE_MAX: u32 = 200;

/// Reads (and the idempotency bookkeeping) on the pool.
pub trait AccessStore {
    /// Whether an administrator reset the user's password and the user
    /// has not yet chosen their own.
    fn password_reset_pending(
        &self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn user_by_id(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;
    /// Users with `username > after`, in username order, at most `limit`.
    fn users_after(
        &self,
        after: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UserRecord>, StoreError>> + Send;
    fn session_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;
    /// A token and its user, by the token's hash, in one round trip.
    fn token_with_user_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<(TokenRecord, UserRecord)>, StoreError>> + Send;
    fn token_by_id(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;
    fn tokens_of_user(
        &self,
        user_id: Uuid,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    fn idempotency(
        &self,
        principal: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
    /// Applies idempotency bookkeeping in one transaction on the cache
    /// connection (not fsynced: docs/decisions/0005); returns, for each
    /// operation, whether it changed a row.
    fn write_idempotency(
        &self,
        ops: &[IdempotencyOp],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;
    /// Deletes sessions that expired or were revoked before `before_us`
    /// (the ledger keeps the login and logout events); returns how many.
    fn purge_sessions(
        &self,
        before_us: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Forgets keys created before `before_us` (retention); returns how many.
    fn purge_idempotency(
        &self,
        before_us: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Access rows read and written inside the writer's transaction.
pub trait AccessTx {
    /// Marks (`pending`) or clears the user's password reset.
    fn set_password_reset(
        &mut self,
        user_id: Uuid,
        pending: bool,
        now_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn user_by_id(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;
    fn username_taken(
        &mut self,
        username: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn insert_user(
        &mut self,
        user: &UserRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn set_password_hash(
        &mut self,
        id: Uuid,
        hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn set_login_state(
        &mut self,
        id: Uuid,
        failed_logins: i64,
        locked_until_us: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_session(
        &mut self,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Revokes an active session; `false` if none was active.
    fn revoke_session(
        &mut self,
        hash: &[u8; 32],
        now_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Revokes every active session and API token of a user (after a
    /// password change: whoever knew the old password may have made them).
    fn revoke_credentials_of(
        &mut self,
        user_id: Uuid,
        now_us: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_token(
        &mut self,
        token: &TokenRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn token_by_id(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;
    /// Revokes an unrevoked token; `false` if it was already revoked.
    fn revoke_token(
        &mut self,
        id: Uuid,
        now_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

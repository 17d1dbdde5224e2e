//! The access family: users, logins, sessions and API tokens. Secrets
//! reach these commands only as hashes, and the hashes stay out of the
//! ledger bodies (a reference of 8 bytes at most) and out of digests.

mod decide;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::{Draft, InvalidCommand, ToDraft, check_text};
use crate::domain::{Redacted, Role, Username};
use crate::ledger::body::{EntryBody, pb};

/// Longest API token name, in bytes.
pub const TOKEN_NAME_LEN_MAX: usize = 100;
/// Longest API token lifetime.
pub const TOKEN_TTL_DAYS_MAX: u32 = 366;

/// Add a user. The password was hashed (argon2id) before submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateUser {
    /// Generated per request: not part of what was asked.
    #[serde(skip)]
    pub user_id: Uuid,
    /// Personal data (a login is often a person's name): sealed under the
    /// user's own key in the entry and, like the contact, left out of the
    /// digest (docs/personal-data.md; decision 0017).
    #[serde(skip)]
    pub username: Username,
    pub role: Role,
    pub party_id: Option<Uuid>,
    /// The person's name for documents and pages. Personal data: it goes
    /// to the `users` row only, neither into the entry body nor (skipped
    /// here) into the command digest, which the chain holds.
    #[serde(skip)]
    pub display_name: Option<String>,
    #[serde(skip)]
    pub password_hash: Redacted<String>,
}

/// Longest display name, in characters (the migration checks the same).
pub const DISPLAY_NAME_CHARS_MAX: usize = 50;

impl ToDraft for CreateUser {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        if self.role.needs_party() != self.party_id.is_some() {
            return Err(InvalidCommand::PartyMismatch);
        }
        if let Some(name) = &self.display_name {
            // Callers trim; four bytes per character bound the bytes.
            check_text("display_name", name, 4 * DISPLAY_NAME_CHARS_MAX, true)?;
            if name.chars().count() > DISPLAY_NAME_CHARS_MAX {
                return Err(InvalidCommand::TooLong {
                    field: "display_name",
                    max: DISPLAY_NAME_CHARS_MAX,
                });
            }
        }
        Ok(Draft::without_postings(EntryBody::UserCreated(
            pb::UserCreated {
                user_id: self.user_id.to_string(),
                // Sealed under the lock (`decide`).
                username: String::new(),
                role: self.role.as_str().to_string(),
                party_id: self.party_id.map(|p| p.to_string()).unwrap_or_default(),
            },
        )))
    }
}

/// Replace a user's password hash; ends the user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangePassword {
    pub user_id: Uuid,
    #[serde(skip)]
    pub password_hash: Redacted<String>,
    /// An administrator's reset: the user must change it at next login.
    pub reset: bool,
}

impl ToDraft for ChangePassword {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::PasswordChanged(
            pb::PasswordChanged {
                user_id: self.user_id.to_string(),
                reset: self.reset,
            },
        )))
    }
}

/// Record a login attempt whose password was checked against
/// `verified_hash` (outside the writer: hashing is slow). Under the lock,
/// the writer refuses if the hash changed meanwhile or the account is
/// locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordLogin {
    pub user_id: Uuid,
    #[serde(skip)]
    pub verified_hash: Redacted<String>,
    /// In the digest as whether it succeeded: the session secret is
    /// generated per request.
    #[serde(serialize_with = "succeeded")]
    pub outcome: LoginOutcome,
}

fn succeeded<S: Serializer>(outcome: &LoginOutcome, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(matches!(outcome, LoginOutcome::Succeeded { .. }))
}

impl ToDraft for RecordLogin {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        let user_id = self.user_id.to_string();
        Ok(Draft::without_postings(match &self.outcome {
            LoginOutcome::Succeeded { session_hash, .. } => {
                EntryBody::LoginSucceeded(pb::LoginSucceeded {
                    user_id,
                    session_ref: secret_ref(session_hash.expose()),
                })
            }
            // The counts are filled in under the lock (`decide.rs`).
            LoginOutcome::Failed => EntryBody::LoginFailed(pb::LoginFailed {
                user_id,
                failed_logins: 0,
                locked_until_us: 0,
            }),
        }))
    }
}

/// What a checked password said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Open a session with this secret's hash and CSRF token.
    Succeeded {
        session_hash: Redacted<[u8; 32]>,
        csrf_token: Redacted<String>,
        ttl_seconds: i64,
    },
    Failed,
}

/// Logout: revoke one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndSession {
    pub user_id: Uuid,
    /// Which session: in the digest by its reference (a retry names the
    /// same session).
    #[serde(serialize_with = "hash_ref")]
    pub session_hash: Redacted<[u8; 32]>,
}

fn hash_ref<S: Serializer>(hash: &Redacted<[u8; 32]>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::ledger::entry::to_hex(hash.expose()))
}

impl ToDraft for EndSession {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::SessionEnded(
            pb::SessionEnded {
                user_id: self.user_id.to_string(),
                session_ref: secret_ref(self.session_hash.expose()),
            },
        )))
    }
}

/// Issue an API token (its secret was generated by the caller; only its
/// SHA-256 is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateApiToken {
    #[serde(skip)]
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub token_hash: Redacted<[u8; 32]>,
    #[serde(skip)]
    pub prefix: String,
    pub ttl_days: u32,
}

impl ToDraft for CreateApiToken {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        check_text("name", &self.name, TOKEN_NAME_LEN_MAX, true)?;
        if !(1..=TOKEN_TTL_DAYS_MAX).contains(&self.ttl_days) {
            return Err(InvalidCommand::TokenLifetime);
        }
        Ok(Draft::without_postings(EntryBody::ApiTokenCreated(
            pb::ApiTokenCreated {
                token_id: self.token_id.to_string(),
                user_id: self.user_id.to_string(),
                name: self.name.clone(),
                // Set from the entry's own time under the lock.
                expires_at_us: 0,
            },
        )))
    }
}

/// Revoke one of a user's API tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokeApiToken {
    pub token_id: Uuid,
    pub user_id: Uuid,
}

impl ToDraft for RevokeApiToken {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        Ok(Draft::without_postings(EntryBody::ApiTokenRevoked(
            pb::ApiTokenRevoked {
                token_id: self.token_id.to_string(),
                user_id: self.user_id.to_string(),
            },
        )))
    }
}

/// The first 8 bytes of a secret's SHA-256, in hex: a reference for the
/// ledger that cannot be used to authenticate.
pub fn secret_ref(hash: &[u8; 32]) -> String {
    crate::ledger::entry::to_hex(&hash[..8])
}

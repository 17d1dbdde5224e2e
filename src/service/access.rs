//! Identity use cases: users, logins, sessions, API tokens.
//!
//! Passwords are hashed with argon2id on a blocking thread (it is slow on
//! purpose) and never inside the ledger writer. Session and API token
//! secrets are 32 random bytes shown once; only their SHA-256 is stored.
//! Every change is a ledger command, so the ledger records who did what.

use crate::service::commands::{
    ChangePassword, CreateApiToken, CreateUser, EndSession, RecordLogin, RevokeApiToken,
};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::UseCaseError;
use crate::domain::{Password, Principal, Redacted, Role, Timestamp, Username};
use crate::ledger::entry::to_hex;
use crate::store::access::{TokenRecord, UserRecord};
use crate::store::{Store, StoreError};

use super::commands::{Command, Envelope, LoginOutcome, Submission};
use super::engine::{CommandError, WriterHandle};

/// How long a web session lasts (absolute, from login).
pub const SESSION_TTL_SECONDS: i64 = 12 * 3600;
/// Prefixes that make leaked secrets recognisable (e.g. by secret scanners).
pub const SESSION_PREFIX: &str = "vls_";
pub const TOKEN_PREFIX: &str = "vlt_";

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Wrong username or password (deliberately not saying which).
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("the account is locked after repeated failed logins")]
    AccountLocked { until: Timestamp },
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("password hashing failed")]
    Hashing,
    /// A retried token request: the token exists, and its secret was shown
    /// only to the first request.
    #[error("this request already issued a token; its secret was shown once")]
    TokenAlreadyIssued,
    /// A provider or enterprise user's party is not a registered provider
    /// or enterprise (of the kind the role needs).
    #[error("no registered {kind} has that id or USCC")]
    PartyUnknown { kind: &'static str },
}

/// The kind of party a role's users work for.
fn party_kind(role: Role) -> &'static str {
    if role == Role::Provider {
        "provider"
    } else {
        "enterprise"
    }
}

/// The id of the registered party that `text` names for a user of `role`:
/// its id, or its USCC (the CLI and the admin page accept both). An
/// enterprise user's party is an enterprise, a provider user's a provider.
pub async fn resolve_party<S: Store>(
    store: &S,
    role: Role,
    text: &str,
) -> Result<Uuid, AccessError> {
    let text = text.trim();
    let unknown = AccessError::PartyUnknown {
        kind: party_kind(role),
    };
    let id = match (Uuid::parse_str(text), role) {
        (Ok(id), _) => Some(id),
        (Err(_), Role::Provider) => store.provider_by_uscc(text).await?.map(|p| p.id),
        (Err(_), _) => store.enterprise_by_uscc(text).await?.map(|e| e.id),
    };
    let id = id.ok_or(unknown)?;
    check_party(store, role, Some(id)).await?;
    Ok(id)
}

/// Refuses a party that is not a registered party of the kind `role`
/// needs (an enterprise user bound to a provider's id, or to nothing).
pub async fn check_party<S: Store>(
    store: &S,
    role: Role,
    party_id: Option<Uuid>,
) -> Result<(), AccessError> {
    let Some(id) = party_id else {
        return Ok(());
    };
    let exists = match role {
        Role::Provider => store.provider_by_id(id).await?.is_some(),
        Role::Enterprise => store.enterprise_by_id(id).await?.is_some(),
        _ => false,
    };
    if exists {
        Ok(())
    } else {
        Err(AccessError::PartyUnknown {
            kind: party_kind(role),
        })
    }
}

/// A fresh secret: the text handed to the client once, and its SHA-256.
pub struct Secret {
    pub text: Redacted<String>,
    pub hash: [u8; 32],
}

impl Secret {
    pub fn generate(prefix: &str) -> Secret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let text = format!("{prefix}{}", to_hex(&bytes));
        let hash = hash_secret(&text);
        Secret {
            text: Redacted::new(text),
            hash,
        }
    }
}

pub fn hash_secret(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), on a blocking thread.
pub async fn hash_password(password: &Password) -> Result<Redacted<String>, AccessError> {
    let plain = password.expose().to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(plain.as_bytes(), &salt)
            .map(|hash| Redacted::new(hash.to_string()))
            .map_err(|_| AccessError::Hashing)
    })
    .await
    .map_err(|_| AccessError::Hashing)?
}

async fn verify_password(hash: String, password: &Password) -> bool {
    let plain = password.expose().to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(plain.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash of a password nobody has, checked when the username is unknown so
/// that a wrong username costs as much time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy password that matches nothing", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

pub fn principal_of(user: &UserRecord, token_id: Option<Uuid>) -> Option<Principal> {
    Some(Principal {
        user_id: user.id,
        username: Username::parse(&user.username).ok()?,
        role: Role::parse(&user.role)?,
        party_id: user.party_id,
        token_id,
    })
}

/// What a successful login hands the client (once).
pub struct LoginGrant {
    pub principal: Principal,
    pub session: Secret,
    pub csrf_token: Redacted<String>,
    pub expires_at: Timestamp,
}

/// Checks a password and opens a session; records the attempt (for an
/// existing user) in the ledger either way.
pub async fn login<S: Store>(
    store: &S,
    writer: &WriterHandle,
    username: &str,
    password: &Password,
) -> Result<LoginGrant, AccessError> {
    let user = store.user_by_username(username).await?;
    let Some(user) = user else {
        let _ = verify_password(decoy_hash().to_string(), password).await;
        return Err(AccessError::InvalidCredentials);
    };
    // The password is checked whatever the account's state, so an unknown
    // user, a wrong password and a locked account cost the same time; and
    // a lock is told only to someone who knows the password, so it never
    // reveals that a username exists (docs/access.md "Lockout").
    let verified = verify_password(user.password_hash.clone(), password).await;
    let now = Timestamp::now();
    if let Some(until) = user
        .locked_until_us
        .filter(|until| *until > now.as_micros())
    {
        return Err(if verified {
            AccessError::AccountLocked {
                until: Timestamp::from_micros(until),
            }
        } else {
            AccessError::InvalidCredentials
        });
    }
    let principal = principal_of(&user, None).ok_or(AccessError::InvalidCredentials)?;
    let session = Secret::generate(SESSION_PREFIX);
    let csrf_token = Redacted::new(to_hex(&Secret::generate("").hash));
    let outcome = if verified {
        LoginOutcome::Succeeded {
            session_hash: Redacted::new(session.hash),
            csrf_token: csrf_token.clone(),
            ttl_seconds: SESSION_TTL_SECONDS,
        }
    } else {
        LoginOutcome::Failed
    };
    let submission = Submission {
        actor: principal.actor(),
        // Each attempt is its own event.
        idempotency_key: format!("login:{}", Uuid::now_v7()),
        command: Command::RecordLogin(RecordLogin {
            user_id: user.id,
            verified_hash: Redacted::new(user.password_hash.clone()),
            outcome,
        }),
    };
    match writer.submit(submission).await {
        Ok(receipt) if verified => Ok(LoginGrant {
            principal,
            session,
            csrf_token,
            expires_at: Timestamp::from_micros(
                receipt.recorded_at.as_micros() + SESSION_TTL_SECONDS * 1_000_000,
            ),
        }),
        Ok(_) => Err(AccessError::InvalidCredentials),
        Err(CommandError::AccountLocked { until_us }) if verified => {
            Err(AccessError::AccountLocked {
                until: Timestamp::from_micros(until_us),
            })
        }
        Err(CommandError::AccountLocked { .. }) => Err(AccessError::InvalidCredentials),
        Err(CommandError::CredentialsChanged) => Err(AccessError::InvalidCredentials),
        Err(other) => Err(other.into()),
    }
}

/// The principal behind a session secret, with the session's CSRF token,
/// if the session exists, is not revoked or expired, and its user exists.
pub async fn authenticate_session<S: Store>(
    store: &S,
    secret: &str,
) -> Result<Option<(Principal, Redacted<String>, [u8; 32])>, AccessError> {
    let hash = hash_secret(secret);
    let Some(session) = store.session_by_hash(&hash).await? else {
        return Ok(None);
    };
    let now = Timestamp::now().as_micros();
    if session.revoked_at_us.is_some() || session.expires_at_us <= now {
        return Ok(None);
    }
    let Some(user) = store.user_by_id(session.user_id).await? else {
        return Ok(None);
    };
    Ok(principal_of(&user, None).map(|p| (p, Redacted::new(session.csrf_token), hash)))
}

/// The principal behind an API token and when the token expires (µs),
/// if it is live. `hash` is `hash_secret` of the presented token.
pub async fn live_token<S: Store>(
    store: &S,
    hash: &[u8; 32],
) -> Result<Option<(Principal, i64)>, AccessError> {
    let Some((token, user)) = store.token_with_user_by_hash(hash).await? else {
        return Ok(None);
    };
    if token.revoked_at_us.is_some() || token.expires_at_us <= Timestamp::now().as_micros() {
        return Ok(None);
    }
    Ok(principal_of(&user, Some(token.id)).map(|principal| (principal, token.expires_at_us)))
}

/// Who a new user is: everything asked for except the password.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub role: Role,
    pub party_id: Option<Uuid>,
    /// The person's name for documents (编制人, 审核人); trimmed, and an
    /// empty one is none.
    pub display_name: Option<String>,
}

/// Creates a user (the CLI bootstrap and the admin API both come here).
/// A retry of the same request returns the user it created the first time.
pub async fn create_user<S: Store>(
    store: &S,
    writer: &WriterHandle,
    by: Envelope,
    user: NewUser,
    password: &Password,
) -> Result<Uuid, AccessError> {
    let NewUser {
        username,
        role,
        party_id,
        display_name,
    } = user;
    check_party(store, role, party_id).await?;
    let user_id = Uuid::now_v7();
    let password_hash = hash_password(password).await?;
    let display_name = display_name
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());
    let receipt = writer
        .submit(by.submission(CreateUser {
            user_id,
            username: username.clone(),
            role,
            party_id,
            display_name,
            password_hash,
        }))
        .await?;
    if receipt.replayed {
        let existing = store.user_by_username(username.as_str()).await?;
        return existing
            .map(|user| user.id)
            .ok_or(AccessError::Command(CommandError::NotFound));
    }
    Ok(user_id)
}

/// Changes the caller's password after checking the current one; ends all
/// of the caller's sessions.
pub async fn change_password<S: Store>(
    store: &S,
    writer: &WriterHandle,
    principal: &Principal,
    idempotency_key: String,
    current: &Password,
    new: &Password,
) -> Result<(), AccessError> {
    let user = store
        .user_by_id(principal.user_id)
        .await?
        .ok_or(AccessError::InvalidCredentials)?;
    if !verify_password(user.password_hash, current).await {
        return Err(AccessError::InvalidCredentials);
    }
    let password_hash = hash_password(new).await?;
    writer
        .submit(Submission {
            actor: principal.actor(),
            idempotency_key,
            command: Command::ChangePassword(ChangePassword {
                user_id: principal.user_id,
                password_hash,
                reset: false,
            }),
        })
        .await?;
    Ok(())
}

/// An administrator sets `user_id`'s password to `new`: the user's
/// sessions and API tokens end, and the user must choose their own at the
/// next login (`password_resets`).
pub async fn reset_password<S: Store>(
    store: &S,
    writer: &WriterHandle,
    by: crate::service::commands::Envelope,
    user_id: Uuid,
    new: &Password,
) -> Result<(), AccessError> {
    if store.user_by_id(user_id).await?.is_none() {
        return Err(AccessError::Command(CommandError::NotFound));
    }
    let password_hash = hash_password(new).await?;
    writer
        .submit(by.submission(ChangePassword {
            user_id,
            password_hash,
            reset: true,
        }))
        .await?;
    Ok(())
}

/// What a token-only user holds instead of a password hash: not a PHC
/// string, so no password ever verifies against it.
pub const TOKEN_ONLY_PASSWORD_HASH: &str = "unused: token-only user";

/// Adds a user who signs in only with API tokens (machines, benchmarks):
/// no password is hashed and none will ever match. Returns the user as
/// recorded (on a retry, the user the first call created).
pub async fn create_token_user<S: Store>(
    store: &S,
    writer: &WriterHandle,
    by: Envelope,
    username: Username,
    role: Role,
    party_id: Option<Uuid>,
) -> Result<UserRecord, UseCaseError> {
    writer
        .submit(by.submission(CreateUser {
            user_id: Uuid::now_v7(),
            username: username.clone(),
            role,
            party_id,
            display_name: None,
            password_hash: Redacted::new(TOKEN_ONLY_PASSWORD_HASH.into()),
        }))
        .await?;
    store
        .user_by_username(username.as_str())
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!("user {username} was recorded but not found")).into()
        })
}

/// Logs out: ends the session whose secret hashes to `session_hash`.
pub async fn end_session(
    writer: &WriterHandle,
    principal: &Principal,
    idempotency_key: String,
    session_hash: [u8; 32],
) -> Result<(), CommandError> {
    let by = Envelope::new(principal.actor(), idempotency_key);
    let command = EndSession {
        user_id: principal.user_id,
        session_hash: Redacted::new(session_hash),
    };
    writer.submit(by.submission(command)).await.map(drop)
}

/// Revokes one of the caller's own API tokens.
pub async fn revoke_token(
    writer: &WriterHandle,
    principal: &Principal,
    idempotency_key: String,
    token_id: Uuid,
) -> Result<(), CommandError> {
    let by = Envelope::new(principal.actor(), idempotency_key);
    let command = RevokeApiToken {
        token_id,
        user_id: principal.user_id,
    };
    writer.submit(by.submission(command)).await.map(drop)
}

/// Issues an API token for the caller; the secret is returned once.
pub async fn create_token(
    writer: &WriterHandle,
    principal: &Principal,
    idempotency_key: String,
    name: String,
    ttl_days: u32,
) -> Result<(TokenRecord, Secret), AccessError> {
    let secret = Secret::generate(TOKEN_PREFIX);
    let token_id = Uuid::now_v7();
    let prefix: String = secret
        .text
        .expose()
        .chars()
        .take(TOKEN_PREFIX.len() + 6)
        .collect();
    let receipt = writer
        .submit(Submission {
            actor: principal.actor(),
            idempotency_key,
            command: Command::CreateApiToken(CreateApiToken {
                token_id,
                user_id: principal.user_id,
                name: name.clone(),
                token_hash: Redacted::new(secret.hash),
                prefix: prefix.clone(),
                ttl_days,
            }),
        })
        .await?;
    if receipt.replayed {
        return Err(AccessError::TokenAlreadyIssued);
    }
    let created_at_us = receipt.recorded_at.as_micros();
    let record = TokenRecord {
        id: token_id,
        user_id: principal.user_id,
        name,
        token_hash: secret.hash,
        prefix,
        created_at_us,
        expires_at_us: created_at_us + i64::from(ttl_days) * 86_400 * 1_000_000,
        revoked_at_us: None,
    };
    Ok((record, secret))
}

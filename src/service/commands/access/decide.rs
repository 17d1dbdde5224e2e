//! Access commands under the lock: users, logins (lockout), sessions and
//! API tokens.

use crate::ledger::body::{EntryBody, pb};
use crate::store::WriteTx;
use crate::store::access::{SessionRecord, TokenRecord, UserRecord};

use super::super::Draft;
use super::{
    ChangePassword, CreateApiToken, CreateUser, EndSession, LoginOutcome, RecordLogin,
    RevokeApiToken,
};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::CommandError;

/// Consecutive failed logins that lock an account.
pub const LOCKOUT_THRESHOLD: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MICROS: i64 = 15 * 60 * 1_000_000;

impl Decide for CreateUser {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if tx.username_taken(self.username.as_str()).await? {
            return Err(CommandError::UsernameTaken.into());
        }
        let subject = crate::service::commands::personal::user_subject(self.user_id);
        let sealed = crate::service::commands::personal::sealed(
            tx,
            at,
            &subject,
            "username",
            Some(self.username.as_str()),
        )
        .await?
        .expect("a username is never empty");
        let EntryBody::UserCreated(mut body) = draft.body else {
            unreachable!("a new user drafts user_created");
        };
        body.username = sealed;
        tx.insert_user(&UserRecord {
            id: self.user_id,
            username: self.username.to_string(),
            role: self.role.as_str().to_string(),
            party_id: self.party_id,
            password_hash: self.password_hash.expose().clone(),
            failed_logins: 0,
            locked_until_us: None,
            created_at_us: at.now_us(),
            display_name: self.display_name.clone(),
        })
        .await?;
        Ok(Decided::new(EntryBody::UserCreated(body), checked))
    }
}

impl Decide for ChangePassword {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if tx.user_by_id(self.user_id).await?.is_none() {
            return Err(CommandError::NotFound.into());
        }
        tx.set_password_hash(self.user_id, self.password_hash.expose())
            .await?;
        tx.set_password_reset(self.user_id, self.reset, at.now_us())
            .await?;
        tx.revoke_credentials_of(self.user_id, at.now_us()).await?;
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for RecordLogin {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let now_us = at.now_us();
        let user = tx
            .user_by_id(self.user_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        if let Some(until) = user.locked_until_us.filter(|until| *until > now_us) {
            return Err(CommandError::AccountLocked { until_us: until }.into());
        }
        if user.password_hash != *self.verified_hash.expose() {
            // The password changed while this attempt was being checked.
            return Err(CommandError::CredentialsChanged.into());
        }
        match &self.outcome {
            LoginOutcome::Succeeded {
                session_hash,
                csrf_token,
                ttl_seconds,
            } => {
                tx.set_login_state(self.user_id, 0, None).await?;
                tx.insert_session(&SessionRecord {
                    token_hash: *session_hash.expose(),
                    user_id: self.user_id,
                    csrf_token: csrf_token.expose().clone(),
                    created_at_us: now_us,
                    expires_at_us: now_us + ttl_seconds * 1_000_000,
                    revoked_at_us: None,
                })
                .await?;
                Ok(Decided::new(draft.body, checked))
            }
            LoginOutcome::Failed => {
                let failed_logins = user.failed_logins + 1;
                let locked_until_us =
                    (failed_logins >= LOCKOUT_THRESHOLD).then_some(now_us + LOCKOUT_MICROS);
                // A lock starts a fresh count for when it expires.
                let stored_count = if locked_until_us.is_some() {
                    0
                } else {
                    failed_logins
                };
                tx.set_login_state(self.user_id, stored_count, locked_until_us)
                    .await?;
                let body = EntryBody::LoginFailed(pb::LoginFailed {
                    user_id: self.user_id.to_string(),
                    failed_logins,
                    locked_until_us: locked_until_us.unwrap_or(0),
                });
                Ok(Decided::new(body, checked))
            }
        }
    }
}

impl Decide for EndSession {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if !tx
            .revoke_session(self.session_hash.expose(), at.now_us())
            .await?
        {
            return Err(CommandError::NotFound.into());
        }
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for CreateApiToken {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if tx.user_by_id(self.user_id).await?.is_none() {
            return Err(CommandError::NotFound.into());
        }
        let now_us = at.now_us();
        let expires_at_us = now_us + i64::from(self.ttl_days) * 86_400 * 1_000_000;
        tx.insert_token(&TokenRecord {
            id: self.token_id,
            user_id: self.user_id,
            name: self.name.clone(),
            token_hash: *self.token_hash.expose(),
            prefix: self.prefix.clone(),
            created_at_us: now_us,
            expires_at_us,
            revoked_at_us: None,
        })
        .await?;
        let body = EntryBody::ApiTokenCreated(pb::ApiTokenCreated {
            token_id: self.token_id.to_string(),
            user_id: self.user_id.to_string(),
            name: self.name.clone(),
            expires_at_us,
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for RevokeApiToken {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let token = tx.token_by_id(self.token_id).await?;
        if token.is_none_or(|t| t.user_id != self.user_id)
            || !tx.revoke_token(self.token_id, at.now_us()).await?
        {
            return Err(CommandError::NotFound.into());
        }
        Ok(Decided::new(draft.body, checked))
    }
}

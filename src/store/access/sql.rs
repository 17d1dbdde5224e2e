//! Portable SQL for `AccessStore` and `AccessTx`, instantiated for each
//! backend by `impl_access_store!` (the same pattern as `shared_impl.rs`).

use uuid::Uuid;

use crate::store::StoreError;
use crate::store::access::{IdempotencyRecord, SessionRecord, TokenRecord, UserRecord};

pub const USER_COLUMNS: &str = "id, username, role, party_id, password_hash, failed_logins, \
     locked_until_us, created_at_us, display_name";
pub const SESSION_COLUMNS: &str =
    "token_hash, user_id, csrf_token, created_at_us, expires_at_us, revoked_at_us";
pub const TOKEN_COLUMNS: &str =
    "id, user_id, name, token_hash, prefix, created_at_us, expires_at_us, revoked_at_us";

pub type UserRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i32,
    Option<i64>,
    i64,
    Option<String>,
);
pub type SessionRow = (Vec<u8>, String, String, i64, i64, Option<i64>);
pub type TokenRow = (
    String,
    String,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<i64>,
);
/// A token row joined with its user's row. The token's `user_id` is not
/// selected (it is the user's `id`), which keeps the tuple within the 16
/// columns sqlx decodes.
pub type TokenUserRow = (
    String,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    String,
    i32,
    Option<i64>,
    i64,
    Option<String>,
);

/// The token columns of the join: `TOKEN_COLUMNS` without `user_id`.
const JOINED_TOKEN_COLUMNS: &str =
    "id, name, token_hash, prefix, created_at_us, expires_at_us, revoked_at_us";

/// `SELECT` of a token and its user by the token's hash, in one round trip.
pub fn select_token_with_user() -> String {
    let qualified = |table: &str, columns: &str| {
        columns
            .split(", ")
            .map(|column| format!("{table}.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {}, {} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        qualified("t", JOINED_TOKEN_COLUMNS),
        qualified("u", USER_COLUMNS)
    )
}

/// Splits a joined row into the token and the user.
pub fn token_with_user(row: TokenUserRow) -> Result<(TokenRecord, UserRecord), StoreError> {
    let (t0, t2, t3, t4, t5, t6, t7, u0, u1, u2, u3, u4, u5, u6, u7, u8) = row;
    Ok((
        token((t0, u0.clone(), t2, t3, t4, t5, t6, t7))?,
        user((u0, u1, u2, u3, u4, u5, u6, u7, u8))?,
    ))
}

pub type IdempotencyRow = (Vec<u8>, Option<i32>, Option<Vec<u8>>, i64);

fn uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|_| StoreError::Corrupt(format!("{what} is not a UUID: {text:?}")))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

pub fn user(row: UserRow) -> Result<UserRecord, StoreError> {
    let (
        id,
        username,
        role,
        party_id,
        password_hash,
        failed_logins,
        locked_until_us,
        created_at_us,
        display_name,
    ) = row;
    Ok(UserRecord {
        id: uuid(&id, "user id")?,
        username,
        role,
        party_id: party_id
            .as_deref()
            .map(|p| uuid(p, "party id"))
            .transpose()?,
        password_hash,
        failed_logins: i64::from(failed_logins),
        locked_until_us,
        created_at_us,
        display_name,
    })
}

pub fn session(row: SessionRow) -> Result<SessionRecord, StoreError> {
    let (token_hash, user_id, csrf_token, created_at_us, expires_at_us, revoked_at_us) = row;
    Ok(SessionRecord {
        token_hash: hash32(token_hash, "session hash")?,
        user_id: uuid(&user_id, "session user")?,
        csrf_token,
        created_at_us,
        expires_at_us,
        revoked_at_us,
    })
}

pub fn token(row: TokenRow) -> Result<TokenRecord, StoreError> {
    let (id, user_id, name, token_hash, prefix, created_at_us, expires_at_us, revoked_at_us) = row;
    Ok(TokenRecord {
        id: uuid(&id, "token id")?,
        user_id: uuid(&user_id, "token user")?,
        name,
        token_hash: hash32(token_hash, "token hash")?,
        prefix,
        created_at_us,
        expires_at_us,
        revoked_at_us,
    })
}

pub fn idempotency(row: IdempotencyRow) -> Result<IdempotencyRecord, StoreError> {
    let (fingerprint, status, response, created_at_us) = row;
    Ok(IdempotencyRecord {
        fingerprint: hash32(fingerprint, "fingerprint")?,
        status: status.map(|s| u16::try_from(s).unwrap_or(500)),
        response,
        created_at_us,
    })
}

/// Implements `AccessStore` for `$store` (field `pool`) and `AccessTx` for
/// `$tx` (field `tx`); needs a module function `map_err`.
macro_rules! impl_access_store {
    ($store:ident, $tx:ident) => {
        impl $crate::store::access::AccessStore for $store {
            async fn password_reset_pending(
                &self,
                user_id: uuid::Uuid,
            ) -> Result<bool, $crate::store::StoreError> {
                let (count,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM password_resets WHERE user_id = $1")
                        .bind(user_id.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map_err)?;
                Ok(count > 0)
            }

            async fn user_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::access::UserRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &self.pool, "users", sql::USER_COLUMNS, "id", id.to_string(), sql::UserRow, sql::user
                )
            }

            async fn user_by_username(
                &self,
                username: &str,
            ) -> Result<Option<$crate::store::access::UserRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &self.pool, "users", sql::USER_COLUMNS, "username", username, sql::UserRow, sql::user
                )
            }

            async fn users_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::access::UserRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                let query = format!(
                    "SELECT {} FROM users WHERE username > $1 ORDER BY username LIMIT $2",
                    sql::USER_COLUMNS
                );
                let rows: Vec<sql::UserRow> = sqlx::query_as(&query)
                    .bind(after)
                    .bind(i64::from(limit.clamp(1, $crate::store::access::ACCESS_PAGE_MAX)))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::user).collect()
            }

            async fn session_by_hash(
                &self,
                hash: &[u8; 32],
            ) -> Result<Option<$crate::store::access::SessionRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &self.pool, "sessions", sql::SESSION_COLUMNS, "token_hash", hash.as_slice(), sql::SessionRow, sql::session
                )
            }

            async fn token_with_user_by_hash(
                &self,
                hash: &[u8; 32],
            ) -> Result<
                Option<($crate::store::access::TokenRecord, $crate::store::access::UserRecord)>,
                $crate::store::StoreError,
            > {
                use $crate::store::access::sql as sql;
                let row: Option<sql::TokenUserRow> = sqlx::query_as(&sql::select_token_with_user())
                    .bind(hash.as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(sql::token_with_user).transpose()
            }

            async fn token_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::access::TokenRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &self.pool, "api_tokens", sql::TOKEN_COLUMNS, "id", id.to_string(), sql::TokenRow, sql::token
                )
            }

            async fn tokens_of_user(
                &self,
                user_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::access::TokenRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                let query = format!(
                    "SELECT {} FROM api_tokens WHERE user_id = $1 ORDER BY created_at_us, id LIMIT $2",
                    sql::TOKEN_COLUMNS
                );
                let rows: Vec<sql::TokenRow> = sqlx::query_as(&query)
                    .bind(user_id.to_string())
                    .bind(i64::from($crate::store::access::ACCESS_PAGE_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::token).collect()
            }

            async fn idempotency(
                &self,
                principal: &str,
                key: &str,
            ) -> Result<Option<$crate::store::access::IdempotencyRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                let row: Option<sql::IdempotencyRow> = sqlx::query_as(
                    "SELECT fingerprint, status, response, created_at_us FROM api_idempotency \
                     WHERE principal = $1 AND idempotency_key = $2",
                )
                .bind(principal)
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                row.map(sql::idempotency).transpose()
            }

            async fn write_idempotency(
                &self,
                ops: &[$crate::store::access::IdempotencyOp],
            ) -> Result<Vec<bool>, $crate::store::StoreError> {
                use $crate::store::access::IdempotencyOp as Op;
                let mut tx = self.cache_pool.begin().await.map_err(map_err)?;
                let mut changed = Vec::with_capacity(ops.len());
                for op in ops {
                    let query = match op {
                        Op::Claim { principal, key, fingerprint, now_us } => sqlx::query(
                            "INSERT INTO api_idempotency (principal, idempotency_key, fingerprint, created_at_us) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (principal, idempotency_key) DO NOTHING",
                        )
                        .bind(principal.as_str())
                        .bind(key.as_str())
                        .bind(fingerprint.to_vec())
                        .bind(*now_us),
                        Op::Complete { principal, key, status, response, now_us } => sqlx::query(
                            "UPDATE api_idempotency SET status = $3, response = $4, completed_at_us = $5 \
                             WHERE principal = $1 AND idempotency_key = $2 AND status IS NULL",
                        )
                        .bind(principal.as_str())
                        .bind(key.as_str())
                        .bind(i32::from(*status))
                        .bind(response.clone())
                        .bind(*now_us),
                        Op::Release { principal, key } => sqlx::query(
                            "DELETE FROM api_idempotency WHERE principal = $1 AND idempotency_key = $2 \
                             AND status IS NULL",
                        )
                        .bind(principal.as_str())
                        .bind(key.as_str()),
                        Op::TakeOver { principal, key, stale_before_us, now_us } => sqlx::query(
                            "UPDATE api_idempotency SET created_at_us = $4 WHERE principal = $1 \
                             AND idempotency_key = $2 AND status IS NULL AND created_at_us < $3",
                        )
                        .bind(principal.as_str())
                        .bind(key.as_str())
                        .bind(*stale_before_us)
                        .bind(*now_us),
                    };
                    let result = query.execute(&mut *tx).await.map_err(map_err)?;
                    changed.push(result.rows_affected() == 1);
                }
                tx.commit().await.map_err(map_err)?;
                Ok(changed)
            }

            async fn purge_sessions(&self, before_us: i64) -> Result<u64, $crate::store::StoreError> {
                let result = sqlx::query(
                    "DELETE FROM sessions WHERE expires_at_us < $1 OR revoked_at_us < $1",
                )
                .bind(before_us)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
                Ok(result.rows_affected())
            }

            async fn purge_idempotency(&self, before_us: i64) -> Result<u64, $crate::store::StoreError> {
                let result = sqlx::query("DELETE FROM api_idempotency WHERE created_at_us < $1")
                    .bind(before_us)
                    .execute(&self.cache_pool)
                    .await
                    .map_err(map_err)?;
                Ok(result.rows_affected())
            }
        }

        impl $crate::store::access::AccessTx for $tx {
            async fn set_password_reset(
                &mut self,
                user_id: uuid::Uuid,
                pending: bool,
                now_us: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                    .bind(user_id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                if pending {
                    sqlx::query("INSERT INTO password_resets (user_id, reset_at_us) VALUES ($1, $2)")
                        .bind(user_id.to_string())
                        .bind(now_us)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn user_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::access::UserRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &mut *self.tx, "users", sql::USER_COLUMNS, "id", id.to_string(), sql::UserRow, sql::user
                )
            }

            async fn username_taken(&mut self, username: &str) -> Result<bool, $crate::store::StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(row.is_some())
            }

            async fn insert_user(
                &mut self,
                user: &$crate::store::access::UserRecord,
            ) -> Result<(), $crate::store::StoreError> {
                let query = format!(
                    "INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    $crate::store::access::sql::USER_COLUMNS
                );
                sqlx::query(&query)
                    .bind(user.id.to_string())
                    .bind(user.username.as_str())
                    .bind(user.role.as_str())
                    .bind(user.party_id.map(|p| p.to_string()))
                    .bind(user.password_hash.as_str())
                    .bind(user.failed_logins as i32)
                    .bind(user.locked_until_us)
                    .bind(user.created_at_us)
                    .bind(user.display_name.as_deref())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn set_password_hash(&mut self, id: uuid::Uuid, hash: &str) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn set_login_state(
                &mut self,
                id: uuid::Uuid,
                failed_logins: i64,
                locked_until_us: Option<i64>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE users SET failed_logins = $2, locked_until_us = $3 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(failed_logins as i32)
                    .bind(locked_until_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_session(
                &mut self,
                session: &$crate::store::access::SessionRecord,
            ) -> Result<(), $crate::store::StoreError> {
                let query = format!(
                    "INSERT INTO sessions ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                    $crate::store::access::sql::SESSION_COLUMNS
                );
                sqlx::query(&query)
                    .bind(session.token_hash.as_slice())
                    .bind(session.user_id.to_string())
                    .bind(session.csrf_token.as_str())
                    .bind(session.created_at_us)
                    .bind(session.expires_at_us)
                    .bind(session.revoked_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn revoke_session(&mut self, hash: &[u8; 32], now_us: i64) -> Result<bool, $crate::store::StoreError> {
                let result = sqlx::query(
                    "UPDATE sessions SET revoked_at_us = $2 WHERE token_hash = $1 AND revoked_at_us IS NULL",
                )
                .bind(hash.as_slice())
                .bind(now_us)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn revoke_credentials_of(&mut self, user_id: uuid::Uuid, now_us: i64) -> Result<(), $crate::store::StoreError> {
                for table in ["sessions", "api_tokens"] {
                    sqlx::query(&format!(
                        "UPDATE {table} SET revoked_at_us = $2 WHERE user_id = $1 AND revoked_at_us IS NULL"
                    ))
                    .bind(user_id.to_string())
                    .bind(now_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                }
                Ok(())
            }

            async fn insert_token(
                &mut self,
                token: &$crate::store::access::TokenRecord,
            ) -> Result<(), $crate::store::StoreError> {
                let query = format!(
                    "INSERT INTO api_tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    $crate::store::access::sql::TOKEN_COLUMNS
                );
                sqlx::query(&query)
                    .bind(token.id.to_string())
                    .bind(token.user_id.to_string())
                    .bind(token.name.as_str())
                    .bind(token.token_hash.as_slice())
                    .bind(token.prefix.as_str())
                    .bind(token.created_at_us)
                    .bind(token.expires_at_us)
                    .bind(token.revoked_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn token_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::access::TokenRecord>, $crate::store::StoreError> {
                use $crate::store::access::sql as sql;
                $crate::store::shared::row_where!(
                    &mut *self.tx, "api_tokens", sql::TOKEN_COLUMNS, "id", id.to_string(), sql::TokenRow, sql::token
                )
            }

            async fn revoke_token(&mut self, id: uuid::Uuid, now_us: i64) -> Result<bool, $crate::store::StoreError> {
                let result =
                    sqlx::query("UPDATE api_tokens SET revoked_at_us = $2 WHERE id = $1 AND revoked_at_us IS NULL")
                        .bind(id.to_string())
                        .bind(now_us)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                Ok(result.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_access_store;

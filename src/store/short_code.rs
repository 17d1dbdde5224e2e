//! Storage for the short codes under rotating QR codes: code →
//! presentation for the presentation's minute, taken by the first provider
//! that types it. Written through the pool (not ledger data); rows are
//! purged `PURGE_AFTER_US` after they expire, so the table holds about a
//! few minutes of presentations.

use std::future::Future;

use uuid::Uuid;

use super::StoreError;

/// How long after its expiry a code's row is kept.
pub const PURGE_AFTER_US: i64 = 10 * 60 * 1_000_000;

pub trait ShortCodeStore {
    /// Records `code` for `presentation` until `expires_at_us` (and drops
    /// rows long expired); `false` if the code is taken by a live one.
    fn save_short_code(
        &self,
        code: &str,
        voucher_id: Uuid,
        presentation: &str,
        expires_at_us: i64,
        now_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The presentation behind `code` for `provider_id`: unexpired, and
    /// untaken (then taken by this provider) or taken by this provider
    /// already; `None` otherwise.
    fn take_short_code(
        &self,
        code: &str,
        provider_id: Uuid,
        now_us: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

pub(crate) const PURGE: &str = "DELETE FROM short_codes WHERE expires_at_us < $1";
pub(crate) const INSERT: &str = "INSERT INTO short_codes (code, voucher_id, presentation, \
     expires_at_us) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING";
pub(crate) const TAKE: &str = "UPDATE short_codes SET used_by = $2 WHERE code = $1 \
     AND expires_at_us > $3 AND (used_by IS NULL OR used_by = $2) RETURNING presentation";

/// Implements `ShortCodeStore` for `$store` (field `pool`); needs a module
/// function `map_err`.
macro_rules! impl_short_code_store {
    ($store:ident) => {
        impl $crate::store::short_code::ShortCodeStore for $store {
            async fn save_short_code(
                &self,
                code: &str,
                voucher_id: uuid::Uuid,
                presentation: &str,
                expires_at_us: i64,
                now_us: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::short_code as sql;
                sqlx::query(sql::PURGE)
                    .bind(now_us - sql::PURGE_AFTER_US)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                let inserted = sqlx::query(sql::INSERT)
                    .bind(code)
                    .bind(voucher_id.to_string())
                    .bind(presentation)
                    .bind(expires_at_us)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                Ok(inserted == 1)
            }

            async fn take_short_code(
                &self,
                code: &str,
                provider_id: uuid::Uuid,
                now_us: i64,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                let row: Option<(String,)> = sqlx::query_as($crate::store::short_code::TAKE)
                    .bind(code)
                    .bind(provider_id.to_string())
                    .bind(now_us)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(|(presentation,)| presentation))
            }
        }
    };
}
pub(crate) use impl_short_code_store;

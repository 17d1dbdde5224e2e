//! Portable SQL for `OfflineStore` and `OfflineTx`, instantiated per
//! backend by `impl_offline_store!`.

use crate::store::StoreError;
use crate::store::offline::{
    BindingRecord, DeviceRecord, ListedVoucher, StatusListRecord, VoucherNow,
};
use crate::store::shared::{to_u64, uuid};

pub type BindingRow = (String, i64, String, Vec<u8>, Vec<u8>, i64, i64);
pub type DeviceRow = (String, String, String, Vec<u8>, String, i64, i64);
pub type ListRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    i64,
);
pub type ListedRow = (String, i64, String, i64, i64);
pub type VoucherNowRow = (String, String, i64, i64, i64);

const BINDING_COLUMNS: &str = "voucher_id, binding_number, algorithm, public_key, certificate, \
     bound_at_us, bound_sequence";
const DEVICE_COLUMNS: &str = "id, provider_id, algorithm, public_key, label, registered_at_us, \
     registered_sequence";
const LIST_COLUMNS: &str = "number, full_list, from_sequence, to_sequence, published_at_us, \
     digest, signature, key_id, body, published_sequence";
pub const ACCEPTANCE_COLUMNS: &str = "presentation_nonce, id, device_id, record_number, \
     record_digest, provider_id, voucher_id, programme_code, enterprise_id, list_number, \
     accepted_at_us, service_category, contract_number, contract_amount_fen, claimed_fen, \
     paid_fen, conflict_fen, conflict_reason, synced_sequence, synced_at_us";

pub fn select_binding_of() -> String {
    format!(
        "SELECT {BINDING_COLUMNS} FROM holder_bindings WHERE voucher_id = $1 \
         ORDER BY binding_number LIMIT 1000"
    )
}
pub fn select_bindings_after() -> String {
    format!(
        "SELECT {BINDING_COLUMNS} FROM holder_bindings WHERE bound_sequence > $1 \
         ORDER BY bound_sequence LIMIT $2"
    )
}
pub const INSERT_BINDING: &str = "INSERT INTO holder_bindings (voucher_id, binding_number, \
     algorithm, public_key, certificate, bound_at_us, bound_sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub fn select_device() -> String {
    format!("SELECT {DEVICE_COLUMNS} FROM offline_devices WHERE id = $1")
}
pub fn select_devices_of() -> String {
    format!(
        "SELECT {DEVICE_COLUMNS} FROM offline_devices WHERE provider_id = $1 \
         ORDER BY registered_sequence LIMIT $2"
    )
}
pub fn select_devices_after() -> String {
    format!(
        "SELECT {DEVICE_COLUMNS} FROM offline_devices WHERE registered_sequence > $1 \
         ORDER BY registered_sequence LIMIT $2"
    )
}
pub const COUNT_DEVICES_OF: &str = "SELECT COUNT(*) FROM offline_devices WHERE provider_id = $1";
pub const INSERT_DEVICE: &str = "INSERT INTO offline_devices (id, provider_id, algorithm, \
     public_key, label, registered_at_us, registered_sequence) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub fn select_lists_after() -> String {
    format!("SELECT {LIST_COLUMNS} FROM status_lists WHERE number > $1 ORDER BY number LIMIT $2")
}
pub fn select_latest_list() -> String {
    format!("SELECT {LIST_COLUMNS} FROM status_lists ORDER BY number DESC LIMIT 1")
}
pub fn select_list() -> String {
    format!("SELECT {LIST_COLUMNS} FROM status_lists WHERE number = $1")
}
pub const SELECT_LATEST_FULL: &str = "SELECT MAX(number) FROM status_lists WHERE full_list = 1";
pub const INSERT_LIST: &str = "INSERT INTO status_lists (number, full_list, from_sequence, \
     to_sequence, published_at_us, digest, signature, key_id, body, published_sequence) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const INSERT_LISTED: &str = "INSERT INTO status_list_vouchers (voucher_id, list_number, \
     status, remaining_fen, binding_number) VALUES ($1, $2, $3, $4, $5)";
pub const SELECT_LISTED_OF: &str = "SELECT voucher_id, list_number, status, remaining_fen, \
     binding_number FROM status_list_vouchers WHERE list_number = $1 ORDER BY voucher_id";
pub const SELECT_LISTED_AS_OF: &str = "SELECT voucher_id, list_number, status, remaining_fen, \
     binding_number FROM status_list_vouchers WHERE voucher_id = $1 AND list_number <= $2 \
     ORDER BY list_number DESC LIMIT 1";

/// A voucher's newest binding number (0: none), as a column.
const NEWEST_BINDING: &str = "COALESCE((SELECT MAX(b.binding_number) FROM holder_bindings b \
     WHERE b.voucher_id = v.id), 0)";
/// Not as issued: used, ended, or changed since (a reversal that gave all
/// the value back still changed it).
const NOT_FRESH: &str = "NOT (v.status = 'active' AND v.remaining_fen = v.face_value_fen \
     AND v.updated_at_us = v.issued_at_us)";

pub fn select_vouchers_changed_since() -> String {
    format!(
        "SELECT v.id, v.status, v.remaining_fen, v.face_value_fen, {NEWEST_BINDING} \
         FROM vouchers v WHERE v.updated_at_us >= $1 AND {NOT_FRESH} \
         UNION SELECT v.id, v.status, v.remaining_fen, v.face_value_fen, {NEWEST_BINDING} \
         FROM vouchers v WHERE v.id IN (SELECT voucher_id FROM holder_bindings \
         WHERE binding_number > 1 AND bound_at_us >= $1) LIMIT $2"
    )
}
pub fn select_vouchers_not_fresh() -> String {
    format!(
        "SELECT v.id, v.status, v.remaining_fen, v.face_value_fen, {NEWEST_BINDING} \
         FROM vouchers v WHERE {NOT_FRESH} \
         UNION SELECT v.id, v.status, v.remaining_fen, v.face_value_fen, {NEWEST_BINDING} \
         FROM vouchers v WHERE v.id IN (SELECT voucher_id FROM holder_bindings \
         WHERE binding_number > 1) LIMIT $1"
    )
}
pub const SELECT_NOT_APPROVED: &str =
    "SELECT id, status FROM providers WHERE status <> 'approved' ORDER BY id";
pub const SELECT_BLACKLISTED_PROVIDERS: &str = "SELECT DISTINCT party_id FROM blacklist \
     WHERE party_kind = 'provider' AND effective_from <= $1 \
     AND (effective_until IS NULL OR effective_until >= $1) ORDER BY party_id";
pub const SELECT_REVOKED_KEYS: &str =
    "SELECT key_id FROM issuer_keys WHERE status = 'revoked' ORDER BY key_id";
pub const SELECT_OPEN_PROGRAMMES: &str =
    "SELECT code, terms_json FROM programmes WHERE status = 'open' ORDER BY code";

pub const SELECT_DEVICE_USE: &str = "SELECT COUNT(*), \
     CAST(COALESCE(SUM(claimed_fen), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN voucher_id = $3 THEN claimed_fen ELSE 0 END), 0) AS BIGINT) \
     FROM offline_acceptances WHERE device_id = $1 AND list_number = $2";
pub const SELECT_NONCE_USED: &str =
    "SELECT COUNT(*) FROM offline_acceptances WHERE presentation_nonce = $1";
pub const SELECT_RECORD_SYNCED: &str =
    "SELECT COUNT(*) FROM offline_acceptances WHERE device_id = $1 AND record_number = $2";
pub const INSERT_ACCEPTANCE: &str = "INSERT INTO offline_acceptances (presentation_nonce, id, \
     device_id, record_number, record_digest, provider_id, voucher_id, programme_code, \
     enterprise_id, list_number, accepted_at_us, service_category, contract_number, \
     contract_amount_fen, claimed_fen, paid_fen, conflict_fen, conflict_reason, \
     synced_sequence, synced_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
     $13, $14, $15, $16, $17, $18, $19, $20)";
pub fn select_acceptance_of_record() -> String {
    format!(
        "SELECT {ACCEPTANCE_COLUMNS} FROM offline_acceptances \
         WHERE device_id = $1 AND record_number = $2"
    )
}
pub fn select_acceptances_after() -> String {
    format!(
        "SELECT {ACCEPTANCE_COLUMNS} FROM offline_acceptances WHERE synced_sequence > $1 \
         ORDER BY synced_sequence LIMIT $2"
    )
}
/// Acceptances newest first; the filters are optional (NULL: any).
pub fn select_acceptances() -> String {
    format!(
        "SELECT {ACCEPTANCE_COLUMNS} FROM offline_acceptances WHERE synced_sequence < $1 \
         AND ($2 = '' OR provider_id = $2) AND ($3 = '' OR enterprise_id = $3) \
         AND ($4 = '' OR voucher_id = $4) AND ($5 = 0 OR conflict_fen > 0) \
         ORDER BY synced_sequence DESC LIMIT $6"
    )
}

pub fn binding(row: BindingRow) -> Result<BindingRecord, StoreError> {
    let (voucher_id, number, algorithm, public_key, certificate, bound_at_us, sequence) = row;
    Ok(BindingRecord {
        voucher_id: uuid(&voucher_id)?,
        binding_number: u32::try_from(number)
            .map_err(|_| StoreError::Corrupt(format!("binding number {number}")))?,
        algorithm,
        public_key,
        certificate,
        bound_at_us,
        bound_sequence: to_u64(sequence, "binding sequence")?,
    })
}

pub fn device(row: DeviceRow) -> Result<DeviceRecord, StoreError> {
    let (id, provider_id, algorithm, public_key, label, registered_at_us, sequence) = row;
    Ok(DeviceRecord {
        id: uuid(&id)?,
        provider_id: uuid(&provider_id)?,
        algorithm,
        public_key,
        label,
        registered_at_us,
        registered_sequence: to_u64(sequence, "device sequence")?,
    })
}

pub fn list(row: ListRow) -> Result<StatusListRecord, StoreError> {
    let (number, full, from, to, published_at_us, digest, signature, key_id, body, sequence) = row;
    Ok(StatusListRecord {
        number: to_u64(number, "list number")?,
        full: full == 1,
        from_sequence: to_u64(from, "list from")?,
        to_sequence: to_u64(to, "list to")?,
        published_at_us,
        digest,
        signature,
        key_id,
        body,
        published_sequence: to_u64(sequence, "list sequence")?,
    })
}

pub fn listed(row: ListedRow) -> Result<ListedVoucher, StoreError> {
    let (voucher_id, list_number, status, remaining_fen, binding) = row;
    Ok(ListedVoucher {
        voucher_id: uuid(&voucher_id)?,
        list_number: to_u64(list_number, "list number")?,
        status,
        remaining_fen,
        binding_number: u32::try_from(binding)
            .map_err(|_| StoreError::Corrupt(format!("binding number {binding}")))?,
    })
}

pub fn voucher_now(row: VoucherNowRow) -> Result<VoucherNow, StoreError> {
    let (id, status, remaining_fen, face_value_fen, binding) = row;
    Ok(VoucherNow {
        id: uuid(&id)?,
        status,
        remaining_fen,
        face_value_fen,
        binding_number: u32::try_from(binding)
            .map_err(|_| StoreError::Corrupt(format!("binding number {binding}")))?,
    })
}

/// Reads an `offline_acceptances` row (columns in `ACCEPTANCE_COLUMNS`
/// order).
macro_rules! acceptance_from_row {
    ($row:expr) => {{
        use sqlx::Row;
        let row = $row;
        let get_err = |e: sqlx::Error| $crate::store::StoreError::Corrupt(e.to_string());
        let text = |i: usize| -> Result<String, $crate::store::StoreError> {
            row.try_get::<String, _>(i).map_err(get_err)
        };
        let int = |i: usize| -> Result<i64, $crate::store::StoreError> {
            row.try_get::<i64, _>(i).map_err(get_err)
        };
        let id = |i: usize| -> Result<uuid::Uuid, $crate::store::StoreError> {
            $crate::store::shared::uuid(&text(i)?)
        };
        let seq = |i: usize, what: &str| $crate::store::shared::to_u64(int(i)?, what);
        Ok::<_, $crate::store::StoreError>($crate::store::offline::AcceptanceRecord {
            presentation_nonce: text(0)?,
            id: id(1)?,
            device_id: id(2)?,
            record_number: seq(3, "record number")?,
            record_digest: row.try_get::<Vec<u8>, _>(4).map_err(get_err)?,
            provider_id: id(5)?,
            voucher_id: id(6)?,
            programme_code: text(7)?,
            enterprise_id: id(8)?,
            list_number: seq(9, "list number")?,
            accepted_at_us: int(10)?,
            service_category: text(11)?,
            contract_number: text(12)?,
            contract_amount_fen: int(13)?,
            claimed_fen: int(14)?,
            paid_fen: int(15)?,
            conflict_fen: int(16)?,
            conflict_reason: row.try_get::<Option<String>, _>(17).map_err(get_err)?,
            synced_sequence: seq(18, "synced sequence")?,
            synced_at_us: int(19)?,
        })
    }};
}
pub(crate) use acceptance_from_row;

/// Implements `OfflineStore` for `$store` (field `pool`); `OfflineTx` is
/// `tx_sql::impl_offline_tx!`'s. Needs a module function `map_err`.
macro_rules! impl_offline_store {
    ($store:ident, $tx:ident, $db:ident) => {
        impl $crate::store::offline::OfflineStore for $store {
            async fn offline_device(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::offline::DeviceRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::DeviceRow> = sqlx::query_as(&sql::select_device())
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(sql::device).transpose()
            }

            async fn offline_devices_of(
                &self,
                provider_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::offline::DeviceRecord>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::DeviceRow> = sqlx::query_as(&sql::select_devices_of())
                    .bind(provider_id.to_string())
                    .bind(i64::from($crate::store::offline::DEVICES_PER_PROVIDER_MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::device).collect()
            }

            async fn holder_bindings_of(
                &self,
                voucher_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::offline::BindingRecord>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::BindingRow> = sqlx::query_as(&sql::select_binding_of())
                    .bind(voucher_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::binding).collect()
            }

            async fn status_lists_after(
                &self,
                after: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::offline::StatusListRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let limit = limit.clamp(1, $crate::store::offline::OFFLINE_PAGE_MAX);
                let rows: Vec<sql::ListRow> = sqlx::query_as(&sql::select_lists_after())
                    .bind($crate::store::shared::to_i64(after))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::list).collect()
            }

            async fn latest_status_list(
                &self,
            ) -> Result<Option<$crate::store::offline::StatusListRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::ListRow> = sqlx::query_as(&sql::select_latest_list())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(sql::list).transpose()
            }

            async fn latest_full_status_list(
                &self,
            ) -> Result<Option<u64>, $crate::store::StoreError> {
                let (number,): (Option<i64>,) =
                    sqlx::query_as($crate::store::offline::sql::SELECT_LATEST_FULL)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map_err)?;
                number
                    .map(|n| $crate::store::shared::to_u64(n, "list number"))
                    .transpose()
            }

            async fn listed_vouchers_of(
                &self,
                list_number: u64,
            ) -> Result<Vec<$crate::store::offline::ListedVoucher>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::ListedRow> = sqlx::query_as(sql::SELECT_LISTED_OF)
                    .bind($crate::store::shared::to_i64(list_number))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::listed).collect()
            }

            async fn acceptance_of_record(
                &self,
                device_id: uuid::Uuid,
                record_number: u64,
            ) -> Result<Option<$crate::store::offline::AcceptanceRecord>, $crate::store::StoreError>
            {
                let row = sqlx::query(&$crate::store::offline::sql::select_acceptance_of_record())
                    .bind(device_id.to_string())
                    .bind($crate::store::shared::to_i64(record_number))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(|row| $crate::store::offline::sql::acceptance_from_row!(&row))
                    .transpose()
            }

            async fn acceptances(
                &self,
                filter: $crate::store::offline::AcceptanceFilter,
                before_sequence: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::offline::AcceptanceRecord>, $crate::store::StoreError>
            {
                let limit = limit.clamp(1, $crate::store::offline::OFFLINE_PAGE_MAX);
                let text = |id: Option<uuid::Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
                let rows = sqlx::query(&$crate::store::offline::sql::select_acceptances())
                    .bind($crate::store::shared::to_i64(before_sequence))
                    .bind(text(filter.provider))
                    .bind(text(filter.enterprise))
                    .bind(text(filter.voucher))
                    .bind(i64::from(filter.conflicts_only))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|row| $crate::store::offline::sql::acceptance_from_row!(row))
                    .collect()
            }

            async fn holder_bindings_after(
                &self,
                after_sequence: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::offline::BindingRecord>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let limit = limit.clamp(1, $crate::store::offline::OFFLINE_PAGE_MAX);
                let rows: Vec<sql::BindingRow> = sqlx::query_as(&sql::select_bindings_after())
                    .bind($crate::store::shared::to_i64(after_sequence))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::binding).collect()
            }

            async fn offline_devices_after(
                &self,
                after_sequence: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::offline::DeviceRecord>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let limit = limit.clamp(1, $crate::store::offline::OFFLINE_PAGE_MAX);
                let rows: Vec<sql::DeviceRow> = sqlx::query_as(&sql::select_devices_after())
                    .bind($crate::store::shared::to_i64(after_sequence))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::device).collect()
            }

            async fn acceptances_after(
                &self,
                after_sequence: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::offline::AcceptanceRecord>, $crate::store::StoreError>
            {
                let limit = limit.clamp(1, $crate::store::offline::OFFLINE_PAGE_MAX);
                let rows = sqlx::query(&$crate::store::offline::sql::select_acceptances_after())
                    .bind($crate::store::shared::to_i64(after_sequence))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|row| $crate::store::offline::sql::acceptance_from_row!(row))
                    .collect()
            }
        }
    };
}
pub(crate) use impl_offline_store;

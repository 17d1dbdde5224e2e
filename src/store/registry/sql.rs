//! Portable SQL for `RegistryStore` and `RegistryTx`, instantiated per
//! backend by `impl_registry_store!`.

use crate::domain::key_status::KeyStatus;
use crate::domain::programme::ProgrammeStatus;
use crate::domain::provider::{ProviderFields, ProviderStatus};
use crate::domain::{DivisionCode, SizeClass};
use crate::store::StoreError;
use crate::store::registry::{BlacklistRecord, EnterpriseRecord, TagRecord};
use crate::store::shared::{status, uuid};

pub const ENTERPRISE_COLUMNS: &str = "id, uscc, uscc_override, name, division, zone, sector, staff, \
     revenue_fen, size_class, size_standard, contact, version, created_at_us, updated_at_us, \
     legal_representative";

pub type EnterpriseRow = (
    String,
    String,
    i32,
    String,
    String,
    Option<String>,
    String,
    i32,
    i64,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    Option<String>,
);
pub const PROGRAMME_COLUMNS: &str =
    "code, status, terms_json, version, created_at_us, updated_at_us";
pub type ProgrammeRow = (String, String, String, i64, i64, i64);

pub fn programme(row: ProgrammeRow) -> Result<crate::store::registry::ProgrammeRecord, StoreError> {
    let (code, stored_status, terms_json, version, created_at_us, updated_at_us) = row;
    Ok(crate::store::registry::ProgrammeRecord {
        status: status(
            ProgrammeStatus::parse,
            &stored_status,
            format_args!("programme {code}"),
        )?,
        terms: serde_json::from_str(&terms_json)
            .map_err(|error| StoreError::Corrupt(format!("terms of programme {code}: {error}")))?,
        code: crate::store::shared::programme_code(&code)?,
        version,
        created_at_us,
        updated_at_us,
    })
}

pub const PROVIDER_COLUMNS: &str =
    "id, uscc, name, status, fields_json, annual_cap_fen, version, created_at_us, updated_at_us";
pub type ProviderRow = (String, String, String, String, String, i64, i64, i64, i64);

/// A provider's fields as stored: canonical JSON (serde's field order).
pub fn fields_json(fields: &ProviderFields) -> String {
    serde_json::to_string(fields).expect("provider fields always serialise")
}

pub fn provider(row: ProviderRow) -> Result<crate::store::registry::ProviderRecord, StoreError> {
    let (
        id,
        uscc,
        name,
        stored_status,
        fields_json,
        annual_cap_fen,
        version,
        created_at_us,
        updated_at_us,
    ) = row;
    Ok(crate::store::registry::ProviderRecord {
        status: status(
            ProviderStatus::parse,
            &stored_status,
            format_args!("provider {id}"),
        )?,
        id: uuid(&id)?,
        uscc,
        name,
        fields: serde_json::from_str(&fields_json)
            .map_err(|_| StoreError::Corrupt(format!("fields of provider {id}")))?,
        annual_cap_fen,
        version,
        created_at_us,
        updated_at_us,
    })
}

pub const ISSUER_KEY_COLUMNS: &str =
    "key_id, public_key, status, activated_at_us, retired_at_us, revoked_at_us, revoke_reason";
pub type IssuerKeyRow = (
    String,
    Vec<u8>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

pub fn issuer_key(
    row: IssuerKeyRow,
) -> Result<crate::store::registry::IssuerKeyRecord, StoreError> {
    let (
        key_id,
        public_key,
        stored_status,
        activated_at_us,
        retired_at_us,
        revoked_at_us,
        revoke_reason,
    ) = row;
    Ok(crate::store::registry::IssuerKeyRecord {
        public_key: <[u8; 32]>::try_from(public_key)
            .ok()
            .and_then(|bytes| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("issuer key {key_id} is not Ed25519")))?,
        status: status(
            KeyStatus::parse,
            &stored_status,
            format_args!("issuer key {key_id}"),
        )?,
        key_id,
        activated_at_us,
        retired_at_us,
        revoked_at_us,
        revoke_reason,
    })
}

pub const SELECT_TAGS_OF: &str = "SELECT enterprise_id, tag, valid_from, valid_until, source FROM enterprise_tags \
     WHERE enterprise_id = $1 ORDER BY tag, valid_from";
pub const SELECT_BLACKLIST_OF: &str = "SELECT id, party_kind, party_id, reason, source, effective_from, effective_until \
     FROM blacklist WHERE party_kind = $1 AND party_id = $2 ORDER BY effective_from, id";

/// A tag or a blacklist entry, from one query: (kind, party id, tag or
/// reason, from, until, source, blacklist id, party kind).
pub type TagOrBlacklistRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);

/// The two halves of a tags-and-blacklist query for many enterprises, as
/// `TagOrBlacklistRow`s; each backend appends its own list condition
/// (`= ANY($1)` or an IN list) and joins them with UNION ALL.
pub const TAGS_WHERE_ENTERPRISE_ID: &str = "SELECT 'tag', enterprise_id, tag, valid_from, \
     valid_until, source, '', '' FROM enterprise_tags WHERE enterprise_id";
pub const BLACKLIST_WHERE_ENTERPRISE_ID: &str = "SELECT 'blacklist', party_id, reason, \
     effective_from, effective_until, source, id, party_kind FROM blacklist \
     WHERE party_kind = 'enterprise' AND party_id";

/// Splits the rows of a tags-and-blacklist query by kind.
pub fn split_tags_and_blacklist(
    rows: Vec<TagOrBlacklistRow>,
) -> Result<(Vec<TagRecord>, Vec<BlacklistRecord>), StoreError> {
    let (mut tags, mut entries) = (Vec::new(), Vec::new());
    for (kind, party, text, from, until, source, id, party_kind) in rows {
        if kind == "tag" {
            tags.push(tag((party, text, from, until, source))?);
        } else {
            entries.push(blacklist((
                id, party_kind, party, text, source, from, until,
            ))?);
        }
    }
    Ok((tags, entries))
}

pub type TagRow = (String, String, String, Option<String>, String);
pub type BlacklistRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

pub fn enterprise(row: EnterpriseRow) -> Result<EnterpriseRecord, StoreError> {
    let (
        id,
        uscc,
        uscc_override,
        name,
        division,
        zone,
        sector,
        staff,
        revenue_fen,
        size_class,
        size_standard,
        contact,
        version,
        created_at_us,
        updated_at_us,
        legal_representative,
    ) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("enterprise {id}: {what}"));
    Ok(EnterpriseRecord {
        division: DivisionCode::parse(&division).map_err(|_| corrupt("division"))?,
        size_class: SizeClass::parse(&size_class).ok_or_else(|| corrupt("size class"))?,
        id: uuid(&id)?,
        uscc,
        uscc_override: uscc_override != 0,
        name,
        zone,
        sector,
        staff: i64::from(staff),
        revenue_fen,
        size_standard,
        contact,
        legal_representative,
        version,
        created_at_us,
        updated_at_us,
    })
}

pub fn tag(row: TagRow) -> Result<TagRecord, StoreError> {
    let (enterprise_id, tag, valid_from, valid_until, source) = row;
    Ok(TagRecord {
        enterprise_id: uuid(&enterprise_id)?,
        tag,
        valid_from,
        valid_until,
        source,
    })
}

pub fn blacklist(row: BlacklistRow) -> Result<BlacklistRecord, StoreError> {
    let (id, party_kind, party_id, reason, source, effective_from, effective_until) = row;
    Ok(BlacklistRecord {
        id: uuid(&id)?,
        party_kind,
        party_id: uuid(&party_id)?,
        reason,
        source,
        effective_from,
        effective_until,
    })
}

/// Rows of `$prefix` followed by an IN list of `$values` (in chunks far
/// below either backend's bind-parameter limit), each converted by
/// `$convert`. Expands inside the store impls (needs `map_err`).
macro_rules! rows_in {
    ($executor:expr, $row:ty, $prefix:expr, $values:expr, $convert:expr) => {{
        let mut found = Vec::new();
        for chunk in $values.chunks(400) {
            let mut builder = sqlx::QueryBuilder::new(AsRef::<str>::as_ref(&$prefix).to_string());
            builder.push_tuples(chunk, |mut row, value| {
                row.push_bind(value.clone());
            });
            let rows: Vec<$row> = builder
                .build_query_as()
                .fetch_all($executor)
                .await
                .map_err(map_err)?;
            for row in rows {
                found.push($convert(row)?);
            }
        }
        found
    }};
}
pub(crate) use rows_in;

/// One keyset page of a registry table: rows whose `$key` (USCC or code)
/// sorts after `$after`, in that order, at most `$limit` (clamped to
/// `REGISTRY_PAGE_MAX`). Expands inside the store impls (needs `map_err`).
macro_rules! registry_page {
    ($pool:expr, $row:ty, $table:literal, $key:literal, $columns:expr, $after:expr, $limit:expr) => {{
        let query = format!(
            concat!(
                "SELECT {} FROM ",
                $table,
                " WHERE ",
                $key,
                " > $1 ORDER BY ",
                $key,
                " LIMIT $2"
            ),
            $columns
        );
        let rows: Vec<$row> = sqlx::query_as(&query)
            .bind($after)
            .bind(i64::from(
                $limit.clamp(1, $crate::store::registry::REGISTRY_PAGE_MAX),
            ))
            .fetch_all($pool)
            .await
            .map_err(map_err)?;
        rows
    }};
}
pub(crate) use registry_page;

//! `impl_registry_store!`: `RegistryStore` and `RegistryTx` for a backend,
//! over the portable SQL and row types of `registry::sql`.

/// Implements `RegistryStore` for `$store` (field `pool`) and `RegistryTx`
/// for `$tx` (field `tx`); needs a module function `map_err`.
macro_rules! impl_registry_store {
    ($store:ident, $tx:ident) => {
        impl $store {
            async fn fetch_enterprise(
                &self,
                column: &'static str,
                value: String,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&self.pool, "enterprises", sql::ENTERPRISE_COLUMNS, column, value, sql::EnterpriseRow, sql::enterprise)
            }
        }

        impl $store {
            async fn fetch_provider(
                &self,
                column: &'static str,
                value: String,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&self.pool, "providers", sql::PROVIDER_COLUMNS, column, value, sql::ProviderRow, sql::provider)
            }
        }

        impl $crate::store::registry::RegistryStore for $store {
            async fn issuer_keys(
                &self,
            ) -> Result<Vec<$crate::store::registry::IssuerKeyRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                let query = format!(
                    "SELECT {} FROM issuer_keys ORDER BY activated_at_us, key_id",
                    sql::ISSUER_KEY_COLUMNS
                );
                let rows: Vec<sql::IssuerKeyRow> =
                    sqlx::query_as(&query).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.into_iter().map(sql::issuer_key).collect()
            }

            async fn zones(&self) -> Result<Vec<(String, String)>, $crate::store::StoreError> {
                sqlx::query_as("SELECT name, division FROM zones ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn provider_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                self.fetch_provider("id", id.to_string()).await
            }

            async fn provider_by_uscc(
                &self,
                uscc: &str,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                self.fetch_provider("uscc", uscc.to_string()).await
            }

            async fn providers_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                let rows = sql::registry_page!(
                    &self.pool, sql::ProviderRow, "providers", "uscc", sql::PROVIDER_COLUMNS, after, limit
                );
                rows.into_iter().map(sql::provider).collect()
            }

            async fn programme(
                &self,
                code: &str,
            ) -> Result<Option<$crate::store::registry::ProgrammeRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&self.pool, "programmes", sql::PROGRAMME_COLUMNS, "code", code, sql::ProgrammeRow, sql::programme)
            }

            async fn programmes_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::registry::ProgrammeRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                let rows = sql::registry_page!(
                    &self.pool, sql::ProgrammeRow, "programmes", "code", sql::PROGRAMME_COLUMNS, after, limit
                );
                rows.into_iter().map(sql::programme).collect()
            }

            async fn enterprise_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                self.fetch_enterprise("id", id.to_string()).await
            }

            async fn enterprise_by_uscc(
                &self,
                uscc: &str,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                self.fetch_enterprise("uscc", uscc.to_string()).await
            }

            async fn enterprises_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                let rows = sql::registry_page!(
                    &self.pool, sql::EnterpriseRow, "enterprises", "uscc", sql::ENTERPRISE_COLUMNS, after, limit
                );
                rows.into_iter().map(sql::enterprise).collect()
            }

            async fn tags_of(
                &self,
                enterprise_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::registry::TagRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::registry::sql::TagRow> =
                    sqlx::query_as($crate::store::registry::sql::SELECT_TAGS_OF)
                .bind(enterprise_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.into_iter().map($crate::store::registry::sql::tag).collect()
            }

            async fn blacklist_of(
                &self,
                party_kind: &str,
                party_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::registry::BlacklistRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::registry::sql::BlacklistRow> =
                    sqlx::query_as($crate::store::registry::sql::SELECT_BLACKLIST_OF)
                .bind(party_kind)
                .bind(party_id.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.into_iter().map($crate::store::registry::sql::blacklist).collect()
            }
        }

        impl $tx {
            async fn fetch_enterprise(
                &mut self,
                column: &'static str,
                value: String,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&mut *self.tx, "enterprises", sql::ENTERPRISE_COLUMNS, column, value, sql::EnterpriseRow, sql::enterprise)
            }
        }

        impl $tx {
            async fn fetch_provider(
                &mut self,
                column: &'static str,
                value: String,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&mut *self.tx, "providers", sql::PROVIDER_COLUMNS, column, value, sql::ProviderRow, sql::provider)
            }
        }

        impl $tx {
            async fn fetch_issuer_key(
                &mut self,
                condition: &'static str,
                value: &str,
            ) -> Result<Option<$crate::store::registry::IssuerKeyRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&mut *self.tx, "issuer_keys", sql::ISSUER_KEY_COLUMNS, condition, value, sql::IssuerKeyRow, sql::issuer_key)
            }
        }

        impl $crate::store::registry::RegistryTx for $tx {
            async fn issuer_key(
                &mut self,
                key_id: &str,
            ) -> Result<Option<$crate::store::registry::IssuerKeyRecord>, $crate::store::StoreError> {
                self.fetch_issuer_key("key_id", key_id).await
            }

            async fn active_issuer_key(
                &mut self,
            ) -> Result<Option<$crate::store::registry::IssuerKeyRecord>, $crate::store::StoreError> {
                self.fetch_issuer_key("status", "active").await
            }

            async fn save_issuer_key(
                &mut self,
                k: &$crate::store::registry::IssuerKeyRecord,
            ) -> Result<(), $crate::store::StoreError> {
                let query = format!(
                    "INSERT INTO issuer_keys ({}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (key_id) DO UPDATE SET status = excluded.status, \
                     retired_at_us = excluded.retired_at_us, revoked_at_us = excluded.revoked_at_us, \
                     revoke_reason = excluded.revoke_reason",
                    $crate::store::registry::sql::ISSUER_KEY_COLUMNS
                );
                sqlx::query(&query)
                    .bind(k.key_id.as_str())
                    .bind(k.public_key.as_bytes().as_slice())
                    .bind(k.status.as_str())
                    .bind(k.activated_at_us)
                    .bind(k.retired_at_us)
                    .bind(k.revoked_at_us)
                    .bind(k.revoke_reason.as_deref())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn blacklist_exists(
                &mut self,
                b: &$crate::store::registry::BlacklistRecord,
            ) -> Result<bool, $crate::store::StoreError> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM blacklist WHERE party_kind = $1 AND party_id = $2 AND reason = $3 \
                     AND source = $4 AND effective_from = $5",
                )
                .bind(b.party_kind.as_str())
                .bind(b.party_id.to_string())
                .bind(b.reason.as_str())
                .bind(b.source.as_str())
                .bind(b.effective_from.as_str())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(row.is_some())
            }

            async fn zone_division(&mut self, name: &str) -> Result<Option<String>, $crate::store::StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT division FROM zones WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(|(division,)| division))
            }

            async fn save_zone(&mut self, name: &str, division: &str, now_us: i64) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO zones (name, division, updated_at_us) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET division = excluded.division, updated_at_us = excluded.updated_at_us",
                )
                .bind(name)
                .bind(division)
                .bind(now_us)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn provider_by_uscc(
                &mut self,
                uscc: &str,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                self.fetch_provider("uscc", uscc.to_string()).await
            }

            async fn provider_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::registry::ProviderRecord>, $crate::store::StoreError> {
                self.fetch_provider("id", id.to_string()).await
            }

            async fn save_provider(
                &mut self,
                p: &$crate::store::registry::ProviderRecord,
                is_new: bool,
                status_reason: Option<&str>,
            ) -> Result<(), $crate::store::StoreError> {
                let query = if is_new {
                    format!(
                        "INSERT INTO providers ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        $crate::store::registry::sql::PROVIDER_COLUMNS
                    )
                } else {
                    "UPDATE providers SET uscc = $2, name = $3, status = $4, fields_json = $5, \
                     annual_cap_fen = $6, version = $7, created_at_us = $8, updated_at_us = $9 WHERE id = $1"
                        .to_string()
                };
                sqlx::query(&query)
                    .bind(p.id.to_string())
                    .bind(p.uscc.as_str())
                    .bind(p.name.as_str())
                    .bind(p.status.as_str())
                    .bind($crate::store::registry::sql::fields_json(&p.fields))
                    .bind(p.annual_cap_fen)
                    .bind(p.version)
                    .bind(p.created_at_us)
                    .bind(p.updated_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                if let Some(reason) = status_reason {
                    sqlx::query(
                        "INSERT INTO provider_status_history (provider_id, status, changed_at_us, reason) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(p.id.to_string())
                    .bind(p.status.as_str())
                    .bind(p.updated_at_us)
                    .bind(reason)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                }
                Ok(())
            }

            async fn programme(
                &mut self,
                code: &str,
            ) -> Result<Option<$crate::store::registry::ProgrammeRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                $crate::store::shared::row_where!(&mut *self.tx, "programmes", sql::PROGRAMME_COLUMNS, "code", code, sql::ProgrammeRow, sql::programme)
            }

            async fn save_programme(
                &mut self,
                p: &$crate::store::registry::ProgrammeRecord,
                is_new: bool,
            ) -> Result<(), $crate::store::StoreError> {
                let query = if is_new {
                    format!(
                        "INSERT INTO programmes ({}) VALUES ($1, $2, $3, $4, $5, $6)",
                        $crate::store::registry::sql::PROGRAMME_COLUMNS
                    )
                } else {
                    "UPDATE programmes SET status = $2, terms_json = $3, version = $4, created_at_us = $5, \
                     updated_at_us = $6 WHERE code = $1"
                        .to_string()
                };
                sqlx::query(&query)
                    .bind(p.code.as_str())
                    .bind(p.status.as_str())
                    .bind(p.terms.to_canonical_json())
                    .bind(p.version)
                    .bind(p.created_at_us)
                    .bind(p.updated_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn enterprises_by_usccs(
                &mut self,
                usccs: &[&str],
            ) -> Result<Vec<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                use $crate::store::registry::sql as sql;
                let prefix = format!("SELECT {} FROM enterprises WHERE uscc IN ", sql::ENTERPRISE_COLUMNS);
                Ok(sql::rows_in!(&mut *self.tx, sql::EnterpriseRow, prefix, usccs, sql::enterprise))
            }

            async fn enterprises_by_ids(
                &mut self,
                ids: &[uuid::Uuid],
            ) -> Result<Vec<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                self.bulk_enterprises_by_ids(ids).await
            }

            async fn tags_and_blacklist_of_many(
                &mut self,
                enterprise_ids: &[uuid::Uuid],
            ) -> Result<
                (Vec<$crate::store::registry::TagRecord>, Vec<$crate::store::registry::BlacklistRecord>),
                $crate::store::StoreError,
            > {
                self.bulk_tags_and_blacklist(enterprise_ids).await
            }

            async fn enterprise_by_uscc(
                &mut self,
                uscc: &str,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                self.fetch_enterprise("uscc", uscc.to_string()).await
            }

            async fn enterprise_by_id(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::registry::EnterpriseRecord>, $crate::store::StoreError> {
                self.fetch_enterprise("id", id.to_string()).await
            }

            async fn save_enterprise(
                &mut self,
                e: &$crate::store::registry::EnterpriseRecord,
                is_new: bool,
            ) -> Result<(), $crate::store::StoreError> {
                let query = if is_new {
                    format!(
                        "INSERT INTO enterprises ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                        $crate::store::registry::sql::ENTERPRISE_COLUMNS
                    )
                } else {
                    "UPDATE enterprises SET uscc = $2, uscc_override = $3, name = $4, division = $5, zone = $6, \
                     sector = $7, staff = $8, revenue_fen = $9, size_class = $10, size_standard = $11, \
                     contact = $12, version = $13, created_at_us = $14, updated_at_us = $15, \
                     legal_representative = $16 WHERE id = $1"
                        .to_string()
                };
                sqlx::query(&query)
                    .bind(e.id.to_string())
                    .bind(e.uscc.as_str())
                    .bind(i32::from(e.uscc_override))
                    .bind(e.name.as_str())
                    .bind(e.division.as_str())
                    .bind(e.zone.as_deref())
                    .bind(e.sector.as_str())
                    .bind(e.staff as i32)
                    .bind(e.revenue_fen)
                    .bind(e.size_class.as_str())
                    .bind(e.size_standard.as_str())
                    .bind(e.contact.as_deref())
                    .bind(e.version)
                    .bind(e.created_at_us)
                    .bind(e.updated_at_us)
                    .bind(e.legal_representative.as_deref())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_tag(
                &mut self,
                t: &$crate::store::registry::TagRecord,
            ) -> Result<bool, $crate::store::StoreError> {
                let result = sqlx::query(
                    "INSERT INTO enterprise_tags (enterprise_id, tag, valid_from, valid_until, source) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (enterprise_id, tag, valid_from) DO NOTHING",
                )
                .bind(t.enterprise_id.to_string())
                .bind(t.tag.as_str())
                .bind(t.valid_from.as_str())
                .bind(t.valid_until.as_deref())
                .bind(t.source.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_blacklist(
                &mut self,
                b: &$crate::store::registry::BlacklistRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO blacklist (id, party_kind, party_id, reason, source, effective_from, effective_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(b.id.to_string())
                .bind(b.party_kind.as_str())
                .bind(b.party_id.to_string())
                .bind(b.reason.as_str())
                .bind(b.source.as_str())
                .bind(b.effective_from.as_str())
                .bind(b.effective_until.as_deref())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn tags_of(
                &mut self,
                enterprise_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::registry::TagRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::registry::sql::TagRow> =
                    sqlx::query_as($crate::store::registry::sql::SELECT_TAGS_OF)
                        .bind(enterprise_id.to_string())
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                rows.into_iter().map($crate::store::registry::sql::tag).collect()
            }

            async fn blacklist_of(
                &mut self,
                party_kind: &str,
                party_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::registry::BlacklistRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::registry::sql::BlacklistRow> =
                    sqlx::query_as($crate::store::registry::sql::SELECT_BLACKLIST_OF)
                        .bind(party_kind)
                        .bind(party_id.to_string())
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                rows.into_iter().map($crate::store::registry::sql::blacklist).collect()
            }
        }
    };
}

pub(crate) use impl_registry_store;

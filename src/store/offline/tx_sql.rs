//! Portable SQL for `OfflineTx` (the writer's side), instantiated per
//! backend through `impl_offline_store!`.

/// Implements `OfflineTx` for `$tx` (field `tx`); needs a module function
/// `map_err`.
macro_rules! impl_offline_tx {
    ($tx:ident, $db:ident) => {
        impl $crate::store::offline::OfflineTx for $tx {
            async fn offline_device(
                &mut self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::store::offline::DeviceRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::DeviceRow> = sqlx::query_as(&sql::select_device())
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(sql::device).transpose()
            }

            async fn offline_device_count(
                &mut self,
                provider_id: uuid::Uuid,
            ) -> Result<u64, $crate::store::StoreError> {
                let (count,): (i64,) =
                    sqlx::query_as($crate::store::offline::sql::COUNT_DEVICES_OF)
                        .bind(provider_id.to_string())
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                $crate::store::shared::to_u64(count, "device count")
            }

            async fn holder_bindings(
                &mut self,
                voucher_id: uuid::Uuid,
            ) -> Result<Vec<$crate::store::offline::BindingRecord>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::BindingRow> = sqlx::query_as(&sql::select_binding_of())
                    .bind(voucher_id.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                rows.into_iter().map(sql::binding).collect()
            }

            async fn insert_holder_binding(
                &mut self,
                b: &$crate::store::offline::BindingRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::offline::sql::INSERT_BINDING)
                    .bind(b.voucher_id.to_string())
                    .bind(i64::from(b.binding_number))
                    .bind(b.algorithm.as_str())
                    .bind(b.public_key.as_slice())
                    .bind(b.certificate.as_slice())
                    .bind(b.bound_at_us)
                    .bind($crate::store::shared::to_i64(b.bound_sequence))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn insert_offline_device(
                &mut self,
                d: &$crate::store::offline::DeviceRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::offline::sql::INSERT_DEVICE)
                    .bind(d.id.to_string())
                    .bind(d.provider_id.to_string())
                    .bind(d.algorithm.as_str())
                    .bind(d.public_key.as_slice())
                    .bind(d.label.as_str())
                    .bind(d.registered_at_us)
                    .bind($crate::store::shared::to_i64(d.registered_sequence))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn latest_status_list(
                &mut self,
            ) -> Result<Option<$crate::store::offline::StatusListRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::ListRow> = sqlx::query_as(&sql::select_latest_list())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(sql::list).transpose()
            }

            async fn status_list(
                &mut self,
                number: u64,
            ) -> Result<Option<$crate::store::offline::StatusListRecord>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::ListRow> = sqlx::query_as(&sql::select_list())
                    .bind($crate::store::shared::to_i64(number))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(sql::list).transpose()
            }

            async fn insert_status_list(
                &mut self,
                l: &$crate::store::offline::StatusListRecord,
                vouchers: &[$crate::store::offline::ListedVoucher],
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::shared::to_i64;
                sqlx::query($crate::store::offline::sql::INSERT_LIST)
                    .bind(to_i64(l.number))
                    .bind(i64::from(l.full))
                    .bind(to_i64(l.from_sequence))
                    .bind(to_i64(l.to_sequence))
                    .bind(l.published_at_us)
                    .bind(l.digest.as_slice())
                    .bind(l.signature.as_slice())
                    .bind(l.key_id.as_str())
                    .bind(l.body.as_str())
                    .bind(to_i64(l.published_sequence))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                for v in vouchers {
                    sqlx::query($crate::store::offline::sql::INSERT_LISTED)
                        .bind(v.voucher_id.to_string())
                        .bind(to_i64(v.list_number))
                        .bind(v.status.as_str())
                        .bind(v.remaining_fen)
                        .bind(i64::from(v.binding_number))
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn listed_voucher_as_of(
                &mut self,
                voucher_id: uuid::Uuid,
                list_number: u64,
            ) -> Result<Option<$crate::store::offline::ListedVoucher>, $crate::store::StoreError>
            {
                use $crate::store::offline::sql;
                let row: Option<sql::ListedRow> = sqlx::query_as(sql::SELECT_LISTED_AS_OF)
                    .bind(voucher_id.to_string())
                    .bind($crate::store::shared::to_i64(list_number))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                row.map(sql::listed).transpose()
            }

            async fn vouchers_changed_since(
                &mut self,
                since_us: i64,
            ) -> Result<Vec<$crate::store::offline::VoucherNow>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::VoucherNowRow> =
                    sqlx::query_as(&sql::select_vouchers_changed_since())
                        .bind(since_us)
                        .bind(($crate::store::offline::STATUS_LIST_VOUCHERS_MAX + 1) as i64)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                rows.into_iter().map(sql::voucher_now).collect()
            }

            async fn vouchers_not_fresh(
                &mut self,
            ) -> Result<Vec<$crate::store::offline::VoucherNow>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let rows: Vec<sql::VoucherNowRow> =
                    sqlx::query_as(&sql::select_vouchers_not_fresh())
                        .bind(($crate::store::offline::STATUS_LIST_VOUCHERS_MAX + 1) as i64)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                rows.into_iter().map(sql::voucher_now).collect()
            }

            async fn barred_providers(
                &mut self,
                today: &str,
            ) -> Result<Vec<(String, String)>, $crate::store::StoreError> {
                use $crate::store::offline::sql;
                let mut barred: Vec<(String, String)> = sqlx::query_as(sql::SELECT_NOT_APPROVED)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                let listed: Vec<(String,)> = sqlx::query_as(sql::SELECT_BLACKLISTED_PROVIDERS)
                    .bind(today)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                barred.extend(
                    listed
                        .into_iter()
                        .map(|(id,)| (id, "blacklisted".to_string())),
                );
                Ok(barred)
            }

            async fn revoked_issuer_key_ids(
                &mut self,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as($crate::store::offline::sql::SELECT_REVOKED_KEYS)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                Ok(rows.into_iter().map(|(id,)| id).collect())
            }

            async fn open_programme_terms(
                &mut self,
            ) -> Result<Vec<(String, String)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::offline::sql::SELECT_OPEN_PROGRAMMES)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)
            }

            async fn device_use(
                &mut self,
                device_id: uuid::Uuid,
                list_number: u64,
                voucher_id: uuid::Uuid,
            ) -> Result<$crate::store::offline::DeviceUseRow, $crate::store::StoreError> {
                let (count, claimed, on_voucher): (i64, i64, i64) =
                    sqlx::query_as($crate::store::offline::sql::SELECT_DEVICE_USE)
                        .bind(device_id.to_string())
                        .bind($crate::store::shared::to_i64(list_number))
                        .bind(voucher_id.to_string())
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                Ok($crate::store::offline::DeviceUseRow {
                    count: $crate::store::shared::to_u64(count, "acceptance count")?,
                    claimed_fen: claimed,
                    on_voucher_fen: on_voucher,
                })
            }

            async fn offline_nonce_used(
                &mut self,
                nonce: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let (count,): (i64,) =
                    sqlx::query_as($crate::store::offline::sql::SELECT_NONCE_USED)
                        .bind(nonce)
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                Ok(count > 0)
            }

            async fn offline_record_synced(
                &mut self,
                device_id: uuid::Uuid,
                record_number: u64,
            ) -> Result<bool, $crate::store::StoreError> {
                let (count,): (i64,) =
                    sqlx::query_as($crate::store::offline::sql::SELECT_RECORD_SYNCED)
                        .bind(device_id.to_string())
                        .bind($crate::store::shared::to_i64(record_number))
                        .fetch_one(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                Ok(count > 0)
            }

            async fn insert_acceptance(
                &mut self,
                a: &$crate::store::offline::AcceptanceRecord,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::shared::to_i64;
                sqlx::query($crate::store::offline::sql::INSERT_ACCEPTANCE)
                    .bind(a.presentation_nonce.as_str())
                    .bind(a.id.to_string())
                    .bind(a.device_id.to_string())
                    .bind(to_i64(a.record_number))
                    .bind(a.record_digest.as_slice())
                    .bind(a.provider_id.to_string())
                    .bind(a.voucher_id.to_string())
                    .bind(a.programme_code.as_str())
                    .bind(a.enterprise_id.to_string())
                    .bind(to_i64(a.list_number))
                    .bind(a.accepted_at_us)
                    .bind(a.service_category.as_str())
                    .bind(a.contract_number.as_str())
                    .bind(a.contract_amount_fen)
                    .bind(a.claimed_fen)
                    .bind(a.paid_fen)
                    .bind(a.conflict_fen)
                    .bind(a.conflict_reason.as_deref())
                    .bind(to_i64(a.synced_sequence))
                    .bind(a.synced_at_us)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_offline_tx;

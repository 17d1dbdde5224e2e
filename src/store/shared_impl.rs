//! `impl_shared_store!`: `Store` and `LedgerTx` for a backend — the
//! ledger's own tables (entries, postings, balances, checkpoints, keys,
//! migrations) over the portable SQL of `shared`.

/// Implements `Store` and `LedgerTx` for a backend from the portable SQL
/// above. The backend provides: on `$store`, a field
/// `pool: sqlx::Pool<$db>` and `backend::BackendPool`; on `$tx`, a field
/// `tx: sqlx::Transaction<'static, $db>` and `backend::LedgerRows` (the
/// batch operations whose best SQL differs per dialect); and a module
/// function `map_err(sqlx::Error) -> StoreError`.
macro_rules! impl_shared_store {
    ($store:ident, $tx:ident, $db:ty, $backend:expr) => {
        impl $store {
            async fn fetch_checkpoints(
                &self,
                sql: &'static str,
            ) -> Result<Vec<$crate::ledger::checkpoint::Checkpoint>, $crate::store::StoreError>
            {
                let rows: Vec<$crate::store::shared::CheckpointRow> = sqlx::query_as(sql)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter()
                    .map($crate::store::shared::checkpoint_from_row)
                    .collect()
            }

            /// Applies pending migrations inside `tx`, which the backend has
            /// already begun and serialised against other migrators.
            async fn apply_migrations(
                conn: &mut <$db as sqlx::Database>::Connection,
                embedded: &'static [$crate::store::migrate::Migration],
            ) -> Result<Vec<u32>, $crate::store::StoreError> {
                use $crate::store::shared;
                sqlx::query($crate::store::migrate::CREATE_SCHEMA_MIGRATIONS)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                let applied: Vec<(i64, Vec<u8>)> =
                    sqlx::query_as(shared::SELECT_APPLIED_MIGRATIONS)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?;
                let pending = $crate::store::migrate::plan(embedded, &applied)
                    .map_err($crate::store::StoreError::Migration)?;
                let mut versions = Vec::new();
                for migration in pending {
                    // A plain &str runs unprepared, so a file may hold many statements.
                    sqlx::Executor::execute(&mut *conn, migration.sql)
                        .await
                        .map_err(|e| {
                            $crate::store::StoreError::Migration(format!(
                                "{} ({}): {e}",
                                migration.version, migration.name
                            ))
                        })?;
                    sqlx::query(shared::INSERT_APPLIED_MIGRATION)
                        .bind(i64::from(migration.version))
                        .bind(migration.name)
                        .bind(migration.checksum())
                        .bind($crate::domain::Timestamp::now().as_micros())
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                    versions.push(migration.version);
                }
                Ok(versions)
            }
        }

        impl $crate::store::Store for $store {
            type Tx = $tx;

            fn backend(&self) -> $crate::store::Backend {
                $backend
            }

            async fn open(url: &str) -> Result<Self, $crate::store::StoreError> {
                $store::connect(url).await
            }

            async fn begin_append(&self) -> Result<$tx, $crate::store::StoreError> {
                self.begin_backend().await
            }

            async fn migrate(&self) -> Result<Vec<u32>, $crate::store::StoreError> {
                let applied = self.migrate_backend().await?;
                $crate::store::tree::catch_up(self).await?;
                Ok(applied)
            }

            async fn readiness(
                &self,
            ) -> Result<$crate::store::Readiness, $crate::store::StoreError> {
                let (recovery_query, embedded) = match $backend {
                    $crate::store::Backend::Postgres => (
                        "SELECT pg_is_in_recovery()",
                        $crate::store::migrate::POSTGRES,
                    ),
                    $crate::store::Backend::Sqlite => {
                        ("SELECT 0 = 1", $crate::store::migrate::SQLITE)
                    }
                };
                let (in_recovery,): (bool,) = sqlx::query_as(recovery_query)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                let (applied,): (Option<i64>,) =
                    sqlx::query_as("SELECT max(version) FROM schema_migrations")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map_err)?;
                Ok($crate::store::Readiness {
                    writable: !in_recovery,
                    migration_applied: u32::try_from(applied.unwrap_or(0)).unwrap_or(u32::MAX),
                    migration_known: embedded.last().map_or(0, |m| m.version),
                })
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                $crate::store::PoolStats {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.pool.options().get_max_connections(),
                }
            }

            async fn acquire_probe(
                &self,
            ) -> Result<std::time::Duration, $crate::store::StoreError> {
                let started = std::time::Instant::now();
                let connection = self.pool.acquire().await.map_err(map_err)?;
                drop(connection);
                Ok(started.elapsed())
            }

            async fn idempotency_key_count(&self) -> Result<u64, $crate::store::StoreError> {
                let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_idempotency")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn head(&self) -> Result<$crate::store::ChainHead, $crate::store::StoreError> {
                let (sequence, hash, at): (i64, Vec<u8>, i64) =
                    sqlx::query_as($crate::store::shared::SELECT_HEAD)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(map_err)?;
                $crate::store::shared::head_from_row(sequence, hash, at)
            }

            async fn entries(
                &self,
                from: u64,
                limit: u32,
            ) -> Result<Vec<$crate::ledger::entry::Entry>, $crate::store::StoreError> {
                use $crate::store::shared::{self, EntryRow, PostingRow};
                let limit = limit.clamp(1, $crate::store::ENTRY_PAGE_MAX);
                let from = shared::to_i64(from.max(1));
                let entry_rows: Vec<EntryRow> = sqlx::query_as(shared::SELECT_ENTRIES)
                    .bind(from)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                let Some(last) = entry_rows.last().map(|row| row.0) else {
                    return Ok(Vec::new());
                };
                let posting_rows: Vec<PostingRow> = sqlx::query_as(shared::SELECT_POSTINGS)
                    .bind(from)
                    .bind(last)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                shared::assemble_entries(entry_rows, posting_rows)
            }

            async fn entry_sequences(
                &self,
                filter: &$crate::store::EntryFilter,
                limit: u32,
            ) -> Result<Vec<u64>, $crate::store::StoreError> {
                use $crate::store::shared::to_i64;
                let limit = limit.clamp(1, $crate::store::ENTRY_PAGE_MAX);
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT sequence FROM ledger_entries WHERE 1 = 1",
                );
                if let Some(after) = filter.after {
                    query.push(" AND sequence > ").push_bind(to_i64(after));
                }
                if let Some(before) = filter.before {
                    query.push(" AND sequence < ").push_bind(to_i64(before));
                }
                if let Some(kind) = &filter.kind {
                    query.push(" AND kind = ").push_bind(kind.clone());
                }
                if let Some(from) = filter.from_us {
                    query.push(" AND recorded_at_us >= ").push_bind(from);
                }
                if let Some(until) = filter.until_us {
                    query.push(" AND recorded_at_us < ").push_bind(until);
                }
                query.push(if filter.newest_first {
                    " ORDER BY sequence DESC LIMIT "
                } else {
                    " ORDER BY sequence LIMIT "
                });
                query.push_bind(i64::from(limit));
                let rows: Vec<(i64,)> = query
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.into_iter()
                    .map(|(sequence,)| $crate::store::shared::to_u64(sequence, "sequence"))
                    .collect()
            }

            async fn balances(
                &self,
            ) -> Result<Vec<$crate::ledger::verify::ProjectedBalance>, $crate::store::StoreError>
            {
                let rows: Vec<(String, i64, i64)> =
                    sqlx::query_as($crate::store::shared::SELECT_BALANCES)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map(|(account, balance_fen, last_sequence)| {
                        Ok($crate::ledger::verify::ProjectedBalance {
                            account,
                            balance_fen,
                            last_sequence: $crate::store::shared::to_u64(
                                last_sequence,
                                "last_sequence",
                            )?,
                        })
                    })
                    .collect()
            }

            async fn balance_of(&self, account: &str) -> Result<i64, $crate::store::StoreError> {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT balance_fen FROM account_balances WHERE account = $1")
                        .bind(account)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_err)?;
                Ok(row.map_or(0, |(balance,)| balance))
            }

            async fn balances_after(
                &self,
                after: &str,
                limit: u32,
            ) -> Result<Vec<$crate::ledger::verify::ProjectedBalance>, $crate::store::StoreError>
            {
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT account, balance_fen, last_sequence FROM account_balances \
                     WHERE account > $1 ORDER BY account LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit.clamp(1, $crate::store::ENTRY_PAGE_MAX)))
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
                rows.into_iter()
                    .map(|(account, balance_fen, last_sequence)| {
                        Ok($crate::ledger::verify::ProjectedBalance {
                            account,
                            balance_fen,
                            last_sequence: $crate::store::shared::to_u64(
                                last_sequence,
                                "last_sequence",
                            )?,
                        })
                    })
                    .collect()
            }

            async fn checkpoints(
                &self,
            ) -> Result<Vec<$crate::ledger::checkpoint::Checkpoint>, $crate::store::StoreError>
            {
                self.fetch_checkpoints($crate::store::shared::SELECT_CHECKPOINTS)
                    .await
            }

            async fn checkpoints_before(
                &self,
                before: u64,
                limit: u32,
            ) -> Result<Vec<$crate::ledger::checkpoint::Checkpoint>, $crate::store::StoreError>
            {
                let rows: Vec<$crate::store::shared::CheckpointRow> =
                    sqlx::query_as($crate::store::shared::SELECT_CHECKPOINTS_BEFORE)
                        .bind($crate::store::shared::to_i64(before))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map($crate::store::shared::checkpoint_from_row)
                    .collect()
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<$crate::ledger::checkpoint::Checkpoint>, $crate::store::StoreError>
            {
                Ok(self
                    .fetch_checkpoints($crate::store::shared::SELECT_LATEST_CHECKPOINT)
                    .await?
                    .pop())
            }

            async fn insert_checkpoint(
                &self,
                checkpoint: &$crate::ledger::checkpoint::Checkpoint,
            ) -> Result<bool, $crate::store::StoreError> {
                let result = sqlx::query($crate::store::shared::INSERT_CHECKPOINT)
                    .bind($crate::store::shared::to_i64(checkpoint.sequence))
                    .bind(checkpoint.head_hash.to_vec())
                    .bind(checkpoint.signed_at.as_micros())
                    .bind(checkpoint.key_id.as_str())
                    .bind(checkpoint.signature.to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(result.rows_affected() == 1)
            }

            async fn register_ledger_key(
                &self,
                key: &$crate::store::LedgerKeyRecord,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::shared::INSERT_LEDGER_KEY)
                    .bind(key.key_id.as_str())
                    .bind(key.public_key.to_bytes().to_vec())
                    .bind(key.created_at.as_micros())
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn broken_references(&self) -> Result<Vec<String>, $crate::store::StoreError> {
                sqlx::query_scalar($crate::store::shared::SELECT_BROKEN_REFERENCES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            async fn ledger_keys(
                &self,
            ) -> Result<Vec<$crate::store::LedgerKeyRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::shared::LedgerKeyRow> =
                    sqlx::query_as($crate::store::shared::SELECT_LEDGER_KEYS)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(map_err)?;
                rows.into_iter()
                    .map($crate::store::shared::key_from_row)
                    .collect()
            }

            async fn mirrored_balances(
                &self,
            ) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                sqlx::query_as($crate::store::shared::SELECT_MIRRORED_BALANCES)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)
            }

            fn write_faults(&self) -> &$crate::store::WriteFaults {
                &self.faults
            }

            async fn close(&self) {
                self.stop_watching();
                self.cache_pool.close().await;
                self.append_pool.close().await;
                self.pool.close().await;
            }
        }

        impl $crate::store::LedgerTx for $tx {
            async fn open_batch(
                &mut self,
                keys: &[&str],
                accounts: &[&str],
            ) -> Result<$crate::store::BatchStart, $crate::store::StoreError> {
                self.open_batch_rows(keys, accounts).await
            }

            async fn load_balances(
                &mut self,
                accounts: &[&str],
            ) -> Result<Vec<(String, i64)>, $crate::store::StoreError> {
                self.select_balances(accounts).await
            }

            async fn append(
                &mut self,
                entries: &[$crate::ledger::entry::Entry],
                balances: &[$crate::store::BalanceWrite],
                tree: &$crate::store::TreeGrowth,
                head: &$crate::store::ChainHead,
            ) -> Result<(), $crate::store::StoreError> {
                let applied = self.append_rows(entries, balances, tree, head).await?;
                // After the rows are written, so an injected failure is
                // rolled back like a real one.
                self.faults.check(entries)?;
                if applied != balances.len() as u64 {
                    return Err($crate::store::StoreError::Corrupt(format!(
                        "{} of {} balances changed outside the ledger writer",
                        balances.len() as u64 - applied,
                        balances.len()
                    )));
                }
                Ok(())
            }

            async fn commit(self) -> Result<(), $crate::store::StoreError> {
                self.tx.commit().await.map_err(map_err)
            }
        }
    };
}

pub(crate) use impl_shared_store;

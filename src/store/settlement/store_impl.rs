//! `impl_settlement_store!`: `SettlementStore` and `SettlementTx` for a
//! backend, over the portable SQL and decoders of `settlement::sql`.

macro_rules! impl_settlement_store {
    ($store:ident, $tx:ident, $db:ty, month_expr = $month:expr) => {
        // A block of its own, so one `use` serves every method.
        const _: () = {
            use $crate::store::settlement::sql;

            impl $crate::store::settlement::SettlementStore for $store {
                async fn settlement_run(
                    &self,
                    id: uuid::Uuid,
                ) -> Result<Option<$crate::store::settlement::RunRecord>, $crate::store::StoreError>
                {
                    let found = sql::select_by!(
                        &self.pool,
                        format!(
                            "SELECT {} FROM settlement_runs WHERE id = $1",
                            sql::RUN_COLUMNS
                        ),
                        id.to_string(),
                        sql::decode_run
                    )?;
                    Ok(found.into_iter().next())
                }

                async fn settlement_runs(
                    &self,
                    programme: Option<&str>,
                ) -> Result<Vec<$crate::store::settlement::RunRecord>, $crate::store::StoreError> {
                    sql::select_by!(
                        &self.pool,
                        format!(
                            "SELECT {} FROM settlement_runs WHERE ($1 = '' OR programme_code = $1) \
                             ORDER BY period_until DESC, period_from DESC, id",
                            sql::RUN_COLUMNS
                        ),
                        programme.unwrap_or_default().to_string(),
                        sql::decode_run
                    )
                }

                async fn settlement_lines(
                    &self,
                    run_id: uuid::Uuid,
                    after_line: u32,
                    limit: u32,
                ) -> Result<Vec<$crate::store::settlement::LineRecord>, $crate::store::StoreError> {
                    let rows = sqlx::query(&format!(
                        "SELECT {} FROM settlement_lines WHERE run_id = $1 AND line_no > $2 \
                         ORDER BY line_no LIMIT $3",
                        sql::LINE_COLUMNS
                    ))
                    .bind(run_id.to_string())
                    .bind(i64::from(after_line))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                    rows.iter().map(sql::decode_line).collect()
                }

                async fn redemption_placement(
                    &self,
                    redemption_id: uuid::Uuid,
                ) -> Result<Option<$crate::store::settlement::LivePlacement>, $crate::store::StoreError>
                {
                    let found = sql::select_by!(
                        &self.pool,
                        sql::SELECT_PLACEMENT.to_string(),
                        redemption_id.to_string(),
                        sql::decode_placement
                    )?;
                    Ok(found.into_iter().next())
                }

                async fn included_line_count(
                    &self,
                    run_id: uuid::Uuid,
                    provider: Option<uuid::Uuid>,
                ) -> Result<u64, $crate::store::StoreError> {
                    let (count,): (i64,) = sqlx::query_as($crate::store::settlement::sql::COUNT_INCLUDED)
                    .bind(run_id.to_string())
                    .bind(provider.map(|p| p.to_string()).unwrap_or_default())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                    Ok(u64::try_from(count).expect("a count is never negative"))
                }

                async fn settlement_line_totals(
                    &self,
                    run_id: uuid::Uuid,
                ) -> Result<Vec<($crate::domain::status::LineState, i64, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::LINE_TOTALS)
                    .bind(run_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                    rows.into_iter()
                        .map(|(state, count, fen)| {
                            let state = $crate::store::shared::status(
                                $crate::domain::status::LineState::parse,
                                &state,
                                "settlement line",
                            )?;
                            Ok((state, count, fen))
                        })
                        .collect()
                }

                async fn recovered_fen(
                    &self,
                    programme: &str,
                ) -> Result<i64, $crate::store::StoreError> {
                    let (sum,): (i64,) = sqlx::query_as(
                        "SELECT CAST(COALESCE(SUM(p.offset_fen), 0) AS BIGINT) FROM payouts p \
                         JOIN settlement_runs s ON s.id = p.run_id \
                         WHERE s.programme_code = $1 AND p.status = 'paid'",
                    )
                    .bind(programme)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                    Ok(sum)
                }

                async fn settlement_resolutions(
                    &self,
                    run_id: uuid::Uuid,
                ) -> Result<Vec<$crate::store::settlement::ResolutionRecord>, $crate::store::StoreError>
                {
                    sql::select_by!(
                        &self.pool,
                        sql::SELECT_RESOLUTIONS.to_string(),
                        run_id.to_string(),
                        sql::decode_resolution
                    )
                }

                async fn payouts(
                    &self,
                    run_id: uuid::Uuid,
                ) -> Result<Vec<$crate::store::settlement::PayoutRecord>, $crate::store::StoreError>
                {
                    sql::select_by!(
                        &self.pool,
                        sql::select_payouts("run_id = $1 ORDER BY reference"),
                        run_id.to_string(),
                        sql::decode_payout
                    )
                }

                async fn payout(
                    &self,
                    reference: &str,
                ) -> Result<Option<$crate::store::settlement::PayoutRecord>, $crate::store::StoreError>
                {
                    let found = sql::select_by!(
                        &self.pool,
                        sql::select_payouts("reference = $1"),
                        reference.to_string(),
                        sql::decode_payout
                    )?;
                    Ok(found.into_iter().next())
                }

                async fn provider_payouts(
                    &self,
                    provider_id: uuid::Uuid,
                ) -> Result<Vec<$crate::store::settlement::PayoutRecord>, $crate::store::StoreError>
                {
                    sql::select_by!(
                        &self.pool,
                        sql::select_payouts("provider_id = $1 ORDER BY reference DESC"),
                        provider_id.to_string(),
                        sql::decode_payout
                    )
                }

                async fn stream_batch_rows(
                    &self,
                    run_id: uuid::Uuid,
                    provider: Option<uuid::Uuid>,
                    sink: tokio::sync::mpsc::Sender<
                        Result<Vec<$crate::store::settlement::BatchRow>, $crate::store::StoreError>,
                    >,
                ) {
                    self.stream_batch_rows_backend(run_id, provider, sink).await
                }

                async fn utilisation(
                    &self,
                    programme: &str,
                    group: $crate::store::settlement::UtilisationGroup,
                ) -> Result<Vec<$crate::store::settlement::UtilisationRow>, $crate::store::StoreError>
                {
                    sql::select_by!(
                        &self.pool,
                        sql::utilisation_sql(group, $month),
                        programme.to_string(),
                        sql::decode_utilisation
                    )
                }
            }

            impl $crate::store::settlement::SettlementTx for $tx {
                async fn settlement_run(
                    &mut self,
                    id: uuid::Uuid,
                ) -> Result<Option<$crate::store::settlement::RunRecord>, $crate::store::StoreError>
                {
                    let found = sql::select_by!(
                        &mut *self.tx,
                        format!(
                            "SELECT {} FROM settlement_runs WHERE id = $1",
                            sql::RUN_COLUMNS
                        ),
                        id.to_string(),
                        sql::decode_run
                    )?;
                    Ok(found.into_iter().next())
                }

                async fn has_candidates(
                    &mut self,
                    programme: &str,
                    end_us: i64,
                ) -> Result<bool, $crate::store::StoreError> {
                    let found: Option<(i64,)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_ANY_CANDIDATE)
                            .bind(programme)
                            .bind(end_us)
                            .fetch_optional(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    Ok(found.is_some())
                }

                async fn open_candidates(
                    &mut self,
                    programme: &str,
                    end_us: i64,
                ) -> Result<$crate::store::settlement::CandidateCursor, $crate::store::StoreError> {
                    self.open_candidates_backend(programme, end_us).await
                }

                async fn next_candidates(
                    &mut self,
                    cursor: &mut $crate::store::settlement::CandidateCursor,
                    programme: &str,
                    end_us: i64,
                ) -> Result<Vec<$crate::store::settlement::CandidateRow>, $crate::store::StoreError>
                {
                    self.next_candidates_backend(cursor, programme, end_us)
                        .await
                }

                async fn redemptions_per_provider(
                    &mut self,
                    programme: &str,
                ) -> Result<Vec<(uuid::Uuid, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_PER_PROVIDER)
                            .bind(programme)
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    $crate::store::settlement::sql::uuid_counts(rows)
                }

                async fn redemptions_per_firm(
                    &mut self,
                    programme: &str,
                ) -> Result<Vec<(uuid::Uuid, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_PER_FIRM)
                            .bind(programme)
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    $crate::store::settlement::sql::uuid_counts(rows)
                }

                async fn dominating_pairs(
                    &mut self,
                    programme: &str,
                    min_count: i64,
                ) -> Result<Vec<(uuid::Uuid, uuid::Uuid, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, String, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_DOMINATING_PAIRS)
                            .bind(programme)
                            .bind(min_count)
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    rows.into_iter()
                        .map(|(provider, firm, n)| {
                            Ok((
                                $crate::store::shared::uuid(&provider)?,
                                $crate::store::shared::uuid(&firm)?,
                                n,
                            ))
                        })
                        .collect()
                }

                async fn set_run_digest(
                    &mut self,
                    run_id: uuid::Uuid,
                    digest: &str,
                ) -> Result<(), $crate::store::StoreError> {
                    sqlx::query("UPDATE settlement_runs SET lines_digest = $2 WHERE id = $1")
                        .bind(run_id.to_string())
                        .bind(digest)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }

                async fn duplicate_invoices(
                    &mut self,
                ) -> Result<Vec<(String, String, i64)>, $crate::store::StoreError> {
                    sqlx::query_as($crate::store::settlement::sql::SELECT_DUPLICATE_INVOICES)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(map_err)
                }

                async fn settled_per_provider(
                    &mut self,
                    fiscal_year: i32,
                ) -> Result<Vec<(uuid::Uuid, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_SETTLED_PER_PROVIDER)
                            .bind(i64::from(fiscal_year))
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    $crate::store::settlement::sql::uuid_counts(rows)
                }

                async fn insert_run(
                    &mut self,
                    run: &$crate::store::settlement::RunRecord,
                ) -> Result<(), $crate::store::StoreError> {
                    use $crate::store::shared::to_i64;
                    sqlx::query($crate::store::settlement::sql::INSERT_RUN)
                        .bind(run.id.to_string())
                        .bind(run.programme_code.as_str())
                        .bind(&run.period_from)
                        .bind(&run.period_until)
                        .bind(run.status.as_str())
                        .bind(run.prepared_by.to_string())
                        .bind(run.approved_by.map(|id| id.to_string()))
                        .bind(&run.lines_digest)
                        .bind(to_i64(run.prepared_sequence))
                        .bind(run.approved_sequence.map(to_i64))
                        .bind(run.prepared_at_us)
                        .bind(run.approved_at_us)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }

                async fn insert_lines(
                    &mut self,
                    lines: &[$crate::store::settlement::LineRecord],
                ) -> Result<(), $crate::store::StoreError> {
                    // Per backend: arrays on Postgres, multi-row VALUES on SQLite.
                    self.bulk_insert_settlement_lines(lines).await
                }

                async fn lines_written(&mut self) -> Result<(), $crate::store::StoreError> {
                    self.refresh_line_statistics().await
                }

                async fn run_line(
                    &mut self,
                    run_id: uuid::Uuid,
                    redemption_id: uuid::Uuid,
                ) -> Result<Option<$crate::store::settlement::LineRecord>, $crate::store::StoreError>
                {
                    let rows = sqlx::query(&format!(
                        "SELECT {} FROM settlement_lines WHERE redemption_id = $2 AND run_id = $1 \
                         AND state <> 'released'",
                        sql::LINE_COLUMNS
                    ))
                    .bind(run_id.to_string())
                    .bind(redemption_id.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    rows.iter().map(sql::decode_line).next().transpose()
                }

                async fn run_lines_count(
                    &mut self,
                    run_id: uuid::Uuid,
                    state: &str,
                ) -> Result<i64, $crate::store::StoreError> {
                    let (count,): (i64,) = sqlx::query_as(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM settlement_lines \
                         WHERE run_id = $1 AND state = $2",
                    )
                    .bind(run_id.to_string())
                    .bind(state)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    Ok(count)
                }

                async fn included_totals(
                    &mut self,
                    run_id: uuid::Uuid,
                ) -> Result<Vec<(uuid::Uuid, i64, i64)>, $crate::store::StoreError> {
                    let rows: Vec<(String, i64, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_INCLUDED_TOTALS)
                            .bind(run_id.to_string())
                            .fetch_all(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    rows.into_iter()
                        .map(|(p, fen, n)| Ok(($crate::store::shared::uuid(&p)?, fen, n)))
                        .collect()
                }

                async fn set_line_state(
                    &mut self,
                    run_id: uuid::Uuid,
                    redemption_id: uuid::Uuid,
                    from: $crate::domain::status::LineState,
                    to: $crate::domain::status::LineState,
                ) -> Result<u64, $crate::store::StoreError> {
                    Ok(sqlx::query($crate::store::settlement::sql::SET_LINE_STATE)
                        .bind(run_id.to_string())
                        .bind(redemption_id.to_string())
                        .bind(from.as_str())
                        .bind(to.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected())
                }

                async fn release_lines(
                    &mut self,
                    run_id: uuid::Uuid,
                    provider: Option<uuid::Uuid>,
                    from: $crate::domain::status::LineState,
                ) -> Result<u64, $crate::store::StoreError> {
                    let query = match provider {
                        Some(provider) => sqlx::query(sql::RELEASE_PROVIDER_LINES)
                            .bind(run_id.to_string())
                            .bind(from.as_str())
                            .bind(provider.to_string()),
                        None => sqlx::query(sql::RELEASE_LINES)
                            .bind(run_id.to_string())
                            .bind(from.as_str()),
                    };
                    Ok(query
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected())
                }

                async fn insert_resolution(
                    &mut self,
                    resolution: &$crate::store::settlement::ResolutionRecord,
                ) -> Result<(), $crate::store::StoreError> {
                    sqlx::query($crate::store::settlement::sql::INSERT_RESOLUTION)
                        .bind(resolution.run_id.to_string())
                        .bind(resolution.redemption_id.to_string())
                        .bind(&resolution.note)
                        .bind(resolution.resolved_by.to_string())
                        .bind($crate::store::shared::to_i64(resolution.sequence))
                        .bind(resolution.resolved_at_us)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                    Ok(())
                }

                async fn approve_run(
                    &mut self,
                    run_id: uuid::Uuid,
                    approved_by: uuid::Uuid,
                    sequence: u64,
                    at_us: i64,
                ) -> Result<u64, $crate::store::StoreError> {
                    Ok(sqlx::query($crate::store::settlement::sql::APPROVE_RUN)
                        .bind(run_id.to_string())
                        .bind(approved_by.to_string())
                        .bind($crate::store::shared::to_i64(sequence))
                        .bind(at_us)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected())
                }

                async fn insert_payouts(
                    &mut self,
                    payouts: &[$crate::store::settlement::PayoutRecord],
                ) -> Result<(), $crate::store::StoreError> {
                    for chunk in payouts.chunks(sql::INSERT_CHUNK) {
                        let mut builder = sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO payouts ({}) ",
                            sql::PAYOUT_COLUMNS
                        ));
                        builder.push_values(chunk, |mut row, p| {
                            row.push_bind(p.reference.clone())
                                .push_bind(p.run_id.to_string())
                                .push_bind(p.provider_id.to_string())
                                .push_bind(p.payee_name.clone())
                                .push_bind(p.bank_name.clone())
                                .push_bind(p.account_number.clone())
                                .push_bind(p.gross_fen)
                                .push_bind(p.offset_fen)
                                .push_bind(p.net_fen)
                                .push_bind(p.status.as_str())
                                .push_bind(p.bank_message.clone())
                                .push_bind($crate::store::shared::to_i64(p.updated_sequence));
                        });
                        builder
                            .build()
                            .execute(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    }
                    Ok(())
                }

                async fn run_payouts(
                    &mut self,
                    run_id: uuid::Uuid,
                ) -> Result<Vec<$crate::store::settlement::PayoutRecord>, $crate::store::StoreError>
                {
                    sql::select_by!(
                        &mut *self.tx,
                        sql::select_payouts("run_id = $1 ORDER BY reference"),
                        run_id.to_string(),
                        sql::decode_payout
                    )
                }

                async fn pending_offsets(
                    &mut self,
                    programme: &str,
                    provider_id: uuid::Uuid,
                ) -> Result<i64, $crate::store::StoreError> {
                    let (sum,): (i64,) =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_PENDING_OFFSETS)
                            .bind(programme)
                            .bind(provider_id.to_string())
                            .fetch_one(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    Ok(sum)
                }

                async fn settle_payout(
                    &mut self,
                    reference: &str,
                    to: &str,
                    message: &str,
                    sequence: u64,
                ) -> Result<u64, $crate::store::StoreError> {
                    Ok(sqlx::query($crate::store::settlement::sql::SETTLE_PAYOUT)
                        .bind(reference)
                        .bind(to)
                        .bind(message)
                        .bind($crate::store::shared::to_i64(sequence))
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?
                        .rows_affected())
                }

                async fn paid_unrecovered(
                    &mut self,
                    redemption_id: uuid::Uuid,
                ) -> Result<
                    Option<($crate::domain::ProgrammeCode, uuid::Uuid, i64)>,
                    $crate::store::StoreError,
                > {
                    let row: Option<(String, String, i64)> =
                        sqlx::query_as($crate::store::settlement::sql::SELECT_PAID_UNRECOVERED)
                            .bind(redemption_id.to_string())
                            .fetch_optional(&mut *self.tx)
                            .await
                            .map_err(map_err)?;
                    row.map(|(programme, provider, fen)| {
                        Ok((
                            $crate::store::shared::programme_code(&programme)?,
                            $crate::store::shared::uuid(&provider)?,
                            fen,
                        ))
                    })
                    .transpose()
                }

                async fn insert_recovered(
                    &mut self,
                    redemption_id: uuid::Uuid,
                    amount_fen: i64,
                    sequence: u64,
                ) -> Result<(), $crate::store::StoreError> {
                    sqlx::query(
                        "INSERT INTO recovered_redemptions (redemption_id, amount_fen, sequence) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(redemption_id.to_string())
                    .bind(amount_fen)
                    .bind($crate::store::shared::to_i64(sequence))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn live_placement(
                    &mut self,
                    redemption_id: uuid::Uuid,
                ) -> Result<Option<$crate::store::settlement::LivePlacement>, $crate::store::StoreError>
                {
                    let found = sql::select_by!(
                        &mut *self.tx,
                        sql::SELECT_PLACEMENT.to_string(),
                        redemption_id.to_string(),
                        sql::decode_placement
                    )?;
                    Ok(found.into_iter().next())
                }
            }
        };
    };
}

pub(crate) use impl_settlement_store;

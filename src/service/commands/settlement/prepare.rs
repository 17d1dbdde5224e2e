//! Preparing a settlement run under the lock: checked first, then its
//! lines reconciled and written one provider at a time.

use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::redemption::{Party, relation_between};
use crate::domain::settlement::{self as rules, Candidate, Context, LineState, Period};
use crate::domain::settlement_payout::LinesDigest;
use crate::domain::status::RunStatus;
use crate::domain::{ProgrammeCode, Timestamp};
use crate::ledger::body::{EntryBody, pb};
use crate::store::StoreError;
use crate::store::registry::RegistryTx;
use crate::store::settlement::{CandidateRow, LineFacts, LineRecord, RunRecord, SettlementTx};

use super::facts::*;
use crate::service::error::{CommandError, Failure};
use crate::store::registry::ProviderRecord;

/// A run to prepare: checked under the lock, its lines decided and
/// written by `write`, one provider at a time.
pub struct Preparation {
    run: RunRecord,
    programme: ProgrammeCode,
    period: Period,
}

pub async fn plan_prepare<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    programme: &ProgrammeCode,
    period: &Period,
    prepared_by: Uuid,
    now: Timestamp,
    sequence: u64,
) -> Result<Preparation, Failure> {
    RegistryTx::programme(tx, programme.as_str())
        .await?
        .ok_or(CommandError::NotFound)?;
    let run_id = rules::run_id(programme.as_str(), period);
    if SettlementTx::settlement_run(tx, run_id).await?.is_some() {
        return Err(CommandError::SettlementRunExists { run_id }.into());
    }
    if !tx
        .has_candidates(programme.as_str(), period.end().as_micros())
        .await?
    {
        return Err(CommandError::NothingToSettle.into());
    }
    let run = RunRecord {
        id: run_id,
        programme_code: programme.clone(),
        period_from: period.from().to_string(),
        period_until: period.until().to_string(),
        status: RunStatus::Prepared,
        prepared_by,
        approved_by: None,
        // Set once the lines are written (docs/settlement.md).
        lines_digest: String::new(),
        prepared_sequence: sequence,
        approved_sequence: None,
        prepared_at_us: now.as_micros(),
        approved_at_us: None,
    };
    Ok(Preparation {
        run,
        programme: programme.clone(),
        period: *period,
    })
}

/// Reconciles and writes a run's lines one provider at a time (memory
/// stays that of one provider's lines, whatever the run's size, plus the
/// run-wide counts: per provider, per firm, and the few (provider, firm)
/// pairs that can dominate a firm), then records the run's digest;
/// returns the entry body with the totals.
pub async fn write_preparation<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    preparation: Preparation,
) -> Result<EntryBody, Failure> {
    let Preparation {
        run,
        programme,
        period,
    } = preparation;
    let code = programme.as_str();
    let started = std::time::Instant::now();
    tx.insert_run(&run).await?;
    let per_provider = tx.redemptions_per_provider(code).await?;
    let rules = rules::AnomalyRules::default();
    let context = Context {
        invoice_uses: tx
            .duplicate_invoices()
            .await?
            .into_iter()
            .map(|(code, number, uses)| ((code, number), uses))
            .collect(),
        provider_settled_fen: tx
            .settled_per_provider(period.fiscal_year())
            .await?
            .into_iter()
            .collect(),
        programme_total: per_provider.iter().map(|(_, n)| n).sum(),
        provider_totals: per_provider.into_iter().collect(),
        firm_totals: tx.redemptions_per_firm(code).await?.into_iter().collect(),
        pair_counts: tx
            .dominating_pairs(code, rules.dominating_pair_min())
            .await?
            .into_iter()
            .map(|(provider, firm, count)| ((provider, firm), count))
            .collect(),
        rules,
        ..Context::default()
    };
    let context_read = started.elapsed();
    let mut progress = Progress {
        run_id: run.id,
        context,
        digest: LinesDigest::default(),
        body: pb::SettlementPrepared {
            run_id: run.id.to_string(),
            programme_code: run.programme_code.to_string(),
            period_from: run.period_from.clone(),
            period_until: run.period_until.clone(),
            prepared_by: run.prepared_by.to_string(),
            ..pb::SettlementPrepared::default()
        },
        next_line: 1,
        spent: [std::time::Duration::ZERO; 3],
    };
    // Candidates come in (provider, sequence) order, possibly a provider
    // across two reads: a provider is settled once all its rows are in.
    let end_us = period.end().as_micros();
    let mut cursor = tx.open_candidates(code, end_us).await?;
    let mut group: Vec<CandidateRow> = Vec::new();
    loop {
        let clock = std::time::Instant::now();
        let rows = tx.next_candidates(&mut cursor, code, end_us).await?;
        progress.spent[0] += clock.elapsed();
        let done = rows.is_empty();
        for row in rows {
            if group
                .last()
                .is_some_and(|last| last.candidate.provider_id != row.candidate.provider_id)
            {
                progress
                    .settle_provider(tx, std::mem::take(&mut group))
                    .await?;
            }
            group.push(row);
        }
        if done {
            if !group.is_empty() {
                progress.settle_provider(tx, group).await?;
            }
            break;
        }
    }
    tracing::debug!(
        context_ms = context_read.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        candidates_ms = progress.spent[0].as_millis() as u64,
        provider_reads_ms = progress.spent[1].as_millis() as u64,
        insert_ms = progress.spent[2].as_millis() as u64,
        lines = progress.next_line - 1,
        "settlement run prepared"
    );
    tx.lines_written().await?;
    let digest = progress.digest.finish();
    tx.set_run_digest(run.id, &hex(&digest)).await?;
    let mut body = progress.body;
    body.lines_digest = digest.to_vec();
    Ok(EntryBody::SettlementPrepared(body))
}

/// A run's preparation so far.
struct Progress {
    run_id: Uuid,
    context: Context,
    digest: LinesDigest,
    body: pb::SettlementPrepared,
    next_line: u32,
    /// Reading candidates, reading each provider's registry row, writing
    /// lines.
    spent: [std::time::Duration; 3],
}

impl Progress {
    /// Reconciles one provider's candidates (all of them), writes their
    /// lines, and counts them into the digest and the totals.
    async fn settle_provider<T: RegistryTx + SettlementTx + Send>(
        &mut self,
        tx: &mut T,
        rows: Vec<CandidateRow>,
    ) -> Result<(), Failure> {
        let Some(provider) = rows.first().map(|row| row.candidate.provider_id) else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let provider_record = provider_row(tx, provider).await?;
        self.spent[1] += clock.elapsed();
        let context = &mut self.context;
        let status = provider_record.status;
        context.provider_status = HashMap::from([(provider, status)]);
        context.provider_cap_fen = HashMap::from([(provider, provider_record.annual_cap_fen)]);
        let mut facts: HashMap<Uuid, LineFacts> = HashMap::with_capacity(rows.len());
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .map(|row| {
                let (candidate, line_facts) = candidate(row, &provider_record);
                facts.insert(candidate.redemption_id, line_facts);
                candidate
            })
            .collect();
        let lines = rules::reconcile(candidates, context, self.next_line);
        // The cap counts what this run settles for the provider too.
        let included: i64 = lines
            .iter()
            .filter(|l| l.state == LineState::Included)
            .map(|l| l.subsidy_fen)
            .sum();
        *context.provider_settled_fen.entry(provider).or_default() += included;
        self.digest.update(&lines);
        self.next_line = self.next_line.saturating_add(lines.len() as u32);
        for line in &lines {
            if line.state == LineState::Included {
                self.body.included_count += 1;
                self.body.included_fen += line.subsidy_fen;
            } else {
                self.body.held_count += 1;
                self.body.held_fen += line.subsidy_fen;
            }
        }
        let records = lines
            .iter()
            .map(|line| {
                Ok(LineRecord {
                    run_id: self.run_id,
                    redemption_id: line.redemption_id,
                    line_no: line.line_no,
                    provider_id: line.provider_id,
                    subsidy_fen: line.subsidy_fen,
                    state: line.state,
                    flags_json: flags_json(line),
                    facts: facts
                        .remove(&line.redemption_id)
                        .ok_or_else(|| outside("settlement candidate", line.redemption_id))?,
                })
            })
            .collect::<Result<Vec<LineRecord>, StoreError>>()?;
        let clock = std::time::Instant::now();
        tx.insert_lines(&records).await?;
        self.spent[2] += clock.elapsed();
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The rules' view of a candidate row (with its related party, from the
/// registry as it is today), and the facts its line keeps.
fn candidate(row: CandidateRow, provider: &ProviderRecord) -> (Candidate, LineFacts) {
    let related_party = relation_between(
        &Party {
            uscc: &provider.uscc,
            name: &provider.name,
            legal_representative: Some(&provider.fields.legal_representative),
        },
        &provider.fields.related_parties,
        &Party {
            uscc: &row.enterprise_uscc,
            name: &row.enterprise_name,
            legal_representative: row.enterprise_representative.as_deref(),
        },
    );
    let candidate = Candidate {
        related_party,
        ..row.candidate
    };
    (candidate, row.facts)
}

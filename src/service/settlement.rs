//! Settlement under the chain-head lock: preparing a run (lines and
//! reconciliation flags), resolving a held line, approving (maker-checker,
//! payouts and their postings), and applying the bank's results.
//!
//! Like service::lifecycle, planning only reads: the facts are gathered
//! here and judged by the pure rules in domain::settlement; the writes that
//! follow are guarded so that each changes exactly the rows the plan read.

use crate::service::commands::{
    ApproveSettlement, PrepareSettlement, RecordPayouts, ResolveSettlementLine,
};
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use uuid::Uuid;

use super::commands::{Command, PayoutOutcome};
use super::effects::Failure;
use super::writer::CommandError;
use crate::domain::bank_file::BankOutcome;
use crate::domain::provider::{ProviderFields, ProviderStatus};
use crate::domain::redemption::{Party, relation_between};
use crate::domain::settlement::{
    self as rules, Candidate, Context, FlagCode, InvoiceFacts, Line, LineState, LinesDigest,
    PayoutAmounts, Period, Severity,
};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::registry::{ProviderRecord, RegistryTx};
use crate::store::settlement::{
    CandidateRow, LineFacts, LineRecord, PayoutRecord, ResolutionRecord, RunRecord, SettlementTx,
};
use crate::store::{LedgerTx, StoreError};

/// A settlement command decided under the lock, not yet written.
pub struct SettlementPlan {
    pub postings: Vec<Posting>,
    body: EntryBody,
    writes: Writes,
}

enum Writes {
    Prepare(Box<Preparation>),
    Resolve(ResolutionRecord),
    Approve {
        run_id: Uuid,
        approved_by: Uuid,
        payouts: Vec<PayoutRecord>,
    },
    Payouts {
        run_id: Uuid,
        applied: Vec<(PayoutRecord, BankOutcome, String)>,
    },
}

/// A run to prepare: checked under the lock, its lines decided and
/// written by `write`, one provider at a time.
struct Preparation {
    run: RunRecord,
    programme: ProgrammeCode,
    period: Period,
}

/// A flag as stored on a line (JSON) and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredFlag {
    pub code: String,
    /// blocking or warning.
    pub severity: String,
    pub detail: String,
}

/// The flags of a stored line.
pub fn stored_flags(line: &LineRecord) -> Result<Vec<StoredFlag>, StoreError> {
    serde_json::from_str(&line.flags_json).map_err(|_| {
        StoreError::Corrupt(format!(
            "flags of settlement line {}/{}",
            line.run_id, line.redemption_id
        ))
    })
}

fn flags_json(line: &Line) -> String {
    let flags: Vec<StoredFlag> = line
        .flags
        .iter()
        .map(|flag| StoredFlag {
            code: flag.code.as_str().to_string(),
            severity: flag.code.severity().as_str().to_string(),
            detail: flag.detail.clone(),
        })
        .collect();
    serde_json::to_string(&flags).expect("flags always serialise")
}

/// Plans `command` if it is a settlement command; `None` otherwise.
pub async fn plan<T: LedgerTx + RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    command: &Command,
    now: Timestamp,
    sequence: u64,
) -> Result<Option<SettlementPlan>, Failure> {
    let plan = match command {
        Command::PrepareSettlement(PrepareSettlement {
            programme,
            period,
            prepared_by,
        }) => plan_prepare(tx, programme, period, *prepared_by, now, sequence).await?,
        Command::ResolveSettlementLine(ResolveSettlementLine {
            run_id,
            redemption_id,
            note,
            resolved_by,
        }) => {
            plan_resolve(
                tx,
                *run_id,
                *redemption_id,
                note,
                *resolved_by,
                now,
                sequence,
            )
            .await?
        }
        Command::ApproveSettlement(ApproveSettlement {
            run_id,
            approved_by,
        }) => plan_approve(tx, *run_id, *approved_by, sequence).await?,
        Command::RecordPayouts(RecordPayouts { run_id, results }) => {
            plan_payouts(tx, *run_id, results).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(plan))
}

/// Writes a plan; returns the entry body.
pub async fn write<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    plan: SettlementPlan,
    now: Timestamp,
    sequence: u64,
) -> Result<EntryBody, Failure> {
    match plan.writes {
        Writes::Prepare(preparation) => return write_preparation(tx, *preparation).await,
        Writes::Resolve(resolution) => {
            let moved = tx
                .set_line_state(
                    resolution.run_id,
                    resolution.redemption_id,
                    LineState::Held.as_str(),
                    LineState::Included.as_str(),
                )
                .await?;
            if moved != 1 {
                return Err(outside("settlement line", resolution.redemption_id).into());
            }
            tx.insert_resolution(&resolution).await?;
        }
        Writes::Approve {
            run_id,
            approved_by,
            payouts,
        } => {
            if tx
                .approve_run(run_id, approved_by, sequence, now.as_micros())
                .await?
                != 1
            {
                return Err(outside("settlement run", run_id).into());
            }
            tx.release_lines(run_id, None, LineState::Held.as_str())
                .await?;
            tx.insert_payouts(&payouts).await?;
        }
        Writes::Payouts { run_id, applied } => {
            for (payout, outcome, message) in applied {
                if tx
                    .settle_payout(&payout.reference, outcome.as_str(), &message, sequence)
                    .await?
                    != 1
                {
                    return Err(StoreError::Corrupt(format!(
                        "payout {} changed outside the ledger writer",
                        payout.reference
                    ))
                    .into());
                }
                if outcome == BankOutcome::Failed {
                    tx.release_lines(
                        run_id,
                        Some(payout.provider_id),
                        LineState::Included.as_str(),
                    )
                    .await?;
                }
            }
        }
    }
    Ok(plan.body)
}

fn outside(what: &str, id: Uuid) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} changed outside the ledger writer"))
}

fn party_account(
    kind: AccountKind,
    programme: &ProgrammeCode,
    provider: Uuid,
) -> Result<Account, StoreError> {
    Account::party(kind, programme, &provider.to_string())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn programme_code(text: &str) -> Result<ProgrammeCode, StoreError> {
    ProgrammeCode::parse(text).map_err(|_| StoreError::Corrupt(format!("programme code {text:?}")))
}

fn provider_fields(record: &ProviderRecord) -> Result<ProviderFields, StoreError> {
    serde_json::from_str(&record.fields_json)
        .map_err(|_| StoreError::Corrupt(format!("fields of provider {}", record.id)))
}

/// The registry's view of each provider a run touches.
struct ProviderView {
    record: ProviderRecord,
    fields: ProviderFields,
}

async fn provider_view<T: RegistryTx + Send>(
    tx: &mut T,
    id: Uuid,
) -> Result<ProviderView, Failure> {
    let record = RegistryTx::provider_by_id(tx, id)
        .await?
        .ok_or_else(|| outside("provider", id))?;
    let fields = provider_fields(&record)?;
    Ok(ProviderView { record, fields })
}

async fn plan_prepare<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    programme: &ProgrammeCode,
    period: &Period,
    prepared_by: Uuid,
    now: Timestamp,
    sequence: u64,
) -> Result<SettlementPlan, Failure> {
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
        programme_code: programme.to_string(),
        period_from: period.from().to_string(),
        period_until: period.until().to_string(),
        status: "prepared".into(),
        prepared_by,
        approved_by: None,
        // Set once the lines are written (docs/settlement.md).
        lines_digest: String::new(),
        prepared_sequence: sequence,
        approved_sequence: None,
        prepared_at_us: now.as_micros(),
        approved_at_us: None,
    };
    Ok(SettlementPlan {
        postings: Vec::new(),
        body: EntryBody::SettlementPrepared(pb::SettlementPrepared::default()),
        writes: Writes::Prepare(Box::new(Preparation {
            run,
            programme: programme.clone(),
            period: *period,
        })),
    })
}

/// Reconciles and writes a run's lines one provider at a time (memory
/// stays that of one provider's lines, whatever the run's size, plus the
/// run-wide counts: per provider, per firm, and the few (provider, firm)
/// pairs that can dominate a firm), then records the run's digest;
/// returns the entry body with the totals.
async fn write_preparation<T: RegistryTx + SettlementTx + Send>(
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
            programme_code: run.programme_code.clone(),
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
                .is_some_and(|last| last.provider_id != row.provider_id)
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
        let Some(provider) = rows.first().map(|row| row.provider_id) else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let view = provider_view(tx, provider).await?;
        self.spent[1] += clock.elapsed();
        let context = &mut self.context;
        let status = ProviderStatus::parse(&view.record.status)
            .ok_or_else(|| outside("provider status", provider))?;
        context.provider_status = HashMap::from([(provider, status)]);
        context.provider_cap_fen = HashMap::from([(provider, view.record.annual_cap_fen)]);
        let mut facts: HashMap<Uuid, LineFacts> = HashMap::with_capacity(rows.len());
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .map(|row| {
                let (candidate, line_facts) = candidate(row, &view);
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
                    state: line.state.as_str().to_string(),
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

/// The rules' view of a candidate row, and the facts its line keeps.
fn candidate(row: CandidateRow, view: &ProviderView) -> (Candidate, LineFacts) {
    let related_party = relation_between(
        &Party {
            uscc: &view.record.uscc,
            name: &view.record.name,
            legal_representative: Some(&view.fields.legal_representative),
        },
        &view.fields.related_parties,
        &Party {
            uscc: &row.enterprise_uscc,
            name: &row.enterprise_name,
            legal_representative: row.enterprise_representative.as_deref(),
        },
    );
    let invoice_number = row.invoice_number.clone();
    let invoice = match (row.invoice_code, row.invoice_number, row.invoice_amount_fen) {
        (Some(code), Some(number), Some(amount_fen)) => Some(InvoiceFacts {
            code,
            number,
            amount_fen,
        }),
        _ => None,
    };
    let facts = LineFacts {
        voucher_id: row.voucher_id,
        enterprise_name: row.enterprise_name,
        service_category: row.service_category,
        contract_amount_fen: row.contract_amount_fen,
        invoice_number,
        confirmed_at_us: row.confirmed_at_us,
    };
    let candidate = Candidate {
        redemption_id: row.redemption_id,
        provider_id: row.provider_id,
        enterprise_id: row.enterprise_id,
        redeemed_sequence: row.redeemed_sequence,
        redeemed_at_us: row.redeemed_at_us,
        voucher_issued_at_us: row.voucher_issued_at_us,
        face_value_fen: row.face_value_fen,
        contract_amount_fen: row.contract_amount_fen,
        subsidy_fen: row.subsidy_fen,
        invoice,
        payment_proof: row.payment_proof,
        related_party,
    };
    (candidate, facts)
}

async fn run_in<T: SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    needed: &'static str,
) -> Result<RunRecord, Failure> {
    let run = SettlementTx::settlement_run(tx, run_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if run.status != needed {
        return Err(CommandError::SettlementState {
            status: run.status,
            needed,
        }
        .into());
    }
    Ok(run)
}

async fn plan_resolve<T: RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    redemption_id: Uuid,
    note: &str,
    resolved_by: Uuid,
    now: Timestamp,
    sequence: u64,
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, "prepared").await?;
    let line = tx
        .run_line(run_id, redemption_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if line.state != LineState::Held.as_str() {
        return Err(CommandError::LineNotHeld { state: line.state }.into());
    }
    let blocking: Vec<FlagCode> = stored_flags(&line)?
        .iter()
        .filter_map(|flag| FlagCode::parse(&flag.code))
        .filter(|code| code.severity() == Severity::Blocking)
        .collect();
    let stuck: Vec<String> = blocking
        .iter()
        .filter(|code| !code.resolvable())
        .map(|code| code.as_str().to_string())
        .collect();
    if !stuck.is_empty() {
        return Err(CommandError::FlagsNotResolvable { codes: stuck }.into());
    }
    // A line held for another reason did not count toward the provider's
    // annual cap when the run was prepared: it must fit now.
    let year: i32 = run
        .period_until
        .get(..4)
        .and_then(|year| year.parse().ok())
        .ok_or_else(|| outside("settlement run period", run_id))?;
    let settled = tx
        .settled_per_provider(year)
        .await?
        .into_iter()
        .find(|(provider, _)| *provider == line.provider_id)
        .map_or(0, |(_, fen)| fen);
    let cap = provider_view(tx, line.provider_id)
        .await?
        .record
        .annual_cap_fen;
    if settled + line.subsidy_fen > cap {
        return Err(CommandError::FlagsNotResolvable {
            codes: vec![FlagCode::ProviderAnnualCap.as_str().to_string()],
        }
        .into());
    }
    Ok(SettlementPlan {
        postings: Vec::new(),
        body: EntryBody::SettlementLineResolved(pb::SettlementLineResolved {
            run_id: run_id.to_string(),
            redemption_id: redemption_id.to_string(),
            note: note.to_string(),
            resolved_by: resolved_by.to_string(),
            flag_codes: blocking.iter().map(|c| c.as_str().to_string()).collect(),
            subsidy_fen: line.subsidy_fen,
        }),
        writes: Writes::Resolve(ResolutionRecord {
            run_id,
            redemption_id,
            note: note.to_string(),
            resolved_by,
            sequence,
            resolved_at_us: now.as_micros(),
        }),
    })
}

async fn plan_approve<T: LedgerTx + RegistryTx + SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    approved_by: Uuid,
    sequence: u64,
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, "prepared").await?;
    if run.prepared_by == approved_by {
        return Err(CommandError::SelfApproval.into());
    }
    let programme = programme_code(&run.programme_code)?;
    // A line whose redemption was reversed or frozen left the run then
    // (service::lifecycle), so every included line is still confirmed.
    let held = tx.run_lines_count(run_id, LineState::Held.as_str()).await?;
    let mut totals: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for (provider, fen, count) in tx.included_totals(run_id).await? {
        totals.insert(provider, (fen, count));
    }

    let mut postings = Vec::new();
    let mut payouts = Vec::new();
    let mut bodies = Vec::new();
    for (provider, (gross, lines)) in totals {
        let view = provider_view(tx, provider).await?;
        let receivable = party_account(AccountKind::RecoveryReceivable, &programme, provider)?;
        let open = super::lifecycle::balance_in(tx, &receivable).await?
            - tx.pending_offsets(programme.as_str(), provider).await?;
        let amounts = PayoutAmounts::new(gross, open);
        let payable = party_account(AccountKind::ProviderPayable, &programme, provider)?;
        let settled_now = amounts.net_fen() == 0;
        if settled_now {
            postings.push(Posting::debit(
                party_account(AccountKind::Paid, &programme, provider)?,
                Fen::new(gross),
            ));
            postings.push(Posting::credit(payable, Fen::new(gross)));
            postings.extend(offset_postings(&programme, provider, amounts.offset_fen)?);
        } else {
            postings.push(Posting::debit(
                party_account(AccountKind::PayoutPending, &programme, provider)?,
                Fen::new(gross),
            ));
            postings.push(Posting::credit(payable, Fen::new(gross)));
        }
        let reference = rules::payout_reference(run_id, provider);
        bodies.push(pb::Payout {
            reference: reference.clone(),
            provider_id: provider.to_string(),
            gross_fen: gross,
            offset_fen: amounts.offset_fen,
            net_fen: amounts.net_fen(),
            line_count: lines,
        });
        payouts.push(PayoutRecord {
            reference,
            run_id,
            provider_id: provider,
            payee_name: view.fields.account_name.clone(),
            bank_name: view.fields.bank_name.clone(),
            account_number: view.fields.account_number.clone(),
            gross_fen: gross,
            offset_fen: amounts.offset_fen,
            net_fen: amounts.net_fen(),
            status: if settled_now { "paid" } else { "pending" }.into(),
            bank_message: settled_now.then(|| "全额抵扣追回款 / wholly offset".to_string()),
            updated_sequence: sequence,
        });
    }
    let total_fen = payouts.iter().map(|p| p.gross_fen).sum();
    Ok(SettlementPlan {
        postings,
        body: EntryBody::SettlementApproved(pb::SettlementApproved {
            run_id: run_id.to_string(),
            approved_by: approved_by.to_string(),
            payouts: bodies,
            released_count: held,
            total_fen,
        }),
        writes: Writes::Approve {
            run_id,
            approved_by,
            payouts,
        },
    })
}

/// Recovery taken back from a payment: the receivable shrinks and the
/// money is the programme's again.
fn offset_postings(
    programme: &ProgrammeCode,
    provider: Uuid,
    offset_fen: i64,
) -> Result<Vec<Posting>, StoreError> {
    if offset_fen == 0 {
        return Ok(Vec::new());
    }
    let available = Account::programme(AccountKind::BudgetAvailable, programme)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(vec![
        Posting::debit(available, Fen::new(offset_fen)),
        Posting::credit(
            party_account(AccountKind::RecoveryReceivable, programme, provider)?,
            Fen::new(offset_fen),
        ),
    ])
}

async fn plan_payouts<T: SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    results: &[PayoutOutcome],
) -> Result<SettlementPlan, Failure> {
    let run = run_in(tx, run_id, "approved").await?;
    let programme = programme_code(&run.programme_code)?;
    let payouts: HashMap<String, PayoutRecord> = tx
        .run_payouts(run_id)
        .await?
        .into_iter()
        .map(|p| (p.reference.clone(), p))
        .collect();
    let mut postings = Vec::new();
    let mut applied = Vec::new();
    let mut bodies = Vec::new();
    for result in results {
        let payout = payouts
            .get(&result.reference)
            .ok_or(CommandError::NotFound)?;
        if payout.status != "pending"
            || applied
                .iter()
                .any(|(p, _, _): &(PayoutRecord, _, _)| p.reference == payout.reference)
        {
            return Err(CommandError::PayoutState {
                reference: payout.reference.clone(),
                status: payout.status.clone(),
            }
            .into());
        }
        let gross = Fen::new(payout.gross_fen);
        let pending = party_account(AccountKind::PayoutPending, &programme, payout.provider_id)?;
        match result.outcome {
            BankOutcome::Paid => {
                postings.push(Posting::debit(
                    party_account(AccountKind::Paid, &programme, payout.provider_id)?,
                    gross,
                ));
                postings.push(Posting::credit(pending, gross));
                postings.extend(offset_postings(
                    &programme,
                    payout.provider_id,
                    payout.offset_fen,
                )?);
            }
            BankOutcome::Failed => {
                postings.push(Posting::debit(
                    party_account(AccountKind::ProviderPayable, &programme, payout.provider_id)?,
                    gross,
                ));
                postings.push(Posting::credit(pending, gross));
            }
        }
        bodies.push(pb::PayoutResult {
            reference: payout.reference.clone(),
            provider_id: payout.provider_id.to_string(),
            outcome: result.outcome.as_str().to_string(),
            gross_fen: payout.gross_fen,
            offset_fen: if result.outcome == BankOutcome::Paid {
                payout.offset_fen
            } else {
                0
            },
            bank_message: result.message.clone(),
        });
        applied.push((payout.clone(), result.outcome, result.message.clone()));
    }
    Ok(SettlementPlan {
        postings,
        body: EntryBody::PayoutsRecorded(pb::PayoutsRecorded {
            run_id: run_id.to_string(),
            results: bodies,
        }),
        writes: Writes::Payouts { run_id, applied },
    })
}

//! The files of settlement, shared by the API and the CLI: the bank
//! payment file, the import of the bank's return file (read, matched,
//! recorded in one entry), and the 兑付表 / statement reports (heading
//! from the registry, rows streamed from the database into a renderer on a
//! blocking thread).

use crate::service::commands::RecordPayouts;
use std::io::Write;

use uuid::Uuid;

use super::commands::{Command, PayoutOutcome, Submission};
use super::engine::{CommandError, WriterHandle};
use super::error::UseCaseError;
use crate::domain::bank_file::{self, BankOutcome, Matched, PaymentLine, PayoutFacts};
use crate::domain::status::{PayoutStatus, RunStatus};
use crate::domain::{Fen, Timestamp};
use crate::report::batch::{self, Format, Heading, ReportError, Totals};
use crate::report::stream::blocking_rows;
use crate::store::Store;
use crate::store::settlement::RunRecord;

fn needs_approved(run: &RunRecord) -> Result<(), CommandError> {
    if run.status != RunStatus::Approved {
        return Err(CommandError::SettlementState {
            status: run.status,
            needed: "approved",
        });
    }
    Ok(())
}

/// The bank payment file (CSV) of an approved run: its unpaid payouts.
pub async fn payment_file<S: Store>(store: &S, run: &RunRecord) -> Result<Vec<u8>, UseCaseError> {
    needs_approved(run)?;
    let lines: Vec<PaymentLine> = store
        .payouts(run.id)
        .await?
        .into_iter()
        .filter(|p| p.status == PayoutStatus::Pending)
        .map(|p| PaymentLine {
            payee_name: p.payee_name,
            bank_name: p.bank_name,
            account_number: p.account_number,
            amount: Fen::new(p.net_fen),
            reference: p.reference,
        })
        .collect();
    Ok(bank_file::payment_csv(&lines))
}

/// What importing a return file did.
#[derive(Debug)]
pub struct BankImport {
    /// Each readable line and what it matched.
    pub lines: Vec<(bank_file::ReturnLine, Matched)>,
    /// Lines that could not be read.
    pub errors: Vec<bank_file::ReturnLineError>,
    pub paid: u64,
    pub failed: u64,
    /// The entry that recorded the changes, if anything changed.
    pub sequence: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BankImportError {
    #[error(transparent)]
    File(#[from] bank_file::ReturnFileError),
    #[error(transparent)]
    UseCase(#[from] UseCaseError),
}

/// Reads the bank's return file, matches each line to the run's payouts by
/// reference, account and amount, and records the matching ones (paid or
/// failed) as one entry under `key`. Lines that match nothing, contradict
/// a recorded outcome or repeat are reported and change nothing.
pub async fn import_bank_return<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    key: String,
    run: &RunRecord,
    file: &[u8],
) -> Result<BankImport, BankImportError> {
    needs_approved(run).map_err(UseCaseError::from)?;
    let (lines, errors) = bank_file::read_return_file(file)?;
    let payouts: Vec<PayoutFacts> = store
        .payouts(run.id)
        .await
        .map_err(UseCaseError::from)?
        .into_iter()
        .map(|p| PayoutFacts {
            reference: p.reference,
            account_number: p.account_number,
            net: Fen::new(p.net_fen),
            status: p.status,
        })
        .collect();
    let matched = bank_file::match_returns(&payouts, &lines);
    let results: Vec<PayoutOutcome> = lines
        .iter()
        .zip(&matched)
        .filter_map(|(line, matched)| match matched {
            Matched::Apply(outcome) => Some(PayoutOutcome {
                reference: line.reference.clone(),
                outcome: *outcome,
                message: line.message.clone(),
            }),
            _ => None,
        })
        .collect();
    let count = |outcome| results.iter().filter(|r| r.outcome == outcome).count() as u64;
    let (paid, failed) = (count(BankOutcome::Paid), count(BankOutcome::Failed));
    let sequence = if results.is_empty() {
        None
    } else {
        let receipt = writer
            .submit(Submission {
                actor: actor.to_string(),
                idempotency_key: key,
                command: Command::RecordPayouts(RecordPayouts {
                    run_id: run.id,
                    results,
                }),
            })
            .await
            .map_err(UseCaseError::from)?;
        Some(receipt.sequence)
    };
    Ok(BankImport {
        lines: lines.into_iter().zip(matched).collect(),
        errors,
        paid,
        failed,
        sequence,
    })
}

/// How a document names a user: display name, else username.
async fn shown_name<S: Store>(store: &S, id: Option<Uuid>) -> Result<String, UseCaseError> {
    let Some(id) = id else {
        return Ok("（待审核 / pending）".to_string());
    };
    Ok(store
        .user_by_id(id)
        .await?
        .map_or_else(|| id.to_string(), |user| user.shown_name().to_string()))
}

/// The heading of a run's 兑付表, or of one provider's statement (with its
/// payout: gross, offset, net, reference, status).
pub async fn heading<S: Store>(
    store: &S,
    run: &RunRecord,
    provider: Option<Uuid>,
) -> Result<Heading, UseCaseError> {
    let programme_name = match store.programme(run.programme_code.as_str()).await? {
        Some(record) => record.terms.name,
        None => String::new(),
    };
    let date = run
        .approved_at_us
        .map_or_else(Timestamp::now, Timestamp::from_micros)
        .cst_date()
        .to_string();
    let mut heading = Heading {
        title: "服务补贴券兑付结算表".into(),
        facts: vec![
            (
                "项目".into(),
                format!("{} {programme_name}", run.programme_code),
            ),
            (
                "结算期间".into(),
                format!("{} 至 {}", run.period_from, run.period_until),
            ),
            ("批次".into(), run.id.to_string()),
            ("状态".into(), run.status.name_zh().into()),
        ],
        summary: Vec::new(),
        prepared_by: shown_name(store, Some(run.prepared_by)).await?,
        prepared_on: Timestamp::from_micros(run.prepared_at_us)
            .cst_date()
            .to_string(),
        approved_by: shown_name(store, run.approved_by).await?,
        approved_on: run
            .approved_at_us
            .map(|us| Timestamp::from_micros(us).cst_date().to_string())
            .unwrap_or_default(),
        date,
    };
    let Some(provider_id) = provider else {
        return Ok(heading);
    };
    let record = store
        .provider_by_id(provider_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    heading.title = "服务机构补贴结算对账单".into();
    heading.facts.insert(
        0,
        (
            "服务机构".into(),
            format!("{} {}", record.name, record.uscc),
        ),
    );
    if let Some(payout) = store
        .payouts(run.id)
        .await?
        .into_iter()
        .find(|p| p.provider_id == provider_id)
    {
        heading.summary = vec![
            ("应付补贴".into(), Fen::new(payout.gross_fen).to_string()),
            ("抵扣追回款".into(), Fen::new(payout.offset_fen).to_string()),
            ("实付金额".into(), Fen::new(payout.net_fen).to_string()),
            ("付款参考号".into(), payout.reference),
            ("付款状态".into(), payout.status.name_zh().into()),
        ];
    }
    Ok(heading)
}

/// Renders a run's included lines (of one provider if given) into `out` on
/// a blocking thread, the rows streamed from the database through a
/// bounded channel; `on_row` sees the count of rows written so far.
pub fn spawn_render<S: Store, W: Write + Send + 'static>(
    store: &S,
    run_id: Uuid,
    provider: Option<Uuid>,
    format: Format,
    heading: Heading,
    out: W,
    mut on_row: impl FnMut(u64) + Send + 'static,
) -> tokio::task::JoinHandle<Result<(Totals, W), ReportError>> {
    // Chunks of rows (`SettlementStore::stream_batch_rows`): four in flight.
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let store = store.clone();
    tokio::spawn(async move { store.stream_batch_rows(run_id, provider, sender).await });
    tokio::task::spawn_blocking(move || {
        let mut out = out;
        let mut written = 0;
        let rows = blocking_rows(receiver).inspect(|_| {
            written += 1;
            on_row(written);
        });
        let totals = batch::render(format, &heading, rows, &mut out)?;
        out.flush()?;
        Ok((totals, out))
    })
}

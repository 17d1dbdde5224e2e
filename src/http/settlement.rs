//! Settlement endpoints: prepare a run, review its lines and flags, resolve
//! held lines, approve (another finance user), export the bank payment
//! file, import the bank's return file, and download the 兑付表 and
//! provider statements. Every step that changes something is one ledger
//! command (service::settlement plans it under the lock).

use crate::service::commands::Envelope;
use crate::service::settlement;
use axum::Extension;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Auth, Authenticated};
use super::idempotency_key::LedgerKey;
use super::json::{ApiJson, ApiQuery};
use super::{ApiError, AppState};
use crate::domain::bank_file::{self, Matched};
use crate::domain::settlement::{self as rules, Period};
use crate::domain::{ProgrammeCode, Role};
use crate::report::batch::{Format, Heading};
use crate::report::stream::{ChannelWriter, body_stream};
use crate::service::settlement_files::{self as files, BankImportError};
use crate::store::Store;
use crate::store::settlement::RunRecord;

pub use super::settlement_views::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareSettlementRequest {
    /// Programme code, e.g. ZS2026-01.
    pub programme: String,
    /// `2026Q3`, `2026H1`, `2026`, or `2026-07-01..2026-09-30` (UTC+8 dates,
    /// one fiscal year).
    pub period: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveLineRequest {
    /// Why the line may be paid despite its flags (recorded in the ledger).
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankReturnLineView {
    /// Line number in the uploaded file (the header is line 1).
    pub line: usize,
    pub reference: String,
    /// paid, failed, already_recorded, conflict, unknown_reference,
    /// account_mismatch, amount_mismatch or repeated_reference.
    pub result: String,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankReturnErrorView {
    pub line: usize,
    pub message: String,
    pub message_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankReturnReport {
    pub lines: Vec<BankReturnLineView>,
    /// Lines that could not be read at all.
    pub errors: Vec<BankReturnErrorView>,
    /// Payouts marked paid, and failed, by this file.
    pub paid: u64,
    pub failed: u64,
    /// The ledger entry that recorded them, if any changed.
    pub sequence: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinesQuery {
    after: Option<u32>,
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    programme: Option<String>,
}

fn period_invalid(error: rules::PeriodError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "period_invalid",
        format!("The period is not valid: {error}."),
        "结算期间无效：应为季度（2026Q3）、半年（2026H1）、全年（2026）或同一年度内的日期范围（2026-07-01..2026-09-30）。",
    )
}

async fn run_or_404<S: Store>(state: &AppState<S>, id: &str) -> Result<RunRecord, ApiError> {
    let id = ApiError::id_or_404(id)?;
    state
        .store
        .settlement_run(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn prepare<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    ApiJson(request): ApiJson<PrepareSettlementRequest>,
) -> Result<Response, ApiError> {
    let programme =
        ProgrammeCode::parse(request.programme.trim()).map_err(|_| ApiError::not_found())?;
    let period = Period::parse(&request.period).map_err(period_invalid)?;
    let by = Envelope::new(caller.principal.actor(), key);
    let user = caller.principal.user_id;
    settlement::prepare(&state.writer, by, programme.clone(), period, user).await?;
    let run = state
        .store
        .settlement_run(rules::run_id(programme.as_str(), &period))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok((
        StatusCode::CREATED,
        Json(run_view(&state.store, run).await?),
    )
        .into_response())
}

pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<SettlementRunList>, ApiError> {
    let runs = state
        .store
        .settlement_runs(query.programme.as_deref().map(str::trim))
        .await?;
    let mut views = Vec::with_capacity(runs.len());
    for run in runs {
        views.push(run_view(&state.store, run).await?);
    }
    Ok(Json(SettlementRunList { runs: views }))
}

pub async fn get<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<SettlementRunView>, ApiError> {
    let run = run_or_404(&state, &id).await?;
    Ok(Json(run_view(&state.store, run).await?))
}

pub async fn lines<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LinesQuery>,
) -> Result<Json<SettlementLineList>, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let page = state
        .store
        .settlement_lines(run.id, query.after.unwrap_or(0), limit)
        .await?;
    let next_after = (page.len() == limit as usize)
        .then(|| page.last().map(|l| l.line_no))
        .flatten();
    Ok(Json(SettlementLineList {
        lines: {
            let names = provider_names(&state.store, &page).await?;
            page.iter()
                .map(|line| line_view(line, &names))
                .collect::<Result<_, _>>()?
        },
        next_after,
    }))
}

pub async fn resolve<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path((id, redemption)): Path<(String, String)>,
    ApiJson(request): ApiJson<ResolveLineRequest>,
) -> Result<Json<SettlementRunView>, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let redemption_id = ApiError::id_or_404(&redemption)?;
    let note = request.note.trim();
    if note.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "field_required",
            "note must say why the line may be paid.",
            "note（处理说明）不能为空，请说明可以支付的理由。",
        ));
    }
    settlement::resolve_line(
        &state.writer,
        Envelope::new(caller.principal.actor(), key),
        run.id,
        redemption_id,
        note.to_string(),
        caller.principal.user_id,
    )
    .await?;
    let run = run_or_404(&state, &id).await?;
    Ok(Json(run_view(&state.store, run).await?))
}

pub async fn approve<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
) -> Result<Json<SettlementRunView>, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let by = Envelope::new(caller.principal.actor(), key);
    settlement::approve(&state.writer, by, run.id, caller.principal.user_id).await?;
    let run = run_or_404(&state, &id).await?;
    Ok(Json(run_view(&state.store, run).await?))
}

fn attachment(media_type: &'static str, filename: String, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, media_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_string()
}

/// The bank payment file: one line per payout still to be paid.
pub async fn payment_file<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let file = files::payment_file(&state.store, &run).await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("payment-{}-{}.csv", run.programme_code, short(run.id)),
        Body::from(file),
    ))
}

/// The bank's return file (CSV body): each line matched to a payout by
/// reference, account and amount; matching ones are recorded in one entry.
pub async fn bank_return<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Extension(LedgerKey(key)): Extension<LedgerKey>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<BankReturnReport>, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let actor = caller.principal.actor();
    let imported = files::import_bank_return(&state.store, &state.writer, &actor, key, &run, &body)
        .await
        .map_err(|error| match error {
            BankImportError::File(error) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bank_file_invalid",
                format!("The bank file cannot be read: {error}. It needs a header with reference, account, amount and status columns."),
                "无法读取银行回单文件：须有表头，包含业务参考号、收款账号、金额、状态列。",
            ),
            BankImportError::UseCase(error) => error.into(),
        })?;
    Ok(Json(BankReturnReport {
        lines: imported
            .lines
            .iter()
            .map(|(line, matched)| {
                let (message, message_zh) = match_message(matched);
                BankReturnLineView {
                    line: line.line,
                    reference: line.reference.clone(),
                    result: matched.code().to_string(),
                    message,
                    message_zh,
                }
            })
            .collect(),
        errors: imported
            .errors
            .into_iter()
            .map(|e| BankReturnErrorView {
                line: e.line,
                message: e.message,
                message_zh: e.message_zh,
            })
            .collect(),
        paid: imported.paid,
        failed: imported.failed,
        sequence: imported.sequence,
    }))
}

fn match_message(matched: &Matched) -> (String, String) {
    let (en, zh) = match matched {
        Matched::Apply(bank_file::BankOutcome::Paid) => {
            ("Recorded as paid.".to_string(), "已记为支付成功。".to_string())
        }
        Matched::Apply(bank_file::BankOutcome::Failed) => (
            "Recorded as failed: the amount is payable again and its lines can be settled in a later run.".to_string(),
            "已记为支付失败：该款项恢复为应付，相关明细可在以后的批次中重新结算。".to_string(),
        ),
        Matched::AlreadyRecorded => (
            "Already recorded: nothing changed.".to_string(),
            "此前已记录，无变更。".to_string(),
        ),
        Matched::Conflict { status } => (
            format!("The payout is already {status}; this line contradicts it and was not applied."),
            format!(
                "该付款已是“{}”状态，本行与之矛盾，未处理。",
                status.name_zh()
            ),
        ),
        Matched::Unknown => (
            "No payout of this run has this reference.".to_string(),
            "本批次没有此业务参考号的付款。".to_string(),
        ),
        Matched::Mismatch { field: "account" } => (
            "The account differs from the payout's: not applied.".to_string(),
            "收款账号与付款记录不符，未处理。".to_string(),
        ),
        Matched::Mismatch { .. } => (
            "The amount differs from the payout's: not applied.".to_string(),
            "金额与付款记录不符，未处理。".to_string(),
        ),
        Matched::Repeated => (
            "The reference appears earlier in this file: not applied twice.".to_string(),
            "该业务参考号在文件中重复出现，未重复处理。".to_string(),
        ),
    };
    (en, zh)
}

fn report_format(file: &str, stem: &str) -> Result<Format, ApiError> {
    file.strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(Format::parse)
        .ok_or_else(ApiError::not_found)
}

/// A PDF is laid out whole before its first byte (its pages say 共 N
/// 页), so one holding more than `batch_pdf::MAX_LINES` lines is refused
/// up front: 422 `report_too_long_for_pdf`.
async fn pdf_fits<S: Store>(
    state: &AppState<S>,
    run_id: Uuid,
    provider: Option<Uuid>,
    format: Format,
) -> Result<(), ApiError> {
    let limit = crate::report::batch_pdf::MAX_LINES;
    if format != Format::Pdf || state.store.included_line_count(run_id, provider).await? <= limit {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "report_too_long_for_pdf",
        format!("A PDF holds at most {limit} lines; download the .xlsx or .csv of this report."),
        format!("PDF 最多容纳 {limit} 行，请下载本报表的 XLSX 或 CSV 版本。"),
    ))
}

/// Streams the rendered report into the response body as it is written.
fn stream_report<S: Store>(
    state: &AppState<S>,
    run_id: Uuid,
    provider: Option<Uuid>,
    format: Format,
    heading: Heading,
    filename: String,
) -> Response {
    let (byte_sender, byte_receiver) = mpsc::channel(8);
    let writer = ChannelWriter::new(byte_sender.clone());
    let render = files::spawn_render(
        &state.store,
        run_id,
        provider,
        format,
        heading,
        writer,
        |_| {},
    );
    tokio::spawn(async move {
        let failed = match render.await {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::error!(error = %failed, %run_id, "settlement report failed");
        let _ = byte_sender.send(Err(std::io::Error::other(failed))).await;
    });
    attachment(
        format.media_type(),
        filename,
        Body::from_stream(body_stream(byte_receiver)),
    )
}

/// The batch's 兑付/结算表: `batch.xlsx`, `batch.csv` or `batch.pdf`.
pub async fn report<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let format = report_format(&file, "batch")?;
    pdf_fits(&state, run.id, None, format).await?;
    let heading = files::heading(&state.store, &run, None).await?;
    let filename = format!(
        "settlement-{}-{}.{}",
        run.programme_code,
        short(run.id),
        format.extension()
    );
    Ok(stream_report(
        &state, run.id, None, format, heading, filename,
    ))
}

/// One provider's statement in a run: `statement.csv|xlsx|pdf`. Provider
/// staff see only their own.
pub async fn statement<S: Store>(
    State(state): State<AppState<S>>,
    Auth(caller): Auth,
    Path((id, provider, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let run = run_or_404(&state, &id).await?;
    let provider_id = ApiError::id_or_404(&provider)?;
    if !may_see_provider(&caller, provider_id) {
        return Err(ApiError::not_found());
    }
    let format = report_format(&file, "statement")?;
    pdf_fits(&state, run.id, Some(provider_id), format).await?;
    let heading = files::heading(&state.store, &run, Some(provider_id)).await?;
    let filename = format!(
        "statement-{}-{}-{}.{}",
        run.programme_code,
        short(run.id),
        short(provider_id),
        format.extension()
    );
    Ok(stream_report(
        &state,
        run.id,
        Some(provider_id),
        format,
        heading,
        filename,
    ))
}

pub(super) fn may_see_provider(caller: &Authenticated, provider_id: Uuid) -> bool {
    match caller.principal.role {
        Role::Provider => caller.principal.party_id == Some(provider_id),
        Role::Admin | Role::Finance | Role::Auditor => true,
        Role::Enterprise => false,
    }
}

//! Settlement rows: runs, their lines, flag resolutions and payouts, as the
//! ledger's entries left them. Written only by the ledger writer, in the
//! transaction of the entry that changes them; read by the reports.

pub(super) mod sql;
pub(super) mod store_impl;

use std::future::Future;

use uuid::Uuid;

use super::StoreError;
use crate::domain::ProgrammeCode;
use crate::domain::settlement::Candidate;
use crate::domain::status::{LineState, PayoutStatus, RunStatus};

/// A `settlement_runs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: Uuid,
    pub programme_code: ProgrammeCode,
    pub period_from: String,
    pub period_until: String,
    pub status: RunStatus,
    pub prepared_by: Uuid,
    pub approved_by: Option<Uuid>,
    pub lines_digest: String,
    pub prepared_sequence: u64,
    pub approved_sequence: Option<u64>,
    pub prepared_at_us: i64,
    pub approved_at_us: Option<i64>,
}

/// A `settlement_lines` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub run_id: Uuid,
    pub redemption_id: Uuid,
    pub line_no: u32,
    pub provider_id: Uuid,
    pub subsidy_fen: i64,
    pub state: LineState,
    /// JSON array of {code, severity, detail}.
    pub flags_json: String,
    pub facts: LineFacts,
}

/// The facts of a line's redemption that the 兑付表 shows, copied onto the
/// line when its run is prepared (migration 0013): exporting a batch reads
/// its lines and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts {
    pub voucher_id: Uuid,
    pub enterprise_name: String,
    pub service_category: String,
    pub contract_amount_fen: i64,
    pub invoice_number: Option<String>,
    pub confirmed_at_us: Option<i64>,
}

/// A `payouts` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRecord {
    pub reference: String,
    pub run_id: Uuid,
    pub provider_id: Uuid,
    pub payee_name: String,
    pub bank_name: String,
    pub account_number: String,
    pub gross_fen: i64,
    pub offset_fen: i64,
    pub net_fen: i64,
    pub status: PayoutStatus,
    pub bank_message: Option<String>,
    pub updated_sequence: u64,
}

/// A `settlement_resolutions` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionRecord {
    pub run_id: Uuid,
    pub redemption_id: Uuid,
    pub note: String,
    pub resolved_by: Uuid,
    pub sequence: u64,
    pub resolved_at_us: i64,
}

/// A confirmed redemption not in any batch: the rules' view of it (its
/// related party is left for the service to find, from the registry), who
/// the enterprise is, and what its line will keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRow {
    pub candidate: Candidate,
    pub enterprise_uscc: String,
    pub enterprise_name: String,
    pub enterprise_representative: Option<String>,
    pub facts: LineFacts,
}

/// Where reading a run's candidates has got to.
#[derive(Debug)]
pub enum CandidateCursor {
    /// One query per provider, these in order (SQLite).
    Providers { providers: Vec<Uuid>, next: usize },
    /// A server-side cursor in the transaction (Postgres).
    Server { open: bool },
}

/// Where a redemption is in settlement, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePlacement {
    pub run_id: Uuid,
    pub run_status: RunStatus,
    pub state: LineState,
}

/// One line of a batch's 兑付表, joined with the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub line_no: u32,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub provider_uscc: String,
    /// The provider's registry fields (bank, account name and number).
    pub provider_fields_json: String,
    pub voucher_id: Uuid,
    pub enterprise_name: String,
    pub service_category: String,
    pub contract_amount_fen: i64,
    pub subsidy_fen: i64,
    pub invoice_number: Option<String>,
    pub confirmed_at_us: Option<i64>,
}

/// What a programme's rows add up to, per group (district, zone,
/// category or month): issued face value, redeemed, settled and paid
/// subsidy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UtilisationRow {
    pub group: String,
    pub issued_fen: i64,
    pub redeemed_fen: i64,
    pub settled_fen: i64,
    pub paid_fen: i64,
}

/// How to group utilisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtilisationGroup {
    District,
    Zone,
    Category,
    Month,
}

/// Reads for the API and the reports.
pub trait SettlementStore {
    fn settlement_run(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> + Send;

    /// Runs, newest period first; of one programme if given.
    fn settlement_runs(
        &self,
        programme: Option<&str>,
    ) -> impl Future<Output = Result<Vec<RunRecord>, StoreError>> + Send;

    /// A run's lines in line order (a page from `after_line`).
    fn settlement_lines(
        &self,
        run_id: Uuid,
        after_line: u32,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LineRecord>, StoreError>> + Send;

    /// Where a redemption is in settlement: its line not released from a
    /// run, if any (a read outside the writer, for the timeline).
    fn redemption_placement(
        &self,
        redemption_id: Uuid,
    ) -> impl Future<Output = Result<Option<LivePlacement>, StoreError>> + Send;

    /// How many of the run's lines are included (of one provider if given):
    /// what a 兑付表 or statement will hold.
    fn included_line_count(
        &self,
        run_id: Uuid,
        provider: Option<Uuid>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Per line state: how many lines and their subsidy.
    fn settlement_line_totals(
        &self,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(LineState, i64, i64)>, StoreError>> + Send;

    /// Recovery receivable taken back from paid payouts of a programme.
    fn recovered_fen(
        &self,
        programme: &str,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    fn settlement_resolutions(
        &self,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<ResolutionRecord>, StoreError>> + Send;

    fn payouts(
        &self,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PayoutRecord>, StoreError>> + Send;

    /// The payout with bank reference `reference`.
    fn payout(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<PayoutRecord>, StoreError>> + Send;

    /// One provider's payouts across every run, newest reference first.
    fn provider_payouts(
        &self,
        provider_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PayoutRecord>, StoreError>> + Send;

    /// Streams a run's included lines (or one provider's) in line order
    /// into `sink`, in chunks of at most a few thousand rows (a row at a
    /// time, the hand-off between threads cost more than the rows; each
    /// backend picks its size), without holding them all: the channel's
    /// bound times the chunk size is the memory used. An error
    /// comes after the rows read before it. Stops early if the receiver
    /// goes away.
    fn stream_batch_rows(
        &self,
        run_id: Uuid,
        provider: Option<Uuid>,
        sink: tokio::sync::mpsc::Sender<Result<Vec<BatchRow>, StoreError>>,
    ) -> impl Future<Output = ()> + Send;

    /// Totals of a programme's rows per group.
    fn utilisation(
        &self,
        programme: &str,
        group: UtilisationGroup,
    ) -> impl Future<Output = Result<Vec<UtilisationRow>, StoreError>> + Send;
}

/// Settlement inside the writer's append transaction.
pub trait SettlementTx {
    fn settlement_run(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> + Send;

    /// Whether the programme has confirmed redemptions redeemed before
    /// `end_us` that are in no batch — the period's, and any left from
    /// earlier ones (confirmed late, or released by a failed payout).
    fn has_candidates(
        &mut self,
        programme: &str,
        end_us: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Starts reading those redemptions in (provider, sequence) order.
    fn open_candidates(
        &mut self,
        programme: &str,
        end_us: i64,
    ) -> impl Future<Output = Result<CandidateCursor, StoreError>> + Send;

    /// The next candidates in order (empty when there are no more). A
    /// provider's candidates may span two calls.
    fn next_candidates(
        &mut self,
        cursor: &mut CandidateCursor,
        programme: &str,
        end_us: i64,
    ) -> impl Future<Output = Result<Vec<CandidateRow>, StoreError>> + Send;

    /// Unreversed redemptions of the programme per provider.
    fn redemptions_per_provider(
        &mut self,
        programme: &str,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>, StoreError>> + Send;

    /// Unreversed redemptions of the programme per enterprise.
    fn redemptions_per_firm(
        &mut self,
        programme: &str,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>, StoreError>> + Send;

    /// Unreversed redemptions of the programme per (provider, firm), for
    /// the pairs with at least `min_count` of them (one aggregate over the
    /// programme; the pairs that can dominate a firm are few).
    fn dominating_pairs(
        &mut self,
        programme: &str,
        min_count: i64,
    ) -> impl Future<Output = Result<Vec<(Uuid, Uuid, i64)>, StoreError>> + Send;

    fn set_run_digest(
        &mut self,
        run_id: Uuid,
        digest: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Invoices (code, number) used by more than one redemption that is
    /// not reversed, over every programme, with their use count.
    fn duplicate_invoices(
        &mut self,
    ) -> impl Future<Output = Result<Vec<(String, String, i64)>, StoreError>> + Send;

    /// Subsidy per provider in lines that are in a batch, for redemptions
    /// of the fiscal year.
    fn settled_per_provider(
        &mut self,
        fiscal_year: i32,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>, StoreError>> + Send;

    fn insert_run(
        &mut self,
        run: &RunRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn insert_lines(
        &mut self,
        lines: &[LineRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Called once a run's lines are all written. On Postgres it refreshes
    /// the planner's statistics of `settlement_lines`: a run adds up to
    /// millions of rows at once, and until autovacuum's next ANALYZE the
    /// planner would take them for a handful and plan the run's report as a
    /// nested loop that re-reads every line once per provider (measured:
    /// 4.7 s for 200,000 lines). SQLite keeps no statistics here (its
    /// ANALYZE would read every row) and plans from its indexes.
    fn lines_written(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn run_line(
        &mut self,
        run_id: Uuid,
        redemption_id: Uuid,
    ) -> impl Future<Output = Result<Option<LineRecord>, StoreError>> + Send;

    /// How many of the run's lines are in `state`.
    fn run_lines_count(
        &mut self,
        run_id: Uuid,
        state: &str,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Per provider: subsidy and number of the run's included lines.
    fn included_totals(
        &mut self,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64, i64)>, StoreError>> + Send;

    /// Moves one line from `from` to `to`; returns rows changed.
    fn set_line_state(
        &mut self,
        run_id: Uuid,
        redemption_id: Uuid,
        from: LineState,
        to: LineState,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Releases every line of the run in `from` (of one provider if given).
    fn release_lines(
        &mut self,
        run_id: Uuid,
        provider: Option<Uuid>,
        from: LineState,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn insert_resolution(
        &mut self,
        resolution: &ResolutionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// prepared → approved; returns rows changed.
    fn approve_run(
        &mut self,
        run_id: Uuid,
        approved_by: Uuid,
        sequence: u64,
        at_us: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    fn insert_payouts(
        &mut self,
        payouts: &[PayoutRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn run_payouts(
        &mut self,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<PayoutRecord>, StoreError>> + Send;

    /// Offsets reserved by a provider's pending payouts in a programme.
    fn pending_offsets(
        &mut self,
        programme: &str,
        provider_id: Uuid,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// pending → paid or failed; returns rows changed.
    fn settle_payout(
        &mut self,
        reference: &str,
        to: &str,
        message: &str,
        sequence: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A redemption's settled line whose payout was paid and that was not
    /// recovered yet: (programme, provider, subsidy).
    fn paid_unrecovered(
        &mut self,
        redemption_id: Uuid,
    ) -> impl Future<Output = Result<Option<(ProgrammeCode, Uuid, i64)>, StoreError>> + Send;

    fn insert_recovered(
        &mut self,
        redemption_id: Uuid,
        amount_fen: i64,
        sequence: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn live_placement(
        &mut self,
        redemption_id: Uuid,
    ) -> impl Future<Output = Result<Option<LivePlacement>, StoreError>> + Send;
}

//! Verifies a stored ledger end to end (what `voucher-ledger verify` runs).
//!
//! Reads the entries page by page (memory stays bounded however long the
//! ledger is), feeds them to the pure `ChainVerifier`, then checks the chain
//! head row and the balance projection, and compares the vouchers,
//! redemptions and settlement tables with what the entries say
//! (`VoucherReplay`, `SettlementReplay`), and that every voucher,
//! redemption and settlement line names rows that exist and still carries
//! their facts where it copied them (`Store::broken_references`), and that
//! the Merkle tree is the entries' (`verify_tree`).

use std::collections::{HashMap, HashSet};

use ed25519_dalek::VerifyingKey;

use super::verify_offline::{OfflineCheck, OfflineProblem};
use super::verify_personal::PersonalRequests;
use crate::domain::status::{LineState, PayoutStatus, RunStatus};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::checkpoint::key_id_for;
use crate::ledger::hold_replay::{HoldReplay, HoldState};
use crate::ledger::settlement_replay::SettlementReplay;
use crate::ledger::verify::{ChainVerifier, Problem, StoredHead, Summary};
use crate::ledger::voucher_replay::VoucherReplay;
use crate::store::hold::HOLD_PAGE_MAX;
use crate::store::redemption::{REDEMPTION_PAGE_MAX, RedemptionFilter};
use crate::store::voucher::{VOUCHER_PAGE_MAX, VoucherFilter};
use crate::store::{ENTRY_PAGE_MAX, Store, StoreError};

use super::verify_tree::{TreeCheck, TreeError};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The ledger is not what it claims to be.
    #[error("{0}")]
    Problem(#[from] Problem),
    /// A projection (the vouchers or redemptions table) disagrees with
    /// what the entries say.
    #[error("{0}")]
    Projection(String),
    /// The ledger could not be read (or did not decode) at all.
    #[error("cannot read the ledger: {0}")]
    Store(#[from] StoreError),
}

impl From<TreeError> for VerifyError {
    fn from(error: TreeError) -> Self {
        match error {
            TreeError::Mismatch(what) => VerifyError::Projection(what),
            TreeError::Store(error) => VerifyError::Store(error),
        }
    }
}

impl VerifyError {
    /// The first bad sequence number, when there is one.
    pub fn sequence(&self) -> Option<u64> {
        match self {
            VerifyError::Problem(problem) => problem.sequence(),
            VerifyError::Store(_) | VerifyError::Projection(_) => None,
        }
    }
}

/// Verifies everything. `trusted_keys`, if not empty, replaces the keys
/// published in the database: an auditor who fetched the ledger's public
/// key out of band does not have to trust the database's copy.
pub async fn verify_store<S: Store>(
    store: &S,
    trusted_keys: &[VerifyingKey],
) -> Result<Summary, VerifyError> {
    verify_witnessed(store, trusted_keys, &[]).await
}

/// `verify_store`, and with `witnesses` (name, cosignature key) not empty:
/// every stored cosignature by them verifies, and each of them cosigned
/// the newest tree checkpoint (`verify --witness-key`).
pub async fn verify_witnessed<S: Store>(
    store: &S,
    trusted_keys: &[VerifyingKey],
    witnesses: &[(String, VerifyingKey)],
) -> Result<Summary, VerifyError> {
    let keys: HashMap<String, VerifyingKey> = if trusted_keys.is_empty() {
        let mut keys = HashMap::new();
        for record in store.ledger_keys().await? {
            keys.insert(record.key_id, record.public_key);
        }
        keys
    } else {
        trusted_keys
            .iter()
            .map(|key| (key_id_for(key), *key))
            .collect()
    };
    let checkpoints = store.checkpoints().await?;
    // A pinned key must vouch for something: at least one checkpoint
    // signed by it (else an attacker who rewrote the whole ledger and
    // dropped the checkpoints would pass).
    if !trusted_keys.is_empty() && !checkpoints.iter().any(|c| keys.contains_key(&c.key_id)) {
        return Err(VerifyError::Projection(
            "no checkpoint is signed by the trusted key: it vouches for nothing".into(),
        ));
    }
    let tree_keys: Vec<VerifyingKey> = keys.values().copied().collect();
    let mut offline = OfflineCheck::new(keys.clone());
    let mut personal = PersonalRequests::default();
    let mut verifier = ChainVerifier::new(checkpoints, keys);
    // What moved `paid` accounts beyond the payouts table: recoveries
    // (out) and manual journals (either way), by account name.
    let mut paid_beyond_payouts: HashMap<String, i64> = HashMap::new();
    let mut replay = VoucherReplay::default();
    let mut holds = HoldReplay::default();
    let mut settlement = SettlementReplay::default();
    let mut tree = TreeCheck::start(store, tree_keys, witnesses.to_vec()).await?;
    let mut next = 1;
    loop {
        let page = store.entries(next, ENTRY_PAGE_MAX).await?;
        let Some(last) = page.last().map(|entry| entry.sequence) else {
            break;
        };
        for entry in &page {
            let body = verifier.push(entry)?;
            tree.push(entry);
            note_paid_beyond_payouts(&body, &entry.postings, &mut paid_beyond_payouts);
            replay
                .apply(&body)
                .and_then(|()| holds.apply(entry.sequence, &body))
                .and_then(|()| settlement.apply(&body, &entry.postings))
                .map_err(|problem| {
                    VerifyError::Projection(format!("sequence {}: {problem}", entry.sequence))
                })?;
            offline.push(store, entry.sequence, &body, &replay).await?;
            personal.apply(&body);
        }
        tree.compare(store).await?;
        next = last + 1;
    }
    let head = store.head().await?;
    let balances = store.balances().await?;
    let recomputed: HashMap<String, i64> = verifier
        .balances()
        .map(|(name, fen)| (name.to_string(), fen))
        .collect();
    let summary = verifier.finish(
        Some(StoredHead {
            sequence: head.sequence,
            hash: head.hash,
            recorded_at_us: head.recorded_at.as_micros(),
        }),
        &balances,
    )?;
    tree.finish(store).await?;
    check_projections(store, &replay).await?;
    check_holds(store, &holds).await?;
    offline.finish(store).await?;
    if let Some(difference) = personal.check(store).await? {
        return Err(mismatch(difference));
    }
    if let Some(first) = store.broken_references().await?.into_iter().next() {
        return Err(mismatch(first));
    }
    check_settlement(store, &settlement, &replay.redemptions).await?;
    check_mirrors(store, &recomputed, &paid_beyond_payouts).await?;
    Ok(summary)
}

impl From<OfflineProblem> for VerifyError {
    fn from(problem: OfflineProblem) -> VerifyError {
        match problem {
            OfflineProblem::Store(error) => error.into(),
            OfflineProblem::Projection(what) => VerifyError::Projection(what),
        }
    }
}

fn mismatch(what: String) -> VerifyError {
    VerifyError::Projection(what)
}

/// Every `voucher_holds` row is a hold the entries placed, as they left it
/// (voucher, provider, expiry, start and end), and every such hold has its
/// row.
async fn check_holds<S: Store>(store: &S, replay: &HoldReplay) -> Result<(), VerifyError> {
    let mut rows = 0;
    let mut after = String::new();
    loop {
        let page = store.holds_after(&after, HOLD_PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.presentation_nonce.clone();
        for row in &page {
            rows += 1;
            let nonce = &row.presentation_nonce;
            let expected = replay.holds.get(nonce).ok_or_else(|| {
                mismatch(format!("hold {nonce} has a row but no entry placed it"))
            })?;
            let table = HoldState {
                voucher_id: row.voucher_id.to_string(),
                provider_id: row.provider_id.to_string(),
                expires_at_us: row.expires_at_us,
                held_sequence: row.held_sequence,
                ended_sequence: row.ended_sequence,
            };
            if table != *expected {
                return Err(mismatch(format!(
                    "hold {nonce}: the table says {table:?}, the entries say {expected:?}"
                )));
            }
        }
    }
    if rows != replay.holds.len() {
        return Err(mismatch(format!(
            "{} holds were placed by entries but {rows} rows exist",
            replay.holds.len()
        )));
    }
    Ok(())
}

/// Adds what an entry moved on `paid` accounts that the payouts table
/// does not show: a recovery takes the amount out, a journal moves what
/// its postings say.
fn note_paid_beyond_payouts(
    body: &crate::ledger::body::EntryBody,
    postings: &[crate::ledger::posting::Posting],
    beyond: &mut HashMap<String, i64>,
) {
    use crate::ledger::body::EntryBody;
    match body {
        EntryBody::RecoveryOpened(recovery) => {
            *beyond
                .entry(format!(
                    "paid/{}/{}",
                    recovery.programme_code, recovery.provider_id
                ))
                .or_default() -= recovery.amount_fen;
        }
        EntryBody::Journal(_) => {
            for posting in postings {
                if posting.account.kind() == AccountKind::Paid {
                    *beyond.entry(posting.account.to_string()).or_default() += posting.signed_fen();
                }
            }
        }
        _ => {}
    }
}

/// The accounts that mirror tables hold what the tables say: per
/// programme, outstanding vouchers = the active vouchers' remaining value;
/// per provider, payable = its redemptions' subsidy (not reversed) less
/// its payouts pending or paid, in payment = its pending payouts, paid =
/// its paid payouts plus what recoveries and journals moved (`beyond`,
/// from the entries, by `paid/…` account name).
async fn check_mirrors<S: Store>(
    store: &S,
    recomputed: &HashMap<String, i64>,
    beyond: &HashMap<String, i64>,
) -> Result<(), VerifyError> {
    let mut expected: HashMap<String, i64> = HashMap::new();
    for (account, fen) in store.mirrored_balances().await? {
        *expected.entry(account).or_default() += fen;
    }
    for (account, fen) in beyond {
        *expected.entry(account.clone()).or_default() += fen;
    }
    let mirrored = |name: &str| {
        Account::parse(name).is_ok_and(|account| {
            matches!(
                account.kind(),
                AccountKind::VouchersOutstanding
                    | AccountKind::ProviderPayable
                    | AccountKind::PayoutPending
                    | AccountKind::Paid
            )
        })
    };
    let mut names: Vec<&String> = recomputed
        .keys()
        .filter(|name| mirrored(name))
        .chain(expected.keys())
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let ledger = recomputed.get(name).copied().unwrap_or(0);
        let tables = expected.get(name).copied().unwrap_or(0);
        if ledger != tables {
            return Err(mismatch(format!(
                "account {name} holds {ledger} fen by the ledger, but the vouchers, redemptions and payouts tables say {tables}"
            )));
        }
    }
    Ok(())
}

/// The settlement tables hold what the entries say: every run and payout
/// row matches its entries; each batch's included lines add up to its
/// payouts (a failed payout's lines released); and no redemption is in two
/// batches.
async fn check_settlement<S: Store>(
    store: &S,
    replay: &SettlementReplay,
    redemption_status: &HashMap<String, String>,
) -> Result<(), VerifyError> {
    let runs = store.settlement_runs(None).await?;
    if runs.len() != replay.runs.len() {
        return Err(mismatch(format!(
            "{} settlement runs were prepared by entries but {} rows exist",
            replay.runs.len(),
            runs.len()
        )));
    }
    let mut placed: HashSet<uuid::Uuid> = HashSet::new();
    let mut payout_rows = 0;
    for run in runs {
        let id = run.id.to_string();
        let expected = replay
            .runs
            .get(&id)
            .ok_or_else(|| mismatch(format!("settlement run {id} has a row but no entry")))?;
        let digest: String = expected
            .lines_digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if expected.status != run.status.as_str() || digest != run.lines_digest {
            return Err(mismatch(format!(
                "settlement run {id}: the table says {} ({}), the entries say {} ({digest})",
                run.status, run.lines_digest, expected.status
            )));
        }
        let payouts = store.payouts(run.id).await?;
        payout_rows += payouts.len();
        // Included subsidy per provider, and every line's placement.
        let mut included: HashMap<uuid::Uuid, i64> = HashMap::new();
        let mut held = 0;
        let mut released_by_reversal = 0;
        let mut after = 0;
        loop {
            let page = store.settlement_lines(run.id, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.line_no;
            for line in &page {
                if line.state != LineState::Released && !placed.insert(line.redemption_id) {
                    return Err(mismatch(format!(
                        "redemption {} is in two settlement batches",
                        line.redemption_id
                    )));
                }
                match line.state {
                    LineState::Included => {
                        *included.entry(line.provider_id).or_default() += line.subsidy_fen
                    }
                    LineState::Held => held += 1,
                    LineState::Released if run.status == RunStatus::Prepared => {
                        // Only a reversal or a freeze takes a line out of
                        // a run before approval.
                        let status = redemption_status
                            .get(&line.redemption_id.to_string())
                            .map(String::as_str);
                        if !matches!(status, Some("reversed" | "frozen")) {
                            return Err(mismatch(format!(
                                "settlement run {id}: line {} was released but its redemption is {}",
                                line.line_no,
                                status.unwrap_or("unknown")
                            )));
                        }
                        released_by_reversal += line.subsidy_fen;
                    }
                    LineState::Released => {}
                }
            }
        }
        if run.status == RunStatus::Prepared {
            let total: i64 = included.values().sum();
            // Released lines may have been included or held: the included
            // total is the prepared one less at most what they carried.
            let low = expected.included_fen - released_by_reversal;
            if total > expected.included_fen || total < low || !payouts.is_empty() {
                return Err(mismatch(format!(
                    "settlement run {id}: included lines add up to {total} fen, the entries say {}",
                    expected.included_fen
                )));
            }
            continue;
        }
        if held > 0 {
            return Err(mismatch(format!(
                "approved settlement run {id} still holds lines"
            )));
        }
        for payout in &payouts {
            let state = replay.payouts.get(&payout.reference).ok_or_else(|| {
                mismatch(format!(
                    "payout {} has a row but no entry",
                    payout.reference
                ))
            })?;
            if state.status != payout.status.as_str()
                || state.gross_fen != payout.gross_fen
                || state.offset_fen != payout.offset_fen
                || state.run_id != id
            {
                return Err(mismatch(format!(
                    "payout {}: the table says {} of {} fen, the entries say {} of {}",
                    payout.reference,
                    payout.status,
                    payout.gross_fen,
                    state.status,
                    state.gross_fen
                )));
            }
            let lines = included.remove(&payout.provider_id).unwrap_or(0);
            let expected_lines = if payout.status == PayoutStatus::Failed {
                0
            } else {
                payout.gross_fen
            };
            if lines != expected_lines {
                return Err(mismatch(format!(
                    "payout {}: its batch lines add up to {lines} fen, not {expected_lines}",
                    payout.reference
                )));
            }
        }
        if let Some((provider, fen)) = included.into_iter().next() {
            return Err(mismatch(format!(
                "settlement run {id}: {fen} fen of lines for provider {provider} have no payout"
            )));
        }
    }
    if payout_rows != replay.payouts.len() {
        return Err(mismatch(format!(
            "{} payouts were approved by entries but {payout_rows} rows exist",
            replay.payouts.len()
        )));
    }
    Ok(())
}

/// Every voucher and redemption row holds exactly what the entries say,
/// and no row exists that no entry recorded.
async fn check_projections<S: Store>(store: &S, replay: &VoucherReplay) -> Result<(), VerifyError> {
    let mut rows = 0;
    let mut after = None;
    loop {
        let page = store
            .vouchers_after(&VoucherFilter::default(), after, VOUCHER_PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for voucher in &page {
            rows += 1;
            let id = voucher.id.to_string();
            let expected = replay.vouchers.get(&id).ok_or_else(|| {
                VerifyError::Projection(format!("voucher {id} has a row but no entry issued it"))
            })?;
            if expected.status != voucher.status.as_str()
                || expected.remaining_fen != voucher.remaining_fen
            {
                return Err(VerifyError::Projection(format!(
                    "voucher {id}: the table says {} with {} fen left, the entries say {} with {}",
                    voucher.status, voucher.remaining_fen, expected.status, expected.remaining_fen
                )));
            }
        }
    }
    if rows != replay.vouchers.len() {
        return Err(VerifyError::Projection(format!(
            "{} vouchers were issued by entries but {rows} rows exist",
            replay.vouchers.len()
        )));
    }
    let mut rows = 0;
    let mut after = None;
    loop {
        let page = store
            .redemptions_after(&RedemptionFilter::default(), after, REDEMPTION_PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for redemption in &page {
            rows += 1;
            let id = redemption.id.to_string();
            let expected = replay.redemptions.get(&id).ok_or_else(|| {
                VerifyError::Projection(format!(
                    "redemption {id} has a row but no entry recorded it"
                ))
            })?;
            if *expected != redemption.status.as_str() {
                return Err(VerifyError::Projection(format!(
                    "redemption {id}: the table says {}, the entries say {expected}",
                    redemption.status
                )));
            }
        }
    }
    if rows != replay.redemptions.len() {
        return Err(VerifyError::Projection(format!(
            "{} redemptions were recorded by entries but {rows} rows exist",
            replay.redemptions.len()
        )));
    }
    Ok(())
}

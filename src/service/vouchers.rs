//! Voucher use cases outside the writer: issue one (a claim or an admin
//! allocation) and read back what was issued; allocate to a whole list
//! with a per-enterprise result; re-issue a revoked key's vouchers.
//!
//! Every call carries an idempotency key; for a list, each enterprise's
//! issue gets `<key>:<USCC>`, so re-running an allocation after a crash
//! issues only what is missing and reports the rest as already issued.

use crate::domain::key_status::KeyStatus;
use crate::domain::status::VoucherStatus;
use crate::service::commands::{IssueVoucher, ReissueVoucher};
use std::sync::Arc;

use uuid::Uuid;

use super::commands::{Command, IssueVia, Submission};
use super::engine::{CommandError, Receipt, WriterHandle};
use super::fan_out::submit_all;
use crate::domain::{Fen, ProgrammeCode};
use crate::store::voucher::{VoucherFilter, VoucherRecord};
use crate::store::{Store, StoreError};

/// How many issues of one list are in the writer's queue at once: enough
/// to fill its batches, few enough to leave room for other callers.
const IN_FLIGHT_MAX: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues one voucher and returns it as stored, and whether this was a
/// replay. A retry with the same key
/// returns the voucher the first call issued.
#[allow(clippy::too_many_arguments)]
pub async fn issue<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: String,
    idempotency_key: String,
    programme: &ProgrammeCode,
    enterprise_id: Uuid,
    face_value: Fen,
    via: IssueVia,
) -> Result<(VoucherRecord, bool), IssueError> {
    let receipt = writer
        .submit(Submission {
            actor,
            idempotency_key,
            command: Command::IssueVoucher(IssueVoucher {
                voucher_id: Uuid::now_v7(),
                programme: programme.clone(),
                enterprise_id,
                face_value,
                via,
            }),
        })
        .await?;
    let replayed = receipt.replayed;
    Ok((voucher_of(store, receipt).await?, replayed))
}

/// One enterprise's outcome in an allocation.
#[derive(Debug)]
pub enum Allocated {
    /// Issued now (`replayed` false) or by an earlier run with the same key.
    Issued {
        voucher: Box<VoucherRecord>,
        replayed: bool,
    },
    /// Refused, with every reason.
    Refused(CommandError),
}

/// Issues `face_value` to each enterprise (by USCC) of `usccs`, reporting
/// progress after each answer as `(done, total)`; results in list order.
#[allow(clippy::too_many_arguments)]
pub async fn allocate<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    idempotency_key: &str,
    programme: &ProgrammeCode,
    face_value: Fen,
    usccs: &[String],
    progress: impl FnMut(usize, usize),
) -> Result<Vec<(String, Allocated)>, StoreError> {
    let mut results: Vec<Option<Allocated>> = (0..usccs.len()).map(|_| None).collect();
    let mut jobs = Vec::with_capacity(usccs.len());
    for (index, uscc) in usccs.iter().enumerate() {
        let Some(enterprise) = store.enterprise_by_uscc(uscc).await? else {
            results[index] = Some(Allocated::Refused(CommandError::EnterpriseNotRegistered));
            continue;
        };
        let submission = Submission {
            actor: actor.to_string(),
            idempotency_key: format!("{idempotency_key}:{uscc}"),
            command: Command::IssueVoucher(IssueVoucher {
                voucher_id: Uuid::now_v7(),
                programme: programme.clone(),
                enterprise_id: enterprise.id,
                face_value,
                via: IssueVia::Allocation,
            }),
        };
        jobs.push((index, submission));
    }
    for (index, outcome) in submit_all(writer, jobs, IN_FLIGHT_MAX, progress).await {
        results[index] = Some(match outcome {
            Ok(receipt) => Allocated::Issued {
                replayed: receipt.replayed,
                voucher: Box::new(voucher_of(store, receipt).await?),
            },
            Err(error) => Allocated::Refused(error),
        });
    }
    Ok(usccs
        .iter()
        .cloned()
        .zip(
            results
                .into_iter()
                .map(|r| r.expect("every enterprise has a result")),
        )
        .collect())
}

/// The voucher an issuing entry recorded: from the receipt, or (for a
/// replay) read back by the entry's sequence.
async fn voucher_of<S: Store>(store: &S, receipt: Receipt) -> Result<VoucherRecord, StoreError> {
    if let Some(voucher) = receipt.voucher {
        return Ok(Arc::unwrap_or_clone(voucher));
    }
    let sequence = receipt.sequence;
    store
        .voucher_issued_at(sequence)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entry {sequence} issued no voucher row")))
}

/// What a re-issue run did.
#[derive(Debug, Default)]
pub struct ReissueReport {
    /// (old voucher id, new voucher)
    pub reissued: Vec<(Uuid, VoucherRecord)>,
    pub refused: Vec<(Uuid, CommandError)>,
}

/// Re-issues every active voucher signed by `key_id` under the active key;
/// an unknown key is `NotFound`, one not revoked `KeyNotRevoked`. Each
/// re-issue is its own ledger entry keyed `<key>:<old voucher id>`, so the
/// run can be repeated safely.
pub async fn reissue_key<S: Store>(
    store: &S,
    writer: &WriterHandle,
    actor: &str,
    idempotency_key: &str,
    key_id: &str,
) -> Result<ReissueReport, IssueError> {
    let keys = store.issuer_keys().await?;
    let key = keys
        .iter()
        .find(|key| key.key_id == key_id)
        .ok_or(CommandError::NotFound)?;
    if key.status != KeyStatus::Revoked {
        return Err(CommandError::KeyNotRevoked {
            key_id: key_id.to_string(),
        }
        .into());
    }
    let filter = VoucherFilter {
        key_id: Some(key_id.to_string()),
        status: Some(VoucherStatus::Active),
        ..VoucherFilter::default()
    };
    let mut report = ReissueReport::default();
    let mut after = None;
    loop {
        let page = store.vouchers_after(&filter, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let jobs = page
            .into_iter()
            .map(|old| {
                let submission = Submission {
                    actor: actor.to_string(),
                    idempotency_key: format!("{idempotency_key}:{}", old.id),
                    command: Command::ReissueVoucher(ReissueVoucher {
                        voucher_id: old.id,
                        new_voucher_id: Uuid::now_v7(),
                    }),
                };
                (old.id, submission)
            })
            .collect();
        for (old_id, outcome) in submit_all(writer, jobs, IN_FLIGHT_MAX, |_, _| {}).await {
            match outcome {
                Ok(receipt) => report
                    .reissued
                    .push((old_id, voucher_of(store, receipt).await?)),
                Err(error) => report.refused.push((old_id, error)),
            }
        }
    }
    report.reissued.sort_by_key(|(old, _)| *old);
    report.refused.sort_by_key(|(old, _)| *old);
    Ok(report)
}

/// How long a rotating presentation lives: long enough to scan, short
/// enough that a screenshot is useless soon after (the format allows 120).
pub const PRESENTATION_LIFETIME_SECONDS: i64 = 60;

/// Draws of a random short code before giving up (a clash needs another
/// live code with the same 9 digits).
const SHORT_CODE_DRAWS_MAX: usize = 5;

/// A fresh presentation of a voucher.
#[derive(Debug, Clone)]
pub struct Presentation {
    pub text: String,
    /// Unix seconds after which it is refused.
    pub expires_at: i64,
    /// The 10-digit code a clerk may type instead of scanning
    /// (`domain::short_code`), good for the same minute.
    pub short_code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("the voucher is {0}")]
    VoucherState(VoucherStatus),
    #[error("no issuer key is available to sign presentations")]
    KeyUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Wraps an active voucher into a presentation signed by the active issuer
/// key, valid `lifetime` seconds from `now` (Unix seconds).
pub async fn present<S: Store>(
    store: &S,
    ring: &super::issuer_keyring::IssuerKeyring,
    voucher: &VoucherRecord,
    now: i64,
    lifetime: i64,
) -> Result<Presentation, PresentError> {
    use rand_core::{OsRng, RngCore};
    if voucher.status != VoucherStatus::Active {
        return Err(PresentError::VoucherState(voucher.status));
    }
    let keys = store.issuer_keys().await?;
    let active = keys
        .iter()
        .find(|key| key.status == KeyStatus::Active)
        .ok_or(PresentError::KeyUnavailable)?;
    let key = match ring.signing_key(&active.key_id) {
        Ok(Some(key)) => key,
        Ok(None) => return Err(PresentError::KeyUnavailable),
        Err(error) => {
            tracing::error!(%error, key_id = %active.key_id, "cannot load the issuer key");
            return Err(PresentError::KeyUnavailable);
        }
    };
    let mut nonce = [0u8; crate::token::presentation::NONCE_BYTES];
    OsRng.fill_bytes(&mut nonce);
    let token = super::issuance::voucher_token(voucher)?;
    let text = crate::token::presentation::present(&token, &key, nonce, now, lifetime)
        .map_err(|error| StoreError::Corrupt(format!("stored voucher token: {error}")))?;
    let expires_at = now + lifetime;
    // A random code; a clash with a live one (one in a billion per live
    // code) draws again.
    let mut short_code = None;
    for _ in 0..SHORT_CODE_DRAWS_MAX {
        let code = crate::domain::short_code::short_code(OsRng.next_u64());
        let saved = store
            .save_short_code(
                &code,
                voucher.id,
                &text,
                expires_at * 1_000_000,
                now * 1_000_000,
            )
            .await?;
        if saved {
            short_code = Some(code);
            break;
        }
    }
    let short_code =
        short_code.ok_or_else(|| StoreError::Corrupt("no free short code after retries".into()))?;
    Ok(Presentation {
        text,
        expires_at,
        short_code,
    })
}

//! Redemption use cases: read the QR text at the counter, preview a
//! redemption (every rule, from the pool), redeem, change a redemption,
//! revoke a voucher — each submitted through the writer.

use crate::service::commands::WithdrawVoucher;
use uuid::Uuid;

use super::commands::redemption::facts::{Gathered, PoolReads, gather};
use super::commands::{
    AttachRedemptionDocuments, ChangedBy, Envelope, InvoiceSpec, RedeemSpec, ShownToken,
};
use super::engine::WriterHandle;
use super::error::CommandError;
use super::error::Failure;
use super::written::Written;
use crate::domain::redemption::{Assessment, Contract, assess};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::store::redemption::RedemptionRecord;
use crate::store::voucher::VoucherRecord;
use crate::store::{Store, StoreError};

/// A voucher as read from the QR text at the counter (its signatures
/// verified).
#[derive(Debug, Clone)]
pub struct ShownVoucher {
    pub voucher_id: Uuid,
    pub programme: ProgrammeCode,
    pub shown: ShownToken,
}

/// Why the QR text itself was refused (before any voucher rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefusal {
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
}

/// Reads and verifies QR text against the published issuer keys. A voucher
/// whose signature verifies but whose dates have passed is read (the rules
/// report the dates with everything else); anything else wrong with the
/// text — malformed, forged, unknown or revoked key, a stale presentation —
/// is refused here.
/// `keys` are the published issuer keys (they may be a second old: the
/// writer re-checks the key's status under the lock).
pub fn read_qr(
    keys: &[crate::token::report::KnownKey],
    text: &str,
    now: Timestamp,
) -> Result<ShownVoucher, TokenRefusal> {
    let report = crate::token::report::inspect(text, keys, now);
    let dates_only = matches!(
        report.code,
        Some("voucher_expired" | "voucher_not_yet_valid")
    );
    let refusal = || TokenRefusal {
        code: report.code.unwrap_or("token_malformed"),
        message: report.message.clone(),
        message_zh: report.message_zh.clone(),
    };
    let facts = match &report.voucher {
        Some(facts) if report.valid || (report.signature_valid && dates_only) => facts,
        _ => return Err(refusal()),
    };
    let voucher_id = Uuid::parse_str(&facts.voucher_id).map_err(|_| refusal())?;
    let programme = ProgrammeCode::parse(&facts.programme_code).map_err(|_| refusal())?;
    let shown = if report.kind == "presentation" {
        let claims = crate::token::presentation::parse_presentation_unverified(text)
            .map_err(|_| refusal())?;
        ShownToken::Presentation {
            nonce_hex: crate::ledger::entry::to_hex(&claims.nonce),
        }
    } else {
        ShownToken::Static
    };
    Ok(ShownVoucher {
        voucher_id,
        programme,
        shown,
    })
}

/// A presentation whose signatures verified but whose minute has passed,
/// read as shown on the strength of a hold (`ShownToken::Held`); `None`
/// for anything else.
fn read_stale_presentation(
    keys: &[crate::token::report::KnownKey],
    text: &str,
    now: Timestamp,
) -> Option<ShownVoucher> {
    let report = crate::token::report::inspect(text, keys, now);
    // `presentation_expired` is answered only once both signatures verified.
    if report.code != Some("presentation_expired") {
        return None;
    }
    let claims = crate::token::presentation::parse_presentation_unverified(text).ok()?;
    let voucher = claims.voucher?;
    Some(ShownVoucher {
        voucher_id: voucher.voucher_id,
        programme: ProgrammeCode::parse(&voucher.programme_code).ok()?,
        shown: ShownToken::Held {
            nonce_hex: crate::ledger::entry::to_hex(&claims.nonce),
        },
    })
}

/// Reads the QR text at the counter of `provider_id`: a fresh code as
/// `read_qr` does, and a presentation that went stale while this provider
/// holds the voucher with it as `ShownToken::Held`. Any other stale or bad
/// text keeps `read_qr`'s refusal.
pub async fn read_at_counter<S: Store>(
    store: &S,
    keys: &[crate::token::report::KnownKey],
    provider_id: Uuid,
    text: &str,
    now: Timestamp,
) -> Result<Result<ShownVoucher, TokenRefusal>, StoreError> {
    let refusal = match read_qr(keys, text, now) {
        Ok(shown) => return Ok(Ok(shown)),
        Err(refusal) => refusal,
    };
    let Some(held) = read_stale_presentation(keys, text, now) else {
        return Ok(Err(refusal));
    };
    let hold = crate::store::hold::HoldStore::hold_of(store, held.voucher_id).await?;
    let mine = hold.is_some_and(|hold| {
        hold.live_at(now.as_micros())
            && hold.provider_id == provider_id
            && Some(hold.presentation_nonce.as_str()) == held.shown.nonce()
    });
    Ok(if mine { Ok(held) } else { Err(refusal) })
}

/// What the counter sees before redeeming.
pub struct Preview {
    pub gathered: Gathered,
    pub shown: ShownVoucher,
    pub assessment: Assessment,
}

/// Everything `provider_id` would be told if it redeemed `contract` against
/// the voucher in `text` now — without recording anything.
pub async fn preview<S: Store>(
    store: &S,
    keys: &[crate::token::report::KnownKey],
    provider_id: Uuid,
    text: &str,
    contract: &Contract,
) -> Result<Preview, PreviewError> {
    let now = Timestamp::now();
    let shown = read_at_counter(store, keys, provider_id, text, now)
        .await?
        .map_err(PreviewError::Token)?;
    let gathered = gather(
        &mut PoolReads(store),
        shown.voucher_id,
        provider_id,
        &shown.shown,
        now,
    )
    .await
    .map_err(|failure| match failure {
        Failure::Rule(_) => PreviewError::NotFound,
        Failure::Store(error) => PreviewError::Store(error),
    })?;
    let assessment = assess(&gathered.facts, contract);
    Ok(Preview {
        gathered,
        shown,
        assessment,
    })
}

/// What a provider's preview of a code came to: the preview, and until
/// when the voucher is held for it (`None`: nothing held — the preview
/// found a reason to refuse, or the voucher's own static code needs no
/// hold).
pub struct Held {
    pub preview: Preview,
    pub held_until: Option<Timestamp>,
}

/// Previews the code in `text` for `provider_id` and, where it is a fresh
/// presentation and the redemption could go ahead, holds the voucher for
/// this provider for the programme's hold window (one ledger entry; a
/// retry with the same key holds nothing more). A preview of the same
/// presentation while the hold runs answers that hold.
pub async fn hold<S: Store>(
    store: &S,
    writer: &WriterHandle,
    keys: &[crate::token::report::KnownKey],
    by: Envelope,
    provider_id: Uuid,
    text: &str,
    contract: &Contract,
) -> Result<Held, HoldError> {
    let preview = preview(store, keys, provider_id, text, contract).await?;
    let nonce = match &preview.shown.shown {
        ShownToken::Presentation { nonce_hex } if preview.assessment.allowed() => nonce_hex,
        ShownToken::Held { .. } => return held_now(store, preview).await,
        _ => {
            return Ok(Held {
                preview,
                held_until: None,
            });
        }
    };
    let command = super::commands::HoldVoucher {
        voucher_id: preview.shown.voucher_id,
        programme: preview.shown.programme.clone(),
        provider_id,
        nonce_hex: nonce.clone(),
        service_category: contract.category.clone(),
        contract_amount: contract.amount,
    };
    match writer.submit(by.submission(command)).await {
        Ok(_) | Err(CommandError::Unchanged { .. }) => held_now(store, preview).await,
        Err(error) => Err(HoldError::Command(error)),
    }
}

/// The preview with the voucher's live hold, as the store has it now.
async fn held_now<S: Store>(store: &S, preview: Preview) -> Result<Held, HoldError> {
    let hold = crate::store::hold::HoldStore::hold_of(store, preview.shown.voucher_id).await?;
    let now = Timestamp::now().as_micros();
    Ok(Held {
        held_until: hold
            .filter(|hold| hold.live_at(now))
            .map(|hold| Timestamp::from_micros(hold.expires_at_us)),
        preview,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error(transparent)]
    Preview(#[from] PreviewError),
    #[error(transparent)]
    Command(CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The provider lets its live hold on `voucher_id` go (one ledger entry);
/// `NotFound` when it holds none.
pub async fn release_hold(
    writer: &WriterHandle,
    by: Envelope,
    provider_id: Uuid,
    voucher_id: Uuid,
) -> Written {
    writer
        .submit(by.submission(super::commands::ReleaseHold {
            voucher_id,
            provider_id,
        }))
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("the QR text was refused: {}", .0.code)]
    Token(TokenRefusal),
    /// The voucher is not in this ledger, or the caller is no provider.
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a provider submits, besides the QR text.
#[derive(Debug, Clone)]
pub struct RedeemRequest {
    pub service_category: String,
    pub contract_number: String,
    pub description: String,
    pub contract_amount: Fen,
    pub invoice: Option<super::commands::InvoiceSpec>,
    pub payment_proof_ref: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("the QR text was refused: {}", .0.code)]
    Token(TokenRefusal),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Redeems the voucher in `text` for `provider_id`; returns the redemption
/// as recorded and whether this was a replay (a retry with the same key
/// returns the first redemption and records nothing).
#[allow(clippy::too_many_arguments)]
pub async fn redeem<S: Store>(
    store: &S,
    writer: &super::engine::WriterHandle,
    keys: &[crate::token::report::KnownKey],
    actor: String,
    idempotency_key: String,
    provider_id: Uuid,
    text: &str,
    request: RedeemRequest,
) -> Result<(RedemptionRecord, bool), RedeemError> {
    let shown = read_at_counter(store, keys, provider_id, text, Timestamp::now())
        .await?
        .map_err(RedeemError::Token)?;
    let spec = RedeemSpec {
        redemption_id: Uuid::now_v7(),
        voucher_id: shown.voucher_id,
        programme: shown.programme,
        provider_id,
        shown: shown.shown,
        service_category: request.service_category,
        contract_number: request.contract_number,
        description: request.description,
        contract_amount: request.contract_amount,
        invoice: request.invoice,
        payment_proof_ref: request.payment_proof_ref,
    };
    let receipt = writer
        .submit(super::commands::Submission {
            actor,
            idempotency_key,
            command: super::commands::Command::RedeemVoucher(Box::new(spec)),
        })
        .await?;
    // A new redemption comes back with the receipt; a replay's is read.
    let record = match receipt.redemption {
        Some(record) => (*record).clone(),
        None => crate::store::redemption::RedemptionStore::redemption_recorded_at(
            store,
            receipt.sequence,
        )
        .await?
        .ok_or(CommandError::NotFound)?,
    };
    Ok((record, receipt.replayed))
}

/// Confirms, disputes, resolves or reverses a redemption; returns it as it
/// now stands. A retry with the same key changes nothing more.
pub async fn change<S: Store>(
    store: &S,
    writer: &super::engine::WriterHandle,
    actor: String,
    idempotency_key: String,
    change: super::commands::RedemptionChange,
) -> Result<RedemptionRecord, super::error::UseCaseError> {
    let id = change.redemption_id;
    writer
        .submit(super::commands::Submission {
            actor,
            idempotency_key,
            command: super::commands::Command::ChangeRedemption(change),
        })
        .await?;
    Ok(
        crate::store::redemption::RedemptionStore::redemption(store, id)
            .await?
            .ok_or(CommandError::NotFound)?,
    )
}

/// Revokes an active voucher (its remaining value back to the budget);
/// returns it as it now stands.
pub async fn revoke_voucher<S: Store>(
    store: &S,
    writer: &super::engine::WriterHandle,
    actor: String,
    idempotency_key: String,
    voucher_id: Uuid,
    reason: String,
) -> Result<VoucherRecord, super::error::UseCaseError> {
    writer
        .submit(super::commands::Submission {
            actor,
            idempotency_key,
            command: super::commands::Command::WithdrawVoucher(WithdrawVoucher {
                voucher_id,
                revoke_reason: Some(reason),
            }),
        })
        .await?;
    Ok(
        crate::store::voucher::VoucherStore::voucher(store, voucher_id)
            .await?
            .ok_or(CommandError::NotFound)?,
    )
}

/// Adds or replaces a redemption's invoice and/or payment proof reference
/// (its provider, or its enterprise for the payment proof, or the admin).
pub async fn attach_documents(
    writer: &WriterHandle,
    by: Envelope,
    redemption_id: Uuid,
    changed_by: ChangedBy,
    invoice: Option<InvoiceSpec>,
    payment_proof_ref: Option<String>,
) -> Written {
    writer
        .submit(by.submission(AttachRedemptionDocuments {
            redemption_id,
            by: changed_by,
            invoice,
            payment_proof_ref,
        }))
        .await
}

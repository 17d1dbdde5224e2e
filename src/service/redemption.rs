//! Redeeming vouchers: the facts the rules need, gathered the same way for
//! the provider's preview (from the pool) and for the ledger writer (inside
//! its batch transaction, under the chain-head lock), then judged by the
//! pure `domain::redemption::assess`.
//!
//! In the writer a redemption is planned before its balances are checked
//! (its postings depend on the voucher's remaining value), then written:
//! the voucher's remaining value is lowered by a guarded update and the
//! redemption row inserted, in the transaction of the ledger entry. A
//! single-use voucher also has a partial unique index over its live
//! redemptions, so exactly-once holds in the database itself.

use crate::service::commands::WithdrawVoucher;
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::commands::{RedeemSpec, ShownToken};
use super::effects::Failure;
use super::issuance::{IssuanceCache, load_programme};
use super::writer::CommandError;
use crate::domain::programme::QrMode;
use crate::domain::provider::{ProviderFields, ProviderStatus};
use crate::domain::redemption::{
    Assessment, Contract, HolderFacts, ProviderFacts, RedemptionFacts, RedemptionTerms, Shown,
    VoucherFacts, assess,
};
use crate::domain::{Fen, ProgrammeCode, Timestamp};
use crate::ledger::account::{Account, AccountKind};
use crate::ledger::body::{EntryBody, pb};
use crate::ledger::posting::Posting;
use crate::store::redemption::{
    InvoiceRecord, RedeemedTotals, RedemptionRecord, RedemptionTx, TotalsQuery, VoucherUse,
};
use crate::store::registry::{
    BlacklistRecord, EnterpriseRecord, IssuerKeyRecord, ProgrammeRecord, ProviderRecord, RegistryTx,
};
use crate::store::voucher::{VoucherRecord, VoucherTx};
use crate::store::{Store, StoreError};

/// The reads a redemption check makes, from the pool or from the writer's
/// transaction.
pub trait RedemptionReads {
    fn voucher(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<VoucherRecord>, StoreError>> + Send;
    fn issuer_key(
        &mut self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<IssuerKeyRecord>, StoreError>> + Send;
    fn programme(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<ProgrammeRecord>, StoreError>> + Send;
    fn provider(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ProviderRecord>, StoreError>> + Send;
    fn provider_blacklist(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Vec<BlacklistRecord>, StoreError>> + Send;
    fn enterprise(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<EnterpriseRecord>, StoreError>> + Send;
    fn totals(
        &mut self,
        query: TotalsQuery<'_>,
    ) -> impl Future<Output = Result<RedeemedTotals, StoreError>> + Send;
    fn nonce_used(&mut self, nonce: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Reads through the pool (the preview).
pub struct PoolReads<'a, S>(pub &'a S);

impl<S: Store> RedemptionReads for PoolReads<'_, S> {
    async fn voucher(&mut self, id: Uuid) -> Result<Option<VoucherRecord>, StoreError> {
        crate::store::voucher::VoucherStore::voucher(self.0, id).await
    }
    async fn issuer_key(&mut self, key_id: &str) -> Result<Option<IssuerKeyRecord>, StoreError> {
        let keys = self.0.issuer_keys().await?;
        Ok(keys.into_iter().find(|key| key.key_id == key_id))
    }
    async fn programme(&mut self, code: &str) -> Result<Option<ProgrammeRecord>, StoreError> {
        crate::store::registry::RegistryStore::programme(self.0, code).await
    }
    async fn provider(&mut self, id: Uuid) -> Result<Option<ProviderRecord>, StoreError> {
        crate::store::registry::RegistryStore::provider_by_id(self.0, id).await
    }
    async fn provider_blacklist(&mut self, id: Uuid) -> Result<Vec<BlacklistRecord>, StoreError> {
        crate::store::registry::RegistryStore::blacklist_of(self.0, "provider", id).await
    }
    async fn enterprise(&mut self, id: Uuid) -> Result<Option<EnterpriseRecord>, StoreError> {
        crate::store::registry::RegistryStore::enterprise_by_id(self.0, id).await
    }
    async fn totals(&mut self, query: TotalsQuery<'_>) -> Result<RedeemedTotals, StoreError> {
        crate::store::redemption::RedemptionStore::redeemed_totals(self.0, query).await
    }
    async fn nonce_used(&mut self, nonce: &str) -> Result<bool, StoreError> {
        crate::store::redemption::RedemptionStore::presentation_used(self.0, nonce).await
    }
}

/// What a redemption is judged on, with the rows it came from.
pub struct Gathered {
    pub facts: RedemptionFacts,
    pub voucher: VoucherRecord,
    pub holder: EnterpriseRecord,
    pub provider: ProviderRecord,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

fn date(text: &str, what: &str) -> Result<NaiveDate, StoreError> {
    text.parse()
        .map_err(|_| corrupt(format!("{what} is not a date: {text:?}")))
}

/// Gathers the facts for `provider_id` redeeming `voucher_id` at `now`.
/// A voucher or provider that does not exist is `NotFound`.
pub async fn gather<R: RedemptionReads>(
    reads: &mut R,
    voucher_id: Uuid,
    provider_id: Uuid,
    shown: &ShownToken,
    now: Timestamp,
) -> Result<Gathered, Failure> {
    let today = now.cst_date();
    let voucher = reads
        .voucher(voucher_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let provider = reads
        .provider(provider_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    let holder = reads
        .enterprise(voucher.enterprise_id)
        .await?
        .ok_or_else(|| corrupt(format!("voucher {voucher_id} names no enterprise")))?;
    let programme = reads
        .programme(&voucher.programme_code)
        .await?
        .ok_or_else(|| corrupt(format!("voucher {voucher_id} names no programme")))?;
    let terms = load_programme(&programme.status, &programme.terms_json)?.terms;
    let key = reads
        .issuer_key(&voucher.key_id)
        .await?
        .ok_or_else(|| corrupt(format!("voucher {voucher_id} names an unknown key")))?;
    let fields: ProviderFields = serde_json::from_str(&provider.fields_json)
        .map_err(|error| corrupt(format!("provider {provider_id} fields: {error}")))?;
    let status = ProviderStatus::parse(&provider.status)
        .ok_or_else(|| corrupt(format!("provider status {:?}", provider.status)))?;
    let blacklist =
        super::issuance::blacklist_in_force(reads.provider_blacklist(provider_id).await?, today);
    let totals = reads
        .totals(TotalsQuery {
            provider_id,
            enterprise_id: holder.id,
            programme_code: &voucher.programme_code,
            fiscal_year: today.year(),
        })
        .await?;
    let shown = match shown {
        ShownToken::Static => Shown::StaticToken,
        ShownToken::Presentation { nonce_hex } if reads.nonce_used(nonce_hex).await? => {
            Shown::UsedPresentation
        }
        ShownToken::Presentation { .. } => Shown::FreshPresentation,
    };
    let facts = RedemptionFacts {
        today,
        voucher: VoucherFacts {
            status: voucher.status.clone(),
            remaining: Fen::new(voucher.remaining_fen),
            valid_from: date(&voucher.valid_from, "valid_from")?,
            valid_until: date(&voucher.valid_until, "valid_until")?,
            categories: voucher.service_categories.clone(),
            key_revoked: key.status == "revoked",
            divisible: terms.divisible,
        },
        shown,
        provider: ProviderFacts {
            status,
            uscc: provider.uscc.clone(),
            legal_representative: fields.legal_representative,
            categories: fields.categories,
            related_parties: fields.related_parties,
            blacklist,
            annual_cap: Fen::new(provider.annual_cap_fen),
            redeemed_this_year: Fen::new(totals.provider_fen),
        },
        holder: HolderFacts {
            uscc: holder.uscc.clone(),
            name: holder.name.clone(),
            legal_representative: holder.legal_representative.clone(),
            redeemed_this_year: Fen::new(totals.enterprise_fen),
        },
        terms: RedemptionTerms {
            rotating: terms.qr_mode == QrMode::Rotating,
            subsidy_ratio_bp: terms.subsidy_ratio_bp,
            rounding: terms.rounding,
            annual_cap: Fen::new(terms.annual_cap_fen),
        },
    };
    Ok(Gathered {
        facts,
        voucher,
        holder,
        provider,
    })
}

/// A redemption decided under the lock, not yet written.
pub struct RedemptionPlan {
    pub postings: Vec<Posting>,
    record: RedemptionRecord,
    body: pb::VoucherRedeemed,
    used_fen: i64,
    status_after: &'static str,
}

/// Judges `spec` under the lock; a refusal carries every reason.
pub async fn plan<T: RegistryTx + VoucherTx + RedemptionTx + Send>(
    tx: &mut T,
    issuance: &mut IssuanceCache,
    cache: &mut super::redemption_cache::RedemptionCache,
    spec: &RedeemSpec,
    now: Timestamp,
    sequence: u64,
) -> Result<RedemptionPlan, Failure> {
    // The voucher may have been issued earlier in this batch.
    issuance.flush(tx).await?;
    let gathered = gather(
        &mut super::redemption_cache::BatchReads { tx, cache },
        spec.voucher_id,
        spec.provider_id,
        &spec.shown,
        now,
    )
    .await?;
    if gathered.voucher.programme_code != spec.programme.as_str() {
        return Err(CommandError::NotFound.into());
    }
    let contract = Contract {
        category: spec.service_category.clone(),
        amount: spec.contract_amount,
    };
    let assessment = assess(&gathered.facts, &contract);
    if !assessment.allowed() {
        return Err(CommandError::NotRedeemable {
            refusals: assessment.refusals,
        }
        .into());
    }
    let postings = postings(&spec.programme, spec.provider_id, &assessment);
    let used_fen = assessment.subsidy.as_fen() + assessment.returned_to_budget.as_fen();
    let status_after = if assessment.remaining_after.is_positive() {
        "active"
    } else {
        "redeemed"
    };
    let record = RedemptionRecord {
        id: spec.redemption_id,
        voucher_id: spec.voucher_id,
        programme_code: spec.programme.to_string(),
        provider_id: spec.provider_id,
        enterprise_id: gathered.holder.id,
        service_category: spec.service_category.clone(),
        contract_number: spec.contract_number.clone(),
        description: spec.description.clone(),
        contract_amount_fen: spec.contract_amount.as_fen(),
        subsidy_fen: assessment.subsidy.as_fen(),
        returned_fen: assessment.returned_to_budget.as_fen(),
        single_use: !gathered.facts.voucher.divisible,
        presentation_nonce: match &spec.shown {
            ShownToken::Static => None,
            ShownToken::Presentation { nonce_hex } => Some(nonce_hex.clone()),
        },
        invoice: spec.invoice.as_ref().map(|invoice| InvoiceRecord {
            code: invoice.code.clone(),
            number: invoice.number.clone(),
            date: invoice.date.to_string(),
            amount_fen: invoice.amount.as_fen(),
        }),
        payment_proof_ref: spec.payment_proof_ref.clone(),
        fiscal_year: gathered.facts.today.year(),
        status: "pending".into(),
        voucher_issued_at_us: gathered.voucher.issued_at_us,
        voucher_face_value_fen: gathered.voucher.face_value_fen,
        redeemed_sequence: sequence,
        redeemed_at_us: now.as_micros(),
        rating: None,
        comment: None,
        confirmed_at_us: None,
        dispute_reason: None,
        resolution_note: None,
    };
    let body = pb::VoucherRedeemed {
        enterprise_id: gathered.holder.id.to_string(),
        subsidy_fen: assessment.subsidy.as_fen(),
        enterprise_share_fen: assessment.enterprise_share.as_fen(),
        returned_fen: assessment.returned_to_budget.as_fen(),
        remaining_after_fen: assessment.remaining_after.as_fen(),
        ..spec.body()
    };
    Ok(RedemptionPlan {
        postings,
        record,
        body,
        used_fen,
        status_after,
    })
}

/// The subsidy to the provider's payable; a single-use voucher's unused
/// value back to the budget. Both out of vouchers_outstanding.
fn postings(programme: &ProgrammeCode, provider_id: Uuid, assessment: &Assessment) -> Vec<Posting> {
    let outstanding = Account::programme(AccountKind::VouchersOutstanding, programme)
        .expect("vouchers_outstanding is a programme-level account");
    let payable = Account::party(
        AccountKind::ProviderPayable,
        programme,
        &provider_id.to_string(),
    )
    .expect("a UUID is a valid party");
    let mut postings = vec![
        Posting::debit(payable, assessment.subsidy),
        Posting::credit(outstanding.clone(), assessment.subsidy),
    ];
    if assessment.returned_to_budget.is_positive() {
        let available = Account::programme(AccountKind::BudgetAvailable, programme)
            .expect("budget_available is a programme-level account");
        postings.push(Posting::debit(available, assessment.returned_to_budget));
        postings.push(Posting::credit(outstanding, assessment.returned_to_budget));
    }
    postings
}

/// What the batch's cache learns from a written redemption.
pub struct RedemptionPlanSummary {
    pub voucher_id: Uuid,
    pub provider_id: Uuid,
    pub enterprise_id: Uuid,
    pub programme_code: String,
    pub fiscal_year: i32,
    pub subsidy_fen: i64,
    pub used_fen: i64,
    pub status_after: &'static str,
    pub nonce: Option<String>,
}

impl RedemptionPlan {
    pub fn summary(&self) -> RedemptionPlanSummary {
        RedemptionPlanSummary {
            voucher_id: self.record.voucher_id,
            provider_id: self.record.provider_id,
            enterprise_id: self.record.enterprise_id,
            programme_code: self.record.programme_code.clone(),
            fiscal_year: self.record.fiscal_year,
            subsidy_fen: self.record.subsidy_fen,
            used_fen: self.used_fen,
            status_after: self.status_after,
            nonce: self.record.presentation_nonce.clone(),
        }
    }
}

impl RedemptionPlan {
    /// The entry body, the row to insert and what the voucher gives: the
    /// batch's cache writes rows and guarded updates together before the
    /// batch commits (`RedemptionCache::flush`).
    pub fn into_parts(self) -> (EntryBody, RedemptionRecord, VoucherUse) {
        let used = VoucherUse {
            voucher_id: self.record.voucher_id,
            used_fen: self.used_fen,
            status: self.status_after.to_string(),
            updated_at_us: self.record.redeemed_at_us,
        };
        (EntryBody::VoucherRedeemed(self.body), self.record, used)
    }
}

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
    let shown = read_qr(keys, text, now).map_err(PreviewError::Token)?;
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
    writer: &super::writer::WriterHandle,
    keys: &[crate::token::report::KnownKey],
    actor: String,
    idempotency_key: String,
    provider_id: Uuid,
    text: &str,
    request: RedeemRequest,
) -> Result<(RedemptionRecord, bool), RedeemError> {
    let shown = read_qr(keys, text, Timestamp::now()).map_err(RedeemError::Token)?;
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
    writer: &super::writer::WriterHandle,
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
    writer: &super::writer::WriterHandle,
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

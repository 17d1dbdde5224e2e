//! The facts a redemption is judged on, gathered the same way for the
//! provider's preview (from the pool) and for the ledger writer (inside its
//! batch transaction, under the chain-head lock), then judged by the pure
//! `domain::redemption::assess`.

use crate::domain::key_status::KeyStatus;
use chrono::Datelike;
use uuid::Uuid;

use crate::domain::programme::QrMode;
use crate::domain::redemption::{
    HolderFacts, ProviderFacts, RedemptionFacts, RedemptionTerms, Shown, VoucherFacts,
};
use crate::domain::{Fen, Timestamp};
use crate::service::commands::ShownToken;
use crate::service::error::CommandError;
use crate::service::error::Failure;
use crate::store::hold::HoldRecord;
use crate::store::redemption::{RedeemedTotals, TotalsQuery};
use crate::store::registry::{
    BlacklistRecord, EnterpriseRecord, IssuerKeyRecord, ProgrammeRecord, ProviderRecord,
};
use crate::store::voucher::VoucherRecord;
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
    /// The voucher's newest hold, if it was ever held.
    fn hold_of(
        &mut self,
        voucher_id: Uuid,
    ) -> impl Future<Output = Result<Option<HoldRecord>, StoreError>> + Send;
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
    async fn hold_of(&mut self, voucher_id: Uuid) -> Result<Option<HoldRecord>, StoreError> {
        crate::store::hold::HoldStore::hold_of(self.0, voucher_id).await
    }
}

/// What a redemption is judged on, with the rows it came from.
pub struct Gathered {
    pub facts: RedemptionFacts,
    pub voucher: VoucherRecord,
    pub holder: EnterpriseRecord,
    pub provider: ProviderRecord,
    /// The programme's hold window (a preview's hold lasts this long).
    pub hold_minutes: u32,
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
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
        .programme(voucher.programme_code.as_str())
        .await?
        .ok_or_else(|| corrupt(format!("voucher {voucher_id} names no programme")))?;
    let terms = programme.terms;
    let hold_minutes = terms.hold_minutes;
    let key = reads
        .issuer_key(&voucher.key_id)
        .await?
        .ok_or_else(|| corrupt(format!("voucher {voucher_id} names an unknown key")))?;
    let fields = provider.fields.clone();
    let status = provider.status;
    let blacklist = crate::service::issuance::blacklist_in_force(
        reads.provider_blacklist(provider_id).await?,
        today,
    );
    let totals = reads
        .totals(TotalsQuery {
            provider_id,
            enterprise_id: holder.id,
            programme_code: voucher.programme_code.as_str(),
            fiscal_year: today.year(),
        })
        .await?;
    // A live hold: this provider's (with this presentation) lets it redeem
    // after the presentation went stale; anyone else's keeps others out.
    let hold = reads
        .hold_of(voucher_id)
        .await?
        .filter(|hold| hold.live_at(now.as_micros()));
    let mine = |nonce: &str| {
        hold.as_ref()
            .is_some_and(|h| h.provider_id == provider_id && h.presentation_nonce == nonce)
    };
    let held_elsewhere = hold.as_ref().is_some_and(|h| h.provider_id != provider_id);
    let shown = match shown {
        ShownToken::Static => Shown::StaticToken,
        ShownToken::Presentation { nonce_hex } | ShownToken::Held { nonce_hex }
            if mine(nonce_hex) =>
        {
            Shown::FreshPresentation
        }
        ShownToken::Held { .. } => Shown::HoldLapsed,
        ShownToken::Presentation { nonce_hex } if reads.nonce_used(nonce_hex).await? => {
            Shown::UsedPresentation
        }
        ShownToken::Presentation { .. } => Shown::FreshPresentation,
    };
    let facts = RedemptionFacts {
        today,
        voucher: VoucherFacts {
            status: voucher.status,
            remaining: Fen::new(voucher.remaining_fen),
            valid_from: voucher.valid_from,
            valid_until: voucher.valid_until,
            categories: voucher.service_categories.clone(),
            key_revoked: key.status == KeyStatus::Revoked,
            divisible: terms.divisible,
        },
        shown,
        held_elsewhere,
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
        hold_minutes,
    })
}

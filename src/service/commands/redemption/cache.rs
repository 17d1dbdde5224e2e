//! What a batch's redemptions read, loaded once per batch and kept current
//! as the batch redeems — so a redemption in a full batch costs its two
//! writes, not ten reads one after another.
//!
//! `prefill` loads the batch's vouchers, their holders, the holders' annual
//! totals and the presentation nonces with one query each; programmes,
//! keys, providers and their blacklists are read once on first use. Only
//! rows known to exist are kept (a voucher issued earlier in the same
//! batch is read when first asked for). Decided redemptions are written
//! together by `flush` (before the batch commits, or before any command
//! that could change or read what is kept: `flush_and_forget`).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::facts::RedemptionReads;
use crate::domain::status::VoucherStatus;
use crate::service::commands::{RedeemSpec, ShownToken};
use crate::store::StoreError;
use crate::store::hold::{HoldRecord, HoldTx};
use crate::store::redemption::{
    RedeemedTotals, RedemptionRecord, RedemptionTx, TotalsQuery, VoucherUse,
};
use crate::store::registry::{
    BlacklistRecord, EnterpriseRecord, IssuerKeyRecord, ProgrammeRecord, ProviderRecord, RegistryTx,
};
use crate::store::voucher::{VoucherRecord, VoucherTx};

#[derive(Default)]
pub struct RedemptionCache {
    vouchers: HashMap<Uuid, VoucherRecord>,
    enterprises: HashMap<Uuid, EnterpriseRecord>,
    providers: HashMap<Uuid, ProviderRecord>,
    provider_blacklists: HashMap<Uuid, Vec<BlacklistRecord>>,
    keys: HashMap<String, IssuerKeyRecord>,
    programmes: HashMap<String, ProgrammeRecord>,
    /// (provider, fiscal year) → subsidy of its unreversed redemptions.
    provider_totals: HashMap<(Uuid, i32), i64>,
    /// (enterprise, programme, fiscal year) → the same for the holder.
    enterprise_totals: HashMap<(Uuid, String, i32), i64>,
    /// Presentation nonce → already used.
    nonces: HashMap<String, bool>,
    /// Voucher → its newest open (not ended) hold, live or lapsed; `None`:
    /// known to have none.
    holds: HashMap<Uuid, Option<HoldRecord>>,
    /// Redemptions decided by this batch, written by `flush`.
    pending: Vec<RedemptionRecord>,
    /// What they take from each voucher, in total, for one guarded update.
    uses: Vec<VoucherUse>,
}

impl RedemptionCache {
    /// Writes what the batch decided so far, then drops everything (a
    /// command may change it, or read the tables).
    pub async fn flush_and_forget<T: RedemptionTx + Send>(
        &mut self,
        tx: &mut T,
    ) -> Result<(), StoreError> {
        self.flush(tx).await?;
        *self = RedemptionCache::default();
        Ok(())
    }

    /// Writes the batch's redemptions: one guarded update for the vouchers
    /// (each must still be active and hold what it gives — else the batch
    /// fails), then the rows (the unique nonce and single-use indexes are
    /// checked here, in the same transaction as the entries).
    pub async fn flush<T: RedemptionTx + Send>(&mut self, tx: &mut T) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let changed = tx.consume_vouchers(&self.uses).await?;
        if changed != self.uses.len() as u64 {
            return Err(StoreError::Corrupt(format!(
                "{} of {} vouchers changed outside the ledger writer",
                self.uses.len() as u64 - changed,
                self.uses.len()
            )));
        }
        tx.insert_redemptions(&self.pending).await?;
        self.pending.clear();
        self.uses.clear();
        Ok(())
    }

    /// Loads what the batch's redemptions (`specs`) will read, for
    /// `fiscal_year`.
    pub async fn prefill<T: VoucherTx + RegistryTx + RedemptionTx + HoldTx + Send>(
        &mut self,
        tx: &mut T,
        specs: &[&RedeemSpec],
        fiscal_year: i32,
    ) -> Result<(), StoreError> {
        if specs.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = specs.iter().map(|spec| spec.voucher_id).collect();
        ids.sort();
        ids.dedup();
        for voucher in tx.vouchers_by_ids(&ids).await? {
            self.vouchers.insert(voucher.id, voucher);
        }
        for id in &ids {
            self.holds.insert(*id, None);
        }
        for hold in tx.open_holds_of(&ids).await? {
            let newest = self.holds.entry(hold.voucher_id).or_default();
            if newest
                .as_ref()
                .is_none_or(|known| known.held_sequence < hold.held_sequence)
            {
                *newest = Some(hold);
            }
        }
        let mut holders: Vec<Uuid> = self.vouchers.values().map(|v| v.enterprise_id).collect();
        holders.sort();
        holders.dedup();
        for enterprise in tx.enterprises_by_ids(&holders).await? {
            self.enterprises.insert(enterprise.id, enterprise);
        }
        for voucher in self.vouchers.values() {
            let key = (
                voucher.enterprise_id,
                voucher.programme_code.to_string(),
                fiscal_year,
            );
            self.enterprise_totals.insert(key, 0);
        }
        for (enterprise, programme, fen) in tx.enterprise_totals_many(&holders, fiscal_year).await?
        {
            self.enterprise_totals
                .insert((enterprise, programme, fiscal_year), fen);
        }
        let nonces: Vec<String> = specs
            .iter()
            .filter_map(|spec| match &spec.shown {
                ShownToken::Presentation { nonce_hex } => Some(nonce_hex.clone()),
                // A held presentation is judged by its hold, not by use.
                ShownToken::Static | ShownToken::Held { .. } => None,
            })
            .collect();
        let used: HashSet<String> = tx.nonces_used(&nonces).await?.into_iter().collect();
        for nonce in nonces {
            let was_used = used.contains(&nonce);
            self.nonces.insert(nonce, was_used);
        }
        Ok(())
    }

    /// Takes a decided redemption: its row and voucher use are written by
    /// `flush`; the cache is kept current.
    pub fn add(
        &mut self,
        done: &RedemptionPlanSummary,
        record: RedemptionRecord,
        used: VoucherUse,
    ) {
        match self
            .uses
            .iter_mut()
            .find(|u| u.voucher_id == used.voucher_id)
        {
            Some(earlier) => {
                earlier.used_fen += used.used_fen;
                earlier.status = used.status;
                earlier.updated_at_us = used.updated_at_us;
            }
            None => self.uses.push(used),
        }
        self.pending.push(record);
        self.record(done);
    }

    fn record(&mut self, done: &RedemptionPlanSummary) {
        if let Some(voucher) = self.vouchers.get_mut(&done.voucher_id) {
            voucher.remaining_fen -= done.used_fen;
            voucher.status = done.status_after;
        }
        if let Some(total) = self
            .provider_totals
            .get_mut(&(done.provider_id, done.fiscal_year))
        {
            *total += done.subsidy_fen;
        }
        let key = (
            done.enterprise_id,
            done.programme_code.clone(),
            done.fiscal_year,
        );
        if let Some(total) = self.enterprise_totals.get_mut(&key) {
            *total += done.subsidy_fen;
        }
        if let Some(nonce) = &done.nonce {
            self.nonces.insert(nonce.clone(), true);
        }
    }
}

/// Reads inside the writer's transaction, through the batch's cache.
pub struct BatchReads<'a, T> {
    pub tx: &'a mut T,
    pub cache: &'a mut RedemptionCache,
}

impl RedemptionCache {
    /// A hold this batch just placed: later commands of the batch see it
    /// (and its presentation as used).
    pub fn remember_hold(&mut self, hold: &HoldRecord) {
        self.nonces.insert(hold.presentation_nonce.clone(), true);
        self.holds.insert(hold.voucher_id, Some(hold.clone()));
    }

    /// A redemption of `voucher_id` decided at `sequence` ends the
    /// voucher's open holds (the redeeming provider's, and any that lapsed).
    pub async fn end_holds<T: HoldTx + Send>(
        &mut self,
        tx: &mut T,
        voucher_id: Uuid,
        sequence: u64,
    ) -> Result<(), StoreError> {
        let open = match self.holds.get(&voucher_id) {
            Some(known) => known.is_some(),
            None => HoldTx::hold_of(tx, voucher_id)
                .await?
                .is_some_and(|hold| hold.ended_sequence.is_none()),
        };
        if open {
            tx.end_holds(voucher_id, None, sequence).await?;
        }
        self.holds.insert(voucher_id, None);
        Ok(())
    }
}

impl<T: RegistryTx + VoucherTx + RedemptionTx + HoldTx + Send> RedemptionReads
    for BatchReads<'_, T>
{
    async fn voucher(&mut self, id: Uuid) -> Result<Option<VoucherRecord>, StoreError> {
        if let Some(known) = self.cache.vouchers.get(&id) {
            return Ok(Some(known.clone()));
        }
        let found = VoucherTx::voucher(self.tx, id).await?;
        if let Some(voucher) = &found {
            self.cache.vouchers.insert(id, voucher.clone());
        }
        Ok(found)
    }

    async fn issuer_key(&mut self, key_id: &str) -> Result<Option<IssuerKeyRecord>, StoreError> {
        if let Some(known) = self.cache.keys.get(key_id) {
            return Ok(Some(known.clone()));
        }
        let found = RegistryTx::issuer_key(self.tx, key_id).await?;
        if let Some(key) = &found {
            self.cache.keys.insert(key_id.to_string(), key.clone());
        }
        Ok(found)
    }

    async fn programme(&mut self, code: &str) -> Result<Option<ProgrammeRecord>, StoreError> {
        if let Some(known) = self.cache.programmes.get(code) {
            return Ok(Some(known.clone()));
        }
        let found = RegistryTx::programme(self.tx, code).await?;
        if let Some(programme) = &found {
            self.cache
                .programmes
                .insert(code.to_string(), programme.clone());
        }
        Ok(found)
    }

    async fn provider(&mut self, id: Uuid) -> Result<Option<ProviderRecord>, StoreError> {
        if let Some(known) = self.cache.providers.get(&id) {
            return Ok(Some(known.clone()));
        }
        let found = RegistryTx::provider_by_id(self.tx, id).await?;
        if let Some(provider) = &found {
            self.cache.providers.insert(id, provider.clone());
        }
        Ok(found)
    }

    async fn provider_blacklist(&mut self, id: Uuid) -> Result<Vec<BlacklistRecord>, StoreError> {
        if let Some(known) = self.cache.provider_blacklists.get(&id) {
            return Ok(known.clone());
        }
        let found = RegistryTx::blacklist_of(self.tx, "provider", id).await?;
        self.cache.provider_blacklists.insert(id, found.clone());
        Ok(found)
    }

    async fn enterprise(&mut self, id: Uuid) -> Result<Option<EnterpriseRecord>, StoreError> {
        if let Some(known) = self.cache.enterprises.get(&id) {
            return Ok(Some(known.clone()));
        }
        let found = RegistryTx::enterprise_by_id(self.tx, id).await?;
        if let Some(enterprise) = &found {
            self.cache.enterprises.insert(id, enterprise.clone());
        }
        Ok(found)
    }

    async fn totals(&mut self, query: TotalsQuery<'_>) -> Result<RedeemedTotals, StoreError> {
        let provider_key = (query.provider_id, query.fiscal_year);
        let enterprise_key = (
            query.enterprise_id,
            query.programme_code.to_string(),
            query.fiscal_year,
        );
        if let (Some(provider_fen), Some(enterprise_fen)) = (
            self.cache.provider_totals.get(&provider_key),
            self.cache.enterprise_totals.get(&enterprise_key),
        ) {
            return Ok(RedeemedTotals {
                provider_fen: *provider_fen,
                enterprise_fen: *enterprise_fen,
            });
        }
        let totals = RedemptionTx::redeemed_totals(self.tx, query).await?;
        self.cache
            .provider_totals
            .insert(provider_key, totals.provider_fen);
        self.cache
            .enterprise_totals
            .insert(enterprise_key, totals.enterprise_fen);
        Ok(totals)
    }

    async fn nonce_used(&mut self, nonce: &str) -> Result<bool, StoreError> {
        if let Some(used) = self.cache.nonces.get(nonce) {
            return Ok(*used);
        }
        let used = RedemptionTx::presentation_used(self.tx, nonce).await?;
        self.cache.nonces.insert(nonce.to_string(), used);
        Ok(used)
    }

    async fn hold_of(&mut self, voucher_id: Uuid) -> Result<Option<HoldRecord>, StoreError> {
        if let Some(known) = self.cache.holds.get(&voucher_id) {
            return Ok(known.clone());
        }
        let found = HoldTx::hold_of(self.tx, voucher_id).await?;
        let open = found.filter(|hold| hold.ended_sequence.is_none());
        self.cache.holds.insert(voucher_id, open.clone());
        Ok(open)
    }
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
    pub status_after: VoucherStatus,
    pub nonce: Option<String>,
}

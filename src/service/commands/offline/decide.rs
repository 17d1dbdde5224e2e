//! Offline commands under the lock: bindings numbered and certified,
//! devices registered, status lists built from the ledger as it stands,
//! and synced acceptances judged — the ledger's order decides what is paid.

use uuid::Uuid;

use super::{BindHolderKey, PublishStatusList, RegisterOfflineDevice, SyncOfflineAcceptance};
use crate::domain::Fen;
use crate::domain::offline::{DeviceUse, Settled, cap_breach, list_fresh, refusal, settle};
use crate::domain::programme::Rounding;
use crate::domain::redemption::{Contract, Shown, assess};
use crate::domain::status::{RedemptionStatus, VoucherStatus};
use crate::ledger::body::{EntryBody, pb};
use crate::service::commands::ShownToken;
use crate::service::commands::redemption::cache::{BatchReads, RedemptionPlanSummary};
use crate::service::commands::redemption::facts::gather;
use crate::service::commands::redemption::plan::postings;
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};
use crate::store::WriteTx;
use crate::store::offline::{
    AcceptanceRecord, BindingRecord, DeviceRecord, ListedVoucher, STATUS_LIST_VOUCHERS_MAX,
    StatusListRecord, VoucherNow,
};
use crate::store::redemption::{RedemptionRecord, VoucherUse};
use crate::store::voucher::VoucherTx;
use crate::token::offline::{BindingClaims, seal_binding};
use crate::token::status_list::{
    self, BarredProvider, ListedProgramme, ListedVoucherState, STATUS_LIST_FORMAT, StatusList,
};

use super::super::Draft;

fn refused(code: &'static str) -> Failure {
    CommandError::NotRedeemable {
        refusals: vec![refusal(code)],
    }
    .into()
}

impl Decide for BindHolderKey {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let voucher = VoucherTx::voucher(tx, self.voucher_id)
            .await?
            .filter(|v| self.enterprise_id.is_none_or(|id| id == v.enterprise_id))
            .ok_or(CommandError::NotFound)?;
        if voucher.status != VoucherStatus::Active {
            return Err(CommandError::VoucherState {
                status: voucher.status,
            }
            .into());
        }
        let bindings = tx.holder_bindings(self.voucher_id).await?;
        if bindings
            .last()
            .is_some_and(|b| b.public_key == self.key.public_key)
        {
            return Err(CommandError::Unchanged {
                id: self.voucher_id,
            }
            .into());
        }
        let binding_number = bindings.last().map_or(1, |b| b.binding_number + 1);
        let (key_id, signer) = at.prefetched.issuance.signer(tx, at.issuer_keys).await?;
        let certificate = seal_binding(
            &BindingClaims {
                voucher_id: self.voucher_id,
                binding_number,
                key: self.key.clone(),
                bound_at: at.now.as_micros().div_euclid(1_000_000),
                key_id: key_id.clone(),
            },
            &signer,
        );
        tx.insert_holder_binding(&BindingRecord {
            voucher_id: self.voucher_id,
            binding_number,
            algorithm: self.key.algorithm.as_str().to_string(),
            public_key: self.key.public_key.clone(),
            certificate: certificate.clone(),
            bound_at_us: at.now_us(),
            bound_sequence: at.sequence,
        })
        .await?;
        let body = EntryBody::HolderKeyBound(pb::HolderKeyBound {
            voucher_id: self.voucher_id.to_string(),
            binding_number,
            algorithm: self.key.algorithm.as_str().to_string(),
            public_key: self.key.public_key.clone(),
            key_id,
            certificate,
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for RegisterOfflineDevice {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        tx.provider_by_id(self.provider_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        let registered = tx.offline_device_count(self.provider_id).await?;
        if registered >= u64::from(crate::store::offline::DEVICES_PER_PROVIDER_MAX) {
            return Err(refused("offline_device_limit"));
        }
        tx.insert_offline_device(&DeviceRecord {
            id: self.device_id,
            provider_id: self.provider_id,
            algorithm: self.key.algorithm.as_str().to_string(),
            public_key: self.key.public_key.clone(),
            label: self.label.clone(),
            registered_at_us: at.now_us(),
            registered_sequence: at.sequence,
        })
        .await?;
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for PublishStatusList {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let previous = tx.latest_status_list().await?;
        if let Some(previous) = &previous {
            let age_us = at.now_us() - previous.published_at_us;
            let idle = previous.published_sequence + 1 == at.sequence;
            if age_us < i64::from(self.min_interval_seconds) * 1_000_000
                || (idle
                    && self.idle_refresh_seconds > 0
                    && age_us < i64::from(self.idle_refresh_seconds) * 1_000_000)
            {
                return Err(CommandError::Unchanged { id: Uuid::nil() }.into());
            }
        }
        let number = previous.as_ref().map_or(1, |p| p.number + 1);
        let full = status_list::is_full(number);
        // Changed since the previous list (its entry's time: every later
        // entry is at or after it), or everything for the first.
        let changed = match &previous {
            Some(previous) => tx.vouchers_changed_since(previous.published_at_us).await?,
            None => tx.vouchers_not_fresh().await?,
        };
        let reported = if full && previous.is_some() {
            tx.vouchers_not_fresh().await?
        } else {
            changed.clone()
        };
        if reported.len() > STATUS_LIST_VOUCHERS_MAX {
            return Err(refused("status_list_too_large"));
        }
        let mut programmes = Vec::new();
        for (code, terms_json) in tx.open_programme_terms().await? {
            let terms: crate::domain::programme::ProgrammeTerms = serde_json::from_str(&terms_json)
                .map_err(|error| {
                    crate::store::StoreError::Corrupt(format!("programme {code} terms: {error}"))
                })?;
            programmes.push(ListedProgramme {
                code,
                subsidy_ratio_bp: terms.subsidy_ratio_bp,
                rounding: match terms.rounding {
                    Rounding::Fen => "fen",
                    Rounding::Yuan => "yuan",
                }
                .to_string(),
                divisible: terms.divisible,
                offline: terms.offline,
            });
        }
        // Published by the clock only where a device may use it: some open
        // programme allows offline acceptance (the admin may publish any time).
        if self.idle_refresh_seconds > 0 && !programmes.iter().any(|p| p.offline.allowed()) {
            return Err(CommandError::Unchanged { id: Uuid::nil() }.into());
        }
        let today = at.now.cst_date().to_string();
        let mut barred: Vec<BarredProvider> = tx
            .barred_providers(&today)
            .await?
            .into_iter()
            .map(|(id, reason)| BarredProvider { id, reason })
            .collect();
        barred.sort_by(|a, b| (&a.id, &a.reason).cmp(&(&b.id, &b.reason)));
        let state = |v: &VoucherNow| ListedVoucherState {
            id: v.id.to_string(),
            status: v.status.clone(),
            remaining_fen: v.remaining_fen,
            binding: v.binding_number,
        };
        let mut vouchers: Vec<ListedVoucherState> = reported.iter().map(state).collect();
        vouchers.sort_by(|a, b| a.id.cmp(&b.id));
        let key = at.ledger_key;
        let list = StatusList {
            format: STATUS_LIST_FORMAT.to_string(),
            number,
            full,
            previous_digest: previous
                .as_ref()
                .map(|p| crate::ledger::entry::to_hex(&p.digest))
                .unwrap_or_default(),
            from_sequence: previous.as_ref().map_or(0, |p| p.to_sequence),
            to_sequence: at.sequence - 1,
            published_at: at.now.as_micros().div_euclid(1_000_000),
            key_id: key.key_id().to_string(),
            programmes,
            revoked_keys: tx.revoked_issuer_key_ids().await?,
            barred_providers: barred,
            vouchers,
        };
        let bytes = list.to_bytes();
        let digest = status_list::digest(&bytes);
        let signature = status_list::sign(&bytes, key.signing_key());
        let listed: Vec<ListedVoucher> = changed
            .iter()
            .map(|v| ListedVoucher {
                voucher_id: v.id,
                list_number: number,
                status: v.status.clone(),
                remaining_fen: v.remaining_fen,
                binding_number: v.binding_number,
            })
            .collect();
        let record = StatusListRecord {
            number,
            full,
            from_sequence: list.from_sequence,
            to_sequence: list.to_sequence,
            published_at_us: at.now_us(),
            digest: digest.to_vec(),
            signature: signature.to_vec(),
            key_id: list.key_id.clone(),
            body: String::from_utf8(bytes).expect("JSON is UTF-8"),
            published_sequence: at.sequence,
        };
        tx.insert_status_list(&record, &listed).await?;
        let body = EntryBody::StatusListPublished(pb::StatusListPublished {
            number,
            from_sequence: record.from_sequence,
            to_sequence: record.to_sequence,
            digest: record.digest,
            signature: record.signature,
            key_id: record.key_id,
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for SyncOfflineAcceptance {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, _: Draft) -> Decides {
        // Records keep whole seconds: an event "before" the acceptance is
        // one in the same second or earlier.
        let accepted_s = self.accepted_at_us.div_euclid(1_000_000);
        let by_then = |at_us: i64| at_us.div_euclid(1_000_000) <= accepted_s;
        // The device: registered to this provider before it accepted.
        let device = tx.offline_device(self.device_id).await?;
        if !device.is_some_and(|d| d.provider_id == self.provider_id && by_then(d.registered_at_us))
        {
            return Err(refused("offline_device_unregistered"));
        }
        if tx
            .offline_record_synced(self.device_id, self.record_number)
            .await?
        {
            return Err(refused("offline_record_synced"));
        }
        // The presentation: used once, online or offline.
        let reads_used = {
            let mut reads = BatchReads {
                tx: &mut *tx,
                cache: &mut at.prefetched.redemptions,
            };
            crate::service::commands::redemption::facts::RedemptionReads::nonce_used(
                &mut reads,
                &self.nonce_hex,
            )
            .await?
        };
        if reads_used || tx.offline_nonce_used(&self.nonce_hex).await? {
            return Err(refused("presentation_already_used"));
        }
        // The binding: the ledger's, and not replaced before the acceptance.
        let bindings = tx.holder_bindings(self.voucher_id).await?;
        if !bindings
            .iter()
            .any(|b| b.binding_number == self.binding_number && b.public_key == self.holder_key)
        {
            return Err(refused("holder_binding_invalid"));
        }
        if bindings
            .iter()
            .any(|b| b.binding_number > self.binding_number && by_then(b.bound_at_us))
        {
            return Err(refused("holder_binding_superseded"));
        }
        // The list the device held: published, fresh enough, and not already
        // showing the voucher as used.
        let list = tx
            .status_list(self.list_number)
            .await?
            .ok_or_else(|| refused("offline_list_unknown"))?;
        let programme = tx
            .programme(self.programme.as_str())
            .await?
            .ok_or(CommandError::NotFound)?;
        let offline = &programme.terms.offline;
        if !list_fresh(
            list.published_at_us,
            self.accepted_at_us,
            offline.list_max_age_minutes,
        ) {
            return Err(refused("offline_list_stale"));
        }
        if let Some(listed) = tx
            .listed_voucher_as_of(self.voucher_id, self.list_number)
            .await?
        {
            if listed.status != VoucherStatus::Active.as_str() || listed.remaining_fen <= 0 {
                return Err(refused("voucher_on_status_list"));
            }
            if listed.binding_number > self.binding_number {
                return Err(refused("holder_binding_superseded"));
            }
            if self.claimed.as_fen() > listed.remaining_fen {
                return Err(refused("offline_subsidy_mismatch"));
            }
        }
        // The caps, per device under one list (between syncs).
        let used = tx
            .device_use(self.device_id, self.list_number, self.voucher_id)
            .await?;
        let used = DeviceUse {
            count: u32::try_from(used.count).unwrap_or(u32::MAX),
            subsidy: Fen::new(used.claimed_fen),
            on_voucher: Fen::new(used.on_voucher_fen),
        };
        if let Some(code) = cap_breach(offline, used, self.claimed) {
            return Err(refused(code));
        }
        // Every redemption rule, as of the acceptance; the voucher as the
        // device could see it (active, the subsidy accepted available).
        let accepted_at = crate::domain::Timestamp::from_micros(self.accepted_at_us);
        let mut gathered = {
            let mut reads = BatchReads {
                tx: &mut *tx,
                cache: &mut at.prefetched.redemptions,
            };
            gather(
                &mut reads,
                self.voucher_id,
                self.provider_id,
                &ShownToken::Presentation {
                    nonce_hex: self.nonce_hex.clone(),
                },
                accepted_at,
            )
            .await?
        };
        if gathered.voucher.programme_code != self.programme {
            return Err(CommandError::NotFound.into());
        }
        let key = tx
            .issuer_key(&gathered.voucher.key_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        let (status_now, remaining_now) = (
            gathered.voucher.status,
            Fen::new(gathered.voucher.remaining_fen),
        );
        let facts = &mut gathered.facts;
        facts.shown = Shown::FreshPresentation;
        facts.held_elsewhere = false;
        facts.voucher.status = VoucherStatus::Active;
        facts.voucher.remaining = self.claimed;
        facts.voucher.key_revoked = key.revoked_at_us.is_some_and(by_then);
        let contract = Contract {
            category: self.service_category.clone(),
            amount: self.contract_amount,
        };
        // The annual caps count what is paid, known only once the ledger's
        // order has decided; every other rule is judged on the acceptance.
        let is_cap = |check: &crate::domain::eligibility::Check| {
            matches!(
                check.code,
                "provider_annual_cap_exceeded" | "enterprise_annual_cap_exceeded"
            )
        };
        let assessment = assess(&gathered.facts, &contract);
        let rules: Vec<_> = assessment
            .refusals
            .iter()
            .filter(|check| !is_cap(check))
            .cloned()
            .collect();
        if !rules.is_empty() {
            return Err(CommandError::NotRedeemable { refusals: rules }.into());
        }
        if assessment.subsidy != self.claimed {
            return Err(refused("offline_subsidy_mismatch"));
        }
        let enterprise_id = gathered.holder.id;
        let fiscal_year = chrono::Datelike::year(&gathered.facts.today);
        let divisible = gathered.facts.voucher.divisible;
        let mut acceptance = AcceptanceRecord {
            presentation_nonce: self.nonce_hex.clone(),
            id: self.id,
            device_id: self.device_id,
            record_number: self.record_number,
            record_digest: self.record_digest.to_vec(),
            provider_id: self.provider_id,
            voucher_id: self.voucher_id,
            programme_code: self.programme.to_string(),
            enterprise_id,
            list_number: self.list_number,
            accepted_at_us: self.accepted_at_us,
            service_category: self.service_category.clone(),
            contract_number: self.contract_number.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            claimed_fen: self.claimed.as_fen(),
            paid_fen: 0,
            conflict_fen: self.claimed.as_fen(),
            conflict_reason: None,
            synced_sequence: at.sequence,
            synced_at_us: at.now_us(),
        };
        let (paid, conflict) = match settle(status_now, remaining_now, self.claimed) {
            Settled::Conflict { reason } => {
                acceptance.conflict_reason = Some(reason.to_string());
                tx.insert_acceptance(&acceptance).await?;
                let checked = at.check(tx, Vec::new()).await?;
                let body = pb::OfflineConflictRecorded {
                    enterprise_id: enterprise_id.to_string(),
                    ..self.conflict_body(reason)
                };
                return Ok(Decided::new(
                    EntryBody::OfflineConflictRecorded(body),
                    checked,
                ));
            }
            Settled::Redeem { paid, conflict } => (paid, conflict),
        };
        gathered.facts.voucher.remaining = paid;
        let caps: Vec<_> = assess(&gathered.facts, &contract)
            .refusals
            .into_iter()
            .filter(|check| is_cap(check))
            .collect();
        if !caps.is_empty() {
            return Err(CommandError::NotRedeemable { refusals: caps }.into());
        }
        // Paid: the redemption as an online one would be, of `paid`.
        let after = remaining_now.as_fen() - paid.as_fen();
        let (returned, remaining_after) = if divisible { (0, after) } else { (after, 0) };
        let reason = if conflict.is_positive() {
            crate::domain::offline::VALUE_EXHAUSTED
        } else {
            ""
        };
        acceptance.paid_fen = paid.as_fen();
        acceptance.conflict_fen = conflict.as_fen();
        acceptance.conflict_reason = (!reason.is_empty()).then(|| reason.to_string());
        let checked = at
            .check(
                tx,
                postings(&self.programme, self.provider_id, paid, Fen::new(returned)),
            )
            .await?;
        at.prefetched
            .redemptions
            .end_holds(tx, self.voucher_id, at.sequence)
            .await?;
        tx.insert_acceptance(&acceptance).await?;
        let status_after = if remaining_after > 0 {
            VoucherStatus::Active
        } else {
            VoucherStatus::Redeemed
        };
        let record = RedemptionRecord {
            id: self.id,
            voucher_id: self.voucher_id,
            programme_code: self.programme.clone(),
            provider_id: self.provider_id,
            enterprise_id,
            service_category: self.service_category.clone(),
            contract_number: self.contract_number.clone(),
            description: self.description.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            subsidy_fen: paid.as_fen(),
            returned_fen: returned,
            single_use: !divisible,
            presentation_nonce: Some(self.nonce_hex.clone()),
            invoice: None,
            payment_proof_ref: None,
            fiscal_year,
            status: RedemptionStatus::Pending,
            redeemed_sequence: at.sequence,
            redeemed_at_us: at.now_us(),
            rating: None,
            comment: None,
            confirmed_at_us: None,
            dispute_reason: None,
            resolution_note: None,
            voucher_issued_at_us: gathered.voucher.issued_at_us,
            voucher_face_value_fen: gathered.voucher.face_value_fen,
        };
        let summary = RedemptionPlanSummary {
            voucher_id: self.voucher_id,
            provider_id: self.provider_id,
            enterprise_id,
            programme_code: self.programme.to_string(),
            fiscal_year,
            subsidy_fen: paid.as_fen(),
            used_fen: paid.as_fen() + returned,
            status_after,
            nonce: record.presentation_nonce.clone(),
        };
        let used = VoucherUse {
            voucher_id: self.voucher_id,
            used_fen: paid.as_fen() + returned,
            status: status_after,
            updated_at_us: at.now_us(),
        };
        at.prefetched
            .redemptions
            .add(&summary, record.clone(), used);
        let body = pb::VoucherRedeemed {
            redemption_id: self.id.to_string(),
            voucher_id: self.voucher_id.to_string(),
            programme_code: self.programme.to_string(),
            provider_id: self.provider_id.to_string(),
            enterprise_id: enterprise_id.to_string(),
            service_category: self.service_category.clone(),
            contract_number: self.contract_number.clone(),
            description: self.description.clone(),
            contract_amount_fen: self.contract_amount.as_fen(),
            subsidy_fen: paid.as_fen(),
            enterprise_share_fen: self.contract_amount.as_fen() - self.claimed.as_fen(),
            returned_fen: returned,
            remaining_after_fen: remaining_after,
            presentation_nonce: self.nonce_hex.clone(),
            invoice: None,
            payment_proof_ref: String::new(),
            offline: Some(self.acceptance(conflict, reason)),
        };
        Ok(Decided::redeemed(
            EntryBody::VoucherRedeemed(body),
            checked,
            record,
        ))
    }
}

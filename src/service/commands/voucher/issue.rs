//! Issuing vouchers inside the writer's batch transaction.
//!
//! A claim (or an admin allocation) is decided under the chain-head lock:
//! the programme's terms and status, the enterprise's registry facts, its
//! tags and blacklist entries in force today, and what it already holds
//! from the programme are all read in the same transaction that moves the
//! face value out of the budget — so two claims can never both pass a cap
//! or a budget that only one fits. The voucher is signed here too, because
//! its token carries the sequence number of the entry that issues it.

use std::collections::HashMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use uuid::Uuid;

use super::IssueVia;
use crate::domain::eligibility::evaluate;
use crate::domain::key_status::KeyStatus;
use crate::domain::status::VoucherStatus;
use crate::domain::{Fen, ProgrammeCode};
use crate::ledger::body::EntryBody;
use crate::service::error::CommandError;
use crate::service::error::Failure;
use crate::service::issuer_keyring::IssuerKeyring;
use crate::store::StoreError;
use crate::store::registry::{
    BlacklistRecord, EnterpriseRecord, ProgrammeRecord, RegistryTx, TagRecord,
};
use crate::store::voucher::{ClaimedSoFar, VoucherRecord, VoucherTx};
use crate::token::voucher::{VoucherClaims, signature_of};

use crate::service::issuance::{enterprise_facts, issued_body, voucher_claims};

/// What a batch's issues share: programmes and the signing key, loaded
/// once per batch. Commands that change them (programme changes, key
/// activation and revocation) clear it.
#[derive(Default)]
pub struct IssuanceCache {
    programmes: HashMap<String, Option<Arc<ProgrammeRecord>>>,
    signer: Option<(String, SigningKey)>,
    /// The claimants' registry rows, tags and blacklist entries, loaded
    /// for the whole batch with one query each (`prefill`).
    parties: HashMap<Uuid, Party>,
    /// What each (enterprise, programme) holds, kept current as the batch
    /// issues.
    claimed: HashMap<(Uuid, String), ClaimedSoFar>,
    /// Vouchers issued by this batch, written with one statement by
    /// `flush` before the batch commits (or before anything reads them).
    pending: Vec<VoucherRecord>,
}

/// What the eligibility check reads about one claimant.
#[derive(Clone)]
struct Party {
    enterprise: Option<EnterpriseRecord>,
    tags: Vec<TagRecord>,
    blacklist: Vec<BlacklistRecord>,
}

impl IssuanceCache {
    /// Forgets programmes and the signing key (a command changed them).
    pub fn forget(&mut self) {
        self.programmes.clear();
        self.signer = None;
    }

    /// Writes the vouchers issued so far in this batch.
    pub async fn flush<T: VoucherTx + Send>(&mut self, tx: &mut T) -> Result<(), StoreError> {
        if !self.pending.is_empty() {
            tx.insert_vouchers(&self.pending).await?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Forgets claimants' registry facts (a command changed an enterprise,
    /// its tags or the blacklist); they are then read one by one.
    pub fn forget_parties(&mut self) {
        self.parties.clear();
    }

    /// Loads, with a handful of queries, what `requests` (enterprise,
    /// programme) will read.
    pub async fn prefill<T: RegistryTx + VoucherTx + Send>(
        &mut self,
        tx: &mut T,
        requests: &[(Uuid, &str)],
    ) -> Result<(), StoreError> {
        if requests.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = requests.iter().map(|(id, _)| *id).collect();
        ids.sort();
        ids.dedup();
        let mut parties: HashMap<Uuid, Party> = ids
            .iter()
            .map(|id| {
                let empty = Party {
                    enterprise: None,
                    tags: Vec::new(),
                    blacklist: Vec::new(),
                };
                (*id, empty)
            })
            .collect();
        for record in tx.enterprises_by_ids(&ids).await? {
            if let Some(party) = parties.get_mut(&record.id) {
                party.enterprise = Some(record);
            }
        }
        let (tags, blacklist) = tx.tags_and_blacklist_of_many(&ids).await?;
        for tag in tags {
            if let Some(party) = parties.get_mut(&tag.enterprise_id) {
                party.tags.push(tag);
            }
        }
        for entry in blacklist {
            if let Some(party) = parties.get_mut(&entry.party_id) {
                party.blacklist.push(entry);
            }
        }
        self.parties = parties;
        let mut programmes: Vec<&str> = requests.iter().map(|(_, code)| *code).collect();
        programmes.sort();
        programmes.dedup();
        for code in programmes {
            let ids: Vec<Uuid> = requests
                .iter()
                .filter(|(_, c)| *c == code)
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                self.claimed
                    .insert((*id, code.to_string()), ClaimedSoFar::default());
            }
            for (id, claimed) in tx.claimed_so_far_many(&ids, code).await? {
                self.claimed.insert((id, code.to_string()), claimed);
            }
        }
        Ok(())
    }

    /// The claimant's facts: prefilled, or read now.
    async fn party<T: RegistryTx + Send>(
        &mut self,
        tx: &mut T,
        enterprise_id: Uuid,
    ) -> Result<Party, StoreError> {
        if let Some(party) = self.parties.get(&enterprise_id) {
            return Ok(party.clone());
        }
        Ok(Party {
            enterprise: tx.enterprise_by_id(enterprise_id).await?,
            tags: tx.tags_of(enterprise_id).await?,
            blacklist: tx.blacklist_of("enterprise", enterprise_id).await?,
        })
    }

    async fn claimed<T: VoucherTx + Send>(
        &mut self,
        tx: &mut T,
        enterprise_id: Uuid,
        programme: &str,
    ) -> Result<ClaimedSoFar, StoreError> {
        let key = (enterprise_id, programme.to_string());
        if let Some(claimed) = self.claimed.get(&key) {
            return Ok(*claimed);
        }
        let claimed = tx.claimed_so_far(enterprise_id, programme).await?;
        self.claimed.insert(key, claimed);
        Ok(claimed)
    }

    async fn programme<T: RegistryTx + Send>(
        &mut self,
        tx: &mut T,
        code: &str,
    ) -> Result<Option<Arc<ProgrammeRecord>>, StoreError> {
        if let Some(known) = self.programmes.get(code) {
            return Ok(known.clone());
        }
        let loaded = tx.programme(code).await?.map(Arc::new);
        self.programmes.insert(code.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// The active issuer key's id and private half.
    pub(crate) async fn signer<T: RegistryTx + Send>(
        &mut self,
        tx: &mut T,
        ring: &IssuerKeyring,
    ) -> Result<(String, SigningKey), Failure> {
        if let Some(signer) = &self.signer {
            return Ok(signer.clone());
        }
        let active = tx
            .active_issuer_key()
            .await?
            .ok_or(CommandError::IssuerKeyUnavailable { key_id: None })?;
        let key = match ring.signing_key(&active.key_id) {
            Ok(Some(key)) => key,
            Ok(None) => {
                tracing::error!(
                    key_id = %active.key_id,
                    "the active issuer key's private key is not available to this process"
                );
                return Err(CommandError::IssuerKeyUnavailable {
                    key_id: Some(active.key_id),
                }
                .into());
            }
            Err(error) => {
                tracing::error!(%error, key_id = %active.key_id, "cannot load the issuer key");
                return Err(CommandError::IssuerKeyUnavailable {
                    key_id: Some(active.key_id),
                }
                .into());
            }
        };
        let signer = (active.key_id, key);
        self.signer = Some(signer.clone());
        Ok(signer)
    }
}

/// What an issue knows about the entry it is part of.
pub struct IssueContext<'a> {
    /// The entry's time.
    pub now: crate::domain::Timestamp,
    /// The entry's sequence number (vouchers carry it).
    pub sequence: u64,
    /// Private halves of the issuer keys, for signing vouchers.
    pub issuer_keys: &'a IssuerKeyring,
    /// The entry's postings would take the programme's budget below zero:
    /// the issue checks its own rules first, then refuses with
    /// `BudgetExhausted` before writing anything.
    pub budget_exhausted: bool,
}

/// What an issue asks for.
pub struct IssueRequest<'a> {
    pub voucher_id: Uuid,
    pub programme: &'a ProgrammeCode,
    pub enterprise_id: Uuid,
    pub face_value: Fen,
    pub via: IssueVia,
}

/// Checks every rule under the lock, signs the voucher and writes its row.
pub async fn issue<T: RegistryTx + VoucherTx + Send>(
    tx: &mut T,
    cache: &mut IssuanceCache,
    request: &IssueRequest<'_>,
    context: &IssueContext<'_>,
) -> Result<EntryBody, Failure> {
    let programme = cache
        .programme(tx, request.programme.as_str())
        .await?
        .ok_or(CommandError::NotFound)?;
    let terms = &programme.terms;
    if !terms.offers(request.face_value) {
        return Err(CommandError::FaceValueNotOffered {
            offered: terms.face_values_fen.clone(),
        }
        .into());
    }
    let Party {
        enterprise,
        tags,
        blacklist,
    } = cache.party(tx, request.enterprise_id).await?;
    let enterprise = enterprise.ok_or(CommandError::EnterpriseNotRegistered)?;
    let today = context.now.cst_date();
    let claimed = cache
        .claimed(tx, enterprise.id, request.programme.as_str())
        .await?;
    let facts = enterprise_facts(&enterprise, tags, blacklist, claimed, today);
    let report = evaluate(
        &terms.eligibility_rules(programme.status),
        &facts,
        request.face_value,
        context.now,
    );
    let failures: Vec<_> = report
        .failures()
        .filter(|check| {
            // An allocation is the bureau's own act: the claim window is
            // for enterprises claiming.
            request.via == IssueVia::Claim || !check.code.starts_with("claim_window")
        })
        .cloned()
        .collect();
    if !failures.is_empty() {
        return Err(CommandError::NotEligible { failures }.into());
    }
    let (valid_from, valid_until) = terms
        .voucher_validity(today)
        .ok_or(CommandError::ProgrammeEnded)?;
    if context.budget_exhausted {
        return Err(CommandError::BudgetExhausted {
            programme: request.programme.to_string(),
        }
        .into());
    }
    let (key_id, key) = cache.signer(tx, context.issuer_keys).await?;
    let claims = VoucherClaims {
        voucher_id: request.voucher_id,
        programme_code: request.programme.to_string(),
        enterprise_uscc: enterprise.uscc.clone(),
        face_value: request.face_value,
        valid_from,
        valid_until,
        service_categories: terms.service_categories.clone(),
        issued_sequence: context.sequence,
        key_id,
    };
    let record = VoucherRecord {
        id: request.voucher_id,
        programme_code: request.programme.clone(),
        enterprise_id: enterprise.id,
        enterprise_uscc: claims.enterprise_uscc.clone(),
        face_value_fen: request.face_value.as_fen(),
        remaining_fen: request.face_value.as_fen(),
        valid_from,
        valid_until,
        service_categories: claims.service_categories.clone(),
        issued_sequence: context.sequence,
        signature: signature_of(&claims, &key),
        key_id: claims.key_id,
        status: VoucherStatus::Active,
        via: request.via.as_str().into(),
        replaces_id: None,
        issued_at_us: context.now.as_micros(),
    };
    let body = issued_body(&record);
    cache.pending.push(record);
    cache.claimed.insert(
        (enterprise.id, request.programme.to_string()),
        ClaimedSoFar {
            face_value_fen: claimed.face_value_fen + request.face_value.as_fen(),
            count: claimed.count + 1,
        },
    );
    Ok(EntryBody::VoucherIssued(body))
}

/// Replaces an active voucher whose key was revoked with one signed by the
/// active key; value, enterprise and validity carry over.
pub async fn reissue<T: RegistryTx + VoucherTx + Send>(
    tx: &mut T,
    cache: &mut IssuanceCache,
    voucher_id: Uuid,
    new_voucher_id: Uuid,
    context: &IssueContext<'_>,
) -> Result<EntryBody, Failure> {
    // It may have been issued earlier in this batch.
    cache.flush(tx).await?;
    let old = VoucherTx::voucher(tx, voucher_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if old.status != VoucherStatus::Active {
        return Err(CommandError::VoucherState { status: old.status }.into());
    }
    let old_key = tx
        .issuer_key(&old.key_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("voucher key {} is unknown", old.key_id)))?;
    if old_key.status != KeyStatus::Revoked {
        return Err(CommandError::KeyNotRevoked { key_id: old.key_id }.into());
    }
    let (key_id, key) = cache.signer(tx, context.issuer_keys).await?;
    let claims = VoucherClaims {
        voucher_id: new_voucher_id,
        issued_sequence: context.sequence,
        key_id,
        ..voucher_claims(&old)?
    };
    let record = VoucherRecord {
        id: new_voucher_id,
        issued_sequence: context.sequence,
        signature: signature_of(&claims, &key),
        key_id: claims.key_id,
        status: VoucherStatus::Active,
        via: "reissue".into(),
        replaces_id: Some(old.id),
        issued_at_us: context.now.as_micros(),
        ..old.clone()
    };
    tx.set_voucher_status(old.id, "reissued", context.now.as_micros())
        .await?;
    let body = issued_body(&record);
    cache.pending.push(record);
    Ok(EntryBody::VoucherReissued(body))
}

//! `verify`'s part for offline redemption (docs/ledger.md §8): replays the
//! offline entries (`ledger::offline_replay`), checks each published status
//! list's stored body — its digest, the ledger key's signature, the chain
//! of digests, and every voucher it reports against the entries — and at
//! the end compares the offline tables with the replay, row by row.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::ledger::body::EntryBody;
use crate::ledger::offline_replay::OfflineReplay;
use crate::ledger::voucher_replay::VoucherReplay;
use crate::store::Store;
use crate::store::offline::OFFLINE_PAGE_MAX;
use crate::token::status_list;

/// What went wrong: a read, or a finding (`verify` reports both).
#[derive(Debug)]
pub enum OfflineProblem {
    Store(crate::store::StoreError),
    Projection(String),
}

impl From<crate::store::StoreError> for OfflineProblem {
    fn from(error: crate::store::StoreError) -> OfflineProblem {
        OfflineProblem::Store(error)
    }
}

fn problem(what: String) -> OfflineProblem {
    OfflineProblem::Projection(what)
}

pub struct OfflineCheck {
    replay: OfflineReplay,
    ledger_keys: HashMap<String, VerifyingKey>,
}

impl OfflineCheck {
    pub fn new(ledger_keys: HashMap<String, VerifyingKey>) -> OfflineCheck {
        OfflineCheck {
            replay: OfflineReplay::default(),
            ledger_keys,
        }
    }

    /// After `vouchers` applied the entry at `sequence`.
    pub async fn push<S: Store>(
        &mut self,
        store: &S,
        sequence: u64,
        body: &EntryBody,
        vouchers: &VoucherReplay,
    ) -> Result<(), OfflineProblem> {
        self.replay
            .apply(sequence, body, vouchers)
            .map_err(|p| problem(format!("sequence {sequence}: {p}")))?;
        if let EntryBody::StatusListPublished(published) = body {
            self.check_list(store, published.number, vouchers).await?;
        }
        Ok(())
    }

    async fn check_list<S: Store>(
        &mut self,
        store: &S,
        number: u64,
        vouchers: &VoucherReplay,
    ) -> Result<(), OfflineProblem> {
        let row = store
            .status_lists_after(number - 1, 1)
            .await?
            .into_iter()
            .next()
            .filter(|row| row.number == number)
            .ok_or_else(|| problem(format!("status list {number} has an entry but no row")))?;
        let published = self
            .replay
            .publications
            .last()
            .expect("the replay just recorded this publication")
            .clone();
        let bytes = row.body.as_bytes();
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        if digest.as_slice() != published.digest.as_slice()
            || row.digest != published.digest
            || row.signature != published.signature
            || row.published_sequence != published.sequence
        {
            return Err(problem(format!(
                "status list {number}: the stored body or row differs from what its entry signed"
            )));
        }
        let key = self.ledger_keys.get(&published.key_id).ok_or_else(|| {
            problem(format!(
                "status list {number} is signed by unknown ledger key {}",
                published.key_id
            ))
        })?;
        if !status_list::signature_verifies(bytes, &published.signature, key) {
            return Err(problem(format!(
                "status list {number}: the ledger key's signature does not verify"
            )));
        }
        let list =
            status_list::parse(bytes).map_err(|p| problem(format!("status list {number}: {p}")))?;
        let previous = self
            .replay
            .publications
            .iter()
            .rev()
            .nth(1)
            .map(|p| crate::ledger::entry::to_hex(&p.digest))
            .unwrap_or_default();
        if list.previous_digest != previous {
            return Err(problem(format!(
                "status list {number} does not name the digest of the list before it"
            )));
        }
        let changed = self.replay.check_list(&list, vouchers).map_err(problem)?;
        let rows = store.listed_vouchers_of(number).await?;
        for row in &rows {
            let id = row.voucher_id.to_string();
            let state = vouchers.vouchers.get(&id);
            let binding = self.replay.bindings.get(&id).map_or(0, |b| b.len() as u32);
            if state.is_none_or(|s| {
                s.status != row.status
                    || s.remaining_fen != row.remaining_fen
                    || binding != row.binding_number
            }) {
                return Err(problem(format!(
                    "status list {number}: the row of voucher {id} is not the voucher as the entries left it"
                )));
            }
        }
        if let Some(missing) = changed
            .iter()
            .find(|id| !rows.iter().any(|r| &r.voucher_id.to_string() == *id))
        {
            return Err(problem(format!(
                "status list {number}: no row for voucher {missing}, which changed since the list before"
            )));
        }
        Ok(())
    }

    /// Every offline row is what the entries recorded, and every entry's
    /// row exists.
    pub async fn finish<S: Store>(self, store: &S) -> Result<(), OfflineProblem> {
        let replay = self.replay;
        let mut after = 0;
        let mut bindings = 0;
        loop {
            let page = store.holder_bindings_after(after, OFFLINE_PAGE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = last.bound_sequence;
            for row in &page {
                bindings += 1;
                let expected = replay
                    .bindings
                    .get(&row.voucher_id.to_string())
                    .and_then(|list| list.get(row.binding_number as usize - 1));
                if expected.is_none_or(|b| {
                    b.public_key != row.public_key
                        || b.algorithm != row.algorithm
                        || b.certificate != row.certificate
                        || b.sequence != row.bound_sequence
                }) {
                    return Err(problem(format!(
                        "holder binding {} of voucher {} is not the one its entry recorded",
                        row.binding_number, row.voucher_id
                    )));
                }
            }
        }
        let recorded: usize = replay.bindings.values().map(Vec::len).sum();
        if bindings != recorded {
            return Err(problem(format!(
                "{recorded} holder bindings were recorded by entries but {bindings} rows exist"
            )));
        }
        let mut after = 0;
        let mut devices = 0;
        loop {
            let page = store.offline_devices_after(after, OFFLINE_PAGE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = last.registered_sequence;
            for row in &page {
                devices += 1;
                let expected = replay.devices.get(&row.id.to_string());
                if expected.is_none_or(|d| {
                    d.provider_id != row.provider_id.to_string()
                        || d.public_key != row.public_key
                        || d.algorithm != row.algorithm
                        || d.label != row.label
                        || d.sequence != row.registered_sequence
                }) {
                    return Err(problem(format!(
                        "offline device {} is not the one its entry registered",
                        row.id
                    )));
                }
            }
        }
        if devices != replay.devices.len() {
            return Err(problem(format!(
                "{} devices were registered by entries but {devices} rows exist",
                replay.devices.len()
            )));
        }
        let mut after = 0;
        let mut acceptances = 0;
        loop {
            let page = store.acceptances_after(after, OFFLINE_PAGE_MAX).await?;
            let Some(last) = page.last() else { break };
            after = last.synced_sequence;
            for row in &page {
                acceptances += 1;
                let expected = replay.acceptances.get(&row.presentation_nonce);
                if expected.is_none_or(|a| {
                    a.id != row.id.to_string()
                        || a.device_id != row.device_id.to_string()
                        || a.record_number != row.record_number
                        || a.record_digest != row.record_digest
                        || a.provider_id != row.provider_id.to_string()
                        || a.voucher_id != row.voucher_id.to_string()
                        || a.enterprise_id != row.enterprise_id.to_string()
                        || a.list_number != row.list_number
                        || a.accepted_at_us != row.accepted_at_us
                        || a.claimed_fen != row.claimed_fen
                        || a.paid_fen != row.paid_fen
                        || a.conflict_fen != row.conflict_fen
                        || a.conflict_reason != row.conflict_reason.clone().unwrap_or_default()
                        || a.sequence != row.synced_sequence
                }) {
                    return Err(problem(format!(
                        "offline acceptance {} is not what its entry recorded",
                        row.id
                    )));
                }
            }
        }
        if acceptances != replay.acceptances.len() {
            return Err(problem(format!(
                "{} offline acceptances were synced by entries but {acceptances} rows exist",
                replay.acceptances.len()
            )));
        }
        let lists = store.latest_status_list().await?.map_or(0, |l| l.number);
        if lists != replay.publications.len() as u64 {
            return Err(problem(format!(
                "{} status lists were published by entries but the newest row is list {lists}",
                replay.publications.len()
            )));
        }
        Ok(())
    }
}

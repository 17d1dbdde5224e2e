//! Replaying offline redemption: holder bindings, registered devices,
//! status list publications and synced acceptances, as the entries leave
//! them. `verify` compares this with the offline tables, checks each
//! binding certificate against the issuer keys the entries activated, and
//! checks each published list against the vouchers as the entries left
//! them at that point. Pure: entries in, states and problems out.

use std::collections::{BTreeSet, HashMap};

use ed25519_dalek::VerifyingKey;

use super::body::{EntryBody, pb};
use super::voucher_replay::VoucherReplay;
use crate::domain::key_status::KeyStatus;
use crate::key_id::key_id_for;
use crate::token::offline::open_binding;
use crate::token::status_list::StatusList;

/// A binding as its entry recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingState {
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub certificate: Vec<u8>,
    pub sequence: u64,
}

/// A device as its entry registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    pub provider_id: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub label: String,
    pub sequence: u64,
}

/// A synced acceptance as its entry recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceState {
    pub id: String,
    pub device_id: String,
    pub record_number: u64,
    pub record_digest: Vec<u8>,
    pub provider_id: String,
    pub voucher_id: String,
    pub enterprise_id: String,
    pub list_number: u64,
    pub accepted_at_us: i64,
    pub claimed_fen: i64,
    pub paid_fen: i64,
    pub conflict_fen: i64,
    pub conflict_reason: String,
    pub sequence: u64,
}

/// A publication as its entry recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationState {
    pub number: u64,
    pub from_sequence: u64,
    pub to_sequence: u64,
    pub digest: Vec<u8>,
    pub signature: Vec<u8>,
    pub key_id: String,
    pub sequence: u64,
}

#[derive(Debug, Default)]
pub struct OfflineReplay {
    /// Voucher → its bindings by number (1, 2, …).
    pub bindings: HashMap<String, Vec<BindingState>>,
    pub devices: HashMap<String, DeviceState>,
    /// By presentation nonce.
    pub acceptances: HashMap<String, AcceptanceState>,
    pub publications: Vec<PublicationState>,
    /// Issuer keys the entries activated.
    issuer_keys: HashMap<String, VerifyingKey>,
    /// Vouchers whose state changed since the last publication.
    touched: BTreeSet<String>,
}

impl OfflineReplay {
    /// Applies the entry at `sequence`; `vouchers` has already applied it.
    pub fn apply(
        &mut self,
        sequence: u64,
        body: &EntryBody,
        vouchers: &VoucherReplay,
    ) -> Result<(), String> {
        match body {
            EntryBody::IssuerKeyActivated(activated) => {
                if let Some(key) = <[u8; 32]>::try_from(activated.public_key.as_slice())
                    .ok()
                    .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
                {
                    self.issuer_keys.insert(key_id_for(&key), key);
                }
            }
            EntryBody::VoucherRedeemed(redeemed) => {
                self.touched.insert(redeemed.voucher_id.clone());
                if let Some(offline) = &redeemed.offline {
                    self.accept(
                        sequence,
                        &redeemed.redemption_id,
                        &redeemed.presentation_nonce,
                        &redeemed.provider_id,
                        &redeemed.voucher_id,
                        &redeemed.enterprise_id,
                        offline,
                        redeemed.subsidy_fen,
                    )?;
                }
            }
            EntryBody::OfflineConflictRecorded(conflict) => {
                let offline = conflict
                    .offline
                    .as_ref()
                    .ok_or("an offline conflict without its acceptance")?;
                self.accept(
                    sequence,
                    &conflict.conflict_id,
                    &conflict.presentation_nonce,
                    &conflict.provider_id,
                    &conflict.voucher_id,
                    &conflict.enterprise_id,
                    offline,
                    0,
                )?;
            }
            EntryBody::RedemptionReversed(reversed) if reversed.returned_to == "voucher" => {
                self.touched.insert(reversed.voucher_id.clone());
            }
            EntryBody::VoucherExpired(withdrawn) | EntryBody::VoucherRevoked(withdrawn) => {
                self.touched.insert(withdrawn.voucher_id.clone());
            }
            EntryBody::VoucherReissued(issued) => {
                self.touched.insert(issued.replaces_voucher_id.clone());
            }
            EntryBody::HolderKeyBound(bound) => self.bind(sequence, bound, vouchers)?,
            EntryBody::OfflineDeviceRegistered(device) => {
                let state = DeviceState {
                    provider_id: device.provider_id.clone(),
                    algorithm: device.algorithm.clone(),
                    public_key: device.public_key.clone(),
                    label: device.label.clone(),
                    sequence,
                };
                if self
                    .devices
                    .insert(device.device_id.clone(), state)
                    .is_some()
                {
                    return Err(format!("device {} registered twice", device.device_id));
                }
            }
            EntryBody::StatusListPublished(published) => {
                let (number, from) = self
                    .publications
                    .last()
                    .map_or((1, 0), |p| (p.number + 1, p.to_sequence));
                if published.number != number
                    || published.from_sequence != from
                    || published.to_sequence + 1 != sequence
                {
                    return Err(format!(
                        "status list {} covers {}..{} but should be list {number} covering {from}..{}",
                        published.number,
                        published.from_sequence,
                        published.to_sequence,
                        sequence - 1
                    ));
                }
                self.publications.push(PublicationState {
                    number,
                    from_sequence: from,
                    to_sequence: published.to_sequence,
                    digest: published.digest.clone(),
                    signature: published.signature.clone(),
                    key_id: published.key_id.clone(),
                    sequence,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn bind(
        &mut self,
        sequence: u64,
        bound: &pb::HolderKeyBound,
        vouchers: &VoucherReplay,
    ) -> Result<(), String> {
        if !vouchers.vouchers.contains_key(&bound.voucher_id) {
            return Err(format!(
                "a binding names voucher {}, which no entry issued",
                bound.voucher_id
            ));
        }
        let list = self.bindings.entry(bound.voucher_id.clone()).or_default();
        if bound.binding_number as usize != list.len() + 1 {
            return Err(format!(
                "voucher {} binding {} follows binding {}",
                bound.voucher_id,
                bound.binding_number,
                list.len()
            ));
        }
        let keys = &self.issuer_keys;
        let lookup = |id: &str| keys.get(id).map(|key| (*key, KeyStatus::Active));
        let claims = open_binding(&bound.certificate, &lookup).map_err(|error| {
            format!(
                "voucher {} binding {}: the certificate does not verify ({error})",
                bound.voucher_id, bound.binding_number
            )
        })?;
        if claims.voucher_id.to_string() != bound.voucher_id
            || claims.binding_number != bound.binding_number
            || claims.key.public_key != bound.public_key
            || claims.key.algorithm.as_str() != bound.algorithm
            || claims.key_id != bound.key_id
        {
            return Err(format!(
                "voucher {} binding {}: the certificate says something else than the entry",
                bound.voucher_id, bound.binding_number
            ));
        }
        list.push(BindingState {
            algorithm: bound.algorithm.clone(),
            public_key: bound.public_key.clone(),
            certificate: bound.certificate.clone(),
            sequence,
        });
        if bound.binding_number > 1 {
            self.touched.insert(bound.voucher_id.clone());
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        &mut self,
        sequence: u64,
        id: &str,
        nonce: &str,
        provider_id: &str,
        voucher_id: &str,
        enterprise_id: &str,
        offline: &pb::OfflineAcceptance,
        paid_fen: i64,
    ) -> Result<(), String> {
        let device = self
            .devices
            .get(&offline.device_id)
            .filter(|d| d.provider_id == provider_id)
            .ok_or_else(|| {
                format!(
                    "sequence {sequence}: an offline acceptance by device {}, which no entry registered to provider {provider_id}",
                    offline.device_id
                )
            })?;
        let _ = device;
        if !self
            .publications
            .iter()
            .any(|p| p.number == offline.list_number)
        {
            return Err(format!(
                "sequence {sequence}: an offline acceptance under status list {}, which was never published",
                offline.list_number
            ));
        }
        if paid_fen + offline.conflict_fen != offline.claimed_subsidy_fen
            || offline.conflict_fen < 0
            || (offline.conflict_fen > 0) == offline.conflict_reason.is_empty()
        {
            return Err(format!(
                "sequence {sequence}: offline acceptance pays {paid_fen} + conflict {} of {} claimed",
                offline.conflict_fen, offline.claimed_subsidy_fen
            ));
        }
        let twice = self
            .acceptances
            .values()
            .any(|a| a.device_id == offline.device_id && a.record_number == offline.record_number);
        let state = AcceptanceState {
            id: id.to_string(),
            device_id: offline.device_id.clone(),
            record_number: offline.record_number,
            record_digest: offline.record_digest.clone(),
            provider_id: provider_id.to_string(),
            voucher_id: voucher_id.to_string(),
            enterprise_id: enterprise_id.to_string(),
            list_number: offline.list_number,
            accepted_at_us: offline.accepted_at_us,
            claimed_fen: offline.claimed_subsidy_fen,
            paid_fen,
            conflict_fen: offline.conflict_fen,
            conflict_reason: offline.conflict_reason.clone(),
            sequence,
        };
        if twice || self.acceptances.insert(nonce.to_string(), state).is_some() {
            return Err(format!(
                "sequence {sequence}: an offline record or presentation synced twice"
            ));
        }
        Ok(())
    }

    /// Checks the list body published at the newest publication against the
    /// vouchers as the entries left them (`vouchers`, at the entry before
    /// it): every voucher reported as it stands, every voucher changed since
    /// the list before reported. Returns the ids changed since the list
    /// before (the rows `status_list_vouchers` must hold).
    pub fn check_list(
        &mut self,
        list: &StatusList,
        vouchers: &VoucherReplay,
    ) -> Result<BTreeSet<String>, String> {
        let published = self
            .publications
            .last()
            .ok_or("a status list body without its entry")?;
        if list.number != published.number
            || list.from_sequence != published.from_sequence
            || list.to_sequence != published.to_sequence
            || list.key_id != published.key_id
            || list.full != crate::token::status_list::is_full(list.number)
        {
            return Err(format!(
                "status list {}: the body's number, range, key or kind differ from its entry",
                published.number
            ));
        }
        for item in &list.vouchers {
            let state = vouchers.vouchers.get(&item.id).ok_or_else(|| {
                format!(
                    "status list {} lists unknown voucher {}",
                    list.number, item.id
                )
            })?;
            let binding = self.bindings.get(&item.id).map_or(0, |b| b.len() as u32);
            if state.status != item.status
                || state.remaining_fen != item.remaining_fen
                || binding != item.binding
            {
                return Err(format!(
                    "status list {} reports voucher {} as {} with {} fen (binding {}), but the entries say {} with {} fen (binding {binding})",
                    list.number,
                    item.id,
                    item.status,
                    item.remaining_fen,
                    item.binding,
                    state.status,
                    state.remaining_fen
                ));
            }
        }
        let listed: BTreeSet<&str> = list.vouchers.iter().map(|v| v.id.as_str()).collect();
        if let Some(missing) = self.touched.iter().find(|id| !listed.contains(id.as_str())) {
            return Err(format!(
                "status list {} leaves out voucher {missing}, which changed since the list before",
                list.number
            ));
        }
        Ok(std::mem::take(&mut self.touched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(number: u64, from: u64, to: u64) -> EntryBody {
        EntryBody::StatusListPublished(pb::StatusListPublished {
            number,
            from_sequence: from,
            to_sequence: to,
            ..pb::StatusListPublished::default()
        })
    }

    #[test]
    fn publications_are_numbered_and_cover_the_chain_without_gaps() {
        let vouchers = VoucherReplay::default();
        let mut replay = OfflineReplay::default();
        replay.apply(5, &published(1, 0, 4), &vouchers).unwrap();
        replay.apply(9, &published(2, 4, 8), &vouchers).unwrap();
        assert!(replay.apply(12, &published(3, 9, 11), &vouchers).is_err());
        assert!(replay.apply(12, &published(4, 8, 11), &vouchers).is_err());
        assert!(replay.apply(12, &published(3, 8, 10), &vouchers).is_err());
    }

    #[test]
    fn an_acceptance_needs_its_device_and_list_and_adds_up() {
        let vouchers = VoucherReplay::default();
        let mut replay = OfflineReplay::default();
        let conflict = |claimed, conflict, reason: &str| {
            EntryBody::OfflineConflictRecorded(pb::OfflineConflictRecorded {
                conflict_id: "c".into(),
                voucher_id: "v".into(),
                provider_id: "p".into(),
                presentation_nonce: "n".into(),
                offline: Some(pb::OfflineAcceptance {
                    device_id: "d".into(),
                    record_number: 1,
                    list_number: 1,
                    claimed_subsidy_fen: claimed,
                    conflict_fen: conflict,
                    conflict_reason: reason.into(),
                    ..pb::OfflineAcceptance::default()
                }),
                ..pb::OfflineConflictRecorded::default()
            })
        };
        assert!(
            replay
                .apply(3, &conflict(100, 100, "voucher_revoked"), &vouchers)
                .is_err(),
            "no device"
        );
        replay
            .apply(
                1,
                &EntryBody::OfflineDeviceRegistered(pb::OfflineDeviceRegistered {
                    device_id: "d".into(),
                    provider_id: "p".into(),
                    ..pb::OfflineDeviceRegistered::default()
                }),
                &vouchers,
            )
            .unwrap();
        assert!(
            replay
                .apply(3, &conflict(100, 100, "voucher_revoked"), &vouchers)
                .is_err(),
            "no list"
        );
        replay.apply(2, &published(1, 0, 1), &vouchers).unwrap();
        assert!(
            replay
                .apply(3, &conflict(100, 90, "voucher_revoked"), &vouchers)
                .is_err(),
            "a conflict pays nothing: all of it is the conflict"
        );
        replay
            .apply(3, &conflict(100, 100, "voucher_revoked"), &vouchers)
            .unwrap();
        assert!(
            replay
                .apply(4, &conflict(100, 100, "voucher_revoked"), &vouchers)
                .is_err(),
            "twice"
        );
    }
}

//! Registry commands under the lock: an enterprise or provider recorded
//! (new, or a new version; an update that changes nothing is refused as
//! `Unchanged`), tags and blacklist entries, provider status moves, zones.

use crate::domain::provider::ProviderStatus;
use crate::ledger::body::{EntryBody, pb};
use crate::store::WriteTx;
use crate::store::registry::{EnterpriseRecord, ProviderRecord};

use super::super::Draft;
use super::{
    BlacklistSpec, ChangeProviderStatus, DefineZone, PartyKind, RecordEnterprise, RecordProvider,
    TagSpec, enterprise_body, provider_fields_json,
};
use crate::service::engine::{Decide, Decided, Decides, Decision};
use crate::service::error::{CommandError, Failure};

fn unchanged(id: uuid::Uuid) -> Failure {
    CommandError::Unchanged { id }.into()
}

impl Decide for RecordEnterprise {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let input = &self.input;
        // The zone was checked when the input was validated; check again
        // here, under the lock, in case it was redefined since.
        if let Some(zone) = &input.zone {
            let parent = tx.zone_division(zone).await?;
            let inside = parent
                .and_then(|p| crate::domain::DivisionCode::parse(&p).ok())
                .is_some_and(|p| input.division.is_within(&p));
            if !inside {
                return Err(CommandError::ZoneInvalid { zone: zone.clone() }.into());
            }
        }
        let now_us = at.now_us();
        let existing = at
            .prefetched
            .enterprise_by_uscc(tx, input.uscc.code())
            .await?;
        let (id, version, created_at_us) = match &existing {
            Some(e) => (e.id, e.version + 1, e.created_at_us),
            None => (self.enterprise_id, 1, now_us),
        };
        // The contact person is personal data: sealed before it is stored
        // (an erased or restricted subject's stays as it was).
        let contact = crate::service::commands::personal::sealed_or_kept(
            tx,
            at,
            &crate::service::commands::personal::enterprise_subject(id),
            "contact",
            input.contact.as_deref(),
            existing.as_ref().and_then(|e| e.contact.as_deref()),
        )
        .await?;
        let record = EnterpriseRecord {
            id,
            uscc: input.uscc.code().to_string(),
            uscc_override: input.uscc.override_reason().is_some(),
            name: input.name.clone(),
            division: input.division.clone(),
            zone: input.zone.clone(),
            sector: input.sector.as_str().to_string(),
            staff: i64::from(input.staff),
            revenue_fen: input.revenue.as_fen(),
            size_class: input.size_class,
            size_standard: input.size_standard.to_string(),
            contact: contact.clone(),
            legal_representative: input.legal_representative.clone(),
            version,
            created_at_us,
            updated_at_us: now_us,
        };
        if let Some(existing) = &existing {
            let same = EnterpriseRecord {
                version: existing.version,
                updated_at_us: existing.updated_at_us,
                ..record.clone()
            };
            if same == *existing {
                return Err(unchanged(id));
            }
        }
        tx.save_enterprise(&record, existing.is_none()).await?;
        at.prefetched.remember_enterprise(record);
        let body = pb::EnterpriseRecorded {
            contact: contact.unwrap_or_default(),
            ..enterprise_body(id, input, version)
        };
        let body = if existing.is_none() {
            EntryBody::EnterpriseRegistered(body)
        } else {
            EntryBody::EnterpriseUpdated(body)
        };
        Ok(Decided::new(body, checked))
    }
}

impl Decide for TagSpec {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if tx.enterprise_by_id(self.enterprise_id).await?.is_none() {
            return Err(CommandError::NotFound.into());
        }
        if !tx.insert_tag(&self.record()).await? {
            return Err(unchanged(self.enterprise_id));
        }
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for BlacklistSpec {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let exists = match self.party_kind {
            PartyKind::Enterprise => tx.enterprise_by_id(self.party_id).await?.is_some(),
            PartyKind::Provider => tx.provider_by_id(self.party_id).await?.is_some(),
        };
        if !exists {
            return Err(CommandError::NotFound.into());
        }
        let record = self.record();
        if tx.blacklist_exists(&record).await? {
            return Err(unchanged(self.party_id));
        }
        tx.insert_blacklist(&record).await?;
        Ok(Decided::new(draft.body, checked))
    }
}

impl Decide for RecordProvider {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let input = &self.input;
        let now_us = at.now_us();
        let existing = tx.provider_by_uscc(input.uscc.as_str()).await?;
        let record = match &existing {
            Some(current) => {
                if current.fields == input.fields
                    && current.annual_cap_fen == input.annual_cap.as_fen()
                {
                    return Err(unchanged(current.id));
                }
                ProviderRecord {
                    name: input.fields.name.clone(),
                    fields: input.fields.clone(),
                    annual_cap_fen: input.annual_cap.as_fen(),
                    version: current.version + 1,
                    updated_at_us: now_us,
                    ..current.clone()
                }
            }
            None => ProviderRecord {
                id: self.provider_id,
                uscc: input.uscc.to_string(),
                name: input.fields.name.clone(),
                status: ProviderStatus::Applied,
                fields: input.fields.clone(),
                annual_cap_fen: input.annual_cap.as_fen(),
                version: 1,
                created_at_us: now_us,
                updated_at_us: now_us,
            },
        };
        let is_new = existing.is_none();
        tx.save_provider(&record, is_new, is_new.then_some("registered"))
            .await?;
        let body = provider_body(&record);
        let body = if is_new {
            EntryBody::ProviderRegistered(body)
        } else {
            EntryBody::ProviderUpdated(body)
        };
        Ok(Decided::new(body, checked))
    }
}

impl Decide for ChangeProviderStatus {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        let current = tx
            .provider_by_id(self.provider_id)
            .await?
            .ok_or(CommandError::NotFound)?;
        let from = current.status;
        if !from.can_become(self.status) {
            return Err(CommandError::ProviderTransition {
                from: from.as_str().to_string(),
                to: self.status.as_str(),
            }
            .into());
        }
        let record = ProviderRecord {
            status: self.status,
            version: current.version + 1,
            updated_at_us: at.now_us(),
            ..current
        };
        tx.save_provider(&record, false, Some(&self.reason)).await?;
        let body = EntryBody::ProviderStatusChanged(pb::ProviderStatusChanged {
            provider_id: self.provider_id.to_string(),
            from_status: from.as_str().to_string(),
            to_status: self.status.as_str().to_string(),
            reason: self.reason.clone(),
        });
        Ok(Decided::new(body, checked))
    }
}

impl Decide for DefineZone {
    async fn decide<T: WriteTx>(&self, tx: &mut T, at: &mut Decision<'_>, draft: Draft) -> Decides {
        let checked = at.check(tx, draft.postings).await?;
        if tx.zone_division(&self.name).await?.as_deref() == Some(self.division.as_str()) {
            return Err(unchanged(uuid::Uuid::nil()));
        }
        tx.save_zone(&self.name, self.division.as_str(), at.now_us())
            .await?;
        Ok(Decided::new(draft.body, checked))
    }
}

fn provider_body(record: &ProviderRecord) -> pb::ProviderRecorded {
    pb::ProviderRecorded {
        provider_id: record.id.to_string(),
        uscc: record.uscc.clone(),
        name: record.name.clone(),
        status: record.status.to_string(),
        version: record.version,
        fields_json: provider_fields_json(&record.fields),
    }
}

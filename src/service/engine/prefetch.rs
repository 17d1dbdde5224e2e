//! Rows a batch loads up front (one query each for all its commands) and
//! keeps current as it writes. Every read of these rows within the batch
//! goes through here, so later commands see earlier ones' writes; `before`
//! says which commands change what is kept and so must find it flushed or
//! forgotten.

use std::collections::HashMap;

use crate::domain::Timestamp;
use crate::store::registry::{EnterpriseRecord, RegistryTx};
use crate::store::{StoreError, WriteTx};

use super::super::commands::redemption::cache::RedemptionCache;
use super::super::commands::voucher::issue::IssuanceCache;
use super::super::commands::{Command, RecordEnterprise};

/// What a batch's commands read, loaded once.
#[derive(Default)]
pub struct Prefetched {
    /// By USCC: `None` means "known not to exist".
    enterprises: HashMap<String, Option<EnterpriseRecord>>,
    /// Programmes and the signing key, as voucher issues read them.
    pub issuance: IssuanceCache,
    /// What the batch's redemptions read.
    pub redemptions: RedemptionCache,
}

impl Prefetched {
    /// Loads what `commands` will read.
    pub async fn load<T: WriteTx>(
        tx: &mut T,
        commands: &[&Command],
    ) -> Result<Prefetched, StoreError> {
        let usccs: Vec<&str> = commands
            .iter()
            .filter_map(|command| match command {
                Command::RecordEnterprise(RecordEnterprise { input, .. }) => {
                    Some(input.uscc.code())
                }
                _ => None,
            })
            .collect();
        let mut enterprises: HashMap<String, Option<EnterpriseRecord>> =
            usccs.iter().map(|uscc| (uscc.to_string(), None)).collect();
        if !usccs.is_empty() {
            for record in tx.enterprises_by_usccs(&usccs).await? {
                enterprises.insert(record.uscc.clone(), Some(record));
            }
        }
        let claims: Vec<(uuid::Uuid, &str)> = commands
            .iter()
            .filter_map(|command| match command {
                Command::IssueVoucher(issue) => {
                    Some((issue.enterprise_id, issue.programme.as_str()))
                }
                _ => None,
            })
            .collect();
        let mut issuance = IssuanceCache::default();
        issuance.prefill(tx, &claims).await?;
        let specs: Vec<&super::super::commands::RedeemSpec> = commands
            .iter()
            .filter_map(|command| match command {
                Command::RedeemVoucher(spec) => Some(&**spec),
                _ => None,
            })
            .collect();
        let mut redemptions = RedemptionCache::default();
        let year = chrono::Datelike::year(&Timestamp::now().cst_date());
        redemptions.prefill(tx, &specs, year).await?;
        Ok(Prefetched {
            enterprises,
            issuance,
            redemptions,
        })
    }

    /// Before `command` is decided: writes out or forgets what it could
    /// change or must read from the database.
    pub async fn before<T: WriteTx>(
        &mut self,
        tx: &mut T,
        command: &Command,
    ) -> Result<(), StoreError> {
        // Only redemptions and issues leave the redemptions' rows as they
        // are; anything else could change them (reversals, expiries,
        // revocations, recoveries, settlement, the registry).
        if !matches!(
            command,
            Command::RedeemVoucher(_) | Command::IssueVoucher(_)
        ) {
            self.redemptions.flush_and_forget(tx).await?;
        }
        match command {
            Command::ChangeProgramme(_)
            | Command::ActivateIssuerKey(_)
            | Command::RevokeIssuerKey(_) => self.issuance.forget(),
            Command::RecordEnterprise(_)
            | Command::TagEnterprise(_)
            | Command::BlacklistParty(_) => self.issuance.forget_parties(),
            // These read vouchers the batch may have issued.
            Command::ChangeRedemption(_)
            | Command::HoldVoucher(_)
            | Command::WithdrawVoucher(_)
            | Command::PrepareSettlement(_)
            | Command::ResolveSettlementLine(_)
            | Command::ApproveSettlement(_)
            | Command::RecordPayouts(_)
            | Command::BindHolderKey(_)
            | Command::PublishStatusList(_)
            | Command::SyncOfflineAcceptance(_) => self.issuance.flush(tx).await?,
            _ => {}
        }
        Ok(())
    }

    /// An enterprise by USCC, as the batch knows it.
    pub async fn enterprise_by_uscc<T: RegistryTx + Send>(
        &mut self,
        tx: &mut T,
        uscc: &str,
    ) -> Result<Option<EnterpriseRecord>, StoreError> {
        match self.enterprises.get(uscc) {
            Some(known) => Ok(known.clone()),
            None => tx.enterprise_by_uscc(uscc).await,
        }
    }

    /// An enterprise as this batch just wrote it.
    pub fn remember_enterprise(&mut self, record: EnterpriseRecord) {
        self.enterprises.insert(record.uscc.clone(), Some(record));
    }
}

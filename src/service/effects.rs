//! What commands do besides postings: rows in domain tables, written inside
//! the writer's batch transaction, under the chain-head lock.
//!
//! Contract: `apply` does every check (reads) before its first write, so a
//! command refused for a rule leaves nothing behind and needs no savepoint.
//! It may return a replacement body when the entry records values only
//! known under the lock (a failed-login count).

use crate::service::commands::{
    ActivateIssuerKey, ApproveSettlement, AttachRedemptionDocuments, ChangePassword,
    ChangeProgramme, ChangeProviderStatus, CreateApiToken, CreateUser, DefineZone, EndSession,
    FundProgramme, IssueVoucher, Journal, OpenRecovery, PrepareSettlement, RecordEnterprise,
    RecordLogin, RecordPayouts, RecordProvider, RecoverRedemption, ReissueVoucher,
    ResolveSettlementLine, RevokeApiToken, RevokeIssuerKey, WithdrawVoucher,
};
use std::collections::HashMap;

use crate::domain::Timestamp;
use crate::ledger::body::{EntryBody, pb};
use crate::store::StoreError;
use crate::store::access::{AccessTx, SessionRecord, TokenRecord, UserRecord};
use crate::store::registry::{EnterpriseRecord, RegistryTx};

use super::commands::{
    Command, LoginOutcome, PartyKind, ProgrammeChange, enterprise_body, provider_fields_json,
};
use super::issuance;
use super::issuer_keyring::IssuerKeyring;
use super::writer::CommandError;
use crate::domain::programme::ProgrammeStatus;
use crate::domain::provider::ProviderStatus;
use crate::store::registry::{IssuerKeyRecord, ProgrammeRecord, ProviderRecord};
use crate::store::voucher::VoucherTx;

/// Consecutive failed logins that lock an account.
pub const LOCKOUT_THRESHOLD: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MICROS: i64 = 15 * 60 * 1_000_000;

/// A command refused for a rule, or a store failure (fails the batch).
pub enum Failure {
    Rule(CommandError),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Failure::Rule(error)
    }
}

/// Rows a batch loaded up front (one query for all its commands), kept
/// current as the batch writes. Every read of these rows within the batch
/// goes through here, so later commands see earlier ones' writes.
#[derive(Default)]
pub struct Prefetched {
    /// By USCC: `None` means "known not to exist".
    enterprises: HashMap<String, Option<EnterpriseRecord>>,
    /// Programmes and the signing key, as voucher issues read them.
    pub issuance: issuance::IssuanceCache,
    /// What the batch's redemptions read.
    pub redemptions: super::redemption_cache::RedemptionCache,
}

impl Prefetched {
    /// Loads what `commands` will read.
    pub async fn load<T: RegistryTx + VoucherTx + crate::store::redemption::RedemptionTx + Send>(
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
                Command::IssueVoucher(IssueVoucher {
                    enterprise_id,
                    programme,
                    ..
                }) => Some((*enterprise_id, programme.as_str())),
                _ => None,
            })
            .collect();
        let mut issuance = issuance::IssuanceCache::default();
        issuance.prefill(tx, &claims).await?;
        let specs: Vec<&super::commands::RedeemSpec> = commands
            .iter()
            .filter_map(|command| match command {
                Command::RedeemVoucher(spec) => Some(&**spec),
                _ => None,
            })
            .collect();
        let mut redemptions = super::redemption_cache::RedemptionCache::default();
        let year = chrono::Datelike::year(&Timestamp::now().cst_date());
        redemptions.prefill(tx, &specs, year).await?;
        Ok(Prefetched {
            enterprises,
            issuance,
            redemptions,
        })
    }

    async fn enterprise_by_uscc<T: RegistryTx + Send>(
        &mut self,
        tx: &mut T,
        uscc: &str,
    ) -> Result<Option<EnterpriseRecord>, StoreError> {
        match self.enterprises.get(uscc) {
            Some(known) => Ok(known.clone()),
            None => tx.enterprise_by_uscc(uscc).await,
        }
    }
}

/// What an effect knows about the entry it is part of.
pub struct Context<'a> {
    /// The entry's time.
    pub now: Timestamp,
    /// The entry's sequence number (vouchers carry it).
    pub sequence: u64,
    /// Private halves of the issuer keys, for signing vouchers.
    pub issuer_keys: &'a IssuerKeyring,
    /// The entry's postings would take the programme's budget below zero:
    /// a voucher issue checks its own rules first, then refuses with
    /// `BudgetExhausted` before writing anything.
    pub budget_exhausted: bool,
}

/// Checks and writes `command`'s domain rows for the entry in `context`.
pub async fn apply<
    T: AccessTx + RegistryTx + VoucherTx + crate::store::redemption::RedemptionTx + Send,
>(
    tx: &mut T,
    prefetched: &mut Prefetched,
    command: &Command,
    context: &Context<'_>,
) -> Result<Option<EntryBody>, Failure> {
    let now_us = context.now.as_micros();
    if !super::redemption_cache::RedemptionCache::survives(command) {
        prefetched.redemptions.flush_and_forget(tx).await?;
    }
    if matches!(
        command,
        Command::ChangeProgramme(ChangeProgramme { .. })
            | Command::ActivateIssuerKey(ActivateIssuerKey { .. })
            | Command::RevokeIssuerKey(RevokeIssuerKey { .. })
    ) {
        prefetched.issuance.forget();
    }
    if matches!(
        command,
        Command::RecordEnterprise(RecordEnterprise { .. })
            | Command::TagEnterprise(_)
            | Command::BlacklistParty(_)
    ) {
        prefetched.issuance.forget_parties();
    }
    match command {
        Command::IssueVoucher(IssueVoucher {
            voucher_id,
            programme,
            enterprise_id,
            face_value,
            via,
        }) => {
            let request = issuance::IssueRequest {
                voucher_id: *voucher_id,
                programme: programme.as_str(),
                enterprise_id: *enterprise_id,
                face_value: *face_value,
                via: *via,
            };
            issuance::issue(tx, &mut prefetched.issuance, &request, context).await
        }
        Command::AttachRedemptionDocuments(AttachRedemptionDocuments {
            redemption_id,
            by,
            invoice,
            payment_proof_ref,
        }) => {
            use crate::store::redemption::{InvoiceRecord, RedemptionTx};
            let record = RedemptionTx::redemption(tx, *redemption_id)
                .await?
                .ok_or(CommandError::NotFound)?;
            let allowed = match by {
                super::commands::ChangedBy::Provider(id) => *id == record.provider_id,
                // An enterprise brings its own payment proof, not invoices.
                super::commands::ChangedBy::Enterprise(id) => {
                    *id == record.enterprise_id && invoice.is_none()
                }
                super::commands::ChangedBy::Admin => true,
                super::commands::ChangedBy::Sweep => false,
            };
            if !allowed {
                return Err(CommandError::NotFound.into());
            }
            if record.status == "reversed" {
                return Err(CommandError::RedemptionState {
                    status: record.status,
                    action: "attach_documents",
                }
                .into());
            }
            let invoice = invoice.as_ref().map(|i| InvoiceRecord {
                code: i.code.clone(),
                number: i.number.clone(),
                date: i.date.to_string(),
                amount_fen: i.amount.as_fen(),
            });
            tx.set_redemption_documents(
                *redemption_id,
                invoice.as_ref(),
                payment_proof_ref.as_deref(),
                now_us,
            )
            .await?;
            Ok(None)
        }
        // Planned before their balances are checked, then written, by the
        // writer through service::lifecycle: they never reach here.
        Command::RedeemVoucher(_)
        | Command::ChangeRedemption(_)
        | Command::WithdrawVoucher(WithdrawVoucher { .. })
        | Command::OpenRecovery(OpenRecovery { .. })
        | Command::RecoverRedemption(RecoverRedemption { .. })
        | Command::PrepareSettlement(PrepareSettlement { .. })
        | Command::ResolveSettlementLine(ResolveSettlementLine { .. })
        | Command::ApproveSettlement(ApproveSettlement { .. })
        | Command::RecordPayouts(RecordPayouts { .. }) => crate::invariant::broken(&format!(
            "planned command {} reached effects::apply",
            command.name()
        )),
        Command::ReissueVoucher(ReissueVoucher {
            voucher_id,
            new_voucher_id,
        }) => {
            issuance::reissue(
                tx,
                &mut prefetched.issuance,
                *voucher_id,
                *new_voucher_id,
                context,
            )
            .await
        }
        // Funding a registered programme needs it not closed. A code with
        // no programme row is a scratch ledger's (drills, benchmarks, the
        // store contract tests); the API refuses unknown programmes (404)
        // before submitting.
        Command::FundProgramme(FundProgramme { programme, .. }) => {
            if let Some(p) = tx.programme(programme.as_str()).await?
                && p.status == ProgrammeStatus::Closed.as_str()
            {
                return Err(CommandError::ProgrammeState {
                    status: p.status,
                    needed: "draft or open",
                }
                .into());
            }
            Ok(None)
        }
        Command::Journal(Journal { .. }) => Ok(None),
        Command::ChangeProgramme(ChangeProgramme { code, change }) => {
            change_programme(tx, code.as_str(), change, now_us).await
        }
        Command::RecordProvider(RecordProvider { provider_id, input }) => {
            let existing = tx.provider_by_uscc(input.uscc.as_str()).await?;
            let fields_json = provider_fields_json(input);
            let record = match &existing {
                Some(current) => {
                    if current.fields_json == fields_json
                        && current.annual_cap_fen == input.annual_cap.as_fen()
                    {
                        return Err(CommandError::Unchanged { id: current.id }.into());
                    }
                    ProviderRecord {
                        name: input.fields.name.clone(),
                        fields_json,
                        annual_cap_fen: input.annual_cap.as_fen(),
                        version: current.version + 1,
                        updated_at_us: now_us,
                        ..current.clone()
                    }
                }
                None => ProviderRecord {
                    id: *provider_id,
                    uscc: input.uscc.to_string(),
                    name: input.fields.name.clone(),
                    status: ProviderStatus::Applied.as_str().to_string(),
                    fields_json,
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
            Ok(Some(if is_new {
                EntryBody::ProviderRegistered(body)
            } else {
                EntryBody::ProviderUpdated(body)
            }))
        }
        Command::ChangeProviderStatus(ChangeProviderStatus {
            provider_id,
            status,
            reason,
        }) => {
            let current = tx
                .provider_by_id(*provider_id)
                .await?
                .ok_or(CommandError::NotFound)?;
            let from = ProviderStatus::parse(&current.status).ok_or_else(|| {
                StoreError::Corrupt(format!("provider status {:?}", current.status))
            })?;
            if !from.can_become(*status) {
                return Err(CommandError::ProviderTransition {
                    from: current.status,
                    to: status.as_str(),
                }
                .into());
            }
            let record = ProviderRecord {
                status: status.as_str().to_string(),
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            };
            tx.save_provider(&record, false, Some(reason)).await?;
            Ok(Some(EntryBody::ProviderStatusChanged(
                pb::ProviderStatusChanged {
                    provider_id: provider_id.to_string(),
                    from_status: from.as_str().to_string(),
                    to_status: status.as_str().to_string(),
                    reason: reason.clone(),
                },
            )))
        }
        Command::CreateUser(CreateUser {
            user_id,
            username,
            role,
            party_id,
            password_hash,
        }) => {
            if tx.username_taken(username.as_str()).await? {
                return Err(CommandError::UsernameTaken.into());
            }
            tx.insert_user(&UserRecord {
                id: *user_id,
                username: username.to_string(),
                role: role.as_str().to_string(),
                party_id: *party_id,
                password_hash: password_hash.expose().clone(),
                failed_logins: 0,
                locked_until_us: None,
                created_at_us: now_us,
            })
            .await?;
            Ok(None)
        }
        Command::ChangePassword(ChangePassword {
            user_id,
            password_hash,
        }) => {
            if tx.user_by_id(*user_id).await?.is_none() {
                return Err(CommandError::NotFound.into());
            }
            tx.set_password_hash(*user_id, password_hash.expose())
                .await?;
            tx.revoke_credentials_of(*user_id, now_us).await?;
            Ok(None)
        }
        Command::RecordLogin(RecordLogin {
            user_id,
            verified_hash,
            outcome,
        }) => {
            let user = tx
                .user_by_id(*user_id)
                .await?
                .ok_or(CommandError::NotFound)?;
            if let Some(until) = user.locked_until_us.filter(|until| *until > now_us) {
                return Err(CommandError::AccountLocked { until_us: until }.into());
            }
            if user.password_hash != *verified_hash.expose() {
                // The password changed while this attempt was being checked.
                return Err(CommandError::CredentialsChanged.into());
            }
            match outcome {
                LoginOutcome::Succeeded {
                    session_hash,
                    csrf_token,
                    ttl_seconds,
                } => {
                    tx.set_login_state(*user_id, 0, None).await?;
                    tx.insert_session(&SessionRecord {
                        token_hash: *session_hash.expose(),
                        user_id: *user_id,
                        csrf_token: csrf_token.expose().clone(),
                        created_at_us: now_us,
                        expires_at_us: now_us + ttl_seconds * 1_000_000,
                        revoked_at_us: None,
                    })
                    .await?;
                    Ok(None)
                }
                LoginOutcome::Failed => {
                    let failed_logins = user.failed_logins + 1;
                    let locked_until_us =
                        (failed_logins >= LOCKOUT_THRESHOLD).then_some(now_us + LOCKOUT_MICROS);
                    // A lock starts a fresh count for when it expires.
                    let stored_count = if locked_until_us.is_some() {
                        0
                    } else {
                        failed_logins
                    };
                    tx.set_login_state(*user_id, stored_count, locked_until_us)
                        .await?;
                    Ok(Some(EntryBody::LoginFailed(pb::LoginFailed {
                        user_id: user_id.to_string(),
                        failed_logins,
                        locked_until_us: locked_until_us.unwrap_or(0),
                    })))
                }
            }
        }
        Command::EndSession(EndSession { session_hash, .. }) => {
            if !tx.revoke_session(session_hash.expose(), now_us).await? {
                return Err(CommandError::NotFound.into());
            }
            Ok(None)
        }
        Command::CreateApiToken(CreateApiToken {
            token_id,
            user_id,
            name,
            token_hash,
            prefix,
            ttl_days,
        }) => {
            if tx.user_by_id(*user_id).await?.is_none() {
                return Err(CommandError::NotFound.into());
            }
            let expires_at_us = now_us + i64::from(*ttl_days) * 86_400 * 1_000_000;
            tx.insert_token(&TokenRecord {
                id: *token_id,
                user_id: *user_id,
                name: name.clone(),
                token_hash: *token_hash.expose(),
                prefix: prefix.clone(),
                created_at_us: now_us,
                expires_at_us,
                revoked_at_us: None,
            })
            .await?;
            Ok(Some(EntryBody::ApiTokenCreated(pb::ApiTokenCreated {
                token_id: token_id.to_string(),
                user_id: user_id.to_string(),
                name: name.clone(),
                expires_at_us,
            })))
        }
        Command::ActivateIssuerKey(ActivateIssuerKey { public_key }) => {
            let key = ed25519_dalek::VerifyingKey::from_bytes(public_key)
                .map_err(|_| CommandError::Invalid(super::commands::InvalidCommand::PublicKey))?;
            let key_id = crate::ledger::checkpoint::key_id_for(&key);
            if let Some(existing) = tx.issuer_key(&key_id).await? {
                if existing.status == "active" {
                    return Err(CommandError::Unchanged {
                        id: uuid::Uuid::nil(),
                    }
                    .into());
                }
                // A retired or revoked key never signs again.
                return Err(CommandError::KeyState {
                    key_id,
                    status: existing.status,
                }
                .into());
            }
            let retired = tx.active_issuer_key().await?;
            if let Some(previous) = &retired {
                tx.save_issuer_key(&IssuerKeyRecord {
                    status: "retired".into(),
                    retired_at_us: Some(now_us),
                    ..previous.clone()
                })
                .await?;
            }
            tx.save_issuer_key(&IssuerKeyRecord {
                key_id: key_id.clone(),
                public_key: *public_key,
                status: "active".into(),
                activated_at_us: now_us,
                retired_at_us: None,
                revoked_at_us: None,
                revoke_reason: None,
            })
            .await?;
            Ok(Some(EntryBody::IssuerKeyActivated(
                pb::IssuerKeyActivated {
                    key_id,
                    public_key: public_key.to_vec(),
                    retired_key_id: retired.map(|k| k.key_id).unwrap_or_default(),
                },
            )))
        }
        Command::RevokeIssuerKey(RevokeIssuerKey { key_id, reason }) => {
            let key = tx.issuer_key(key_id).await?.ok_or(CommandError::NotFound)?;
            if key.status == "revoked" {
                return Err(CommandError::Unchanged {
                    id: uuid::Uuid::nil(),
                }
                .into());
            }
            tx.save_issuer_key(&IssuerKeyRecord {
                status: "revoked".into(),
                revoked_at_us: Some(now_us),
                revoke_reason: Some(reason.clone()),
                ..key
            })
            .await?;
            Ok(None)
        }
        Command::DefineZone(DefineZone { name, division }) => {
            if tx.zone_division(name).await?.as_deref() == Some(division.as_str()) {
                return Err(CommandError::Unchanged {
                    id: uuid::Uuid::nil(),
                }
                .into());
            }
            tx.save_zone(name, division.as_str(), now_us).await?;
            Ok(None)
        }
        Command::RecordEnterprise(RecordEnterprise {
            enterprise_id,
            input,
        }) => {
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
            let existing = prefetched.enterprise_by_uscc(tx, input.uscc.code()).await?;
            let (id, version, created_at_us) = match &existing {
                Some(e) => (e.id, e.version + 1, e.created_at_us),
                None => (*enterprise_id, 1, now_us),
            };
            let record = EnterpriseRecord {
                id,
                uscc: input.uscc.code().to_string(),
                uscc_override: input.uscc.override_reason().is_some(),
                name: input.name.clone(),
                division: input.division.to_string(),
                zone: input.zone.clone(),
                sector: input.sector.as_str().to_string(),
                staff: i64::from(input.staff),
                revenue_fen: input.revenue.as_fen(),
                size_class: input.size_class.as_str().to_string(),
                size_standard: input.size_standard.to_string(),
                contact: input.contact.clone(),
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
                    return Err(CommandError::Unchanged { id }.into());
                }
            }
            tx.save_enterprise(&record, existing.is_none()).await?;
            prefetched
                .enterprises
                .insert(record.uscc.clone(), Some(record));
            let body = enterprise_body(id, input, version);
            Ok(Some(if existing.is_none() {
                EntryBody::EnterpriseRegistered(body)
            } else {
                EntryBody::EnterpriseUpdated(body)
            }))
        }
        Command::TagEnterprise(spec) => {
            if tx.enterprise_by_id(spec.enterprise_id).await?.is_none() {
                return Err(CommandError::NotFound.into());
            }
            if !tx.insert_tag(&spec.record()).await? {
                return Err(CommandError::Unchanged {
                    id: spec.enterprise_id,
                }
                .into());
            }
            Ok(None)
        }
        Command::BlacklistParty(spec) => {
            let exists = match spec.party_kind {
                PartyKind::Enterprise => tx.enterprise_by_id(spec.party_id).await?.is_some(),
                PartyKind::Provider => tx.provider_by_id(spec.party_id).await?.is_some(),
            };
            if !exists {
                return Err(CommandError::NotFound.into());
            }
            let record = spec.record();
            if tx.blacklist_exists(&record).await? {
                return Err(CommandError::Unchanged { id: spec.party_id }.into());
            }
            tx.insert_blacklist(&record).await?;
            Ok(None)
        }
        Command::RevokeApiToken(RevokeApiToken { token_id, user_id }) => {
            let token = tx.token_by_id(*token_id).await?;
            if token.is_none_or(|t| t.user_id != *user_id)
                || !tx.revoke_token(*token_id, now_us).await?
            {
                return Err(CommandError::NotFound.into());
            }
            Ok(None)
        }
    }
}

/// Applies a programme lifecycle change; returns the entry body.
async fn change_programme<T: RegistryTx + Send>(
    tx: &mut T,
    code: &str,
    change: &ProgrammeChange,
    now_us: i64,
) -> Result<Option<EntryBody>, Failure> {
    use ProgrammeStatus::{Closed, Draft, Open};
    let existing = tx.programme(code).await?;
    let state_error = |status: &str, needed: &'static str| {
        Failure::Rule(CommandError::ProgrammeState {
            status: status.to_string(),
            needed,
        })
    };
    let record = match (change, existing) {
        (ProgrammeChange::Create(terms), None) => ProgrammeRecord {
            code: code.to_string(),
            status: Draft.as_str().to_string(),
            terms_json: terms.to_canonical_json(),
            version: 1,
            created_at_us: now_us,
            updated_at_us: now_us,
        },
        (ProgrammeChange::Create(_), Some(_)) => return Err(CommandError::ProgrammeExists.into()),
        (_, None) => return Err(CommandError::NotFound.into()),
        (
            ProgrammeChange::UpdateDraft(terms) | ProgrammeChange::Amend { terms, .. },
            Some(current),
        ) => {
            let needed = if matches!(change, ProgrammeChange::UpdateDraft(_)) {
                Draft
            } else {
                Open
            };
            if current.status != needed.as_str() {
                return Err(state_error(&current.status, needed.as_str()));
            }
            let terms_json = terms.to_canonical_json();
            if terms_json == current.terms_json {
                return Err(CommandError::Unchanged {
                    id: uuid::Uuid::nil(),
                }
                .into());
            }
            ProgrammeRecord {
                terms_json,
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Open, Some(current)) if current.status == Draft.as_str() => {
            ProgrammeRecord {
                status: Open.as_str().to_string(),
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Open, Some(current)) => {
            return Err(state_error(&current.status, "draft"));
        }
        (ProgrammeChange::Close, Some(current)) if current.status == Open.as_str() => {
            ProgrammeRecord {
                status: Closed.as_str().to_string(),
                version: current.version + 1,
                updated_at_us: now_us,
                ..current
            }
        }
        (ProgrammeChange::Close, Some(current)) => {
            return Err(state_error(&current.status, "open"));
        }
    };
    let is_new = record.version == 1;
    tx.save_programme(&record, is_new).await?;
    let body = pb::ProgrammeRecorded {
        code: record.code.clone(),
        status: record.status.clone(),
        version: record.version,
        terms_json: record.terms_json.clone(),
        reason: change.reason().to_string(),
    };
    Ok(Some(match change {
        ProgrammeChange::Create(_) => EntryBody::ProgrammeCreated(body),
        ProgrammeChange::UpdateDraft(_) => EntryBody::ProgrammeDraftUpdated(body),
        ProgrammeChange::Open => EntryBody::ProgrammeOpened(body),
        ProgrammeChange::Amend { .. } => EntryBody::ProgrammeAmended(body),
        ProgrammeChange::Close => EntryBody::ProgrammeClosed(body),
    }))
}

fn provider_body(record: &ProviderRecord) -> pb::ProviderRecorded {
    pb::ProviderRecorded {
        provider_id: record.id.to_string(),
        uscc: record.uscc.clone(),
        name: record.name.clone(),
        status: record.status.clone(),
        version: record.version,
        fields_json: record.fields_json.clone(),
    }
}

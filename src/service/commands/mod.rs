//! Commands: every change to the ledger, as a value, one family per folder.
//!
//! A command is what a caller asks for. Each command is a struct in its
//! family's `mod.rs` (`access`, `budget`, `keys`, `programme`, `registry`,
//! `voucher`, `redemption`, `settlement`) that checks itself and drafts
//! its entry body and postings without touching the database
//! ([`ToDraft`]); the write engine (`service::engine`) then decides it under
//! the chain-head lock through its `Decide`, in the family's `decide.rs`,
//! and appends the entry. Keeping commands as plain values lets the writer
//! batch them, lets a retry be recognised by digest, and (later) lets an
//! offline queue carry them.
//!
//! The [`Command`] enum, its names and its dispatch are generated from one
//! table (`command_table!` below): a new command is one row there, one
//! struct in its family's `mod.rs` and its `Decide` in the family's
//! `decide.rs`.

pub mod access;
pub mod budget;
#[cfg(test)]
pub(crate) mod digest_case;
mod guarded;
pub mod keys;
pub mod offline;
pub mod personal;
pub mod programme;
pub mod redemption;
pub mod registry;
pub mod settlement;
#[cfg(test)]
mod tests;
pub mod voucher;

use sha2::{Digest, Sha256};

pub use access::{
    ChangePassword, CreateApiToken, CreateUser, EndSession, LoginOutcome, RecordLogin,
    RevokeApiToken, TOKEN_NAME_LEN_MAX, TOKEN_TTL_DAYS_MAX, secret_ref,
};
pub use budget::{FundProgramme, Journal};
pub use keys::{ActivateIssuerKey, RevokeIssuerKey};
pub use programme::{ChangeProgramme, ProgrammeChange};
pub use redemption::{
    AttachRedemptionDocuments, ChangedBy, HoldVoucher, InvoiceSpec, OpenRecovery,
    RecoverRedemption, RedeemSpec, RedemptionChange, ReleaseHold, ShownToken, documents_body,
};
pub use registry::{
    BlacklistSpec, ChangeProviderStatus, DefineZone, PartyKind, RecordEnterprise, RecordProvider,
    TagSpec, enterprise_body, provider_fields_json,
};
pub use settlement::{
    ApproveSettlement, PayoutOutcome, PrepareSettlement, RecordPayouts, ResolveSettlementLine,
};
pub use voucher::{IssueVia, IssueVoucher, ReissueVoucher, WithdrawVoucher};

use crate::ledger::body::EntryBody;
use crate::ledger::entry::{ACTOR_LEN_MAX, Hash32, IDEMPOTENCY_KEY_LEN_MAX};
use crate::ledger::posting::{Posting, PostingError, check_balanced};

/// Longest free-text field (references, memos), in bytes.
pub const TEXT_LEN_MAX: usize = 500;
/// Longest contract number, invoice code or number, payment reference.
pub const REFERENCE_LEN_MAX: usize = 64;
/// Longest service description.
pub const DESCRIPTION_LEN_MAX: usize = 1_000;
/// Longest tag name, in bytes.
pub const TAG_LEN_MAX: usize = 100;

/// What a command asks for, checked and drafted without the database.
pub trait ToDraft {
    /// Body and postings for this command, validated (the writer checks
    /// that the postings balance).
    fn draft(&self) -> Result<Draft, InvalidCommand>;
}

impl<T: ToDraft> ToDraft for Box<T> {
    fn draft(&self) -> Result<Draft, InvalidCommand> {
        (**self).draft()
    }
}

/// Generates [`Command`] from its table: the enum, the stable names, the
/// `From` conversions and the dispatch of [`ToDraft`] and the digest.
macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal,)*) => {
        /// A change to the ledger.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Command {
            $($(#[$doc])* $variant($ty),)*
        }

        impl Command {
            /// Every command's stable name, in table order.
            pub const NAMES: &[&'static str] = &[$($name,)*];

            /// The stable name of the command, for logs, metrics and the
            /// digest.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Command::$variant(_) => $name,)*
                }
            }

            fn asked(&self) -> &dyn ToDraft {
                match self {
                    $(Command::$variant(command) => command,)*
                }
            }

            /// The canonical JSON of what was asked (fields marked
            /// `#[serde(skip)]` — server-generated ids, secrets — left out).
            fn asked_json(&self) -> Vec<u8> {
                match self {
                    $(Command::$variant(command) => serde_json::to_vec(command),)*
                }
                .expect("commands always serialise")
            }
        }

        $(impl From<$ty> for Command {
            fn from(command: $ty) -> Command {
                Command::$variant(command)
            }
        })*
    };
}

/// The command table: one row per command (variant, struct, stable name).
/// `command_table!(m)` hands the rows to macro `m`: `commands!` here
/// generates the enum, and the write engine generates its dispatch of
/// `Decide` from the same rows.
macro_rules! command_table {
    ($m:ident) => {
        $m! {
        /// Add money to a programme's budget (initial funding or a top-up).
        FundProgramme(FundProgramme) = "fund_programme",
        /// A balanced journal between accounts, with a memo.
        Journal(Journal) = "journal",
        CreateUser(CreateUser) = "create_user",
        ChangePassword(ChangePassword) = "change_password",
        RecordLogin(RecordLogin) = "record_login",
        EndSession(EndSession) = "end_session",
        CreateApiToken(CreateApiToken) = "create_api_token",
        RevokeApiToken(RevokeApiToken) = "revoke_api_token",
        RecordEnterprise(RecordEnterprise) = "record_enterprise",
        TagEnterprise(TagSpec) = "tag_enterprise",
        BlacklistParty(BlacklistSpec) = "blacklist_party",
        ChangeProgramme(ChangeProgramme) = "change_programme",
        RecordProvider(RecordProvider) = "record_provider",
        DefineZone(DefineZone) = "define_zone",
        ActivateIssuerKey(ActivateIssuerKey) = "activate_issuer_key",
        RevokeIssuerKey(RevokeIssuerKey) = "revoke_issuer_key",
        ChangeProviderStatus(ChangeProviderStatus) = "change_provider_status",
        IssueVoucher(IssueVoucher) = "issue_voucher",
        ReissueVoucher(ReissueVoucher) = "reissue_voucher",
        RedeemVoucher(Box<RedeemSpec>) = "redeem_voucher",
        /// Hold a voucher for the provider that previewed it.
        HoldVoucher(HoldVoucher) = "hold_voucher",
        ReleaseHold(ReleaseHold) = "release_hold",
        ChangeRedemption(RedemptionChange) = "change_redemption",
        WithdrawVoucher(WithdrawVoucher) = "withdraw_voucher",
        OpenRecovery(OpenRecovery) = "open_recovery",
        AttachRedemptionDocuments(AttachRedemptionDocuments) = "attach_redemption_documents",
        RecoverRedemption(RecoverRedemption) = "recover_redemption",
        PrepareSettlement(PrepareSettlement) = "prepare_settlement",
        ResolveSettlementLine(ResolveSettlementLine) = "resolve_settlement_line",
        ApproveSettlement(ApproveSettlement) = "approve_settlement",
        RecordPayouts(RecordPayouts) = "record_payouts",
        /// Bind a holder's device key to a voucher (offline presentation).
        BindHolderKey(offline::BindHolderKey) = "bind_holder_key",
        RegisterOfflineDevice(offline::RegisterOfflineDevice) = "register_offline_device",
        PublishStatusList(offline::PublishStatusList) = "publish_status_list",
        /// A device's offline acceptance, synced.
        SyncOfflineAcceptance(Box<offline::SyncOfflineAcceptance>) = "sync_offline_acceptance",
        /// Erase a subject's personal data, or restrict it while a
        /// retention period runs.
        RequestErasure(personal::RequestErasure) = "request_erasure",
        }
    };
}
pub(crate) use command_table;

command_table!(commands);

impl Command {
    /// Body and postings for this command, validated and balanced.
    pub fn draft(&self) -> Result<Draft, InvalidCommand> {
        let draft = self.asked().draft()?;
        check_balanced(&draft.postings)?;
        Ok(draft)
    }

    /// SHA-256 over the command's name and the canonical JSON of what was
    /// asked (each length-prefixed): equal exactly when two commands ask
    /// for the same thing. One derivation for every command: a field is in
    /// the digest unless its declaration says `#[serde(skip)]` (ids the
    /// server generates per request, secrets and password hashes). The
    /// entry records it so that a retry (same key, same digest) is answered
    /// with the first result and a different command reusing a key is
    /// refused.
    pub fn digest(&self) -> Hash32 {
        let mut hasher = Sha256::new();
        for part in [self.name().as_bytes(), &self.asked_json()] {
            hasher.update((part.len() as u32).to_be_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }
}

/// Who asks for a write and the key that makes its retries safe: what a
/// service function needs besides the command's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub actor: String,
    pub idempotency_key: String,
}

impl Envelope {
    pub fn new(actor: impl Into<String>, idempotency_key: impl Into<String>) -> Envelope {
        Envelope {
            actor: actor.into(),
            idempotency_key: idempotency_key.into(),
        }
    }

    /// `command`, as asked by this envelope's actor under its key.
    pub fn submission(self, command: impl Into<Command>) -> Submission {
        Submission {
            actor: self.actor,
            idempotency_key: self.idempotency_key,
            command: command.into(),
        }
    }
}

/// A command with who asked and the key that makes retries safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub actor: String,
    pub idempotency_key: String,
    pub command: Command,
}

impl Submission {
    /// Checks the envelope (actor and key) and the command.
    pub fn validate(&self) -> Result<Draft, InvalidCommand> {
        check_text("actor", &self.actor, ACTOR_LEN_MAX, true)?;
        check_text(
            "idempotency_key",
            &self.idempotency_key,
            IDEMPOTENCY_KEY_LEN_MAX,
            true,
        )?;
        self.command.draft()
    }
}

/// An entry ready to be sequenced: body and postings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub body: EntryBody,
    pub postings: Vec<Posting>,
}

impl Draft {
    /// A draft whose postings (if any) are decided under the lock.
    fn without_postings(body: EntryBody) -> Draft {
        Draft {
            body,
            postings: Vec::new(),
        }
    }
}

/// Why a command was refused before it touched the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCommand {
    #[error("the amount must be greater than zero")]
    NonPositiveAmount,
    #[error("a rating is 1 to 5")]
    Rating,
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error(transparent)]
    Postings(#[from] PostingError),
    #[error("provider and enterprise users need a party; other roles have none")]
    PartyMismatch,
    #[error("an API token lives 1 to {TOKEN_TTL_DAYS_MAX} days")]
    TokenLifetime,
    #[error("the end date is before the start date")]
    DatesReversed,
    #[error("the programme terms are invalid: {0}")]
    Terms(String),
    #[error("not a valid Ed25519 public key")]
    PublicKey,
    /// A journal touched an account that mirrors a table.
    #[error(
        "a journal may not touch {0}: outstanding vouchers, payables and payouts in payment are what their tables say"
    )]
    JournalAccount(String),
    /// An erasure request's words (docs/personal-data.md).
    #[error("{0}")]
    PersonalDataRequest(String),
}

fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    required: bool,
) -> Result<(), InvalidCommand> {
    if required && text.trim().is_empty() {
        return Err(InvalidCommand::Empty { field });
    }
    if text.len() > max {
        return Err(InvalidCommand::TooLong { field, max });
    }
    Ok(())
}

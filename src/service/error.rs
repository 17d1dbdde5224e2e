//! Why a command was not appended (`CommandError`, with its stable codes),
//! and the error of a use case that submits commands and reads the store: a
//! command refused (a rule, or the writer unavailable) or a store failure;
//! and how a command's decision under the lock fails (`Failure`).

use super::commands::InvalidCommand;
use crate::store::StoreError;

/// How deciding a command under the lock failed: refused for a rule (the
/// command alone is refused), or a store failure (fails the batch's
/// transaction; the writer splits the batch to isolate it).
#[derive(Debug)]
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

/// Why a command was not appended.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Invalid(#[from] InvalidCommand),
    /// A floor guard refused a posting: the account does not hold enough.
    #[error("account {account} does not hold enough for this command")]
    InsufficientBalance { account: String },
    /// The key was already used for a different command.
    #[error("the idempotency key was already used for a different command")]
    IdempotencyKeyReused,
    /// The database could not be reached or stayed busy; retrying with the
    /// same idempotency key is safe.
    #[error("the ledger is temporarily unavailable")]
    Unavailable,
    /// The writer has stopped (the process is shutting down).
    #[error("the ledger writer is shutting down")]
    ShuttingDown,
    /// The username already belongs to another user.
    #[error("that username is taken")]
    UsernameTaken,
    /// The command would change nothing (e.g. re-importing the same row);
    /// nothing was recorded. `id` names the object as it stands.
    #[error("nothing to change")]
    Unchanged { id: uuid::Uuid },
    /// A programme with this code already exists.
    #[error("a programme with this code already exists")]
    ProgrammeExists,
    /// The programme is not in the state this change needs.
    #[error("the programme is {status}; this needs it to be {needed}")]
    ProgrammeState {
        status: crate::domain::programme::ProgrammeStatus,
        needed: &'static str,
    },
    /// The provider cannot move from its status to the one asked.
    #[error("a provider that is {from} cannot become {to}")]
    ProviderTransition { from: String, to: &'static str },
    /// The enterprise's zone is not defined, or not within its division.
    #[error("zone {zone} is not defined in the enterprise's division")]
    ZoneInvalid { zone: String },
    /// A retired or revoked issuer key cannot become active again.
    #[error("issuer key {key_id} is {status} and cannot sign again")]
    KeyState { key_id: String, status: String },
    /// The object does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// Too many failed logins; try again after `until_us`.
    #[error("the account is locked after repeated failed logins")]
    AccountLocked { until_us: i64 },
    /// The password changed while a login attempt was being checked.
    #[error("the credentials changed during the login")]
    CredentialsChanged,
    /// The programme's available budget does not cover the voucher.
    #[error("the budget of programme {programme} is exhausted")]
    BudgetExhausted { programme: String },
    /// The enterprise fails one or more eligibility rules: all of them.
    #[error("the enterprise is not eligible")]
    NotEligible {
        failures: Vec<crate::domain::eligibility::Check>,
    },
    /// The voucher may not be redeemed as asked: every reason.
    #[error("the voucher cannot be redeemed")]
    NotRedeemable {
        refusals: Vec<crate::domain::eligibility::Check>,
    },
    /// The redemption is not in a state this action applies to.
    #[error("a redemption that is {status} cannot {action}")]
    RedemptionState {
        status: crate::domain::status::RedemptionStatus,
        action: &'static str,
    },
    /// The provider has been paid nothing from the programme.
    #[error("nothing has been paid to recover")]
    NothingToRecover,
    /// The expiry sweep found a voucher still within its dates.
    #[error("the voucher is valid until {valid_until}")]
    VoucherNotExpired { valid_until: String },
    /// The programme does not offer this face value.
    #[error("the programme does not offer this face value")]
    FaceValueNotOffered { offered: Vec<i64> },
    /// The enterprise is not in the registry.
    #[error("the enterprise is not registered")]
    EnterpriseNotRegistered,
    /// A voucher issued today could no longer be used (the programme's use
    /// period has passed).
    #[error("the programme's use period has ended")]
    ProgrammeEnded,
    /// No issuer key can sign: none is active, or this process does not
    /// hold the active key's private half.
    #[error("no issuer key is available to sign vouchers")]
    IssuerKeyUnavailable { key_id: Option<String> },
    /// The voucher is not in a state this change applies to.
    #[error("the voucher is {status}")]
    VoucherState {
        status: crate::domain::status::VoucherStatus,
    },
    /// Only vouchers of a revoked key are re-issued.
    #[error("the voucher's key {key_id} is not revoked")]
    KeyNotRevoked { key_id: String },
    /// A run for this programme and period exists already.
    #[error("settlement run {run_id} already covers this programme and period")]
    SettlementRunExists { run_id: uuid::Uuid },
    /// No confirmed redemption of the period is waiting for settlement.
    #[error("nothing to settle in this period")]
    NothingToSettle,
    /// The run is not in the state this step needs.
    #[error("the settlement run is {status}; this needs it to be {needed}")]
    SettlementState {
        status: crate::domain::status::RunStatus,
        needed: &'static str,
    },
    /// Maker-checker: the preparer of a run cannot approve it.
    #[error("a settlement run must be approved by someone other than its preparer")]
    SelfApproval,
    /// The line is not held (it is already in the batch, or released).
    #[error("the settlement line is {state}, not held")]
    LineNotHeld {
        state: crate::domain::status::LineState,
    },
    /// A flag no note can clear (the annual cap).
    #[error("flags {codes:?} cannot be resolved by a note")]
    FlagsNotResolvable { codes: Vec<String> },
    /// The redemption is in an approved settlement batch.
    #[error("the redemption is in approved settlement run {run_id}")]
    RedemptionSettled { run_id: uuid::Uuid },
    /// The payout already has a result from the bank.
    #[error("payout {reference} is already {status}")]
    PayoutState {
        reference: String,
        status: crate::domain::status::PayoutStatus,
    },
    /// A balance would leave the range of i64 fen.
    #[error("the amounts overflow an account balance")]
    Overflow,
    /// The database refused a value of this command alone (its batch-mates
    /// committed): a data exception such as a character the database cannot
    /// store, or a number out of its range.
    #[error("the database refused a value of this request")]
    InputRefused,
    /// Personal data would be sealed, but this process has no master key
    /// (docs/personal-data.md "Keys").
    #[error("the personal data master key is not available to this process")]
    PersonalDataKeyUnavailable,
    /// The subject's personal data was erased: nothing more is recorded
    /// under it.
    #[error("the personal data of this subject was erased")]
    PersonalDataErased,
    /// The subject's data is restricted to storage (a retention period
    /// runs): nothing new is recorded under it.
    #[error("the personal data of this subject is restricted to storage until {retain_until}")]
    PersonalDataRestricted { retain_until: String },
    /// An erasure while a restriction's retention period still runs.
    #[error("a retention period runs until {retain_until}: the data stays restricted until then")]
    PersonalDataRetentionRunning { retain_until: String },
    #[error("internal error in the ledger writer")]
    Internal,
}

impl CommandError {
    /// Stable code for API bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Invalid(_) => "invalid_command",
            CommandError::InsufficientBalance { .. } => "insufficient_balance",
            CommandError::IdempotencyKeyReused => "idempotency_key_reused",
            CommandError::Unavailable => "ledger_unavailable",
            CommandError::ShuttingDown => "shutting_down",
            CommandError::UsernameTaken => "username_taken",
            CommandError::Unchanged { .. } => "unchanged",
            CommandError::ProgrammeExists => "programme_exists",
            CommandError::ProgrammeState { .. } => "programme_state",
            CommandError::ProviderTransition { .. } => "provider_status_transition",
            CommandError::ZoneInvalid { .. } => "zone_unknown",
            CommandError::KeyState { .. } => "issuer_key_state",
            CommandError::NotFound => "not_found",
            CommandError::AccountLocked { .. } => "account_locked",
            CommandError::CredentialsChanged => "invalid_credentials",
            CommandError::Overflow => "amount_overflow",
            CommandError::BudgetExhausted { .. } => "programme_budget_exhausted",
            CommandError::NotEligible { failures } => {
                failures.first().map_or("not_eligible", |check| check.code)
            }
            CommandError::NotRedeemable { refusals } => refusals
                .first()
                .map_or("not_redeemable", |check| check.code),
            CommandError::RedemptionState { .. } => "redemption_state",
            CommandError::VoucherNotExpired { .. } => "voucher_not_expired",
            CommandError::NothingToRecover => "nothing_to_recover",
            CommandError::FaceValueNotOffered { .. } => "face_value_not_offered",
            CommandError::EnterpriseNotRegistered => "enterprise_not_registered",
            CommandError::ProgrammeEnded => "programme_ended",
            CommandError::IssuerKeyUnavailable { .. } => "issuer_key_unavailable",
            CommandError::VoucherState { .. } => "voucher_state",
            CommandError::KeyNotRevoked { .. } => "issuer_key_not_revoked",
            CommandError::SettlementRunExists { .. } => "settlement_run_exists",
            CommandError::NothingToSettle => "nothing_to_settle",
            CommandError::SettlementState { .. } => "settlement_state",
            CommandError::SelfApproval => "settlement_self_approval",
            CommandError::LineNotHeld { .. } => "settlement_line_not_held",
            CommandError::FlagsNotResolvable { .. } => "settlement_flag_not_resolvable",
            CommandError::RedemptionSettled { .. } => "redemption_settled",
            CommandError::PayoutState { .. } => "payout_state",
            CommandError::InputRefused => "input_refused",
            CommandError::PersonalDataKeyUnavailable => "personal_data_key_unavailable",
            CommandError::PersonalDataErased => "personal_data_erased",
            CommandError::PersonalDataRestricted { .. } => "personal_data_restricted",
            CommandError::PersonalDataRetentionRunning { .. } => "personal_data_retention_running",
            CommandError::Internal => "internal_error",
        }
    }

    /// Every reason for the refusal as (code, English, Chinese): the failed
    /// checks of an eligibility or redemption refusal (each in both
    /// languages), else the error itself (its code and English text; the
    /// API's bilingual wording is `http::ApiError`'s).
    pub fn reasons(&self) -> Vec<(&'static str, String, String)> {
        match self {
            CommandError::NotEligible { failures: checks }
            | CommandError::NotRedeemable { refusals: checks }
                if !checks.is_empty() =>
            {
                checks
                    .iter()
                    .map(|check| (check.code, check.message.clone(), check.message_zh.clone()))
                    .collect()
            }
            other => vec![(other.code(), other.to_string(), String::new())],
        }
    }

    /// The answer to a command whose write failed when it was alone in its
    /// transaction: its own input when the database names a data exception
    /// (SQLSTATE class 22), otherwise an internal error.
    pub fn from_lone_failure(error: &StoreError) -> CommandError {
        let data_exception = match error {
            StoreError::Database(sqlx::Error::Database(db)) => {
                db.code().is_some_and(|code| code.starts_with("22"))
            }
            _ => false,
        };
        if data_exception {
            CommandError::InputRefused
        } else {
            CommandError::Internal
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

//! What settlement reads and keeps: the registry's view of a provider,
//! a run in the state a step needs, the flags stored on a line, and the
//! accounts and codes of stored rows.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::ProgrammeCode;
use crate::domain::settlement::Line;
use crate::domain::status::RunStatus;
use crate::ledger::account::{Account, AccountKind};
use crate::store::StoreError;
use crate::store::registry::{ProviderRecord, RegistryTx};
use crate::store::settlement::{LineRecord, RunRecord, SettlementTx};

use crate::service::error::{CommandError, Failure};

pub use crate::service::commands::guarded::changed_outside as outside;

pub fn party_account(kind: AccountKind, programme: &ProgrammeCode, provider: Uuid) -> Account {
    Account::of_party(kind, programme, provider)
}

/// The registry row of a provider a run touches (it must exist: its
/// redemptions name it).
pub async fn provider_row<T: RegistryTx + Send>(
    tx: &mut T,
    id: Uuid,
) -> Result<ProviderRecord, Failure> {
    Ok(RegistryTx::provider_by_id(tx, id)
        .await?
        .ok_or_else(|| outside("provider", id))?)
}

pub async fn run_in<T: SettlementTx + Send>(
    tx: &mut T,
    run_id: Uuid,
    needed: RunStatus,
) -> Result<RunRecord, Failure> {
    let run = SettlementTx::settlement_run(tx, run_id)
        .await?
        .ok_or(CommandError::NotFound)?;
    if run.status != needed {
        return Err(CommandError::SettlementState {
            status: run.status,
            needed: needed.as_str(),
        }
        .into());
    }
    Ok(run)
}

/// A flag as stored on a line (JSON) and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredFlag {
    pub code: String,
    /// blocking or warning.
    pub severity: String,
    pub detail: String,
}

/// The flags of a stored line.
pub fn stored_flags(line: &LineRecord) -> Result<Vec<StoredFlag>, StoreError> {
    serde_json::from_str(&line.flags_json).map_err(|_| {
        StoreError::Corrupt(format!(
            "flags of settlement line {}/{}",
            line.run_id, line.redemption_id
        ))
    })
}

pub fn flags_json(line: &Line) -> String {
    let flags: Vec<StoredFlag> = line
        .flags
        .iter()
        .map(|flag| StoredFlag {
            code: flag.code.as_str().to_string(),
            severity: flag.code.severity().as_str().to_string(),
            detail: flag.detail.clone(),
        })
        .collect();
    serde_json::to_string(&flags).expect("flags always serialise")
}

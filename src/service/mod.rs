//! Use cases: each runs in one database transaction (through the writer)
//! or one read. Depends on `ledger` and `store`, never on HTTP.

pub mod access;
pub mod commands;
pub mod effects;
pub mod error;
pub mod export;
pub mod fan_out;
pub mod fraud;
mod import_table;
pub mod issuance;
pub mod issuer_keyring;
pub mod lifecycle;
pub mod provider_account;
pub mod redemption;
pub mod redemption_cache;
pub mod registry;
pub mod settlement;
pub mod settlement_files;
pub mod spreadsheet;
pub mod sweeps;
pub mod tokens;
pub mod utilisation;
pub mod verify;
pub mod vouchers;
pub mod writer;

pub use commands::{Command, Submission};
pub use error::UseCaseError;
pub use writer::{CommandError, Receipt, WriterConfig, WriterHandle};

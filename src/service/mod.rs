//! Use cases: each runs in one database transaction (through the writer)
//! or one read. Depends on `ledger` and `store`, never on HTTP.

pub mod access;
pub mod commands;
pub mod engine;
pub mod error;
pub mod export;
pub mod fan_out;
pub mod fraud;
pub mod import;
mod import_table;
pub mod issuance;
pub mod issuer_keyring;
pub mod issuer_keys;
pub mod journal;
pub mod offline;
pub mod personal;
pub mod personal_migration;
pub mod programmes;
pub mod provider_account;
pub mod redemption;
pub mod registry;
pub mod settlement;
pub mod settlement_files;
pub mod spreadsheet;
pub mod sweeps;
pub mod tokens;
pub mod transparency;
pub mod utilisation;
pub mod verify;
mod verify_offline;
mod verify_personal;
mod verify_tree;
pub mod vouchers;
pub mod witness;
pub mod witness_push;
pub mod written;

pub use commands::{Command, Submission};
pub use engine::{Receipt, WriterConfig, WriterHandle};
pub use error::CommandError;
pub use error::UseCaseError;

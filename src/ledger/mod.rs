//! The ledger: accounts, postings, entries, the hash chain, checkpoints and
//! verification. Pure: no I/O here; `store` persists, `service` drives.

pub mod account;
pub mod body;
pub mod checkpoint;
pub mod cosignature;
pub mod derive;
pub mod entry;
pub mod hold_replay;
pub mod issued_voucher;
pub mod merkle;
pub mod note;
pub mod offline_replay;
pub mod posting;
pub mod receipt;
pub mod settlement_replay;
pub mod verify;
pub mod voucher_replay;

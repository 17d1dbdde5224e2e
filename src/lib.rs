//! # voucher-ledger
//!
//! A city's service-voucher programme (服务补贴券) end to end, on an
//! append-only, hash-chained, double-entry ledger.
//!
//! ## Layout
//!
//! Dependencies point inward: `cli`/`http` → `service` → `ledger`/`store`
//! → `domain`.
//!
//! - [`domain`]: pure types that cannot be built invalid — money in fen
//!   ([`domain::Fen`]), USCC, division codes, ids, programme codes, time.
//! - [`ledger`]: accounts, postings, entries, the hash chain, signed
//!   checkpoints and the streaming verifier. Pure.
//! - [`token`]: signed voucher tokens (protobuf payload, Ed25519, base45 QR
//!   text) and their offline verification. Pure.
//! - [`store`]: the `Store` trait and its SQLite and PostgreSQL
//!   implementations, with embedded migrations.
//! - [`service`]: commands, the group-commit writer, verification of a store.
//! - [`http`]: axum routes, one module per feature, one error type.
//! - [`web`]: the portal pages (server-rendered, zh-CN first), presentation
//!   over the JSON API called in-process.
//! - [`cli`]: the `voucher-ledger` command (serve, migrate, verify,
//!   checkpoint, bench, drill).
//! - [`app`]: picks the backend from the database URL at start-up.
//! - [`invariant`]: a broken invariant stops the process.
//! - [`key_id`]: how public keys are named (shared by `ledger` and `token`).
//! - [`keyfile`]: the ledger signing key on disk (mode 0600) or from the
//!   environment.
//! - [`private_file`]: the data directory (0700) and database files (0600).
//!
//! See `docs/architecture.md` for the path of a write and `docs/ledger.md`
//! for the exact entry and checkpoint encodings.

pub mod app;
pub mod cli;
pub mod domain;
pub mod http;
pub mod invariant;
pub mod key_id;
pub mod keyfile;
pub mod ledger;
pub mod metrics;
pub mod personal;
pub mod private_file;
pub mod report;
pub mod service;
pub mod store;
pub mod token;
pub mod web;

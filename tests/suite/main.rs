//! The integration suite: one test binary. Contract and tamper tests run
//! against SQLite always and PostgreSQL when VOUCHER_TEST_DATABASE_URL is
//! set (required when CI=true).

mod api_client;
mod helpers;

mod access;
mod architecture;
mod backups;
mod bombs;
mod configuration;
mod contract;
mod deployment;
mod documents;
mod failover;
mod holds;
mod http;
mod interop;
mod isolation;
mod issuance;
mod lifecycle_property;
mod offline;
mod offline_browser;
mod operations;
mod personal_data;
mod personal_erasure;
mod portal_forms;
mod portal_journey;
mod processes;
mod programmes;
mod property;
mod providers;
mod public_notice;
mod qr;
mod receipts;
mod redemption;
mod redemption_processes;
mod registry;
mod rolling_restart;
mod schemathesis;
mod settlement;
mod tamper;
mod text_rule;
mod tokens;
mod transparency;
mod transparency_go;
mod webdriver;
mod witness;
mod witnessed_processes;

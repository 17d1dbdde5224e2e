//! Pure domain types and rules: no I/O, no database, no HTTP.
//!
//! Everything here can be built only in a valid state (private fields, one
//! fallible `parse`), so the layers above never re-check what a type already
//! guarantees.

pub mod access;
pub mod bank_file;
pub mod csv_cell;
pub mod division;
pub mod eligibility;
pub mod enterprise;
pub mod flag_words;
pub mod id;
pub mod invoice;
pub mod key_status;
pub mod money;
pub mod offline;
pub mod programme;
pub mod programme_code;
pub mod provider;
pub mod redacted;
pub mod redemption;
pub mod redemption_timeline;
pub mod settlement;
pub mod settlement_payout;
pub mod short_code;
pub mod size_class;
pub mod status;
pub mod text;
mod text_newtype;
pub mod time;
pub mod uscc;

pub use access::{Password, PasswordError, Principal, Role, Username, UsernameError};
pub use division::{DivisionCode, DivisionCodeError, DivisionLevel};
pub use id::{Id, IdError};
pub use money::{Fen, MoneyOverflow, MoneyParseError};
pub use offline::OfflineTerms;
pub use programme_code::{ProgrammeCode, ProgrammeCodeError};
pub use redacted::Redacted;
pub use size_class::{Sector, SizeClass, SizeStandard};
pub use time::Timestamp;
pub use uscc::{Uscc, UsccError};

//! Personal data on an immutable ledger (issue 23, docs/personal-data.md):
//! personal fields enter entries and tables only sealed under their
//! subject's own key (`sealed.rs`), subject keys are wrapped by a master key
//! kept outside the database (`master_key.rs`), and erasing a subject is
//! destroying its key.

pub mod erasure_list;
pub mod master_key;
pub mod request;
pub mod sealed;

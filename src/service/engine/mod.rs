//! The write engine: one writer task per process takes queued commands in
//! batches (`queue`), decides each in one transaction under the chain-head
//! lock (`batch`) with the balances carried across batch-mates
//! (`balances`) and the rows loaded once per batch (`prefetch`), and seals
//! the accepted ones onto the chain. A command decides itself through
//! [`Decide`] (`decision`), implemented in its family's `decide.rs` under
//! `service/commands/`.

mod balances;
mod batch;
mod decision;
mod prefetch;
mod queue;

pub use super::error::CommandError;
pub use batch::Receipt;
pub use decision::{Decide, Decided, Decides, Decision};
pub use queue::{WriterConfig, WriterHandle, publish_ledger_key, sign_checkpoint, spawn};

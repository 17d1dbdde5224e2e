//! Broken invariants stop the process.
//!
//! A branch the code's own logic makes unreachable — an effect that ignored
//! a floor refusal, a planned command routed to the unplanned path — means
//! the program is not what it was reasoned to be. Answering 500 and carrying
//! on would let the next batch build on that state; stopping keeps the last
//! committed state, which `verify` can check, and a supervisor restarts the
//! process. (The style of TigerBeetle's assertions: crash rather than
//! continue with a broken invariant.)

/// Logs `what` and aborts the process (no unwinding, no further writes).
#[cold]
pub fn broken(what: &str) -> ! {
    tracing::error!(invariant = what, "invariant broken: stopping the process");
    eprintln!("voucher-ledger: invariant broken: {what}; stopping");
    std::process::abort()
}

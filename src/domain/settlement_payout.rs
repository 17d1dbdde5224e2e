//! A settlement run's payouts and fingerprint, without I/O: what each
//! provider is paid (gross, offset, net), the payment reference, and the
//! digest of a run's lines (docs/settlement.md).

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::settlement::Line;

/// SHA-256 over the lines as prepared: line number, redemption, provider,
/// subsidy, state and flag codes, in line order. Recorded in the run's
/// entry, so `verify` and anyone re-running the inputs can compare. Fed
/// as the lines are decided, so a run of any size is hashed in passing.
#[derive(Default)]
pub struct LinesDigest(Sha256);

impl LinesDigest {
    pub fn update(&mut self, lines: &[Line]) {
        for line in lines {
            self.0.update(line.line_no.to_be_bytes());
            self.0.update(line.redemption_id.as_bytes());
            self.0.update(line.provider_id.as_bytes());
            self.0.update(line.subsidy_fen.to_be_bytes());
            self.0.update(line.state.as_str().as_bytes());
            for flag in &line.flags {
                self.0.update(b"|");
                self.0.update(flag.code.as_str().as_bytes());
            }
            self.0.update(b"\n");
        }
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// A provider's payment in an approved run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutAmounts {
    pub gross_fen: i64,
    /// Recovery receivable taken back from this payment (追回抵扣).
    pub offset_fen: i64,
}

impl PayoutAmounts {
    /// Offsets as much of the open receivable as the payment covers.
    pub fn new(gross_fen: i64, open_receivable_fen: i64) -> PayoutAmounts {
        PayoutAmounts {
            gross_fen,
            offset_fen: open_receivable_fen.clamp(0, gross_fen),
        }
    }

    /// What the bank transfers.
    pub fn net_fen(&self) -> i64 {
        self.gross_fen - self.offset_fen
    }
}

/// The bank reference of a provider's payout in a run: stable, 26
/// characters every bank accepts. Provider ids are UUIDv7, whose leading
/// digits are a timestamp shared by providers registered together, so the
/// reference takes the random tail of the id; the run's id is a hash, so
/// its head will do.
pub fn payout_reference(run_id: Uuid, provider_id: Uuid) -> String {
    let run = run_id.simple().to_string();
    let provider = provider_id.simple().to_string();
    format!("VL{}{}", &run[..8], &provider[16..]).to_uppercase()
}

//! Where an issuer key is in its life: `active` (the one that signs new
//! vouchers), `retired` (replaced; its vouchers still verify), `revoked`
//! (compromised; its vouchers are refused). Stored and shown by these names.

use super::status::status_enum;

status_enum! {
    /// An issuer key's status.
    pub enum KeyStatus {
        Active = "active",
        /// No longer signs, still verifies what it signed.
        Retired = "retired",
        /// Compromised: nothing it signed is accepted.
        Revoked = "revoked",
    }
}

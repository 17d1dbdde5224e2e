//! Where an issuer key is in its life: `active` (the one that signs new
//! vouchers), `retired` (replaced; its vouchers still verify), `revoked`
//! (compromised; its vouchers are refused). Stored and shown by these names.

use serde::Serialize;

/// An issuer key's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    /// No longer signs, still verifies what it signed.
    Retired,
    /// Compromised: nothing it signed is accepted.
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
            KeyStatus::Revoked => "revoked",
        }
    }

    /// The status as stored and published; `None` for anything else.
    pub fn parse(text: &str) -> Option<KeyStatus> {
        [KeyStatus::Active, KeyStatus::Retired, KeyStatus::Revoked]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_by_name_and_nothing_else_parses() {
        for status in [KeyStatus::Active, KeyStatus::Retired, KeyStatus::Revoked] {
            assert_eq!(KeyStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(KeyStatus::parse("Active"), None);
        assert_eq!(KeyStatus::parse(""), None);
    }
}

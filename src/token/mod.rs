//! Voucher tokens: what a QR code carries, and how anyone holding the
//! issuer's public keys verifies it offline. Pure: no I/O.

pub mod base45;
pub mod offline;
pub mod presentation;
pub mod qr;
pub mod qr_read;
pub mod report;
pub mod status_list;
pub mod voucher;

/// Test fixtures shared by the token modules' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use chrono::NaiveDate;
    use ed25519_dalek::SigningKey;
    use uuid::Uuid;

    use super::voucher::VoucherClaims;
    use crate::domain::Fen;
    use crate::key_id::key_id_for;

    /// A voucher of `fen` for `category`, 2026-03-01 to 2026-08-31, issued
    /// at sequence 7 and naming `signer`'s key.
    pub fn claims(signer: &SigningKey, fen: i64, category: &str) -> VoucherClaims {
        VoucherClaims {
            voucher_id: Uuid::now_v7(),
            programme_code: "ZS2026-01".into(),
            enterprise_uscc: "91330902MA00000153".into(),
            face_value: Fen::new(fen),
            valid_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
            service_categories: vec![category.into()],
            issued_sequence: 7,
            key_id: key_id_for(&signer.verifying_key()),
        }
    }
}

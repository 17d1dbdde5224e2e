//! The voucher token a `voucher_issued` / `voucher_reissued` body stands
//! for: its claims rebuilt from the body's fields and the entry's sequence
//! (docs/ledger.md §6.1), so `verify` can check every voucher's signature
//! from the ledger alone. The ledger depends on `token` here, and `token`
//! on nothing of the ledger.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::Fen;
use crate::token::voucher::VoucherClaims;

/// The claims a `voucher_issued` / `voucher_reissued` ledger body
/// records, for the entry at `sequence`.
pub fn claims_of_issue(
    body: &super::body::pb::VoucherIssued,
    sequence: u64,
) -> Result<VoucherClaims, &'static str> {
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "date");
    Ok(VoucherClaims {
        voucher_id: Uuid::parse_str(&body.voucher_id).map_err(|_| "id is not a UUID")?,
        programme_code: body.programme_code.clone(),
        enterprise_uscc: body.enterprise_uscc.clone(),
        face_value: Fen::new(body.face_value_fen),
        valid_from: date(&body.valid_from)?,
        valid_until: date(&body.valid_until)?,
        service_categories: body.service_categories.clone(),
        issued_sequence: sequence,
        key_id: body.key_id.clone(),
    })
}

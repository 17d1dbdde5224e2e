//! Voucher tokens: what a QR code carries, and how anyone holding the
//! issuer's public keys verifies it offline. Pure: no I/O.

pub mod base45;
pub mod qr;
pub mod report;
pub mod voucher;

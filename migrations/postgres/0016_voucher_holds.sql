-- Providers' holds on vouchers (docs/redemption-lifecycle.md "Holds"): a
-- preview of a fresh presentation holds the voucher for that provider
-- until `expires_at_us`. A hold ends by the provider's redemption or
-- release (`ended_sequence`: that entry's sequence) or by the time
-- passing (the row stays, no longer live). One row per hold, keyed by the
-- presentation it was placed with, so a presentation that held a voucher
-- is never accepted again by anyone else. The live hold of a voucher is
-- its newest row, if not ended and not expired. A projection of
-- `voucher_held`, `voucher_hold_released` and `voucher_redeemed` entries;
-- verify compares.
CREATE TABLE voucher_holds (
    presentation_nonce  TEXT    PRIMARY KEY,
    voucher_id          TEXT    NOT NULL,
    provider_id         TEXT    NOT NULL,
    expires_at_us       BIGINT  NOT NULL,
    held_sequence       BIGINT  NOT NULL,
    ended_sequence      BIGINT
);
CREATE INDEX voucher_holds_by_voucher ON voucher_holds (voucher_id, held_sequence);

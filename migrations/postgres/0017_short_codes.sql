-- The short codes shown under rotating QR codes (docs/token-format.md
-- "Short codes"): each points at the presentation it was made with for
-- that presentation's minute. The first provider that types it takes it
-- (`used_by`); anyone else is refused. Not ledger data: a code is a way
-- to type a presentation, and the presentation is what a hold or a
-- redemption records. Rows are purged a while after they expire.
CREATE TABLE short_codes (
    code           TEXT    PRIMARY KEY,
    voucher_id     TEXT    NOT NULL,
    presentation   TEXT    NOT NULL,
    expires_at_us  BIGINT  NOT NULL,
    used_by        TEXT
);
CREATE INDEX short_codes_by_expiry ON short_codes (expires_at_us);

-- Vouchers: one row per issued voucher, written in the same transaction
-- as the ledger entry that issued it (voucher_issued / voucher_reissued).
-- The signature is kept so the token text can be rebuilt from the row (or
-- from the ledger entry) without the private key.

CREATE TABLE vouchers (
    id              TEXT    PRIMARY KEY,
    programme_code  TEXT   NOT NULL REFERENCES programmes (code),
    enterprise_id   TEXT   NOT NULL REFERENCES enterprises (id),
    enterprise_uscc TEXT   NOT NULL,
    face_value_fen  BIGINT NOT NULL CHECK (face_value_fen > 0),
    remaining_fen   BIGINT NOT NULL CHECK (remaining_fen >= 0 AND remaining_fen <= face_value_fen),
    valid_from      TEXT   NOT NULL,
    valid_until     TEXT   NOT NULL CHECK (valid_until >= valid_from),
    categories_json TEXT   NOT NULL,
    -- The entry that issued it; the token carries it.
    issued_sequence BIGINT NOT NULL UNIQUE,
    key_id          TEXT   NOT NULL REFERENCES issuer_keys (key_id),
    signature       BYTEA  NOT NULL CHECK (length(signature) = 64),
    -- active: usable; reissued: replaced by a voucher under a new key;
    -- redeemed, expired, revoked: later lifecycle states.
    status          TEXT   NOT NULL CHECK (status IN ('active', 'reissued', 'redeemed', 'expired', 'revoked')),
    via             TEXT   NOT NULL CHECK (via IN ('claim', 'allocation', 'reissue')),
    replaces_id     TEXT    REFERENCES vouchers (id),
    issued_at_us    BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL
);
CREATE INDEX vouchers_by_enterprise ON vouchers (enterprise_id, programme_code, id);
CREATE INDEX vouchers_by_programme ON vouchers (programme_code, id);
CREATE INDEX vouchers_by_key ON vouchers (key_id, status, id);
-- A voucher is replaced at most once.
CREATE UNIQUE INDEX vouchers_replaces_once ON vouchers (replaces_id);

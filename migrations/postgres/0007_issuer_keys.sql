-- Issuer keys: the Ed25519 keys that sign vouchers. Only public keys are
-- stored; private keys live in files (mode 0600) or the environment.
-- One key is active (signs new vouchers); retired keys no longer sign but
-- stay published so their vouchers verify; revoked keys' vouchers are refused.

CREATE TABLE issuer_keys (
    key_id          TEXT    PRIMARY KEY,
    public_key      BYTEA   NOT NULL CHECK (length(public_key) = 32),
    status          TEXT    NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
    activated_at_us BIGINT  NOT NULL,
    retired_at_us   BIGINT,
    revoked_at_us   BIGINT,
    revoke_reason   TEXT
);
-- At most one active key.
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys (status) WHERE status = 'active';

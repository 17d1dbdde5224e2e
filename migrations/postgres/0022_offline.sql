-- Offline redemption (docs/redemption-lifecycle.md "Offline"): holder
-- bindings, providers' registered devices, the signed status lists and the
-- offline acceptances synced. Each row is written in the transaction of its
-- ledger entry (holder_key_bound, offline_device_registered,
-- status_list_published, voucher_redeemed / offline_conflict_recorded) and
-- never changed: the tables are append-only.

CREATE TABLE holder_bindings (
    voucher_id      TEXT    NOT NULL,
    binding_number  BIGINT   NOT NULL CHECK (binding_number >= 1),
    algorithm       TEXT    NOT NULL CHECK (algorithm IN ('Ed25519', 'ECDSA-P256')),
    public_key      BYTEA   NOT NULL,
    -- The sealed HolderBinding the issuer signed (docs/token-format.md).
    certificate     BYTEA   NOT NULL,
    bound_at_us     BIGINT   NOT NULL,
    bound_sequence  BIGINT   NOT NULL UNIQUE,
    PRIMARY KEY (voucher_id, binding_number)
);

CREATE TABLE offline_devices (
    id                  TEXT    PRIMARY KEY,
    provider_id         TEXT    NOT NULL,
    algorithm           TEXT    NOT NULL CHECK (algorithm IN ('Ed25519', 'ECDSA-P256')),
    public_key          BYTEA   NOT NULL,
    label               TEXT    NOT NULL,
    registered_at_us    BIGINT   NOT NULL,
    registered_sequence BIGINT   NOT NULL UNIQUE
);
CREATE INDEX offline_devices_by_provider ON offline_devices (provider_id, id);

-- One row per published list; `body` is the exact signed JSON.
CREATE TABLE status_lists (
    number             BIGINT   PRIMARY KEY CHECK (number >= 1),
    full_list          BIGINT   NOT NULL CHECK (full_list IN (0, 1)),
    from_sequence      BIGINT   NOT NULL,
    to_sequence        BIGINT   NOT NULL CHECK (to_sequence >= from_sequence),
    published_at_us    BIGINT   NOT NULL,
    digest             BYTEA   NOT NULL CHECK (length(digest) = 32),
    signature          BYTEA   NOT NULL CHECK (length(signature) = 64),
    key_id             TEXT    NOT NULL,
    body               TEXT    NOT NULL,
    published_sequence BIGINT   NOT NULL UNIQUE
);

-- The vouchers each list reports as changed since the list before it:
-- "the voucher as list N knew it" is its newest row with list_number <= N.
CREATE TABLE status_list_vouchers (
    voucher_id     TEXT    NOT NULL,
    list_number    BIGINT   NOT NULL,
    status         TEXT    NOT NULL,
    remaining_fen  BIGINT   NOT NULL CHECK (remaining_fen >= 0),
    binding_number BIGINT   NOT NULL CHECK (binding_number >= 0),
    PRIMARY KEY (voucher_id, list_number)
);
CREATE INDEX status_list_vouchers_by_list ON status_list_vouchers (list_number, voucher_id);

-- Every offline acceptance synced: paid (a redemption `id`), partly paid
-- (the rest a conflict) or an offline_conflict (`id` is the conflict's).
CREATE TABLE offline_acceptances (
    presentation_nonce  TEXT    PRIMARY KEY,
    id                  TEXT    NOT NULL UNIQUE,
    device_id           TEXT    NOT NULL,
    record_number       BIGINT   NOT NULL CHECK (record_number >= 1),
    record_digest       BYTEA   NOT NULL CHECK (length(record_digest) = 32),
    provider_id         TEXT    NOT NULL,
    voucher_id          TEXT    NOT NULL,
    programme_code      TEXT    NOT NULL,
    enterprise_id       TEXT    NOT NULL,
    list_number         BIGINT   NOT NULL,
    accepted_at_us      BIGINT   NOT NULL,
    service_category    TEXT    NOT NULL,
    contract_number     TEXT    NOT NULL,
    contract_amount_fen BIGINT   NOT NULL CHECK (contract_amount_fen > 0),
    claimed_fen         BIGINT   NOT NULL CHECK (claimed_fen > 0),
    paid_fen            BIGINT   NOT NULL CHECK (paid_fen >= 0),
    conflict_fen        BIGINT   NOT NULL CHECK (conflict_fen >= 0 AND paid_fen + conflict_fen = claimed_fen),
    conflict_reason     TEXT,
    synced_sequence     BIGINT   NOT NULL UNIQUE,
    synced_at_us        BIGINT   NOT NULL,
    UNIQUE (device_id, record_number)
);
CREATE INDEX offline_acceptances_by_device ON offline_acceptances (device_id, list_number);
CREATE INDEX offline_acceptances_by_provider ON offline_acceptances (provider_id, synced_sequence);
CREATE INDEX offline_acceptances_by_enterprise ON offline_acceptances (enterprise_id, synced_sequence);
CREATE INDEX offline_acceptances_by_voucher ON offline_acceptances (voucher_id, synced_sequence);

-- A status list reports the vouchers changed since the list before it.
CREATE INDEX vouchers_by_update ON vouchers (updated_at_us);
CREATE TRIGGER holder_bindings_no_change BEFORE UPDATE OR DELETE ON holder_bindings
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER holder_bindings_no_truncate BEFORE TRUNCATE ON holder_bindings
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER offline_devices_no_change BEFORE UPDATE OR DELETE ON offline_devices
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER offline_devices_no_truncate BEFORE TRUNCATE ON offline_devices
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER status_lists_no_change BEFORE UPDATE OR DELETE ON status_lists
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER status_lists_no_truncate BEFORE TRUNCATE ON status_lists
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER status_list_vouchers_no_change BEFORE UPDATE OR DELETE ON status_list_vouchers
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER status_list_vouchers_no_truncate BEFORE TRUNCATE ON status_list_vouchers
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER offline_acceptances_no_change BEFORE UPDATE OR DELETE ON offline_acceptances
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER offline_acceptances_no_truncate BEFORE TRUNCATE ON offline_acceptances
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The provider registry: who may redeem vouchers. Every change is a ledger
-- entry (provider_registered / provider_updated / provider_status_changed)
-- written in the same transaction as these rows.

CREATE TABLE providers (
    id             TEXT    PRIMARY KEY,
    uscc           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('applied', 'approved', 'suspended', 'removed')),
    -- Everything else the admin entered (representative, categories, bank
    -- account, related parties), as canonical JSON.
    fields_json    TEXT    NOT NULL,
    annual_cap_fen BIGINT  NOT NULL CHECK (annual_cap_fen > 0),
    version        BIGINT  NOT NULL CHECK (version >= 1),
    created_at_us  BIGINT  NOT NULL,
    updated_at_us  BIGINT  NOT NULL,
    CONSTRAINT providers_uscc_unique UNIQUE (uscc)
);

-- Every status a provider has had, from when: redemption checks the status
-- in force on the day of the service.
CREATE TABLE provider_status_history (
    provider_id   TEXT    NOT NULL REFERENCES providers (id),
    status        TEXT    NOT NULL,
    changed_at_us BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    PRIMARY KEY (provider_id, changed_at_us, status)
);

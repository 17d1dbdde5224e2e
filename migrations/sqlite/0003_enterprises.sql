-- The enterprise registry: who may claim vouchers. Every change is a ledger
-- entry (enterprise_registered / enterprise_updated / enterprise_tagged /
-- party_blacklisted) written in the same transaction as these rows.

CREATE TABLE enterprises (
    id                   TEXT    PRIMARY KEY,
    uscc                 TEXT    NOT NULL,
    -- Set when an admin admitted a legacy pilot code that fails the
    -- national check; the reason is in the ledger entry.
    uscc_override        INTEGER NOT NULL DEFAULT 0 CHECK (uscc_override IN (0, 1)),
    name                 TEXT    NOT NULL,
    division             TEXT    NOT NULL,
    zone                 TEXT,
    sector               TEXT    NOT NULL,
    staff                INTEGER NOT NULL CHECK (staff >= 0),
    revenue_fen          INTEGER NOT NULL CHECK (revenue_fen >= 0),
    -- Derived from sector, staff and revenue by size_standard; never typed in.
    size_class           TEXT    NOT NULL CHECK (size_class IN ('micro', 'small', 'medium', 'large')),
    size_standard        TEXT    NOT NULL,
    contact              TEXT,
    version              INTEGER NOT NULL CHECK (version >= 1),
    created_at_us        INTEGER NOT NULL,
    updated_at_us        INTEGER NOT NULL,
    CONSTRAINT enterprises_uscc_unique UNIQUE (uscc)
);
CREATE INDEX enterprises_division ON enterprises (division);

-- Tags such as 专精特新培育库 or 隐形冠军, each with the dates it applies.
CREATE TABLE enterprise_tags (
    enterprise_id TEXT NOT NULL REFERENCES enterprises (id),
    tag           TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    valid_until   TEXT,
    source        TEXT NOT NULL,
    PRIMARY KEY (enterprise_id, tag, valid_from)
);

-- Blacklist entries for enterprises and (later) providers.
CREATE TABLE blacklist (
    id              TEXT PRIMARY KEY,
    party_kind      TEXT NOT NULL CHECK (party_kind IN ('enterprise', 'provider')),
    party_id        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    source          TEXT NOT NULL,
    effective_from  TEXT NOT NULL,
    effective_until TEXT
);
CREATE INDEX blacklist_party ON blacklist (party_kind, party_id);

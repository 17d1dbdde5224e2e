-- Functional zones (新城, 普陀山-朱家尖, 高新区, …): no official code, so each
-- is a name with a parent GB/T 2260 division. An enterprise's zone must be
-- one of these, within a division containing the enterprise's own.

CREATE TABLE zones (
    name          TEXT    PRIMARY KEY,
    division      TEXT    NOT NULL,
    updated_at_us INTEGER NOT NULL
);

-- Programmes: terms and lifecycle (draft -> open -> closed). The row is the
-- projection of the latest terms; every change is a ledger entry
-- (programme_created / _draft_updated / _opened / _amended / _closed) with
-- the full terms, so the history of a programme is in the ledger.

CREATE TABLE programmes (
    code          TEXT    PRIMARY KEY,
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    terms_json    TEXT    NOT NULL,
    version       BIGINT  NOT NULL CHECK (version >= 1),
    created_at_us BIGINT  NOT NULL,
    updated_at_us BIGINT  NOT NULL
);

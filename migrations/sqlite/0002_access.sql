-- Identity and access: users, web sessions, API tokens, and stored
-- responses for HTTP idempotency. Rows here change (a session is revoked,
-- a lock expires), but every change that matters is also a ledger entry
-- written in the same transaction (see docs/access.md).

CREATE TABLE users (
    id              TEXT    PRIMARY KEY,
    username        TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'finance', 'provider', 'enterprise', 'auditor')),
    -- The provider or enterprise a provider/enterprise user acts for.
    party_id        TEXT,
    password_hash   TEXT    NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_us INTEGER,
    created_at_us   INTEGER NOT NULL,
    CONSTRAINT users_username_unique UNIQUE (username),
    CHECK ((role IN ('provider', 'enterprise')) = (party_id IS NOT NULL))
);

CREATE TABLE sessions (
    token_hash     BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id        TEXT    NOT NULL REFERENCES users (id),
    csrf_token     TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    expires_at_us  INTEGER NOT NULL,
    revoked_at_us  INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id             TEXT    PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id),
    name           TEXT    NOT NULL,
    token_hash     BLOB    NOT NULL CHECK (length(token_hash) = 32),
    prefix         TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    expires_at_us  INTEGER NOT NULL,
    revoked_at_us  INTEGER,
    CONSTRAINT api_tokens_hash_unique UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- One row per (principal, Idempotency-Key): claimed before the handler
-- runs, completed with the response it produced.
CREATE TABLE api_idempotency (
    principal        TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    fingerprint      BLOB    NOT NULL CHECK (length(fingerprint) = 32),
    status           INTEGER,
    response         BLOB,
    created_at_us    INTEGER NOT NULL,
    completed_at_us  INTEGER,
    PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at_us);

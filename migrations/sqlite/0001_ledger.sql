-- The ledger: entries, postings, chain head, balance projection,
-- checkpoints and ledger keys. Entries, postings, checkpoints and keys are
-- append-only: triggers refuse UPDATE and DELETE. See docs/ledger.md.

CREATE TABLE ledger_entries (
    sequence        INTEGER PRIMARY KEY CHECK (sequence >= 1),
    kind            TEXT    NOT NULL,
    body            BLOB    NOT NULL,
    actor           TEXT    NOT NULL,
    recorded_at_us  INTEGER NOT NULL,
    idempotency_key TEXT    NOT NULL,
    command_digest  BLOB    NOT NULL CHECK (length(command_digest) = 32),
    prev_hash       BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash            BLOB    NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT ledger_entries_idempotency_key_unique UNIQUE (idempotency_key)
);

-- Postings carry no foreign key to their entry: they are inside the
-- entry's hash, so verify catches any posting that does not belong, and a
-- foreign-key check (a row lock per posting) would cost more than all the
-- rest of an append. They are written in the same transaction as the entry.
CREATE TABLE ledger_postings (
    sequence      INTEGER NOT NULL,
    posting_index INTEGER NOT NULL CHECK (posting_index >= 0),
    account       TEXT    NOT NULL,
    side          TEXT    NOT NULL CHECK (side IN ('D', 'C')),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (sequence, posting_index)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account, sequence);

-- One row: the last appended entry. Appenders lock it (BEGIN IMMEDIATE on
-- SQLite) so the chain has one total order.
CREATE TABLE ledger_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    sequence       INTEGER NOT NULL,
    hash           BLOB    NOT NULL,
    recorded_at_us INTEGER NOT NULL
);
INSERT INTO ledger_head (id, sequence, hash, recorded_at_us) VALUES (1, 0, zeroblob(32), 0);

-- Projection of balances (debits - credits) per account. normal_sign is +1
-- for buckets (never below zero) and -1 for funding (never above zero); the
-- CHECK makes a floor breach impossible even for a buggy caller.
CREATE TABLE account_balances (
    account       TEXT    PRIMARY KEY,
    normal_sign   INTEGER NOT NULL CHECK (normal_sign IN (1, -1)),
    balance_fen   INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL,
    CHECK (balance_fen * normal_sign >= 0)
);

CREATE TABLE ledger_checkpoints (
    sequence     INTEGER PRIMARY KEY CHECK (sequence >= 1),
    head_hash    BLOB    NOT NULL CHECK (length(head_hash) = 32),
    signed_at_us INTEGER NOT NULL,
    key_id       TEXT    NOT NULL,
    signature    BLOB    NOT NULL CHECK (length(signature) = 64)
);

CREATE TABLE ledger_keys (
    key_id        TEXT    PRIMARY KEY,
    public_key    BLOB    NOT NULL CHECK (length(public_key) = 32),
    created_at_us INTEGER NOT NULL
);

-- An entry must extend the chain: entry 1 links to 32 zero bytes, entry n
-- to the hash of entry n-1.
CREATE TRIGGER ledger_entries_extend_chain BEFORE INSERT ON ledger_entries
WHEN NOT (
    (NEW.sequence = 1 AND NEW.prev_hash = zeroblob(32))
    OR EXISTS (SELECT 1 FROM ledger_entries
               WHERE sequence = NEW.sequence - 1 AND hash = NEW.prev_hash)
)
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries: an entry must extend the chain');
END;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only'); END;
CREATE TRIGGER ledger_keys_no_update BEFORE UPDATE ON ledger_keys
BEGIN SELECT RAISE(ABORT, 'ledger_keys is append-only'); END;
CREATE TRIGGER ledger_keys_no_delete BEFORE DELETE ON ledger_keys
BEGIN SELECT RAISE(ABORT, 'ledger_keys is append-only'); END;

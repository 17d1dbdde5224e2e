-- The ledger: entries, postings, chain head, balance projection,
-- checkpoints and ledger keys. Entries, postings, checkpoints and keys are
-- append-only: triggers refuse UPDATE, DELETE and TRUNCATE. See docs/ledger.md.

CREATE TABLE ledger_entries (
    sequence        BIGINT PRIMARY KEY CHECK (sequence >= 1),
    kind            TEXT   NOT NULL,
    body            BYTEA  NOT NULL,
    actor           TEXT   NOT NULL,
    recorded_at_us  BIGINT NOT NULL,
    idempotency_key TEXT   NOT NULL,
    command_digest  BYTEA  NOT NULL CHECK (length(command_digest) = 32),
    prev_hash       BYTEA  NOT NULL CHECK (length(prev_hash) = 32),
    hash            BYTEA  NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT ledger_entries_idempotency_key_unique UNIQUE (idempotency_key)
);

-- Postings carry no foreign key to their entry: they are inside the
-- entry's hash, so verify catches any posting that does not belong, and a
-- foreign-key check (a row lock per posting) would cost more than all the
-- rest of an append. They are written in the same transaction as the entry.
CREATE TABLE ledger_postings (
    sequence      BIGINT NOT NULL,
    posting_index INTEGER NOT NULL CHECK (posting_index >= 0),
    account       TEXT   NOT NULL,
    side          TEXT   NOT NULL CHECK (side IN ('D', 'C')),
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (sequence, posting_index)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account, sequence);

-- One row: the last appended entry. Appenders lock it with SELECT … FOR
-- UPDATE, so appends from every app instance form one total order.
CREATE TABLE ledger_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    sequence       BIGINT NOT NULL,
    hash           BYTEA  NOT NULL,
    recorded_at_us BIGINT NOT NULL
);
INSERT INTO ledger_head (id, sequence, hash, recorded_at_us)
VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0);

-- Projection of balances (debits - credits) per account. normal_sign is +1
-- for buckets (never below zero) and -1 for funding (never above zero); the
-- CHECK makes a floor breach impossible even for a buggy caller.
CREATE TABLE account_balances (
    account       TEXT     PRIMARY KEY,
    normal_sign   SMALLINT NOT NULL CHECK (normal_sign IN (1, -1)),
    balance_fen   BIGINT   NOT NULL,
    last_sequence BIGINT   NOT NULL,
    CHECK (balance_fen * normal_sign >= 0)
);

CREATE TABLE ledger_checkpoints (
    sequence     BIGINT PRIMARY KEY CHECK (sequence >= 1),
    head_hash    BYTEA  NOT NULL CHECK (length(head_hash) = 32),
    signed_at_us BIGINT NOT NULL,
    key_id       TEXT   NOT NULL,
    signature    BYTEA  NOT NULL CHECK (length(signature) = 64)
);

CREATE TABLE ledger_keys (
    key_id        TEXT   PRIMARY KEY,
    public_key    BYTEA  NOT NULL CHECK (length(public_key) = 32),
    created_at_us BIGINT NOT NULL
);

-- An entry must extend the chain: entry 1 links to 32 zero bytes, entry n
-- to the hash of entry n-1.
-- The lookup is a primary-key equality, whose generic plan is an index
-- scan; pinning the plan mode keeps it from being re-planned for every row
-- when a session forces custom plans.
CREATE FUNCTION ledger_entries_extend_chain() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF NEW.sequence = 1 AND NEW.prev_hash = decode(repeat('00', 32), 'hex') THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_entries
               WHERE sequence = NEW.sequence - 1 AND hash = NEW.prev_hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger_entries: an entry must extend the chain'
        USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER ledger_entries_extend_chain BEFORE INSERT ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_extend_chain();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_no_change BEFORE UPDATE OR DELETE ON ledger_postings
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_change BEFORE UPDATE OR DELETE ON ledger_checkpoints
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_keys_no_change BEFORE UPDATE OR DELETE ON ledger_keys
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_keys_no_truncate BEFORE TRUNCATE ON ledger_keys
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

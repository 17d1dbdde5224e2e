-- Settlement (兑付): runs, their lines, flag resolutions and payouts.
-- Every row is written by the ledger writer in the transaction of the
-- entry that changes it (settlement_prepared, settlement_line_resolved,
-- settlement_approved, payouts_recorded); docs/settlement.md.

CREATE TABLE settlement_runs (
    -- Derived from (programme, period): the same inputs give the same run.
    id                TEXT    PRIMARY KEY,
    programme_code    TEXT    NOT NULL REFERENCES programmes (code),
    -- Inclusive dates in UTC+8 (YYYY-MM-DD).
    period_from       TEXT    NOT NULL,
    period_until      TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('prepared', 'approved')),
    prepared_by       TEXT    NOT NULL,
    approved_by       TEXT,
    -- Hex SHA-256 of the lines as prepared (docs/settlement.md).
    lines_digest      TEXT    NOT NULL,
    prepared_sequence INTEGER NOT NULL UNIQUE,
    approved_sequence INTEGER UNIQUE,
    prepared_at_us    INTEGER NOT NULL,
    approved_at_us    INTEGER,
    -- Maker-checker, settled by the database too.
    CONSTRAINT settlement_runs_two_people CHECK (approved_by IS NULL OR approved_by <> prepared_by),
    CONSTRAINT settlement_runs_period_once UNIQUE (programme_code, period_from, period_until)
);

-- Like ledger_postings, lines carry no foreign keys: a million lines would
-- pay a key check each, and only the writer inserts them, in the
-- transaction of their run's entry; verify checks every line against its
-- run and payouts.
CREATE TABLE settlement_lines (
    run_id        TEXT    NOT NULL,
    redemption_id TEXT    NOT NULL,
    line_no       INTEGER NOT NULL CHECK (line_no >= 1),
    provider_id   TEXT    NOT NULL,
    subsidy_fen   INTEGER NOT NULL CHECK (subsidy_fen > 0),
    -- included: in the batch; held: kept out by a blocking flag not yet
    -- resolved; released: left the batch (still held at approval, no longer
    -- confirmed at approval, or its payout failed) and may be settled again.
    state         TEXT    NOT NULL CHECK (state IN ('included', 'held', 'released')),
    -- JSON array of {"code", "severity", "detail"}.
    flags         TEXT    NOT NULL,
    -- Lines are read in line order; a redemption's line is found through
    -- settlement_lines_once.
    PRIMARY KEY (run_id, line_no)
) WITHOUT ROWID;
-- Each redemption lands in exactly one batch.
CREATE UNIQUE INDEX settlement_lines_once ON settlement_lines (redemption_id)
    WHERE state <> 'released';

-- Who resolved a held line's blocking flags, and why. Append-only.
CREATE TABLE settlement_resolutions (
    run_id         TEXT   NOT NULL,
    redemption_id  TEXT   NOT NULL,
    note           TEXT   NOT NULL,
    resolved_by    TEXT   NOT NULL,
    sequence       INTEGER NOT NULL,
    resolved_at_us INTEGER NOT NULL,
    PRIMARY KEY (run_id, redemption_id, sequence)
);

-- One payment per provider per approved run.
CREATE TABLE payouts (
    reference        TEXT   PRIMARY KEY,
    run_id           TEXT   NOT NULL REFERENCES settlement_runs (id),
    provider_id      TEXT   NOT NULL REFERENCES providers (id),
    payee_name       TEXT   NOT NULL,
    bank_name        TEXT   NOT NULL,
    account_number   TEXT   NOT NULL,
    gross_fen        INTEGER NOT NULL CHECK (gross_fen > 0),
    -- Recovery receivable offset against this payout (追回抵扣).
    offset_fen       INTEGER NOT NULL CHECK (offset_fen >= 0 AND offset_fen <= gross_fen),
    net_fen          INTEGER NOT NULL CHECK (net_fen = gross_fen - offset_fen),
    status           TEXT   NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    bank_message     TEXT,
    updated_sequence INTEGER NOT NULL,
    CONSTRAINT payouts_once_per_run UNIQUE (run_id, provider_id)
);

-- Paid subsidies taken back one redemption at a time (an enterprise found
-- fraudulent): each at most once. Written with its recovery_opened entry.
CREATE TABLE recovered_redemptions (
    redemption_id TEXT    PRIMARY KEY,
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    sequence      INTEGER NOT NULL
);

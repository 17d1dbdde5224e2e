-- Witness cosignatures of the transparency log's checkpoints (C2SP
-- tlog-cosignature): one signature line per (checkpoint, witness), as the
-- witness returned it. Append-only. docs/transparency.md, "Witnesses".
CREATE TABLE log_cosignatures (
    tree_size    INTEGER NOT NULL REFERENCES log_checkpoints (tree_size),
    witness      TEXT    NOT NULL,
    line         TEXT    NOT NULL,
    received_at_us INTEGER NOT NULL,
    PRIMARY KEY (tree_size, witness)
) WITHOUT ROWID;
CREATE TRIGGER log_cosignatures_no_update BEFORE UPDATE ON log_cosignatures
BEGIN SELECT RAISE(ABORT, 'log_cosignatures is append-only'); END;
CREATE TRIGGER log_cosignatures_no_delete BEFORE DELETE ON log_cosignatures
BEGIN SELECT RAISE(ABORT, 'log_cosignatures is append-only'); END;

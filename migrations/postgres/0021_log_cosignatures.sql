-- Witness cosignatures of the transparency log's checkpoints (C2SP
-- tlog-cosignature): one signature line per (checkpoint, witness), as the
-- witness returned it. Append-only. docs/transparency.md, "Witnesses".
CREATE TABLE log_cosignatures (
    tree_size    BIGINT NOT NULL REFERENCES log_checkpoints (tree_size),
    witness      TEXT   NOT NULL,
    line         TEXT   NOT NULL,
    received_at_us BIGINT NOT NULL,
    PRIMARY KEY (tree_size, witness)
);
CREATE TRIGGER log_cosignatures_no_change BEFORE UPDATE OR DELETE ON log_cosignatures
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_cosignatures_no_truncate BEFORE TRUNCATE ON log_cosignatures
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

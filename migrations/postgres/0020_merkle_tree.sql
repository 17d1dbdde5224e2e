-- The Merkle tree over every entry (docs/transparency.md): the hashes of
-- complete subtrees, written in the transaction that appends the entries;
-- the head carries the tree's right edge so an append reads no node; and
-- the signed tree checkpoints (C2SP signed notes). Append-only like the
-- entries. `verify` recomputes every node and every root from the entries.

CREATE TABLE merkle_nodes (
    level SMALLINT NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    hash  BYTEA    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- tree_size leaves (= entries) are in the tree; tree_frontier holds one
-- 32-byte hash per set bit of tree_size, largest subtree first. A ledger
-- from before this migration starts at 0 and is caught up at startup.
ALTER TABLE ledger_head
    ADD COLUMN tree_size BIGINT NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
    ADD COLUMN tree_frontier BYTEA NOT NULL DEFAULT '\x'::bytea;

CREATE TABLE log_checkpoints (
    tree_size    BIGINT PRIMARY KEY CHECK (tree_size >= 1),
    root_hash    BYTEA  NOT NULL CHECK (length(root_hash) = 32),
    signed_at_us BIGINT NOT NULL,
    note         TEXT   NOT NULL
);

CREATE TRIGGER merkle_nodes_no_change BEFORE UPDATE OR DELETE ON merkle_nodes
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_checkpoints_no_change BEFORE UPDATE OR DELETE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

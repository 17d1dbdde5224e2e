-- The Merkle tree over every entry (docs/transparency.md): the hashes of
-- complete subtrees, written in the transaction that appends the entries;
-- the head carries the tree's right edge so an append reads no node; and
-- the signed tree checkpoints (C2SP signed notes). Append-only like the
-- entries. `verify` recomputes every node and every root from the entries.

CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- tree_size leaves (= entries) are in the tree; tree_frontier holds one
-- 32-byte hash per set bit of tree_size, largest subtree first. A ledger
-- from before this migration starts at 0 and is caught up at startup.
ALTER TABLE ledger_head ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0 CHECK (tree_size >= 0);
ALTER TABLE ledger_head ADD COLUMN tree_frontier BLOB NOT NULL DEFAULT x'';

CREATE TABLE log_checkpoints (
    tree_size    INTEGER PRIMARY KEY CHECK (tree_size >= 1),
    root_hash    BLOB    NOT NULL CHECK (length(root_hash) = 32),
    signed_at_us INTEGER NOT NULL,
    note         TEXT    NOT NULL
);

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only'); END;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'log_checkpoints is append-only'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'log_checkpoints is append-only'); END;

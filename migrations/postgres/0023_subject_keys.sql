-- Personal data keys (docs/personal-data.md): one data key per subject (an
-- enterprise, a user), wrapped by the master key, which is never stored in
-- the database. Personal fields in entries and tables are sealed under
-- these keys. Erasing a subject destroys its key: wrapped_key becomes NULL
-- and erased_at_us is set — the one row the service changes in place that
-- is not a projection of the ledger (the erasure itself is an entry).
CREATE TABLE subject_keys (
    subject          TEXT    PRIMARY KEY,
    wrapped_key      BYTEA,
    master_key_id    TEXT    NOT NULL,
    created_at_us    BIGINT  NOT NULL,
    erased_at_us     BIGINT,
    restricted_at_us BIGINT,
    CHECK ((wrapped_key IS NULL) = (erased_at_us IS NOT NULL))
);

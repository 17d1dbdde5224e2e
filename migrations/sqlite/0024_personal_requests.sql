-- Erasure and restriction of personal data (docs/personal-data.md), and the
-- record of every unmasked read.
--
-- A restriction (PIPL Art. 47 ¶2: a retention period still runs) keeps the
-- subject's key but blocks every read of its fields until `retain_until`
-- (a CST date), after which the subject may be erased. Both are ledger
-- entries (personal_data_restricted, personal_data_erased); these columns
-- are their projection on the subject's key row.
ALTER TABLE subject_keys ADD COLUMN retain_until TEXT;

-- Who read which subject's personal field unmasked, when, through what.
-- Written by the readers (the API, exports) as they open a field, not by
-- the ledger writer: reads are not ledger events. Append-only.
CREATE TABLE personal_data_reads (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    read_at_us INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    purpose    TEXT    NOT NULL
);
CREATE INDEX personal_data_reads_by_subject ON personal_data_reads (subject, id);

CREATE TRIGGER personal_data_reads_no_update BEFORE UPDATE ON personal_data_reads
BEGIN SELECT RAISE(ABORT, 'personal_data_reads is append-only'); END;
CREATE TRIGGER personal_data_reads_no_delete BEFORE DELETE ON personal_data_reads
BEGIN SELECT RAISE(ABORT, 'personal_data_reads is append-only'); END;

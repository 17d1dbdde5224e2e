-- A posting belongs to the entry appended in the same transaction, and a
-- checkpoint to the entry whose hash it signs (docs/ledger.md §9).
--
-- Without this, INSERT (which the append-only triggers allow, since
-- appending is inserting) could plant a posting under an entry that is
-- already sealed, or under a sequence not yet appended: the next honest
-- append would then look tampered. SQLite cannot name a transaction, but
-- the writer moves the chain head only after an entry's postings: a
-- posting is accepted only while its entry exists and lies beyond the
-- stored head, that is, while the transaction appending it is open.
CREATE TRIGGER ledger_postings_belong_to_their_entry BEFORE INSERT ON ledger_postings
WHEN NOT EXISTS (SELECT 1 FROM ledger_entries WHERE sequence = NEW.sequence)
    OR NEW.sequence <= (SELECT sequence FROM ledger_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'ledger_postings: a posting must belong to an entry appended in the same transaction');
END;

CREATE TRIGGER ledger_checkpoints_sign_an_entry BEFORE INSERT ON ledger_checkpoints
WHEN NOT EXISTS (SELECT 1 FROM ledger_entries
                 WHERE sequence = NEW.sequence AND hash = NEW.head_hash)
BEGIN
    SELECT RAISE(ABORT, 'ledger_checkpoints: a checkpoint must sign the hash of an existing entry');
END;

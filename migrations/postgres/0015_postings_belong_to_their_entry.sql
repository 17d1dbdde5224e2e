-- A posting belongs to the entry appended in the same transaction, and a
-- checkpoint to the entry whose hash it signs (docs/ledger.md §9).
--
-- Without this, INSERT (which the append-only triggers allow, since
-- appending is inserting) could plant a posting under an entry that is
-- already sealed, or under a sequence not yet appended: the next honest
-- append would then look tampered. The writer inserts an entry and its
-- postings in one statement (data-modifying CTEs), so the check runs
-- after the statement, over the statement's new postings at once (a
-- transition table), and asks that each one's entry was inserted by this
-- very transaction (its xmin is our transaction id).
CREATE FUNCTION ledger_postings_belong_to_their_entry() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    entry_sequence BIGINT;
BEGIN
    -- One primary-key look-up per entry of the statement (a batch holds at
    -- most 512), never a scan: a join against the transition table would
    -- be planned without statistics and may read the whole ledger.
    FOR entry_sequence IN SELECT DISTINCT sequence FROM new_postings LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger_entries
                       WHERE sequence = entry_sequence
                         AND xmin = pg_current_xact_id()::xid) THEN
            RAISE EXCEPTION 'ledger_postings: a posting must belong to an entry appended in the same transaction'
                USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_postings_belong_to_their_entry AFTER INSERT ON ledger_postings
REFERENCING NEW TABLE AS new_postings
FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_belong_to_their_entry();

CREATE FUNCTION ledger_checkpoints_sign_an_entry() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries
               WHERE sequence = NEW.sequence AND hash = NEW.head_hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger_checkpoints: a checkpoint must sign the hash of an existing entry'
        USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER ledger_checkpoints_sign_an_entry BEFORE INSERT ON ledger_checkpoints
FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_sign_an_entry();

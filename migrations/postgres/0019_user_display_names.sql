-- A staff member's name as it is signed on documents (编制人, 审核人) and
-- shown on pages instead of a login name. Personal data: it lives in this
-- row only, never in a ledger entry body nor in a command digest, so it
-- can be corrected or erased without touching the hash chain.
ALTER TABLE users ADD COLUMN display_name TEXT
    CHECK (display_name IS NULL OR (length(display_name) BETWEEN 1 AND 50));

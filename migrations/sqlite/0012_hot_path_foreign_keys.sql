-- Postgres drops the foreign keys of vouchers and redemptions in this
-- version, because there each check locks the referenced row
-- (docs/decisions/0008). SQLite keeps them: a check here is an index
-- look-up without a lock. Nothing changes in this dialect; the version
-- exists so both backends share one migration history.
SELECT 1;

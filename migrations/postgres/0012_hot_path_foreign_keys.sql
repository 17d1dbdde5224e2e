-- Claims and redemptions insert a row each into vouchers and redemptions,
-- inside the ledger writer's batch. On Postgres every foreign-key check
-- on insert takes a row lock (FOR KEY SHARE) on the referenced row, which
-- writes that row's heap tuple and a WAL record: for a batch of claims,
-- one per claimant, programme and key, under the chain-head lock. These
-- rows are written only by the ledger writer, which reads every
-- programme, enterprise, provider, issuer key and voucher they name in the
-- same transaction, and none of those rows is ever deleted. `verify`
-- checks the references instead (docs/decisions/0008). SQLite keeps its
-- foreign keys: there a check is an index look-up without a lock.
ALTER TABLE vouchers
    DROP CONSTRAINT vouchers_programme_code_fkey,
    DROP CONSTRAINT vouchers_enterprise_id_fkey,
    DROP CONSTRAINT vouchers_key_id_fkey;
ALTER TABLE redemptions
    DROP CONSTRAINT redemptions_voucher_id_fkey,
    DROP CONSTRAINT redemptions_programme_code_fkey,
    DROP CONSTRAINT redemptions_provider_id_fkey,
    DROP CONSTRAINT redemptions_enterprise_id_fkey;

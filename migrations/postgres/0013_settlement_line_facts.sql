-- Each settlement line carries the facts of its redemption that the
-- 兑付表 shows (voucher, firm, service category, contract amount, invoice
-- number, confirmation time), copied when the run is prepared. Exporting
-- a batch then reads its lines in order and nothing else: the table is
-- the document the run settled, and a million lines stream without a
-- look-up per line (docs/settlement.md, docs/decisions/0009).
ALTER TABLE settlement_lines
    ADD COLUMN voucher_id          TEXT,
    ADD COLUMN enterprise_name     TEXT,
    ADD COLUMN service_category    TEXT,
    ADD COLUMN contract_amount_fen BIGINT,
    ADD COLUMN invoice_number      TEXT,
    ADD COLUMN confirmed_at_us     BIGINT;

UPDATE settlement_lines l
SET voucher_id = r.voucher_id, enterprise_name = e.name,
    service_category = r.service_category, contract_amount_fen = r.contract_amount_fen,
    invoice_number = r.invoice_number, confirmed_at_us = r.confirmed_at_us
FROM redemptions r JOIN enterprises e ON e.id = r.enterprise_id
WHERE r.id = l.redemption_id;

-- A line whose redemption is missing makes this fail instead of being
-- left without its facts.
ALTER TABLE settlement_lines
    ALTER COLUMN voucher_id SET NOT NULL,
    ALTER COLUMN enterprise_name SET NOT NULL,
    ALTER COLUMN service_category SET NOT NULL,
    ALTER COLUMN contract_amount_fen SET NOT NULL;

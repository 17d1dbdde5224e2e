-- Each settlement line carries the facts of its redemption that the
-- 兑付表 shows (voucher, firm, service category, contract amount, invoice
-- number, confirmation time), copied when the run is prepared. Exporting
-- a batch then reads its lines in order and nothing else: the table is
-- the document the run settled, and a million lines stream without a
-- look-up per line (docs/settlement.md, docs/decisions/0009).
--
-- SQLite cannot add NOT NULL columns without a default, so the table is
-- rebuilt. A line whose redemption is missing makes this migration fail
-- (a NULL in a NOT NULL column) instead of being dropped.
CREATE TABLE settlement_lines_with_facts (
    run_id              TEXT    NOT NULL,
    redemption_id       TEXT    NOT NULL,
    line_no             INTEGER NOT NULL CHECK (line_no >= 1),
    provider_id         TEXT    NOT NULL,
    subsidy_fen         INTEGER NOT NULL CHECK (subsidy_fen > 0),
    state               TEXT    NOT NULL CHECK (state IN ('included', 'held', 'released')),
    flags               TEXT    NOT NULL,
    voucher_id          TEXT    NOT NULL,
    enterprise_name     TEXT    NOT NULL,
    service_category    TEXT    NOT NULL,
    contract_amount_fen INTEGER NOT NULL,
    invoice_number      TEXT,
    confirmed_at_us     INTEGER,
    PRIMARY KEY (run_id, line_no)
) WITHOUT ROWID;

INSERT INTO settlement_lines_with_facts
SELECT l.run_id, l.redemption_id, l.line_no, l.provider_id, l.subsidy_fen, l.state, l.flags,
       r.voucher_id, e.name, r.service_category, r.contract_amount_fen, r.invoice_number,
       r.confirmed_at_us
FROM settlement_lines l
LEFT JOIN redemptions r ON r.id = l.redemption_id
LEFT JOIN enterprises e ON e.id = r.enterprise_id;

DROP TABLE settlement_lines;
ALTER TABLE settlement_lines_with_facts RENAME TO settlement_lines;
-- Each redemption lands in exactly one batch.
CREATE UNIQUE INDEX settlement_lines_once ON settlement_lines (redemption_id)
    WHERE state <> 'released';

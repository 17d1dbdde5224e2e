-- Redemptions: a provider records a service contract against a voucher.
-- Each row is written in the same transaction as its ledger entry
-- (voucher_redeemed), and the voucher's remaining value is lowered by a
-- guarded update in that transaction too. Later changes (confirmation,
-- dispute, reversal) are ledger entries that move `status`.

CREATE TABLE redemptions (
    id                  TEXT    PRIMARY KEY,
    voucher_id          TEXT    NOT NULL REFERENCES vouchers (id),
    programme_code      TEXT    NOT NULL REFERENCES programmes (code),
    provider_id         TEXT    NOT NULL REFERENCES providers (id),
    enterprise_id       TEXT    NOT NULL REFERENCES enterprises (id),
    service_category    TEXT    NOT NULL,
    contract_number     TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    contract_amount_fen INTEGER NOT NULL CHECK (contract_amount_fen > 0),
    subsidy_fen         INTEGER NOT NULL CHECK (subsidy_fen > 0 AND subsidy_fen < contract_amount_fen),
    -- Value a single-use voucher gave back to the budget.
    returned_fen        INTEGER NOT NULL CHECK (returned_fen >= 0),
    -- 1 for a single-use voucher: at most one live redemption (index below).
    single_use          INTEGER NOT NULL CHECK (single_use IN (0, 1)),
    -- Hex nonce of the rotating presentation shown, if any: used once.
    presentation_nonce  TEXT    UNIQUE,
    invoice_code        TEXT,
    invoice_number      TEXT,
    invoice_date        TEXT,
    invoice_amount_fen  INTEGER CHECK (invoice_amount_fen > 0),
    payment_proof_ref   TEXT,
    -- Fiscal year (UTC+8) of the redemption, for the annual caps.
    fiscal_year         INTEGER NOT NULL,
    -- pending → confirmed | disputed → (confirmed | reversed); pending and
    -- confirmed may be reversed too; fraud marking freezes what is not
    -- settled, and a frozen redemption can only be reversed
    -- (docs/redemption-lifecycle.md).
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'confirmed', 'disputed', 'frozen', 'reversed')),
    -- The enterprise's confirmation: optional 1–5 rating and comment.
    rating              INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment             TEXT,
    confirmed_at_us     INTEGER,
    dispute_reason      TEXT,
    -- The admin's note resolving a dispute, or the reason of a reversal.
    resolution_note     TEXT,
    redeemed_sequence   INTEGER NOT NULL UNIQUE,
    redeemed_at_us      INTEGER NOT NULL,
    updated_at_us       INTEGER NOT NULL
);
-- Exactly once, settled by the database: a single-use voucher has at most
-- one redemption that is not reversed.
CREATE UNIQUE INDEX redemptions_single_use_once ON redemptions (voucher_id)
    WHERE single_use = 1 AND status <> 'reversed';
CREATE INDEX redemptions_by_voucher ON redemptions (voucher_id, id);
CREATE INDEX redemptions_by_provider ON redemptions (provider_id, fiscal_year, id);
CREATE INDEX redemptions_by_enterprise ON redemptions (enterprise_id, programme_code, fiscal_year, id);

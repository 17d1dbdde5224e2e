-- A redemption keeps the two facts of its voucher that settlement's 套现
-- signals read (when the voucher was issued, its face value), copied when
-- it is redeemed: preparing a run then reads redemptions and firms, not a
-- look-up into vouchers per candidate (docs/decisions/0009). A voucher's
-- issue time and face value never change; verify compares the copies.
--
-- SQLite adds NOT NULL columns only with a default; the default is never
-- used (the writer names both columns) and the fill below overwrites it.
-- A redemption whose voucher is missing makes this migration fail.
ALTER TABLE redemptions ADD COLUMN voucher_issued_at_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN voucher_face_value_fen INTEGER NOT NULL DEFAULT 0;
UPDATE redemptions SET
    voucher_issued_at_us = (SELECT v.issued_at_us FROM vouchers v WHERE v.id = redemptions.voucher_id),
    voucher_face_value_fen = (SELECT v.face_value_fen FROM vouchers v WHERE v.id = redemptions.voucher_id);

-- A redemption keeps the two facts of its voucher that settlement's 套现
-- signals read (when the voucher was issued, its face value), copied when
-- it is redeemed: preparing a run then reads redemptions and firms, not a
-- join with vouchers (docs/decisions/0009). A voucher's issue time and face
-- value never change; verify compares the copies.
ALTER TABLE redemptions
    ADD COLUMN voucher_issued_at_us   BIGINT,
    ADD COLUMN voucher_face_value_fen BIGINT;
UPDATE redemptions r SET voucher_issued_at_us = v.issued_at_us,
    voucher_face_value_fen = v.face_value_fen
FROM vouchers v WHERE v.id = r.voucher_id;
-- A redemption whose voucher is missing makes this fail.
ALTER TABLE redemptions
    ALTER COLUMN voucher_issued_at_us SET NOT NULL,
    ALTER COLUMN voucher_face_value_fen SET NOT NULL;

-- The enterprise's legal representative (法定代表人), when known: a provider
-- with the same legal representative is a related party (关联交易), and its
-- redemptions are refused.
ALTER TABLE enterprises ADD COLUMN legal_representative TEXT;

ALTER TABLE hold_lines DROP COLUMN unit_price_satang;

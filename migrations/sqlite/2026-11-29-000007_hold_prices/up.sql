-- A hold keeps the price of the moment it was made: the order made from it pays that price,
-- whatever the variant costs later (rows made before this column read the variant's price).
ALTER TABLE hold_lines ADD COLUMN unit_price_satang BIGINT CHECK (unit_price_satang >= 0);

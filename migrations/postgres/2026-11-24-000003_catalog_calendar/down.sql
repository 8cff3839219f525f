DROP TABLE harvest_calendar_entries;
DROP TABLE products;
ALTER TABLE users DROP COLUMN producer_id;
DROP TABLE producers;
DROP TABLE crops;

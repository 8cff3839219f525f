DROP TABLE sale_facts;
DROP TABLE idempotency_keys;
DROP TABLE order_history;
DROP TABLE order_lines;
DROP TABLE order_addresses;
DROP TABLE orders;

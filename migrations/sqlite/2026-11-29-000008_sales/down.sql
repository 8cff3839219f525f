DROP TABLE sale_monthly_people;
DROP TABLE sale_monthly;
DROP TABLE sale_fact_cursor;
DROP TABLE sale_facts;
DROP TABLE recorded_sales;
CREATE TABLE sale_facts (
    id INTEGER PRIMARY KEY NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    kind TEXT NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    producer_id BIGINT NOT NULL REFERENCES producers (id),
    crop_id BIGINT NOT NULL REFERENCES crops (id),
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    units BIGINT NOT NULL,
    revenue_satang BIGINT NOT NULL,
    delivery_fee_satang BIGINT NOT NULL,
    beneficiary_key TEXT NOT NULL,
    buyer_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX sale_facts_by_area ON sale_facts (province_code, district_code, occurred_at);
CREATE INDEX sale_facts_by_lao ON sale_facts (lao_id, occurred_at);
CREATE TRIGGER sale_facts_kind_known_insert BEFORE INSERT ON sale_facts
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('sale', 'reversal')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: sale_facts_kind_known');
END;
CREATE TRIGGER sale_facts_kind_known_update BEFORE UPDATE OF kind ON sale_facts
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('sale', 'reversal')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: sale_facts_kind_known');
END;
CREATE TRIGGER sale_facts_channel_known_insert BEFORE INSERT ON sale_facts
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('partner', 'embed', 'staff')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: sale_facts_channel_known');
END;
CREATE TRIGGER sale_facts_channel_known_update BEFORE UPDATE OF channel ON sale_facts
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('partner', 'embed', 'staff')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: sale_facts_channel_known');
END;

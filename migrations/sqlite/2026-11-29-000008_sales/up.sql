-- Sales for the programme's report: one sale fact per order line when an order is paid (a
-- reversing fact when it is refunded), and per sale recorded by an LAO (made on Facebook, TikTok,
-- LINE…). Facts are append-only. Their id is the feed's cursor, taken from sale_fact_cursor
-- inside the writing transaction: the row stays locked until commit, so a cursor never becomes
-- visible before every smaller one is committed.

-- Sales an LAO's staff record (made outside the pre-order windows).
CREATE TABLE recorded_sales (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    -- One producer, or "several producers" with their number.
    producer_id BIGINT REFERENCES producers (id),
    producer_count INTEGER CHECK (producer_count BETWEEN 2 AND 100000),
    product_id BIGINT REFERENCES products (id),
    crop_id BIGINT REFERENCES crops (id),
    -- A day, or only a month (then sale_date is NULL).
    sale_date DATE,
    sale_month TEXT NOT NULL,
    channel TEXT NOT NULL CONSTRAINT recorded_sales_channel_known CHECK (channel IN ('facebook', 'tiktok', 'line', 'youtube', 'instagram', 'shopee', 'lazada', 'phone', 'other')),
    sales_count BIGINT NOT NULL CHECK (sales_count BETWEEN 1 AND 1000000),
    revenue_satang BIGINT NOT NULL CHECK (revenue_satang BETWEEN 0 AND 100000000000),
    post_url TEXT,
    note TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    CHECK ((producer_id IS NULL) <> (producer_count IS NULL))
);
CREATE INDEX recorded_sales_by_lao ON recorded_sales (lao_id, sale_month);

ALTER TABLE sale_facts RENAME TO sale_facts_of_orders;
DROP INDEX sale_facts_by_area;
DROP INDEX sale_facts_by_lao;
CREATE TABLE sale_facts (
    id INTEGER PRIMARY KEY NOT NULL,
    source TEXT NOT NULL CONSTRAINT sale_facts_source_known CHECK (source IN ('preorder', 'recorded')),
    kind TEXT NOT NULL CONSTRAINT sale_facts_kind_known CHECK (kind IN ('sale', 'reversal')),
    order_id BIGINT REFERENCES orders (id),
    recorded_sale_id BIGINT REFERENCES recorded_sales (id),
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    producer_id BIGINT REFERENCES producers (id),
    crop_id BIGINT REFERENCES crops (id),
    window_id BIGINT REFERENCES preorder_windows (id),
    variant_id BIGINT,
    channel TEXT NOT NULL CONSTRAINT sale_facts_channel_known CHECK (channel IN ('partner', 'embed', 'staff', 'facebook', 'tiktok', 'line', 'youtube', 'instagram', 'shopee', 'lazada', 'phone', 'other')),
    -- Online sales (orders; or the count of a recorded row): +n for a sale, -n for its reversal.
    sales BIGINT NOT NULL,
    units BIGINT NOT NULL,
    revenue_satang BIGINT NOT NULL,
    delivery_fee_satang BIGINT NOT NULL,
    -- Counts people, not accounts: the producer's citizen-id hash, or "producer:<id>".
    beneficiary_key TEXT,
    -- People behind a "several producers" record, who have no key.
    beneficiaries_extra BIGINT NOT NULL,
    -- A keyed hash of the buyer's phone (unknown for recorded sales).
    buyer_key TEXT,
    -- Bangkok date and month of the sale (the fiscal calendar is Bangkok's).
    sale_date DATE NOT NULL,
    sale_month TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    CHECK ((order_id IS NULL) <> (recorded_sale_id IS NULL))
);
CREATE INDEX sale_facts_by_lao ON sale_facts (lao_id, sale_date);
CREATE INDEX sale_facts_by_district ON sale_facts (district_code, sale_date);
CREATE INDEX sale_facts_by_province ON sale_facts (province_code, sale_date);
CREATE INDEX sale_facts_by_date ON sale_facts (sale_date);
CREATE INDEX sale_facts_by_order_id ON sale_facts (order_id);
CREATE INDEX sale_facts_by_recorded_sale ON sale_facts (recorded_sale_id);

-- The facts kept so far (one per order) become one per order line, in the same order.
INSERT INTO sale_facts (id, source, kind, order_id, lao_id, district_code, province_code,
    producer_id, crop_id, window_id, variant_id, channel, sales, units, revenue_satang,
    delivery_fee_satang, beneficiary_key, beneficiaries_extra, buyer_key, sale_date, sale_month,
    occurred_at, recorded_at)
SELECT ROW_NUMBER() OVER (ORDER BY f.id, l.id), 'preorder', f.kind, f.order_id, f.lao_id,
    f.district_code, f.province_code, f.producer_id, f.crop_id, f.window_id, l.variant_id,
    f.channel,
    CASE WHEN l.id = first.line_id THEN (CASE WHEN f.kind = 'sale' THEN 1 ELSE -1 END) ELSE 0 END,
    (CASE WHEN f.kind = 'sale' THEN 1 ELSE -1 END) * l.units,
    (CASE WHEN f.kind = 'sale' THEN 1 ELSE -1 END) * l.line_total_satang,
    CASE WHEN l.id = first.line_id THEN f.delivery_fee_satang ELSE 0 END,
    f.beneficiary_key, 0, f.buyer_key,
    date(f.occurred_at, '+7 hours'),
    strftime('%Y-%m', f.occurred_at, '+7 hours'),
    f.occurred_at, f.occurred_at
FROM sale_facts_of_orders f
JOIN order_lines l ON l.order_id = f.order_id
JOIN (SELECT order_id, MIN(id) AS line_id FROM order_lines GROUP BY order_id) first
    ON first.order_id = f.order_id;
DROP TABLE sale_facts_of_orders;

-- The last cursor given out; one row.
CREATE TABLE sale_fact_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO sale_fact_cursor (id, last) VALUES (1, 0);

-- Monthly sums per LAO × crop (0: none) × channel × source, kept with the facts.
CREATE TABLE sale_monthly (
    sale_month TEXT NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    crop_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    sales BIGINT NOT NULL,
    units BIGINT NOT NULL,
    revenue_satang BIGINT NOT NULL,
    beneficiaries_extra BIGINT NOT NULL,
    PRIMARY KEY (sale_month, lao_id, crop_id, channel, source)
);
CREATE INDEX sale_monthly_by_province ON sale_monthly (province_code, sale_month);
CREATE INDEX sale_monthly_by_district ON sale_monthly (district_code, sale_month);
CREATE INDEX sale_monthly_by_lao ON sale_monthly (lao_id, sale_month);

-- Net sales per person (producer or buyer) per month and the same keys, for distinct counts.
CREATE TABLE sale_monthly_people (
    sale_month TEXT NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    crop_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT sale_monthly_people_role_known CHECK (role IN ('producer', 'buyer')),
    person_key TEXT NOT NULL,
    sales BIGINT NOT NULL,
    PRIMARY KEY (sale_month, lao_id, crop_id, channel, source, role, person_key)
);
CREATE INDEX sale_monthly_people_by_province ON sale_monthly_people (province_code, sale_month);
CREATE INDEX sale_monthly_people_by_district ON sale_monthly_people (district_code, sale_month);
CREATE INDEX sale_monthly_people_by_lao ON sale_monthly_people (lao_id, sale_month);

UPDATE sale_fact_cursor SET last = (SELECT COALESCE(MAX(id), 0) FROM sale_facts);
INSERT INTO sale_monthly (sale_month, lao_id, district_code, province_code, crop_id, channel,
    source, sales, units, revenue_satang, beneficiaries_extra)
SELECT sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source,
    SUM(sales), SUM(units), SUM(revenue_satang), SUM(beneficiaries_extra)
FROM sale_facts
GROUP BY sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source;
INSERT INTO sale_monthly_people (sale_month, lao_id, district_code, province_code, crop_id,
    channel, source, role, person_key, sales)
SELECT sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source,
    'producer', beneficiary_key, SUM(sales)
FROM sale_facts WHERE beneficiary_key IS NOT NULL
GROUP BY sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source,
    beneficiary_key;
INSERT INTO sale_monthly_people (sale_month, lao_id, district_code, province_code, crop_id,
    channel, source, role, person_key, sales)
SELECT sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source,
    'buyer', buyer_key, SUM(sales)
FROM sale_facts WHERE buyer_key IS NOT NULL
GROUP BY sale_month, lao_id, district_code, province_code, COALESCE(crop_id, 0), channel, source,
    buyer_key;

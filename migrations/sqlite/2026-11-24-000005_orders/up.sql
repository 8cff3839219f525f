-- Orders: one window, lines of its variants, a buyer, a delivery choice, totals in satang
-- computed by the server, and a state machine whose every step is in order_history.
CREATE TABLE orders (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Short, read over the phone: no 0/O, no 1/I.
    code TEXT NOT NULL UNIQUE,
    -- SHA-256 of the buyer's secret.
    secret_hash TEXT NOT NULL,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    producer_id BIGINT NOT NULL REFERENCES producers (id),
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    district_code TEXT NOT NULL REFERENCES districts (code),
    status TEXT NOT NULL,
    -- partner, embed, staff
    channel TEXT NOT NULL,
    partner_client_id BIGINT REFERENCES partner_clients (id),
    created_by_user_id BIGINT REFERENCES users (id),
    buyer_name TEXT NOT NULL,
    buyer_phone TEXT NOT NULL,
    buyer_email TEXT,
    buyer_line_id TEXT,
    -- pickup, carrier
    delivery_method TEXT NOT NULL,
    pickup_point_id BIGINT REFERENCES pickup_points (id),
    note TEXT,
    units_total BIGINT NOT NULL CHECK (units_total > 0),
    subtotal_satang BIGINT NOT NULL CHECK (subtotal_satang >= 0),
    delivery_fee_satang BIGINT NOT NULL CHECK (delivery_fee_satang >= 0),
    total_satang BIGINT NOT NULL CHECK (total_satang = subtotal_satang + delivery_fee_satang),
    payment_due_at TIMESTAMP,
    paid_at TIMESTAMP,
    payment_reference TEXT,
    hold_id BIGINT REFERENCES holds (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orders_by_lao ON orders (lao_id, id);
CREATE INDEX orders_by_area ON orders (province_code, district_code, id);
CREATE INDEX orders_by_producer ON orders (producer_id, id);
CREATE INDEX orders_by_partner ON orders (partner_client_id, id);
CREATE INDEX orders_by_buyer ON orders (window_id, buyer_phone);
CREATE INDEX orders_due ON orders (status, payment_due_at);
-- A window's orders by status; unpaid ones past their deadline are looked up under the window
-- lock on every sale, so the deadline is in the index too.
CREATE INDEX orders_by_window ON orders (window_id, status, payment_due_at);

-- Carrier delivery address, checked: the postal code belongs to the subdistrict.
CREATE TABLE order_addresses (
    order_id BIGINT PRIMARY KEY NOT NULL REFERENCES orders (id),
    recipient_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    address_line TEXT NOT NULL,
    subdistrict_code TEXT NOT NULL REFERENCES subdistricts (code),
    district_code TEXT NOT NULL REFERENCES districts (code),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    postal_code TEXT NOT NULL
);

-- Lines keep the variant's name and price of the moment: later price changes never touch them.
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    variant_id BIGINT NOT NULL REFERENCES window_variants (id),
    variant_name TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    units_per_item INTEGER NOT NULL CHECK (units_per_item > 0),
    units BIGINT NOT NULL CHECK (units > 0),
    unit_price_satang BIGINT NOT NULL CHECK (unit_price_satang >= 0),
    line_total_satang BIGINT NOT NULL CHECK (line_total_satang >= 0)
);
CREATE INDEX order_lines_by_order ON order_lines (order_id);

-- Append-only: every status an order took, who moved it and when.
CREATE TABLE order_history (
    id INTEGER PRIMARY KEY NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_history_by_order ON order_history (order_id, id);

-- Idempotency-Key records: the first response to a key, replayed to every retry.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    -- in_flight, completed
    state TEXT NOT NULL,
    response_status INTEGER,
    response_content_type TEXT,
    response_body TEXT,
    locked_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    UNIQUE (scope, idem_key)
);
CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at);

-- Sales for the statistics feed: a row when an order is confirmed (paid), a reversing row when
-- it is refunded. Append-only; the id is the feed's cursor.
CREATE TABLE sale_facts (
    id INTEGER PRIMARY KEY NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    -- sale, reversal
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
    -- Counts people, not accounts: the producer's citizen-id hash, or its id.
    beneficiary_key TEXT NOT NULL,
    -- A keyed hash of the buyer's phone: counts buyers without storing who they are.
    buyer_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX sale_facts_by_area ON sale_facts (province_code, district_code, occurred_at);
CREATE INDEX sale_facts_by_lao ON sale_facts (lao_id, occurred_at);

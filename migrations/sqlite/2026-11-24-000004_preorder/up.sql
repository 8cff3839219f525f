-- Pre-order windows: one product, one harvest, a capacity that is never oversold. The counters
-- held and sold are a cache of capacity_ledger, kept in the same transactions; the CHECK is the
-- database's own refusal to oversell, behind the guarded updates in the code.
CREATE TABLE preorder_windows (
    id INTEGER PRIMARY KEY NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    producer_id BIGINT NOT NULL REFERENCES producers (id),
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    district_code TEXT NOT NULL REFERENCES districts (code),
    crop_id BIGINT NOT NULL REFERENCES crops (id),
    title TEXT NOT NULL,
    description TEXT,
    -- The crop's sale unit when the window was made: capacity and variants count in it.
    unit TEXT NOT NULL,
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    harvest_start DATE NOT NULL,
    harvest_end DATE NOT NULL,
    capacity BIGINT NOT NULL,
    held BIGINT NOT NULL DEFAULT 0,
    sold BIGINT NOT NULL DEFAULT 0,
    min_items_per_order INTEGER NOT NULL DEFAULT 1,
    max_items_per_order INTEGER,
    max_units_per_buyer BIGINT,
    hold_minutes INTEGER NOT NULL DEFAULT 10,
    waitlist_offer_minutes INTEGER NOT NULL DEFAULT 120,
    payment_window_hours INTEGER,
    -- NULL: no carrier delivery; 'flat' per order or 'per_unit'.
    delivery_fee_kind TEXT,
    delivery_fee_satang BIGINT,
    -- What people decided: draft, published, closed (early), harvested, fulfilled, cancelled.
    -- The status callers see also follows from the times and the capacity.
    lifecycle TEXT NOT NULL DEFAULT 'draft',
    lifecycle_changed_at TIMESTAMP NOT NULL,
    cancel_reason TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (capacity >= 0 AND held >= 0 AND sold >= 0),
    CHECK (held + sold <= capacity),
    CHECK (closes_at > opens_at),
    CHECK (harvest_end >= harvest_start)
);
CREATE INDEX windows_by_area ON preorder_windows (province_code, district_code, id);
CREATE INDEX windows_by_lao ON preorder_windows (lao_id, id);
CREATE INDEX windows_by_crop ON preorder_windows (crop_id, id);
CREATE INDEX windows_by_times ON preorder_windows (lifecycle, closes_at, opens_at);
CREATE INDEX windows_by_product ON preorder_windows (product_id);

-- What a buyer picks: e.g. "กล่อง 5 กก." consumes 5 units of capacity per item.
CREATE TABLE window_variants (
    id INTEGER PRIMARY KEY NOT NULL,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    name TEXT NOT NULL,
    units_per_item INTEGER NOT NULL CHECK (units_per_item > 0),
    price_satang BIGINT NOT NULL CHECK (price_satang >= 0),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX variants_by_window ON window_variants (window_id, sort_order, id);

CREATE TABLE pickup_points (
    id INTEGER PRIMARY KEY NOT NULL,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    subdistrict_code TEXT REFERENCES subdistricts (code),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    notes TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX pickup_points_by_window ON pickup_points (window_id, starts_at);

-- Capacity reserved for a few minutes while a buyer decides or pays.
CREATE TABLE holds (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Unguessable: whoever has it may extend, release or convert the hold.
    public_id TEXT NOT NULL UNIQUE,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    -- active, released, expired, converted
    status TEXT NOT NULL,
    units BIGINT NOT NULL CHECK (units > 0),
    buyer_phone TEXT,
    partner_client_id BIGINT REFERENCES partner_clients (id),
    user_id BIGINT REFERENCES users (id),
    -- Set when the hold is a waiting-list offer.
    waitlist_entry_id BIGINT,
    expires_at TIMESTAMP NOT NULL,
    extensions INTEGER NOT NULL DEFAULT 0,
    order_id BIGINT,
    ended_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX holds_due ON holds (status, expires_at);
CREATE INDEX holds_by_window ON holds (window_id, status);
CREATE INDEX holds_by_buyer ON holds (window_id, buyer_phone);

CREATE TABLE hold_lines (
    hold_id BIGINT NOT NULL REFERENCES holds (id),
    variant_id BIGINT NOT NULL REFERENCES window_variants (id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    units BIGINT NOT NULL CHECK (units > 0),
    PRIMARY KEY (hold_id, variant_id)
);

-- Every movement of capacity, append-only. Sums per window equal the window's counters.
CREATE TABLE capacity_ledger (
    id INTEGER PRIMARY KEY NOT NULL,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    -- hold, hold_release, hold_expiry, order, order_cancel, order_expiry, capacity_change
    kind TEXT NOT NULL,
    capacity_delta BIGINT NOT NULL DEFAULT 0,
    held_delta BIGINT NOT NULL DEFAULT 0,
    sold_delta BIGINT NOT NULL DEFAULT 0,
    hold_id BIGINT,
    order_id BIGINT,
    reference TEXT,
    actor TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_by_window ON capacity_ledger (window_id, id);

-- Buyers waiting for a sold-out window, offered freed units in order.
CREATE TABLE waitlist_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    window_id BIGINT NOT NULL REFERENCES preorder_windows (id),
    variant_id BIGINT NOT NULL REFERENCES window_variants (id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    units BIGINT NOT NULL CHECK (units > 0),
    buyer_name TEXT NOT NULL,
    buyer_phone TEXT NOT NULL,
    buyer_email TEXT,
    -- waiting, offered, accepted, lapsed, cancelled
    status TEXT NOT NULL,
    hold_id BIGINT REFERENCES holds (id),
    offered_at TIMESTAMP,
    offer_expires_at TIMESTAMP,
    partner_client_id BIGINT REFERENCES partner_clients (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX waitlist_by_window ON waitlist_entries (window_id, status, id);

-- Events to tell the world about, written in the same transaction as the change they describe
-- (transactional outbox); webhook delivery reads them later.
CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    lao_id BIGINT,
    partner_client_id BIGINT,
    -- JSON
    payload TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP
);
CREATE INDEX outbox_pending ON outbox_events (published_at, id);
CREATE INDEX outbox_by_aggregate ON outbox_events (aggregate_type, aggregate_id, id);

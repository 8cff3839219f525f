-- Logistics handoff (src/logistics): dispatch batches, one shipment per order in a batch, the
-- carriers' tracking events, carriers' blackout dates; a window's ship-by rule and a product's
-- packed weight per unit.

-- Orders of the window must ship within this many days after harvest_end (NULL: no limit).
ALTER TABLE preorder_windows ADD COLUMN ship_within_days INTEGER;
-- Packed weight of one unit of sale (the crop's sale unit) in grams, for carriers' manifests.
ALTER TABLE products ADD COLUMN unit_weight_grams INTEGER;

CREATE TABLE dispatch_batches (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    province_code TEXT NOT NULL,
    district_code TEXT NOT NULL,
    -- Set when a producer built the batch: it then holds that producer's orders only.
    producer_id BIGINT REFERENCES producers (id),
    carrier TEXT NOT NULL,
    -- Bangkok date the parcels leave.
    dispatch_date DATE NOT NULL,
    status TEXT NOT NULL CONSTRAINT dispatch_batches_status_known
        CHECK (status IN ('open', 'handed_over', 'cancelled')),
    note TEXT,
    created_by TEXT NOT NULL,
    handed_over_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dispatch_batches_by_lao ON dispatch_batches (lao_id, dispatch_date);

CREATE TABLE shipments (
    id INTEGER PRIMARY KEY NOT NULL,
    batch_id BIGINT NOT NULL REFERENCES dispatch_batches (id),
    order_id BIGINT NOT NULL REFERENCES orders (id),
    carrier TEXT NOT NULL,
    tracking_number TEXT,
    parcels INTEGER NOT NULL,
    -- True while the batch is open: an order is in at most one open batch.
    in_open_batch BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    status_occurred_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX shipments_one_open_batch ON shipments (order_id) WHERE in_open_batch;
CREATE UNIQUE INDEX shipments_by_tracking ON shipments (carrier, tracking_number);
CREATE INDEX shipments_by_batch ON shipments (batch_id);
CREATE INDEX shipments_by_order ON shipments (order_id);

CREATE TABLE shipment_events (
    id INTEGER PRIMARY KEY NOT NULL,
    shipment_id BIGINT NOT NULL REFERENCES shipments (id),
    carrier TEXT NOT NULL,
    -- The carrier's id of the event: a replay with the same id is ignored.
    event_id TEXT NOT NULL,
    status_code TEXT,
    status TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    location TEXT,
    description TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX shipment_events_once ON shipment_events (carrier, event_id);
CREATE INDEX shipment_events_by_shipment ON shipment_events (shipment_id, occurred_at);

CREATE TABLE carrier_blackouts (
    id INTEGER PRIMARY KEY NOT NULL,
    carrier TEXT NOT NULL,
    -- Bangkok dates, both included.
    first_date DATE NOT NULL,
    last_date DATE NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (last_date >= first_date)
);
CREATE INDEX carrier_blackouts_by_carrier ON carrier_blackouts (carrier, last_date);

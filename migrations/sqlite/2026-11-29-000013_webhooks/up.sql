-- Partner webhooks (src/webhooks): endpoints, one delivery per event and endpoint, and every
-- attempt. Events come from outbox_events; fan-out marks an event published once its deliveries
-- exist.

CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Exactly one owner: a partner client (its own orders, the windows it may sell) or an LAO.
    partner_client_id BIGINT REFERENCES partner_clients (id),
    lao_id BIGINT REFERENCES laos (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON array of event types; NULL: every type.
    event_types TEXT,
    enabled BOOLEAN NOT NULL,
    -- Why it was disabled: 'owner', 'gone' (a 410) or 'failing' (5 days of failures).
    disabled_reason TEXT,
    -- Standard Webhooks secret (whsec_…), kept to sign; shown to the owner once.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TIMESTAMP,
    -- Since when every attempt has failed (NULL after a success).
    failing_since TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK ((partner_client_id IS NULL) <> (lao_id IS NULL))
);
CREATE INDEX webhook_endpoints_by_partner ON webhook_endpoints (partner_client_id);
CREATE INDEX webhook_endpoints_by_lao ON webhook_endpoints (lao_id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY NOT NULL,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES outbox_events (id),
    event_type TEXT NOT NULL,
    -- The aggregate the event is about ('order:KD-…', 'window:12'): its events go in order.
    ordering_key TEXT NOT NULL,
    state TEXT NOT NULL CONSTRAINT webhook_deliveries_state_known
        CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A dispatcher's claim: no other takes the delivery before lease_until.
    lease_until TIMESTAMP,
    leased_by TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, ordering_key, event_id);
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY NOT NULL,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    -- The HTTP status, or NULL with the network error.
    status_code INTEGER,
    error TEXT,
    -- The first 4 KB of the response body.
    response_body TEXT,
    duration_ms BIGINT NOT NULL,
    next_attempt_at TIMESTAMP
);
CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id, attempt);

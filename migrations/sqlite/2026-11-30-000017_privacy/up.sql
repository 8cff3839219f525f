-- Personal data (PDPA, src/privacy): the audit log of exports, erasures on request and
-- retention runs, and the indexes that find a buyer's records by phone and the closed orders
-- whose personal data is due for erasure.

CREATE TABLE privacy_audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    -- `export`, `erasure` (on request) or `retention` (the background pass).
    action TEXT NOT NULL CHECK (action IN ('export', 'erasure', 'retention')),
    -- Who: `user:ID` of the admin, or `system` for retention.
    actor TEXT NOT NULL,
    -- The buyer phone as a keyed hash (HMAC-SHA-256, hex); NULL for retention runs.
    subject_key TEXT,
    -- Rows read (export) or changed (erasure, retention), all tables together.
    rows_affected BIGINT NOT NULL,
    -- Rows per table, JSON: {"orders": 2, "order_addresses": 1, …}.
    detail TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX privacy_audit_log_by_subject ON privacy_audit_log (subject_key, id);

CREATE INDEX orders_by_phone ON orders (buyer_phone);
CREATE INDEX order_addresses_by_phone ON order_addresses (phone);
CREATE INDEX waitlist_entries_by_phone ON waitlist_entries (buyer_phone);
CREATE INDEX holds_by_phone ON holds (buyer_phone);

-- What the retention pass looks for, without reading rows already erased (the marker is
-- privacy::model::ERASED; the queries repeat these conditions literally so that both databases
-- use the partial indexes; with the status first, SQLite's planner takes the orders' one before
-- and after ANALYZE: bench/privacy_retention.sh).
CREATE INDEX orders_personal_kept ON orders (status, updated_at) WHERE buyer_phone <> '[erased]';
CREATE INDEX holds_personal_kept ON holds (ended_at) WHERE buyer_phone IS NOT NULL;
CREATE INDEX waitlist_entries_personal_kept ON waitlist_entries (updated_at) WHERE buyer_phone <> '[erased]';

DROP TABLE carrier_blackouts;
DROP TABLE shipment_events;
DROP TABLE shipments;
DROP TABLE dispatch_batches;
ALTER TABLE products DROP COLUMN unit_weight_grams;
ALTER TABLE preorder_windows DROP COLUMN ship_within_days;

DROP TABLE outbox_events;
DROP TABLE waitlist_entries;
DROP TABLE capacity_ledger;
DROP TABLE hold_lines;
DROP TABLE holds;
DROP TABLE pickup_points;
DROP TABLE window_variants;
DROP TABLE preorder_windows;

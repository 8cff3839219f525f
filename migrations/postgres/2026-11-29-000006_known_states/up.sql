-- State columns hold only the values the code knows. Rows are read back into Rust enums that
-- refuse anything else loudly (an unknown value is a server error, never a guess), and these
-- constraints keep such values from being written in the first place, by the service, a script
-- or a hand-typed UPDATE.

ALTER TABLE orders ADD CONSTRAINT orders_status_known CHECK (status IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded'));
ALTER TABLE orders ADD CONSTRAINT orders_channel_known CHECK (channel IN ('partner', 'embed', 'staff'));
ALTER TABLE orders ADD CONSTRAINT orders_delivery_method_known CHECK (delivery_method IN ('pickup', 'carrier'));
ALTER TABLE order_history ADD CONSTRAINT order_history_from_status_known CHECK (from_status IS NULL OR from_status IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded'));
ALTER TABLE order_history ADD CONSTRAINT order_history_to_status_known CHECK (to_status IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded'));
ALTER TABLE holds ADD CONSTRAINT holds_status_known CHECK (status IN ('active', 'released', 'expired', 'converted'));
ALTER TABLE waitlist_entries ADD CONSTRAINT waitlist_entries_status_known CHECK (status IN ('waiting', 'offered', 'accepted', 'lapsed', 'declined', 'cancelled'));
ALTER TABLE preorder_windows ADD CONSTRAINT preorder_windows_lifecycle_known CHECK (lifecycle IN ('draft', 'published', 'closed', 'harvested', 'fulfilled', 'cancelled'));
ALTER TABLE preorder_windows ADD CONSTRAINT preorder_windows_delivery_fee_kind_known CHECK (delivery_fee_kind IS NULL OR delivery_fee_kind IN ('flat', 'per_unit'));
ALTER TABLE capacity_ledger ADD CONSTRAINT capacity_ledger_kind_known CHECK (kind IN ('hold', 'hold_release', 'hold_expiry', 'order', 'order_cancel', 'order_expiry', 'capacity_change'));
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_state_known CHECK (state IN ('in_flight', 'completed'));
ALTER TABLE sale_facts ADD CONSTRAINT sale_facts_kind_known CHECK (kind IN ('sale', 'reversal'));
ALTER TABLE sale_facts ADD CONSTRAINT sale_facts_channel_known CHECK (channel IN ('partner', 'embed', 'staff'));
ALTER TABLE users ADD CONSTRAINT users_role_known CHECK (role IN ('admin', 'province_officer', 'district_officer', 'lao_staff', 'producer', 'partner'));
ALTER TABLE laos ADD CONSTRAINT laos_lao_type_known CHECK (lao_type IN ('provincial_admin_org', 'city_municipality', 'town_municipality', 'subdistrict_municipality', 'subdistrict_admin_org', 'special_admin_area'));
ALTER TABLE producers ADD CONSTRAINT producers_kind_known CHECK (kind IN ('farmer', 'community_enterprise', 'small_business'));
ALTER TABLE crops ADD CONSTRAINT crops_category_known CHECK (category IN ('fruit', 'vegetable', 'rice', 'coffee', 'herb_spice', 'processed_food', 'handicraft', 'livestock_fishery', 'other'));
ALTER TABLE crops ADD CONSTRAINT crops_sale_unit_known CHECK (sale_unit IN ('kg', 'piece', 'bunch', 'box', 'bag', 'bottle', 'pack', 'litre'));

-- State columns hold only the values the code knows (see the PostgreSQL migration of the same
-- name, which adds CHECK constraints). SQLite cannot add a CHECK constraint to an existing table
-- without rebuilding it and every table that refers to it, so the same rule is enforced by
-- BEFORE INSERT and BEFORE UPDATE triggers that abort the statement.

CREATE TRIGGER orders_status_known_insert BEFORE INSERT ON orders
WHEN NEW.status IS NULL OR NEW.status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_status_known');
END;
CREATE TRIGGER orders_status_known_update BEFORE UPDATE OF status ON orders
WHEN NEW.status IS NULL OR NEW.status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_status_known');
END;
CREATE TRIGGER orders_channel_known_insert BEFORE INSERT ON orders
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('partner', 'embed', 'staff')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_channel_known');
END;
CREATE TRIGGER orders_channel_known_update BEFORE UPDATE OF channel ON orders
WHEN NEW.channel IS NULL OR NEW.channel NOT IN ('partner', 'embed', 'staff')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_channel_known');
END;
CREATE TRIGGER orders_delivery_method_known_insert BEFORE INSERT ON orders
WHEN NEW.delivery_method IS NULL OR NEW.delivery_method NOT IN ('pickup', 'carrier')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_delivery_method_known');
END;
CREATE TRIGGER orders_delivery_method_known_update BEFORE UPDATE OF delivery_method ON orders
WHEN NEW.delivery_method IS NULL OR NEW.delivery_method NOT IN ('pickup', 'carrier')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: orders_delivery_method_known');
END;
CREATE TRIGGER order_history_from_status_known_insert BEFORE INSERT ON order_history
WHEN NEW.from_status IS NOT NULL AND NEW.from_status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: order_history_from_status_known');
END;
CREATE TRIGGER order_history_from_status_known_update BEFORE UPDATE OF from_status ON order_history
WHEN NEW.from_status IS NOT NULL AND NEW.from_status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: order_history_from_status_known');
END;
CREATE TRIGGER order_history_to_status_known_insert BEFORE INSERT ON order_history
WHEN NEW.to_status IS NULL OR NEW.to_status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: order_history_to_status_known');
END;
CREATE TRIGGER order_history_to_status_known_update BEFORE UPDATE OF to_status ON order_history
WHEN NEW.to_status IS NULL OR NEW.to_status NOT IN ('pending_payment', 'confirmed', 'ready', 'shipped', 'handed_over', 'delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: order_history_to_status_known');
END;
CREATE TRIGGER holds_status_known_insert BEFORE INSERT ON holds
WHEN NEW.status IS NULL OR NEW.status NOT IN ('active', 'released', 'expired', 'converted')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: holds_status_known');
END;
CREATE TRIGGER holds_status_known_update BEFORE UPDATE OF status ON holds
WHEN NEW.status IS NULL OR NEW.status NOT IN ('active', 'released', 'expired', 'converted')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: holds_status_known');
END;
CREATE TRIGGER waitlist_entries_status_known_insert BEFORE INSERT ON waitlist_entries
WHEN NEW.status IS NULL OR NEW.status NOT IN ('waiting', 'offered', 'accepted', 'lapsed', 'declined', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: waitlist_entries_status_known');
END;
CREATE TRIGGER waitlist_entries_status_known_update BEFORE UPDATE OF status ON waitlist_entries
WHEN NEW.status IS NULL OR NEW.status NOT IN ('waiting', 'offered', 'accepted', 'lapsed', 'declined', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: waitlist_entries_status_known');
END;
CREATE TRIGGER preorder_windows_lifecycle_known_insert BEFORE INSERT ON preorder_windows
WHEN NEW.lifecycle IS NULL OR NEW.lifecycle NOT IN ('draft', 'published', 'closed', 'harvested', 'fulfilled', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: preorder_windows_lifecycle_known');
END;
CREATE TRIGGER preorder_windows_lifecycle_known_update BEFORE UPDATE OF lifecycle ON preorder_windows
WHEN NEW.lifecycle IS NULL OR NEW.lifecycle NOT IN ('draft', 'published', 'closed', 'harvested', 'fulfilled', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: preorder_windows_lifecycle_known');
END;
CREATE TRIGGER preorder_windows_delivery_fee_kind_known_insert BEFORE INSERT ON preorder_windows
WHEN NEW.delivery_fee_kind IS NOT NULL AND NEW.delivery_fee_kind NOT IN ('flat', 'per_unit')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: preorder_windows_delivery_fee_kind_known');
END;
CREATE TRIGGER preorder_windows_delivery_fee_kind_known_update BEFORE UPDATE OF delivery_fee_kind ON preorder_windows
WHEN NEW.delivery_fee_kind IS NOT NULL AND NEW.delivery_fee_kind NOT IN ('flat', 'per_unit')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: preorder_windows_delivery_fee_kind_known');
END;
CREATE TRIGGER capacity_ledger_kind_known_insert BEFORE INSERT ON capacity_ledger
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('hold', 'hold_release', 'hold_expiry', 'order', 'order_cancel', 'order_expiry', 'capacity_change')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: capacity_ledger_kind_known');
END;
CREATE TRIGGER capacity_ledger_kind_known_update BEFORE UPDATE OF kind ON capacity_ledger
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('hold', 'hold_release', 'hold_expiry', 'order', 'order_cancel', 'order_expiry', 'capacity_change')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: capacity_ledger_kind_known');
END;
CREATE TRIGGER idempotency_keys_state_known_insert BEFORE INSERT ON idempotency_keys
WHEN NEW.state IS NULL OR NEW.state NOT IN ('in_flight', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: idempotency_keys_state_known');
END;
CREATE TRIGGER idempotency_keys_state_known_update BEFORE UPDATE OF state ON idempotency_keys
WHEN NEW.state IS NULL OR NEW.state NOT IN ('in_flight', 'completed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: idempotency_keys_state_known');
END;
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
CREATE TRIGGER users_role_known_insert BEFORE INSERT ON users
WHEN NEW.role IS NULL OR NEW.role NOT IN ('admin', 'province_officer', 'district_officer', 'lao_staff', 'producer', 'partner')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: users_role_known');
END;
CREATE TRIGGER users_role_known_update BEFORE UPDATE OF role ON users
WHEN NEW.role IS NULL OR NEW.role NOT IN ('admin', 'province_officer', 'district_officer', 'lao_staff', 'producer', 'partner')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: users_role_known');
END;
CREATE TRIGGER laos_lao_type_known_insert BEFORE INSERT ON laos
WHEN NEW.lao_type IS NULL OR NEW.lao_type NOT IN ('provincial_admin_org', 'city_municipality', 'town_municipality', 'subdistrict_municipality', 'subdistrict_admin_org', 'special_admin_area')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: laos_lao_type_known');
END;
CREATE TRIGGER laos_lao_type_known_update BEFORE UPDATE OF lao_type ON laos
WHEN NEW.lao_type IS NULL OR NEW.lao_type NOT IN ('provincial_admin_org', 'city_municipality', 'town_municipality', 'subdistrict_municipality', 'subdistrict_admin_org', 'special_admin_area')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: laos_lao_type_known');
END;
CREATE TRIGGER producers_kind_known_insert BEFORE INSERT ON producers
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('farmer', 'community_enterprise', 'small_business')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: producers_kind_known');
END;
CREATE TRIGGER producers_kind_known_update BEFORE UPDATE OF kind ON producers
WHEN NEW.kind IS NULL OR NEW.kind NOT IN ('farmer', 'community_enterprise', 'small_business')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: producers_kind_known');
END;
CREATE TRIGGER crops_category_known_insert BEFORE INSERT ON crops
WHEN NEW.category IS NULL OR NEW.category NOT IN ('fruit', 'vegetable', 'rice', 'coffee', 'herb_spice', 'processed_food', 'handicraft', 'livestock_fishery', 'other')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: crops_category_known');
END;
CREATE TRIGGER crops_category_known_update BEFORE UPDATE OF category ON crops
WHEN NEW.category IS NULL OR NEW.category NOT IN ('fruit', 'vegetable', 'rice', 'coffee', 'herb_spice', 'processed_food', 'handicraft', 'livestock_fishery', 'other')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: crops_category_known');
END;
CREATE TRIGGER crops_sale_unit_known_insert BEFORE INSERT ON crops
WHEN NEW.sale_unit IS NULL OR NEW.sale_unit NOT IN ('kg', 'piece', 'bunch', 'box', 'bag', 'bottle', 'pack', 'litre')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: crops_sale_unit_known');
END;
CREATE TRIGGER crops_sale_unit_known_update BEFORE UPDATE OF sale_unit ON crops
WHEN NEW.sale_unit IS NULL OR NEW.sale_unit NOT IN ('kg', 'piece', 'bunch', 'box', 'bag', 'bottle', 'pack', 'litre')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: crops_sale_unit_known');
END;

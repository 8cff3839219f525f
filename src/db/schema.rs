//! Tables, written by hand for both backends: only types SQLite and PostgreSQL share
//! (BigInt, Integer, Text, Bool, Timestamp in UTC, Date).

diesel::table! {
    app_settings (name) {
        name -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    provinces (code) {
        code -> Text,
        name_th -> Text,
        name_en -> Text,
    }
}

diesel::table! {
    districts (code) {
        code -> Text,
        province_code -> Text,
        name_th -> Text,
        name_en -> Text,
    }
}

diesel::table! {
    subdistricts (code) {
        code -> Text,
        district_code -> Text,
        province_code -> Text,
        name_th -> Text,
        name_en -> Text,
        postal_codes -> Text,
    }
}

diesel::table! {
    postal_codes (postal_code, subdistrict_code) {
        postal_code -> Text,
        subdistrict_code -> Text,
    }
}

diesel::table! {
    laos (id) {
        id -> BigInt,
        dla_code -> Text,
        lao_type -> Text,
        name_th -> Text,
        name_en -> Nullable<Text>,
        province_code -> Text,
        district_code -> Text,
        address -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        website -> Nullable<Text>,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        area_km2 -> Nullable<Double>,
        allowed_origins -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        province_code -> Nullable<Text>,
        district_code -> Nullable<Text>,
        lao_id -> Nullable<BigInt>,
        active -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_changed_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        producer_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    partner_clients (id) {
        id -> BigInt,
        client_id -> Text,
        secret_hash -> Text,
        name -> Text,
        contact_email -> Nullable<Text>,
        scopes -> Text,
        active -> Bool,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    partner_client_laos (partner_client_id, lao_id) {
        partner_client_id -> BigInt,
        lao_id -> BigInt,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> Text,
        user_id -> Nullable<BigInt>,
        partner_client_id -> Nullable<BigInt>,
        grant_type -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    crops (id) {
        id -> BigInt,
        slug -> Text,
        name_th -> Text,
        name_en -> Text,
        category -> Text,
        sale_unit -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    producers (id) {
        id -> BigInt,
        lao_id -> BigInt,
        province_code -> Text,
        district_code -> Text,
        kind -> Text,
        display_name -> Text,
        description -> Nullable<Text>,
        contact_phone -> Text,
        promptpay_id -> Nullable<Text>,
        citizen_id_hash -> Nullable<Text>,
        registration_no -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    products (id) {
        id -> BigInt,
        producer_id -> BigInt,
        lao_id -> BigInt,
        province_code -> Text,
        district_code -> Text,
        crop_id -> BigInt,
        title -> Text,
        variety -> Nullable<Text>,
        grade -> Nullable<Text>,
        description -> Nullable<Text>,
        story -> Nullable<Text>,
        photo_urls -> Text,
        clip_urls -> Text,
        hashtags -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        unit_weight_grams -> Nullable<Integer>,
    }
}

diesel::table! {
    harvest_calendar_entries (id) {
        id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        crop_id -> BigInt,
        start_month -> Integer,
        end_month -> Integer,
        peak_start_month -> Nullable<Integer>,
        peak_end_month -> Nullable<Integer>,
        expected_yield -> Nullable<BigInt>,
        yield_unit -> Nullable<Text>,
        notes -> Nullable<Text>,
        source -> Nullable<Text>,
        year -> Nullable<Integer>,
        created_by -> Nullable<BigInt>,
        updated_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    preorder_windows (id) {
        id -> BigInt,
        product_id -> BigInt,
        producer_id -> BigInt,
        lao_id -> BigInt,
        province_code -> Text,
        district_code -> Text,
        crop_id -> BigInt,
        title -> Text,
        description -> Nullable<Text>,
        unit -> Text,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        harvest_start -> Date,
        harvest_end -> Date,
        capacity -> BigInt,
        held -> BigInt,
        sold -> BigInt,
        min_items_per_order -> Integer,
        max_items_per_order -> Nullable<Integer>,
        max_units_per_buyer -> Nullable<BigInt>,
        hold_minutes -> Integer,
        waitlist_offer_minutes -> Integer,
        payment_window_hours -> Nullable<Integer>,
        delivery_fee_kind -> Nullable<Text>,
        delivery_fee_satang -> Nullable<BigInt>,
        lifecycle -> Text,
        lifecycle_changed_at -> Timestamp,
        cancel_reason -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        ship_within_days -> Nullable<Integer>,
    }
}

diesel::table! {
    window_variants (id) {
        id -> BigInt,
        window_id -> BigInt,
        name -> Text,
        units_per_item -> Integer,
        price_satang -> BigInt,
        active -> Bool,
        sort_order -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    pickup_points (id) {
        id -> BigInt,
        window_id -> BigInt,
        name -> Text,
        address -> Text,
        subdistrict_code -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        notes -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    holds (id) {
        id -> BigInt,
        public_id -> Text,
        window_id -> BigInt,
        status -> Text,
        units -> BigInt,
        buyer_phone -> Nullable<Text>,
        partner_client_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        waitlist_entry_id -> Nullable<BigInt>,
        expires_at -> Timestamp,
        extensions -> Integer,
        order_id -> Nullable<BigInt>,
        ended_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    hold_lines (hold_id, variant_id) {
        hold_id -> BigInt,
        variant_id -> BigInt,
        quantity -> Integer,
        units -> BigInt,
        unit_price_satang -> Nullable<BigInt>,
    }
}

diesel::table! {
    capacity_ledger (id) {
        id -> BigInt,
        window_id -> BigInt,
        kind -> Text,
        capacity_delta -> BigInt,
        held_delta -> BigInt,
        sold_delta -> BigInt,
        hold_id -> Nullable<BigInt>,
        order_id -> Nullable<BigInt>,
        reference -> Nullable<Text>,
        actor -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    waitlist_entries (id) {
        id -> BigInt,
        public_id -> Text,
        window_id -> BigInt,
        variant_id -> BigInt,
        quantity -> Integer,
        units -> BigInt,
        buyer_name -> Text,
        buyer_phone -> Text,
        buyer_email -> Nullable<Text>,
        status -> Text,
        hold_id -> Nullable<BigInt>,
        offered_at -> Nullable<Timestamp>,
        offer_expires_at -> Nullable<Timestamp>,
        partner_client_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        event_type -> Text,
        aggregate_type -> Text,
        aggregate_id -> Text,
        lao_id -> Nullable<BigInt>,
        partner_client_id -> Nullable<BigInt>,
        payload -> Text,
        occurred_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        code -> Text,
        secret_hash -> Text,
        window_id -> BigInt,
        producer_id -> BigInt,
        lao_id -> BigInt,
        province_code -> Text,
        district_code -> Text,
        status -> Text,
        channel -> Text,
        partner_client_id -> Nullable<BigInt>,
        created_by_user_id -> Nullable<BigInt>,
        buyer_name -> Text,
        buyer_phone -> Text,
        buyer_email -> Nullable<Text>,
        buyer_line_id -> Nullable<Text>,
        delivery_method -> Text,
        pickup_point_id -> Nullable<BigInt>,
        note -> Nullable<Text>,
        units_total -> BigInt,
        subtotal_satang -> BigInt,
        delivery_fee_satang -> BigInt,
        total_satang -> BigInt,
        payment_due_at -> Nullable<Timestamp>,
        paid_at -> Nullable<Timestamp>,
        payment_reference -> Nullable<Text>,
        hold_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_addresses (order_id) {
        order_id -> BigInt,
        recipient_name -> Text,
        phone -> Text,
        address_line -> Text,
        subdistrict_code -> Text,
        district_code -> Text,
        province_code -> Text,
        postal_code -> Text,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        variant_id -> BigInt,
        variant_name -> Text,
        quantity -> Integer,
        units_per_item -> Integer,
        units -> BigInt,
        unit_price_satang -> BigInt,
        line_total_satang -> BigInt,
    }
}

diesel::table! {
    order_history (id) {
        id -> BigInt,
        order_id -> BigInt,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        scope -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_content_type -> Nullable<Text>,
        response_body -> Nullable<Text>,
        locked_until -> Timestamp,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    recorded_sales (id) {
        id -> BigInt,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        producer_id -> Nullable<BigInt>,
        producer_count -> Nullable<Integer>,
        product_id -> Nullable<BigInt>,
        crop_id -> Nullable<BigInt>,
        sale_date -> Nullable<Date>,
        sale_month -> Text,
        channel -> Text,
        sales_count -> BigInt,
        revenue_satang -> BigInt,
        post_url -> Nullable<Text>,
        note -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    content_links (id) {
        id -> BigInt,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        producer_id -> Nullable<BigInt>,
        url -> Text,
        url_key -> Text,
        platform -> Text,
        posted_on -> Date,
        hashtags -> Text,
        has_required_hashtags -> Bool,
        product_ids -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lao_reports (id) {
        id -> BigInt,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        period_key -> Text,
        period_from -> Date,
        period_to -> Date,
        fiscal_year -> Integer,
        version -> Integer,
        status -> Text,
        figures -> Text,
        note -> Nullable<Text>,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_comment -> Nullable<Text>,
    }
}

diesel::table! {
    report_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        token_prefix -> Text,
        level -> Text,
        code -> Nullable<Text>,
        province_code -> Nullable<Text>,
        district_code -> Nullable<Text>,
        lao_id -> Nullable<BigInt>,
        label -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sale_facts (id) {
        id -> BigInt,
        source -> Text,
        kind -> Text,
        order_id -> Nullable<BigInt>,
        recorded_sale_id -> Nullable<BigInt>,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        producer_id -> Nullable<BigInt>,
        crop_id -> Nullable<BigInt>,
        window_id -> Nullable<BigInt>,
        variant_id -> Nullable<BigInt>,
        channel -> Text,
        sales -> BigInt,
        units -> BigInt,
        revenue_satang -> BigInt,
        delivery_fee_satang -> BigInt,
        beneficiary_key -> Nullable<Text>,
        beneficiaries_extra -> BigInt,
        buyer_key -> Nullable<Text>,
        sale_date -> Date,
        sale_month -> Text,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    sale_fact_cursor (id) {
        id -> Integer,
        last -> BigInt,
    }
}

diesel::table! {
    sale_monthly (sale_month, lao_id, crop_id, channel, source) {
        sale_month -> Text,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        crop_id -> BigInt,
        channel -> Text,
        source -> Text,
        sales -> BigInt,
        units -> BigInt,
        revenue_satang -> BigInt,
        beneficiaries_extra -> BigInt,
    }
}

diesel::table! {
    sale_monthly_people (sale_month, lao_id, crop_id, channel, source, role, person_key) {
        sale_month -> Text,
        lao_id -> BigInt,
        district_code -> Text,
        province_code -> Text,
        crop_id -> BigInt,
        channel -> Text,
        source -> Text,
        role -> Text,
        person_key -> Text,
        sales -> BigInt,
    }
}

diesel::table! {
    sale_area_totals (period, level, area) {
        period -> Text,
        level -> Text,
        area -> Text,
        province_code -> Text,
        district_code -> Text,
        sales -> BigInt,
        units -> BigInt,
        revenue_satang -> BigInt,
        beneficiaries_extra -> BigInt,
        producers -> BigInt,
        buyers -> BigInt,
    }
}

diesel::table! {
    sale_area_people (period, level, area, role, person_key) {
        period -> Text,
        level -> Text,
        area -> Text,
        role -> Text,
        person_key -> Text,
        sales -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        partner_client_id -> Nullable<BigInt>,
        lao_id -> Nullable<BigInt>,
        url -> Text,
        description -> Text,
        event_types -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        event_id -> BigInt,
        event_type -> Text,
        ordering_key -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        leased_by -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempt -> Integer,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        response_body -> Nullable<Text>,
        duration_ms -> BigInt,
        next_attempt_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dispatch_batches (id) {
        id -> BigInt,
        lao_id -> BigInt,
        province_code -> Text,
        district_code -> Text,
        producer_id -> Nullable<BigInt>,
        carrier -> Text,
        dispatch_date -> Date,
        status -> Text,
        note -> Nullable<Text>,
        created_by -> Text,
        handed_over_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    shipments (id) {
        id -> BigInt,
        batch_id -> BigInt,
        order_id -> BigInt,
        carrier -> Text,
        tracking_number -> Nullable<Text>,
        parcels -> Integer,
        in_open_batch -> Bool,
        status -> Text,
        status_occurred_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    shipment_events (id) {
        id -> BigInt,
        shipment_id -> BigInt,
        carrier -> Text,
        event_id -> Text,
        status_code -> Nullable<Text>,
        status -> Text,
        occurred_at -> Timestamp,
        location -> Nullable<Text>,
        description -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    carrier_blackouts (id) {
        id -> BigInt,
        carrier -> Text,
        first_date -> Date,
        last_date -> Date,
        reason -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    product_photos (id) {
        id -> BigInt,
        product_id -> BigInt,
        position -> Integer,
        cover -> Bool,
        alt_th -> Nullable<Text>,
        alt_en -> Nullable<Text>,
        source_kind -> Text,
        source_bytes -> BigInt,
        width -> Integer,
        height -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    photo_files (id) {
        id -> BigInt,
        photo_id -> BigInt,
        role -> Text,
        width -> Integer,
        height -> Integer,
        format -> Text,
        file_name -> Text,
        bytes -> BigInt,
    }
}

diesel::table! {
    privacy_audit_log (id) {
        id -> BigInt,
        action -> Text,
        actor -> Text,
        subject_key -> Nullable<Text>,
        rows_affected -> BigInt,
        detail -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(districts -> provinces (province_code));
diesel::joinable!(producers -> laos (lao_id));
diesel::joinable!(products -> producers (producer_id));
diesel::joinable!(products -> crops (crop_id));
diesel::joinable!(harvest_calendar_entries -> crops (crop_id));
diesel::joinable!(harvest_calendar_entries -> districts (district_code));
diesel::joinable!(preorder_windows -> products (product_id));
diesel::joinable!(preorder_windows -> crops (crop_id));
diesel::joinable!(window_variants -> preorder_windows (window_id));
diesel::joinable!(pickup_points -> preorder_windows (window_id));
diesel::joinable!(holds -> preorder_windows (window_id));
diesel::joinable!(hold_lines -> holds (hold_id));
diesel::joinable!(hold_lines -> window_variants (variant_id));
diesel::joinable!(capacity_ledger -> preorder_windows (window_id));
diesel::joinable!(waitlist_entries -> preorder_windows (window_id));
diesel::joinable!(orders -> preorder_windows (window_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_history -> orders (order_id));
diesel::joinable!(order_addresses -> orders (order_id));
diesel::joinable!(sale_facts -> orders (order_id));
diesel::joinable!(sale_facts -> recorded_sales (recorded_sale_id));
diesel::joinable!(recorded_sales -> laos (lao_id));
diesel::joinable!(sale_monthly -> laos (lao_id));
diesel::joinable!(subdistricts -> districts (district_code));
diesel::joinable!(postal_codes -> subdistricts (subdistrict_code));
diesel::joinable!(laos -> districts (district_code));
diesel::joinable!(users -> laos (lao_id));
diesel::joinable!(partner_client_laos -> partner_clients (partner_client_id));
diesel::joinable!(partner_client_laos -> laos (lao_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(shipments -> dispatch_batches (batch_id));
diesel::joinable!(shipment_events -> shipments (shipment_id));
diesel::table! {
    embed_keys (id) {
        id -> BigInt,
        lao_id -> BigInt,
        public_key -> Text,
        label -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(product_photos -> products (product_id));
diesel::joinable!(embed_keys -> laos (lao_id));
diesel::joinable!(photo_files -> product_photos (photo_id));

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    provinces,
    districts,
    subdistricts,
    postal_codes,
    laos,
    users,
    partner_clients,
    partner_client_laos,
    auth_sessions,
    refresh_tokens,
    crops,
    producers,
    products,
    harvest_calendar_entries,
    preorder_windows,
    window_variants,
    pickup_points,
    holds,
    hold_lines,
    capacity_ledger,
    waitlist_entries,
    outbox_events,
    orders,
    order_addresses,
    order_lines,
    order_history,
    idempotency_keys,
    sale_facts,
    recorded_sales,
    sale_fact_cursor,
    sale_monthly,
    sale_monthly_people,
    sale_area_totals,
    sale_area_people,
    report_tokens,
    content_links,
    lao_reports,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    dispatch_batches,
    shipments,
    shipment_events,
    carrier_blackouts,
    product_photos,
    photo_files,
    embed_keys,
    privacy_audit_log,
);

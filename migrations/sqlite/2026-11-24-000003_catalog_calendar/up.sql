-- Crops and goods that producers sell; shipped defaults are added at start, admins keep the list.
CREATE TABLE crops (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL,
    category TEXT NOT NULL,
    sale_unit TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A farmer, community enterprise (วิสาหกิจชุมชน) or small business of an LAO.
CREATE TABLE producers (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    -- Denormalized from the LAO, for filtering and authorization without joins.
    province_code TEXT NOT NULL REFERENCES provinces (code),
    district_code TEXT NOT NULL REFERENCES districts (code),
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT,
    contact_phone TEXT NOT NULL,
    -- Stored form, e.g. 'mobile:0812345678' or 'national_id:1111111111119'.
    promptpay_id TEXT,
    -- HMAC-SHA256 of the citizen id under a secret pepper: counts people, never stores the id.
    citizen_id_hash TEXT,
    registration_no TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX producers_by_lao ON producers (lao_id, id);
CREATE INDEX producers_by_area ON producers (province_code, district_code, id);
CREATE INDEX producers_by_citizen ON producers (citizen_id_hash);

-- A producer account manages exactly one producer record.
ALTER TABLE users ADD COLUMN producer_id BIGINT REFERENCES producers (id);

-- A producer's offer of a crop, with its story.
CREATE TABLE products (
    id INTEGER PRIMARY KEY NOT NULL,
    producer_id BIGINT NOT NULL REFERENCES producers (id),
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    district_code TEXT NOT NULL REFERENCES districts (code),
    crop_id BIGINT NOT NULL REFERENCES crops (id),
    title TEXT NOT NULL,
    variety TEXT,
    grade TEXT,
    description TEXT,
    story TEXT,
    -- JSON arrays of strings.
    photo_urls TEXT NOT NULL DEFAULT '[]',
    clip_urls TEXT NOT NULL DEFAULT '[]',
    hashtags TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX products_by_crop_area ON products (crop_id, province_code, district_code, id);
CREATE INDEX products_by_area ON products (province_code, district_code, id);
CREATE INDEX products_by_producer ON products (producer_id, id);
CREATE INDEX products_by_lao ON products (lao_id, id);

-- District harvest calendar (ปฏิทินผลผลิตเกษตร): months may wrap past December (start > end).
CREATE TABLE harvest_calendar_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    district_code TEXT NOT NULL REFERENCES districts (code),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    crop_id BIGINT NOT NULL REFERENCES crops (id),
    start_month INTEGER NOT NULL CHECK (start_month BETWEEN 1 AND 12),
    end_month INTEGER NOT NULL CHECK (end_month BETWEEN 1 AND 12),
    peak_start_month INTEGER CHECK (peak_start_month BETWEEN 1 AND 12),
    peak_end_month INTEGER CHECK (peak_end_month BETWEEN 1 AND 12),
    expected_yield BIGINT,
    yield_unit TEXT,
    notes TEXT,
    source TEXT,
    -- The Common-Era year this entry applies to; NULL: every year (a year's entry overrides it).
    year INTEGER,
    created_by BIGINT REFERENCES users (id),
    updated_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX calendar_every_year ON harvest_calendar_entries (district_code, crop_id) WHERE year IS NULL;
CREATE UNIQUE INDEX calendar_one_year ON harvest_calendar_entries (district_code, crop_id, year) WHERE year IS NOT NULL;
CREATE INDEX calendar_by_province ON harvest_calendar_entries (province_code, district_code, crop_id);
CREATE INDEX calendar_by_crop ON harvest_calendar_entries (crop_id, province_code, district_code);

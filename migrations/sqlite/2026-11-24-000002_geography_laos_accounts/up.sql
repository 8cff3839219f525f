-- Thai administrative geography (DOPA codes), loaded from data/geo at start.
CREATE TABLE provinces (
    code TEXT PRIMARY KEY NOT NULL,
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE districts (
    code TEXT PRIMARY KEY NOT NULL,
    province_code TEXT NOT NULL REFERENCES provinces (code),
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL
);
CREATE INDEX districts_by_province ON districts (province_code, code);

CREATE TABLE subdistricts (
    code TEXT PRIMARY KEY NOT NULL,
    district_code TEXT NOT NULL REFERENCES districts (code),
    province_code TEXT NOT NULL REFERENCES provinces (code),
    name_th TEXT NOT NULL,
    name_en TEXT NOT NULL,
    -- Space-separated, as shipped; postal_codes below is the lookup.
    postal_codes TEXT NOT NULL
);
CREATE INDEX subdistricts_by_district ON subdistricts (district_code, code);

CREATE TABLE postal_codes (
    postal_code TEXT NOT NULL,
    subdistrict_code TEXT NOT NULL REFERENCES subdistricts (code),
    PRIMARY KEY (postal_code, subdistrict_code)
);

-- Local administrative organizations (อปท.). The type is its own field, never derived from the code.
CREATE TABLE laos (
    id INTEGER PRIMARY KEY NOT NULL,
    dla_code TEXT NOT NULL UNIQUE,
    lao_type TEXT NOT NULL,
    name_th TEXT NOT NULL,
    name_en TEXT,
    province_code TEXT NOT NULL REFERENCES provinces (code),
    -- The district of the office; a provincial administrative organization covers its whole province.
    district_code TEXT NOT NULL REFERENCES districts (code),
    address TEXT,
    postal_code TEXT,
    phone TEXT,
    email TEXT,
    website TEXT,
    latitude REAL,
    longitude REAL,
    area_km2 REAL,
    -- Origins allowed to embed pre-order forms, one per line.
    allowed_origins TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX laos_by_area ON laos (province_code, district_code, dla_code);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Stored lower-case; logins are case-insensitive.
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    -- The area the role covers (denormalized so that a token is issued without joins).
    province_code TEXT REFERENCES provinces (code),
    district_code TEXT REFERENCES districts (code),
    lao_id BIGINT REFERENCES laos (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    password_changed_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE INDEX users_by_area ON users (province_code, district_code, lao_id);

-- Storefronts and apps that call the API with client credentials.
CREATE TABLE partner_clients (
    id INTEGER PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    contact_email TEXT,
    -- Space-separated OAuth scopes the client may ask for.
    scopes TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

-- When present, the LAOs a partner sells for; none means every LAO.
CREATE TABLE partner_client_laos (
    partner_client_id BIGINT NOT NULL REFERENCES partner_clients (id) ON DELETE CASCADE,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    PRIMARY KEY (partner_client_id, lao_id)
);

-- One login (password grant) or client-credentials grant; access tokens carry its id, so
-- revoking the session invalidates them at once.
CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT REFERENCES users (id),
    partner_client_id BIGINT REFERENCES partner_clients (id),
    grant_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT,
    CHECK ((user_id IS NULL) <> (partner_client_id IS NULL))
);
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_by_client ON auth_sessions (partner_client_id);
CREATE INDEX auth_sessions_by_expiry ON auth_sessions (expires_at);

-- Refresh tokens, stored as SHA-256 hashes. A rotated token presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

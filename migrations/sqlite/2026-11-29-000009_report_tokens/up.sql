-- Read-only tokens for the programme's figures of one area (an LAO, a district, a province or
-- the nation), for tools that cannot sign in: Google Sheets' IMPORTDATA, a dashboard. Only a
-- SHA-256 hash of the token is kept (the token is 256 random bits, shown once).
CREATE TABLE report_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The first characters, to tell tokens apart in a list.
    token_prefix TEXT NOT NULL,
    level TEXT NOT NULL CONSTRAINT report_tokens_level_known CHECK (level IN ('national', 'province', 'district', 'lao')),
    code TEXT,
    province_code TEXT,
    district_code TEXT,
    lao_id BIGINT REFERENCES laos (id),
    label TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

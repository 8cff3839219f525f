-- Publishable keys of LAOs' embedded pre-order forms (src/embed). A key is public (it sits in
-- the LAO's web page); what protects it is the LAO's allowed origins (laos.allowed_origins),
-- the rate limit per key and address, and revocation. Revoked keys stay for the record.

CREATE TABLE embed_keys (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    -- `pk_` and 26 characters of lowercase base32.
    public_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX embed_keys_by_lao ON embed_keys (lao_id, id);

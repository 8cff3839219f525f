-- Links to the posts an LAO (or a producer) published for the programme, with the hashtags they
-- used. A URL counts once in the whole country (url_key: the URL without tracking parameters).
CREATE TABLE content_links (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    producer_id BIGINT REFERENCES producers (id),
    url TEXT NOT NULL,
    url_key TEXT NOT NULL,
    platform TEXT NOT NULL CONSTRAINT content_links_platform_known CHECK (platform IN ('facebook', 'tiktok', 'youtube', 'instagram', 'line', 'x', 'other')),
    posted_on DATE NOT NULL,
    -- The hashtags as given, one per line; and whether every required one was there.
    hashtags TEXT NOT NULL,
    has_required_hashtags BOOLEAN NOT NULL,
    -- Products the post promotes, comma-separated ids.
    product_ids TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE UNIQUE INDEX content_links_one_per_url ON content_links (url_key) WHERE deleted_at IS NULL;
CREATE INDEX content_links_by_lao ON content_links (lao_id, posted_on);
CREATE INDEX content_links_by_district ON content_links (district_code, posted_on);
CREATE INDEX content_links_by_province ON content_links (province_code, posted_on);

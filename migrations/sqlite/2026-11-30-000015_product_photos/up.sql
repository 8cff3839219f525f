-- Product photos (src/media): one row per uploaded photo, one per stored file (the full-size
-- image and each size, WebP and JPEG). Files are content-addressed: their key is the SHA-256 of
-- their bytes, so two photos with the same content share files.

CREATE TABLE product_photos (
    id INTEGER PRIMARY KEY NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    -- 1 = first; no gaps.
    position INTEGER NOT NULL,
    cover BOOLEAN NOT NULL,
    alt_th TEXT,
    alt_en TEXT,
    -- What was uploaded (jpeg, png, webp) and its size in bytes.
    source_kind TEXT NOT NULL,
    source_bytes BIGINT NOT NULL,
    -- Of the full-size image after its EXIF orientation was applied.
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX product_photos_by_product ON product_photos (product_id, position);

CREATE TABLE photo_files (
    id INTEGER PRIMARY KEY NOT NULL,
    photo_id BIGINT NOT NULL REFERENCES product_photos (id) ON DELETE CASCADE,
    -- 'original' (full size) or 'size'.
    role TEXT NOT NULL CONSTRAINT photo_files_role_known CHECK (role IN ('original', 'size')),
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    format TEXT NOT NULL CONSTRAINT photo_files_format_known CHECK (format IN ('jpeg', 'webp', 'png')),
    -- The file's name in the store and in its URL: {sha256}.{ext}.
    file_name TEXT NOT NULL,
    bytes BIGINT NOT NULL
);
CREATE INDEX photo_files_by_photo ON photo_files (photo_id);
CREATE INDEX photo_files_by_name ON photo_files (file_name);

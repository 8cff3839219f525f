-- An LAO's report for a month or a fiscal half: the figures and links frozen from the feed when
-- it is submitted; the district officer accepts it or returns it with a comment; a resubmission
-- is a new version, and every version stays.
CREATE TABLE lao_reports (
    id INTEGER PRIMARY KEY NOT NULL,
    lao_id BIGINT NOT NULL REFERENCES laos (id),
    district_code TEXT NOT NULL,
    province_code TEXT NOT NULL,
    -- '2026-06' (a month) or '2569-H1' (the first half of fiscal year 2569).
    period_key TEXT NOT NULL,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    -- The fiscal year (B.E.) the period belongs to.
    fiscal_year INTEGER NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CONSTRAINT lao_reports_status_known CHECK (status IN ('submitted', 'accepted', 'returned')),
    -- The frozen figures (JSON).
    figures TEXT NOT NULL,
    note TEXT,
    submitted_by TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    reviewed_by TEXT,
    reviewed_at TIMESTAMP,
    review_comment TEXT,
    UNIQUE (lao_id, period_key, version)
);
CREATE INDEX lao_reports_by_year ON lao_reports (fiscal_year, province_code, district_code);

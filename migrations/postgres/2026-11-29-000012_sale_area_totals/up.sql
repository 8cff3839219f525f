-- The figures of every area for every month and fiscal year, kept whole in the fact writer's
-- transaction (src/sales/totals.rs), so that the programme's report reads a few rows instead of
-- adding up sums and counting distinct people on every request.
--
-- period: a Bangkok month ('2026-06') or a Thai fiscal year ('FY2569', 1 Oct 2025 – 30 Sep 2026).
-- level and area: 'nation' and '', 'province' and its DOPA code, 'district' and its code, or
-- 'lao' and the LAO's id as text. province_code and district_code place the area ('' above).
CREATE TABLE sale_area_totals (
    period TEXT NOT NULL,
    level TEXT NOT NULL CONSTRAINT sale_area_totals_level_known
        CHECK (level IN ('nation', 'province', 'district', 'lao')),
    area TEXT NOT NULL,
    province_code TEXT NOT NULL,
    district_code TEXT NOT NULL,
    sales BIGINT NOT NULL,
    units BIGINT NOT NULL,
    revenue_satang BIGINT NOT NULL,
    beneficiaries_extra BIGINT NOT NULL,
    -- Distinct producer keys and buyer keys whose net sales in the period and area are above 0.
    producers BIGINT NOT NULL,
    buyers BIGINT NOT NULL,
    PRIMARY KEY (period, level, area)
);
CREATE INDEX sale_area_totals_in_province ON sale_area_totals (period, level, province_code);
CREATE INDEX sale_area_totals_in_district ON sale_area_totals (period, level, district_code);

-- Net sales per person (producer or buyer key) per period and area: the writer sees whether a
-- person's net sales crossed zero, and moves the count above by one.
CREATE TABLE sale_area_people (
    period TEXT NOT NULL,
    level TEXT NOT NULL,
    area TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT sale_area_people_role_known CHECK (role IN ('producer', 'buyer')),
    person_key TEXT NOT NULL,
    sales BIGINT NOT NULL,
    PRIMARY KEY (period, level, area, role, person_key)
);

-- backfill: the facts already written (the same text on both backends; bench/stats.rs runs it).
INSERT INTO sale_area_totals (period, level, area, province_code, district_code, sales, units,
    revenue_satang, beneficiaries_extra, producers, buyers)
WITH f AS (
    SELECT sale_month AS period, lao_id, district_code, province_code, sales, units,
        revenue_satang, beneficiaries_extra
    FROM sale_facts
    UNION ALL
    SELECT 'FY' || CAST(CAST(SUBSTR(sale_month, 1, 4) AS INTEGER) + 543
            + CASE WHEN SUBSTR(sale_month, 6, 2) >= '10' THEN 1 ELSE 0 END AS TEXT),
        lao_id, district_code, province_code, sales, units, revenue_satang, beneficiaries_extra
    FROM sale_facts
), a AS (
    SELECT period, 'nation' AS level, '' AS area, '' AS province_code, '' AS district_code,
        sales, units, revenue_satang, beneficiaries_extra FROM f
    UNION ALL
    SELECT period, 'province', province_code, province_code, '', sales, units, revenue_satang,
        beneficiaries_extra FROM f
    UNION ALL
    SELECT period, 'district', district_code, province_code, district_code, sales, units,
        revenue_satang, beneficiaries_extra FROM f
    UNION ALL
    SELECT period, 'lao', CAST(lao_id AS TEXT), province_code, district_code, sales, units,
        revenue_satang, beneficiaries_extra FROM f
)
SELECT period, level, area, province_code, district_code, SUM(sales), SUM(units),
    SUM(revenue_satang), SUM(beneficiaries_extra), 0, 0
FROM a GROUP BY period, level, area, province_code, district_code;
INSERT INTO sale_area_people (period, level, area, role, person_key, sales)
WITH f AS (
    SELECT sale_month AS period, lao_id, district_code, province_code, 'producer' AS role,
        beneficiary_key AS person_key, sales
    FROM sale_facts WHERE beneficiary_key IS NOT NULL
    UNION ALL
    SELECT sale_month, lao_id, district_code, province_code, 'buyer', buyer_key, sales
    FROM sale_facts WHERE buyer_key IS NOT NULL
), p AS (
    SELECT period, lao_id, district_code, province_code, role, person_key, sales FROM f
    UNION ALL
    SELECT 'FY' || CAST(CAST(SUBSTR(period, 1, 4) AS INTEGER) + 543
            + CASE WHEN SUBSTR(period, 6, 2) >= '10' THEN 1 ELSE 0 END AS TEXT),
        lao_id, district_code, province_code, role, person_key, sales
    FROM f
), a AS (
    SELECT period, 'nation' AS level, '' AS area, role, person_key, sales FROM p
    UNION ALL
    SELECT period, 'province', province_code, role, person_key, sales FROM p
    UNION ALL
    SELECT period, 'district', district_code, role, person_key, sales FROM p
    UNION ALL
    SELECT period, 'lao', CAST(lao_id AS TEXT), role, person_key, sales FROM p
)
SELECT period, level, area, role, person_key, SUM(sales)
FROM a GROUP BY period, level, area, role, person_key;
UPDATE sale_area_totals SET
    producers = (SELECT COUNT(*) FROM sale_area_people p
        WHERE p.period = sale_area_totals.period AND p.level = sale_area_totals.level
            AND p.area = sale_area_totals.area AND p.role = 'producer' AND p.sales > 0),
    buyers = (SELECT COUNT(*) FROM sale_area_people p
        WHERE p.period = sale_area_totals.period AND p.level = sale_area_totals.level
            AND p.area = sale_area_totals.area AND p.role = 'buyer' AND p.sales > 0);

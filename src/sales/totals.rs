//! The figures of every area for every month and fiscal year, kept whole.
//!
//! Each fact adds to eight rows of `sale_area_totals`: its Bangkok month and its Thai fiscal
//! year, each for its LAO, district, province and the nation. The distinct producers and buyers
//! are kept the same way: `sale_area_people` holds each person's net sales per period and area,
//! and when a fact moves a person's net sales above zero (or back to zero or below) the count in
//! `sale_area_totals` moves by one. A whole month or fiscal year of an area, unnarrowed, is then
//! read from a few rows (the nation by province for a month: 77 rows) instead of being added up
//! from the monthly sums and ~26,000 people rows per request (`bench/stats.rs` measured both).
//!
//! Written behind the fact cursor's lock like the monthly sums, with `INSERT … ON CONFLICT … DO
//! UPDATE … RETURNING`, which both backends speak (SQLite 3.35+); the values are formatted into
//! the statement (the backends write bind placeholders differently): levels and periods are made
//! here, codes are checked by [`literal`](super::facts), person keys are quoted by
//! [`sql_literal`].

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::facts::{
    AreaFilter, Dimension, FigureFilter, Figures, NewFact, literal, month_key, whole_months,
};
use crate::db::{DbConn, sql_literal};

/// Rows per statement when many facts are written at once (an import).
const ROWS_PER_STATEMENT: usize = 500;

/// The period keys of a Bangkok date: its month (`2026-06`) and its fiscal year (`FY2569`).
pub fn period_keys(date: NaiveDate) -> [String; 2] {
    [
        month_key(date),
        fiscal_year_key(crate::i18n::fiscal_year(date)),
    ]
}

/// `FY2569`.
fn fiscal_year_key(be: i32) -> String {
    format!("FY{be}")
}

/// An area a total is kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Nation,
    Province,
    District,
    Lao,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::District => "district",
            Level::Lao => "lao",
        }
    }

    fn of_area(area: &AreaFilter) -> Level {
        match area {
            AreaFilter::National => Level::Nation,
            AreaFilter::Province(_) => Level::Province,
            AreaFilter::District(_) => Level::District,
            AreaFilter::Lao(_) => Level::Lao,
        }
    }

    fn of_dimension(by: Dimension) -> Option<Level> {
        match by {
            Dimension::Province => Some(Level::Province),
            Dimension::District => Some(Level::District),
            Dimension::Lao => Some(Level::Lao),
            _ => None,
        }
    }
}

/// Where a total row sits: (level, area, province code, district code).
fn areas_of(f: &NewFact) -> [(Level, String, &str, &str); 4] {
    [
        (Level::Nation, String::new(), "", ""),
        (
            Level::Province,
            f.province_code.clone(),
            &f.province_code,
            "",
        ),
        (
            Level::District,
            f.district_code.clone(),
            &f.province_code,
            &f.district_code,
        ),
        (
            Level::Lao,
            f.lao_id.to_string(),
            &f.province_code,
            &f.district_code,
        ),
    ]
}

#[derive(Default)]
struct Delta {
    province_code: String,
    district_code: String,
    sales: i64,
    units: i64,
    revenue: i64,
    extra: i64,
    producers: i64,
    buyers: i64,
}

type TotalKey = (String, Level, String);
type PersonKey = (String, Level, String, &'static str, String);

#[derive(QueryableByName)]
struct PersonRow {
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(sql_type = Text)]
    area: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    person_key: String,
    #[diesel(sql_type = BigInt)]
    sales: i64,
}

fn level_named(name: &str) -> Level {
    match name {
        "nation" => Level::Nation,
        "province" => Level::Province,
        "district" => Level::District,
        _ => Level::Lao,
    }
}

/// Adds facts to the totals of their periods and areas, in the caller's transaction (which
/// holds the fact cursor, so no other writer runs). Three statements for an order's facts.
pub(super) fn add(conn: &mut DbConn, facts: &[NewFact]) -> QueryResult<()> {
    let mut totals: BTreeMap<TotalKey, Delta> = BTreeMap::new();
    let mut people: BTreeMap<PersonKey, i64> = BTreeMap::new();
    for f in facts {
        for period in period_keys(f.sale_date) {
            for (level, area, province, district) in areas_of(f) {
                let t = totals
                    .entry((period.clone(), level, area.clone()))
                    .or_insert_with(|| Delta {
                        province_code: province.to_string(),
                        district_code: district.to_string(),
                        ..Default::default()
                    });
                t.sales += f.sales;
                t.units += f.units;
                t.revenue += f.revenue_satang;
                t.extra += f.beneficiaries_extra;
                let roles = [("producer", &f.beneficiary_key), ("buyer", &f.buyer_key)];
                for (role, key) in roles {
                    if let Some(key) = key {
                        *people
                            .entry((period.clone(), level, area.clone(), role, key.clone()))
                            .or_default() += f.sales;
                    }
                }
            }
        }
    }
    people.retain(|_, sales| *sales != 0);
    let people: Vec<(PersonKey, i64)> = people.into_iter().collect();
    for chunk in people.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = chunk
            .iter()
            .map(|((period, level, area, role, key), sales)| {
                format!(
                    "({}, '{}', {}, '{role}', {}, {sales})",
                    literal(period),
                    level.as_str(),
                    sql_literal(area),
                    sql_literal(key)
                )
            })
            .collect();
        let after: Vec<PersonRow> = diesel::sql_query(format!(
            "INSERT INTO sale_area_people (period, level, area, role, person_key, sales) \
             VALUES {} ON CONFLICT (period, level, area, role, person_key) \
             DO UPDATE SET sales = sale_area_people.sales + excluded.sales \
             RETURNING period, level, area, role, person_key, sales",
            values.join(", ")
        ))
        .load(conn)?;
        let deltas: BTreeMap<(&str, Level, &str, &str, &str), i64> = chunk
            .iter()
            .map(|((period, level, area, role, key), sales)| {
                (
                    (period.as_str(), *level, area.as_str(), *role, key.as_str()),
                    *sales,
                )
            })
            .collect();
        for row in after {
            let level = level_named(&row.level);
            let key = (
                row.period.as_str(),
                level,
                row.area.as_str(),
                row.role.as_str(),
                row.person_key.as_str(),
            );
            let Some(delta) = deltas.get(&key) else {
                continue;
            };
            let before = row.sales - delta;
            let moved = i64::from(row.sales > 0) - i64::from(before > 0);
            if moved != 0
                && let Some(t) = totals.get_mut(&(row.period.clone(), level, row.area.clone()))
            {
                if row.role == "producer" {
                    t.producers += moved;
                } else {
                    t.buyers += moved;
                }
            }
        }
    }
    let totals: Vec<(TotalKey, Delta)> = totals.into_iter().collect();
    for chunk in totals.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = chunk
            .iter()
            .map(|((period, level, area), d)| {
                format!(
                    "({}, '{}', {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    literal(period),
                    level.as_str(),
                    sql_literal(area),
                    sql_literal(&d.province_code),
                    sql_literal(&d.district_code),
                    d.sales,
                    d.units,
                    d.revenue,
                    d.extra,
                    d.producers,
                    d.buyers
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO sale_area_totals (period, level, area, province_code, district_code, \
               sales, units, revenue_satang, beneficiaries_extra, producers, buyers) \
             VALUES {} ON CONFLICT (period, level, area) DO UPDATE SET \
               sales = sale_area_totals.sales + excluded.sales, \
               units = sale_area_totals.units + excluded.units, \
               revenue_satang = sale_area_totals.revenue_satang + excluded.revenue_satang, \
               beneficiaries_extra = \
                 sale_area_totals.beneficiaries_extra + excluded.beneficiaries_extra, \
               producers = sale_area_totals.producers + excluded.producers, \
               buyers = sale_area_totals.buyers + excluded.buyers",
            values.join(", ")
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// The one kept period `from..=to` is, if it is one: a calendar month or a fiscal year.
fn kept_period(from: NaiveDate, to: NaiveDate) -> Option<String> {
    let first_of = |d: NaiveDate| d.day() == 1;
    let next = to + Duration::days(1);
    if !first_of(from) || !first_of(next) {
        return None;
    }
    if next == from.checked_add_months(chrono::Months::new(1))? {
        return Some(month_key(from));
    }
    if from.month() == 10 && next == from.checked_add_months(chrono::Months::new(12))? {
        return Some(fiscal_year_key(crate::i18n::fiscal_year(from)));
    }
    None
}

#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    sales: i64,
    #[diesel(sql_type = BigInt)]
    units: i64,
    #[diesel(sql_type = BigInt)]
    revenue: i64,
    #[diesel(sql_type = BigInt)]
    beneficiaries: i64,
    #[diesel(sql_type = BigInt)]
    buyers: i64,
}

/// The figures from the kept totals, when they can answer: no source, channel or crop given,
/// and either a month or fiscal year grouped by nothing or by an area at or below the filter's
/// (the nation by province, a province by district or LAO…), or whole months grouped by month.
/// `None` otherwise (the caller adds up the monthly sums or the facts).
pub(super) fn figures(
    conn: &mut DbConn,
    filter: &FigureFilter,
    by: Dimension,
) -> QueryResult<Option<Vec<Figures>>> {
    if filter.source.is_some() || filter.channel.is_some() || filter.crop_id.is_some() {
        return Ok(None);
    }
    let own = Level::of_area(&filter.area);
    let own_area = match &filter.area {
        AreaFilter::National => String::new(),
        AreaFilter::Province(code) | AreaFilter::District(code) => code.clone(),
        AreaFilter::Lao(id) => id.to_string(),
    };
    let (periods, level, key) = match by {
        Dimension::All => match kept_period(filter.from, filter.to) {
            Some(period) => (vec![period], own, "''"),
            None => return Ok(None),
        },
        Dimension::Month if whole_months(filter.from, filter.to) => {
            let mut months = Vec::new();
            let mut at = filter.from;
            while at <= filter.to {
                months.push(month_key(at));
                at = at + chrono::Months::new(1);
            }
            (months, own, "period")
        }
        _ => match (Level::of_dimension(by), kept_period(filter.from, filter.to)) {
            (Some(level), Some(period)) if level >= own => (vec![period], level, "area"),
            _ => return Ok(None),
        },
    };
    let mut conditions = vec![
        format!(
            "period IN ({})",
            periods
                .iter()
                .map(|p| literal(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("level = '{}'", level.as_str()),
    ];
    match &filter.area {
        AreaFilter::Province(code) => conditions.push(format!("province_code = {}", literal(code))),
        AreaFilter::District(code) => conditions.push(format!("district_code = {}", literal(code))),
        AreaFilter::National | AreaFilter::Lao(_) => {}
    }
    // The area itself (a LAO has nothing below it, so its rows are always its own).
    if level == own {
        conditions.push(format!("area = {}", sql_literal(&own_area)));
    }
    let rows: Vec<TotalRow> = diesel::sql_query(format!(
        "SELECT CAST({key} AS TEXT) AS key, sales, units, revenue_satang AS revenue, \
                beneficiaries_extra + producers AS beneficiaries, buyers \
         FROM sale_area_totals WHERE {}",
        conditions.join(" AND ")
    ))
    .load(conn)?;
    Ok(Some(
        rows.into_iter()
            .map(|r| Figures {
                key: r.key,
                sales: r.sales,
                units: r.units,
                revenue_satang: r.revenue,
                beneficiaries: r.beneficiaries,
                buyers: r.buyers,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_date_keeps_its_month_and_its_fiscal_year() {
        assert_eq!(period_keys(d("2026-09-30")), ["2026-09", "FY2569"]);
        assert_eq!(period_keys(d("2026-10-01")), ["2026-10", "FY2570"]);
        assert_eq!(period_keys(d("2025-12-31")), ["2025-12", "FY2569"]);
    }

    #[test]
    fn only_one_whole_month_or_fiscal_year_is_kept() {
        let kept = |a: &str, b: &str| kept_period(d(a), d(b));
        assert_eq!(kept("2026-06-01", "2026-06-30").as_deref(), Some("2026-06"));
        assert_eq!(kept("2024-02-01", "2024-02-29").as_deref(), Some("2024-02"));
        assert_eq!(kept("2025-10-01", "2026-09-30").as_deref(), Some("FY2569"));
        assert_eq!(kept("2026-06-01", "2026-06-29"), None);
        assert_eq!(kept("2026-06-02", "2026-06-30"), None);
        assert_eq!(kept("2026-07-01", "2026-09-30"), None, "a quarter");
        assert_eq!(kept("2026-01-01", "2026-12-31"), None, "a calendar year");
        assert_eq!(kept("2025-10-01", "2026-03-31"), None, "a fiscal half");
    }
}

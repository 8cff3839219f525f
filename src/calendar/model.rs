//! Harvest calendar entries: per district and crop, the months of the harvest and its peak.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::months::{self, MonthLabel};
use crate::catalog::crops::{self, Crop, CropRow};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{crops as crops_t, districts, harvest_calendar_entries as hce, provinces};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::geo::model::{AreaName, District, Province};
use crate::i18n::Text;

pub const ENTRY: Text = Text {
    en: "harvest calendar entry",
    th: "รายการปฏิทินผลผลิต",
};

diesel::alias!(hce as overrides: OverridesAlias);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = hce)]
pub struct EntryRow {
    pub id: i64,
    pub district_code: String,
    pub province_code: String,
    pub crop_id: i64,
    pub start_month: i32,
    pub end_month: i32,
    pub peak_start_month: Option<i32>,
    pub peak_end_month: Option<i32>,
    pub expected_yield: Option<i64>,
    pub yield_unit: Option<String>,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub year: Option<i32>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EntryRow {
    pub fn start(&self) -> u32 {
        self.start_month.clamp(1, 12) as u32
    }

    pub fn end(&self) -> u32 {
        self.end_month.clamp(1, 12) as u32
    }

    pub fn peak(&self) -> Option<(u32, u32)> {
        match (self.peak_start_month, self.peak_end_month) {
            (Some(s), Some(e)) => Some((s.clamp(1, 12) as u32, e.clamp(1, 12) as u32)),
            _ => None,
        }
    }

    pub fn in_season(&self, month: u32) -> bool {
        months::in_season(self.start(), self.end(), month)
    }

    pub fn in_peak(&self, month: u32) -> bool {
        self.peak()
            .is_some_and(|(s, e)| months::in_season(s, e, month))
    }
}

/// An entry with its crop, district and province.
pub type EntryJoined = (EntryRow, CropRow, District, Province);

/// A harvest calendar entry as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "district": {"code": "6306", "name_th": "แม่สอด", "name_en": "Mae Sot"},
    "province": {"code": "63", "name_th": "ตาก", "name_en": "Tak"},
    "crop": {"id": 5, "slug": "longan", "name_th": "ลำไย", "name_en": "Longan", "category": "fruit", "category_th": "ผลไม้", "sale_unit": "kg", "sale_unit_th": "กิโลกรัม", "active": true},
    "start_month": 6, "end_month": 9, "peak_start_month": 7, "peak_end_month": 8,
    "months": [6, 7, 8, 9], "peak_months": [7, 8], "season_th": "มิ.ย. – ก.ย.", "season_en": "Jun – Sep",
    "peak_th": "ก.ค. – ส.ค.", "peak_en": "Jul – Aug", "expected_yield": 1200, "yield_unit": "tonne",
    "notes": null, "source": "ndoae.doae.go.th", "year": null, "be_year": null,
    "updated_at": "2026-06-01T09:00:00+07:00"
}))]
pub struct CalendarEntry {
    pub id: i64,
    pub district: AreaName,
    pub province: AreaName,
    pub crop: Crop,
    pub start_month: u32,
    pub end_month: u32,
    pub peak_start_month: Option<u32>,
    pub peak_end_month: Option<u32>,
    /// The harvest months in order (a season may wrap past December).
    pub months: Vec<u32>,
    pub peak_months: Vec<u32>,
    pub season_th: String,
    pub season_en: String,
    pub peak_th: Option<String>,
    pub peak_en: Option<String>,
    pub expected_yield: Option<i64>,
    pub yield_unit: Option<String>,
    pub notes: Option<String>,
    pub source: Option<String>,
    /// The Common-Era year this entry is for; `null`: every year.
    pub year: Option<i32>,
    pub be_year: Option<i32>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<EntryJoined> for CalendarEntry {
    fn from((e, crop, district, province): EntryJoined) -> Self {
        let (season_th, season_en) = months::range_label(e.start(), e.end());
        let peak = e.peak();
        let peak_labels = peak.map(|(s, en)| months::range_label(s, en));
        CalendarEntry {
            id: e.id,
            district: AreaName::from(district),
            province: AreaName::from(province),
            crop: Crop::from(crop),
            start_month: e.start(),
            end_month: e.end(),
            peak_start_month: peak.map(|p| p.0),
            peak_end_month: peak.map(|p| p.1),
            months: months::season_months(e.start(), e.end()),
            peak_months: peak
                .map(|(s, en)| months::season_months(s, en))
                .unwrap_or_default(),
            season_th,
            season_en,
            peak_th: peak_labels.as_ref().map(|l| l.0.clone()),
            peak_en: peak_labels.map(|l| l.1),
            expected_yield: e.expected_yield,
            yield_unit: e.yield_unit,
            notes: e.notes,
            source: e.source,
            year: e.year,
            be_year: e.year.map(crate::i18n::buddhist_year),
            updated_at: to_bangkok(e.updated_at),
        }
    }
}

/// Reads a year given as CE (2026) or BE (2569).
pub fn normalize_year(year: i32) -> i32 {
    if year >= 2400 { year - 543 } else { year }
}

fn year_in_range(year: i32) -> Result<(), validator::ValidationError> {
    let ce = normalize_year(year);
    if (2000..=2200).contains(&ce) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_year"))
    }
}

/// [`year_in_range`] as a schema: CE 2000–2200 or BE 2543–2743, or `null`.
fn entry_year_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    let years = |min: i32, max: i32| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int32,
            )))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    AnyOfBuilder::new()
        .item(years(2000, 2200).description(Some("CE")))
        .item(years(2543, 2743).description(Some("BE")))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The year this entry is for: CE 2000–2200, or BE 2543–2743; omit for every year. A \
             year's entry replaces the every-year entry of the same crop in that year.",
        ))
        .into()
}

/// A new calendar entry for a district.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewCalendarEntry, example = json!({"crop": "longan", "start_month": 6, "end_month": 9, "peak_start_month": 7, "peak_end_month": 8, "expected_yield": 1200, "yield_unit": "tonne", "source": "ndoae.doae.go.th"}))]
pub struct NewEntry {
    /// Crop slug.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40, example = "longan")]
    pub crop: String,
    /// First harvest month, 1–12.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub start_month: u32,
    /// Last harvest month, 1–12; smaller than `start_month` when the season wraps past December.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub end_month: u32,
    /// First peak month, 1–12, within the season; give both peak months or neither.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub peak_start_month: Option<u32>,
    /// Last peak month, 1–12, within the season.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub peak_end_month: Option<u32>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub expected_yield: Option<i64>,
    /// Unit of `expected_yield`, e.g. `tonne`, `kg`, `piece`.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub yield_unit: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    /// Where the figures come from (office, survey, link).
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub source: Option<String>,
    /// The year this entry is for: CE 2000–2200, or BE 2543–2743; omit for every year. A
    /// year's entry replaces the every-year entry of the same crop in that year.
    #[validate(custom(function = "year_in_range"))]
    #[schema(schema_with = entry_year_schema)]
    pub year: Option<i32>,
}

/// Changes to a calendar entry. Crop, district and year stay; create another entry for those.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CalendarEntryChanges)]
pub struct EntryChanges {
    /// First harvest month, 1–12.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub start_month: Option<u32>,
    /// Last harvest month, 1–12.
    #[validate(range(min = 1, max = 12))]
    #[schema(minimum = 1, maximum = 12)]
    pub end_month: Option<u32>,
    /// Give both peak months (1–12) to change the peak; both `0` removes it.
    #[validate(range(min = 0, max = 12))]
    #[schema(minimum = 0, maximum = 12)]
    pub peak_start_month: Option<u32>,
    #[validate(range(min = 0, max = 12))]
    #[schema(minimum = 0, maximum = 12)]
    pub peak_end_month: Option<u32>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub expected_yield: Option<i64>,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub yield_unit: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub source: Option<String>,
}

/// The peak after a change: both given months `0` remove it, both given months 1–12 replace
/// it, none given keeps the current one (which the new season must still contain). A `0` with
/// a month is refused: `0` only means "no peak" for both.
pub fn changed_peak(
    start: u32,
    end: u32,
    given: (Option<u32>, Option<u32>),
    current: Option<(u32, u32)>,
) -> Result<Option<(u32, u32)>, ApiError> {
    match given {
        (Some(0), Some(0)) => Ok(None),
        (Some(0), _) | (_, Some(0)) => {
            let zero = |field: &str, value: Option<u32>| {
                (value == Some(0)).then(|| FieldError::new(field, "too_small").with("min", 1))
            };
            Err(ApiError::validation(
                [
                    zero("peak_start_month", given.0),
                    zero("peak_end_month", given.1),
                ]
                .into_iter()
                .flatten()
                .collect(),
            ))
        }
        (None, None) => match current {
            // A peak that the new season no longer contains must be changed with it.
            Some((ps, pe)) => check_peak(start, end, (Some(ps), Some(pe))),
            None => Ok(None),
        },
        given => check_peak(start, end, given),
    }
}

/// Checks that a peak, if any, is given whole and lies within the season.
pub fn check_peak(
    start: u32,
    end: u32,
    peak: (Option<u32>, Option<u32>),
) -> Result<Option<(u32, u32)>, ApiError> {
    match peak {
        (None, None) => Ok(None),
        (Some(ps), Some(pe)) => {
            let peak_months = months::season_months(ps, pe);
            let inside = !peak_months.is_empty()
                && peak_months
                    .iter()
                    .all(|m| months::in_season(start, end, *m));
            if inside {
                Ok(Some((ps, pe)))
            } else {
                Err(ApiError::validation(vec![
                    FieldError::new("peak_start_month", "outside_season"),
                    FieldError::new("peak_end_month", "outside_season"),
                ]))
            }
        }
        (None, Some(_)) => Err(ApiError::validation(vec![FieldError::new(
            "peak_start_month",
            "required",
        )])),
        (Some(_), None) => Err(ApiError::validation(vec![FieldError::new(
            "peak_end_month",
            "required",
        )])),
    }
}

fn joined_query() -> _JoinedQuery {
    hce::table
        .inner_join(crops_t::table)
        .inner_join(districts::table.inner_join(provinces::table))
}

type _JoinedQuery = diesel::dsl::InnerJoin<
    diesel::dsl::InnerJoin<hce::table, crops_t::table>,
    diesel::dsl::InnerJoin<districts::table, provinces::table>,
>;

/// The columns of an [`EntryJoined`].
macro_rules! joined_select {
    () => {
        (
            EntryRow::as_select(),
            CropRow::as_select(),
            District::as_select(),
            Province::as_select(),
        )
    };
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<EntryJoined>> {
    joined_query()
        .filter(hce::id.eq(id))
        .select(joined_select!())
        .first(conn)
        .optional()
}

/// Which entries to use in a given year: that year's own entries, and every-year entries that
/// no entry of that year replaces.
macro_rules! applies_in_year {
    ($year:expr) => {
        hce::year.eq($year).or(hce::year.is_null().and(not(exists(
            overrides
                .filter(overrides.field(hce::district_code).eq(hce::district_code))
                .filter(overrides.field(hce::crop_id).eq(hce::crop_id))
                .filter(overrides.field(hce::year).eq($year)),
        ))))
    };
}

/// Whether the season of an entry contains month `$m`, seasons wrapping past December.
macro_rules! in_month {
    ($m:expr) => {
        hce::start_month
            .le(hce::end_month)
            .and(hce::start_month.le($m))
            .and(hce::end_month.ge($m))
            .or(hce::start_month
                .gt(hce::end_month)
                .and(hce::start_month.le($m).or(hce::end_month.ge($m))))
    };
}

/// A district's entries that apply in `year`, by crop.
pub fn district_entries(
    conn: &mut DbConn,
    district_code: &str,
    year: i32,
) -> QueryResult<Vec<EntryJoined>> {
    joined_query()
        .filter(hce::district_code.eq(district_code))
        .filter(applies_in_year!(year))
        .order((crops_t::slug, hce::id))
        .select(joined_select!())
        .load(conn)
}

/// Filters of the in-season query.
#[derive(Debug, Default)]
pub struct SeasonFilter {
    pub year: i32,
    pub month: u32,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub crop_id: Option<i64>,
    /// Continue after this (district code, crop id).
    pub after: Option<(String, i64)>,
    /// Rows to fetch (page size + 1), or none for all.
    pub limit: Option<i64>,
}

/// Entries in season in a month, ordered by district then crop.
pub fn in_season(conn: &mut DbConn, f: &SeasonFilter) -> QueryResult<Vec<EntryJoined>> {
    let month = f.month as i32;
    let mut query = joined_query()
        .filter(applies_in_year!(f.year))
        .filter(in_month!(month))
        .order((hce::district_code, hce::crop_id))
        .select(joined_select!())
        .into_boxed();
    if let Some(code) = &f.province_code {
        query = query.filter(hce::province_code.eq(code.clone()));
    }
    if let Some(code) = &f.district_code {
        query = query.filter(hce::district_code.eq(code.clone()));
    }
    if let Some(crop_id) = f.crop_id {
        query = query.filter(hce::crop_id.eq(crop_id));
    }
    if let Some((district, crop)) = &f.after {
        query = query.filter(
            hce::district_code
                .gt(district.clone())
                .or(hce::district_code
                    .eq(district.clone())
                    .and(hce::crop_id.gt(*crop))),
        );
    }
    if let Some(limit) = f.limit {
        query = query.limit(limit);
    }
    query.load(conn)
}

/// Every entry of a district or a province (for the iCalendar feeds), by district then crop.
pub fn entries_of_area(
    conn: &mut DbConn,
    province_code: &str,
    district_code: Option<&str>,
) -> QueryResult<Vec<EntryJoined>> {
    let mut query = joined_query()
        .filter(hce::province_code.eq(province_code))
        .order((hce::district_code, crops_t::slug, hce::year, hce::id))
        .select(joined_select!())
        .into_boxed();
    if let Some(code) = district_code {
        query = query.filter(hce::district_code.eq(code.to_string()));
    }
    query.load(conn)
}

pub fn create(
    conn: &mut DbConn,
    district: &District,
    new: &NewEntry,
    user_id: Option<i64>,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    let crop = crops::resolve(conn, "crop", &new.crop)?;
    let peak = check_peak(
        new.start_month,
        new.end_month,
        (new.peak_start_month, new.peak_end_month),
    )?;
    let year = new.year.map(normalize_year);
    let duplicate = hce::table
        .filter(hce::district_code.eq(&district.code))
        .filter(hce::crop_id.eq(crop.id))
        .into_boxed();
    let duplicate = match year {
        Some(y) => duplicate.filter(hce::year.eq(y)),
        None => duplicate.filter(hce::year.is_null()),
    };
    let existing: Option<i64> = duplicate.select(hce::id).first(conn).optional()?;
    if let Some(existing) = existing {
        return Err(ApiError::already_exists(ENTRY, "crop")
            .extra("existing_id", existing)
            .field(FieldError::new("crop", "duplicate")));
    }
    let id = diesel::insert_into(hce::table)
        .values((
            hce::district_code.eq(&district.code),
            hce::province_code.eq(&district.province_code),
            hce::crop_id.eq(crop.id),
            hce::start_month.eq(new.start_month as i32),
            hce::end_month.eq(new.end_month as i32),
            hce::peak_start_month.eq(peak.map(|p| p.0 as i32)),
            hce::peak_end_month.eq(peak.map(|p| p.1 as i32)),
            hce::expected_yield.eq(new.expected_yield),
            hce::yield_unit.eq(new.yield_unit.as_deref()),
            hce::notes.eq(new.notes.as_deref()),
            hce::source.eq(new.source.as_deref()),
            hce::year.eq(year),
            hce::created_by.eq(user_id),
            hce::updated_by.eq(user_id),
            hce::created_at.eq(now),
            hce::updated_at.eq(now),
        ))
        .returning(hce::id)
        .get_result(conn)?;
    Ok(id)
}

pub fn update(
    conn: &mut DbConn,
    current: &EntryRow,
    changes: &EntryChanges,
    user_id: Option<i64>,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let start = changes.start_month.unwrap_or(current.start());
    let end = changes.end_month.unwrap_or(current.end());
    let peak = changed_peak(
        start,
        end,
        (changes.peak_start_month, changes.peak_end_month),
        current.peak(),
    )?;
    diesel::update(hce::table.find(current.id))
        .set((
            hce::start_month.eq(start as i32),
            hce::end_month.eq(end as i32),
            hce::peak_start_month.eq(peak.map(|p| p.0 as i32)),
            hce::peak_end_month.eq(peak.map(|p| p.1 as i32)),
            changes
                .expected_yield
                .map(|v| hce::expected_yield.eq(Some(v))),
            changes
                .yield_unit
                .clone()
                .map(|v| hce::yield_unit.eq(Some(v))),
            changes.notes.clone().map(|v| hce::notes.eq(Some(v))),
            changes.source.clone().map(|v| hce::source.eq(Some(v))),
            hce::updated_by.eq(user_id),
            hce::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(hce::table.find(id)).execute(conn)
}

/// One month cell of the 12-month grid.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GridCell {
    pub month: u32,
    pub in_season: bool,
    pub peak: bool,
}

/// A crop's row in the grid.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GridRow {
    pub entry: CalendarEntry,
    /// Twelve cells, January first.
    pub cells: Vec<GridCell>,
}

/// A district's harvest calendar for a year: twelve labelled months and a row per crop.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DistrictCalendar {
    pub district: AreaName,
    pub province: AreaName,
    pub year: i32,
    pub be_year: i32,
    /// "ปฏิทินผลผลิตเกษตร อำเภอแม่สอด จังหวัดตาก ปี 2569"
    pub title_th: String,
    pub title_en: String,
    /// The twelve months of the year, labelled.
    pub months: Vec<MonthLabel>,
    pub crops: Vec<GridRow>,
}

pub fn grid(
    district: District,
    province: Province,
    year: i32,
    entries: Vec<EntryJoined>,
) -> DistrictCalendar {
    let be_year = crate::i18n::buddhist_year(year);
    let rows = entries
        .into_iter()
        .map(|joined| {
            let cells = (1..=12)
                .map(|m| GridCell {
                    month: m,
                    in_season: joined.0.in_season(m),
                    peak: joined.0.in_peak(m),
                })
                .collect();
            GridRow {
                entry: CalendarEntry::from(joined),
                cells,
            }
        })
        .collect();
    DistrictCalendar {
        title_th: format!(
            "ปฏิทินผลผลิตเกษตร อำเภอ{} จังหวัด{} ปี {be_year}",
            district.name_th, province.name_th
        ),
        title_en: format!(
            "Harvest calendar of {} district, {} province, {year}",
            district.name_en, province.name_en
        ),
        district: AreaName::from(district),
        province: AreaName::from(province),
        year,
        be_year,
        months: (1..=12).map(|m| months::label(year, m)).collect(),
        crops: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_must_lie_in_the_season() {
        assert_eq!(check_peak(6, 9, (Some(7), Some(8))).unwrap(), Some((7, 8)));
        assert_eq!(
            check_peak(11, 2, (Some(12), Some(1))).unwrap(),
            Some((12, 1))
        );
        assert_eq!(
            check_peak(6, 2, (Some(9), Some(11))).unwrap(),
            Some((9, 11))
        );
        assert!(check_peak(6, 9, (Some(5), Some(7))).is_err());
        assert!(
            check_peak(11, 2, (Some(2), Some(11))).is_err(),
            "a peak wrapping the wrong way"
        );
        assert!(check_peak(6, 9, (Some(7), None)).is_err());
        assert_eq!(check_peak(6, 9, (None, None)).unwrap(), None);
    }

    #[test]
    fn a_changed_peak_is_both_months_or_both_zero() {
        // A single 0 used to count months until memory ran out (found by the fuzzer).
        let err = changed_peak(1, 1, (Some(11), Some(0)), None).unwrap_err();
        assert_eq!(
            err.kind().status(),
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(changed_peak(6, 9, (Some(0), Some(7)), Some((7, 8))).is_err());
        assert!(changed_peak(6, 9, (Some(0), None), Some((7, 8))).is_err());
        assert_eq!(
            changed_peak(6, 9, (Some(0), Some(0)), Some((7, 8))).unwrap(),
            None
        );
        assert_eq!(
            changed_peak(6, 9, (None, None), Some((7, 8))).unwrap(),
            Some((7, 8))
        );
        assert!(changed_peak(6, 7, (None, None), Some((7, 8))).is_err());
        assert_eq!(
            changed_peak(6, 9, (Some(8), Some(9)), None).unwrap(),
            Some((8, 9))
        );
    }

    #[test]
    fn years_may_be_buddhist_era() {
        assert_eq!(normalize_year(2569), 2026);
        assert_eq!(normalize_year(2026), 2026);
        assert!(year_in_range(2569).is_ok());
        assert!(year_in_range(1999).is_err());
    }
}

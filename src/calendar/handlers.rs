//! Harvest calendar endpoints: upkeep by district officers and LAO staff, public queries, and
//! iCalendar feeds.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::ical;
use super::model::{
    self, CalendarEntry, DistrictCalendar, ENTRY, EntryChanges, NewEntry, SeasonFilter,
};
use super::months::{self, MonthLabel, YearMonth};
use crate::AppState;
use crate::auth::policy::{Action, Place, authorize};
use crate::auth::principal::Principal;
use crate::catalog::crops::{self, CROP, Crop};
use crate::clock::to_bangkok;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::geo::model::{self as geo, AreaName, DISTRICT, PROVINCE};
use crate::pagination::{decode_cursor, encode_cursor, page_size};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_entry)
        .service(get_entry)
        .service(update_entry)
        .service(delete_entry)
        .service(district_calendar)
        .service(district_ics)
        .service(province_ics)
        .service(in_season)
        .service(harvest_areas);
}

/// Now, in Bangkok: the default year and month of calendar queries.
fn this_month(state: &AppState) -> YearMonth {
    let now = to_bangkok(state.clock.now_naive());
    YearMonth {
        year: now.year(),
        month: now.month(),
    }
}

/// Add a harvest calendar entry
///
/// For the district's officers and the staff of LAOs in the district (and admins). One entry per
/// crop for every year, plus optional entries for a given year that replace it in that year.
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Four-digit district code", pattern = "^[0-9]{4}$", example = "6306")),
    request_body = NewEntry,
    responses(
        (status = 201, body = CalendarEntry),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer or LAO staff of this district", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The crop already has an entry for that year (or every year)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/districts/{code}/calendar-entries")]
pub async fn create_entry(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    body: ValidJson<NewEntry>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    geo::check_code("code", &code, 4)?;
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let entry = state
        .db_tx(move |conn| {
            let district =
                geo::find_district(conn, &code)?.ok_or_else(|| ApiError::not_found(DISTRICT))?;
            authorize(
                &principal,
                Action::ManageCalendar,
                &Place::district(&district.province_code, &district.code),
            )?;
            let id = model::create(conn, &district, &new, principal.user_id(), now)?;
            model::find(conn, id)?.ok_or_else(|| ApiError::not_found(ENTRY))
        })
        .await?;
    Ok(HttpResponse::Created().json(CalendarEntry::from(entry)))
}

/// A harvest calendar entry
#[utoipa::path(
    tag = "calendar",
    params(("id" = i64, Path, description = "Entry id")),
    responses(
        (status = 200, body = CalendarEntry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calendar-entries/{id}")]
pub async fn get_entry(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<CalendarEntry>> {
    let id = id.into_inner();
    let entry = state
        .db(move |conn| model::find(conn, id)?.ok_or_else(|| ApiError::not_found(ENTRY)))
        .await?;
    Ok(web::Json(entry.into()))
}

/// Change a harvest calendar entry
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Entry id")),
    request_body = EntryChanges,
    responses(
        (status = 200, body = CalendarEntry),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/calendar-entries/{id}")]
pub async fn update_entry(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<EntryChanges>,
) -> ApiResult<web::Json<CalendarEntry>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let entry = state
        .db_tx(move |conn| {
            let (row, ..) = model::find(conn, id)?.ok_or_else(|| ApiError::not_found(ENTRY))?;
            authorize(
                &principal,
                Action::ManageCalendar,
                &Place::district(&row.province_code, &row.district_code),
            )?;
            model::update(conn, &row, &changes, principal.user_id(), now)?;
            model::find(conn, id)?.ok_or_else(|| ApiError::not_found(ENTRY))
        })
        .await?;
    Ok(web::Json(entry.into()))
}

/// Remove a harvest calendar entry
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Entry id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/calendar-entries/{id}")]
pub async fn delete_entry(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db_tx(move |conn| {
            let (row, ..) = model::find(conn, id)?.ok_or_else(|| ApiError::not_found(ENTRY))?;
            authorize(
                &principal,
                Action::ManageCalendar,
                &Place::district(&row.province_code, &row.district_code),
            )?;
            model::delete(conn, id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// Year, CE (2026) or BE (2569); default: this year.
    #[validate(range(min = 2000, max = 2743))]
    #[param(minimum = 2000, maximum = 2743)]
    pub year: Option<i32>,
}

/// A district's 12-month harvest calendar
///
/// Every crop of the district that applies in the year, with twelve cells (in season, peak) and
/// the months labelled with Thai names and Buddhist-Era years.
#[utoipa::path(
    tag = "calendar",
    params(("code" = String, Path, description = "Four-digit district code", pattern = "^[0-9]{4}$", example = "6306"), YearQuery),
    responses(
        (status = 200, body = DistrictCalendar),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/districts/{code}/calendar")]
pub async fn district_calendar(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: ValidQuery<YearQuery>,
) -> ApiResult<web::Json<DistrictCalendar>> {
    let code = code.into_inner();
    geo::check_code("code", &code, 4)?;
    let year = query
        .0
        .year
        .map(model::normalize_year)
        .unwrap_or(this_month(&state).year);
    let calendar = state
        .db(move |conn| {
            let detail =
                geo::district_detail(conn, &code)?.ok_or_else(|| ApiError::not_found(DISTRICT))?;
            let entries = model::district_entries(conn, &code, year)?;
            Ok(model::grid(detail.district, detail.province, year, entries))
        })
        .await?;
    Ok(web::Json(calendar))
}

fn ics_response(body: String, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// A district's harvest calendar as iCalendar
///
/// Subscribe to it in a calendar app: one all-day event per season, recurring yearly (a year's own
/// entry replaces the recurring one that year). Stable UIDs, so updates replace events.
#[utoipa::path(
    tag = "calendar",
    params(("code" = String, Path, description = "Four-digit district code", pattern = "^[0-9]{4}$", example = "6306")),
    responses(
        (status = 200, description = "RFC 5545 calendar", body = String, content_type = "text/calendar"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/districts/{code}/calendar.ics")]
pub async fn district_ics(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    geo::check_code("code", &code, 4)?;
    let (title, entries) = state
        .db(move |conn| {
            let detail =
                geo::district_detail(conn, &code)?.ok_or_else(|| ApiError::not_found(DISTRICT))?;
            let entries = model::entries_of_area(conn, &detail.province.code, Some(&code))?;
            let title = format!(
                "ปฏิทินผลผลิตเกษตร อำเภอ{} จังหวัด{}",
                detail.district.name_th, detail.province.name_th
            );
            Ok((title, entries))
        })
        .await?;
    Ok(ics_response(
        ical::feed(&title, &entries),
        "harvest-calendar.ics",
    ))
}

/// A province's harvest calendar as iCalendar
///
/// Every district of the province in one feed.
#[utoipa::path(
    tag = "calendar",
    params(("code" = String, Path, description = "Two-digit province code", pattern = "^[0-9]{2}$", example = "63")),
    responses(
        (status = 200, description = "RFC 5545 calendar", body = String, content_type = "text/calendar"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/provinces/{code}/calendar.ics")]
pub async fn province_ics(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    geo::check_code("code", &code, 2)?;
    let (title, entries) = state
        .db(move |conn| {
            let province =
                geo::find_province(conn, &code)?.ok_or_else(|| ApiError::not_found(PROVINCE))?;
            let entries = model::entries_of_area(conn, &code, None)?;
            Ok((format!("ปฏิทินผลผลิตเกษตร จังหวัด{}", province.name_th), entries))
        })
        .await?;
    Ok(ics_response(
        ical::feed(&title, &entries),
        "harvest-calendar.ics",
    ))
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SeasonQuery {
    /// `YYYY-MM`, CE 1900–2200 or BE 2443–2743 (`2026-06` or `2569-06`); default: this month.
    #[param(value_type = Option<String>, example = "2026-06", pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200|244[3-9]|24[5-9][0-9]|2[56][0-9]{2}|27[0-3][0-9]|274[0-3])-(0?[1-9]|1[0-2])$")]
    pub month: Option<YearMonth>,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    /// Crop slug; an unknown slug matches nothing.
    pub crop: Option<String>,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An entry in season in the asked month.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeasonMatch {
    /// Whether the month is in the peak.
    pub peak: bool,
    pub entry: CalendarEntry,
}

/// What is in season in a month.
#[derive(Debug, Serialize, ToSchema)]
pub struct InSeason {
    pub month: MonthLabel,
    pub items: Vec<SeasonMatch>,
    pub next_cursor: Option<String>,
}

/// What is in season
///
/// The crops harvested in a month, filtered by province, district or crop; ordered by district
/// then crop. Seasons that wrap past December count in every month they cover.
#[utoipa::path(
    tag = "calendar",
    params(SeasonQuery),
    responses(
        (status = 200, body = InSeason),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calendar/in-season")]
pub async fn in_season(
    state: web::Data<AppState>,
    query: ValidQuery<SeasonQuery>,
) -> ApiResult<web::Json<InSeason>> {
    let ValidQuery(query) = query;
    let month = query.month.unwrap_or(this_month(&state));
    let limit = page_size(query.limit);
    let after: Option<(String, i64)> = decode_cursor(query.cursor.as_deref())?;
    let result = state
        .db(move |conn| {
            let crop_id = match &query.crop {
                Some(slug) => match crops::find_by_slug(conn, slug)? {
                    Some(crop) => Some(crop.id),
                    // A filter naming no crop matches nothing, as unknown areas do.
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            let filter = SeasonFilter {
                year: month.year,
                month: month.month,
                province_code: query.province_code,
                district_code: query.district_code,
                crop_id,
                after,
                limit: Some(limit as i64 + 1),
            };
            Ok(model::in_season(conn, &filter)?)
        })
        .await?;
    let more = result.len() > limit;
    let mut rows = result;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last()
            .map(|(e, ..)| encode_cursor(&(e.district_code.clone(), e.crop_id)))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|joined| SeasonMatch {
            peak: joined.0.in_peak(month.month),
            entry: CalendarEntry::from(joined),
        })
        .collect();
    Ok(web::Json(InSeason {
        month: months::label(month.year, month.month),
        items,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`, CE 1900–2200 or BE 2443–2743; default: this month.
    #[param(value_type = Option<String>, example = "2026-08", pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200|244[3-9]|24[5-9][0-9]|2[56][0-9]{2}|27[0-3][0-9]|274[0-3])-(0?[1-9]|1[0-2])$")]
    pub month: Option<YearMonth>,
}

/// A district where a crop is harvested.
#[derive(Debug, Serialize, ToSchema)]
pub struct HarvestDistrict {
    pub district: AreaName,
    pub entry_id: i64,
    pub peak: bool,
    pub season_th: String,
    pub season_en: String,
    pub expected_yield: Option<i64>,
    pub yield_unit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HarvestProvince {
    pub province: AreaName,
    pub districts: Vec<HarvestDistrict>,
}

/// Where a crop is harvested in a month, by province.
#[derive(Debug, Serialize, ToSchema)]
pub struct HarvestAreas {
    pub crop: Crop,
    pub month: MonthLabel,
    pub provinces: Vec<HarvestProvince>,
}

/// Where a crop is harvested
///
/// The provinces and districts whose calendars have the crop in season in the month.
#[utoipa::path(
    tag = "calendar",
    params(("slug" = String, Path, description = "Crop slug", example = "longan"), MonthQuery),
    responses(
        (status = 200, body = HarvestAreas),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/crops/{slug}/harvest-areas")]
pub async fn harvest_areas(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: ValidQuery<MonthQuery>,
) -> ApiResult<web::Json<HarvestAreas>> {
    let slug = slug.into_inner();
    let month = query.0.month.unwrap_or(this_month(&state));
    let (crop, rows) = state
        .db(move |conn| {
            let crop =
                crops::find_by_slug(conn, &slug)?.ok_or_else(|| ApiError::not_found(CROP))?;
            let filter = SeasonFilter {
                year: month.year,
                month: month.month,
                crop_id: Some(crop.id),
                ..Default::default()
            };
            Ok((crop, model::in_season(conn, &filter)?))
        })
        .await?;
    let mut provinces: Vec<HarvestProvince> = Vec::new();
    for (entry, _, district, province) in rows {
        let (season_th, season_en) = months::range_label(entry.start(), entry.end());
        let item = HarvestDistrict {
            district: AreaName::from(district),
            entry_id: entry.id,
            peak: entry.in_peak(month.month),
            season_th,
            season_en,
            expected_yield: entry.expected_yield,
            yield_unit: entry.yield_unit,
        };
        match provinces
            .iter_mut()
            .find(|p| p.province.code == province.code)
        {
            Some(p) => p.districts.push(item),
            None => provinces.push(HarvestProvince {
                province: AreaName::from(province),
                districts: vec![item],
            }),
        }
    }
    provinces.sort_by(|a, b| a.province.code.cmp(&b.province.code));
    Ok(web::Json(HarvestAreas {
        crop: crop.into(),
        month: months::label(month.year, month.month),
        provinces,
    }))
}

//! Statistics endpoints: the sales feed (JSON and the programme's CSV sheet), the incremental
//! feed of sale facts, and the sales an LAO records.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::feed::{self, GroupBy, Level, Narrowing, SalesReport, Scope};
use super::links::{self as content_links, CONTENT_LINK, ContentLink, NewContentLink};
use super::periods::PeriodQuery;
use super::recorded::{self, NewRecordedSale, RECORDED_SALE, RecordedSale};
use super::reports::{self, Coverage, LAO_REPORT, LaoReport, NewReport, Review};
use super::tokens::{
    self as report_tokens, NewReportToken, Reader, ReportToken, ReportTokenWithSecret,
};
use crate::AppState;
use crate::auth::policy::{Action, Place, authorize_hidden};
use crate::auth::principal::Principal;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::laos::model::LaoRow;
use crate::sales::{self, FactKind, SaleChannel, Source};
use crate::spreadsheet;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(sales_feed)
        .service(sales_sheet)
        .service(sale_events)
        .service(report_page)
        .service(record_sale)
        .service(import_recorded_sales)
        .service(list_recorded_sales)
        .service(replace_recorded_sale)
        .service(delete_recorded_sale)
        .service(add_content_link)
        .service(list_content_links)
        .service(delete_content_link)
        .service(submit_report)
        .service(list_reports)
        .service(review_report)
        .service(coverage)
        .service(create_report_token)
        .service(list_report_tokens)
        .service(revoke_report_token);
}

/// Which figures: an area, a period (one of `day`, `month`, `quarter`, `fiscal_year`,
/// `from`+`to`; none: the current fiscal year), a grouping and optional narrowing.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// `national`, `province`, `district` or `lao`.
    pub level: Level,
    /// Province (2 digits) or district (4 digits) DOPA code, or the LAO's DLA code (7 digits);
    /// none for `national`.
    pub code: Option<String>,
    /// A Bangkok date, `2026-06-01`.
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub day: Option<String>,
    /// A calendar month, `2026-06`.
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// A calendar quarter, `2026-Q3`.
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-Q[1-4]$")]
    pub quarter: Option<String>,
    /// A Thai fiscal year by its Buddhist-Era year: `2569` is 1 Oct 2025 – 30 Sep 2026.
    #[param(minimum = 2560, maximum = 2700)]
    pub fiscal_year: Option<i32>,
    /// First Bangkok date of a range (with `to`).
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub from: Option<String>,
    /// Last Bangkok date of a range, included (with `from`; at most ten years).
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub to: Option<String>,
    /// `area` (default: one level down), `lao`, `crop`, `channel`, `source` or `month`.
    pub group_by: Option<GroupBy>,
    /// Only pre-orders or only recorded sales.
    pub source: Option<Source>,
    pub channel: Option<SaleChannel>,
    /// Only one crop, by slug.
    #[validate(length(max = 64))]
    #[param(max_length = 64)]
    pub crop: Option<String>,
    /// A report token (`kdr_…`), for tools that cannot send headers (Google Sheets'
    /// `IMPORTDATA`). Prefer the `Authorization` header where possible: URLs end up in logs.
    #[validate(length(max = 100))]
    pub token: Option<String>,
}

impl SalesQuery {
    fn period(&self) -> PeriodQuery {
        PeriodQuery {
            day: self.day.clone(),
            month: self.month.clone(),
            quarter: self.quarter.clone(),
            fiscal_year: self.fiscal_year,
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

/// The caller may read the area's figures: officers their area, LAO staff their LAO, admins
/// the country, a report token its area. Others: 403.
fn may_read(reader: &Reader, scope: &Scope) -> ApiResult<()> {
    if reader.may_read(&scope.place) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

fn build_report(
    conn: &mut DbConn,
    reader: &Reader,
    query: &SalesQuery,
    default_group: GroupBy,
    today: NaiveDate,
) -> ApiResult<(Scope, SalesReport)> {
    let scope = feed::scope(conn, query.level, query.code.as_deref())?;
    may_read(reader, &scope)?;
    let period = query.period().resolve(today)?;
    let crop_id = match &query.crop {
        // A query parameter: an unknown crop is 400, not a body's 422.
        Some(slug) => Some(
            crate::catalog::crops::find_by_slug(conn, slug)?
                .filter(|c| c.active)
                .ok_or_else(|| ApiError::invalid_parameter("crop", "invalid_code"))?
                .id,
        ),
        None => None,
    };
    let narrowing = Narrowing {
        source: query.source,
        channel: query.channel,
        crop_id,
    };
    let report = feed::report(
        conn,
        &scope,
        period,
        query.group_by.unwrap_or(default_group),
        &narrowing,
    )?;
    Ok((scope, report))
}

/// Sales figures of an area
///
/// The programme's figures for an LAO, a district, a province or the nation and a period:
/// online sales, revenue (satang and baht), people who benefited, buyers; grouped by the area
/// one level down (default), every LAO, crop, channel, source or month. Every group of the area
/// is listed, also with zeros; `total` counts each person once. Pre-orders count from payment
/// (a refund subtracts them in the month it happens); recorded sales on their day or month.
/// A provincial administrative organization (อบจ.) counts in the district of its seat.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(SalesQuery),
    responses(
        (status = 200, body = SalesReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/sales")]
pub async fn sales_feed(
    state: web::Data<AppState>,
    reader: Reader,
    query: ValidQuery<SalesQuery>,
) -> ApiResult<web::Json<SalesReport>> {
    let ValidQuery(query) = query;
    let today = sales::bangkok_date(state.clock.now_naive());
    let report = state
        .db(move |conn| Ok(build_report(conn, &reader, &query, GroupBy::Area, today)?.1))
        .await?;
    Ok(web::Json(report))
}

/// Sales figures as the programme's sheet (CSV)
///
/// The same figures as `GET /v1/stats/sales`, by default one row per LAO of the area
/// (`group_by=lao`), with Thai headers (รหัสจังหวัด, จังหวัด, รหัสอำเภอ, อำเภอ, รหัส อปท., อปท.,
/// จำนวนครั้งที่ขายได้ผ่านออนไลน์, รายรับ (บาท), จำนวนคนที่ได้รับประโยชน์, จำนวนผู้ซื้อ), UTF-8
/// with a byte-order mark; text a spreadsheet would evaluate is neutralised.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(SalesQuery),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/sales.csv")]
pub async fn sales_sheet(
    state: web::Data<AppState>,
    reader: Reader,
    query: ValidQuery<SalesQuery>,
) -> ApiResult<HttpResponse> {
    let ValidQuery(query) = query;
    let today = sales::bangkok_date(state.clock.now_naive());
    let (name, body) = state
        .db(move |conn| {
            let (scope, report) = build_report(conn, &reader, &query, GroupBy::Lao, today)?;
            let name = format!(
                "sales-{}-{}-{}_{}.csv",
                report.level,
                report.code.as_deref().unwrap_or("th"),
                report.period.from,
                report.period.to
            );
            let urls =
                super::links::urls_by_lao(conn, &scope.area, report.period.from, report.period.to)?;
            Ok((name, feed::sheet(&report, &urls)?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(spreadsheet::CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}

/// Which facts of the incremental feed.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The last cursor read (0 or absent: from the start).
    #[validate(range(min = 0))]
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many facts (1–1000, default 100).
    #[validate(range(min = 1, max = 1000))]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// `national` (default for admins), `province`, `district` or `lao`.
    pub level: Option<Level>,
    /// The area's code, as for `GET /v1/stats/sales`.
    pub code: Option<String>,
    /// A report token (`kdr_…`), as for `GET /v1/stats/sales`.
    #[validate(length(max = 100))]
    pub token: Option<String>,
}

/// A sale fact.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SaleEvent {
    /// The cursor: pass the last one read as `after`.
    pub cursor: i64,
    pub source: Source,
    /// `sale`, or `reversal` (a refund, or a recorded sale changed or deleted): figures negated.
    pub kind: FactKind,
    pub order_id: Option<i64>,
    pub recorded_sale_id: Option<i64>,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub producer_id: Option<i64>,
    pub crop_id: Option<i64>,
    pub window_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub channel: SaleChannel,
    pub sales: i64,
    pub units: i64,
    pub revenue_satang: i64,
    pub delivery_fee_satang: i64,
    /// People behind a "several producers" record.
    pub beneficiaries_extra: i64,
    /// The Bangkok date the fact counts on.
    pub sale_date: NaiveDate,
    pub occurred_at: DateTime<FixedOffset>,
}

/// A page of the incremental feed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SaleEventPage {
    pub items: Vec<SaleEvent>,
    /// Pass as `after` next time (the last cursor here, or the one given when nothing is new).
    pub next_after: i64,
}

/// Sale facts after a cursor
///
/// For tools that keep their own copy: the facts of an area in cursor order, after the last one
/// read. A cursor never appears before every smaller one is committed, so a reader that polls
/// while payments are confirmed neither misses a fact nor sees one twice.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(EventsQuery),
    responses(
        (status = 200, body = SaleEventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/events")]
pub async fn sale_events(
    state: web::Data<AppState>,
    reader: Reader,
    query: ValidQuery<EventsQuery>,
) -> ApiResult<web::Json<SaleEventPage>> {
    let ValidQuery(query) = query;
    let page = state
        .db(move |conn| {
            let scope = feed::scope(
                conn,
                query.level.unwrap_or(Level::National),
                query.code.as_deref(),
            )?;
            may_read(&reader, &scope)?;
            let after = query.after.unwrap_or(0);
            let rows = sales::facts_after(conn, &scope.area, after, query.limit.unwrap_or(100))?;
            let next_after = rows.last().map_or(after, |r| r.id);
            Ok(SaleEventPage {
                items: rows
                    .into_iter()
                    .map(|r| SaleEvent {
                        cursor: r.id,
                        source: r.source,
                        kind: r.kind,
                        order_id: r.order_id,
                        recorded_sale_id: r.recorded_sale_id,
                        lao_id: r.lao_id,
                        district_code: r.district_code,
                        province_code: r.province_code,
                        producer_id: r.producer_id,
                        crop_id: r.crop_id,
                        window_id: r.window_id,
                        variant_id: r.variant_id,
                        channel: r.channel,
                        sales: r.sales,
                        units: r.units,
                        revenue_satang: r.revenue_satang,
                        delivery_fee_satang: r.delivery_fee_satang,
                        beneficiaries_extra: r.beneficiaries_extra,
                        sale_date: r.sale_date,
                        occurred_at: to_bangkok(r.occurred_at),
                    })
                    .collect(),
                next_after,
            })
        })
        .await?;
    Ok(web::Json(page))
}

const LAO: crate::i18n::Text = crate::i18n::Text {
    en: "LAO",
    th: "อปท.",
};

/// The LAO by DLA code, for someone who records its sales (its staff, or an admin): 404 when the
/// caller may not even see it, 403 when they may see but not record.
fn lao_for_recording(conn: &mut DbConn, principal: &Principal, code: &str) -> ApiResult<LaoRow> {
    let lao =
        crate::laos::model::find_by_code(conn, code)?.ok_or_else(|| ApiError::not_found(LAO))?;
    authorize_hidden(principal, Action::ManageProducers, &lao.place(), LAO)?;
    Ok(lao)
}

/// Record a sale made elsewhere
///
/// For an LAO's staff: sales of the LAO's producers made on Facebook, TikTok, LINE, YouTube,
/// Instagram, Shopee, Lazada, by phone or otherwise, with the number of sales and the revenue,
/// for one producer (`producer_id`) or several (`producer_count`), on a day (`date`) or in a
/// month (`month`). They count in every figure, marked `recorded`.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)")),
    request_body = NewRecordedSale,
    responses(
        (status = 201, body = RecordedSale),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{code}/recorded-sales")]
pub async fn record_sale(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    body: ValidJson<NewRecordedSale>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let created = state
        .db_tx(move |conn| {
            let lao = lao_for_recording(conn, &principal, &code)?;
            let row = recorded::create(conn, &lao, &new, &principal.actor_label(), now)?;
            Ok(RecordedSale::of(row, &lao.dla_code))
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Which recorded sales.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordedQuery {
    /// Only this month, `2026-06`.
    #[validate(length(equal = 7))]
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// At most this many (1–500, default 100).
    #[validate(range(min = 1, max = 500))]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Skip this many (for the next page).
    #[validate(range(min = 0, max = 1_000_000))]
    #[param(minimum = 0, maximum = 1_000_000)]
    pub offset: Option<i64>,
}

/// An LAO's recorded sales
///
/// Newest month first. For the LAO's staff and officers of its area.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)"), RecordedQuery),
    responses(
        (status = 200, body = Vec<RecordedSale>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos/{code}/recorded-sales")]
pub async fn list_recorded_sales(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: ValidQuery<RecordedQuery>,
) -> ApiResult<web::Json<Vec<RecordedSale>>> {
    let code = code.into_inner();
    let ValidQuery(query) = query;
    let rows = state
        .db(move |conn| {
            let lao = crate::laos::model::find_by_code(conn, &code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            authorize_hidden(&principal, Action::ReadArea, &lao.place(), LAO)?;
            let rows = recorded::list(
                conn,
                lao.id,
                query.month.as_deref(),
                query.limit.unwrap_or(100),
                query.offset.unwrap_or(0),
            )?;
            Ok(rows
                .into_iter()
                .map(|r| RecordedSale::of(r, &lao.dla_code))
                .collect())
        })
        .await?;
    Ok(web::Json(rows))
}

/// A recorded sale and its LAO, for its LAO's staff.
fn recorded_for_change(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
) -> ApiResult<(recorded::RecordedSaleRow, LaoRow)> {
    let row = recorded::find(conn, id)?.ok_or_else(|| ApiError::not_found(RECORDED_SALE))?;
    let lao = crate::laos::model::find_by_id(conn, row.lao_id)?
        .ok_or_else(|| ApiError::not_found(RECORDED_SALE))?;
    let place: Place = lao.place();
    authorize_hidden(principal, Action::ManageProducers, &place, RECORDED_SALE)?;
    Ok((row, lao))
}

/// Correct a recorded sale
///
/// The whole record, as when it was made. Its old figures are reversed and the new ones counted.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Recorded sale id")),
    request_body = NewRecordedSale,
    responses(
        (status = 200, body = RecordedSale),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/recorded-sales/{id}")]
pub async fn replace_recorded_sale(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<NewRecordedSale>,
) -> ApiResult<web::Json<RecordedSale>> {
    let id = id.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let sale = state
        .db_tx(move |conn| {
            let (old, lao) = recorded_for_change(conn, &principal, id)?;
            let row = recorded::replace(conn, &lao, &old, &new, now)?;
            Ok(RecordedSale::of(row, &lao.dla_code))
        })
        .await?;
    Ok(web::Json(sale))
}

/// Delete a recorded sale
///
/// Its figures are reversed; the feed keeps both facts.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Recorded sale id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/recorded-sales/{id}")]
pub async fn delete_recorded_sale(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| {
            let (old, _) = recorded_for_change(conn, &principal, id)?;
            recorded::delete(conn, &old, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Make a report token
///
/// A read-only token for the figures of one area (and what lies inside it), for tools that
/// cannot sign in: Google Sheets pulls the programme's sheet with
/// `=IMPORTDATA("https://…/v1/stats/sales.csv?level=district&code=6306&fiscal_year=2569&token=kdr_…")`.
/// For officers and LAO staff, for their own area. The token is shown once.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    request_body = NewReportToken,
    responses(
        (status = 201, body = ReportTokenWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/report-tokens")]
pub async fn create_report_token(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewReportToken>,
) -> ApiResult<HttpResponse> {
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let made = state
        .db_tx(move |conn| {
            let scope = feed::scope(conn, new.level, new.code.as_deref())?;
            report_tokens::may_manage(&principal, &scope.place)?;
            report_tokens::create(conn, &scope, &new.label, &principal.actor_label(), now)
        })
        .await?;
    Ok(HttpResponse::Created().json(made))
}

/// Report tokens
///
/// The tokens of the areas the caller manages (revoked ones too), newest first, without their
/// secrets.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ReportToken>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/report-tokens")]
pub async fn list_report_tokens(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<web::Json<Vec<ReportToken>>> {
    let list = state
        .db(move |conn| Ok(report_tokens::list(conn, &principal)?))
        .await?;
    Ok(web::Json(list))
}

/// Revoke a report token
///
/// At once; idempotent.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/report-tokens/{id}")]
pub async fn revoke_report_token(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| report_tokens::revoke(conn, &principal, id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's producer id, when the caller is a producer of the LAO.
fn producer_of(conn: &mut DbConn, principal: &Principal, lao_id: i64) -> Option<i64> {
    let id = principal
        .area
        .producer_id
        .filter(|_| principal.role == crate::auth::Role::Producer)?;
    crate::catalog::producers::find_with_lao(conn, id)
        .ok()
        .flatten()
        .filter(|(p, _)| p.lao_id == lao_id)
        .map(|_| id)
}

/// Who registers a link for an LAO: its staff (`None`), or one of its producers (their id).
/// 404 when the caller may not see the LAO, 403 when they may see but not register.
fn link_author(conn: &mut DbConn, principal: &Principal, lao: &LaoRow) -> ApiResult<Option<i64>> {
    if let Some(producer_id) = producer_of(conn, principal, lao.id)
        && principal.may(
            Action::ManageProducerOffer,
            &lao.place().with_producer(producer_id),
        )
    {
        return Ok(Some(producer_id));
    }
    authorize_hidden(principal, Action::ManageProducers, &lao.place(), LAO)?;
    Ok(None)
}

/// Register a content link
///
/// A post the LAO (or one of its producers) published for the programme: its URL, the day it
/// was posted, its hashtags and the products it promotes. The platform comes from the URL; the
/// same post (the URL without tracking parameters) counts once in the whole country (409).
/// The answer says which of the LAO's required hashtags the post lacks.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)")),
    request_body = NewContentLink,
    responses(
        (status = 201, body = ContentLink),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{code}/content-links")]
pub async fn add_content_link(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    body: ValidJson<NewContentLink>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let link = state
        .db_tx(move |conn| {
            let lao = crate::laos::model::find_with_area(conn, &code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            let producer = link_author(conn, &principal, &lao.lao)?;
            let row = content_links::create(
                conn,
                &lao,
                producer,
                &new,
                &principal.actor_label(),
                sales::bangkok_date(now),
                now,
            )?;
            Ok(row.view(&lao))
        })
        .await?;
    Ok(HttpResponse::Created().json(link))
}

/// Which content links.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinksQuery {
    /// A Thai fiscal year (B.E.); default: the current one.
    #[param(minimum = 2560, maximum = 2700)]
    pub fiscal_year: Option<i32>,
    /// A calendar month, `2026-06`.
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// First Bangkok date (with `to`).
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub from: Option<String>,
    /// Last Bangkok date, included.
    #[param(pattern = "^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub to: Option<String>,
}

/// An LAO's content links
///
/// Newest first, each with the required hashtags it lacks. For the LAO's staff and producers
/// and officers of its area.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)"), LinksQuery),
    responses(
        (status = 200, body = Vec<ContentLink>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos/{code}/content-links")]
pub async fn list_content_links(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: ValidQuery<LinksQuery>,
) -> ApiResult<web::Json<Vec<ContentLink>>> {
    let code = code.into_inner();
    let ValidQuery(query) = query;
    let today = sales::bangkok_date(state.clock.now_naive());
    let links = state
        .db(move |conn| {
            let lao = crate::laos::model::find_with_area(conn, &code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            let may_see = principal.may(Action::ReadArea, &lao.lao.place())
                || producer_of(conn, &principal, lao.lao.id).is_some();
            if !may_see {
                return Err(ApiError::not_found(LAO));
            }
            let period = PeriodQuery {
                month: query.month.clone(),
                fiscal_year: query.fiscal_year,
                from: query.from.clone(),
                to: query.to.clone(),
                ..Default::default()
            }
            .resolve(today)?;
            Ok(
                content_links::of_lao(conn, lao.lao.id, period.from, period.to)?
                    .into_iter()
                    .map(|r| r.view(&lao))
                    .collect(),
            )
        })
        .await?;
    Ok(web::Json(links))
}

/// Remove a content link
///
/// It stops counting at once. For the LAO's staff, or the producer who registered it.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Content link id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/content-links/{id}")]
pub async fn delete_content_link(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| {
            let row =
                content_links::find(conn, id)?.ok_or_else(|| ApiError::not_found(CONTENT_LINK))?;
            let lao = crate::laos::model::find_by_id(conn, row.lao_id)?
                .ok_or_else(|| ApiError::not_found(CONTENT_LINK))?;
            let own = row.producer_id.is_some()
                && principal.role == crate::auth::Role::Producer
                && principal.area.producer_id == row.producer_id;
            if !own {
                // A producer of the LAO sees its links (403); others may not know of them (404).
                let fellow = producer_of(conn, &principal, lao.id).is_some();
                if fellow {
                    return Err(ApiError::forbidden());
                }
                authorize_hidden(
                    &principal,
                    Action::ManageProducers,
                    &lao.place(),
                    CONTENT_LINK,
                )?;
            }
            Ok(content_links::delete(conn, id, now)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Submit an LAO's report
///
/// For the LAO's staff: the report of a month (`month`) or a fiscal half (`fiscal_year`,
/// `half`). The LAO's figures and content links of the period are frozen into it. The district
/// officer then accepts it or returns it; after a return, submitting again makes a new version.
/// 409 while a version awaits review or once one is accepted.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)")),
    request_body = NewReport,
    responses(
        (status = 201, body = LaoReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{code}/reports")]
pub async fn submit_report(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    body: ValidJson<NewReport>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let report = state
        .db_tx(move |conn| {
            let lao = crate::laos::model::find_with_area(conn, &code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            authorize_hidden(&principal, Action::ManageProducers, &lao.lao.place(), LAO)?;
            let scope = feed::scope(conn, Level::Lao, Some(&code))?;
            let row = reports::submit(conn, &lao, &scope, &new, &principal.actor_label(), now)?;
            row.view(&code)
        })
        .await?;
    Ok(HttpResponse::Created().json(report))
}

/// An LAO's reports
///
/// Every version, newest period first. For the LAO's staff and officers of its area.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)")),
    responses(
        (status = 200, body = Vec<LaoReport>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos/{code}/reports")]
pub async fn list_reports(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
) -> ApiResult<web::Json<Vec<LaoReport>>> {
    let code = code.into_inner();
    let list = state
        .db(move |conn| {
            let lao = crate::laos::model::find_by_code(conn, &code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            authorize_hidden(&principal, Action::ReadArea, &lao.place(), LAO)?;
            reports::of_lao(conn, lao.id)?
                .into_iter()
                .map(|r| r.view(&code))
                .collect()
        })
        .await?;
    Ok(web::Json(list))
}

/// Accept or return a report
///
/// For the LAO's district officer (a province officer for a provincial administrative
/// organization, or an admin). Returning needs a comment. 409 when the version is not awaiting
/// review.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report id")),
    request_body = Review,
    responses(
        (status = 200, body = LaoReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/review")]
pub async fn review_report(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<Review>,
) -> ApiResult<web::Json<LaoReport>> {
    let id = id.into_inner();
    let ValidJson(review) = body;
    let now = state.clock.now_naive();
    let report = state
        .db_tx(move |conn| {
            let row = reports::find(conn, id)?.ok_or_else(|| ApiError::not_found(LAO_REPORT))?;
            let lao = crate::laos::model::find_by_id(conn, row.lao_id)?
                .ok_or_else(|| ApiError::not_found(LAO_REPORT))?;
            authorize_hidden(&principal, Action::ReadArea, &lao.place(), LAO_REPORT)?;
            let reviewer = matches!(
                principal.role,
                crate::auth::Role::Admin
                    | crate::auth::Role::ProvinceOfficer
                    | crate::auth::Role::DistrictOfficer
            );
            if !reviewer {
                return Err(ApiError::forbidden());
            }
            let row = reports::review(conn, &row, &review, &principal.actor_label(), now)?;
            row.view(&lao.dla_code)
        })
        .await?;
    Ok(web::Json(report))
}

/// Which coverage.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// `national`, `province`, `district` or `lao`.
    pub level: Level,
    pub code: Option<String>,
    /// The fiscal year (B.E.); default: the one `date` (or today) falls in.
    #[param(minimum = 2560, maximum = 2700)]
    #[validate(range(min = 2560, max = 2700))]
    pub fiscal_year: Option<i32>,
    /// As of this Bangkok day (default: today, or the last day of a past fiscal year).
    pub date: Option<NaiveDate>,
    /// A report token, as for `GET /v1/stats/sales`.
    #[validate(length(max = 100))]
    pub token: Option<String>,
}

/// Reporting coverage (the KPI)
///
/// The share of an area's LAOs (all imported LAOs are the denominator) that have submitted, and
/// that have had accepted, at least one report in a fiscal year so far, against the target in
/// force (50% by 31 March, 80% by 30 September), with the LAOs that have not reported.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(CoverageQuery),
    responses(
        (status = 200, body = Coverage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/coverage")]
pub async fn coverage(
    state: web::Data<AppState>,
    reader: Reader,
    query: ValidQuery<CoverageQuery>,
) -> ApiResult<web::Json<Coverage>> {
    let ValidQuery(query) = query;
    let today = sales::bangkok_date(state.clock.now_naive());
    let result = state
        .db(move |conn| {
            let scope = feed::scope(conn, query.level, query.code.as_deref())?;
            may_read(&reader, &scope)?;
            let fiscal_year = query.fiscal_year.unwrap_or_else(|| {
                super::periods::Period::fiscal_year_of(query.date.unwrap_or(today))
            });
            let year = super::periods::Period::fiscal_year(fiscal_year);
            let as_of = match query.date {
                Some(date) => date.min(year.to),
                // A fiscal year that has not begun is shown as of its first day: nothing is
                // reported yet. Only an explicit `date` before it is refused.
                None => today.clamp(year.from, year.to),
            };
            if as_of < year.from {
                return Err(
                    ApiError::new(crate::error::ErrorKind::InvalidParameter).field(
                        crate::error::FieldError::new("date", "before_fiscal_year")
                            .with("from", year.from.to_string()),
                    ),
                );
            }
            reports::coverage(conn, &scope, fiscal_year, as_of)
        })
        .await?;
    Ok(web::Json(result))
}

/// What an import recorded.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RecordedImport {
    pub imported: usize,
    /// The encoding the file was read in: `UTF-8` or `windows-874`.
    pub encoding: String,
    pub items: Vec<RecordedSale>,
}

/// Import recorded sales from a CSV file
///
/// For an LAO's staff: a CSV file (UTF-8, with or without a byte-order mark, or Windows-874 as
/// Thai Excel saves it) with a header row of these columns, in any order: วันที่ (`2026-06-14`
/// or `14/6/2569`) or เดือน (`2026-06` or `6/2569`), รหัสผู้ผลิต or จำนวนผู้ผลิต, รหัสสินค้า
/// (optional), ช่องทาง (facebook, tiktok, line, youtube, instagram, shopee, lazada, phone, other,
/// or their Thai names), จำนวนครั้งที่ขาย, รายรับ (บาท) (`1,234.50`), ลิงก์, หมายเหตุ (the API's
/// field names work too: date, month, producer_id…). All or nothing: every bad cell is reported
/// as `line N: column` (the header is line 1) and nothing is recorded until the file is right.
/// At most 5,000 rows.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The LAO's DLA code (7 digits)")),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses(
        (status = 201, body = RecordedImport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{code}/recorded-sales/import")]
pub async fn import_recorded_sales(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    principal: Principal,
    code: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let csv_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            (m.type_() == mime::TEXT && (m.subtype() == mime::CSV || m.subtype() == mime::PLAIN))
                || m.essence_str() == "application/vnd.ms-excel"
        });
    let code = code.into_inner();
    let now = state.clock.now_naive();
    let imported = state
        .db_tx(move |conn| {
            let lao = lao_for_recording(conn, &principal, &code)?;
            // Who may not import hears that first; then what the file must be.
            if !csv_type {
                return Err(ApiError::new(crate::error::ErrorKind::UnsupportedMediaType)
                    .with("expected", "text/csv"));
            }
            let (rows, encoding) =
                recorded::import_csv(conn, &lao, &body, &principal.actor_label(), now)?;
            Ok(RecordedImport {
                imported: rows.len(),
                encoding: encoding.to_string(),
                items: rows
                    .into_iter()
                    .map(|r| RecordedSale::of(r, &lao.dla_code))
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(imported))
}

/// The report to print (HTML)
///
/// One page in Thai for A4: the programme's table for an area and a period (the same query as
/// `GET /v1/stats/sales`; grouped one level down by default), the LAOs' reporting coverage
/// against the target when the period lies in one fiscal year, and a bar chart (SVG) of revenue
/// and sales. Accepts a report token like the feed.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(SalesQuery),
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/report.html")]
pub async fn report_page(
    state: web::Data<AppState>,
    reader: Reader,
    query: ValidQuery<SalesQuery>,
) -> ApiResult<HttpResponse> {
    let ValidQuery(query) = query;
    let today = sales::bangkok_date(state.clock.now_naive());
    let html = state
        .db(move |conn| {
            let (scope, report) = build_report(conn, &reader, &query, GroupBy::Area, today)?;
            let fy = super::periods::Period::fiscal_year_of(report.period.to);
            let area_coverage = if super::periods::Period::fiscal_year_of(report.period.from) == fy
                && report.period.from <= today
            {
                Some(reports::coverage(
                    conn,
                    &scope,
                    fy,
                    today.min(report.period.to),
                )?)
            } else {
                None
            };
            Ok(super::page::render(&report, area_coverage.as_ref()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

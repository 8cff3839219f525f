//! LAO period reports and coverage. An LAO submits its report for a month or a fiscal half: the
//! figures and links are frozen from the feed. Its district officer (a province officer for a
//! provincial administrative organization) accepts it or returns it with a comment; a
//! resubmission is a new version and every version stays. Coverage is the programme's KPI: the
//! share of all LAOs of an area that have submitted (and that have had accepted) at least one
//! report in a fiscal year so far, against the target in force: 50% by 31 March (end of the
//! first half), 80% by 30 September.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::feed::{self, FigureView, GroupBy, Narrowing, Scope};
use super::periods::Period;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::lao_reports;
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError};
use crate::i18n::Text;
use crate::laos::model::LaoWithArea;

pub const LAO_REPORT: Text = Text {
    en: "LAO report",
    th: "รายงานของ อปท.",
};

/// The status of a report version.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReportStatus {
    /// Waiting for the district officer.
    Submitted,
    Accepted,
    /// Sent back with a comment; the LAO submits a new version.
    Returned,
}

/// What an LAO reports on: a month (`month`), or a half of a fiscal year (`fiscal_year` and
/// `half`: 1 = Oct–Mar, 2 = Apr–Sep).
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"month": "2026-06", "note": "รวมยอดไลฟ์สดวันที่ 14"}))]
pub struct NewReport {
    /// `2026-06`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: Option<String>,
    /// The fiscal year (B.E.), with `half`.
    #[validate(range(min = 2560, max = 2700))]
    #[schema(minimum = 2560, maximum = 2700)]
    pub fiscal_year: Option<i32>,
    /// 1 (October–March) or 2 (April–September).
    #[validate(range(min = 1, max = 2))]
    #[schema(minimum = 1, maximum = 2)]
    pub half: Option<u8>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The figures a report froze.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportFigures {
    pub sales: i64,
    pub revenue_satang: i64,
    pub beneficiaries: i64,
    pub buyers: i64,
    pub content_links: i64,
    pub content_links_with_hashtags: i64,
    /// The URLs of the content links of the period.
    pub content_link_urls: Vec<String>,
}

/// A version of an LAO's report.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LaoReport {
    pub id: i64,
    pub lao_code: String,
    /// `2026-06` or `2569-H1`.
    pub period_key: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub fiscal_year: i32,
    pub version: i32,
    pub status: ReportStatus,
    /// Thai label of the status.
    pub status_th: String,
    pub figures: ReportFigures,
    pub note: Option<String>,
    pub submitted_by: String,
    pub submitted_at: DateTime<FixedOffset>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<FixedOffset>>,
    pub review_comment: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = lao_reports)]
pub struct ReportRow {
    pub id: i64,
    pub lao_id: i64,
    pub district_code: String,
    pub province_code: String,
    pub period_key: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub fiscal_year: i32,
    pub version: i32,
    pub status: String,
    pub figures: String,
    pub note: Option<String>,
    pub submitted_by: String,
    pub submitted_at: NaiveDateTime,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_comment: Option<String>,
}

impl ReportRow {
    pub fn status(&self) -> ReportStatus {
        self.status.parse().unwrap_or(ReportStatus::Submitted)
    }

    pub fn view(self, lao_code: &str) -> ApiResult<LaoReport> {
        let status = self.status();
        let figures: ReportFigures = serde_json::from_str(&self.figures)
            .map_err(|e| ApiError::internal(format!("report {} figures: {e}", self.id)))?;
        Ok(LaoReport {
            id: self.id,
            lao_code: lao_code.to_string(),
            period_key: self.period_key,
            period_from: self.period_from,
            period_to: self.period_to,
            fiscal_year: self.fiscal_year,
            version: self.version,
            status,
            status_th: match status {
                ReportStatus::Submitted => "รอตรวจ",
                ReportStatus::Accepted => "รับรองแล้ว",
                ReportStatus::Returned => "ส่งกลับให้แก้ไข",
            }
            .into(),
            figures,
            note: self.note,
            submitted_by: self.submitted_by,
            submitted_at: to_bangkok(self.submitted_at),
            reviewed_by: self.reviewed_by,
            reviewed_at: self.reviewed_at.map(to_bangkok),
            review_comment: self.review_comment,
        })
    }
}

/// The period a report names: `(key, period, fiscal year)`; 422 naming the field otherwise.
fn period_of(new: &NewReport, today: NaiveDate) -> ApiResult<(String, Period, i32)> {
    let (key, period) = match (&new.month, new.fiscal_year, new.half) {
        (Some(m), None, None) => {
            let first = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .ok()
                .filter(|_| m.len() == 7)
                .ok_or_else(|| ApiError::invalid_field("month", "invalid_month"))?;
            (m.clone(), Period::month(first.year(), first.month()))
        }
        (None, Some(fy), Some(half)) => (format!("{fy}-H{half}"), Period::fiscal_half(fy, half)),
        (None, Some(_), None) => return Err(ApiError::invalid_field("half", "required")),
        (None, None, Some(_)) => return Err(ApiError::invalid_field("fiscal_year", "required")),
        (None, None, None) => return Err(ApiError::invalid_field("month", "required")),
        _ => {
            return Err(ApiError::validation(vec![
                FieldError::new("month", "one_of").with("other", "month, fiscal_year + half"),
            ]));
        }
    };
    if period.to < super::recorded::earliest_date() {
        return Err(ApiError::validation(vec![
            FieldError::new(
                if new.month.is_some() {
                    "month"
                } else {
                    "fiscal_year"
                },
                "too_small",
            )
            .with("min", super::recorded::earliest_date().to_string()),
        ]));
    }
    if period.from > today {
        return Err(ApiError::validation(vec![
            FieldError::new(
                if new.month.is_some() {
                    "month"
                } else {
                    "fiscal_year"
                },
                "too_large",
            )
            .with("max", today.to_string()),
        ]));
    }
    Ok((key, period, Period::fiscal_year_of(period.from)))
}

fn conflict(en: &'static str, th: &'static str) -> ApiError {
    ApiError::new(ErrorKind::Conflict).with("reason", crate::error::Param::both(en, th))
}

/// The versions of an LAO's report for a period, oldest first.
fn versions(conn: &mut DbConn, lao_id: i64, key: &str) -> QueryResult<Vec<ReportRow>> {
    lao_reports::table
        .filter(lao_reports::lao_id.eq(lao_id))
        .filter(lao_reports::period_key.eq(key))
        .order(lao_reports::version)
        .select(ReportRow::as_select())
        .load(conn)
}

/// Submits an LAO's report: freezes the LAO's figures and links of the period. 409 while a
/// version awaits review or once one is accepted.
pub fn submit(
    conn: &mut DbConn,
    lao: &LaoWithArea,
    scope: &Scope,
    new: &NewReport,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<ReportRow> {
    let today = crate::sales::bangkok_date(now);
    let (key, period, fiscal_year) = period_of(new, today)?;
    let earlier = versions(conn, lao.lao.id, &key)?;
    if let Some(last) = earlier.last() {
        match last.status() {
            ReportStatus::Submitted => {
                return Err(conflict(
                    "the report of this period awaits the district's review",
                    "รายงานของช่วงนี้รออำเภอตรวจอยู่",
                ));
            }
            ReportStatus::Accepted => {
                return Err(conflict(
                    "the report of this period has been accepted",
                    "รายงานของช่วงนี้ได้รับการรับรองแล้ว",
                ));
            }
            ReportStatus::Returned => {}
        }
    }
    let report = feed::report(conn, scope, period, GroupBy::Lao, &Narrowing::default())?;
    let t: &FigureView = &report.total;
    let urls = super::links::urls_by_lao(conn, &scope.area, period.from, period.to)?
        .remove(&lao.lao.id)
        .unwrap_or_default();
    let figures = ReportFigures {
        sales: t.sales,
        revenue_satang: t.revenue_satang,
        beneficiaries: t.beneficiaries,
        buyers: t.buyers,
        content_links: t.content_links.unwrap_or(0),
        content_links_with_hashtags: t.content_links_with_hashtags.unwrap_or(0),
        content_link_urls: urls,
    };
    let version = earlier.last().map_or(1, |r| r.version + 1);
    let id: i64 = diesel::insert_into(lao_reports::table)
        .values((
            lao_reports::lao_id.eq(lao.lao.id),
            lao_reports::district_code.eq(&lao.lao.district_code),
            lao_reports::province_code.eq(&lao.lao.province_code),
            lao_reports::period_key.eq(&key),
            lao_reports::period_from.eq(period.from),
            lao_reports::period_to.eq(period.to),
            lao_reports::fiscal_year.eq(fiscal_year),
            lao_reports::version.eq(version),
            lao_reports::status.eq("submitted"),
            lao_reports::figures.eq(serde_json::to_string(&figures).unwrap_or_default()),
            lao_reports::note.eq(new.note.as_deref().map(str::trim)),
            lao_reports::submitted_by.eq(actor),
            lao_reports::submitted_at.eq(now),
        ))
        .returning(lao_reports::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::internal("a report just submitted"))
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ReportRow>> {
    lao_reports::table
        .find(id)
        .select(ReportRow::as_select())
        .first(conn)
        .optional()
}

/// Every version of an LAO's reports, newest period first.
pub fn of_lao(conn: &mut DbConn, lao_id: i64) -> QueryResult<Vec<ReportRow>> {
    lao_reports::table
        .filter(lao_reports::lao_id.eq(lao_id))
        .order((lao_reports::period_from.desc(), lao_reports::version.desc()))
        .select(ReportRow::as_select())
        .load(conn)
}

/// A review: accept, or return with a comment.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "return", "comment": "ลิงก์ที่ 2 ไม่มีแฮชแท็กของอำเภอ"}))]
pub struct Review {
    pub decision: Decision,
    /// Required when returning.
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Return,
}

/// Records a review of the latest version (409 when it is not awaiting review).
pub fn review(
    conn: &mut DbConn,
    row: &ReportRow,
    review: &Review,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<ReportRow> {
    let comment = review
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if review.decision == Decision::Return && comment.is_none() {
        return Err(ApiError::invalid_field("comment", "required"));
    }
    let status = match review.decision {
        Decision::Accept => "accepted",
        Decision::Return => "returned",
    };
    let moved = diesel::update(
        lao_reports::table
            .find(row.id)
            .filter(lao_reports::status.eq("submitted")),
    )
    .set((
        lao_reports::status.eq(status),
        lao_reports::reviewed_by.eq(Some(actor)),
        lao_reports::reviewed_at.eq(Some(now)),
        lao_reports::review_comment.eq(comment),
    ))
    .execute(conn)?;
    if moved != 1 {
        return Err(conflict(
            "this version is not awaiting review",
            "รายงานฉบับนี้ไม่ได้รอการตรวจ",
        ));
    }
    find(conn, row.id)?.ok_or_else(|| ApiError::not_found(LAO_REPORT))
}

/// Whether an accepted report of the LAO covers a Bangkok date: the LAO's recorded sales of that
/// day can then no longer change.
pub fn accepted_covers(conn: &mut DbConn, lao_id: i64, day: NaiveDate) -> QueryResult<bool> {
    let n: i64 = lao_reports::table
        .filter(lao_reports::lao_id.eq(lao_id))
        .filter(lao_reports::status.eq("accepted"))
        .filter(lao_reports::period_from.le(day))
        .filter(lao_reports::period_to.ge(day))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// An LAO that has not reported.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Unreported {
    pub dla_code: String,
    pub name_th: String,
    pub district_code: String,
    pub district_name_th: String,
}

/// The programme's KPI for an area and a fiscal year, as of a day.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Coverage {
    pub level: super::feed::Level,
    pub code: Option<String>,
    pub name_th: String,
    /// B.E.
    pub fiscal_year: i32,
    /// The Bangkok day the figures are as of (today; the end of a past fiscal year; the first
    /// day of one not begun).
    pub as_of: NaiveDate,
    /// Every LAO of the area: the denominator.
    pub laos: i64,
    /// LAOs with at least one report submitted in the fiscal year by `as_of`.
    pub submitted: i64,
    pub submitted_share: f64,
    /// LAOs with at least one report accepted by `as_of`.
    pub accepted: i64,
    pub accepted_share: f64,
    /// The target in force: 0.5 until 31 March, 0.8 until 30 September.
    pub target_share: f64,
    /// The day the target in force falls due.
    pub target_due: NaiveDate,
    pub submitted_meets_target: bool,
    pub accepted_meets_target: bool,
    /// LAOs with nothing submitted yet, by district.
    pub not_reported: Vec<Unreported>,
}

/// Coverage of an area in a fiscal year as of a Bangkok day.
pub fn coverage(
    conn: &mut DbConn,
    scope: &Scope,
    fiscal_year: i32,
    as_of: NaiveDate,
) -> ApiResult<Coverage> {
    use crate::sales::AreaFilter;
    let (province, district, only) = match &scope.area {
        AreaFilter::National => (None, None, None),
        AreaFilter::Province(p) => (Some(p.as_str()), None, None),
        AreaFilter::District(d) => (None, Some(d.as_str()), None),
        AreaFilter::Lao(id) => (None, None, Some(*id)),
    };
    let laos: Vec<LaoWithArea> = crate::laos::model::in_area(conn, province, district)?
        .into_iter()
        .filter(|l| only.is_none_or(|id| id == l.lao.id))
        .collect();
    let end_of_day = (as_of + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        - chrono::Duration::hours(7);
    let rows: Vec<(i64, String, NaiveDateTime, Option<NaiveDateTime>)> = lao_reports::table
        .filter(lao_reports::fiscal_year.eq(fiscal_year))
        .filter(lao_reports::submitted_at.lt(end_of_day))
        .select((
            lao_reports::lao_id,
            lao_reports::status,
            lao_reports::submitted_at,
            lao_reports::reviewed_at,
        ))
        .load(conn)?;
    let mut submitted = std::collections::HashSet::new();
    let mut accepted = std::collections::HashSet::new();
    for (lao, status, _, reviewed) in rows {
        submitted.insert(lao);
        if status == "accepted" && reviewed.is_some_and(|r| r < end_of_day) {
            accepted.insert(lao);
        }
    }
    let total = laos.len() as i64;
    let in_area = |set: &std::collections::HashSet<i64>| {
        laos.iter().filter(|l| set.contains(&l.lao.id)).count() as i64
    };
    let (n_submitted, n_accepted) = (in_area(&submitted), in_area(&accepted));
    let share = |n: i64| {
        if total == 0 {
            0.0
        } else {
            (n as f64 / total as f64 * 10_000.0).round() / 10_000.0
        }
    };
    let first_half = Period::fiscal_half(fiscal_year, 1);
    let (target_share, target_due) = if as_of <= first_half.to {
        (0.5, first_half.to)
    } else {
        (0.8, Period::fiscal_year(fiscal_year).to)
    };
    Ok(Coverage {
        level: scope.level,
        code: scope.code.clone(),
        name_th: scope.name_th.clone(),
        fiscal_year,
        as_of,
        laos: total,
        submitted: n_submitted,
        submitted_share: share(n_submitted),
        accepted: n_accepted,
        accepted_share: share(n_accepted),
        target_share,
        target_due,
        submitted_meets_target: share(n_submitted) >= target_share,
        accepted_meets_target: share(n_accepted) >= target_share,
        not_reported: laos
            .iter()
            .filter(|l| !submitted.contains(&l.lao.id))
            .map(|l| Unreported {
                dla_code: l.lao.dla_code.clone(),
                name_th: l.lao.full_name_th(),
                district_code: l.lao.district_code.clone(),
                district_name_th: l.district_name_th.clone(),
            })
            .collect(),
    })
}

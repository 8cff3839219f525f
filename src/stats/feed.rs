//! The sales feed: the programme's figures for an area and a period, grouped one way, every
//! LAO (district, province, month…) of the area present also with zeros.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::links::{self, LinkGroup};
use super::periods::Period;
use crate::auth::policy::Place;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError};
use crate::i18n::Text;
use crate::sales::{self, AreaFilter, Dimension, Figures, SaleChannel, Source};

/// An administrative level of the report chain (LAO → district → province → DLA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(as = ReportLevel)]
pub enum Level {
    National,
    Province,
    District,
    Lao,
}

/// How the rows of the feed are grouped.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GroupBy {
    /// The area one level down: provinces of the country, districts of a province, LAOs of a
    /// district (an LAO: itself).
    #[default]
    Area,
    /// Every LAO of the area (the programme's sheet).
    Lao,
    Crop,
    Channel,
    Source,
    Month,
}

/// The area a report covers, resolved and placed for authorization.
#[derive(Clone, Debug)]
pub struct Scope {
    pub level: Level,
    /// DOPA province (2 digits) or district (4) code, or the LAO's DLA code (7); none for the
    /// nation.
    pub code: Option<String>,
    pub name_th: String,
    pub name_en: String,
    pub place: Place,
    pub area: AreaFilter,
}

const NATION_TH: &str = "ทั้งประเทศ";

fn not_found(what: &'static str) -> ApiError {
    ApiError::not_found(match what {
        "province" => Text {
            en: "province",
            th: "จังหวัด",
        },
        "district" => Text {
            en: "district",
            th: "อำเภอ",
        },
        _ => Text {
            en: "LAO",
            th: "อปท.",
        },
    })
}

/// Resolves `level` and `code`: 400 when the code does not fit the level, 404 when no such
/// area exists.
pub fn scope(conn: &mut DbConn, level: Level, code: Option<&str>) -> ApiResult<Scope> {
    let digits = |n: usize| -> ApiResult<String> {
        match code {
            Some(c) if c.len() == n && c.bytes().all(|b| b.is_ascii_digit()) => Ok(c.to_string()),
            Some(_) => Err(ApiError::new(ErrorKind::InvalidParameter)
                .field(FieldError::new("code", "wrong_length").with("equal", n as i64))),
            None => Err(ApiError::invalid_parameter("code", "required")),
        }
    };
    match level {
        Level::National => {
            if code.is_some() {
                return Err(ApiError::invalid_parameter("code", "not_allowed"));
            }
            Ok(Scope {
                level,
                code: None,
                name_th: NATION_TH.into(),
                name_en: "Thailand".into(),
                place: Place {
                    province_code: String::new(),
                    district_code: String::new(),
                    lao_id: None,
                    producer_id: None,
                    province_wide: true,
                },
                area: AreaFilter::National,
            })
        }
        Level::Province => {
            let code = digits(2)?;
            let p = crate::geo::model::find_province(conn, &code)?
                .ok_or_else(|| not_found("province"))?;
            Ok(Scope {
                level,
                name_th: format!("จังหวัด{}", p.name_th),
                name_en: p.name_en,
                place: Place {
                    province_code: code.clone(),
                    district_code: String::new(),
                    lao_id: None,
                    producer_id: None,
                    province_wide: true,
                },
                area: AreaFilter::Province(code.clone()),
                code: Some(code),
            })
        }
        Level::District => {
            let code = digits(4)?;
            let d = crate::geo::model::find_district(conn, &code)?
                .ok_or_else(|| not_found("district"))?;
            Ok(Scope {
                level,
                name_th: district_label(&d.name_th),
                name_en: d.name_en,
                place: Place::district(&d.province_code, &code),
                area: AreaFilter::District(code.clone()),
                code: Some(code),
            })
        }
        Level::Lao => {
            let code = digits(7)?;
            let lao =
                crate::laos::model::find_with_area(conn, &code)?.ok_or_else(|| not_found("LAO"))?;
            Ok(Scope {
                level,
                name_th: lao.lao.full_name_th(),
                name_en: lao.lao.name_en.clone().unwrap_or_default(),
                place: lao.lao.place(),
                area: AreaFilter::Lao(lao.lao.id),
                code: Some(code),
            })
        }
    }
}

/// "อำเภอแม่สอด"; Bangkok's districts already read "เขต…".
fn district_label(name_th: &str) -> String {
    if name_th.starts_with("เขต") {
        name_th.to_string()
    } else {
        format!("อำเภอ{name_th}")
    }
}

/// Optional narrowing of the figures.
#[derive(Clone, Debug, Default)]
pub struct Narrowing {
    pub source: Option<Source>,
    pub channel: Option<SaleChannel>,
    pub crop_id: Option<i64>,
}

/// The figures of a row. Money in satang, and in baht as text (`1234.50`) for people.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
#[schema(as = SalesFigures)]
pub struct FigureView {
    /// Online sales: paid orders (net of refunds) plus the counts of recorded sales.
    pub sales: i64,
    /// Units sold, in the crop's sale unit; only when the rows are crops (units of different
    /// crops do not add up).
    pub units: Option<i64>,
    /// Revenue in satang, delivery fees not included.
    pub revenue_satang: i64,
    /// The same in baht, two decimals.
    pub revenue_baht: String,
    /// People who benefited: distinct producers with net sales (one person counted once through
    /// the citizen-id hash where known), plus the people of "several producers" records.
    pub beneficiaries: i64,
    /// Distinct buyers (pre-orders only: a recorded sale does not name its buyers).
    pub buyers: i64,
    /// Content links posted in the period (by area, LAO or month; none for other groupings,
    /// which links do not have).
    pub content_links: Option<i64>,
    /// Of those, the links that carry every required hashtag.
    pub content_links_with_hashtags: Option<i64>,
}

impl FigureView {
    fn of(f: &Figures, with_units: bool) -> FigureView {
        FigureView {
            sales: f.sales,
            units: with_units.then_some(f.units),
            revenue_satang: f.revenue_satang,
            revenue_baht: crate::spreadsheet::baht(f.revenue_satang),
            beneficiaries: f.beneficiaries,
            buyers: f.buyers,
            content_links: None,
            content_links_with_hashtags: None,
        }
    }
}

/// One row of the feed.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SalesRow)]
pub struct RowView {
    /// The group: a DOPA code (province, district), an LAO's DLA code, a crop slug, a channel, a
    /// source, or a month (`2026-06`).
    pub key: String,
    pub name_th: String,
    pub name_en: String,
    /// For LAO rows: their district.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district_name_th: Option<String>,
    /// For LAO and district rows: their province.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_name_th: Option<String>,
    #[serde(flatten)]
    pub figures: FigureView,
    /// For LAO rows: the LAO's id (for the sheet's link column).
    #[serde(skip)]
    pub lao_id: Option<i64>,
}

/// The period of a report.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ReportPeriod)]
pub struct PeriodView {
    /// First Bangkok date, included.
    pub from: chrono::NaiveDate,
    /// Last Bangkok date, included.
    pub to: chrono::NaiveDate,
    /// `1 ต.ค. 2568 – 30 ก.ย. 2569`.
    pub label_th: String,
}

/// The sales feed of an area and a period.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SalesReport {
    pub level: Level,
    pub code: Option<String>,
    pub name_th: String,
    pub name_en: String,
    pub period: PeriodView,
    pub group_by: GroupBy,
    pub rows: Vec<RowView>,
    /// The whole area (distinct people counted once across rows).
    pub total: FigureView,
}

fn row(key: String, name_th: String, name_en: String) -> RowView {
    RowView {
        key,
        name_th,
        name_en,
        district_code: None,
        district_name_th: None,
        province_code: None,
        province_name_th: None,
        figures: FigureView::default(),
        lao_id: None,
    }
}

/// Builds the feed: the rows of the group (zeros included) and the total.
pub fn report(
    conn: &mut DbConn,
    scope: &Scope,
    period: Period,
    group_by: GroupBy,
    narrowing: &Narrowing,
) -> ApiResult<SalesReport> {
    let filter = sales::FigureFilter {
        area: scope.area.clone(),
        from: period.from,
        to: period.to,
        source: narrowing.source,
        channel: narrowing.channel,
        crop_id: narrowing.crop_id,
    };
    // The rows every report shows, keyed as the figures are.
    let (dimension, mut rows, keys): (Dimension, Vec<RowView>, Vec<String>) = match group_by {
        GroupBy::Area | GroupBy::Lao => {
            let down = match (group_by, scope.level) {
                (GroupBy::Area, Level::National) => Dimension::Province,
                (GroupBy::Area, Level::Province) => Dimension::District,
                _ => Dimension::Lao,
            };
            area_rows(conn, scope, down)?
        }
        GroupBy::Crop => {
            let crops = crate::catalog::crops::list(conn, None, true, None, 100_000)?;
            let mut rows = Vec::new();
            let mut keys = Vec::new();
            for c in crops {
                keys.push(c.id.to_string());
                rows.push(row(c.slug, c.name_th, c.name_en));
            }
            keys.push("0".into());
            rows.push(row(
                "unspecified".into(),
                "ไม่ระบุพืชผล".into(),
                "Crop not given".into(),
            ));
            (Dimension::Crop, rows, keys)
        }
        GroupBy::Channel => {
            use strum::IntoEnumIterator;
            let (rows, keys) = SaleChannel::iter()
                .map(|c| {
                    let key = c.to_string();
                    (
                        row(key.clone(), c.name_th().into(), c.name_en().into()),
                        key,
                    )
                })
                .unzip();
            (Dimension::Channel, rows, keys)
        }
        GroupBy::Source => {
            use strum::IntoEnumIterator;
            let (rows, keys) = Source::iter()
                .map(|s| {
                    let key = s.to_string();
                    (row(key.clone(), s.name_th().into(), key.clone()), key)
                })
                .unzip();
            (Dimension::Source, rows, keys)
        }
        GroupBy::Month => {
            let (rows, keys) = period
                .months()
                .into_iter()
                .map(|m| (row(m.clone(), thai_month(&m), m.clone()), m))
                .unzip();
            (Dimension::Month, rows, keys)
        }
    };
    let figures = sales::figures(conn, &filter, dimension)?;
    let with_units = group_by == GroupBy::Crop;
    for f in &figures {
        if let Some(i) = keys.iter().position(|k| *k == f.key) {
            rows[i].figures = FigureView::of(f, with_units);
        } else if f.sales != 0 || f.revenue_satang != 0 {
            // Sales of an LAO that has left the area's list (never expected): shown, not lost.
            let mut extra = row(f.key.clone(), f.key.clone(), f.key.clone());
            extra.figures = FigureView::of(f, with_units);
            rows.push(extra);
        }
    }
    if with_units {
        for r in rows.iter_mut() {
            r.figures.units.get_or_insert(0);
        }
    }
    let mut total = sales::figures(conn, &filter, Dimension::All)?
        .into_iter()
        .next()
        .map(|f| FigureView::of(&f, false))
        .unwrap_or_default();
    for f in rows
        .iter_mut()
        .map(|r| &mut r.figures)
        .chain(std::iter::once(&mut total))
    {
        if f.revenue_baht.is_empty() {
            f.revenue_baht = crate::spreadsheet::baht(0);
        }
    }
    // Content links, where the grouping is one links have.
    let link_group = match dimension {
        Dimension::Province => Some(LinkGroup::Province),
        Dimension::District => Some(LinkGroup::District),
        Dimension::Lao => Some(LinkGroup::Lao),
        Dimension::Month => Some(LinkGroup::Month),
        _ => None,
    };
    let all = links::counts(conn, &scope.area, period.from, period.to, LinkGroup::All)?;
    let (n, complete) = all.first().map_or((0, 0), |(_, n, c)| (*n, *c));
    total.content_links = Some(n);
    total.content_links_with_hashtags = Some(complete);
    if let Some(group) = link_group {
        for r in rows.iter_mut() {
            r.figures.content_links = Some(0);
            r.figures.content_links_with_hashtags = Some(0);
        }
        for (key, n, complete) in links::counts(conn, &scope.area, period.from, period.to, group)? {
            if let Some(i) = keys.iter().position(|k| *k == key) {
                rows[i].figures.content_links = Some(n);
                rows[i].figures.content_links_with_hashtags = Some(complete);
            }
        }
    }
    Ok(SalesReport {
        level: scope.level,
        code: scope.code.clone(),
        name_th: scope.name_th.clone(),
        name_en: scope.name_en.clone(),
        period: PeriodView {
            from: period.from,
            to: period.to,
            label_th: period.label_th(),
        },
        group_by,
        rows,
        total,
    })
}

/// The rows of the areas one level (or, for LAOs, any levels) down.
fn area_rows(
    conn: &mut DbConn,
    scope: &Scope,
    down: Dimension,
) -> ApiResult<(Dimension, Vec<RowView>, Vec<String>)> {
    let mut rows = Vec::new();
    let mut keys = Vec::new();
    match down {
        Dimension::Province => {
            for p in crate::geo::model::list_provinces(conn)? {
                keys.push(p.code.clone());
                rows.push(row(p.code, p.name_th, p.name_en));
            }
        }
        Dimension::District => {
            let province = scope.code.as_deref().unwrap_or_default();
            let province_name = crate::geo::model::find_province(conn, province)?
                .map(|p| p.name_th)
                .unwrap_or_default();
            for d in crate::geo::model::list_districts(conn, province)? {
                keys.push(d.code.clone());
                let mut r = row(d.code, d.name_th, d.name_en);
                r.province_code = Some(d.province_code);
                r.province_name_th = Some(province_name.clone());
                rows.push(r);
            }
        }
        _ => {
            let (province, district, only) = match &scope.area {
                AreaFilter::National => (None, None, None),
                AreaFilter::Province(p) => (Some(p.as_str()), None, None),
                AreaFilter::District(d) => (None, Some(d.as_str()), None),
                AreaFilter::Lao(id) => (None, None, Some(*id)),
            };
            for l in crate::laos::model::in_area(conn, province, district)? {
                if only.is_some_and(|id| id != l.lao.id) {
                    continue;
                }
                keys.push(l.lao.id.to_string());
                let mut r = row(
                    l.lao.dla_code.clone(),
                    l.lao.full_name_th(),
                    l.lao.name_en.clone().unwrap_or_default(),
                );
                r.district_code = Some(l.lao.district_code.clone());
                r.district_name_th = Some(l.district_name_th.clone());
                r.province_code = Some(l.lao.province_code.clone());
                r.province_name_th = Some(l.province_name_th.clone());
                r.lao_id = Some(l.lao.id);
                rows.push(r);
            }
        }
    }
    Ok((down, rows, keys))
}

/// `2026-06` → `มิถุนายน 2569` (the calendar's month labels).
fn thai_month(key: &str) -> String {
    let (y, m) = key.split_once('-').unwrap_or((key, "1"));
    crate::calendar::months::label(y.parse().unwrap_or(0), m.parse().unwrap_or(1)).label_th
}

/// The feed as the programme's sheet (CSV, Thai headers): one row per group, the codes beside
/// the names and, per LAO, the URLs of its content links (one per line, as the ministry's sheet
/// lists them), through the shared spreadsheet writer. `urls`: each LAO's links by LAO id.
pub fn sheet(
    report: &SalesReport,
    urls: &std::collections::HashMap<i64, Vec<String>>,
) -> ApiResult<Vec<u8>> {
    use crate::spreadsheet::{Cell, SheetWriter};
    let by_lao = report.rows.iter().any(|r| r.lao_id.is_some());
    let by_district = !by_lao && report.rows.iter().any(|r| r.province_code.is_some());
    let with_links = report
        .rows
        .first()
        .is_some_and(|r| r.figures.content_links.is_some());
    let units = report.group_by == GroupBy::Crop;
    let mut headers: Vec<&str> = Vec::new();
    if by_lao {
        headers.extend([
            "รหัสจังหวัด",
            "จังหวัด",
            "รหัสอำเภอ",
            "อำเภอ",
            "รหัส อปท.",
            "อปท.",
            "ลิงก์เนื้อหา",
        ]);
    } else if by_district {
        headers.extend(["รหัสจังหวัด", "จังหวัด", "รหัสอำเภอ", "อำเภอ"]);
    } else {
        let (code, name) = group_header(report.group_by, report.level);
        headers.extend([code, name]);
    }
    headers.extend([
        "จำนวนครั้งที่ขายได้ผ่านออนไลน์",
        "รายรับ (บาท)",
        "จำนวนคนที่ได้รับประโยชน์",
        "จำนวนผู้ซื้อ",
    ]);
    if with_links {
        headers.extend(["จำนวนลิงก์เนื้อหา", "ลิงก์ที่มีแฮชแท็กครบ"]);
    }
    if units {
        headers.push("ปริมาณ (หน่วยขายของพืชผล)");
    }
    let mut w = SheetWriter::new(headers);
    for r in &report.rows {
        let mut cells: Vec<Cell> = Vec::new();
        if by_lao {
            let links = r
                .lao_id
                .and_then(|id| urls.get(&id))
                .map(|u| u.join("\n"))
                .unwrap_or_default();
            cells.extend([
                Cell::from(r.province_code.clone().unwrap_or_default()),
                Cell::from(r.province_name_th.clone().unwrap_or_default()),
                Cell::from(r.district_code.clone().unwrap_or_default()),
                Cell::from(r.district_name_th.clone().unwrap_or_default()),
                Cell::from(r.key.as_str()),
                Cell::from(r.name_th.as_str()),
                Cell::from(links),
            ]);
        } else if by_district {
            cells.extend([
                Cell::from(r.province_code.clone().unwrap_or_default()),
                Cell::from(r.province_name_th.clone().unwrap_or_default()),
                Cell::from(r.key.as_str()),
                Cell::from(r.name_th.as_str()),
            ]);
        } else {
            cells.extend([Cell::from(r.key.as_str()), Cell::from(r.name_th.as_str())]);
        }
        let f = &r.figures;
        cells.extend([
            Cell::from(f.sales),
            Cell::Satang(f.revenue_satang),
            Cell::from(f.beneficiaries),
            Cell::from(f.buyers),
        ]);
        if with_links {
            cells.push(Cell::from(f.content_links.unwrap_or(0)));
            cells.push(Cell::from(f.content_links_with_hashtags.unwrap_or(0)));
        }
        if units {
            cells.push(Cell::from(f.units.unwrap_or(0)));
        }
        w.row(cells).map_err(ApiError::internal)?;
    }
    w.finish().map_err(ApiError::internal)
}

fn group_header(group_by: GroupBy, level: Level) -> (&'static str, &'static str) {
    match (group_by, level) {
        (GroupBy::Area, Level::National) => ("รหัสจังหวัด", "จังหวัด"),
        (GroupBy::Crop, _) => ("พืชผล (รหัส)", "พืชผล"),
        (GroupBy::Channel, _) => ("ช่องทาง (รหัส)", "ช่องทาง"),
        (GroupBy::Source, _) => ("ที่มา (รหัส)", "ที่มา"),
        (GroupBy::Month, _) => ("เดือน", "เดือน (พ.ศ.)"),
        _ => ("รหัส", "ชื่อ"),
    }
}

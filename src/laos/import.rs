//! `khongdee import laos FILE`: imports the LAO registry from a CSV file, either in this
//! project's layout or as the official DLA open-data file (dataset dlads_05_01), idempotently.
//!
//! Reading is separated from writing: every row is checked against the geography first (pure
//! functions over a [`GeoIndex`], tested without a database); the accepted rows are then written
//! in one transaction. See `docs/laos-import.md`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDateTime;
use csv::StringRecord;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::laos;
use crate::db::{self, DbConn};
use crate::geo::model::{self as geo, District, Province};
use crate::laos::model::{LaoRow, LaoType, is_dla_code};

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// The layout recognised from the header row.
    pub layout: Option<Layout>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows that repeat an earlier row's DLA code in the official file (it lists each LAO once
    /// per subdistrict of its district); the first row wins and repeats are skipped.
    pub repeated: usize,
    pub rejected: Vec<RejectedRow>,
}

/// A row that could not be imported, with its line in the file.
#[derive(Debug, Serialize)]
pub struct RejectedRow {
    /// The 1-based physical line where the row starts.
    pub line: u64,
    pub reason: String,
}

/// The two CSV layouts the importer understands, told apart by their header row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `dla_code,type,type_th,name_th,province_code,district_code,district_name_th,lat,lon,area_km2`
    Project,
    /// The DLA open-data file `re01_9112566tambon.csv`, Thai headers, one row per LAO and subdistrict.
    Dla,
}

impl Layout {
    fn describe(self) -> &'static str {
        match self {
            Layout::Project => "this project's layout",
            Layout::Dla => "the DLA open-data layout (dataset dlads_05_01)",
        }
    }

    fn columns(self) -> &'static [ColumnSpec] {
        match self {
            Layout::Project => PROJECT_COLUMNS,
            Layout::Dla => DLA_COLUMNS,
        }
    }

    /// The header row as documented, for error messages.
    fn documented_header(self) -> &'static str {
        match self {
            Layout::Project => {
                "dla_code, type, type_th, name_th, province_code, district_code, district_name_th, lat, lon, area_km2"
            }
            Layout::Dla => {
                "จังหวัด, อำเภอ, ตำบล, รหัส อปท., ประเภท อปท., อปท., ที่ตั้งสำนักงานเลขที่, หมู่ที่, รหัสไปรษณีย์, ขนาดพื้นที่, LAT, LONG, เว็ปไซต์ของอปท"
            }
        }
    }
}

/// Imports LAOs from a CSV file in either supported layout.
///
/// `Err` only when the file cannot be read, its header matches neither layout, or the database
/// fails (then nothing is written); problems with single rows are listed in the report.
pub fn import_file(
    conn: &mut DbConn,
    path: &Path,
    now: NaiveDateTime,
) -> Result<ImportReport, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    import_bytes(conn, &bytes, now)
}

/// Imports LAOs from the contents of a CSV file (UTF-8, with or without BOM, or Windows-874).
pub fn import_bytes(
    conn: &mut DbConn,
    bytes: &[u8],
    now: NaiveDateTime,
) -> Result<ImportReport, String> {
    let started = Instant::now();
    let (text, encoding) = crate::spreadsheet::decode(bytes);
    let geo_index = GeoIndex::load(conn)
        .map_err(|e| format!("cannot read the provinces and districts: {e}"))?;
    if geo_index.provinces.is_empty() {
        return Err(
            "the database has no provinces yet: start the app or run migrations first".into(),
        );
    }
    let parsed = parse(&text, &geo_index)?;
    let counts = db::write_transaction(conn, |conn| upsert(conn, &parsed.records, now))
        .map_err(|e| format!("database error, nothing was imported: {e}"))?;
    let report = ImportReport {
        layout: Some(parsed.layout),
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        repeated: parsed.repeated,
        rejected: parsed.rejected,
    };
    tracing::info!(
        layout = ?parsed.layout,
        encoding,
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        repeated = report.repeated,
        rejected = report.rejected.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "LAO import finished"
    );
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Header detection

/// A column the importer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    DlaCode,
    Type,
    Name,
    ProvinceCode,
    ProvinceName,
    DistrictCode,
    DistrictName,
    Latitude,
    Longitude,
    Area,
    AddressNumber,
    Moo,
    PostalCode,
    Website,
}

struct ColumnSpec {
    column: Column,
    /// The header as documented.
    header: &'static str,
    /// Accepted spellings after [`normalize_header`].
    accepted: &'static [&'static str],
}

const fn spec(
    column: Column,
    header: &'static str,
    accepted: &'static [&'static str],
) -> ColumnSpec {
    ColumnSpec {
        column,
        header,
        accepted,
    }
}

/// Every column of this layout is required (`type_th` is informative and not read): a file
/// that lacks, say, `lat` must not silently clear the stored coordinates.
const PROJECT_COLUMNS: &[ColumnSpec] = &[
    spec(Column::DlaCode, "dla_code", &["dla_code"]),
    spec(Column::Type, "type", &["type"]),
    spec(Column::Name, "name_th", &["name_th"]),
    spec(Column::ProvinceCode, "province_code", &["province_code"]),
    spec(Column::DistrictCode, "district_code", &["district_code"]),
    spec(
        Column::DistrictName,
        "district_name_th",
        &["district_name_th"],
    ),
    spec(Column::Latitude, "lat", &["lat"]),
    spec(Column::Longitude, "lon", &["lon"]),
    spec(Column::Area, "area_km2", &["area_km2"]),
];

/// The official file's columns but ตำบล, which only repeats the subdistrict and is not read.
const DLA_COLUMNS: &[ColumnSpec] = &[
    spec(Column::ProvinceName, "จังหวัด", &["จังหวัด"]),
    spec(Column::DistrictName, "อำเภอ", &["อำเภอ"]),
    spec(Column::DlaCode, "รหัส อปท.", &["รหัสอปท"]),
    spec(Column::Type, "ประเภท อปท.", &["ประเภทอปท"]),
    spec(Column::Name, "อปท.", &["อปท", "ชื่ออปท"]),
    spec(Column::AddressNumber, "ที่ตั้งสำนักงานเลขที่", &["ที่ตั้งสำนักงานเลขที่"]),
    spec(Column::Moo, "หมู่ที่", &["หมู่ที่"]),
    spec(Column::PostalCode, "รหัสไปรษณีย์", &["รหัสไปรษณีย์"]),
    spec(Column::Area, "ขนาดพื้นที่", &["ขนาดพื้นที่"]),
    spec(Column::Latitude, "LAT", &["lat"]),
    spec(Column::Longitude, "LONG", &["long"]),
    spec(
        Column::Website,
        "เว็ปไซต์ของอปท",
        &[
            "เว็ปไซต์ของอปท",
            "เว็บไซต์ของอปท",
            "เว็ปไซด์ของอปท",
            "เว็บไซด์ของอปท",
            "เว็ปไซต์",
            "เว็บไซต์",
        ],
    ),
];

/// A header cell reduced for matching: no white space, BOM, zero-width space or dots;
/// ASCII in lower case ("รหัส อปท." and "รหัสอปท" match, "LAT" and "lat" too).
fn normalize_header(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '\u{feff}' | '\u{200b}'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The header row, understood: which layout, and where each column is.
#[derive(Debug)]
struct Header {
    layout: Layout,
    positions: HashMap<Column, usize>,
    /// The header cells as the file spells them, for messages.
    labels: Vec<String>,
}

impl Header {
    fn detect(cells: &StringRecord) -> Result<Header, String> {
        let normalized: Vec<String> = cells.iter().map(normalize_header).collect();
        let labels: Vec<String> = cells
            .iter()
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        if normalized.iter().all(String::is_empty) {
            return Err("the file is empty: the first line must be a header row".into());
        }
        let mut closest: Option<(Layout, Vec<&str>)> = None;
        for layout in [Layout::Project, Layout::Dla] {
            let mut positions = HashMap::new();
            let mut missing = Vec::new();
            for spec in layout.columns() {
                match normalized
                    .iter()
                    .position(|h| spec.accepted.contains(&h.as_str()))
                {
                    Some(i) => {
                        positions.insert(spec.column, i);
                    }
                    None => missing.push(spec.header),
                }
            }
            if missing.is_empty() {
                return Ok(Header {
                    layout,
                    positions,
                    labels,
                });
            }
            // Name the closest layout only when the file has some of its columns.
            if missing.len() < layout.columns().len()
                && closest
                    .as_ref()
                    .is_none_or(|(_, best)| missing.len() < best.len())
            {
                closest = Some((layout, missing));
            }
        }
        let closest = closest
            .map(|(layout, missing)| {
                format!(
                    " Closest is {}, which lacks: {}.",
                    layout.describe(),
                    missing.join(", ")
                )
            })
            .unwrap_or_default();
        Err(format!(
            "the header row matches neither supported layout. Expected {} ({}) or {} ({}); found: {}.{closest}",
            Layout::Project.describe(),
            Layout::Project.documented_header(),
            Layout::Dla.describe(),
            Layout::Dla.documented_header(),
            labels.join(", "),
        ))
    }

    /// The trimmed value of a column ("" when the layout has no such column or the row is short).
    fn value<'r>(&self, record: &'r StringRecord, column: Column) -> &'r str {
        self.positions
            .get(&column)
            .and_then(|&i| record.get(i))
            .map(str::trim)
            .unwrap_or("")
    }

    /// The column's header as written in the file.
    fn label(&self, column: Column) -> &str {
        self.positions
            .get(&column)
            .and_then(|&i| self.labels.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

// ---------------------------------------------------------------------------------------------
// Geography

/// Provinces and districts in memory, so that 80,000 official rows cost no queries each.
struct GeoIndex {
    provinces: Vec<Province>,
    /// Normalized Thai name → index in `provinces`.
    province_by_name: HashMap<String, usize>,
    districts_by_province: HashMap<String, Vec<District>>,
}

impl GeoIndex {
    fn load(conn: &mut DbConn) -> QueryResult<GeoIndex> {
        let provinces = geo::list_provinces(conn)?;
        let mut districts = Vec::new();
        for province in &provinces {
            districts.extend(geo::list_districts(conn, &province.code)?);
        }
        Ok(GeoIndex::new(provinces, districts))
    }

    fn new(provinces: Vec<Province>, districts: Vec<District>) -> GeoIndex {
        let mut districts_by_province: HashMap<String, Vec<District>> = HashMap::new();
        for district in districts {
            districts_by_province
                .entry(district.province_code.clone())
                .or_default()
                .push(district);
        }
        let province_by_name = provinces
            .iter()
            .enumerate()
            .map(|(i, p)| (geo::normalize_thai_name(&p.name_th, &[]), i))
            .collect();
        GeoIndex {
            provinces,
            province_by_name,
            districts_by_province,
        }
    }

    fn province_by_code(&self, code: &str) -> Option<&Province> {
        self.provinces.iter().find(|p| p.code == code)
    }

    /// "ตาก", "จังหวัดตาก", "จ. ตาก" all find Tak.
    fn province_by_name(&self, name: &str) -> Option<&Province> {
        let wanted = geo::normalize_thai_name(name, &["จังหวัด", "จ."]);
        self.province_by_name
            .get(&wanted)
            .and_then(|&i| self.provinces.get(i))
    }

    fn districts_of(&self, province_code: &str) -> &[District] {
        self.districts_by_province
            .get(province_code)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn district_in(&self, province_code: &str, district_code: &str) -> Option<&District> {
        self.districts_of(province_code)
            .iter()
            .find(|d| d.code == district_code)
    }

    fn district_by_name(&self, province_code: &str, name: &str) -> Option<&District> {
        geo::pick_district_by_name(self.districts_of(province_code), name)
    }

    fn district_anywhere(&self, district_code: &str) -> Option<&District> {
        self.districts_by_province
            .values()
            .flatten()
            .find(|d| d.code == district_code)
    }
}

// ---------------------------------------------------------------------------------------------
// Rows

/// An accepted row: the registry fields the import owns.
#[derive(Clone, Debug, PartialEq)]
struct LaoRecord {
    dla_code: String,
    lao_type: LaoType,
    name_th: String,
    province_code: String,
    district_code: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    area_km2: Option<f64>,
    /// The three below are written only when the file gives them; an empty cell keeps what is stored.
    address: Option<String>,
    postal_code: Option<String>,
    website: Option<String>,
}

struct Parsed {
    layout: Layout,
    records: Vec<LaoRecord>,
    repeated: usize,
    rejected: Vec<RejectedRow>,
}

fn parse(text: &str, geo_index: &GeoIndex) -> Result<Parsed, String> {
    // The csv crate counts lines one short after CRLF; with LF its line is the physical line.
    let text = if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header_cells = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    let header = Header::detect(&header_cells)?;
    let width = header_cells.len();
    let mut parsed = Parsed {
        layout: header.layout,
        records: Vec::new(),
        repeated: 0,
        rejected: Vec::new(),
    };
    let mut first_line_of_code: HashMap<String, u64> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map(|p| p.line()).unwrap_or(0);
                parsed.rejected.push(RejectedRow {
                    line,
                    reason: format!("The row cannot be read as CSV: {error}."),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let reject = |reason: String| RejectedRow { line, reason };
        // Extra empty cells at the end (a spreadsheet's trailing commas) are harmless.
        let used = (0..record.len())
            .rev()
            .find(|&i| record.get(i).is_some_and(|cell| !cell.trim().is_empty()))
            .map_or(0, |i| i + 1);
        if record.len() < width || used > width {
            parsed.rejected.push(reject(format!(
                "The row has {} fields but the header has {width}; is a comma inside a value not quoted?",
                record.len()
            )));
            continue;
        }
        let code = header.value(&record, Column::DlaCode);
        if !code.is_empty() {
            if let Some(&first) = first_line_of_code.get(code) {
                match header.layout {
                    Layout::Dla => parsed.repeated += 1,
                    Layout::Project => parsed.rejected.push(reject(format!(
                        "The DLA code \"{code}\" in column \"{}\" already appeared on line {first}.",
                        header.label(Column::DlaCode)
                    ))),
                }
                continue;
            }
            first_line_of_code.insert(code.to_string(), line);
        }
        match read_row(&header, &record, geo_index) {
            Ok(lao) => parsed.records.push(lao),
            Err(reason) => parsed.rejected.push(reject(reason)),
        }
    }
    Ok(parsed)
}

/// Checks one row and resolves its province and district.
fn read_row(
    header: &Header,
    record: &StringRecord,
    geo_index: &GeoIndex,
) -> Result<LaoRecord, String> {
    let value = |column| header.value(record, column);
    let label = |column| header.label(column);

    let dla_code = value(Column::DlaCode);
    if dla_code.is_empty() {
        return Err(format!(
            "The DLA code in column \"{}\" is empty.",
            label(Column::DlaCode)
        ));
    }
    if !is_dla_code(dla_code) {
        return Err(format!(
            "The DLA code \"{dla_code}\" in column \"{}\" is not 7 digits.",
            label(Column::DlaCode)
        ));
    }

    let raw_type = value(Column::Type);
    let lao_type = LaoType::parse_any(raw_type).ok_or_else(|| {
        format!(
            "The type \"{raw_type}\" in column \"{}\" is not an LAO type (อบจ., เทศบาลนคร, เทศบาลเมือง, เทศบาลตำบล, อบต., ท้องถิ่นรูปแบบพิเศษ, or a code such as subdistrict_admin_org).",
            label(Column::Type)
        )
    })?;

    let raw_name = value(Column::Name);
    let name_th = strip_type_prefix(raw_name);
    if raw_name.is_empty() {
        return Err(format!(
            "The LAO name in column \"{}\" is empty.",
            label(Column::Name)
        ));
    }
    if name_th.is_empty() {
        return Err(format!(
            "The LAO name \"{raw_name}\" in column \"{}\" is only a type, without a name.",
            label(Column::Name)
        ));
    }

    let (province, district) = match header.layout {
        Layout::Project => project_area(header, record, geo_index)?,
        Layout::Dla => dla_area(header, record, geo_index, dla_code)?,
    };

    let latitude = parse_coordinate(
        value(Column::Latitude),
        label(Column::Latitude),
        Axis::Latitude,
    )?;
    let longitude = parse_coordinate(
        value(Column::Longitude),
        label(Column::Longitude),
        Axis::Longitude,
    )?;
    let area_km2 = parse_area(value(Column::Area), label(Column::Area))?;

    let postal_code = meaningful(value(Column::PostalCode)).and_then(|p| {
        if p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit()) {
            Some(p.to_string())
        } else {
            tracing::debug!(
                dla_code,
                postal_code = p,
                "ignored a postal code that is not 5 digits"
            );
            None
        }
    });

    Ok(LaoRecord {
        dla_code: dla_code.to_string(),
        lao_type,
        name_th,
        province_code: province.code.clone(),
        district_code: district.code.clone(),
        latitude,
        longitude,
        area_km2,
        address: office_address(value(Column::AddressNumber), value(Column::Moo)),
        postal_code,
        website: meaningful(value(Column::Website)).map(str::to_string),
    })
}

/// Project layout: province and district by code; a PAO row has no district code, so its
/// district (the office's) is found by name within the province.
fn project_area<'g>(
    header: &Header,
    record: &StringRecord,
    geo_index: &'g GeoIndex,
) -> Result<(&'g Province, &'g District), String> {
    let value = |column| header.value(record, column);
    let label = |column| header.label(column);

    let province_code = value(Column::ProvinceCode);
    let province = geo_index.province_by_code(province_code).ok_or_else(|| {
        if province_code.is_empty() {
            format!(
                "The province code in column \"{}\" is empty.",
                label(Column::ProvinceCode)
            )
        } else {
            format!(
                "The province code \"{province_code}\" in column \"{}\" is not a known province.",
                label(Column::ProvinceCode)
            )
        }
    })?;

    let district_code = value(Column::DistrictCode);
    if !district_code.is_empty() {
        if let Some(district) = geo_index.district_in(&province.code, district_code) {
            return Ok((province, district));
        }
        return Err(match geo_index.district_anywhere(district_code) {
            Some(other) => format!(
                "The district code \"{district_code}\" in column \"{}\" belongs to province {}, not to {} ({}).",
                label(Column::DistrictCode),
                other.province_code,
                province.name_th,
                province.code
            ),
            None => format!(
                "The district code \"{district_code}\" in column \"{}\" is not a known district.",
                label(Column::DistrictCode)
            ),
        });
    }

    let district_name = value(Column::DistrictName);
    if district_name.is_empty() {
        return Err(format!(
            "Both \"{}\" and \"{}\" are empty: the district is unknown.",
            label(Column::DistrictCode),
            label(Column::DistrictName)
        ));
    }
    geo_index
        .district_by_name(&province.code, district_name)
        .map(|district| (province, district))
        .ok_or_else(|| {
            format!(
                "The district \"{district_name}\" in column \"{}\" is not a district of {} ({}), and column \"{}\" is empty.",
                label(Column::DistrictName),
                province.name_th,
                province.code,
                label(Column::DistrictCode)
            )
        })
}

/// Official layout: province and district by Thai name; when the district name does not match,
/// the district encoded in the DLA code (digits 2–5) is used if it lies in that province.
fn dla_area<'g>(
    header: &Header,
    record: &StringRecord,
    geo_index: &'g GeoIndex,
    dla_code: &str,
) -> Result<(&'g Province, &'g District), String> {
    let value = |column| header.value(record, column);
    let label = |column| header.label(column);

    let province_name = value(Column::ProvinceName);
    if province_name.is_empty() {
        return Err(format!(
            "The province in column \"{}\" is empty.",
            label(Column::ProvinceName)
        ));
    }
    let province = geo_index.province_by_name(province_name).ok_or_else(|| {
        format!(
            "The province \"{province_name}\" in column \"{}\" matches no province name.",
            label(Column::ProvinceName)
        )
    })?;

    let district_name = value(Column::DistrictName);
    if !district_name.is_empty()
        && let Some(district) = geo_index.district_by_name(&province.code, district_name)
    {
        return Ok((province, district));
    }
    let coded = dla_code.get(1..5).unwrap_or("");
    if let Some(district) = geo_index.district_in(&province.code, coded) {
        tracing::debug!(
            dla_code,
            district_name,
            district_code = %district.code,
            "district resolved from the DLA code"
        );
        return Ok((province, district));
    }
    let named = if district_name.is_empty() {
        format!(
            "The district in column \"{}\" is empty",
            label(Column::DistrictName)
        )
    } else {
        format!(
            "The district \"{district_name}\" in column \"{}\" is not a district of {} ({})",
            label(Column::DistrictName),
            province.name_th,
            province.code
        )
    };
    Err(format!(
        "{named}, and neither is district {coded} taken from DLA code {dla_code}."
    ))
}

/// Prefixes that name the type rather than the place; the registry stores the bare name and
/// the app adds the prefix back (`full_name_th`). Short forms are stripped only with their dot
/// (or as อบต/อบจ, which no place name begins with): "ทมอ" is a real name.
const TYPE_PREFIXES: &[&str] = &[
    "องค์การบริหารส่วนจังหวัด",
    "องค์การบริหารส่วนตำบล",
    "เทศบาลนคร",
    "เทศบาลเมือง",
    "เทศบาลตำบล",
    "อบจ.",
    "อบต.",
    "อบจ",
    "อบต",
    "ทน.",
    "ทม.",
    "ทต.",
];

/// "เทศบาลตำบลแม่กุ" → "แม่กุ", "อบต. แม่ปะ" → "แม่ปะ", "เมืองพัทยา" stays; "อบต." alone → "".
fn strip_type_prefix(raw: &str) -> String {
    let name = raw.trim();
    TYPE_PREFIXES
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
        .trim()
        .to_string()
}

/// The cell's value unless it is one of the fillers the DLA file uses for "none".
fn meaningful(raw: &str) -> Option<&str> {
    let value = raw.trim();
    let unquoted = value.trim_matches('"').trim();
    let filler = matches!(
        unquoted.to_lowercase().as_str(),
        "" | "-" | "--" | "–" | "—" | "_" | "ไม่มี" | "null" | "n/a"
    );
    (!filler).then_some(value)
}

/// A number as the files write it: fillers are absent, thousands separators are allowed.
fn parse_number(raw: &str) -> Result<Option<f64>, ()> {
    let Some(value) = meaningful(raw) else {
        return Ok(None);
    };
    let compact: String = value.chars().filter(|c| *c != ',').collect();
    match compact.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    Latitude,
    Longitude,
}

impl Axis {
    fn name(self) -> &'static str {
        match self {
            Axis::Latitude => "latitude",
            Axis::Longitude => "longitude",
        }
    }

    /// Thailand with a margin.
    fn range(self) -> RangeInclusive<f64> {
        match self {
            Axis::Latitude => 5.0..=21.0,
            Axis::Longitude => 97.0..=106.0,
        }
    }

    fn other(self) -> Axis {
        match self {
            Axis::Latitude => Axis::Longitude,
            Axis::Longitude => Axis::Latitude,
        }
    }
}

fn parse_coordinate(raw: &str, label: &str, axis: Axis) -> Result<Option<f64>, String> {
    let Ok(value) = parse_number(raw) else {
        return Err(format!(
            "The {} \"{}\" in column \"{label}\" is not a number.",
            axis.name(),
            raw.trim()
        ));
    };
    match value {
        Some(v) if !axis.range().contains(&v) => {
            let range = axis.range();
            let hint = if axis.other().range().contains(&v) {
                "; are latitude and longitude swapped?"
            } else {
                "."
            };
            Err(format!(
                "The {} {v} in column \"{label}\" is outside Thailand ({} to {}){hint}",
                axis.name(),
                range.start(),
                range.end()
            ))
        }
        other => Ok(other),
    }
}

fn parse_area(raw: &str, label: &str) -> Result<Option<f64>, String> {
    match parse_number(raw) {
        Err(()) => Err(format!(
            "The area \"{}\" in column \"{label}\" is not a number.",
            raw.trim()
        )),
        Ok(Some(v)) if v < 0.0 => Err(format!("The area {v} in column \"{label}\" is negative.")),
        Ok(area) => Ok(area),
    }
}

/// "เลขที่ 99 หมู่ 3" from the office's house number and village number, when given.
fn office_address(number: &str, moo: &str) -> Option<String> {
    let number = meaningful(number)
        .map(|n| n.strip_prefix("เลขที่").unwrap_or(n).trim())
        .filter(|n| !n.is_empty());
    let moo = meaningful(moo)
        .map(|m| {
            ["หมู่ที่", "หมู่", "ม."]
                .iter()
                .find_map(|p| m.strip_prefix(p))
                .unwrap_or(m)
                .trim()
        })
        .filter(|m| !m.is_empty() && *m != "0");
    match (number, moo) {
        (Some(n), Some(m)) => Some(format!("เลขที่ {n} หมู่ {m}")),
        (Some(n), None) => Some(format!("เลขที่ {n}")),
        (None, Some(m)) => Some(format!("หมู่ {m}")),
        (None, None) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

#[derive(Debug, Default)]
struct Counts {
    created: usize,
    updated: usize,
    unchanged: usize,
}

#[derive(Insertable)]
#[diesel(table_name = laos)]
struct NewLao<'a> {
    dla_code: &'a str,
    lao_type: &'a str,
    name_th: &'a str,
    province_code: &'a str,
    district_code: &'a str,
    address: Option<&'a str>,
    postal_code: Option<&'a str>,
    website: Option<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    area_km2: Option<f64>,
    allowed_origins: &'a str,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl LaoRecord {
    /// The optional fields as they will be stored: the file's value, or the stored one when the
    /// file leaves the cell empty.
    fn merged_optional<'a>(&'a self, stored: &'a LaoRow) -> [Option<&'a str>; 3] {
        [
            self.address.as_deref().or(stored.address.as_deref()),
            self.postal_code
                .as_deref()
                .or(stored.postal_code.as_deref()),
            self.website.as_deref().or(stored.website.as_deref()),
        ]
    }

    /// Whether the stored row already holds every field this import owns.
    fn matches(&self, stored: &LaoRow) -> bool {
        let [address, postal_code, website] = self.merged_optional(stored);
        stored.lao_type == self.lao_type
            && stored.name_th == self.name_th
            && stored.province_code == self.province_code
            && stored.district_code == self.district_code
            && stored.latitude == self.latitude
            && stored.longitude == self.longitude
            && stored.area_km2 == self.area_km2
            && stored.address.as_deref() == address
            && stored.postal_code.as_deref() == postal_code
            && stored.website.as_deref() == website
    }
}

/// Inserts new LAOs and updates changed ones, one statement per row (MultiConnection has no
/// upsert or batch insert). Fields managed in the app (name_en, phone, email, allowed_origins,
/// active) are never written for an existing LAO.
fn upsert(conn: &mut DbConn, records: &[LaoRecord], now: NaiveDateTime) -> QueryResult<Counts> {
    let existing: HashMap<String, LaoRow> = laos::table
        .select(LaoRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| (row.dla_code.clone(), row))
        .collect();
    let mut counts = Counts::default();
    for record in records {
        match existing.get(&record.dla_code) {
            None => {
                diesel::insert_into(laos::table)
                    .values(NewLao {
                        dla_code: &record.dla_code,
                        lao_type: record.lao_type.as_ref(),
                        name_th: &record.name_th,
                        province_code: &record.province_code,
                        district_code: &record.district_code,
                        address: record.address.as_deref(),
                        postal_code: record.postal_code.as_deref(),
                        website: record.website.as_deref(),
                        latitude: record.latitude,
                        longitude: record.longitude,
                        area_km2: record.area_km2,
                        allowed_origins: "",
                        active: true,
                        created_at: now,
                        updated_at: now,
                    })
                    .execute(conn)?;
                counts.created += 1;
            }
            Some(stored) if record.matches(stored) => counts.unchanged += 1,
            Some(stored) => {
                let [address, postal_code, website] = record.merged_optional(stored);
                diesel::update(laos::table.find(stored.id))
                    .set((
                        laos::lao_type.eq(record.lao_type.as_ref()),
                        laos::name_th.eq(&record.name_th),
                        laos::province_code.eq(&record.province_code),
                        laos::district_code.eq(&record.district_code),
                        laos::latitude.eq(record.latitude),
                        laos::longitude.eq(record.longitude),
                        laos::area_km2.eq(record.area_km2),
                        laos::address.eq(address),
                        laos::postal_code.eq(postal_code),
                        laos::website.eq(website),
                        laos::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                counts.updated += 1;
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> StringRecord {
        StringRecord::from(cells.to_vec())
    }

    const PROJECT_HEADER: &[&str] = &[
        "dla_code",
        "type",
        "type_th",
        "name_th",
        "province_code",
        "district_code",
        "district_name_th",
        "lat",
        "lon",
        "area_km2",
    ];

    const DLA_HEADER: &[&str] = &[
        "จังหวัด",
        "อำเภอ",
        "ตำบล",
        "รหัส อปท.",
        "ประเภท อปท.",
        "อปท.",
        "ที่ตั้งสำนักงานเลขที่",
        "หมู่ที่",
        "รหัสไปรษณีย์",
        "ขนาดพื้นที่",
        "LAT",
        "LONG",
        "เว็ปไซต์ของอปท",
    ];

    fn tak() -> GeoIndex {
        let province = |code: &str, name: &str| Province {
            code: code.into(),
            name_th: name.into(),
            name_en: String::new(),
        };
        let district = |code: &str, name: &str| District {
            code: code.into(),
            province_code: code[..2].into(),
            name_th: name.into(),
            name_en: String::new(),
        };
        GeoIndex::new(
            vec![province("50", "เชียงใหม่"), province("63", "ตาก")],
            vec![
                district("5001", "เมืองเชียงใหม่"),
                district("6301", "เมืองตาก"),
                district("6306", "แม่สอด"),
                district("6308", "อุ้มผาง"),
            ],
        )
    }

    fn dla_row(cells: [&str; 13]) -> Result<LaoRecord, String> {
        let header = Header::detect(&record(DLA_HEADER)).expect("DLA header");
        read_row(&header, &record(&cells), &tak())
    }

    fn project_row(cells: [&str; 10]) -> Result<LaoRecord, String> {
        let header = Header::detect(&record(PROJECT_HEADER)).expect("project header");
        read_row(&header, &record(&cells), &tak())
    }

    #[test]
    fn detects_the_project_layout() {
        let header = Header::detect(&record(PROJECT_HEADER)).unwrap();
        assert_eq!(header.layout, Layout::Project);
        assert_eq!(header.positions[&Column::Area], 9);
        // BOM, spaces, upper case and another order are fine; type_th is optional.
        let header = Header::detect(&record(&[
            "\u{feff}DLA_CODE ",
            " name_th",
            "type",
            "province_code",
            "district_code",
            "district_name_th",
            "lon",
            "lat",
            "area_km2",
        ]))
        .unwrap();
        assert_eq!(header.layout, Layout::Project);
        assert_eq!(header.positions[&Column::Latitude], 7);
        assert_eq!(header.label(Column::DlaCode), "DLA_CODE");
    }

    #[test]
    fn detects_the_dla_layout_and_its_spelling_variants() {
        let header = Header::detect(&record(DLA_HEADER)).unwrap();
        assert_eq!(header.layout, Layout::Dla);
        assert_eq!(header.positions[&Column::DlaCode], 3);
        assert_eq!(header.positions[&Column::Name], 5);
        assert_eq!(header.label(Column::DlaCode), "รหัส อปท.");

        let mut variant: Vec<&str> = DLA_HEADER.to_vec();
        variant[3] = "รหัสอปท";
        variant[4] = " ประเภท  อปท ";
        variant[10] = "lat";
        variant[12] = "เว็บไซต์ของ อปท.";
        let header = Header::detect(&record(&variant)).unwrap();
        assert_eq!(header.layout, Layout::Dla);
        assert_eq!(header.positions[&Column::Website], 12);
    }

    #[test]
    fn a_header_of_neither_layout_says_what_was_expected() {
        let mut without_lat: Vec<&str> = DLA_HEADER.to_vec();
        without_lat.remove(10);
        let error = Header::detect(&record(&without_lat)).unwrap_err();
        assert!(error.contains("matches neither"), "{error}");
        assert!(error.contains("dla_code, type, type_th"), "{error}");
        assert!(error.contains("รหัส อปท., ประเภท อปท."), "{error}");
        assert!(
            error.contains(
                "Closest is the DLA open-data layout (dataset dlads_05_01), which lacks: LAT."
            ),
            "{error}"
        );
        let error = Header::detect(&record(&["id", "name"])).unwrap_err();
        assert!(error.ends_with("found: id, name."), "{error}");
        assert!(
            Header::detect(&record(&[""]))
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn decodes_utf8_and_windows_874() {
        let text = "จังหวัด,อปท.\nตาก,แม่ปะ\n";
        let (decoded, encoding) = crate::spreadsheet::decode(text.as_bytes());
        assert_eq!((decoded.as_ref(), encoding), (text, "UTF-8"));

        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(crate::spreadsheet::decode(&with_bom).0, text);

        let (legacy, _, unmappable) = encoding_rs::WINDOWS_874.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&legacy).is_err());
        let (decoded, encoding) = crate::spreadsheet::decode(&legacy);
        assert_eq!((decoded.as_ref(), encoding), (text, "windows-874"));
    }

    #[test]
    fn strips_type_prefixes_from_names() {
        assert_eq!(strip_type_prefix("เทศบาลตำบลแม่กุ"), "แม่กุ");
        assert_eq!(strip_type_prefix("อบต.แม่ปะ"), "แม่ปะ");
        assert_eq!(strip_type_prefix(" อบต. แม่ปะ "), "แม่ปะ");
        assert_eq!(strip_type_prefix("องค์การบริหารส่วนตำบลพะวอ"), "พะวอ");
        assert_eq!(strip_type_prefix("องค์การบริหารส่วนจังหวัดตาก"), "ตาก");
        assert_eq!(strip_type_prefix("เทศบาลนครแม่สอด"), "แม่สอด");
        assert_eq!(strip_type_prefix("เทศบาลเมืองเมืองพล"), "เมืองพล");
        assert_eq!(strip_type_prefix("ทต.แม่ตาว"), "แม่ตาว");
        // Real names that only look like a prefix stay whole.
        assert_eq!(strip_type_prefix("ทมอ"), "ทมอ");
        assert_eq!(strip_type_prefix("เมืองพัทยา"), "เมืองพัทยา");
        assert_eq!(strip_type_prefix("แม่กุ"), "แม่กุ");
        assert_eq!(strip_type_prefix("อบต."), "");
    }

    #[test]
    fn parses_numbers_and_fillers() {
        assert_eq!(parse_number(""), Ok(None));
        assert_eq!(parse_number(" - "), Ok(None));
        assert_eq!(parse_number("\"-\""), Ok(None));
        assert_eq!(parse_number("16.72"), Ok(Some(16.72)));
        assert_eq!(parse_number(" 1,240.5 "), Ok(Some(1240.5)));
        assert_eq!(parse_number("0"), Ok(Some(0.0)));
        assert_eq!(parse_number("abc"), Err(()));
        assert_eq!(parse_number("NaN"), Err(()));
        assert_eq!(parse_number("inf"), Err(()));

        assert_eq!(
            parse_coordinate("16.7", "LAT", Axis::Latitude),
            Ok(Some(16.7))
        );
        assert_eq!(parse_coordinate("", "LAT", Axis::Latitude), Ok(None));
        let swapped = parse_coordinate("98.56", "LAT", Axis::Latitude).unwrap_err();
        assert_eq!(
            swapped,
            "The latitude 98.56 in column \"LAT\" is outside Thailand (5 to 21); are latitude and longitude swapped?"
        );
        let far = parse_coordinate("140", "lon", Axis::Longitude).unwrap_err();
        assert_eq!(
            far,
            "The longitude 140 in column \"lon\" is outside Thailand (97 to 106)."
        );
        assert!(
            parse_coordinate("16,7x", "LAT", Axis::Latitude)
                .unwrap_err()
                .contains("\"16,7x\" in column \"LAT\" is not a number")
        );
        assert_eq!(parse_area("9.1", "area_km2"), Ok(Some(9.1)));
        assert!(
            parse_area("-1", "area_km2")
                .unwrap_err()
                .contains("negative")
        );
    }

    #[test]
    fn builds_office_addresses() {
        assert_eq!(office_address("99", "3").as_deref(), Some("เลขที่ 99 หมู่ 3"));
        assert_eq!(office_address("เลขที่ 1", "-").as_deref(), Some("เลขที่ 1"));
        assert_eq!(office_address("-", "หมู่ที่ 5").as_deref(), Some("หมู่ 5"));
        assert_eq!(office_address("", "0"), None);
        assert_eq!(office_address("\"-\"", ""), None);
    }

    #[test]
    fn reads_an_official_row() {
        let lao = dla_row([
            "ตาก",
            "อำเภอแม่สอด",
            "แม่ปะ",
            "6630691",
            "อบต.",
            "อบต.แม่ปะ",
            "99",
            "3",
            "63110",
            "",
            "16.76",
            "98.6",
            "http://www.maepa.example",
        ])
        .unwrap();
        assert_eq!(
            lao,
            LaoRecord {
                dla_code: "6630691".into(),
                lao_type: LaoType::SubdistrictAdminOrg,
                name_th: "แม่ปะ".into(),
                province_code: "63".into(),
                district_code: "6306".into(),
                latitude: Some(16.76),
                longitude: Some(98.6),
                area_km2: None,
                address: Some("เลขที่ 99 หมู่ 3".into()),
                postal_code: Some("63110".into()),
                website: Some("http://www.maepa.example".into()),
            }
        );
    }

    #[test]
    fn official_districts_fall_back_to_the_dla_code_within_the_province() {
        let row = |province: &str, district: &str, code: &str| {
            dla_row([
                province,
                district,
                "",
                code,
                "อบต.",
                "โมโกร",
                "-",
                "-",
                "6317",
                "",
                "",
                "",
                "-",
            ])
        };
        let lao = row("จังหวัดตาก", "อ.อุ้มผาง", "6630895").unwrap();
        assert_eq!(lao.district_code, "6308");
        assert_eq!(lao.postal_code, None, "a 4-digit postal code is ignored");
        assert_eq!(lao.website, None);
        assert_eq!(
            row("ตาก", "ไม่มีอำเภอนี้", "6500101").unwrap_err(),
            "The district \"ไม่มีอำเภอนี้\" in column \"อำเภอ\" is not a district of ตาก (63), and neither is district 5001 taken from DLA code 6500101."
        );
        assert_eq!(
            row("ตากก", "แม่สอด", "6630691").unwrap_err(),
            "The province \"ตากก\" in column \"จังหวัด\" matches no province name."
        );
        assert_eq!(
            row("ตาก", "แม่สอด", "663060").unwrap_err(),
            "The DLA code \"663060\" in column \"รหัส อปท.\" is not 7 digits."
        );
    }

    #[test]
    fn reads_project_rows() {
        let pao = project_row([
            "2630190",
            "provincial_admin_org",
            "อบจ.",
            "ตาก",
            "63",
            "",
            "เมืองตาก",
            "17.02",
            "99.2",
            "16000.5",
        ])
        .unwrap();
        assert_eq!(pao.lao_type, LaoType::ProvincialAdminOrg);
        assert_eq!(pao.district_code, "6301");
        assert_eq!((pao.address, pao.website), (None, None));

        let elsewhere = project_row([
            "6630691",
            "subdistrict_admin_org",
            "อบต.",
            "แม่ปะ",
            "63",
            "5001",
            "แม่สอด",
            "",
            "",
            "",
        ])
        .unwrap_err();
        assert_eq!(
            elsewhere,
            "The district code \"5001\" in column \"district_code\" belongs to province 50, not to ตาก (63)."
        );
        let bad_type = project_row([
            "6630691",
            "village",
            "",
            "แม่ปะ",
            "63",
            "6306",
            "",
            "",
            "",
            "",
        ])
        .unwrap_err();
        assert!(
            bad_type.starts_with("The type \"village\" in column \"type\" is not an LAO type"),
            "{bad_type}"
        );
        let no_name = project_row([
            "6630691",
            "subdistrict_admin_org",
            "",
            " ",
            "63",
            "6306",
            "",
            "",
            "",
            "",
        ])
        .unwrap_err();
        assert_eq!(no_name, "The LAO name in column \"name_th\" is empty.");
    }

    #[test]
    fn parse_skips_official_repeats_and_rejects_project_duplicates() {
        let official = format!(
            "{}\r\nตาก,แม่สอด,แม่สอด,3630690,เทศบาลนคร,เทศบาลนครแม่สอด,-,-,63110,28.4,16.72,98.56,-\r\n\
             ตาก,แม่สอด,แม่กุ,3630690,เทศบาลนคร,เทศบาลนครแม่สอด,-,-,63110,28.4,16.72,98.56,-\r\n\
             ,,,,,,,,,,,,\r\n\
             ตาก,แม่สอด,แม่ปะ,6630691,อบต.,แม่ปะ,-,-,63110,,,,\"www,maepa.example\",\r\n",
            DLA_HEADER.join(",")
        );
        let parsed = parse(&official, &tak()).unwrap();
        assert_eq!(parsed.layout, Layout::Dla);
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.repeated, 1);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(
            parsed.records[1].website.as_deref(),
            Some("www,maepa.example")
        );

        let project = format!(
            "{}\r\n6630691,subdistrict_admin_org,อบต.,แม่ปะ,63,6306,แม่สอด,,,\r\n\
             6630691,subdistrict_admin_org,อบต.,แม่ปะ,63,6306,แม่สอด,,,\r\n\
             6630693,subdistrict_admin_org,อบต.,พะวอ,63,6306,แม่สอด,,\r\n",
            PROJECT_HEADER.join(",")
        );
        let parsed = parse(&project, &tak()).unwrap();
        assert_eq!(parsed.records.len(), 1);
        let rejected: Vec<(u64, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (
                    3,
                    "The DLA code \"6630691\" in column \"dla_code\" already appeared on line 2."
                ),
                (
                    4,
                    "The row has 9 fields but the header has 10; is a comma inside a value not quoted?"
                ),
            ]
        );
    }
}

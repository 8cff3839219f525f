//! Geography as the API shows it, and the look-ups other modules use.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{districts, postal_codes, provinces, subdistricts};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError};
use crate::i18n::Text;

/// A province (จังหวัด).
#[derive(Clone, Debug, Serialize, Queryable, Selectable, ToSchema)]
#[diesel(table_name = provinces)]
#[schema(example = json!({"code": "63", "name_th": "ตาก", "name_en": "Tak"}))]
pub struct Province {
    /// Two-digit DOPA code.
    pub code: String,
    pub name_th: String,
    pub name_en: String,
}

/// A district (อำเภอ; เขต in Bangkok).
#[derive(Clone, Debug, Serialize, Queryable, Selectable, ToSchema)]
#[diesel(table_name = districts)]
#[schema(example = json!({"code": "6306", "province_code": "63", "name_th": "แม่สอด", "name_en": "Mae Sot"}))]
pub struct District {
    /// Four-digit DOPA code (province code + two digits).
    pub code: String,
    pub province_code: String,
    pub name_th: String,
    pub name_en: String,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = subdistricts)]
pub struct SubdistrictRow {
    pub code: String,
    pub district_code: String,
    pub province_code: String,
    pub name_th: String,
    pub name_en: String,
    pub postal_codes: String,
}

/// A subdistrict (ตำบล; แขวง in Bangkok) with its postal codes.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "630601", "district_code": "6306", "province_code": "63", "name_th": "แม่สอด", "name_en": "Mae Sot", "postal_codes": ["63110"]}))]
pub struct Subdistrict {
    /// Six-digit DOPA code (district code + two digits).
    pub code: String,
    pub district_code: String,
    pub province_code: String,
    pub name_th: String,
    pub name_en: String,
    /// Postal codes used in the subdistrict (several where it is split).
    pub postal_codes: Vec<String>,
}

impl From<SubdistrictRow> for Subdistrict {
    fn from(r: SubdistrictRow) -> Self {
        Subdistrict {
            postal_codes: r
                .postal_codes
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            code: r.code,
            district_code: r.district_code,
            province_code: r.province_code,
            name_th: r.name_th,
            name_en: r.name_en,
        }
    }
}

/// A district with its province.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DistrictDetail {
    #[serde(flatten)]
    pub district: District,
    pub province: Province,
}

/// A subdistrict with its district and province: a full address area.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubdistrictDetail {
    #[serde(flatten)]
    pub subdistrict: Subdistrict,
    pub district: District,
    pub province: Province,
}

/// A province or district by code and names.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "6306", "name_th": "แม่สอด", "name_en": "Mae Sot"}))]
pub struct AreaName {
    pub code: String,
    pub name_th: String,
    pub name_en: String,
}

impl From<District> for AreaName {
    fn from(d: District) -> Self {
        AreaName {
            code: d.code,
            name_th: d.name_th,
            name_en: d.name_en,
        }
    }
}

impl From<Province> for AreaName {
    fn from(p: Province) -> Self {
        AreaName {
            code: p.code,
            name_th: p.name_th,
            name_en: p.name_en,
        }
    }
}

pub const PROVINCE: Text = Text {
    en: "province",
    th: "จังหวัด",
};
pub const DISTRICT: Text = Text {
    en: "district",
    th: "อำเภอ",
};
pub const SUBDISTRICT: Text = Text {
    en: "subdistrict",
    th: "ตำบล",
};

/// Checks a code parameter: exactly `digits` ASCII digits.
pub fn check_code(field: &str, value: &str, digits: usize) -> ApiResult<()> {
    if value.len() == digits && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorKind::InvalidParameter)
            .field(FieldError::new(field, "invalid_digits").with("digits", digits)))
    }
}

pub fn list_provinces(conn: &mut DbConn) -> QueryResult<Vec<Province>> {
    provinces::table
        .select(Province::as_select())
        .order(provinces::code)
        .load(conn)
}

pub fn find_province(conn: &mut DbConn, code: &str) -> QueryResult<Option<Province>> {
    provinces::table
        .find(code)
        .select(Province::as_select())
        .first(conn)
        .optional()
}

pub fn list_districts(conn: &mut DbConn, province_code: &str) -> QueryResult<Vec<District>> {
    districts::table
        .filter(districts::province_code.eq(province_code))
        .select(District::as_select())
        .order(districts::code)
        .load(conn)
}

pub fn find_district(conn: &mut DbConn, code: &str) -> QueryResult<Option<District>> {
    districts::table
        .find(code)
        .select(District::as_select())
        .first(conn)
        .optional()
}

pub fn district_detail(conn: &mut DbConn, code: &str) -> QueryResult<Option<DistrictDetail>> {
    districts::table
        .inner_join(provinces::table)
        .filter(districts::code.eq(code))
        .select((District::as_select(), Province::as_select()))
        .first(conn)
        .optional()
        .map(|r| r.map(|(district, province)| DistrictDetail { district, province }))
}

/// A district by its Thai name within a province ("อำเภอ" prefix and spaces ignored).
pub fn find_district_by_name(
    conn: &mut DbConn,
    province_code: &str,
    name_th: &str,
) -> QueryResult<Option<District>> {
    let districts = list_districts(conn, province_code)?;
    Ok(pick_district_by_name(&districts, name_th).cloned())
}

/// The district named `name_th` among `districts` (already loaded, e.g. one province's), with the
/// same matching as [`find_district_by_name`]; for bulk work such as the LAO import.
pub fn pick_district_by_name<'a>(districts: &'a [District], name_th: &str) -> Option<&'a District> {
    let wanted = normalize_thai_name(name_th, &["อำเภอ", "เขต", "กิ่งอำเภอ"]);
    districts
        .iter()
        .find(|d| normalize_thai_name(&d.name_th, &["เขต"]) == wanted)
}

/// Removes an administrative prefix and all white space, for matching names across sources.
pub fn normalize_thai_name(name: &str, prefixes: &[&str]) -> String {
    let compact: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut trimmed = compact.as_str();
    for prefix in prefixes {
        if let Some(rest) = trimmed.strip_prefix(prefix)
            && !rest.is_empty()
        {
            trimmed = rest;
            break;
        }
    }
    trimmed.to_string()
}

pub fn list_subdistricts(conn: &mut DbConn, district_code: &str) -> QueryResult<Vec<Subdistrict>> {
    Ok(subdistricts::table
        .filter(subdistricts::district_code.eq(district_code))
        .select(SubdistrictRow::as_select())
        .order(subdistricts::code)
        .load(conn)?
        .into_iter()
        .map(Subdistrict::from)
        .collect())
}

pub fn subdistrict_detail(conn: &mut DbConn, code: &str) -> QueryResult<Option<SubdistrictDetail>> {
    subdistricts::table
        .inner_join(districts::table.inner_join(provinces::table))
        .filter(subdistricts::code.eq(code))
        .select((
            SubdistrictRow::as_select(),
            District::as_select(),
            Province::as_select(),
        ))
        .first(conn)
        .optional()
        .map(|r| {
            r.map(|(s, district, province)| SubdistrictDetail {
                subdistrict: s.into(),
                district,
                province,
            })
        })
}

/// Thai names of subdistricts with their district and province, by six-digit DOPA subdistrict
/// code (one query for many codes; unknown codes are absent). For addresses shown to people and
/// to carriers, which match Thai names against their own lists.
pub fn area_names_th(
    conn: &mut DbConn,
    subdistrict_codes: &[String],
) -> QueryResult<std::collections::HashMap<String, AreaNamesTh>> {
    if subdistrict_codes.is_empty() {
        return Ok(Default::default());
    }
    Ok(subdistricts::table
        .inner_join(districts::table.inner_join(provinces::table))
        .filter(subdistricts::code.eq_any(subdistrict_codes))
        .select((
            subdistricts::code,
            subdistricts::name_th,
            districts::name_th,
            provinces::name_th,
        ))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(code, subdistrict, district, province)| {
            (
                code,
                AreaNamesTh {
                    subdistrict,
                    district,
                    province,
                },
            )
        })
        .collect())
}

/// The Thai names of a subdistrict, its district and its province (as DOPA writes them, without
/// the ตำบล/อำเภอ/จังหวัด prefixes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaNamesTh {
    pub subdistrict: String,
    pub district: String,
    pub province: String,
}

/// Subdistricts that use a postal code, with their district and province.
pub fn by_postal_code(conn: &mut DbConn, postal_code: &str) -> QueryResult<Vec<SubdistrictDetail>> {
    Ok(postal_codes::table
        .inner_join(subdistricts::table.inner_join(districts::table.inner_join(provinces::table)))
        .filter(postal_codes::postal_code.eq(postal_code))
        .select((
            SubdistrictRow::as_select(),
            District::as_select(),
            Province::as_select(),
        ))
        .order(subdistricts::code)
        .load(conn)?
        .into_iter()
        .map(|(s, district, province)| SubdistrictDetail {
            subdistrict: s.into(),
            district,
            province,
        })
        .collect())
}

/// Validates an address area given as subdistrict code + postal code (used by orders and LAOs):
/// the subdistrict must exist and use that postal code. Errors name the given fields.
pub fn check_address_area(
    conn: &mut DbConn,
    subdistrict_field: &str,
    subdistrict_code: &str,
    postal_field: &str,
    postal_code: &str,
) -> ApiResult<SubdistrictDetail> {
    let detail =
        if subdistrict_code.len() == 6 && subdistrict_code.bytes().all(|b| b.is_ascii_digit()) {
            subdistrict_detail(conn, subdistrict_code)?
        } else {
            None
        };
    let Some(detail) = detail else {
        return Err(ApiError::validation(vec![FieldError::new(
            subdistrict_field,
            "invalid_code",
        )]));
    };
    if !detail
        .subdistrict
        .postal_codes
        .iter()
        .any(|p| p == postal_code)
    {
        return Err(ApiError::validation(vec![
            FieldError::new(postal_field, "invalid_postal_code")
                .with("expected", detail.subdistrict.postal_codes.join(", ")),
        ]));
    }
    Ok(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_thai_names() {
        assert_eq!(normalize_thai_name("อำเภอแม่สอด", &["อำเภอ"]), "แม่สอด");
        assert_eq!(normalize_thai_name(" เมือง ตาก ", &["อำเภอ"]), "เมืองตาก");
        assert_eq!(normalize_thai_name("อำเภอ", &["อำเภอ"]), "อำเภอ");
    }

    #[test]
    fn checks_codes() {
        assert!(check_code("code", "63", 2).is_ok());
        assert!(check_code("code", "6a", 2).is_err());
        assert!(check_code("code", "630", 2).is_err());
    }
}

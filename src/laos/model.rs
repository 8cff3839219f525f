//! Local administrative organizations (อปท.): types, rows, hashtags and look-ups.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::policy::Place;
use crate::db::DbConn;
use crate::db::schema::{districts, laos, provinces};
use crate::i18n::Text;

pub const LAO: Text = Text {
    en: "local administrative organization",
    th: "องค์กรปกครองส่วนท้องถิ่น",
};

/// The kind of LAO. Stored as its own field: the first digit of the DLA code usually agrees,
/// but not always (two เทศบาลตำบล keep a 6- code).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    strum::AsRefStr,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LaoType {
    /// องค์การบริหารส่วนจังหวัด (อบจ.): covers a whole province.
    ProvincialAdminOrg,
    /// เทศบาลนคร
    CityMunicipality,
    /// เทศบาลเมือง
    TownMunicipality,
    /// เทศบาลตำบล
    SubdistrictMunicipality,
    /// องค์การบริหารส่วนตำบล (อบต.)
    SubdistrictAdminOrg,
    /// ท้องถิ่นรูปแบบพิเศษ (เมืองพัทยา)
    SpecialAdminArea,
}

impl LaoType {
    /// The Thai type name as the DLA lists it.
    pub fn name_th(self) -> &'static str {
        match self {
            LaoType::ProvincialAdminOrg => "อบจ.",
            LaoType::CityMunicipality => "เทศบาลนคร",
            LaoType::TownMunicipality => "เทศบาลเมือง",
            LaoType::SubdistrictMunicipality => "เทศบาลตำบล",
            LaoType::SubdistrictAdminOrg => "อบต.",
            LaoType::SpecialAdminArea => "ท้องถิ่นรูปแบบพิเศษ",
        }
    }

    /// The prefix of the full official name ("องค์การบริหารส่วนตำบล" + name).
    pub fn full_prefix_th(self) -> &'static str {
        match self {
            LaoType::ProvincialAdminOrg => "องค์การบริหารส่วนจังหวัด",
            LaoType::CityMunicipality => "เทศบาลนคร",
            LaoType::TownMunicipality => "เทศบาลเมือง",
            LaoType::SubdistrictMunicipality => "เทศบาลตำบล",
            LaoType::SubdistrictAdminOrg => "องค์การบริหารส่วนตำบล",
            LaoType::SpecialAdminArea => "",
        }
    }

    /// Parses the type as written in either import layout (English code, Thai short or full name).
    pub fn parse_any(raw: &str) -> Option<LaoType> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(t) = compact.parse::<LaoType>() {
            return Some(t);
        }
        match compact.as_str() {
            "อบจ." | "อบจ" | "องค์การบริหารส่วนจังหวัด" => {
                Some(LaoType::ProvincialAdminOrg)
            }
            "เทศบาลนคร" | "ทน." | "ทน" => Some(LaoType::CityMunicipality),
            "เทศบาลเมือง" | "ทม." | "ทม" => {
                Some(LaoType::TownMunicipality)
            }
            "เทศบาลตำบล" | "ทต." | "ทต" => {
                Some(LaoType::SubdistrictMunicipality)
            }
            "อบต." | "อบต" | "องค์การบริหารส่วนตำบล" => {
                Some(LaoType::SubdistrictAdminOrg)
            }
            "ท้องถิ่นรูปแบบพิเศษ" | "เมืองพัทยา" | "รูปแบบพิเศษ" => {
                Some(LaoType::SpecialAdminArea)
            }
            _ => None,
        }
    }

    pub fn covers_whole_province(self) -> bool {
        self == LaoType::ProvincialAdminOrg
    }
}

crate::stored_as_text!(LaoType);

/// A row of the `laos` table.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = laos)]
pub struct LaoRow {
    pub id: i64,
    pub dla_code: String,
    pub lao_type: LaoType,
    pub name_th: String,
    pub name_en: Option<String>,
    pub province_code: String,
    pub district_code: String,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub area_km2: Option<f64>,
    pub allowed_origins: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl LaoRow {
    pub fn lao_type(&self) -> LaoType {
        self.lao_type
    }

    /// Where this LAO sits, for authorization.
    pub fn place(&self) -> Place {
        Place {
            province_code: self.province_code.clone(),
            district_code: self.district_code.clone(),
            lao_id: Some(self.id),
            producer_id: None,
            province_wide: self.lao_type().covers_whole_province(),
        }
    }

    /// "องค์การบริหารส่วนตำบลแม่กุ", "เทศบาลนครแม่สอด", "เมืองพัทยา".
    pub fn full_name_th(&self) -> String {
        full_name_th(self.lao_type(), &self.name_th)
    }

    /// "อบต.แม่กุ", "เทศบาลนครแม่สอด".
    pub fn short_name_th(&self) -> String {
        let t = self.lao_type();
        match t {
            LaoType::SpecialAdminArea => self.name_th.clone(),
            _ if self.name_th.starts_with(t.name_th()) => self.name_th.clone(),
            _ => format!("{}{}", t.name_th(), self.name_th),
        }
    }

    pub fn allowed_origins(&self) -> Vec<String> {
        split_origins(&self.allowed_origins)
    }
}

pub fn full_name_th(lao_type: LaoType, name_th: &str) -> String {
    let prefix = lao_type.full_prefix_th();
    if prefix.is_empty() || name_th.starts_with(prefix) {
        name_th.to_string()
    } else {
        format!("{prefix}{name_th}")
    }
}

pub fn split_origins(stored: &str) -> Vec<String> {
    stored
        .split(['\n', ' ', ','])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// The programme's hashtags for an LAO, in the order the programme publishes them; spaces are
/// removed inside each tag.
pub fn hashtags(
    province_name_th: &str,
    district_name_th: &str,
    lao_full_name_th: &str,
) -> Vec<String> {
    let tag = |text: &str| -> String {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        format!("#{compact}")
    };
    vec![
        tag("ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา"),
        tag("ของดีบ้านเรา"),
        tag("เที่ยวท้องถิ่น"),
        tag(&format!("จังหวัด{province_name_th}")),
        tag(&format!("อำเภอ{district_name_th}")),
        tag(lao_full_name_th),
    ]
}

pub fn find_by_code(conn: &mut DbConn, dla_code: &str) -> QueryResult<Option<LaoRow>> {
    laos::table
        .filter(laos::dla_code.eq(dla_code))
        .select(LaoRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<LaoRow>> {
    laos::table
        .find(id)
        .select(LaoRow::as_select())
        .first(conn)
        .optional()
}

/// An LAO with the names of its district and province (for display and hashtags).
#[derive(Clone, Debug)]
pub struct LaoWithArea {
    pub lao: LaoRow,
    pub district_name_th: String,
    pub district_name_en: String,
    pub province_name_th: String,
    pub province_name_en: String,
}

impl LaoWithArea {
    pub fn hashtags(&self) -> Vec<String> {
        hashtags(
            &self.province_name_th,
            &self.district_name_th,
            &self.lao.full_name_th(),
        )
    }
}

pub type AreaNames = (String, String, String, String);

pub fn area_names_select() -> (
    districts::name_th,
    districts::name_en,
    provinces::name_th,
    provinces::name_en,
) {
    (
        districts::name_th,
        districts::name_en,
        provinces::name_th,
        provinces::name_en,
    )
}

pub fn with_area((lao, (dth, den, pth, pen)): (LaoRow, AreaNames)) -> LaoWithArea {
    LaoWithArea {
        lao,
        district_name_th: dth,
        district_name_en: den,
        province_name_th: pth,
        province_name_en: pen,
    }
}

/// One LAO with its area names, by DLA code.
pub fn find_with_area(conn: &mut DbConn, dla_code: &str) -> QueryResult<Option<LaoWithArea>> {
    laos::table
        .inner_join(districts::table.inner_join(provinces::table))
        .filter(laos::dla_code.eq(dla_code))
        .select((LaoRow::as_select(), area_names_select()))
        .first(conn)
        .optional()
        .map(|r| r.map(with_area))
}

/// The LAOs of an area with their area names, by district then DLA code: every LAO (active or
/// not) of a province (`province_code`), of a district (`district_code`), or of the country
/// (both `None`).
pub fn in_area(
    conn: &mut DbConn,
    province_code: Option<&str>,
    district_code: Option<&str>,
) -> QueryResult<Vec<LaoWithArea>> {
    let mut q = laos::table
        .inner_join(districts::table.inner_join(provinces::table))
        .select((LaoRow::as_select(), area_names_select()))
        .order((laos::district_code, laos::dla_code))
        .into_boxed();
    if let Some(code) = province_code {
        q = q.filter(laos::province_code.eq(code.to_string()));
    }
    if let Some(code) = district_code {
        q = q.filter(laos::district_code.eq(code.to_string()));
    }
    Ok(q.load(conn)?.into_iter().map(with_area).collect())
}

/// Checks a DLA code: seven digits.
pub fn is_dla_code(value: &str) -> bool {
    value.len() == 7 && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_programme_hashtags() {
        let tags = hashtags(
            "ตาก",
            "แม่สอด",
            &full_name_th(LaoType::CityMunicipality, "แม่สอด"),
        );
        assert_eq!(
            tags.join(" "),
            "#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา #ของดีบ้านเรา #เที่ยวท้องถิ่น #จังหวัดตาก #อำเภอแม่สอด #เทศบาลนครแม่สอด"
        );
        // Spaces inside a tag are removed.
        let tags = hashtags("พระนครศรีอยุธยา", "บาง ปะอิน", "อบต. บ้าน เลน");
        assert_eq!(tags[4], "#อำเภอบางปะอิน");
        assert_eq!(tags[5], "#อบต.บ้านเลน");
    }

    #[test]
    fn parses_types_in_both_layouts() {
        assert_eq!(
            LaoType::parse_any("subdistrict_admin_org"),
            Some(LaoType::SubdistrictAdminOrg)
        );
        assert_eq!(
            LaoType::parse_any("อบต."),
            Some(LaoType::SubdistrictAdminOrg)
        );
        assert_eq!(
            LaoType::parse_any("เทศบาล ตำบล"),
            Some(LaoType::SubdistrictMunicipality)
        );
        assert_eq!(
            LaoType::parse_any("ท้องถิ่นรูปแบบพิเศษ"),
            Some(LaoType::SpecialAdminArea)
        );
        assert_eq!(LaoType::parse_any("x"), None);
        assert_eq!(
            LaoType::SubdistrictAdminOrg.to_string(),
            "subdistrict_admin_org"
        );
    }

    #[test]
    fn full_names() {
        assert_eq!(
            full_name_th(LaoType::SubdistrictAdminOrg, "แม่กุ"),
            "องค์การบริหารส่วนตำบลแม่กุ"
        );
        assert_eq!(
            full_name_th(LaoType::SpecialAdminArea, "เมืองพัทยา"),
            "เมืองพัทยา"
        );
        assert_eq!(
            full_name_th(LaoType::ProvincialAdminOrg, "ตาก"),
            "องค์การบริหารส่วนจังหวัดตาก"
        );
    }
}

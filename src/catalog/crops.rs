//! Crops and goods: the shared list producers' products and harvest calendars refer to.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::crops;
use crate::db::{self, DbConn, settings};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;

pub const CROP: Text = Text {
    en: "crop",
    th: "พืชผล/สินค้า",
};

/// What kind of produce or goods.
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
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Category {
    Fruit,
    Vegetable,
    Rice,
    Coffee,
    HerbSpice,
    ProcessedFood,
    Handicraft,
    LivestockFishery,
    Other,
}

impl Category {
    pub fn name_th(self) -> &'static str {
        match self {
            Category::Fruit => "ผลไม้",
            Category::Vegetable => "ผัก",
            Category::Rice => "ข้าว",
            Category::Coffee => "กาแฟ",
            Category::HerbSpice => "สมุนไพรและเครื่องเทศ",
            Category::ProcessedFood => "อาหารแปรรูป",
            Category::Handicraft => "หัตถกรรม",
            Category::LivestockFishery => "ปศุสัตว์และประมง",
            Category::Other => "อื่น ๆ",
        }
    }
}

/// The unit a crop is sold and counted in; pre-order capacity is in this unit.
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
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SaleUnit {
    Kg,
    Piece,
    Bunch,
    Box,
    Bag,
    Bottle,
    Pack,
    Litre,
}

impl SaleUnit {
    pub fn name_th(self) -> &'static str {
        match self {
            SaleUnit::Kg => "กิโลกรัม",
            SaleUnit::Piece => "ชิ้น/ลูก",
            SaleUnit::Bunch => "หวี/กำ",
            SaleUnit::Box => "กล่อง",
            SaleUnit::Bag => "ถุง",
            SaleUnit::Bottle => "ขวด",
            SaleUnit::Pack => "แพ็ก",
            SaleUnit::Litre => "ลิตร",
        }
    }
}

crate::stored_as_text!(Category, SaleUnit);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = crops)]
pub struct CropRow {
    pub id: i64,
    pub slug: String,
    pub name_th: String,
    pub name_en: String,
    pub category: Category,
    pub sale_unit: SaleUnit,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A crop or kind of goods.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "slug": "longan", "name_th": "ลำไย", "name_en": "Longan", "category": "fruit", "category_th": "ผลไม้", "sale_unit": "kg", "sale_unit_th": "กิโลกรัม", "active": true}))]
pub struct Crop {
    pub id: i64,
    /// Stable identifier in URLs and filters, e.g. `longan`.
    pub slug: String,
    pub name_th: String,
    pub name_en: String,
    pub category: Category,
    pub category_th: String,
    pub sale_unit: SaleUnit,
    pub sale_unit_th: String,
    pub active: bool,
}

impl From<CropRow> for Crop {
    fn from(row: CropRow) -> Self {
        let (category, sale_unit) = (row.category, row.sale_unit);
        Crop {
            id: row.id,
            slug: row.slug,
            name_th: row.name_th,
            name_en: row.name_en,
            category_th: Category::name_th(category).to_string(),
            category,
            sale_unit_th: sale_unit.name_th().to_string(),
            sale_unit,
            active: row.active,
        }
    }
}

/// Crops shipped with khongdee (the common crops of the programme's harvest seasons and more).
/// Added at start when missing; admins edit or deactivate them like any other.
const SHIPPED: &[(&str, &str, &str, Category, SaleUnit)] = &[
    ("durian", "ทุเรียน", "Durian", Category::Fruit, SaleUnit::Kg),
    (
        "mangosteen",
        "มังคุด",
        "Mangosteen",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    (
        "rambutan",
        "เงาะ",
        "Rambutan",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    (
        "longkong",
        "ลองกอง",
        "Longkong",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    ("longan", "ลำไย", "Longan", Category::Fruit, SaleUnit::Kg),
    ("lychee", "ลิ้นจี่", "Lychee", Category::Fruit, SaleUnit::Kg),
    ("mango", "มะม่วง", "Mango", Category::Fruit, SaleUnit::Kg),
    (
        "avocado",
        "อะโวคาโด",
        "Avocado",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    ("pomelo", "ส้มโอ", "Pomelo", Category::Fruit, SaleUnit::Piece),
    (
        "coconut",
        "มะพร้าวน้ำหอม",
        "Aromatic coconut",
        Category::Fruit,
        SaleUnit::Piece,
    ),
    (
        "pineapple",
        "สับปะรด",
        "Pineapple",
        Category::Fruit,
        SaleUnit::Piece,
    ),
    (
        "banana",
        "กล้วยหอม",
        "Banana",
        Category::Fruit,
        SaleUnit::Bunch,
    ),
    (
        "tangerine",
        "ส้มเขียวหวาน",
        "Tangerine",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    (
        "strawberry",
        "สตรอว์เบอร์รี",
        "Strawberry",
        Category::Fruit,
        SaleUnit::Box,
    ),
    (
        "passion_fruit",
        "เสาวรส",
        "Passion fruit",
        Category::Fruit,
        SaleUnit::Kg,
    ),
    (
        "rice_main_crop",
        "ข้าวนาปี",
        "Rice (main crop)",
        Category::Rice,
        SaleUnit::Kg,
    ),
    (
        "rice_second_crop",
        "ข้าวนาปรัง",
        "Rice (second crop)",
        Category::Rice,
        SaleUnit::Kg,
    ),
    (
        "jasmine_rice",
        "ข้าวหอมมะลิ",
        "Jasmine rice",
        Category::Rice,
        SaleUnit::Kg,
    ),
    (
        "arabica_coffee",
        "กาแฟอาราบิก้า",
        "Arabica coffee",
        Category::Coffee,
        SaleUnit::Kg,
    ),
    (
        "robusta_coffee",
        "กาแฟโรบัสต้า",
        "Robusta coffee",
        Category::Coffee,
        SaleUnit::Kg,
    ),
    (
        "sweet_corn",
        "ข้าวโพดหวาน",
        "Sweet corn",
        Category::Vegetable,
        SaleUnit::Kg,
    ),
    ("chili", "พริก", "Chili", Category::Vegetable, SaleUnit::Kg),
    (
        "garlic",
        "กระเทียม",
        "Garlic",
        Category::Vegetable,
        SaleUnit::Kg,
    ),
    (
        "shallot",
        "หอมแดง",
        "Shallot",
        Category::Vegetable,
        SaleUnit::Kg,
    ),
    (
        "cabbage",
        "กะหล่ำปลี",
        "Cabbage",
        Category::Vegetable,
        SaleUnit::Kg,
    ),
    (
        "honey",
        "น้ำผึ้ง",
        "Honey",
        Category::ProcessedFood,
        SaleUnit::Bottle,
    ),
    (
        "dried_banana",
        "กล้วยตาก",
        "Sun-dried banana",
        Category::ProcessedFood,
        SaleUnit::Pack,
    ),
    (
        "woven_basket",
        "เครื่องจักสาน",
        "Woven basketry",
        Category::Handicraft,
        SaleUnit::Piece,
    ),
    (
        "handwoven_cloth",
        "ผ้าทอมือ",
        "Hand-woven cloth",
        Category::Handicraft,
        SaleUnit::Piece,
    ),
];

const VERSION_SETTING: &str = "crops_dataset_version";
const SHIPPED_VERSION: &str = "1";

/// Adds the shipped crops that are missing (by slug). Never changes or removes a crop.
pub fn load_shipped(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    if settings::get(conn, VERSION_SETTING)?.as_deref() == Some(SHIPPED_VERSION) {
        return Ok(0);
    }
    db::write_transaction(conn, |conn| {
        let existing: Vec<String> = crops::table.select(crops::slug).load(conn)?;
        let mut added = 0;
        for (slug, name_th, name_en, category, unit) in SHIPPED {
            if existing.iter().any(|s| s == slug) {
                continue;
            }
            added += diesel::insert_into(crops::table)
                .values((
                    crops::slug.eq(slug),
                    crops::name_th.eq(name_th),
                    crops::name_en.eq(name_en),
                    crops::category.eq(category.to_string()),
                    crops::sale_unit.eq(unit.to_string()),
                    crops::active.eq(true),
                    crops::created_at.eq(now),
                    crops::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        settings::set(conn, VERSION_SETTING, SHIPPED_VERSION, now)?;
        Ok(added)
    })
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<CropRow>> {
    crops::table
        .filter(crops::slug.eq(slug))
        .select(CropRow::as_select())
        .first(conn)
        .optional()
}

/// A crop named in a request body by slug: unknown or inactive → 422 on that field.
pub fn resolve(conn: &mut DbConn, field: &str, slug: &str) -> ApiResult<CropRow> {
    match find_by_slug(conn, slug)? {
        Some(crop) if crop.active => Ok(crop),
        _ => Err(ApiError::validation(vec![FieldError::new(
            field,
            "invalid_code",
        )])),
    }
}

/// Crops in slug order, after the slug `after`, at most `limit` rows.
pub fn list(
    conn: &mut DbConn,
    category: Option<Category>,
    include_inactive: bool,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CropRow>> {
    let mut query = crops::table
        .select(CropRow::as_select())
        .order(crops::slug)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(crops::slug.gt(after.to_string()));
    }
    if let Some(category) = category {
        query = query.filter(crops::category.eq(category.to_string()));
    }
    if !include_inactive {
        query = query.filter(crops::active.eq(true));
    }
    query.load(conn)
}

pub(crate) fn slug_chars(value: &str) -> Result<(), validator::ValidationError> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && value.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_slug"))
    }
}

/// A new crop (admins).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "salak", "name_th": "สละ", "name_en": "Salak", "category": "fruit", "sale_unit": "kg"}))]
pub struct NewCrop {
    /// Lower-case letters, digits and `_`, starting with a letter.
    #[validate(length(min = 2, max = 40), custom(function = "slug_chars"))]
    #[schema(min_length = 2, max_length = 40, format = "slug")]
    pub slug: String,
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name_th: String,
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name_en: String,
    pub category: Category,
    pub sale_unit: SaleUnit,
}

/// Changes to a crop (admins). The slug never changes; `active: false` hides it from new
/// products and calendars while keeping what refers to it.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CropChanges {
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name_th: Option<String>,
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name_en: Option<String>,
    pub category: Option<Category>,
    /// Changing the unit of a crop in use changes what existing capacities mean: only while
    /// no product of it exists.
    pub sale_unit: Option<SaleUnit>,
    pub active: Option<bool>,
}

pub fn create(conn: &mut DbConn, new: &NewCrop, now: NaiveDateTime) -> ApiResult<CropRow> {
    if find_by_slug(conn, &new.slug)?.is_some() {
        return Err(
            ApiError::already_exists(CROP, "slug").field(FieldError::new("slug", "duplicate"))
        );
    }
    diesel::insert_into(crops::table)
        .values((
            crops::slug.eq(&new.slug),
            crops::name_th.eq(new.name_th.trim()),
            crops::name_en.eq(new.name_en.trim()),
            crops::category.eq(new.category.to_string()),
            crops::sale_unit.eq(new.sale_unit.to_string()),
            crops::active.eq(true),
            crops::created_at.eq(now),
            crops::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_by_slug(conn, &new.slug)?.ok_or_else(|| ApiError::internal("created crop vanished"))
}

pub fn update(
    conn: &mut DbConn,
    slug: &str,
    changes: &CropChanges,
    now: NaiveDateTime,
) -> ApiResult<CropRow> {
    let crop = find_by_slug(conn, slug)?.ok_or_else(|| ApiError::not_found(CROP))?;
    if let Some(unit) = changes.sale_unit
        && unit != crop.sale_unit
    {
        use crate::db::schema::products;
        let in_use: i64 = products::table
            .filter(products::crop_id.eq(crop.id))
            .count()
            .get_result(conn)?;
        if in_use > 0 {
            return Err(ApiError::validation(vec![
                FieldError::new("sale_unit", "in_use").with("count", in_use),
            ]));
        }
    }
    diesel::update(crops::table.find(crop.id))
        .set((
            changes
                .name_th
                .as_deref()
                .map(|v| crops::name_th.eq(v.trim().to_string())),
            changes
                .name_en
                .as_deref()
                .map(|v| crops::name_en.eq(v.trim().to_string())),
            changes.category.map(|v| crops::category.eq(v.to_string())),
            changes
                .sale_unit
                .map(|v| crops::sale_unit.eq(v.to_string())),
            changes.active.map(|v| crops::active.eq(v)),
            crops::updated_at.eq(now),
        ))
        .execute(conn)?;
    find_by_slug(conn, slug)?.ok_or_else(|| ApiError::not_found(CROP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shipped_slugs_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for (slug, ..) in SHIPPED {
            assert!(seen.insert(*slug), "{slug} twice");
            assert!(slug_chars(slug).is_ok(), "{slug}");
        }
        assert!(SHIPPED.len() >= 17);
    }
}

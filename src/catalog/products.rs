//! Products: a producer's offer of a crop, with the story the programme asks LAOs to tell.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::crops::{self, Crop, CropRow};
use super::producers::{LaoSummary, ProducerKind, ProducerRow};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{crops as crops_t, districts, laos, producers, products, provinces};
use crate::error::{ApiError, ApiResult};
use crate::geo::model::{AreaName, District, Province};
use crate::i18n::Text;
use crate::laos::model::{LaoRow, hashtags as lao_hashtags};
use crate::validate::is_http_url;

pub const PRODUCT: Text = Text {
    en: "product",
    th: "สินค้า",
};

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: i64,
    pub producer_id: i64,
    pub lao_id: i64,
    pub province_code: String,
    pub district_code: String,
    pub crop_id: i64,
    pub title: String,
    pub variety: Option<String>,
    pub grade: Option<String>,
    pub description: Option<String>,
    pub story: Option<String>,
    pub photo_urls: String,
    pub clip_urls: String,
    pub hashtags: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub unit_weight_grams: Option<i32>,
}

/// A product with everything its page shows, read in one query.
pub type ProductJoined = (ProductRow, CropRow, ProducerRow, LaoRow, District, Province);

/// Where a clip is hosted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClipPlatform {
    Facebook,
    Tiktok,
    Youtube,
}

/// Where a post or a clip lives, by its URL's host.
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
pub enum PostPlatform {
    Facebook,
    Tiktok,
    Youtube,
    Instagram,
    Line,
    X,
    Other,
}

/// The host of an http(s) URL, lower-case, without `www.`, `m.` or `web.`; `None` for other
/// URLs.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("HTTPS://"))
        .or_else(|| url.strip_prefix("HTTP://"))?;
    let host = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let host = host.split('@').next_back()?.split(':').next()?.to_string();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    let host = host.strip_prefix("web.").unwrap_or(host);
    (!host.is_empty()).then(|| host.to_string())
}

/// The platform of a post's URL (the one rule, for clips and content links): `None` when it is
/// not an http(s) URL, `Other` for hosts of no known platform.
pub fn post_platform(url: &str) -> Option<PostPlatform> {
    let host = url_host(url)?;
    Some(match host.as_str() {
        "facebook.com" | "fb.watch" | "fb.com" | "fb.me" => PostPlatform::Facebook,
        "tiktok.com" | "vt.tiktok.com" | "vm.tiktok.com" => PostPlatform::Tiktok,
        "youtube.com" | "youtu.be" | "music.youtube.com" => PostPlatform::Youtube,
        "instagram.com" | "instagr.am" => PostPlatform::Instagram,
        "line.me" | "linevoom.line.me" | "timeline.line.me" | "liff.line.me" | "lin.ee" => {
            PostPlatform::Line
        }
        "x.com" | "twitter.com" | "mobile.twitter.com" | "t.co" => PostPlatform::X,
        _ => PostPlatform::Other,
    })
}

/// The platform of a clip URL, or `None` for hosts the programme does not take clips from.
pub fn clip_platform(url: &str) -> Option<ClipPlatform> {
    match post_platform(url)? {
        PostPlatform::Facebook => Some(ClipPlatform::Facebook),
        PostPlatform::Tiktok => Some(ClipPlatform::Tiktok),
        PostPlatform::Youtube => Some(ClipPlatform::Youtube),
        _ => None,
    }
}

fn valid_photo_urls(list: &[String]) -> Result<(), validator::ValidationError> {
    if list.iter().all(|u| is_http_url(u)) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_url"))
    }
}

pub(crate) fn valid_clip_urls(list: &[String]) -> Result<(), validator::ValidationError> {
    if list
        .iter()
        .all(|u| is_http_url(u) && clip_platform(u).is_some())
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_clip_url"))
    }
}

pub(crate) fn valid_hashtags(list: &[String]) -> Result<(), validator::ValidationError> {
    let ok = list.iter().all(|t| {
        let body = t.strip_prefix('#').unwrap_or(t);
        let len = body.chars().count();
        (1..=100).contains(&len) && !body.chars().any(|c| c.is_whitespace() || c == '#')
    });
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_hashtag"))
    }
}

/// `#`-prefixed, without duplicates, in the given order.
fn normalize_hashtags(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in list {
        let tag = format!("#{}", tag.trim().trim_start_matches('#'));
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

fn parse_list(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A clip with its platform.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Clip {
    pub url: String,
    pub platform: ClipPlatform,
}

/// The producer of a product, in short.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProducerSummary {
    pub id: i64,
    pub display_name: String,
    pub kind: ProducerKind,
}

/// One stored size of a photo.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PhotoSize {
    /// Pixels.
    pub width: u32,
    pub height: u32,
    /// `webp`, `jpeg` or `png`.
    pub format: String,
    /// `/v1/media/{sha256}-{upload}.{ext}`: the address changes with the content, so it is
    /// cached for a year.
    pub url: String,
    pub bytes: i64,
}

/// A product photo with its sizes, for `srcset` (uploaded with
/// `POST /v1/products/{id}/photos`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductPhoto {
    pub id: i64,
    /// 1 = first.
    pub position: i32,
    /// The product's cover photo (one per product).
    pub cover: bool,
    pub alt_th: Option<String>,
    pub alt_en: Option<String>,
    /// Of the full-size image, after its EXIF orientation was applied.
    pub width: u32,
    pub height: u32,
    /// The full-size image, metadata stripped: JPEG, or PNG when it has transparency.
    pub original: PhotoSize,
    /// 320, 800 and 1600 px on the long side (no larger than the original), each as WebP and
    /// JPEG, smallest first.
    pub sizes: Vec<PhotoSize>,
}

/// Reads the photos of products by product id, in their order (the media room's, set at
/// start-up).
pub type PhotoLookup =
    fn(&mut DbConn, &[i64]) -> QueryResult<std::collections::HashMap<i64, Vec<ProductPhoto>>>;

static PHOTO_LOOKUP: std::sync::OnceLock<PhotoLookup> = std::sync::OnceLock::new();

/// The hook through which the media room (above) shows photos in product and window views,
/// without catalog calling up into it. Set once; later calls are ignored.
pub fn set_photo_lookup(lookup: PhotoLookup) {
    let _ = PHOTO_LOOKUP.set(lookup);
}

/// The photos of products, by product id (empty without the media room).
pub fn photos_of(
    conn: &mut DbConn,
    product_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Vec<ProductPhoto>>> {
    match PHOTO_LOOKUP.get() {
        Some(lookup) if !product_ids.is_empty() => lookup(conn, product_ids),
        _ => Ok(std::collections::HashMap::new()),
    }
}

/// Products as the API shows them, with their photos (one more query for all of them).
pub fn views(conn: &mut DbConn, rows: Vec<ProductJoined>) -> QueryResult<Vec<Product>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let mut photos = photos_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.0.id;
            let mut product = Product::from(row);
            product.photos = photos.remove(&id).unwrap_or_default();
            product
        })
        .collect())
}

/// One product as the API shows it.
pub fn view(conn: &mut DbConn, row: ProductJoined) -> ApiResult<Product> {
    views(conn, vec![row])?
        .pop()
        .ok_or_else(|| ApiError::internal("a product's view went missing"))
}

/// A product, as storefronts and LAO pages show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "title": "ลำไยอีดอ เกรด AA จากแม่ปะ", "variety": "อีดอ", "grade": "AA",
    "description": "ลำไยสด เก็บเช้า ส่งเย็น", "story": "สวนของป้าแก้วปลูกลำไยมา 30 ปี …",
    "photo_urls": ["https://example.com/longan.jpg"], "clips": [{"url": "https://www.tiktok.com/@maepa/video/1", "platform": "tiktok"}],
    "hashtags": ["#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา", "#ของดีบ้านเรา", "#เที่ยวท้องถิ่น", "#จังหวัดตาก", "#อำเภอแม่สอด", "#องค์การบริหารส่วนตำบลแม่ปะ", "#ลำไยแม่ปะ"],
    "own_hashtags": ["#ลำไยแม่ปะ"],
    "crop": {"id": 5, "slug": "longan", "name_th": "ลำไย", "name_en": "Longan", "category": "fruit", "category_th": "ผลไม้", "sale_unit": "kg", "sale_unit_th": "กิโลกรัม", "active": true},
    "producer": {"id": 3, "display_name": "วิสาหกิจชุมชนลำไยแม่ปะ", "kind": "community_enterprise"},
    "lao": {"dla_code": "6630691", "full_name_th": "องค์การบริหารส่วนตำบลแม่ปะ", "name_en": "Mae Pa SAO"},
    "district": {"code": "6306", "name_th": "แม่สอด", "name_en": "Mae Sot"}, "province": {"code": "63", "name_th": "ตาก", "name_en": "Tak"},
    "active": true, "created_at": "2026-06-01T09:00:00+07:00", "updated_at": "2026-06-01T09:00:00+07:00"
}))]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub variety: Option<String>,
    pub grade: Option<String>,
    pub description: Option<String>,
    /// The producer's story, as the programme asks LAOs to tell it.
    pub story: Option<String>,
    /// Photo addresses given by URL (kept as given; prefer uploaded `photos`).
    pub photo_urls: Vec<String>,
    /// Uploaded photos, in order, each in several sizes (`POST /v1/products/{id}/photos`).
    pub photos: Vec<ProductPhoto>,
    /// Facebook, TikTok and YouTube clips.
    pub clips: Vec<Clip>,
    /// The LAO's programme hashtags followed by the product's own: post them with the product.
    pub hashtags: Vec<String>,
    pub own_hashtags: Vec<String>,
    /// Packed weight of one unit of sale (the crop's `sale_unit`) in grams, for carriers'
    /// manifests; for crops sold by the kilogram, unset means 1,000 g per unit.
    pub unit_weight_grams: Option<i32>,
    pub crop: Crop,
    pub producer: ProducerSummary,
    pub lao: LaoSummary,
    pub district: AreaName,
    pub province: AreaName,
    pub active: bool,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<ProductJoined> for Product {
    fn from((p, crop, producer, lao, district, province): ProductJoined) -> Self {
        let own = parse_list(&p.hashtags);
        let mut hashtags = lao_hashtags(&province.name_th, &district.name_th, &lao.full_name_th());
        for tag in &own {
            if !hashtags.contains(tag) {
                hashtags.push(tag.clone());
            }
        }
        Product {
            id: p.id,
            title: p.title,
            variety: p.variety,
            grade: p.grade,
            description: p.description,
            story: p.story,
            photo_urls: parse_list(&p.photo_urls),
            photos: Vec::new(),
            clips: parse_list(&p.clip_urls)
                .into_iter()
                .filter_map(|url| clip_platform(&url).map(|platform| Clip { url, platform }))
                .collect(),
            hashtags,
            own_hashtags: own,
            unit_weight_grams: p.unit_weight_grams,
            crop: crop.into(),
            producer: ProducerSummary {
                id: producer.id,
                kind: producer.kind(),
                display_name: producer.display_name,
            },
            lao: LaoSummary::from(&lao),
            district: district.into(),
            province: province.into(),
            active: p.active,
            created_at: to_bangkok(p.created_at),
            updated_at: to_bangkok(p.updated_at),
        }
    }
}

/// A new product of a producer.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "crop": "longan", "title": "ลำไยอีดอ เกรด AA จากแม่ปะ", "variety": "อีดอ", "grade": "AA",
    "description": "ลำไยสด เก็บเช้า ส่งเย็น", "story": "สวนของป้าแก้วปลูกลำไยมา 30 ปี …",
    "photo_urls": ["https://example.com/longan.jpg"], "clip_urls": ["https://www.tiktok.com/@maepa/video/1"], "hashtags": ["ลำไยแม่ปะ"]
}))]
pub struct NewProduct {
    /// Crop slug.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub crop: String,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub title: String,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub variety: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub grade: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub story: Option<String>,
    /// http(s) photo URLs, up to 20.
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "valid_photo_urls"))]
    #[schema(max_items = 20, format = "http-url")]
    pub photo_urls: Vec<String>,
    /// Facebook, TikTok or YouTube clip URLs, up to 20.
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "valid_clip_urls"))]
    #[schema(max_items = 20, format = "clip-url")]
    pub clip_urls: Vec<String>,
    /// The product's own hashtags (the LAO's are added automatically), up to 20, no spaces.
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "valid_hashtags"))]
    #[schema(max_items = 20, format = "hashtag")]
    pub hashtags: Vec<String>,
    /// Packed weight of one unit of sale in grams (1–1,000,000), for carriers' manifests.
    #[validate(range(min = 1, max = 1_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub unit_weight_grams: Option<i32>,
}

/// Changes to a product. Lists replace the stored ones.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub crop: Option<String>,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub title: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub variety: Option<String>,
    #[validate(length(max = 50))]
    #[schema(max_length = 50)]
    pub grade: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub story: Option<String>,
    #[validate(length(max = 20), custom(function = "valid_photo_urls"))]
    #[schema(max_items = 20, format = "http-url")]
    pub photo_urls: Option<Vec<String>>,
    #[validate(length(max = 20), custom(function = "valid_clip_urls"))]
    #[schema(max_items = 20, format = "clip-url")]
    pub clip_urls: Option<Vec<String>>,
    #[validate(length(max = 20), custom(function = "valid_hashtags"))]
    #[schema(max_items = 20, format = "hashtag")]
    pub hashtags: Option<Vec<String>>,
    /// Packed weight of one unit of sale in grams (1–1,000,000); `0` removes it.
    #[validate(range(min = 0, max = 1_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub unit_weight_grams: Option<i32>,
    pub active: Option<bool>,
}

pub fn create(
    conn: &mut DbConn,
    producer: &ProducerRow,
    new: &NewProduct,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    let crop = crops::resolve(conn, "crop", &new.crop)?;
    let id = diesel::insert_into(products::table)
        .values((
            products::producer_id.eq(producer.id),
            products::lao_id.eq(producer.lao_id),
            products::province_code.eq(&producer.province_code),
            products::district_code.eq(&producer.district_code),
            products::crop_id.eq(crop.id),
            products::title.eq(new.title.trim()),
            products::variety.eq(new.variety.as_deref()),
            products::grade.eq(new.grade.as_deref()),
            products::description.eq(new.description.as_deref()),
            products::story.eq(new.story.as_deref()),
            products::photo_urls.eq(json_list(&new.photo_urls)),
            products::clip_urls.eq(json_list(&new.clip_urls)),
            products::hashtags.eq(json_list(&normalize_hashtags(&new.hashtags))),
            products::active.eq(true),
            products::unit_weight_grams.eq(new.unit_weight_grams),
            products::created_at.eq(now),
            products::updated_at.eq(now),
        ))
        .returning(products::id)
        .get_result(conn)?;
    Ok(id)
}

pub fn update(
    conn: &mut DbConn,
    product: &ProductRow,
    changes: &ProductChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let crop_id = match &changes.crop {
        Some(slug) => Some(crops::resolve(conn, "crop", slug)?.id),
        None => None,
    };
    diesel::update(products::table.find(product.id))
        .set((
            crop_id.map(|v| products::crop_id.eq(v)),
            changes
                .title
                .as_deref()
                .map(|v| products::title.eq(v.trim().to_string())),
            changes
                .variety
                .clone()
                .map(|v| products::variety.eq(Some(v))),
            changes.grade.clone().map(|v| products::grade.eq(Some(v))),
            changes
                .description
                .clone()
                .map(|v| products::description.eq(Some(v))),
            changes.story.clone().map(|v| products::story.eq(Some(v))),
            changes
                .photo_urls
                .as_deref()
                .map(|v| products::photo_urls.eq(json_list(v))),
            changes
                .clip_urls
                .as_deref()
                .map(|v| products::clip_urls.eq(json_list(v))),
            changes
                .hashtags
                .as_deref()
                .map(|v| products::hashtags.eq(json_list(&normalize_hashtags(v)))),
            changes.active.map(|v| products::active.eq(v)),
            changes
                .unit_weight_grams
                .map(|v| products::unit_weight_grams.eq((v > 0).then_some(v))),
            products::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Products with crop, producer, LAO, district and province: one query, whatever the page size.
macro_rules! joined_products {
    () => {
        products::table.inner_join(crops_t::table).inner_join(
            producers::table
                .inner_join(laos::table.inner_join(districts::table.inner_join(provinces::table))),
        )
    };
}

macro_rules! joined_select {
    () => {
        (
            ProductRow::as_select(),
            CropRow::as_select(),
            ProducerRow::as_select(),
            LaoRow::as_select(),
            District::as_select(),
            Province::as_select(),
        )
    };
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ProductJoined>> {
    joined_products!()
        .filter(products::id.eq(id))
        .select(joined_select!())
        .first(conn)
        .optional()
}

/// Search filters for products.
#[derive(Debug, Default, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductFilter {
    /// Crop slug.
    pub crop: Option<String>,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    /// DLA code of the LAO.
    pub lao_code: Option<String>,
    pub producer_id: Option<i64>,
    /// Part of the title.
    #[validate(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Active products matching the filter, by id, `limit + 1` rows after `after`; one query.
pub fn search(
    conn: &mut DbConn,
    filter: &ProductFilter,
    after: i64,
    limit: usize,
) -> QueryResult<Vec<ProductJoined>> {
    let mut query = joined_products!()
        .select(joined_select!())
        .filter(products::id.gt(after))
        .filter(products::active.eq(true))
        .filter(producers::active.eq(true))
        .order(products::id)
        .limit(limit as i64 + 1)
        .into_boxed();
    if let Some(slug) = &filter.crop {
        query = query.filter(crops_t::slug.eq(slug.clone()));
    }
    if let Some(code) = &filter.province_code {
        query = query.filter(products::province_code.eq(code.clone()));
    }
    if let Some(code) = &filter.district_code {
        query = query.filter(products::district_code.eq(code.clone()));
    }
    if let Some(code) = &filter.lao_code {
        query = query.filter(laos::dla_code.eq(code.clone()));
    }
    if let Some(id) = filter.producer_id {
        query = query.filter(products::producer_id.eq(id));
    }
    if let Some(q) = &filter.q {
        query =
            query.filter(products::title.like(format!("%{}%", q.trim().replace(['%', '_'], ""))));
    }
    query.load(conn)
}

/// A product row by id (for modules that refer to products, like pre-order windows).
pub fn product_row(conn: &mut DbConn, id: i64) -> ApiResult<ProductRow> {
    products::table
        .find(id)
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found(PRODUCT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_clip_platforms() {
        assert_eq!(
            clip_platform("https://www.facebook.com/maepa/videos/1"),
            Some(ClipPlatform::Facebook)
        );
        assert_eq!(
            clip_platform("https://fb.watch/abc"),
            Some(ClipPlatform::Facebook)
        );
        assert_eq!(
            clip_platform("https://vt.tiktok.com/ZS123/"),
            Some(ClipPlatform::Tiktok)
        );
        assert_eq!(
            clip_platform("https://youtu.be/dQw4w9WgXcQ"),
            Some(ClipPlatform::Youtube)
        );
        assert_eq!(
            clip_platform("https://m.youtube.com/watch?v=x"),
            Some(ClipPlatform::Youtube)
        );
        assert_eq!(clip_platform("https://vimeo.com/1"), None);
        assert_eq!(clip_platform("https://facebook.com.evil.example/x"), None);
    }

    #[test]
    fn hashtags_are_normalized() {
        assert_eq!(
            normalize_hashtags(&["ลำไย".into(), "#ลำไย".into(), "#ของดีแม่ปะ".into()]),
            vec!["#ลำไย", "#ของดีแม่ปะ"]
        );
        assert!(valid_hashtags(&["#ลำไย แม่ปะ".into()]).is_err());
        assert!(valid_hashtags(&["#".into()]).is_err());
        assert!(valid_hashtags(&["ลำไยแม่ปะ".into()]).is_ok());
    }
}

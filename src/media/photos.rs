//! Product photos as stored: who may change them, their order and cover, their files, and the
//! views the product and window pages show (through `catalog::products::set_photo_lookup`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

use super::images::{OutputFormat, Processed, Rendition};
use crate::auth::policy::{Action, authorize};
use crate::auth::principal::Principal;
use crate::catalog::products::{self, PhotoSize, ProductPhoto};
use crate::db::DbConn;
use crate::db::schema::{photo_files, product_photos};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;

pub const PHOTO: Text = Text {
    en: "photo",
    th: "รูปภาพ",
};

/// Most photos one product has.
pub const MAX_PHOTOS: i64 = 20;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = product_photos)]
pub struct PhotoRow {
    pub id: i64,
    pub product_id: i64,
    pub position: i32,
    pub cover: bool,
    pub alt_th: Option<String>,
    pub alt_en: Option<String>,
    pub source_kind: String,
    pub source_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = photo_files)]
pub struct FileRow {
    pub id: i64,
    pub photo_id: i64,
    pub role: String,
    pub width: i32,
    pub height: i32,
    pub format: String,
    pub file_name: String,
    pub bytes: i64,
}

/// Alt texts of a new photo.
#[derive(Debug, Default, Deserialize, Validate, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PhotoText {
    /// What the photo shows, in Thai (for screen readers and when images do not load).
    #[validate(length(max = 300), custom(function = "crate::validate::one_line"))]
    #[param(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub alt_th: Option<String>,
    #[validate(length(max = 300), custom(function = "crate::validate::one_line"))]
    #[param(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub alt_en: Option<String>,
}

fn only_true(cover: &bool) -> Result<(), validator::ValidationError> {
    if *cover {
        Ok(())
    } else {
        Err(validator::ValidationError::new("not_allowed"))
    }
}

/// Changes to a photo.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"alt_th": "ลำไยอีดอช่อใหญ่ในสวนป้าแก้ว", "position": 1, "cover": true}))]
pub struct PhotoChanges {
    #[validate(length(max = 300), custom(function = "crate::validate::one_line"))]
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub alt_th: Option<String>,
    #[validate(length(max = 300), custom(function = "crate::validate::one_line"))]
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub alt_en: Option<String>,
    /// Move to this place (1 = first); the others shift.
    #[validate(range(min = 1, max = 20))]
    #[schema(minimum = 1, maximum = 20)]
    pub position: Option<i32>,
    /// `true` makes it the product's cover photo (to change the cover, make another one the
    /// cover; `false` is refused).
    #[validate(custom(function = "only_true"))]
    pub cover: Option<bool>,
}

/// The file name of stored bytes: `{sha256}-{upload}.{ext}`, the content's hash and the
/// upload's own 16 hex digits. Each upload's files are its own: deleting a photo can never take
/// a file another photo (of the same content) still shows, and a refused upload removes exactly
/// what it wrote.
pub fn file_name(bytes: &[u8], format: OutputFormat, upload: &str) -> String {
    let hash: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hash}-{upload}.{}", format.extension())
}

/// A new upload's 16 hex digits.
pub fn new_upload_id() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `name` is a file name this room makes (`{64 hex}-{16 hex}.{jpg|webp|png}`) and its
/// format; anything else is never looked up in the store.
pub fn valid_file_name(name: &str) -> Option<OutputFormat> {
    let (stem, ext) = name.split_once('.')?;
    let (hash, upload) = stem.split_once('-')?;
    if !lower_hex(hash, 64) || !lower_hex(upload, 16) {
        return None;
    }
    [OutputFormat::Jpeg, OutputFormat::Webp, OutputFormat::Png]
        .into_iter()
        .find(|f| f.extension() == ext)
}

/// Refuses a 21st photo before anything is read or processed (checked again when it is
/// recorded).
pub fn check_room(conn: &mut DbConn, product_id: i64) -> ApiResult<()> {
    let count: i64 = product_photos::table
        .filter(product_photos::product_id.eq(product_id))
        .count()
        .get_result(conn)?;
    if count >= MAX_PHOTOS {
        return Err(ApiError::validation(vec![
            FieldError::new("file", "too_many").with("max", MAX_PHOTOS),
        ]));
    }
    Ok(())
}

fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Jpeg => "jpeg",
        OutputFormat::Webp => "webp",
        OutputFormat::Png => "png",
    }
}

/// The files of a processed photo, named for the upload: the original first.
pub fn files_of<'a>(
    processed: &'a Processed,
    upload: &str,
) -> Vec<(&'static str, &'a Rendition, String)> {
    std::iter::once(("original", &processed.original))
        .chain(processed.renditions.iter().map(|r| ("size", r)))
        .map(|(role, r)| (role, r, file_name(&r.bytes, r.format, upload)))
        .collect()
}

/// The product, if the caller may change its photos (staff of its LAO, its producer, admins):
/// 404 for no product, 403 otherwise (products are public).
pub fn managed_product(conn: &mut DbConn, principal: &Principal, product_id: i64) -> ApiResult<()> {
    let (_, _, producer, lao, ..) =
        products::find(conn, product_id)?.ok_or_else(|| ApiError::not_found(products::PRODUCT))?;
    authorize(
        principal,
        Action::ManageProducerOffer,
        &producer.place(&lao),
    )
}

/// Records a processed photo whose files are already stored. The first photo of a product is
/// its cover.
#[allow(clippy::too_many_arguments)] // each is a distinct fact of the upload
pub fn record(
    conn: &mut DbConn,
    product_id: i64,
    processed: &Processed,
    source_bytes: usize,
    text: &PhotoText,
    upload: &str,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<PhotoRow> {
    // Lock the product's photos: two uploads take turns for the next position.
    diesel::update(crate::db::schema::products::table.find(product_id))
        .set(crate::db::schema::products::updated_at.eq(crate::db::schema::products::updated_at))
        .execute(conn)?;
    let count: i64 = product_photos::table
        .filter(product_photos::product_id.eq(product_id))
        .count()
        .get_result(conn)?;
    if count >= MAX_PHOTOS {
        return Err(ApiError::validation(vec![
            FieldError::new("file", "too_many").with("max", MAX_PHOTOS),
        ]));
    }
    let clean = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let id: i64 = diesel::insert_into(product_photos::table)
        .values((
            product_photos::product_id.eq(product_id),
            product_photos::position.eq(count as i32 + 1),
            product_photos::cover.eq(count == 0),
            product_photos::alt_th.eq(clean(&text.alt_th)),
            product_photos::alt_en.eq(clean(&text.alt_en)),
            product_photos::source_kind.eq(format!("{:?}", processed.kind).to_lowercase()),
            product_photos::source_bytes.eq(source_bytes as i64),
            product_photos::width.eq(processed.width as i32),
            product_photos::height.eq(processed.height as i32),
            product_photos::created_by.eq(actor),
            product_photos::created_at.eq(now),
            product_photos::updated_at.eq(now),
        ))
        .returning(product_photos::id)
        .get_result(conn)?;
    for (role, rendition, name) in files_of(processed, upload) {
        diesel::insert_into(photo_files::table)
            .values((
                photo_files::photo_id.eq(id),
                photo_files::role.eq(role),
                photo_files::width.eq(rendition.width as i32),
                photo_files::height.eq(rendition.height as i32),
                photo_files::format.eq(format_name(rendition.format)),
                photo_files::file_name.eq(name),
                photo_files::bytes.eq(rendition.bytes.len() as i64),
            ))
            .execute(conn)?;
    }
    find(conn, product_id, id)
}

/// A photo of a product, or 404.
pub fn find(conn: &mut DbConn, product_id: i64, photo_id: i64) -> ApiResult<PhotoRow> {
    product_photos::table
        .find(photo_id)
        .filter(product_photos::product_id.eq(product_id))
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found(PHOTO))
}

fn ordered(conn: &mut DbConn, product_id: i64) -> QueryResult<Vec<PhotoRow>> {
    product_photos::table
        .filter(product_photos::product_id.eq(product_id))
        .order((product_photos::position, product_photos::id))
        .select(PhotoRow::as_select())
        .load(conn)
}

/// Writes positions 1…n in the given order.
fn renumber(conn: &mut DbConn, rows: &[PhotoRow], now: NaiveDateTime) -> QueryResult<()> {
    for (i, row) in rows.iter().enumerate() {
        let position = i as i32 + 1;
        if row.position != position {
            diesel::update(product_photos::table.find(row.id))
                .set((
                    product_photos::position.eq(position),
                    product_photos::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Changes a photo's texts, place or cover.
pub fn update(
    conn: &mut DbConn,
    product_id: i64,
    photo_id: i64,
    changes: &PhotoChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let photo = find(conn, product_id, photo_id)?;
    let text = |new: &Option<String>, old: &Option<String>| match new {
        Some(t) if t.trim().is_empty() => None,
        Some(t) => Some(t.trim().to_string()),
        None => old.clone(),
    };
    diesel::update(product_photos::table.find(photo.id))
        .set((
            product_photos::alt_th.eq(text(&changes.alt_th, &photo.alt_th)),
            product_photos::alt_en.eq(text(&changes.alt_en, &photo.alt_en)),
            product_photos::updated_at.eq(now),
        ))
        .execute(conn)?;
    if let Some(position) = changes.position {
        let mut rows = ordered(conn, product_id)?;
        if let Some(at) = rows.iter().position(|r| r.id == photo.id) {
            let moved = rows.remove(at);
            let to = (position as usize - 1).min(rows.len());
            rows.insert(to, moved);
            renumber(conn, &rows, now)?;
        }
    }
    if changes.cover == Some(true) {
        diesel::update(product_photos::table.filter(product_photos::product_id.eq(product_id)))
            .set(product_photos::cover.eq(false))
            .execute(conn)?;
        diesel::update(product_photos::table.find(photo.id))
            .set(product_photos::cover.eq(true))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a photo; the next one becomes the cover if it was. Returns its files' names, for the
/// caller to remove from the store once the transaction commits (no other photo has them).
pub fn delete(
    conn: &mut DbConn,
    product_id: i64,
    photo_id: i64,
    now: NaiveDateTime,
) -> ApiResult<Vec<String>> {
    let photo = find(conn, product_id, photo_id)?;
    let names: Vec<String> = photo_files::table
        .filter(photo_files::photo_id.eq(photo.id))
        .select(photo_files::file_name)
        .load(conn)?;
    diesel::delete(photo_files::table.filter(photo_files::photo_id.eq(photo.id))).execute(conn)?;
    diesel::delete(product_photos::table.find(photo.id)).execute(conn)?;
    let rows = ordered(conn, product_id)?;
    renumber(conn, &rows, now)?;
    if photo.cover
        && let Some(first) = rows.first()
    {
        diesel::update(product_photos::table.find(first.id))
            .set(product_photos::cover.eq(true))
            .execute(conn)?;
    }
    Ok(names)
}

fn size_view(f: &FileRow) -> PhotoSize {
    PhotoSize {
        width: f.width as u32,
        height: f.height as u32,
        format: f.format.clone(),
        url: format!("/v1/media/{}", f.file_name),
        bytes: f.bytes,
    }
}

/// The photos of products in order, by product id: two queries (the hook of
/// `catalog::products::set_photo_lookup`).
pub fn lookup(
    conn: &mut DbConn,
    product_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<ProductPhoto>>> {
    let mut out: HashMap<i64, Vec<ProductPhoto>> = HashMap::new();
    for chunk in product_ids.chunks(500) {
        let photos: Vec<PhotoRow> = product_photos::table
            .filter(product_photos::product_id.eq_any(chunk))
            .order((
                product_photos::product_id,
                product_photos::position,
                product_photos::id,
            ))
            .select(PhotoRow::as_select())
            .load(conn)?;
        if photos.is_empty() {
            continue;
        }
        let ids: Vec<i64> = photos.iter().map(|p| p.id).collect();
        let mut files: HashMap<i64, Vec<FileRow>> = HashMap::new();
        for f in photo_files::table
            .filter(photo_files::photo_id.eq_any(&ids))
            .order((photo_files::photo_id, photo_files::width, photo_files::id))
            .select(FileRow::as_select())
            .load::<FileRow>(conn)?
        {
            files.entry(f.photo_id).or_default().push(f);
        }
        for p in photos {
            let list = files.remove(&p.id).unwrap_or_default();
            let Some(original) = list.iter().find(|f| f.role == "original") else {
                continue;
            };
            // WebP first for each width (browsers take the first type they support).
            let mut sizes: Vec<&FileRow> = list.iter().filter(|f| f.role == "size").collect();
            sizes.sort_by_key(|f| (f.width, f.format != "webp"));
            out.entry(p.product_id).or_default().push(ProductPhoto {
                id: p.id,
                position: p.position,
                cover: p.cover,
                alt_th: p.alt_th,
                alt_en: p.alt_en,
                width: p.width as u32,
                height: p.height as u32,
                original: size_view(original),
                sizes: sizes.into_iter().map(size_view).collect(),
            });
        }
    }
    Ok(out)
}

/// The photos of one product, in order.
pub fn of_product(conn: &mut DbConn, product_id: i64) -> QueryResult<Vec<ProductPhoto>> {
    Ok(lookup(conn, &[product_id])?
        .remove(&product_id)
        .unwrap_or_default())
}

//! `/v1/products/{id}/photos…` and `/v1/media/{file}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use futures_util::StreamExt;
use utoipa::ToSchema;

use super::images::{self, ImageError, ImageKind};
use super::photos::{self, PhotoChanges, PhotoText};
use crate::AppState;
use crate::auth::principal::Principal;
use crate::catalog::products::ProductPhoto;
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param, Problem};
use crate::extract::{ValidJson, ValidQuery};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload_photo)
        .service(list_photos)
        .service(update_photo)
        .service(delete_photo)
        .service(media_file);
}

/// The multipart form of an upload (the raw image as the body works too).
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form for the OpenAPI document
pub struct PhotoUpload {
    /// The image: JPEG, PNG or WebP, at most 15 MB (the server's setting) and 40 megapixels.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// One line, no control characters (as everywhere alt texts are taken).
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    alt_th: Option<String>,
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    alt_en: Option<String>,
}

/// Photos processed at once: decoding a 40-megapixel photo can take half a gigabyte, so uploads
/// queue for one of these (one per core) instead of all decoding together.
fn processing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.clamp(1, 8))
    })
}

/// 503 `storage_unavailable`: the photo store (a directory or S3) failed.
fn store_failed(e: object_store::Error) -> ApiError {
    ApiError::new(ErrorKind::StorageUnavailable)
        .retry_after(10)
        .caused_by(format!("photo store: {e}"))
}

fn form_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::MalformedForm).with(
        "reason",
        Param::both(e.to_string(), "ข้อมูลฟอร์มไม่ครบหรือผิดรูปแบบ"),
    )
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorKind::PayloadTooLarge).with("limit", limit as u64)
}

/// Reads a stream of chunks up to `limit` bytes (413 beyond).
async fn read_limited<S, E>(mut stream: S, limit: usize) -> ApiResult<Vec<u8>>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(form_error)?;
        if out.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The uploaded image and its alt texts, from a multipart form (field `file`) or a raw body.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    query: PhotoText,
    limit: usize,
) -> ApiResult<(Vec<u8>, PhotoText)> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("multipart/form-data") {
        let body = read_limited(payload, limit).await?;
        return Ok((body, query));
    }
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let mut file = None;
    let mut text = query;
    while let Some(field) = form.next().await {
        let field = field.map_err(form_error)?;
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            // One photo per request: a second file would be dropped silently otherwise.
            "file" if file.is_some() => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "file", "repeated",
                )]));
            }
            "file" => file = Some(read_limited(field, limit).await?),
            "alt_th" | "alt_en" => {
                let bytes = read_limited(field, 4 * 1024).await?;
                let value = String::from_utf8(bytes).map_err(|_| {
                    ApiError::validation(vec![
                        FieldError::new(name.clone(), "invalid_type")
                            .with("reason", Param::both("not UTF-8 text", "ไม่ใช่ข้อความ UTF-8")),
                    ])
                })?;
                if name == "alt_th" {
                    text.alt_th = Some(value);
                } else {
                    text.alt_en = Some(value);
                }
            }
            // Other fields are read and dropped (browsers add their own).
            _ => {
                read_limited(field, limit).await?;
            }
        }
    }
    let file =
        file.ok_or_else(|| ApiError::validation(vec![FieldError::new("file", "required")]))?;
    Ok((file, text))
}

fn accepted_types() -> Param {
    Param::both(
        "a JPEG, PNG or WebP image (on an iPhone, share the photo as JPEG, or set Camera › Formats › Most Compatible)",
        "รูปภาพ JPEG, PNG หรือ WebP (บน iPhone ให้แชร์รูปเป็น JPEG หรือตั้งค่า กล้อง › รูปแบบ › เข้ากันได้มากที่สุด)",
    )
}

fn image_error(e: ImageError) -> ApiError {
    match e {
        ImageError::Unsupported { kind } => ApiError::new(ErrorKind::UnsupportedMediaType)
            .with("expected", accepted_types())
            .extra("detected", kind.map(ImageKind::mime))
            .extra("accepted", ["image/jpeg", "image/png", "image/webp"]),
        ImageError::TooLarge { width, height } => ApiError::new(ErrorKind::ImageTooLarge)
            .with("width", u64::from(width))
            .with("height", u64::from(height))
            .with("max_pixels", images::MAX_PIXELS)
            .with("max_side", u64::from(images::MAX_SIDE)),
        // The decoder's words are English; in Thai the problem says what it means.
        ImageError::Unreadable(reason) => ApiError::new(ErrorKind::UnreadableImage)
            .with("reason", Param::both(reason, "ข้อมูลภาพอ่านได้ไม่ครบหรือผิดรูปแบบ")),
    }
}

/// Upload a product photo
///
/// LAO staff of the product's LAO, its producer, admins: a multipart form with the image in
/// `file` (and `alt_th`, `alt_en`), or the raw image as the body (alt texts in the query).
/// JPEG, PNG or WebP, sniffed from the content (never the name or `Content-Type`); HEIC is
/// refused with 415 naming the accepted types. EXIF and every other metadata (GPS above all)
/// is stripped after the EXIF orientation is applied; the full-size image and sizes of 320, 800
/// and 1600 px on the long side are stored as WebP and JPEG. At most 20 photos a product; the
/// first is the cover.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id"), PhotoText),
    request_body(content(
        (PhotoUpload = "multipart/form-data"),
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"),
        (Vec<u8> = "image/webp"),
    )),
    responses(
        (status = 201, body = ProductPhoto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "payload_too_large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type: not JPEG, PNG or WebP (`detected`, `accepted`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "image_too_large, unreadable_image, file (required, too_many), alt texts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/products/{id}/photos")]
pub async fn upload_photo(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<PhotoText>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let product_id = id.into_inner();
    // Who may, and whether there is room, before reading megabytes.
    let who = principal.clone();
    state
        .db(move |conn| {
            photos::managed_product(conn, &who, product_id)?;
            photos::check_room(conn, product_id)
        })
        .await?;
    let limit = state.config.max_photo_bytes;
    let (bytes, text) = read_upload(&req, payload, query.0, limit).await?;
    validator::Validate::validate(&text)
        .map_err(|e| ApiError::validation(crate::extract::flatten_validation_errors(&e)))?;
    if bytes.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new(
            "file", "required",
        )]));
    }
    let size = bytes.len();
    let slot = processing_slots()
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let processed = web::block(move || images::process(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(image_error)?;
    drop(slot);
    // Files first, under this upload's own names, then the rows; if the rows are refused (a
    // 21st photo meanwhile, the database down), the files go again.
    let upload = photos::new_upload_id();
    let files = photos::files_of(&processed, &upload);
    let names: Vec<String> = files.iter().map(|(_, _, name)| name.clone()).collect();
    for (_, rendition, name) in &files {
        if let Err(e) = state.media.put(name, rendition.bytes.clone()).await {
            remove_files(&state, &names).await;
            return Err(store_failed(e));
        }
    }
    let now = state.clock.now_naive();
    let actor = principal.actor_label();
    let recorded = state
        .db_tx(move |conn| {
            photos::managed_product(conn, &principal, product_id)?;
            let row = photos::record(
                conn, product_id, &processed, size, &text, &upload, &actor, now,
            )?;
            photos::of_product(conn, product_id)?
                .into_iter()
                .find(|p| p.id == row.id)
                .ok_or_else(|| ApiError::internal("a new photo vanished"))
        })
        .await;
    let photo = match recorded {
        Ok(photo) => photo,
        Err(e) => {
            remove_files(&state, &names).await;
            return Err(e);
        }
    };
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/products/{product_id}/photos/{}", photo.id),
        ))
        .json(photo))
}

/// A product's photos
///
/// Public, in order, each with its sizes (for `srcset`).
#[utoipa::path(
    tag = "media",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, body = Vec<ProductPhoto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/products/{id}/photos")]
pub async fn list_photos(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Vec<ProductPhoto>>> {
    let product_id = id.into_inner();
    let list = state
        .db(move |conn| {
            crate::catalog::products::product_row(conn, product_id)?;
            Ok(photos::of_product(conn, product_id)?)
        })
        .await?;
    Ok(web::Json(list))
}

/// Change a product photo
///
/// Alt texts (an empty text removes one), its place (1 = first; the others shift) or
/// `"cover": true`.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Product id"),
        ("photo_id" = i64, Path, description = "Photo id"),
    ),
    request_body = PhotoChanges,
    responses(
        (status = 200, body = Vec<ProductPhoto>, description = "The product's photos, in their new order"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/products/{id}/photos/{photo_id}")]
pub async fn update_photo(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
    body: ValidJson<PhotoChanges>,
) -> ApiResult<web::Json<Vec<ProductPhoto>>> {
    let (product_id, photo_id) = path.into_inner();
    let now = state.clock.now_naive();
    let list = state
        .db_tx(move |conn| {
            photos::managed_product(conn, &principal, product_id)?;
            photos::update(conn, product_id, photo_id, &body.0, now)?;
            Ok(photos::of_product(conn, product_id)?)
        })
        .await?;
    Ok(web::Json(list))
}

/// Delete a product photo
///
/// Its files are removed from the store unless another photo has the same content.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Product id"),
        ("photo_id" = i64, Path, description = "Photo id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/products/{id}/photos/{photo_id}")]
pub async fn delete_photo(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (product_id, photo_id) = path.into_inner();
    let now = state.clock.now_naive();
    let unused = state
        .db_tx(move |conn| {
            photos::managed_product(conn, &principal, product_id)?;
            photos::delete(conn, product_id, photo_id, now)
        })
        .await?;
    remove_files(&state, &unused).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes files no row names (any more): a file left behind costs space, not correctness, so
/// a failure is logged and the answer stands.
async fn remove_files(state: &AppState, names: &[String]) {
    for name in names {
        if let Err(e) = state.media.delete(name).await {
            tracing::warn!(file = %name, error = %e, "could not remove a photo file");
        }
    }
}

/// A photo file
///
/// Public: `{sha256}-{upload}.{webp|jpg|png}` as the photo views list them. The content never changes
/// under a name, so it is cached for a year (`immutable`), with the hash as its `ETag`
/// (`If-None-Match` answers 304).
#[utoipa::path(
    tag = "media",
    params(("file" = String, Path, description = "`{sha256}-{upload}.{ext}`")),
    responses(
        (status = 200, description = "The image", content(
            (Vec<u8> = "image/webp"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
        )),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/media/{file}")]
pub async fn media_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    file: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = file.into_inner();
    let format =
        photos::valid_file_name(&name).ok_or_else(|| ApiError::not_found(photos::PHOTO))?;
    let hash = name
        .split(['-', '.'])
        .next()
        .unwrap_or_default()
        .to_string();
    let etag = format!("\"{hash}\"");
    let cache = "public, max-age=31536000, immutable";
    if crate::extract::etag_matches(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    let bytes = state
        .media
        .get(&name)
        .await
        .map_err(store_failed)?
        .ok_or_else(|| ApiError::not_found(photos::PHOTO))?;
    Ok(HttpResponse::Ok()
        .content_type(format.mime())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(bytes))
}

//! Catalogue endpoints: crops, producers and products.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use validator::Validate;

use super::crops::{self, CROP, Category, Crop, CropChanges, NewCrop};
use super::producers::{self, NewProducer, PRODUCER, Producer, ProducerChanges, ProducerFilter};
use super::products::{self, NewProduct, PRODUCT, Product, ProductChanges, ProductFilter};
use crate::AppState;
use crate::auth::policy::{Action, authorize};
use crate::auth::principal::{OptionalPrincipal, Principal};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::laos::model::{self as lao_model, LAO};
use crate::pagination::{Page, decode_cursor, page_from, page_size};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_crops)
        .service(get_crop)
        .service(create_crop)
        .service(update_crop)
        .service(create_producer)
        .service(list_producers)
        .service(get_producer)
        .service(update_producer)
        .service(create_product)
        .service(list_products)
        .service(get_product)
        .service(update_product);
}

fn require_admin(principal: &Principal) -> ApiResult<()> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CropFilter {
    pub category: Option<Category>,
    /// Include crops an admin deactivated.
    #[serde(default)]
    pub include_inactive: bool,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Crops and goods
///
/// The shared list products and calendars refer to (by slug), in slug order, a page at a time.
#[utoipa::path(
    tag = "catalog",
    params(CropFilter),
    responses(
        (status = 200, body = Page<Crop>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/crops")]
pub async fn list_crops(
    state: web::Data<AppState>,
    filter: ValidQuery<CropFilter>,
) -> ApiResult<web::Json<Page<Crop>>> {
    let ValidQuery(filter) = filter;
    let limit = page_size(filter.limit);
    let after: Option<String> = decode_cursor(filter.cursor.as_deref())?;
    let rows = state
        .db(move |conn| {
            Ok(crops::list(
                conn,
                filter.category,
                filter.include_inactive,
                after.as_deref(),
                limit as i64 + 1,
            )?)
        })
        .await?;
    Ok(web::Json(
        page_from(rows, limit, |row| row.slug.clone()).map(Crop::from),
    ))
}

/// A crop
#[utoipa::path(
    tag = "catalog",
    params(("slug" = String, Path, description = "Crop slug", example = "longan")),
    responses(
        (status = 200, body = Crop),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/crops/{slug}")]
pub async fn get_crop(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult<web::Json<Crop>> {
    let slug = slug.into_inner();
    let crop = state
        .db(move |conn| crops::find_by_slug(conn, &slug)?.ok_or_else(|| ApiError::not_found(CROP)))
        .await?;
    Ok(web::Json(crop.into()))
}

/// Add a crop
///
/// Admins keep the crop list.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    request_body = NewCrop,
    responses(
        (status = 201, body = Crop),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/crops")]
pub async fn create_crop(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewCrop>,
) -> ApiResult<HttpResponse> {
    require_admin(&principal)?;
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let crop = state
        .db_tx(move |conn| crops::create(conn, &new, now))
        .await?;
    Ok(HttpResponse::Created().json(Crop::from(crop)))
}

/// Change a crop
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "Crop slug", example = "longan")),
    request_body = CropChanges,
    responses(
        (status = 200, body = Crop),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/crops/{slug}")]
pub async fn update_crop(
    state: web::Data<AppState>,
    principal: Principal,
    slug: web::Path<String>,
    body: ValidJson<CropChanges>,
) -> ApiResult<web::Json<Crop>> {
    require_admin(&principal)?;
    let slug = slug.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let crop = state
        .db_tx(move |conn| crops::update(conn, &slug, &changes, now))
        .await?;
    Ok(web::Json(crop.into()))
}

/// Register a producer of an LAO
///
/// For the LAO's staff (and admins). A citizen id, when given, is only hashed with a secret key
/// to count distinct beneficiaries; it is never stored, logged or shown.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("dla_code" = String, Path, description = "Seven-digit DLA code", pattern = "^[0-9]{7}$", example = "6630691")),
    request_body = NewProducer,
    responses(
        (status = 201, body = Producer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid phone, PromptPay id or citizen id, with the field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{dla_code}/producers")]
pub async fn create_producer(
    state: web::Data<AppState>,
    principal: Principal,
    dla_code: web::Path<String>,
    body: ValidJson<NewProducer>,
) -> ApiResult<HttpResponse> {
    let dla_code = dla_code.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let producer = state
        .db_tx(move |conn| {
            let lao = lao_model::find_by_code(conn, &dla_code)?
                .ok_or_else(|| ApiError::not_found(LAO))?;
            authorize(&principal, Action::ManageProducers, &lao.place())?;
            let id = producers::create(conn, &lao, &new, &pepper, now)?;
            let (row, lao) =
                producers::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCER))?;
            Ok(Producer::for_caller(row, &lao, Some(&principal)))
        })
        .await?;
    Ok(HttpResponse::Created().json(producer))
}

/// List producers
///
/// Public; contact and payment details appear only for callers who manage or oversee each
/// producer.
#[utoipa::path(
    tag = "catalog",
    params(ProducerFilter),
    responses(
        (status = 200, body = Page<Producer>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/producers")]
pub async fn list_producers(
    state: web::Data<AppState>,
    principal: OptionalPrincipal,
    filter: ValidQuery<ProducerFilter>,
) -> ApiResult<web::Json<Page<Producer>>> {
    let ValidQuery(filter) = filter;
    let limit = page_size(filter.limit);
    let after: i64 = decode_cursor(filter.cursor.as_deref())?.unwrap_or(0);
    let page = state
        .db(move |conn| {
            let rows = producers::list(conn, &filter, after, limit)?;
            Ok(page_from(rows, limit, |(p, _)| p.id)
                .map(|(row, lao)| Producer::for_caller(row, &lao, principal.0.as_ref())))
        })
        .await?;
    Ok(web::Json(page))
}

/// A producer
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path, description = "Producer id")),
    responses(
        (status = 200, body = Producer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/producers/{id}")]
pub async fn get_producer(
    state: web::Data<AppState>,
    principal: OptionalPrincipal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Producer>> {
    let id = id.into_inner();
    let producer = state
        .db(move |conn| {
            let (row, lao) =
                producers::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCER))?;
            Ok(Producer::for_caller(row, &lao, principal.0.as_ref()))
        })
        .await?;
    Ok(web::Json(producer))
}

/// Change a producer
///
/// The LAO's staff, admins, and the producer's own account (which may not change `active`).
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Producer id")),
    request_body = ProducerChanges,
    responses(
        (status = 200, body = Producer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/producers/{id}")]
pub async fn update_producer(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<ProducerChanges>,
) -> ApiResult<web::Json<Producer>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let producer = state
        .db_tx(move |conn| {
            let (row, lao) =
                producers::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCER))?;
            authorize(&principal, Action::ManageProducerOffer, &row.place(&lao))?;
            producers::update(conn, &principal, &row, &lao, &changes, &pepper, now)?;
            let (row, lao) =
                producers::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCER))?;
            Ok(Producer::for_caller(row, &lao, Some(&principal)))
        })
        .await?;
    Ok(web::Json(producer))
}

/// Add a product
///
/// A producer's offer of a crop, with its story, photos, clips and hashtags. For the LAO's staff,
/// admins and the producer's own account.
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Producer id")),
    request_body = NewProduct,
    responses(
        (status = 201, body = Product),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/producers/{id}/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<NewProduct>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let product = state
        .db_tx(move |conn| {
            let (producer, lao) =
                producers::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCER))?;
            authorize(
                &principal,
                Action::ManageProducerOffer,
                &producer.place(&lao),
            )?;
            let product_id = products::create(conn, &producer, &new, now)?;
            let row =
                products::find(conn, product_id)?.ok_or_else(|| ApiError::not_found(PRODUCT))?;
            products::view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Created().json(product))
}

/// Search products
///
/// Public: active products of active producers, filtered by crop, province, district, LAO,
/// producer or title, in id order. Each page is read in one query, its products'
/// photos in one or two more, whatever the page size.
#[utoipa::path(
    tag = "catalog",
    params(ProductFilter),
    responses(
        (status = 200, body = Page<Product>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    filter: ValidQuery<ProductFilter>,
) -> ApiResult<web::Json<Page<Product>>> {
    let ValidQuery(filter) = filter;
    let limit = page_size(filter.limit);
    let after: i64 = decode_cursor(filter.cursor.as_deref())?.unwrap_or(0);
    let page = state
        .db(move |conn| {
            let rows = products::search(conn, &filter, after, limit)?;
            let page = page_from(rows, limit, |row| row.0.id);
            let items = products::views(conn, page.items)?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// A product
#[utoipa::path(
    tag = "catalog",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, body = Product),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/products/{id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Product>> {
    let id = id.into_inner();
    let product = state
        .db(move |conn| {
            let row = products::find(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCT))?;
            products::view(conn, row)
        })
        .await?;
    Ok(web::Json(product))
}

/// Change a product
#[utoipa::path(
    tag = "catalog",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = ProductChanges,
    responses(
        (status = 200, body = Product),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<ProductChanges>,
) -> ApiResult<web::Json<Product>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let product = state
        .db_tx(move |conn| {
            let (row, _, producer, lao, ..) =
                products::find(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCT))?;
            authorize(
                &principal,
                Action::ManageProducerOffer,
                &producer.place(&lao),
            )?;
            products::update(conn, &row, &changes, now)?;
            let row = products::find(conn, id)?.ok_or_else(|| ApiError::not_found(PRODUCT))?;
            products::view(conn, row)
        })
        .await?;
    Ok(web::Json(product))
}

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{
    self, DISTRICT, District, DistrictDetail, PROVINCE, Province, SUBDISTRICT, Subdistrict,
    SubdistrictDetail,
};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::ItemList;

/// All 77 provinces
///
/// Ordered by DOPA code.
#[utoipa::path(
    tag = "geography",
    responses((status = 200, body = ItemList<Province>))
)]
#[get("/provinces")]
pub async fn list_provinces(
    state: web::Data<AppState>,
) -> ApiResult<web::Json<ItemList<Province>>> {
    let items = state.db(|conn| Ok(model::list_provinces(conn)?)).await?;
    Ok(web::Json(items.into()))
}

/// A province
#[utoipa::path(
    tag = "geography",
    params(("code" = String, Path, description = "Two-digit province code", pattern = "^[0-9]{2}$", example = "63")),
    responses(
        (status = 200, body = Province),
        (status = 400, description = "Not a two-digit code", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/provinces/{code}")]
pub async fn get_province(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<web::Json<Province>> {
    let code = code.into_inner();
    model::check_code("code", &code, 2)?;
    let province = state
        .db(move |conn| Ok(model::find_province(conn, &code)?))
        .await?
        .ok_or_else(|| ApiError::not_found(PROVINCE))?;
    Ok(web::Json(province))
}

/// The districts of a province
#[utoipa::path(
    tag = "geography",
    params(("code" = String, Path, description = "Two-digit province code", pattern = "^[0-9]{2}$", example = "63")),
    responses(
        (status = 200, body = ItemList<District>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/provinces/{code}/districts")]
pub async fn list_province_districts(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<web::Json<ItemList<District>>> {
    let code = code.into_inner();
    model::check_code("code", &code, 2)?;
    let items = state
        .db(move |conn| {
            if model::find_province(conn, &code)?.is_none() {
                return Err(ApiError::not_found(PROVINCE));
            }
            Ok(model::list_districts(conn, &code)?)
        })
        .await?;
    Ok(web::Json(items.into()))
}

/// A district with its province
#[utoipa::path(
    tag = "geography",
    params(("code" = String, Path, description = "Four-digit district code", pattern = "^[0-9]{4}$", example = "6306")),
    responses(
        (status = 200, body = DistrictDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/districts/{code}")]
pub async fn get_district(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<web::Json<DistrictDetail>> {
    let code = code.into_inner();
    model::check_code("code", &code, 4)?;
    let district = state
        .db(move |conn| Ok(model::district_detail(conn, &code)?))
        .await?
        .ok_or_else(|| ApiError::not_found(DISTRICT))?;
    Ok(web::Json(district))
}

/// The subdistricts of a district
#[utoipa::path(
    tag = "geography",
    params(("code" = String, Path, description = "Four-digit district code", pattern = "^[0-9]{4}$", example = "6306")),
    responses(
        (status = 200, body = ItemList<Subdistrict>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/districts/{code}/subdistricts")]
pub async fn list_district_subdistricts(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<web::Json<ItemList<Subdistrict>>> {
    let code = code.into_inner();
    model::check_code("code", &code, 4)?;
    let items = state
        .db(move |conn| {
            if model::find_district(conn, &code)?.is_none() {
                return Err(ApiError::not_found(DISTRICT));
            }
            Ok(model::list_subdistricts(conn, &code)?)
        })
        .await?;
    Ok(web::Json(items.into()))
}

/// A subdistrict with its district and province
#[utoipa::path(
    tag = "geography",
    params(("code" = String, Path, description = "Six-digit subdistrict code", pattern = "^[0-9]{6}$", example = "630601")),
    responses(
        (status = 200, body = SubdistrictDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/subdistricts/{code}")]
pub async fn get_subdistrict(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<web::Json<SubdistrictDetail>> {
    let code = code.into_inner();
    model::check_code("code", &code, 6)?;
    let detail = state
        .db(move |conn| Ok(model::subdistrict_detail(conn, &code)?))
        .await?
        .ok_or_else(|| ApiError::not_found(SUBDISTRICT))?;
    Ok(web::Json(detail))
}

/// The answer to "does this postal code belong to this subdistrict?".
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"subdistrict_code": "630601", "postal_code": "63110", "valid": true, "postal_codes": ["63110"]}))]
pub struct PostalCodeCheck {
    pub subdistrict_code: String,
    pub postal_code: String,
    /// Whether the subdistrict uses this postal code.
    pub valid: bool,
    /// The postal codes the subdistrict does use.
    pub postal_codes: Vec<String>,
}

/// Check a postal code against a subdistrict
///
/// Postal codes do not follow province codes, so an address is checked by look-up.
#[utoipa::path(
    tag = "geography",
    params(
        ("code" = String, Path, description = "Six-digit subdistrict code", pattern = "^[0-9]{6}$", example = "630601"),
        ("postal_code" = String, Path, description = "Five-digit postal code", pattern = "^[0-9]{5}$", example = "63110"),
    ),
    responses(
        (status = 200, body = PostalCodeCheck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subdistrict", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/subdistricts/{code}/postal-codes/{postal_code}")]
pub async fn check_postal_code(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<PostalCodeCheck>> {
    let (code, postal_code) = path.into_inner();
    model::check_code("code", &code, 6)?;
    model::check_code("postal_code", &postal_code, 5)?;
    let detail = state
        .db(move |conn| Ok(model::subdistrict_detail(conn, &code)?))
        .await?
        .ok_or_else(|| ApiError::not_found(SUBDISTRICT))?;
    let postal_codes = detail.subdistrict.postal_codes;
    Ok(web::Json(PostalCodeCheck {
        subdistrict_code: detail.subdistrict.code,
        valid: postal_codes.contains(&postal_code),
        postal_code,
        postal_codes,
    }))
}

/// Subdistricts using a postal code
///
/// For address forms: type the postal code, then pick the subdistrict. An unused code gives an
/// empty list.
#[utoipa::path(
    tag = "geography",
    params(("postal_code" = String, Path, description = "Five-digit postal code", pattern = "^[0-9]{5}$", example = "63110")),
    responses(
        (status = 200, body = ItemList<SubdistrictDetail>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/postal-codes/{postal_code}/subdistricts")]
pub async fn find_by_postal_code(
    state: web::Data<AppState>,
    postal_code: web::Path<String>,
) -> ApiResult<web::Json<ItemList<SubdistrictDetail>>> {
    let postal_code = postal_code.into_inner();
    model::check_code("postal_code", &postal_code, 5)?;
    let items = state
        .db(move |conn| Ok(model::by_postal_code(conn, &postal_code)?))
        .await?;
    Ok(web::Json(items.into()))
}

//! LAO endpoints: the public registry with hashtags, and its upkeep by admins and LAO staff.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{self, LAO, LaoRow, LaoType, LaoWithArea};
use crate::AppState;
use crate::auth::policy::{Action, authorize};
use crate::auth::principal::Principal;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{districts, laos, provinces};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::geo::model::AreaName;
use crate::pagination::{Page, decode_cursor, page_from, page_size};
use crate::validate::{PhoneNumber, http_url, thai_phone};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_laos)
        .service(get_lao)
        .service(create_lao)
        .service(update_lao);
}

/// A local administrative organization.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "dla_code": "3630690", "lao_type": "city_municipality", "lao_type_th": "เทศบาลนคร",
    "name_th": "แม่สอด", "full_name_th": "เทศบาลนครแม่สอด", "short_name_th": "เทศบาลนครแม่สอด", "name_en": "Mae Sot City Municipality",
    "province": {"code": "63", "name_th": "ตาก", "name_en": "Tak"},
    "district": {"code": "6306", "name_th": "แม่สอด", "name_en": "Mae Sot"},
    "address": null, "postal_code": "63110", "phone": "+6655531234", "email": null, "website": "https://www.maesot.example",
    "latitude": 16.713, "longitude": 98.574, "area_km2": 28.0, "allowed_origins": ["https://www.maesot.example"], "active": true,
    "hashtags": ["#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา", "#ของดีบ้านเรา", "#เที่ยวท้องถิ่น", "#จังหวัดตาก", "#อำเภอแม่สอด", "#เทศบาลนครแม่สอด"],
    "hashtags_text": "#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา #ของดีบ้านเรา #เที่ยวท้องถิ่น #จังหวัดตาก #อำเภอแม่สอด #เทศบาลนครแม่สอด",
    "created_at": "2026-06-01T09:00:00+07:00", "updated_at": "2026-06-01T09:00:00+07:00"
}))]
pub struct Lao {
    /// Seven-digit DLA code: the LAO's identifier in this API.
    pub dla_code: String,
    pub lao_type: LaoType,
    pub lao_type_th: String,
    /// The name without its type, as the DLA lists it ("แม่สอด").
    pub name_th: String,
    /// The full official name ("เทศบาลนครแม่สอด").
    pub full_name_th: String,
    /// The usual short form ("อบต.แม่กุ").
    pub short_name_th: String,
    pub name_en: Option<String>,
    pub province: AreaName,
    /// The district of the office (a provincial administrative organization covers the province).
    pub district: AreaName,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub area_km2: Option<f64>,
    /// Origins allowed to embed this LAO's pre-order forms.
    pub allowed_origins: Vec<String>,
    pub active: bool,
    /// The programme's hashtags for this LAO, to post with its products.
    pub hashtags: Vec<String>,
    /// The hashtags joined with spaces, ready to paste.
    pub hashtags_text: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<LaoWithArea> for Lao {
    fn from(w: LaoWithArea) -> Self {
        let hashtags = w.hashtags();
        let lao = w.lao;
        let t = lao.lao_type();
        Lao {
            full_name_th: lao.full_name_th(),
            short_name_th: lao.short_name_th(),
            allowed_origins: lao.allowed_origins(),
            hashtags_text: hashtags.join(" "),
            hashtags,
            lao_type: t,
            lao_type_th: t.name_th().to_string(),
            province: AreaName {
                code: lao.province_code.clone(),
                name_th: w.province_name_th,
                name_en: w.province_name_en,
            },
            district: AreaName {
                code: lao.district_code.clone(),
                name_th: w.district_name_th,
                name_en: w.district_name_en,
            },
            dla_code: lao.dla_code,
            name_th: lao.name_th,
            name_en: lao.name_en,
            address: lao.address,
            postal_code: lao.postal_code,
            phone: lao.phone,
            email: lao.email,
            website: lao.website,
            latitude: lao.latitude,
            longitude: lao.longitude,
            area_km2: lao.area_km2,
            active: lao.active,
            created_at: to_bangkok(lao.created_at),
            updated_at: to_bangkok(lao.updated_at),
        }
    }
}

/// Filters for the LAO list.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LaoFilter {
    /// Two-digit province code.
    pub province_code: Option<String>,
    /// Four-digit district code (the office's district).
    pub district_code: Option<String>,
    pub lao_type: Option<LaoType>,
    /// Part of the Thai name.
    #[validate(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// Include LAOs marked inactive (default: only active ones).
    #[serde(default)]
    pub include_inactive: bool,
    /// Partner clients: only the LAOs the client may sell for.
    #[serde(default)]
    pub sellable: bool,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List LAOs
///
/// Public. Ordered by DLA code; filter by province, district, type or name. A partner client
/// adds `sellable=true` to list only the LAOs it may sell for.
#[utoipa::path(
    tag = "laos",
    params(LaoFilter),
    responses(
        (status = 200, body = Page<Lao>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`sellable=true` without a token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`sellable=true` from an account that is not a partner client", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos")]
pub async fn list_laos(
    state: web::Data<AppState>,
    principal: crate::auth::principal::OptionalPrincipal,
    filter: ValidQuery<LaoFilter>,
) -> ApiResult<web::Json<Page<Lao>>> {
    let ValidQuery(filter) = filter;
    let limit = page_size(filter.limit);
    let after: Option<String> = decode_cursor(filter.cursor.as_deref())?;
    let page = state
        .db(move |conn| {
            let sold_for = if filter.sellable {
                crate::auth::partners::sellable_laos(conn, principal.0.as_ref())?
            } else {
                None
            };
            let mut query = laos::table
                .inner_join(districts::table.inner_join(provinces::table))
                .select((LaoRow::as_select(), model::area_names_select()))
                .order(laos::dla_code)
                .limit(limit as i64 + 1)
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(laos::dla_code.gt(after));
            }
            if let Some(code) = filter.province_code {
                query = query.filter(laos::province_code.eq(code));
            }
            if let Some(code) = filter.district_code {
                query = query.filter(laos::district_code.eq(code));
            }
            if let Some(t) = filter.lao_type {
                query = query.filter(laos::lao_type.eq(t.to_string()));
            }
            if let Some(q) = filter.q {
                let pattern = format!("%{}%", q.trim().replace(['%', '_'], ""));
                query = query.filter(laos::name_th.like(pattern));
            }
            if !filter.include_inactive {
                query = query.filter(laos::active.eq(true));
            }
            if let Some(ids) = sold_for {
                query = query.filter(laos::id.eq_any(ids));
            }
            let rows = query.load::<(LaoRow, model::AreaNames)>(conn)?;
            Ok(page_from(rows, limit, |(lao, _)| lao.dla_code.clone())
                .map(|r| Lao::from(model::with_area(r))))
        })
        .await?;
    Ok(web::Json(page))
}

fn check_dla_code(code: &str) -> ApiResult<()> {
    if model::is_dla_code(code) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorKind::InvalidParameter)
            .field(FieldError::new("dla_code", "invalid_digits").with("digits", 7)))
    }
}

fn load(conn: &mut DbConn, dla_code: &str) -> ApiResult<LaoWithArea> {
    model::find_with_area(conn, dla_code)?.ok_or_else(|| ApiError::not_found(LAO))
}

/// An LAO
///
/// Public: the registry entry, contacts and the programme's hashtags.
#[utoipa::path(
    tag = "laos",
    params(("dla_code" = String, Path, description = "Seven-digit DLA code", pattern = "^[0-9]{7}$", example = "3630690")),
    responses(
        (status = 200, body = Lao),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos/{dla_code}")]
pub async fn get_lao(
    state: web::Data<AppState>,
    dla_code: web::Path<String>,
) -> ApiResult<web::Json<Lao>> {
    let dla_code = dla_code.into_inner();
    check_dla_code(&dla_code)?;
    let lao = state.db(move |conn| load(conn, &dla_code)).await?;
    Ok(web::Json(lao.into()))
}

pub(crate) fn valid_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' ', '@'])
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn origins(list: &[String]) -> Result<(), validator::ValidationError> {
    if list
        .iter()
        .all(|o| valid_origin(o.trim().trim_end_matches('/')))
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("invalid_origin"))
    }
}

fn normalize_origins(list: &[String]) -> String {
    let mut out: Vec<String> = list
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
        .collect();
    out.sort();
    out.dedup();
    out.join("\n")
}

fn postal(value: &str) -> Result<(), validator::ValidationError> {
    if value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new(
            "invalid_postal_code_format",
        ))
    }
}

/// A new LAO (admins; most arrive by `khongdee import laos`).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"dla_code": "6630691", "lao_type": "subdistrict_admin_org", "name_th": "แม่ปะ", "district_code": "6306"}))]
pub struct NewLao {
    #[validate(length(equal = 7), custom(function = "crate::validate::digits"))]
    #[schema(format = "dla-code")]
    pub dla_code: String,
    pub lao_type: LaoType,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name_th: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name_en: Option<String>,
    /// Four-digit district code of the office; the province follows from it.
    #[schema(pattern = "^[0-9]{4}$", example = "6306")]
    pub district_code: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[validate(custom(function = "postal"))]
    #[schema(format = "postal-code")]
    pub postal_code: Option<String>,
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "http_url"))]
    #[schema(format = "http-url")]
    pub website: Option<String>,
    #[validate(range(min = 5.0, max = 21.0))]
    #[schema(minimum = 5.0, maximum = 21.0)]
    pub latitude: Option<f64>,
    #[validate(range(min = 97.0, max = 106.0))]
    #[schema(minimum = 97.0, maximum = 106.0)]
    pub longitude: Option<f64>,
    #[validate(range(min = 0.0, max = 100000.0))]
    #[schema(minimum = 0.0, maximum = 100000.0)]
    pub area_km2: Option<f64>,
    /// Origins (`https://host[:port]`) allowed to embed this LAO's forms.
    #[serde(default)]
    #[validate(length(max = 20), custom(function = "origins"))]
    #[schema(max_items = 20, format = "web-origin")]
    pub allowed_origins: Vec<String>,
}

/// Create an LAO
#[utoipa::path(
    tag = "laos",
    security(("bearer" = [])),
    request_body = NewLao,
    responses(
        (status = 201, body = Lao),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The DLA code exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos")]
pub async fn create_lao(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewLao>,
) -> ApiResult<HttpResponse> {
    if !principal.is_admin() {
        return Err(ApiError::forbidden());
    }
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let lao = state
        .db_tx(move |conn| {
            let district = crate::geo::model::find_district(conn, &new.district_code)?
                .ok_or_else(|| ApiError::invalid_field("district_code", "invalid_code"))?;
            if model::find_by_code(conn, &new.dla_code)?.is_some() {
                return Err(ApiError::already_exists(LAO, "dla_code")
                    .field(FieldError::new("dla_code", "duplicate")));
            }
            insert(conn, &new, &district.province_code, now)?;
            load(conn, &new.dla_code)
        })
        .await?;
    Ok(HttpResponse::Created().json(Lao::from(lao)))
}

fn insert(
    conn: &mut DbConn,
    new: &NewLao,
    province_code: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(laos::table)
        .values((
            laos::dla_code.eq(&new.dla_code),
            laos::lao_type.eq(new.lao_type.to_string()),
            laos::name_th.eq(new.name_th.trim()),
            laos::name_en.eq(new.name_en.as_deref()),
            laos::province_code.eq(province_code),
            laos::district_code.eq(&new.district_code),
            laos::address.eq(new.address.as_deref()),
            laos::postal_code.eq(new.postal_code.as_deref()),
            laos::phone.eq(new
                .phone
                .as_deref()
                .and_then(PhoneNumber::parse)
                .map(PhoneNumber::into_string)),
            laos::email.eq(new.email.as_deref()),
            laos::website.eq(new.website.as_deref()),
            laos::latitude.eq(new.latitude),
            laos::longitude.eq(new.longitude),
            laos::area_km2.eq(new.area_km2),
            laos::allowed_origins.eq(normalize_origins(&new.allowed_origins)),
            laos::active.eq(true),
            laos::created_at.eq(now),
            laos::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Changes to an LAO. Registry fields (type, names, district, coordinates, `active`) are for
/// admins; the LAO's own staff may change its profile (English name, contacts, website, allowed
/// origins).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "055 531 234", "website": "https://www.maesot.example", "allowed_origins": ["https://www.maesot.example"]}))]
pub struct LaoChanges {
    // Registry (admins).
    pub lao_type: Option<LaoType>,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name_th: Option<String>,
    #[schema(pattern = "^[0-9]{4}$", example = "6306")]
    pub district_code: Option<String>,
    #[validate(range(min = 5.0, max = 21.0))]
    #[schema(minimum = 5.0, maximum = 21.0)]
    pub latitude: Option<f64>,
    #[validate(range(min = 97.0, max = 106.0))]
    #[schema(minimum = 97.0, maximum = 106.0)]
    pub longitude: Option<f64>,
    #[validate(range(min = 0.0, max = 100000.0))]
    #[schema(minimum = 0.0, maximum = 100000.0)]
    pub area_km2: Option<f64>,
    pub active: Option<bool>,
    // Profile (admins and the LAO's staff).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name_en: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    #[validate(custom(function = "postal"))]
    #[schema(format = "postal-code")]
    pub postal_code: Option<String>,
    #[validate(custom(function = "thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "http_url"))]
    #[schema(format = "http-url")]
    pub website: Option<String>,
    #[validate(length(max = 20), custom(function = "origins"))]
    #[schema(max_items = 20, format = "web-origin")]
    pub allowed_origins: Option<Vec<String>>,
}

impl LaoChanges {
    fn registry_fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        let mut add = |present: bool, name: &'static str| {
            if present {
                fields.push(name);
            }
        };
        add(self.lao_type.is_some(), "lao_type");
        add(self.name_th.is_some(), "name_th");
        add(self.district_code.is_some(), "district_code");
        add(self.latitude.is_some(), "latitude");
        add(self.longitude.is_some(), "longitude");
        add(self.area_km2.is_some(), "area_km2");
        add(self.active.is_some(), "active");
        fields
    }
}

/// Change an LAO
#[utoipa::path(
    tag = "laos",
    security(("bearer" = [])),
    params(("dla_code" = String, Path, description = "Seven-digit DLA code", pattern = "^[0-9]{7}$", example = "3630690")),
    request_body = LaoChanges,
    responses(
        (status = 200, body = Lao),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not this LAO's staff, or registry fields without being admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/laos/{dla_code}")]
pub async fn update_lao(
    state: web::Data<AppState>,
    principal: Principal,
    dla_code: web::Path<String>,
    body: ValidJson<LaoChanges>,
) -> ApiResult<web::Json<Lao>> {
    let dla_code = dla_code.into_inner();
    check_dla_code(&dla_code)?;
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let lao = state
        .db_tx(move |conn| {
            let current = load(conn, &dla_code)?;
            let place = current.lao.place();
            let registry = changes.registry_fields();
            if registry.is_empty() {
                authorize(&principal, Action::UpdateLaoProfile, &place)?;
            } else {
                authorize(&principal, Action::ManageLaoRegistry, &place)
                    .map_err(|e| e.extra("fields", &registry))?;
            }
            let mut province_code = None;
            if let Some(code) = &changes.district_code {
                let district = crate::geo::model::find_district(conn, code)?
                    .ok_or_else(|| ApiError::invalid_field("district_code", "invalid_code"))?;
                province_code = Some(district.province_code);
            }
            let phone = changes
                .phone
                .as_deref()
                .and_then(PhoneNumber::parse)
                .map(PhoneNumber::into_string);
            diesel::update(laos::table.find(current.lao.id))
                .set((
                    changes.lao_type.map(|t| laos::lao_type.eq(t.to_string())),
                    changes
                        .name_th
                        .as_deref()
                        .map(|v| laos::name_th.eq(v.trim().to_string())),
                    changes
                        .district_code
                        .clone()
                        .map(|v| laos::district_code.eq(v)),
                    province_code.map(|v| laos::province_code.eq(v)),
                    changes.latitude.map(|v| laos::latitude.eq(Some(v))),
                    changes.longitude.map(|v| laos::longitude.eq(Some(v))),
                    changes.area_km2.map(|v| laos::area_km2.eq(Some(v))),
                    changes.active.map(|v| laos::active.eq(v)),
                    changes.name_en.clone().map(|v| laos::name_en.eq(Some(v))),
                    changes.address.clone().map(|v| laos::address.eq(Some(v))),
                    changes
                        .postal_code
                        .clone()
                        .map(|v| laos::postal_code.eq(Some(v))),
                    phone.map(|v| laos::phone.eq(Some(v))),
                    changes.email.clone().map(|v| laos::email.eq(Some(v))),
                    changes.website.clone().map(|v| laos::website.eq(Some(v))),
                    changes
                        .allowed_origins
                        .as_deref()
                        .map(|v| laos::allowed_origins.eq(normalize_origins(v))),
                    laos::updated_at.eq(now),
                ))
                .execute(conn)?;
            load(conn, &dla_code)
        })
        .await?;
    Ok(web::Json(lao.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_origins() {
        assert!(valid_origin("https://www.maesot.example"));
        assert!(valid_origin("http://localhost:3000"));
        assert!(!valid_origin("https://example.com/path"));
        assert!(!valid_origin("example.com"));
        assert!(!valid_origin("https://user@example.com"));
        assert_eq!(
            normalize_origins(&[
                "https://B.example/".into(),
                "https://a.example".into(),
                "https://b.example".into()
            ]),
            "https://a.example\nhttps://b.example"
        );
    }
}

//! Managing accounts and partner clients through the API.

use actix_web::{HttpResponse, get, patch, post, web};

use super::areas;
use crate::AppState;
use crate::auth::partners::{
    self, NewPartnerClient, PARTNER_CLIENT, PartnerClient, PartnerClientChanges,
    PartnerClientWithSecret,
};
use crate::auth::password;
use crate::auth::principal::Principal;
use crate::auth::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::{Page, decode_cursor, page_from, page_size};

async fn hash_password(password: String) -> ApiResult<String> {
    web::block(move || password::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Create an account
///
/// Admins create officers and any staff; officers create LAO staff in their area; LAO staff
/// create staff of their own LAO. The area is given by `province_code` (province officers),
/// `district_code` (district officers) or `lao_code` (LAO staff).
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, body = User),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller may not create this role in this area", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewUser>,
) -> ApiResult<HttpResponse> {
    let ValidJson(new) = body;
    users::check_new_password(&new)?;
    let new = {
        let principal = principal.clone();
        state
            .db(move |conn| {
                let area = areas::resolve_area(conn, &new)?;
                users::precheck_create(conn, &principal, &new, &area).map(|()| new)
            })
            .await?
    };
    let hash = hash_password(new.password.clone()).await?;
    let now = state.clock.now_naive();
    let user = state
        .db_tx(move |conn| {
            let area = areas::resolve_area(conn, &new)?;
            users::create(conn, Some(&principal), &new, &area, &hash, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

/// List accounts
///
/// The accounts in the caller's area, oldest first.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(UserFilter),
    responses(
        (status = 200, body = Page<User>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    principal: Principal,
    filter: ValidQuery<UserFilter>,
) -> ApiResult<web::Json<Page<User>>> {
    let ValidQuery(filter) = filter;
    if principal.partner_id().is_some() {
        return Err(ApiError::forbidden());
    }
    let page = state
        .db(move |conn| users::list(conn, &principal, &filter))
        .await?;
    Ok(web::Json(page))
}

/// An account
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses(
        (status = 200, body = User),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account in the caller's area", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    let user = state
        .db(move |conn| {
            let (row, lao_code) = users::get_visible(conn, &principal, id)?;
            Ok(User::from_row(row, lao_code))
        })
        .await?;
    Ok(web::Json(user))
}

/// Change an account
///
/// Display name, contacts, `active` (false ends the account's sessions), or a new password set
/// by a manager. Role and area cannot change.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    request_body = UserChanges,
    responses(
        (status = 200, body = User),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<UserChanges>,
) -> ApiResult<web::Json<User>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let hash = match &changes.password {
        Some(new_password) => {
            let target = changes_target_username(&state, &principal, id).await?;
            password::check_policy("password", new_password, &target)
                .map_err(|e| ApiError::validation(vec![e]))?;
            Some(hash_password(new_password.clone()).await?)
        }
        None => None,
    };
    let now = state.clock.now_naive();
    let user = state
        .db_tx(move |conn| users::update(conn, &principal, id, &changes, hash.as_deref(), now))
        .await?;
    Ok(web::Json(user))
}

async fn changes_target_username(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> ApiResult<String> {
    let principal = principal.clone();
    state
        .db(move |conn| Ok(users::get_visible(conn, &principal, id)?.0.username))
        .await
}

fn require_admin(principal: &Principal) -> ApiResult<()> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Create a partner client
///
/// Admins only. The answer carries the `client_secret`, shown this once.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = NewPartnerClient,
    responses(
        (status = 201, body = PartnerClientWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/partner-clients")]
pub async fn create_partner(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewPartnerClient>,
) -> ApiResult<HttpResponse> {
    require_admin(&principal)?;
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let created = state
        .db_tx(move |conn| {
            let lao_ids = areas::resolve_laos(conn, &new.lao_codes)?;
            partners::create(conn, &new, &lao_ids, principal.user_id(), now)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, serde::Deserialize, validator::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List partner clients
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<PartnerClient>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partner-clients")]
pub async fn list_partners(
    state: web::Data<AppState>,
    principal: Principal,
    query: ValidQuery<PageQuery>,
) -> ApiResult<web::Json<Page<PartnerClient>>> {
    require_admin(&principal)?;
    let ValidQuery(query) = query;
    let limit = page_size(query.limit);
    let after: i64 = decode_cursor(query.cursor.as_deref())?.unwrap_or(0);
    let page = state
        .db(move |conn| {
            let rows = partners::list(conn, limit, after)?;
            let page = page_from(rows, limit, |r| r.id);
            Ok(Page {
                items: partners::to_views(conn, page.items)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// A partner client
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Partner client id (numeric)")),
    responses(
        (status = 200, body = PartnerClient),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partner-clients/{id}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<PartnerClient>> {
    require_admin(&principal)?;
    let id = id.into_inner();
    let client = state
        .db(move |conn| {
            let row =
                partners::find(conn, id)?.ok_or_else(|| ApiError::not_found(PARTNER_CLIENT))?;
            Ok(partners::to_view(conn, row)?)
        })
        .await?;
    Ok(web::Json(client))
}

/// Change a partner client
///
/// Changing scopes or LAOs, or disabling the client, ends its current tokens.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Partner client id (numeric)")),
    request_body = PartnerClientChanges,
    responses(
        (status = 200, body = PartnerClient),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/partner-clients/{id}")]
pub async fn update_partner(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<PartnerClientChanges>,
) -> ApiResult<web::Json<PartnerClient>> {
    require_admin(&principal)?;
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let client = state
        .db_tx(move |conn| {
            let lao_ids = match &changes.lao_codes {
                Some(codes) => Some(areas::resolve_laos(conn, codes)?),
                None => None,
            };
            partners::update(conn, id, &changes, lao_ids.as_deref(), now)
        })
        .await?;
    Ok(web::Json(client))
}

/// Rotate a partner client's secret
///
/// Returns the new secret once; the old secret and every token issued with it stop working.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Partner client id (numeric)")),
    responses(
        (status = 200, body = PartnerClientWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/partner-clients/{id}/secret")]
pub async fn rotate_partner_secret(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<PartnerClientWithSecret>> {
    require_admin(&principal)?;
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let rotated = state
        .db_tx(move |conn| partners::rotate_secret(conn, id, now))
        .await?;
    Ok(web::Json(rotated))
}

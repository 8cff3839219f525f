//! Pre-order endpoints: windows and their upkeep, availability, holds, waiting lists, the ledger
//! and reconciliation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::holds::{self, HOLD, Hold, NewHold};
use super::waitlist::{self, ENTRY, Entry, NewEntry};
use super::windows::{
    self, Availability, NewPickupPoint, NewVariant, NewWindow, PICKUP_POINT, PickupChanges,
    VARIANT, VariantChanges, WINDOW, Window, WindowAction, WindowChanges, WindowFilter, WindowRow,
};
use crate::AppState;
use crate::auth::policy::{Action, authorize, authorize_hidden};
use crate::auth::principal::{OptionalPrincipal, Principal};
use crate::capacity::ledger::{self, LedgerRow, ReconcileReport};
use crate::catalog::products::{self, PRODUCT};
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery, valid_json_bytes};
use crate::idempotency::{self, Proof, Scope};
use crate::laos::model::LaoRow;
use crate::pagination::{Page, decode_cursor, page_from, page_size};
use crate::validate::PhoneNumber;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // Buyers' reads first (see `register_routes` in lib.rs: routes are tried in this order).
    cfg.service(availability)
        .service(list_windows)
        .service(get_window)
        .service(create_window)
        .service(update_window)
        .service(window_action)
        .service(add_variant)
        .service(update_variant)
        .service(add_pickup_point)
        .service(update_pickup_point)
        .service(window_ledger)
        .service(create_hold)
        .service(get_hold)
        .service(extend_hold)
        .service(release_hold)
        .service(join_waitlist)
        .service(get_waitlist_entry)
        .service(leave_waitlist)
        .service(reconcile);
}

/// The window and its LAO, for a caller who manages it (404 when the caller may not see a draft,
/// 403 when they see it but may not manage it).
fn managed_window(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
) -> ApiResult<(WindowRow, LaoRow)> {
    let (row, lao) =
        windows::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
    if !windows::visible_to(&row, &lao, Some(principal)) {
        return Err(ApiError::not_found(WINDOW));
    }
    authorize(principal, Action::ManageProducerOffer, &row.place(&lao))?;
    Ok((row, lao))
}

/// Open a pre-order window for a product
///
/// For the LAO's staff, admins and the producer's own account. The capacity is in the crop's
/// sale unit; each variant consumes `units_per_item` of it. Saved as a draft unless `publish`.
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = NewWindow,
    responses(
        (status = 201, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/products/{id}/windows")]
pub async fn create_window(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<NewWindow>,
) -> ApiResult<HttpResponse> {
    let product_id = id.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            let (product, crop, producer, lao, ..) =
                products::find(conn, product_id)?.ok_or_else(|| ApiError::not_found(PRODUCT))?;
            authorize(
                &principal,
                Action::ManageProducerOffer,
                &producer.place(&lao),
            )?;
            let id = windows::create(
                conn,
                &product,
                &crop,
                principal.user_id(),
                &principal.actor_label(),
                &new,
                now,
            )?;
            Ok(windows::load(conn, id, now)?.view(now))
        })
        .await?;
    Ok(HttpResponse::Created().json(window))
}

/// List pre-order windows
///
/// Public: published windows, open and upcoming by default, filtered by area, LAO, crop, product
/// and harvest dates, in id order. Storefronts use it to show what can be pre-ordered.
#[utoipa::path(
    tag = "preorder",
    params(WindowFilter),
    responses(
        (status = 200, body = Page<Window>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`sellable=true` without a token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`sellable=true` from an account that is not a partner client", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/windows")]
pub async fn list_windows(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    filter: ValidQuery<WindowFilter>,
) -> ApiResult<HttpResponse> {
    let ValidQuery(filter) = filter;
    let limit = page_size(filter.limit);
    let after: i64 = decode_cursor(filter.cursor.as_deref())?.unwrap_or(0);
    let now = state.clock.now_naive();
    // Anonymous pages are kept in memory by their query (see `preorder::cache`).
    let kept = principal
        .0
        .is_none()
        .then(|| req.query_string().to_string());
    if let Some(body) = kept.as_deref().and_then(|q| state.windows.page(q, now)) {
        return Ok(json_body(body));
    }
    let ticket = state.windows.page_ticket();
    let (page, times) = state
        .db(move |conn| {
            let rows = windows::list(conn, &filter, principal.0.as_ref(), after, limit, now)?;
            let page = page_from(rows, limit, |l| l.row.id);
            let times: Vec<_> = page
                .items
                .iter()
                .map(|l| (l.row.id, l.row.opens_at, l.row.closes_at))
                .collect();
            Ok((page.map(|l| l.view(now)), times))
        })
        .await?;
    let body = web::Bytes::from(serde_json::to_vec(&page).map_err(ApiError::internal)?);
    if let Some(query) = kept {
        state
            .windows
            .keep_page(ticket, query, body.clone(), now, &times);
    }
    Ok(json_body(body))
}

fn json_body(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// A pre-order window
///
/// Public once published; drafts only for those who manage or oversee them.
#[utoipa::path(
    tag = "preorder",
    params(("id" = i64, Path, description = "Window id")),
    responses(
        (status = 200, body = Window),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/windows/{id}")]
pub async fn get_window(
    state: web::Data<AppState>,
    principal: OptionalPrincipal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<Window>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let window = state
        .db(move |conn| {
            let loaded = windows::load(conn, id, now)?;
            if !windows::visible_to(&loaded.row, &loaded.lao, principal.0.as_ref()) {
                return Err(ApiError::not_found(WINDOW));
            }
            Ok(loaded.view(now))
        })
        .await?;
    Ok(web::Json(window))
}

/// Change a pre-order window
///
/// Times, harvest dates, capacity (never below what is held and sold), limits, delivery.
/// Moving the harvest dates of a published window records a `window.harvest_rescheduled` event.
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id")),
    request_body = WindowChanges,
    responses(
        (status = 200, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "capacity_below_committed, invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/windows/{id}")]
pub async fn update_window(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<WindowChanges>,
) -> ApiResult<web::Json<Window>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            managed_window(conn, &principal, id)?;
            let (row, _) = holds::lock_and_read(conn, id)?;
            let row = holds::expire_due_for_window(conn, &row, now)?;
            windows::update(conn, &row, &principal, &changes, now)?;
            let (after, _) =
                windows::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
            if after.capacity > row.capacity {
                waitlist::offer_freed_capacity(conn, &after, now)?;
            }
            Ok(windows::load(conn, id, now)?.view(now))
        })
        .await?;
    Ok(web::Json(window))
}

/// A lifecycle action.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "publish"}))]
pub struct ActionRequest {
    pub action: WindowAction,
    /// Why (kept with a cancellation).
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Publish, close, reopen, mark harvested or fulfilled, or cancel a window
///
/// Moves that make no sense in the window's state are refused with 409 `invalid_transition`.
/// Cancelling releases active holds and closes the waiting list.
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id")),
    request_body = ActionRequest,
    responses(
        (status = 200, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not publishable yet (no variant or delivery option)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/windows/{id}/actions")]
pub async fn window_action(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<ActionRequest>,
) -> ApiResult<web::Json<Window>> {
    let id = id.into_inner();
    let ValidJson(request) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            managed_window(conn, &principal, id)?;
            let (row, _) = holds::lock_and_read(conn, id)?;
            let row = holds::expire_due_for_window(conn, &row, now)?;
            windows::apply_action(
                conn,
                &row,
                request.action,
                request.reason.as_deref(),
                &principal,
                now,
            )?;
            Ok(windows::load(conn, id, now)?.view(now))
        })
        .await?;
    Ok(web::Json(window))
}

/// Add a variant to a window
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id")),
    request_body = NewVariant,
    responses(
        (status = 201, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/windows/{id}/variants")]
pub async fn add_variant(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<NewVariant>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            let (row, _) = managed_window(conn, &principal, id)?;
            windows::add_variant(conn, &row, &new, now)?;
            Ok(windows::load(conn, id, now)?.view(now))
        })
        .await?;
    Ok(HttpResponse::Created().json(window))
}

/// Change a variant
///
/// Name, price, order or `active`. A new price applies to new holds and orders; holds and orders
/// keep the price they were made at. Units per item never change: add another variant instead.
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Variant id")),
    request_body = VariantChanges,
    responses(
        (status = 200, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/variants/{id}")]
pub async fn update_variant(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<VariantChanges>,
) -> ApiResult<web::Json<Window>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            let variant =
                windows::find_variant(conn, id)?.ok_or_else(|| ApiError::not_found(VARIANT))?;
            managed_window(conn, &principal, variant.window_id)?;
            windows::update_variant(conn, &variant, &changes, now)?;
            Ok(windows::load(conn, variant.window_id, now)?.view(now))
        })
        .await?;
    Ok(web::Json(window))
}

/// Add a pickup point to a window
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id")),
    request_body = NewPickupPoint,
    responses(
        (status = 201, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/windows/{id}/pickup-points")]
pub async fn add_pickup_point(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<NewPickupPoint>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            let (row, _) = managed_window(conn, &principal, id)?;
            windows::add_pickup(conn, &row, &new, now)?;
            Ok(windows::load(conn, id, now)?.view(now))
        })
        .await?;
    Ok(HttpResponse::Created().json(window))
}

/// Change a pickup point
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pickup point id")),
    request_body = PickupChanges,
    responses(
        (status = 200, body = Window),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/pickup-points/{id}")]
pub async fn update_pickup_point(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<PickupChanges>,
) -> ApiResult<web::Json<Window>> {
    let id = id.into_inner();
    let ValidJson(changes) = body;
    let now = state.clock.now_naive();
    let window = state
        .db_tx(move |conn| {
            let point =
                windows::find_pickup(conn, id)?.ok_or_else(|| ApiError::not_found(PICKUP_POINT))?;
            managed_window(conn, &principal, point.window_id)?;
            windows::update_pickup(conn, &point, &changes, now)?;
            Ok(windows::load(conn, point.window_id, now)?.view(now))
        })
        .await?;
    Ok(web::Json(window))
}

/// Availability of a window
///
/// Public: capacity, sold, held (holds not yet expired), available, the waiting list, and how
/// many items of each variant one order can still take.
#[utoipa::path(
    tag = "preorder",
    params(("id" = i64, Path, description = "Window id")),
    responses(
        (status = 200, body = Availability),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/windows/{id}/availability")]
pub async fn availability(
    state: web::Data<AppState>,
    principal: OptionalPrincipal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    if let Some(body) = state.windows.availability(id, now) {
        return Ok(json_body(body));
    }
    let gate = state.windows.gate(id);
    let _turn = gate.lock().await;
    if let Some(body) = state.windows.availability(id, now) {
        return Ok(json_body(body));
    }
    let ticket = state.windows.ticket(id);
    let (loaded, waiting) = state
        .db(move |conn| {
            let loaded = windows::load(conn, id, now)?;
            if !windows::visible_to(&loaded.row, &loaded.lao, principal.0.as_ref()) {
                return Err(ApiError::not_found(WINDOW));
            }
            let waiting = windows::waiting_list(conn, id)?;
            Ok((loaded, waiting))
        })
        .await?;
    Ok(json_body(state.windows.keep(ticket, loaded, waiting, now)))
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A window's capacity ledger
///
/// Every movement of its capacity, in order: holds, releases, expiries, orders, cancellations,
/// capacity changes. For those who manage or oversee the window.
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id"), LedgerQuery),
    responses(
        (status = 200, body = Page<LedgerRow>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/windows/{id}/ledger")]
pub async fn window_ledger(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<LedgerQuery>,
) -> ApiResult<web::Json<Page<LedgerRow>>> {
    let id = id.into_inner();
    let ValidQuery(query) = query;
    let limit = page_size(query.limit);
    let after: i64 = decode_cursor(query.cursor.as_deref())?.unwrap_or(0);
    let page = state
        .db(move |conn| {
            let (row, lao) =
                windows::find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
            let place = row.place(&lao);
            if !principal.may(Action::ManageProducerOffer, &place) {
                authorize_hidden(&principal, Action::ReadArea, &place, WINDOW)?;
            }
            let rows = ledger::rows(conn, id, after, limit)?;
            Ok(page_from(rows, limit, |r| r.id))
        })
        .await?;
    Ok(web::Json(page))
}

/// Hold capacity
///
/// Reserves units of a window for a few minutes (the window's `hold_minutes`, default 10) while
/// the buyer decides or pays. Anyone may hold; partner clients need `holds:write` and must sell
/// for the window's LAO. Keep the hold's `id`: it extends, releases and converts the hold.
/// Rejections have their own `type`: `window_not_open`, `window_closed`, `sold_out`,
/// `insufficient_capacity`, `order_limit`, `buyer_limit`, `unknown_variant`.
#[utoipa::path(
    tag = "preorder",
    params(
        ("id" = i64, Path, description = "Window id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A random UUID per hold: a retry with the same key gets the first answer back instead of a second hold. Required for partner clients (400 `idempotency_key_required`)."),
    ),
    request_body = NewHold,
    responses(
        (status = 201, body = Hold, headers(("idempotent-replayed" = String, description = "`true` when this is a stored answer"))),
        (status = 400, description = "idempotency_key_required, malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Partner without holds:write or not selling for this LAO", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "window_not_open, window_closed, sold_out, insufficient_capacity, buyer_limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "order_limit, unknown_variant, validation_failed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/windows/{id}/holds")]
pub async fn create_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let new: NewHold = valid_json_bytes(&req, &body)?;
    let now = state.clock.now_naive();
    let caller = principal.0.clone();
    // Partners must send a key: a retried hold would otherwise reserve twice. A partner that
    // may not hold at all hears that first.
    let required = caller.as_ref().is_some_and(|p| p.partner_id().is_some());
    if let Some(p) = caller.as_ref() {
        p.require_scope("holds:write")?;
    }
    let phone = new
        .buyer_phone
        .as_deref()
        .and_then(PhoneNumber::parse)
        .map(PhoneNumber::into_string);
    let scope = Scope::of(
        principal.0.as_ref(),
        phone.as_deref().map(Proof::BuyerPhone),
    );
    idempotency::run(&state, &req, scope, &body, required, move |conn| {
        let row = holds::create(conn, id, caller.as_ref(), &new, now)?;
        let hold = holds::view(conn, row, now)?;
        Ok((StatusCode::CREATED, hold))
    })
    .await
}

/// A hold
#[utoipa::path(
    tag = "preorder",
    params(("hold_id" = String, Path, description = "The hold's id (`hld_…`)")),
    responses(
        (status = 200, body = Hold),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/holds/{hold_id}")]
pub async fn get_hold(
    state: web::Data<AppState>,
    hold_id: web::Path<String>,
) -> ApiResult<web::Json<Hold>> {
    let hold_id = hold_id.into_inner();
    let now = state.clock.now_naive();
    let hold = state
        .db(move |conn| {
            let row = holds::find_by_public_id(conn, &hold_id)?
                .ok_or_else(|| ApiError::not_found(HOLD))?;
            holds::view(conn, row, now)
        })
        .await?;
    Ok(web::Json(hold))
}

/// Extend a hold
///
/// Gives the hold its full time again from now, at most twice, while the window takes orders.
#[utoipa::path(
    tag = "preorder",
    params(("hold_id" = String, Path, description = "The hold's id (`hld_…`)")),
    responses(
        (status = 200, body = Hold),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold_not_active, extension_limit, window_closed", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "hold_expired", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/holds/{hold_id}/extend")]
pub async fn extend_hold(
    state: web::Data<AppState>,
    hold_id: web::Path<String>,
) -> ApiResult<web::Json<Hold>> {
    let hold_id = hold_id.into_inner();
    let now = state.clock.now_naive();
    let hold = state
        .db_tx(move |conn| {
            let row = holds::extend(conn, &hold_id, now)?;
            holds::view(conn, row, now)
        })
        .await?;
    Ok(web::Json(hold))
}

/// Release a hold
///
/// Gives the units back (and to the waiting list). Releasing a hold that already ended changes
/// nothing and answers with it as it is.
#[utoipa::path(
    tag = "preorder",
    params(("hold_id" = String, Path, description = "The hold's id (`hld_…`)")),
    responses(
        (status = 200, body = Hold),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/holds/{hold_id}")]
pub async fn release_hold(
    state: web::Data<AppState>,
    principal: OptionalPrincipal,
    hold_id: web::Path<String>,
) -> ApiResult<web::Json<Hold>> {
    let hold_id = hold_id.into_inner();
    let now = state.clock.now_naive();
    let hold = state
        .db_tx(move |conn| {
            let row = holds::release(conn, &hold_id, principal.0.as_ref(), now)?;
            holds::view(conn, row, now)
        })
        .await?;
    Ok(web::Json(hold))
}

/// Join a window's waiting list
///
/// For buyers a window cannot serve now (sold out, or fewer units left than wanted). When units
/// come back, the first entries that fit are offered them, in order, as holds with a deadline
/// (`waitlist.offered` events). Keep the entry's `id` to check or leave the list.
#[utoipa::path(
    tag = "preorder",
    params(
        ("id" = i64, Path, description = "Window id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: a retry with the same key gets the first answer back"),
    ),
    request_body = NewEntry,
    responses(
        (status = 201, body = Entry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "waitlist_not_needed, window_closed, buyer_limit, already_exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/windows/{id}/waitlist")]
pub async fn join_waitlist(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let new: NewEntry = valid_json_bytes(&req, &body)?;
    let now = state.clock.now_naive();
    let caller = principal.0.clone();
    let phone = PhoneNumber::parse(&new.buyer_phone).map(PhoneNumber::into_string);
    let scope = Scope::of(
        principal.0.as_ref(),
        phone.as_deref().map(Proof::BuyerPhone),
    );
    idempotency::run(&state, &req, scope, &body, false, move |conn| {
        let row = waitlist::join(conn, id, caller.as_ref(), &new, now)?;
        let entry = waitlist::view(conn, row, now)?;
        Ok((StatusCode::CREATED, entry))
    })
    .await
}

/// A waiting-list entry
///
/// Its place in the queue, or the offer (a hold to order with before its deadline).
#[utoipa::path(
    tag = "preorder",
    params(("entry_id" = String, Path, description = "The entry's id (`wl_…`)")),
    responses(
        (status = 200, body = Entry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/waitlist/{entry_id}")]
pub async fn get_waitlist_entry(
    state: web::Data<AppState>,
    entry_id: web::Path<String>,
) -> ApiResult<web::Json<Entry>> {
    let entry_id = entry_id.into_inner();
    let now = state.clock.now_naive();
    let entry = state
        .db(move |conn| {
            let row = waitlist::find_by_public_id(conn, &entry_id)?
                .ok_or_else(|| ApiError::not_found(ENTRY))?;
            waitlist::view(conn, row, now)
        })
        .await?;
    Ok(web::Json(entry))
}

/// Leave a waiting list
///
/// An offered entry's hold is released and its units offered to the next entries.
#[utoipa::path(
    tag = "preorder",
    params(("entry_id" = String, Path, description = "The entry's id (`wl_…`)")),
    responses(
        (status = 200, body = Entry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/waitlist/{entry_id}")]
pub async fn leave_waitlist(
    state: web::Data<AppState>,
    entry_id: web::Path<String>,
) -> ApiResult<web::Json<Entry>> {
    let entry_id = entry_id.into_inner();
    let now = state.clock.now_naive();
    let entry = state
        .db_tx(move |conn| {
            let row = waitlist::cancel(conn, &entry_id, now)?;
            waitlist::view(conn, row, now)
        })
        .await?;
    Ok(web::Json(entry))
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReconcileQuery {
    /// Only this window (default: every window).
    pub window_id: Option<i64>,
    /// Set counters that disagree to the ledger's sums.
    #[serde(default)]
    pub repair: bool,
}

/// Reconcile capacity counters with the ledger
///
/// Adds up each window's capacity ledger and compares it with the window's counters; reports
/// every difference, and with `repair=true` sets the counters to the ledger's values. Admins only
/// (also `khongdee reconcile`).
#[utoipa::path(
    tag = "preorder",
    security(("bearer" = [])),
    params(ReconcileQuery),
    responses(
        (status = 200, body = ReconcileReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/reconcile")]
pub async fn reconcile(
    state: web::Data<AppState>,
    principal: Principal,
    query: ValidQuery<ReconcileQuery>,
) -> ApiResult<web::Json<ReconcileReport>> {
    if !principal.is_admin() {
        return Err(ApiError::forbidden());
    }
    let ValidQuery(query) = query;
    let report = state
        .db_tx(move |conn| ledger::reconcile(conn, query.window_id, query.repair))
        .await?;
    Ok(web::Json(report))
}

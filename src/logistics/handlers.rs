//! `/v1/dispatch-batches…`, `/v1/carriers…`, `/v1/pickup-confirmations`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::batches::{
    self, AddOrders, BatchChanges, BatchQuery, DispatchBatch, NewBatch, TrackingNumbers,
};
use super::blackouts::{self, NewBlackout};
use super::events::{self, CarrierEvents, EventsReceipt};
use super::labels::{self, LabelFormat};
use super::manifest::{self, Profile};
use super::model::{Blackout, Carrier};
use super::shipments;
use crate::AppState;
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery, valid_json_bytes};
use crate::orders::model::{self as orders, Order};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_carriers)
        .service(add_blackout)
        .service(delete_blackout)
        .service(carrier_events)
        .service(create_batch)
        .service(list_batches)
        .service(get_batch)
        .service(update_batch)
        .service(cancel_batch)
        .service(add_orders)
        .service(remove_order)
        .service(record_tracking)
        .service(hand_over)
        .service(manifest_csv)
        .service(labels_page)
        .service(confirm_pickup);
}

/// A carrier and how khongdee works with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierInfo {
    pub carrier: Carrier,
    pub name_th: String,
    pub name_en: String,
    /// Whether a batch needs every parcel's tracking number before handover.
    pub needs_tracking_number: bool,
    /// `s10` (Thailand Post, check digit verified), `general` (8–20 letters and digits), or
    /// `free_text` (a local driver's note).
    pub tracking_number_format: String,
    /// The public tracking page, `{tracking_number}` to be replaced (Kerry's page takes no
    /// number in its address).
    pub tracking_url_template: Option<String>,
    /// The manifest profile its batches export by default.
    pub manifest_profile: Profile,
    /// Whether it may post signed tracking events here (a secret is configured).
    pub accepts_events: bool,
    /// Blackouts that have not ended yet.
    pub blackouts: Vec<Blackout>,
}

/// Carriers
///
/// The carriers batches can go with, their tracking-number rules and tracking pages, and their
/// coming blackout dates. Public.
#[utoipa::path(tag = "logistics", responses((status = 200, body = Vec<CarrierInfo>)))]
#[get("/carriers")]
pub async fn list_carriers(state: web::Data<AppState>) -> ApiResult<web::Json<Vec<CarrierInfo>>> {
    use strum::IntoEnumIterator;
    let today = crate::clock::to_bangkok(state.clock.now_naive()).date_naive();
    let secrets = state.carrier_secrets.clone();
    let list = state
        .db(move |conn| {
            let mut out = Vec::new();
            for carrier in Carrier::iter() {
                let format = match carrier {
                    Carrier::ThailandPost => "s10",
                    Carrier::Local | Carrier::Pickup => "free_text",
                    _ => "general",
                };
                out.push(CarrierInfo {
                    carrier,
                    name_th: carrier.name_th().into(),
                    name_en: carrier.name_en().into(),
                    needs_tracking_number: carrier.needs_tracking(),
                    tracking_number_format: format.into(),
                    tracking_url_template: super::tracking::tracking_url(carrier, "TRACKING")
                        .map(|u| u.replace("TRACKING", "{tracking_number}")),
                    manifest_profile: Profile::of(carrier),
                    accepts_events: carrier.sends_events() && secrets.contains_key(&carrier),
                    blackouts: blackouts::upcoming(conn, carrier, today)?,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(web::Json(list))
}

/// Add a carrier blackout
///
/// Admins: dates (Bangkok, both included, at most 60 days) when the carrier takes no fresh
/// produce. Batches dispatching inside them are refused (409 `carrier_blackout`), also at
/// handover.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("carrier" = Carrier, Path, description = "Carrier")),
    request_body = NewBlackout,
    responses(
        (status = 201, body = Blackout),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "last_date (invalid_range, too_large), reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/carriers/{carrier}/blackouts")]
pub async fn add_blackout(
    state: web::Data<AppState>,
    principal: Principal,
    carrier: web::Path<Carrier>,
    body: ValidJson<NewBlackout>,
) -> ApiResult<HttpResponse> {
    if !principal.is_admin() {
        return Err(ApiError::forbidden());
    }
    let carrier = carrier.into_inner();
    let now = state.clock.now_naive();
    let actor = principal.actor_label();
    let made = state
        .db_tx(move |conn| blackouts::create(conn, carrier, &body.0, &actor, now))
        .await?;
    Ok(HttpResponse::Created().json(made))
}

/// Remove a carrier blackout
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(
        ("carrier" = Carrier, Path, description = "Carrier"),
        ("id" = i64, Path, description = "Blackout id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/carriers/{carrier}/blackouts/{id}")]
pub async fn delete_blackout(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(Carrier, i64)>,
) -> ApiResult<HttpResponse> {
    if !principal.is_admin() {
        return Err(ApiError::forbidden());
    }
    let (carrier, id) = path.into_inner();
    state
        .db_tx(move |conn| blackouts::delete(conn, carrier, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Receive carrier tracking events
///
/// For a carrier (or the integration relaying its feed), signed as Standard Webhooks with the
/// carrier's secret over the raw body: `webhook-id`, `webhook-timestamp` (Unix seconds, within
/// 5 minutes) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
/// Events are deduplicated by carrier and `id`; Thailand Post's `status_code` is mapped
/// (101–104 accepted, 201/202/204–220 in transit, 203 returned, 301–304 out for delivery,
/// 401–402 failed attempt, 501 delivered; others history only), other carriers send `status`.
/// The shipment's status follows from all its events whatever order they arrive in; a delivery
/// moves the order to `delivered` once. Each change is announced (`shipment.*`,
/// `order.delivered`). Events for unknown tracking numbers are reported, not stored.
#[utoipa::path(
    tag = "logistics",
    params(
        ("carrier" = Carrier, Path, description = "Carrier"),
        ("webhook-id" = String, Header, description = "Message id"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds"),
        ("webhook-signature" = String, Header, description = "`v1,<base64 signature>`"),
    ),
    request_body = CarrierEvents,
    responses(
        (status = 200, body = EventsReceipt),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_signature: missing, wrong or stale", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "events[i].status (unknown_status) and field limits", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/carriers/{carrier}/events")]
pub async fn carrier_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    carrier: web::Path<Carrier>,
    body: web::Bytes,
) -> ApiResult<web::Json<EventsReceipt>> {
    let carrier = carrier.into_inner();
    events::verify(
        state.carrier_secrets.get(&carrier).map(String::as_str),
        req.headers(),
        &body,
    )?;
    let input: CarrierEvents = valid_json_bytes(&req, &body)?;
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let receipt = state
        .db_tx(move |conn| events::receive(conn, carrier, input, &pepper, now))
        .await?;
    Ok(web::Json(receipt))
}

/// Create a dispatch batch
///
/// LAO staff, a producer (its own orders) or an admin: a carrier, a dispatch date (Bangkok),
/// and either `window_id` (every ready order of that window with the batch's delivery method
/// in no open batch) or `order_codes`. Refusals: 409 `order_not_dispatchable` (not ready, wrong
/// delivery method, another LAO or producer; each reason in `orders`), `order_in_open_batch`,
/// `ship_by_passed` (the window's perishables must ship earlier), `carrier_blackout`.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    request_body = NewBatch,
    responses(
        (status = 201, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "order_not_dispatchable, order_in_open_batch, ship_by_passed, carrier_blackout", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "dispatch_date (too_small, too_large), order_codes (one_of, not_found, repeated), window_id (not_found)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dispatch-batches")]
pub async fn create_batch(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewBatch>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let made = state
        .db_tx(move |conn| {
            let id = batches::create(conn, &principal, body.0, now)?;
            let batch = batches::readable(conn, &principal, id)?;
            batches::view(conn, batch, now)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/dispatch-batches/{}", made.id),
        ))
        .json(made))
}

/// Dispatch batches
///
/// The caller's batches (staff: their LAO's; producers: their own; officers: their area),
/// newest dispatch date first, at most 200.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(BatchQuery),
    responses(
        (status = 200, body = Vec<DispatchBatch>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dispatch-batches")]
pub async fn list_batches(
    state: web::Data<AppState>,
    principal: Principal,
    query: ValidQuery<BatchQuery>,
) -> ApiResult<web::Json<Vec<DispatchBatch>>> {
    let now = state.clock.now_naive();
    let list = state
        .db(move |conn| batches::list(conn, &principal, &query.0, now))
        .await?;
    Ok(web::Json(list))
}

/// A dispatch batch
///
/// With its orders: recipient, destination, items, weight, parcels, tracking number and
/// link, ship-by date; and what still blocks handover (`missing_tracking`).
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dispatch-batches/{id}")]
pub async fn get_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let batch = state
        .db(move |conn| {
            let batch = batches::readable(conn, &principal, id)?;
            batches::view(conn, batch, now)
        })
        .await?;
    Ok(web::Json(batch))
}

/// The answer of the editing routes: the batch as it now stands.
async fn edited<F>(
    state: &AppState,
    principal: Principal,
    id: i64,
    f: F,
) -> ApiResult<DispatchBatch>
where
    F: FnOnce(&mut crate::db::DbConn, &Principal) -> ApiResult<()> + Send + 'static,
{
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| {
            f(conn, &principal)?;
            let batch = batches::readable(conn, &principal, id)?;
            batches::view(conn, batch, now)
        })
        .await
}

/// Change a dispatch batch
///
/// While open: the dispatch date (checked again against ship-by dates and blackouts) or the
/// note.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    request_body = BatchChanges,
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition (handed over or cancelled), ship_by_passed, carrier_blackout", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/dispatch-batches/{id}")]
pub async fn update_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<BatchChanges>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let changes = body.0;
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::update(conn, p, id, changes, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Cancel a dispatch batch
///
/// While open: its orders are free for another batch. Refused (409) for parcels the carrier
/// already reported on.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition, conflict", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/dispatch-batches/{id}")]
pub async fn cancel_batch(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::cancel(conn, p, id, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Add orders to a dispatch batch
///
/// While open: `window_id` (its ready orders in no open batch) or `order_codes`, checked as at
/// creation. Orders already in this batch are skipped.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    request_body = AddOrders,
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition, order_not_dispatchable, order_in_open_batch, ship_by_passed, carrier_blackout", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dispatch-batches/{id}/orders")]
pub async fn add_orders(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<AddOrders>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let add = body.0;
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::add_orders(conn, p, id, add, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Take an order out of a dispatch batch
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Batch id"),
        ("code" = String, Path, description = "Order code"),
    ),
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition, conflict (the carrier already reported on it)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/dispatch-batches/{id}/orders/{code}")]
pub async fn remove_order(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, String)>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let (id, code) = path.into_inner();
    let now = state.clock.now_naive();
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::remove_order(conn, p, id, &code, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Record tracking numbers
///
/// Per order of the batch (all or none): Thailand Post numbers must be S10 with the right check
/// digit (`EF582568151TH`); Flash, Kerry and J&T 8–20 letters and digits; a local driver any
/// note. Parcels per order may be set too. Allowed while open and after handover (a late
/// number), not on a cancelled batch.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    request_body = TrackingNumbers,
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition (cancelled)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "tracking_numbers[i].tracking_number (invalid_s10_format, invalid_s10_check_digit, invalid_tracking_format, repeated, duplicate), tracking_numbers[i].order_code (not_found)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dispatch-batches/{id}/tracking-numbers")]
pub async fn record_tracking(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<TrackingNumbers>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let input = body.0;
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::record_tracking(conn, p, id, input, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Hand a dispatch batch over
///
/// The parcels left with the carrier (or reached the pickup point): every order becomes
/// `shipped` (`handed_over` for a pickup batch), announced as `order.*` and
/// `shipment.handed_over`. Checked again: every order still ready, ship-by dates, blackouts,
/// and for Thailand Post, Flash, Kerry and J&T a tracking number on every parcel (409
/// `tracking_missing` names the orders).
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id")),
    responses(
        (status = 200, body = DispatchBatch),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition, order_not_dispatchable, tracking_missing, ship_by_passed, carrier_blackout", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dispatch-batches/{id}/handover")]
pub async fn hand_over(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DispatchBatch>> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let batch = edited(&state, principal, id, move |conn, p| {
        batches::hand_over(conn, p, id, &pepper, now)
    })
    .await?;
    Ok(web::Json(batch))
}

/// Manifest query.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ManifestQuery {
    /// Layout: `thailand_post`, `flash`, `kerry`, `jt` or `generic` (default: the batch's
    /// carrier's; a local driver's and pickup batches: `generic`).
    #[param(inline)]
    pub carrier: Option<Profile>,
}

/// Carrier manifest (CSV)
///
/// The batch as the carrier's bulk-order upload takes it (columns and units per profile; see
/// the README, "Dispatch day"), UTF-8 with BOM, formula-like text neutralised.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id"), ManifestQuery),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dispatch-batches/{id}/manifest.csv")]
pub async fn manifest_csv(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<ManifestQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let (profile, body) = state
        .db(move |conn| {
            let batch = batches::readable(conn, &principal, id)?;
            let profile = query.0.carrier.unwrap_or(Profile::of(batch.carrier));
            let parcels = batches::parcels(conn, &batch, now)?;
            let body = manifest::write(profile, &parcels).map_err(ApiError::internal)?;
            Ok((profile, body))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(crate::spreadsheet::CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"dispatch-{id}-{profile}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}

/// Label query.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LabelQuery {
    /// `thermal` (100 × 150 mm, one per page; default) or `a4` (four per sheet).
    #[param(inline)]
    pub format: Option<LabelFormat>,
}

/// Parcel labels (HTML)
///
/// A printable page, one label per order: recipient, sender (the producer, on behalf of the
/// LAO), the order code as a QR code, the tracking number as a Code 128 barcode once recorded,
/// the items and the ship-by date.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Batch id"), LabelQuery),
    responses(
        (status = 200, description = "HTML page", body = String, content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dispatch-batches/{id}/labels")]
pub async fn labels_page(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<LabelQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let format = query.0.format.unwrap_or_default();
    let html = state
        .db(move |conn| {
            let batch = batches::readable(conn, &principal, id)?;
            let lao = crate::laos::model::find_by_id(conn, batch.lao_id)?
                .ok_or_else(|| ApiError::internal("a batch's LAO is missing"))?;
            let parcels = batches::parcels(conn, &batch, now)?;
            Ok(labels::page(&batch, &lao, &parcels, format))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        ))
        .body(html))
}

/// A pickup to confirm.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "7kq3xpma"}))]
pub struct PickupConfirmation {
    /// The order code as typed or scanned from the QR (case, spaces and the hyphen do not
    /// matter).
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub code: String,
}

/// Confirm a pickup
///
/// Staff at the pickup point enter or scan the buyer's order code: the order becomes
/// `picked_up`. 409 `invalid_transition` (with `allowed`) for an order that is not a packed
/// pickup order: already collected, sent by carrier, unpaid.
#[utoipa::path(
    tag = "logistics",
    security(("bearer" = [])),
    request_body = PickupConfirmation,
    responses(
        (status = 200, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-confirmations")]
pub async fn confirm_pickup(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<PickupConfirmation>,
) -> ApiResult<web::Json<Order>> {
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let order = state
        .db_tx(move |conn| {
            let moved = shipments::confirm_pickup(conn, &principal, &body.0.code, &pepper, now)?;
            orders::view(conn, moved, now)
        })
        .await?;
    Ok(web::Json(order))
}

//! `/v1/webhook-endpoints…` and `/v1/webhook-event-types`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::endpoints::{
    self, DeliveryQuery, EndpointChanges, EndpointWithSecret, NewEndpoint, WebhookDelivery,
    WebhookEndpoint,
};
use crate::AppState;
use crate::auth::principal::Principal;
use crate::error::{ApiResult, Problem};
use crate::extract::{ValidJson, ValidQuery};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(event_types)
        .service(create_endpoint)
        .service(list_endpoints)
        .service(get_endpoint)
        .service(update_endpoint)
        .service(delete_endpoint)
        .service(rotate_secret)
        .service(send_test)
        .service(list_deliveries)
        .service(resend)
        .service(recover);
}

/// An event type endpoints may hear.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventType {
    pub name: String,
    pub description: String,
}

/// Webhook event types
///
/// Every event type an endpoint may list in `event_types`. Each delivery is a JSON body
/// `{"type", "timestamp", "data"}` signed as Standard Webhooks (README, "Webhooks").
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Vec<WebhookEventType>)))]
#[get("/webhook-event-types")]
pub async fn event_types() -> web::Json<Vec<WebhookEventType>> {
    web::Json(
        endpoints::EVENT_TYPES
            .iter()
            .map(|(name, description)| WebhookEventType {
                name: (*name).into(),
                description: (*description).into(),
            })
            .collect(),
    )
}

/// Register a webhook endpoint
///
/// For a partner client (its own orders, holds and waiting-list entries, and the windows of the
/// LAOs it sells for) or LAO staff (everything of their LAO). The answer carries the endpoint's
/// secret (`whsec_…`) this once. At most 20 endpoints per owner.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = NewEndpoint,
    responses(
        (status = 201, body = EndpointWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "url (https_required, private_address, invalid_url), event_types (unknown_event_type)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints")]
pub async fn create_endpoint(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<NewEndpoint>,
) -> ApiResult<HttpResponse> {
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let allow = state.config.webhooks_allow_loopback;
    let made = state
        .db_tx(move |conn| endpoints::create(conn, &principal, new, allow, now))
        .await?;
    Ok(HttpResponse::Created().json(made))
}

/// Webhook endpoints
///
/// The caller's endpoints (every endpoint for an admin), oldest first, without secrets.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<WebhookEndpoint>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhook-endpoints")]
pub async fn list_endpoints(
    state: web::Data<AppState>,
    principal: Principal,
) -> ApiResult<web::Json<Vec<WebhookEndpoint>>> {
    let list = state
        .db(move |conn| endpoints::list(conn, &principal))
        .await?;
    Ok(web::Json(list))
}

/// A webhook endpoint
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhook-endpoints/{id}")]
pub async fn get_endpoint(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<WebhookEndpoint>> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| endpoints::visible(conn, &principal, id))
        .await?;
    Ok(web::Json(row.into()))
}

/// Change a webhook endpoint
///
/// URL, event types (`null`: every type), description, or enabled. Enabling an endpoint that
/// was disabled (by its owner, a 410 or 5 days of failures) resumes its pending deliveries.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body = EndpointChanges,
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/webhook-endpoints/{id}")]
pub async fn update_endpoint(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<EndpointChanges>,
) -> ApiResult<web::Json<WebhookEndpoint>> {
    let ValidJson(changes) = body;
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let allow = state.config.webhooks_allow_loopback;
    let row = state
        .db_tx(move |conn| endpoints::update(conn, &principal, id, changes, allow, now))
        .await?;
    Ok(web::Json(row))
}

/// Delete a webhook endpoint
///
/// With its delivery log.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhook-endpoints/{id}")]
pub async fn delete_endpoint(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db_tx(move |conn| endpoints::delete(conn, &principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How long the old secret keeps signing.
#[derive(Debug, Deserialize, validator::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RotationQuery {
    /// Hours the old secret still signs beside the new one: 0–168, default 24.
    #[param(minimum = 0, maximum = 168)]
    pub overlap_hours: Option<i64>,
}

/// Rotate an endpoint's secret
///
/// A new `whsec_…` secret, shown once. Until the old one lapses (24 hours by default), every
/// delivery carries two signatures, one per secret, separated by a space.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"), RotationQuery),
    responses(
        (status = 200, body = EndpointWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<RotationQuery>,
) -> ApiResult<web::Json<EndpointWithSecret>> {
    let ValidQuery(query) = query;
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let made = state
        .db_tx(move |conn| endpoints::rotate_secret(conn, &principal, id, query.overlap_hours, now))
        .await?;
    Ok(web::Json(made))
}

/// A delivery queued for sending.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub delivery_id: i64,
}

/// Send a test event
///
/// Queues a `webhook.test` event for this endpoint only, sent within a second by the dispatcher;
/// its result shows in the delivery log.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 202, body = Queued),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{id}/test")]
pub async fn send_test(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let delivery_id = state
        .db_tx(move |conn| endpoints::send_test(conn, &principal, id, now))
        .await?;
    Ok(HttpResponse::Accepted().json(Queued { delivery_id }))
}

/// Delivery log
///
/// An endpoint's deliveries, newest first, each with every attempt (time, HTTP status or network
/// error, the first 4 KB of the response, duration, next attempt).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"), DeliveryQuery),
    responses(
        (status = 200, body = Vec<WebhookDelivery>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhook-endpoints/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<DeliveryQuery>,
) -> ApiResult<web::Json<Vec<WebhookDelivery>>> {
    let ValidQuery(query) = query;
    let id = id.into_inner();
    let list = state
        .db(move |conn| endpoints::deliveries(conn, &principal, id, &query))
        .await?;
    Ok(web::Json(list))
}

/// Resend a delivery
///
/// Sends the event again now, with the same `webhook-id`, and a fresh retry schedule.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Endpoint id"),
        ("delivery_id" = i64, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, body = Queued),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{id}/deliveries/{delivery_id}/resend")]
pub async fn resend(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| endpoints::resend(conn, &principal, id, delivery_id, now))
        .await?;
    Ok(HttpResponse::Accepted().json(Queued { delivery_id }))
}

/// From when to recover failed deliveries.
#[derive(Debug, Deserialize, validator::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// Deliveries created at or after this time (RFC 3339) that failed or wait for a retry are
    /// sent again now.
    pub since: chrono::DateTime<chrono::FixedOffset>,
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    pub queued: usize,
}

/// Recover failed deliveries
///
/// Sends again, now and in order, every delivery of the endpoint created since a time that
/// failed or is waiting for a retry (after the receiver was fixed).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body = Recovery,
    responses(
        (status = 202, body = Recovered),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhook-endpoints/{id}/recover")]
pub async fn recover(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: ValidJson<Recovery>,
) -> ApiResult<HttpResponse> {
    let ValidJson(recovery) = body;
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let since = recovery.since.naive_utc();
    let queued = state
        .db_tx(move |conn| endpoints::recover(conn, &principal, id, since, now))
        .await?;
    Ok(HttpResponse::Accepted().json(Recovered { queued }))
}

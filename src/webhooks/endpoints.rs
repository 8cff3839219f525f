//! Webhook endpoints: who owns them, what they hear, their secrets, and their delivery log.
//!
//! Owners are partner clients (their own orders, holds and waiting-list entries, and the windows
//! of the LAOs they sell for) and LAO staff (everything of their LAO). Admins see and manage every
//! endpoint; anyone else gets 404 for an endpoint that is not theirs.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::i18n::Text;

use super::address;
use super::signing;

pub const ENDPOINT: Text = Text {
    en: "webhook endpoint",
    th: "ปลายทางเว็บฮุก",
};

pub const DELIVERY: Text = Text {
    en: "webhook delivery",
    th: "การส่งเว็บฮุก",
};

/// Every event type an endpoint may ask for, with what it means.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("order.placed", "An order was placed and awaits payment."),
    ("order.confirmed", "An order was paid (or cost nothing)."),
    ("order.ready", "An order was harvested and packed."),
    ("order.shipped", "An order was given to a carrier."),
    (
        "order.handed_over",
        "An order was brought to its pickup point.",
    ),
    ("order.delivered", "The carrier delivered an order."),
    ("order.picked_up", "The buyer collected an order."),
    ("order.cancelled", "An order was cancelled."),
    ("order.refunded", "A paid order was refunded."),
    ("order.expired", "An order was not paid in time."),
    ("window.published", "A pre-order window opened."),
    ("window.closed", "A window stopped taking orders."),
    ("window.reopened", "A closed window took orders again."),
    ("window.harvested", "A window's harvest was done."),
    ("window.fulfilled", "Every order of a window was fulfilled."),
    ("window.cancelled", "A window was cancelled."),
    (
        "window.harvest_rescheduled",
        "A window's harvest dates moved.",
    ),
    ("window.capacity_changed", "A window's capacity changed."),
    (
        "window.sold_out",
        "Every unit of a window is held or sold (units may come back as holds lapse).",
    ),
    (
        "shipment.handed_over",
        "A parcel left with its carrier (or reached the pickup point) in a dispatch batch.",
    ),
    ("shipment.accepted", "The carrier took a parcel in."),
    ("shipment.in_transit", "A parcel is on its way."),
    ("shipment.out_for_delivery", "A parcel is out for delivery."),
    (
        "shipment.failed_attempt",
        "The carrier could not deliver a parcel this time.",
    ),
    ("shipment.returned", "A parcel is going back to the sender."),
    ("shipment.delivered", "The carrier delivered a parcel."),
    (
        "shipment.picked_up",
        "The buyer collected an order at the pickup point.",
    ),
    (
        "waitlist.offered",
        "A waiting-list entry was offered a hold.",
    ),
    ("waitlist.lapsed", "A waiting-list offer lapsed."),
    (
        "webhook_endpoint.disabled",
        "One of the owner's endpoints was disabled (a 410, or 5 days of failures).",
    ),
    (
        "webhook.test",
        "A test event sent on request to one endpoint.",
    ),
];

/// Endpoints one owner may have.
pub const MAX_ENDPOINTS: i64 = 20;

/// How long the old secret keeps signing after a rotation, by default and at most.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
pub const MAX_ROTATION_OVERLAP_HOURS: i64 = 7 * 24;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: i64,
    pub partner_client_id: Option<i64>,
    pub lao_id: Option<i64>,
    pub url: String,
    pub description: String,
    pub event_types: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An endpoint as its owner sees it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// The event types it hears; `null`: every type.
    pub event_types: Option<Vec<String>>,
    pub enabled: bool,
    /// `owner`, `gone` (the endpoint answered 410) or `failing` (5 days of failures).
    pub disabled_reason: Option<String>,
    /// The partner client that owns it, or
    pub partner_client_id: Option<i64>,
    /// the LAO that owns it.
    pub lao_id: Option<i64>,
    /// Until when the previous secret still signs (after a rotation), Bangkok time.
    pub previous_secret_expires_at: Option<DateTime<FixedOffset>>,
    /// Since when every attempt has failed, Bangkok time.
    pub failing_since: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(r: EndpointRow) -> Self {
        WebhookEndpoint {
            id: r.id,
            url: r.url,
            description: r.description,
            event_types: r.event_types.and_then(|t| serde_json::from_str(&t).ok()),
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            partner_client_id: r.partner_client_id,
            lao_id: r.lao_id,
            previous_secret_expires_at: r.previous_secret_expires_at.map(to_bangkok),
            failing_since: r.failing_since.map(to_bangkok),
            created_at: to_bangkok(r.created_at),
            updated_at: to_bangkok(r.updated_at),
        }
    }
}

/// A new endpoint, or a rotated secret: the secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…` (Standard Webhooks): keep it; it is not shown again.
    pub secret: String,
}

/// What a new endpoint is.
#[derive(Debug, Deserialize, validator::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example/hooks/khongdee", "event_types": ["order.confirmed", "order.shipped"], "description": "ร้านค้าออนไลน์"}))]
pub struct NewEndpoint {
    /// `https://…`; `http://` only to loopback when `KHONGDEE_WEBHOOKS_ALLOW_LOOPBACK=true`.
    #[schema(pattern = "^https?://", max_length = 2000)]
    pub url: String,
    /// Event types to hear (see `GET /v1/webhook-event-types`); omitted or `null`: every type.
    #[schema(schema_with = event_types_schema)]
    pub event_types: Option<Vec<String>>,
    /// What the endpoint is for, at most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; omitted fields stay. `event_types: null` means every type.
#[derive(Debug, Default, Deserialize, validator::Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChanges {
    #[schema(pattern = "^https?://", max_length = 2000)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = event_types_schema)]
    pub event_types: Option<Option<Vec<String>>>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// `event_types` in the OpenAPI document: `null`, or at least one of [`EVENT_TYPES`].
fn event_types_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(EVENT_TYPES.iter().map(|(name, _)| *name))),
        )
        .min_items(Some(1))
        .description(Some(
            "Event types to hear (`GET /v1/webhook-event-types`); `null` or omitted: every type.",
        ))
        .build()
        .into()
}

/// A present `null` is `Some(None)`; an absent field stays `None` (by `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Who owns an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Partner(i64),
    Lao(i64),
}

/// The owner a caller registers endpoints as: a partner client, or LAO staff for their LAO.
pub fn owner_of(principal: &Principal) -> ApiResult<Owner> {
    match (
        principal.role,
        principal.partner_id(),
        principal.area.lao_id,
    ) {
        (Role::Partner, Some(partner), _) => Ok(Owner::Partner(partner)),
        (Role::LaoStaff, _, Some(lao)) => Ok(Owner::Lao(lao)),
        _ => Err(ApiError::forbidden()),
    }
}

fn owns(principal: &Principal, row: &EndpointRow) -> bool {
    if principal.is_admin() {
        return true;
    }
    match owner_of(principal) {
        Ok(Owner::Partner(p)) => row.partner_client_id == Some(p),
        Ok(Owner::Lao(l)) => row.lao_id == Some(l),
        Err(_) => false,
    }
}

/// An endpoint the caller may see and manage, or 404.
pub fn visible(conn: &mut DbConn, principal: &Principal, id: i64) -> ApiResult<EndpointRow> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?
        .filter(|row| owns(principal, row))
        .ok_or_else(|| ApiError::not_found(ENDPOINT))
}

fn check_url(url: &str, allow_loopback: bool) -> ApiResult<String> {
    if url.len() > 2000 {
        return Err(ApiError::validation(vec![
            FieldError::new("url", "too_long").with("max", 2000),
        ]));
    }
    address::check_url(url, allow_loopback)
        .map(|u| u.to_string())
        .map_err(|refusal| ApiError::invalid_field("url", refusal.code()))
}

fn check_event_types(types: &Option<Vec<String>>) -> ApiResult<Option<String>> {
    let Some(types) = types else {
        return Ok(None);
    };
    if types.is_empty() {
        return Err(ApiError::validation(vec![
            FieldError::new("event_types", "too_few").with("min", 1),
        ]));
    }
    if let Some(unknown) = types
        .iter()
        .find(|t| !EVENT_TYPES.iter().any(|(known, _)| known == t))
    {
        return Err(ApiError::validation(vec![
            FieldError::new("event_types", "unknown_event_type").with("value", unknown.as_str()),
        ]));
    }
    let mut sorted = types.clone();
    sorted.sort();
    sorted.dedup();
    Ok(Some(
        serde_json::to_string(&sorted).expect("strings serialise"),
    ))
}

/// The most characters an endpoint's description has (stated in the OpenAPI document too).
const DESCRIPTION_MAX: usize = 500;

fn check_description(description: &str) -> ApiResult<()> {
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(ApiError::validation(vec![
            FieldError::new("description", "too_long").with("max", DESCRIPTION_MAX),
        ]));
    }
    Ok(())
}

/// Registers an endpoint for the caller; answers it with its secret.
pub fn create(
    conn: &mut DbConn,
    principal: &Principal,
    new: NewEndpoint,
    allow_loopback: bool,
    now: NaiveDateTime,
) -> ApiResult<EndpointWithSecret> {
    let owner = owner_of(principal)?;
    let url = check_url(&new.url, allow_loopback)?;
    let event_types = check_event_types(&new.event_types)?;
    check_description(&new.description)?;
    let (partner, lao) = match owner {
        Owner::Partner(p) => (Some(p), None),
        Owner::Lao(l) => (None, Some(l)),
    };
    let count: i64 = webhook_endpoints::table
        .filter(
            webhook_endpoints::partner_client_id
                .eq(partner)
                .and(webhook_endpoints::partner_client_id.is_not_null())
                .or(webhook_endpoints::lao_id
                    .eq(lao)
                    .and(webhook_endpoints::lao_id.is_not_null())),
        )
        .count()
        .get_result(conn)?;
    if count >= MAX_ENDPOINTS {
        return Err(ApiError::validation(vec![
            FieldError::new("url", "too_many").with("max", MAX_ENDPOINTS),
        ]));
    }
    let secret = signing::new_secret();
    let enabled = new.enabled.unwrap_or(true);
    let id: i64 = diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::partner_client_id.eq(partner),
            webhook_endpoints::lao_id.eq(lao),
            webhook_endpoints::url.eq(&url),
            webhook_endpoints::description.eq(new.description.trim()),
            webhook_endpoints::event_types.eq(event_types),
            webhook_endpoints::enabled.eq(enabled),
            webhook_endpoints::disabled_reason.eq((!enabled).then_some("owner")),
            webhook_endpoints::secret.eq(&secret),
            webhook_endpoints::created_by.eq(principal.actor_label()),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(webhook_endpoints::id)
        .get_result(conn)?;
    let row = visible(conn, principal, id)?;
    Ok(EndpointWithSecret {
        endpoint: row.into(),
        secret,
    })
}

/// The caller's endpoints (every endpoint for an admin), oldest first.
pub fn list(conn: &mut DbConn, principal: &Principal) -> ApiResult<Vec<WebhookEndpoint>> {
    let mut q = webhook_endpoints::table
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .into_boxed();
    if !principal.is_admin() {
        q = match owner_of(principal)? {
            Owner::Partner(p) => q.filter(webhook_endpoints::partner_client_id.eq(p)),
            Owner::Lao(l) => q.filter(webhook_endpoints::lao_id.eq(l)),
        };
    }
    Ok(q.load(conn)?.into_iter().map(Into::into).collect())
}

/// Changes an endpoint. Enabling clears the reason it was disabled and its failing time.
pub fn update(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    changes: EndpointChanges,
    allow_loopback: bool,
    now: NaiveDateTime,
) -> ApiResult<WebhookEndpoint> {
    use webhook_endpoints as e;
    let row = visible(conn, principal, id)?;
    if let Some(url) = &changes.url {
        let url = check_url(url, allow_loopback)?;
        diesel::update(e::table.find(id))
            .set(e::url.eq(url))
            .execute(conn)?;
    }
    if let Some(types) = &changes.event_types {
        let types = check_event_types(types)?;
        diesel::update(e::table.find(id))
            .set(e::event_types.eq(types))
            .execute(conn)?;
    }
    if let Some(description) = &changes.description {
        check_description(description)?;
        diesel::update(e::table.find(id))
            .set(e::description.eq(description.trim()))
            .execute(conn)?;
    }
    if let Some(enabled) = changes.enabled
        && enabled != row.enabled
    {
        diesel::update(e::table.find(id))
            .set((
                e::enabled.eq(enabled),
                e::disabled_reason.eq((!enabled).then_some("owner")),
                e::failing_since.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    diesel::update(e::table.find(id))
        .set(e::updated_at.eq(now))
        .execute(conn)?;
    Ok(visible(conn, principal, id)?.into())
}

/// Deletes an endpoint with its deliveries and their attempts.
pub fn delete(conn: &mut DbConn, principal: &Principal, id: i64) -> ApiResult<()> {
    visible(conn, principal, id)?;
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(id))
        .select(webhook_deliveries::id);
    diesel::delete(
        webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
    )
    .execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(id)))
        .execute(conn)?;
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn)?;
    Ok(())
}

/// Gives an endpoint a new secret; the old one keeps signing beside it for `overlap_hours`
/// (default 24, 0 to drop it at once, at most 168).
pub fn rotate_secret(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    overlap_hours: Option<i64>,
    now: NaiveDateTime,
) -> ApiResult<EndpointWithSecret> {
    use webhook_endpoints as e;
    let hours = overlap_hours.unwrap_or(ROTATION_OVERLAP_HOURS);
    if !(0..=MAX_ROTATION_OVERLAP_HOURS).contains(&hours) {
        return Err(out_of_range(
            "overlap_hours",
            hours,
            0,
            MAX_ROTATION_OVERLAP_HOURS,
        ));
    }
    visible(conn, principal, id)?;
    let old: String = e::table.find(id).select(e::secret).first(conn)?;
    let secret = signing::new_secret();
    diesel::update(e::table.find(id))
        .set((
            e::secret.eq(&secret),
            e::previous_secret.eq((hours > 0).then_some(old)),
            e::previous_secret_expires_at.eq((hours > 0).then(|| now + Duration::hours(hours))),
            e::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(EndpointWithSecret {
        endpoint: visible(conn, principal, id)?.into(),
        secret,
    })
}

/// Disables an endpoint for a reason (`gone`, `failing`) and tells its owner with a
/// `webhook_endpoint.disabled` event (heard by the owner's other endpoints).
pub fn disable(conn: &mut DbConn, id: i64, reason: &str, now: NaiveDateTime) -> QueryResult<()> {
    use webhook_endpoints as e;
    let row: EndpointRow = e::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)?;
    diesel::update(e::table.find(id))
        .set((
            e::enabled.eq(false),
            e::disabled_reason.eq(Some(reason)),
            e::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::outbox::record(
        conn,
        crate::outbox::Event {
            event_type: "webhook_endpoint.disabled",
            aggregate_type: "webhook_endpoint",
            aggregate_id: id.to_string(),
            lao_id: row.lao_id,
            partner_client_id: row.partner_client_id,
            payload: serde_json::json!({
                "endpoint_id": id,
                "url": row.url,
                "reason": reason,
                "failing_since": row.failing_since.map(to_bangkok),
            }),
        },
        now,
    )?;
    Ok(())
}

/// Sends a `webhook.test` event to one endpoint: recorded in the outbox already published, with
/// its one delivery due now. Returns the delivery id.
pub fn send_test(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    let row = visible(conn, principal, id)?;
    let event_id = crate::outbox::record(
        conn,
        crate::outbox::Event {
            event_type: "webhook.test",
            aggregate_type: "webhook_endpoint",
            aggregate_id: id.to_string(),
            lao_id: row.lao_id,
            partner_client_id: row.partner_client_id,
            payload: serde_json::json!({"endpoint_id": id, "message": "khongdee test event"}),
        },
        now,
    )?;
    diesel::update(outbox_events::table.find(event_id))
        .set(outbox_events::published_at.eq(Some(now)))
        .execute(conn)?;
    let delivery: i64 = diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::endpoint_id.eq(id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq("webhook.test"),
            webhook_deliveries::ordering_key.eq(format!("webhook_endpoint:{id}:test:{event_id}")),
            webhook_deliveries::state.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .returning(webhook_deliveries::id)
        .get_result(conn)?;
    Ok(delivery)
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
struct AttemptRow {
    attempt: i32,
    attempted_at: NaiveDateTime,
    status_code: Option<i32>,
    error: Option<String>,
    response_body: Option<String>,
    duration_ms: i64,
    next_attempt_at: Option<NaiveDateTime>,
}

/// One attempt, as the log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttempt {
    pub attempt: i32,
    /// Bangkok time.
    pub attempted_at: DateTime<FixedOffset>,
    /// The HTTP status, or `null` with `error`.
    pub status_code: Option<i32>,
    /// The network error (connect, timeout, refused address…).
    pub error: Option<String>,
    /// The first 4 KB of the response body.
    pub response_body: Option<String>,
    pub duration_ms: i64,
    /// When the next attempt is due (Bangkok time); `null` when none follows.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(r: AttemptRow) -> Self {
        WebhookAttempt {
            attempt: r.attempt,
            attempted_at: to_bangkok(r.attempted_at),
            status_code: r.status_code,
            error: r.error,
            response_body: r.response_body,
            duration_ms: r.duration_ms,
            next_attempt_at: r.next_attempt_at.map(to_bangkok),
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: i64,
    event_id: i64,
    event_type: String,
    state: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

/// A delivery of one event to one endpoint, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    /// The event's `webhook-id`.
    pub message_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (gave up, or the endpoint answered 410).
    pub state: String,
    pub attempts: i32,
    /// Bangkok time.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    pub attempt_log: Vec<WebhookAttempt>,
}

/// Filters of the delivery log.
#[derive(Debug, Default, Deserialize, validator::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    #[param(pattern = "^(pending|delivered|failed)$")]
    pub state: Option<String>,
    pub event_type: Option<String>,
    /// Deliveries created at or after (RFC 3339).
    pub since: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Deliveries created before (RFC 3339).
    pub until: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// 1–200, default 50; newest first.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

const STATES: [&str; 3] = ["pending", "delivered", "failed"];

/// 400 `invalid_parameter`: a number outside `min..=max`.
fn out_of_range(field: &str, value: i64, min: i64, max: i64) -> ApiError {
    let code = if value < min {
        "too_small"
    } else {
        "too_large"
    };
    ApiError::new(crate::error::ErrorKind::InvalidParameter).field(
        FieldError::new(field, code)
            .with("min", min)
            .with("max", max),
    )
}

/// The delivery log of an endpoint, newest first, with every attempt.
pub fn deliveries(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    query: &DeliveryQuery,
) -> ApiResult<Vec<WebhookDelivery>> {
    use webhook_deliveries as d;
    visible(conn, principal, id)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(out_of_range("limit", limit, 1, 200));
    }
    let mut q = d::table
        .filter(d::endpoint_id.eq(id))
        .order(d::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(state) = &query.state {
        if !STATES.contains(&state.as_str()) {
            return Err(
                ApiError::new(crate::error::ErrorKind::InvalidParameter).field(
                    FieldError::new("state", "invalid_enum")
                        .with("allowed", crate::i18n::code_list(STATES)),
                ),
            );
        }
        q = q.filter(d::state.eq(state.clone()));
    }
    if let Some(t) = &query.event_type {
        q = q.filter(d::event_type.eq(t.clone()));
    }
    if let Some(since) = query.since {
        q = q.filter(d::created_at.ge(since.naive_utc()));
    }
    if let Some(until) = query.until {
        q = q.filter(d::created_at.lt(until.naive_utc()));
    }
    let rows: Vec<DeliveryRow> = q.select(DeliveryRow::as_select()).load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<(i64, AttemptRow)> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::id))
        .select((webhook_attempts::delivery_id, AttemptRow::as_select()))
        .load(conn)?;
    let mut by_delivery: std::collections::HashMap<i64, Vec<WebhookAttempt>> =
        std::collections::HashMap::new();
    for (delivery, attempt) in attempts {
        by_delivery
            .entry(delivery)
            .or_default()
            .push(attempt.into());
    }
    Ok(rows
        .into_iter()
        .map(|r| WebhookDelivery {
            attempt_log: by_delivery.remove(&r.id).unwrap_or_default(),
            id: r.id,
            message_id: format!("evt_{}", r.event_id),
            event_type: r.event_type,
            next_attempt_at: (r.state == "pending").then(|| to_bangkok(r.next_attempt_at)),
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: to_bangkok(r.created_at),
            delivered_at: r.delivered_at.map(to_bangkok),
        })
        .collect())
}

/// Sends one delivery again, now (same `webhook-id`), with a fresh retry schedule.
pub fn resend(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    delivery_id: i64,
    now: NaiveDateTime,
) -> ApiResult<()> {
    use webhook_deliveries as d;
    visible(conn, principal, id)?;
    let moved = diesel::update(
        d::table
            .filter(d::id.eq(delivery_id))
            .filter(d::endpoint_id.eq(id)),
    )
    .set((
        d::state.eq("pending"),
        d::attempts.eq(0),
        d::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    if moved == 0 {
        return Err(ApiError::not_found(DELIVERY));
    }
    Ok(())
}

/// Sends again, now and with a fresh schedule, every delivery of an endpoint created since a
/// time that failed or is still waiting for a retry; returns how many.
pub fn recover(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    use webhook_deliveries as d;
    visible(conn, principal, id)?;
    Ok(diesel::update(
        d::table
            .filter(d::endpoint_id.eq(id))
            .filter(d::state.eq_any(["failed", "pending"]))
            .filter(d::created_at.ge(since)),
    )
    .set((
        d::state.eq("pending"),
        d::attempts.eq(0),
        d::next_attempt_at.eq(now),
    ))
    .execute(conn)?)
}

//! Carrier tracking events: `POST /v1/carriers/{carrier}/events`.
//!
//! # Authentication
//! Each carrier (or the integration that relays its tracking feed) has its own secret
//! (`KHONGDEE_CARRIER_EVENT_SECRETS`, `thailand_post=whsec_…,flash=whsec_…`) and signs the raw
//! body as a Standard Webhooks message (<https://www.standardwebhooks.com/>, verified with the
//! `standardwebhooks` crate): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`. A missing or
//! wrong signature, or a timestamp more than 5 minutes from the server's clock (a replayed
//! request), is refused with 401 `invalid_signature` and changes nothing.
//!
//! # Payload
//! ```json
//! {"events": [{"id": "EF582568151TH-501-1", "tracking_number": "EF582568151TH",
//!   "status_code": "501", "occurred_at": "2026-12-03T10:15:00+07:00",
//!   "location": "ปณ.แม่สอด", "description": "นำจ่ายสำเร็จ"}]}
//! ```
//! `id` is the carrier's id of the event (unique per carrier): an event seen before is
//! skipped, so resending a batch of events is harmless. Thailand Post events carry its status
//! code (`tracking::thailand_post_status`); other carriers send `status`, one of `accepted`,
//! `in_transit`, `out_for_delivery`, `failed_attempt`, `delivered`, `returned` (their own
//! code may go in `status_code`, kept as history). The shipment's status is then worked out from
//! all its events (`shipments::status_from_events`), so events may arrive in any order.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{Carrier, ShipmentStatus};
use super::{shipments, tracking};
use crate::db::DbConn;
use crate::db::schema::shipment_events;
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param};

/// A normalised status a carrier may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Accepted,
    InTransit,
    OutForDelivery,
    FailedAttempt,
    Delivered,
    Returned,
}

impl From<EventStatus> for ShipmentStatus {
    fn from(s: EventStatus) -> Self {
        match s {
            EventStatus::Accepted => ShipmentStatus::Accepted,
            EventStatus::InTransit => ShipmentStatus::InTransit,
            EventStatus::OutForDelivery => ShipmentStatus::OutForDelivery,
            EventStatus::FailedAttempt => ShipmentStatus::FailedAttempt,
            EventStatus::Delivered => ShipmentStatus::Delivered,
            EventStatus::Returned => ShipmentStatus::Returned,
        }
    }
}

/// One tracking event.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierEvent {
    /// The carrier's id of this event, unique per carrier: a repeat is skipped.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub id: String,
    #[validate(length(min = 1, max = 60))]
    #[schema(min_length = 1, max_length = 60)]
    pub tracking_number: String,
    /// The carrier's own status code: Thailand Post's e-Tracking `status` (`101`…`501`).
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub status_code: Option<String>,
    /// The normalised status (required unless a Thailand Post `status_code` gives it).
    pub status: Option<EventStatus>,
    /// When it happened, with its offset (RFC 3339): at most a day ahead of the server's clock
    /// and at most a year before it.
    pub occurred_at: DateTime<FixedOffset>,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub location: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// A carrier's delivery of events.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": [{"id": "EF582568151TH-501-1", "tracking_number": "EF582568151TH", "status_code": "501", "occurred_at": "2026-12-03T10:15:00+07:00", "location": "ปณ.แม่สอด", "description": "นำจ่ายสำเร็จ"}]}))]
pub struct CarrierEvents {
    #[validate(length(min = 1, max = 500), nested)]
    #[schema(min_items = 1, max_items = 500)]
    pub events: Vec<CarrierEvent>,
}

/// What became of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored in the shipment's history (its status follows from all events).
    Recorded,
    /// Seen before (same carrier and id): nothing changed.
    Duplicate,
    /// No parcel of this carrier has this tracking number: nothing stored.
    UnknownTracking,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    pub id: String,
    pub outcome: Outcome,
    /// The shipment's status after the delivery (recorded events only).
    pub shipment_status: Option<ShipmentStatus>,
}

/// The answer to a delivery of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsReceipt {
    pub recorded: usize,
    pub duplicates: usize,
    pub unknown_tracking: usize,
    pub results: Vec<EventResult>,
}

/// The carriers' secrets from `KHONGDEE_CARRIER_EVENT_SECRETS`
/// (`thailand_post=whsec_…,flash=whsec_…`); an error names the bad entry.
pub fn parse_secrets(value: Option<&str>) -> Result<HashMap<Carrier, String>, String> {
    let mut out = HashMap::new();
    for entry in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (name, secret) = entry
            .split_once('=')
            .ok_or_else(|| format!("`{entry}` is not carrier=whsec_…"))?;
        let carrier: Carrier = name
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a carrier", name.trim()))?;
        let secret = secret.trim();
        standardwebhooks::Webhook::new(secret)
            .map_err(|_| format!("the secret of `{carrier}` is not whsec_<base64>"))?;
        out.insert(carrier, secret.to_string());
    }
    Ok(out)
}

fn refused(reason_en: &str, reason_th: &str) -> ApiError {
    ApiError::new(ErrorKind::InvalidSignature).with("reason", Param::both(reason_en, reason_th))
}

/// Checks the Standard Webhooks signature of a raw body with the carrier's secret.
pub fn verify(
    secret: Option<&str>,
    headers: &actix_web::http::header::HeaderMap,
    body: &[u8],
) -> ApiResult<()> {
    use standardwebhooks::WebhookError as E;
    let Some(secret) = secret else {
        return Err(refused(
            "no secret is configured for this carrier",
            "ยังไม่ได้ตั้งค่ารหัสลับของขนส่งรายนี้",
        ));
    };
    let hook = standardwebhooks::Webhook::new(secret)
        .map_err(|_| ApiError::internal("a carrier secret is not base64"))?;
    // The crate reads `http` 1.x headers; actix-web 4 has its own map.
    let mut map = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(value) = headers.get(name)
            && let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes())
        {
            map.insert(name, value);
        }
    }
    hook.verify(body, &map).map_err(|e| match e {
        E::MissingHeader(_) => refused(
            "the webhook-id, webhook-timestamp and webhook-signature headers are required",
            "ต้องส่งส่วนหัว webhook-id, webhook-timestamp และ webhook-signature",
        ),
        E::TimestampTooOldError | E::FutureTimestampError | E::InvalidTimestamp => refused(
            "the webhook-timestamp is more than 5 minutes from now",
            "เวลาใน webhook-timestamp ห่างจากเวลาปัจจุบันเกิน 5 นาที",
        ),
        _ => refused(
            "the signature does not match the body",
            "ลายเซ็นไม่ตรงกับเนื้อหาคำขอ",
        ),
    })
}

/// Checks each event's status against the carrier (all or nothing: a 422 names each).
fn statuses(carrier: Carrier, events: &[CarrierEvent]) -> ApiResult<Vec<ShipmentStatus>> {
    let mut out = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let status = match (carrier, &e.status_code, e.status) {
            (Carrier::ThailandPost, Some(code), _) => Some(tracking::thailand_post_status(code)),
            (_, _, Some(status)) => Some(status.into()),
            _ => None,
        };
        match status {
            Some(s) => out.push(s),
            None => errors.push(FieldError::new(
                format!("events[{i}].status"),
                "unknown_status",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Refuses events timed more than a day ahead of the server's clock or more than a year before
/// it: a wrong clock (or a wrong year) would otherwise decide a parcel's status for good.
fn check_times(events: &[CarrierEvent], now: NaiveDateTime) -> ApiResult<()> {
    let latest = now + chrono::Duration::days(1);
    let earliest = now - chrono::Duration::days(366);
    let mut errors = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at = e.occurred_at.naive_utc();
        let field = format!("events[{i}].occurred_at");
        if at > latest {
            errors.push(
                FieldError::new(field, "too_large")
                    .with("max", crate::clock::to_bangkok(latest).to_rfc3339()),
            );
        } else if at < earliest {
            errors.push(
                FieldError::new(field, "too_small")
                    .with("min", crate::clock::to_bangkok(earliest).to_rfc3339()),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Records a carrier's events and brings each touched shipment (and order) to what its events
/// say, in the caller's transaction.
pub fn receive(
    conn: &mut DbConn,
    carrier: Carrier,
    input: CarrierEvents,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<EventsReceipt> {
    check_times(&input.events, now)?;
    let statuses = statuses(carrier, &input.events)?;
    let mut results = Vec::with_capacity(input.events.len());
    let mut touched: Vec<(usize, i64)> = Vec::new();
    for (event, status) in input.events.into_iter().zip(statuses) {
        let shipment = match tracking::normalize(carrier, &event.tracking_number) {
            Ok(number) => shipments::by_tracking(conn, carrier, &number)?,
            Err(_) => None,
        };
        let Some(shipment) = shipment else {
            results.push(EventResult {
                id: event.id,
                outcome: Outcome::UnknownTracking,
                shipment_status: None,
            });
            continue;
        };
        let occurred_at = event.occurred_at.naive_utc();
        // A savepoint: a concurrent copy of the same event loses the race without aborting
        // the whole delivery (PostgreSQL ends a transaction at the first failed statement).
        let inserted = conn.transaction(|c| {
            diesel::insert_into(shipment_events::table)
                .values((
                    shipment_events::shipment_id.eq(shipment.id),
                    shipment_events::carrier.eq(carrier.to_string()),
                    shipment_events::event_id.eq(&event.id),
                    shipment_events::status_code.eq(event.status_code.as_deref()),
                    shipment_events::status.eq(status.to_string()),
                    shipment_events::occurred_at.eq(occurred_at),
                    shipment_events::location.eq(event.location.as_deref()),
                    shipment_events::description.eq(event.description.as_deref()),
                    shipment_events::received_at.eq(now),
                ))
                .execute(c)
        });
        let outcome = match inserted {
            Ok(_) => Outcome::Recorded,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Outcome::Duplicate,
            Err(e) => return Err(e.into()),
        };
        if outcome == Outcome::Recorded {
            touched.push((results.len(), shipment.id));
        }
        results.push(EventResult {
            id: event.id,
            outcome,
            shipment_status: None,
        });
    }
    let mut after: HashMap<i64, ShipmentStatus> = HashMap::new();
    for (_, shipment_id) in &touched {
        if !after.contains_key(shipment_id) {
            shipments::refresh(conn, *shipment_id, pepper, now)?;
            after.insert(*shipment_id, shipments::status_of(conn, *shipment_id)?);
        }
    }
    for (i, shipment_id) in touched {
        results[i].shipment_status = after.get(&shipment_id).copied();
    }
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    Ok(EventsReceipt {
        recorded: count(Outcome::Recorded),
        duplicates: count(Outcome::Duplicate),
        unknown_tracking: count(Outcome::UnknownTracking),
        results,
    })
}

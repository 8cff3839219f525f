//! Deliveries: from the outbox to one row per event and endpoint, claimed by a dispatcher under
//! a lease, attempted, and retried on a schedule.
//!
//! - **Fan-out** ([`fan_out`]) reads outbox events not yet published, in id order, creates a
//!   delivery for every enabled endpoint that should hear the event (`INSERT … ON CONFLICT DO
//!   NOTHING`: two processes fanning out the same event create it once) and marks the event
//!   published. An event is published only with its deliveries, in one transaction.
//! - **Order per aggregate.** A delivery is due only when no earlier delivery (smaller event id)
//!   of the same endpoint and aggregate (`order:KD-…`, `window:12`) is still pending: a later
//!   event of an order waits while an earlier one is retried; other orders are not held up.
//!   Events of one aggregate get increasing ids in the order they happened, because their
//!   transactions lock the aggregate's row (the order, the window) before writing the event.
//! - **Claims** ([`claim`]) set a lease (`lease_until`, `leased_by`); on PostgreSQL the due rows
//!   are selected `FOR UPDATE SKIP LOCKED`, so several `serve` processes share the work and never
//!   take one delivery at once. A process that dies mid-delivery loses nothing: its lease lapses
//!   and the delivery is claimed again (at most one duplicate, which the stable `webhook-id` lets
//!   a receiver drop).
//! - **Attempts** ([`finish`]) are all kept. A 2xx delivers; a 410 disables the endpoint; other
//!   answers and network errors retry after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (±10%
//!   jitter), or after `Retry-After` on 429 and 503, then give up. An endpoint whose attempts
//!   have all failed for 5 days is disabled and its owner told by a
//!   `webhook_endpoint.disabled` event.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use crate::db::schema::{outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::db::{Backend, DbConn, sql_literal};

/// Delays after the 1st, 2nd, … failed attempt; after the last, the delivery gives up (8
/// attempts in all, over ~28 hours).
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::hours(10);

/// How long every attempt may fail before the endpoint is disabled.
pub const FAILING_LIMIT: Duration = Duration::days(5);

/// The first bytes of a response body kept in the log.
pub const RESPONSE_BODY_BYTES: usize = 4096;

/// The delay before the next attempt after `attempts` failed ones, with `jitter` in −1…1
/// scaling ±10%; `None` when the delivery gives up. `retry_after` (from a 429 or 503) replaces
/// the schedule, up to [`MAX_RETRY_AFTER`].
pub fn next_delay(attempts: i32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let scheduled = *RETRY_DELAYS.get(index)?;
    if let Some(after) = retry_after {
        return Some(after.clamp(Duration::seconds(1), MAX_RETRY_AFTER));
    }
    let ms = scheduled.num_milliseconds() as f64 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
    Some(Duration::milliseconds(ms.round() as i64))
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP date, relative to `now` (UTC).
pub fn retry_after(value: &str, now: NaiveDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return (seconds >= 0).then(|| Duration::seconds(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = chrono::DateTime::<chrono::Utc>::from(at).naive_utc();
    Some((at - now).max(Duration::zero()))
}

/// Who should hear an event: the owners of the endpoints it goes to.
#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    aggregate_type: String,
    #[diesel(sql_type = Text)]
    aggregate_id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    lao_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    partner_client_id: Option<i64>,
}

/// Whether an endpoint's event-type list (JSON array; `None` = all) takes a type.
pub fn takes(event_types: Option<&str>, event_type: &str) -> bool {
    match event_types {
        None => true,
        Some(list) => serde_json::from_str::<Vec<String>>(list)
            .map(|types| types.iter().any(|t| t == event_type))
            .unwrap_or(false),
    }
}

fn timestamp_literal(at: NaiveDateTime) -> String {
    format!("'{}'", at.format("%Y-%m-%d %H:%M:%S%.6f"))
}

/// Creates the deliveries of up to `limit` unpublished outbox events and marks them published;
/// returns how many events it handled. One transaction.
pub fn fan_out(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    crate::db::write_transaction(conn, |conn| {
        let events: Vec<Pending> = diesel::sql_query(format!(
            "SELECT id, event_type, aggregate_type, aggregate_id, lao_id, partner_client_id \
             FROM outbox_events WHERE published_at IS NULL ORDER BY id LIMIT {limit}"
        ))
        .load(conn)?;
        if events.is_empty() {
            return Ok(0);
        }
        #[derive(QueryableByName)]
        struct Endpoint {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Nullable<BigInt>)]
            partner_client_id: Option<i64>,
            #[diesel(sql_type = Nullable<BigInt>)]
            lao_id: Option<i64>,
            #[diesel(sql_type = Nullable<Text>)]
            event_types: Option<String>,
        }
        let endpoints: Vec<Endpoint> = diesel::sql_query(
            "SELECT id, partner_client_id, lao_id, event_types FROM webhook_endpoints \
             WHERE enabled",
        )
        .load(conn)?;
        // The LAOs each partner may sell for (`None`: every LAO), as the auth room decides.
        let mut sells_for: std::collections::HashMap<i64, Option<Vec<i64>>> =
            std::collections::HashMap::new();
        for partner in endpoints.iter().filter_map(|e| e.partner_client_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = sells_for.entry(partner) {
                slot.insert(crate::auth::partners::lao_ids_sold_for(conn, partner)?);
            }
        }
        let mut rows = Vec::new();
        for event in &events {
            let mut to: Vec<i64> = endpoints
                .iter()
                .filter(|e| takes(e.event_types.as_deref(), &event.event_type))
                // An endpoint is not told of its own disabling (its owner's others are).
                .filter(|e| {
                    event.aggregate_type != "webhook_endpoint"
                        || event.aggregate_id != e.id.to_string()
                })
                .filter(|e| match (e.partner_client_id, e.lao_id) {
                    // A partner hears its own orders and holds, and the windows of LAOs it sells
                    // for.
                    (Some(partner), _) => {
                        event.partner_client_id == Some(partner)
                            || (event.aggregate_type == "window"
                                && event
                                    .lao_id
                                    .is_some_and(|lao| match sells_for.get(&partner) {
                                        Some(Some(laos)) => laos.contains(&lao),
                                        _ => true,
                                    }))
                    }
                    (None, Some(lao)) => event.lao_id == Some(lao),
                    (None, None) => false,
                })
                .map(|e| e.id)
                .collect();
            to.sort_unstable();
            to.dedup();
            for endpoint in to {
                rows.push(format!(
                    "({endpoint}, {}, {}, {}, 'pending', 0, {now}, {now})",
                    event.id,
                    sql_literal(&event.event_type),
                    sql_literal(&format!("{}:{}", event.aggregate_type, event.aggregate_id)),
                    now = timestamp_literal(now),
                ));
            }
        }
        for chunk in rows.chunks(500) {
            diesel::sql_query(format!(
                "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, ordering_key, \
                   state, attempts, next_attempt_at, created_at) VALUES {} \
                 ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                chunk.join(", ")
            ))
            .execute(conn)?;
        }
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(&ids)))
            .set(outbox_events::published_at.eq(Some(now)))
            .execute(conn)?;
        Ok(events.len())
    })
}

/// A delivery claimed for one attempt, with what the attempt needs.
#[derive(Clone, Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub delivery_id: i64,
    #[diesel(sql_type = BigInt)]
    pub endpoint_id: i64,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Timestamp)]
    pub occurred_at: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

impl Claimed {
    /// The `webhook-id`: stable across retries and resends.
    pub fn message_id(&self) -> String {
        format!("evt_{}", self.event_id)
    }

    /// The body: `{"type", "timestamp", "data"}` (Standard Webhooks), the same bytes on every
    /// attempt. `timestamp` is when the event happened (RFC 3339, UTC).
    pub fn body(&self) -> String {
        let data: serde_json::Value =
            serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "type": self.event_type,
            "timestamp": chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(self.occurred_at, chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
        })
        .to_string()
    }

    /// The secrets that sign at `now`: the current one, and the previous until it lapses.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            out.push(old);
        }
        out
    }
}

/// Claims up to `limit` due deliveries for `dispatcher` until `now + lease`. Due: pending, its
/// time come, not leased by anyone, its endpoint enabled, and no earlier pending delivery of
/// the same endpoint and aggregate.
pub fn claim(
    conn: &mut DbConn,
    backend: Backend,
    dispatcher: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    let at = timestamp_literal(now);
    let locking = match backend {
        Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Backend::Sqlite => "",
    };
    crate::db::write_transaction(conn, |conn| {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let due: Vec<Id> = diesel::sql_query(format!(
            "SELECT d.id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= {at} \
               AND (d.lease_until IS NULL OR d.lease_until <= {at}) AND e.enabled \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                 WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key \
                   AND p.state = 'pending' AND p.event_id < d.event_id) \
             ORDER BY d.next_attempt_at, d.id LIMIT {limit} {locking}"
        ))
        .load(conn)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::lease_until.eq(Some(now + lease)),
                webhook_deliveries::leased_by.eq(Some(dispatcher)),
            ))
            .execute(conn)?;
        let list = ids
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        diesel::sql_query(format!(
            "SELECT d.id AS delivery_id, d.endpoint_id, e.url, e.secret, e.previous_secret, \
                    e.previous_secret_expires_at, d.event_id, d.event_type, o.payload, \
                    o.occurred_at, d.attempts \
             FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN outbox_events o ON o.id = d.event_id \
             WHERE d.id IN ({list}) ORDER BY d.id"
        ))
        .load(conn)
    })
}

/// What one attempt got.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The HTTP status, or `None` with `error` (connect, timeout, refused address…).
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    pub duration: std::time::Duration,
    /// `Retry-After`, read from a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The first [`RESPONSE_BODY_BYTES`] of a body, cut at a character boundary.
pub fn clip_body(body: &str) -> String {
    if body.len() <= RESPONSE_BODY_BYTES {
        return body.to_string();
    }
    let mut end = RESPONSE_BODY_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_string()
}

/// Records an attempt of a delivery `dispatcher` holds, and moves it on: delivered, retried
/// later, or given up; updates the endpoint (failing since, disabled on 410 or after 5 days
/// of failures, with a `webhook_endpoint.disabled` event). Returns false when the lease was lost
/// (another dispatcher took the delivery after it lapsed): nothing is written then.
pub fn finish(
    conn: &mut DbConn,
    claimed: &Claimed,
    dispatcher: &str,
    outcome: &Outcome,
    jitter: f64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    use webhook_deliveries as d;
    use webhook_endpoints as e;
    crate::db::write_transaction(conn, |conn| {
        let attempt = claimed.attempts + 1;
        let delivered = outcome.delivered();
        let gone = outcome.status == Some(410);
        let next = if delivered || gone {
            None
        } else {
            next_delay(attempt, jitter, outcome.retry_after).map(|delay| now + delay)
        };
        let state = match (delivered, next) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        let moved = diesel::update(
            d::table
                .filter(d::id.eq(claimed.delivery_id))
                .filter(d::leased_by.eq(dispatcher))
                .filter(d::attempts.eq(claimed.attempts)),
        )
        .set((
            d::state.eq(state),
            d::attempts.eq(attempt),
            d::next_attempt_at.eq(next.unwrap_or(now)),
            d::lease_until.eq(None::<NaiveDateTime>),
            d::leased_by.eq(None::<String>),
            d::last_status.eq(outcome.status.map(i32::from)),
            d::last_error.eq(outcome.error.as_deref()),
            d::delivered_at.eq(delivered.then_some(now)),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Ok(false);
        }
        diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(claimed.delivery_id),
                webhook_attempts::attempt.eq(attempt),
                webhook_attempts::attempted_at.eq(now),
                webhook_attempts::status_code.eq(outcome.status.map(i32::from)),
                webhook_attempts::error.eq(outcome.error.as_deref()),
                webhook_attempts::response_body.eq(outcome.response_body.as_deref().map(clip_body)),
                webhook_attempts::duration_ms.eq(outcome.duration.as_millis() as i64),
                webhook_attempts::next_attempt_at.eq(next),
            ))
            .execute(conn)?;
        let endpoint = e::table.find(claimed.endpoint_id);
        if delivered {
            diesel::update(endpoint)
                .set(e::failing_since.eq(None::<NaiveDateTime>))
                .execute(conn)?;
            return Ok(true);
        }
        let (since, enabled): (Option<NaiveDateTime>, bool) = endpoint
            .select((e::failing_since, e::enabled))
            .first(conn)?;
        let since = since.unwrap_or(now);
        let reason = if gone {
            Some("gone")
        } else if now - since >= FAILING_LIMIT {
            Some("failing")
        } else {
            None
        };
        diesel::update(endpoint)
            .set(e::failing_since.eq(Some(since)))
            .execute(conn)?;
        if let (Some(reason), true) = (reason, enabled) {
            super::endpoints::disable(conn, claimed.endpoint_id, reason, now)?;
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_backs_off_with_jitter_then_gives_up() {
        let minutes = |a: i32, j: f64| next_delay(a, j, None).map(|d| d.num_seconds());
        assert_eq!(minutes(1, 0.0), Some(5));
        assert_eq!(minutes(2, 0.0), Some(300));
        assert_eq!(minutes(3, 0.0), Some(1800));
        assert_eq!(minutes(4, 0.0), Some(7200));
        assert_eq!(minutes(5, 0.0), Some(18000));
        assert_eq!(minutes(6, 0.0), Some(36000));
        assert_eq!(minutes(7, 0.0), Some(36000));
        assert_eq!(minutes(8, 0.0), None, "gives up after the 8th attempt");
        assert_eq!(minutes(0, 0.0), None);
        assert_eq!(minutes(2, 1.0), Some(330));
        assert_eq!(minutes(2, -1.0), Some(270));
        assert_eq!(minutes(2, 7.0), Some(330), "jitter is clamped");
    }

    #[test]
    fn retry_after_replaces_the_schedule_within_bounds() {
        let d = next_delay(1, 0.0, Some(Duration::seconds(120))).unwrap();
        assert_eq!(d.num_seconds(), 120);
        let d = next_delay(1, 0.0, Some(Duration::days(3))).unwrap();
        assert_eq!(d, MAX_RETRY_AFTER);
        assert_eq!(next_delay(8, 0.0, Some(Duration::seconds(1))), None);
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::seconds(120)));
        assert_eq!(
            retry_after("Sun, 29 Nov 2026 12:01:30 GMT", now),
            Some(Duration::seconds(90))
        );
        assert_eq!(
            retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now),
            Some(Duration::zero())
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn event_type_lists_filter_and_bodies_are_clipped_at_characters() {
        assert!(takes(None, "order.placed"));
        assert!(takes(Some(r#"["order.placed"]"#), "order.placed"));
        assert!(!takes(Some(r#"["order.placed"]"#), "window.published"));
        let thai = "ก".repeat(2000); // 3 bytes each
        let clipped = clip_body(&thai);
        assert!(clipped.len() <= RESPONSE_BODY_BYTES && clipped.len() > 4000);
        assert!(clipped.chars().all(|c| c == 'ก'));
    }
}

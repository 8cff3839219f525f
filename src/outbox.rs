//! The transactional outbox: events written in the same transaction as the change they
//! describe, so that nothing is announced that did not happen and nothing that happened is lost.
//! Webhook delivery (a later issue) reads `outbox_events` in id order and marks them published.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::outbox_events;

/// An event about to be recorded.
pub struct Event<'a, P: Serialize> {
    /// `window.published`, `waitlist.offered`, `order.confirmed`, …
    pub event_type: &'a str,
    /// `window`, `waitlist_entry`, `order`, …
    pub aggregate_type: &'a str,
    pub aggregate_id: String,
    /// The LAO it concerns (for routing to subscribers and for officers' feeds).
    pub lao_id: Option<i64>,
    /// The partner client it concerns, when one placed the hold or order.
    pub partner_client_id: Option<i64>,
    pub payload: P,
}

/// Records an event; call it inside the transaction that makes the change.
pub fn record<P: Serialize>(
    conn: &mut DbConn,
    event: Event<'_, P>,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let payload = serde_json::to_string(&event.payload).unwrap_or_else(|_| "{}".to_string());
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::event_type.eq(event.event_type),
            outbox_events::aggregate_type.eq(event.aggregate_type),
            outbox_events::aggregate_id.eq(&event.aggregate_id),
            outbox_events::lao_id.eq(event.lao_id),
            outbox_events::partner_client_id.eq(event.partner_client_id),
            outbox_events::payload.eq(payload),
            outbox_events::occurred_at.eq(now),
            outbox_events::attempts.eq(0),
        ))
        .returning(outbox_events::id)
        .get_result(conn)
}

/// Records events in one multi-row insert, in the order given (their ids follow it); call it
/// inside the transaction that makes the changes.
pub fn record_all<P: Serialize>(
    conn: &mut DbConn,
    events: Vec<Event<'_, P>>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = events
        .into_iter()
        .map(|event| {
            let payload =
                serde_json::to_string(&event.payload).unwrap_or_else(|_| "{}".to_string());
            (
                outbox_events::event_type.eq(event.event_type),
                outbox_events::aggregate_type.eq(event.aggregate_type),
                outbox_events::aggregate_id.eq(event.aggregate_id),
                outbox_events::lao_id.eq(event.lao_id),
                outbox_events::partner_client_id.eq(event.partner_client_id),
                outbox_events::payload.eq(payload),
                outbox_events::occurred_at.eq(now),
                outbox_events::attempts.eq(0),
            )
        })
        .collect();
    crate::insert_rows!(conn, outbox_events::table, rows).map(|_| ())
}

/// A recorded event (for tests and the delivery worker).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct RecordedEvent {
    pub id: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub lao_id: Option<i64>,
    pub partner_client_id: Option<i64>,
    pub payload: String,
    pub occurred_at: NaiveDateTime,
}

/// Events of one aggregate, oldest first.
pub fn events_of(
    conn: &mut DbConn,
    aggregate_type: &str,
    aggregate_id: &str,
) -> QueryResult<Vec<RecordedEvent>> {
    outbox_events::table
        .filter(outbox_events::aggregate_type.eq(aggregate_type))
        .filter(outbox_events::aggregate_id.eq(aggregate_id))
        .order(outbox_events::id)
        .select(RecordedEvent::as_select())
        .load(conn)
}

/// Events of a type, oldest first.
pub fn events_of_type(conn: &mut DbConn, event_type: &str) -> QueryResult<Vec<RecordedEvent>> {
    outbox_events::table
        .filter(outbox_events::event_type.eq(event_type))
        .order(outbox_events::id)
        .select(RecordedEvent::as_select())
        .load(conn)
}

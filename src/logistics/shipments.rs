//! Shipments: one per order in a batch, its tracking number, its normalised status worked out
//! from the carrier's events, and the moves of the order that follow (delivered), with their
//! `shipment.*` events in the outbox.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{BatchRow, Carrier, EventRow, ShipmentRow, ShipmentStatus};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{dispatch_batches, shipment_events, shipments as sh};
use crate::error::{ApiError, ApiResult};
use crate::orders::lifecycle::{self, MoveDetails};
use crate::orders::model::{
    self as orders, Mover, OrderRow, OrderStatus, ShipmentEventView, ShipmentView,
};
use crate::outbox;

/// The shipments of a batch, oldest first.
pub fn of_batch(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<ShipmentRow>> {
    sh::table
        .filter(sh::batch_id.eq(batch_id))
        .order(sh::id)
        .select(ShipmentRow::as_select())
        .load(conn)
}

/// Which of these orders are in an open batch, and which.
pub fn orders_in_open_batches(
    conn: &mut DbConn,
    order_ids: &[i64],
) -> QueryResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in order_ids.chunks(500) {
        out.extend(
            sh::table
                .filter(sh::order_id.eq_any(chunk))
                .filter(sh::in_open_batch.eq(true))
                .select((sh::order_id, sh::batch_id))
                .load::<(i64, i64)>(conn)?,
        );
    }
    Ok(out)
}

/// The order of another shipment of the carrier that already has this tracking number.
pub fn tracking_owner(
    conn: &mut DbConn,
    carrier: Carrier,
    number: &str,
    except: i64,
) -> QueryResult<Option<i64>> {
    sh::table
        .filter(sh::carrier.eq(carrier.to_string()))
        .filter(sh::tracking_number.eq(number))
        .filter(sh::id.ne(except))
        .select(sh::order_id)
        .first(conn)
        .optional()
}

/// Whether the carrier has reported on the shipment.
pub fn has_events(conn: &mut DbConn, shipment_id: i64) -> QueryResult<bool> {
    let n: i64 = shipment_events::table
        .filter(shipment_events::shipment_id.eq(shipment_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The shipment of a carrier's tracking number.
pub fn by_tracking(
    conn: &mut DbConn,
    carrier: Carrier,
    number: &str,
) -> QueryResult<Option<ShipmentRow>> {
    sh::table
        .filter(sh::carrier.eq(carrier.to_string()))
        .filter(sh::tracking_number.eq(number))
        .select(ShipmentRow::as_select())
        .first(conn)
        .optional()
}

fn events_of(conn: &mut DbConn, shipment_id: i64) -> QueryResult<Vec<EventRow>> {
    shipment_events::table
        .filter(shipment_events::shipment_id.eq(shipment_id))
        .order((shipment_events::occurred_at, shipment_events::id))
        .select(EventRow::as_select())
        .load(conn)
}

/// The status a shipment's events add up to, whatever order they came in: delivered as soon as
/// any event says so (nothing after a delivery undoes it), else returned if any says so, else
/// the latest event by the carrier's time (ties: the further step). `None` without events that
/// mean something.
pub fn status_from_events(events: &[EventRow]) -> Option<(ShipmentStatus, NaiveDateTime)> {
    let meaningful = events.iter().filter(|e| e.status != ShipmentStatus::Info);
    for terminal in [ShipmentStatus::Delivered, ShipmentStatus::Returned] {
        if let Some(first) = meaningful
            .clone()
            .filter(|e| e.status == terminal)
            .min_by_key(|e| e.occurred_at)
        {
            return Some((terminal, first.occurred_at));
        }
    }
    meaningful
        .max_by_key(|e| (e.occurred_at, e.status.rank()))
        .map(|e| (e.status, e.occurred_at))
}

/// Announces a shipment's new status.
fn announce(
    conn: &mut DbConn,
    shipment: &ShipmentRow,
    order: &OrderRow,
    status: ShipmentStatus,
    occurred_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    outbox::record(
        conn,
        outbox::Event {
            event_type: &format!("shipment.{status}"),
            aggregate_type: "order",
            aggregate_id: order.code.clone(),
            lao_id: Some(order.lao_id),
            partner_client_id: order.partner_client_id,
            payload: serde_json::json!({
                "order_code": order.code,
                "dispatch_batch_id": shipment.batch_id,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "tracking_url": shipment.tracking_number.as_deref()
                    .and_then(|n| super::tracking::tracking_url(shipment.carrier, n)),
                "status": status,
                "occurred_at": occurred_at.map(to_bangkok),
            }),
        },
        now,
    )
    .map(|_| ())
}

/// After handover: the shipment is handed over (or further, if the carrier already reported),
/// announced, and a delivery already reported moves the order on.
pub fn handed_over(
    conn: &mut DbConn,
    shipment: &ShipmentRow,
    order: &OrderRow,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<()> {
    set_status(conn, shipment, ShipmentStatus::HandedOver, Some(now), now)?;
    announce(
        conn,
        shipment,
        order,
        ShipmentStatus::HandedOver,
        Some(now),
        now,
    )?;
    let events = events_of(conn, shipment.id)?;
    if let Some((status, at)) = status_from_events(&events) {
        apply(conn, shipment.id, status, at, pepper, now)?;
    }
    Ok(())
}

fn set_status(
    conn: &mut DbConn,
    shipment: &ShipmentRow,
    status: ShipmentStatus,
    at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(sh::table.find(shipment.id))
        .set((
            sh::status.eq(status.to_string()),
            sh::status_occurred_at.eq(at),
            (status == ShipmentStatus::Delivered).then(|| sh::delivered_at.eq(at)),
            sh::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Brings a shipment (and its order) to what its events say, if that differs from what it is:
/// the new status is stored and announced; a delivery moves a shipped order to `delivered`
/// (once: the status update is the guard). Nothing moves while the batch is still open.
pub fn apply(
    conn: &mut DbConn,
    shipment_id: i64,
    status: ShipmentStatus,
    at: NaiveDateTime,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let shipment: ShipmentRow = sh::table
        .find(shipment_id)
        .select(ShipmentRow::as_select())
        .first(conn)?;
    if shipment.in_open_batch || shipment.status == status {
        return Ok(false);
    }
    let order = orders::find(conn, shipment.order_id)?
        .ok_or_else(|| ApiError::internal("a shipment's order is missing"))?;
    set_status(conn, &shipment, status, Some(at), now)?;
    announce(conn, &shipment, &order, status, Some(at), now)?;
    if status == ShipmentStatus::Delivered && order.status() == OrderStatus::Shipped {
        let actor = format!("carrier:{}", shipment.carrier);
        let note = shipment
            .tracking_number
            .as_deref()
            .map(|n| format!("{} {n}", shipment.carrier.name_th()));
        lifecycle::move_order(
            conn,
            &order,
            OrderStatus::Delivered,
            Mover::System,
            &actor,
            MoveDetails {
                note: note.as_deref(),
                payment_reference: None,
            },
            pepper,
            now,
        )?;
    }
    Ok(true)
}

/// Works a shipment's status out again from all its events and applies it.
pub fn refresh(
    conn: &mut DbConn,
    shipment_id: i64,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let events = events_of(conn, shipment_id)?;
    match status_from_events(&events) {
        Some((status, at)) => apply(conn, shipment_id, status, at, pepper, now),
        None => Ok(false),
    }
}

/// A pickup order collected by its buyer: the order becomes `picked_up` and its shipment (if
/// it went through a pickup batch) too.
pub fn picked_up(conn: &mut DbConn, order: &OrderRow, now: NaiveDateTime) -> ApiResult<()> {
    let shipment: Option<ShipmentRow> = sh::table
        .filter(sh::order_id.eq(order.id))
        .filter(sh::in_open_batch.eq(false))
        .order(sh::id.desc())
        .select(ShipmentRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(shipment) = shipment {
        set_status(conn, &shipment, ShipmentStatus::PickedUp, Some(now), now)?;
        announce(
            conn,
            &shipment,
            order,
            ShipmentStatus::PickedUp,
            Some(now),
            now,
        )?;
    } else {
        // Taken out of an open batch: it leaves that batch by being collected.
        diesel::delete(
            sh::table
                .filter(sh::order_id.eq(order.id))
                .filter(sh::in_open_batch.eq(true)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// The shipments of orders for their views (the hook `orders::model::set_shipment_lookup`):
/// each order's latest shipment in a batch that was not cancelled, with its history.
pub fn lookup(conn: &mut DbConn, order_ids: &[i64]) -> QueryResult<HashMap<i64, ShipmentView>> {
    let mut rows: Vec<(ShipmentRow, BatchRow)> = Vec::new();
    for chunk in order_ids.chunks(500) {
        rows.extend(
            sh::table
                .inner_join(dispatch_batches::table)
                .filter(sh::order_id.eq_any(chunk))
                .order(sh::id)
                .select((ShipmentRow::as_select(), BatchRow::as_select()))
                .load::<(ShipmentRow, BatchRow)>(conn)?,
        );
    }
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = rows.iter().map(|(s, _)| s.id).collect();
    let mut history: HashMap<i64, Vec<ShipmentEventView>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for e in shipment_events::table
            .filter(shipment_events::shipment_id.eq_any(chunk))
            .order((shipment_events::occurred_at, shipment_events::id))
            .select(EventRow::as_select())
            .load::<EventRow>(conn)?
        {
            history
                .entry(e.shipment_id)
                .or_default()
                .push(ShipmentEventView {
                    status: e.status.to_string(),
                    status_th: e.status.name_th().to_string(),
                    status_code: e.status_code,
                    occurred_at: to_bangkok(e.occurred_at),
                    location: e.location,
                    description: e.description,
                });
        }
    }
    let mut out = HashMap::new();
    let mut seen = HashSet::new();
    // Latest first: an order re-dispatched after a return shows its newest shipment.
    for (s, batch) in rows.into_iter().rev() {
        if !seen.insert(s.order_id) {
            continue;
        }
        out.insert(
            s.order_id,
            ShipmentView {
                carrier: s.carrier.to_string(),
                carrier_name_th: s.carrier.name_th().to_string(),
                carrier_name_en: s.carrier.name_en().to_string(),
                dispatch_batch_id: s.batch_id,
                dispatch_date: batch.dispatch_date,
                tracking_url: s
                    .tracking_number
                    .as_deref()
                    .and_then(|n| super::tracking::tracking_url(s.carrier, n)),
                tracking_number: s.tracking_number,
                parcels: s.parcels,
                status: s.status.to_string(),
                status_th: s.status.name_th().to_string(),
                delivered_at: s.delivered_at.map(to_bangkok),
                history: history.remove(&s.id).unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// A shipment's status as stored.
pub fn status_of(conn: &mut DbConn, shipment_id: i64) -> QueryResult<ShipmentStatus> {
    sh::table
        .find(shipment_id)
        .select(sh::status)
        .first::<ShipmentStatus>(conn)
}

/// Staff confirm a pickup by the order code they typed or scanned (case, spaces and the hyphen
/// do not matter): the order becomes `picked_up`. 404 for an unknown code or another LAO's
/// order, 409 `invalid_transition` for an order that is not a ready pickup order (already
/// collected, a carrier order, unpaid).
pub fn confirm_pickup(
    conn: &mut DbConn,
    principal: &crate::auth::principal::Principal,
    raw_code: &str,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<OrderRow> {
    let code =
        orders::normalize_code(raw_code).ok_or_else(|| ApiError::not_found(orders::ORDER))?;
    let order =
        orders::find_by_code(conn, &code)?.ok_or_else(|| ApiError::not_found(orders::ORDER))?;
    orders::standing(conn, &order, orders::Caller::signed_in(principal))?.staff()?;
    let moved = lifecycle::move_order(
        conn,
        &order,
        OrderStatus::PickedUp,
        Mover::Staff,
        &principal.actor_label(),
        MoveDetails {
            note: Some("ยืนยันด้วยรหัสคำสั่งซื้อ"),
            payment_reference: None,
        },
        pepper,
        now,
    )?;
    picked_up(conn, &moved, now)?;
    Ok(moved)
}

//! Moving orders through their states: every move is checked (who, from where), recorded in the
//! history, announced through the outbox, applied to capacity (cancelled, expired and
//! undispatched refunded orders give their units back) and, for payments and refunds, written as
//! sale facts — all in the caller's transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::model::{Channel, Mover, ORDER, OrderRow, OrderStatus, may_move};
use crate::capacity::ledger::{self, Movement};
use crate::db::DbConn;
use crate::db::schema::{order_history, order_lines, orders, preorder_windows, producers};
use crate::error::{ApiError, ApiResult, ErrorKind, Param};
use crate::outbox;
use crate::preorder::holds;
use crate::preorder::waitlist;
use crate::sales;

/// A history row about to be appended ([`record_histories`]).
pub struct HistoryEntry<'a> {
    pub order_id: i64,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub actor: &'a str,
    pub note: Option<&'a str>,
}

/// Appends a history row.
pub fn record_history(
    conn: &mut DbConn,
    order_id: i64,
    from: Option<OrderStatus>,
    to: OrderStatus,
    actor: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let entry = HistoryEntry {
        order_id,
        from,
        to,
        actor,
        note,
    };
    record_histories(conn, &[entry], now)
}

/// Appends history rows, in one multi-row insert (a gathered batch's orders).
pub fn record_histories(
    conn: &mut DbConn,
    entries: &[HistoryEntry<'_>],
    now: NaiveDateTime,
) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                order_history::order_id.eq(e.order_id),
                order_history::from_status.eq(e.from.map(|s| s.to_string())),
                order_history::to_status.eq(e.to.to_string()),
                order_history::actor.eq(e.actor),
                order_history::note.eq(e.note),
                order_history::created_at.eq(now),
            )
        })
        .collect();
    crate::insert_rows!(conn, order_history::table, rows).map(|_| ())
}

/// Announces an order event.
pub fn record_event(
    conn: &mut DbConn,
    order: &OrderRow,
    event_type: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    outbox::record(conn, order_event(order, event_type), now).map(|_| ())
}

/// Announces the same event of several orders, in one multi-row insert, in their order.
pub fn record_events(
    conn: &mut DbConn,
    orders: &[&OrderRow],
    event_type: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let events = orders.iter().map(|o| order_event(o, event_type)).collect();
    outbox::record_all(conn, events, now)
}

/// An order's event as the outbox keeps it: its code, status, window, producer, units, total,
/// delivery and channel.
fn order_event<'a>(order: &OrderRow, event_type: &'a str) -> outbox::Event<'a, serde_json::Value> {
    outbox::Event {
        event_type,
        aggregate_type: "order",
        aggregate_id: order.code.clone(),
        lao_id: Some(order.lao_id),
        partner_client_id: order.partner_client_id,
        payload: serde_json::json!({
            "code": order.code,
            "status": order.status,
            "window_id": order.window_id,
            "producer_id": order.producer_id,
            "units_total": order.units_total,
            "total_satang": order.total_satang,
            "delivery_method": order.delivery_method,
            "channel": order.channel,
        }),
    }
}

/// A keyed hash of a buyer's phone: counts distinct buyers without storing who they are.
pub fn buyer_key(pepper: &[u8], phone: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper) else {
        return String::new();
    };
    mac.update(b"khongdee:buyer-phone:v1:");
    mac.update(phone.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sale facts of a paid order: one per line, at `at` (UTC). The first line carries the
/// order's one online sale and its delivery fee; a refund records their reversal.
fn order_facts(
    conn: &mut DbConn,
    order: &OrderRow,
    pepper: &[u8],
    at: NaiveDateTime,
) -> QueryResult<Vec<sales::NewFact>> {
    let crop_id: i64 = preorder_windows::table
        .find(order.window_id)
        .select(preorder_windows::crop_id)
        .first(conn)?;
    let citizen_hash: Option<String> = producers::table
        .find(order.producer_id)
        .select(producers::citizen_id_hash)
        .first(conn)?;
    let lines: Vec<(i64, i64, i64)> = order_lines::table
        .filter(order_lines::order_id.eq(order.id))
        .order(order_lines::id)
        .select((
            order_lines::variant_id,
            order_lines::units,
            order_lines::line_total_satang,
        ))
        .load(conn)?;
    let channel = match order.channel() {
        Channel::Partner => sales::SaleChannel::Partner,
        Channel::Embed => sales::SaleChannel::Embed,
        Channel::Staff => sales::SaleChannel::Staff,
    };
    let beneficiary = sales::beneficiary_key(order.producer_id, citizen_hash.as_deref());
    let buyer = buyer_key(pepper, &order.buyer_phone);
    Ok(lines
        .into_iter()
        .enumerate()
        .map(|(i, (variant_id, units, total))| sales::NewFact {
            source: sales::Source::Preorder,
            kind: sales::FactKind::Sale,
            order_id: Some(order.id),
            recorded_sale_id: None,
            lao_id: order.lao_id,
            district_code: order.district_code.clone(),
            province_code: order.province_code.clone(),
            producer_id: Some(order.producer_id),
            crop_id: Some(crop_id),
            window_id: Some(order.window_id),
            variant_id: Some(variant_id),
            channel,
            sales: i64::from(i == 0),
            units,
            revenue_satang: total,
            delivery_fee_satang: if i == 0 { order.delivery_fee_satang } else { 0 },
            beneficiary_key: Some(beneficiary.clone()),
            beneficiaries_extra: 0,
            buyer_key: Some(buyer.clone()),
            sale_date: sales::bangkok_date(at),
            occurred_at: at,
        })
        .collect())
}

/// Writes an order's sale (when it is paid) or its reversal (when a paid order is refunded).
fn record_sale_facts(
    conn: &mut DbConn,
    order: &OrderRow,
    reversal: bool,
    pepper: &[u8],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut facts = order_facts(conn, order, pepper, now)?;
    if reversal {
        // The buyer as the sale counted them: the phone may have been erased since (privacy).
        let sold_to = sales::buyer_key_of_order(conn, order.id)?;
        facts = facts
            .iter()
            .map(|f| {
                let mut back = f.reversal(now);
                if sold_to.is_some() {
                    back.buyer_key = sold_to.clone();
                }
                back
            })
            .collect();
    }
    sales::record(conn, &facts, now).map(|_| ())
}

/// What a move changes besides the status.
#[derive(Debug, Default)]
pub struct MoveDetails<'a> {
    pub note: Option<&'a str>,
    /// For payment: the reference of the transfer.
    pub payment_reference: Option<&'a str>,
}

/// Moves an order, with every effect of the move, in the caller's transaction. The window is
/// locked first when capacity moves; the status changes by a guarded update, so two concurrent
/// moves of one order cannot both happen.
#[allow(clippy::too_many_arguments)] // each is a distinct fact of the move; a struct would only rename them
pub fn move_order(
    conn: &mut DbConn,
    order: &OrderRow,
    to: OrderStatus,
    mover: Mover,
    actor: &str,
    details: MoveDetails<'_>,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<OrderRow> {
    let from = order.status();
    if !may_move(from, to, order.delivery_method(), mover) {
        return Err(invalid_move(from, to).extra(
            "allowed",
            super::model::next_statuses(from, order.delivery_method(), mover),
        ));
    }
    let gives_back = matches!(to, OrderStatus::Cancelled | OrderStatus::Expired)
        || (to == OrderStatus::Refunded && !from.dispatched());
    if gives_back {
        ledger::lock_window(conn, order.window_id)?;
    }
    let moved = diesel::update(
        orders::table
            .find(order.id)
            .filter(orders::status.eq(from.to_string())),
    )
    .set((
        orders::status.eq(to.to_string()),
        orders::updated_at.eq(now),
        (to == OrderStatus::Confirmed).then(|| orders::paid_at.eq(Some(now))),
        details
            .payment_reference
            .map(|r| orders::payment_reference.eq(Some(r.to_string()))),
    ))
    .execute(conn)?;
    if moved != 1 {
        // Someone else moved it first.
        let current =
            super::model::find(conn, order.id)?.ok_or_else(|| ApiError::not_found(ORDER))?;
        return Err(invalid_move(current.status(), to));
    }
    if gives_back {
        ledger::unsell(conn, order.window_id, order.units_total)?;
        let kind = if to == OrderStatus::Expired {
            Movement::OrderExpiry
        } else {
            Movement::OrderCancel
        };
        ledger::record(
            conn,
            kind,
            ledger::Entry {
                window_id: order.window_id,
                sold_delta: -order.units_total,
                order_id: Some(order.id),
                reference: Some(match to {
                    OrderStatus::Expired => "order expired unpaid",
                    OrderStatus::Refunded => "order refunded",
                    _ => "order cancelled",
                }),
                actor: Some(actor),
                ..Default::default()
            },
            now,
        )?;
    }
    record_history(conn, order.id, Some(from), to, actor, details.note, now)?;
    let after = super::model::find(conn, order.id)?.ok_or_else(|| ApiError::not_found(ORDER))?;
    match to {
        OrderStatus::Confirmed => record_sale_facts(conn, &after, false, pepper, now)?,
        OrderStatus::Refunded if order.paid_at.is_some() => {
            record_sale_facts(conn, &after, true, pepper, now)?
        }
        _ => {}
    }
    record_event(conn, &after, &format!("order.{to}"), now)?;
    if gives_back {
        // The units go to the waiting list, if the window still takes orders.
        let (window, _) = crate::preorder::windows::find_with_lao(conn, order.window_id)?
            .ok_or_else(|| ApiError::internal("order without window"))?;
        waitlist::offer_freed_capacity(conn, &window, now)?;
    }
    Ok(after)
}

/// 409 `invalid_transition` for a move from `from` to `to`, in the caller's language.
fn invalid_move(from: OrderStatus, to: OrderStatus) -> ApiError {
    ApiError::new(ErrorKind::InvalidTransition)
        .with("status", Param::both(from.label_en(), from.name_th()))
        .with(
            "action",
            Param::both(
                format!("become “{}”", to.label_en()),
                format!("เปลี่ยนเป็น “{}”", to.name_th()),
            ),
        )
        .extra("order_status", from)
        .extra("requested", to)
}

/// 409 `order_not_payable`: the order in `status` offers nothing to pay.
pub fn not_payable(status: OrderStatus) -> ApiError {
    ApiError::new(ErrorKind::OrderNotPayable)
        .with("status", Param::both(status.label_en(), status.name_th()))
        .extra("order_status", status)
}

/// Locks the order's window, lets what is due there expire (holds, unpaid orders past their
/// deadline) and reads the order again: a buyer's or staff's move then sees the order as it
/// stands, and an unpaid order past its deadline cannot be paid or cancelled instead of expiring.
pub fn lock_and_refresh(
    conn: &mut DbConn,
    order: &OrderRow,
    now: NaiveDateTime,
) -> ApiResult<OrderRow> {
    let (window, _) = holds::lock_and_read(conn, order.window_id)?;
    holds::expire_due_for_window(conn, &window, now)?;
    super::model::find(conn, order.id)?.ok_or_else(|| ApiError::not_found(ORDER))
}

/// Expires a window's unpaid orders past their deadline (the caller holds the window lock).
pub fn expire_due_for_window(
    conn: &mut DbConn,
    window_id: i64,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    let due: Vec<OrderRow> = orders::table
        .filter(orders::window_id.eq(window_id))
        .filter(orders::status.eq(OrderStatus::PendingPayment.to_string()))
        .filter(orders::payment_due_at.le(now))
        .order(orders::id)
        .select(OrderRow::as_select())
        .load(conn)?;
    for order in &due {
        move_order(
            conn,
            order,
            OrderStatus::Expired,
            Mover::System,
            "system",
            MoveDetails::default(),
            &[],
            now,
        )?;
    }
    Ok(due.len())
}

/// Windows with unpaid orders past their deadline (at most 500 a pass), for the background task.
pub fn windows_with_due_orders(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    orders::table
        .filter(orders::status.eq(OrderStatus::PendingPayment.to_string()))
        .filter(orders::payment_due_at.le(now))
        .select(orders::window_id)
        .distinct()
        .limit(500)
        .load(conn)
}

/// Units a buyer (by phone) has in live orders of a window.
pub fn units_ordered_by_buyer(
    conn: &mut DbConn,
    window_id: i64,
    phone: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let rows: Vec<(OrderStatus, Option<NaiveDateTime>, i64)> = orders::table
        .filter(orders::window_id.eq(window_id))
        .filter(orders::buyer_phone.eq(phone))
        .select((orders::status, orders::payment_due_at, orders::units_total))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(status, due, _)| {
            let status = *status;
            status.is_live()
                && !(status == OrderStatus::PendingPayment && due.is_some_and(|d| d <= now))
        })
        .map(|(_, _, units)| units)
        .sum())
}

/// Units of a window's unpaid orders past their deadline that nothing has expired yet.
pub fn stale_unpaid_units(
    conn: &mut DbConn,
    window_ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, i64)>> {
    orders::table
        .filter(orders::window_id.eq_any(window_ids))
        .filter(orders::status.eq(OrderStatus::PendingPayment.to_string()))
        .filter(orders::payment_due_at.le(now))
        .select((orders::window_id, orders::units_total))
        .load(conn)
}

/// Orders of a window that are not finished (a window with any cannot be cancelled).
pub fn open_order_count(conn: &mut DbConn, window_id: i64) -> QueryResult<i64> {
    let open = [
        OrderStatus::PendingPayment,
        OrderStatus::Confirmed,
        OrderStatus::Ready,
        OrderStatus::Shipped,
        OrderStatus::HandedOver,
    ]
    .map(|s| s.to_string());
    orders::table
        .filter(orders::window_id.eq(window_id))
        .filter(orders::status.eq_any(open))
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_keys_are_keyed_and_stable() {
        let a = buyer_key(b"pepper-one-pepper-one-pepper-one", "+66812345678");
        assert_eq!(
            a,
            buyer_key(b"pepper-one-pepper-one-pepper-one", "+66812345678")
        );
        assert_ne!(
            a,
            buyer_key(b"pepper-two-pepper-two-pepper-two", "+66812345678")
        );
        assert_eq!(a.len(), 64);
    }
}

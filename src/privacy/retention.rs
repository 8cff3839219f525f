//! Erasing personal data past its retention: `KHONGDEE_PERSONAL_DATA_RETENTION_DAYS` (default
//! 180) after
//!
//! - an order was closed (the time of the history step into its closed status: delivered,
//!   picked up, cancelled, expired, refunded), its buyer's name, phone, e-mail, LINE id, note,
//!   delivery address and history notes;
//! - a hold ended (released, expired, converted), its phone;
//! - a waiting-list entry ended (accepted, lapsed, declined, cancelled), or its window closed
//!   while it was still waiting, its buyer;
//!
//! and the stored answers and webhook payloads that echo them. Called by the background pass
//! (`tasks::run_once`) one bounded unit at a time: each unit erases at most [`UNIT`] orders,
//! holds and entries in one transaction and records itself in the audit log.

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::audit::{self, AuditAction, NewEntry};
use super::holdings::{self, Erasing};
use super::model::{Tally, closed_statuses};
use crate::db::DbConn;
use crate::db::schema::{holds, order_history, orders, preorder_windows, waitlist_entries};
use crate::error::ApiResult;
use crate::preorder::holds::HoldStatus;
use crate::preorder::waitlist::EntryStatus;

// The conditions of the partial indexes of migration 000017, written as they are there: a
// bound parameter would not let SQLite use them.
const ORDER_KEPT: &str = "orders.buyer_phone <> '[erased]'";
const HOLD_KEPT: &str = "holds.buyer_phone IS NOT NULL";
const ENTRY_KEPT: &str = "waitlist_entries.buyer_phone <> '[erased]'";

/// Orders, holds and entries at most per unit (and per transaction).
pub const UNIT: i64 = 100;

/// What one unit erased.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unit {
    pub rows: Tally,
    /// Whether more may be due (a kind filled its unit).
    pub more: bool,
}

/// The moment before which data is due: `now` less the retention days.
pub fn cutoff(retention_days: u32, now: NaiveDateTime) -> NaiveDateTime {
    now - Duration::days(i64::from(retention_days))
}

/// Erases one unit of what is due; call inside a write transaction.
pub fn erase_due(conn: &mut DbConn, retention_days: u32, now: NaiveDateTime) -> ApiResult<Unit> {
    let before = cutoff(retention_days, now);
    let closed = closed_statuses();
    let mut order_ids: Vec<i64> = orders::table
        .inner_join(
            order_history::table.on(order_history::order_id
                .eq(orders::id)
                .and(order_history::to_status.eq(orders::status))),
        )
        .filter(sql::<Bool>(ORDER_KEPT))
        // An order closed before the cutoff was last updated after it closed, so this is a
        // cheap first cut (index `orders_personal_kept`); its history step decides.
        .filter(orders::updated_at.le(before))
        .filter(orders::status.eq_any(&closed))
        .filter(order_history::created_at.le(before))
        .order((orders::updated_at, orders::id))
        .limit(UNIT)
        .select(orders::id)
        .load(conn)?;
    order_ids.dedup();
    let hold_ids: Vec<i64> = holds::table
        .filter(sql::<Bool>(HOLD_KEPT))
        .filter(holds::status.ne(HoldStatus::Active))
        .filter(holds::ended_at.le(before))
        .order((holds::ended_at, holds::id))
        .limit(UNIT)
        .select(holds::id)
        .load(conn)?;
    let closed_windows = preorder_windows::table
        .filter(preorder_windows::closes_at.le(before))
        .select(preorder_windows::id);
    let entry_ids: Vec<i64> = waitlist_entries::table
        .filter(sql::<Bool>(ENTRY_KEPT))
        .filter(waitlist_entries::updated_at.le(before))
        .filter(
            waitlist_entries::status
                .eq_any(
                    [
                        EntryStatus::Accepted,
                        EntryStatus::Lapsed,
                        EntryStatus::Declined,
                        EntryStatus::Cancelled,
                    ]
                    .map(|s| s.to_string()),
                )
                .or(waitlist_entries::status
                    .eq(EntryStatus::Waiting)
                    .and(waitlist_entries::window_id.eq_any(closed_windows))),
        )
        .order((waitlist_entries::updated_at, waitlist_entries::id))
        .limit(UNIT)
        .select(waitlist_entries::id)
        .load(conn)?;
    let more = [order_ids.len(), hold_ids.len(), entry_ids.len()]
        .iter()
        .any(|n| *n as i64 >= UNIT);
    let mut erasing = Erasing::default();
    let mut rows = holdings::erase_orders(conn, &order_ids, &mut erasing)?;
    rows.add(&holdings::erase_holds(conn, &hold_ids, &mut erasing)?);
    rows.add(&holdings::erase_entries(conn, &entry_ids, &mut erasing)?);
    rows.add(&holdings::redact_echoes(conn, &erasing)?);
    if rows.total() > 0 {
        audit::record(
            conn,
            &NewEntry {
                action: AuditAction::Retention,
                actor: "system",
                subject_key: None,
                rows: &rows,
                refused: None,
            },
            now,
        )?;
    }
    Ok(Unit { rows, more })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::model::ERASED;

    #[test]
    fn the_index_conditions_name_the_marker() {
        assert!(ORDER_KEPT.contains(&format!("'{ERASED}'")));
        assert!(ENTRY_KEPT.contains(&format!("'{ERASED}'")));
        for db in ["sqlite", "postgres"] {
            let up = std::fs::read_to_string(format!(
                "{}/migrations/{db}/2026-11-30-000017_privacy/up.sql",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert!(
                up.contains(&format!("WHERE buyer_phone <> '{ERASED}'")),
                "{db}"
            );
        }
    }
}

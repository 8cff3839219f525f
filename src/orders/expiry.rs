//! Letting what is due on a window expire: one function, above both the pre-order room (holds)
//! and orders (unpaid orders), reached from below through [`crate::capacity::claims`].

use chrono::NaiveDateTime;

use super::lifecycle;
use crate::db::DbConn;
use crate::error::ApiResult;
use crate::preorder::holds;

/// Expires a window's unpaid orders past their deadline, then its holds past their time, and
/// offers the freed units to the waiting list (each expiry does, as it gives units back).
/// Whether anything expired. The caller holds the window's lock.
pub fn expire_due(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> ApiResult<bool> {
    let orders = lifecycle::expire_due_for_window(conn, window_id, now)?;
    let holds = holds::expire_lapsed(conn, window_id, now)?;
    Ok(orders + holds > 0)
}

/// Locks a window and lets what is due on it expire: one window's share of the background
/// task, in the caller's transaction. Safe with several processes: the window is locked, and a
/// hold or an order ends only once.
pub fn expire_window(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> ApiResult<()> {
    holds::lock_and_read(conn, window_id)?;
    expire_due(conn, window_id, now)?;
    Ok(())
}

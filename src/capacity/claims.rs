//! Claims: units of a window bound to a buyer until a deadline. A hold claims its units until it
//! expires; an unpaid order claims its units until its payment is due; a paid order keeps them.
//! Lapsed claims still count in the counters until something lets them go, so reads subtract
//! them and writers let them expire first, under the window's lock.
//!
//! Holds belong to the pre-order room and orders to the order room, which sits above it. What the
//! rooms below orders (holds, waiting lists, window views) need to know of orders' claims comes
//! through [`OrderClaims`], which the order room installs at start-up (`orders::install`): the
//! rooms below never import orders. "Let what is due on a window expire" is one function, in the
//! order room, above both (`orders::expiry::expire_due`); [`expire_due`] reaches it from below.

use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::db::DbConn;
use crate::error::ApiResult;

/// `(window id, units)` pairs.
pub type WindowUnits = Vec<(i64, i64)>;

/// The order room's side of claims.
#[derive(Clone, Copy)]
pub struct OrderClaims {
    /// Lets everything due on a window expire — unpaid orders past their deadline and holds past
    /// their time — and offers the freed units to its waiting list. The caller holds the window's
    /// lock. Whether anything expired.
    pub expire_due: fn(&mut DbConn, i64, NaiveDateTime) -> ApiResult<bool>,
    /// Units a buyer (phone in E.164) has in a window's live orders (not lapsed).
    pub units_of_buyer: fn(&mut DbConn, i64, &str, NaiveDateTime) -> QueryResult<i64>,
    /// `(window id, units)` of unpaid orders past their deadline that nothing has expired yet.
    pub lapsed_units: fn(&mut DbConn, &[i64], NaiveDateTime) -> QueryResult<WindowUnits>,
    /// Orders of a window that are not finished.
    pub unfinished: fn(&mut DbConn, i64) -> QueryResult<i64>,
}

static ORDER_CLAIMS: OnceLock<OrderClaims> = OnceLock::new();

/// Installs the order room's side (once; later calls keep the first).
pub fn install(claims: OrderClaims) {
    let _ = ORDER_CLAIMS.set(claims);
}

fn orders() -> &'static OrderClaims {
    ORDER_CLAIMS
        .get()
        .expect("orders::install() gives the order claims at start-up (khongdee::prepare)")
}

/// See [`OrderClaims::expire_due`].
pub fn expire_due(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> ApiResult<bool> {
    (orders().expire_due)(conn, window_id, now)
}

/// See [`OrderClaims::units_of_buyer`].
pub fn ordered_by_buyer(
    conn: &mut DbConn,
    window_id: i64,
    phone: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    (orders().units_of_buyer)(conn, window_id, phone, now)
}

/// See [`OrderClaims::lapsed_units`].
pub fn lapsed_order_units(
    conn: &mut DbConn,
    window_ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<WindowUnits> {
    (orders().lapsed_units)(conn, window_ids, now)
}

/// See [`OrderClaims::unfinished`].
pub fn unfinished_orders(conn: &mut DbConn, window_id: i64) -> QueryResult<i64> {
    (orders().unfinished)(conn, window_id)
}

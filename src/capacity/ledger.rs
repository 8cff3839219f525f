//! The capacity ledger: every movement of a window's capacity is an append-only row, and the
//! window's counters (`capacity`, `held`, `sold`) move in the same transaction through guarded
//! updates that cannot exceed capacity.
//!
//! Three lines stand between a window and overselling:
//! 1. every capacity-changing transaction first locks the window row ([`lock_window`]), so
//!    operations on one window run one after another (PostgreSQL row lock; on SQLite the write
//!    transaction is `BEGIN IMMEDIATE`, which serializes writers anyway);
//! 2. the counters move by guarded `UPDATE … WHERE held + sold + n <= capacity`: exactly one
//!    affected row means success, whatever else is running;
//! 3. the table's `CHECK (held + sold <= capacity)` refuses anything that slips past both.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{capacity_ledger, preorder_windows as w};
use crate::error::{ApiError, ApiResult};

/// What moved.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Movement {
    Hold,
    HoldRelease,
    HoldExpiry,
    Order,
    OrderCancel,
    OrderExpiry,
    CapacityChange,
}

/// Locks the window for the rest of the transaction. Returns false when it does not exist.
pub fn lock_window(conn: &mut DbConn, window_id: i64) -> QueryResult<bool> {
    let touched = diesel::update(w::table.find(window_id))
        .set(w::updated_at.eq(w::updated_at))
        .execute(conn)?;
    Ok(touched == 1)
}

/// The counters disagree with what the holds and orders say: never expected, so it is loud.
fn drift(window_id: i64, what: &str) -> ApiError {
    tracing::error!(
        window_id,
        what,
        "capacity counters disagree with the ledger; run `khongdee reconcile`"
    );
    ApiError::internal(format!(
        "capacity counters of window {window_id} cannot {what}"
    ))
}

/// Units neither held nor sold.
fn free_units(conn: &mut DbConn, window_id: i64) -> QueryResult<i64> {
    let (capacity, held, sold): (i64, i64, i64) = w::table
        .find(window_id)
        .select((w::capacity, w::held, w::sold))
        .first(conn)?;
    Ok((capacity - held - sold).max(0))
}

/// Holds `units` if they fit. `Err(available)` tells how many units were left.
pub fn reserve(
    conn: &mut DbConn,
    window_id: i64,
    units: i64,
    now: NaiveDateTime,
) -> ApiResult<Result<(), i64>> {
    take(conn, window_id, units, Taken::Held, now)
}

/// Sells `units` without a hold if they fit. `Err(available)` as for [`reserve`].
pub fn sell(
    conn: &mut DbConn,
    window_id: i64,
    units: i64,
    now: NaiveDateTime,
) -> ApiResult<Result<(), i64>> {
    take(conn, window_id, units, Taken::Sold, now)
}

/// Which counter units taken from a window's free capacity go to.
enum Taken {
    Held,
    Sold,
}

/// Moves `units` of free capacity to `held` or `sold` in one guarded update (they must still
/// fit under `capacity`), announcing `window.sold_out` when they fill it.
fn take(
    conn: &mut DbConn,
    window_id: i64,
    units: i64,
    to: Taken,
    now: NaiveDateTime,
) -> ApiResult<Result<(), i64>> {
    let fits = w::table
        .find(window_id)
        .filter((w::held + w::sold + units).le(w::capacity));
    let after: Option<Filled> = match to {
        Taken::Held => diesel::update(fits)
            .set(w::held.eq(w::held + units))
            .returning(FILLED)
            .get_result(conn),
        Taken::Sold => diesel::update(fits)
            .set(w::sold.eq(w::sold + units))
            .returning(FILLED)
            .get_result(conn),
    }
    .optional()?;
    match after {
        Some(after) => {
            announce_if_sold_out(conn, window_id, units, after, now)?;
            Ok(Ok(()))
        }
        None => Ok(Err(free_units(conn, window_id)?)),
    }
}

/// A window's capacity, held and sold units and LAO, as an update leaves them.
type Filled = (i64, i64, i64, i64);
const FILLED: (w::capacity, w::held, w::sold, w::lao_id) =
    (w::capacity, w::held, w::sold, w::lao_id);

/// Records `window.sold_out` when taking `units` (> 0) filled the window: every unit is now
/// held or sold, and before it was not. In the transaction that took them, on the window's
/// locked row, so the event is in order with the window's others.
pub(super) fn announce_if_sold_out(
    conn: &mut DbConn,
    window_id: i64,
    units: i64,
    (capacity, held, sold, lao_id): Filled,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if units <= 0 || held + sold < capacity {
        return Ok(());
    }
    crate::outbox::record(
        conn,
        crate::outbox::Event {
            event_type: "window.sold_out",
            aggregate_type: "window",
            aggregate_id: window_id.to_string(),
            lao_id: Some(lao_id),
            partner_client_id: None,
            payload: serde_json::json!({
                "window_id": window_id,
                "capacity": capacity,
                "held": held,
                "sold": sold,
            }),
        },
        now,
    )
    .map(|_| ())
}

/// Frees held units (a hold released or expired).
pub fn release_held(conn: &mut DbConn, window_id: i64, units: i64) -> ApiResult<()> {
    let updated = diesel::update(w::table.find(window_id).filter(w::held.ge(units)))
        .set(w::held.eq(w::held - units))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(drift(window_id, "release held units"))
    }
}

/// Turns held units into sold ones (a hold converted into an order).
pub fn convert_held(conn: &mut DbConn, window_id: i64, units: i64) -> ApiResult<()> {
    let updated = diesel::update(w::table.find(window_id).filter(w::held.ge(units)))
        .set((w::held.eq(w::held - units), w::sold.eq(w::sold + units)))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(drift(window_id, "convert held units"))
    }
}

/// Gives sold units back (an order cancelled or expired).
pub fn unsell(conn: &mut DbConn, window_id: i64, units: i64) -> ApiResult<()> {
    let updated = diesel::update(w::table.find(window_id).filter(w::sold.ge(units)))
        .set(w::sold.eq(w::sold - units))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(drift(window_id, "return sold units"))
    }
}

/// Changes the capacity by `delta`, never below what is held and sold. `Err(committed)` tells
/// how many units are held or sold.
pub fn change_capacity(
    conn: &mut DbConn,
    window_id: i64,
    delta: i64,
) -> ApiResult<Result<(), i64>> {
    let updated = diesel::update(
        w::table
            .find(window_id)
            .filter((w::capacity + delta).ge(w::held + w::sold)),
    )
    .set(w::capacity.eq(w::capacity + delta))
    .execute(conn)?;
    if updated == 1 {
        return Ok(Ok(()));
    }
    let (held, sold): (i64, i64) = w::table
        .find(window_id)
        .select((w::held, w::sold))
        .first(conn)?;
    Ok(Err(held + sold))
}

/// A ledger row to append.
#[derive(Debug, Default)]
pub struct Entry<'a> {
    pub window_id: i64,
    pub capacity_delta: i64,
    pub held_delta: i64,
    pub sold_delta: i64,
    pub hold_id: Option<i64>,
    pub order_id: Option<i64>,
    pub reference: Option<&'a str>,
    pub actor: Option<&'a str>,
}

/// Appends a ledger row in the caller's transaction, and notes the window as changed
/// ([`super::changes`]) so that what is kept in memory about it is refreshed after the commit.
pub fn record(
    conn: &mut DbConn,
    kind: Movement,
    entry: Entry<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    super::changes::window_changed(entry.window_id);
    diesel::insert_into(capacity_ledger::table)
        .values((
            capacity_ledger::window_id.eq(entry.window_id),
            capacity_ledger::kind.eq(kind.to_string()),
            capacity_ledger::capacity_delta.eq(entry.capacity_delta),
            capacity_ledger::held_delta.eq(entry.held_delta),
            capacity_ledger::sold_delta.eq(entry.sold_delta),
            capacity_ledger::hold_id.eq(entry.hold_id),
            capacity_ledger::order_id.eq(entry.order_id),
            capacity_ledger::reference.eq(entry.reference),
            capacity_ledger::actor.eq(entry.actor),
            capacity_ledger::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A ledger row as the API shows it.
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = capacity_ledger)]
pub struct LedgerRow {
    pub id: i64,
    pub window_id: i64,
    pub kind: String,
    pub capacity_delta: i64,
    pub held_delta: i64,
    pub sold_delta: i64,
    pub hold_id: Option<i64>,
    pub order_id: Option<i64>,
    pub reference: Option<String>,
    pub actor: Option<String>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

/// A window's ledger in order, `limit + 1` rows after `after`.
pub fn rows(
    conn: &mut DbConn,
    window_id: i64,
    after: i64,
    limit: usize,
) -> QueryResult<Vec<LedgerRow>> {
    capacity_ledger::table
        .filter(capacity_ledger::window_id.eq(window_id))
        .filter(capacity_ledger::id.gt(after))
        .order(capacity_ledger::id)
        .limit(limit as i64 + 1)
        .select(LedgerRow::as_select())
        .load(conn)
}

/// A counter as stored and as the ledger adds it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = LedgerComparison)]
pub struct Comparison {
    pub counter: i64,
    pub ledger: i64,
}

/// A window whose counters disagree with its ledger.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = LedgerMismatch)]
pub struct Mismatch {
    pub window_id: i64,
    pub capacity: Comparison,
    pub held: Comparison,
    pub sold: Comparison,
    /// Whether the counters were set to the ledger's values.
    pub repaired: bool,
}

/// The outcome of a reconciliation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReconcileReport {
    pub windows_checked: usize,
    pub mismatches: Vec<Mismatch>,
}

#[derive(QueryableByName)]
struct Sums {
    #[diesel(sql_type = BigInt)]
    window_id: i64,
    #[diesel(sql_type = BigInt)]
    capacity: i64,
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = BigInt)]
    sold: i64,
    #[diesel(sql_type = BigInt)]
    counter_capacity: i64,
    #[diesel(sql_type = BigInt)]
    counter_held: i64,
    #[diesel(sql_type = BigInt)]
    counter_sold: i64,
}

/// Adds up the ledger of every window (or one) and compares with the counters; with `repair`,
/// sets the counters to the ledger's values.
pub fn reconcile(
    conn: &mut DbConn,
    window_id: Option<i64>,
    repair: bool,
) -> ApiResult<ReconcileReport> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back so both backends read BIGINT. The
    // only value in the SQL is an integer, formatted here rather than bound, because the two
    // backends write placeholders differently.
    let only = window_id
        .map(|id| format!("WHERE w.id = {id}"))
        .unwrap_or_default();
    let sums: Vec<Sums> = diesel::sql_query(format!(
        "SELECT w.id AS window_id, \
                CAST(COALESCE(SUM(l.capacity_delta), 0) AS BIGINT) AS capacity, \
                CAST(COALESCE(SUM(l.held_delta), 0) AS BIGINT) AS held, \
                CAST(COALESCE(SUM(l.sold_delta), 0) AS BIGINT) AS sold, \
                w.capacity AS counter_capacity, w.held AS counter_held, w.sold AS counter_sold \
         FROM preorder_windows w LEFT JOIN capacity_ledger l ON l.window_id = w.id \
         {only} GROUP BY w.id, w.capacity, w.held, w.sold ORDER BY w.id"
    ))
    .load(conn)?;
    let mut mismatches = Vec::new();
    for sum in &sums {
        let (capacity, held, sold) = (sum.counter_capacity, sum.counter_held, sum.counter_sold);
        let agrees = capacity == sum.capacity && held == sum.held && sold == sum.sold;
        if agrees {
            continue;
        }
        let mut repaired = false;
        if repair {
            let result = diesel::update(w::table.find(sum.window_id))
                .set((
                    w::capacity.eq(sum.capacity),
                    w::held.eq(sum.held),
                    w::sold.eq(sum.sold),
                ))
                .execute(conn);
            match result {
                Ok(_) => {
                    repaired = true;
                    super::changes::window_changed(sum.window_id);
                }
                Err(e) => {
                    tracing::error!(window_id = sum.window_id, error = %e, "could not repair the counters")
                }
            }
        }
        tracing::warn!(
            window_id = sum.window_id,
            capacity,
            held,
            sold,
            ledger_capacity = sum.capacity,
            ledger_held = sum.held,
            ledger_sold = sum.sold,
            repaired,
            "capacity counters disagree with the ledger"
        );
        mismatches.push(Mismatch {
            window_id: sum.window_id,
            capacity: Comparison {
                counter: capacity,
                ledger: sum.capacity,
            },
            held: Comparison {
                counter: held,
                ledger: sum.held,
            },
            sold: Comparison {
                counter: sold,
                ledger: sum.sold,
            },
            repaired,
        });
    }
    Ok(ReconcileReport {
        windows_checked: sums.len(),
        mismatches,
    })
}

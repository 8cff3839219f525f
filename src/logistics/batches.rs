//! Dispatch batches: the parcels of one LAO (or one producer) for one carrier and one dispatch
//! date, put together from packed (`ready`) orders, edited until handover, then handed over in
//! one step that ships every order.
//!
//! The rules, each decided here:
//! - only `ready` orders go in, carrier-delivery orders in carrier batches and pickup orders in
//!   `pickup` batches, all of the batch's LAO (and, for a producer's batch, of that producer);
//! - an order is in at most one open batch (a unique index on the open shipments decides races);
//! - perishables: a window's `ship_within_days` gives a ship-by date (`harvest_end` + days);
//!   a dispatch date after it is refused, naming the orders and their dates;
//! - a carrier's blackout dates refuse a dispatch date inside them;
//! - handover needs a tracking number for every parcel of Thailand Post, Flash, Kerry and J&T,
//!   and every order still `ready`; the checks run again at handover (blackouts can be added and
//!   orders refunded in between).

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{BATCH, BatchRow, BatchStatus, Carrier, ShipmentRow, ShipmentStatus};
use super::{blackouts, shipments};
use crate::auth::policy::{Action, Place, authorize, authorize_hidden};
use crate::auth::principal::{Principal, Role};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{dispatch_batches, shipment_events, shipments as sh};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param};
use crate::laos::model::LaoRow;
use crate::orders::lifecycle::{self, MoveDetails};
use crate::orders::model::{self as orders, DeliveryMethod, Mover, ORDER, OrderRow, OrderStatus};
use crate::preorder::windows::{self, WindowRow};

/// Most orders one batch holds (a day's parcels of a busy LAO, and a page that still prints).
pub const MAX_ORDERS: usize = 500;

/// A new batch.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"carrier": "thailand_post", "dispatch_date": "2026-12-02", "window_id": 7, "note": "ส่งที่ ปณ.แม่สอด รอบบ่าย"}))]
pub struct NewBatch {
    pub carrier: Carrier,
    /// Bangkok date the parcels leave: from 7 days ago to 60 days ahead.
    pub dispatch_date: NaiveDate,
    /// Every `ready` order of this window (carrier orders, or pickup orders for `pickup`) that
    /// is in no open batch.
    pub window_id: Option<i64>,
    /// Chosen orders by code (up to 500).
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    pub order_codes: Option<Vec<String>>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Changes to an open batch.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchChanges {
    pub dispatch_date: Option<NaiveDate>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Orders to add to an open batch: a window's ready orders, or chosen ones.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"order_codes": ["7KQ3-XPMA", "M2C9-HT4W"]}))]
pub struct AddOrders {
    pub window_id: Option<i64>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    pub order_codes: Option<Vec<String>>,
}

/// One parcel's tracking number.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingEntry {
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20)]
    pub order_code: String,
    /// As printed by the carrier; spaces and hyphens are ignored. Thailand Post: S10 ending in
    /// `TH` (`EF582568151TH`, check digit verified); Flash, Kerry, J&T: 8–20 letters and
    /// digits; local: a one-line note. It cannot change once the carrier reported under it.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub tracking_number: String,
    /// Boxes of this order (default: as it is, 1 at first).
    #[validate(range(min = 1, max = 50))]
    #[schema(minimum = 1, maximum = 50)]
    pub parcels: Option<i32>,
}

/// Tracking numbers to record (all or none are written).
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_numbers": [{"order_code": "7KQ3-XPMA", "tracking_number": "EF582568151TH"}]}))]
pub struct TrackingNumbers {
    #[validate(length(min = 1, max = 500), nested)]
    #[schema(min_items = 1, max_items = 500)]
    pub tracking_numbers: Vec<TrackingEntry>,
}

/// Lists of batches.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// Only this LAO's batches (officers and admins; staff and producers see their own).
    pub lao_id: Option<i64>,
    #[param(inline)]
    pub status: Option<BatchStatus>,
    #[param(inline)]
    pub carrier: Option<Carrier>,
    /// Batches leaving on this Bangkok date.
    pub dispatch_date: Option<NaiveDate>,
}

/// An order in a batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchOrder {
    pub order_code: String,
    pub order_status: OrderStatus,
    pub recipient_name: String,
    /// E.164.
    pub phone: String,
    /// The address as one Thai line (carrier orders), or the pickup point's name.
    pub destination: String,
    /// `กล่อง 5 กก. × 2, 1 กก. × 1`.
    pub items: String,
    pub units_total: i64,
    pub unit: String,
    /// Packed weight in grams; `null` when the product gives no weight per unit and its unit is
    /// not the kilogram.
    pub weight_grams: Option<i64>,
    pub parcels: i32,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub shipment_status: ShipmentStatus,
    /// Bangkok date the window's perishables must ship by, if it sets one.
    pub ship_by: Option<NaiveDate>,
}

/// A dispatch batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DispatchBatch {
    pub id: i64,
    pub lao_id: i64,
    /// Set when a producer built the batch (its own orders only).
    pub producer_id: Option<i64>,
    pub carrier: Carrier,
    pub carrier_name_th: String,
    pub dispatch_date: NaiveDate,
    pub status: BatchStatus,
    pub status_th: String,
    pub note: Option<String>,
    pub orders: Vec<BatchOrder>,
    pub order_count: usize,
    pub parcel_count: i64,
    /// Orders still without a tracking number (a national carrier's batch cannot be handed over
    /// until this is empty).
    pub missing_tracking: Vec<String>,
    /// Orders without a known weight (the manifest leaves their weight empty).
    pub missing_weight: Vec<String>,
    pub manifest_csv: String,
    pub labels: String,
    pub handed_over_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub updated_at: chrono::DateTime<chrono::FixedOffset>,
}

/// What the manifest and labels need of an order, read once for a batch.
pub struct Parcel {
    pub shipment: ShipmentRow,
    pub order: orders::Order,
    pub weight_grams: Option<i64>,
    pub ship_by: Option<NaiveDate>,
    /// The product's title (what is in the box).
    pub product_title: String,
    /// The producer who sends it: name and phone (E.164).
    pub sender_name: String,
    pub sender_phone: String,
}

/// The batch's place: its LAO, narrowed to its producer when a producer built it.
pub fn place_of(conn: &mut DbConn, batch: &BatchRow) -> ApiResult<Place> {
    let lao = crate::laos::model::find_by_id(conn, batch.lao_id)?
        .ok_or_else(|| ApiError::internal("a batch's LAO is missing"))?;
    let place = lao.place();
    Ok(match batch.producer_id {
        Some(producer) => place.with_producer(producer),
        None => place,
    })
}

/// A batch the caller may read (officers of its area too), or 404.
pub fn readable(conn: &mut DbConn, principal: &Principal, id: i64) -> ApiResult<BatchRow> {
    let batch = find(conn, id)?.ok_or_else(|| ApiError::not_found(BATCH))?;
    let place = place_of(conn, &batch)?;
    if principal.may(Action::ReadArea, &place) || principal.may(Action::ManageOrders, &place) {
        Ok(batch)
    } else {
        Err(ApiError::not_found(BATCH))
    }
}

/// A batch the caller may change (staff of its LAO, its producer, admins), locked for the rest
/// of the transaction; 404 when the caller may not even read it, 403 when only read.
pub fn managed(conn: &mut DbConn, principal: &Principal, id: i64) -> ApiResult<BatchRow> {
    // Lock first: two edits of one batch (or an edit and the handover) take turns.
    let touched = diesel::update(dispatch_batches::table.find(id))
        .set(dispatch_batches::updated_at.eq(dispatch_batches::updated_at))
        .execute(conn)?;
    if touched == 0 {
        return Err(ApiError::not_found(BATCH));
    }
    let batch = find(conn, id)?.ok_or_else(|| ApiError::not_found(BATCH))?;
    let place = place_of(conn, &batch)?;
    authorize_hidden(principal, Action::ManageOrders, &place, BATCH)?;
    Ok(batch)
}

fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<BatchRow>> {
    dispatch_batches::table
        .find(id)
        .select(BatchRow::as_select())
        .first(conn)
        .optional()
}

fn require_open(batch: &BatchRow, action_en: &str, action_th: &str) -> ApiResult<()> {
    if batch.status == BatchStatus::Open {
        return Ok(());
    }
    Err(ApiError::new(ErrorKind::InvalidTransition)
        .with(
            "status",
            Param::both(batch.status.label_en(), batch.status.name_th()),
        )
        .with("action", Param::both(action_en, action_th))
        .extra("batch_status", batch.status))
}

/// Refuses a dispatch date more than 7 days past or 60 days ahead (Bangkok).
fn check_dispatch_date(date: NaiveDate, now: NaiveDateTime) -> ApiResult<()> {
    let today = to_bangkok(now).date_naive();
    let earliest = today - Days::new(7);
    let latest = today + Days::new(60);
    if date < earliest {
        return Err(ApiError::validation(vec![
            FieldError::new("dispatch_date", "too_small").with("min", earliest.to_string()),
        ]));
    }
    if date > latest {
        return Err(ApiError::validation(vec![
            FieldError::new("dispatch_date", "too_large").with("max", latest.to_string()),
        ]));
    }
    Ok(())
}

/// The orders a request names: a window's ready orders of the batch's kind, or codes.
fn requested_orders(
    conn: &mut DbConn,
    principal: &Principal,
    carrier: Carrier,
    window_id: Option<i64>,
    codes: Option<&[String]>,
) -> ApiResult<Vec<OrderRow>> {
    let method = if carrier.is_pickup() {
        DeliveryMethod::Pickup
    } else {
        DeliveryMethod::Carrier
    };
    let mut rows = match (window_id, codes) {
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(vec![
                FieldError::new("order_codes", "one_of")
                    .with("other", "`window_id`, `order_codes`"),
            ]));
        }
        (None, None) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "order_codes",
                "required",
            )]));
        }
        (Some(window_id), None) => {
            let (window, lao) = windows::find_with_lao(conn, window_id)?.ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("window_id", "not_found")])
            })?;
            // Windows are public: another LAO's is refused (403), not hidden.
            authorize(principal, Action::ManageOrders, &window.place(&lao))?;
            let ready = orders::of_window_in_status(conn, window_id, OrderStatus::Ready, method)?;
            let taken = shipments::orders_in_open_batches(
                conn,
                &ready.iter().map(|o| o.id).collect::<Vec<_>>(),
            )?;
            ready
                .into_iter()
                .filter(|o| !taken.contains_key(&o.id))
                .collect()
        }
        (None, Some(codes)) => {
            let mut normalized = Vec::with_capacity(codes.len());
            let mut errors = Vec::new();
            for (i, raw) in codes.iter().enumerate() {
                match orders::normalize_code(raw) {
                    Some(code) if !normalized.contains(&code) => normalized.push(code),
                    Some(_) => {
                        errors.push(FieldError::new(format!("order_codes[{i}]"), "repeated"))
                    }
                    None => errors.push(FieldError::new(format!("order_codes[{i}]"), "not_found")),
                }
            }
            let rows = orders::find_many_by_code(conn, &normalized)?;
            let found: HashSet<&str> = rows.iter().map(|o| o.code.as_str()).collect();
            for (i, raw) in codes.iter().enumerate() {
                if orders::normalize_code(raw).is_some_and(|c| !found.contains(c.as_str())) {
                    errors.push(FieldError::new(format!("order_codes[{i}]"), "not_found"));
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            rows
        }
    };
    rows.sort_by_key(|o| o.id);
    // Every order must be the caller's business (404 for another LAO's, as for the order).
    let mut places: HashMap<i64, Place> = HashMap::new();
    for order in &rows {
        let place = match places.entry(order.window_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let (window, lao) = windows::find_with_lao(conn, order.window_id)?
                    .ok_or_else(|| ApiError::internal("an order's window is missing"))?;
                slot.insert(window.place(&lao))
            }
        };
        authorize_hidden(principal, Action::ManageOrders, place, ORDER)?;
    }
    Ok(rows)
}

/// Why an order cannot go in a batch.
#[derive(Debug, Serialize)]
struct Unfit {
    code: String,
    status: OrderStatus,
    delivery_method: DeliveryMethod,
    /// `not_ready`, `wrong_delivery_method`, `other_lao`, `other_producer`.
    reason: &'static str,
}

fn nothing_to_dispatch() -> ApiError {
    ApiError::new(ErrorKind::NothingToDispatch)
}

fn order_list(codes: &[String]) -> Param {
    let list = codes.join(", ");
    Param::both(list.clone(), list)
}

/// Refuses orders that do not fit the batch: not ready, the wrong delivery method, another LAO.
fn check_fit(batch: &BatchRow, rows: &[OrderRow]) -> ApiResult<()> {
    let unfit: Vec<Unfit> = rows
        .iter()
        .filter_map(|o| {
            let wanted = if batch.carrier.is_pickup() {
                DeliveryMethod::Pickup
            } else {
                DeliveryMethod::Carrier
            };
            let reason = if o.status() != OrderStatus::Ready {
                "not_ready"
            } else if o.delivery_method() != wanted {
                "wrong_delivery_method"
            } else if o.lao_id != batch.lao_id {
                "other_lao"
            } else if batch.producer_id.is_some_and(|p| p != o.producer_id) {
                "other_producer"
            } else {
                return None;
            };
            Some(Unfit {
                code: o.code.clone(),
                status: o.status(),
                delivery_method: o.delivery_method(),
                reason,
            })
        })
        .collect();
    if unfit.is_empty() {
        return Ok(());
    }
    let codes: Vec<String> = unfit.iter().map(|u| u.code.clone()).collect();
    Err(ApiError::new(ErrorKind::OrderNotDispatchable)
        .with("order_list", order_list(&codes))
        .extra("orders", unfit))
}

/// Refuses orders whose window's ship-by date is before the dispatch date.
fn check_ship_by(conn: &mut DbConn, rows: &[OrderRow], dispatch_date: NaiveDate) -> ApiResult<()> {
    #[derive(Serialize)]
    struct Late {
        code: String,
        ship_by: NaiveDate,
    }
    let ship_by = ship_by_dates(conn, rows)?;
    let late: Vec<Late> = rows
        .iter()
        .filter_map(|o| {
            let by = ship_by.get(&o.window_id).copied().flatten()?;
            (dispatch_date > by).then(|| Late {
                code: o.code.clone(),
                ship_by: by,
            })
        })
        .collect();
    if late.is_empty() {
        return Ok(());
    }
    let dates: Vec<String> = late
        .iter()
        .map(|l| format!("{} ({})", l.code, l.ship_by))
        .collect();
    Err(ApiError::new(ErrorKind::ShipByPassed)
        .with("order_list", order_list(&dates))
        .with("dispatch_date", dispatch_date.to_string())
        .extra("dispatch_date", dispatch_date)
        .extra("orders", late))
}

/// Each window's ship-by date (`harvest_end` + `ship_within_days`), `None` without a limit.
pub fn ship_by_dates(
    conn: &mut DbConn,
    rows: &[OrderRow],
) -> ApiResult<HashMap<i64, Option<NaiveDate>>> {
    let mut out = HashMap::new();
    for order in rows {
        if out.contains_key(&order.window_id) {
            continue;
        }
        let (window, _) = windows::find_with_lao(conn, order.window_id)?
            .ok_or_else(|| ApiError::internal("an order's window is missing"))?;
        out.insert(order.window_id, ship_by(&window));
    }
    Ok(out)
}

/// A window's ship-by date.
pub fn ship_by(window: &WindowRow) -> Option<NaiveDate> {
    let days = u64::try_from(window.ship_within_days?).ok()?;
    window.harvest_end.checked_add_days(Days::new(days))
}

/// Refuses a dispatch date inside one of the carrier's blackouts.
fn check_blackout(
    conn: &mut DbConn,
    batch_carrier: Carrier,
    date: NaiveDate,
    codes: &[String],
) -> ApiResult<()> {
    let Some(blackout) = blackouts::covering(conn, batch_carrier, date)? else {
        return Ok(());
    };
    Err(ApiError::new(ErrorKind::CarrierBlackout)
        .with(
            "carrier",
            Param::both(batch_carrier.name_en(), batch_carrier.name_th()),
        )
        .with("first_date", blackout.first_date.to_string())
        .with("last_date", blackout.last_date.to_string())
        .with("reason", blackout.reason.clone())
        .with("order_list", order_list(codes))
        .extra("blackout", super::model::Blackout::from(blackout))
        .extra("orders", codes))
}

/// Refuses orders already in another open batch.
fn check_not_taken(conn: &mut DbConn, rows: &[OrderRow], batch_id: Option<i64>) -> ApiResult<()> {
    #[derive(Serialize)]
    struct Taken {
        code: String,
        batch_id: i64,
    }
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let taken = shipments::orders_in_open_batches(conn, &ids)?;
    let clash: Vec<Taken> = rows
        .iter()
        .filter_map(|o| {
            let other = *taken.get(&o.id)?;
            (Some(other) != batch_id).then(|| Taken {
                code: o.code.clone(),
                batch_id: other,
            })
        })
        .collect();
    if clash.is_empty() {
        return Ok(());
    }
    let codes: Vec<String> = clash
        .iter()
        .map(|t| format!("{} (#{})", t.code, t.batch_id))
        .collect();
    Err(ApiError::new(ErrorKind::OrderInOpenBatch)
        .with("order_list", order_list(&codes))
        .extra("orders", clash))
}

/// Puts orders in an open batch after every check.
fn admit(
    conn: &mut DbConn,
    batch: &BatchRow,
    rows: &[OrderRow],
    now: NaiveDateTime,
) -> ApiResult<()> {
    if rows.is_empty() {
        return Err(nothing_to_dispatch());
    }
    let already: HashSet<i64> = shipments::of_batch(conn, batch.id)?
        .iter()
        .map(|s| s.order_id)
        .collect();
    let rows: Vec<OrderRow> = rows
        .iter()
        .filter(|o| !already.contains(&o.id))
        .cloned()
        .collect();
    if already.len() + rows.len() > MAX_ORDERS {
        return Err(ApiError::validation(vec![
            FieldError::new("order_codes", "too_many").with("max", MAX_ORDERS as i64),
        ]));
    }
    check_fit(batch, &rows)?;
    check_not_taken(conn, &rows, Some(batch.id))?;
    check_ship_by(conn, &rows, batch.dispatch_date)?;
    let codes: Vec<String> = rows.iter().map(|o| o.code.clone()).collect();
    check_blackout(conn, batch.carrier, batch.dispatch_date, &codes)?;
    for order in &rows {
        let inserted = diesel::insert_into(sh::table)
            .values((
                sh::batch_id.eq(batch.id),
                sh::order_id.eq(order.id),
                sh::carrier.eq(batch.carrier.to_string()),
                sh::parcels.eq(1),
                sh::in_open_batch.eq(true),
                sh::status.eq(ShipmentStatus::Packed.to_string()),
                sh::created_at.eq(now),
                sh::updated_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            // Another batch took it between the check and the insert.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(ApiError::new(ErrorKind::OrderInOpenBatch)
                    .with("order_list", order_list(std::slice::from_ref(&order.code)))
                    .extra("orders", [&order.code]));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Creates a batch with its orders.
pub fn create(
    conn: &mut DbConn,
    principal: &Principal,
    new: NewBatch,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    check_dispatch_date(new.dispatch_date, now)?;
    let rows = requested_orders(
        conn,
        principal,
        new.carrier,
        new.window_id,
        new.order_codes.as_deref(),
    )?;
    let Some(first) = rows.first() else {
        return Err(nothing_to_dispatch());
    };
    let lao: LaoRow = crate::laos::model::find_by_id(conn, first.lao_id)?
        .ok_or_else(|| ApiError::internal("an order's LAO is missing"))?;
    let producer_id = (principal.role == Role::Producer).then_some(first.producer_id);
    let id: i64 = diesel::insert_into(dispatch_batches::table)
        .values((
            dispatch_batches::lao_id.eq(lao.id),
            dispatch_batches::province_code.eq(&lao.province_code),
            dispatch_batches::district_code.eq(&lao.district_code),
            dispatch_batches::producer_id.eq(producer_id),
            dispatch_batches::carrier.eq(new.carrier.to_string()),
            dispatch_batches::dispatch_date.eq(new.dispatch_date),
            dispatch_batches::status.eq(BatchStatus::Open.to_string()),
            dispatch_batches::note.eq(new.note.as_deref().map(str::trim)),
            dispatch_batches::created_by.eq(principal.actor_label()),
            dispatch_batches::created_at.eq(now),
            dispatch_batches::updated_at.eq(now),
        ))
        .returning(dispatch_batches::id)
        .get_result(conn)?;
    let batch = find(conn, id)?.ok_or_else(|| ApiError::internal("a new batch vanished"))?;
    admit(conn, &batch, &rows, now)?;
    Ok(id)
}

/// Adds orders to an open batch.
pub fn add_orders(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    add: AddOrders,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    require_open(&batch, "take more orders", "เพิ่มคำสั่งซื้อ")?;
    let rows = requested_orders(
        conn,
        principal,
        batch.carrier,
        add.window_id,
        add.order_codes.as_deref(),
    )?;
    admit(conn, &batch, &rows, now)?;
    touch(conn, id, now)
}

/// Takes an order out of an open batch (it is free for another one).
pub fn remove_order(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    code: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    require_open(&batch, "lose orders", "นำคำสั่งซื้อออก")?;
    let order = orders::normalize_code(code)
        .and_then(|c| orders::find_by_code(conn, &c).transpose())
        .transpose()?
        .ok_or_else(|| ApiError::not_found(ORDER))?;
    let shipment = shipments::of_batch(conn, id)?
        .into_iter()
        .find(|s| s.order_id == order.id)
        .ok_or_else(|| ApiError::not_found(ORDER))?;
    forget(conn, &[shipment])?;
    touch(conn, id, now)
}

/// Deletes shipments of an open batch, refusing any the carrier has already reported on: their
/// trail must not be lost.
fn forget(conn: &mut DbConn, list: &[ShipmentRow]) -> ApiResult<()> {
    let ids: Vec<i64> = list.iter().map(|s| s.id).collect();
    let reported: i64 = shipment_events::table
        .filter(shipment_events::shipment_id.eq_any(&ids))
        .count()
        .get_result(conn)?;
    if reported > 0 {
        return Err(ApiError::conflict(crate::i18n::Text {
            en: "the carrier has already reported on these parcels; hand the batch over instead",
            th: "ขนส่งรายงานสถานะพัสดุเหล่านี้แล้ว ให้บันทึกส่งมอบรอบนี้แทน",
        }));
    }
    diesel::delete(sh::table.filter(sh::id.eq_any(&ids))).execute(conn)?;
    Ok(())
}

fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(dispatch_batches::table.find(id))
        .set(dispatch_batches::updated_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Changes an open batch's date or note; a new date is checked against ship-by dates and
/// blackouts.
pub fn update(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    changes: BatchChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    require_open(&batch, "change", "แก้ไข")?;
    if let Some(date) = changes.dispatch_date {
        check_dispatch_date(date, now)?;
        let rows = orders_of(conn, id)?;
        check_ship_by(conn, &rows, date)?;
        let codes: Vec<String> = rows.iter().map(|o| o.code.clone()).collect();
        check_blackout(conn, batch.carrier, date, &codes)?;
    }
    diesel::update(dispatch_batches::table.find(id))
        .set((
            changes
                .dispatch_date
                .map(|d| dispatch_batches::dispatch_date.eq(d)),
            changes
                .note
                .as_deref()
                .map(|n| dispatch_batches::note.eq(Some(n.trim().to_string()))),
            dispatch_batches::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Calls off an open batch: its orders are free again.
pub fn cancel(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    require_open(&batch, "be cancelled", "ยกเลิก")?;
    let list = shipments::of_batch(conn, id)?;
    forget(conn, &list)?;
    diesel::update(dispatch_batches::table.find(id))
        .set((
            dispatch_batches::status.eq(BatchStatus::Cancelled.to_string()),
            dispatch_batches::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The batch's orders, oldest first.
fn orders_of(conn: &mut DbConn, id: i64) -> ApiResult<Vec<OrderRow>> {
    let ids: Vec<i64> = shipments::of_batch(conn, id)?
        .iter()
        .map(|s| s.order_id)
        .collect();
    let mut rows = orders::find_many(conn, &ids)?;
    rows.sort_by_key(|o| o.id);
    Ok(rows)
}

/// Records tracking numbers (and parcel counts) of the batch's orders, all or none.
pub fn record_tracking(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    input: TrackingNumbers,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    if batch.status == BatchStatus::Cancelled {
        require_open(&batch, "take tracking numbers", "บันทึกเลขพัสดุ")?;
    }
    let list = shipments::of_batch(conn, id)?;
    let orders_by_id: HashMap<i64, OrderRow> =
        orders::find_many(conn, &list.iter().map(|s| s.order_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
    let by_code: HashMap<&str, &ShipmentRow> = list
        .iter()
        .filter_map(|s| orders_by_id.get(&s.order_id).map(|o| (o.code.as_str(), s)))
        .collect();
    let mut errors = Vec::new();
    let mut updates: Vec<(i64, String, Option<i32>)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut seen_orders: HashSet<i64> = HashSet::new();
    for (i, entry) in input.tracking_numbers.iter().enumerate() {
        let code = orders::normalize_code(&entry.order_code);
        let Some(shipment) = code.as_deref().and_then(|c| by_code.get(c)) else {
            errors.push(FieldError::new(
                format!("tracking_numbers[{i}].order_code"),
                "not_found",
            ));
            continue;
        };
        if !seen_orders.insert(shipment.id) {
            errors.push(FieldError::new(
                format!("tracking_numbers[{i}].order_code"),
                "repeated",
            ));
            continue;
        }
        match super::tracking::normalize(batch.carrier, &entry.tracking_number) {
            Ok(number) => {
                if !seen.insert(number.clone()) {
                    errors.push(FieldError::new(
                        format!("tracking_numbers[{i}].tracking_number"),
                        "repeated",
                    ));
                    continue;
                }
                // The carrier's events are filed under the number: it cannot change then.
                if shipment
                    .tracking_number
                    .as_deref()
                    .is_some_and(|n| n != number)
                    && shipments::has_events(conn, shipment.id)?
                {
                    errors.push(FieldError::new(
                        format!("tracking_numbers[{i}].tracking_number"),
                        "carrier_reported",
                    ));
                    continue;
                }
                updates.push((shipment.id, number, entry.parcels));
            }
            Err(e) => {
                let mut error =
                    FieldError::new(format!("tracking_numbers[{i}].tracking_number"), e.code());
                if e == super::tracking::TrackingError::Length {
                    error = error.with("max", 40);
                }
                errors.push(error);
            }
        }
    }
    // A number already on another parcel of this carrier.
    for (i, (shipment_id, number, _)) in updates.iter().enumerate() {
        if let Some(owner) = shipments::tracking_owner(conn, batch.carrier, number, *shipment_id)? {
            let code = orders::find(conn, owner)?
                .map(|o| o.code)
                .unwrap_or_default();
            errors.push(
                FieldError::new(
                    format!("tracking_numbers[{i}].tracking_number"),
                    "tracking_in_use",
                )
                .with("order_code", code),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // Clear first, then write: numbers may move between parcels of the batch in one request.
    let ids: Vec<i64> = updates.iter().map(|u| u.0).collect();
    diesel::update(sh::table.filter(sh::id.eq_any(&ids)))
        .set(sh::tracking_number.eq(None::<String>))
        .execute(conn)?;
    for (shipment_id, number, parcels) in updates {
        diesel::update(sh::table.find(shipment_id))
            .set((
                sh::tracking_number.eq(Some(number)),
                parcels.map(|p| sh::parcels.eq(p)),
                sh::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    touch(conn, id, now)
}

/// Hands the batch over: every order becomes `shipped` (or, for a pickup batch, at the pickup
/// point: `handed_over`), the batch is closed, and carrier events already received apply.
pub fn hand_over(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<()> {
    let batch = managed(conn, principal, id)?;
    require_open(&batch, "be handed over", "ส่งมอบ")?;
    let list = shipments::of_batch(conn, id)?;
    let rows = orders_of(conn, id)?;
    if rows.is_empty() {
        return Err(nothing_to_dispatch());
    }
    check_fit(&batch, &rows)?;
    check_ship_by(conn, &rows, batch.dispatch_date)?;
    let codes: Vec<String> = rows.iter().map(|o| o.code.clone()).collect();
    check_blackout(conn, batch.carrier, batch.dispatch_date, &codes)?;
    if batch.carrier.needs_tracking() {
        let by_id: HashMap<i64, &OrderRow> = rows.iter().map(|o| (o.id, o)).collect();
        let missing: Vec<String> = list
            .iter()
            .filter(|s| s.tracking_number.is_none())
            .filter_map(|s| by_id.get(&s.order_id).map(|o| o.code.clone()))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::new(ErrorKind::TrackingMissing)
                .with(
                    "carrier",
                    Param::both(batch.carrier.name_en(), batch.carrier.name_th()),
                )
                .with("order_list", order_list(&missing))
                .extra("orders", missing));
        }
    }
    let to = if batch.carrier.is_pickup() {
        OrderStatus::HandedOver
    } else {
        OrderStatus::Shipped
    };
    let actor = principal.actor_label();
    let shipments_by_order: HashMap<i64, &ShipmentRow> =
        list.iter().map(|s| (s.order_id, s)).collect();
    for order in &rows {
        let shipment = shipments_by_order
            .get(&order.id)
            .ok_or_else(|| ApiError::internal("a batch order without its shipment"))?;
        let note = match &shipment.tracking_number {
            Some(number) => format!("{} {number} (รอบส่ง #{})", batch.carrier.name_th(), batch.id),
            None => format!("{} (รอบส่ง #{})", batch.carrier.name_th(), batch.id),
        };
        let details = MoveDetails {
            note: Some(&note),
            payment_reference: None,
        };
        lifecycle::move_order(conn, order, to, Mover::Staff, &actor, details, pepper, now)?;
    }
    diesel::update(dispatch_batches::table.find(id))
        .set((
            dispatch_batches::status.eq(BatchStatus::HandedOver.to_string()),
            dispatch_batches::handed_over_at.eq(Some(now)),
            dispatch_batches::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(sh::table.filter(sh::batch_id.eq(id)))
        .set(sh::in_open_batch.eq(false))
        .execute(conn)?;
    let by_id: HashMap<i64, OrderRow> = rows.into_iter().map(|o| (o.id, o)).collect();
    for shipment in list {
        let order = &by_id[&shipment.order_id];
        shipments::handed_over(conn, &shipment, order, pepper, now)?;
    }
    Ok(())
}

/// The batch's parcels with everything the manifest, the labels and the view show.
pub fn parcels(conn: &mut DbConn, batch: &BatchRow, now: NaiveDateTime) -> ApiResult<Vec<Parcel>> {
    let list = shipments::of_batch(conn, batch.id)?;
    let mut rows = orders::find_many(conn, &list.iter().map(|s| s.order_id).collect::<Vec<_>>())?;
    rows.sort_by_key(|o| o.id);
    // Weight per unit, ship-by date, product and sender, read once per window.
    #[allow(clippy::type_complexity)]
    let mut per_window: HashMap<i64, (Option<i64>, Option<NaiveDate>, String, String, String)> =
        HashMap::new();
    for order in &rows {
        if per_window.contains_key(&order.window_id) {
            continue;
        }
        let (window, _) = windows::find_with_lao(conn, order.window_id)?
            .ok_or_else(|| ApiError::internal("an order's window is missing"))?;
        let product = crate::catalog::products::product_row(conn, window.product_id)?;
        let per_unit = product
            .unit_weight_grams
            .map(i64::from)
            .or((window.unit == "kg").then_some(1000));
        let (producer, _) = crate::catalog::producers::find_with_lao(conn, window.producer_id)?
            .ok_or_else(|| ApiError::internal("a window's producer is missing"))?;
        per_window.insert(
            order.window_id,
            (
                per_unit,
                ship_by(&window),
                product.title,
                producer.display_name,
                producer.contact_phone,
            ),
        );
    }
    let facts: Vec<(i64, i64, i64)> = rows
        .iter()
        .map(|o| (o.id, o.window_id, o.units_total))
        .collect();
    let views = orders::views(conn, rows, now)?;
    let mut by_order: HashMap<i64, ShipmentRow> =
        list.into_iter().map(|s| (s.order_id, s)).collect();
    let mut out = Vec::with_capacity(views.len());
    for ((order_id, window_id, units), view) in facts.into_iter().zip(views) {
        let (per_unit, ship_by, product_title, sender_name, sender_phone) =
            per_window[&window_id].clone();
        let shipment = by_order
            .remove(&order_id)
            .ok_or_else(|| ApiError::internal("a batch order without its shipment"))?;
        out.push(Parcel {
            shipment,
            order: view,
            weight_grams: per_unit.map(|g| g.saturating_mul(units)),
            ship_by,
            product_title,
            sender_name,
            sender_phone,
        });
    }
    Ok(out)
}

/// `ลำไยอีดอ เกรด AA: กล่อง 5 กก. × 2, 1 กก. × 1`.
pub fn items_line(parcel: &Parcel) -> String {
    let lines = parcel
        .order
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.name, l.quantity))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{}: {lines}", parcel.product_title)
}

/// The batch as the API shows it.
pub fn view(conn: &mut DbConn, batch: BatchRow, now: NaiveDateTime) -> ApiResult<DispatchBatch> {
    let parcels = parcels(conn, &batch, now)?;
    let orders: Vec<BatchOrder> = parcels
        .into_iter()
        .map(|p| {
            let destination = match (&p.order.delivery.address, &p.order.delivery.pickup_point) {
                (Some(address), _) => address.one_line_th(),
                (None, Some(point)) => point.name.clone(),
                (None, None) => String::new(),
            };
            let (recipient_name, phone) = match &p.order.delivery.address {
                Some(a) => (a.recipient_name.clone(), a.phone.clone()),
                None => (p.order.buyer.name.clone(), p.order.buyer.phone.clone()),
            };
            BatchOrder {
                items: items_line(&p),
                order_code: p.order.code.clone(),
                order_status: p.order.status,
                recipient_name,
                phone,
                destination,
                units_total: p.order.units_total,
                unit: p.order.unit.clone(),
                weight_grams: p.weight_grams,
                parcels: p.shipment.parcels,
                tracking_url: p
                    .shipment
                    .tracking_number
                    .as_deref()
                    .and_then(|n| super::tracking::tracking_url(p.shipment.carrier, n)),
                tracking_number: p.shipment.tracking_number.clone(),
                shipment_status: p.shipment.status,
                ship_by: p.ship_by,
            }
        })
        .collect();
    let missing_tracking = if batch.carrier.needs_tracking() {
        orders
            .iter()
            .filter(|o| o.tracking_number.is_none())
            .map(|o| o.order_code.clone())
            .collect()
    } else {
        Vec::new()
    };
    let missing_weight = if batch.carrier.is_pickup() {
        Vec::new()
    } else {
        orders
            .iter()
            .filter(|o| o.weight_grams.is_none())
            .map(|o| o.order_code.clone())
            .collect()
    };
    Ok(DispatchBatch {
        id: batch.id,
        lao_id: batch.lao_id,
        producer_id: batch.producer_id,
        carrier: batch.carrier,
        carrier_name_th: batch.carrier.name_th().to_string(),
        dispatch_date: batch.dispatch_date,
        status: batch.status,
        status_th: batch.status.name_th().to_string(),
        note: batch.note,
        order_count: orders.len(),
        parcel_count: orders.iter().map(|o| i64::from(o.parcels)).sum(),
        orders,
        missing_tracking,
        missing_weight,
        manifest_csv: format!("/v1/dispatch-batches/{}/manifest.csv", batch.id),
        labels: format!("/v1/dispatch-batches/{}/labels", batch.id),
        handed_over_at: batch.handed_over_at.map(to_bangkok),
        created_at: to_bangkok(batch.created_at),
        updated_at: to_bangkok(batch.updated_at),
    })
}

/// The batches a caller may read, newest dispatch date first (at most 200).
pub fn list(
    conn: &mut DbConn,
    principal: &Principal,
    query: &BatchQuery,
    now: NaiveDateTime,
) -> ApiResult<Vec<DispatchBatch>> {
    let mut q = dispatch_batches::table
        .select(BatchRow::as_select())
        .order((
            dispatch_batches::dispatch_date.desc(),
            dispatch_batches::id.desc(),
        ))
        .into_boxed();
    match principal.role {
        Role::LaoStaff => {
            q = q.filter(dispatch_batches::lao_id.eq(principal.area.lao_id.unwrap_or(-1)));
        }
        Role::Producer => {
            q = q
                .filter(dispatch_batches::producer_id.eq(principal.area.producer_id.unwrap_or(-1)));
        }
        Role::DistrictOfficer => {
            q = q.filter(
                dispatch_batches::district_code.eq(principal
                    .area
                    .district_code
                    .clone()
                    .unwrap_or_default()),
            );
        }
        Role::ProvinceOfficer => {
            q = q.filter(
                dispatch_batches::province_code.eq(principal
                    .area
                    .province_code
                    .clone()
                    .unwrap_or_default()),
            );
        }
        Role::Admin => {}
        Role::Partner => return Err(ApiError::forbidden()),
    }
    if let Some(lao_id) = query.lao_id {
        q = q.filter(dispatch_batches::lao_id.eq(lao_id));
    }
    if let Some(status) = query.status {
        q = q.filter(dispatch_batches::status.eq(status.to_string()));
    }
    if let Some(carrier) = query.carrier {
        q = q.filter(dispatch_batches::carrier.eq(carrier.to_string()));
    }
    if let Some(date) = query.dispatch_date {
        q = q.filter(dispatch_batches::dispatch_date.eq(date));
    }
    let rows: Vec<BatchRow> = q.limit(200).load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        // District officers see no provincial organisation's batches (as for every record).
        let place = place_of(conn, &row)?;
        if principal.may(Action::ReadArea, &place) || principal.may(Action::ManageOrders, &place) {
            out.push(view(conn, row, now)?);
        }
    }
    Ok(out)
}

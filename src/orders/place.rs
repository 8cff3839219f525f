//! Placing an order: from lines of a window or from a hold, with the server computing every total.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::lifecycle::{self, MoveDetails};
use super::model::{
    AddressView, Channel, DeliveryMethod, LineView, Mover, Order, OrderRow, OrderStatus, assemble,
    find_by_code, new_code,
};
use crate::auth::policy::{Action, authorize};
use crate::auth::principal::Principal;
use crate::auth::tokens::{random_token, sha256_hex};
use crate::capacity::gather::{Locked, OwnedEntry};
use crate::capacity::ledger::{self, Movement};
use crate::db::DbConn;
use crate::db::schema::{order_addresses, order_lines, orders, pickup_points};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::laos::model::LaoRow;
use crate::preorder::holds::{self, HOLD, HoldRow, HoldStatus, LineInput, Requested};
use crate::preorder::windows::{self, PickupRow, WINDOW, WindowRow};
use crate::promptpay;
use crate::validate::PhoneNumber;

/// The buyer of an order.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Buyer {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name: String,
    /// A Thai phone number: the buyer's identity for limits and the limited order view.
    #[validate(custom(function = "crate::validate::thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: String,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub line_id: Option<String>,
}

/// A carrier delivery address in Thailand.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub recipient_name: String,
    #[validate(custom(function = "crate::validate::thai_phone"))]
    #[schema(format = "thai-phone")]
    pub phone: String,
    /// House number, village, road.
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 500, format = "non-blank")]
    pub address_line: String,
    /// Six-digit subdistrict code; the district and province follow from it.
    #[schema(pattern = "^[0-9]{6}$", example = "100101")]
    pub subdistrict_code: String,
    /// Must be a postal code of the subdistrict.
    #[schema(pattern = "^[0-9]{5}$", example = "10200")]
    pub postal_code: String,
}

/// How the buyer receives the goods.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryInput {
    pub method: DeliveryMethod,
    /// For `pickup`: one of the window's pickup points.
    pub pickup_point_id: Option<i64>,
    /// For `carrier`.
    #[validate(nested)]
    pub address: Option<AddressInput>,
}

/// A new order: lines of a window, or a hold to convert. Prices and totals are the server's.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "window_id": 7,
    "lines": [{"variant_id": 4, "quantity": 2}],
    "buyer": {"name": "สมหญิง รักดี", "phone": "089 123 4567", "email": "somying@example.com", "line_id": "somying"},
    "delivery": {"method": "carrier", "address": {"recipient_name": "สมหญิง รักดี", "phone": "089 123 4567", "address_line": "99/1 ถนนพหลโยธิน", "subdistrict_code": "100101", "postal_code": "10200"}},
    "note": "ฝากไว้ที่ป้อมยามได้ค่ะ"
}))]
pub struct NewOrder {
    /// The window (needed with `lines`; with `hold_id` it may be left out).
    pub window_id: Option<i64>,
    #[validate(length(min = 1, max = 20), nested)]
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Option<Vec<LineInput>>,
    /// A hold to turn into this order (its lines are the order's).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub hold_id: Option<String>,
    #[validate(nested)]
    pub buyer: Buyer,
    #[validate(nested)]
    pub delivery: DeliveryInput,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Everything about a new order that does not depend on the window's counters, checked before
/// its row is locked, so that concurrent orders of one window wait on each other as briefly as
/// possible: the window and its visibility, the channel, the lines and their prices, the buyer's
/// phone, the pickup point or address, the totals and an unused code.
#[derive(Clone, Debug)]
pub struct Prepared {
    hold: Option<HoldRow>,
    window: WindowRow,
    lao: LaoRow,
    channel: Channel,
    requested: Requested,
    phone: String,
    pickup: Option<PickupRow>,
    address: Option<AddressView>,
    totals: Totals,
    code: String,
    actor: String,
    partner_client_id: Option<i64>,
    created_by_user_id: Option<i64>,
    buyer: Buyer,
    method: DeliveryMethod,
    note: Option<String>,
}

impl Prepared {
    /// The window the order is for.
    pub fn window_id(&self) -> i64 {
        self.window.id
    }

    /// The buyer's phone (E.164).
    pub fn buyer_phone(&self) -> &str {
        &self.phone
    }

    /// Whether the order can be gathered with others of its window ([`place_locked`]): lines
    /// of a window, not a hold to convert.
    pub fn gatherable(&self) -> bool {
        self.hold.is_none()
    }
}

/// The checks of [`Prepared`], in their order; reads only.
pub fn prepare(
    conn: &mut DbConn,
    principal: Option<&Principal>,
    new: &NewOrder,
    now: NaiveDateTime,
) -> ApiResult<Prepared> {
    let (hold, window_id) = source_of(conn, new)?;
    let (window, lao) =
        windows::find_with_lao(conn, window_id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
    if !windows::visible_to(&window, &lao, principal) {
        return Err(ApiError::not_found(WINDOW));
    }
    let channel = channel_of(conn, principal, &window, &lao)?;
    window.require_open(now)?;
    let requested = match &hold {
        Some(hold) => hold_lines(conn, hold)?,
        None => {
            let lines = new.lines.as_deref().unwrap_or_default();
            holds::resolve_lines(conn, &window, lines, "lines")?
        }
    };
    let phone = buyer_phone(new, hold.as_ref())?;
    let delivery = delivery_of(conn, &window, &new.delivery)?;
    let totals = totals_of(&requested, &window, new.delivery.method)?;
    let actor = principal
        .map(Principal::actor_label)
        .unwrap_or_else(|| format!("buyer:{phone}"));
    Ok(Prepared {
        code: unused_code(conn)?,
        hold,
        window,
        lao,
        channel,
        requested,
        phone,
        pickup: delivery.pickup,
        address: delivery.address,
        totals,
        actor,
        partner_client_id: principal.and_then(Principal::partner_id),
        created_by_user_id: principal.and_then(Principal::user_id),
        buyer: new.buyer.clone(),
        method: new.delivery.method,
        note: new.note.clone(),
    })
}

/// Places an order in the caller's transaction; the answer carries the buyer's secret, shown once.
///
/// Every path that turns capacity into an order (lines of a window, a hold, a waiting-list
/// offer, which is a hold) meets the same window rule, [`WindowRow::require_open`]: checked early
/// for a clear answer and again under the window's lock. An order whose total is 0 satang has
/// nothing to pay and is confirmed at once; one whose total is more than one PromptPay payment
/// can carry ([`promptpay::MAX_AMOUNT_SATANG`]) is refused with 422 `order_total_too_large`.
/// Orders of lines that arrive together go through [`place_locked`] instead (see
/// `orders::gathered`).
pub fn place(
    conn: &mut DbConn,
    principal: Option<&Principal>,
    new: &NewOrder,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<Order> {
    let prepared = prepare(conn, principal, new, now)?;
    let (window, hold) = claim_capacity(conn, &prepared, now)?;
    let unwritten = Unwritten::of(&prepared, &window, now);
    let record_units = |conn: &mut DbConn, order: &OrderRow, _: &str| match &hold {
        Some(hold) => holds::convert(conn, hold, order.id, Some(&prepared.actor), now),
        None => Ok(ledger::record(
            conn,
            Movement::Order,
            ledger::Entry {
                window_id: window.id,
                sold_delta: order.units_total,
                order_id: Some(order.id),
                reference: Some("order"),
                actor: Some(&prepared.actor),
                ..Default::default()
            },
            now,
        )?),
    };
    let mut orders = write_all(conn, vec![unwritten], pepper, now, record_units)?;
    orders
        .pop()
        .ok_or_else(|| ApiError::internal("an order was written without its view"))
}

/// Why a gathered placement did not happen.
pub enum NotPlaced {
    /// Refused before anything was written: the request's own answer; the batch goes on.
    Refused(ApiError),
    /// Failed after rows were written: the batch's transaction must be rolled back.
    Failed(ApiError),
}

/// Places a prepared order of lines inside a gathered batch ([`crate::capacity::gather`]): the
/// window is already locked and its counters are in `locked`. The window rule is checked again
/// on the row as it stands under the lock, then the per-buyer limit and the capacity (letting
/// lapsed holds and unpaid orders go, once per batch, only when the units do not fit); the
/// units are sold in memory. Nothing is written: the order's rows go in with the batch's others
/// ([`write_all`], before the batch's one counter update and ledger insert).
pub fn place_locked(
    conn: &mut DbConn,
    prepared: &Prepared,
    locked: &mut Locked,
) -> Result<Unwritten, NotPlaced> {
    let now = locked.now;
    match checked_under_lock(conn, prepared, locked) {
        Ok(window) => Ok(Unwritten::of(prepared, &window, now)),
        Err(refusal) if refusal.kind().status().is_client_error() => {
            Err(NotPlaced::Refused(refusal))
        }
        Err(error) => Err(NotPlaced::Failed(error)),
    }
}

/// The ledger row of a gathered order's units, for the batch's one ledger insert.
pub fn ledger_entry(order: &OrderRow, actor: &str) -> OwnedEntry {
    OwnedEntry {
        kind: Movement::Order,
        sold_delta: order.units_total,
        order_id: Some(order.id),
        reference: Some("order".to_string()),
        actor: Some(actor.to_string()),
    }
}

/// The window as it stands under the batch's lock, read once per batch; the window rule, the
/// buyer's limit and the capacity, checked in that order; the units sold in `locked`.
fn checked_under_lock(
    conn: &mut DbConn,
    prepared: &Prepared,
    locked: &mut Locked,
) -> ApiResult<WindowRow> {
    if !locked.exists {
        return Err(ApiError::not_found(WINDOW));
    }
    let now = locked.now;
    let mut window = match locked
        .scratch
        .as_ref()
        .and_then(|s| s.downcast_ref::<WindowRow>())
    {
        Some(window) => window.clone(),
        None => {
            let (window, _) = windows::find_with_lao(conn, locked.window_id)?
                .ok_or_else(|| ApiError::not_found(WINDOW))?;
            locked.scratch = Some(Box::new(window.clone()));
            window
        }
    };
    window.require_open(now)?;
    let units = prepared.requested.units;
    holds::check_buyer_limit(conn, &window, Some(&prepared.phone), units, None, now)?;
    if let Err(free) = locked.sell(units) {
        if locked.expired_due {
            return Err(holds::no_capacity(&window, free, units));
        }
        // Room that lapsed holds and unpaid orders still occupy: let them go (once a batch).
        locked.flush(conn)?;
        window = holds::expire_due_for_window(conn, &window, now)?;
        locked.expired_due = true;
        locked.scratch = Some(Box::new(window.clone()));
        locked.reread(conn)?;
        window.require_open(now)?;
        locked
            .sell(units)
            .map_err(|free| holds::no_capacity(&window, free, units))?;
    }
    Ok(window)
}

/// An order whose checks have passed and whose units are taken, not yet written: its row (id 0
/// until inserted), its secret (shown once), lines at the prices of the moment, delivery, and
/// the window and LAO as they stood under the lock.
pub struct Unwritten {
    row: OrderRow,
    secret: String,
    lines: Vec<LineView>,
    pickup: Option<PickupRow>,
    address: Option<AddressView>,
    window: WindowRow,
    lao: LaoRow,
    actor: String,
}

impl Unwritten {
    fn of(prepared: &Prepared, window: &WindowRow, now: NaiveDateTime) -> Unwritten {
        let secret = random_token(24);
        Unwritten {
            row: order_row(prepared, window, sha256_hex(&secret), now),
            secret,
            lines: lines_of(&prepared.requested),
            pickup: prepared.pickup.clone(),
            address: prepared.address.clone(),
            window: window.clone(),
            lao: prepared.lao.clone(),
            actor: prepared.actor.clone(),
        }
    }
}

/// Writes placed orders, in the given order, with one multi-row insert per table: their rows,
/// lines and addresses, the capacity's record of each (`record_units`, given the order with its
/// id and who placed it), their history and `order.placed`; confirms at once those with nothing to pay; answers
/// each buyer's view with its secret, in the same order.
pub fn write_all(
    conn: &mut DbConn,
    mut unwritten: Vec<Unwritten>,
    pepper: &[u8],
    now: NaiveDateTime,
    mut record_units: impl FnMut(&mut DbConn, &OrderRow, &str) -> ApiResult<()>,
) -> ApiResult<Vec<Order>> {
    insert_orders(conn, &mut unwritten)?;
    insert_lines(conn, &unwritten)?;
    for u in &unwritten {
        if let Some(address) = &u.address {
            insert_address(conn, u.row.id, address)?;
        }
        record_units(conn, &u.row, &u.actor)?;
    }
    let history: Vec<_> = unwritten
        .iter()
        .map(|u| lifecycle::HistoryEntry {
            order_id: u.row.id,
            from: None,
            to: OrderStatus::PendingPayment,
            actor: &u.actor,
            note: None,
        })
        .collect();
    lifecycle::record_histories(conn, &history, now)?;
    let rows: Vec<&OrderRow> = unwritten.iter().map(|u| &u.row).collect();
    lifecycle::record_events(conn, &rows, "order.placed", now)?;
    unwritten
        .into_iter()
        .map(|u| confirmed_if_free(conn, u, pepper, now))
        .collect()
}

/// The buyer's view of a written order; an order with nothing to pay is confirmed at once (and
/// counted as a sale) first.
fn confirmed_if_free(
    conn: &mut DbConn,
    u: Unwritten,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<Order> {
    let mut order = u.row;
    if order.total_satang == 0 {
        order = lifecycle::move_order(
            conn,
            &order,
            OrderStatus::Confirmed,
            Mover::System,
            "system",
            MoveDetails {
                note: Some("nothing to pay / ไม่มียอดที่ต้องชำระ"),
                payment_reference: None,
            },
            pepper,
            now,
        )?;
    }
    let mut view = assemble(order, &u.window, &u.lao, u.lines, u.pickup, u.address, now);
    view.secret = Some(u.secret);
    Ok(view)
}

/// The order's row as it is inserted (its id comes from the insert).
fn order_row(
    prepared: &Prepared,
    window: &WindowRow,
    secret_hash: String,
    now: NaiveDateTime,
) -> OrderRow {
    let p = prepared;
    OrderRow {
        id: 0,
        code: p.code.clone(),
        secret_hash,
        window_id: window.id,
        producer_id: window.producer_id,
        lao_id: window.lao_id,
        province_code: window.province_code.clone(),
        district_code: window.district_code.clone(),
        status: OrderStatus::PendingPayment,
        channel: p.channel,
        partner_client_id: p.partner_client_id,
        created_by_user_id: p.created_by_user_id,
        buyer_name: p.buyer.name.trim().to_string(),
        buyer_phone: p.phone.clone(),
        buyer_email: p.buyer.email.clone(),
        buyer_line_id: p.buyer.line_id.clone(),
        delivery_method: p.method,
        pickup_point_id: p.pickup.as_ref().map(|p| p.id),
        note: p.note.clone(),
        units_total: p.requested.units,
        subtotal_satang: p.totals.subtotal,
        delivery_fee_satang: p.totals.delivery_fee,
        total_satang: p.totals.total,
        payment_due_at: window
            .payment_window_hours
            .map(|h| now + Duration::hours(i64::from(h))),
        paid_at: None,
        payment_reference: None,
        hold_id: p.hold.as_ref().map(|h| h.id),
        created_at: now,
        updated_at: now,
    }
}

/// The hold to convert (if any) and the window the order is for; refuses bodies that name both
/// or neither of lines and a hold.
fn source_of(conn: &mut DbConn, new: &NewOrder) -> ApiResult<(Option<HoldRow>, i64)> {
    let mut errors = Vec::new();
    match (&new.hold_id, &new.lines) {
        (Some(_), Some(_)) => errors.push(FieldError::new("lines", "not_allowed")),
        (None, None) => errors.push(FieldError::new("lines", "required")),
        (None, Some(_)) if new.window_id.is_none() => {
            errors.push(FieldError::new("window_id", "required"))
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let hold = match &new.hold_id {
        Some(public_id) => Some(
            holds::find_by_public_id(conn, public_id)?.ok_or_else(|| ApiError::not_found(HOLD))?,
        ),
        None => None,
    };
    let window_id = match (&hold, new.window_id) {
        (Some(h), Some(w)) if h.window_id != w => {
            return Err(ApiError::validation(vec![
                FieldError::new("window_id", "mismatch").with("other", "hold_id"),
            ]));
        }
        (Some(h), _) => h.window_id,
        (None, Some(w)) => w,
        (None, None) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "window_id",
                "required",
            )]));
        }
    };
    Ok((hold, window_id))
}

/// Where the order comes from: a partner (with `orders:write`, selling for the LAO), the LAO's
/// staff or producer, or the anonymous embedded form.
fn channel_of(
    conn: &mut DbConn,
    principal: Option<&Principal>,
    window: &WindowRow,
    lao: &LaoRow,
) -> ApiResult<Channel> {
    match principal {
        Some(p) if p.partner_id().is_some() => {
            holds::check_partner(conn, principal, "orders:write", lao.id)?;
            Ok(Channel::Partner)
        }
        Some(p) => {
            // People with accounts enter orders for the LAO they work for.
            authorize(p, Action::ManageOrders, &window.place(lao))?;
            Ok(Channel::Staff)
        }
        None => Ok(Channel::Embed),
    }
}

/// The lines of a hold, as a request.
fn hold_lines(conn: &mut DbConn, hold: &HoldRow) -> ApiResult<Requested> {
    let lines: Vec<(windows::VariantRow, i32, i64)> = holds::lines_of(conn, hold.id)?
        .into_iter()
        .map(|(line, variant)| (variant, line.quantity, line.units))
        .collect();
    Ok(Requested {
        units: lines.iter().map(|l| l.2).sum(),
        items: lines.iter().map(|l| i64::from(l.1)).sum(),
        lines,
    })
}

/// The buyer's phone in E.164; it must be the hold's when the hold names one.
fn buyer_phone(new: &NewOrder, hold: Option<&HoldRow>) -> ApiResult<String> {
    let phone = PhoneNumber::parse(&new.buyer.phone)
        .map(PhoneNumber::into_string)
        .ok_or_else(|| ApiError::invalid_field("buyer.phone", "invalid_phone"))?;
    if let Some(held_for) = hold.and_then(|h| h.buyer_phone.as_deref())
        && held_for != phone
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "buyer.phone",
            "differs_from_hold",
        )]));
    }
    Ok(phone)
}

/// A checked delivery choice: a pickup point of the window, or a Thai address whose postal code
/// belongs to its subdistrict.
struct Delivery {
    pickup: Option<PickupRow>,
    address: Option<AddressView>,
}

fn delivery_of(
    conn: &mut DbConn,
    window: &WindowRow,
    input: &DeliveryInput,
) -> ApiResult<Delivery> {
    match input.method {
        DeliveryMethod::Pickup => {
            let id = input
                .pickup_point_id
                .ok_or_else(|| ApiError::invalid_field("delivery.pickup_point_id", "required"))?;
            let point = pickup_point_of(conn, window, id)?;
            if input.address.is_some() {
                return Err(ApiError::invalid_field("delivery.address", "not_allowed"));
            }
            Ok(Delivery {
                pickup: Some(point),
                address: None,
            })
        }
        DeliveryMethod::Carrier => {
            if window.delivery().is_none() {
                return Err(ApiError::invalid_field("delivery.method", "not_offered"));
            }
            let input = input
                .address
                .as_ref()
                .ok_or_else(|| ApiError::invalid_field("delivery.address", "required"))?;
            Ok(Delivery {
                pickup: None,
                address: Some(address_of(conn, input)?),
            })
        }
    }
}

/// An active pickup point of the window.
fn pickup_point_of(conn: &mut DbConn, window: &WindowRow, id: i64) -> ApiResult<PickupRow> {
    let point: Option<PickupRow> = pickup_points::table
        .find(id)
        .select(PickupRow::as_select())
        .first(conn)
        .optional()?;
    point
        .filter(|p| p.window_id == window.id && p.active)
        .ok_or_else(|| ApiError::invalid_field("delivery.pickup_point_id", "outside_window"))
}

/// A Thai address whose postal code belongs to its subdistrict, with the area's Thai names.
fn address_of(conn: &mut DbConn, input: &AddressInput) -> ApiResult<AddressView> {
    let area = crate::geo::model::check_address_area(
        conn,
        "delivery.address.subdistrict_code",
        &input.subdistrict_code,
        "delivery.address.postal_code",
        &input.postal_code,
    )?;
    let phone = PhoneNumber::parse(&input.phone)
        .map(PhoneNumber::into_string)
        .ok_or_else(|| ApiError::invalid_field("delivery.address.phone", "invalid_phone"))?;
    Ok(AddressView {
        recipient_name: input.recipient_name.trim().to_string(),
        phone,
        address_line: input.address_line.trim().to_string(),
        subdistrict_code: area.subdistrict.code.clone(),
        district_code: area.district.code.clone(),
        province_code: area.province.code.clone(),
        postal_code: input.postal_code.clone(),
        subdistrict_name_th: area.subdistrict.name_th.clone(),
        district_name_th: area.district.name_th.clone(),
        province_name_th: area.province.name_th.clone(),
    })
}

/// An order's money, in satang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub delivery_fee: i64,
    pub total: i64,
}

/// The totals at the prices the lines carry (today's, or the hold's). An order must be payable
/// in one PromptPay transfer ([`promptpay::ensure_payable`]): a total above ฿9,999,999.99 is
/// refused with 422 `order_total_too_large`.
pub fn totals_of(
    requested: &Requested,
    window: &WindowRow,
    method: DeliveryMethod,
) -> ApiResult<Totals> {
    let subtotal = holds::lines_total(requested);
    let delivery_fee = match (method, window.delivery()) {
        (DeliveryMethod::Carrier, Some(d)) => d.fee_for(requested.units),
        _ => 0,
    };
    let total = promptpay::ensure_payable(subtotal.and_then(|s| s.checked_add(delivery_fee)))?;
    Ok(Totals {
        subtotal: total - delivery_fee,
        delivery_fee,
        total,
    })
}

/// A code no order has (32^8 of them: a clash is rare, and the unique index has the last word).
fn unused_code(conn: &mut DbConn) -> ApiResult<String> {
    let mut code = new_code();
    while find_by_code(conn, &code)?.is_some() {
        code = new_code();
    }
    Ok(code)
}

/// Takes the units the long way, for an order placed on its own (a hold to convert, or lines
/// outside a gathered batch): lock the row, let lapsed holds and unpaid orders go, and check
/// each condition in turn for a precise answer. The window's row stays locked to the commit.
/// Returns the window and the hold as they stand under the lock.
fn claim_capacity(
    conn: &mut DbConn,
    prepared: &Prepared,
    now: NaiveDateTime,
) -> ApiResult<(WindowRow, Option<HoldRow>)> {
    let (window, _) = holds::lock_and_read(conn, prepared.window.id)?;
    let window = holds::expire_due_for_window(conn, &window, now)?;
    window.require_open(now)?;
    let hold = match &prepared.hold {
        Some(hold) => {
            let hold = holds::find_by_public_id(conn, &hold.public_id)?
                .ok_or_else(|| ApiError::not_found(HOLD))?;
            if hold.status() != HoldStatus::Active {
                return Err(holds::not_active(&hold));
            }
            Some(hold)
        }
        None => None,
    };
    let units = prepared.requested.units;
    let exclude = hold.as_ref().map(|h| h.id);
    holds::check_buyer_limit(conn, &window, Some(&prepared.phone), units, exclude, now)?;
    // Capacity: a hold's units turn sold (when it is converted); otherwise they must still fit.
    if hold.is_none()
        && let Err(available) = ledger::sell(conn, window.id, units, now)?
    {
        return Err(holds::no_capacity(&window, available, units));
    }
    Ok((window, hold))
}

/// Inserts the orders' rows in one statement and gives each its id (matched by code, which is
/// unique).
fn insert_orders(conn: &mut DbConn, unwritten: &mut [Unwritten]) -> QueryResult<()> {
    let rows: Vec<_> = unwritten
        .iter()
        .map(|u| {
            let order = &u.row;
            (
                orders::code.eq(&order.code),
                orders::secret_hash.eq(&order.secret_hash),
                orders::window_id.eq(order.window_id),
                orders::producer_id.eq(order.producer_id),
                orders::lao_id.eq(order.lao_id),
                orders::province_code.eq(&order.province_code),
                orders::district_code.eq(&order.district_code),
                orders::status.eq(order.status),
                orders::channel.eq(order.channel),
                orders::partner_client_id.eq(order.partner_client_id),
                orders::created_by_user_id.eq(order.created_by_user_id),
                orders::buyer_name.eq(&order.buyer_name),
                orders::buyer_phone.eq(&order.buyer_phone),
                orders::buyer_email.eq(order.buyer_email.as_deref()),
                orders::buyer_line_id.eq(order.buyer_line_id.as_deref()),
                orders::delivery_method.eq(order.delivery_method),
                orders::pickup_point_id.eq(order.pickup_point_id),
                orders::note.eq(order.note.as_deref()),
                orders::units_total.eq(order.units_total),
                orders::subtotal_satang.eq(order.subtotal_satang),
                orders::delivery_fee_satang.eq(order.delivery_fee_satang),
                orders::total_satang.eq(order.total_satang),
                orders::payment_due_at.eq(order.payment_due_at),
                orders::hold_id.eq(order.hold_id),
                orders::created_at.eq(order.created_at),
                orders::updated_at.eq(order.updated_at),
            )
        })
        .collect();
    let ids: Vec<(i64, String)> = crate::insert_rows!(
        conn,
        orders::table,
        rows,
        returning(orders::id, orders::code)
    )?;
    let ids: std::collections::HashMap<String, i64> =
        ids.into_iter().map(|(id, code)| (code, id)).collect();
    for u in unwritten.iter_mut() {
        u.row.id = *ids
            .get(&u.row.code)
            .ok_or(diesel::result::Error::NotFound)?;
    }
    Ok(())
}

/// The lines at the prices of the moment (later price changes never touch them).
fn lines_of(requested: &Requested) -> Vec<LineView> {
    requested
        .lines
        .iter()
        .map(|(variant, quantity, units)| LineView {
            variant_id: variant.id,
            name: variant.name.clone(),
            quantity: *quantity,
            units_per_item: variant.units_per_item,
            units: *units,
            unit_price_satang: variant.price_satang,
            // Within the order's checked total, so it cannot overflow.
            line_total_satang: variant.price_satang * i64::from(*quantity),
        })
        .collect()
}

/// Inserts the lines of written orders (with their ids) in one statement.
fn insert_lines(conn: &mut DbConn, unwritten: &[Unwritten]) -> QueryResult<()> {
    let rows: Vec<_> = unwritten
        .iter()
        .flat_map(|u| u.lines.iter().map(move |line| (u.row.id, line)))
        .map(|(order_id, line)| {
            (
                order_lines::order_id.eq(order_id),
                order_lines::variant_id.eq(line.variant_id),
                order_lines::variant_name.eq(&line.name),
                order_lines::quantity.eq(line.quantity),
                order_lines::units_per_item.eq(line.units_per_item),
                order_lines::units.eq(line.units),
                order_lines::unit_price_satang.eq(line.unit_price_satang),
                order_lines::line_total_satang.eq(line.line_total_satang),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    crate::insert_rows!(conn, order_lines::table, rows).map(|_| ())
}

fn insert_address(conn: &mut DbConn, order_id: i64, view: &AddressView) -> QueryResult<()> {
    diesel::insert_into(order_addresses::table)
        .values((
            order_addresses::order_id.eq(order_id),
            order_addresses::recipient_name.eq(&view.recipient_name),
            order_addresses::phone.eq(&view.phone),
            order_addresses::address_line.eq(&view.address_line),
            order_addresses::subdistrict_code.eq(&view.subdistrict_code),
            order_addresses::district_code.eq(&view.district_code),
            order_addresses::province_code.eq(&view.province_code),
            order_addresses::postal_code.eq(&view.postal_code),
        ))
        .execute(conn)
        .map(|_| ())
}

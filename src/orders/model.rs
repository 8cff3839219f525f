//! Orders as stored and as shown: rows, the status machine, codes and secrets, views.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::policy::{Action, Place};
use crate::auth::principal::Principal;
use crate::auth::tokens::{constant_time_eq, sha256_hex};
use crate::catalog::producers::LaoSummary;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{
    laos, order_addresses, order_history, order_lines, orders, pickup_points, preorder_windows,
};
use crate::error::{ApiError, ApiResult};
use crate::i18n::Text;
use crate::laos::model::LaoRow;
use crate::preorder::windows::{PickupPoint, PickupRow, WindowRow};

pub const ORDER: Text = Text {
    en: "order",
    th: "คำสั่งซื้อ",
};

/// Where an order stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; waiting for the buyer's payment.
    PendingPayment,
    /// Paid.
    Confirmed,
    /// Harvested and packed.
    Ready,
    /// Given to a carrier.
    Shipped,
    /// Brought to the pickup point.
    HandedOver,
    /// Received by the buyer from the carrier.
    Delivered,
    /// Collected by the buyer.
    PickedUp,
    /// Called off before payment.
    Cancelled,
    /// Not paid in time.
    Expired,
    /// Paid back.
    Refunded,
}

impl OrderStatus {
    /// The status as people read it in English (problem texts, files).
    pub fn label_en(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "awaiting payment",
            OrderStatus::Confirmed => "paid",
            OrderStatus::Ready => "packed and ready",
            OrderStatus::Shipped => "shipped",
            OrderStatus::HandedOver => "at the pickup point",
            OrderStatus::Delivered => "delivered",
            OrderStatus::PickedUp => "picked up",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired unpaid",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "รอชำระเงิน",
            OrderStatus::Confirmed => "ชำระเงินแล้ว",
            OrderStatus::Ready => "เตรียมสินค้าพร้อมแล้ว",
            OrderStatus::Shipped => "ส่งพัสดุแล้ว",
            OrderStatus::HandedOver => "ถึงจุดรับสินค้าแล้ว",
            OrderStatus::Delivered => "ได้รับสินค้าแล้ว",
            OrderStatus::PickedUp => "รับสินค้าแล้ว",
            OrderStatus::Cancelled => "ยกเลิก",
            OrderStatus::Expired => "หมดเวลาชำระเงิน",
            OrderStatus::Refunded => "คืนเงินแล้ว",
        }
    }

    /// Whether the order still holds capacity (its units count as sold).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Refunded
        )
    }

    /// Whether goods have left the producer (a refund then gives no capacity back).
    pub fn dispatched(self) -> bool {
        matches!(
            self,
            OrderStatus::Shipped
                | OrderStatus::HandedOver
                | OrderStatus::Delivered
                | OrderStatus::PickedUp
        )
    }
}

/// How the buyer receives the goods.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryMethod {
    Pickup,
    Carrier,
}

/// Where the order came from.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Channel {
    /// A partner client (storefront or app).
    Partner,
    /// An LAO's embedded pre-order form (anonymous).
    Embed,
    /// Entered by LAO staff or the producer.
    Staff,
}

crate::stored_as_text!(OrderStatus, DeliveryMethod, Channel);

/// Who may move an order to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mover {
    /// The buyer (order secret) or the partner that placed the order.
    Buyer,
    /// LAO staff, the producer, admins.
    Staff,
    /// The service itself (expiry).
    System,
}

/// The status machine: may `mover` take an order from `from` to `to`?
pub fn may_move(
    from: OrderStatus,
    to: OrderStatus,
    delivery: DeliveryMethod,
    mover: Mover,
) -> bool {
    use OrderStatus::*;
    match (from, to) {
        (PendingPayment, Cancelled) => mover != Mover::System,
        (PendingPayment, Expired) => mover == Mover::System,
        // Staff record a payment; the service confirms an order with nothing to pay.
        (PendingPayment, Confirmed) => mover != Mover::Buyer,
        (Confirmed, Ready) => mover == Mover::Staff,
        (Ready, Shipped) => mover == Mover::Staff && delivery == DeliveryMethod::Carrier,
        // Staff, or the service on a carrier's signed delivery event.
        (Shipped, Delivered) => mover != Mover::Buyer,
        (Ready, HandedOver) | (Ready, PickedUp) | (HandedOver, PickedUp) => {
            mover == Mover::Staff && delivery == DeliveryMethod::Pickup
        }
        (Confirmed | Ready | Shipped | HandedOver | Delivered | PickedUp, Refunded) => {
            mover == Mover::Staff
        }
        _ => false,
    }
}

/// Where an order may go next, for a mover.
pub fn next_statuses(
    from: OrderStatus,
    delivery: DeliveryMethod,
    mover: Mover,
) -> Vec<OrderStatus> {
    use strum::IntoEnumIterator;
    OrderStatus::iter()
        .filter(|to| may_move(from, *to, delivery, mover))
        .collect()
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub code: String,
    pub secret_hash: String,
    pub window_id: i64,
    pub producer_id: i64,
    pub lao_id: i64,
    pub province_code: String,
    pub district_code: String,
    pub status: OrderStatus,
    pub channel: Channel,
    pub partner_client_id: Option<i64>,
    pub created_by_user_id: Option<i64>,
    pub buyer_name: String,
    pub buyer_phone: String,
    pub buyer_email: Option<String>,
    pub buyer_line_id: Option<String>,
    pub delivery_method: DeliveryMethod,
    pub pickup_point_id: Option<i64>,
    pub note: Option<String>,
    pub units_total: i64,
    pub subtotal_satang: i64,
    pub delivery_fee_satang: i64,
    pub total_satang: i64,
    pub payment_due_at: Option<NaiveDateTime>,
    pub paid_at: Option<NaiveDateTime>,
    pub payment_reference: Option<String>,
    pub hold_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OrderRow {
    pub fn status(&self) -> OrderStatus {
        self.status
    }

    pub fn delivery_method(&self) -> DeliveryMethod {
        self.delivery_method
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The status a caller sees: an unpaid order past its deadline is expired, written or not.
    pub fn status_at(&self, now: NaiveDateTime) -> OrderStatus {
        match self.status() {
            OrderStatus::PendingPayment if self.payment_due_at.is_some_and(|d| d <= now) => {
                OrderStatus::Expired
            }
            other => other,
        }
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        constant_time_eq(&sha256_hex(secret), &self.secret_hash)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = order_lines)]
pub struct LineRow {
    pub id: i64,
    pub order_id: i64,
    pub variant_id: i64,
    pub variant_name: String,
    pub quantity: i32,
    pub units_per_item: i32,
    pub units: i64,
    pub unit_price_satang: i64,
    pub line_total_satang: i64,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = order_addresses)]
pub struct AddressRow {
    pub order_id: i64,
    pub recipient_name: String,
    pub phone: String,
    pub address_line: String,
    pub subdistrict_code: String,
    pub district_code: String,
    pub province_code: String,
    pub postal_code: String,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = order_history)]
pub struct HistoryRow {
    pub id: i64,
    pub order_id: i64,
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    pub actor: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Characters of order codes: digits and capitals without 0/O and 1/I.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A new order code, `XXXX-XXXX` (32⁸ ≈ 10¹² codes).
pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        code.push(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char);
    }
    code
}

/// An order code as a buyer may type it (lower case, without the dash, with O for 0 …).
pub fn normalize_code(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            '0' | 'O' => '0',
            '1' | 'I' => '1',
            other => other,
        })
        .collect();
    if cleaned.len() != 8 || !cleaned.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    Some(format!("{}-{}", &cleaned[..4], &cleaned[4..]))
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::code.eq(code))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// Orders by id, in no particular order (missing ids are left out).
pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<OrderRow>> {
    let mut out = Vec::with_capacity(ids.len());
    // Chunks keep the `IN (…)` lists under the backends' bind-parameter limits.
    for chunk in ids.chunks(500) {
        out.extend(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .select(OrderRow::as_select())
                .load::<OrderRow>(conn)?,
        );
    }
    Ok(out)
}

/// Orders by code, in no particular order (unknown codes are left out).
pub fn find_many_by_code(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<OrderRow>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        out.extend(
            orders::table
                .filter(orders::code.eq_any(chunk))
                .select(OrderRow::as_select())
                .load::<OrderRow>(conn)?,
        );
    }
    Ok(out)
}

/// A window's orders in one status with one delivery method, oldest first.
pub fn of_window_in_status(
    conn: &mut DbConn,
    window_id: i64,
    status: OrderStatus,
    method: DeliveryMethod,
) -> QueryResult<Vec<OrderRow>> {
    orders::table
        .filter(orders::window_id.eq(window_id))
        .filter(orders::status.eq(status.to_string()))
        .filter(orders::delivery_method.eq(method.to_string()))
        .order(orders::id)
        .select(OrderRow::as_select())
        .load(conn)
}

pub fn lines_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<LineRow>> {
    order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::id)
        .select(LineRow::as_select())
        .load(conn)
}

pub fn history_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<HistoryRow>> {
    order_history::table
        .filter(order_history::order_id.eq(order_id))
        .order(order_history::id)
        .select(HistoryRow::as_select())
        .load(conn)
}

/// What a caller may see of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everything: staff and officers of its area, the partner that placed it, the buyer with
    /// the order secret.
    Full,
    /// Status and totals only: the buyer's phone number, without the secret.
    Limited,
}

/// Who is asking about an order: a signed-in principal, and what an anonymous buyer proves
/// (the order secret, or the buyer's phone number for the short view).
#[derive(Clone, Copy, Debug, Default)]
pub struct Caller<'a> {
    pub principal: Option<&'a Principal>,
    pub secret: Option<&'a str>,
    pub phone: Option<&'a str>,
}

impl<'a> Caller<'a> {
    /// A signed-in caller presenting nothing else.
    pub fn signed_in(principal: &'a Principal) -> Caller<'a> {
        Caller {
            principal: Some(principal),
            ..Caller::default()
        }
    }
}

/// What a caller is to an order: what it may see and how it may move it. Decided in one place
/// ([`standing`]) for every order endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub view: Option<Access>,
    pub mover: Option<Mover>,
    /// Why a caller that may not act is refused: 403 for signed-in callers that are known to
    /// lack the right (an account outside the order's place, a partner without
    /// `orders:write`), 404 for anyone else (an order's existence is not revealed).
    refusal: Refusal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Hidden,
    Forbidden,
    MissingScope,
}

impl Standing {
    /// What the caller may see, or 404.
    pub fn view(self) -> ApiResult<Access> {
        self.view.ok_or_else(|| ApiError::not_found(ORDER))
    }

    /// The full view, or 404 (the short view does not open history or payment).
    pub fn full_view(self) -> ApiResult<()> {
        match self.view {
            Some(Access::Full) => Ok(()),
            _ => Err(ApiError::not_found(ORDER)),
        }
    }

    /// How the caller may move the order, or its refusal.
    pub fn mover(self) -> ApiResult<Mover> {
        self.mover.ok_or_else(|| self.refused())
    }

    /// Staff moves (payment, dispatch, refunds): a buyer (or the partner that placed the order)
    /// gets 403; anyone else its refusal.
    pub fn staff(self) -> ApiResult<()> {
        match self.mover()? {
            Mover::Staff => Ok(()),
            _ => Err(ApiError::forbidden()),
        }
    }

    fn refused(self) -> ApiError {
        match self.refusal {
            Refusal::Hidden => ApiError::not_found(ORDER),
            Refusal::Forbidden => ApiError::forbidden(),
            Refusal::MissingScope => ApiError::new(crate::error::ErrorKind::InsufficientScope)
                .with("scope", "orders:write"),
        }
    }
}

/// The rule itself, on facts already read: `place` is the order's place (its LAO and producer),
/// needed only for accounts.
///
/// - An account (staff, producer, officer, admin) sees the order in full where its role reads
///   or manages orders of the place, and moves it as staff where it manages them; otherwise it
///   is refused with 403 (it is known, and the order is not its business).
/// - A partner client sees the orders it placed with `orders:read` or `orders:write`, and moves
///   them as their buyer with `orders:write` (403 `insufficient_scope` without it).
/// - Anyone with the order secret sees it in full and moves it as its buyer; the buyer's phone
///   alone opens the short view.
pub fn decide(order: &OrderRow, place: Option<&Place>, caller: Caller<'_>) -> Standing {
    let mut standing = Standing {
        view: None,
        mover: None,
        refusal: Refusal::Hidden,
    };
    if let Some(p) = caller.principal {
        match p.partner_id() {
            Some(partner_id) if order.partner_client_id == Some(partner_id) => {
                if p.has_scope("orders:read") || p.has_scope("orders:write") {
                    standing.view = Some(Access::Full);
                }
                if p.has_scope("orders:write") {
                    standing.mover = Some(Mover::Buyer);
                } else {
                    standing.refusal = Refusal::MissingScope;
                }
            }
            Some(_) => {}
            None => {
                let manages = place.is_some_and(|pl| p.may(Action::ManageOrders, pl));
                let reads = place.is_some_and(|pl| p.may(Action::ReadArea, pl));
                if manages || reads {
                    standing.view = Some(Access::Full);
                }
                if manages {
                    standing.mover = Some(Mover::Staff);
                } else {
                    standing.refusal = Refusal::Forbidden;
                }
            }
        }
    }
    if caller.secret.is_some_and(|s| order.secret_matches(s)) {
        standing.view = Some(Access::Full);
        standing.mover = standing.mover.or(Some(Mover::Buyer));
    }
    if standing.view.is_none()
        && let Some(phone) = caller.phone.and_then(crate::validate::PhoneNumber::parse)
        && phone.e164() == order.buyer_phone
    {
        standing.view = Some(Access::Limited);
    }
    standing
}

/// What `caller` is to `order` (reads the order's LAO when the caller is an account).
pub fn standing(conn: &mut DbConn, order: &OrderRow, caller: Caller<'_>) -> ApiResult<Standing> {
    let place = match caller.principal {
        Some(p) if p.partner_id().is_none() => {
            let lao: LaoRow = laos::table
                .find(order.lao_id)
                .select(LaoRow::as_select())
                .first(conn)?;
            Some(lao.place().with_producer(order.producer_id))
        }
        _ => None,
    };
    Ok(decide(order, place.as_ref(), caller))
}

/// The buyer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BuyerView {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub line_id: Option<String>,
}

/// A carrier delivery address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub recipient_name: String,
    pub phone: String,
    pub address_line: String,
    pub subdistrict_code: String,
    pub district_code: String,
    pub province_code: String,
    pub postal_code: String,
    /// Thai names of the subdistrict, district and province (from the DOPA geography), as a
    /// label or a carrier's form wants them.
    pub subdistrict_name_th: String,
    pub district_name_th: String,
    pub province_name_th: String,
}

impl AddressView {
    /// The address as one Thai line for a label or a packing list:
    /// `หมู่ 3 ต.แม่ปะ อ.แม่สอด จ.ตาก 63110` (Bangkok writes แขวง/เขต, without จ.; DOPA's
    /// names of Bangkok's districts already begin with เขต).
    pub fn one_line_th(&self) -> String {
        let bangkok = self.province_code == "10";
        let (sub, dist) = if bangkok {
            let dist = if self.district_name_th.starts_with("เขต") {
                ""
            } else {
                "เขต"
            };
            ("แขวง", dist)
        } else {
            ("ต.", "อ.")
        };
        let province = if bangkok {
            self.province_name_th.clone()
        } else {
            format!("จ.{}", self.province_name_th)
        };
        format!(
            "{} {sub}{} {dist}{} {province} {}",
            self.address_line, self.subdistrict_name_th, self.district_name_th, self.postal_code
        )
    }
}

/// How the goods reach the buyer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub method: DeliveryMethod,
    pub pickup_point: Option<PickupPoint>,
    pub address: Option<AddressView>,
}

/// A line of an order, at the price it was placed at.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LineView {
    pub variant_id: i64,
    pub name: String,
    pub quantity: i32,
    pub units_per_item: i32,
    pub units: i64,
    pub unit_price_satang: i64,
    pub line_total_satang: i64,
}

/// Payment of an order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// Unpaid orders expire at this time.
    pub due_at: Option<DateTime<FixedOffset>>,
    pub paid_at: Option<DateTime<FixedOffset>>,
    pub reference: Option<String>,
}

/// A step of a shipment's tracking history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShipmentEventView {
    /// Normalised: `accepted`, `in_transit`, `out_for_delivery`, `failed_attempt`,
    /// `delivered`, `returned`, or `info` (a carrier code that changes nothing).
    pub status: String,
    pub status_th: String,
    /// The carrier's own code (Thailand Post: `501`, …), as it sent it.
    pub status_code: Option<String>,
    /// When the carrier says it happened, Bangkok time.
    pub occurred_at: DateTime<FixedOffset>,
    pub location: Option<String>,
    pub description: Option<String>,
}

/// How an order travels once packed: the carrier, its tracking number and history. Filled by
/// the logistics room through [`set_shipment_lookup`].
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    /// `thailand_post`, `flash`, `kerry`, `jt`, `local` (a local driver) or `pickup`.
    pub carrier: String,
    pub carrier_name_th: String,
    pub carrier_name_en: String,
    pub dispatch_batch_id: i64,
    /// Bangkok date the parcel leaves.
    pub dispatch_date: chrono::NaiveDate,
    pub tracking_number: Option<String>,
    /// The carrier's public tracking page for this parcel (some carriers' pages take no
    /// number: copy `tracking_number` into them).
    pub tracking_url: Option<String>,
    pub parcels: i32,
    /// `packed` (in an open batch), `handed_over`, then the carrier's normalised statuses as in
    /// `history`, or `picked_up`.
    pub status: String,
    pub status_th: String,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    /// Oldest first.
    pub history: Vec<ShipmentEventView>,
}

/// Reads the shipments of orders by order id (the logistics room's, set at start-up).
pub type ShipmentLookup =
    fn(&mut DbConn, &[i64]) -> QueryResult<std::collections::HashMap<i64, ShipmentView>>;

static SHIPMENT_LOOKUP: std::sync::OnceLock<ShipmentLookup> = std::sync::OnceLock::new();

/// The hook through which a room above (logistics) shows shipments in order views, without
/// orders calling up into it. Set once; later calls are ignored.
pub fn set_shipment_lookup(lookup: ShipmentLookup) {
    let _ = SHIPMENT_LOOKUP.set(lookup);
}

/// An order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Order {
    /// The order code, e.g. `7KQ3-XPMA`: read it over the phone or LINE.
    pub code: String,
    /// Shown only in the answer that created the order: the buyer's key to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub status: OrderStatus,
    pub status_th: String,
    pub channel: Channel,
    pub window: WindowRef,
    pub producer_id: i64,
    pub lao: LaoSummary,
    pub buyer: BuyerView,
    pub delivery: DeliveryView,
    /// Once the order is in a dispatch batch: the carrier, tracking number and history.
    pub shipment: Option<ShipmentView>,
    pub lines: Vec<LineView>,
    pub unit: String,
    pub units_total: i64,
    pub subtotal_satang: i64,
    pub delivery_fee_satang: i64,
    pub total_satang: i64,
    pub payment: PaymentView,
    pub note: Option<String>,
    /// Statuses staff may move the order to now.
    pub next_statuses: Vec<OrderStatus>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// What a buyer sees with only the phone number.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    pub code: String,
    pub status: OrderStatus,
    pub status_th: String,
    pub window: WindowRef,
    pub delivery_method: DeliveryMethod,
    pub units_total: i64,
    pub total_satang: i64,
    pub payment_due_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WindowRef {
    pub id: i64,
    pub title: String,
    pub harvest_start: chrono::NaiveDate,
    pub harvest_end: chrono::NaiveDate,
}

impl From<&WindowRow> for WindowRef {
    fn from(w: &WindowRow) -> Self {
        WindowRef {
            id: w.id,
            title: w.title.clone(),
            harvest_start: w.harvest_start,
            harvest_end: w.harvest_end,
        }
    }
}

/// An order as the API shows it in full.
pub fn view(conn: &mut DbConn, order: OrderRow, now: NaiveDateTime) -> ApiResult<Order> {
    views(conn, vec![order], now)?
        .pop()
        .ok_or_else(|| ApiError::internal("an order's view went missing"))
}

/// Orders as the API shows them, in the given order: four queries (windows with their LAOs,
/// lines, pickup points, addresses) for each 500 orders, not four per order.
pub fn views(conn: &mut DbConn, rows: Vec<OrderRow>, now: NaiveDateTime) -> ApiResult<Vec<Order>> {
    // Chunks keep the `IN (…)` lists well under SQLite's and PostgreSQL's bind-parameter limits.
    const CHUNK: usize = 500;
    let mut out = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<OrderRow> = rows.by_ref().take(CHUNK).collect();
        out.extend(views_of_chunk(conn, chunk, now)?);
    }
    Ok(out)
}

fn views_of_chunk(
    conn: &mut DbConn,
    rows: Vec<OrderRow>,
    now: NaiveDateTime,
) -> ApiResult<Vec<Order>> {
    use std::collections::HashMap;
    let order_ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let window_ids: Vec<i64> = rows.iter().map(|o| o.window_id).collect();
    let pickup_ids: Vec<i64> = rows.iter().filter_map(|o| o.pickup_point_id).collect();
    let windows: HashMap<i64, (WindowRow, LaoRow)> = preorder_windows::table
        .inner_join(laos::table.on(laos::id.eq(preorder_windows::lao_id)))
        .filter(preorder_windows::id.eq_any(&window_ids))
        .select((WindowRow::as_select(), LaoRow::as_select()))
        .load::<(WindowRow, LaoRow)>(conn)?
        .into_iter()
        .map(|(window, lao)| (window.id, (window, lao)))
        .collect();
    let mut lines: HashMap<i64, Vec<LineView>> = HashMap::new();
    for line in order_lines::table
        .filter(order_lines::order_id.eq_any(&order_ids))
        .order(order_lines::id)
        .select(LineRow::as_select())
        .load::<LineRow>(conn)?
    {
        lines
            .entry(line.order_id)
            .or_default()
            .push(LineView::from(line));
    }
    let pickups: HashMap<i64, PickupRow> = if pickup_ids.is_empty() {
        HashMap::new()
    } else {
        pickup_points::table
            .filter(pickup_points::id.eq_any(&pickup_ids))
            .select(PickupRow::as_select())
            .load::<PickupRow>(conn)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect()
    };
    let mut addresses: HashMap<i64, AddressRow> = order_addresses::table
        .filter(order_addresses::order_id.eq_any(&order_ids))
        .select(AddressRow::as_select())
        .load::<AddressRow>(conn)?
        .into_iter()
        .map(|a| (a.order_id, a))
        .collect();
    let subdistricts: Vec<String> = addresses
        .values()
        .map(|a| a.subdistrict_code.clone())
        .collect();
    let names = crate::geo::model::area_names_th(conn, &subdistricts)?;
    let mut shipments = match SHIPMENT_LOOKUP.get() {
        Some(lookup) => lookup(conn, &order_ids)?,
        None => HashMap::new(),
    };
    rows.into_iter()
        .map(|order| {
            let (window, lao) = windows
                .get(&order.window_id)
                .ok_or_else(|| ApiError::internal("an order's window is missing"))?;
            // A pickup point serves several orders: each view takes its own copy.
            let pickup = order
                .pickup_point_id
                .and_then(|id| pickups.get(&id).cloned());
            let order_lines = lines.remove(&order.id).unwrap_or_default();
            let address = addresses.remove(&order.id).map(|a| {
                let area = names.get(&a.subdistrict_code).cloned();
                AddressView::from_row(a, area)
            });
            let shipment = shipments.remove(&order.id);
            let mut view = assemble(order, window, lao, order_lines, pickup, address, now);
            view.shipment = shipment;
            Ok(view)
        })
        .collect()
}

/// An order's full view from its parts (when placing one, they are all at hand).
pub fn assemble(
    order: OrderRow,
    window: &WindowRow,
    lao: &LaoRow,
    lines: Vec<LineView>,
    pickup: Option<PickupRow>,
    address: Option<AddressView>,
    now: NaiveDateTime,
) -> Order {
    let status = order.status_at(now);
    let method = order.delivery_method();
    Order {
        code: order.code,
        secret: None,
        status,
        status_th: status.name_th().to_string(),
        channel: order.channel,
        window: WindowRef::from(window),
        producer_id: order.producer_id,
        lao: LaoSummary::from(lao),
        buyer: BuyerView {
            name: order.buyer_name,
            phone: order.buyer_phone,
            email: order.buyer_email,
            line_id: order.buyer_line_id,
        },
        delivery: DeliveryView {
            method,
            pickup_point: pickup.map(PickupPoint::from),
            address,
        },
        shipment: None,
        lines,
        unit: window.unit.clone(),
        units_total: order.units_total,
        subtotal_satang: order.subtotal_satang,
        delivery_fee_satang: order.delivery_fee_satang,
        total_satang: order.total_satang,
        payment: PaymentView {
            due_at: order.payment_due_at.map(to_bangkok),
            paid_at: order.paid_at.map(to_bangkok),
            reference: order.payment_reference,
        },
        note: order.note,
        next_statuses: next_statuses(status, method, Mover::Staff),
        created_at: to_bangkok(order.created_at),
        updated_at: to_bangkok(order.updated_at),
    }
}

impl From<LineRow> for LineView {
    fn from(l: LineRow) -> Self {
        LineView {
            variant_id: l.variant_id,
            name: l.variant_name,
            quantity: l.quantity,
            units_per_item: l.units_per_item,
            units: l.units,
            unit_price_satang: l.unit_price_satang,
            line_total_satang: l.line_total_satang,
        }
    }
}

impl AddressView {
    /// A stored address with its area's Thai names (empty if the geography lost the code).
    fn from_row(a: AddressRow, area: Option<crate::geo::model::AreaNamesTh>) -> Self {
        let area = area.unwrap_or(crate::geo::model::AreaNamesTh {
            subdistrict: String::new(),
            district: String::new(),
            province: String::new(),
        });
        AddressView {
            recipient_name: a.recipient_name,
            phone: a.phone,
            address_line: a.address_line,
            subdistrict_code: a.subdistrict_code,
            district_code: a.district_code,
            province_code: a.province_code,
            postal_code: a.postal_code,
            subdistrict_name_th: area.subdistrict,
            district_name_th: area.district,
            province_name_th: area.province,
        }
    }
}

/// The limited view.
pub fn summary(conn: &mut DbConn, order: OrderRow, now: NaiveDateTime) -> ApiResult<OrderSummary> {
    let window: WindowRow = preorder_windows::table
        .find(order.window_id)
        .select(WindowRow::as_select())
        .first(conn)?;
    let status = order.status_at(now);
    let delivery_method = order.delivery_method();
    Ok(OrderSummary {
        code: order.code,
        status,
        status_th: status.name_th().to_string(),
        window: WindowRef::from(&window),
        delivery_method,
        units_total: order.units_total,
        total_satang: order.total_satang,
        payment_due_at: order.payment_due_at.map(to_bangkok),
        created_at: to_bangkok(order.created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::{Area, Role, Subject};

    #[test]
    fn an_address_reads_as_one_thai_line_in_bangkok_and_elsewhere() {
        let mut a = AddressView {
            recipient_name: "สมหญิง".into(),
            phone: "0891234567".into(),
            address_line: "99/1 ถนนพหลโยธิน".into(),
            subdistrict_code: "630601".into(),
            district_code: "6306".into(),
            province_code: "63".into(),
            postal_code: "63110".into(),
            subdistrict_name_th: "แม่สอด".into(),
            district_name_th: "แม่สอด".into(),
            province_name_th: "ตาก".into(),
        };
        assert_eq!(
            a.one_line_th(),
            "99/1 ถนนพหลโยธิน ต.แม่สอด อ.แม่สอด จ.ตาก 63110"
        );
        a.province_code = "10".into();
        a.subdistrict_name_th = "พระบรมมหาราชวัง".into();
        a.district_name_th = "เขตพระนคร".into();
        a.province_name_th = "กรุงเทพมหานคร".into();
        a.postal_code = "10200".into();
        assert_eq!(
            a.one_line_th(),
            "99/1 ถนนพหลโยธิน แขวงพระบรมมหาราชวัง เขตพระนคร กรุงเทพมหานคร 10200"
        );
    }

    fn person(role: Role, area: Area) -> Principal {
        Principal {
            subject: Subject::User(7),
            role,
            area,
            scopes: vec![],
            session_id: "s".into(),
            name: "t".into(),
        }
    }

    fn client(id: i64, scopes: &[&str]) -> Principal {
        Principal {
            subject: Subject::Partner(id),
            role: Role::Partner,
            area: Area::default(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            session_id: "s".into(),
            name: "c".into(),
        }
    }

    fn order() -> OrderRow {
        OrderRow {
            id: 1,
            code: "7KQ3-XPMA".into(),
            secret_hash: sha256_hex("the-secret"),
            window_id: 1,
            producer_id: 9,
            lao_id: 1,
            province_code: "63".into(),
            district_code: "6306".into(),
            status: OrderStatus::PendingPayment,
            channel: Channel::Partner,
            partner_client_id: Some(3),
            created_by_user_id: None,
            buyer_name: "ก".into(),
            buyer_phone: "+66891234567".into(),
            buyer_email: None,
            buyer_line_id: None,
            delivery_method: DeliveryMethod::Pickup,
            pickup_point_id: None,
            note: None,
            units_total: 1,
            subtotal_satang: 100,
            delivery_fee_satang: 0,
            total_satang: 100,
            payment_due_at: None,
            paid_at: None,
            payment_reference: None,
            hold_id: None,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
        }
    }

    /// Who may see and move an order, in one table: every caller the API knows.
    #[test]
    fn one_rule_decides_who_sees_and_moves_an_order() {
        let o = order();
        let place = Place {
            province_code: "63".into(),
            district_code: "6306".into(),
            lao_id: Some(1),
            producer_id: Some(9),
            province_wide: false,
        };
        let lao = |id| Area {
            province_code: Some("63".into()),
            district_code: Some("6306".into()),
            lao_id: Some(id),
            producer_id: None,
        };
        let staff = person(Role::LaoStaff, lao(1));
        let other_staff = person(Role::LaoStaff, lao(2));
        let officer = person(
            Role::DistrictOfficer,
            Area {
                province_code: Some("63".into()),
                district_code: Some("6306".into()),
                ..Area::default()
            },
        );
        let producer = person(
            Role::Producer,
            Area {
                producer_id: Some(9),
                ..lao(1)
            },
        );
        let other_producer = person(
            Role::Producer,
            Area {
                producer_id: Some(10),
                ..lao(1)
            },
        );
        let admin = person(Role::Admin, Area::default());
        let writer = client(3, &["orders:write"]);
        let reader = client(3, &["orders:read"]);
        let stranger = client(4, &["orders:write", "orders:read"]);
        let ask = |p: Option<&Principal>, secret: Option<&str>, phone: Option<&str>| {
            decide(
                &o,
                Some(&place),
                Caller {
                    principal: p,
                    secret,
                    phone,
                },
            )
        };
        let seen = |s: Standing| (s.view, s.mover, s.mover().err().map(|e| e.kind()));
        use crate::error::ErrorKind as K;
        use Access::{Full, Limited};
        type Seen = (Option<Access>, Option<Mover>, Option<K>);
        let cases: Vec<(&str, Standing, Seen)> = vec![
            (
                "staff",
                ask(Some(&staff), None, None),
                (Some(Full), Some(Mover::Staff), None),
            ),
            (
                "its producer",
                ask(Some(&producer), None, None),
                (Some(Full), Some(Mover::Staff), None),
            ),
            (
                "admin",
                ask(Some(&admin), None, None),
                (Some(Full), Some(Mover::Staff), None),
            ),
            (
                "officer",
                ask(Some(&officer), None, None),
                (Some(Full), None, Some(K::Forbidden)),
            ),
            (
                "other staff",
                ask(Some(&other_staff), None, None),
                (None, None, Some(K::Forbidden)),
            ),
            (
                "other producer",
                ask(Some(&other_producer), None, None),
                (None, None, Some(K::Forbidden)),
            ),
            (
                "placing partner",
                ask(Some(&writer), None, None),
                (Some(Full), Some(Mover::Buyer), None),
            ),
            (
                "read-only partner",
                ask(Some(&reader), None, None),
                (Some(Full), None, Some(K::InsufficientScope)),
            ),
            (
                "other partner",
                ask(Some(&stranger), None, None),
                (None, None, Some(K::NotFound)),
            ),
            (
                "secret",
                ask(None, Some("the-secret"), None),
                (Some(Full), Some(Mover::Buyer), None),
            ),
            (
                "wrong secret",
                ask(None, Some("guess"), None),
                (None, None, Some(K::NotFound)),
            ),
            (
                "phone",
                ask(None, None, Some("089 123 4567")),
                (Some(Limited), None, Some(K::NotFound)),
            ),
            (
                "other phone",
                ask(None, None, Some("0800000000")),
                (None, None, Some(K::NotFound)),
            ),
            (
                "other staff with the secret",
                ask(Some(&other_staff), Some("the-secret"), None),
                (Some(Full), Some(Mover::Buyer), None),
            ),
            (
                "nobody",
                ask(None, None, None),
                (None, None, Some(K::NotFound)),
            ),
        ];
        for (who, standing, expected) in cases {
            assert_eq!(seen(standing), expected, "{who}");
        }
        // Staff moves: buyers and partners are refused with 403, strangers keep their refusal.
        assert!(ask(Some(&staff), None, None).staff().is_ok());
        assert_eq!(
            ask(None, Some("the-secret"), None)
                .staff()
                .unwrap_err()
                .kind(),
            K::Forbidden
        );
        assert_eq!(
            ask(Some(&writer), None, None).staff().unwrap_err().kind(),
            K::Forbidden
        );
        assert_eq!(
            ask(None, None, None).staff().unwrap_err().kind(),
            K::NotFound
        );
        assert_eq!(
            ask(None, None, Some("0891234567"))
                .full_view()
                .unwrap_err()
                .kind(),
            K::NotFound
        );
    }

    #[test]
    fn codes_are_unambiguous() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            assert_eq!(
                normalize_code(&code.to_lowercase()).as_deref(),
                Some(code.as_str())
            );
        }
        assert_eq!(normalize_code("7kq3 xpma").as_deref(), Some("7KQ3-XPMA"));
        assert_eq!(normalize_code("7KQ3-XPM"), None);
        assert_eq!(normalize_code("7KQ3-XPM0"), None, "0 is never in a code");
    }

    #[test]
    fn the_status_machine() {
        use DeliveryMethod::*;
        use OrderStatus::*;
        assert!(may_move(PendingPayment, Confirmed, Pickup, Mover::Staff));
        assert!(!may_move(PendingPayment, Confirmed, Pickup, Mover::Buyer));
        assert!(may_move(PendingPayment, Cancelled, Pickup, Mover::Buyer));
        assert!(
            !may_move(Confirmed, Cancelled, Pickup, Mover::Buyer),
            "paid orders are refunded, not cancelled"
        );
        assert!(may_move(PendingPayment, Expired, Pickup, Mover::System));
        assert!(!may_move(PendingPayment, Expired, Pickup, Mover::Staff));
        assert!(may_move(Ready, Shipped, Carrier, Mover::Staff));
        assert!(!may_move(Ready, Shipped, Pickup, Mover::Staff));
        assert!(may_move(Ready, PickedUp, Pickup, Mover::Staff));
        assert!(!may_move(Delivered, Ready, Carrier, Mover::Staff));
        assert!(!may_move(Cancelled, Confirmed, Carrier, Mover::Staff));
        assert_eq!(
            next_statuses(Ready, Pickup, Mover::Staff),
            vec![HandedOver, PickedUp, Refunded]
        );
    }
}

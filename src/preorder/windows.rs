//! Pre-order windows: one product, one harvest, sold ahead within a capacity.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::policy::{Action, Place};
use crate::auth::principal::{Principal, Role};
use crate::capacity::ledger::{self, Movement};
use crate::catalog::crops::{CropRow, SaleUnit};
use crate::catalog::producers::{LaoSummary, ProducerRow};
use crate::catalog::products::ProductRow;
use crate::clock::{to_bangkok, to_storage};
use crate::db::DbConn;
use crate::db::schema::{
    crops, districts, holds, laos, pickup_points, preorder_windows as w, producers, products,
    provinces, waitlist_entries, window_variants,
};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param};
use crate::geo::model::{AreaName, District, Province};
use crate::i18n::Text;
use crate::laos::model::LaoRow;
use crate::outbox;

pub const WINDOW: Text = Text {
    en: "pre-order window",
    th: "รอบพรีออเดอร์",
};
pub const VARIANT: Text = Text {
    en: "variant",
    th: "ตัวเลือกสินค้า",
};
pub const PICKUP_POINT: Text = Text {
    en: "pickup point",
    th: "จุดรับสินค้า",
};

/// Longest a hold may last, in minutes.
pub const MAX_HOLD_MINUTES: i32 = 60;

/// What people decided about a window.
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
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Lifecycle {
    Draft,
    Published,
    Closed,
    Harvested,
    Fulfilled,
    Cancelled,
}

/// Where a window stands now: from its lifecycle, its times and its capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WindowStatus {
    /// Not published yet.
    Draft,
    /// Published, opens later.
    Scheduled,
    /// Taking holds and orders.
    Open,
    /// Open, but every unit is held or sold (units may come back when holds lapse).
    SoldOut,
    /// Past its closing time, or closed early.
    Closed,
    Harvested,
    Fulfilled,
    Cancelled,
}

impl WindowStatus {
    /// The status as people read it in English (problem texts).
    pub fn label_en(self) -> &'static str {
        match self {
            WindowStatus::Draft => "a draft",
            WindowStatus::Scheduled => "scheduled",
            WindowStatus::Open => "open",
            WindowStatus::SoldOut => "sold out",
            WindowStatus::Closed => "closed",
            WindowStatus::Harvested => "harvested",
            WindowStatus::Fulfilled => "fulfilled",
            WindowStatus::Cancelled => "cancelled",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            WindowStatus::Draft => "ฉบับร่าง",
            WindowStatus::Scheduled => "รอเปิดรับจอง",
            WindowStatus::Open => "เปิดรับจอง",
            WindowStatus::SoldOut => "เต็มแล้ว",
            WindowStatus::Closed => "ปิดรับจอง",
            WindowStatus::Harvested => "เก็บเกี่ยวแล้ว",
            WindowStatus::Fulfilled => "ส่งมอบครบแล้ว",
            WindowStatus::Cancelled => "ยกเลิก",
        }
    }

    /// Whether holds and orders may be taken.
    pub fn takes_orders(self) -> bool {
        matches!(self, WindowStatus::Open | WindowStatus::SoldOut)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = w)]
pub struct WindowRow {
    pub id: i64,
    pub product_id: i64,
    pub producer_id: i64,
    pub lao_id: i64,
    pub province_code: String,
    pub district_code: String,
    pub crop_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub unit: String,
    pub opens_at: NaiveDateTime,
    pub closes_at: NaiveDateTime,
    pub harvest_start: NaiveDate,
    pub harvest_end: NaiveDate,
    pub capacity: i64,
    pub held: i64,
    pub sold: i64,
    pub min_items_per_order: i32,
    pub max_items_per_order: Option<i32>,
    pub max_units_per_buyer: Option<i64>,
    pub hold_minutes: i32,
    pub waitlist_offer_minutes: i32,
    pub payment_window_hours: Option<i32>,
    pub delivery_fee_kind: Option<FeeKind>,
    pub delivery_fee_satang: Option<i64>,
    pub lifecycle: Lifecycle,
    pub lifecycle_changed_at: NaiveDateTime,
    pub cancel_reason: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub ship_within_days: Option<i32>,
}

impl WindowRow {
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// The status at `now`, counting `held` as given (pass the effective figure for reads).
    pub fn status_with(&self, now: NaiveDateTime, held: i64) -> WindowStatus {
        match self.lifecycle() {
            Lifecycle::Draft => WindowStatus::Draft,
            Lifecycle::Cancelled => WindowStatus::Cancelled,
            Lifecycle::Fulfilled => WindowStatus::Fulfilled,
            Lifecycle::Harvested => WindowStatus::Harvested,
            Lifecycle::Closed => WindowStatus::Closed,
            Lifecycle::Published if now >= self.closes_at => WindowStatus::Closed,
            Lifecycle::Published if now < self.opens_at => WindowStatus::Scheduled,
            Lifecycle::Published if held + self.sold >= self.capacity => WindowStatus::SoldOut,
            Lifecycle::Published => WindowStatus::Open,
        }
    }

    pub fn status(&self, now: NaiveDateTime) -> WindowStatus {
        self.status_with(now, self.held)
    }

    pub fn delivery(&self) -> Option<Delivery> {
        Some(Delivery {
            fee_kind: self.delivery_fee_kind?,
            fee_satang: self.delivery_fee_satang.unwrap_or(0),
        })
    }

    /// The window's place: its producer's.
    pub fn place(&self, lao: &LaoRow) -> Place {
        lao.place().with_producer(self.producer_id)
    }

    /// Refuses holds and orders unless the window takes them now.
    pub fn require_open(&self, now: NaiveDateTime) -> ApiResult<()> {
        match self.status(now) {
            WindowStatus::Open | WindowStatus::SoldOut => Ok(()),
            WindowStatus::Draft | WindowStatus::Scheduled => {
                let opens_at = to_bangkok(self.opens_at);
                let (en, th) = crate::i18n::date_time_both(opens_at);
                Err(ApiError::new(ErrorKind::WindowNotOpen)
                    .with("opens", Param::both(en, th))
                    .extra("opens_at", opens_at.to_rfc3339())
                    .extra("status", self.status(now)))
            }
            status => {
                // When staff closed it early, that moment; otherwise its closing time.
                let closed_at = match self.lifecycle {
                    Lifecycle::Published => self.closes_at.min(now),
                    _ => self.lifecycle_changed_at.min(self.closes_at),
                };
                Err(ApiError::new(ErrorKind::WindowClosed)
                    .with("status", Param::both(status.label_en(), status.name_th()))
                    .extra("window_status", status)
                    .extra("closed_at", to_bangkok(closed_at).to_rfc3339()))
            }
        }
    }
}

crate::stored_as_text!(Lifecycle, FeeKind);

/// How carrier delivery is charged.
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
pub enum FeeKind {
    /// One fee per order.
    Flat,
    /// A fee per unit of capacity (per kg, per piece …).
    PerUnit,
}

/// Carrier delivery offered by a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub fee_kind: FeeKind,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub fee_satang: i64,
}

impl Delivery {
    /// The fee for an order of `units`.
    pub fn fee_for(&self, units: i64) -> i64 {
        match self.fee_kind {
            FeeKind::Flat => self.fee_satang,
            FeeKind::PerUnit => self.fee_satang.saturating_mul(units),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = window_variants)]
pub struct VariantRow {
    pub id: i64,
    pub window_id: i64,
    pub name: String,
    pub units_per_item: i32,
    pub price_satang: i64,
    pub active: bool,
    pub sort_order: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = pickup_points)]
pub struct PickupRow {
    pub id: i64,
    pub window_id: i64,
    pub name: String,
    pub address: String,
    pub subdistrict_code: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub notes: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A variant as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 4, "name": "กล่อง 5 กก.", "units_per_item": 5, "price_satang": 45000, "active": true, "sort_order": 0, "items_available": 12}))]
pub struct Variant {
    pub id: i64,
    /// e.g. "กล่อง 5 กก."
    pub name: String,
    /// Units of capacity one item consumes.
    pub units_per_item: i32,
    /// Price of one item, in satang (฿1 = 100 satang).
    pub price_satang: i64,
    pub active: bool,
    pub sort_order: i32,
    /// Items one order can still take (capacity left, order maximum).
    pub items_available: i64,
}

/// A pickup point as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PickupPoint {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub subdistrict_code: Option<String>,
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
    pub notes: Option<String>,
    pub active: bool,
}

impl From<PickupRow> for PickupPoint {
    fn from(p: PickupRow) -> Self {
        PickupPoint {
            id: p.id,
            name: p.name,
            address: p.address,
            subdistrict_code: p.subdistrict_code,
            starts_at: to_bangkok(p.starts_at),
            ends_at: to_bangkok(p.ends_at),
            notes: p.notes,
            active: p.active,
        }
    }
}

/// What a window references, in short.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Ref {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CropRef {
    pub slug: String,
    pub name_th: String,
    pub name_en: String,
}

/// A pre-order window.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Window {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub status: WindowStatus,
    pub status_th: String,
    pub lifecycle: Lifecycle,
    pub product: Ref,
    /// The product's photos, each in several sizes (for `srcset`).
    pub photos: Vec<crate::catalog::products::ProductPhoto>,
    pub crop: CropRef,
    pub producer: Ref,
    pub lao: LaoSummary,
    pub district: AreaName,
    pub province: AreaName,
    /// The unit capacity counts in (the crop's sale unit), e.g. `kg`.
    pub unit: String,
    pub unit_th: String,
    pub opens_at: DateTime<FixedOffset>,
    pub closes_at: DateTime<FixedOffset>,
    pub harvest_start: NaiveDate,
    pub harvest_end: NaiveDate,
    pub capacity: i64,
    pub sold: i64,
    /// Units in holds that have not expired.
    pub held: i64,
    pub available: i64,
    pub variants: Vec<Variant>,
    pub min_items_per_order: i32,
    pub max_items_per_order: Option<i32>,
    /// Most units one buyer (by phone) may take from the window.
    pub max_units_per_buyer: Option<i64>,
    pub hold_minutes: i32,
    pub waitlist_offer_minutes: i32,
    /// Unpaid orders expire after this many hours.
    pub payment_window_hours: Option<i32>,
    /// Perishable goods: orders must be dispatched at most this many days after `harvest_end`
    /// (dispatch batches past that date are refused).
    pub ship_within_days: Option<i32>,
    /// Whether buyers pay by PromptPay QR (the producer has a PromptPay id); otherwise the
    /// order's payment endpoints answer 409 `promptpay_not_available` and the LAO tells the
    /// buyer how to pay. Orders with nothing to pay need no payment either way.
    pub promptpay_available: bool,
    pub pickup_points: Vec<PickupPoint>,
    /// Carrier delivery, when offered.
    pub delivery: Option<Delivery>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

/// A window with everything its view needs.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub row: WindowRow,
    pub product: ProductRow,
    pub crop: CropRow,
    pub producer: ProducerRow,
    pub lao: LaoRow,
    pub district: District,
    pub province: Province,
    pub variants: Vec<VariantRow>,
    pub pickups: Vec<PickupRow>,
    /// The product's uploaded photos, in order.
    pub photos: Vec<crate::catalog::products::ProductPhoto>,
    /// Units of holds past their expiry that nothing has expired yet.
    pub stale_held: i64,
    /// Units of unpaid orders past their deadline that nothing has expired yet.
    pub stale_sold: i64,
}

impl Loaded {
    pub fn effective_held(&self) -> i64 {
        (self.row.held - self.stale_held).max(0)
    }

    pub fn effective_sold(&self) -> i64 {
        (self.row.sold - self.stale_sold).max(0)
    }

    pub fn available(&self) -> i64 {
        (self.row.capacity - self.effective_sold() - self.effective_held()).max(0)
    }

    /// Units of the smallest order the window takes now: its per-order minimum of items of its
    /// smallest active variant (`None`: no active variant).
    pub fn smallest_order_units(&self) -> Option<i64> {
        self.variants
            .iter()
            .filter(|v| v.active)
            .map(|v| i64::from(v.units_per_item))
            .min()
            .map(|units| units * i64::from(self.row.min_items_per_order))
    }

    /// Whether the smallest order the window takes fits in what is free now (lapsed holds and
    /// unpaid orders past their deadline count as free).
    pub fn can_sell_now(&self) -> bool {
        self.smallest_order_units()
            .is_some_and(|units| units <= self.available())
    }

    pub fn view(self, now: NaiveDateTime) -> Window {
        let held = self.effective_held();
        let sold = self.effective_sold();
        let available = self.available();
        // The status compares held + sold with capacity: pass held corrected for stale sales too.
        // An open window where not even the smallest order fits is sold out to a buyer.
        let status = match self.row.status_with(now, held - self.stale_sold) {
            WindowStatus::Open if !self.can_sell_now() => WindowStatus::SoldOut,
            status => status,
        };
        let max_items = self.row.max_items_per_order.map(i64::from);
        let unit: Option<SaleUnit> = self.row.unit.parse().ok();
        let promptpay_available = self.producer.promptpay().is_some();
        let r = self.row;
        Window {
            id: r.id,
            status_th: status.name_th().to_string(),
            status,
            lifecycle: r.lifecycle(),
            delivery: r.delivery(),
            product: Ref {
                id: self.product.id,
                name: self.product.title,
            },
            photos: self.photos,
            crop: CropRef {
                slug: self.crop.slug,
                name_th: self.crop.name_th,
                name_en: self.crop.name_en,
            },
            producer: Ref {
                id: self.producer.id,
                name: self.producer.display_name,
            },
            lao: LaoSummary::from(&self.lao),
            district: self.district.into(),
            province: self.province.into(),
            unit_th: unit
                .map(|u| u.name_th().to_string())
                .unwrap_or_else(|| r.unit.clone()),
            unit: r.unit,
            title: r.title,
            description: r.description,
            opens_at: to_bangkok(r.opens_at),
            closes_at: to_bangkok(r.closes_at),
            harvest_start: r.harvest_start,
            harvest_end: r.harvest_end,
            capacity: r.capacity,
            sold,
            held,
            available,
            variants: self
                .variants
                .into_iter()
                .map(|v| {
                    let by_capacity = available / i64::from(v.units_per_item.max(1));
                    Variant {
                        items_available: if v.active {
                            max_items.map_or(by_capacity, |m| by_capacity.min(m))
                        } else {
                            0
                        },
                        id: v.id,
                        name: v.name,
                        units_per_item: v.units_per_item,
                        price_satang: v.price_satang,
                        active: v.active,
                        sort_order: v.sort_order,
                    }
                })
                .collect(),
            min_items_per_order: r.min_items_per_order,
            max_items_per_order: r.max_items_per_order,
            max_units_per_buyer: r.max_units_per_buyer,
            hold_minutes: r.hold_minutes,
            waitlist_offer_minutes: r.waitlist_offer_minutes,
            payment_window_hours: r.payment_window_hours,
            ship_within_days: r.ship_within_days,
            promptpay_available,
            pickup_points: self.pickups.into_iter().map(PickupPoint::from).collect(),
            cancel_reason: r.cancel_reason,
            created_at: to_bangkok(r.created_at),
            updated_at: to_bangkok(r.updated_at),
        }
    }
}

macro_rules! joined_windows {
    () => {
        w::table
            .inner_join(products::table)
            .inner_join(crops::table)
            .inner_join(
                producers::table
                    .inner_join(
                        laos::table.inner_join(districts::table.inner_join(provinces::table)),
                    )
                    .on(producers::id.eq(w::producer_id)),
            )
    };
}

macro_rules! joined_select {
    () => {
        (
            WindowRow::as_select(),
            ProductRow::as_select(),
            CropRow::as_select(),
            ProducerRow::as_select(),
            LaoRow::as_select(),
            District::as_select(),
            Province::as_select(),
        )
    };
}

type JoinedRow = (
    WindowRow,
    ProductRow,
    CropRow,
    ProducerRow,
    LaoRow,
    District,
    Province,
);

/// Adds variants, pickup points, photos, lapsed holds and lapsed unpaid orders to windows: at
/// most five queries whatever their number, three when no window of them holds units or has
/// unpaid orders with a payment deadline.
fn complete(
    conn: &mut DbConn,
    rows: Vec<JoinedRow>,
    now: NaiveDateTime,
) -> QueryResult<Vec<Loaded>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let mut variants: HashMap<i64, Vec<VariantRow>> = HashMap::new();
    for v in window_variants::table
        .filter(window_variants::window_id.eq_any(&ids))
        .order((window_variants::sort_order, window_variants::id))
        .select(VariantRow::as_select())
        .load(conn)?
    {
        variants.entry(v.window_id).or_default().push(v);
    }
    let mut pickups: HashMap<i64, Vec<PickupRow>> = HashMap::new();
    for p in pickup_points::table
        .filter(pickup_points::window_id.eq_any(&ids))
        .order((pickup_points::starts_at, pickup_points::id))
        .select(PickupRow::as_select())
        .load(conn)?
    {
        pickups.entry(p.window_id).or_default().push(p);
    }
    // Lapsed claims: holds only where something is held, unpaid orders only where orders have a
    // payment deadline (without one they never lapse).
    let held_ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.0.held > 0)
        .map(|r| r.0.id)
        .collect();
    let due_ids: Vec<i64> = rows
        .iter()
        .filter(|r| r.0.payment_window_hours.is_some() && r.0.sold > 0)
        .map(|r| r.0.id)
        .collect();
    let mut stale: HashMap<i64, i64> = HashMap::new();
    let lapsed_holds: Vec<(i64, i64)> = if held_ids.is_empty() {
        Vec::new()
    } else {
        holds::table
            .filter(holds::window_id.eq_any(&held_ids))
            .filter(holds::status.eq("active"))
            .filter(holds::expires_at.le(now))
            .select((holds::window_id, holds::units))
            .load(conn)?
    };
    for (window_id, units) in lapsed_holds {
        *stale.entry(window_id).or_default() += units;
    }
    let product_ids: Vec<i64> = rows.iter().map(|r| r.1.id).collect();
    let photos = crate::catalog::products::photos_of(conn, &product_ids)?;
    let mut stale_sold: HashMap<i64, i64> = HashMap::new();
    let lapsed_orders = if due_ids.is_empty() {
        Vec::new()
    } else {
        crate::capacity::claims::lapsed_order_units(conn, &due_ids, now)?
    };
    for (window_id, units) in lapsed_orders {
        *stale_sold.entry(window_id).or_default() += units;
    }
    Ok(rows
        .into_iter()
        .map(
            |(row, product, crop, producer, lao, district, province)| Loaded {
                variants: variants.remove(&row.id).unwrap_or_default(),
                pickups: pickups.remove(&row.id).unwrap_or_default(),
                photos: photos.get(&product.id).cloned().unwrap_or_default(),
                stale_held: stale.get(&row.id).copied().unwrap_or(0),
                stale_sold: stale_sold.get(&row.id).copied().unwrap_or(0),
                row,
                product,
                crop,
                producer,
                lao,
                district,
                province,
            },
        )
        .collect())
}

/// One window with everything its view needs.
pub fn load(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> ApiResult<Loaded> {
    let row: Option<JoinedRow> = joined_windows!()
        .filter(w::id.eq(id))
        .select(joined_select!())
        .first(conn)
        .optional()?;
    let row = row.ok_or_else(|| ApiError::not_found(WINDOW))?;
    complete(conn, vec![row], now)?
        .pop()
        .ok_or_else(|| ApiError::not_found(WINDOW))
}

/// The window row and its LAO (for authorization and capacity work).
pub fn find_with_lao(conn: &mut DbConn, id: i64) -> QueryResult<Option<(WindowRow, LaoRow)>> {
    w::table
        .inner_join(laos::table.on(laos::id.eq(w::lao_id)))
        .filter(w::id.eq(id))
        .select((WindowRow::as_select(), LaoRow::as_select()))
        .first(conn)
        .optional()
}

/// Whether the caller may see a window: published ones are public, drafts only to those who
/// manage or oversee it.
pub fn visible_to(row: &WindowRow, lao: &LaoRow, principal: Option<&Principal>) -> bool {
    row.lifecycle() != Lifecycle::Draft
        || principal.is_some_and(|p| {
            p.may(Action::ReadArea, &row.place(lao))
                || p.may(Action::ManageProducerOffer, &row.place(lao))
        })
}

fn future_or_equal(
    field: &str,
    later: DateTime<FixedOffset>,
    earlier: DateTime<FixedOffset>,
    other: &str,
) -> Option<FieldError> {
    (later <= earlier).then(|| FieldError::new(field, "invalid_range").with("other", other))
}

/// A variant of a new window.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name: String,
    /// Units of capacity one item consumes (a 5 kg box: 5).
    #[validate(range(min = 1, max = 100_000))]
    #[schema(minimum = 1, maximum = 100_000)]
    pub units_per_item: i32,
    /// Price of one item in satang.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub price_satang: i64,
    #[serde(default)]
    #[validate(range(min = 0, max = 1000))]
    #[schema(minimum = 0, maximum = 1000)]
    pub sort_order: i32,
}

/// A pickup point of a window.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPickupPoint {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name: String,
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 500, format = "non-blank")]
    pub address: String,
    /// Six-digit subdistrict code of the place.
    #[validate(length(equal = 6), custom(function = "crate::validate::digits"))]
    #[schema(pattern = "^[0-9]{6}$", example = "630603")]
    pub subdistrict_code: Option<String>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub starts_at: DateTime<FixedOffset>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub ends_at: DateTime<FixedOffset>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
}

/// A new pre-order window for a product.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "ลำไยอีดอ รอบเก็บเกี่ยวกรกฎาคม 2569",
    "opens_at": "2026-06-01T09:00:00+07:00", "closes_at": "2026-07-10T20:00:00+07:00",
    "harvest_start": "2026-07-15", "harvest_end": "2026-07-31", "capacity": 500,
    "variants": [{"name": "กล่อง 5 กก.", "units_per_item": 5, "price_satang": 45000}, {"name": "กล่อง 2 กก.", "units_per_item": 2, "price_satang": 19000}],
    "max_items_per_order": 10, "max_units_per_buyer": 50, "payment_window_hours": 24,
    "pickup_points": [{"name": "ที่ทำการ อบต.แม่ปะ", "address": "หมู่ 3 ต.แม่ปะ อ.แม่สอด จ.ตาก", "subdistrict_code": "630603", "starts_at": "2026-07-20T08:00:00+07:00", "ends_at": "2026-07-20T16:00:00+07:00"}],
    "delivery": {"fee_kind": "flat", "fee_satang": 6000}, "publish": true
}))]
pub struct NewWindow {
    /// Default: the product's title.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub title: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub opens_at: DateTime<FixedOffset>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub closes_at: DateTime<FixedOffset>,
    #[validate(custom(function = "crate::validate::calendar_date"))]
    pub harvest_start: NaiveDate,
    #[validate(custom(function = "crate::validate::calendar_date"))]
    pub harvest_end: NaiveDate,
    /// In the crop's sale unit.
    #[validate(range(min = 1, max = 1_000_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub capacity: i64,
    #[validate(length(min = 1, max = 20), nested)]
    #[schema(min_items = 1, max_items = 20)]
    pub variants: Vec<NewVariant>,
    #[serde(default = "one")]
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub min_items_per_order: i32,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub max_items_per_order: Option<i32>,
    #[validate(range(min = 1, max = 1_000_000_000))]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub max_units_per_buyer: Option<i64>,
    /// Minutes a hold lasts (default 10, at most 60).
    #[serde(default = "ten")]
    #[validate(range(min = 1, max = 60))]
    #[schema(minimum = 1, maximum = 60)]
    pub hold_minutes: i32,
    /// Minutes a waiting-list buyer has to take up an offer (default 120).
    #[serde(default = "two_hours")]
    #[validate(range(min = 5, max = 2880))]
    #[schema(minimum = 5, maximum = 2880)]
    pub waitlist_offer_minutes: i32,
    /// Unpaid orders expire after this many hours (none: they do not expire by themselves).
    #[validate(range(min = 1, max = 720))]
    #[schema(minimum = 1, maximum = 720)]
    pub payment_window_hours: Option<i32>,
    /// Perishable goods: dispatch at most this many days after `harvest_end` (0–60; none: no
    /// limit).
    #[validate(range(min = 0, max = 60))]
    #[schema(minimum = 0, maximum = 60)]
    pub ship_within_days: Option<i32>,
    #[serde(default)]
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    pub pickup_points: Vec<NewPickupPoint>,
    #[validate(nested)]
    pub delivery: Option<Delivery>,
    /// Publish at once (default: keep as a draft).
    #[serde(default)]
    pub publish: bool,
}

fn one() -> i32 {
    1
}
fn ten() -> i32 {
    10
}
fn two_hours() -> i32 {
    120
}

/// Cross-field checks `validator` cannot express.
fn check_window_fields(
    opens_at: DateTime<FixedOffset>,
    closes_at: DateTime<FixedOffset>,
    harvest: (NaiveDate, NaiveDate),
    items: (i32, Option<i32>),
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    errors.extend(future_or_equal(
        "closes_at",
        closes_at,
        opens_at,
        "opens_at",
    ));
    if harvest.1 < harvest.0 {
        errors.push(FieldError::new("harvest_end", "invalid_range").with("other", "harvest_start"));
    }
    if let Some(max) = items.1
        && max < items.0
    {
        errors.push(
            FieldError::new("max_items_per_order", "invalid_range")
                .with("other", "min_items_per_order"),
        );
    }
    errors
}

fn check_pickups(points: &[NewPickupPoint], prefix: &str) -> Vec<FieldError> {
    points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.ends_at <= p.starts_at)
        .map(|(i, _)| {
            FieldError::new(format!("{prefix}[{i}].ends_at"), "invalid_range")
                .with("other", "starts_at")
        })
        .collect()
}

fn insert_variant(
    conn: &mut DbConn,
    window_id: i64,
    v: &NewVariant,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    crate::capacity::changes::window_changed(window_id);
    diesel::insert_into(window_variants::table)
        .values((
            window_variants::window_id.eq(window_id),
            window_variants::name.eq(v.name.trim()),
            window_variants::units_per_item.eq(v.units_per_item),
            window_variants::price_satang.eq(v.price_satang),
            window_variants::active.eq(true),
            window_variants::sort_order.eq(v.sort_order),
            window_variants::created_at.eq(now),
            window_variants::updated_at.eq(now),
        ))
        .returning(window_variants::id)
        .get_result(conn)
}

fn insert_pickup(
    conn: &mut DbConn,
    window_id: i64,
    p: &NewPickupPoint,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    if let Some(code) = &p.subdistrict_code
        && crate::geo::model::subdistrict_detail(conn, code)?.is_none()
    {
        return Err(ApiError::invalid_field("subdistrict_code", "invalid_code"));
    }
    Ok(diesel::insert_into(pickup_points::table)
        .values((
            pickup_points::window_id.eq(window_id),
            pickup_points::name.eq(p.name.trim()),
            pickup_points::address.eq(p.address.trim()),
            pickup_points::subdistrict_code.eq(p.subdistrict_code.as_deref()),
            pickup_points::starts_at.eq(to_storage(p.starts_at)),
            pickup_points::ends_at.eq(to_storage(p.ends_at)),
            pickup_points::notes.eq(p.notes.as_deref()),
            pickup_points::active.eq(true),
            pickup_points::created_at.eq(now),
            pickup_points::updated_at.eq(now),
        ))
        .returning(pickup_points::id)
        .get_result(conn)?)
}

/// Event payload describing a window.
fn window_event(row: &WindowRow) -> serde_json::Value {
    serde_json::json!({
        "window_id": row.id,
        "product_id": row.product_id,
        "producer_id": row.producer_id,
        "title": row.title,
        "opens_at": to_bangkok(row.opens_at).to_rfc3339(),
        "closes_at": to_bangkok(row.closes_at).to_rfc3339(),
        "harvest_start": row.harvest_start,
        "harvest_end": row.harvest_end,
        "capacity": row.capacity,
        "unit": row.unit,
    })
}

pub fn record_event(
    conn: &mut DbConn,
    row: &WindowRow,
    event_type: &str,
    extra: serde_json::Value,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut payload = window_event(row);
    if let (Some(obj), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
        obj.extend(more);
    }
    outbox::record(
        conn,
        outbox::Event {
            event_type,
            aggregate_type: "window",
            aggregate_id: row.id.to_string(),
            lao_id: Some(row.lao_id),
            partner_client_id: None,
            payload,
        },
        now,
    )
    .map(|_| ())
}

fn publishable(conn: &mut DbConn, row: &WindowRow) -> ApiResult<()> {
    let variants: i64 = window_variants::table
        .filter(window_variants::window_id.eq(row.id))
        .filter(window_variants::active.eq(true))
        .count()
        .get_result(conn)?;
    let pickups: i64 = pickup_points::table
        .filter(pickup_points::window_id.eq(row.id))
        .filter(pickup_points::active.eq(true))
        .count()
        .get_result(conn)?;
    let mut errors = Vec::new();
    if variants == 0 {
        errors.push(FieldError::new("variants", "too_few").with("min", 1));
    }
    if pickups == 0 && row.delivery_fee_kind.is_none() {
        errors.push(FieldError::new("delivery", "required"));
        errors.push(FieldError::new("pickup_points", "too_few").with("min", 1));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Creates a window for a product (and its variants and pickup points), with the opening
/// capacity as the first ledger row.
pub fn create(
    conn: &mut DbConn,
    product: &ProductRow,
    crop: &CropRow,
    created_by: Option<i64>,
    actor: &str,
    new: &NewWindow,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    let mut errors = check_window_fields(
        new.opens_at,
        new.closes_at,
        (new.harvest_start, new.harvest_end),
        (new.min_items_per_order, new.max_items_per_order),
    );
    errors.extend(check_pickups(&new.pickup_points, "pickup_points"));
    let mut names: Vec<&str> = new.variants.iter().map(|v| v.name.trim()).collect();
    names.sort_unstable();
    if names.windows(2).any(|p| p[0] == p[1]) {
        errors.push(FieldError::new("variants", "repeated"));
    }
    if new.pickup_points.is_empty() && new.delivery.is_none() {
        errors.push(FieldError::new("delivery", "required"));
        errors.push(FieldError::new("pickup_points", "too_few").with("min", 1));
    }
    // The smallest order the window takes must fit in it, or nobody could ever buy.
    let smallest = new
        .variants
        .iter()
        .map(|v| i64::from(v.units_per_item))
        .min()
        .map(|units| units * i64::from(new.min_items_per_order));
    if let Some(smallest) = smallest
        && smallest > new.capacity
    {
        errors.push(
            FieldError::new("min_items_per_order", "exceeds_capacity")
                .with("units", smallest)
                .with("capacity", new.capacity),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let lifecycle = if new.publish {
        Lifecycle::Published
    } else {
        Lifecycle::Draft
    };
    let id: i64 = diesel::insert_into(w::table)
        .values((
            w::product_id.eq(product.id),
            w::producer_id.eq(product.producer_id),
            w::lao_id.eq(product.lao_id),
            w::province_code.eq(&product.province_code),
            w::district_code.eq(&product.district_code),
            w::crop_id.eq(product.crop_id),
            w::title.eq(new
                .title
                .as_deref()
                .map(str::trim)
                .unwrap_or(&product.title)),
            w::description.eq(new.description.as_deref()),
            w::unit.eq(&crop.sale_unit),
            w::opens_at.eq(to_storage(new.opens_at)),
            w::closes_at.eq(to_storage(new.closes_at)),
            w::harvest_start.eq(new.harvest_start),
            w::harvest_end.eq(new.harvest_end),
            w::capacity.eq(new.capacity),
            w::held.eq(0),
            w::sold.eq(0),
            w::min_items_per_order.eq(new.min_items_per_order),
            w::max_items_per_order.eq(new.max_items_per_order),
            w::max_units_per_buyer.eq(new.max_units_per_buyer),
            w::hold_minutes.eq(new.hold_minutes),
            w::waitlist_offer_minutes.eq(new.waitlist_offer_minutes),
            w::payment_window_hours.eq(new.payment_window_hours),
            w::ship_within_days.eq(new.ship_within_days),
            w::delivery_fee_kind.eq(new.delivery.map(|d| d.fee_kind.to_string())),
            w::delivery_fee_satang.eq(new.delivery.map(|d| d.fee_satang)),
            w::lifecycle.eq(lifecycle.to_string()),
            w::lifecycle_changed_at.eq(now),
            w::created_by.eq(created_by),
            w::created_at.eq(now),
            w::updated_at.eq(now),
        ))
        .returning(w::id)
        .get_result(conn)?;
    for v in &new.variants {
        insert_variant(conn, id, v, now)?;
    }
    for p in &new.pickup_points {
        insert_pickup(conn, id, p, now)?;
    }
    ledger::record(
        conn,
        Movement::CapacityChange,
        ledger::Entry {
            window_id: id,
            capacity_delta: new.capacity,
            reference: Some("window created"),
            actor: Some(actor),
            ..Default::default()
        },
        now,
    )?;
    if new.publish {
        let (row, _) = find_with_lao(conn, id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
        record_event(conn, &row, "window.published", serde_json::json!({}), now)?;
    }
    Ok(id)
}

/// Changes to a window. Capacity never drops below what is held and sold; moving the harvest
/// dates of a published window records a `window.harvest_rescheduled` event; prices are changed
/// on variants and never touch existing orders.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowChanges {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub title: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub opens_at: Option<DateTime<FixedOffset>>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub closes_at: Option<DateTime<FixedOffset>>,
    #[validate(custom(function = "crate::validate::calendar_date"))]
    pub harvest_start: Option<NaiveDate>,
    #[validate(custom(function = "crate::validate::calendar_date"))]
    pub harvest_end: Option<NaiveDate>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub capacity: Option<i64>,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub min_items_per_order: Option<i32>,
    /// `0` removes the maximum.
    #[validate(range(min = 0, max = 10_000))]
    #[schema(minimum = 0, maximum = 10_000)]
    pub max_items_per_order: Option<i32>,
    /// `0` removes the limit.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub max_units_per_buyer: Option<i64>,
    #[validate(range(min = 1, max = 60))]
    #[schema(minimum = 1, maximum = 60)]
    pub hold_minutes: Option<i32>,
    #[validate(range(min = 5, max = 2880))]
    #[schema(minimum = 5, maximum = 2880)]
    pub waitlist_offer_minutes: Option<i32>,
    /// `0` removes the payment deadline.
    #[validate(range(min = 0, max = 720))]
    #[schema(minimum = 0, maximum = 720)]
    pub payment_window_hours: Option<i32>,
    /// Days after `harvest_end` by which orders must be dispatched (0–60); `-1` removes the
    /// limit.
    #[validate(range(min = -1, max = 60))]
    #[schema(minimum = -1, maximum = 60)]
    pub ship_within_days: Option<i32>,
    /// Carrier delivery; `{"fee_kind": "flat", "fee_satang": 0}` for free delivery.
    #[validate(nested)]
    pub delivery: Option<Delivery>,
    /// `true` stops offering carrier delivery.
    #[serde(default)]
    pub remove_delivery: bool,
}

fn zero_is_none<T: PartialEq + Default>(v: Option<T>) -> Option<Option<T>> {
    v.map(|v| if v == T::default() { None } else { Some(v) })
}

/// Applies changes; capacity moves through the ledger.
pub fn update(
    conn: &mut DbConn,
    row: &WindowRow,
    principal: &Principal,
    changes: &WindowChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    if matches!(row.lifecycle(), Lifecycle::Cancelled | Lifecycle::Fulfilled) {
        return Err(invalid_window_move(
            row.status(now),
            Param::both("be changed", "แก้ไข"),
        ));
    }
    let opens_at = changes.opens_at.map(to_storage).unwrap_or(row.opens_at);
    let closes_at = changes.closes_at.map(to_storage).unwrap_or(row.closes_at);
    let harvest = (
        changes.harvest_start.unwrap_or(row.harvest_start),
        changes.harvest_end.unwrap_or(row.harvest_end),
    );
    let min_items = changes
        .min_items_per_order
        .unwrap_or(row.min_items_per_order);
    let max_items = zero_is_none(changes.max_items_per_order).unwrap_or(row.max_items_per_order);
    let errors = check_window_fields(
        to_bangkok(opens_at),
        to_bangkok(closes_at),
        harvest,
        (min_items, max_items),
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(capacity) = changes.capacity {
        let delta = capacity - row.capacity;
        if delta != 0 {
            if let Err(committed) = ledger::change_capacity(conn, row.id, delta)? {
                return Err(ApiError::new(ErrorKind::CapacityBelowCommitted)
                    .with("committed", committed)
                    .field(FieldError::new("capacity", "too_small").with("min", committed)));
            }
            let actor = principal.actor_label();
            ledger::record(
                conn,
                Movement::CapacityChange,
                ledger::Entry {
                    window_id: row.id,
                    capacity_delta: delta,
                    reference: Some("capacity changed"),
                    actor: Some(&actor),
                    ..Default::default()
                },
                now,
            )?;
        }
    }
    let delivery_kind = if changes.remove_delivery {
        Some(None)
    } else {
        changes.delivery.map(|d| Some(d.fee_kind.to_string()))
    };
    let delivery_fee = if changes.remove_delivery {
        Some(None)
    } else {
        changes.delivery.map(|d| Some(d.fee_satang))
    };
    crate::capacity::changes::window_changed(row.id);
    diesel::update(w::table.find(row.id))
        .set((
            changes
                .title
                .as_deref()
                .map(|v| w::title.eq(v.trim().to_string())),
            changes
                .description
                .clone()
                .map(|v| w::description.eq(Some(v))),
            w::opens_at.eq(opens_at),
            w::closes_at.eq(closes_at),
            w::harvest_start.eq(harvest.0),
            w::harvest_end.eq(harvest.1),
            w::min_items_per_order.eq(min_items),
            w::max_items_per_order.eq(max_items),
            zero_is_none(changes.max_units_per_buyer).map(|v| w::max_units_per_buyer.eq(v)),
            changes.hold_minutes.map(|v| w::hold_minutes.eq(v)),
            changes
                .waitlist_offer_minutes
                .map(|v| w::waitlist_offer_minutes.eq(v)),
            zero_is_none(changes.payment_window_hours).map(|v| w::payment_window_hours.eq(v)),
            changes
                .ship_within_days
                .map(|v| w::ship_within_days.eq((v >= 0).then_some(v))),
            delivery_kind.map(|v| w::delivery_fee_kind.eq(v)),
            delivery_fee.map(|v| w::delivery_fee_satang.eq(v)),
            w::updated_at.eq(now),
        ))
        .execute(conn)?;
    let (after, _) = find_with_lao(conn, row.id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
    if after.lifecycle() != Lifecycle::Draft && after.delivery_fee_kind.is_none() {
        publishable(conn, &after)?;
    }
    if row.lifecycle() != Lifecycle::Draft {
        if (row.harvest_start, row.harvest_end) != (after.harvest_start, after.harvest_end) {
            let live_holds = active_hold_count(conn, row.id)?;
            record_event(
                conn,
                &after,
                "window.harvest_rescheduled",
                serde_json::json!({
                    "previous_harvest_start": row.harvest_start,
                    "previous_harvest_end": row.harvest_end,
                    "live_holds": live_holds,
                }),
                now,
            )?;
        }
        if row.capacity != after.capacity {
            record_event(
                conn,
                &after,
                "window.capacity_changed",
                serde_json::json!({"previous_capacity": row.capacity}),
                now,
            )?;
        }
    }
    Ok(())
}

fn active_hold_count(conn: &mut DbConn, window_id: i64) -> QueryResult<i64> {
    holds::table
        .filter(holds::window_id.eq(window_id))
        .filter(holds::status.eq("active"))
        .count()
        .get_result(conn)
}

/// A lifecycle action on a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WindowAction {
    /// Draft → published (opens at `opens_at`).
    Publish,
    /// Stop taking orders before `closes_at`.
    Close,
    /// Take orders again after an early close (before `closes_at`).
    Reopen,
    /// The harvest is in.
    MarkHarvested,
    /// Every order is delivered.
    MarkFulfilled,
    /// Call the window off: active holds are released and the waiting list closed.
    Cancel,
}

impl WindowAction {
    /// What the action does, in English (for problem texts: "cannot …").
    pub fn label_en(self) -> &'static str {
        match self {
            WindowAction::Publish => "be published",
            WindowAction::Close => "be closed",
            WindowAction::Reopen => "be reopened",
            WindowAction::MarkHarvested => "be marked harvested",
            WindowAction::MarkFulfilled => "be marked fulfilled",
            WindowAction::Cancel => "be cancelled",
        }
    }

    /// What the action does, in Thai (for problem texts).
    pub fn name_th(self) -> &'static str {
        match self {
            WindowAction::Publish => "เผยแพร่รอบจอง",
            WindowAction::Close => "ปิดรับจอง",
            WindowAction::Reopen => "เปิดรับจองอีกครั้ง",
            WindowAction::MarkHarvested => "บันทึกว่าเก็บเกี่ยวแล้ว",
            WindowAction::MarkFulfilled => "บันทึกว่าส่งมอบครบแล้ว",
            WindowAction::Cancel => "ยกเลิกรอบจอง",
        }
    }
}

/// 409 `invalid_transition` for a window in `status` asked to do `action`, in the caller's
/// language.
fn invalid_window_move(status: WindowStatus, action: Param) -> ApiError {
    ApiError::new(ErrorKind::InvalidTransition)
        .with("status", Param::both(status.label_en(), status.name_th()))
        .with("action", action)
}

/// Moves a window through its lifecycle; refuses moves that make no sense with 409.
pub fn apply_action(
    conn: &mut DbConn,
    row: &WindowRow,
    action: WindowAction,
    reason: Option<&str>,
    principal: &Principal,
    now: NaiveDateTime,
) -> ApiResult<()> {
    use Lifecycle as L;
    let current = row.lifecycle();
    let next = match (action, current) {
        (WindowAction::Publish, L::Draft) => {
            publishable(conn, row)?;
            L::Published
        }
        (WindowAction::Close, L::Published) if now < row.closes_at => L::Closed,
        (WindowAction::Reopen, L::Closed) if now < row.closes_at => L::Published,
        (WindowAction::MarkHarvested, L::Published | L::Closed) if now >= row.opens_at => {
            L::Harvested
        }
        (WindowAction::MarkFulfilled, L::Harvested) => L::Fulfilled,
        (WindowAction::Cancel, L::Draft | L::Published | L::Closed) => {
            let open = crate::capacity::claims::unfinished_orders(conn, row.id)?;
            if open > 0 {
                // Buyers' money and goods come first: cancel or refund their orders.
                let status = row.status(now);
                return Err(ApiError::new(ErrorKind::InvalidTransition)
                    .with(
                        "status",
                        Param::both(
                            format!("{} with {open} open orders", status.label_en()),
                            format!("{} มีคำสั่งซื้อที่ยังไม่จบ {open} รายการ", status.name_th()),
                        ),
                    )
                    .with("action", Param::both(action.label_en(), action.name_th()))
                    .extra("open_orders", open));
            }
            L::Cancelled
        }
        _ => {
            return Err(invalid_window_move(
                row.status(now),
                Param::both(action.label_en(), action.name_th()),
            ));
        }
    };
    crate::capacity::changes::window_changed(row.id);
    diesel::update(w::table.find(row.id))
        .set((
            w::lifecycle.eq(next.to_string()),
            w::lifecycle_changed_at.eq(now),
            reason.map(|r| w::cancel_reason.eq(Some(r.to_string()))),
            w::updated_at.eq(now),
        ))
        .execute(conn)?;
    if next == L::Cancelled {
        super::holds::release_all(conn, row.id, principal, now)?;
        super::waitlist::close_all(conn, row.id, now)?;
    }
    let (after, _) = find_with_lao(conn, row.id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
    let event = match action {
        WindowAction::Publish => "window.published",
        WindowAction::Close => "window.closed",
        WindowAction::Reopen => "window.reopened",
        WindowAction::MarkHarvested => "window.harvested",
        WindowAction::MarkFulfilled => "window.fulfilled",
        WindowAction::Cancel => "window.cancelled",
    };
    record_event(
        conn,
        &after,
        event,
        serde_json::json!({"reason": reason}),
        now,
    )?;
    if next == L::Published && current == L::Closed {
        // Units freed while closed can go to the waiting list again.
        super::waitlist::offer_freed_capacity(conn, &after, now)?;
    }
    Ok(())
}

/// The most active variants, and the most active pickup points, a window may have: what
/// creating a window allows (`NewWindow`), kept when they are added or switched on one by one.
pub const MAX_ACTIVE_PER_WINDOW: i64 = 20;

/// Refuses one more active variant or pickup point (`field`: `variants` or `pickup_points`)
/// when the window has [`MAX_ACTIVE_PER_WINDOW`] already: 422, reason `too_many`, with `max`.
fn ensure_room_for_one_more(conn: &mut DbConn, window_id: i64, field: &str) -> ApiResult<()> {
    let active: i64 = if field == "variants" {
        window_variants::table
            .filter(window_variants::window_id.eq(window_id))
            .filter(window_variants::active.eq(true))
            .count()
            .get_result(conn)?
    } else {
        pickup_points::table
            .filter(pickup_points::window_id.eq(window_id))
            .filter(pickup_points::active.eq(true))
            .count()
            .get_result(conn)?
    };
    if active >= MAX_ACTIVE_PER_WINDOW {
        return Err(ApiError::validation(vec![
            FieldError::new(field, "too_many").with("max", MAX_ACTIVE_PER_WINDOW),
        ]));
    }
    Ok(())
}

/// Adds a variant to a window (at most [`MAX_ACTIVE_PER_WINDOW`] active ones).
pub fn add_variant(
    conn: &mut DbConn,
    row: &WindowRow,
    v: &NewVariant,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    ensure_room_for_one_more(conn, row.id, "variants")?;
    let exists: i64 = window_variants::table
        .filter(window_variants::window_id.eq(row.id))
        .filter(window_variants::name.eq(v.name.trim()))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Err(
            ApiError::already_exists(VARIANT, "name").field(FieldError::new("name", "duplicate"))
        );
    }
    Ok(insert_variant(conn, row.id, v, now)?)
}

/// Changes to a variant. Its units per item never change (holds and orders count by them):
/// deactivate it and add another. A new price applies to new holds and orders only (holds
/// and orders keep theirs).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantChanges {
    #[validate(
        length(min = 1, max = 100),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 100, format = "non-blank")]
    pub name: Option<String>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub price_satang: Option<i64>,
    pub active: Option<bool>,
    #[validate(range(min = 0, max = 1000))]
    #[schema(minimum = 0, maximum = 1000)]
    pub sort_order: Option<i32>,
}

pub fn find_variant(conn: &mut DbConn, id: i64) -> QueryResult<Option<VariantRow>> {
    window_variants::table
        .find(id)
        .select(VariantRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_variant(
    conn: &mut DbConn,
    variant: &VariantRow,
    changes: &VariantChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    if changes.active == Some(true) && !variant.active {
        ensure_room_for_one_more(conn, variant.window_id, "variants")?;
    }
    crate::capacity::changes::window_changed(variant.window_id);
    diesel::update(window_variants::table.find(variant.id))
        .set((
            changes
                .name
                .as_deref()
                .map(|v| window_variants::name.eq(v.trim().to_string())),
            changes
                .price_satang
                .map(|v| window_variants::price_satang.eq(v)),
            changes.active.map(|v| window_variants::active.eq(v)),
            changes
                .sort_order
                .map(|v| window_variants::sort_order.eq(v)),
            window_variants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Adds a pickup point to a window (at most [`MAX_ACTIVE_PER_WINDOW`] active ones).
pub fn add_pickup(
    conn: &mut DbConn,
    row: &WindowRow,
    p: &NewPickupPoint,
    now: NaiveDateTime,
) -> ApiResult<i64> {
    ensure_room_for_one_more(conn, row.id, "pickup_points")?;
    let errors = check_pickups(std::slice::from_ref(p), "pickup_point");
    if !errors.is_empty() {
        return Err(ApiError::validation(
            errors
                .into_iter()
                .map(|e| FieldError::new("ends_at", e.code).with("other", "starts_at"))
                .collect(),
        ));
    }
    insert_pickup(conn, row.id, p, now)
}

/// Changes to a pickup point.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupChanges {
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub name: Option<String>,
    #[validate(
        length(min = 1, max = 500),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 500, format = "non-blank")]
    pub address: Option<String>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub starts_at: Option<DateTime<FixedOffset>>,
    #[validate(custom(function = "crate::validate::calendar_time"))]
    pub ends_at: Option<DateTime<FixedOffset>>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
    pub active: Option<bool>,
}

pub fn find_pickup(conn: &mut DbConn, id: i64) -> QueryResult<Option<PickupRow>> {
    pickup_points::table
        .find(id)
        .select(PickupRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_pickup(
    conn: &mut DbConn,
    p: &PickupRow,
    changes: &PickupChanges,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let starts = changes.starts_at.map(to_storage).unwrap_or(p.starts_at);
    let ends = changes.ends_at.map(to_storage).unwrap_or(p.ends_at);
    if changes.active == Some(true) && !p.active {
        ensure_room_for_one_more(conn, p.window_id, "pickup_points")?;
    }
    if ends <= starts {
        return Err(ApiError::validation(vec![
            FieldError::new("ends_at", "invalid_range").with("other", "starts_at"),
        ]));
    }
    diesel::update(pickup_points::table.find(p.id))
        .set((
            changes
                .name
                .as_deref()
                .map(|v| pickup_points::name.eq(v.trim().to_string())),
            changes
                .address
                .as_deref()
                .map(|v| pickup_points::address.eq(v.trim().to_string())),
            pickup_points::starts_at.eq(starts),
            pickup_points::ends_at.eq(ends),
            changes
                .notes
                .clone()
                .map(|v| pickup_points::notes.eq(Some(v))),
            changes.active.map(|v| pickup_points::active.eq(v)),
            pickup_points::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which windows to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    /// Open now (including sold out) and scheduled to open.
    #[default]
    Current,
    /// Open now, including sold out.
    Open,
    /// Can be bought now: open, and the smallest order it takes (its minimum of items of its
    /// smallest active variant) fits in what is free (lapsed holds and unpaid orders past their
    /// deadline count as free, as they are given back at the next sale).
    Buyable,
    Upcoming,
    Closed,
    All,
}

/// Filters for window lists.
#[derive(Debug, Default, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowFilter {
    /// `current` (default: open and upcoming), `open` (open now, sold out included), `buyable`
    /// (open now with units free), `upcoming`, `closed`, `all`.
    #[param(inline)]
    pub status: Option<ListStatus>,
    /// Partner clients: only windows of the LAOs the client may sell for.
    #[serde(default)]
    pub sellable: bool,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    /// DLA code of the LAO.
    pub lao_code: Option<String>,
    /// Crop slug.
    pub crop: Option<String>,
    pub product_id: Option<i64>,
    /// Windows whose harvest ends on or after this date.
    pub harvest_from: Option<NaiveDate>,
    /// Windows whose harvest starts on or before this date.
    pub harvest_to: Option<NaiveDate>,
    /// Include drafts the caller manages or oversees (needs a token).
    #[serde(default)]
    pub include_drafts: bool,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Windows matching the filter, by id, `limit + 1` of them after `after`, with everything their
/// views need: four queries per page (more pages of rows for `buyable`, whose last test, free
/// units counting lapsed holds and unpaid orders, is made on the loaded windows).
pub fn list(
    conn: &mut DbConn,
    filter: &WindowFilter,
    principal: Option<&Principal>,
    after: i64,
    limit: usize,
    now: NaiveDateTime,
) -> ApiResult<Vec<Loaded>> {
    let lao_ids = if filter.sellable {
        crate::auth::partners::sellable_laos(conn, principal)?
    } else {
        None
    };
    if filter.status != Some(ListStatus::Buyable) {
        return list_rows(
            conn,
            filter,
            principal,
            lao_ids.as_deref(),
            after,
            limit,
            now,
        );
    }
    let mut found = Vec::with_capacity(limit + 1);
    let mut after = after;
    loop {
        let rows = list_rows(
            conn,
            filter,
            principal,
            lao_ids.as_deref(),
            after,
            limit,
            now,
        )?;
        let exhausted = rows.len() <= limit;
        after = rows.last().map_or(after, |l| l.row.id);
        found.extend(rows.into_iter().filter(Loaded::can_sell_now));
        if exhausted || found.len() > limit {
            found.truncate(limit + 1);
            return Ok(found);
        }
    }
}

/// One page of rows for [`list`].
#[allow(clippy::too_many_arguments)] // the filter's parts, resolved by `list`
fn list_rows(
    conn: &mut DbConn,
    filter: &WindowFilter,
    principal: Option<&Principal>,
    lao_ids: Option<&[i64]>,
    after: i64,
    limit: usize,
    now: NaiveDateTime,
) -> ApiResult<Vec<Loaded>> {
    let mut query = joined_windows!()
        .select(joined_select!())
        .filter(w::id.gt(after))
        .order(w::id)
        .limit(limit as i64 + 1)
        .into_boxed();
    // Drafts asked for count as published for the time filters.
    let mut live = vec![Lifecycle::Published.to_string()];
    if filter.include_drafts {
        live.push(Lifecycle::Draft.to_string());
    }
    query = match filter.status.unwrap_or_default() {
        ListStatus::Current => query
            .filter(w::lifecycle.eq_any(live))
            .filter(w::closes_at.gt(now)),
        ListStatus::Open | ListStatus::Buyable => query
            .filter(w::lifecycle.eq_any(live))
            .filter(w::opens_at.le(now))
            .filter(w::closes_at.gt(now)),
        ListStatus::Upcoming => query
            .filter(w::lifecycle.eq_any(live))
            .filter(w::opens_at.gt(now)),
        ListStatus::Closed => query.filter(
            w::lifecycle
                .eq_any([
                    Lifecycle::Closed.to_string(),
                    Lifecycle::Harvested.to_string(),
                    Lifecycle::Fulfilled.to_string(),
                ])
                .or(w::lifecycle.eq_any(live).and(w::closes_at.le(now))),
        ),
        ListStatus::All => query,
    };
    // Drafts: only those in the caller's own area, and only when asked for.
    let draft = Lifecycle::Draft.to_string();
    let not_draft = w::lifecycle.ne(draft);
    query = match (filter.include_drafts, principal) {
        (true, Some(p)) => {
            let area = &p.area;
            match p.role {
                Role::Admin => query,
                Role::ProvinceOfficer => query.filter(
                    not_draft
                        .or(w::province_code.eq(area.province_code.clone().unwrap_or_default())),
                ),
                Role::DistrictOfficer => query.filter(
                    not_draft
                        .or(w::district_code.eq(area.district_code.clone().unwrap_or_default())),
                ),
                Role::LaoStaff => {
                    query.filter(not_draft.or(w::lao_id.eq(area.lao_id.unwrap_or(-1))))
                }
                Role::Producer => {
                    query.filter(not_draft.or(w::producer_id.eq(area.producer_id.unwrap_or(-1))))
                }
                Role::Partner => query.filter(not_draft),
            }
        }
        _ => query.filter(not_draft),
    };
    if let Some(code) = &filter.province_code {
        query = query.filter(w::province_code.eq(code.clone()));
    }
    if let Some(code) = &filter.district_code {
        query = query.filter(w::district_code.eq(code.clone()));
    }
    if let Some(code) = &filter.lao_code {
        query = query.filter(laos::dla_code.eq(code.clone()));
    }
    if let Some(slug) = &filter.crop {
        query = query.filter(crops::slug.eq(slug.clone()));
    }
    if let Some(id) = filter.product_id {
        query = query.filter(w::product_id.eq(id));
    }
    if let Some(from) = filter.harvest_from {
        query = query.filter(w::harvest_end.ge(from));
    }
    if let Some(to) = filter.harvest_to {
        query = query.filter(w::harvest_start.le(to));
    }
    if let Some(ids) = lao_ids {
        query = query.filter(w::lao_id.eq_any(ids.to_vec()));
    }
    let rows = query.load::<JoinedRow>(conn)?;
    Ok(complete(conn, rows, now)?)
}

/// Availability of a window now: what storefronts show.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "window_id": 7, "status": "open", "unit": "kg", "capacity": 500, "sold": 320, "held": 25, "available": 155,
    "waiting_list": {"entries": 0, "units": 0},
    "variants": [{"id": 4, "name": "กล่อง 5 กก.", "units_per_item": 5, "price_satang": 45000, "active": true, "sort_order": 0, "items_available": 10}],
    "as_of": "2026-06-01T09:00:00+07:00"
}))]
pub struct Availability {
    pub window_id: i64,
    pub status: WindowStatus,
    pub unit: String,
    pub capacity: i64,
    pub sold: i64,
    /// Units in holds that have not expired.
    pub held: i64,
    pub available: i64,
    pub waiting_list: WaitingListSize,
    pub variants: Vec<Variant>,
    pub as_of: DateTime<FixedOffset>,
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct WaitingListSize {
    /// Entries waiting (not yet offered).
    pub entries: i64,
    pub units: i64,
}

/// The availability of a loaded window now, with its waiting list: one query more.
pub fn availability(
    conn: &mut DbConn,
    loaded: Loaded,
    now: NaiveDateTime,
) -> ApiResult<Availability> {
    let waiting = waiting_list(conn, loaded.row.id)?;
    Ok(availability_of(loaded, waiting, now, now))
}

/// Entries of a window's waiting list not yet offered, and their units.
pub fn waiting_list(conn: &mut DbConn, window_id: i64) -> QueryResult<WaitingListSize> {
    let waiting: Vec<i64> = waitlist_entries::table
        .filter(waitlist_entries::window_id.eq(window_id))
        .filter(waitlist_entries::status.eq("waiting"))
        .select(waitlist_entries::units)
        .load(conn)?;
    Ok(WaitingListSize {
        entries: waiting.len() as i64,
        units: waiting.iter().sum(),
    })
}

/// The availability of a window as read at `as_of`, with its status at `now`.
pub fn availability_of(
    loaded: Loaded,
    waiting_list: WaitingListSize,
    now: NaiveDateTime,
    as_of: NaiveDateTime,
) -> Availability {
    let view = loaded.view(now);
    Availability {
        window_id: view.id,
        status: view.status,
        unit: view.unit,
        capacity: view.capacity,
        sold: view.sold,
        held: view.held,
        available: view.available,
        waiting_list,
        variants: view.variants,
        as_of: to_bangkok(as_of),
    }
}

/// How long a hold lasts in this window, capped.
pub fn hold_duration(row: &WindowRow, asked_minutes: Option<i32>) -> Duration {
    let max = row.hold_minutes.clamp(1, MAX_HOLD_MINUTES);
    Duration::minutes(i64::from(asked_minutes.unwrap_or(max).clamp(1, max)))
}

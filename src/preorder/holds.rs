//! Holds: capacity reserved for a few minutes while a buyer decides or pays. An expired hold frees
//! its units — lazily, inside the next capacity transaction of its window, and by the background
//! task — so that correctness never depends on the task having run.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::waitlist;
use super::windows::{self, VariantRow, WINDOW, WindowRow};
use crate::auth::partners;
use crate::auth::principal::Principal;
use crate::auth::tokens::random_token;
use crate::capacity::ledger::{self, Movement};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{hold_lines, holds, waitlist_entries, window_variants};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param};
use crate::i18n::Text;
use crate::validate::PhoneNumber;

pub const HOLD: Text = Text {
    en: "hold",
    th: "การกันสินค้า",
};

/// How many times a hold may be extended.
pub const MAX_EXTENSIONS: i32 = 2;

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
pub enum HoldStatus {
    Active,
    Released,
    Expired,
    /// Turned into an order.
    Converted,
}

impl HoldStatus {
    /// The status as people read it in English (problem texts).
    pub fn label_en(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
            HoldStatus::Converted => "used for an order",
        }
    }

    pub fn name_th(self) -> &'static str {
        match self {
            HoldStatus::Active => "กันไว้อยู่",
            HoldStatus::Released => "ปล่อยคืนแล้ว",
            HoldStatus::Expired => "หมดเวลาแล้ว",
            HoldStatus::Converted => "สั่งซื้อแล้ว",
        }
    }
}

crate::stored_as_text!(HoldStatus);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = holds)]
pub struct HoldRow {
    pub id: i64,
    pub public_id: String,
    pub window_id: i64,
    pub status: HoldStatus,
    pub units: i64,
    pub buyer_phone: Option<String>,
    pub partner_client_id: Option<i64>,
    pub user_id: Option<i64>,
    pub waitlist_entry_id: Option<i64>,
    pub expires_at: NaiveDateTime,
    pub extensions: i32,
    pub order_id: Option<i64>,
    pub ended_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl HoldRow {
    pub fn status(&self) -> HoldStatus {
        self.status
    }

    /// The status a caller sees: an active hold past its time is expired, written or not.
    pub fn status_at(&self, now: NaiveDateTime) -> HoldStatus {
        match self.status() {
            HoldStatus::Active if self.expires_at <= now => HoldStatus::Expired,
            other => other,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = hold_lines)]
pub struct HoldLineRow {
    pub hold_id: i64,
    pub variant_id: i64,
    pub quantity: i32,
    pub units: i64,
    /// The variant's price when the hold was made (`None` for holds made before prices were
    /// kept: the variant's price applies).
    pub unit_price_satang: Option<i64>,
}

/// One line of a hold request: a variant and how many items.
#[derive(Clone, Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub variant_id: i64,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i32,
}

/// A hold request.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"variant_id": 4, "quantity": 2}], "buyer_phone": "081 234 5678"}))]
pub struct NewHold {
    #[validate(length(min = 1, max = 20), nested)]
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<LineInput>,
    /// Needed when the window limits units per buyer.
    #[validate(custom(function = "crate::validate::thai_phone"))]
    #[schema(format = "thai-phone")]
    pub buyer_phone: Option<String>,
    /// How long to hold, in minutes (at most the window's `hold_minutes`, its default).
    #[validate(range(min = 1, max = 60))]
    #[schema(minimum = 1, maximum = 60)]
    pub minutes: Option<i32>,
}

/// A line of a hold as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldLine {
    pub variant_id: i64,
    pub name: String,
    pub quantity: i32,
    pub units: i64,
    /// The price per item the hold keeps (the variant's when the hold was made): an order made
    /// from the hold pays it.
    pub price_satang: i64,
    pub line_total_satang: i64,
}

/// A hold. Its `id` is a secret: whoever has it may extend, release or order with it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "hld_8Yb1mXQ2t5r7c9LwV0sA3d4e", "window_id": 7, "status": "active",
    "lines": [{"variant_id": 4, "name": "กล่อง 5 กก.", "quantity": 2, "units": 10, "price_satang": 45000, "line_total_satang": 90000}],
    "units": 10, "total_satang": 90000, "expires_at": "2026-06-01T09:10:00+07:00",
    "extensions_used": 0, "extensions_left": 2, "waitlist_entry_id": null, "created_at": "2026-06-01T09:00:00+07:00"
}))]
pub struct Hold {
    pub id: String,
    pub window_id: i64,
    pub status: HoldStatus,
    pub lines: Vec<HoldLine>,
    /// Units of capacity held.
    pub units: i64,
    /// The lines at the prices the hold keeps (delivery not included).
    pub total_satang: i64,
    pub expires_at: DateTime<FixedOffset>,
    pub extensions_used: i32,
    pub extensions_left: i32,
    /// The waiting-list entry this hold offers units to.
    pub waitlist_entry_id: Option<String>,
    pub order_id: Option<i64>,
    pub created_at: DateTime<FixedOffset>,
}

/// The lines of a request, checked against the window.
#[derive(Clone, Debug)]
pub struct Requested {
    pub lines: Vec<(VariantRow, i32, i64)>,
    pub units: i64,
    pub items: i64,
}

/// Checks requested lines: variants of this window and active, each once, and the number of
/// items within the window's per-order limits.
pub fn resolve_lines(
    conn: &mut DbConn,
    window: &WindowRow,
    lines: &[LineInput],
    field: &str,
) -> ApiResult<Requested> {
    let variants: Vec<VariantRow> = window_variants::table
        .filter(window_variants::window_id.eq(window.id))
        .select(VariantRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(lines.len());
    let mut unknown = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if lines[..i].iter().any(|l| l.variant_id == line.variant_id) {
            return Err(ApiError::validation(vec![FieldError::new(
                format!("{field}[{i}].variant_id"),
                "repeated",
            )]));
        }
        match variants
            .iter()
            .find(|v| v.id == line.variant_id && v.active)
        {
            Some(v) => {
                let units = i64::from(v.units_per_item) * i64::from(line.quantity);
                out.push((v.clone(), line.quantity, units));
            }
            None => unknown.push(FieldError::new(
                format!("{field}[{i}].variant_id"),
                "not_found",
            )),
        }
    }
    if !unknown.is_empty() {
        let mut e = ApiError::new(ErrorKind::UnknownVariant).with("window_id", window.id);
        for fe in unknown {
            e = e.field(fe);
        }
        return Err(e);
    }
    let items: i64 = out.iter().map(|(_, q, _)| i64::from(*q)).sum();
    let units: i64 = out.iter().map(|(_, _, u)| *u).sum();
    let min = i64::from(window.min_items_per_order);
    let max = window.max_items_per_order.map(i64::from);
    if items < min || max.is_some_and(|m| items > m) {
        let limits = match max {
            Some(max) => Param::both(
                format!("{min} to {max} items"),
                format!("{min} ถึง {max} ชิ้น"),
            ),
            None => Param::both(format!("at least {min} items"), format!("อย่างน้อย {min} ชิ้น")),
        };
        return Err(ApiError::new(ErrorKind::OrderLimit)
            .with("limits", limits)
            .extra("min_items", min)
            .extra("max_items", max)
            .extra("items", items));
    }
    Ok(Requested {
        lines: out,
        units,
        items,
    })
}

/// Units a buyer (by phone) holds in a window now.
pub fn units_held_by_buyer(
    conn: &mut DbConn,
    window_id: i64,
    phone: &str,
    exclude_hold: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let units: Vec<i64> = holds::table
        .filter(holds::window_id.eq(window_id))
        .filter(holds::buyer_phone.eq(phone))
        .filter(holds::status.eq(HoldStatus::Active.to_string()))
        .filter(holds::expires_at.gt(now))
        .filter(holds::id.ne(exclude_hold.unwrap_or(-1)))
        .select(holds::units)
        .load(conn)?;
    Ok(units.iter().sum())
}

/// Refuses a request that would take a buyer past the window's per-buyer limit.
pub fn check_buyer_limit(
    conn: &mut DbConn,
    window: &WindowRow,
    phone: Option<&str>,
    units: i64,
    exclude_hold: Option<i64>,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let Some(max) = window.max_units_per_buyer else {
        return Ok(());
    };
    let Some(phone) = phone else {
        return Err(ApiError::validation(vec![FieldError::new(
            "buyer_phone",
            "required",
        )]));
    };
    let taken = units_held_by_buyer(conn, window.id, phone, exclude_hold, now)?
        + crate::capacity::claims::ordered_by_buyer(conn, window.id, phone, now)?;
    if taken + units > max {
        return Err(ApiError::new(ErrorKind::BuyerLimit)
            .with("max_units", max)
            .with("remaining", (max - taken).max(0))
            .extra("unit", &window.unit));
    }
    Ok(())
}

/// A window's unit for a problem text: its code in English, its Thai name in Thai.
fn unit_param(unit: &str) -> Param {
    let th = unit
        .parse::<crate::catalog::crops::SaleUnit>()
        .map(|u| u.name_th().to_string())
        .unwrap_or_else(|_| unit.to_string());
    Param::both(unit, th)
}

/// The rejection for capacity that is not there.
pub fn no_capacity(window: &WindowRow, available: i64, wanted: i64) -> ApiError {
    if available == 0 {
        ApiError::new(ErrorKind::SoldOut).extra("window_id", window.id)
    } else {
        ApiError::new(ErrorKind::InsufficientCapacity)
            .with("available", available)
            .with("unit_name", unit_param(&window.unit))
            .extra("unit", &window.unit)
            .extra("requested", wanted)
    }
}

/// Partners may hold and order only with the right scope and for the LAOs they sell for.
pub fn check_partner(
    conn: &mut DbConn,
    principal: Option<&Principal>,
    scope: &str,
    lao_id: i64,
) -> ApiResult<()> {
    if let Some(p) = principal
        && let Some(partner_id) = p.partner_id()
    {
        p.require_scope(scope)?;
        if !partners::may_sell_for(conn, partner_id, lao_id)? {
            return Err(ApiError::forbidden().with(
                "reason",
                Param::both(
                    "the client does not sell for this LAO",
                    "ไคลเอนต์นี้ไม่ได้ขายสินค้าให้ อปท. นี้",
                ),
            ));
        }
    }
    Ok(())
}

/// Writes a hold for resolved lines after reserving its units (the caller holds the window lock).
#[allow(clippy::too_many_arguments)]
pub fn insert_hold(
    conn: &mut DbConn,
    window: &WindowRow,
    requested: &Requested,
    buyer_phone: Option<&str>,
    principal: Option<&Principal>,
    waitlist_entry_id: Option<i64>,
    duration: Duration,
    reference: &str,
    now: NaiveDateTime,
) -> ApiResult<HoldRow> {
    // What could never be paid is not held either.
    crate::promptpay::ensure_payable(lines_total(requested))?;
    if let Err(available) = ledger::reserve(conn, window.id, requested.units, now)? {
        return Err(no_capacity(window, available, requested.units));
    }
    let public_id = format!("hld_{}", random_token(18));
    let id: i64 = diesel::insert_into(holds::table)
        .values((
            holds::public_id.eq(&public_id),
            holds::window_id.eq(window.id),
            holds::status.eq(HoldStatus::Active.to_string()),
            holds::units.eq(requested.units),
            holds::buyer_phone.eq(buyer_phone),
            holds::partner_client_id.eq(principal.and_then(Principal::partner_id)),
            holds::user_id.eq(principal.and_then(Principal::user_id)),
            holds::waitlist_entry_id.eq(waitlist_entry_id),
            holds::expires_at.eq(now + duration),
            holds::extensions.eq(0),
            holds::created_at.eq(now),
            holds::updated_at.eq(now),
        ))
        .returning(holds::id)
        .get_result(conn)?;
    for (variant, quantity, units) in &requested.lines {
        diesel::insert_into(hold_lines::table)
            .values((
                hold_lines::hold_id.eq(id),
                hold_lines::variant_id.eq(variant.id),
                hold_lines::quantity.eq(quantity),
                hold_lines::units.eq(units),
                hold_lines::unit_price_satang.eq(Some(variant.price_satang)),
            ))
            .execute(conn)?;
    }
    let actor = principal.map(Principal::actor_label);
    ledger::record(
        conn,
        Movement::Hold,
        ledger::Entry {
            window_id: window.id,
            held_delta: requested.units,
            hold_id: Some(id),
            reference: Some(reference),
            actor: actor.as_deref(),
            ..Default::default()
        },
        now,
    )?;
    find(conn, id)?.ok_or_else(|| ApiError::internal("created hold vanished"))
}

fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<HoldRow>> {
    holds::table
        .find(id)
        .select(HoldRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<HoldRow>> {
    holds::table
        .filter(holds::public_id.eq(public_id))
        .select(HoldRow::as_select())
        .first(conn)
        .optional()
}

/// Locks a window and reads it again (counters may have moved since it was first read).
pub fn lock_and_read(
    conn: &mut DbConn,
    window_id: i64,
) -> ApiResult<(WindowRow, crate::laos::model::LaoRow)> {
    if !ledger::lock_window(conn, window_id)? {
        return Err(ApiError::not_found(WINDOW));
    }
    windows::find_with_lao(conn, window_id)?.ok_or_else(|| ApiError::not_found(WINDOW))
}

/// Places a hold on a window (anonymous buyers, partner clients with `holds:write`, staff).
pub fn create(
    conn: &mut DbConn,
    window_id: i64,
    principal: Option<&Principal>,
    new: &NewHold,
    now: NaiveDateTime,
) -> ApiResult<HoldRow> {
    let (window, lao) = lock_and_read(conn, window_id)?;
    if !windows::visible_to(&window, &lao, principal) {
        return Err(ApiError::not_found(WINDOW));
    }
    window.require_open(now)?;
    check_partner(conn, principal, "holds:write", lao.id)?;
    // Units of lapsed holds go back first, so this request sees them.
    let window = expire_due_for_window(conn, &window, now)?;
    let requested = resolve_lines(conn, &window, &new.lines, "lines")?;
    let phone = new
        .buyer_phone
        .as_deref()
        .and_then(PhoneNumber::parse)
        .map(PhoneNumber::into_string);
    check_buyer_limit(conn, &window, phone.as_deref(), requested.units, None, now)?;
    insert_hold(
        conn,
        &window,
        &requested,
        phone.as_deref(),
        principal,
        None,
        windows::hold_duration(&window, new.minutes),
        "hold",
        now,
    )
}

/// Reads a hold and refreshes it under its window's lock: an active hold past its time is
/// expired now (and its units freed).
fn read_locked(
    conn: &mut DbConn,
    public_id: &str,
    now: NaiveDateTime,
) -> ApiResult<(HoldRow, WindowRow)> {
    let hold = find_by_public_id(conn, public_id)?.ok_or_else(|| ApiError::not_found(HOLD))?;
    let (window, _) = lock_and_read(conn, hold.window_id)?;
    let window = expire_due_for_window(conn, &window, now)?;
    let hold = find(conn, hold.id)?.ok_or_else(|| ApiError::not_found(HOLD))?;
    Ok((hold, window))
}

/// The rejection for a hold that is no longer active.
pub fn not_active(hold: &HoldRow) -> ApiError {
    match hold.status() {
        HoldStatus::Expired => ApiError::new(ErrorKind::HoldExpired)
            .with("expires_at", to_bangkok(hold.expires_at).to_rfc3339()),
        status => ApiError::new(ErrorKind::HoldNotActive)
            .with("status", Param::both(status.label_en(), status.name_th()))
            .extra("hold_status", status),
    }
}

/// Gives a hold more time (up to [`MAX_EXTENSIONS`] times), while its window takes orders.
pub fn extend(conn: &mut DbConn, public_id: &str, now: NaiveDateTime) -> ApiResult<HoldRow> {
    let (hold, window) = read_locked(conn, public_id, now)?;
    if hold.status() != HoldStatus::Active {
        return Err(not_active(&hold));
    }
    if hold.extensions >= MAX_EXTENSIONS {
        return Err(ApiError::new(ErrorKind::ExtensionLimit).with("max", MAX_EXTENSIONS));
    }
    window.require_open(now)?;
    let minutes = if hold.waitlist_entry_id.is_some() {
        Duration::minutes(i64::from(window.waitlist_offer_minutes))
    } else {
        windows::hold_duration(&window, None)
    };
    crate::capacity::changes::window_changed(hold.window_id);
    diesel::update(holds::table.find(hold.id))
        .set((
            holds::expires_at.eq(now + minutes),
            holds::extensions.eq(hold.extensions + 1),
            holds::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, hold.id)?.ok_or_else(|| ApiError::not_found(HOLD))
}

/// Ends an active hold and gives its units back (`released` or `expired`), under the window lock.
fn end_hold(
    conn: &mut DbConn,
    hold: &HoldRow,
    to: HoldStatus,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<bool> {
    let ended = diesel::update(
        holds::table
            .find(hold.id)
            .filter(holds::status.eq(HoldStatus::Active.to_string())),
    )
    .set((
        holds::status.eq(to.to_string()),
        holds::ended_at.eq(now),
        holds::updated_at.eq(now),
    ))
    .execute(conn)?;
    if ended != 1 {
        return Ok(false);
    }
    ledger::release_held(conn, hold.window_id, hold.units)?;
    let kind = if to == HoldStatus::Expired {
        Movement::HoldExpiry
    } else {
        Movement::HoldRelease
    };
    ledger::record(
        conn,
        kind,
        ledger::Entry {
            window_id: hold.window_id,
            held_delta: -hold.units,
            hold_id: Some(hold.id),
            reference: Some(if to == HoldStatus::Expired {
                "hold expired"
            } else {
                "hold released"
            }),
            actor,
            ..Default::default()
        },
        now,
    )?;
    if let Some(entry_id) = hold.waitlist_entry_id {
        if to == HoldStatus::Expired {
            waitlist::mark_lapsed(conn, entry_id, now)?;
        } else {
            waitlist::mark_declined(conn, entry_id, now)?;
        }
    }
    Ok(true)
}

/// Releases a hold (idempotent: an ended hold is returned as it is) and offers its units to the
/// waiting list.
pub fn release(
    conn: &mut DbConn,
    public_id: &str,
    principal: Option<&Principal>,
    now: NaiveDateTime,
) -> ApiResult<HoldRow> {
    let (hold, window) = read_locked(conn, public_id, now)?;
    let actor = principal.map(Principal::actor_label);
    if end_hold(conn, &hold, HoldStatus::Released, actor.as_deref(), now)? {
        let (window, _) =
            windows::find_with_lao(conn, window.id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
        waitlist::offer_freed_capacity(conn, &window, now)?;
    }
    find(conn, hold.id)?.ok_or_else(|| ApiError::not_found(HOLD))
}

/// Lets everything due on a window expire (holds past their time, unpaid orders past their
/// deadline: [`crate::capacity::claims::expire_due`]) and returns the window as it now stands.
/// The caller holds the window lock.
pub fn expire_due_for_window(
    conn: &mut DbConn,
    window: &WindowRow,
    now: NaiveDateTime,
) -> ApiResult<WindowRow> {
    if !crate::capacity::claims::expire_due(conn, window.id, now)? {
        return Ok(window.clone());
    }
    let (fresh, _) =
        windows::find_with_lao(conn, window.id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
    Ok(fresh)
}

/// Expires a window's holds past their time and offers the freed units to its waiting list;
/// returns how many expired. The caller holds the window lock. (Unpaid orders expire with them
/// in `orders::expiry::expire_due`, the one function that lets what is due expire.)
pub fn expire_lapsed(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> ApiResult<usize> {
    let due: Vec<HoldRow> = holds::table
        .filter(holds::window_id.eq(window_id))
        .filter(holds::status.eq(HoldStatus::Active.to_string()))
        .filter(holds::expires_at.le(now))
        .order(holds::id)
        .select(HoldRow::as_select())
        .load(conn)?;
    let mut expired = 0;
    for hold in &due {
        if end_hold(conn, hold, HoldStatus::Expired, Some("system"), now)? {
            expired += 1;
        }
    }
    if expired > 0 {
        tracing::debug!(window_id, expired, "expired holds");
        let (window, _) =
            windows::find_with_lao(conn, window_id)?.ok_or_else(|| ApiError::not_found(WINDOW))?;
        waitlist::offer_freed_capacity(conn, &window, now)?;
    }
    Ok(expired)
}

/// Releases every active hold of a window (when it is cancelled).
pub fn release_all(
    conn: &mut DbConn,
    window_id: i64,
    principal: &Principal,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    let active: Vec<HoldRow> = holds::table
        .filter(holds::window_id.eq(window_id))
        .filter(holds::status.eq(HoldStatus::Active.to_string()))
        .select(HoldRow::as_select())
        .load(conn)?;
    let actor = principal.actor_label();
    let mut released = 0;
    for hold in &active {
        if end_hold(conn, hold, HoldStatus::Released, Some(&actor), now)? {
            released += 1;
        }
    }
    Ok(released)
}

/// Windows with active holds past their time (at most 500 a pass), for the background task.
pub fn windows_with_due_holds(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    holds::table
        .filter(holds::status.eq(HoldStatus::Active.to_string()))
        .filter(holds::expires_at.le(now))
        .select(holds::window_id)
        .distinct()
        .limit(500)
        .load(conn)
}

/// The lines of a hold with their variants, each variant at the price the hold keeps.
pub fn lines_of(conn: &mut DbConn, hold_id: i64) -> QueryResult<Vec<(HoldLineRow, VariantRow)>> {
    let rows: Vec<(HoldLineRow, VariantRow)> = hold_lines::table
        .inner_join(window_variants::table)
        .filter(hold_lines::hold_id.eq(hold_id))
        .order(hold_lines::variant_id)
        .select((HoldLineRow::as_select(), VariantRow::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(line, mut variant)| {
            if let Some(price) = line.unit_price_satang {
                variant.price_satang = price;
            }
            (line, variant)
        })
        .collect())
}

/// What the lines come to in satang (`None` if the sum overflows).
pub fn lines_total(requested: &Requested) -> Option<i64> {
    requested
        .lines
        .iter()
        .try_fold(0_i64, |sum, (variant, quantity, _)| {
            variant
                .price_satang
                .checked_mul(i64::from(*quantity))
                .and_then(|line| sum.checked_add(line))
        })
}

/// A hold as the API shows it.
pub fn view(conn: &mut DbConn, hold: HoldRow, now: NaiveDateTime) -> ApiResult<Hold> {
    let lines: Vec<HoldLine> = lines_of(conn, hold.id)?
        .into_iter()
        .map(|(line, variant)| HoldLine {
            variant_id: variant.id,
            name: variant.name,
            quantity: line.quantity,
            units: line.units,
            price_satang: variant.price_satang,
            line_total_satang: variant.price_satang * i64::from(line.quantity),
        })
        .collect();
    let entry: Option<String> = match hold.waitlist_entry_id {
        Some(id) => waitlist_entries::table
            .find(id)
            .select(waitlist_entries::public_id)
            .first(conn)
            .optional()?,
        None => None,
    };
    Ok(Hold {
        status: hold.status_at(now),
        total_satang: lines.iter().map(|l| l.line_total_satang).sum(),
        lines,
        id: hold.public_id,
        window_id: hold.window_id,
        units: hold.units,
        expires_at: to_bangkok(hold.expires_at),
        extensions_used: hold.extensions,
        extensions_left: (MAX_EXTENSIONS - hold.extensions).max(0),
        waitlist_entry_id: entry,
        order_id: hold.order_id,
        created_at: to_bangkok(hold.created_at),
    })
}

/// Turns a hold into an order: its held units become sold (orders call this in their
/// transaction, with the window locked).
pub fn convert(
    conn: &mut DbConn,
    hold: &HoldRow,
    order_id: i64,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let converted = diesel::update(
        holds::table
            .find(hold.id)
            .filter(holds::status.eq(HoldStatus::Active.to_string())),
    )
    .set((
        holds::status.eq(HoldStatus::Converted.to_string()),
        holds::order_id.eq(Some(order_id)),
        holds::ended_at.eq(now),
        holds::updated_at.eq(now),
    ))
    .execute(conn)?;
    if converted != 1 {
        return Err(not_active(hold));
    }
    ledger::convert_held(conn, hold.window_id, hold.units)?;
    ledger::record(
        conn,
        Movement::Order,
        ledger::Entry {
            window_id: hold.window_id,
            held_delta: -hold.units,
            sold_delta: hold.units,
            hold_id: Some(hold.id),
            order_id: Some(order_id),
            reference: Some("order from hold"),
            actor,
            ..Default::default()
        },
        now,
    )?;
    if let Some(entry_id) = hold.waitlist_entry_id {
        waitlist::mark_accepted(conn, entry_id, now)?;
    }
    Ok(())
}

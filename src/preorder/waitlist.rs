//! Waiting lists: when a window cannot serve a buyer, the buyer waits; when units come back
//! (a hold lapses or is released, an order is cancelled, capacity grows), the first entries that
//! fit are offered them as holds with a deadline, in the order they joined, and told through the
//! event outbox.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::holds::{self, HoldRow, LineInput};
use super::windows::{WINDOW, WindowRow};
use crate::auth::principal::Principal;
use crate::auth::tokens::random_token;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{holds as holds_t, waitlist_entries as wl, window_variants};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::i18n::Text;
use crate::outbox;
use crate::validate::PhoneNumber;

pub const ENTRY: Text = Text {
    en: "waiting-list entry",
    th: "รายการรอคิว",
};

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
#[schema(as = WaitlistEntryStatus)]
pub enum EntryStatus {
    Waiting,
    /// Units are held for the buyer until the offer's deadline.
    Offered,
    /// The buyer ordered with the offered hold.
    Accepted,
    /// The offer's deadline passed.
    Lapsed,
    /// The buyer declined the offer (released its hold).
    Declined,
    /// The buyer left the list, or the window was cancelled.
    Cancelled,
}

crate::stored_as_text!(EntryStatus);

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = wl)]
pub struct EntryRow {
    pub id: i64,
    pub public_id: String,
    pub window_id: i64,
    pub variant_id: i64,
    pub quantity: i32,
    pub units: i64,
    pub buyer_name: String,
    pub buyer_phone: String,
    pub buyer_email: Option<String>,
    pub status: EntryStatus,
    pub hold_id: Option<i64>,
    pub offered_at: Option<NaiveDateTime>,
    pub offer_expires_at: Option<NaiveDateTime>,
    pub partner_client_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EntryRow {
    pub fn status(&self) -> EntryStatus {
        self.status
    }
}

/// Joining a window's waiting list.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWaitlistEntry, example = json!({"variant_id": 4, "quantity": 2, "buyer_name": "สมหญิง รักดี", "buyer_phone": "089 123 4567", "buyer_email": "somying@example.com"}))]
pub struct NewEntry {
    pub variant_id: i64,
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub quantity: i32,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub buyer_name: String,
    #[validate(custom(function = "crate::validate::thai_phone"))]
    #[schema(format = "thai-phone")]
    pub buyer_phone: String,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub buyer_email: Option<String>,
}

/// An offer of units to a waiting buyer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = WaitlistOffer)]
pub struct Offer {
    /// The hold to order with (`POST /v1/orders` with `hold_id`), before `expires_at`.
    pub hold_id: String,
    pub expires_at: DateTime<FixedOffset>,
}

/// A waiting-list entry. Its `id` is a secret: whoever has it may see or cancel the entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = WaitlistEntry, example = json!({
    "id": "wl_Q2t5r7c9LwV0sA3d4e8Yb1mX", "window_id": 7, "status": "waiting", "variant_id": 4, "variant_name": "กล่อง 5 กก.",
    "quantity": 2, "units": 10, "position": 3, "offer": null, "created_at": "2026-06-01T09:00:00+07:00"
}))]
pub struct Entry {
    pub id: String,
    pub window_id: i64,
    pub status: EntryStatus,
    pub variant_id: i64,
    pub variant_name: String,
    pub quantity: i32,
    pub units: i64,
    /// Place in the queue while waiting (1: first).
    pub position: Option<i64>,
    pub offer: Option<Offer>,
    pub created_at: DateTime<FixedOffset>,
}

pub fn find_by_public_id(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<EntryRow>> {
    wl::table
        .filter(wl::public_id.eq(public_id))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()
}

fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<EntryRow>> {
    wl::table
        .find(id)
        .select(EntryRow::as_select())
        .first(conn)
        .optional()
}

/// Joins a window's waiting list. Only when the window cannot serve the request now: a buyer who
/// could hold the units is told to hold them instead.
pub fn join(
    conn: &mut DbConn,
    window_id: i64,
    principal: Option<&Principal>,
    new: &NewEntry,
    now: NaiveDateTime,
) -> ApiResult<EntryRow> {
    let (window, lao) = holds::lock_and_read(conn, window_id)?;
    if !super::windows::visible_to(&window, &lao, principal) {
        return Err(ApiError::not_found(WINDOW));
    }
    window.require_open(now)?;
    holds::check_partner(conn, principal, "holds:write", lao.id)?;
    let window = holds::expire_due_for_window(conn, &window, now)?;
    let requested = holds::resolve_lines(
        conn,
        &window,
        &[LineInput {
            variant_id: new.variant_id,
            quantity: new.quantity,
        }],
        "waitlist",
    )
    .map_err(|e| {
        if e.kind() == ErrorKind::UnknownVariant {
            ApiError::invalid_field("variant_id", "not_found")
        } else {
            e
        }
    })?;
    let phone = PhoneNumber::parse(&new.buyer_phone)
        .map(PhoneNumber::into_string)
        .ok_or_else(|| ApiError::invalid_field("buyer_phone", "invalid_phone"))?;
    holds::check_buyer_limit(conn, &window, Some(&phone), requested.units, None, now)?;
    let available = window.capacity - window.held - window.sold;
    if available >= requested.units {
        return Err(ApiError::new(ErrorKind::WaitlistNotNeeded).with("available", available));
    }
    let live: i64 = wl::table
        .filter(wl::window_id.eq(window.id))
        .filter(wl::buyer_phone.eq(&phone))
        .filter(wl::status.eq_any([
            EntryStatus::Waiting.to_string(),
            EntryStatus::Offered.to_string(),
        ]))
        .count()
        .get_result(conn)?;
    if live > 0 {
        return Err(ApiError::already_exists(ENTRY, "buyer_phone"));
    }
    crate::capacity::changes::window_changed(window.id);
    let id: i64 = diesel::insert_into(wl::table)
        .values((
            wl::public_id.eq(format!("wl_{}", random_token(18))),
            wl::window_id.eq(window.id),
            wl::variant_id.eq(new.variant_id),
            wl::quantity.eq(new.quantity),
            wl::units.eq(requested.units),
            wl::buyer_name.eq(new.buyer_name.trim()),
            wl::buyer_phone.eq(&phone),
            wl::buyer_email.eq(new.buyer_email.as_deref()),
            wl::status.eq(EntryStatus::Waiting.to_string()),
            wl::partner_client_id.eq(principal.and_then(Principal::partner_id)),
            wl::created_at.eq(now),
            wl::updated_at.eq(now),
        ))
        .returning(wl::id)
        .get_result(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::internal("created entry vanished"))
}

/// Offers units that are free now to waiting entries, in order: every entry that fits the units
/// left is offered them as a hold until the offer deadline; entries that do not fit keep their
/// place. Nothing is offered while the window does not take orders. The caller holds the window
/// lock. Returns how many offers were made.
pub fn offer_freed_capacity(
    conn: &mut DbConn,
    window: &WindowRow,
    now: NaiveDateTime,
) -> ApiResult<usize> {
    if !window.status(now).takes_orders() {
        return Ok(0);
    }
    let mut available = window.capacity - window.held - window.sold;
    if available <= 0 {
        return Ok(0);
    }
    let waiting: Vec<EntryRow> = wl::table
        .filter(wl::window_id.eq(window.id))
        .filter(wl::status.eq(EntryStatus::Waiting.to_string()))
        .order(wl::id)
        .select(EntryRow::as_select())
        .load(conn)?;
    let mut offers = 0;
    let mut window = window.clone();
    for entry in waiting {
        if entry.units > available {
            continue;
        }
        let requested = match holds::resolve_lines(
            conn,
            &window,
            &[LineInput {
                variant_id: entry.variant_id,
                quantity: entry.quantity,
            }],
            "waitlist",
        ) {
            Ok(r) => r,
            // The variant was withdrawn or the limits changed: the entry cannot be served.
            Err(_) => continue,
        };
        let deadline = Duration::minutes(i64::from(window.waitlist_offer_minutes));
        let hold = holds::insert_hold(
            conn,
            &window,
            &requested,
            Some(&entry.buyer_phone),
            None,
            Some(entry.id),
            deadline,
            "waiting-list offer",
            now,
        )?;
        crate::capacity::changes::window_changed(entry.window_id);
        diesel::update(wl::table.find(entry.id))
            .set((
                wl::status.eq(EntryStatus::Offered.to_string()),
                wl::hold_id.eq(Some(hold.id)),
                wl::offered_at.eq(Some(now)),
                wl::offer_expires_at.eq(Some(hold.expires_at)),
                wl::updated_at.eq(now),
            ))
            .execute(conn)?;
        outbox::record(
            conn,
            outbox::Event {
                event_type: "waitlist.offered",
                aggregate_type: "waitlist_entry",
                aggregate_id: entry.public_id.clone(),
                lao_id: Some(window.lao_id),
                partner_client_id: entry.partner_client_id,
                payload: serde_json::json!({
                    "entry_id": entry.public_id,
                    "window_id": window.id,
                    "hold_id": hold.public_id,
                    "expires_at": to_bangkok(hold.expires_at).to_rfc3339(),
                    "variant_id": entry.variant_id,
                    "quantity": entry.quantity,
                    "units": entry.units,
                    "buyer_name": entry.buyer_name,
                    "buyer_phone": entry.buyer_phone,
                    "buyer_email": entry.buyer_email,
                }),
            },
            now,
        )?;
        available -= entry.units;
        window.held += entry.units;
        offers += 1;
    }
    Ok(offers)
}

fn set_status(
    conn: &mut DbConn,
    entry_id: i64,
    from: EntryStatus,
    to: EntryStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        wl::table
            .find(entry_id)
            .filter(wl::status.eq(from.to_string())),
    )
    .set((wl::status.eq(to.to_string()), wl::updated_at.eq(now)))
    .execute(conn)?;
    Ok(changed == 1)
}

fn entry_event(
    conn: &mut DbConn,
    entry_id: i64,
    event_type: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let Some(entry) = find(conn, entry_id)? else {
        return Ok(());
    };
    let lao_id: Option<i64> = crate::db::schema::preorder_windows::table
        .find(entry.window_id)
        .select(crate::db::schema::preorder_windows::lao_id)
        .first(conn)
        .optional()?;
    outbox::record(
        conn,
        outbox::Event {
            event_type,
            aggregate_type: "waitlist_entry",
            aggregate_id: entry.public_id.clone(),
            lao_id,
            partner_client_id: entry.partner_client_id,
            payload: serde_json::json!({
                "entry_id": entry.public_id,
                "window_id": entry.window_id,
                "buyer_phone": entry.buyer_phone,
            }),
        },
        now,
    )?;
    Ok(())
}

/// The offer's deadline passed.
pub fn mark_lapsed(conn: &mut DbConn, entry_id: i64, now: NaiveDateTime) -> ApiResult<()> {
    if set_status(
        conn,
        entry_id,
        EntryStatus::Offered,
        EntryStatus::Lapsed,
        now,
    )? {
        entry_event(conn, entry_id, "waitlist.lapsed", now)?;
    }
    Ok(())
}

/// The buyer released the offered hold.
pub fn mark_declined(conn: &mut DbConn, entry_id: i64, now: NaiveDateTime) -> ApiResult<()> {
    set_status(
        conn,
        entry_id,
        EntryStatus::Offered,
        EntryStatus::Declined,
        now,
    )?;
    Ok(())
}

/// The buyer ordered with the offered hold.
pub fn mark_accepted(conn: &mut DbConn, entry_id: i64, now: NaiveDateTime) -> ApiResult<()> {
    set_status(
        conn,
        entry_id,
        EntryStatus::Offered,
        EntryStatus::Accepted,
        now,
    )?;
    Ok(())
}

/// Leaves the list. An offered entry's hold is released and its units offered onwards.
pub fn cancel(conn: &mut DbConn, public_id: &str, now: NaiveDateTime) -> ApiResult<EntryRow> {
    let entry = find_by_public_id(conn, public_id)?.ok_or_else(|| ApiError::not_found(ENTRY))?;
    holds::lock_and_read(conn, entry.window_id)?;
    let entry = find(conn, entry.id)?.ok_or_else(|| ApiError::not_found(ENTRY))?;
    match entry.status() {
        EntryStatus::Waiting => {
            set_status(
                conn,
                entry.id,
                EntryStatus::Waiting,
                EntryStatus::Cancelled,
                now,
            )?;
        }
        EntryStatus::Offered => {
            let hold_public: Option<String> = match entry.hold_id {
                Some(id) => holds_t::table
                    .find(id)
                    .select(holds_t::public_id)
                    .first(conn)
                    .optional()?,
                None => None,
            };
            if let Some(hold) = hold_public {
                holds::release(conn, &hold, None, now)?;
            }
            // Releasing marks it declined; leaving the list is a cancellation.
            crate::capacity::changes::window_changed(entry.window_id);
            diesel::update(wl::table.find(entry.id))
                .set((
                    wl::status.eq(EntryStatus::Cancelled.to_string()),
                    wl::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        _ => {}
    }
    find(conn, entry.id)?.ok_or_else(|| ApiError::not_found(ENTRY))
}

/// Closes the list of a cancelled window (its holds are released separately).
pub fn close_all(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    crate::capacity::changes::window_changed(window_id);
    diesel::update(
        wl::table
            .filter(wl::window_id.eq(window_id))
            .filter(wl::status.eq_any([
                EntryStatus::Waiting.to_string(),
                EntryStatus::Offered.to_string(),
            ])),
    )
    .set((
        wl::status.eq(EntryStatus::Cancelled.to_string()),
        wl::updated_at.eq(now),
    ))
    .execute(conn)
}

/// An entry as the API shows it, with its place in the queue and its offer.
pub fn view(conn: &mut DbConn, entry: EntryRow, now: NaiveDateTime) -> ApiResult<Entry> {
    let status = entry.status();
    let position = if status == EntryStatus::Waiting {
        let ahead: i64 = wl::table
            .filter(wl::window_id.eq(entry.window_id))
            .filter(wl::status.eq(EntryStatus::Waiting.to_string()))
            .filter(wl::id.lt(entry.id))
            .count()
            .get_result(conn)?;
        Some(ahead + 1)
    } else {
        None
    };
    let offer = match (status, entry.hold_id) {
        (EntryStatus::Offered, Some(hold_id)) => {
            let hold: Option<HoldRow> = holds_t::table
                .find(hold_id)
                .select(HoldRow::as_select())
                .first(conn)
                .optional()?;
            hold.filter(|h| h.status_at(now) == holds::HoldStatus::Active)
                .map(|h| Offer {
                    hold_id: h.public_id,
                    expires_at: to_bangkok(h.expires_at),
                })
        }
        _ => None,
    };
    let variant_name: String = window_variants::table
        .find(entry.variant_id)
        .select(window_variants::name)
        .first(conn)?;
    Ok(Entry {
        id: entry.public_id,
        window_id: entry.window_id,
        status: if status == EntryStatus::Offered && offer.is_none() {
            EntryStatus::Lapsed
        } else {
            status
        },
        variant_id: entry.variant_id,
        variant_name,
        quantity: entry.quantity,
        units: entry.units,
        position,
        offer,
        created_at: to_bangkok(entry.created_at),
    })
}

//! What the privacy room speaks in: the erased marker, counts of rows per table, the export of
//! one buyer's data, and the keyed hash that names a buyer in the audit log.

use chrono::{DateTime, FixedOffset};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::orders::model::OrderStatus;

/// What an erased name, phone or address line reads as (columns that may be empty become NULL
/// instead: e-mail, LINE id, notes). Every view, label and CSV shows it as it is.
pub const ERASED: &str = "[erased]";

/// Whether an order is closed, so that its buyer's data may be erased: delivered, picked up,
/// cancelled, expired or refunded (`orders::model::OrderStatus`; an unpaid order past its
/// deadline counts as expired, as its views show it).
pub fn is_closed(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Delivered
            | OrderStatus::PickedUp
            | OrderStatus::Cancelled
            | OrderStatus::Expired
            | OrderStatus::Refunded
    )
}

/// The closed statuses, as stored.
pub fn closed_statuses() -> Vec<String> {
    use strum::IntoEnumIterator;
    OrderStatus::iter()
        .filter(|s| is_closed(*s))
        .map(|s| s.to_string())
        .collect()
}

/// Rows per table, read (export) or changed (erasure, retention).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Tally {
    pub orders: i64,
    pub order_addresses: i64,
    pub order_lines: i64,
    pub order_history: i64,
    pub capacity_ledger: i64,
    pub holds: i64,
    pub waitlist_entries: i64,
    pub idempotency_records: i64,
    pub webhook_events: i64,
}

impl Tally {
    /// All tables together.
    pub fn total(&self) -> i64 {
        self.orders
            + self.order_addresses
            + self.order_lines
            + self.order_history
            + self.capacity_ledger
            + self.holds
            + self.waitlist_entries
            + self.idempotency_records
            + self.webhook_events
    }

    pub fn add(&mut self, other: &Tally) {
        self.orders += other.orders;
        self.order_addresses += other.order_addresses;
        self.order_lines += other.order_lines;
        self.order_history += other.order_history;
        self.capacity_ledger += other.capacity_ledger;
        self.holds += other.holds;
        self.waitlist_entries += other.waitlist_entries;
        self.idempotency_records += other.idempotency_records;
        self.webhook_events += other.webhook_events;
    }
}

/// A buyer phone (E.164) as the audit log names it: HMAC-SHA-256 keyed with the service's
/// pepper (`KHONGDEE_CITIZEN_ID_PEPPER`), hex. The same phone always gives the same key, so an
/// auditor can find every entry about one buyer without the log holding the phone; the
/// domain-separation prefix keeps it apart from the buyer keys of sale facts.
pub fn subject_key(pepper: &[u8], e164: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper) else {
        return String::new();
    };
    mac.update(b"khongdee:privacy-subject:v1:");
    mac.update(e164.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The buyer's contact on an order, as stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BuyerRecord {
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    pub line_id: Option<String>,
}

/// A carrier delivery address, as stored (DOPA codes).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AddressRecord {
    pub recipient_name: String,
    /// E.164.
    pub phone: String,
    pub address_line: String,
    pub subdistrict_code: String,
    pub district_code: String,
    pub province_code: String,
    pub postal_code: String,
}

/// An order line, at the price it was placed at (satang).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LineRecord {
    pub variant_name: String,
    pub quantity: i32,
    /// In the product's unit.
    pub units: i64,
    pub unit_price_satang: i64,
    pub line_total_satang: i64,
}

/// A step of an order's history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HistoryRecord {
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    /// `user:ID`, `client:ID`, `system`, or `buyer:PHONE` for the buyer's own moves.
    pub actor: String,
    pub note: Option<String>,
    /// Bangkok time.
    pub at: DateTime<FixedOffset>,
}

/// An order of the buyer (by its phone or its delivery address's phone).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrderRecord {
    pub code: String,
    /// As stored (an unpaid order past its deadline may still read `pending_payment` until the
    /// background pass expires it).
    pub status: OrderStatus,
    pub window_id: i64,
    /// `partner`, `embed` or `staff`.
    pub channel: String,
    pub buyer: BuyerRecord,
    pub note: Option<String>,
    /// `pickup` or `carrier`.
    pub delivery_method: String,
    pub address: Option<AddressRecord>,
    pub lines: Vec<LineRecord>,
    pub total_satang: i64,
    pub history: Vec<HistoryRecord>,
    /// Bangkok time.
    pub placed_at: DateTime<FixedOffset>,
}

/// A hold that named the buyer's phone.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldRecord {
    pub id: String,
    pub window_id: i64,
    /// `active`, `released`, `expired` or `converted`.
    pub status: String,
    pub units: i64,
    /// Bangkok time.
    pub created_at: DateTime<FixedOffset>,
}

/// A waiting-list entry of the buyer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WaitlistRecord {
    pub id: String,
    pub window_id: i64,
    pub variant_id: i64,
    pub quantity: i32,
    pub buyer_name: String,
    /// E.164.
    pub buyer_phone: String,
    pub buyer_email: Option<String>,
    /// `waiting`, `offered`, `accepted`, `lapsed`, `declined` or `cancelled`.
    pub status: String,
    /// Bangkok time.
    pub created_at: DateTime<FixedOffset>,
}

/// A stored answer to a request with an `Idempotency-Key` that mentions the buyer's phone
/// (kept 48 hours for replays).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IdempotencyRecord {
    pub key: String,
    pub response_status: Option<i32>,
    /// The stored answer (JSON when it was JSON, else text).
    #[schema(value_type = Object)]
    pub response_body: serde_json::Value,
    /// Bangkok time.
    pub created_at: DateTime<FixedOffset>,
    /// Bangkok time.
    pub expires_at: DateTime<FixedOffset>,
}

/// A webhook event whose payload names the buyer (waiting-list offers and lapses).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookEventRecord {
    pub id: i64,
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Bangkok time.
    pub occurred_at: DateTime<FixedOffset>,
}

/// Everything khongdee holds about one buyer phone (PDPA section 30, right of access).
/// Sale facts are not listed: they carry a keyed hash of the phone, not the phone.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubjectExport {
    /// The phone asked about, E.164.
    pub phone: String,
    /// Bangkok time.
    pub generated_at: DateTime<FixedOffset>,
    pub orders: Vec<OrderRecord>,
    pub holds: Vec<HoldRecord>,
    pub waitlist_entries: Vec<WaitlistRecord>,
    pub idempotency_records: Vec<IdempotencyRecord>,
    pub webhook_events: Vec<WebhookEventRecord>,
    /// Rows read, per table.
    pub rows: Tally,
}

/// What an erasure on request changed (PDPA section 33, right to erasure).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErasureReport {
    /// The phone as the audit log names it (see `subject_key`).
    pub subject_key: String,
    /// Rows changed, per table.
    pub rows: Tally,
    pub rows_total: i64,
    /// The audit log entry that records it.
    pub audit_id: i64,
}

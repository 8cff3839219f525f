//! A buyer's requests under the PDPA, carried out by an admin: everything held about one phone
//! (right of access, section 30) and its erasure (right to erasure, section 33).
//!
//! Erasure takes only what is closed: while the phone has an open order (not yet delivered,
//! picked up, cancelled, expired or refunded), an active hold or a waiting or offered
//! waiting-list entry, nothing is erased and the answer is 409 `personal_data_in_use` naming
//! them (`open` in the problem), because the LAO still needs the name, phone and address to
//! deliver, and the buyer to pay or be offered units. Close them first, then ask again. Sale
//! facts keep their keyed hashes, so the statistics keep counting the buyer's past purchases
//! without the phone. Both requests, and refused erasures, are recorded in the audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AuditAction, NewEntry};
use super::holdings::{self, Erasing};
use super::model::{
    AddressRecord, BuyerRecord, ErasureReport, HistoryRecord, HoldRecord, IdempotencyRecord,
    LineRecord, OrderRecord, SubjectExport, Tally, WaitlistRecord, WebhookEventRecord, is_closed,
    subject_key,
};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{holds, order_addresses, waitlist_entries};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::orders::model::{self as order_model, OrderRow};
use crate::preorder::holds::HoldStatus;
use crate::preorder::waitlist::EntryStatus;

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// Everything held about `phone` (E.164, checked by the caller), recorded in the audit log as
/// read by `actor`.
pub fn export(
    conn: &mut DbConn,
    phone: &str,
    actor: &str,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<SubjectExport> {
    let mut rows = Tally::default();
    let order_ids = holdings::orders_of_phone(conn, phone)?;
    let found = order_model::find_many(conn, &order_ids)?;
    let mut orders = Vec::with_capacity(found.len());
    for order in found {
        let lines = order_model::lines_of(conn, order.id)?;
        let history = order_model::history_of(conn, order.id)?;
        let address: Option<AddressRecord> = order_addresses::table
            .find(order.id)
            .select((
                order_addresses::recipient_name,
                order_addresses::phone,
                order_addresses::address_line,
                order_addresses::subdistrict_code,
                order_addresses::district_code,
                order_addresses::province_code,
                order_addresses::postal_code,
            ))
            .first::<(String, String, String, String, String, String, String)>(conn)
            .optional()?
            .map(|a| AddressRecord {
                recipient_name: a.0,
                phone: a.1,
                address_line: a.2,
                subdistrict_code: a.3,
                district_code: a.4,
                province_code: a.5,
                postal_code: a.6,
            });
        rows.orders += 1;
        rows.order_addresses += i64::from(address.is_some());
        rows.order_lines += count(lines.len());
        rows.order_history += count(history.len());
        orders.push(order_record(order, lines, history, address));
    }
    let hold_ids = holdings::holds_of_phone(conn, phone)?;
    let holds: Vec<HoldRecord> = holds::table
        .filter(holds::id.eq_any(&hold_ids))
        .order(holds::id)
        .select((
            holds::public_id,
            holds::window_id,
            holds::status,
            holds::units,
            holds::created_at,
        ))
        .load::<(String, i64, String, i64, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, window_id, status, units, at)| HoldRecord {
            id,
            window_id,
            status,
            units,
            created_at: to_bangkok(at),
        })
        .collect();
    rows.holds = count(holds.len());
    let entry_ids = holdings::entries_of_phone(conn, phone)?;
    #[allow(clippy::type_complexity)]
    let entries: Vec<WaitlistRecord> = waitlist_entries::table
        .filter(waitlist_entries::id.eq_any(&entry_ids))
        .order(waitlist_entries::id)
        .select((
            waitlist_entries::public_id,
            waitlist_entries::window_id,
            waitlist_entries::variant_id,
            waitlist_entries::quantity,
            waitlist_entries::buyer_name,
            waitlist_entries::buyer_phone,
            waitlist_entries::buyer_email,
            waitlist_entries::status,
            waitlist_entries::created_at,
        ))
        .load::<(
            String,
            i64,
            i64,
            i32,
            String,
            String,
            Option<String>,
            String,
            NaiveDateTime,
        )>(conn)?
        .into_iter()
        .map(|e| WaitlistRecord {
            id: e.0,
            window_id: e.1,
            variant_id: e.2,
            quantity: e.3,
            buyer_name: e.4,
            buyer_phone: e.5,
            buyer_email: e.6,
            status: e.7,
            created_at: to_bangkok(e.8),
        })
        .collect();
    rows.waitlist_entries = count(entries.len());
    let phones = [phone.to_string()];
    let idempotency_records: Vec<IdempotencyRecord> = holdings::answers_mentioning(conn, &phones)?
        .into_iter()
        .map(
            |(_, key, status, body, created, expires)| IdempotencyRecord {
                key,
                response_status: status,
                response_body: body.as_deref().map(parse_json).unwrap_or_default(),
                created_at: to_bangkok(created),
                expires_at: to_bangkok(expires),
            },
        )
        .collect();
    rows.idempotency_records = count(idempotency_records.len());
    let webhook_events: Vec<WebhookEventRecord> = holdings::events_mentioning(conn, &phones)?
        .into_iter()
        .map(|(id, event_type, payload, at)| WebhookEventRecord {
            id,
            event_type,
            payload: parse_json(&payload),
            occurred_at: to_bangkok(at),
        })
        .collect();
    rows.webhook_events = count(webhook_events.len());
    let key = subject_key(pepper, phone);
    audit::record(
        conn,
        &NewEntry {
            action: AuditAction::Export,
            actor,
            subject_key: Some(&key),
            rows: &rows,
            refused: None,
        },
        now,
    )?;
    Ok(SubjectExport {
        phone: phone.to_string(),
        generated_at: to_bangkok(now),
        orders,
        holds,
        waitlist_entries: entries,
        idempotency_records,
        webhook_events,
        rows,
    })
}

fn order_record(
    order: OrderRow,
    lines: Vec<order_model::LineRow>,
    history: Vec<order_model::HistoryRow>,
    address: Option<AddressRecord>,
) -> OrderRecord {
    OrderRecord {
        code: order.code,
        status: order.status,
        window_id: order.window_id,
        channel: order.channel.to_string(),
        buyer: BuyerRecord {
            name: order.buyer_name,
            phone: order.buyer_phone,
            email: order.buyer_email,
            line_id: order.buyer_line_id,
        },
        note: order.note,
        delivery_method: order.delivery_method.to_string(),
        address,
        lines: lines
            .into_iter()
            .map(|l| LineRecord {
                variant_name: l.variant_name,
                quantity: l.quantity,
                units: l.units,
                unit_price_satang: l.unit_price_satang,
                line_total_satang: l.line_total_satang,
            })
            .collect(),
        total_satang: order.total_satang,
        history: history
            .into_iter()
            .map(|h| HistoryRecord {
                from_status: h.from_status,
                to_status: h.to_status,
                actor: h.actor,
                note: h.note,
                at: to_bangkok(h.created_at),
            })
            .collect(),
        placed_at: to_bangkok(order.created_at),
    }
}

/// How an erasure request ended.
pub enum Erasure {
    Done(ErasureReport),
    /// Nothing erased: these orders (codes), holds and entries (public ids) are still open.
    Refused {
        open: Vec<String>,
        audit_id: i64,
    },
}

/// Erases everything held about `phone` (E.164) if nothing of it is open; recorded in the audit
/// log either way. Run inside a write transaction; a refusal commits only its audit entry.
pub fn erase(
    conn: &mut DbConn,
    phone: &str,
    actor: &str,
    pepper: &[u8],
    now: NaiveDateTime,
) -> ApiResult<Erasure> {
    let key = subject_key(pepper, phone);
    let order_ids = holdings::orders_of_phone(conn, phone)?;
    let orders = order_model::find_many(conn, &order_ids)?;
    let mut open: Vec<String> = orders
        .iter()
        .filter(|o| !is_closed(o.status_at(now)))
        .map(|o| o.code.clone())
        .collect();
    let hold_ids = holdings::holds_of_phone(conn, phone)?;
    open.extend(
        holds::table
            .filter(holds::id.eq_any(&hold_ids))
            .filter(holds::status.eq(HoldStatus::Active))
            .filter(holds::expires_at.gt(now))
            .select(holds::public_id)
            .load::<String>(conn)?,
    );
    let entry_ids = holdings::entries_of_phone(conn, phone)?;
    open.extend(
        waitlist_entries::table
            .filter(waitlist_entries::id.eq_any(&entry_ids))
            .filter(
                waitlist_entries::status
                    .eq_any([EntryStatus::Waiting, EntryStatus::Offered].map(|s| s.to_string())),
            )
            .select(waitlist_entries::public_id)
            .load::<String>(conn)?,
    );
    if !open.is_empty() {
        let audit_id = audit::record(
            conn,
            &NewEntry {
                action: AuditAction::Erasure,
                actor,
                subject_key: Some(&key),
                rows: &Tally::default(),
                refused: Some(&open),
            },
            now,
        )?;
        return Ok(Erasure::Refused { open, audit_id });
    }
    // The phone itself, even when no row names it any more (a second request).
    let mut erasing = Erasing::of_phone(phone);
    let mut rows = holdings::erase_orders(conn, &order_ids, &mut erasing)?;
    rows.add(&holdings::erase_holds(conn, &hold_ids, &mut erasing)?);
    rows.add(&holdings::erase_entries(conn, &entry_ids, &mut erasing)?);
    rows.add(&holdings::redact_echoes(conn, &erasing)?);
    let audit_id = audit::record(
        conn,
        &NewEntry {
            action: AuditAction::Erasure,
            actor,
            subject_key: Some(&key),
            rows: &rows,
            refused: None,
        },
        now,
    )?;
    Ok(Erasure::Done(ErasureReport {
        subject_key: key,
        rows_total: rows.total(),
        rows,
        audit_id,
    }))
}

/// The 409 problem for a refused erasure.
pub fn in_use(open: &[String]) -> ApiError {
    ApiError::new(ErrorKind::PersonalDataInUse)
        .with("count", open.len() as i64)
        .with("codes", open.join(", "))
        .extra("open", open)
}

//! Where a buyer's personal data sits in other rooms' rows, and the one place that finds it by
//! phone and erases it:
//!
//! | table | columns | erased to |
//! | --- | --- | --- |
//! | `orders` | `buyer_name`, `buyer_phone` / `buyer_email`, `buyer_line_id`, `note` | [`ERASED`] / NULL |
//! | `order_addresses` | `recipient_name`, `phone`, `address_line` (codes and postcode stay) | [`ERASED`] |
//! | `order_history` | `actor` `buyer:PHONE` / `note` | `buyer` / NULL |
//! | `capacity_ledger` | `actor` `buyer:PHONE` (the order's and its hold's rows) | `buyer` |
//! | `holds` | `buyer_phone` | NULL |
//! | `waitlist_entries` | `buyer_name`, `buyer_phone` / `buyer_email` | [`ERASED`] / NULL |
//! | `idempotency_keys` | `response_body` (the stored answer echoes the buyer) | values redacted |
//! | `outbox_events` | `payload` (waiting-list events name the buyer) | values redacted |
//!
//! Amounts, units, statuses, dates and area codes stay, so windows, the capacity ledger, sale
//! facts (which hold keyed hashes, never phones) and every report add up as before. A stored
//! JSON answer or event is redacted value by value: a string under a personal key (`name`,
//! `phone`, `buyer_phone`, `address_line`, …) that equals one of the erased values becomes
//! [`ERASED`] (or null for e-mail, LINE id and notes), so that a replayed answer keeps its shape.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::model::{ERASED, Tally};
use crate::db::DbConn;
use crate::db::schema::{
    capacity_ledger, holds, idempotency_keys, order_addresses, order_history, orders,
    outbox_events, waitlist_entries,
};

/// Keys of stored JSON whose values may be personal.
const PERSONAL_KEYS: &[&str] = &[
    "name",
    "phone",
    "email",
    "line_id",
    "note",
    "recipient_name",
    "address_line",
    "buyer_name",
    "buyer_phone",
    "buyer_email",
    "buyer_line_id",
];

/// The values being erased and what each becomes in stored JSON.
#[derive(Debug, Default)]
pub struct Erasing {
    replacements: BTreeMap<String, Value>,
    /// Phones (E.164) whose stored answers and events must be redacted.
    phones: Vec<String>,
}

impl Erasing {
    /// Erasing one phone (E.164), whatever else is found.
    pub fn of_phone(phone: &str) -> Erasing {
        let mut erasing = Erasing::default();
        erasing.phone(phone);
        erasing
    }

    fn marker(&mut self, value: &str) {
        if !value.is_empty() && value != ERASED {
            self.replacements
                .insert(value.to_string(), Value::String(ERASED.into()));
        }
    }

    fn null(&mut self, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.is_empty() && *v != ERASED) {
            self.replacements
                .entry(value.to_string())
                .or_insert(Value::Null);
        }
    }

    fn phone(&mut self, phone: &str) {
        if phone.starts_with('+') && !self.phones.iter().any(|p| p == phone) {
            self.phones.push(phone.to_string());
        }
        self.marker(phone);
    }

    /// Redacts a stored JSON document; `None` when nothing in it changes.
    fn redact(&self, text: &str) -> Option<String> {
        match serde_json::from_str::<Value>(text) {
            Ok(mut doc) => self.walk(&mut doc).then(|| doc.to_string()),
            // Not JSON (no idempotent route answers so today): replace the values as text.
            Err(_) => {
                let mut out = text.to_string();
                for value in self.replacements.keys() {
                    out = out.replace(value.as_str(), ERASED);
                }
                (out != text).then_some(out)
            }
        }
    }

    fn walk(&self, doc: &mut Value) -> bool {
        let mut changed = false;
        match doc {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if let Value::String(s) = value
                        && PERSONAL_KEYS.contains(&key.as_str())
                        && let Some(new) = self.replacements.get(s.as_str())
                    {
                        *value = new.clone();
                        changed = true;
                    } else {
                        changed |= self.walk(value);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    changed |= self.walk(item);
                }
            }
            _ => {}
        }
        changed
    }
}

/// Ids of a buyer's orders: by the buyer's phone or the delivery address's phone.
pub fn orders_of_phone(conn: &mut DbConn, phone: &str) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = orders::table
        .filter(orders::buyer_phone.eq(phone))
        .select(orders::id)
        .load(conn)?;
    ids.extend(
        order_addresses::table
            .filter(order_addresses::phone.eq(phone))
            .select(order_addresses::order_id)
            .load::<i64>(conn)?,
    );
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Ids of holds that named the phone.
pub fn holds_of_phone(conn: &mut DbConn, phone: &str) -> QueryResult<Vec<i64>> {
    holds::table
        .filter(holds::buyer_phone.eq(phone))
        .order(holds::id)
        .select(holds::id)
        .load(conn)
}

/// Ids of the phone's waiting-list entries.
pub fn entries_of_phone(conn: &mut DbConn, phone: &str) -> QueryResult<Vec<i64>> {
    waitlist_entries::table
        .filter(waitlist_entries::buyer_phone.eq(phone))
        .order(waitlist_entries::id)
        .select(waitlist_entries::id)
        .load(conn)
}

/// Stored answers (`idempotency_keys`) that mention one of the phones:
/// `(id, key, status, body, created_at, expires_at)`.
#[allow(clippy::type_complexity)]
pub fn answers_mentioning(
    conn: &mut DbConn,
    phones: &[String],
) -> QueryResult<
    Vec<(
        i64,
        String,
        Option<i32>,
        Option<String>,
        NaiveDateTime,
        NaiveDateTime,
    )>,
> {
    let Some((first, rest)) = phones.split_first() else {
        return Ok(Vec::new());
    };
    let mut query = idempotency_keys::table
        .filter(idempotency_keys::response_body.like(format!("%{first}%")))
        .into_boxed();
    for phone in rest {
        query = query.or_filter(idempotency_keys::response_body.like(format!("%{phone}%")));
    }
    query
        .order(idempotency_keys::id)
        .select((
            idempotency_keys::id,
            idempotency_keys::idem_key,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::created_at,
            idempotency_keys::expires_at,
        ))
        .load(conn)
}

/// Waiting-list events in the outbox (webhook payloads) that mention one of the phones:
/// `(id, event_type, payload, occurred_at)`.
pub fn events_mentioning(
    conn: &mut DbConn,
    phones: &[String],
) -> QueryResult<Vec<(i64, String, String, NaiveDateTime)>> {
    let Some((first, rest)) = phones.split_first() else {
        return Ok(Vec::new());
    };
    // Only waiting-list events name a buyer (`webhooks::contract::WaitlistData`); order events
    // carry codes and totals. Testing the type first spares the payloads of every other event.
    let waitlist = || outbox_events::event_type.like("waitlist.%");
    let mut query = outbox_events::table
        .filter(waitlist().and(outbox_events::payload.like(format!("%{first}%"))))
        .into_boxed();
    for phone in rest {
        query = query.or_filter(waitlist().and(outbox_events::payload.like(format!("%{phone}%"))));
    }
    query
        .order(outbox_events::id)
        .select((
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::payload,
            outbox_events::occurred_at,
        ))
        .load(conn)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Erases the buyer's data of these orders (their rows, addresses, history and ledger actors),
/// noting what is erased in `erasing`. Orders already erased are left alone.
pub fn erase_orders(conn: &mut DbConn, ids: &[i64], erasing: &mut Erasing) -> QueryResult<Tally> {
    let mut tally = Tally::default();
    if ids.is_empty() {
        return Ok(tally);
    }
    #[allow(clippy::type_complexity)]
    let buyers: Vec<(
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    )> = orders::table
        .filter(orders::id.eq_any(ids))
        .select((
            orders::id,
            orders::buyer_name,
            orders::buyer_phone,
            orders::buyer_email,
            orders::buyer_line_id,
            orders::note,
            orders::hold_id,
        ))
        .load(conn)?;
    let addresses: Vec<(String, String, String)> = order_addresses::table
        .filter(order_addresses::order_id.eq_any(ids))
        .filter(order_addresses::phone.ne(ERASED))
        .select((
            order_addresses::recipient_name,
            order_addresses::phone,
            order_addresses::address_line,
        ))
        .load(conn)?;
    let mut hold_ids = Vec::new();
    let mut live = Vec::new();
    for (id, name, phone, email, line_id, note, hold_id) in &buyers {
        hold_ids.extend(*hold_id);
        if phone == ERASED && email.is_none() && line_id.is_none() && note.is_none() {
            continue;
        }
        live.push(*id);
        erasing.marker(name);
        erasing.phone(phone);
        erasing.null(email.as_deref());
        erasing.null(line_id.as_deref());
        erasing.null(note.as_deref());
    }
    for (name, phone, line) in &addresses {
        erasing.marker(name);
        erasing.phone(phone);
        erasing.marker(line);
    }
    tally.orders = count(
        diesel::update(orders::table.filter(orders::id.eq_any(&live)))
            .set((
                orders::buyer_name.eq(ERASED),
                orders::buyer_phone.eq(ERASED),
                orders::buyer_email.eq(None::<String>),
                orders::buyer_line_id.eq(None::<String>),
                orders::note.eq(None::<String>),
            ))
            .execute(conn)?,
    );
    tally.order_addresses = count(
        diesel::update(
            order_addresses::table
                .filter(order_addresses::order_id.eq_any(ids))
                .filter(order_addresses::phone.ne(ERASED)),
        )
        .set((
            order_addresses::recipient_name.eq(ERASED),
            order_addresses::phone.eq(ERASED),
            order_addresses::address_line.eq(ERASED),
        ))
        .execute(conn)?,
    );
    // The buyer's own moves were recorded as `buyer:+66…`; notes are staff's free text about
    // the order and may name the buyer.
    tally.order_history = count(
        diesel::update(
            order_history::table
                .filter(order_history::order_id.eq_any(ids))
                .filter(order_history::actor.like("buyer:%")),
        )
        .set(order_history::actor.eq("buyer"))
        .execute(conn)?,
    ) + count(
        diesel::update(
            order_history::table
                .filter(order_history::order_id.eq_any(ids))
                .filter(order_history::note.is_not_null()),
        )
        .set(order_history::note.eq(None::<String>))
        .execute(conn)?,
    );
    tally.capacity_ledger = count(
        diesel::update(
            capacity_ledger::table
                .filter(
                    capacity_ledger::order_id
                        .eq_any(ids)
                        .or(capacity_ledger::hold_id.eq_any(&hold_ids)),
                )
                .filter(capacity_ledger::actor.like("buyer:%")),
        )
        .set(capacity_ledger::actor.eq("buyer"))
        .execute(conn)?,
    );
    Ok(tally)
}

/// Erases the phone of these holds.
pub fn erase_holds(conn: &mut DbConn, ids: &[i64], erasing: &mut Erasing) -> QueryResult<Tally> {
    if ids.is_empty() {
        return Ok(Tally::default());
    }
    let phones: Vec<Option<String>> = holds::table
        .filter(holds::id.eq_any(ids))
        .select(holds::buyer_phone)
        .load(conn)?;
    for phone in phones.iter().flatten() {
        erasing.phone(phone);
    }
    let changed = diesel::update(
        holds::table
            .filter(holds::id.eq_any(ids))
            .filter(holds::buyer_phone.is_not_null()),
    )
    .set(holds::buyer_phone.eq(None::<String>))
    .execute(conn)?;
    Ok(Tally {
        holds: count(changed),
        ..Tally::default()
    })
}

/// Erases the buyer of these waiting-list entries.
pub fn erase_entries(conn: &mut DbConn, ids: &[i64], erasing: &mut Erasing) -> QueryResult<Tally> {
    if ids.is_empty() {
        return Ok(Tally::default());
    }
    let buyers: Vec<(String, String, Option<String>)> = waitlist_entries::table
        .filter(waitlist_entries::id.eq_any(ids))
        .filter(waitlist_entries::buyer_phone.ne(ERASED))
        .select((
            waitlist_entries::buyer_name,
            waitlist_entries::buyer_phone,
            waitlist_entries::buyer_email,
        ))
        .load(conn)?;
    for (name, phone, email) in &buyers {
        erasing.marker(name);
        erasing.phone(phone);
        erasing.null(email.as_deref());
    }
    let changed = diesel::update(
        waitlist_entries::table
            .filter(waitlist_entries::id.eq_any(ids))
            .filter(waitlist_entries::buyer_phone.ne(ERASED)),
    )
    .set((
        waitlist_entries::buyer_name.eq(ERASED),
        waitlist_entries::buyer_phone.eq(ERASED),
        waitlist_entries::buyer_email.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(Tally {
        waitlist_entries: count(changed),
        ..Tally::default()
    })
}

/// Redacts what `erasing` names from stored answers and webhook payloads that mention its
/// phones.
pub fn redact_echoes(conn: &mut DbConn, erasing: &Erasing) -> QueryResult<Tally> {
    let mut tally = Tally::default();
    for (id, _, _, body, _, _) in answers_mentioning(conn, &erasing.phones)? {
        if let Some(redacted) = body.as_deref().and_then(|b| erasing.redact(b)) {
            diesel::update(idempotency_keys::table.find(id))
                .set(idempotency_keys::response_body.eq(redacted))
                .execute(conn)?;
            tally.idempotency_records += 1;
        }
    }
    for (id, _, payload, _) in events_mentioning(conn, &erasing.phones)? {
        if let Some(redacted) = erasing.redact(&payload) {
            diesel::update(outbox_events::table.find(id))
                .set(outbox_events::payload.eq(redacted))
                .execute(conn)?;
            tally.webhook_events += 1;
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_json_keeps_its_shape_and_loses_only_personal_values() {
        let mut erasing = Erasing::default();
        erasing.marker("สมหญิง รักดี");
        erasing.phone("+66891234567");
        erasing.null(Some("pickup"));
        let body = r#"{"code":"ABCD-EFGH","buyer":{"name":"สมหญิง รักดี","phone":"+66891234567","email":null},"note":"pickup","delivery":{"method":"pickup"},"lines":[{"name":"สมหญิง รักดี"}]}"#;
        let out: Value = serde_json::from_str(&erasing.redact(body).unwrap()).unwrap();
        assert_eq!(out["buyer"]["name"], ERASED);
        assert_eq!(out["buyer"]["phone"], ERASED);
        assert_eq!(out["note"], Value::Null);
        // Same text under a key that is not personal stays.
        assert_eq!(out["delivery"]["method"], "pickup");
        assert_eq!(out["code"], "ABCD-EFGH");
        // A variant that happens to be called like the buyer is under a personal key (`name`):
        // redacted, which errs on the side of the buyer.
        assert_eq!(out["lines"][0]["name"], ERASED);
        assert!(erasing.redact(r#"{"code":"X"}"#).is_none());
    }
}

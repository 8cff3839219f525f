//! Fixtures for pre-order tests: a product of the world's producer and windows to sell it.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

/// The test clock's start in Bangkok time, moved by `hours`.
pub fn at(hours: i64) -> String {
    let t: DateTime<Utc> = test_start() + Duration::hours(hours);
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339()
}

/// A window body: open from an hour ago for a week, harvest in July, one 1-unit variant and a
/// 5-unit box, a pickup point and flat-fee delivery. `patch` overrides fields.
pub fn window_body(capacity: i64, patch: Value) -> Value {
    let mut body = json!({
        "title": "ลำไยอีดอ รอบกรกฎาคม",
        "opens_at": at(-1),
        "closes_at": at(24 * 7),
        "harvest_start": "2026-07-15",
        "harvest_end": "2026-07-31",
        "capacity": capacity,
        "variants": [
            {"name": "1 กก.", "units_per_item": 1, "price_satang": 9000},
            {"name": "กล่อง 5 กก.", "units_per_item": 5, "price_satang": 42500},
        ],
        "pickup_points": [{
            "name": "ที่ทำการ อบต.แม่ปะ",
            "address": "หมู่ 3 ต.แม่ปะ อ.แม่สอด จ.ตาก",
            "starts_at": at(24 * 45),
            "ends_at": at(24 * 45 + 8),
        }],
        "delivery": {"fee_kind": "flat", "fee_satang": 6000},
        "publish": true,
    });
    if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), patch) {
        obj.extend(more);
    }
    body
}

/// A product of the world's producer.
pub async fn product(w: &World) -> i64 {
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", w.producer_id))
        .bearer_auth(&w.staff.token)
        .json(&json!({"crop": "longan", "title": "ลำไยอีดอ เกรด AA"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// Creates a window (as the LAO's staff) and returns it.
pub async fn window(w: &World, capacity: i64, patch: Value) -> Value {
    let product = product(w).await;
    create_window(
        &w.app,
        &w.staff.token,
        product,
        &window_body(capacity, patch),
    )
    .await
}

/// Creates a window of `product` from `body` with `token` and returns it.
pub async fn create_window(app: &TestApp, token: &str, product: i64, body: &Value) -> Value {
    let res = app
        .post(&format!("/v1/products/{product}/windows"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    body
}

pub fn variant(window: &Value, units_per_item: i64) -> i64 {
    window["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["units_per_item"] == units_per_item)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Tries to hold `quantity` items of a variant; returns the response status and body.
pub async fn hold(
    app: &TestApp,
    window_id: i64,
    variant_id: i64,
    quantity: i64,
    phone: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"lines": [{"variant_id": variant_id, "quantity": quantity}]});
    if let Some(phone) = phone {
        body["buyer_phone"] = json!(phone);
    }
    let (status, body) = json(
        app.post(&format!("/v1/windows/{window_id}/holds"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

pub async fn availability(app: &TestApp, window_id: i64) -> Value {
    let (status, body) = json(
        app.get(&format!("/v1/windows/{window_id}/availability"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Runs a reconciliation as an admin (signing in afresh: tests move the clock) and returns the
/// report.
pub async fn reconcile(w: &World, query: &str) -> Value {
    let admin = w.app.login("admin").await;
    let (status, body) = json(
        w.app
            .post(&format!("/v1/admin/reconcile{query}"))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Events of a type in the outbox, as JSON payloads.
pub async fn events(app: &TestApp, event_type: &str) -> Vec<Value> {
    let event_type = event_type.to_string();
    app.state
        .db(move |conn| Ok(khongdee::outbox::events_of_type(conn, &event_type)?))
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

/// A buyer, a pickup point of the window, and lines: the body of an order.
pub fn order_body(window: &Value, lines: Value, phone: &str) -> Value {
    json!({
        "window_id": window["id"],
        "lines": lines,
        "buyer": {"name": "สมหญิง รักดี", "phone": phone},
        "delivery": {"method": "pickup", "pickup_point_id": window["pickup_points"][0]["id"]},
    })
}

/// Places an order anonymously (the LAO's form), optionally with an Idempotency-Key.
pub async fn place(app: &TestApp, body: &Value, key: Option<&str>) -> (u16, Value) {
    let mut req = app.post("/v1/orders").json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let (status, body) = json(req.send().await.unwrap()).await;
    (status.as_u16(), body)
}

//! Real concurrent clients against one window: exactly its capacity is taken, never more, and
//! the ledger reconciles — on SQLite and on PostgreSQL.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

const CLIENTS: usize = 64;

async fn busy_app() -> World {
    let app = spawn_app_with(|c| {
        c.rate_limit_anonymous_per_minute = 1_000_000;
        c.workers = Some(4);
    })
    .await;
    World::with_app(app).await
}

/// Posts a hold from a spawned task (which needs owned values).
async fn try_hold(
    client: &reqwest::Client,
    url: &str,
    variant_id: i64,
    quantity: i64,
) -> (u16, Value) {
    let res = client
        .post(url)
        .json(&json!({"lines": [{"variant_id": variant_id, "quantity": quantity}]}))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn active_hold_units(app: &TestApp, window_id: i64) -> i64 {
    app.state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::holds;
            let units: Vec<i64> = holds::table
                .filter(holds::window_id.eq(window_id))
                .filter(holds::status.eq("active"))
                .select(holds::units)
                .load(conn)?;
            Ok(units.iter().sum())
        })
        .await
        .unwrap()
}

async fn ledger_held(app: &TestApp, window_id: i64) -> i64 {
    app.state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::capacity_ledger as l;
            let deltas: Vec<i64> = l::table
                .filter(l::window_id.eq(window_id))
                .select(l::held_delta)
                .load(conn)?;
            Ok(deltas.iter().sum())
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_take_exactly_the_capacity() {
    let w = busy_app().await;
    let capacity = 40;
    let win = window(&w, capacity, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (unit, box5) = (variant(&win, 1), variant(&win, 5));
    let url = Arc::new(w.app.url(&format!("/v1/windows/{id}/holds")));

    let clients = (0..CLIENTS).map(|i| {
        let client = w.app.client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut taken = 0i64;
            let mut unexpected = Vec::new();
            for attempt in 0.. {
                // A mix of sizes: 1–3 single units, or a 5-unit box.
                let (variant_id, quantity, units) = match (i + attempt) % 4 {
                    0 => (box5, 1, 5),
                    n => (unit, n as i64, n as i64),
                };
                let (status, body) = try_hold(&client, &url, variant_id, quantity).await;
                match (status, body["code"].as_str()) {
                    (201, _) => taken += units,
                    (409, Some("sold_out")) => break,
                    (409, Some("insufficient_capacity")) => {
                        // Something smaller may still fit.
                        if body["available"].as_i64() == Some(0) {
                            break;
                        }
                        continue;
                    }
                    other => {
                        unexpected.push(format!("{other:?}: {body}"));
                        break;
                    }
                }
                if attempt > 200 {
                    unexpected.push("too many attempts".to_string());
                    break;
                }
            }
            (taken, unexpected)
        })
    });
    let results = futures_util::future::join_all(clients).await;
    let mut total = 0;
    for result in results {
        let (taken, unexpected) = result.unwrap();
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
        total += taken;
    }
    assert_eq!(
        total, capacity,
        "the clients' successful holds add up to the capacity"
    );
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (avail["held"].as_i64(), avail["available"].as_i64()),
        (Some(capacity), Some(0))
    );
    assert_eq!(active_hold_units(&w.app, id).await, capacity);
    assert_eq!(ledger_held(&w.app, id).await, capacity);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_and_releases_racing_keep_the_counters_true() {
    let w = busy_app().await;
    let capacity = 30;
    let win = window(&w, capacity, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let url = Arc::new(w.app.url(&format!("/v1/windows/{id}/holds")));
    let base = Arc::new(w.app.address.clone());

    let clients = (0..CLIENTS).map(|i| {
        let client = w.app.client.clone();
        let (url, base) = (url.clone(), base.clone());
        tokio::spawn(async move {
            let mut unexpected = Vec::new();
            for round in 0..6 {
                let quantity = 1 + ((i + round) % 2) as i64;
                let (status, body) = try_hold(&client, &url, unit, quantity).await;
                match status {
                    201 if (i + round) % 2 == 0 => {
                        // Give every other hold straight back.
                        let hold = body["id"].as_str().unwrap_or_default();
                        let res = client
                            .delete(format!("{base}/v1/holds/{hold}"))
                            .send()
                            .await
                            .expect("release");
                        if res.status() != 200 {
                            unexpected.push(format!("release {}", res.status()));
                        }
                    }
                    201 | 409 => {}
                    other => unexpected.push(format!("{other}: {body}")),
                }
            }
            unexpected
        })
    });
    for result in futures_util::future::join_all(clients).await {
        let unexpected = result.unwrap();
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    }
    let held = active_hold_units(&w.app, id).await;
    assert!(held <= capacity, "{held} units held of {capacity}");
    let avail = availability(&w.app, id).await;
    assert_eq!(avail["held"].as_i64(), Some(held));
    assert_eq!(avail["available"].as_i64(), Some(capacity - held));
    assert_eq!(ledger_held(&w.app, id).await, held);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

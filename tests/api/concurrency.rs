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

/// The units of the window's orders in each status, and the ledger's sold total per order.
async fn order_units(app: &TestApp, window_id: i64) -> (Vec<(i64, String, i64)>, Vec<(i64, i64)>) {
    app.state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::{capacity_ledger as l, orders as o};
            let orders: Vec<(i64, String, i64)> = o::table
                .filter(o::window_id.eq(window_id))
                .select((o::id, o::status, o::units_total))
                .load(conn)?;
            let ledger: Vec<(Option<i64>, i64)> = l::table
                .filter(l::window_id.eq(window_id))
                .select((l::order_id, l::sold_delta))
                .load(conn)?;
            let ledger = ledger
                .into_iter()
                .filter_map(|(o, d)| o.map(|o| (o, d)))
                .collect();
            Ok((orders, ledger))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_buyers_and_the_money_and_capacity_agree() {
    let w = busy_app().await;
    let capacity = 100;
    let win = window(&w, capacity, json!({"payment_window_hours": 2})).await;
    let id = win["id"].as_i64().unwrap();
    let (unit, box5) = (variant(&win, 1), variant(&win, 5));
    let url = Arc::new(w.app.url("/v1/orders"));
    let win = Arc::new(win);

    // Every buyer orders at once: 1–3 single units or a 5-unit box (demand ~160 > 100).
    let buyers = (0..CLIENTS).map(|i| {
        let client = w.app.client.clone();
        let (url, win) = (url.clone(), win.clone());
        tokio::spawn(async move {
            let (variant_id, quantity) = match i % 4 {
                0 => (box5, 1),
                n => (unit, n as i64),
            };
            let body = order_body(
                &win,
                json!([{"variant_id": variant_id, "quantity": quantity}]),
                &format!("08{:08}", 10_000_000 + i),
            );
            let res = client
                .post(url.as_str())
                .header("Idempotency-Key", format!("buyer-{i}"))
                .json(&body)
                .send()
                .await
                .expect("order");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        })
    });
    let mut placed = Vec::new();
    for result in futures_util::future::join_all(buyers).await {
        let (status, body) = result.unwrap();
        match (status, body["code"].as_str()) {
            (201, _) => placed.push(body),
            (409, Some("sold_out" | "insufficient_capacity")) => {}
            other => panic!("unexpected answer {other:?}: {body}"),
        }
    }
    let sold: i64 = placed
        .iter()
        .map(|o| o["units_total"].as_i64().unwrap())
        .sum();
    assert!(
        sold <= capacity && sold > capacity - 5,
        "sold {sold} of {capacity}"
    );
    assert_eq!(availability(&w.app, id).await["sold"].as_i64(), Some(sold));

    // Then at once: a third cancel, a third are paid, a third are left to expire.
    let base = Arc::new(w.app.address.clone());
    let staff = Arc::new(w.staff.token.clone());
    let moves = placed.iter().enumerate().map(|(i, order)| {
        let client = w.app.client.clone();
        let (base, staff) = (base.clone(), staff.clone());
        let code = order["code"].as_str().unwrap().to_string();
        let secret = order["secret"].as_str().unwrap().to_string();
        tokio::spawn(async move {
            let res = match i % 3 {
                0 => {
                    client
                        .post(format!("{base}/v1/orders/{code}/cancel"))
                        .header("X-Order-Secret", secret)
                        .send()
                        .await
                }
                1 => {
                    client
                        .post(format!("{base}/v1/orders/{code}/payment"))
                        .bearer_auth(staff.as_str())
                        .json(&json!({"reference": format!("SCB-{i}")}))
                        .send()
                        .await
                }
                _ => return 200,
            };
            res.expect("move").status().as_u16()
        })
    });
    for status in futures_util::future::join_all(moves).await {
        assert_eq!(status.unwrap(), 200);
    }
    w.app.clock.advance(chrono::Duration::hours(3));
    let state = w.app.state.clone();
    tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap();

    let (orders, ledger) = order_units(&w.app, id).await;
    assert_eq!(orders.len(), placed.len());
    let live: i64 = orders
        .iter()
        .filter(|(_, s, _)| s == "confirmed")
        .map(|(_, _, u)| u)
        .sum();
    let expected_live: i64 = placed
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 1)
        .map(|(_, o)| o["units_total"].as_i64().unwrap())
        .sum();
    assert_eq!(live, expected_live, "the paid orders are the live ones");
    let ledger_sold: i64 = ledger.iter().map(|(_, d)| d).sum();
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (avail["sold"].as_i64(), ledger_sold),
        (Some(live), live),
        "live order units = window sold = ledger total"
    );
    assert_eq!(avail["available"].as_i64(), Some(capacity - live));
    let (mut cancelled, mut expired) = (0, 0);
    for (order_id, status, units) in &orders {
        let deltas: Vec<i64> = ledger
            .iter()
            .filter(|(o, _)| o == order_id)
            .map(|(_, d)| *d)
            .collect();
        match status.as_str() {
            "cancelled" | "expired" => {
                // Sold once, released exactly once, exactly its units.
                assert_eq!(deltas, vec![*units, -units], "order {order_id} ({status})");
                if status == "cancelled" {
                    cancelled += 1;
                } else {
                    expired += 1;
                }
            }
            "confirmed" => assert_eq!(deltas, vec![*units], "order {order_id}"),
            other => panic!("order {order_id} is {other}"),
        }
    }
    assert_eq!(cancelled, placed.len().div_ceil(3));
    assert_eq!(expired, placed.len() / 3);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

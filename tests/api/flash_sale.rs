//! Gathered placement (issue 16): concurrent orders of one window in one transaction, each with
//! its own answer, in arrival order; no answer without a committed order, even when the process
//! dies; several processes on one database never oversell.
//!
//! To know what a batch holds, the window is locked from outside (a transaction of the test's
//! own) while requests arrive: the first request's batch waits on the lock and every later one
//! waits in the window's queue, in the order it was sent, until the lock is released.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

/// The window locked by a transaction of the test until `release`.
struct Blocker {
    release: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Blocker {
    /// Locks the window's row (PostgreSQL) or takes the database's write lock (SQLite).
    fn lock(app: &TestApp, window_id: i64) -> Blocker {
        let pool = app.state.pool.clone();
        let postgres = app.db.is_postgres();
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut conn = pool.get().expect("a connection for the blocker");
            let sql = if postgres {
                format!(
                    "BEGIN; UPDATE preorder_windows SET updated_at = updated_at WHERE id = {window_id}"
                )
            } else {
                "BEGIN IMMEDIATE".to_string()
            };
            conn.batch_execute(&sql).expect("lock the window");
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(30));
            conn.batch_execute("ROLLBACK").expect("let the window go");
        });
        locked_rx.recv().unwrap();
        Blocker { release, thread }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

/// Waits until `ready` holds (checked every 5 ms), failing after 10 s with `what`.
async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sends orders one after the other, each only once the one before it waits in the window's
/// queue (the first: once its batch is running), so that their arrival order is known. Returns
/// the pending answers in that order.
async fn send_in_order(
    app: &TestApp,
    window_id: i64,
    bodies: Vec<(Value, Option<String>)>,
) -> Vec<tokio::task::JoinHandle<(u16, Value)>> {
    let gatherer = app.state.gatherer.clone();
    let batches_before = gatherer.stats().batches;
    let mut pending = Vec::new();
    for (i, (body, key)) in bodies.into_iter().enumerate() {
        let (client, url) = (app.client.clone(), app.url("/v1/orders"));
        pending.push(tokio::spawn(async move {
            let mut req = client.post(url).json(&body);
            if let Some(key) = key {
                req = req.header("Idempotency-Key", key);
            }
            let (status, body) = json(req.send().await.unwrap()).await;
            (status.as_u16(), body)
        }));
        if i == 0 {
            wait_until("the first order's batch runs", || {
                gatherer.stats().batches > batches_before
            })
            .await;
        } else {
            wait_until(&format!("order {i} waits in the queue"), || {
                gatherer.waiting(window_id) == i
            })
            .await;
        }
    }
    pending
}

async fn answers(pending: Vec<tokio::task::JoinHandle<(u16, Value)>>) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for p in pending {
        out.push(p.await.unwrap());
    }
    out
}

/// An answer's status and problem code ("" for a placed order).
fn code(answer: &(u16, Value)) -> (u16, &str) {
    match answer.0 {
        201 => (201, ""),
        status => (status, answer.1["code"].as_str().unwrap_or("")),
    }
}

/// A window open now by the wall clock, for `khongdee serve` processes (they read the system
/// clock); the test app's clock is set to now as well.
async fn live_window(w: &World, capacity: i64) -> Value {
    let product = product(w).await;
    let now = chrono::Utc::now();
    w.app.clock.set(now);
    let staff = w.app.login(&w.staff.username).await;
    let bangkok = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let at = |hours: i64| {
        (now + chrono::Duration::hours(hours))
            .with_timezone(&bangkok)
            .to_rfc3339()
    };
    let harvest = (now + chrono::Duration::days(40)).date_naive();
    let body = window_body(
        capacity,
        json!({
            "opens_at": at(-1),
            "closes_at": at(24 * 7),
            "harvest_start": harvest,
            "harvest_end": harvest + chrono::Duration::days(10),
            "pickup_points": [{
                "name": "ที่ทำการ อบต.แม่ปะ",
                "address": "หมู่ 3 ต.แม่ปะ อ.แม่สอด จ.ตาก",
                "starts_at": at(24 * 45),
                "ends_at": at(24 * 45 + 8),
            }],
        }),
    );
    create_window(&w.app, &staff.token, product, &body).await
}

/// Orders of a window in the database, with their units.
async fn stored_orders(app: &TestApp, window_id: i64) -> HashMap<String, i64> {
    app.state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::orders;
            Ok(orders::table
                .filter(orders::window_id.eq(window_id))
                .select((orders::code, orders::units_total))
                .load::<(String, i64)>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_refuses_only_its_bad_orders() {
    let w = World::new().await;
    let win = window(&w, 10, json!({"max_units_per_buyer": 5})).await;
    let other = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (unit, box5) = (variant(&win, 1), variant(&win, 5));
    let line = |variant: i64, quantity: i64| json!([{"variant_id": variant, "quantity": quantity}]);
    let blocker = Blocker::lock(&w.app, id);
    let bodies = vec![
        // 1 unit for A, alone in the first batch (held up by the lock).
        (order_body(&win, line(unit, 1), "0811111111"), None),
        // The batch the lock gathers, in this order:
        (order_body(&win, line(unit, 2), "0822222222"), None),
        // A variant of another window: refused by its own checks, its refusal kept with its key.
        (
            order_body(&win, line(variant(&other, 1), 1), "0833333333"),
            Some("flash-bad-variant".to_string()),
        ),
        // A again, 5 more: over the per-buyer limit of 5.
        (order_body(&win, line(unit, 5), "0811111111"), None),
        (order_body(&win, line(box5, 1), "0844444444"), None),
        // 3 units when 2 are left.
        (order_body(&win, line(unit, 3), "0855555555"), None),
        // The last 2.
        (
            order_body(&win, line(unit, 2), "0866666666"),
            Some("flash-last-two".to_string()),
        ),
    ];
    let pending = send_in_order(&w.app, id, bodies).await;
    blocker.release();
    let got = answers(pending).await;
    let expected = [
        (201, ""),
        (201, ""),
        (422, "unknown_variant"),
        (409, "buyer_limit"),
        (201, ""),
        (409, "insufficient_capacity"),
        (201, ""),
    ];
    let seen: Vec<(u16, &str)> = got.iter().map(code).collect();
    assert_eq!(seen, expected, "{got:#?}");
    assert_eq!(got[5].1["available"], 2, "{}", got[5].1);
    let stats = w.app.state.gatherer.stats();
    assert!(
        stats.largest >= 6,
        "the six waiting orders were one batch: {stats:?}"
    );

    // Every 201 is an order with its units; the counters, the ledger and availability agree.
    let stored = stored_orders(&w.app, id).await;
    let placed: HashMap<String, i64> = got
        .iter()
        .filter(|a| a.0 == 201)
        .map(|a| {
            (
                a.1["code"].as_str().unwrap().to_string(),
                a.1["units_total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stored, placed);
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (avail["sold"].as_i64(), avail["status"].as_str()),
        (Some(10), Some("sold_out"))
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
    assert_eq!(events(&w.app, "window.sold_out").await.len(), 1);

    // The refusal and the order kept with their keys are replayed, not done again.
    let bad = order_body(&win, line(variant(&other, 1), 1), "0833333333");
    let (status, body) = place(&w.app, &bad, Some("flash-bad-variant")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("unknown_variant")),
        "{body}"
    );
    let last = order_body(&win, line(unit, 2), "0866666666");
    let (status, body) = place(&w.app, &last, Some("flash-last-two")).await;
    assert_eq!((status, &body["code"]), (201, &got[6].1["code"]), "{body}");
    assert_eq!(stored_orders(&w.app, id).await.len(), 4);
}

/// A batch writes its orders together at its end; what a later job must read is written first:
/// a key used again in the batch replays the first answer (or is refused as reused), a buyer
/// ordering again counts the earlier order against the limit, and a free order is confirmed
/// with its history in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_sees_its_own_keys_buyers_and_free_orders() {
    let w = World::new().await;
    let mut body = window_body(20, json!({"max_units_per_buyer": 5}));
    body["variants"] = json!([
        {"name": "1 กก.", "units_per_item": 1, "price_satang": 9000},
        {"name": "ชิมฟรี", "units_per_item": 2, "price_satang": 0},
    ]);
    let win = create_window(&w.app, &w.staff.token, product(&w).await, &body).await;
    let id = win["id"].as_i64().unwrap();
    let (unit, free) = (variant(&win, 1), variant(&win, 2));
    let line = |variant: i64, quantity: i64| json!([{"variant_id": variant, "quantity": quantity}]);
    let key = |k: &str| Some(k.to_string());
    let batches_before = w.app.state.gatherer.stats().batches;
    let blocker = Blocker::lock(&w.app, id);
    let bodies = vec![
        // Alone in the first batch (held up by the lock).
        (order_body(&win, line(unit, 1), "0810000000"), None),
        // The batch the lock gathers, in this order:
        (
            order_body(&win, line(unit, 3), "0811111111"),
            key("batch-k1"),
        ),
        // The same key and request: the first answer, replayed.
        (
            order_body(&win, line(unit, 3), "0811111111"),
            key("batch-k1"),
        ),
        // The same key and buyer (keys are the buyer's own), another request: refused as reused.
        (
            order_body(&win, line(unit, 1), "0811111111"),
            key("batch-k1"),
        ),
        // The first buyer again: 3 + 3 is over the limit of 5.
        (order_body(&win, line(unit, 3), "0811111111"), None),
        // Nothing to pay: confirmed at once.
        (
            order_body(&win, line(free, 1), "0833333333"),
            key("batch-free"),
        ),
        // The first buyer's last 2 units under the limit.
        (order_body(&win, line(unit, 2), "0811111111"), None),
    ];
    let pending = send_in_order(&w.app, id, bodies).await;
    blocker.release();
    let got = answers(pending).await;
    let seen: Vec<(u16, &str)> = got.iter().map(code).collect();
    let expected = [
        (201, ""),
        (201, ""),
        (201, ""),
        (422, "idempotency_key_reused"),
        (409, "buyer_limit"),
        (201, ""),
        (201, ""),
    ];
    assert_eq!(seen, expected, "{got:#?}");
    assert_eq!(
        got[1].1["code"], got[2].1["code"],
        "a replay, not a second order"
    );
    assert_eq!(got[4].1["remaining"], 2, "{}", got[4].1);
    assert_eq!(got[5].1["status"], "confirmed", "{}", got[5].1);
    let stats = w.app.state.gatherer.stats();
    assert!(stats.largest >= 6, "{stats:?}");
    // Two transactions: the first order's, then the six together (a batch that failed would
    // have been run again job by job).
    assert_eq!(stats.batches - batches_before, 2, "{stats:?}");

    let stored = stored_orders(&w.app, id).await;
    assert_eq!(stored.len(), 4, "{stored:?}");
    for answer in got.iter().filter(|a| a.0 == 201) {
        let code = answer.1["code"].as_str().unwrap();
        assert_eq!(stored.get(code), answer.1["units_total"].as_i64().as_ref());
    }
    assert_eq!(availability(&w.app, id).await["sold"], 1 + 3 + 2 + 2);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
    let free_code = got[5].1["code"].as_str().unwrap().to_string();
    let history: Vec<Option<String>> = w
        .app
        .state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::{order_history as h, orders as o};
            Ok(h::table
                .inner_join(o::table)
                .filter(o::code.eq(free_code))
                .order(h::id)
                .select(h::from_status)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(history, [None, Some("pending_payment".to_string())]);
    // Placed events for the four orders, in the order they were placed.
    let placed: Vec<String> = events(&w.app, "order.placed")
        .await
        .iter()
        .map(|e| e["code"].as_str().unwrap_or_default().to_string())
        .collect();
    let codes: Vec<String> = [0, 1, 5, 6]
        .iter()
        .map(|&i| got[i].1["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(placed, codes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn arrival_order_decides_who_gets_the_last_units() {
    let w = World::new().await;
    let win = window(&w, 6, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let blocker = Blocker::lock(&w.app, id);
    // 6 units: 2 (4 left), 5 (refused: 4 left), 4 (0 left), then nothing fits.
    let wanted = [2, 5, 4, 1, 1, 2];
    let bodies = wanted
        .iter()
        .enumerate()
        .map(|(i, &q)| {
            let phone = format!("08{:08}", 10_000_000 + i);
            (
                order_body(&win, json!([{"variant_id": unit, "quantity": q}]), &phone),
                None,
            )
        })
        .collect();
    let pending = send_in_order(&w.app, id, bodies).await;
    blocker.release();
    let got = answers(pending).await;
    let seen: Vec<(u16, &str)> = got.iter().map(code).collect();
    assert_eq!(
        seen,
        [
            (201, ""),
            (409, "insufficient_capacity"),
            (201, ""),
            (409, "sold_out"),
            (409, "sold_out"),
            (409, "sold_out"),
        ],
        "{got:#?}"
    );
    assert_eq!(availability(&w.app, id).await["sold"], 6);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

/// A `khongdee serve` process of its own on the test's database.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_khongdee"))
            .arg("serve")
            .env("KHONGDEE_DATABASE_URL", &app.db.url)
            .env("KHONGDEE_BIND", format!("127.0.0.1:{port}"))
            .env("KHONGDEE_DATA_DIR", data.path())
            .env(
                "KHONGDEE_JWT_SECRET",
                "test-secret-test-secret-test-secret-0123",
            )
            .env(
                "KHONGDEE_CITIZEN_ID_PEPPER",
                "test-pepper-test-pepper-test-pepper-0123",
            )
            .env("KHONGDEE_SEED_DEMO", "never")
            .env("KHONGDEE_BACKGROUND_TASKS", "false")
            .env("KHONGDEE_RATE_LIMIT_ANONYMOUS", "1000000")
            .env("KHONGDEE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start khongdee serve");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(res) = reqwest::get(format!("{base}/readyz")).await
                && res.status() == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server {
            child,
            base,
            _data: data,
        }
    }

    fn kill(&mut self) {
        // SIGKILL: nothing is flushed, nothing is answered.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts one order to `base`; `None` when no answer came (the process died).
async fn post_order(client: &reqwest::Client, base: &str, body: &Value) -> Option<(u16, Value)> {
    let res = client
        .post(format!("{base}/v1/orders"))
        .json(body)
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.ok()?;
    Some((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_process_answered_only_orders_it_committed() {
    let w = World::new().await;
    let win = live_window(&w, 100_000).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let body = |i: usize| {
        order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 1}]),
            &format!("08{:08}", 20_000_000 + i),
        )
    };

    // 1. Orders gathered behind a locked window when the process dies: none answered, none kept.
    let mut server = Server::start(&w.app).await;
    let blocker = Blocker::lock(&w.app, id);
    let client = reqwest::Client::new();
    let waiting: Vec<_> = (0..8)
        .map(|i| {
            let (client, base, body) = (client.clone(), server.base.clone(), body(i));
            tokio::spawn(async move { post_order(&client, &base, &body).await })
        })
        .collect();
    // The process's metrics say when a batch has started (the rest wait behind it).
    let started = Instant::now();
    loop {
        let text = reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric_value(&text, "khongdee_gathered_batches_total", &[]) >= 1.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no batch started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill();
    blocker.release();
    for answer in futures_util::future::join_all(waiting).await {
        assert_eq!(answer.unwrap(), None, "a killed process answered");
    }
    assert!(stored_orders(&w.app, id).await.is_empty());
    assert_eq!(availability(&w.app, id).await["sold"], 0);

    // 2. Killed in the middle of a storm: every 201 it gave is an order in the database.
    let server = Server::start(&w.app).await;
    let base = server.base.clone();
    let storm: Vec<_> = (0..16)
        .map(|c| {
            let (client, base) = (client.clone(), base.clone());
            let bodies: Vec<Value> = (0..10_000).map(|i| body(100 + c * 10_000 + i)).collect();
            tokio::spawn(async move {
                let mut placed = Vec::new();
                for body in bodies {
                    match post_order(&client, &base, &body).await {
                        Some((201, order)) => {
                            placed.push(order["code"].as_str().unwrap().to_string())
                        }
                        Some(other) => panic!("unexpected answer {other:?}"),
                        None => break,
                    }
                }
                placed
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut server = server;
    server.kill();
    let mut answered = Vec::new();
    for placed in futures_util::future::join_all(storm).await {
        answered.extend(placed.unwrap());
    }
    assert!(
        !answered.is_empty(),
        "the storm placed nothing before the kill"
    );
    let stored = stored_orders(&w.app, id).await;
    let missing: Vec<_> = answered
        .iter()
        .filter(|c| !stored.contains_key(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "answered 201 but not stored: {missing:?}"
    );
    let sold: i64 = stored.values().sum();
    // The test's own process read this window before the other process sold (and keeps what it
    // read for up to KHONGDEE_AVAILABILITY_TTL_MS, 1 s): past that, it reads the truth.
    w.app.clock.advance(chrono::Duration::milliseconds(1001));
    assert_eq!(availability(&w.app, id).await["sold"], sold);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_never_oversell() {
    let w = World::new().await;
    let capacity = 120;
    let win = live_window(&w, capacity).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let servers = [Server::start(&w.app).await, Server::start(&w.app).await];
    let client = reqwest::Client::new();
    let clients: Vec<_> = (0..32)
        .map(|c| {
            let (client, base) = (client.clone(), servers[c % 2].base.clone());
            let win = win.clone();
            tokio::spawn(async move {
                let mut units = 0;
                for i in 0.. {
                    let quantity = 1 + (c + i) % 3;
                    let phone = format!("08{:08}", 30_000_000 + c * 1000 + i);
                    let body = order_body(
                        &win,
                        json!([{"variant_id": unit, "quantity": quantity}]),
                        &phone,
                    );
                    let (status, answer) = post_order(&client, &base, &body).await.unwrap();
                    match (status, answer["code"].as_str()) {
                        (201, _) => units += quantity as i64,
                        (409, Some("sold_out")) => break,
                        (409, Some("insufficient_capacity")) => continue,
                        other => panic!("unexpected answer {other:?}: {answer}"),
                    }
                }
                units
            })
        })
        .collect();
    let mut total = 0;
    for units in futures_util::future::join_all(clients).await {
        total += units.unwrap();
    }
    assert_eq!(total, capacity, "the 201s add up to the capacity, not more");
    let stored = stored_orders(&w.app, id).await;
    assert_eq!(stored.values().sum::<i64>(), capacity);
    w.app.clock.advance(chrono::Duration::milliseconds(1001));
    assert_eq!(availability(&w.app, id).await["sold"], capacity);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

/// The anonymous window list, as JSON.
async fn window_list(app: &TestApp) -> Value {
    let (status, body) = json(app.get("/v1/windows?limit=10").send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn listed(list: &Value, window_id: i64) -> &Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == window_id)
        .expect("the window is listed")
}

#[tokio::test]
async fn reads_come_from_memory_and_follow_every_change() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);

    // Read once from the database, then from memory: no statement, the same body and as_of.
    let first = availability(&w.app, id).await;
    let list = window_list(&w.app).await;
    let before = w.app.query_count();
    assert_eq!(availability(&w.app, id).await, first);
    assert_eq!(window_list(&w.app).await, list);
    assert_eq!(
        w.app.query_count(),
        before,
        "the second reads ran statements"
    );

    // An order of this process shows at once, in both (the clock has not moved).
    let body = order_body(
        &win,
        json!([{"variant_id": unit, "quantity": 3}]),
        "0812345678",
    );
    assert_eq!(place(&w.app, &body, None).await.0, 201);
    let after_order = availability(&w.app, id).await;
    assert_eq!(
        (
            after_order["sold"].as_i64(),
            after_order["available"].as_i64()
        ),
        (Some(3), Some(47))
    );
    assert_eq!(
        after_order["as_of"], first["as_of"],
        "as_of is when the window was read"
    );
    assert_eq!(listed(&window_list(&w.app).await, id)["available"], 47);

    // So does a hold (another path: the entry is dropped and read again).
    let (status, held) = hold(&w.app, id, unit, 2, None).await;
    assert_eq!(status, 201, "{held}");
    let after_hold = availability(&w.app, id).await;
    assert_eq!(
        (
            after_hold["held"].as_i64(),
            after_hold["available"].as_i64()
        ),
        (Some(2), Some(45))
    );
    assert_eq!(listed(&window_list(&w.app).await, id)["held"], 2);

    // A change made behind this process's back (as another process would) shows within the
    // time-to-live: not before, and at once after.
    w.app
        .state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::preorder_windows as pw;
            diesel::update(pw::table.find(id))
                .set(pw::capacity.eq(60))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(availability(&w.app, id).await["capacity"], 50);
    w.app.clock.advance(chrono::Duration::milliseconds(1001));
    let fresh = availability(&w.app, id).await;
    assert_eq!(
        (fresh["capacity"].as_i64(), fresh["available"].as_i64()),
        (Some(60), Some(55))
    );
    assert_ne!(fresh["as_of"], first["as_of"]);
    assert_eq!(listed(&window_list(&w.app).await, id)["capacity"], 60);
}

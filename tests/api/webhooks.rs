//! Partner webhooks: a real HTTP receiver on loopback that fails the first deliveries and then
//! accepts; signatures verified by the Standard Webhooks reference crate; order per order;
//! the delivery log; a dispatcher that dies mid-delivery; two dispatchers on one database.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::market::*;
use khongdee::clock::Clock;
use khongdee::webhooks::dispatcher::Dispatcher;

/// What the receiver answers, in turn; after the script, 200.
#[derive(Clone, Debug)]
enum Answer {
    Status(u16),
    /// 429 with `Retry-After` in seconds.
    TooMany(u64),
    /// Answers only after this many milliseconds (past the client's timeout).
    Hang(u64),
}

#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    /// The status it was answered with (0: none, it hung).
    status: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<Vec<Answer>>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on 127.0.0.1; answers each request per the script, then 200.
    async fn start(script: Vec<Answer>) -> (Receiver, String) {
        let receiver = Receiver {
            script: Arc::new(Mutex::new(script.into_iter().rev().collect())),
            got: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let r = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let r = r.clone();
                tokio::spawn(async move { r.serve(socket).await });
            }
        });
        (receiver, url)
    }

    async fn serve(&self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let headers: BTreeMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..].to_vec();
        let answer = self.script.lock().unwrap().pop();
        let (status, extra) = match answer {
            None => (200, String::new()),
            Some(Answer::Status(s)) => (s, String::new()),
            Some(Answer::TooMany(after)) => (429, format!("Retry-After: {after}\r\n")),
            Some(Answer::Hang(ms)) => {
                self.got.lock().unwrap().push(Received {
                    headers,
                    body,
                    status: 0,
                });
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                return;
            }
        };
        self.got.lock().unwrap().push(Received {
            headers,
            body,
            status,
        });
        let text = format!("answer {status}");
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{text}",
            text.len()
        );
        let _ = socket.write_all(response.as_bytes()).await;
        let _ = socket.shutdown().await;
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn webhook_world() -> World {
    World::with_app(
        spawn_app_with(|c| {
            c.webhooks_allow_loopback = true;
            c.webhook_timeout_secs = 1;
            c.rate_limit_token_per_minute = 100_000;
        })
        .await,
    )
    .await
}

async fn register(w: &World, token: &str, body: Value) -> (u16, Value) {
    let (status, body) = json(
        w.app
            .post("/v1/webhook-endpoints")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

async fn pay(w: &World, code: &str) {
    let res = w
        .app
        .post(&format!("/v1/orders/{code}/payment"))
        .bearer_auth(&w.admin.token)
        .json(&json!({"reference": "โอนแล้ว"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Runs dispatcher passes, moving the clock on by `step` after each, until `done` holds or
/// `passes` run out.
async fn drive(
    w: &World,
    state: &khongdee::AppState,
    dispatcher: &Dispatcher,
    step: Duration,
    passes: usize,
    done: impl Fn() -> bool,
) {
    for _ in 0..passes {
        dispatcher.run_once(state).await.unwrap();
        if done() {
            return;
        }
        w.app.clock.advance(step);
    }
}

/// Verifies a delivery's signature with the Standard Webhooks reference implementation: the
/// crate signs `id.timestamp.body` with the secret, and one of the header's signatures must be
/// that. (Its `verify` also checks the timestamp against the wall clock, which the tests' clock
/// is not; `src/webhooks/signing.rs` runs the full `verify` on the wall clock.)
fn verify(secret: &str, r: &Received) -> Result<(), String> {
    let timestamp: i64 = r.headers["webhook-timestamp"].parse().unwrap();
    let expected = standardwebhooks::Webhook::new(secret)
        .unwrap()
        .sign(&r.headers["webhook-id"], timestamp, &r.body)
        .map_err(|e| format!("{e:?}"))?;
    if r.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
    {
        Ok(())
    } else {
        Err(format!(
            "{} does not carry {expected}",
            r.headers["webhook-signature"]
        ))
    }
}

#[tokio::test]
async fn every_event_arrives_signed_and_in_order_after_failures_timeouts_and_a_dead_dispatcher() {
    let w = webhook_world().await;
    let (receiver, url) = Receiver::start(vec![
        Answer::Status(500),
        Answer::Hang(3000),
        Answer::TooMany(2),
        Answer::Status(503),
    ])
    .await;
    let (status, endpoint) = register(
        &w,
        &w.staff.token,
        json!({"url": url, "description": "ร้านค้าทดสอบ",
               "event_types": ["order.placed", "order.confirmed", "order.cancelled"]}),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = endpoint["id"].as_i64().unwrap();

    // Three orders; two paid, one cancelled by its buyer.
    let win = window(&w, 1000, json!({})).await;
    let mut codes = Vec::new();
    for (i, phone) in ["0810000001", "0810000002", "0810000003"]
        .iter()
        .enumerate()
    {
        let (status, order) = place(
            &w.app,
            &order_body(
                &win,
                json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
                phone,
            ),
            None,
        )
        .await;
        assert_eq!(status, 201, "{order}");
        let code = order["code"].as_str().unwrap().to_string();
        if i < 2 {
            pay(&w, &code).await;
        } else {
            let res = w
                .app
                .post(&format!("/v1/orders/{code}/cancel"))
                .header("X-Order-Secret", order["secret"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        codes.push(code);
    }
    let wanted = 6; // placed ×3, confirmed ×2, cancelled ×1

    // A dispatcher claims the first deliveries and dies before sending them.
    {
        let mut conn = w.app.state.pool.get().unwrap();
        let now = w.app.clock.now_naive();
        khongdee::webhooks::delivery::fan_out(&mut conn, now, 500).unwrap();
        let claimed = khongdee::webhooks::delivery::claim(
            &mut conn,
            w.app.state.backend,
            "dead-process",
            now,
            khongdee::webhooks::dispatcher::LEASE,
            2,
        )
        .unwrap();
        assert_eq!(claimed.len(), 2, "one per order: each order's first event");
    }

    // The server restarts: a new process state (pool, dispatcher) on the same database, with the
    // clock moving 10 minutes a pass. The dead process's claims lapse after their lease.
    let restarted = {
        let config = (*w.app.state.config).clone();
        let clock: khongdee::clock::SharedClock = w.app.clock.clone();
        tokio::task::spawn_blocking(move || khongdee::prepare(config, clock))
            .await
            .unwrap()
            .expect("the restarted server prepares")
    };
    let dispatcher = Dispatcher::new(&restarted);
    let accepted = || {
        receiver
            .received()
            .iter()
            .filter(|r| r.status == 200)
            .count()
    };
    drive(
        &w,
        &restarted,
        &dispatcher,
        Duration::minutes(10),
        40,
        || accepted() >= wanted,
    )
    .await;
    let received = receiver.received();
    let ok: Vec<&Received> = received.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), wanted, "{received:#?}");

    // Each accepted once, each signed, and each order's events in the order they happened.
    let mut ids: Vec<&str> = ok
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), wanted);
    let mut per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &ok {
        verify(&secret, r).unwrap();
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        let code = body["data"]["code"].as_str().unwrap().to_string();
        assert!(body["data"].get("secret").is_none());
        per_order
            .entry(code)
            .or_default()
            .push(body["type"].as_str().unwrap().to_string());
    }
    assert_eq!(per_order[&codes[0]], ["order.placed", "order.confirmed"]);
    assert_eq!(per_order[&codes[1]], ["order.placed", "order.confirmed"]);
    assert_eq!(per_order[&codes[2]], ["order.placed", "order.cancelled"]);
    // Every failed attempt came before the accepted ones of the same order (the receiver saw
    // no event of an order after a later event of it).
    for code in &codes {
        let seen: Vec<String> = received
            .iter()
            .filter_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                (body["data"]["code"] == json!(code))
                    .then(|| body["type"].as_str().unwrap().to_string())
            })
            .collect();
        let first_second = seen.iter().position(|t| t != "order.placed");
        if let Some(at) = first_second {
            assert!(
                seen[at..].iter().all(|t| t != "order.placed"),
                "{code}: {seen:?}"
            );
        }
    }

    // The log shows the failures: 500, a timeout, 429, 503, then deliveries.
    let staff = w.app.login(&w.staff.username).await.token;
    let (status, log) = json(
        w.app
            .get(&format!("/v1/webhook-endpoints/{id}/deliveries"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let deliveries = log.as_array().unwrap();
    assert_eq!(deliveries.len(), wanted);
    assert!(deliveries.iter().all(|d| d["state"] == "delivered"));
    let attempts: Vec<&Value> = deliveries
        .iter()
        .flat_map(|d| d["attempt_log"].as_array().unwrap())
        .collect();
    let statuses: Vec<Option<i64>> = attempts.iter().map(|a| a["status_code"].as_i64()).collect();
    for s in [500, 429, 503] {
        assert!(statuses.contains(&Some(s)), "{statuses:?}");
    }
    assert!(
        attempts.iter().any(|a| a["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("timeout"))),
        "{attempts:#?}"
    );
    assert!(attempts.iter().any(|a| a["response_body"] == "answer 500"));
    let (status, failed) = json(
        w.app
            .get(&format!(
                "/v1/webhook-endpoints/{id}/deliveries?state=failed"
            ))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), failed), (200, json!([])));
}

#[tokio::test]
async fn two_dispatchers_on_one_database_deliver_each_event_once() {
    let w = webhook_world().await;
    let (receiver, url) = Receiver::start(vec![]).await;
    let (status, endpoint) = register(&w, &w.staff.token, json!({"url": url})).await;
    assert_eq!(status, 201, "{endpoint}");
    // Twelve units: the twelfth order sells the window out.
    let win = window(&w, 12, json!({})).await;
    for i in 0..12 {
        let (status, order) = place(
            &w.app,
            &order_body(
                &win,
                json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
                &format!("08100001{i:02}"),
            ),
            None,
        )
        .await;
        assert_eq!(status, 201, "{order}");
        pay(&w, order["code"].as_str().unwrap()).await;
    }
    let events: i64 = {
        use diesel::prelude::*;
        use khongdee::db::schema::outbox_events as o;
        let mut conn = w.app.state.pool.get().unwrap();
        o::table.count().get_result(&mut conn).unwrap()
    };
    let a = Dispatcher::new(&w.app.state);
    let b = Dispatcher::new(&w.app.state);
    for _ in 0..30 {
        let (ra, rb) = tokio::join!(a.run_once(&w.app.state), b.run_once(&w.app.state));
        ra.unwrap();
        rb.unwrap();
        if receiver.received().len() as i64 >= events {
            break;
        }
    }
    let received = receiver.received();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "an event was delivered twice");
    assert_eq!(all as i64, events, "every event of the LAO, once");
    let types: Vec<String> = received
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types.iter().filter(|t| *t == "window.sold_out").count(),
        1,
        "{types:?}"
    );
}

#[tokio::test]
async fn endpoints_are_their_owners_and_refuse_private_addresses_and_a_410_disables() {
    let w = webhook_world().await;
    // SSRF: private and link-local addresses are refused, also with loopback allowed.
    for url in [
        "http://10.0.0.8/hooks",
        "https://169.254.169.254/latest",
        "https://[fd00::1]/x",
    ] {
        let (status, problem) = register(&w, &w.staff.token, json!({"url": url})).await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["code"], "private_address", "{problem}");
    }
    let (status, problem) = register(
        &w,
        &w.staff.token,
        json!({"url": "http://shop.example/hooks"}),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].clone()),
        (422, json!("https_required"))
    );
    let (status, problem) = register(
        &w,
        &w.staff.token,
        json!({"url": "https://shop.example/h", "event_types": ["order.teleported"]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "unknown_event_type");

    let (receiver, url) = Receiver::start(vec![Answer::Status(410)]).await;
    let (status, endpoint) = register(&w, &w.staff.token, json!({"url": url})).await;
    assert_eq!(status, 201);
    let id = endpoint["id"].as_i64().unwrap();
    // Another LAO's staff, a producer and a district officer cannot see or touch it.
    for who in [&w.other_lao_staff, &w.producer, &w.district_officer] {
        for (method, path) in [
            ("GET", format!("/v1/webhook-endpoints/{id}")),
            ("DELETE", format!("/v1/webhook-endpoints/{id}")),
            ("POST", format!("/v1/webhook-endpoints/{id}/test")),
            ("GET", format!("/v1/webhook-endpoints/{id}/deliveries")),
        ] {
            let req = match method {
                "GET" => w.app.get(&path),
                "DELETE" => w.app.delete(&path),
                _ => w.app.post(&path),
            };
            let res = req.bearer_auth(&who.token).send().await.unwrap();
            assert!(
                [403, 404].contains(&res.status().as_u16()),
                "{} {method} {path}: {}",
                who.username,
                res.status()
            );
        }
    }
    // A test event; the receiver answers 410: the endpoint is disabled at once.
    let res = w
        .app
        .post(&format!("/v1/webhook-endpoints/{id}/test"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let dispatcher = Dispatcher::new(&w.app.state);
    dispatcher.run_once(&w.app.state).await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        serde_json::from_slice::<Value>(&receiver.received()[0].body).unwrap()["type"],
        "webhook.test"
    );
    let (_, now) = json(
        w.app
            .get(&format!("/v1/webhook-endpoints/{id}"))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(now["enabled"], false, "{now}");
    assert_eq!(now["disabled_reason"], "gone");
    // Resend after enabling it again: delivered this time (the script is used up: 200).
    let res = w
        .app
        .patch(&format!("/v1/webhook-endpoints/{id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, log) = json(
        w.app
            .get(&format!(
                "/v1/webhook-endpoints/{id}/deliveries?state=failed"
            ))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let delivery = log[0]["id"].as_i64().unwrap();
    let res = w
        .app
        .post(&format!(
            "/v1/webhook-endpoints/{id}/deliveries/{delivery}/resend"
        ))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    dispatcher.run_once(&w.app.state).await.unwrap();
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].status, 200);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);

    // Rotation: both secrets sign until the old one lapses.
    let old = endpoint["secret"].as_str().unwrap().to_string();
    let (status, rotated) = json(
        w.app
            .post(&format!("/v1/webhook-endpoints/{id}/rotate-secret"))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let res = w
        .app
        .post(&format!("/v1/webhook-endpoints/{id}/test"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    dispatcher.run_once(&w.app.state).await.unwrap();
    let during = receiver.received().pop().unwrap();
    assert_eq!(during.headers["webhook-signature"].split(' ').count(), 2);
    verify(&new, &during).unwrap();
    verify(&old, &during).unwrap();
    w.app.clock.advance(Duration::hours(25));
    let res = w
        .app
        .post(&format!("/v1/webhook-endpoints/{id}/test"))
        .bearer_auth(&w.app.login(&w.staff.username).await.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    dispatcher.run_once(&w.app.state).await.unwrap();
    let after = receiver.received().pop().unwrap();
    verify(&new, &after).unwrap();
    assert!(verify(&old, &after).is_err(), "the old secret lapsed");
}

#[tokio::test]
async fn five_days_of_failures_disable_an_endpoint_its_owner_hears_and_recover_resends() {
    let w = webhook_world().await;
    // A fails (a redirect first, which is not followed, then 500s); B is the owner's other one.
    let mut script = vec![Answer::Status(302)];
    script.extend(std::iter::repeat_n(Answer::Status(500), 40));
    let (failing, failing_url) = Receiver::start(script).await;
    let (other, other_url) = Receiver::start(vec![]).await;
    let (_, a) = register(&w, &w.staff.token, json!({"url": failing_url})).await;
    let (_, b) = register(
        &w,
        &w.staff.token,
        json!({"url": other_url, "event_types": ["webhook_endpoint.disabled"]}),
    )
    .await;
    let a_id = a["id"].as_i64().unwrap();
    let dispatcher = Dispatcher::new(&w.app.state);
    let started = w.app.clock.now();
    let mut disabled_on = None;
    for day in 0..7 {
        let staff = w.app.login(&w.staff.username).await.token;
        let res = w
            .app
            .post(&format!("/v1/webhook-endpoints/{a_id}/test"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap();
        if res.status() != 202 {
            break;
        }
        dispatcher.run_once(&w.app.state).await.unwrap();
        let (_, now) = json(
            w.app
                .get(&format!("/v1/webhook-endpoints/{a_id}"))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if now["enabled"] == false {
            assert_eq!(now["disabled_reason"], "failing", "{now}");
            disabled_on = Some(day);
            break;
        }
        w.app.clock.advance(Duration::days(1));
    }
    assert_eq!(
        disabled_on,
        Some(5),
        "disabled on the attempt 5 days after the first failure"
    );
    let got = failing.received();
    assert_eq!(got[0].status, 302);
    assert!(got.len() >= 6);
    // The owner's other endpoint hears it.
    dispatcher.run_once(&w.app.state).await.unwrap();
    let heard = other.received();
    assert_eq!(heard.len(), 1, "{heard:?}");
    let body: Value = serde_json::from_slice(&heard[0].body).unwrap();
    assert_eq!(body["type"], "webhook_endpoint.disabled");
    assert_eq!(body["data"]["endpoint_id"], a_id);
    assert_eq!(body["data"]["reason"], "failing");
    verify(b["secret"].as_str().unwrap(), &heard[0]).unwrap();

    // Fixed: enabled again, every failed or pending delivery since the start goes out.
    let staff = w.app.login(&w.staff.username).await.token;
    failing.script.lock().unwrap().clear();
    let res = w
        .app
        .patch(&format!("/v1/webhook-endpoints/{a_id}"))
        .bearer_auth(&staff)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, recovered) = json(
        w.app
            .post(&format!("/v1/webhook-endpoints/{a_id}/recover"))
            .bearer_auth(&staff)
            .json(&json!({"since": started.to_rfc3339()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{recovered}");
    for _ in 0..3 {
        dispatcher.run_once(&w.app.state).await.unwrap();
    }
    let (_, log) = json(
        w.app
            .get(&format!("/v1/webhook-endpoints/{a_id}/deliveries"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let states: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 6);
    assert!(states.iter().all(|s| *s == "delivered"), "{states:?}");
    let (_, endpoint) = json(
        w.app
            .get(&format!("/v1/webhook-endpoints/{a_id}"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(endpoint["failing_since"], Value::Null);
}

#[tokio::test]
async fn a_partner_hears_its_own_orders_and_the_windows_it_may_sell_not_other_orders() {
    let w = webhook_world().await;
    let (receiver, url) = Receiver::start(vec![]).await;
    let (status, endpoint) = register(&w, &w.partner.token, json!({"url": url})).await;
    assert_eq!(status, 201, "{endpoint}");
    assert_eq!(endpoint["partner_client_id"], w.partner.id);
    // A window of one unit: an anonymous order elsewhere, then the partner's order sells it out.
    let other = window(&w, 100, json!({})).await;
    let (status, _) = place(
        &w.app,
        &order_body(
            &other,
            json!([{"variant_id": variant(&other, 1), "quantity": 1}]),
            "0810000009",
        ),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let win = window(&w, 1, json!({})).await;
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.partner.token)
        .header("Idempotency-Key", "webhooks-partner-1")
        .json(&order_body(
            &win,
            json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
            "0810000010",
        ))
        .send()
        .await
        .unwrap();
    let (status, order) = json(res).await;
    assert_eq!(status, 201, "{order}");
    // A window's events go one after another: one pass each.
    let dispatcher = Dispatcher::new(&w.app.state);
    for _ in 0..3 {
        dispatcher.run_once(&w.app.state).await.unwrap();
    }
    let heard: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let orders: Vec<&Value> = heard
        .iter()
        .filter(|e| e["type"] == "order.placed")
        .collect();
    assert_eq!(orders.len(), 1, "{heard:#?}");
    assert_eq!(orders[0]["data"]["code"], order["code"]);
    assert!(
        heard
            .iter()
            .any(|e| e["type"] == "window.sold_out" && e["data"]["window_id"] == win["id"]),
        "{heard:#?}"
    );
}

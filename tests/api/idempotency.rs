//! Idempotency-Key: a storm of retries of one order yields one order.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

async fn post_order(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> (u16, Option<String>, String) {
    let mut req = client.post(url).header("Idempotency-Key", key).json(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap_or("").to_string());
    (status, replayed, res.text().await.unwrap_or_default())
}

async fn order_count(app: &TestApp) -> i64 {
    app.state
        .db(|conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::orders;
            Ok(orders::table.count().get_result(conn)?)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_storm_yields_exactly_one_order() {
    let app = spawn_app_with(|c| {
        c.rate_limit_authenticated_per_minute = 1_000_000;
        c.workers = Some(4);
    })
    .await;
    let w = World::with_app(app).await;
    let win = window(&w, 100, json!({})).await;
    let body = Arc::new(order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 2}]),
        "0891234567",
    ));
    let url = Arc::new(w.app.url("/v1/orders"));
    let token = Arc::new(w.partner.token.clone());
    let key = "8e03978e-40d5-43e8-bc93-6894a57f9324";

    // Fifty retries, spread over 180 ms so that some arrive while the first
    // is running and some after it has finished.
    let start = std::time::Instant::now();
    let storm = (0..50u64).map(|i| {
        let (client, url, token, body) = (
            w.app.client.clone(),
            url.clone(),
            token.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(i % 10 * 20)).await;
            let sent = start.elapsed();
            let answer = post_order(&client, &url, Some(&token), key, &body).await;
            (sent, start.elapsed(), answer)
        })
    });
    let timed: Vec<_> = futures_util::future::join_all(storm)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let answers: Vec<(u16, Option<String>, String)> = timed.iter().map(|t| t.2.clone()).collect();

    assert_eq!(
        order_count(&w.app).await,
        1,
        "one order, however many retries"
    );
    let created: Vec<&(u16, Option<String>, String)> =
        answers.iter().filter(|a| a.0 == 201).collect();
    assert!(
        !created.is_empty(),
        "at least the first answer is a creation: {answers:?}"
    );
    let first_body = &created[0].2;
    for (status, _, text) in &answers {
        match status {
            201 => assert_eq!(
                text, first_body,
                "every success is the first response replayed"
            ),
            409 => {
                let problem: Value = serde_json::from_str(text).unwrap();
                assert_eq!(problem["code"], "idempotency_in_flight", "{problem}");
            }
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(
        created.iter().filter(|a| a.1.is_none()).count(),
        1,
        "one fresh answer, the rest replays"
    );
    // A retry sent after the first answer arrived is never told "in flight".
    let first_done = timed
        .iter()
        .find(|t| t.2.0 == 201 && t.2.1.is_none())
        .unwrap()
        .1;
    for (sent, _, (status, replayed, _)) in &timed {
        if *sent > first_done {
            assert_eq!(
                (*status, replayed.as_deref()),
                (201, Some("true")),
                "sent at {sent:?}, first done at {first_done:?}"
            );
        }
    }

    // Every retry after the first completed replays it.
    for _ in 0..3 {
        let (status, replayed, text) =
            post_order(&w.app.client, &url, Some(&token), key, &body).await;
        assert_eq!((status, replayed.as_deref()), (201, Some("true")));
        assert_eq!(&text, first_body);
    }
    // The same key with another body is refused.
    let mut other = (*body).clone();
    other["lines"][0]["quantity"] = json!(3);
    let (status, _, text) = post_order(&w.app.client, &url, Some(&token), key, &other).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("idempotency_key_reused"));
    assert_eq!(order_count(&w.app).await, 1);

    // Keys belong to their caller: the same key from someone else is a new request.
    let (status, _, _) = post_order(&w.app.client, &url, None, key, &body).await;
    assert_eq!(status, 201);
    assert_eq!(order_count(&w.app).await, 2);
    let win_now = availability(&w.app, win["id"].as_i64().unwrap()).await;
    assert_eq!(
        win_now["sold"], 20,
        "two orders of 10 units: the storm sold only once"
    );
}

#[tokio::test]
async fn refusals_are_replayed_too_and_bad_keys_are_refused() {
    let w = World::new().await;
    let win = window(&w, 5, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 2}]),
        "0891234567",
    );
    let (status, first) = place(&w.app, &body, Some("key-sold-out-1")).await;
    assert_eq!(
        (status, first["code"].as_str().unwrap()),
        (409, "insufficient_capacity")
    );
    let res = w
        .app
        .post("/v1/orders")
        .header("Idempotency-Key", "key-sold-out-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let replayed: Value = res.json().await.unwrap();
    assert_eq!(replayed, first);

    let res = w
        .app
        .post("/v1/orders")
        .header("Idempotency-Key", "has spaces in it")
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    // Holds take keys as well.
    let hold_body = json!({"lines": [{"variant_id": variant(&win, 1), "quantity": 1}]});
    let path = format!("/v1/windows/{}/holds", win["id"]);
    let a: Value = w
        .app
        .post(&path)
        .header("Idempotency-Key", "hold-1")
        .json(&hold_body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = w
        .app
        .post(&path)
        .header("Idempotency-Key", "hold-1")
        .json(&hold_body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(
        availability(&w.app, win["id"].as_i64().unwrap()).await["held"],
        1
    );
}

#[tokio::test]
async fn a_claimed_key_is_in_flight_until_it_completes_and_kept_two_days() {
    use khongdee::idempotency::{Begin, begin, complete};
    let w = World::new().await;
    let now = khongdee::clock::Clock::now_naive(w.app.clock.as_ref());
    let claim = |scope: &'static str, print: &'static str, at: chrono::NaiveDateTime| {
        let state = w.app.state.clone();
        async move {
            state
                .db(move |conn| begin(conn, scope, "k-1", print, at))
                .await
                .unwrap()
        }
    };
    let Begin::Proceed(id) = claim("client:1", "a", now).await else {
        panic!("first claim")
    };
    assert!(matches!(claim("client:1", "a", now).await, Begin::InFlight));
    assert!(matches!(claim("client:1", "b", now).await, Begin::Mismatch));
    // Another caller's key of the same name is another key.
    assert!(matches!(
        claim("client:2", "a", now).await,
        Begin::Proceed(_)
    ));
    // A request that died without answering is taken over after its lock (60 s).
    let later = now + chrono::Duration::seconds(61);
    assert!(matches!(claim("client:1", "a", later).await, Begin::Proceed(same) if same == id));
    let state = w.app.state.clone();
    state
        .db(move |conn| {
            Ok(complete(
                conn,
                id,
                201,
                "application/json",
                "{\"ok\":true}",
            )?)
        })
        .await
        .unwrap();
    match claim("client:1", "a", later).await {
        Begin::Replay(stored) => assert_eq!(
            (stored.status, stored.body.as_str()),
            (201, "{\"ok\":true}")
        ),
        other => panic!("{other:?}"),
    }
    // Kept at least 24 hours; after the retention the key is new again.
    let next_day = now + chrono::Duration::hours(24);
    assert!(matches!(
        claim("client:1", "a", next_day).await,
        Begin::Replay(_)
    ));
    let after = now
        + chrono::Duration::hours(khongdee::idempotency::RETENTION_HOURS)
        + chrono::Duration::seconds(1);
    assert!(matches!(
        claim("client:1", "b", after).await,
        Begin::Proceed(_)
    ));
}

#[tokio::test]
async fn expired_keys_are_purged_by_the_background_task() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "0891234567",
    );
    let (status, first) = place(&w.app, &body, Some("day-one")).await;
    assert_eq!(status, 201);
    w.app.clock.advance(chrono::Duration::hours(
        khongdee::idempotency::RETENTION_HOURS + 1,
    ));
    let state = w.app.state.clone();
    tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap();
    let state = w.app.state.clone();
    let left: i64 = state
        .db(|conn| {
            use diesel::prelude::*;
            Ok(khongdee::db::schema::idempotency_keys::table
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The key is free again: the same body now places a second order.
    let (status, second) = place(&w.app, &body, Some("day-one")).await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(first["code"], second["code"]);
}

/// One request of the replay test: who sends it, and to what.
struct Call<'a> {
    method: reqwest::Method,
    path: String,
    token: Option<&'a str>,
    secret: Option<&'a str>,
    body: Value,
}

impl Call<'_> {
    async fn send(&self, app: &TestApp, key: &str) -> (u16, bool, Value) {
        let mut req = app
            .request(self.method.clone(), &self.path)
            .header("Idempotency-Key", key)
            .json(&self.body);
        if let Some(token) = self.token {
            req = req.bearer_auth(token);
        }
        if let Some(secret) = self.secret {
            req = req.header("X-Order-Secret", secret);
        }
        if self.path.starts_with("/v1/embed/") {
            // The embedded form's own page: same origin.
            req = req.header("Origin", &app.address);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let replayed = res.headers().get("idempotent-replayed").is_some();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            replayed,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

/// A stored answer goes only to the caller it was made for, on every route that takes an
/// `Idempotency-Key`: another caller sending the same key (and body) gets what it would get
/// without the key — a refusal, or its own new answer — never the first caller's answer.
#[tokio::test]
async fn a_stored_answer_is_replayed_only_to_its_own_caller() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let line = json!([{"variant_id": variant(&win, 1), "quantity": 1}]);
    let new_order = |phone: &str| order_body(&win, line.clone(), phone);
    let (_, order) = place(&w.app, &new_order("0891234567"), None).await;
    let code = order["code"].as_str().unwrap().to_string();
    let secret = order["secret"].as_str().unwrap().to_string();
    let (_, paid) = place(&w.app, &new_order("0891234567"), None).await;
    let paid_code = paid["code"].as_str().unwrap().to_string();
    let (_, sold_out) = window_pair(&w).await;
    let (status, embed_key) = json(
        w.app
            .post(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
            .bearer_auth(&w.staff.token)
            .json(&json!({"label": "เว็บไซต์"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{embed_key}");
    let pk = embed_key["key"].as_str().unwrap().to_string();

    let post = reqwest::Method::POST;
    // (route as the spec names it, the first caller's request, other callers' requests with
    // the same key and body, and what each of them must get instead of a replay)
    type Others<'a> = Vec<(Call<'a>, u16)>;
    let cases: Vec<(&str, Call, Others)> = vec![
        (
            "POST /v1/orders",
            Call {
                method: post.clone(),
                path: "/v1/orders".into(),
                token: None,
                secret: None,
                body: new_order("0891234567"),
            },
            vec![
                // The same body from a partner is the partner's own new order.
                (
                    Call {
                        method: post.clone(),
                        path: "/v1/orders".into(),
                        token: Some(&w.partner.token),
                        secret: None,
                        body: new_order("0891234567"),
                    },
                    201,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: "/v1/orders".into(),
                        token: Some(&w.staff.token),
                        secret: None,
                        body: new_order("0891234567"),
                    },
                    201,
                ),
            ],
        ),
        (
            "POST /v1/orders/{code}/cancel",
            Call {
                method: post.clone(),
                path: format!("/v1/orders/{code}/cancel"),
                token: None,
                secret: Some(&secret),
                body: json!({}),
            },
            vec![
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{code}/cancel"),
                        token: None,
                        secret: None,
                        body: json!({}),
                    },
                    404,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{code}/cancel"),
                        token: None,
                        secret: Some("not-the-secret"),
                        body: json!({}),
                    },
                    404,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{code}/cancel"),
                        token: Some(&w.other_lao_staff.token),
                        secret: None,
                        body: json!({}),
                    },
                    403,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{code}/cancel"),
                        token: Some(&w.partner.token),
                        secret: None,
                        body: json!({}),
                    },
                    404,
                ),
            ],
        ),
        (
            "POST /v1/orders/{code}/payment",
            Call {
                method: post.clone(),
                path: format!("/v1/orders/{paid_code}/payment"),
                token: Some(&w.staff.token),
                secret: None,
                body: json!({"reference": "โอน"}),
            },
            vec![
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{paid_code}/payment"),
                        token: Some(&w.other_lao_staff.token),
                        secret: None,
                        body: json!({"reference": "โอน"}),
                    },
                    403,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{paid_code}/payment"),
                        token: Some(&w.district_officer.token),
                        secret: None,
                        body: json!({"reference": "โอน"}),
                    },
                    403,
                ),
                // Its producer may record payments too, but gets its own answer: already paid.
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{paid_code}/payment"),
                        token: Some(&w.producer.token),
                        secret: None,
                        body: json!({"reference": "โอน"}),
                    },
                    409,
                ),
            ],
        ),
        (
            "POST /v1/orders/{code}/transitions",
            Call {
                method: post.clone(),
                path: format!("/v1/orders/{paid_code}/transitions"),
                token: Some(&w.staff.token),
                secret: None,
                body: json!({"to": "ready"}),
            },
            vec![
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{paid_code}/transitions"),
                        token: Some(&w.other_lao_staff.token),
                        secret: None,
                        body: json!({"to": "ready"}),
                    },
                    403,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/orders/{paid_code}/transitions"),
                        token: Some(&w.producer.token),
                        secret: None,
                        body: json!({"to": "ready"}),
                    },
                    409,
                ),
            ],
        ),
        (
            "POST /v1/windows/{id}/holds",
            Call {
                method: post.clone(),
                path: format!("/v1/windows/{id}/holds"),
                token: None,
                secret: None,
                body: json!({"lines": line, "buyer_phone": "0891234567"}),
            },
            vec![
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/windows/{id}/holds"),
                        token: None,
                        secret: None,
                        body: json!({"lines": line, "buyer_phone": "0811111111"}),
                    },
                    201,
                ),
                (
                    Call {
                        method: post.clone(),
                        path: format!("/v1/windows/{id}/holds"),
                        token: Some(&w.partner.token),
                        secret: None,
                        body: json!({"lines": line, "buyer_phone": "0891234567"}),
                    },
                    201,
                ),
            ],
        ),
        (
            "POST /v1/windows/{id}/waitlist",
            Call {
                method: post.clone(),
                path: format!("/v1/windows/{sold_out}/waitlist"),
                token: None,
                secret: None,
                body: json!({"variant_id": sold_out_variant(&w, sold_out).await, "quantity": 1, "buyer_name": "ก", "buyer_phone": "0891234567"}),
            },
            vec![(
                Call {
                    method: post.clone(),
                    path: format!("/v1/windows/{sold_out}/waitlist"),
                    token: Some(&w.partner.token),
                    secret: None,
                    body: json!({"variant_id": sold_out_variant(&w, sold_out).await, "quantity": 1, "buyer_name": "ก", "buyer_phone": "0891234567"}),
                },
                409,
            )],
        ),
        // The embedded form: anonymous buyers, told apart by their phone.
        (
            "POST /v1/embed/{key}/orders",
            Call {
                method: post.clone(),
                path: format!("/v1/embed/{pk}/orders"),
                token: None,
                secret: None,
                body: new_order("0822222222"),
            },
            vec![(
                Call {
                    method: post.clone(),
                    path: format!("/v1/embed/{pk}/orders"),
                    token: None,
                    secret: None,
                    body: new_order("0833333333"),
                },
                201,
            )],
        ),
        (
            "POST /v1/embed/{key}/windows/{id}/waitlist",
            Call {
                method: post.clone(),
                path: format!("/v1/embed/{pk}/windows/{sold_out}/waitlist"),
                token: None,
                secret: None,
                body: json!({"variant_id": sold_out_variant(&w, sold_out).await, "quantity": 1, "buyer_name": "ก", "buyer_phone": "0822222222"}),
            },
            vec![(
                Call {
                    method: post.clone(),
                    path: format!("/v1/embed/{pk}/windows/{sold_out}/waitlist"),
                    token: None,
                    secret: None,
                    body: json!({"variant_id": sold_out_variant(&w, sold_out).await, "quantity": 1, "buyer_name": "ก", "buyer_phone": "0833333333"}),
                },
                201,
            )],
        ),
    ];

    // Every route that takes the header is here.
    let spec: Value = serde_json::from_str(&w.app.state.openapi_json).unwrap();
    let mut with_key = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let takes_key = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            if takes_key {
                with_key.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    with_key.sort();
    let mut covered: Vec<String> = cases.iter().map(|(r, _, _)| r.to_string()).collect();
    covered.sort();
    assert_eq!(
        covered, with_key,
        "a route takes Idempotency-Key but this test does not cover it"
    );

    for (n, (route, first, others)) in cases.iter().enumerate() {
        let key = format!("replay-{n}-7f1c");
        let (status, replayed, answer) = first.send(&w.app, &key).await;
        assert!(
            (200..300).contains(&status) && !replayed,
            "{route}: {status} {answer}"
        );
        let (again, replayed, same) = first.send(&w.app, &key).await;
        assert!(
            replayed && again == status && same == answer,
            "{route}: the first caller's retry is a replay"
        );
        for (other, expected) in others {
            let (status, replayed, body) = other.send(&w.app, &key).await;
            assert!(!replayed, "{route}: replayed to another caller: {body}");
            assert_eq!(status, *expected, "{route}: {body}");
            if !answer.is_null() {
                for secret_member in ["secret", "id", "code"] {
                    if let Some(value) = answer.get(secret_member) {
                        assert_ne!(
                            body.get(secret_member),
                            Some(value),
                            "{route}: leaked {secret_member}"
                        );
                    }
                }
            }
        }
    }
}

/// A window with every unit held, and its id.
async fn window_pair(w: &World) -> (Value, i64) {
    let full = window(w, 1, json!({})).await;
    let id = full["id"].as_i64().unwrap();
    let (status, _) = hold(&w.app, id, variant(&full, 1), 1, None).await;
    assert_eq!(status, 201);
    (full, id)
}

async fn sold_out_variant(w: &World, window_id: i64) -> i64 {
    let (_, win) = json(
        w.app
            .get(&format!("/v1/windows/{window_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    variant(&win, 1)
}

/// A stored refusal is replayed in the language the retry asks for.
#[tokio::test]
async fn a_stored_refusal_is_replayed_in_the_retrys_language() {
    let w = World::new().await;
    let win = window(&w, 4, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 1}]),
        "0891234567",
    );
    let send = |lang: &'static str| {
        w.app
            .post("/v1/orders")
            .header("Idempotency-Key", "refused-2f6e")
            .header("Accept-Language", lang)
            .json(&body)
            .send()
    };
    let first = assert_problem(send("en").await.unwrap(), 409, "insufficient_capacity").await;
    assert!(first["detail"].as_str().unwrap().is_ascii());
    let res = send("th").await.unwrap();
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again = assert_problem(res, 409, "insufficient_capacity").await;
    assert!(
        !again["detail"].as_str().unwrap().is_ascii(),
        "the Thai text: {again}"
    );
    assert_eq!(again["request_id"], first["request_id"], "the same answer");
}

/// The same request written differently (spaces and key order in the body, an order code in
/// lower case without its dash) is the same request: its retry is a replay, not a reuse.
#[tokio::test]
async fn a_retry_written_differently_is_still_a_replay() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "0891234567",
    );
    let compact = serde_json::to_string(&body).unwrap();
    let pretty = serde_json::to_string_pretty(&body).unwrap();
    let send = |text: String| {
        w.app
            .post("/v1/orders")
            .header("Idempotency-Key", "written-twice-1")
            .header("Content-Type", "application/json")
            .body(text)
            .send()
    };
    let first = send(compact).await.unwrap();
    assert_eq!(first.status(), 201);
    let (_, order) = json(first).await;
    let again = send(pretty).await.unwrap();
    assert_eq!(
        again.status(),
        201,
        "not 422: the same order, pretty-printed"
    );
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let code = order["code"].as_str().unwrap();
    let secret = order["secret"].as_str().unwrap();
    let cancel = |path: String| {
        w.app
            .post(&path)
            .header("Idempotency-Key", "written-twice-2")
            .header("X-Order-Secret", secret)
            .send()
    };
    let first = cancel(format!("/v1/orders/{code}/cancel")).await.unwrap();
    assert_eq!(first.status(), 200);
    let typed = code.to_lowercase().replace('-', "");
    let again = cancel(format!("/v1/orders/{typed}/cancel")).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}

//! The embeddable form's server side: publishable keys, CORS and `frame-ancestors` from the LAO's
//! allowed origins, orders with the LAO-form channel and one order per submission under
//! concurrent double submits, the buyer's QR, the waiting list, the rate limit per key and
//! address, and the files and pages. The browser itself is driven in `tests/browser/`.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

/// The host page's origin in these tests (the API runs on another: 127.0.0.1 with its port).
const SITE: &str = "https://www.maesot.example";

async fn allow_origins(w: &World, origins: &[&str]) {
    let res = w
        .app
        .patch(&format!("/v1/laos/{MAE_SOT}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({ "allowed_origins": origins }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn new_key(w: &World, who: &Account, lao: &str) -> (u16, Value) {
    let (status, body) = json(
        w.app
            .post(&format!("/v1/laos/{lao}/embed-keys"))
            .bearer_auth(&who.token)
            .json(&json!({"label": "เว็บไซต์เทศบาล"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

/// A world whose Mae Sot LAO allows [`SITE`], with a key and an open window.
async fn form_world() -> (World, String, Value) {
    let w = World::new().await;
    allow_origins(&w, &[SITE]).await;
    let (status, key) = new_key(&w, &w.staff, MAE_SOT).await;
    assert_eq!(status, 201, "{key}");
    let window = window(&w, 100, json!({})).await;
    (w, key["key"].as_str().unwrap().to_string(), window)
}

fn embed_order(
    app: &TestApp,
    key: &str,
    body: &Value,
    idempotency: &str,
) -> reqwest::RequestBuilder {
    embed_order_from(app, SITE, key, body, idempotency)
}

fn embed_order_from(
    app: &TestApp,
    origin: &str,
    key: &str,
    body: &Value,
    idempotency: &str,
) -> reqwest::RequestBuilder {
    app.post(&format!("/v1/embed/{key}/orders"))
        .header("Origin", origin)
        .header("Idempotency-Key", idempotency)
        .json(body)
}

/// The embed keys of Mae Sot as `token`'s caller reads them.
async fn key_list(app: &TestApp, token: &str) -> (reqwest::StatusCode, Value) {
    json(
        app.get(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn lao_staff_manage_their_publishable_keys() {
    let w = World::new().await;
    let (status, first) = new_key(&w, &w.staff, MAE_SOT).await;
    assert_eq!(status, 201, "{first}");
    let key = first["key"].as_str().unwrap();
    assert!(key.starts_with("pk_") && key.len() == 35, "{key}");
    assert_eq!(first["active"], true);
    assert_eq!(first["lao_code"], MAE_SOT);

    // Another LAO's staff, a producer, a partner: not theirs to make; nobody without a token.
    for who in [&w.other_lao_staff, &w.producer, &w.district_officer] {
        let (status, body) = new_key(&w, who, MAE_SOT).await;
        assert_eq!(status, 403, "{}: {body}", who.username);
    }
    let res = w
        .app
        .post(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
        .json(&json!({"label": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "authentication_required").await;
    // A label is one line of text.
    let res = w
        .app
        .post(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"label": "  "}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&problem), vec!["label"]);

    // The district officer reads them; the other LAO's staff does not.
    let (status, list) = key_list(&w.app, &w.district_officer.token).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let res = w
        .app
        .get(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // The form works with the key, and stops the moment it is revoked.
    let form = |key: String| {
        let app = &w.app;
        async move {
            app.get(&format!("/v1/embed/{key}/form"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(form(key.to_string()).await.status(), 200);
    let id = first["id"].as_i64().unwrap();
    let res = w
        .app
        .delete(&format!("/v1/embed-keys/{id}"))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    for _ in 0..2 {
        let res = w
            .app
            .delete(&format!("/v1/embed-keys/{id}"))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "revoking twice is revoking once");
    }
    assert_problem(form(key.to_string()).await, 404, "not_found").await;
    let (_, list) = key_list(&w.app, &w.staff.token).await;
    assert_eq!(list[0]["active"], false, "{list}");
    assert!(list[0]["revoked_at"].is_string());
    // Malformed keys are not looked up.
    assert_problem(form("pk_../../x".into()).await, 404, "not_found").await;

    // At most 20 live keys.
    for _ in 0..20 {
        assert_eq!(new_key(&w, &w.staff, MAE_SOT).await.0, 201);
    }
    let (status, body) = new_key(&w, &w.staff, MAE_SOT).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn only_the_laos_allowed_origins_may_use_its_form() {
    let (w, key, window) = form_world().await;
    let path = format!("/v1/embed/{key}/orders");

    // The browser's preflight from the LAO's site: allowed, with what the form sends.
    let res = w
        .app
        .request(reqwest::Method::OPTIONS, &path)
        .header("Origin", SITE)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], SITE);
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("idempotency-key") && allowed.contains("content-type"));
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "no cookies, ever"
    );

    // From any other site: refused, and nothing a browser would let the page read.
    for origin in ["https://evil.example", "http://www.maesot.example", "null"] {
        let res = w
            .app
            .request(reqwest::Method::OPTIONS, &path)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let problem = assert_problem(res, 403, "origin_not_allowed").await;
        assert_eq!(problem["origin"], origin);
        let res = w
            .app
            .get(&format!("/v1/embed/{key}/form"))
            .header("Origin", origin)
            .header("Accept-Language", "th")
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let problem = assert_problem(res, 403, "origin_not_allowed").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("allowed_origins")
        );
    }

    // The allowed site reads the form with CORS, and the windows with live availability.
    let res = w
        .app
        .get(&format!("/v1/embed/{key}/form"))
        .header("Origin", SITE)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], SITE);
    assert!(res.headers()["vary"].to_str().unwrap().contains("Origin"));
    let (status, form) = json(res).await;
    assert_eq!(status, 200);
    assert_eq!(form["lao"]["dla_code"], MAE_SOT);
    assert_eq!(form["lao"]["name_th"], "เทศบาลนครแม่สอด");
    let windows = form["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["id"], window["id"]);
    assert_eq!(windows[0]["variants"][0]["items_available"], 100);

    // The API's own page (the iframe) is same-origin: allowed whatever the LAO lists.
    let own = w.app.url("").trim_end_matches('/').to_string();
    let res = embed_order_from(
        &w.app,
        &own,
        &key,
        &order_body(
            &window,
            json!([{"variant_id": variant(&window, 1), "quantity": 1}]),
            "0891234567",
        ),
        "3b7e2c1a-0000-4000-8000-000000000001",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("access-control-allow-origin").is_none());

    // Without an Origin (not a browser page): reading is fine, ordering is not.
    let res = w
        .app
        .get(&format!("/v1/embed/{key}/form"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = w
        .app
        .post(&path)
        .header("Idempotency-Key", "3b7e2c1a-0000-4000-8000-000000000002")
        .json(&order_body(
            &window,
            json!([{"variant_id": variant(&window, 1), "quantity": 1}]),
            "0891234567",
        ))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 403, "origin_not_allowed").await;
    assert_eq!(problem["origin"], Value::Null);

    // An LAO that lists no site: no site may use it (and its iframe may be framed nowhere).
    allow_origins(&w, &[]).await;
    let res = w
        .app
        .get(&format!("/v1/embed/{key}/form"))
        .header("Origin", SITE)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "origin_not_allowed").await;
    let res = w
        .app
        .get(&format!("/embed/form?key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // Geography for the address pickers is public: any site may read it.
    let res = w
        .app
        .get("/v1/provinces/63/districts")
        .header("Origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn an_order_from_the_form_is_the_laos_form_channel_once_per_submission() {
    let (w, key, window) = form_world().await;
    let box5 = variant(&window, 5);
    let body = order_body(
        &window,
        json!([{"variant_id": box5, "quantity": 2}]),
        "0812223333",
    );

    // A double tap: the same submission sent five times at once, on five connections.
    let idempotency = "6f1d7a52-4c1b-4e8e-9d3a-5b2c1e0f9a77";
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let request = embed_order(&w.app, &key, &body, idempotency);
        tasks.push(tokio::spawn(async move {
            let res = request.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut codes = std::collections::BTreeSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => {
                codes.insert(body["order"]["code"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(body["code"], "idempotency_in_flight", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(codes.len(), 1, "one order: {codes:?}");
    // A retry after the first answer gets the same order back.
    let res = embed_order(&w.app, &key, &body, idempotency)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let (status, placed) = json(res).await;
    assert_eq!(status, 201);
    let code = placed["order"]["code"].as_str().unwrap().to_string();
    assert!(codes.contains(&code));
    // Staff see exactly one order, 10 units sold, from the LAO's form.
    let (_, orders) = json(
        w.app
            .get(&format!("/v1/orders?window_id={}", window["id"]))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let orders = orders["items"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["channel"], "embed");
    assert_eq!(
        availability(&w.app, window["id"].as_i64().unwrap()).await["sold"],
        10
    );

    // The buyer's answer: the order with its secret, and the PromptPay QR of the total.
    let order = &placed["order"];
    assert_eq!(order["channel"], "embed");
    assert_eq!(order["total_satang"], 2 * 42500);
    let secret = order["secret"].as_str().unwrap();
    let promptpay = &placed["promptpay"];
    assert_eq!(promptpay["amount_satang"], 2 * 42500);
    let payload = promptpay["promptpay_payload"].as_str().unwrap();
    assert!(
        payload.contains("5406850.00"),
        "the amount is in the QR: {payload}"
    );
    assert_eq!(decode_qr(promptpay["qr_png"].as_str().unwrap()), payload);

    // The saved page reads it back with the secret, and only with it.
    let read = |secret: &str| {
        w.app
            .get(&format!("/v1/embed/{key}/orders/{code}"))
            .header("Origin", SITE)
            .header("X-Order-Secret", secret)
    };
    let (status, again) = json(read(secret).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(again["order"]["code"], code);
    assert_eq!(again["promptpay"]["promptpay_payload"], payload);
    assert_problem(read("wrong").send().await.unwrap(), 404, "not_found").await;

    // A forwarded host does not make another site the API's own page.
    let res = w
        .app
        .get(&format!("/v1/embed/{key}/form"))
        .header("Origin", "https://evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("Forwarded", "host=evil.example;proto=https")
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "origin_not_allowed").await;

    // Paid, it counts in the statistics under the LAO's form, and there is nothing left to pay.
    let res = w
        .app
        .post(&format!("/v1/orders/{code}/payment"))
        .bearer_auth(&w.admin.token)
        .json(&json!({"reference": "โอนแล้ว"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, again) = json(read(secret).send().await.unwrap()).await;
    assert_eq!(again["promptpay"], Value::Null);
    assert_eq!(again["order"]["status"], "confirmed");
    let (status, channels) = json(
        w.app
            .get("/v1/stats/sales?level=national&group_by=channel")
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{channels}");
    let embed = channels["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "embed")
        .unwrap();
    assert_eq!(embed["sales"], 1, "{channels}");
    assert_eq!(embed["name_th"], "ฟอร์ม อปท.");
    assert_eq!(embed["name_en"], "LAO website form");

    // Every submission needs its key; field errors come back in the form's language.
    let res = w
        .app
        .post(&format!("/v1/embed/{key}/orders"))
        .header("Origin", SITE)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    let mut bad = body.clone();
    bad["buyer"]["phone"] = json!("12345");
    let res = embed_order(&w.app, &key, &bad, "6f1d7a52-4c1b-4e8e-9d3a-5b2c1e0f9a78")
        .header("Accept-Language", "th")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&problem), vec!["buyer.phone"]);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(
        khongdee::i18n::untranslated_words(message).is_empty(),
        "{message}"
    );

    // The LAO rotates its key: the buyer's saved page still opens and shows the order (from
    // the API's own page), while the form itself stops taking orders with it.
    let (_, keys) = key_list(&w.app, &w.staff.token).await;
    let id = keys[0]["id"].as_i64().unwrap();
    let res = w
        .app
        .delete(&format!("/v1/embed-keys/{id}"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = w
        .app
        .get(&format!("/embed/form?key={key}&lang=th"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let own = w.app.url("").trim_end_matches('/').to_string();
    let (status, saved) = json(
        w.app
            .get(&format!("/v1/embed/{key}/orders/{code}"))
            .header("Origin", &own)
            .header("X-Order-Secret", secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["order"]["code"], code);
    let res = embed_order(&w.app, &key, &body, "6f1d7a52-4c1b-4e8e-9d3a-5b2c1e0f9a79")
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_key_sells_only_its_own_laos_windows() {
    let (w, key, _) = form_world().await;
    // A window of another LAO (Mae Pa), published and open.
    let other_producer = w.app.add_producer(MAE_PA, "สวนแม่ปะ").await;
    let staff = &w.other_lao_staff;
    let (status, product) = json(
        w.app
            .post(&format!("/v1/producers/{other_producer}/products"))
            .bearer_auth(&staff.token)
            .json(&json!({"crop": "longan", "title": "ลำไยแม่ปะ"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let (status, other) = json(
        w.app
            .post(&format!("/v1/products/{}/windows", product["id"]))
            .bearer_auth(&staff.token)
            .json(&window_body(50, json!({})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{other}");

    let res = w
        .app
        .get(&format!("/v1/embed/{key}/form?window={}", other["id"]))
        .header("Origin", SITE)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let body = order_body(
        &other,
        json!([{"variant_id": variant(&other, 1), "quantity": 1}]),
        "0812223333",
    );
    let res = embed_order(&w.app, &key, &body, "0a9b8c7d-0000-4000-8000-00000000000a")
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_eq!(
        availability(&w.app, other["id"].as_i64().unwrap()).await["sold"],
        0
    );
    let res = w
        .app
        .post(&format!("/v1/embed/{key}/windows/{}/waitlist", other["id"]))
        .header("Origin", SITE)
        .header("Idempotency-Key", "0a9b8c7d-0000-4000-8000-00000000000b")
        .json(&json!({"variant_id": variant(&other, 1), "quantity": 1, "buyer_name": "ก", "buyer_phone": "0812223333"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_sold_out_window_offers_its_waiting_list_through_the_form() {
    let (w, key, window) = form_world().await;
    let one = variant(&window, 1);
    // Someone else takes everything.
    let (status, body) = place(
        &w.app,
        &order_body(
            &window,
            json!([{"variant_id": one, "quantity": 100}]),
            "0819998888",
        ),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, form) = json(
        w.app
            .get(&format!("/v1/embed/{key}/form"))
            .header("Origin", SITE)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(form["windows"][0]["status"], "sold_out");
    let join = |idem: &'static str| {
        w.app
            .post(&format!("/v1/embed/{key}/windows/{}/waitlist", window["id"]))
            .header("Origin", SITE)
            .header("Idempotency-Key", idem)
            .json(&json!({"variant_id": one, "quantity": 2, "buyer_name": "สมชาย ใจดี", "buyer_phone": "0812223333"}))
    };
    let res = join("7c6b5a49-0000-4000-8000-000000000001")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], SITE);
    let (status, entry) = json(res).await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["position"], 1);
    let (status, again) = json(
        join("7c6b5a49-0000-4000-8000-000000000001")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], entry["id"], "a retried join is the same entry");
}

#[tokio::test]
async fn the_form_is_rate_limited_per_key_and_address_and_says_so_across_origins() {
    let app = spawn_app_with(|c| {
        c.rate_limit_embed_per_minute = 3;
        c.rate_limit_anonymous_per_minute = 10;
    })
    .await;
    let w = World::with_app(app).await;
    allow_origins(&w, &[SITE]).await;
    let (_, first) = new_key(&w, &w.staff, MAE_SOT).await;
    let (_, second) = new_key(&w, &w.staff, MAE_SOT).await;
    let form = |key: &str, origin: &str| {
        w.app
            .get(&format!("/v1/embed/{key}/form"))
            .header("Origin", origin)
            .send()
    };
    let first = first["key"].as_str().unwrap();
    let second = second["key"].as_str().unwrap();
    for _ in 0..3 {
        let res = form(first, SITE).await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["ratelimit-policy"]
                .to_str()
                .unwrap()
                .contains("\"embed\"")
        );
    }
    let res = form(first, SITE).await.unwrap();
    // The page may read the refusal and its delay.
    assert_eq!(res.headers()["access-control-allow-origin"], SITE);
    assert!(
        res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("Retry-After")
    );
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate_limited").await;
    // Another key (another site of the LAO) has its own quota …
    assert_eq!(form(second, SITE).await.unwrap().status(), 200);
    // … and refused requests count against it too: a site that is not allowed cannot make
    // the server look keys up without end.
    for _ in 0..2 {
        assert_eq!(
            form(second, "https://evil.example").await.unwrap().status(),
            403
        );
    }
    assert_eq!(
        form(second, "https://evil.example").await.unwrap().status(),
        429
    );
    // Inventing keys gains nothing: every request also counts as an anonymous one of its
    // address (10 a minute here; 8 used so far).
    let mut statuses = Vec::new();
    for n in 0..3 {
        let invented = format!("pk_invented{n:010}");
        statuses.push(form(&invented, SITE).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, vec![404, 404, 429]);
}

#[tokio::test]
async fn the_files_are_content_hashed_cached_and_the_pages_strict() {
    let (w, key, window) = form_world().await;
    // The loader stays at one address, cached briefly, and names the current files.
    let res = w.app.get("/embed/khongdee.js").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let loader = res.text().await.unwrap();
    let base = w.app.url("").trim_end_matches('/').to_string();
    let script_url = loader
        .split('\'')
        .find(|s| s.starts_with(&format!("{base}/embed/assets/form.")) && s.ends_with(".js"))
        .unwrap_or_else(|| panic!("no form script in {loader}"))
        .to_string();
    let css_url = loader
        .split('\'')
        .find(|s| s.ends_with(".css"))
        .unwrap()
        .to_string();
    let path = script_url.strip_prefix(&base).unwrap();

    // The hashed file: a year, immutable, gzipped when asked, 304 on its ETag.
    let res = w
        .app
        .get(path)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(h["content-encoding"], "gzip");
    let gzipped = res.bytes().await.unwrap().len();
    let etag = h["etag"].to_str().unwrap();
    let res = w
        .app
        .get(path)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let plain = w.app.get(path).send().await.unwrap().bytes().await.unwrap();
    assert!(gzipped * 2 < plain.len(), "{gzipped} of {}", plain.len());
    // The JavaScript needs no eval and no inline anything.
    let source = String::from_utf8(plain.to_vec()).unwrap();
    for banned in [
        "eval(",
        "new Function",
        "innerHTML",
        "document.cookie",
        "localStorage",
    ] {
        assert!(!source.contains(banned), "the form script uses {banned}");
    }
    // Another hash is not served: an old page gets a 404, never a file it did not ask for.
    assert_problem(
        w.app
            .get("/embed/assets/form.0000000000.js")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // The script path stays under 30 KB gzipped.
    let mut total = 0;
    for url in [
        "/embed/khongdee.js",
        path,
        css_url.strip_prefix(&base).unwrap(),
    ] {
        let res = w
            .app
            .get(url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        total += res.bytes().await.unwrap().len();
    }
    assert!(
        total < 30 * 1024,
        "the script path is {total} bytes gzipped"
    );
    eprintln!("the script path is {total} bytes gzipped (limit 30,720)");

    // The iframe page: the LAO's sites may frame it; scripts and styles from itself only.
    let res = w
        .app
        .get(&format!(
            "/embed/form?key={key}&window={}&lang=en",
            window["id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains(&format!("frame-ancestors {SITE}")), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert!(res.headers().get("x-frame-options").is_none());
    assert!(res.headers().get("set-cookie").is_none());
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!(r#"data-key="{key}""#)));
    assert!(page.contains(&format!(r#"data-window="{}""#, window["id"])));
    assert!(page.contains(r#"<html lang="en">"#));
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "nothing inline"
    );
    // Parameters a social network adds to a shared link are ignored.
    let res = w
        .app
        .get(&format!(
            "/embed/form?key={key}&lang=th&fbclid=IwAR0abc&utm_source=line"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A bad key or parameter is a problem, not a page.
    assert_problem(
        w.app
            .get("/embed/form?key=pk_unknownunknownunknown")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_problem(
        w.app
            .get(&format!("/embed/form?key={key}&lang=fr"))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_parameter",
    )
    .await;

    // The demo page shows the snippet to copy, escaped, and embeds it for real.
    let res = w
        .app
        .get(&format!("/embed/demo?key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!(
        r#"<script src="{base}/embed/khongdee.js" data-key="{key}" data-lang="th" async></script>"#
    )));
    assert!(page.contains("&lt;script src="));
    assert!(page.contains("&lt;iframe src="));
}

/// Why the browser test cannot run here, if it cannot: Node, the npm packages of
/// `tests/browser` (`npm ci --prefix tests/browser`) and Chromium (`apt-get install chromium`).
/// `.ci/run` installs all three; where Chromium cannot be installed it says so and sets
/// `KHONGDEE_NO_BROWSER`, and the test skips loudly instead of failing.
fn browser_missing() -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if let Ok(reason) = std::env::var("KHONGDEE_NO_BROWSER") {
        return Some(format!("KHONGDEE_NO_BROWSER: {reason}"));
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Some(
            "tests/browser/node_modules is missing: run `npm ci --prefix tests/browser`".into(),
        );
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).is_file() {
        return Some(format!(
            "{chromium} is missing: `apt-get install -y chromium fonts-thai-tlwg`"
        ));
    }
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("node cannot run".into()),
    }
}

/// The issue's acceptance run: a host page on one origin embeds the form served by the API on
/// another, a phone places an order (double click), sees the code and the QR; the API has one
/// order on the LAO-form channel; another origin is refused for the script and the iframe;
/// axe-core finds nothing serious. `UPDATE_SCREENSHOTS=1` writes the screenshots to
/// `docs/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_takes_an_order_in_a_real_browser() {
    let missing = browser_missing();
    let what = format!(
        "Chromium, Node and tests/browser's packages ({})",
        missing.as_deref().unwrap_or("all there")
    );
    let skip_allowed = std::env::var("KHONGDEE_NO_BROWSER").is_ok();
    let provider = if skip_allowed {
        Provider::SomeRuns
    } else {
        Provider::Ci
    };
    if !precondition(&what, missing.is_none(), provider) {
        return;
    }
    let (w, key, window) = form_world().await;
    // Limits per order and per buyer, so that the form has its longest texts to fit.
    let res = w
        .app
        .patch(&format!("/v1/windows/{}", window["id"]))
        .bearer_auth(&w.staff.token)
        .json(&json!({"max_items_per_order": 20, "max_units_per_buyer": 50}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().unwrap();
    let shots = if std::env::var("UPDATE_SCREENSHOTS").is_ok() {
        dir.join("docs/screenshots")
    } else {
        scratch.path().to_path_buf()
    };
    std::fs::create_dir_all(&shots).unwrap();
    let api = w.app.url("").trim_end_matches('/').to_string();
    let staff = w.staff.token.clone();
    let window_id = window["id"].to_string();
    let script = dir.join("tests/browser/embed_form.mjs");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .env("API", api)
            .env("KEY", key)
            .env("LAO", MAE_SOT)
            .env("WINDOW", window_id)
            .env("STAFF_TOKEN", staff)
            .env("SHOTS", shots)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser run failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    eprintln!("browser run: {result}");

    // One order, from the double click, on the LAO's form channel, the one the buyer saw.
    let code = result["order_code"].as_str().unwrap();
    let orders = result["orders"].as_array().unwrap();
    assert_eq!(
        orders.len(),
        1,
        "a double click places one order: {orders:?}"
    );
    assert_eq!(orders[0]["code"], code);
    assert_eq!(orders[0]["channel"], "embed");
    assert_eq!(orders[0]["total_satang"], 2 * 9000);
    let (_, order) = json(
        w.app
            .get(&format!("/v1/orders/{code}"))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(order["channel"], "embed", "{order}");
    // The QR is there with its amount, focus moved to the confirmation, the saved page works.
    assert!(result["qr_width"].as_i64().unwrap() > 100, "{result}");
    assert!(
        result["qr_alt"].as_str().unwrap().contains("180.00"),
        "{result}"
    );
    assert!(
        result["focus_on_heading"]
            .as_str()
            .unwrap()
            .contains("สั่งจองสำเร็จ"),
        "{result}"
    );
    assert!(result["saved_link"].as_str().unwrap().contains("#order="));
    assert_eq!(result["saved_code"], code);
    assert_eq!(result["english"], true);
    // The API's refusal of the email, beside the email field, in Thai (no order: see the count
    // after the lost answer below).
    let field_error = result["api_field_error"].as_str().unwrap();
    assert!(field_error.contains("อีเมล"), "{result}");
    assert!(
        khongdee::i18n::untranslated_words(field_error).is_empty(),
        "{field_error}"
    );
    // No text spills out of its box at phone width (under the quantity buttons, say).
    assert_eq!(result["phone_spilled"], json!([]), "{result}");
    // Nothing wider than a phone; no serious accessibility finding in any state.
    for overflow in [
        "phone_overflow_px",
        "confirmation_overflow_px",
        "desktop_overflow_px",
    ] {
        assert!(
            result[overflow].as_i64().unwrap() <= 0,
            "{overflow}: {result}"
        );
    }
    for state in [
        "axe_phone",
        "axe_confirmation",
        "axe_desktop",
        "axe_english",
    ] {
        assert_eq!(result[state], json!([]), "{state}: {result}");
    }
    // Under the host's strict CSP nothing was refused and nothing failed on the LAO's page.
    let console = result["console_allowed"].as_array().unwrap();
    assert!(console.is_empty(), "console on the LAO's page: {console:?}");
    // The iframe shows on the LAO's page, not elsewhere; the script elsewhere gets nothing.
    assert_eq!(result["iframe_allowed"], "shown");
    assert_eq!(result["iframe_other"], "refused", "{result}");
    assert_eq!(result["script_other"], "refused", "{result}");
    // … and the console tells the site's web person where to look.
    assert_eq!(result["script_other_hint"], true, "{result}");
    // A lost answer: the form locked the buyer's entries, the retry got the same order back
    // (typed in Thai digits, the phone still reached the server), and there are two orders in
    // all, the first buyer's and this one.
    assert_eq!(result["locked_after_loss"], true, "{result}");
    let after = result["orders_after_loss"].as_array().unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after
            .iter()
            .any(|o| o["code"] == result["lost_answer_code"]),
        "{result}"
    );
}

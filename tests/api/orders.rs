//! Orders: placement, buyer access, delivery, payment, the state machine, expiry, lists and CSV.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

async fn get_order(app: &TestApp, code: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.get(&format!("/v1/orders/{code}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (status, body) = json(req.send().await.unwrap()).await;
    (status.as_u16(), body)
}

async fn staff_post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, body) = json(
        app.post(path)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn an_anonymous_buyer_orders_and_follows_the_order() {
    let w = World::new().await;
    let win = window(&w, 100, json!({"payment_window_hours": 24})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 2}, {"variant_id": variant(&win, 1), "quantity": 3}]),
        "089 123 4567",
    );
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    let code = order["code"].as_str().unwrap();
    assert!(
        code.len() == 9 && !code.contains(['0', 'O', '1', 'I']),
        "{code}"
    );
    let secret = order["secret"].as_str().unwrap().to_string();
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["channel"], "embed");
    assert_eq!(order["units_total"], 13);
    assert_eq!(order["subtotal_satang"], 2 * 42500 + 3 * 9000);
    assert_eq!(order["delivery_fee_satang"], 0);
    assert_eq!(order["total_satang"], 112000);
    assert_eq!(order["buyer"]["phone"], "+66891234567");
    assert_eq!(order["payment"]["due_at"], at(24));
    assert_eq!(order["delivery"]["pickup_point"]["name"], "ที่ทำการ อบต.แม่ปะ");
    assert_eq!(order["next_statuses"], json!(["confirmed", "cancelled"]));

    // The secret opens everything; the phone a summary; nothing else opens anything.
    let (status, full) = get_order(&w.app, code, &[("X-Order-Secret", &secret)]).await;
    assert_eq!(status, 200);
    assert!(full.get("secret").is_none(), "the secret is shown once");
    let mut placed_view = order.clone();
    placed_view.as_object_mut().unwrap().remove("secret");
    assert_eq!(
        full, placed_view,
        "the placement answer is the order as stored"
    );
    assert_eq!(full["lines"].as_array().unwrap().len(), 2);
    let lower = code.to_lowercase().replace('-', "");
    assert_eq!(
        get_order(&w.app, &lower, &[("X-Order-Secret", &secret)])
            .await
            .0,
        200
    );
    let (status, short) = get_order(&w.app, code, &[("X-Buyer-Phone", "0891234567")]).await;
    assert_eq!(status, 200);
    assert_eq!(short["total_satang"], 112000);
    assert!(
        short.get("buyer").is_none() && short.get("delivery").is_none(),
        "{short}"
    );
    assert_eq!(
        get_order(&w.app, code, &[("X-Order-Secret", "wrong")])
            .await
            .0,
        404
    );
    assert_eq!(
        get_order(&w.app, code, &[("X-Buyer-Phone", "0800000000")])
            .await
            .0,
        404
    );
    assert_eq!(get_order(&w.app, code, &[]).await.0, 404);
    assert_eq!(
        get_order(&w.app, "ZZZZ-ZZZZ", &[("X-Order-Secret", &secret)])
            .await
            .0,
        404
    );

    let avail = availability(&w.app, win["id"].as_i64().unwrap()).await;
    assert_eq!(
        (avail["sold"].as_i64(), avail["available"].as_i64()),
        (Some(13), Some(87))
    );
    let placed = events(&w.app, "order.placed").await;
    assert_eq!(placed[0]["code"], code);
}

#[tokio::test]
async fn clients_never_send_prices_and_input_is_checked_by_field() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1, "price_satang": 1}]),
        "0891234567",
    );
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "lines[0].price_satang");
    assert_eq!(problem["errors"][0]["code"], "unknown_field");

    body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "123",
    );
    body["buyer"]["email"] = json!("nope");
    body["delivery"] = json!({"method": "carrier"});
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_fields(&problem), vec!["buyer.email", "buyer.phone"]);

    body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "0891234567",
    );
    body["delivery"] = json!({"method": "carrier"});
    let (_, problem) = place(&w.app, &body, None).await;
    assert_eq!(problem["errors"][0]["field"], "delivery.address");
    body["delivery"] = json!({"method": "pickup", "pickup_point_id": 999999});
    let (_, problem) = place(&w.app, &body, None).await;
    assert_eq!(problem["errors"][0]["field"], "delivery.pickup_point_id");
    assert_eq!(problem["errors"][0]["code"], "outside_window");
    let (status, problem) = place(&w.app, &json!({"lines": [], "buyer": {"name": "x", "phone": "0891234567"}, "delivery": {"method": "pickup"}}), None).await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&problem), vec!["lines"]);
}

#[tokio::test]
async fn carrier_addresses_are_checked_and_fees_computed_by_the_server() {
    let w = World::new().await;
    let flat = window(
        &w,
        100,
        json!({"delivery": {"fee_kind": "flat", "fee_satang": 6000}}),
    )
    .await;
    let per_unit = window(
        &w,
        100,
        json!({"delivery": {"fee_kind": "per_unit", "fee_satang": 1500}}),
    )
    .await;
    let pickup_only = window(&w, 100, json!({"delivery": null})).await;
    let address = |subdistrict: &str, postal: &str| json!({"method": "carrier", "address": {"recipient_name": "สมหญิง", "phone": "0891234567", "address_line": "99/1 ถนนพหลโยธิน", "subdistrict_code": subdistrict, "postal_code": postal}});
    let mut body = order_body(
        &flat,
        json!([{"variant_id": variant(&flat, 5), "quantity": 2}]),
        "0891234567",
    );
    body["delivery"] = address("100101", "10200");
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (
            order["delivery_fee_satang"].as_i64(),
            order["total_satang"].as_i64()
        ),
        (Some(6000), Some(91000))
    );
    assert_eq!(order["delivery"]["address"]["province_code"], "10");
    assert_eq!(order["delivery"]["address"]["phone"], "+66891234567");
    let secret = order["secret"].as_str().unwrap().to_string();
    let (_, stored) = get_order(
        &w.app,
        order["code"].as_str().unwrap(),
        &[("X-Order-Secret", &secret)],
    )
    .await;
    let mut placed_view = order.clone();
    placed_view.as_object_mut().unwrap().remove("secret");
    assert_eq!(
        stored, placed_view,
        "the placement answer is the order as stored"
    );

    let mut body = order_body(
        &per_unit,
        json!([{"variant_id": variant(&per_unit, 5), "quantity": 2}]),
        "0891234567",
    );
    body["delivery"] = address("100101", "10200");
    let (_, order) = place(&w.app, &body, None).await;
    assert_eq!(order["delivery_fee_satang"], 10 * 1500);

    body["delivery"] = address("100101", "63110");
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(status, 422);
    assert_eq!(
        problem["errors"][0]["field"],
        "delivery.address.postal_code"
    );
    assert_eq!(problem["errors"][0]["code"], "invalid_postal_code");
    body["delivery"] = address("999999", "10200");
    let (_, problem) = place(&w.app, &body, None).await;
    assert_eq!(
        problem["errors"][0]["field"],
        "delivery.address.subdistrict_code"
    );

    let mut body = order_body(
        &pickup_only,
        json!([{"variant_id": variant(&pickup_only, 1), "quantity": 1}]),
        "0891234567",
    );
    body["delivery"] = address("100101", "10200");
    let (_, problem) = place(&w.app, &body, None).await;
    assert_eq!(problem["errors"][0]["field"], "delivery.method");
    assert_eq!(problem["errors"][0]["code"], "not_offered");
}

#[tokio::test]
async fn a_hold_turns_into_an_order_once() {
    let w = World::new().await;
    let win = window(&w, 20, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, h) = hold(&w.app, id, variant(&win, 5), 2, Some("0891234567")).await;
    let hold_id = h["id"].as_str().unwrap();
    let body = json!({
        "hold_id": hold_id,
        "buyer": {"name": "สมหญิง", "phone": "089-123-4567"},
        "delivery": {"method": "pickup", "pickup_point_id": win["pickup_points"][0]["id"]},
    });
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["units_total"], 10);
    let (_, hold_now) = json(
        w.app
            .get(&format!("/v1/holds/{hold_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(hold_now["status"], "converted");
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (avail["held"].as_i64(), avail["sold"].as_i64()),
        (Some(0), Some(10))
    );
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "hold_not_active")
    );

    // A hold made for one phone number converts only for that buyer.
    let (_, other) = hold(&w.app, id, variant(&win, 1), 1, Some("0891234567")).await;
    let mut body = body.clone();
    body["hold_id"] = other["id"].clone();
    body["buyer"]["phone"] = json!("0800000000");
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "buyer.phone");

    // An expired hold cannot be ordered with.
    w.app.clock.advance(Duration::minutes(11));
    body["buyer"]["phone"] = json!("0891234567");
    let (status, problem) = place(&w.app, &body, None).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (410, "hold_expired")
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn orders_count_toward_the_buyer_limit_and_capacity() {
    let w = World::new().await;
    let win = window(&w, 12, json!({"max_units_per_buyer": 10})).await;
    let unit = variant(&win, 1);
    let (status, _) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 8}]),
            "0891234567",
        ),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let (status, problem) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 3}]),
            "+66 89 123 4567",
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "buyer_limit")
    );
    assert_eq!(problem["remaining"], 2);
    let (status, problem) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 5}]),
            "0800000000",
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "insufficient_capacity")
    );
    assert_eq!(problem["available"], 4);
    // In Thai, the unit is named in Thai.
    let (_, problem) = json(
        w.app
            .post("/v1/orders")
            .header("Accept-Language", "th")
            .json(&order_body(
                &win,
                json!([{"variant_id": unit, "quantity": 5}]),
                "0800000000",
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(problem["detail"], "เหลือเพียง 4 กิโลกรัม", "{problem}");
}

#[tokio::test]
async fn the_state_machine_checks_every_move_and_keeps_history() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, order) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": variant(&win, 5), "quantity": 2}]),
            "0891234567",
        ),
        None,
    )
    .await;
    let code = order["code"].as_str().unwrap().to_string();
    let pay = |token: String| {
        let app = &w.app;
        let path = format!("/v1/orders/{code}/payment");
        async move {
            staff_post(
                app,
                &token,
                &path,
                json!({"reference": "KBank 14:32 ref 0123"}),
            )
            .await
        }
    };
    // Another LAO's staff may not act on it; nor may an officer of the area, who may only look.
    let (status, problem) = pay(w.other_lao_staff.token.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (403, "forbidden")
    );
    let (status, problem) = pay(w.district_officer.token.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (403, "forbidden")
    );
    let (status, paid) = pay(w.producer.token.clone()).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "confirmed");
    assert_eq!(paid["payment"]["reference"], "KBank 14:32 ref 0123");
    let (status, problem) = pay(w.staff.token.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "invalid_transition")
    );

    let transition = |to: &'static str| {
        let app = &w.app;
        let token = w.staff.token.clone();
        let path = format!("/v1/orders/{code}/transitions");
        async move { staff_post(app, &token, &path, json!({"to": to, "note": "ทดสอบ"})).await }
    };
    let (status, problem) = transition("shipped").await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "invalid_transition")
    );
    assert_eq!(problem["allowed"], json!(["ready", "refunded"]));
    // In Thai, the states and the move are named in Thai too.
    let (_, problem) = json(
        w.app
            .post(&format!("/v1/orders/{code}/transitions"))
            .bearer_auth(&w.staff.token)
            .header("Accept-Language", "th")
            .json(&json!({"to": "shipped"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        problem["detail"], "รายการในสถานะ “ชำระเงินแล้ว” ไม่สามารถเปลี่ยนเป็น “ส่งพัสดุแล้ว”ได้",
        "{problem}"
    );
    // Another LAO's staff may neither move nor cancel it, whatever the move.
    for (path, body) in [
        (
            format!("/v1/orders/{code}/transitions"),
            json!({"to": "ready"}),
        ),
        (format!("/v1/orders/{code}/cancel"), json!({})),
    ] {
        let (status, problem) = staff_post(&w.app, &w.other_lao_staff.token, &path, body).await;
        assert_eq!(
            (status, problem["code"].as_str().unwrap()),
            (403, "forbidden"),
            "{path}"
        );
    }
    assert_eq!(transition("ready").await.0, 200);
    let (status, problem) = transition("shipped").await;
    assert_eq!(status, 409, "a pickup order is not shipped: {problem}");
    assert_eq!(transition("handed_over").await.0, 200);
    let (status, done) = transition("picked_up").await;
    assert_eq!(status, 200);
    assert_eq!(done["next_statuses"], json!(["refunded"]));

    let (_, history) = json(
        w.app
            .get(&format!("/v1/orders/{code}/history"))
            .bearer_auth(&w.district_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let steps: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["to_status"].as_str().unwrap(),
                h["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps[0], ("pending_payment", "buyer:+66891234567"));
    assert_eq!(steps[1].0, "confirmed");
    assert!(
        steps[1].1.starts_with("user:"),
        "the producer's account: {steps:?}"
    );
    assert_eq!(
        steps.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![
            "pending_payment",
            "confirmed",
            "ready",
            "handed_over",
            "picked_up"
        ]
    );
    let kinds: Vec<String> = events(&w.app, "order.confirmed")
        .await
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, vec![code.clone()]);
    // Goods have gone: a refund gives no capacity back, but reverses the sale.
    assert_eq!(transition("refunded").await.0, 200);
    let avail = availability(&w.app, id).await;
    assert_eq!(avail["sold"], 10);
    let facts: Vec<(String, i64)> = w
        .app
        .state
        .db(|conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::sale_facts as f;
            Ok(f::table
                .order(f::id)
                .select((f::kind, f::revenue_satang))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(
        facts,
        vec![
            ("sale".to_string(), 85000),
            ("reversal".to_string(), -85000)
        ]
    );
}

#[tokio::test]
async fn cancelling_and_refunding_before_dispatch_give_the_units_back() {
    let w = World::new().await;
    let win = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (_, a) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 4}]),
            "0810000001",
        ),
        None,
    )
    .await;
    let (_, b) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 6}]),
            "0810000002",
        ),
        None,
    )
    .await;
    assert_eq!(availability(&w.app, id).await["status"], "sold_out");
    // Someone waits.
    let (status, waiting) = json(
        w.app.post(&format!("/v1/windows/{id}/waitlist"))
            .json(&json!({"variant_id": unit, "quantity": 3, "buyer_name": "รอคิว", "buyer_phone": "0810000003"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{waiting}");

    // The buyer cancels with the secret: 4 units back, 3 of them offered to the waiting buyer.
    let res = w
        .app
        .post(&format!(
            "/v1/orders/{}/cancel",
            a["code"].as_str().unwrap()
        ))
        .header("X-Order-Secret", a["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let (status, cancelled) = json(res).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (_, entry) = json(
        w.app
            .get(&format!("/v1/waitlist/{}", waiting["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(entry["status"], "offered");
    let res = w
        .app
        .post(&format!(
            "/v1/orders/{}/cancel",
            a["code"].as_str().unwrap()
        ))
        .header("X-Order-Secret", a["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;

    // B pays; a paid order is refunded by staff (not cancelled by the buyer): its 6 units come back.
    let code_b = b["code"].as_str().unwrap();
    let res = w
        .app
        .post(&format!("/v1/orders/{code_b}/cancel"))
        .header("X-Order-Secret", b["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "unpaid: the buyer may cancel");
    let (_, c) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 1}]),
            "0810000004",
        ),
        None,
    )
    .await;
    let code_c = c["code"].as_str().unwrap();
    assert_eq!(
        staff_post(
            &w.app,
            &w.staff.token,
            &format!("/v1/orders/{code_c}/payment"),
            json!({"reference": "x"})
        )
        .await
        .0,
        200
    );
    let res = w
        .app
        .post(&format!("/v1/orders/{code_c}/cancel"))
        .header("X-Order-Secret", c["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
    let before = availability(&w.app, id).await["sold"].as_i64().unwrap();
    assert_eq!(
        staff_post(
            &w.app,
            &w.staff.token,
            &format!("/v1/orders/{code_c}/transitions"),
            json!({"to": "refunded"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        availability(&w.app, id).await["sold"].as_i64().unwrap(),
        before - 1
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));

    // With open orders a window is not cancelled.
    place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 1}]),
            "0810000005",
        ),
        None,
    )
    .await;
    let (status, problem) = staff_post(
        &w.app,
        &w.staff.token,
        &format!("/v1/windows/{id}/actions"),
        json!({"action": "cancel"}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "invalid_transition")
    );
    assert_eq!(problem["open_orders"], 1);
}

#[tokio::test]
async fn unpaid_orders_expire_and_release_their_units() {
    let w = World::new().await;
    let win = window(&w, 10, json!({"payment_window_hours": 2})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, order) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": variant(&win, 1), "quantity": 10}]),
            "0891234567",
        ),
        None,
    )
    .await;
    let code = order["code"].as_str().unwrap().to_string();
    let secret = order["secret"].as_str().unwrap().to_string();
    assert_eq!(availability(&w.app, id).await["available"], 0);

    w.app.clock.advance(Duration::hours(2));
    // Reads already see it expired and its units free.
    assert_eq!(
        get_order(&w.app, &code, &[("X-Order-Secret", &secret)])
            .await
            .1["status"],
        "expired"
    );
    assert_eq!(availability(&w.app, id).await["available"], 10);
    // Paying now is too late.
    let staff = w.app.login("maesot.staff").await;
    let (status, problem) = staff_post(
        &w.app,
        &staff.token,
        &format!("/v1/orders/{code}/payment"),
        json!({"reference": "late"}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str().unwrap()),
        (409, "invalid_transition")
    );
    let state = w.app.state.clone();
    tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap();
    let (_, history) = json(
        w.app
            .get(&format!("/v1/orders/{code}/history"))
            .header("X-Order-Secret", &secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["actor"],
        "system"
    );
    assert_eq!(events(&w.app, "order.expired").await.len(), 1);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn promptpay_payment_for_the_producer() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let (_, order) = place(&w.app, &order_body(&win, json!([{"variant_id": variant(&win, 5), "quantity": 2}, {"variant_id": variant(&win, 1), "quantity": 1}]), "0891234567"), None).await;
    let code = order["code"].as_str().unwrap();
    let secret = order["secret"].as_str().unwrap();
    let (status, pay) = json(
        w.app
            .get(&format!("/v1/orders/{code}/payment"))
            .header("X-Order-Secret", secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{pay}");
    assert_eq!(pay["amount_satang"], 94000);
    assert_eq!(pay["promptpay_id_masked"], "xxx-xxx-5678");
    let payload = pay["promptpay_payload"].as_str().unwrap();
    let parsed =
        khongdee::promptpay::parse_payload(payload).expect("a valid EMVCo payload with its CRC");
    assert_eq!(parsed.amount_satang, Some(94000));
    assert_eq!(
        parsed.reference.as_deref(),
        Some(code),
        "the order code rides along as the reference label"
    );
    assert!(payload.contains("5406940.00"), "{payload}");
    assert!(
        payload.contains("01130066812345678"),
        "the producer's mobile: {payload}"
    );

    let res = w
        .app
        .get(&format!("/v1/orders/{code}/payment/qr.svg"))
        .header("X-Order-Secret", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().starts_with("<svg"));
    let res = w
        .app
        .get(&format!("/v1/orders/{code}/payment/qr.png"))
        .header("X-Order-Secret", secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(&res.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        w.app
            .get(&format!("/v1/orders/{code}/payment"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A producer without PromptPay: the order stands, the QR does not.
    w.app
        .state
        .db(|conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::producers as p;
            diesel::update(p::table)
                .set(p::promptpay_id.eq(None::<String>))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let res = w
        .app
        .get(&format!("/v1/orders/{code}/payment"))
        .header("X-Order-Secret", secret)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "promptpay_not_available").await;
}

/// A producer who sees a PromptPay transfer finds the order it pays by amount and time.
#[tokio::test]
async fn a_transfer_is_matched_to_the_orders_it_can_pay() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let box5 = json!([{"variant_id": variant(&win, 5), "quantity": 1}]);
    let (_, first) = place(&w.app, &order_body(&win, box5.clone(), "0811111111"), None).await;
    w.app.clock.advance(Duration::minutes(30));
    let (_, second) = place(&w.app, &order_body(&win, box5.clone(), "0822222222"), None).await;
    let (_, other) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
            "0833333333",
        ),
        None,
    )
    .await;
    let app = &w.app;
    // Tokens last 15 minutes and the clock moved: sign in again.
    let (producer_id, token) = (w.producer_id, app.login("world.farmer").await.token);
    let staff = app.login("maesot.staff").await;
    let matches = |at: String| {
        let path = format!(
            "/v1/producers/{producer_id}/transfer-matches?amount_satang=42500&received_at={}",
            at.replace('+', "%2B")
        );
        let token = token.clone();
        async move {
            let (status, body) =
                json(app.get(&path).bearer_auth(&token).send().await.unwrap()).await;
            assert_eq!(status, 200, "{body}");
            body.as_array()
                .unwrap()
                .iter()
                .map(|o| o["code"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let code = |o: &Value| o["code"].as_str().unwrap().to_string();
    // After both were placed: both, oldest first; the ฿90 order never.
    assert_eq!(matches(at(1)).await, vec![code(&first), code(&second)]);
    // Ten minutes after the first: only the first could have been paid.
    assert_eq!(
        matches(at(0).replace("09:00:00", "09:10:00")).await,
        vec![code(&first)]
    );
    // A paid order is no longer open.
    let res = w
        .app
        .post(&format!("/v1/orders/{}/payment", code(&first)))
        .bearer_auth(&staff.token)
        .json(&json!({"reference": "KBank 14:32"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(matches(at(1)).await, vec![code(&second)]);
    assert!(!matches(at(1)).await.contains(&code(&other)));
}

#[tokio::test]
async fn partners_staff_and_forms_are_told_apart() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "0891234567",
    );
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.partner.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_required").await;
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.partner.token)
        .header("Idempotency-Key", "3c1a9a4e-partner-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, order) = json(res).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["channel"], "partner");
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.staff.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await.1["channel"], "staff");
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.other_lao_staff.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&w.district_officer.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let writer_only = w.app.partner("เขียนอย่างเดียว", &["holds:write"], &[]).await;
    let res = w
        .app
        .post("/v1/orders")
        .bearer_auth(&writer_only.token)
        .header("Idempotency-Key", "k-2")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "insufficient_scope").await;

    // The partner reads what it placed, and only that.
    let (_, listed) = json(
        w.app
            .get("/v1/orders")
            .bearer_auth(&w.partner.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let codes: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec![order["code"].as_str().unwrap()]);
    let (status, _) = get_order(
        &w.app,
        order["code"].as_str().unwrap(),
        &[("Authorization", &w.partner.bearer())],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn staff_list_orders_by_filter_newest_first() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let unit = variant(&win, 1);
    let mut codes = Vec::new();
    for i in 0..5 {
        let (_, o) = place(
            &w.app,
            &order_body(
                &win,
                json!([{"variant_id": unit, "quantity": 1}]),
                &format!("081000000{i}"),
            ),
            None,
        )
        .await;
        codes.push(o["code"].as_str().unwrap().to_string());
    }
    let list = |token: String, query: String| {
        let app = &w.app;
        async move {
            let (status, body) = json(
                app.get(&format!("/v1/orders{query}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let first = list(w.staff.token.clone(), "?limit=3".into()).await;
    let page1: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        page1,
        vec![codes[4].as_str(), codes[3].as_str(), codes[2].as_str()]
    );
    // Each listed order is the same as the order read on its own (the list assembles its pages
    // in a few batched queries).
    for item in first["items"].as_array().unwrap() {
        let (status, alone) = get_order(
            &w.app,
            item["code"].as_str().unwrap(),
            &[("Authorization", &w.staff.bearer())],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(&alone, item);
    }
    let second = list(
        w.staff.token.clone(),
        format!("?limit=3&cursor={}", first["next_cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_cursor"].is_null());
    assert_eq!(
        list(w.producer.token.clone(), String::new()).await["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        list(
            w.province_officer.token.clone(),
            "?status=pending_payment".into()
        )
        .await["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(
        list(w.other_lao_staff.token.clone(), String::new()).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        list(w.staff.token.clone(), "?status=confirmed".into()).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        list(
            w.admin.token.clone(),
            format!("?window_id={}&from=2026-06-01&to=2026-06-01", win["id"])
        )
        .await["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(
        list(w.admin.token.clone(), "?from=2026-06-02".into()).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_packing_list_is_a_thai_csv() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let (_, order) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": variant(&win, 5), "quantity": 2}]),
            "0891234567",
        ),
        None,
    )
    .await;
    let (_, cancelled) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
            "0800000000",
        ),
        None,
    )
    .await;
    w.app
        .post(&format!(
            "/v1/orders/{}/cancel",
            cancelled["code"].as_str().unwrap()
        ))
        .header("X-Order-Secret", cancelled["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let res = w
        .app
        .get(&format!("/v1/windows/{}/orders.csv", win["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = res.bytes().await.unwrap();
    assert_eq!(
        &bytes[..3],
        b"\xef\xbb\xbf",
        "a UTF-8 byte-order mark for Excel"
    );
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "รหัสคำสั่งซื้อ");
    assert_eq!(&headers[2], "ชื่อผู้ซื้อ");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "cancelled orders are not packed");
    assert_eq!(&rows[0][0], order["code"].as_str().unwrap());
    assert_eq!(&rows[0][1], "รอชำระเงิน");
    assert_eq!(&rows[0][7], "กล่อง 5 กก. × 2");
    assert_eq!(&rows[0][12], "850.00");
    let res = w
        .app
        .get(&format!("/v1/windows/{}/orders.csv?all=true", win["id"]))
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 3);
    let res = w
        .app
        .get(&format!("/v1/windows/{}/orders.csv", win["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

/// Text a spreadsheet would evaluate reaches no CSV as a formula; numbers the server writes stay
/// numbers; phones are in the Thai national form.
#[tokio::test]
async fn the_packing_list_never_carries_a_formula() {
    let w = World::new().await;
    let win = window(
        &w,
        100,
        json!({"delivery": {"fee_kind": "flat", "fee_satang": 6000}}),
    )
    .await;
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "+66891234567",
    );
    body["buyer"]["name"] = json!("=HYPERLINK(\"http://evil.example\",\"คลิก\")");
    body["note"] = json!("@SUM(1+1)");
    body["delivery"] = json!({"method": "carrier", "address": {
        "recipient_name": "+ผู้รับ", "phone": "02 123 4567", "address_line": "-99/1 ถนนพหลโยธิน",
        "subdistrict_code": "630601", "postal_code": "63110"}});
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    let res = w
        .app
        .get(&format!("/v1/windows/{}/orders.csv", win["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = &rows[0];
    for cell in row.iter() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell a spreadsheet would evaluate: {cell:?} in {row:?}"
        );
    }
    assert_eq!(&row[2], "'=HYPERLINK(\"http://evil.example\",\"คลิก\")");
    assert_eq!(&row[14], "'@SUM(1+1)");
    assert_eq!(&row[3], "089-123-4567", "the national form, not +66…");
    assert!(
        row[6].starts_with("'+ผู้รับ") && row[6].contains("02-123-4567"),
        "{:?}",
        &row[6]
    );
    assert!(
        row[6].ends_with("-99/1 ถนนพหลโยธิน ต.แม่สอด อ.แม่สอด จ.ตาก 63110"),
        "the area by its Thai names: {:?}",
        &row[6]
    );
    let address = &order["delivery"]["address"];
    assert_eq!(
        (
            address["subdistrict_name_th"].as_str(),
            address["district_name_th"].as_str(),
            address["province_name_th"].as_str()
        ),
        (Some("แม่สอด"), Some("แม่สอด"), Some("ตาก")),
        "{address}"
    );
    assert_eq!(&row[10], "90.00");
    assert_eq!(&row[11], "60.00");
    assert_eq!(&row[12], "150.00", "amounts stay numbers");
    assert!(
        !text.contains("\"150.00\""),
        "numbers are not quoted: {text}"
    );
}

#[tokio::test]
async fn lapsed_holds_and_unpaid_orders_make_room_for_the_next_order() {
    let w = World::new().await;
    let win = window(&w, 10, json!({"payment_window_hours": 1})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (status, _) = hold(&w.app, id, unit, 4, None).await;
    assert_eq!(status, 201);
    let (status, unpaid) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": unit, "quantity": 6}]),
            "0891234567",
        ),
        None,
    )
    .await;
    assert_eq!(status, 201, "{unpaid}");
    let ten = order_body(
        &win,
        json!([{"variant_id": unit, "quantity": 10}]),
        "0812345678",
    );
    let (status, problem) = place(&w.app, &ten, None).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("sold_out")));

    // An hour on, the hold and the unpaid order have lapsed: their 10 units sell at once, with no
    // background task in between.
    w.app.clock.advance(Duration::minutes(61));
    let (status, order) = place(&w.app, &ten, None).await;
    assert_eq!(status, 201, "{order}");
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (
            avail["held"].as_i64(),
            avail["sold"].as_i64(),
            avail["available"].as_i64()
        ),
        (Some(0), Some(10), Some(0))
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));

    // A closed window refuses with its reason, however much room it has.
    let res = w
        .app
        .post(&format!(
            "/v1/orders/{}/cancel",
            order["code"].as_str().unwrap()
        ))
        .header("X-Order-Secret", order["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    w.app.clock.advance(Duration::days(8));
    let (status, problem) = place(&w.app, &ten, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("window_closed")),
        "{problem}"
    );
}

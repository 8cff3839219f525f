//! Pre-order windows: opening and closing by time, limits, holds and their expiry, waiting-list
//! offers, capacity changes, harvest changes and reconciliation.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

#[tokio::test]
async fn windows_open_and_close_by_the_clock() {
    let w = World::new().await;
    let win = window(&w, 100, json!({"opens_at": at(24), "closes_at": at(48)})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    assert_eq!(win["status"], "scheduled");
    assert_eq!(win["status_th"], "รอเปิดรับจอง");

    let (status, body) = hold(&w.app, id, unit, 1, None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["type"], "/problems/window_not_open");
    // People read the date; programs read `opens_at`.
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("2 Jun 2026, 09:00"),
        "{body}"
    );
    assert_eq!(body["opens_at"], "2026-06-02T09:00:00+07:00");

    w.app.clock.advance(Duration::hours(24));
    let (status, body) = hold(&w.app, id, unit, 1, None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(availability(&w.app, id).await["status"], "open");

    w.app.clock.advance(Duration::hours(24));
    let (status, body) = hold(&w.app, id, unit, 1, None).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "window_closed");
    assert_eq!(availability(&w.app, id).await["status"], "closed");
    // Extending a hold of a closed window is refused too.
    let (_, listed) = json(w.app.get("/v1/windows?status=closed").send().await.unwrap()).await;
    assert_eq!(listed["items"][0]["id"], id);
}

#[tokio::test]
async fn drafts_are_private_until_published() {
    let w = World::new().await;
    let draft = window(&w, 10, json!({"publish": false})).await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    assert_problem(
        w.app
            .get(&format!("/v1/windows/{id}"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let (status, body) = hold(&w.app, id, variant(&draft, 1), 1, None).await;
    assert_eq!(status, 404, "{body}");
    let res = w
        .app
        .get(&format!("/v1/windows/{id}"))
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "officers of the area see drafts");
    let (_, mine) = json(
        w.app
            .get("/v1/windows?include_drafts=true")
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, theirs) = json(
        w.app
            .get("/v1/windows?include_drafts=true")
            .bearer_auth(&w.other_lao_staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(theirs["items"].as_array().unwrap().is_empty());

    let publish = |token: String| {
        let app = &w.app;
        async move {
            app.post(&format!("/v1/windows/{id}/actions"))
                .bearer_auth(token)
                .json(&json!({"action": "publish"}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(
        publish(w.other_lao_staff.token.clone()).await,
        404,
        "not_found",
    )
    .await;
    let (status, published) = json(publish(w.staff.token.clone()).await).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "open");
    let body = assert_problem(
        publish(w.staff.token.clone()).await,
        409,
        "invalid_transition",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("open"), "{body}");
    let (_, body) = json(
        w.app
            .post(&format!("/v1/windows/{id}/actions"))
            .bearer_auth(&w.staff.token)
            .header("Accept-Language", "th")
            .json(&json!({"action": "publish"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        body["detail"], "รายการในสถานะ “เปิดรับจอง” ไม่สามารถเผยแพร่รอบจองได้",
        "{body}"
    );
    assert_eq!(
        w.app
            .get(&format!("/v1/windows/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let published_events = events(&w.app, "window.published").await;
    assert_eq!(published_events.len(), 1);
    assert_eq!(published_events[0]["window_id"], id);
}

#[tokio::test]
async fn per_order_limits_and_unknown_variants_have_their_own_types() {
    let w = World::new().await;
    let win = window(
        &w,
        100,
        json!({"min_items_per_order": 2, "max_items_per_order": 5}),
    )
    .await;
    let other = window(&w, 100, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);

    let (status, body) = hold(&w.app, id, unit, 1, None).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "order_limit")
    );
    assert_eq!(
        body["detail"],
        "An order from this window takes 2 to 5 items."
    );
    assert_eq!(body["min_items"], 2);
    let (status, body) = hold(&w.app, id, unit, 6, None).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (422, "order_limit")
    );
    let (status, _) = hold(&w.app, id, unit, 5, None).await;
    assert_eq!(status, 201);

    // A variant of another window.
    let (status, body) = hold(&w.app, id, variant(&other, 1), 2, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "unknown_variant");
    assert_eq!(body["errors"][0]["field"], "lines[0].variant_id");
    // Asking for the same variant twice.
    let res = w
        .app
        .post(&format!("/v1/windows/{id}/holds"))
        .json(&json!({"lines": [{"variant_id": unit, "quantity": 1}, {"variant_id": unit, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "lines[1].variant_id");
}

#[tokio::test]
async fn one_buyer_may_take_only_so_much() {
    let w = World::new().await;
    let win = window(&w, 100, json!({"max_units_per_buyer": 10})).await;
    let id = win["id"].as_i64().unwrap();
    let box5 = variant(&win, 5);
    let (status, body) = hold(&w.app, id, box5, 1, None).await;
    assert_eq!(
        status, 422,
        "a phone is needed when a buyer limit is set: {body}"
    );
    assert_eq!(body["errors"][0]["field"], "buyer_phone");
    assert_eq!(hold(&w.app, id, box5, 1, Some("081 234 5678")).await.0, 201);
    // The same number written another way is the same buyer.
    assert_eq!(hold(&w.app, id, box5, 1, Some("+66812345678")).await.0, 201);
    let (status, body) = hold(&w.app, id, box5, 1, Some("0812345678")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "buyer_limit");
    assert_eq!(body["remaining"], 0);
    assert_eq!(
        hold(&w.app, id, box5, 2, Some("0891234567")).await.0,
        201,
        "another buyer"
    );
}

#[tokio::test]
async fn sold_out_and_insufficient_capacity_are_told_apart() {
    let w = World::new().await;
    let win = window(&w, 12, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    assert_eq!(hold(&w.app, id, variant(&win, 5), 2, None).await.0, 201);
    let (status, body) = hold(&w.app, id, variant(&win, 5), 1, None).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "insufficient_capacity");
    assert_eq!(body["available"], 2);
    assert_eq!(body["detail"], "Only 2 kg are left.");
    let avail = availability(&w.app, id).await;
    assert_eq!(avail["available"], 2);
    let items: Vec<i64> = avail["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["items_available"].as_i64().unwrap())
        .collect();
    assert_eq!(items, vec![2, 0]);
    assert_eq!(hold(&w.app, id, variant(&win, 1), 2, None).await.0, 201);
    let (status, body) = hold(&w.app, id, variant(&win, 1), 1, None).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (409, "sold_out"));
    assert_eq!(availability(&w.app, id).await["status"], "sold_out");
}

#[tokio::test]
async fn expired_holds_free_their_units_without_the_background_task() {
    let w = World::new().await;
    let win = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (_, first) = hold(&w.app, id, unit, 10, None).await;
    assert_eq!(first["expires_at"], at(0).replace("T09:00:00", "T09:10:00"));
    assert_eq!(hold(&w.app, id, unit, 1, None).await.1["code"], "sold_out");

    w.app.clock.advance(Duration::minutes(11));
    // Reads already count the lapsed hold out, before anything is written.
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (avail["held"].as_i64(), avail["available"].as_i64()),
        (Some(0), Some(10))
    );
    let (_, seen) = json(
        w.app
            .get(&format!("/v1/holds/{}", first["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(seen["status"], "expired");
    // The next hold expires it inside its own transaction, then takes the units.
    let (status, body) = hold(&w.app, id, unit, 10, None).await;
    assert_eq!(status, 201, "{body}");
    let (_, ledger) = json(
        w.app
            .get(&format!("/v1/windows/{id}/ledger"))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let kinds: Vec<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["capacity_change", "hold", "hold_expiry", "hold"]
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn the_background_task_expires_holds_too() {
    let w = World::new().await;
    let win = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, h) = hold(&w.app, id, variant(&win, 1), 4, None).await;
    let state = w.app.state.clone();
    assert_eq!(
        tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
            .await
            .unwrap()
            .unwrap()
            .windows,
        0
    );

    w.app.clock.advance(Duration::minutes(10));
    let state = w.app.state.clone();
    let processed = tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(processed.windows, 1);
    let (_, win_now) = json(
        w.app
            .get(&format!("/v1/windows/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (win_now["held"].as_i64(), win_now["available"].as_i64()),
        (Some(0), Some(10))
    );
    let hold_id = h["id"].as_str().unwrap().to_string();
    let status: String = w
        .app
        .state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::holds;
            Ok(holds::table
                .filter(holds::public_id.eq(&hold_id))
                .select(holds::status)
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(status, "expired", "written by the task, not just computed");
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

/// One window that cannot be expired (here a fault injected by a trigger) is logged and counted;
/// the pass goes on with the others, on every tick.
#[tokio::test]
async fn one_failing_window_does_not_stop_the_background_pass() {
    use diesel::RunQueryDsl;
    let w = World::new().await;
    let broken_win = window(&w, 10, json!({})).await;
    let broken = broken_win["id"].as_i64().unwrap();
    let healthy = window(&w, 10, json!({})).await;
    let healthy_id = healthy["id"].as_i64().unwrap();
    assert!(
        broken < healthy_id,
        "the broken window comes first in the pass"
    );
    hold(&w.app, broken, variant(&broken_win, 1), 2, None).await;
    hold(&w.app, healthy_id, variant(&healthy, 1), 3, None).await;
    let fault = if w.app.db.is_postgres() {
        vec![
            "CREATE FUNCTION injected_fault() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql".to_string(),
            format!("CREATE TRIGGER injected_fault BEFORE UPDATE ON holds FOR EACH ROW WHEN (OLD.window_id = {broken}) EXECUTE FUNCTION injected_fault()"),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER injected_fault BEFORE UPDATE ON holds WHEN OLD.window_id = {broken} BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        )]
    };
    w.app
        .state
        .db(move |conn| {
            for statement in fault {
                diesel::sql_query(statement).execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    w.app.clock.advance(Duration::minutes(11));
    for tick in 1..=2 {
        let state = w.app.state.clone();
        let pass = tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
            .await
            .unwrap()
            .expect("the pass itself goes through");
        assert_eq!(pass.failed, 1, "tick {tick}: the broken window");
        assert_eq!(
            pass.windows,
            usize::from(tick == 1),
            "tick {tick}: the healthy one, once"
        );
        let metrics = w
            .app
            .get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            metric_value(
                &metrics,
                "khongdee_background_failures_total",
                &[("task", "expire_window")]
            ),
            f64::from(tick),
        );
    }
    // The healthy window's hold was expired (written, not only read as expired).
    let state = w.app.state.clone();
    let written: i64 = state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::preorder_windows as pw;
            Ok(pw::table.find(healthy_id).select(pw::held).first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn holds_extend_a_limited_number_of_times_and_release_idempotently() {
    let w = World::new().await;
    let win = window(&w, 10, json!({"hold_minutes": 5})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, h) = hold(&w.app, id, variant(&win, 1), 3, None).await;
    let hold_id = h["id"].as_str().unwrap().to_string();
    assert!(hold_id.starts_with("hld_") && hold_id.len() > 20);
    let extend = || {
        let app = &w.app;
        let path = format!("/v1/holds/{hold_id}/extend");
        async move { json(app.post(&path).send().await.unwrap()).await }
    };
    w.app.clock.advance(Duration::minutes(4));
    let (status, extended) = extend().await;
    assert_eq!(status, 200, "{extended}");
    assert_eq!(extended["extensions_left"], 1);
    assert_eq!(
        extended["expires_at"],
        at(0).replace("T09:00:00", "T09:09:00")
    );
    assert_eq!(extend().await.0, 200);
    let (status, body) = extend().await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str().unwrap()),
        (409, "extension_limit")
    );

    w.app.clock.advance(Duration::minutes(10));
    let (status, body) = extend().await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str().unwrap()),
        (410, "hold_expired")
    );

    let (_, h2) = hold(&w.app, id, variant(&win, 1), 2, None).await;
    let path = format!("/v1/holds/{}", h2["id"].as_str().unwrap());
    let (status, released) = json(w.app.delete(&path).send().await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), released["status"].as_str().unwrap()),
        (200, "released")
    );
    let (status, again) = json(w.app.delete(&path).send().await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), again["status"].as_str().unwrap()),
        (200, "released")
    );
    assert_eq!(availability(&w.app, id).await["available"], 10);
    assert_problem(
        w.app.get("/v1/holds/hld_nope").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

async fn join(
    app: &TestApp,
    window_id: i64,
    variant_id: i64,
    quantity: i64,
    phone: &str,
) -> (u16, Value) {
    let (status, body) = json(
        app.post(&format!("/v1/windows/{window_id}/waitlist"))
            .json(&json!({"variant_id": variant_id, "quantity": quantity, "buyer_name": "ผู้ซื้อ", "buyer_phone": phone}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

async fn entry(app: &TestApp, entry: &Value) -> Value {
    json(
        app.get(&format!("/v1/waitlist/{}", entry["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
    )
    .await
    .1
}

#[tokio::test]
async fn waiting_list_entries_are_offered_freed_units_in_order() {
    let w = World::new().await;
    let win = window(&w, 10, json!({"waitlist_offer_minutes": 30})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (_, all) = hold(&w.app, id, unit, 10, None).await;

    let (status, a) = join(&w.app, id, unit, 3, "0810000001").await;
    assert_eq!(status, 201, "{a}");
    let (_, b) = join(&w.app, id, unit, 8, "0810000002").await;
    let (_, c) = join(&w.app, id, unit, 2, "0810000003").await;
    let (_, d) = join(&w.app, id, unit, 1, "0810000004").await;
    assert_eq!(entry(&w.app, &d).await["position"], 4);
    assert_eq!(
        join(&w.app, id, unit, 1, "0810000001").await.0,
        409,
        "one live entry per buyer"
    );

    // The big hold is released: 10 units come back. A (3) fits, B (8) does not, C (2) and D (1) do.
    w.app
        .delete(&format!("/v1/holds/{}", all["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let statuses: Vec<String> =
        futures_util::future::join_all([&a, &b, &c, &d].map(|e| entry(&w.app, e)))
            .await
            .into_iter()
            .map(|e| e["status"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(statuses, vec!["offered", "waiting", "offered", "offered"]);
    assert_eq!(entry(&w.app, &b).await["position"], 1);
    let offered = events(&w.app, "waitlist.offered").await;
    let order: Vec<&str> = offered
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            a["id"].as_str().unwrap(),
            c["id"].as_str().unwrap(),
            d["id"].as_str().unwrap()
        ]
    );
    assert_eq!(offered[0]["buyer_phone"], "+66810000001");
    let a_offer = entry(&w.app, &a).await["offer"].clone();
    assert_eq!(
        a_offer["expires_at"],
        at(0).replace("T09:00:00", "T09:30:00")
    );
    let avail = availability(&w.app, id).await;
    assert_eq!(
        (
            avail["available"].as_i64(),
            avail["waiting_list"]["entries"].as_i64()
        ),
        (Some(4), Some(1))
    );

    // Units are available now: a new buyer holds instead of waiting.
    let (status, body) = join(&w.app, id, unit, 2, "0810000009").await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (409, "waitlist_not_needed")
    );

    // C declines (2 units back: 6 free, B still does not fit); then A's and D's offers lapse.
    let c_hold = entry(&w.app, &c).await["offer"]["hold_id"]
        .as_str()
        .unwrap()
        .to_string();
    w.app
        .delete(&format!("/v1/holds/{c_hold}"))
        .send()
        .await
        .unwrap();
    assert_eq!(entry(&w.app, &c).await["status"], "declined");
    assert_eq!(
        entry(&w.app, &b).await["status"],
        "waiting",
        "4 + 2 = 6 units: B still does not fit"
    );
    w.app.clock.advance(Duration::minutes(31));
    let state = w.app.state.clone();
    tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry(&w.app, &a).await["status"], "lapsed");
    assert_eq!(entry(&w.app, &d).await["status"], "lapsed");
    assert_eq!(
        entry(&w.app, &b).await["status"],
        "offered",
        "A's and D's units came back: B fits now"
    );
    assert_eq!(events(&w.app, "waitlist.lapsed").await.len(), 2);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn more_capacity_goes_to_the_waiting_list_and_less_never_below_what_is_taken() {
    let w = World::new().await;
    let win = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    assert_eq!(hold(&w.app, id, unit, 6, None).await.0, 201);
    let patch = |body: Value| {
        let app = &w.app;
        let token = w.staff.token.clone();
        async move {
            json(
                app.patch(&format!("/v1/windows/{id}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, body) = patch(json!({"capacity": 5})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "capacity_below_committed");
    assert_eq!(body["committed"], 6);
    let (status, body) = patch(json!({"capacity": 6})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "sold_out");

    let (_, waiting) = join(&w.app, id, unit, 3, "0810000001").await;
    let (status, body) = patch(json!({"capacity": 9})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&w.app, &waiting).await["status"], "offered");
    let changed = events(&w.app, "window.capacity_changed").await;
    assert_eq!(
        changed
            .iter()
            .map(|e| e["capacity"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![6, 9]
    );
    let (_, ledger) = json(
        w.app
            .get(&format!("/v1/windows/{id}/ledger"))
            .bearer_auth(&w.district_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let deltas: Vec<i64> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "capacity_change")
        .map(|r| r["capacity_delta"].as_i64().unwrap())
        .collect();
    assert_eq!(deltas, vec![10, -4, 3]);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn moving_the_harvest_records_an_event_and_prices_change_for_new_holds_only() {
    let w = World::new().await;
    let win = window(&w, 50, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let (_, h) = hold(&w.app, id, variant(&win, 5), 1, None).await;
    assert_eq!(h["total_satang"], 42500);
    let res = w
        .app
        .patch(&format!("/v1/windows/{id}"))
        .bearer_auth(&w.producer.token)
        .json(&json!({"harvest_start": "2026-07-25", "harvest_end": "2026-08-10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the producer manages its own window");
    let moved = events(&w.app, "window.harvest_rescheduled").await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["previous_harvest_start"], "2026-07-15");
    assert_eq!(moved[0]["harvest_start"], "2026-07-25");
    assert_eq!(moved[0]["live_holds"], 1);

    let box_id = variant(&win, 5);
    let res = w
        .app
        .patch(&format!("/v1/variants/{box_id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"price_satang": 45000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The hold keeps the price it was made at, and an order from it pays that price; a new
    // hold pays the new one.
    let (_, kept) = json(
        w.app
            .get(&format!("/v1/holds/{}", h["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(kept["total_satang"], 42500, "{kept}");
    let (status, order) = place(
        &w.app,
        &json!({
            "hold_id": h["id"],
            "buyer": {"name": "สมหญิง", "phone": "0891234567"},
            "delivery": {"method": "pickup", "pickup_point_id": win["pickup_points"][0]["id"]},
        }),
        None,
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["total_satang"], 42500);
    let (_, fresh) = hold(&w.app, id, box_id, 1, None).await;
    assert_eq!(fresh["total_satang"], 45000);
    let res = w
        .app
        .patch(&format!("/v1/variants/{box_id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"units_per_item": 4}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        body["errors"][0]["code"], "unknown_field",
        "units per item never change"
    );

    let res = w
        .app
        .patch(&format!("/v1/windows/{id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"harvest_start": "2026-08-20", "harvest_end": "2026-08-10", "closes_at": at(-2)}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&body), vec!["closes_at", "harvest_end"]);
}

#[tokio::test]
async fn cancelling_a_window_releases_its_holds_and_closes_the_waiting_list() {
    let w = World::new().await;
    let win = window(&w, 5, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (_, h) = hold(&w.app, id, unit, 5, None).await;
    let (_, waiting) = join(&w.app, id, unit, 1, "0810000001").await;
    let res = w
        .app
        .post(&format!("/v1/windows/{id}/actions"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"action": "cancel", "reason": "พายุลูกเห็บ ผลผลิตเสียหาย"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["cancel_reason"], "พายุลูกเห็บ ผลผลิตเสียหาย");
    assert_eq!(
        (body["held"].as_i64(), body["available"].as_i64()),
        (Some(0), Some(5))
    );
    let (_, h) = json(
        w.app
            .get(&format!("/v1/holds/{}", h["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(h["status"], "released");
    assert_eq!(entry(&w.app, &waiting).await["status"], "cancelled");
    assert_eq!(
        hold(&w.app, id, unit, 1, None).await.1["code"],
        "window_closed"
    );
    assert_eq!(
        events(&w.app, "window.cancelled").await[0]["reason"],
        "พายุลูกเห็บ ผลผลิตเสียหาย"
    );
}

#[tokio::test]
async fn reconcile_finds_and_repairs_a_corrupted_counter() {
    let w = World::new().await;
    let win = window(&w, 20, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    hold(&w.app, id, variant(&win, 1), 7, None).await;
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));

    // Someone edits the counter behind the ledger's back.
    w.app
        .state
        .db(move |conn| {
            use diesel::prelude::*;
            use khongdee::db::schema::preorder_windows as pw;
            diesel::update(pw::table.find(id))
                .set(pw::held.eq(pw::held - 3))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let report = reconcile(&w, "").await;
    assert_eq!(
        report["mismatches"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(report["mismatches"][0]["window_id"], id);
    assert_eq!(
        report["mismatches"][0]["held"],
        json!({"counter": 4, "ledger": 7})
    );
    assert_eq!(report["mismatches"][0]["repaired"], false);

    // The command line finds it too, and says so by its exit status.
    let data_dir = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_khongdee"))
            .args([
                "--database-url",
                &w.app.db.url,
                "--log-format",
                "json",
                "--data-dir",
            ])
            .arg(data_dir.path())
            .args([
                "--jwt-secret",
                "test-secret-test-secret-test-secret-0123",
                "--citizen-id-pepper",
                "test-pepper-test-pepper-test-pepper-0123",
            ])
            .args(args)
            .output()
            .expect("run khongdee")
    };
    let found = cli(&["reconcile"]);
    assert_eq!(
        found.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    let printed: Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(printed["mismatches"][0]["held"]["counter"], 4);

    let repaired = reconcile(&w, &format!("?window_id={id}&repair=true")).await;
    assert_eq!(repaired["mismatches"][0]["repaired"], true);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
    assert_eq!(cli(&["reconcile"]).status.code(), Some(0));
    assert_eq!(availability(&w.app, id).await["held"], 7);

    let res = w
        .app
        .post("/v1/admin/reconcile")
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn partners_need_the_scope_and_the_lao() {
    let w = World::new().await;
    let win = window(&w, 20, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let body = json!({"lines": [{"variant_id": variant(&win, 1), "quantity": 1}]});
    let (status, _) = json(
        w.app
            .post(&format!("/v1/windows/{id}/holds"))
            .bearer_auth(&w.partner.token)
            .header("Idempotency-Key", "hold-scope-1")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let reader = w.app.partner("อ่านอย่างเดียว", &["orders:read"], &[]).await;
    let res = w
        .app
        .post(&format!("/v1/windows/{id}/holds"))
        .bearer_auth(&reader.token)
        .header("Idempotency-Key", "hold-scope-2")
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 403, "insufficient_scope").await;
    assert_eq!(problem["scope"], "holds:write");
    let elsewhere = w
        .app
        .partner("ขายให้จันทบุรี", &["holds:write"], &[CHANTHABURI_LAO])
        .await;
    let res = w
        .app
        .post(&format!("/v1/windows/{id}/holds"))
        .bearer_auth(&elsewhere.token)
        .header("Idempotency-Key", "hold-scope-3")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn partner_holds_take_an_idempotency_key_and_never_reserve_twice() {
    let w = World::new().await;
    let win = window(&w, 20, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let body = json!({"lines": [{"variant_id": variant(&win, 5), "quantity": 1}]});
    let send = |key: Option<&'static str>| {
        let mut req = w
            .app
            .post(&format!("/v1/windows/{id}/holds"))
            .bearer_auth(&w.partner.token)
            .json(&body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send()
    };
    assert_problem(send(None).await.unwrap(), 400, "idempotency_key_required").await;
    assert_eq!(availability(&w.app, id).await["held"], 0);

    let first = send(Some("d1c1d8f0-hold")).await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (_, first) = json(first).await;
    let again = send(Some("d1c1d8f0-hold")).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (_, again) = json(again).await;
    assert_eq!(again["id"], first["id"], "the retry gets the same hold");
    assert_eq!(
        availability(&w.app, id).await["held"],
        5,
        "the units are held once"
    );
    // Anonymous buyers (the LAO's form) may still hold without a key.
    let (status, _) = hold(&w.app, id, variant(&win, 1), 1, None).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn storefronts_list_current_windows_by_area_crop_and_harvest() {
    let w = World::new().await;
    let open = window(&w, 10, json!({})).await;
    let upcoming = window(&w, 10, json!({"opens_at": at(48), "closes_at": at(96), "harvest_start": "2026-08-20", "harvest_end": "2026-08-30"})).await;
    let _closed = window(&w, 10, json!({"opens_at": at(-48), "closes_at": at(-24)})).await;
    let _draft = window(&w, 10, json!({"publish": false})).await;
    let ids = |body: &Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: &'static str| {
        let app = &w.app;
        async move {
            json(
                app.get(&format!("/v1/windows{query}"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
            .1
        }
    };
    let (o, u) = (
        open["id"].as_i64().unwrap(),
        upcoming["id"].as_i64().unwrap(),
    );
    assert_eq!(ids(&list("").await), vec![o, u]);
    assert_eq!(ids(&list("?status=open").await), vec![o]);
    assert_eq!(ids(&list("?status=upcoming").await), vec![u]);
    assert_eq!(
        ids(&list("?crop=longan&province_code=63&district_code=6306").await),
        vec![o, u]
    );
    assert!(ids(&list("?crop=durian").await).is_empty());
    assert!(ids(&list("?province_code=22").await).is_empty());
    assert_eq!(ids(&list("?harvest_from=2026-08-01").await), vec![u]);
    assert_eq!(ids(&list("?harvest_to=2026-07-20").await), vec![o]);
    assert_eq!(
        ids(&list(&*Box::leak(
            format!("?lao_code={MAE_SOT}&limit=1").into_boxed_str()
        ))
        .await),
        vec![o]
    );
    let listed = list("").await;
    assert_eq!(listed["items"][0]["variants"].as_array().unwrap().len(), 2);
    assert_eq!(
        listed["items"][0]["pickup_points"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(listed["items"][0]["lao"]["dla_code"], MAE_SOT);
    let res = w
        .app
        .get("/v1/windows?status=whenever")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "status");
}

/// What a storefront needs before it places anything: windows that can be bought now, only
/// those its client may sell, and whether buyers can pay by PromptPay.
#[tokio::test]
async fn storefronts_list_what_they_can_sell_now_and_how_it_is_paid() {
    let w = World::new().await;
    let free = window(&w, 10, json!({})).await;
    let full = window(&w, 5, json!({})).await;
    let later = window(&w, 5, json!({"opens_at": at(24), "closes_at": at(48)})).await;
    let (status, _) = hold(
        &w.app,
        full["id"].as_i64().unwrap(),
        variant(&full, 5),
        1,
        None,
    )
    .await;
    assert_eq!(status, 201);
    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: &'static str, token: Option<String>| {
        let mut req = w.app.get(&format!("/v1/windows?{query}"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { json(req.send().await.unwrap()).await }
    };
    let id = |v: &Value| v["id"].as_i64().unwrap();
    assert_eq!(
        ids(&list("status=open", None).await.1),
        vec![id(&free), id(&full)]
    );
    assert_eq!(ids(&list("status=buyable", None).await.1), vec![id(&free)]);
    assert_eq!(
        ids(&list("status=current", None).await.1),
        vec![id(&free), id(&full), id(&later)]
    );
    // Pages of buyable windows stay full and their cursors exact, past the sold-out ones.
    let (_, first) = list("status=buyable&limit=1", None).await;
    assert_eq!(ids(&first), vec![id(&free)]);
    assert!(
        first["next_cursor"].is_null(),
        "nothing buyable after it: {first}"
    );
    // A lapsed hold gives its units back: the window is buyable again before anything writes.
    w.app.clock.advance(Duration::minutes(11));
    assert_eq!(
        ids(&list("status=buyable", None).await.1),
        vec![id(&free), id(&full)]
    );

    // Free units that no order can use do not make a window buyable: with 1 kg bags withdrawn,
    // 2 kg left and only 5 kg boxes on offer, it is sold out to a buyer.
    let boxes = window(&w, 12, json!({})).await;
    let (status, _) = json(
        w.app
            .patch(&format!("/v1/variants/{}", variant(&boxes, 1)))
            .bearer_auth(&w.staff.token)
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = hold(&w.app, id(&boxes), variant(&boxes, 5), 2, None).await;
    assert_eq!(status, 201);
    assert!(!ids(&list("status=buyable", None).await.1).contains(&id(&boxes)));
    let (_, shown) = json(
        w.app
            .get(&format!("/v1/windows/{}", id(&boxes)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (shown["status"].as_str(), shown["available"].as_i64()),
        (Some("sold_out"), Some(2))
    );
    // And a window whose smallest order could never fit is refused when it is made.
    let product = product(&w).await;
    let mut body = window_body(4, json!({}));
    body["variants"] = json!([{"name": "กล่อง 5 กก.", "units_per_item": 5, "price_satang": 42500}]);
    let res = w
        .app
        .post(&format!("/v1/products/{product}/windows"))
        .bearer_auth(&w.staff.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["code"], "exceeds_capacity");

    // A partner lists only what it may sell.
    let elsewhere = w
        .app
        .partner(
            "ขายจันทบุรี",
            &["holds:write", "orders:write"],
            &[CHANTHABURI_LAO],
        )
        .await;
    let (status, page) = list("sellable=true", Some(elsewhere.token.clone())).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), Vec::<i64>::new());
    let (_, page) = list(
        "sellable=true",
        Some(
            w.app
                .client_token(&w.partner.client_id, &w.partner.secret)
                .await,
        ),
    )
    .await;
    assert_eq!(
        ids(&page).len(),
        4,
        "a client without a list of LAOs sells for all"
    );
    let (status, problem) = list("sellable=true", None).await;
    assert_eq!(status, 401, "only partner clients sell: {problem}");
    let (status, problem) = list("sellable=true", Some(w.staff.token.clone())).await;
    assert_eq!(status, 403, "only partner clients sell: {problem}");
    let (status, laos) = json(
        w.app
            .get("/v1/laos?sellable=true")
            .bearer_auth(&elsewhere.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{laos}");
    let codes: Vec<&str> = laos["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["dla_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec![CHANTHABURI_LAO]);

    // Whether buyers pay by PromptPay is known before ordering.
    assert_eq!(free["promptpay_available"], true);
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
    let (_, now) = json(
        w.app
            .get(&format!("/v1/windows/{}", id(&free)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(now["promptpay_available"], false);
}

#[tokio::test]
async fn window_input_is_checked_field_by_field() {
    let w = World::new().await;
    let product = product(&w).await;
    let post = |body: Value| {
        let app = &w.app;
        let token = w.staff.token.clone();
        async move {
            app.post(&format!("/v1/products/{product}/windows"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(window_body(
        0,
        json!({"closes_at": at(-5), "variants": [{"name": "x", "units_per_item": 0, "price_satang": -1}], "max_items_per_order": 0}),
    ))
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec![
            "capacity",
            "max_items_per_order",
            "variants[0].price_satang",
            "variants[0].units_per_item"
        ]
    );
    let res = post(window_body(
        10,
        json!({"closes_at": at(-5), "pickup_points": [], "delivery": null}),
    ))
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["closes_at", "delivery", "pickup_points"]
    );
    let res = post(window_body(10, json!({"variants": [{"name": "a", "units_per_item": 1, "price_satang": 1}, {"name": "a", "units_per_item": 2, "price_satang": 1}]}))).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&body), vec!["variants"]);
    let res = post(window_body(10, json!({"opens_at": "tomorrow"}))).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "opens_at");
}

#[tokio::test]
async fn variants_and_pickup_points_added_one_by_one_keep_the_creation_limit() {
    let w = World::new().await;
    let win = window(&w, 1000, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let post = |path: String, body: Value| {
        let app = &w.app;
        let token = w.staff.token.clone();
        async move {
            app.post(&path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let have_variants = win["variants"].as_array().unwrap().len();
    for n in have_variants..20 {
        let res = post(
            format!("/v1/windows/{id}/variants"),
            json!({"name": format!("ถุง {n}"), "units_per_item": 1, "price_satang": 1000}),
        )
        .await;
        assert_eq!(res.status(), 201, "variant {n}");
    }
    let res = post(
        format!("/v1/windows/{id}/variants"),
        json!({"name": "ถุงที่ 21", "units_per_item": 1, "price_satang": 1000}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "variants", "{body}");
    assert_eq!(body["errors"][0]["code"], "too_many", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("20"),
        "{body}"
    );
    // Switching one off makes room, and switching it on again beyond the limit is refused.
    let first = variant(&win, 1);
    let res = w
        .app
        .patch(&format!("/v1/variants/{first}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = post(
        format!("/v1/windows/{id}/variants"),
        json!({"name": "ถุงที่ 21", "units_per_item": 1, "price_satang": 1000}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = w
        .app
        .patch(&format!("/v1/variants/{first}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;

    let have_points = win["pickup_points"].as_array().unwrap().len();
    for n in have_points..20 {
        let res = post(
            format!("/v1/windows/{id}/pickup-points"),
            json!({"name": format!("จุด {n}"), "address": "ตลาดแม่สอด", "starts_at": at(500), "ends_at": at(504)}),
        )
        .await;
        assert_eq!(res.status(), 201, "pickup point {n}");
    }
    let res = post(
        format!("/v1/windows/{id}/pickup-points"),
        json!({"name": "จุดที่ 21", "address": "ตลาดแม่สอด", "starts_at": at(500), "ends_at": at(504)}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "pickup_points", "{body}");
    assert_eq!(body["errors"][0]["code"], "too_many", "{body}");
}

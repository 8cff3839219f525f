//! The programme's report: sale facts from payments and refunds, sales LAOs record, the feed at
//! every level and period (recomputed independently), the incremental feed under concurrent
//! payments, the CSV sheet, fiscal-year boundaries, and who may read what.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use khongdee::clock::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

/// A world whose accounts may sign in again as often as the test clock's moves need (access
/// tokens last at most a day, and tests here move the clock by months).
async fn long_world() -> World {
    World::with_app(spawn_app_with(|c| c.rate_limit_token_per_minute = 100_000).await).await
}

/// A token of the account that is valid at the test clock's time: the one it has, or a new
/// sign-in once the clock has moved on by more than its lifetime.
async fn token(w: &World, who: &Account) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Issued = HashMap<(String, String), (DateTime<Utc>, String)>;
    static ISSUED: OnceLock<Mutex<Issued>> = OnceLock::new();
    let now = w.app.clock.now();
    let key = (w.app.address.clone(), who.username.clone());
    let issued = ISSUED.get_or_init(Default::default);
    let known = issued.lock().unwrap().get(&key).cloned();
    match known {
        Some((at, token)) if now >= at && now - at < Duration::minutes(10) => token,
        None if now == test_start() => who.token.clone(),
        _ => {
            let fresh = w.app.login(&who.username).await.token;
            issued.lock().unwrap().insert(key, (now, fresh.clone()));
            fresh
        }
    }
}

/// GET /v1/stats/sales with a query, as an account; asserts 200.
async fn feed(w: &World, who: &Account, query: &str) -> Value {
    let token = token(w, who).await;
    let (status, body) = json(
        w.app
            .get(&format!("/v1/stats/sales?{query}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

/// Staff (or an admin) move: pay or refund an order.
async fn pay(w: &World, code: &str) {
    let admin = token(w, &w.admin).await;
    let res = w
        .app
        .post(&format!("/v1/orders/{code}/payment"))
        .bearer_auth(admin)
        .json(&json!({"reference": "โอนแล้ว"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn refund(w: &World, code: &str) {
    let admin = token(w, &w.admin).await;
    let res = w
        .app
        .post(&format!("/v1/orders/{code}/transitions"))
        .bearer_auth(admin)
        .json(&json!({"to": "refunded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn order(w: &World, win: &Value, lines: Value, phone: &str) -> Value {
    let (status, order) = place(&w.app, &order_body(win, lines, phone), None).await;
    assert_eq!(status, 201, "{order}");
    order
}

async fn record(w: &World, who: &Account, lao: &str, body: Value) -> (u16, Value) {
    let token = token(w, who).await;
    let (status, body) = json(
        w.app
            .post(&format!("/v1/laos/{lao}/recorded-sales"))
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
async fn a_paid_order_counts_at_every_level_and_a_refund_takes_it_back() {
    let w = long_world().await;
    let win = window(&w, 100, json!({})).await;
    let o = order(
        &w,
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 3}, {"variant_id": variant(&win, 5), "quantity": 1}]),
        "0891234567",
    )
    .await;
    let code = o["code"].as_str().unwrap();
    // Unpaid: nothing counts yet.
    let lao = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(lao["total"]["sales"], 0, "{lao}");
    pay(&w, code).await;

    let lao = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(
        lao["period"]["from"], "2025-10-01",
        "the current fiscal year: {lao}"
    );
    assert_eq!(lao["period"]["to"], "2026-09-30");
    let total = &lao["total"];
    assert_eq!(
        (
            total["sales"].as_i64(),
            total["revenue_satang"].as_i64(),
            total["revenue_baht"].as_str(),
            total["beneficiaries"].as_i64(),
            total["buyers"].as_i64()
        ),
        (
            Some(1),
            Some(3 * 9000 + 42500),
            Some("695.00"),
            Some(1),
            Some(1)
        ),
        "two lines are one sale: {lao}"
    );
    // The district lists both its LAOs, the one without sales with zeros.
    let district = feed(&w, &w.district_officer, "level=district&code=6306").await;
    assert_eq!(row(&district, MAE_SOT)["sales"], 1);
    assert_eq!(row(&district, MAE_PA)["sales"], 0);
    assert_eq!(row(&district, MAE_PA)["revenue_baht"], "0.00");
    assert_eq!(row(&district, MAE_SOT)["district_name_th"], "แม่สอด");
    // The province lists its districts; the nation its provinces.
    let province = feed(&w, &w.province_officer, "level=province&code=63").await;
    assert_eq!(row(&province, "6306")["revenue_satang"], 69500);
    assert_eq!(row(&province, "6301")["sales"], 0);
    let nation = feed(&w, &w.admin, "level=national&fiscal_year=2569").await;
    assert_eq!(row(&nation, "63")["sales"], 1);
    assert_eq!(row(&nation, "22")["sales"], 0);
    assert_eq!(nation["total"]["revenue_satang"], 69500);
    // By crop, units add up (in the crop's unit); by channel, the LAO's form.
    let crops = feed(&w, &w.admin, "level=national&group_by=crop").await;
    assert_eq!(row(&crops, "longan")["units"], 8);
    let channels = feed(&w, &w.admin, "level=national&group_by=channel").await;
    assert_eq!(row(&channels, "embed")["sales"], 1);
    assert_eq!(row(&channels, "facebook")["sales"], 0);

    // A refund (after dispatch or not) reverses the sale in the month it happens.
    w.app.clock.advance(Duration::days(31));
    refund(&w, code).await;
    let june = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&month=2026-06"),
    )
    .await;
    assert_eq!(june["total"]["sales"], 1, "June keeps its sale: {june}");
    let july = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&month=2026-07"),
    )
    .await;
    assert_eq!(july["total"]["sales"], -1, "July has the refund: {july}");
    assert_eq!(july["total"]["revenue_satang"], -69500);
    let year = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(
        (
            year["total"]["sales"].as_i64(),
            year["total"]["revenue_satang"].as_i64(),
            year["total"]["beneficiaries"].as_i64(),
            year["total"]["buyers"].as_i64()
        ),
        (Some(0), Some(0), Some(0), Some(0)),
        "{year}"
    );

    // The incremental feed: two sale facts (one per line), then their reversals, in order.
    let admin = token(&w, &w.admin).await;
    let (status, page) = json(
        w.app
            .get("/v1/stats/events?after=0")
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    let kinds: Vec<(&str, i64, i64)> = items
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["sales"].as_i64().unwrap(),
                e["revenue_satang"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("sale", 1, 27000),
            ("sale", 0, 42500),
            ("reversal", -1, -27000),
            ("reversal", 0, -42500)
        ]
    );
    let cursors: Vec<i64> = items
        .iter()
        .map(|e| e["cursor"].as_i64().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|p| p[0] < p[1]), "{cursors:?}");
    assert_eq!(page["next_after"], *cursors.last().unwrap());
    let (_, rest) = json(
        w.app
            .get(&format!("/v1/stats/events?after={}", cursors[3]))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rest["items"], json!([]));
    assert_eq!(rest["next_after"], cursors[3]);
}

#[tokio::test]
async fn officers_read_their_own_area_and_staff_their_own_lao() {
    let w = World::new().await;
    let cases: Vec<(&Account, String, u16)> = vec![
        (&w.staff, format!("level=lao&code={MAE_SOT}"), 200),
        (&w.staff, format!("level=lao&code={MAE_PA}"), 403),
        (&w.staff, "level=district&code=6306".into(), 403),
        (&w.district_officer, "level=district&code=6306".into(), 200),
        (&w.district_officer, format!("level=lao&code={MAE_PA}"), 200),
        (&w.district_officer, "level=district&code=6301".into(), 403),
        (&w.district_officer, "level=province&code=63".into(), 403),
        (&w.province_officer, "level=province&code=63".into(), 200),
        (&w.province_officer, "level=district&code=6301".into(), 200),
        (&w.province_officer, "level=province&code=22".into(), 403),
        (&w.province_officer, "level=national".into(), 403),
        (&w.admin, "level=national".into(), 200),
        (&w.producer, format!("level=lao&code={MAE_SOT}"), 403),
    ];
    for (account, query, expected) in cases {
        let res = w
            .app
            .get(&format!("/v1/stats/sales?{query}"))
            .bearer_auth(&account.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "{query}");
    }
    let res = w
        .app
        .get("/v1/stats/sales?level=national")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "authentication_required").await;
    // Bad areas and periods are 400 or 404 problems naming the parameter.
    for (query, status, field) in [
        ("level=province", 400, "code"),
        ("level=province&code=6", 400, "code"),
        ("level=national&code=63", 400, "code"),
        ("level=national&month=2026-13", 400, "month"),
        ("level=national&quarter=2026-Q5", 400, "quarter"),
        ("level=national&fiscal_year=1999", 400, "fiscal_year"),
        ("level=national&from=2026-06-02&to=2026-06-01", 400, "to"),
        ("level=national&from=2026-06-02", 400, "to"),
        (
            "level=national&month=2026-06&fiscal_year=2569",
            400,
            "period",
        ),
        ("level=national&day=yesterday", 400, "day"),
        ("level=planet", 400, "level"),
    ] {
        let res = w
            .app
            .get(&format!("/v1/stats/sales?{query}"))
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap();
        let body = assert_problem(res, status, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    // A range of more than ten years names its limit in days, in Thai too.
    let res = w
        .app
        .get("/v1/stats/sales?level=national&from=2020-01-01&to=2030-12-31")
        .bearer_auth(&w.admin.token)
        .header("accept-language", "th")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["code"], "range_too_long", "{body}");
    assert_eq!(body["errors"][0]["message"], "ห่างจาก `from` เกิน 3660 วัน");
    let res = w
        .app
        .get("/v1/stats/sales?level=province&code=99")
        .bearer_auth(&w.admin.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn recorded_sales_count_beside_pre_orders_and_corrections_reverse_them() {
    let w = World::new().await;
    let (status, fb) = record(
        &w,
        &w.staff,
        MAE_SOT,
        json!({"producer_id": w.producer_id, "date": "2026-05-20", "channel": "facebook",
               "sales_count": 12, "revenue_satang": 540000,
               "post_url": "https://www.facebook.com/maesot/posts/1", "note": "=ไลฟ์ขายลำไย"}),
    )
    .await;
    assert_eq!(status, 201, "{fb}");
    assert_eq!(fb["lao_code"], MAE_SOT);
    let (status, several) = record(
        &w,
        &w.staff,
        MAE_SOT,
        json!({"producer_count": 3, "month": "2026-04", "channel": "tiktok",
               "sales_count": 5, "revenue_satang": 100000}),
    )
    .await;
    assert_eq!(status, 201, "{several}");
    let sources = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&group_by=source"),
    )
    .await;
    assert_eq!(row(&sources, "recorded")["sales"], 17, "{sources}");
    assert_eq!(row(&sources, "recorded")["revenue_satang"], 640000);
    assert_eq!(row(&sources, "preorder")["sales"], 0);
    assert_eq!(
        sources["total"]["beneficiaries"], 4,
        "one named producer and three more"
    );
    assert_eq!(
        sources["total"]["buyers"], 0,
        "recorded sales name no buyers"
    );
    let april = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&month=2026-04"),
    )
    .await;
    assert_eq!(april["total"]["sales"], 5);

    // A correction moves the sale to another day: the old one is reversed where it counted.
    let id = fb["id"].as_i64().unwrap();
    let (status, changed) = json(
        w.app
            .patch(&format!("/v1/recorded-sales/{id}"))
            .bearer_auth(&w.staff.token)
            .json(
                &json!({"producer_id": w.producer_id, "date": "2026-05-31", "channel": "line",
                          "sales_count": 10, "revenue_satang": 450000}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let may = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&month=2026-05&group_by=channel"),
    )
    .await;
    assert_eq!(row(&may, "facebook")["sales"], 0, "{may}");
    assert_eq!(row(&may, "line")["sales"], 10);
    assert_eq!(may["total"]["revenue_satang"], 450000);
    // Deleted: gone from every figure, and the list.
    let res = w
        .app
        .delete(&format!("/v1/recorded-sales/{id}"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let year = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(year["total"]["sales"], 5);
    assert_eq!(year["total"]["beneficiaries"], 3);
    let (_, list) = json(
        w.app
            .get(&format!("/v1/laos/{MAE_SOT}/recorded-sales"))
            .bearer_auth(&w.district_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // Who may record: the LAO's staff only; another LAO's staff do not see it, officers may not.
    let body = json!({"producer_id": w.producer_id, "date": "2026-05-20", "channel": "facebook",
                      "sales_count": 1, "revenue_satang": 100});
    assert_eq!(
        record(&w, &w.other_lao_staff, MAE_SOT, body.clone())
            .await
            .0,
        404
    );
    assert_eq!(
        record(&w, &w.district_officer, MAE_SOT, body.clone())
            .await
            .0,
        403
    );
    let res = w
        .app
        .delete(&format!("/v1/recorded-sales/{}", several["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;

    // Every bad field is named, and nothing is recorded.
    let (status, bad) = record(
        &w,
        &w.staff,
        MAE_SOT,
        json!({"producer_id": w.producer_id, "producer_count": 2, "date": "2026-06-02",
               "channel": "embed", "sales_count": 1, "revenue_satang": 100}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(
        problem_fields(&bad),
        vec!["channel", "date", "producer_count"],
        "{bad}"
    );
    let (status, bad) = record(
        &w,
        &w.staff,
        MAE_SOT,
        json!({"producer_id": 999999, "month": "2026-6", "channel": "other",
               "sales_count": 0, "revenue_satang": -1, "post_url": "javascript:alert(1)"}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let fields = problem_fields(&bad);
    for f in ["post_url", "revenue_satang", "sales_count"] {
        assert!(fields.contains(&f.to_string()), "{f} in {bad}");
    }
    let (status, bad) = record(
        &w,
        &w.staff,
        MAE_SOT,
        json!({"producer_id": 999999, "month": "2026-6", "channel": "other",
               "sales_count": 1, "revenue_satang": 1}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&bad), vec!["month", "producer_id"], "{bad}");
    let year = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(year["total"]["sales"], 5, "nothing half-recorded");
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

fn bangkok(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339()
}

/// A window that opens now (on the test clock) for 40 days.
async fn window_now(w: &World, who: &Account, producer_id: i64, capacity: i64) -> Value {
    let now = w.app.clock.now();
    let token = token(w, who).await;
    let (status, product) = json(
        w.app
            .post(&format!("/v1/producers/{producer_id}/products"))
            .bearer_auth(&token)
            .json(&json!({"crop": "longan", "title": "ลำไยอีดอ"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let harvest = (now + Duration::days(50)).date_naive();
    let body = window_body(
        capacity,
        json!({
            "opens_at": bangkok(now - Duration::hours(1)),
            "closes_at": bangkok(now + Duration::days(40)),
            "harvest_start": harvest.to_string(),
            "harvest_end": (harvest + Duration::days(5)).to_string(),
            "pickup_points": [{"name": "ที่ทำการ", "address": "หมู่ 3",
                "starts_at": bangkok(now + Duration::days(51)),
                "ends_at": bangkok(now + Duration::days(51) + Duration::hours(8))}],
        }),
    );
    let (status, win) = json(
        w.app
            .post(&format!("/v1/products/{}/windows", product["id"]))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{win}");
    win
}

#[tokio::test]
async fn the_fiscal_year_turns_at_midnight_bangkok_on_1_october() {
    let w = long_world().await;
    w.app.clock.set(utc(2026, 9, 29, 10, 0, 0));
    let win = window_now(&w, &w.staff, w.producer_id, 100).await;
    let a = order(
        &w,
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 1}]),
        "0810000001",
    )
    .await;
    let b = order(
        &w,
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 2}]),
        "0810000002",
    )
    .await;
    // 23:59:59 on 30 September in Bangkok is still fiscal year 2569 …
    w.app.clock.set(utc(2026, 9, 30, 16, 59, 59));
    pay(&w, a["code"].as_str().unwrap()).await;
    // … and midnight is 2570.
    w.app.clock.set(utc(2026, 9, 30, 17, 0, 0));
    pay(&w, b["code"].as_str().unwrap()).await;
    let q = |fy: i32| format!("level=lao&code={MAE_SOT}&fiscal_year={fy}");
    let fy69 = feed(&w, &w.staff, &q(2569)).await;
    let fy70 = feed(&w, &w.staff, &q(2570)).await;
    assert_eq!(fy69["total"]["revenue_satang"], 9000, "{fy69}");
    assert_eq!(fy70["total"]["revenue_satang"], 18000, "{fy70}");
    assert_eq!(fy70["period"]["label_th"], "1 ต.ค. 2569 – 30 ก.ย. 2570");
    let day = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&day=2026-09-30"),
    )
    .await;
    assert_eq!(day["total"]["sales"], 1);
    // Without a period: the fiscal year of today in Bangkok.
    let now = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(now["period"]["from"], "2026-10-01");
    // By month across the turn.
    let months = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&from=2026-09-01&to=2026-10-31&group_by=month"),
    )
    .await;
    assert_eq!(row(&months, "2026-09")["sales"], 1);
    assert_eq!(row(&months, "2026-10")["sales"], 1);
    assert_eq!(row(&months, "2026-10")["name_th"], "ตุลาคม 2569");
}

#[tokio::test]
async fn the_sheet_is_a_thai_csv_every_lao_with_its_codes() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 2}]),
        "0891234567",
    );
    body["buyer"]["name"] = json!("=HYPERLINK(\"http://evil.example\")");
    body["note"] = json!("@SUM(1+1)");
    let (_, o) = place(&w.app, &body, None).await;
    pay(&w, o["code"].as_str().unwrap()).await;
    let res = w
        .app
        .get("/v1/stats/sales.csv?level=province&code=63&fiscal_year=2569")
        .bearer_auth(&w.province_officer.token)
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
    assert_eq!(&bytes[..3], b"\xef\xbb\xbf");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(!text.contains("HYPERLINK") && !text.contains("@SUM"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        vec![
            "รหัสจังหวัด",
            "จังหวัด",
            "รหัสอำเภอ",
            "อำเภอ",
            "รหัส อปท.",
            "อปท.",
            "ลิงก์เนื้อหา",
            "จำนวนครั้งที่ขายได้ผ่านออนไลน์",
            "รายรับ (บาท)",
            "จำนวนคนที่ได้รับประโยชน์",
            "จำนวนผู้ซื้อ",
            "จำนวนลิงก์เนื้อหา",
            "ลิงก์ที่มีแฮชแท็กครบ"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let lao_codes: BTreeSet<&str> = rows.iter().map(|r| r.get(4).unwrap()).collect();
    assert_eq!(
        lao_codes,
        BTreeSet::from([MAE_SOT, MAE_PA, TAK_PAO]),
        "every LAO of Tak, also without sales"
    );
    let maesot = rows.iter().find(|r| &r[4] == MAE_SOT).unwrap();
    assert_eq!(&maesot[0], "63");
    assert_eq!(&maesot[3], "แม่สอด");
    assert_eq!(&maesot[5], "เทศบาลนครแม่สอด");
    assert_eq!((&maesot[7], &maesot[8], &maesot[9]), ("1", "180.00", "1"));
    assert!(!text.contains("\"180.00\""), "amounts stay numbers");
}

/// What the test did, as facts it expects: (LAO, district, province, producer, buyer, Bangkok
/// date, sales, revenue, source, extra people).
#[derive(Clone, Debug)]
struct Expected {
    lao: &'static str,
    district: &'static str,
    province: &'static str,
    producer: Option<i64>,
    buyer: Option<String>,
    date: NaiveDate,
    sales: i64,
    revenue: i64,
    source: &'static str,
    extra: i64,
}

/// The figures of the expected facts that pass a filter: (sales, revenue, beneficiaries, buyers).
fn expected_figures(facts: &[&Expected]) -> (i64, i64, i64, i64) {
    let sales = facts.iter().map(|f| f.sales).sum();
    let revenue = facts.iter().map(|f| f.revenue).sum();
    let extra: i64 = facts.iter().map(|f| f.extra).sum();
    let mut producers: BTreeMap<i64, i64> = BTreeMap::new();
    let mut buyers: BTreeMap<&str, i64> = BTreeMap::new();
    for f in facts {
        if let Some(p) = f.producer {
            *producers.entry(p).or_default() += f.sales;
        }
        if let Some(b) = &f.buyer {
            *buyers.entry(b).or_default() += f.sales;
        }
    }
    (
        sales,
        revenue,
        extra + producers.values().filter(|s| **s > 0).count() as i64,
        buyers.values().filter(|s| **s > 0).count() as i64,
    )
}

fn figures_of(v: &Value) -> (i64, i64, i64, i64) {
    (
        v["sales"].as_i64().unwrap(),
        v["revenue_satang"].as_i64().unwrap(),
        v["beneficiaries"].as_i64().unwrap(),
        v["buyers"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn every_figure_agrees_with_the_orders_and_records_at_every_level_and_period() {
    let w = long_world().await;
    let mut rng = StdRng::seed_from_u64(11);
    // Sellers in three districts of two provinces: (LAO, district, province, token, producers).
    let maepa_farmer = w.app.add_producer(MAE_PA, "สวนแม่ปะ").await;
    let maesot_second = w.app.add_producer(MAE_SOT, "สวนลุงมา").await;
    let pao_group = w.app.add_producer(TAK_PAO, "กลุ่มแปรรูปตาก").await;
    let chan_farmer = w.app.add_producer(CHANTHABURI_LAO, "สวนทุเรียนจันท์").await;
    let sellers: Vec<(&'static str, &'static str, &'static str, Account, i64)> = vec![
        (MAE_SOT, "6306", "63", w.staff.clone(), w.producer_id),
        (MAE_SOT, "6306", "63", w.staff.clone(), maesot_second),
        (
            MAE_PA,
            "6306",
            "63",
            w.other_lao_staff.clone(),
            maepa_farmer,
        ),
        (TAK_PAO, "6301", "63", w.admin.clone(), pao_group),
        (CHANTHABURI_LAO, "2201", "22", w.admin.clone(), chan_farmer),
    ];
    let mut windows = Vec::new();
    for (_, _, _, token, producer) in &sellers {
        windows.push(window_now(&w, token, *producer, 100_000).await);
    }
    let phones = ["0810000001", "0810000002", "0810000003", "0810000004"];
    let mut expected: Vec<Expected> = Vec::new();
    let mut paid: Vec<(String, usize, String, i64)> = Vec::new();
    for _ in 0..36 {
        w.app.clock.advance(Duration::hours(rng.gen_range(0..26)));
        let s = rng.gen_range(0..sellers.len());
        let win = &windows[s];
        let phone = phones[rng.gen_range(0..phones.len())];
        let small = rng.gen_range(1..4);
        let boxes = rng.gen_range(0..3);
        let mut lines = vec![json!({"variant_id": variant(win, 1), "quantity": small})];
        if boxes > 0 {
            lines.push(json!({"variant_id": variant(win, 5), "quantity": boxes}));
        }
        let o = order(&w, win, json!(lines), phone).await;
        let code = o["code"].as_str().unwrap().to_string();
        let revenue = o["subtotal_satang"].as_i64().unwrap();
        match rng.gen_range(0..4) {
            0 => {} // left unpaid (it expires): no sale
            1 => {
                let res = w
                    .app
                    .post(&format!("/v1/orders/{code}/cancel"))
                    .header("X-Order-Secret", o["secret"].as_str().unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
            _ => {
                pay(&w, &code).await;
                let (lao, district, province, _, producer) = &sellers[s];
                expected.push(Expected {
                    lao,
                    district,
                    province,
                    producer: Some(*producer),
                    buyer: Some(phone.to_string()),
                    date: (w.app.clock.now() + Duration::hours(7)).date_naive(),
                    sales: 1,
                    revenue,
                    source: "preorder",
                    extra: 0,
                });
                paid.push((code, s, phone.to_string(), revenue));
            }
        }
    }
    // Some paid orders are refunded later, a few after the fiscal year turned.
    for (i, (code, s, phone, revenue)) in paid.iter().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        if i % 2 == 0 {
            w.app.clock.set(utc(2026, 10, 2, 3, 0, 0));
        }
        refund(&w, code).await;
        let (lao, district, province, _, producer) = &sellers[*s];
        expected.push(Expected {
            lao,
            district,
            province,
            producer: Some(*producer),
            buyer: Some(phone.clone()),
            date: (w.app.clock.now() + Duration::hours(7)).date_naive(),
            sales: -1,
            revenue: -revenue,
            source: "preorder",
            extra: 0,
        });
    }
    // Sales recorded by the LAOs: named producers and groups, by day or month, either side of
    // the turn of the fiscal year.
    w.app.clock.set(utc(2026, 10, 20, 3, 0, 0));
    let days = [
        "2026-05-15",
        "2026-06-30",
        "2026-07-01",
        "2026-09-30",
        "2026-10-01",
        "2026-10-19",
    ];
    for i in 0..14 {
        let s = rng.gen_range(0..sellers.len());
        let (lao, district, province, token, producer) = &sellers[s];
        let count = rng.gen_range(1..30);
        let revenue = rng.gen_range(0..2_000_000);
        let several = i % 4 == 0;
        let by_month = i % 3 == 0;
        let day = NaiveDate::parse_from_str(days[i % days.len()], "%Y-%m-%d").unwrap();
        let channel = ["facebook", "tiktok", "line", "phone"][i % 4];
        let mut body = json!({"channel": channel,
                              "sales_count": count, "revenue_satang": revenue});
        if several {
            body["producer_count"] = json!(2 + i as i64);
        } else {
            body["producer_id"] = json!(producer);
        }
        let date = if by_month {
            body["month"] = json!(day.format("%Y-%m").to_string());
            day.with_day0(0).unwrap()
        } else {
            body["date"] = json!(day.to_string());
            day
        };
        let (status, created) = record(&w, token, lao, body).await;
        assert_eq!(status, 201, "{created}");
        expected.push(Expected {
            lao,
            district,
            province,
            producer: (!several).then_some(*producer),
            buyer: None,
            date,
            sales: count,
            revenue,
            source: "recorded",
            extra: if several { 2 + i as i64 } else { 0 },
        });
    }
    assert!(expected.iter().any(|e| e.sales < 0), "some refunds");

    // Every level, period and grouping against the recomputed figures.
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let periods: Vec<(String, NaiveDate, NaiveDate)> = vec![
        ("fiscal_year=2569".into(), d("2025-10-01"), d("2026-09-30")),
        ("fiscal_year=2570".into(), d("2026-10-01"), d("2027-09-30")),
        ("month=2026-06".into(), d("2026-06-01"), d("2026-06-30")),
        ("month=2026-07".into(), d("2026-07-01"), d("2026-07-31")),
        ("quarter=2026-Q3".into(), d("2026-07-01"), d("2026-09-30")),
        ("day=2026-06-30".into(), d("2026-06-30"), d("2026-06-30")),
        (
            "from=2026-06-10&to=2026-10-01".into(),
            d("2026-06-10"),
            d("2026-10-01"),
        ),
    ];
    type InArea = Box<dyn Fn(&Expected) -> bool>;
    let areas: Vec<(String, InArea)> = vec![
        ("level=national".into(), Box::new(|_| true)),
        (
            "level=province&code=63".into(),
            Box::new(|e| e.province == "63"),
        ),
        (
            "level=province&code=22".into(),
            Box::new(|e| e.province == "22"),
        ),
        (
            "level=district&code=6306".into(),
            Box::new(|e| e.district == "6306"),
        ),
        (
            "level=district&code=6301".into(),
            Box::new(|e| e.district == "6301"),
        ),
        (
            format!("level=lao&code={MAE_SOT}"),
            Box::new(|e| e.lao == MAE_SOT),
        ),
        (
            format!("level=lao&code={MAE_PA}"),
            Box::new(|e| e.lao == MAE_PA),
        ),
        (
            format!("level=lao&code={TAK_PAO}"),
            Box::new(|e| e.lao == TAK_PAO),
        ),
    ];
    for (area, in_area) in &areas {
        for (period, from, to) in &periods {
            let in_scope: Vec<&Expected> = expected
                .iter()
                .filter(|e| in_area(e) && e.date >= *from && e.date <= *to)
                .collect();
            let report = feed(&w, &w.admin, &format!("{area}&{period}&group_by=source")).await;
            assert_eq!(
                figures_of(&report["total"]),
                expected_figures(&in_scope),
                "{area} {period}"
            );
            for source in ["preorder", "recorded"] {
                let of_source: Vec<&Expected> = in_scope
                    .iter()
                    .copied()
                    .filter(|e| e.source == source)
                    .collect();
                assert_eq!(
                    figures_of(row(&report, source)),
                    expected_figures(&of_source),
                    "{area} {period} {source}"
                );
            }
            // One row per area below (provinces, districts or LAOs), each with its own facts.
            let by_area = feed(&w, &w.admin, &format!("{area}&{period}&group_by=area")).await;
            for r in by_area["rows"].as_array().unwrap() {
                let key = r["key"].as_str().unwrap();
                let of_area: Vec<&Expected> = in_scope
                    .iter()
                    .copied()
                    .filter(|e| {
                        if area.starts_with("level=national") {
                            e.province == key
                        } else if area.starts_with("level=province") {
                            e.district == key
                        } else {
                            e.lao == key
                        }
                    })
                    .collect();
                assert_eq!(
                    figures_of(r),
                    expected_figures(&of_area),
                    "{area} {period} {key}"
                );
            }
            let by_lao = feed(&w, &w.admin, &format!("{area}&{period}&group_by=lao")).await;
            for r in by_lao["rows"].as_array().unwrap() {
                let of_lao: Vec<&Expected> = in_scope
                    .iter()
                    .copied()
                    .filter(|e| e.lao == r["key"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    figures_of(r),
                    expected_figures(&of_lao),
                    "{area} {period} {}",
                    r["key"]
                );
            }
        }
    }
    // The national rows by province, and by month.
    let by_province = feed(&w, &w.admin, "level=national&fiscal_year=2569").await;
    for p in ["63", "22", "10"] {
        let of: Vec<&Expected> = expected
            .iter()
            .filter(|e| e.province == p && e.date <= d("2026-09-30"))
            .collect();
        assert_eq!(
            figures_of(row(&by_province, p)),
            expected_figures(&of),
            "{p}"
        );
    }
    let by_month = feed(
        &w,
        &w.admin,
        "level=national&from=2026-05-01&to=2026-10-31&group_by=month",
    )
    .await;
    for r in by_month["rows"].as_array().unwrap() {
        let month = r["key"].as_str().unwrap();
        let of: Vec<&Expected> = expected
            .iter()
            .filter(|e| e.date.format("%Y-%m").to_string() == month)
            .collect();
        assert_eq!(figures_of(r), expected_figures(&of), "{month}");
    }
    let by_month = feed(
        &w,
        &w.admin,
        "level=province&code=63&fiscal_year=2569&group_by=month",
    )
    .await;
    assert_eq!(by_month["rows"].as_array().unwrap().len(), 12);
    for r in by_month["rows"].as_array().unwrap() {
        let month = r["key"].as_str().unwrap();
        let of: Vec<&Expected> = expected
            .iter()
            .filter(|e| e.province == "63" && e.date.format("%Y-%m").to_string() == month)
            .collect();
        assert_eq!(figures_of(r), expected_figures(&of), "63 {month}");
    }

    // The incremental feed read from the start adds up to the same totals.
    let admin = token(&w, &w.admin).await;
    let (mut after, mut sales, mut revenue, mut seen) = (0_i64, 0_i64, 0_i64, 0);
    loop {
        let (_, page) = json(
            w.app
                .get(&format!("/v1/stats/events?after={after}&limit=7"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        for e in items {
            sales += e["sales"].as_i64().unwrap();
            revenue += e["revenue_satang"].as_i64().unwrap();
            seen += 1;
        }
        after = page["next_after"].as_i64().unwrap();
    }
    let all: Vec<&Expected> = expected.iter().collect();
    let (want_sales, want_revenue, _, _) = expected_figures(&all);
    assert_eq!((sales, revenue), (want_sales, want_revenue));
    assert!(seen >= expected.len());

    // The kept totals the writer built equal what the migration's backfill builds from the facts.
    let written = kept_totals(&w);
    assert!(written.len() > 50, "{written:?}");
    let backend = if w.app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let migration = std::fs::read_to_string(format!(
        "migrations/{backend}/2026-11-29-000012_sale_area_totals/up.sql"
    ))
    .unwrap();
    let (_, backfill) = migration.split_once("-- backfill").unwrap();
    let backfill = backfill.split_once('\n').unwrap().1;
    {
        use diesel::connection::SimpleConnection;
        let mut conn = w.app.state.pool.get().unwrap();
        conn.batch_execute("DELETE FROM sale_area_people; DELETE FROM sale_area_totals;")
            .unwrap();
        conn.batch_execute(backfill).unwrap();
    }
    assert_eq!(kept_totals(&w), written);
}

/// Every row of the kept totals and people, as sorted text.
fn kept_totals(w: &World) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let mut conn = w.app.state.pool.get().unwrap();
    let mut lines: Vec<String> = diesel::sql_query(
        "SELECT 'T ' || period || ' ' || level || ' ' || area || ' ' || province_code || ' ' \
           || district_code || ' ' || CAST(sales AS TEXT) || ' ' || CAST(units AS TEXT) || ' ' \
           || CAST(revenue_satang AS TEXT) || ' ' || CAST(beneficiaries_extra AS TEXT) || ' ' \
           || CAST(producers AS TEXT) || ' ' || CAST(buyers AS TEXT) AS line \
         FROM sale_area_totals \
         UNION ALL \
         SELECT 'P ' || period || ' ' || level || ' ' || area || ' ' || role || ' ' || person_key \
           || ' ' || CAST(sales AS TEXT) FROM sale_area_people",
    )
    .load::<Line>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|l| l.line)
    .collect();
    lines.sort();
    lines
}

/// Writers confirm payments in parallel while a reader polls the incremental feed: the reader
/// ends with every fact exactly once.
#[tokio::test]
async fn a_reader_polling_while_payments_are_confirmed_sees_every_fact_exactly_once() {
    let w = World::new().await;
    let win = window(&w, 10_000, json!({})).await;
    let mut codes = Vec::new();
    for i in 0..48 {
        let o = order(
            &w,
            &win,
            json!([{"variant_id": variant(&win, 1), "quantity": 1}, {"variant_id": variant(&win, 5), "quantity": 1}]),
            &format!("08100{:05}", i),
        )
        .await;
        codes.push(o["code"].as_str().unwrap().to_string());
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let base = w.app.address.clone();
    let reader = {
        let client = w.app.client.clone();
        let token = w.admin.token.clone();
        let done = done.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let mut after = 0_i64;
            let mut seen: Vec<i64> = Vec::new();
            let mut polls = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let res = client
                    .get(format!("{base}/v1/stats/events?after={after}&limit=5"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let page: Value = res.json().await.unwrap();
                polls += 1;
                let items = page["items"].as_array().unwrap();
                for e in items {
                    seen.push(e["cursor"].as_i64().unwrap());
                }
                after = page["next_after"].as_i64().unwrap();
                if items.is_empty() && finished {
                    return (seen, polls);
                }
            }
        })
    };
    let mut writers = Vec::new();
    for chunk in codes.chunks(6) {
        let client = w.app.client.clone();
        let token = w.admin.token.clone();
        let chunk = chunk.to_vec();
        let base = base.clone();
        writers.push(tokio::spawn(async move {
            for code in chunk {
                let res = client
                    .post(format!("{base}/v1/orders/{code}/payment"))
                    .bearer_auth(&token)
                    .json(&json!({"reference": "โอน"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (seen, polls) = reader.await.unwrap();
    assert!(polls > 2, "the reader polled while payments were made");
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no fact twice");
    assert_eq!(seen.len(), 96, "two facts per order, none missed");
    let report = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(report["total"]["sales"], 48);
}

#[tokio::test]
async fn a_report_token_pulls_the_sheet_with_no_headers_for_its_area_only() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let o = order(
        &w,
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 4}]),
        "0891234567",
    )
    .await;
    pay(&w, o["code"].as_str().unwrap()).await;
    let make = |who: &Account, body: Value| {
        let req = w
            .app
            .post("/v1/report-tokens")
            .bearer_auth(&who.token)
            .json(&body);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, made) = make(
        &w.district_officer,
        json!({"level": "district", "code": "6306", "label": "Google Sheet อำเภอแม่สอด"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("kdr_") && token.len() > 40, "{token}");
    assert!(token.starts_with(made["token_prefix"].as_str().unwrap()));
    // Only one's own area, and only officers and LAO staff.
    for (who, body, expected) in [
        (
            &w.district_officer,
            json!({"level": "province", "code": "63", "label": "x"}),
            403,
        ),
        (
            &w.staff,
            json!({"level": "lao", "code": MAE_PA, "label": "x"}),
            403,
        ),
        (
            &w.staff,
            json!({"level": "lao", "code": MAE_SOT, "label": "ของเรา"}),
            201,
        ),
        (
            &w.producer,
            json!({"level": "lao", "code": MAE_SOT, "label": "x"}),
            403,
        ),
        (&w.admin, json!({"level": "national", "label": "  "}), 422),
    ] {
        assert_eq!(make(who, body.clone()).await.0, expected, "{body}");
    }

    // Google Sheets' IMPORTDATA sends no headers at all: the token rides in the URL.
    let url = w.app.url(&format!(
        "/v1/stats/sales.csv?level=district&code=6306&fiscal_year=2569&token={token}"
    ));
    let res = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[5], "อปท.");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let maesot = rows.iter().find(|r| &r[4] == MAE_SOT).unwrap();
    assert_eq!((&maesot[7], &maesot[8]), ("1", "360.00"));
    // As a bearer token too, for its LAOs; not for other areas.
    let get = |path: String, token: String| {
        let req = w.app.get(&path).bearer_auth(token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        get(
            format!("/v1/stats/sales?level=lao&code={MAE_PA}"),
            token.clone()
        )
        .await,
        200
    );
    assert_eq!(get("/v1/stats/events".into(), token.clone()).await, 403);
    assert_eq!(
        get(
            "/v1/stats/events?level=district&code=6306".into(),
            token.clone()
        )
        .await,
        200
    );
    assert_eq!(
        get(
            "/v1/stats/sales?level=district&code=6301".into(),
            token.clone()
        )
        .await,
        403
    );
    assert_eq!(
        get(
            "/v1/stats/sales?level=province&code=63".into(),
            token.clone()
        )
        .await,
        403
    );
    // A report token is for figures only.
    assert_eq!(get("/v1/orders".into(), token.clone()).await, 401);

    // Listed without the secret, to those who manage the area; revoked at once.
    let (_, list) = json(
        w.app
            .get("/v1/report-tokens")
            .bearer_auth(&w.province_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let labels: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["ของเรา", "Google Sheet อำเภอแม่สอด"], "{list}");
    assert!(!list.to_string().contains(&token));
    let (_, theirs) = json(
        w.app
            .get("/v1/report-tokens")
            .bearer_auth(&w.other_lao_staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(theirs, json!([]));
    let res = w
        .app
        .delete(&format!("/v1/report-tokens/{}", made["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = w
        .app
        .delete(&format!("/v1/report-tokens/{}", made["id"]))
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = reqwest::Client::new().get(&url).send().await.unwrap();
    let problem = assert_problem(res, 401, "invalid_token").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    let res = reqwest::Client::new()
        .get(w.app.url("/v1/stats/sales?level=national&token=kdr_forged"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn content_links_count_once_and_tell_which_hashtags_are_missing() {
    let w = World::new().await;
    let required = [
        "#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา",
        "#ของดีบ้านเรา",
        "#เที่ยวท้องถิ่น",
        "#จังหวัดตาก",
        "#อำเภอแม่สอด",
        "#เทศบาลนครแม่สอด",
    ];
    let post = |who: &Account, body: Value| {
        let req = w
            .app
            .post(&format!("/v1/laos/{MAE_SOT}/content-links"))
            .bearer_auth(&who.token)
            .json(&body);
        async move { json(req.send().await.unwrap()).await }
    };
    // Every tag, written as people write them: without '#', other case, a zero-width space.
    let (status, full) = post(
        &w.staff,
        json!({"url": "https://www.facebook.com/maesot.city/posts/1?fbclid=xyz", "posted_on": "2026-05-30",
               "hashtags": ["ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา", "#ของดี\u{200b}บ้านเรา", "#เที่ยวท้องถิ่น",
                            "#จังหวัดตาก", "#อำเภอแม่สอด", "#เทศบาลนครแม่สอด", "#ลำไย"]}),
    )
    .await;
    assert_eq!(status, 201, "{full}");
    assert_eq!(full["platform"], "facebook");
    assert_eq!(full["missing_hashtags"], json!([]), "{full}");
    assert_eq!(full["required_hashtags"], json!(required));
    let (status, partial) = post(
        &w.staff,
        json!({"url": "https://vt.tiktok.com/ZSabc/", "posted_on": "2026-05-31",
               "hashtags": ["#ของดีบ้านเรา"]}),
    )
    .await;
    assert_eq!(status, 201, "{partial}");
    assert_eq!(partial["platform"], "tiktok");
    assert_eq!(partial["missing_hashtags"].as_array().unwrap().len(), 5);
    // The same post again, with tracking parameters or on the mobile host: refused.
    let (status, dup) = post(
        &w.staff,
        json!({"url": "http://m.facebook.com/maesot.city/posts/1/?utm_source=line", "posted_on": "2026-05-30"}),
    )
    .await;
    assert_eq!(status, 409, "{dup}");
    // A producer, for their own product; not for another's; another LAO's staff do not see it.
    let product = product(&w).await;
    let (status, by_farmer) = post(
        &w.producer,
        json!({"url": "https://www.youtube.com/watch?v=longan", "posted_on": "2026-06-01", "product_ids": [product]}),
    )
    .await;
    assert_eq!(status, 201, "{by_farmer}");
    assert_eq!(by_farmer["producer_id"], w.producer_id);
    let (status, _) = post(
        &w.other_lao_staff,
        json!({"url": "https://x.com/a/status/1", "posted_on": "2026-06-01"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, bad) = post(
        &w.staff,
        json!({"url": "https://www.facebook.com/maesot.city/posts/9", "posted_on": "2030-01-01", "hashtags": ["#"], "product_ids": [999999]}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(
        problem_fields(&bad),
        vec!["hashtags[0]", "posted_on", "product_ids[0]"],
        "{bad}"
    );
    let (status, bad) = post(
        &w.staff,
        json!({"url": "ftp://example.com/x", "posted_on": "2026-05-01"}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(problem_fields(&bad), vec!["url"], "{bad}");

    // The feed counts them per LAO, and the sheet lists their URLs.
    let district = feed(
        &w,
        &w.district_officer,
        "level=district&code=6306&fiscal_year=2569",
    )
    .await;
    let maesot = row(&district, MAE_SOT);
    assert_eq!(
        (
            maesot["content_links"].as_i64(),
            maesot["content_links_with_hashtags"].as_i64()
        ),
        (Some(3), Some(1)),
        "{district}"
    );
    assert_eq!(row(&district, MAE_PA)["content_links"], 0);
    assert_eq!(district["total"]["content_links"], 3);
    let res = w
        .app
        .get("/v1/stats/sales.csv?level=district&code=6306&fiscal_year=2569")
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let maesot = rows.iter().find(|r| &r[4] == MAE_SOT).unwrap();
    let urls: Vec<&str> = maesot[6].lines().collect();
    assert_eq!(urls.len(), 3, "{:?}", &maesot[6]);
    assert!(urls.contains(&"https://vt.tiktok.com/ZSabc/"));
    assert_eq!((&maesot[11], &maesot[12]), ("3", "1"));

    // Removed: it no longer counts; a producer removes only their own.
    let res = w
        .app
        .delete(&format!("/v1/content-links/{}", full["id"]))
        .bearer_auth(&w.producer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = w
        .app
        .delete(&format!("/v1/content-links/{}", by_farmer["id"]))
        .bearer_auth(&w.producer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, list) = json(
        w.app
            .get(&format!(
                "/v1/laos/{MAE_SOT}/content-links?fiscal_year=2569"
            ))
            .bearer_auth(&w.district_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let by_month = feed(
        &w,
        &w.staff,
        &format!("level=lao&code={MAE_SOT}&from=2026-05-01&to=2026-06-30&group_by=month"),
    )
    .await;
    assert_eq!(row(&by_month, "2026-05")["content_links"], 2);
    assert_eq!(row(&by_month, "2026-06")["content_links"], 0);
}

#[tokio::test]
async fn lao_reports_are_frozen_reviewed_versioned_and_counted_in_coverage() {
    let w = World::new().await;
    let sale = |date: &str| {
        json!({"producer_id": w.producer_id, "date": date, "channel": "facebook",
               "sales_count": 3, "revenue_satang": 90000})
    };
    let (status, may_sale) = record(&w, &w.staff, MAE_SOT, sale("2026-05-20")).await;
    assert_eq!(status, 201, "{may_sale}");
    let submit = |who: &Account, lao: &str, body: Value| {
        let req = w
            .app
            .post(&format!("/v1/laos/{lao}/reports"))
            .bearer_auth(&who.token)
            .json(&body);
        async move { json(req.send().await.unwrap()).await }
    };
    let review = |who: &Account, id: i64, body: Value| {
        let req = w
            .app
            .post(&format!("/v1/reports/{id}/review"))
            .bearer_auth(&who.token)
            .json(&body);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, v1) = submit(&w.staff, MAE_SOT, json!({"month": "2026-05"})).await;
    assert_eq!(status, 201, "{v1}");
    assert_eq!(
        (
            v1["version"].as_i64(),
            v1["status"].as_str(),
            v1["fiscal_year"].as_i64()
        ),
        (Some(1), Some("submitted"), Some(2569))
    );
    assert_eq!(v1["figures"]["sales"], 3);
    assert_eq!(v1["figures"]["revenue_satang"], 90000);
    // Only one version awaits review; another LAO's staff cannot submit for it; no future period.
    assert_eq!(
        submit(&w.staff, MAE_SOT, json!({"month": "2026-05"}))
            .await
            .0,
        409
    );
    assert_eq!(
        submit(&w.other_lao_staff, MAE_SOT, json!({"month": "2026-05"}))
            .await
            .0,
        404
    );
    assert_eq!(
        submit(&w.staff, MAE_SOT, json!({"month": "2026-07"}))
            .await
            .0,
        422
    );
    assert_eq!(
        submit(&w.staff, MAE_SOT, json!({"month": "2026-05", "half": 1}))
            .await
            .0,
        422
    );
    // The district returns it (with a comment); staff cannot review; the LAO submits again.
    let id = v1["id"].as_i64().unwrap();
    assert_eq!(
        review(&w.staff, id, json!({"decision": "accept"})).await.0,
        403
    );
    assert_eq!(
        review(&w.other_district_officer, id, json!({"decision": "accept"}))
            .await
            .0,
        404
    );
    assert_eq!(
        review(&w.district_officer, id, json!({"decision": "return"}))
            .await
            .0,
        422
    );
    let (status, returned) = review(
        &w.district_officer,
        id,
        json!({"decision": "return", "comment": "ขาดลิงก์โพสต์"}),
    )
    .await;
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["status_th"], "ส่งกลับให้แก้ไข");
    // Coverage counts a submitted report even when returned.
    let cov = |query: &str, who: &Account| {
        let req = w
            .app
            .get(&format!("/v1/stats/coverage?{query}"))
            .bearer_auth(&who.token);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, district) = cov("level=district&code=6306", &w.district_officer).await;
    assert_eq!(status, 200, "{district}");
    assert_eq!(
        (
            district["laos"].as_i64(),
            district["submitted"].as_i64(),
            district["accepted"].as_i64(),
            district["submitted_share"].as_f64()
        ),
        (Some(2), Some(1), Some(0), Some(0.5))
    );
    assert_eq!(
        district["target_share"], 0.8,
        "June is in the second half: {district}"
    );
    assert_eq!(district["target_due"], "2026-09-30");
    assert_eq!(district["submitted_meets_target"], false);
    assert_eq!(district["not_reported"][0]["dla_code"], MAE_PA);
    assert_eq!(district["not_reported"].as_array().unwrap().len(), 1);
    // A fiscal year that has not begun: as of its first day, nothing reported yet; a `date`
    // before it is refused.
    let (status, next) = cov(
        "level=district&code=6306&fiscal_year=2571",
        &w.district_officer,
    )
    .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(
        (next["as_of"].as_str(), next["submitted"].as_i64()),
        (Some("2027-10-01"), Some(0))
    );
    let (status, refused) = cov(
        "level=district&code=6306&fiscal_year=2571&date=2026-06-01",
        &w.district_officer,
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["errors"][0]["code"], "before_fiscal_year");

    let (status, v2) = submit(
        &w.staff,
        MAE_SOT,
        json!({"month": "2026-05", "note": "แก้แล้ว"}),
    )
    .await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);
    let (status, accepted) = review(
        &w.district_officer,
        v2["id"].as_i64().unwrap(),
        json!({"decision": "accept"}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(
        review(
            &w.district_officer,
            v2["id"].as_i64().unwrap(),
            json!({"decision": "accept"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        submit(&w.staff, MAE_SOT, json!({"month": "2026-05"}))
            .await
            .0,
        409
    );
    let (_, history) = json(
        w.app
            .get(&format!("/v1/laos/{MAE_SOT}/reports"))
            .bearer_auth(&w.province_officer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["accepted", "returned"],
        "every version stays"
    );

    // An accepted month is final: its recorded sales no longer change; June's still do.
    let res = w
        .app
        .delete(&format!("/v1/recorded-sales/{}", may_sale["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "conflict").await;
    assert_eq!(
        record(&w, &w.staff, MAE_SOT, sale("2026-05-02")).await.0,
        409
    );
    assert_eq!(
        record(&w, &w.staff, MAE_SOT, sale("2026-06-01")).await.0,
        201
    );

    // The halves: by 31 March the target is 50%, from 1 April 80%; a report made in June does
    // not count as of March.
    let (_, march) = cov(
        "level=district&code=6306&date=2026-03-31",
        &w.district_officer,
    )
    .await;
    assert_eq!(
        (march["target_share"].as_f64(), march["target_due"].as_str()),
        (Some(0.5), Some("2026-03-31"))
    );
    assert_eq!(march["submitted"], 0);
    let (_, april) = cov(
        "level=district&code=6306&date=2026-04-01",
        &w.district_officer,
    )
    .await;
    assert_eq!(april["target_share"], 0.8);
    let (_, national) = cov("level=national&fiscal_year=2569", &w.admin).await;
    assert_eq!(
        (national["laos"].as_i64(), national["accepted"].as_i64()),
        (Some(4), Some(1))
    );
    assert_eq!(national["accepted_share"], 0.25);
    assert_eq!(
        cov("level=province&code=63", &w.other_province_officer)
            .await
            .0,
        403
    );
    assert_eq!(
        cov(
            "level=district&code=6306&date=2025-09-30&fiscal_year=2569",
            &w.district_officer
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn recorded_sales_import_from_a_thai_excel_file_all_or_nothing() {
    let w = World::new().await;
    let upload = |bytes: Vec<u8>, content_type: &str| {
        let req = w
            .app
            .post(&format!("/v1/laos/{MAE_SOT}/recorded-sales/import"))
            .bearer_auth(&w.staff.token)
            .header("Content-Type", content_type)
            .body(bytes);
        async move { json(req.send().await.unwrap()).await }
    };
    let good = format!(
        "วันที่,เดือน,รหัสผู้ผลิต,จำนวนผู้ผลิต,ช่องทาง,จำนวนครั้งที่ขาย,รายรับ (บาท),ลิงก์,หมายเหตุ\r\n\
         14/5/2569,,{p},,เฟซบุ๊ก,12,\"5,400.50\",https://www.facebook.com/maesot/posts/1,ไลฟ์ขายลำไย\r\n\
         ,4/2569,,3,TikTok,5,1000,,\r\n\
         2026-05-31,,{p},,โทรศัพท์,2,300,,\r\n",
        p = w.producer_id
    );
    // As Thai Excel saves it: Windows-874.
    let (legacy, _, unmappable) = encoding_rs::WINDOWS_874.encode(&good);
    assert!(!unmappable);
    let (status, body) = upload(legacy.into_owned(), "text/csv").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["imported"].as_i64(), body["encoding"].as_str()),
        (Some(3), Some("windows-874"))
    );
    assert_eq!(body["items"][0]["date"], "2026-05-14");
    assert_eq!(body["items"][0]["revenue_satang"], 540050);
    assert_eq!(body["items"][1]["month"], "2026-04");
    assert_eq!(body["items"][2]["channel"], "phone");
    let year = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(year["total"]["sales"], 19);
    assert_eq!(year["total"]["beneficiaries"], 4);

    // One file with a good row and bad ones: every bad cell named by line and column, nothing
    // recorded.
    let bad = format!(
        "วันที่,รหัสผู้ผลิต,ช่องทาง,จำนวนครั้งที่ขาย,รายรับ (บาท)\n\
         2026-05-20,{p},line,1,100\n\
         2026-05-21,{p},myspace,1,12.345\n\
         31/2/2569,999999,facebook,x,100\n",
        p = w.producer_id
    );
    let (status, problem) = upload(bad.into_bytes(), "text/csv; charset=utf-8").await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem.to_string().contains("facebook, tiktok"),
        "the channels are named: {problem}"
    );
    assert_eq!(
        problem_fields(&problem),
        vec![
            "line 3: ช่องทาง",
            "line 3: รายรับ (บาท)",
            "line 4: จำนวนครั้งที่ขาย",
            "line 4: วันที่"
        ],
        "{problem}"
    );
    let (status, problem) = upload(
        "วันที่,รหัสผู้ผลิต,ช่องทาง,จำนวนครั้งที่ขาย,รายรับ (บาท)\n2026-05-20,999999,line,1,100\n"
            .as_bytes()
            .to_vec(),
        "text/csv",
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        problem_fields(&problem),
        vec!["line 2: รหัสผู้ผลิต"],
        "{problem}"
    );
    let (status, problem) =
        upload("วันที่,ยอดรวม\n2026-05-20,1\n".as_bytes().to_vec(), "text/csv").await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&problem), vec!["line 1: ยอดรวม"]);
    assert_eq!(
        upload(good.clone().into_bytes(), "application/json")
            .await
            .0,
        415
    );
    let year = feed(&w, &w.staff, &format!("level=lao&code={MAE_SOT}")).await;
    assert_eq!(year["total"]["sales"], 19, "nothing half-imported");
}

#[tokio::test]
async fn the_printable_report_shows_the_table_the_coverage_and_a_chart() {
    let w = World::new().await;
    let win = window(&w, 1000, json!({})).await;
    let o = order(
        &w,
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 30}]),
        "0891234567",
    )
    .await;
    pay(&w, o["code"].as_str().unwrap()).await;
    let (status, _) = json(
        w.app
            .post(&format!("/v1/laos/{MAE_SOT}/reports"))
            .bearer_auth(&w.staff.token)
            .json(&json!({"month": "2026-05"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let res = w
        .app
        .get("/v1/stats/report.html?level=district&code=6306&fiscal_year=2569")
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html><html lang=\"th\">"));
    for part in [
        "อำเภอแม่สอด",
        "เทศบาลนครแม่สอด",
        "องค์การบริหารส่วนตำบลแม่ปะ",
        "12,750.00",
        "ส่งรายงานแล้ว 1 แห่ง",
        "50.0%",
        "เป้าหมาย 80.0%",
        "<svg",
        "@page { size: A4",
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    assert!(!html.contains("<script"), "a page that prints as it is");
    assert_eq!(
        w.app
            .get("/v1/stats/report.html?level=province&code=63")
            .bearer_auth(&w.district_officer.token)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

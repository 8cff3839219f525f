//! Authorization matrix: every non-public route against every role, with a second LAO's staff
//! and a second area's officers, asserting allowed vs 401/403/404. A route added to the API
//! without a row here fails `every_protected_route_is_in_the_matrix`.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Callers, in the order of the expectation arrays.
const WHO: [&str; 10] = [
    "anonymous",
    "admin",
    "province_officer",
    "other_province_officer",
    "district_officer",
    "other_district_officer",
    "lao_staff",
    "other_lao_staff",
    "partner",
    "producer",
];

struct Case {
    method: Method,
    /// The route as the OpenAPI document names it.
    route: &'static str,
    /// The concrete path to call: one for every caller, or one per caller (deletions).
    path: Vec<String>,
    /// The body for the n-th call (so creations do not collide).
    body: fn(usize) -> Option<Value>,
    expect: [u16; 10],
}

fn none(_: usize) -> Option<Value> {
    None
}

thread_local! {
    /// Bodies that need ids made during set-up: each test runs on its own thread (tokio's
    /// current-thread runtime), so two matrices running at once do not share them.
    static DISPATCH_WINDOW: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
    /// Ready pickup orders, one per caller, taken in turn.
    static PICKUP_CODES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn dispatch_window_body(_: usize) -> Option<Value> {
    let window = DISPATCH_WINDOW.with(std::cell::Cell::get);
    Some(json!({"carrier": "local", "dispatch_date": "2026-06-02", "window_id": window}))
}

fn next_pickup_body(_: usize) -> Option<Value> {
    let code = PICKUP_CODES
        .with(|codes| codes.borrow_mut().pop())
        .unwrap_or_default();
    Some(json!({"code": code}))
}

/// A small PNG uploaded to a product by the LAO's staff; the photo.
async fn upload_photo(w: &World, product: i64) -> Value {
    let img = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 120, 40]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let (status, body) = json(
        w.app
            .post(&format!("/v1/products/{product}/photos"))
            .bearer_auth(&w.staff.token)
            .header("content-type", "image/png")
            .body(png.into_inner())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A batch of the LAO's staff with one ready carrier order; its id and the order's code.
async fn staff_batch(w: &World, window: &Value, n: usize) -> (i64, String) {
    let code = crate::logistics::ready_order(w, window, true, n).await.0;
    let (status, body) = json(
        w.app
            .post("/v1/dispatch-batches")
            .bearer_auth(&w.staff.token)
            .json(
                &json!({"carrier": "local", "dispatch_date": "2026-06-02", "order_codes": [code]}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_i64().unwrap(), code)
}

async fn call(
    app: &TestApp,
    case: &Case,
    who: usize,
    token: Option<&str>,
    n: usize,
) -> (u16, String) {
    let path = case.path.get(who).unwrap_or(&case.path[0]);
    let mut req = app.request(case.method.clone(), path);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = (case.body)(n) {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap_or_default();
    if status >= 400 {
        assert!(
            content_type.starts_with("application/problem+json"),
            "{} {path}: {status} without problem+json: {text}",
            case.method
        );
    }
    (status, text)
}

async fn cases(w: &World) -> Vec<Case> {
    let app = &w.app;
    let target_staff = app
        .create_account("target.staff", khongdee::auth::Role::LaoStaff, MAE_SOT)
        .await;
    let target_partner = app.partner("เป้าหมาย", &["orders:read"], &[]).await.id;
    let target_secret = app.partner("หมุนรหัส", &["orders:read"], &[]).await.id;
    let target_producer = app.add_producer(MAE_SOT, "ผู้ผลิตเป้าหมาย").await;
    let target_product = add_product(w, target_producer).await;
    let target_entry = add_entry(w, 2099).await;
    // One entry for each caller to try to delete.
    let mut deletable = Vec::new();
    for year in 2060..2070 {
        deletable.push(format!("/v1/calendar-entries/{}", add_entry(w, year).await));
    }
    let target_window = crate::market::window(w, 100, json!({})).await;
    let window_id = target_window["id"].as_i64().unwrap();
    let variant_id = target_window["variants"][0]["id"].as_i64().unwrap();
    let pickup_id = target_window["pickup_points"][0]["id"].as_i64().unwrap();
    let window_product = target_window["product"]["id"].as_i64().unwrap();
    // One pending order for each caller to try to mark paid, and one to try to move on.
    let mut payable = Vec::new();
    for i in 0..10 {
        payable.push(format!(
            "/v1/orders/{}/payment",
            pending_order(w, &target_window, i).await
        ));
    }
    let pending = pending_order(w, &target_window, 10).await;
    // The programme's report: a recorded sale to change, and one of each kind for every caller
    // to try to delete, review or revoke.
    let made = |path: String, token: String, body: Value| {
        let req = w.app.post(&path).bearer_auth(token).json(&body);
        async move {
            let (status, body) = json(req.send().await.unwrap()).await;
            assert!(status.is_success(), "{path}: {body}");
            body["id"].as_i64().unwrap()
        }
    };
    let sale = |n: i64| {
        json!({"producer_count": 2, "date": "2026-05-20", "channel": "facebook",
               "sales_count": n, "revenue_satang": 100})
    };
    let recorded = format!("/v1/laos/{MAE_SOT}/recorded-sales");
    let target_sale = made(recorded.clone(), w.staff.token.clone(), sale(1)).await;
    let (mut sales_to_delete, mut links_to_delete, mut reports_to_review, mut tokens_to_revoke) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..10 {
        let id = made(recorded.clone(), w.staff.token.clone(), sale(i + 2)).await;
        sales_to_delete.push(format!("/v1/recorded-sales/{id}"));
        let id = made(
            format!("/v1/laos/{MAE_SOT}/content-links"),
            w.staff.token.clone(),
            json!({"url": format!("https://www.facebook.com/maesot/posts/matrix-{i}"), "posted_on": "2026-05-20"}),
        )
        .await;
        links_to_delete.push(format!("/v1/content-links/{id}"));
        let id = made(
            format!("/v1/laos/{MAE_SOT}/reports"),
            w.staff.token.clone(),
            json!({"month": format!("2025-{:02}", i + 1)}),
        )
        .await;
        reports_to_review.push(format!("/v1/reports/{id}/review"));
        let id = made(
            "/v1/report-tokens".into(),
            w.admin.token.clone(),
            json!({"level": "district", "code": "6306", "label": format!("แผ่นงาน {i}")}),
        )
        .await;
        tokens_to_revoke.push(format!("/v1/report-tokens/{id}"));
    }
    // Webhooks: one endpoint of the LAO with a delivery (its test event), and one endpoint for
    // every caller to try to delete.
    let endpoint = made(
        "/v1/webhook-endpoints".into(),
        w.staff.token.clone(),
        json!({"url": "https://shop.example/hooks/matrix"}),
    )
    .await;
    let delivery = {
        let req = w
            .app
            .post(&format!("/v1/webhook-endpoints/{endpoint}/test"))
            .bearer_auth(&w.staff.token);
        let (status, body) = json(req.send().await.unwrap()).await;
        assert_eq!(status, 202, "{body}");
        body["delivery_id"].as_i64().unwrap()
    };
    let mut endpoints_to_delete = Vec::new();
    for i in 0..10 {
        let id = made(
            "/v1/webhook-endpoints".into(),
            w.staff.token.clone(),
            json!({"url": format!("https://shop.example/hooks/{i}")}),
        )
        .await;
        endpoints_to_delete.push(format!("/v1/webhook-endpoints/{id}"));
    }
    let hook = |tail: &str| vec![format!("/v1/webhook-endpoints/{endpoint}{tail}")];
    // Logistics: a batch to read and edit, batches for each caller to cancel, take an order out
    // of and hand over, a window with one ready order to batch, ready pickup orders, blackouts.
    let parcels_window = crate::market::window(w, 2000, json!({})).await;
    let (batch, _) = staff_batch(w, &parcels_window, 100).await;
    let (mut batches_to_cancel, mut orders_to_take_out, mut batches_to_hand_over) =
        (Vec::new(), Vec::new(), Vec::new());
    for i in 0..10 {
        batches_to_cancel.push(format!(
            "/v1/dispatch-batches/{}",
            staff_batch(w, &parcels_window, 110 + i).await.0
        ));
        let (id, code) = staff_batch(w, &parcels_window, 120 + i).await;
        orders_to_take_out.push(format!("/v1/dispatch-batches/{id}/orders/{code}"));
        batches_to_hand_over.push(format!(
            "/v1/dispatch-batches/{}/handover",
            staff_batch(w, &parcels_window, 130 + i).await.0
        ));
    }
    let dispatch_window = crate::market::window(w, 100, json!({})).await;
    crate::logistics::ready_order(w, &dispatch_window, true, 140).await;
    DISPATCH_WINDOW.with(|c| c.set(dispatch_window["id"].as_i64().unwrap()));
    let mut pickups = Vec::new();
    for i in 0..10 {
        pickups.push(
            crate::logistics::ready_order(w, &parcels_window, false, 150 + i)
                .await
                .0,
        );
    }
    // Taken from the end: the first caller gets the first code.
    pickups.reverse();
    PICKUP_CODES.with(|codes| *codes.borrow_mut() = pickups);
    let mut blackouts_to_delete = Vec::new();
    for i in 0..10 {
        let id = made(
            "/v1/carriers/flash/blackouts".into(),
            w.admin.token.clone(),
            json!({"first_date": format!("2026-12-{:02}", i + 1), "last_date": format!("2026-12-{:02}", i + 1), "reason": "วันหยุด"}),
        )
        .await;
        blackouts_to_delete.push(format!("/v1/carriers/flash/blackouts/{id}"));
    }
    let batch_path = |tail: &str| vec![format!("/v1/dispatch-batches/{batch}{tail}")];
    // Photos: a product of the world's producer with one photo to change, and one photo for
    // each caller to try to delete.
    let photo_product = crate::market::product(w).await;
    let photo_id = |body: Value| body["id"].as_i64().unwrap();
    let photo = photo_id(upload_photo(w, photo_product).await);
    let mut photos_to_delete = Vec::new();
    for _ in 0..10 {
        let id = photo_id(upload_photo(w, photo_product).await);
        photos_to_delete.push(format!("/v1/products/{photo_product}/photos/{id}"));
    }
    // Publishable keys of the LAO, one for each caller to try to revoke.
    let mut keys_to_revoke = Vec::new();
    for _ in 0..10 {
        let (status, body) = json(
            w.app
                .post(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
                .bearer_auth(&w.staff.token)
                .json(&json!({"label": "เว็บไซต์"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        keys_to_revoke.push(format!("/v1/embed-keys/{}", body["id"]));
    }
    let one = |p: String| vec![p];
    use Method as M;
    vec![
        Case {
            method: M::GET,
            route: "/v1/me",
            path: one("/v1/me".into()),
            body: none,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/me/password",
            path: one("/v1/me/password".into()),
            body: |_| {
                Some(
                    json!({"current_password": "not the password", "new_password": "ทุเรียนหมอนทอง-2569"}),
                )
            },
            expect: [401, 422, 422, 422, 422, 422, 422, 422, 403, 422],
        },
        Case {
            method: M::POST,
            route: "/v1/users",
            path: one("/v1/users".into()),
            body: |n| {
                Some(
                    json!({"username": format!("new.staff{n}"), "display_name": "ใหม่", "password": "ทุเรียนหมอนทอง-2569", "role": "lao_staff", "lao_code": MAE_SOT}),
                )
            },
            expect: [401, 201, 201, 403, 201, 403, 201, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/users",
            path: one("/v1/users".into()),
            body: none,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 403, 200],
        },
        Case {
            method: M::GET,
            route: "/v1/users/{id}",
            path: one(format!("/v1/users/{target_staff}")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::PATCH,
            route: "/v1/users/{id}",
            path: one(format!("/v1/users/{target_staff}")),
            body: |n| Some(json!({"display_name": format!("ชื่อใหม่ {n}")})),
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/partner-clients",
            path: one("/v1/partner-clients".into()),
            body: |n| Some(json!({"name": format!("พาร์ทเนอร์ {n}"), "scopes": ["orders:read"]})),
            expect: [401, 201, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/partner-clients",
            path: one("/v1/partner-clients".into()),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/partner-clients/{id}",
            path: one(format!("/v1/partner-clients/{target_partner}")),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/partner-clients/{id}",
            path: one(format!("/v1/partner-clients/{target_partner}")),
            body: |n| Some(json!({"name": format!("เป้าหมาย {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/partner-clients/{id}/secret",
            path: one(format!("/v1/partner-clients/{target_secret}/secret")),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/laos",
            path: one("/v1/laos".into()),
            body: |n| {
                Some(
                    json!({"dla_code": format!("66306{:02}", 20 + n % 80), "lao_type": "subdistrict_admin_org", "name_th": "ทดสอบ", "district_code": "6306"}),
                )
            },
            expect: [401, 201, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/laos/{dla_code}",
            path: one(format!("/v1/laos/{MAE_SOT}")),
            body: |_| Some(json!({"phone": "055 531 234"})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/crops",
            path: one("/v1/crops".into()),
            body: |n| {
                Some(
                    json!({"slug": format!("crop_{n}"), "name_th": "พืช", "name_en": "Crop", "category": "fruit", "sale_unit": "kg"}),
                )
            },
            expect: [401, 201, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/crops/{slug}",
            path: one("/v1/crops/longan".into()),
            body: |_| Some(json!({"name_en": "Longan"})),
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{dla_code}/producers",
            path: one(format!("/v1/laos/{MAE_SOT}/producers")),
            body: |n| {
                Some(
                    json!({"kind": "farmer", "display_name": format!("ผู้ผลิต {n}"), "contact_phone": "0812345678"}),
                )
            },
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/producers/{id}",
            path: one(format!("/v1/producers/{target_producer}")),
            body: |n| Some(json!({"description": format!("รายละเอียด {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/producers/{id}/products",
            path: one(format!("/v1/producers/{target_producer}/products")),
            body: |n| Some(json!({"crop": "longan", "title": format!("ลำไย {n}")})),
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/products/{id}",
            path: one(format!("/v1/products/{target_product}")),
            body: |n| Some(json!({"title": format!("ลำไย {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/districts/{code}/calendar-entries",
            path: one("/v1/districts/6306/calendar-entries".into()),
            body: |n| {
                Some(
                    json!({"crop": "longan", "start_month": 6, "end_month": 9, "year": 2100 + n % 100}),
                )
            },
            expect: [401, 201, 403, 403, 201, 403, 201, 201, 403, 403],
        },
        Case {
            method: M::PATCH,
            route: "/v1/calendar-entries/{id}",
            path: one(format!("/v1/calendar-entries/{target_entry}")),
            body: |n| Some(json!({"notes": format!("บันทึก {n}")})),
            expect: [401, 200, 403, 403, 200, 403, 200, 200, 403, 403],
        },
        Case {
            method: M::DELETE,
            route: "/v1/calendar-entries/{id}",
            path: deletable,
            body: none,
            expect: [401, 204, 403, 403, 204, 403, 204, 204, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/products/{id}/windows",
            path: one(format!("/v1/products/{window_product}/windows")),
            body: |_| Some(crate::market::window_body(10, json!({}))),
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 201],
        },
        Case {
            method: M::PATCH,
            route: "/v1/windows/{id}",
            path: one(format!("/v1/windows/{window_id}")),
            body: |n| Some(json!({"description": format!("รายละเอียด {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/windows/{id}/actions",
            path: one(format!("/v1/windows/{window_id}/actions")),
            // Authorized callers get past the policy to the lifecycle rule.
            body: |_| Some(json!({"action": "mark_fulfilled"})),
            expect: [401, 409, 403, 403, 403, 403, 409, 403, 403, 409],
        },
        Case {
            method: M::POST,
            route: "/v1/windows/{id}/variants",
            path: one(format!("/v1/windows/{window_id}/variants")),
            body: |n| {
                Some(json!({"name": format!("ถุง {n}"), "units_per_item": 2, "price_satang": 15000}))
            },
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 201],
        },
        Case {
            method: M::PATCH,
            route: "/v1/variants/{id}",
            path: one(format!("/v1/variants/{variant_id}")),
            body: |n| Some(json!({"price_satang": 9000 + n as i64})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/windows/{id}/pickup-points",
            path: one(format!("/v1/windows/{window_id}/pickup-points")),
            body: |n| {
                Some(
                    json!({"name": format!("จุด {n}"), "address": "ตลาดแม่สอด", "starts_at": crate::market::at(500), "ends_at": crate::market::at(504)}),
                )
            },
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 201],
        },
        Case {
            method: M::PATCH,
            route: "/v1/pickup-points/{id}",
            path: one(format!("/v1/pickup-points/{pickup_id}")),
            body: |n| Some(json!({"notes": format!("หมายเหตุ {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 200],
        },
        Case {
            method: M::GET,
            route: "/v1/windows/{id}/ledger",
            path: one(format!("/v1/windows/{window_id}/ledger")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 200],
        },
        Case {
            method: M::GET,
            route: "/v1/orders",
            path: one("/v1/orders".into()),
            body: none,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/orders/{code}/payment",
            path: payable,
            body: |_| Some(json!({"reference": "SCB 0123"})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 404, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/orders/{code}/transitions",
            path: one(format!("/v1/orders/{pending}/transitions")),
            body: |_| Some(json!({"to": "ready"})),
            expect: [401, 409, 403, 403, 403, 403, 409, 403, 404, 409],
        },
        Case {
            method: M::GET,
            route: "/v1/producers/{id}/transfer-matches",
            path: one(format!(
                "/v1/producers/{}/transfer-matches?amount_satang=42500&received_at=2026-06-01T10:00:00%2B07:00",
                w.producer_id
            )),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 200],
        },
        Case {
            method: M::GET,
            route: "/v1/windows/{id}/orders.csv",
            path: one(format!("/v1/windows/{window_id}/orders.csv")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 200],
        },
        Case {
            method: M::POST,
            route: "/v1/admin/reconcile",
            path: one("/v1/admin/reconcile".into()),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/admin/personal-data/exports",
            path: one("/v1/admin/personal-data/exports".into()),
            body: |_| Some(json!({"phone": "0891234567"})),
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/admin/personal-data/erasures",
            path: one("/v1/admin/personal-data/erasures".into()),
            body: |_| Some(json!({"phone": "0899999999"})),
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/admin/personal-data/audit-log",
            path: one("/v1/admin/personal-data/audit-log".into()),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/stats/sales",
            path: one("/v1/stats/sales?level=district&code=6306".into()),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/stats/sales.csv",
            path: one("/v1/stats/sales.csv?level=district&code=6306".into()),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/stats/report.html",
            path: one("/v1/stats/report.html?level=district&code=6306".into()),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/stats/events",
            path: one("/v1/stats/events?level=district&code=6306".into()),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/stats/coverage",
            path: one("/v1/stats/coverage?level=district&code=6306".into()),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{code}/recorded-sales",
            path: one(format!("/v1/laos/{MAE_SOT}/recorded-sales")),
            body: |n| {
                Some(
                    json!({"producer_count": 2, "month": "2026-05", "channel": "line",
                            "sales_count": n, "revenue_satang": 100}),
                )
            },
            expect: [401, 201, 403, 404, 403, 404, 201, 404, 404, 404],
        },
        Case {
            method: M::GET,
            route: "/v1/laos/{code}/recorded-sales",
            path: one(format!("/v1/laos/{MAE_SOT}/recorded-sales")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{code}/recorded-sales/import",
            path: one(format!("/v1/laos/{MAE_SOT}/recorded-sales/import")),
            // A JSON body: who may import hears 415 (the file must be CSV), others their refusal.
            body: |_| Some(json!({})),
            expect: [401, 415, 403, 404, 403, 404, 415, 404, 404, 404],
        },
        Case {
            method: M::PATCH,
            route: "/v1/recorded-sales/{id}",
            path: one(format!("/v1/recorded-sales/{target_sale}")),
            body: |n| {
                Some(
                    json!({"producer_count": 3, "date": "2026-05-21", "channel": "tiktok",
                            "sales_count": n, "revenue_satang": 200}),
                )
            },
            expect: [401, 200, 403, 404, 403, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::DELETE,
            route: "/v1/recorded-sales/{id}",
            path: sales_to_delete,
            body: none,
            expect: [401, 204, 403, 404, 403, 404, 204, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{code}/content-links",
            path: one(format!("/v1/laos/{MAE_SOT}/content-links")),
            body: |n| {
                Some(
                    json!({"url": format!("https://vt.tiktok.com/matrix{n}/"), "posted_on": "2026-05-20"}),
                )
            },
            expect: [401, 201, 403, 404, 403, 404, 201, 404, 404, 201],
        },
        Case {
            method: M::GET,
            route: "/v1/laos/{code}/content-links",
            path: one(format!("/v1/laos/{MAE_SOT}/content-links")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 200],
        },
        Case {
            method: M::DELETE,
            route: "/v1/content-links/{id}",
            path: links_to_delete,
            body: none,
            expect: [401, 204, 403, 404, 403, 404, 204, 404, 404, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{code}/reports",
            path: one(format!("/v1/laos/{MAE_SOT}/reports")),
            body: |n| {
                Some(json!({"month": format!("{}-{:02}", 2017 + (n % 108) / 12, n % 12 + 1)}))
            },
            expect: [401, 201, 403, 404, 403, 404, 201, 404, 404, 404],
        },
        Case {
            method: M::GET,
            route: "/v1/laos/{code}/reports",
            path: one(format!("/v1/laos/{MAE_SOT}/reports")),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/reports/{id}/review",
            path: reports_to_review,
            body: |_| Some(json!({"decision": "accept"})),
            expect: [401, 200, 200, 404, 200, 404, 403, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/report-tokens",
            path: one("/v1/report-tokens".into()),
            body: |n| {
                Some(json!({"level": "district", "code": "6306", "label": format!("แผ่นงาน {n}")}))
            },
            expect: [401, 201, 201, 403, 201, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/report-tokens",
            path: one("/v1/report-tokens".into()),
            body: none,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 200, 200],
        },
        Case {
            method: M::DELETE,
            route: "/v1/report-tokens/{id}",
            path: tokens_to_revoke,
            body: none,
            expect: [401, 204, 204, 404, 204, 404, 404, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/webhook-endpoints",
            path: one("/v1/webhook-endpoints".into()),
            body: |n| Some(json!({"url": format!("https://shop.example/matrix/{n}")})),
            expect: [401, 403, 403, 403, 403, 403, 201, 201, 201, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/webhook-endpoints",
            path: one("/v1/webhook-endpoints".into()),
            body: none,
            expect: [401, 200, 403, 403, 403, 403, 200, 200, 200, 403],
        },
        Case {
            method: M::GET,
            route: "/v1/webhook-endpoints/{id}",
            path: hook(""),
            body: none,
            expect: [401, 200, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::PATCH,
            route: "/v1/webhook-endpoints/{id}",
            path: hook(""),
            body: |n| Some(json!({"description": format!("แก้ไข {n}")})),
            expect: [401, 200, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/webhook-endpoints/{id}/rotate-secret",
            path: hook("/rotate-secret"),
            body: none,
            expect: [401, 200, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/webhook-endpoints/{id}/test",
            path: hook("/test"),
            body: none,
            expect: [401, 202, 404, 404, 404, 404, 202, 404, 404, 404],
        },
        Case {
            method: M::GET,
            route: "/v1/webhook-endpoints/{id}/deliveries",
            path: hook("/deliveries"),
            body: none,
            expect: [401, 200, 404, 404, 404, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend",
            path: hook(&format!("/deliveries/{delivery}/resend")),
            body: none,
            expect: [401, 202, 404, 404, 404, 404, 202, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/webhook-endpoints/{id}/recover",
            path: hook("/recover"),
            body: |_| Some(json!({"since": "2026-01-01T00:00:00+07:00"})),
            expect: [401, 202, 404, 404, 404, 404, 202, 404, 404, 404],
        },
        Case {
            method: M::DELETE,
            route: "/v1/webhook-endpoints/{id}",
            path: endpoints_to_delete,
            body: none,
            expect: [401, 204, 404, 404, 404, 404, 204, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/carriers/{carrier}/blackouts",
            path: one("/v1/carriers/kerry/blackouts".into()),
            body: |_| {
                Some(
                    json!({"first_date": "2026-12-30", "last_date": "2027-01-02", "reason": "ปีใหม่"}),
                )
            },
            expect: [401, 201, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::DELETE,
            route: "/v1/carriers/{carrier}/blackouts/{id}",
            path: blackouts_to_delete,
            body: none,
            expect: [401, 204, 403, 403, 403, 403, 403, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/dispatch-batches",
            path: one("/v1/dispatch-batches".into()),
            // The window has one ready order: the first caller allowed batches it, the next
            // allowed ones find nothing left (409), the others are refused first (403: windows
            // are public, so another LAO's is not hidden).
            body: dispatch_window_body,
            expect: [401, 201, 403, 403, 403, 403, 409, 403, 403, 409],
        },
        Case {
            method: M::GET,
            route: "/v1/dispatch-batches",
            path: one("/v1/dispatch-batches".into()),
            body: none,
            expect: [401, 200, 200, 200, 200, 200, 200, 200, 403, 200],
        },
        Case {
            method: M::GET,
            route: "/v1/dispatch-batches/{id}",
            path: batch_path(""),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::PATCH,
            route: "/v1/dispatch-batches/{id}",
            path: batch_path(""),
            body: |n| Some(json!({"note": format!("แก้ไข {n}")})),
            expect: [401, 200, 403, 404, 403, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/dispatch-batches/{id}/orders",
            path: batch_path("/orders"),
            body: |_| Some(json!({"order_codes": ["ZZZZ-ZZZZ"]})),
            expect: [401, 422, 403, 404, 403, 404, 422, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/dispatch-batches/{id}/tracking-numbers",
            path: batch_path("/tracking-numbers"),
            body: |_| {
                Some(
                    json!({"tracking_numbers": [{"order_code": "ZZZZ-ZZZZ", "tracking_number": "รถ 1"}]}),
                )
            },
            expect: [401, 422, 403, 404, 403, 404, 422, 404, 404, 404],
        },
        Case {
            method: M::GET,
            route: "/v1/dispatch-batches/{id}/manifest.csv",
            path: batch_path("/manifest.csv"),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::GET,
            route: "/v1/dispatch-batches/{id}/labels",
            path: batch_path("/labels"),
            body: none,
            expect: [401, 200, 200, 404, 200, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::DELETE,
            route: "/v1/dispatch-batches/{id}/orders/{code}",
            path: orders_to_take_out,
            body: none,
            expect: [401, 200, 403, 404, 403, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/dispatch-batches/{id}/handover",
            path: batches_to_hand_over,
            body: none,
            expect: [401, 200, 403, 404, 403, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::DELETE,
            route: "/v1/dispatch-batches/{id}",
            path: batches_to_cancel,
            body: none,
            expect: [401, 200, 403, 404, 403, 404, 200, 404, 404, 404],
        },
        Case {
            method: M::POST,
            route: "/v1/products/{id}/photos",
            path: one(format!("/v1/products/{photo_product}/photos")),
            body: none,
            // Without a body: allowed callers reach the upload and are told the file is missing.
            expect: [401, 422, 403, 403, 403, 403, 422, 403, 403, 422],
        },
        Case {
            method: M::PATCH,
            route: "/v1/products/{id}/photos/{photo_id}",
            path: one(format!("/v1/products/{photo_product}/photos/{photo}")),
            body: |n| Some(json!({"alt_th": format!("ภาพที่ {n}")})),
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 403, 200],
        },
        Case {
            method: M::DELETE,
            route: "/v1/products/{id}/photos/{photo_id}",
            path: photos_to_delete,
            body: none,
            expect: [401, 204, 403, 403, 403, 403, 204, 403, 403, 204],
        },
        Case {
            method: M::GET,
            route: "/v1/laos/{dla_code}/embed-keys",
            path: one(format!("/v1/laos/{MAE_SOT}/embed-keys")),
            body: none,
            expect: [401, 200, 200, 403, 200, 403, 200, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/laos/{dla_code}/embed-keys",
            path: one(format!("/v1/laos/{MAE_SOT}/embed-keys")),
            body: |n| Some(json!({"label": format!("เว็บไซต์ {n}")})),
            expect: [401, 201, 403, 403, 403, 403, 201, 403, 403, 403],
        },
        Case {
            method: M::DELETE,
            route: "/v1/embed-keys/{id}",
            path: keys_to_revoke,
            body: none,
            expect: [401, 204, 403, 403, 403, 403, 204, 403, 403, 403],
        },
        Case {
            method: M::POST,
            route: "/v1/pickup-confirmations",
            path: one("/v1/pickup-confirmations".into()),
            body: next_pickup_body,
            expect: [401, 200, 403, 403, 403, 403, 200, 403, 404, 200],
        },
    ]
}

/// Places a pending order of one unit in the window (anonymously, as the LAO's form does).
async fn pending_order(w: &World, window: &Value, n: usize) -> String {
    let variant = window["variants"][0]["id"].clone();
    let body = crate::market::order_body(
        window,
        json!([{"variant_id": variant, "quantity": 1}]),
        &format!("08912345{n:02}"),
    );
    let (status, order) = crate::market::place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    order["code"].as_str().unwrap().to_string()
}

async fn add_product(w: &World, producer: i64) -> i64 {
    let res = w
        .app
        .post(&format!("/v1/producers/{producer}/products"))
        .bearer_auth(&w.admin.token)
        .json(&json!({"crop": "longan", "title": "ลำไยเป้าหมาย"}))
        .send()
        .await
        .unwrap();
    json(res).await.1["id"].as_i64().unwrap()
}

async fn add_entry(w: &World, year: i32) -> i64 {
    let res = w
        .app
        .post("/v1/districts/6306/calendar-entries")
        .bearer_auth(&w.admin.token)
        .json(&json!({"crop": "durian", "start_month": 5, "end_month": 7, "year": year}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn tokens(w: &World) -> [Option<String>; 10] {
    [
        None,
        Some(w.admin.token.clone()),
        Some(w.province_officer.token.clone()),
        Some(w.other_province_officer.token.clone()),
        Some(w.district_officer.token.clone()),
        Some(w.other_district_officer.token.clone()),
        Some(w.staff.token.clone()),
        Some(w.other_lao_staff.token.clone()),
        Some(w.partner.token.clone()),
        Some(w.producer.token.clone()),
    ]
}

#[tokio::test]
async fn every_role_gets_exactly_what_it_may() {
    let w = World::new().await;
    let tokens = tokens(&w);
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases(&w).await {
        for (i, token) in tokens.iter().enumerate() {
            n += 1;
            let (status, text) = call(&w.app, &case, i, token.as_deref(), n).await;
            if status != case.expect[i] {
                failures.push(format!(
                    "{} {} as {}: expected {}, got {status}: {text}",
                    case.method, case.route, WHO[i], case.expect[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_protected_route_is_in_the_matrix() {
    let spec = serde_json::to_value(khongdee::api_doc()).unwrap();
    let mut protected = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op
                .get("security")
                .is_some_and(|s| !s.as_array().unwrap().is_empty())
            {
                protected.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let w = World::new().await;
    let covered: BTreeSet<String> = cases(&w)
        .await
        .iter()
        .map(|c| format!("{} {}", c.method, c.route))
        .collect();
    let missing: Vec<&String> = protected.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "protected routes without a row in the matrix: {missing:?}"
    );
    let stale: Vec<&String> = covered.difference(&protected).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that are not protected in the spec: {stale:?}"
    );
}

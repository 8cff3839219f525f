//! Logistics handoff: batch rules, manifests parsed back per carrier profile, labels with the
//! right codes, S10 tracking numbers, perishable and blackout refusals, pickup by order code,
//! and signed carrier events (bad signatures, replays, events out of order).

use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

/// A carrier delivery address in Mae Sot (ต.แม่สอด 630601, 63110).
fn carrier_delivery(name: &str) -> Value {
    json!({"method": "carrier", "address": {
        "recipient_name": name, "phone": "089 123 4567",
        "address_line": "99/1 ถนนอินทรคีรี", "subdistrict_code": "630601", "postal_code": "63110"}})
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
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

/// Places an order in the window (by carrier or pickup), pays it and packs it: a `ready` order.
/// Returns its code and secret.
pub async fn ready_order(w: &World, window: &Value, carrier: bool, n: usize) -> (String, String) {
    let code = placed_order(w, window, carrier, n).await;
    let (status, body) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/orders/{}/payment", code.0),
        json!({"reference": "โอนแล้ว"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/orders/{}/transitions", code.0),
        json!({"to": "ready"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    code
}

/// A placed (unpaid) order: code and secret.
async fn placed_order(w: &World, window: &Value, carrier: bool, n: usize) -> (String, String) {
    let mut body = order_body(
        window,
        json!([{"variant_id": variant(window, 5), "quantity": 2}]),
        &format!("08{:08}", 10_000_000 + n),
    );
    if carrier {
        body["delivery"] = carrier_delivery(&format!("ผู้รับ {n}"));
    }
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    (
        order["code"].as_str().unwrap().to_string(),
        order["secret"].as_str().unwrap().to_string(),
    )
}

fn codes(batch: &Value) -> Vec<String> {
    batch["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_code"].as_str().unwrap().to_string())
        .collect()
}

async fn buyer_view(app: &TestApp, code: &str, secret: &str) -> Value {
    let (status, body) = json(
        app.get(&format!("/v1/orders/{code}"))
            .header("X-Order-Secret", secret)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Thailand Post numbers with a right check digit, built from serials.
fn s10(serial: u32) -> String {
    let digits = format!("{serial:08}");
    let check = khongdee::logistics::tracking::s10_check_digit(&digits).unwrap();
    format!("EF{digits}{check}TH")
}

#[tokio::test]
async fn batches_take_ready_orders_once_and_change_until_handover() {
    let w = World::new().await;
    let win = window(&w, 500, json!({})).await;
    let wid = win["id"].as_i64().unwrap();
    let a = ready_order(&w, &win, true, 1).await;
    let b = ready_order(&w, &win, true, 2).await;
    let unpaid = placed_order(&w, &win, true, 3).await;
    let pickup = ready_order(&w, &win, false, 4).await;

    // Chosen orders: the unpaid one and the pickup one are refused, each with its reason.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "thailand_post", "dispatch_date": "2026-06-03",
               "order_codes": [a.0, unpaid.0, pickup.0]}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "order_not_dispatchable");
    let reasons: Vec<(String, String)> = problem["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["code"].as_str().unwrap().into(),
                o["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (unpaid.0.clone(), "not_ready".to_string()),
            (pickup.0.clone(), "wrong_delivery_method".to_string())
        ]
    );
    assert!(problem["detail"].as_str().unwrap().contains(&unpaid.0));

    // A whole window: its ready carrier orders, not the unpaid or the pickup one.
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "thailand_post", "dispatch_date": "2026-06-03", "window_id": wid}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(codes(&batch), vec![a.0.clone(), b.0.clone()]);
    assert_eq!(batch["status"], "open");
    assert_eq!(batch["missing_tracking"].as_array().unwrap().len(), 2);
    // 2 boxes of 5 kg: 10 kg (longan is sold by the kilogram).
    assert_eq!(batch["orders"][0]["weight_grams"], 10_000);
    let id = batch["id"].as_i64().unwrap();

    // One open batch per order.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "flash", "dispatch_date": "2026-06-03", "order_codes": [b.0]}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "order_in_open_batch");
    assert_eq!(problem["orders"][0]["batch_id"], id);
    // The window again: nothing ready is left outside a batch.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "flash", "dispatch_date": "2026-06-03", "window_id": wid}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("nothing_to_dispatch"))
    );
    // Neither a window nor orders: the field is named.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "flash", "dispatch_date": "2026-06-03"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "required");

    // Edits while open: take b out (it is free again), change the date.
    let res = w
        .app
        .delete(&format!("/v1/dispatch-batches/{id}/orders/{}", b.0))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let (status, batch) = json(res).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(codes(&batch), vec![a.0.clone()]);
    let (status, other) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "local", "dispatch_date": "2026-06-03", "order_codes": [b.0]}),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let res = w
        .app
        .patch(&format!("/v1/dispatch-batches/{id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"dispatch_date": "2026-06-04", "note": "ส่งที่ ปณ.แม่สอด"}))
        .send()
        .await
        .unwrap();
    let (status, batch) = json(res).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["dispatch_date"], "2026-06-04");

    // Handover needs every Thailand Post number, checked by its S10 check digit.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/handover"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "tracking_missing");
    assert_eq!(problem["orders"], json!([a.0]));
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": a.0, "tracking_number": "EF582568152TH"}]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"],
        "tracking_numbers[0].tracking_number"
    );
    assert_eq!(problem["errors"][0]["code"], "invalid_s10_check_digit");
    // Another country's S10 number, and one order named twice: each refused by its field.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [
            {"order_code": a.0, "tracking_number": "RR123456785CN"},
            {"order_code": a.0, "tracking_number": "EF582568151TH"}]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let errors: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![
            ("tracking_numbers[0].tracking_number", "invalid_s10_country"),
            ("tracking_numbers[1].order_code", "repeated"),
        ]
    );
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": a.0.to_lowercase(), "tracking_number": "ef 5825 6815 1 th"}]}),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["orders"][0]["tracking_number"], "EF582568151TH");
    assert_eq!(
        batch["orders"][0]["tracking_url"],
        "https://track.thailandpost.co.th/?trackNumber=EF582568151TH"
    );
    // Nothing moved yet: the order is still ready, the buyer sees it packed.
    let view = buyer_view(&w.app, &a.0, &a.1).await;
    assert_eq!(view["status"], "ready");
    assert_eq!(view["shipment"]["status"], "packed");

    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/handover"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["status"], "handed_over");
    assert_eq!(batch["orders"][0]["order_status"], "shipped");
    let view = buyer_view(&w.app, &a.0, &a.1).await;
    assert_eq!(view["status"], "shipped");
    assert_eq!(view["shipment"]["carrier"], "thailand_post");
    assert_eq!(view["shipment"]["carrier_name_th"], "ไปรษณีย์ไทย");
    assert_eq!(view["shipment"]["tracking_number"], "EF582568151TH");
    assert_eq!(view["shipment"]["status"], "handed_over");
    assert_eq!(events(&w.app, "shipment.handed_over").await.len(), 1);

    // Handed over: no more edits, no second handover.
    for (path, body) in [
        (
            format!("/v1/dispatch-batches/{id}/orders"),
            json!({"order_codes": [b.0]}),
        ),
        (format!("/v1/dispatch-batches/{id}/handover"), json!({})),
    ] {
        let (status, problem) = post(&w.app, &w.staff.token, &path, body).await;
        assert_eq!(status, 409, "{path}: {problem}");
        assert_eq!(problem["code"], "invalid_transition");
    }
    let res = w
        .app
        .patch(&format!("/v1/dispatch-batches/{id}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({"note": "แก้"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "invalid_transition").await;
    // Another LAO's staff do not learn the batch exists.
    let res = w
        .app
        .get(&format!("/v1/dispatch-batches/{id}"))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[test]
fn s10_vectors_from_shared_data() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/vectors/s10_tracking.csv"
    );
    let text = std::fs::read_to_string(path);
    if !precondition(
        "../shared/data/vectors/s10_tracking.csv",
        text.is_ok(),
        Provider::Ci,
    ) {
        return;
    }
    let text = text.unwrap();
    let mut n = 0;
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (number, valid) = line.split_once(',').unwrap();
        let got = khongdee::logistics::tracking::normalize(
            khongdee::logistics::model::Carrier::ThailandPost,
            number,
        );
        assert_eq!(got.is_ok(), valid.trim() == "true", "{number}: {got:?}");
        n += 1;
    }
    assert!(n >= 4, "only {n} vectors");
}

/// The manifest of `id` in a profile, parsed: header and rows (BOM checked and dropped).
async fn manifest(
    app: &TestApp,
    token: &str,
    id: i64,
    profile: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let res = app
        .get(&format!(
            "/v1/dispatch-batches/{id}/manifest.csv?carrier={profile}"
        ))
        .bearer_auth(token)
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
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "{profile}: UTF-8 with BOM");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name:?} in {header:?}"));
    &row[i]
}

#[tokio::test]
async fn each_manifest_profile_reads_back_as_the_orders() {
    let w = World::new().await;
    let win = window(&w, 500, json!({})).await;
    // A recipient whose name would be a formula, and a plain one.
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 1}, {"variant_id": variant(&win, 1), "quantity": 2}]),
        "0891110001",
    );
    body["delivery"] = carrier_delivery("=HYPERLINK(\"http://x\",\"คลิก\")");
    // A line break typed into the address: carriers' uploads want one line per parcel.
    body["delivery"]["address"]["address_line"] = json!("99/1\nถนนอินทรคีรี");
    let (status, first) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{first}");
    let first = first["code"].as_str().unwrap().to_string();
    for code in [&first] {
        post(
            &w.app,
            &w.staff.token,
            &format!("/v1/orders/{code}/payment"),
            json!({"reference": "x"}),
        )
        .await;
        post(
            &w.app,
            &w.staff.token,
            &format!("/v1/orders/{code}/transitions"),
            json!({"to": "ready"}),
        )
        .await;
    }
    let second = ready_order(&w, &win, true, 7).await.0;
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "flash", "dispatch_date": "2026-06-03", "order_codes": [first, second]}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let orders = [
        (first.clone(), "'=HYPERLINK(\"http://x\",\"คลิก\")", 7_000),
        (second.clone(), "ผู้รับ 7", 10_000),
    ];
    let address = "99/1 ถนนอินทรคีรี ต.แม่สอด อ.แม่สอด จ.ตาก";

    let (h, rows) = manifest(&w.app, &w.staff.token, id, "flash").await;
    assert_eq!(h.len(), 24);
    assert_eq!(h[1], "*Consignee_name\n(ชื่อผู้รับ)");
    assert_eq!(rows.len(), 2);
    for (row, (code, name, grams)) in rows.iter().zip(&orders) {
        assert_eq!(
            col(&h, row, "Customer_order_number\n(เลขออเดอร์ของลูกค้า)"),
            code
        );
        assert_eq!(col(&h, row, "*Consignee_name\n(ชื่อผู้รับ)"), *name);
        assert_eq!(col(&h, row, "*Address\n(ทิ่อยู่)"), address);
        assert_eq!(col(&h, row, "*Postal_code\n(รหัสไปรษณีย์)"), "63110");
        assert_eq!(col(&h, row, "*Phone_number\n(เบอร์โทรศัพท์)"), "089-123-4567");
        assert_eq!(
            col(&h, row, "*Weight_kg\n(น้ำหนัก)"),
            (*grams as f64 / 1000.0).to_string()
        );
        assert_eq!(col(&h, row, "COD\n(ยอดเรียกเก็บ)"), "0");
        assert_eq!(col(&h, row, "Number of parcels \n（จำนวนพัสดุ）"), "1");
    }
    assert_eq!(
        col(
            &h,
            &rows[0],
            "Item description1(Name|Size/Weight|color|quantity)"
        ),
        "ลำไยอีดอ เกรด AA: กล่อง 5 กก. × 1, 1 กก. × 2"
    );

    let (h, rows) = manifest(&w.app, &w.staff.token, id, "kerry").await;
    assert_eq!(h.len(), 15);
    for (i, (row, (code, name, grams))) in rows.iter().zip(&orders).enumerate() {
        assert_eq!(col(&h, row, "No"), (i + 1).to_string());
        assert_eq!(col(&h, row, "Ref #1"), code);
        assert_eq!(col(&h, row, "*ชื่อผู้รับ/Recipient Name"), *name);
        assert_eq!(col(&h, row, "*เบอร์ผู้รับ/Mobile No."), "089-123-4567");
        assert_eq!(col(&h, row, "*ที่อยู่/Address"), address);
        assert_eq!(col(&h, row, "*รหัสไปรษณีย์/Postal code"), "63110");
        assert_eq!(
            col(&h, row, "น้ำหนัก/Weight(kg)"),
            (*grams as f64 / 1000.0).to_string()
        );
    }

    for (profile, code_col, weight_col, in_grams) in [
        ("thailand_post", "เลขอ้างอิง", "น้ำหนัก (กรัม)", true),
        ("jt", "เลขที่คำสั่งซื้อ", "น้ำหนัก (กก.)", false),
    ] {
        let (h, rows) = manifest(&w.app, &w.staff.token, id, profile).await;
        assert_eq!(rows.len(), 2, "{profile}");
        for (row, (code, name, grams)) in rows.iter().zip(&orders) {
            assert_eq!(col(&h, row, code_col), code, "{profile}");
            assert_eq!(col(&h, row, "ชื่อผู้รับ"), *name, "{profile}");
            // The area as separate Thai names from the geography.
            assert_eq!(row[4..8], ["แม่สอด", "แม่สอด", "ตาก", "63110"], "{profile}");
            let weight = if in_grams {
                grams.to_string()
            } else {
                (*grams as f64 / 1000.0).to_string()
            };
            assert_eq!(col(&h, row, weight_col), weight, "{profile}");
        }
    }

    let (h, rows) = manifest(&w.app, &w.staff.token, id, "generic").await;
    assert_eq!(col(&h, &rows[1], "เลขอ้างอิง / Reference"), second);
    assert_eq!(col(&h, &rows[1], "จังหวัด / Province"), "ตาก");
    assert_eq!(col(&h, &rows[1], "จำนวนพัสดุ / Parcels"), "1");
    // Without `carrier`, the batch's own carrier's profile.
    let (h, _) = manifest(&w.app, &w.staff.token, id, "flash").await;
    let res = w
        .app
        .get(&format!("/v1/dispatch-batches/{id}/manifest.csv"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let bytes = res.bytes().await.unwrap();
    let own: Vec<String> = csv::Reader::from_reader(&bytes[3..])
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(own, h);
    // An unknown profile is a 400 naming the parameter.
    let res = w
        .app
        .get(&format!(
            "/v1/dispatch-batches/{id}/manifest.csv?carrier=dhl"
        ))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(problem_fields(&problem), vec!["carrier"]);
}

/// The value of `attr="…"` after `from` in `html`.
fn attr_after<'a>(html: &'a str, from: usize, attr: &str) -> &'a str {
    let start = html[from..].find(&format!("{attr}=\"")).unwrap() + from + attr.len() + 2;
    let end = html[start..].find('"').unwrap() + start;
    &html[start..end]
}

#[tokio::test]
async fn labels_carry_the_order_code_as_qr_and_the_tracking_number_as_barcode() {
    let w = World::new().await;
    let win = window(&w, 500, json!({})).await;
    let mut codes_made = Vec::new();
    for n in 0..5 {
        codes_made.push(ready_order(&w, &win, true, 20 + n).await.0);
    }
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "thailand_post", "dispatch_date": "2026-06-03", "window_id": win["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let numbers: Vec<String> = (0..5).map(|i| s10(58_256_815 + i)).collect();
    let (status, body) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": codes_made.iter().zip(&numbers).enumerate().skip(1)
            .map(|(i, (c, n))| json!({"order_code": c, "tracking_number": n, "parcels": if i == 4 { 2 } else { 1 }}))
            .collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let res = w
        .app
        .get(&format!("/v1/dispatch-batches/{id}/labels"))
        .bearer_auth(&w.staff.token)
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
    assert!(html.contains("size: 100mm 150mm"));
    let labels: Vec<usize> = html
        .match_indices("<section class=\"label\"")
        .map(|(i, _)| i)
        .collect();
    // The last order has two boxes: a label on each.
    assert_eq!(labels.len(), 6);
    for (label_no, at) in labels.iter().enumerate() {
        let i = label_no.min(4);
        let code = attr_after(&html, *at, "data-order-code");
        assert_eq!(code, codes_made[i]);
        let qr = attr_after(&html, *at, "src");
        assert_eq!(decode_qr(qr), codes_made[i], "the QR reads the order code");
        let end = labels.get(label_no + 1).copied().unwrap_or(html.len());
        let label = &html[*at..end];
        let boxes = match label_no {
            4 => "กล่อง 1/2",
            5 => "กล่อง 2/2",
            _ => "กล่อง 1/1",
        };
        assert!(label.contains(boxes), "{boxes}: {label}");
        assert!(label.contains("ลำไยอีดอ เกรด AA: กล่อง 5 กก. × 2"), "{label}");
        assert!(
            label.contains("ผู้รับ ") && label.contains("089-123-4567"),
            "{label}"
        );
        assert!(
            label.contains("สวนลำไยป้าแก้ว"),
            "the producer sends it: {label}"
        );
        if i == 0 {
            assert!(!label.contains("<svg"), "no number yet, no barcode");
            assert!(label.contains("รอบันทึก"));
        } else {
            assert_eq!(attr_after(label, 0, "data-tracking"), numbers[i]);
            assert_eq!(attr_after(label, 0, "aria-label"), numbers[i]);
            // Code 128: start code B (11010010000) first, the stop pattern last.
            let bars = code128_modules(label);
            assert!(bars.starts_with("11010010000"), "{bars}");
            assert!(bars.ends_with("1100011101011"), "{bars}");
            // Start, 13 characters, the check character, then stop: 11 modules each, 13 for stop.
            assert_eq!(bars.len(), 11 * 15 + 13);
        }
    }
    // A4: four labels a sheet.
    let res = w
        .app
        .get(&format!("/v1/dispatch-batches/{id}/labels?format=a4"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("size: A4"));
    assert_eq!(html.matches("<div class=\"sheet\">").count(), 2);
    assert_eq!(html.matches("<section class=\"label\"").count(), 6);
}

/// The modules (1 bar, 0 space) of the first barcode SVG in `html`, read from its rectangles.
fn code128_modules(html: &str) -> String {
    let start = html.find("<svg").unwrap();
    let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
    let width: usize = attr_after(svg, 0, "viewBox")
        .split(' ')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    let mut modules = vec!['0'; width];
    // Each bar: <rect x="…" y="0" width="…" height="…" fill="#000000…" />; the first rect is the
    // white background.
    for rect in svg.split("<rect").skip(2) {
        let x: usize = attr_after(rect, 0, "x").parse().unwrap();
        let w: usize = attr_after(rect, 0, "width").parse().unwrap();
        for m in modules.iter_mut().skip(x).take(w) {
            *m = '1';
        }
    }
    let text: String = modules.into_iter().collect();
    text.trim_end_matches('0').to_string()
}

#[tokio::test]
async fn perishables_and_blackouts_refuse_with_orders_and_dates() {
    let w = World::new().await;
    // Harvest ends 3 June; fresh fruit must leave within 2 days: by 5 June.
    let win = window(
        &w,
        500,
        json!({"harvest_start": "2026-06-01", "harvest_end": "2026-06-03", "ship_within_days": 2,
               "pickup_points": [{"name": "ที่ทำการ", "address": "หมู่ 3", "starts_at": at(24), "ends_at": at(30)}]}),
    )
    .await;
    assert_eq!(win["ship_within_days"], 2);
    let a = ready_order(&w, &win, true, 30).await.0;
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "kerry", "dispatch_date": "2026-06-06", "order_codes": [a]}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "ship_by_passed");
    assert_eq!(
        problem["orders"],
        json!([{"code": a, "ship_by": "2026-06-05"}])
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&a) && detail.contains("2026-06-05") && detail.contains("2026-06-06"),
        "{detail}"
    );

    // Blackouts are the admins' to keep.
    let blackout = json!({"first_date": "2026-06-04", "last_date": "2026-06-05", "reason": "งดรับผลไม้สดช่วงวันหยุด"});
    let (status, _) = post(
        &w.app,
        &w.staff.token,
        "/v1/carriers/kerry/blackouts",
        blackout.clone(),
    )
    .await;
    assert_eq!(status, 403);
    let (status, made) = post(
        &w.app,
        &w.admin.token,
        "/v1/carriers/kerry/blackouts",
        blackout,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "kerry", "dispatch_date": "2026-06-05", "order_codes": [a]}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "carrier_blackout");
    assert_eq!(problem["blackout"]["first_date"], "2026-06-04");
    assert_eq!(problem["orders"], json!([a]));
    // The Thai text names the dates and the reason.
    let res = w
        .app
        .post("/v1/dispatch-batches")
        .bearer_auth(&w.staff.token)
        .header("Accept-Language", "th")
        .json(&json!({"carrier": "kerry", "dispatch_date": "2026-06-05", "order_codes": [a]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 409, "carrier_blackout").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("เคอรี่") && detail.contains("2026-06-04") && detail.contains("งดรับผลไม้สด"),
        "{detail}"
    );
    // Another carrier that day is fine; the list of carriers shows the blackout.
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "kerry", "dispatch_date": "2026-06-03", "order_codes": [a]}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let (_, carriers) = json(w.app.get("/v1/carriers").send().await.unwrap()).await;
    let kerry = carriers
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["carrier"] == "kerry")
        .unwrap();
    assert_eq!(kerry["blackouts"][0]["last_date"], "2026-06-05");
    // Moving the batch into the blackout or past the ship-by date is refused too.
    for (date, code) in [
        ("2026-06-04", "carrier_blackout"),
        ("2026-06-06", "ship_by_passed"),
    ] {
        let res = w
            .app
            .patch(&format!("/v1/dispatch-batches/{id}"))
            .bearer_auth(&w.staff.token)
            .json(&json!({"dispatch_date": date}))
            .send()
            .await
            .unwrap();
        assert_problem(res, 409, code).await;
    }
    // A blackout added after the batch was built stops its handover.
    let (status, _) = post(
        &w.app,
        &w.admin.token,
        "/v1/carriers/kerry/blackouts",
        json!({"first_date": "2026-06-03", "last_date": "2026-06-03", "reason": "น้ำท่วมศูนย์คัดแยก"}),
    )
    .await;
    assert_eq!(status, 201);
    post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": a, "tracking_number": "SHP5012345678"}]}),
    )
    .await;
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/handover"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "carrier_blackout");
}

#[tokio::test]
async fn pickup_orders_reach_the_point_and_are_collected_by_their_code() {
    let w = World::new().await;
    let win = window(&w, 500, json!({})).await;
    let a = ready_order(&w, &win, false, 40).await;
    let b = ready_order(&w, &win, false, 41).await;
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "pickup", "dispatch_date": "2026-06-03", "window_id": win["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(codes(&batch), vec![a.0.clone(), b.0.clone()]);
    assert_eq!(batch["orders"][0]["destination"], "ที่ทำการ อบต.แม่ปะ");
    let id = batch["id"].as_i64().unwrap();
    // No tracking numbers needed to bring them to the point.
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/handover"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["orders"][0]["order_status"], "handed_over");

    // Scanned or typed: lower case, no hyphen.
    let scanned = a.0.replace('-', "").to_lowercase();
    // Another LAO's staff: refused as on every order route (403 for a known account).
    let (status, problem) = post(
        &w.app,
        &w.other_lao_staff.token,
        "/v1/pickup-confirmations",
        json!({"code": scanned}),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let (status, order) = post(
        &w.app,
        &w.staff.token,
        "/v1/pickup-confirmations",
        json!({"code": scanned}),
    )
    .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "picked_up");
    assert_eq!(order["shipment"]["status"], "picked_up");
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/pickup-confirmations",
        json!({"code": scanned}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    // A carrier order cannot be "picked up".
    let c = ready_order(&w, &win, true, 42).await;
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        "/v1/pickup-confirmations",
        json!({"code": c.0}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    assert_eq!(
        buyer_view(&w.app, &b.0, &b.1).await["status"],
        "handed_over"
    );
    assert_eq!(events(&w.app, "order.picked_up").await.len(), 1);
}

const SECRET_TP: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_FLASH: &str = "whsec_dGhpcyBpcyBhIGZsYXNoIHRlc3Qgc2VjcmV0IQ==";

/// Signs `body` as Standard Webhooks with `secret` at `timestamp` (Unix seconds).
fn signed(
    app: &TestApp,
    carrier: &str,
    secret: &str,
    body: &Value,
    timestamp: i64,
) -> reqwest::RequestBuilder {
    let raw = serde_json::to_vec(body).unwrap();
    let id = format!("msg_{}", uuid_like(&raw));
    let signature = standardwebhooks::Webhook::new(secret)
        .unwrap()
        .sign(&id, timestamp, &raw)
        .unwrap();
    app.post(&format!("/v1/carriers/{carrier}/events"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(raw)
}

fn uuid_like(raw: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    raw.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn signed_carrier_events_deliver_orders_once_in_any_order() {
    let app = spawn_app_with(|c| {
        c.carrier_event_secrets = Some(format!("thailand_post={SECRET_TP}, flash={SECRET_FLASH}"));
    })
    .await;
    let w = World::with_app(app).await;
    let win = window(&w, 500, json!({})).await;
    let a = ready_order(&w, &win, true, 50).await;
    let b = ready_order(&w, &win, true, 51).await;
    let (status, batch) = post(
        &w.app,
        &w.staff.token,
        "/v1/dispatch-batches",
        json!({"carrier": "thailand_post", "dispatch_date": "2026-06-01", "window_id": win["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let (na, nb) = (s10(11_111_111), s10(22_222_222));
    post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": a.0, "tracking_number": na}, {"order_code": b.0, "tracking_number": nb}]}),
    )
    .await;
    let (status, body) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/handover"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // a: delivered arrives before accepted and in-transit; b: a failed attempt, then delivered.
    let events_body = json!({"events": [
        {"id": "tp-a-501", "tracking_number": na, "status_code": "501", "occurred_at": "2026-06-02T08:15:00+07:00", "location": "ปณ.แม่สอด", "description": "นำจ่ายสำเร็จ"},
        {"id": "tp-a-103", "tracking_number": na, "status_code": "103", "occurred_at": "2026-06-01T10:00:00+07:00", "location": "ปณ.แม่สอด", "description": "รับฝาก"},
        {"id": "tp-a-206", "tracking_number": na, "status_code": "206", "occurred_at": "2026-06-01T20:00:00+07:00"},
        {"id": "tp-b-401", "tracking_number": nb, "status_code": "401", "occurred_at": "2026-06-01T18:00:00+07:00", "description": "ผู้รับไม่อยู่"},
        {"id": "tp-x-101", "tracking_number": "EE123456785TH", "status_code": "101", "occurred_at": "2026-06-01T18:00:00+07:00"},
    ]});

    // Missing, wrong and stale signatures: 401, nothing recorded.
    let res = w
        .app
        .post("/v1/carriers/thailand_post/events")
        .json(&events_body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    let res = signed(
        &w.app,
        "thailand_post",
        SECRET_FLASH,
        &events_body,
        now_unix(),
    )
    .send()
    .await
    .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    let res = signed(
        &w.app,
        "thailand_post",
        SECRET_TP,
        &events_body,
        now_unix() - 600,
    )
    .send()
    .await
    .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    // A body changed after signing.
    let req = signed(&w.app, "thailand_post", SECRET_TP, &events_body, now_unix());
    let mut tampered = events_body.clone();
    tampered["events"][3]["status_code"] = json!("501");
    let res = req
        .body(serde_json::to_vec(&tampered).unwrap())
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    // A carrier without a secret cannot post.
    let res = signed(&w.app, "kerry", SECRET_TP, &events_body, now_unix())
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_signature").await;
    assert_eq!(events(&w.app, "shipment.delivered").await.len(), 0);
    assert_eq!(buyer_view(&w.app, &a.0, &a.1).await["status"], "shipped");

    let (status, receipt) = json(
        signed(&w.app, "thailand_post", SECRET_TP, &events_body, now_unix())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        (
            receipt["recorded"].as_i64(),
            receipt["unknown_tracking"].as_i64()
        ),
        (Some(4), Some(1))
    );
    assert_eq!(receipt["results"][0]["shipment_status"], "delivered");
    assert_eq!(receipt["results"][3]["shipment_status"], "failed_attempt");
    let view = buyer_view(&w.app, &a.0, &a.1).await;
    assert_eq!(view["status"], "delivered");
    assert_eq!(view["shipment"]["status"], "delivered");
    assert_eq!(
        view["shipment"]["delivered_at"],
        "2026-06-02T08:15:00+07:00"
    );
    let history: Vec<&str> = view["shipment"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        vec!["accepted", "in_transit", "delivered"],
        "oldest first"
    );
    assert_eq!(view["shipment"]["history"][2]["status_code"], "501");
    let view_b = buyer_view(&w.app, &b.0, &b.1).await;
    assert_eq!(
        (
            view_b["status"].as_str(),
            view_b["shipment"]["status"].as_str()
        ),
        (Some("shipped"), Some("failed_attempt"))
    );

    // The same events again (a carrier's retry, signed afresh): no second effect.
    let (status, receipt) = json(
        signed(&w.app, "thailand_post", SECRET_TP, &events_body, now_unix())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["duplicates"], 4);
    assert_eq!(receipt["recorded"], 0);
    assert_eq!(events(&w.app, "order.delivered").await.len(), 1);
    assert_eq!(events(&w.app, "shipment.delivered").await.len(), 1);

    // b: the second attempt succeeds; an earlier in-transit event straggling in after it changes
    // nothing.
    let later = json!({"events": [
        {"id": "tp-b-501", "tracking_number": nb, "status_code": "501", "occurred_at": "2026-06-02T07:00:00+07:00"},
        {"id": "tp-b-201", "tracking_number": nb, "status_code": "201", "occurred_at": "2026-06-01T12:00:00+07:00"},
    ]});
    let (status, receipt) = json(
        signed(&w.app, "thailand_post", SECRET_TP, &later, now_unix())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{receipt}");
    let view_b = buyer_view(&w.app, &b.0, &b.1).await;
    assert_eq!(view_b["status"], "delivered");
    assert_eq!(events(&w.app, "order.delivered").await.len(), 2);
    let failed = events(&w.app, "shipment.failed_attempt").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["tracking_number"], nb);

    // A number the carrier reported under cannot change; an event timed years ahead is refused.
    let (status, problem) = post(
        &w.app,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": a.0, "tracking_number": s10(33_333_333)}]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "carrier_reported");
    let future = json!({"events": [{"id": "tp-b-999", "tracking_number": nb, "status_code": "203", "occurred_at": "9999-12-31T23:59:59+07:00"}]});
    let res = signed(&w.app, "thailand_post", SECRET_TP, &future, now_unix())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&problem), vec!["events[0].occurred_at"]);

    // Other carriers send normalised statuses; without one the event is refused whole.
    let bad = json!({"events": [{"id": "f-1", "tracking_number": "TH0112ABCD1A", "status_code": "X9", "occurred_at": "2026-06-02T07:00:00+07:00"}]});
    let res = signed(&w.app, "flash", SECRET_FLASH, &bad, now_unix())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&problem), vec!["events[0].status"]);
}

#[tokio::test]
async fn concurrent_batches_take_an_order_once() {
    let w = World::new().await;
    let win = window(&w, 500, json!({})).await;
    let (code, _) = ready_order(&w, &win, true, 60).await;
    let attempts = (0..8).map(|i| {
        let carrier = ["thailand_post", "flash", "kerry", "jt"][i % 4];
        w.app
            .post("/v1/dispatch-batches")
            .bearer_auth(&w.staff.token)
            .json(
                &json!({"carrier": carrier, "dispatch_date": "2026-06-03", "order_codes": [code]}),
            )
            .send()
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut created = 0;
    for res in results {
        let (status, body) = json(res.unwrap()).await;
        match status.as_u16() {
            201 => created += 1,
            409 => assert_eq!(body["code"], "order_in_open_batch", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(created, 1, "exactly one batch took the order");
    let (_, list) = json(
        w.app
            .get("/v1/dispatch-batches?status=open")
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

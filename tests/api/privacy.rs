//! Personal data (PDPA): retention erases buyers' data of closed orders and leaves the
//! statistics' counts alone; admins export and erase one phone's data, refused while something
//! is open; every export, erasure and retention run is in the audit log; and the logs of a
//! realistic flow carry no phone, name, order secret or token.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

const ERASED: &str = khongdee::privacy::model::ERASED;

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let (status, body) = json(req.send().await.unwrap()).await;
    (status.as_u16(), body)
}

async fn staff_post(w: &World, token: &str, path: &str, body: Value) -> Value {
    let (status, out) = send(w.app.post(path).bearer_auth(token).json(&body)).await;
    assert_eq!(status, 200, "{path}: {out}");
    out
}

async fn staff_view(w: &World, token: &str, code: &str) -> Value {
    let (status, body) = send(w.app.get(&format!("/v1/orders/{code}")).bearer_auth(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Runs one background pass, as the server does every few seconds.
async fn background_pass(app: &TestApp) -> khongdee::tasks::Pass {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || khongdee::tasks::run_once(&state))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("pass: {}", e.describe()))
}

async fn audit_log(w: &World, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = send(
        w.app
            .get(&format!("/v1/admin/personal-data/audit-log{query}"))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Thailand Post numbers with a right check digit.
fn s10(serial: u32) -> String {
    let digits = format!("{serial:08}");
    let check = khongdee::logistics::tracking::s10_check_digit(&digits).unwrap();
    format!("EF{digits}{check}TH")
}

async fn sales_total(w: &World, token: &str) -> Value {
    let (status, body) = send(
        w.app
            .get(&format!(
                "/v1/stats/sales?level=lao&code={MAE_SOT}&from=2026-05-01&to=2027-01-31"
            ))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["total"].clone()
}

#[tokio::test]
async fn retention_erases_closed_orders_and_the_counts_stay() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let box5 = variant(&win, 5);

    // A: picked up at the pickup point, with a note and a LINE id.
    let mut body = order_body(
        &win,
        json!([{"variant_id": box5, "quantity": 1}]),
        "0861110001",
    );
    body["buyer"] = json!({"name": "มาลี เก็บนาน", "phone": "086 111 0001", "line_id": "malee01"});
    body["note"] = json!("ขอกล่องแข็ง โทรก่อนส่ง");
    let (status, a) = place(&w.app, &body, Some("retention-a")).await;
    assert_eq!(status, 201, "{a}");
    let a_code = a["code"].as_str().unwrap().to_string();
    let a_secret = a["secret"].as_str().unwrap().to_string();
    let pay = json!({"reference": "โอนแล้ว"});
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/orders/{a_code}/payment"),
        pay.clone(),
    )
    .await;
    for to in ["ready", "picked_up"] {
        let path = format!("/v1/orders/{a_code}/transitions");
        staff_post(
            &w,
            &w.staff.token,
            &path,
            json!({"to": to, "note": "มาลีรับเอง"}),
        )
        .await;
    }

    // B: carried, dispatched and delivered.
    let (b_code, _) = crate::logistics::ready_order(&w, &win, true, 77).await;
    let (status, batch) = send(
        w.app
            .post("/v1/dispatch-batches")
            .bearer_auth(&w.staff.token)
            .json(&json!({"carrier": "thailand_post", "dispatch_date": "2026-06-03", "window_id": win["id"]})),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{batch_id}/tracking-numbers"),
        json!({"tracking_numbers": [{"order_code": b_code, "tracking_number": s10(58_256_815)}]}),
    )
    .await;
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/dispatch-batches/{batch_id}/handover"),
        json!({}),
    )
    .await;
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/orders/{b_code}/transitions"),
        json!({"to": "delivered"}),
    )
    .await;

    // C: paid and still open (not yet packed): kept however old it is.
    let (status, c) = place(
        &w.app,
        &order_body(
            &win,
            json!([{"variant_id": box5, "quantity": 1}]),
            "0861110003",
        ),
        None,
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let c_code = c["code"].as_str().unwrap().to_string();
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/orders/{c_code}/payment"),
        pay.clone(),
    )
    .await;
    let before = sales_total(&w, &w.staff.token).await;
    assert_eq!(before["sales"], 3, "{before}");
    assert_eq!(before["buyers"], 3, "{before}");

    // 179 days on: nothing is due yet.
    w.app.clock.advance(Duration::days(179));
    let pass = background_pass(&w.app).await;
    assert_eq!(pass.personal_data_rows, 0, "{pass:?}");
    // 181 days after closing: A and B are erased by the background pass, C is not.
    w.app.clock.advance(Duration::days(2));
    let pass = background_pass(&w.app).await;
    assert_eq!(pass.failed, 0);
    assert!(pass.personal_data_rows >= 3, "{pass:?}");
    let staff = w.app.login(&w.staff.username).await;
    let admin = w.app.login("admin").await;

    let a_view = staff_view(&w, &staff.token, &a_code).await;
    assert_eq!(a_view["buyer"]["name"], ERASED, "{a_view}");
    assert_eq!(a_view["buyer"]["phone"], ERASED);
    assert_eq!(a_view["buyer"]["line_id"], Value::Null);
    assert_eq!(a_view["note"], Value::Null);
    assert_eq!(a_view["status"], "picked_up");
    assert_eq!(a_view["total_satang"], a["total_satang"]);
    let (status, history) = send(
        w.app
            .get(&format!("/v1/orders/{a_code}/history"))
            .bearer_auth(&staff.token),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    assert!(!history.to_string().contains("0001"), "{history}");
    assert!(!history.to_string().contains("มาลีรับเอง"), "{history}");
    // The buyer's secret still opens the order, without the phone in it.
    let (status, mine) = send(
        w.app
            .get(&format!("/v1/orders/{a_code}"))
            .header("X-Order-Secret", &a_secret),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["buyer"]["phone"], ERASED);

    let b_view = staff_view(&w, &staff.token, &b_code).await;
    assert_eq!(b_view["buyer"]["name"], ERASED, "{b_view}");
    let address = &b_view["delivery"]["address"];
    assert_eq!(address["recipient_name"], ERASED, "{address}");
    assert_eq!(address["phone"], ERASED);
    assert_eq!(address["address_line"], ERASED);
    assert_eq!(
        address["postal_code"], "63110",
        "codes stay for the statistics"
    );

    let c_view = staff_view(&w, &staff.token, &c_code).await;
    assert_eq!(
        c_view["buyer"]["phone"], "+66861110003",
        "an open order is kept"
    );

    // Every view, label and file of the erased orders still renders.
    for path in [
        format!("/v1/windows/{}/orders.csv?all=true", win["id"]),
        format!("/v1/dispatch-batches/{batch_id}/manifest.csv?carrier=thailand_post"),
        format!("/v1/dispatch-batches/{batch_id}/labels"),
        format!("/v1/dispatch-batches/{batch_id}"),
        format!("/v1/orders?window_id={}", win["id"]),
    ] {
        let res = w
            .app
            .get(&path)
            .bearer_auth(&staff.token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        assert!(text.contains(ERASED), "{path}: {text}");
        for personal in ["มาลี", "0861110001", "+66861110001", "86-111-0001", "ผู้รับ 77"]
        {
            assert!(!text.contains(personal), "{path} shows {personal}: {text}");
        }
    }

    // The statistics count the same sales and buyers; the sale facts never held phones.
    assert_eq!(sales_total(&w, &staff.token).await, before);
    // A refund after erasure takes back the sale from the buyer it was counted for.
    staff_post(
        &w,
        &staff.token,
        &format!("/v1/orders/{b_code}/transitions"),
        json!({"to": "refunded"}),
    )
    .await;
    let after_refund = sales_total(&w, &staff.token).await;
    assert_eq!(after_refund["sales"], 2, "{after_refund}");
    assert_eq!(after_refund["buyers"], 2, "{after_refund}");

    // The stored answer of A's placement is redacted: a retry gets it without the buyer.
    let (status, replay) = place(&w.app, &body, Some("retention-a")).await;
    if status == 201 {
        assert_eq!(replay["code"], a["code"], "a replay, not a second order");
        assert_eq!(replay["buyer"]["name"], ERASED, "{replay}");
    }

    // The run is in the audit log, with its rows per table.
    let log = audit_log(&w, &admin.token, "?action=retention").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["actor"], "system");
    assert_eq!(log[0]["subject_key"], Value::Null);
    assert_eq!(log[0]["detail"]["orders"], 2, "{}", log[0]);
    assert_eq!(log[0]["detail"]["order_addresses"], 1, "{}", log[0]);
    assert!(log[0]["rows_affected"].as_i64().unwrap() >= 3);

    // Another pass finds nothing more to do and writes no entry.
    assert_eq!(background_pass(&w.app).await.personal_data_rows, 0);
    assert_eq!(
        audit_log(&w, &admin.token, "?action=retention").await.len(),
        1
    );
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn retention_erases_ended_holds_and_waiting_list_entries() {
    let w = World::new().await;
    let win = window(&w, 2, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let (status, held) = hold(&w.app, id, unit, 2, Some("0862220001")).await;
    assert_eq!(status, 201, "{held}");
    let (status, entry) = send(w.app.post(&format!("/v1/windows/{id}/waitlist")).json(
        &json!({"variant_id": unit, "quantity": 1, "buyer_name": "วันดี รอคิว", "buyer_phone": "0862220002"}),
    ))
    .await;
    assert_eq!(status, 201, "{entry}");
    let entry_id = entry["id"].as_str().unwrap().to_string();
    let (status, _) = send(w.app.delete(&format!("/v1/waitlist/{entry_id}"))).await;
    assert!(status < 300, "leaving the list: {status}");
    let hold_id = held["id"].as_str().unwrap().to_string();
    w.app
        .delete(&format!("/v1/holds/{hold_id}"))
        .send()
        .await
        .unwrap();

    w.app.clock.advance(Duration::days(181));
    let pass = background_pass(&w.app).await;
    assert_eq!(pass.failed, 0);
    let admin = w.app.login("admin").await;
    for phone in ["0862220001", "0862220002"] {
        let (status, export) = send(
            w.app
                .post("/v1/admin/personal-data/exports")
                .bearer_auth(&admin.token)
                .json(&json!({"phone": phone})),
        )
        .await;
        assert_eq!(status, 200, "{export}");
        assert_eq!(export["rows"]["holds"], 0, "{export}");
        assert_eq!(export["rows"]["waitlist_entries"], 0, "{export}");
        assert_eq!(export["rows"]["webhook_events"], 0, "{export}");
    }
    let (status, after) = send(w.app.get(&format!("/v1/waitlist/{entry_id}"))).await;
    assert_eq!(status, 200, "{after}");
    assert!(!after.to_string().contains("วันดี"), "{after}");
    let log = audit_log(&w, &admin.token, "?action=retention").await;
    assert_eq!(log[0]["detail"]["holds"], 1, "{log:?}");
    assert_eq!(log[0]["detail"]["waitlist_entries"], 1, "{log:?}");
}

#[tokio::test]
async fn an_admin_exports_and_erases_one_phone_and_both_are_audited() {
    let w = World::new().await;
    let win = window(&w, 6, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let phone = "0863330001";
    let name = "สมศรี ขอลบ";
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 5), "quantity": 1}]),
        phone,
    );
    body["buyer"] = json!({"name": name, "phone": phone, "email": "somsri@example.com"});
    body["delivery"] = json!({"method": "carrier", "address": {
        "recipient_name": name, "phone": "+66 86 333 0001",
        "address_line": "12 ซอยลับ ถนนอินทรคีรี", "subdistrict_code": "630601", "postal_code": "63110"}});
    let (status, order) = place(&w.app, &body, Some("erase-me-1")).await;
    assert_eq!(status, 201, "{order}");
    let code = order["code"].as_str().unwrap().to_string();
    let (status, held) = hold(&w.app, id, variant(&win, 1), 1, Some(phone)).await;
    assert_eq!(status, 201, "{held}");
    let hold_id = held["id"].as_str().unwrap().to_string();
    let (status, entry) = send(w.app.post(&format!("/v1/windows/{id}/waitlist")).json(
        &json!({"variant_id": variant(&win, 1), "quantity": 1, "buyer_name": name, "buyer_phone": phone}),
    ))
    .await;
    assert_eq!(status, 201, "{entry}");
    let entry_id = entry["id"].as_str().unwrap().to_string();

    let admin = &w.admin.token;
    let subject = |phone: &str| json!({"phone": phone});
    let post = |path: &str, body: Value, token: &str| {
        w.app
            .post(&format!("/v1/admin/personal-data/{path}"))
            .bearer_auth(token)
            .json(&body)
    };

    // Only admins; the phone is checked like everywhere else.
    for token in [&w.staff.token, &w.province_officer.token] {
        assert_problem(
            post("exports", subject(phone), token).send().await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        assert_problem(
            post("erasures", subject(phone), token)
                .send()
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
    }
    let problem = assert_problem(
        post("exports", subject("12345"), admin)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["phone"]);
    let problem = assert_problem(
        post("erasures", json!({"phone": phone, "extra": 1}), admin)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem_fields(&problem), vec!["extra"], "{problem}");

    // Export: the order (by the buyer's and the address's phone), its lines and address, the
    // hold, the entry and the stored answer of the placement, in any written form of the phone.
    let (status, export) = send(post("exports", subject("+66 86 333 0001"), admin)).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["phone"], "+66863330001");
    assert_eq!(export["orders"].as_array().unwrap().len(), 1, "{export}");
    let exported = &export["orders"][0];
    assert_eq!(exported["code"], code.as_str());
    assert_eq!(exported["buyer"]["name"], name);
    assert_eq!(exported["buyer"]["email"], "somsri@example.com");
    assert_eq!(exported["address"]["address_line"], "12 ซอยลับ ถนนอินทรคีรี");
    assert_eq!(exported["lines"][0]["quantity"], 1);
    assert_eq!(export["holds"][0]["id"], hold_id.as_str());
    assert_eq!(export["waitlist_entries"][0]["id"], entry_id.as_str());
    assert_eq!(export["idempotency_records"][0]["key"], "erase-me-1");
    assert_eq!(export["rows"]["orders"], 1);
    assert_eq!(export["rows"]["order_addresses"], 1);

    // Erasure is refused while the order, the hold and the entry are open, naming them.
    let problem = assert_problem(
        post("erasures", subject(phone), admin)
            .send()
            .await
            .unwrap(),
        409,
        "personal_data_in_use",
    )
    .await;
    let open: Vec<&str> = problem["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        open,
        vec![code.as_str(), hold_id.as_str(), entry_id.as_str()],
        "{problem}"
    );
    let res = post("erasures", subject(phone), admin)
        .header("Accept-Language", "th")
        .send()
        .await
        .unwrap();
    let thai = assert_problem(res, 409, "personal_data_in_use").await;
    assert!(thai["detail"].as_str().unwrap().contains(&code), "{thai}");
    assert!(
        khongdee::i18n::untranslated_words(thai["detail"].as_str().unwrap())
            .iter()
            .all(|w| code.contains(w.as_str())
                || hold_id.contains(w.as_str())
                || entry_id.contains(w.as_str())),
        "{thai}"
    );
    assert_eq!(
        staff_view(&w, &w.staff.token, &code).await["buyer"]["name"],
        name,
        "nothing erased"
    );

    // The buyer releases the hold, which offers the unit to the entry (a webhook event names
    // the buyer), then withdraws from the list; the LAO cancels the order.
    w.app
        .delete(&format!("/v1/holds/{hold_id}"))
        .send()
        .await
        .unwrap();
    let offered = events(&w.app, "waitlist.offered").await;
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0]["buyer_phone"], "+66863330001");
    let (status, _) = send(w.app.delete(&format!("/v1/waitlist/{entry_id}"))).await;
    assert!(status < 300);
    staff_post(
        &w,
        &w.staff.token,
        &format!("/v1/orders/{code}/transitions"),
        json!({"to": "cancelled", "note": "สมศรีขอยกเลิก"}),
    )
    .await;

    let (status, report) = send(post("erasures", subject(phone), admin)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"]["orders"], 1, "{report}");
    assert_eq!(report["rows"]["order_addresses"], 1, "{report}");
    assert_eq!(
        report["rows"]["holds"], 2,
        "the buyer's hold and the offer's: {report}"
    );
    assert_eq!(report["rows"]["waitlist_entries"], 1, "{report}");
    assert_eq!(report["rows"]["idempotency_records"], 1, "{report}");
    assert_eq!(report["rows"]["webhook_events"], 1, "{report}");
    let offered = events(&w.app, "waitlist.offered").await;
    assert_eq!(offered[0]["buyer_phone"], ERASED, "{offered:?}");
    assert_eq!(offered[0]["buyer_name"], ERASED, "{offered:?}");
    assert_eq!(
        offered[0]["entry_id"],
        entry_id.as_str(),
        "the event keeps its shape"
    );
    let key = report["subject_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 64);

    let view = staff_view(&w, &w.staff.token, &code).await;
    assert_eq!(view["buyer"]["name"], ERASED, "{view}");
    assert_eq!(view["buyer"]["email"], Value::Null);
    assert_eq!(view["delivery"]["address"]["address_line"], ERASED);
    assert_eq!(view["status"], "cancelled");
    // A retry of the placement replays the stored answer, without the buyer.
    let (status, replay) = place(&w.app, &body, Some("erase-me-1")).await;
    assert_eq!(status, 201, "{replay}");
    assert_eq!(replay["code"], code.as_str());
    let text = replay.to_string();
    assert!(!text.contains(name) && !text.contains("63330001"), "{text}");

    // Nothing is left to export, and a second erasure finds nothing.
    let (status, export) = send(post("exports", subject(phone), admin)).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(
        export["rows"],
        json!({"orders": 0, "order_addresses": 0, "order_lines": 0,
        "order_history": 0, "capacity_ledger": 0, "holds": 0, "waitlist_entries": 0,
        "idempotency_records": 0, "webhook_events": 0})
    );
    let (status, again) = send(post("erasures", subject(phone), admin)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["rows_total"], 0);

    // The audit log: who, what, which phone (as the same keyed hash), how many rows.
    let log = audit_log(&w, admin, &format!("?subject_key={key}")).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "erasure", "export", "erasure", "erasure", "erasure", "export"
        ],
        "{log:?}"
    );
    assert!(
        log.iter()
            .all(|e| e["actor"] == format!("user:{}", w.admin.id))
    );
    assert_eq!(log[2]["rows_affected"], report["rows_total"]);
    assert_eq!(log[3]["rows_affected"], 0);
    assert_eq!(log[3]["detail"]["refused"].as_array().unwrap().len(), 3);
    assert!(!serde_json::to_string(&log).unwrap().contains("63330001"));
    let page = audit_log(&w, admin, "?limit=2").await;
    assert_eq!(page.len(), 2);
    let (status, _) = send(
        w.app
            .get("/v1/admin/personal-data/audit-log?subject_key=abc")
            .bearer_auth(admin),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

/// Log lines written while a scan runs, from every thread of the process.
#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

/// Whether a scan is running: the subscriber stays installed for the rest of the process, and
/// the tests that run after the scan must not fill memory with their logs.
static CAPTURING: AtomicBool = AtomicBool::new(false);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if CAPTURING.load(Ordering::SeqCst) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Installs the server's JSON log format at debug level as the process's subscriber, writing
/// into a buffer (once: a process has one global subscriber).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            use tracing_subscriber::util::SubscriberInitExt;
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let filter = tracing_subscriber::EnvFilter::new("debug");
            khongdee::observability::json_subscriber(filter, Captured(buffer.clone()))
                .try_init()
                .expect("no other test installs a global subscriber");
            buffer
        })
        .clone()
}

#[tokio::test]
async fn logs_of_a_full_flow_carry_no_phone_name_secret_or_token() {
    let logs = captured_logs();
    CAPTURING.store(true, Ordering::SeqCst);
    let w = World::new().await;
    let name = "ประภาพร ศรีสุขลับ";
    let phone = "0864440001";
    let win = window(&w, 3, json!({})).await;
    let id = win["id"].as_i64().unwrap();

    // Staff sign in (password grant, then refresh).
    let staff = w.app.login(&w.staff.username).await;
    let refresh = staff.refresh_token.clone().expect("a refresh token");
    let (status, refreshed) = send(w.app.post("/v1/auth/token").form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ]))
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let token = refreshed["access_token"].as_str().unwrap().to_string();

    // A buyer orders with a Thai name and a phone, and follows the order with its secret.
    let mut body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 2}]),
        phone,
    );
    body["buyer"] =
        json!({"name": name, "phone": "086-444-0001", "email": "praphaporn@example.com"});
    body["note"] = json!("โทรหาประภาพรก่อนส่ง");
    let (status, order) = place(&w.app, &body, Some("log-scan-1")).await;
    assert_eq!(status, 201, "{order}");
    let code = order["code"].as_str().unwrap().to_string();
    let secret = order["secret"].as_str().unwrap().to_string();
    let (status, _) = place(&w.app, &body, Some("log-scan-1")).await;
    assert_eq!(status, 201, "a replay");
    for path in [
        format!("/v1/orders/{code}"),
        format!("/v1/orders/{code}/payment"),
        format!("/v1/orders/{code}/history"),
    ] {
        let (status, seen) = send(w.app.get(&path).header("X-Order-Secret", &secret)).await;
        assert_eq!(status, 200, "{path}: {seen}");
    }
    // A wrong secret, a phone and a token in query strings, a bad phone in a body.
    let (status, _) = send(
        w.app
            .get(&format!("/v1/orders/{code}"))
            .header("X-Order-Secret", "nope"),
    )
    .await;
    assert!(status >= 400);
    let (status, _) = send(
        w.app
            .get(&format!(
                "/v1/orders?buyer_phone={phone}&token={token}&name={name}"
            ))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 400, "unknown query parameters");
    let mut bad = body.clone();
    bad["buyer"]["phone"] = json!("0864440001x");
    let (status, _) = place(&w.app, &bad, None).await;
    assert_eq!(status, 422);

    // Staff record the payment and pack.
    let pay = json!({"reference": format!("โอนจาก {name}")});
    staff_post(&w, &token, &format!("/v1/orders/{code}/payment"), pay).await;
    staff_post(
        &w,
        &token,
        &format!("/v1/orders/{code}/transitions"),
        json!({"to": "ready"}),
    )
    .await;
    let res = w
        .app
        .get(&format!("/v1/windows/{id}/orders.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The window fills; the buyer joins the waiting list and looks at the entry.
    let (status, held) = hold(&w.app, id, variant(&win, 1), 1, Some(phone)).await;
    assert_eq!(status, 201, "{held}");
    let (status, entry) = send(w.app.post(&format!("/v1/windows/{id}/waitlist")).json(
        &json!({"variant_id": variant(&win, 1), "quantity": 1, "buyer_name": name, "buyer_phone": phone}),
    ))
    .await;
    assert_eq!(status, 201, "{entry}");
    let (status, _) = send(
        w.app
            .get(&format!("/v1/waitlist/{}", entry["id"].as_str().unwrap())),
    )
    .await;
    assert_eq!(status, 200);
    // Releasing the hold offers the unit to the entry (a webhook event names the buyer).
    w.app
        .delete(&format!("/v1/holds/{}", held["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    background_pass(&w.app).await;
    // An admin exports the buyer's data.
    let (status, _) = send(
        w.app
            .post("/v1/admin/personal-data/exports")
            .bearer_auth(&w.admin.token)
            .json(&json!({"phone": phone})),
    )
    .await;
    assert_eq!(status, 200);

    CAPTURING.store(false, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    // The capture saw this flow (order codes in URLs are fine).
    assert!(text.contains("request finished"), "nothing captured");
    assert!(
        text.contains(&format!("/v1/orders/{code}/payment")),
        "this flow was not captured"
    );
    assert!(
        text.contains("\"level\":\"DEBUG\""),
        "debug level was not captured"
    );
    let given = name.split(' ').next().unwrap();
    let family = name.split(' ').nth(1).unwrap();
    let secrets = [
        ("phone", "0864440001"),
        ("phone", "086-444-0001"),
        ("phone", "086 444 0001"),
        ("phone", "66864440001"),
        ("phone", "864440001"),
        ("name", name),
        ("given name", given),
        ("family name", family),
        ("e-mail", "praphaporn@example.com"),
        ("order secret", secret.as_str()),
        ("access token", token.as_str()),
        ("first access token", staff.token.as_str()),
        ("refresh token", refresh.as_str()),
        ("admin token", w.admin.token.as_str()),
        ("password", PASSWORD),
    ];
    for (what, value) in secrets {
        if let Some(at) = text.find(value) {
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            panic!("the logs carry the {what}: {}", &text[line_start..line_end]);
        }
    }
}

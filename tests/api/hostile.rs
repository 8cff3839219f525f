//! Hostile input (issue 17): oversized and deeply nested bodies, huge query values, invalid
//! UTF-8, NUL bytes, SQL-looking strings, script tags, overlong Thai text with stacked combining
//! marks and numbers at and past the 64-bit limits, sent to representative routes: anonymous
//! order placement, the embedded form's order route, login, window creation, list routes with
//! query parameters and path ids. Each is refused with a 4xx problem+json naming the field and
//! the reason, or stored inertly and echoed back exactly; never a 500, a hang (every request has
//! a timeout) or a partial write (no order, no hold, counters unchanged, reconcile clean).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::market::*;

/// The host page of the embedded form in these tests.
const SITE: &str = "https://www.maesot.example";
/// Longest any hostile request may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(15);

const SQL: &str = "'; DROP TABLE orders; --";
const SQL_OR: &str = "1 OR 1=1";
const SCRIPT: &str = "<script>alert(1)</script>";

/// `ก` with 1,000 pairs of stacked marks (mai tho U+0E49, mai han-akat U+0E31): one grapheme of
/// 2,001 code points, 6,003 bytes.
fn stacked_thai() -> String {
    let mut s = String::from("ก");
    for _ in 0..1000 {
        s.push('\u{0E49}');
        s.push('\u{0E31}');
    }
    s
}

/// A response read in full: status, content type and body text.
struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("{}: body is not JSON: {}", self.status, self.text))
    }

    /// Asserts a 4xx problem+json (never a 500) and returns it.
    fn refused(&self, what: &str) -> Value {
        assert!(
            (400..500).contains(&self.status),
            "{what}: expected a 4xx, got {}: {}",
            self.status,
            truncated(&self.text)
        );
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "{what}: content type {:?} for {}",
            self.content_type,
            truncated(&self.text)
        );
        let body = self.json();
        assert_eq!(body["status"], self.status, "{what}: {body}");
        assert!(
            body["code"].is_string() && body["detail"].is_string(),
            "{what}: {body}"
        );
        body
    }

    /// Asserts a refusal with `code` that names `field` with a reason.
    fn refused_field(&self, what: &str, code: &str, field: &str) -> Value {
        let body = self.refused(what);
        assert_eq!(
            body["code"],
            code,
            "{what}: {}",
            truncated(&body.to_string())
        );
        let errors = body["errors"].as_array().cloned().unwrap_or_default();
        let named = errors.iter().find(|e| e["field"] == field);
        let named = named.unwrap_or_else(|| {
            panic!(
                "{what}: no error names {field}: {}",
                truncated(&body.to_string())
            )
        });
        assert!(
            named["code"].is_string() && named["message"].is_string(),
            "{what}: {named}"
        );
        body
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(600).collect()
}

/// Sends with a timeout: a hang fails the test instead of stalling it.
async fn send(req: reqwest::RequestBuilder) -> Answer {
    let res = tokio::time::timeout(PATIENCE, req.timeout(PATIENCE).send())
        .await
        .expect("the server answered in time")
        .expect("the server answered");
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = tokio::time::timeout(PATIENCE, res.text())
        .await
        .expect("the body came in time")
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        text,
    }
}

/// Sends with a timeout and returns the response itself (for its headers).
async fn send_res(req: reqwest::RequestBuilder) -> reqwest::Response {
    tokio::time::timeout(PATIENCE, req.timeout(PATIENCE).send())
        .await
        .expect("the server answered in time")
        .expect("the server answered")
}

/// Sends raw bytes as one HTTP/1.1 request (for bytes no client library sends, such as invalid
/// UTF-8 in the request line) and returns the status and the head and body as text.
async fn send_raw(app: &TestApp, request: &[u8]) -> (u16, String) {
    let address = app.address.trim_start_matches("http://").to_string();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        // The answer ends when the server closes (we send `Connection: close`).
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf
    };
    let buf = tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("the server answered in time");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    (status, text)
}

/// A world with an open window of Mae Sot (capacity 100), a publishable key of its form allowed
/// on [`SITE`].
struct Market {
    w: World,
    window: Value,
    key: String,
}

async fn market() -> Market {
    let w = World::new().await;
    let res = w
        .app
        .patch(&format!("/v1/laos/{MAE_SOT}"))
        .bearer_auth(&w.staff.token)
        .json(&json!({ "allowed_origins": [SITE] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (status, key) = json(
        w.app
            .post(&format!("/v1/laos/{MAE_SOT}/embed-keys"))
            .bearer_auth(&w.staff.token)
            .json(&json!({"label": "เว็บไซต์เทศบาล"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let window = window(&w, 100, json!({})).await;
    Market {
        key: key["key"].as_str().unwrap().to_string(),
        w,
        window,
    }
}

impl Market {
    fn app(&self) -> &TestApp {
        &self.w.app
    }

    fn window_id(&self) -> i64 {
        self.window["id"].as_i64().unwrap()
    }

    fn order(&self, lines: Value) -> Value {
        order_body(&self.window, lines, "0812345678")
    }

    fn good_order(&self) -> Value {
        self.order(json!([{"variant_id": variant(&self.window, 1), "quantity": 1}]))
    }

    /// The two anonymous order routes: the public one and the embedded form's.
    fn order_routes(&self, key: &str) -> [reqwest::RequestBuilder; 2] {
        [
            self.app()
                .post("/v1/orders")
                .header("Idempotency-Key", format!("{key}-public")),
            self.app()
                .post(&format!("/v1/embed/{}/orders", self.key))
                .header("Origin", SITE)
                .header("Idempotency-Key", format!("{key}-embed")),
        ]
    }

    /// Creating a window as the LAO's staff.
    fn create_window(&self, product: i64) -> reqwest::RequestBuilder {
        self.app()
            .post(&format!("/v1/products/{product}/windows"))
            .bearer_auth(&self.w.staff.token)
    }

    /// Nothing was written: no order of the window, no unit sold or held, the ledger reconciles.
    async fn assert_untouched(&self) {
        let (status, orders) = json(
            self.app()
                .get(&format!("/v1/orders?window_id={}", self.window_id()))
                .bearer_auth(&self.w.staff.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{orders}");
        assert_eq!(orders["items"], json!([]), "no order was written");
        let counters = availability(self.app(), self.window_id()).await;
        assert_eq!(counters["sold"], 0, "{counters}");
        assert_eq!(counters["held"], 0, "{counters}");
        assert_eq!(reconcile(&self.w, "").await["mismatches"], json!([]));
    }

    /// No window of `product` was written, drafts included.
    async fn assert_no_windows(&self, product: i64) {
        let (status, list) = json(
            self.app()
                .get(&format!(
                    "/v1/windows?product_id={product}&include_drafts=true&status=all"
                ))
                .bearer_auth(&self.w.staff.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["items"], json!([]), "no window was written");
    }

    /// The server still takes an ordinary order after the barrage.
    async fn assert_still_serving(&self) {
        let (status, order) = place(self.app(), &self.good_order(), Some("after-barrage")).await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(availability(self.app(), self.window_id()).await["sold"], 1);
        assert_eq!(reconcile(&self.w, "").await["mismatches"], json!([]));
    }
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    format!("{}{}", open.repeat(depth), close.repeat(depth))
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies_are_refused_and_write_nothing() {
    let m = market().await;
    let limit = m.app().state.config.max_body_bytes;
    let product = product(&m.w).await;

    // Past the JSON limit: a buyer name of limit + 1 bytes, with its length declared and chunked
    // (no Content-Length: the limit holds while reading).
    let mut big = m.good_order();
    big["buyer"]["name"] = json!("ก".repeat(limit / 3 + 1));
    let big = serde_json::to_vec(&big).unwrap();
    assert!(big.len() > limit);
    for (i, req) in m.order_routes("big").into_iter().enumerate() {
        let answer = send(
            req.header("Content-Type", "application/json")
                .body(big.clone()),
        )
        .await;
        assert_eq!(
            answer.refused("oversized order")["code"],
            "payload_too_large"
        );
        let stream = futures_util::stream::iter(
            big.chunks(16 * 1024)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        );
        let req = m.order_routes(&format!("big-chunked-{i}"))[i]
            .try_clone()
            .unwrap();
        let answer = send(
            req.header("Content-Type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
        assert_eq!(
            answer.refused("oversized chunked order")["code"],
            "payload_too_large"
        );
    }
    let answer = send(
        m.app()
            .post("/v1/auth/token")
            .header("Content-Type", "application/json")
            .body(big.clone()),
    )
    .await;
    assert_eq!(
        answer.refused("oversized login")["code"],
        "payload_too_large"
    );
    let answer = send(
        m.create_window(product)
            .header("Content-Type", "application/json")
            .body(big.clone()),
    )
    .await;
    assert_eq!(
        answer.refused("oversized window")["code"],
        "payload_too_large"
    );

    // 10,000 levels of nesting, as a whole body and as the value of a field.
    let mut deep_bodies = vec![
        nested(10_000, "[", "]"),
        nested(10_000, r#"{"a":"#, "}").replacen('}', "1}", 1),
    ];
    let order = serde_json::to_string(&m.good_order()).unwrap();
    deep_bodies.push(order.replacen(
        r#""lines":"#,
        &format!(r#""note":{},"lines":"#, nested(10_000, "[", "]")),
        1,
    ));
    for body in &deep_bodies {
        for req in m.order_routes("deep") {
            let answer = send(
                req.header("Content-Type", "application/json")
                    .body(body.clone()),
            )
            .await;
            let problem = answer.refused("deep order");
            assert_eq!(problem["code"], "malformed_json", "{problem}");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("recursion limit"),
                "{problem}"
            );
        }
        let answer = send(
            m.app()
                .post("/v1/auth/token")
                .header("Content-Type", "application/json")
                .body(body.clone()),
        )
        .await;
        assert_eq!(answer.refused("deep login")["code"], "malformed_json");
        let answer = send(
            m.create_window(product)
                .header("Accept-Language", "th")
                .header("Content-Type", "application/json")
                .body(body.clone()),
        )
        .await;
        let problem = answer.refused("deep window");
        assert_eq!(problem["code"], "malformed_json");
        assert!(
            problem["reason"]
                .as_str()
                .unwrap()
                .starts_with("ข้อมูลซ้อนกันลึกเกินไป"),
            "{problem}"
        );
    }

    m.assert_no_windows(product).await;
    m.assert_untouched().await;
    m.assert_still_serving().await;
}

#[tokio::test]
async fn huge_query_values_and_path_ids_are_refused_or_answered_plainly() {
    let m = market().await;
    // 100 KB in the request line: past what an HTTP URI may be in actix (and the `http` crate,
    // 64 KB), so the HTTP layer refuses it before any route runs; its 4xx is plain, not a
    // problem (actix writes it itself), and the server goes on.
    for target in [
        format!("/v1/products?q={}", "%E0%B8%81".repeat(100 * 1024 / 9)),
        format!("/v1/windows?lao_code={}", "x".repeat(100 * 1024)),
        format!("/v1/orders/{}", "Z".repeat(100 * 1024)),
    ] {
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let (status, text) = send_raw(m.app(), request.as_bytes()).await;
        assert!(
            (400..500).contains(&status),
            "{status}: {}",
            truncated(&text)
        );
    }
    // The largest query a client can send (60 KB) reaches the routes.
    let huge = "ก".repeat(60 * 1024 / 9);
    let huge_sql = format!("{SQL}{}", "x".repeat(60 * 1024));

    // A text filter with a length rule names the field.
    let answer = send(m.app().get("/v1/products").query(&[("q", &huge)])).await;
    answer.refused_field("huge q", "invalid_parameter", "q");
    // Codes of geography are matched exactly: a huge or SQL-looking one matches nothing.
    for (name, value) in [
        ("province_code", huge.as_str()),
        ("lao_code", huge_sql.as_str()),
        ("crop", SQL),
        ("district_code", SQL_OR),
    ] {
        for route in ["/v1/windows", "/v1/products"] {
            let answer = send(m.app().get(route).query(&[(name, value)])).await;
            if answer.status == 200 {
                assert_eq!(answer.json()["items"], json!([]), "{route}?{name}");
            } else {
                answer.refused_field(&format!("{route}?{name}"), "invalid_parameter", name);
            }
        }
    }
    // SQL in a text search is text.
    let answer = send(m.app().get("/v1/products").query(&[("q", SQL_OR)])).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["items"], json!([]));
    // Numbers in the query past the 64-bit limits name the field.
    for value in [
        "9223372036854775808",
        "-9223372036854775809",
        "1e309",
        "1 OR 1=1",
        "1;DROP TABLE orders",
    ] {
        let answer = send(m.app().get("/v1/windows").query(&[("product_id", value)])).await;
        answer.refused_field(value, "invalid_parameter", "product_id");
        let answer = send(m.app().get("/v1/windows").query(&[("limit", value)])).await;
        answer.refused_field(value, "invalid_parameter", "limit");
    }
    let answer = send(
        m.app()
            .get("/v1/windows")
            .query(&[("product_id", i64::MAX.to_string())]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["items"], json!([]));
    // A huge cursor is refused, not decoded into something.
    let answer = send(m.app().get("/v1/windows").query(&[("cursor", &huge)])).await;
    answer.refused_field("huge cursor", "invalid_parameter", "cursor");

    // Path ids at and past the limits.
    for id in ["9223372036854775807", "0", "-9223372036854775808"] {
        let answer = send(m.app().get(&format!("/v1/windows/{id}"))).await;
        assert_eq!(answer.refused(id)["code"], "not_found", "{id}");
    }
    for id in [
        "9223372036854775808",
        "-9223372036854775809",
        "1e309",
        "1%20OR%201%3D1",
        "%27%3B%20DROP%20TABLE%20orders%3B%20--",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let answer = send(m.app().get(&format!("/v1/windows/{id}"))).await;
        let problem = answer.refused(id);
        assert_eq!(problem["code"], "invalid_parameter", "{id}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "id", "{id}: {problem}");
        // Whatever it echoes of the id is a JSON string of a problem+json, never markup.
        assert!(!answer.content_type.contains("html"), "{id}");
    }
    // Order codes: SQL, a script tag, a huge code, stacked Thai are unknown orders.
    let huge_code = "Z".repeat(60 * 1024);
    for code in [
        "%27%3B%20DROP%20TABLE%20orders%3B%20--",
        "1%20OR%201%3D1",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        huge_code.as_str(),
    ] {
        let answer = send(
            m.app()
                .get(&format!("/v1/orders/{code}"))
                .header("X-Order-Secret", SQL_OR),
        )
        .await;
        let problem = answer.refused("order code");
        assert!(
            problem["code"] == "not_found" || problem["code"] == "invalid_parameter",
            "{problem}"
        );
    }
    let answer = send(
        m.app()
            .get(&format!(
                "/v1/orders/{}",
                utf8_percent_encode(&stacked_thai())
            ))
            .header("X-Order-Secret", "x"),
    )
    .await;
    answer.refused("stacked Thai order code");

    m.assert_untouched().await;
    m.assert_still_serving().await;
}

fn utf8_percent_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn invalid_utf8_and_nul_bytes_are_refused_with_the_field() {
    let m = market().await;
    let product = product(&m.w).await;
    let order = serde_json::to_string(&m.good_order()).unwrap();

    // Invalid UTF-8 and a raw NUL inside a JSON string are not JSON.
    let invalid_utf8 = order
        .replacen("สมหญิง", "\u{1}", 1)
        .into_bytes()
        .into_iter()
        .map(|b| if b == 1 { 0xFF } else { b })
        .collect::<Vec<u8>>();
    let raw_nul = order.replacen("สมหญิง", "\0", 1).into_bytes();
    for (what, body) in [("invalid UTF-8", &invalid_utf8), ("raw NUL", &raw_nul)] {
        for req in m.order_routes(what) {
            let answer = send(
                req.header("Content-Type", "application/json")
                    .body(body.clone()),
            )
            .await;
            assert_eq!(answer.refused(what)["code"], "malformed_json", "{what}");
        }
    }
    let answer = send(
        m.app()
            .post("/v1/auth/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(b"grant_type=password&username=\xff\xfe&password=x".to_vec()),
    )
    .await;
    answer.refused("invalid UTF-8 in a login form");

    // An escaped NUL is valid JSON but no text of ours holds one (PostgreSQL's text cannot):
    // refused with the field, in both languages.
    let mut nul_name = m.good_order();
    nul_name["buyer"]["name"] = json!("สมหญิง\u{0}รักดี");
    let mut nul_note = m.good_order();
    nul_note["note"] = json!("\u{0}");
    for (body, field) in [(&nul_name, "buyer.name"), (&nul_note, "note")] {
        for req in m.order_routes(field) {
            let answer = send(req.header("Accept-Language", "th").json(body)).await;
            let problem = answer.refused_field(field, "validation_failed", field);
            assert!(
                !problem.to_string().contains("NUL character"),
                "no English in Thai: {problem}"
            );
        }
    }
    // With the other complaints of the body, in one answer.
    let mut both = nul_name.clone();
    both["buyer"]["phone"] = json!("12345");
    let answer = send(m.app().post("/v1/orders").json(&both)).await;
    let problem = answer.refused_field("NUL and phone", "validation_failed", "buyer.name");
    assert_eq!(
        problem_fields(&problem),
        vec!["buyer.name".to_string(), "buyer.phone".to_string()],
        "{problem}"
    );
    let answer = send(m.app().post("/v1/auth/token").json(&json!({
        "grant_type": "password", "username": "admin\u{0}", "password": PASSWORD,
    })))
    .await;
    answer.refused_field("NUL username", "validation_failed", "username");
    let answer = send(m.app().post("/v1/auth/token").form(&[
        ("grant_type", "password"),
        ("username", "admin\0"),
        ("password", PASSWORD),
    ]))
    .await;
    answer.refused_field("NUL username (form)", "validation_failed", "username");
    let answer = send(
        m.create_window(product)
            .json(&window_body(10, json!({"title": "ลำไย\u{0}"}))),
    )
    .await;
    answer.refused_field("NUL title", "validation_failed", "title");

    // In the query: NUL and invalid UTF-8, percent-encoded.
    for query in ["q=%00", "crop=%00", "lao_code=36306%0090", "cursor=a%00b"] {
        for route in ["/v1/products", "/v1/windows"] {
            let answer = send(m.app().get(&format!("{route}?{query}"))).await;
            let field = query.split('=').next().unwrap();
            if route == "/v1/windows" && field == "q" {
                answer.refused_field(query, "invalid_parameter", "q");
                continue;
            }
            let problem = answer.refused_field(query, "invalid_parameter", field);
            assert_eq!(problem["errors"][0]["code"], "nul_character", "{problem}");
        }
    }
    // Invalid UTF-8, percent-encoded, is read as U+FFFD: text like any other.
    for query in ["q=%FF%FE", "province_code=%C0%AF", "crop=%ED%A0%80"] {
        let answer = send(m.app().get(&format!("/v1/products?{query}"))).await;
        if answer.status == 200 {
            assert_eq!(answer.json()["items"], json!([]), "{query}");
        } else {
            let field = query.split('=').next().unwrap();
            answer.refused_field(query, "invalid_parameter", field);
        }
        let answer = send(
            m.app()
                .get(&format!("/v1/windows?{}", query.replace("q=", "crop="))),
        )
        .await;
        if answer.status != 200 {
            answer.refused(query);
        }
    }
    // In a path: a NUL in every kind of text path parameter, and in an id.
    for path in [
        "/v1/orders/AB%00CD",
        "/v1/windows/1%00",
        "/v1/orders/%FF%FE",
        "/v1/crops/lon%00gan",
        "/v1/crops/lon%00gan/harvest-areas",
        "/v1/laos/363%000690",
        "/v1/holds/h%00",
        "/v1/waitlist/w%00",
        "/v1/postal-codes/10%00200/subdistricts",
        "/v1/embed/k%00/form",
        "/v1/provinces/6%003",
        "/v1/districts/63%0006",
        "/media/a%00.jpg",
        "/embed/assets/a%00.js",
    ] {
        let answer = send(
            m.app()
                .get(path)
                .header("X-Order-Secret", "x")
                .header("Accept-Language", "th"),
        )
        .await;
        if path.contains("%00") {
            let problem = answer.refused_field(path, "invalid_parameter", "path");
            assert_eq!(problem["errors"][0]["code"], "nul_character", "{problem}");
            assert_eq!(
                problem["errors"][0]["message"],
                "มีอักขระรหัสศูนย์ซึ่งเก็บเป็นข้อความไม่ได้ กรุณาลบออก"
            );
        } else {
            answer.refused(path);
        }
    }
    // Raw bytes no client sends: invalid UTF-8 and a NUL in the request line.
    for target in [
        &b"/v1/products?q=\xff\xfe"[..],
        b"/v1/windows/\xff",
        b"/v1/products?q=a\x00b",
    ] {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let (status, text) = send_raw(m.app(), &request).await;
        assert!(
            (400..500).contains(&status),
            "{}: {status}: {text}",
            String::from_utf8_lossy(target)
        );
    }

    m.assert_no_windows(product).await;
    m.assert_untouched().await;
    m.assert_still_serving().await;
}

#[tokio::test]
async fn sql_and_script_tags_are_stored_inertly_and_echoed_exactly() {
    let m = market().await;
    let product = product(&m.w).await;

    // A window titled with a script tag: stored and echoed as the same string.
    let mut body = window_body(50, json!({"title": SCRIPT}));
    body["variants"][0]["name"] = json!(SQL);
    let answer = send(m.create_window(product).json(&body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let created = answer.json();
    assert_eq!(created["title"], SCRIPT);
    // serde escapes nothing that JSON does not need, and interprets nothing.
    assert!(
        answer
            .text
            .contains(r#""title":"<script>alert(1)</script>""#),
        "{}",
        answer.text
    );
    let id = created["id"].as_i64().unwrap();
    let answer = send(m.app().get(&format!("/v1/windows/{id}"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["title"], SCRIPT);
    assert_eq!(answer.json()["variants"][0]["name"], SQL);
    // In a list too (the query `assert_no_windows` reads, which does see a window).
    let answer = send(
        m.app()
            .get(&format!(
                "/v1/windows?product_id={product}&include_drafts=true&status=all"
            ))
            .bearer_auth(&m.w.staff.token),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json()["items"][0]["title"],
        SCRIPT,
        "{}",
        answer.text
    );

    // An order with SQL in the buyer's name and a script tag in the note, on both routes.
    let mut order = m.good_order();
    order["buyer"]["name"] = json!(SQL);
    order["note"] = json!(format!("{SCRIPT} {SQL_OR}"));
    order["buyer"]["line_id"] = json!(SQL_OR);
    let mut codes = Vec::new();
    for req in m.order_routes("inert") {
        let answer = send(req.json(&order)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let body = answer.json();
        let placed = if body["order"].is_object() {
            body["order"].clone()
        } else {
            body
        };
        assert_eq!(placed["buyer"]["name"], SQL, "{placed}");
        assert_eq!(placed["note"], format!("{SCRIPT} {SQL_OR}"));
        codes.push((
            placed["code"].as_str().unwrap().to_string(),
            placed["secret"].as_str().unwrap().to_string(),
        ));
    }
    for (code, secret) in &codes {
        let answer = send(
            m.app()
                .get(&format!("/v1/orders/{code}"))
                .header("X-Order-Secret", secret),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let read = answer.json();
        assert_eq!(read["buyer"]["name"], SQL, "{read}");
        assert_eq!(read["note"], format!("{SCRIPT} {SQL_OR}"));
    }
    // The tables are intact: staff list both orders, the counters and the ledger agree.
    let (status, orders) = json(
        m.app()
            .get(&format!("/v1/orders?window_id={}", m.window_id()))
            .bearer_auth(&m.w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(orders["items"].as_array().unwrap().len(), 2, "{orders}");
    assert_eq!(availability(m.app(), m.window_id()).await["sold"], 2);
    assert_eq!(reconcile(&m.w, "").await["mismatches"], json!([]));

    // A login with SQL for the name and the password is just a wrong login.
    for (username, password) in [
        (SQL, SQL_OR),
        ("admin' --", "x' OR '1'='1"),
        (SQL_OR, SQL_OR),
    ] {
        let answer = send(m.app().post("/v1/auth/token").form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ]))
        .await;
        let problem = answer.refused(username);
        assert!(answer.status == 400 || answer.status == 401, "{problem}");
    }

    // The pages the server renders escape what it shows: the LAO's name with a script tag.
    let admin = m.app().login("admin").await;
    let res = m
        .app()
        .patch(&format!("/v1/laos/{MAE_SOT}"))
        .bearer_auth(&admin.token)
        .json(&json!({"name_en": SCRIPT}))
        .send()
        .await
        .unwrap();
    let renamed = res.status().as_u16() == 200;
    for page in [
        format!("/embed/form?key={}&window={id}&lang=en", m.key),
        format!("/embed/demo?key={}&window={id}&lang=en", m.key),
    ] {
        let answer = send(m.app().get(&page)).await;
        assert_eq!(answer.status, 200, "{page}: {}", answer.text);
        assert!(
            !answer.text.contains(SCRIPT) && !answer.text.contains(SQL),
            "{page}: {}",
            answer.text
        );
        if renamed && page.starts_with("/embed/form") {
            assert!(
                answer
                    .text
                    .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{page}: {}",
                answer.text
            );
        }
    }
    // A script tag as the page's key is refused, never written into the page.
    for page in [
        format!("/embed/form?key={}", utf8_percent_encode(SCRIPT)),
        format!("/embed/demo?key={}", utf8_percent_encode(SCRIPT)),
        format!("/embed/demo?key={}&window=%3Cscript%3E", m.key),
    ] {
        let answer = send(m.app().get(&page)).await;
        answer.refused(&page);
        assert!(!answer.text.contains("<script"), "{page}: {}", answer.text);
    }
    // The demo page writes its own address into the snippet: a `Host` carrying markup is not
    // an address and never reaches the page or its policy.
    let request = format!(
        "GET /embed/demo?key={}&lang=en HTTP/1.1\r\nHost: 127.0.0.1\"><script>alert(1)</script><x y=\"\r\nConnection: close\r\n\r\n",
        m.key
    );
    let (status, text) = send_raw(m.app(), request.as_bytes()).await;
    assert!(
        status == 200 || (400..500).contains(&status),
        "{status}: {text}"
    );
    assert!(
        !text.contains(SCRIPT),
        "the Host header was written into the page: {text}"
    );
    assert!(renamed, "an admin may rename the LAO in English");
}

#[tokio::test]
async fn overlong_thai_with_stacked_marks_is_refused_by_its_length() {
    let m = market().await;
    let product = product(&m.w).await;
    let thai = stacked_thai();

    let mut name = m.good_order();
    name["buyer"]["name"] = json!(thai);
    let mut note = m.good_order();
    note["note"] = json!(thai);
    for (body, field) in [(&name, "buyer.name"), (&note, "note")] {
        for req in m.order_routes(field) {
            let answer = send(req.header("Accept-Language", "th").json(body)).await;
            answer.refused_field(field, "validation_failed", field);
        }
    }
    let answer = send(
        m.create_window(product)
            .json(&window_body(10, json!({"title": thai}))),
    )
    .await;
    answer.refused_field("stacked title", "validation_failed", "title");
    m.assert_no_windows(product).await;
    let answer = send(m.app().get("/v1/products").query(&[("q", &thai)])).await;
    answer.refused_field("stacked q", "invalid_parameter", "q");
    let answer = send(m.app().post("/v1/auth/token").form(&[
        ("grant_type", "password"),
        ("username", thai.as_str()),
        ("password", thai.as_str()),
    ]))
    .await;
    answer.refused("stacked login");

    // A short name with a few stacked marks is text like any other: stored and echoed exactly.
    let short = "ก\u{0E49}\u{0E31}\u{0E49}\u{0E31} สมหญิง";
    let mut ok = m.good_order();
    ok["buyer"]["name"] = json!(short);
    let (status, placed) = place(m.app(), &ok, Some("short-stacked")).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["buyer"]["name"], short);
    assert_eq!(availability(m.app(), m.window_id()).await["sold"], 1);
    assert_eq!(reconcile(&m.w, "").await["mismatches"], json!([]));
}

/// JSON numbers as text, at and past what 64 bits (and a double) hold.
const EDGES: [&str; 11] = [
    "9223372036854775807",  // i64::MAX
    "9223372036854775808",  // i64::MAX + 1
    "-9223372036854775809", // i64::MIN - 1
    "18446744073709551616", // u64::MAX + 1
    "1e309",                // past f64
    "9007199254740993",     // 2^53 + 1, not a double
    "-0",
    "-0.0",
    "2147483648", // i32::MAX + 1
    "1.5",
    "\"1\"",
];

#[tokio::test]
async fn numbers_at_and_past_the_64_bit_limits_are_refused_with_the_field() {
    let m = market().await;
    let product = product(&m.w).await;
    let one = variant(&m.window, 1);
    let template =
        serde_json::to_string(&m.order(json!([{"variant_id": 424242, "quantity": 7}]))).unwrap();

    for edge in EDGES {
        for (field, body) in [
            (
                "lines[0].quantity",
                template
                    .replace("\"quantity\":7", &format!("\"quantity\":{edge}"))
                    .replace("424242", &one.to_string()),
            ),
            ("lines[0].variant_id", template.replace("424242", edge)),
            ("window_id", {
                let id = m.window_id().to_string();
                template.replace("424242", &one.to_string()).replacen(
                    &format!("\"window_id\":{id}"),
                    &format!("\"window_id\":{edge}"),
                    1,
                )
            }),
        ] {
            assert!(body.contains(edge), "{body}");
            for req in m.order_routes(&format!("{field}-{edge}")) {
                let answer = send(
                    req.header("Accept-Language", "th")
                        .header("Content-Type", "application/json")
                        .body(body.clone()),
                )
                .await;
                let problem = answer.refused(&format!("{field} = {edge}"));
                if problem["code"] == "malformed_json" {
                    // Only a number no parser holds (1e309) is not JSON at all.
                    assert_eq!(edge, "1e309", "{field}: {problem}");
                } else if problem["code"] == "not_found" {
                    // A window id that is a valid integer but names nothing.
                    assert_eq!(field, "window_id", "{edge}: {problem}");
                } else {
                    // Not a valid value (validation_failed), or an id of nothing in the window
                    // (unknown_variant): the field is named with its reason.
                    assert_eq!(problem["errors"][0]["field"], field, "{edge}: {problem}");
                    assert!(problem["errors"][0]["message"].is_string(), "{problem}");
                }
            }
        }
        // Prices and capacity of a new window: past what a price or capacity may be.
        for (field, patch) in [
            ("capacity", format!(r#""capacity":{edge}"#)),
            (
                "variants[0].price_satang",
                format!(r#""price_satang":{edge}"#),
            ),
            (
                "variants[0].units_per_item",
                format!(r#""units_per_item":{edge}"#),
            ),
            ("delivery.fee_satang", format!(r#""fee_satang":{edge}"#)),
        ] {
            let body = serde_json::to_string(&window_body(10, json!({}))).unwrap();
            let key = patch.split(':').next().unwrap();
            let at = body.find(key).unwrap();
            let end = at + body[at..].find([',', '}']).unwrap();
            let body = format!("{}{}{}", &body[..at], patch, &body[end..]);
            let answer = send(
                m.create_window(product)
                    .header("Content-Type", "application/json")
                    .body(body.clone()),
            )
            .await;
            // -0 is 0, a valid price or fee; the rest is refused.
            if answer.status == 201 {
                assert!(
                    edge.starts_with("-0") && field.contains("satang"),
                    "{field} = {edge} was taken: {}",
                    answer.text
                );
                continue;
            }
            let problem = answer.refused(&format!("{field} = {edge}"));
            if problem["code"] == "malformed_json" {
                assert_eq!(edge, "1e309", "{field}: {problem}");
            } else {
                assert_eq!(
                    problem["code"], "validation_failed",
                    "{field} = {edge}: {problem}"
                );
                assert!(
                    problem_fields(&problem).contains(&field.to_string()),
                    "{field} = {edge}: {problem}"
                );
            }
        }
        // Holds: the same numbers as a quantity.
        let body = format!(r#"{{"lines":[{{"variant_id":{one},"quantity":{edge}}}]}}"#);
        let answer = send(
            m.app()
                .post(&format!("/v1/windows/{}/holds", m.window_id()))
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        answer.refused(&format!("hold quantity {edge}"));
    }
    // i64::MAX as a price is past the largest price (refused with the field); the largest
    // price and quantity allowed together make a total no PromptPay payment carries: a clear
    // refusal, not an overflow.
    let mut body = window_body(1_000_000, json!({}));
    body["variants"][0]["price_satang"] = json!(i64::MAX);
    let answer = send(m.create_window(product).json(&body)).await;
    answer.refused_field(
        "i64::MAX price",
        "validation_failed",
        "variants[0].price_satang",
    );
    body["variants"][0]["price_satang"] = json!(100_000_000);
    let answer = send(m.create_window(product).json(&body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let dear = answer.json();
    let order = order_body(
        &dear,
        json!([{"variant_id": variant(&dear, 1), "quantity": 10_000}]),
        "0812345678",
    );
    let (status, problem) = place(m.app(), &order, Some("overflow")).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "order_total_too_large", "{problem}");
    assert_eq!(
        availability(m.app(), dear["id"].as_i64().unwrap()).await["sold"],
        0
    );

    m.assert_untouched().await;
    m.assert_still_serving().await;
}

#[tokio::test]
async fn hostile_headers_are_refused_with_the_header_named() {
    let m = market().await;
    let body = m.good_order();
    let huge = "k".repeat(8 * 1024);
    for key in [huge.as_str(), SQL, "ก-คีย์", "a\tb"] {
        let routes = [
            m.app().post("/v1/orders"),
            m.app()
                .post(&format!("/v1/embed/{}/orders", m.key))
                .header("Origin", SITE),
        ];
        for req in routes {
            let answer = send(req.header("Idempotency-Key", key).json(&body)).await;
            let problem = answer.refused(&truncated(key)[..20.min(key.len())]);
            assert_eq!(problem["code"], "invalid_parameter", "{problem}");
            assert_eq!(
                problem["errors"][0]["field"], "Idempotency-Key",
                "{problem}"
            );
            assert_eq!(
                problem["errors"][0]["code"], "invalid_idempotency_key",
                "{problem}"
            );
        }
    }
    // Bytes past ASCII in a header value (obs-text): no client library sends them.
    let text_body = serde_json::to_string(&body).unwrap();
    let mut request = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nIdempotency-Key: ",
        text_body.len()
    )
    .into_bytes();
    request.extend_from_slice(b"\xff\xfe\r\n\r\n");
    request.extend_from_slice(text_body.as_bytes());
    let (status, text) = send_raw(m.app(), &request).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid_idempotency_key"), "{text}");
    // A huge or hostile order secret is a wrong secret.
    for secret in [huge.as_str(), SQL_OR, SCRIPT] {
        let answer = send(
            m.app()
                .get("/v1/orders/ABCD-EFGH")
                .header("X-Order-Secret", secret),
        )
        .await;
        assert_eq!(answer.refused(secret)["code"], "not_found");
    }
    m.assert_untouched().await;

    // A script tag is visible ASCII, a key like any other: opaque, stored and matched exactly.
    let (status, first) = place(m.app(), &body, Some(SCRIPT)).await;
    assert_eq!(status, 201, "{first}");
    let res = send_res(
        m.app()
            .post("/v1/orders")
            .header("Idempotency-Key", SCRIPT)
            .json(&body),
    )
    .await;
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let (status, again) = json(res).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["code"], first["code"]);
    assert_eq!(availability(m.app(), m.window_id()).await["sold"], 1);
    assert_eq!(reconcile(&m.w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn script_tags_a_buyer_typed_are_escaped_on_the_printed_labels() {
    let w = World::new().await;
    let window = window(&w, 100, json!({})).await;
    let mut body = order_body(
        &window,
        json!([{"variant_id": variant(&window, 5), "quantity": 1}]),
        "0812345678",
    );
    body["delivery"] = json!({"method": "carrier", "address": {
        "recipient_name": SCRIPT, "phone": "089 123 4567",
        "address_line": format!("{SQL} <img src=x onerror=alert(1)>"),
        "subdistrict_code": "630601", "postal_code": "63110"}});
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["delivery"]["address"]["recipient_name"], SCRIPT);
    let code = order["code"].as_str().unwrap();
    for (path, body) in [
        (
            format!("/v1/orders/{code}/payment"),
            json!({"reference": SCRIPT}),
        ),
        (
            format!("/v1/orders/{code}/transitions"),
            json!({"to": "ready"}),
        ),
        (
            "/v1/dispatch-batches".to_string(),
            json!({"carrier": "thailand_post", "dispatch_date": "2026-06-03", "window_id": window["id"]}),
        ),
    ] {
        let answer = send(w.app.post(&path).bearer_auth(&w.staff.token).json(&body)).await;
        assert!(
            answer.status == 200 || answer.status == 201,
            "{path}: {}",
            answer.text
        );
        if path == "/v1/dispatch-batches" {
            let id = answer.json()["id"].as_i64().unwrap();
            let page = send(
                w.app
                    .get(&format!("/v1/dispatch-batches/{id}/labels"))
                    .bearer_auth(&w.staff.token),
            )
            .await;
            assert_eq!(page.status, 200, "{}", page.text);
            assert!(page.content_type.starts_with("text/html"));
            assert!(
                page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "the name is on the label, escaped: {}",
                page.text
            );
            assert!(!page.text.contains(SCRIPT), "{}", page.text);
            assert!(!page.text.contains("<img src=x"), "{}", page.text);
        }
    }
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}

#[tokio::test]
async fn dates_at_the_ends_of_the_calendar_are_refused_with_the_field() {
    let m = market().await;
    let product = product(&m.w).await;
    for (field, patch) in [
        (
            "closes_at",
            json!({"closes_at": "9999-12-31T23:59:59-12:00"}),
        ),
        ("closes_at", json!({"closes_at": "+262143-12-31T23:59:59Z"})),
        ("opens_at", json!({"opens_at": "0000-01-01T00:00:00+14:00"})),
        ("opens_at", json!({"opens_at": "-0001-01-01T00:00:00Z"})),
        ("harvest_end", json!({"harvest_end": "10000-01-01"})),
        ("harvest_start", json!({"harvest_start": "1999-12-31"})),
        ("harvest_start", json!({"harvest_start": "0000-01-01"})),
        ("harvest_end", json!({"harvest_end": "+262143-12-31"})),
        (
            "closes_at",
            json!({"closes_at": 9_223_372_036_854_775_807i64}),
        ),
    ] {
        let answer = send(
            m.create_window(product)
                .json(&window_body(10, patch.clone())),
        )
        .await;
        let problem = answer.refused(&patch.to_string());
        if answer.status == 422 && problem["code"] == "validation_failed" {
            let named = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["field"] == field)
                .cloned()
                .unwrap_or_default();
            assert!(
                named["code"] == "year_out_of_range" || named["code"] == "invalid_type",
                "{patch}: {problem}"
            );
        }
        assert!(
            problem_fields(&problem).iter().any(|f| f == field)
                || problem_fields(&problem)
                    .iter()
                    .any(|f| f.starts_with("pickup_points") || f.starts_with("harvest")),
            "{patch}: {problem}"
        );
    }
    // The year 10000 in UTC: the field named with the rule, in Thai too.
    let answer = send(
        m.create_window(product)
            .header("Accept-Language", "th")
            .json(&window_body(
                10,
                json!({"closes_at": "9999-12-31T23:59:59-12:00"}),
            )),
    )
    .await;
    let problem = answer.refused_field("year 10000", "validation_failed", "closes_at");
    assert_eq!(
        problem["errors"][0]["code"], "year_out_of_range",
        "{problem}"
    );
    assert_eq!(
        problem["errors"][0]["message"],
        "ต้องอยู่ระหว่างปี ค.ศ. 2000 ถึง 9999 (เวลากรุงเทพฯ)"
    );
    for query in [
        "harvest_from=9999-12-31",
        "harvest_to=0000-01-01",
        "harvest_from=%2B262143-12-31",
        "harvest_to=99999999999999999999-01-01",
    ] {
        let answer = send(m.app().get(&format!("/v1/windows?{query}"))).await;
        if answer.status == 200 {
            assert_eq!(answer.json()["items"], json!([]), "{query}");
        } else {
            let field = query.split('=').next().unwrap();
            answer.refused_field(query, "invalid_parameter", field);
        }
    }
    m.assert_no_windows(product).await;
    m.assert_untouched().await;
    m.assert_still_serving().await;
}

#[tokio::test]
async fn dates_past_the_calendar_in_list_queries_never_answer_500() {
    let w = World::new().await;
    let admin = w.app.login("admin").await;
    for date in ["9999-12-31", "0000-01-01", "%2B262143-12-31", "-0001-01-01"] {
        for (path, token) in [
            (format!("/v1/orders?from={date}"), &w.staff.token),
            (format!("/v1/orders?to={date}"), &w.staff.token),
            (
                format!("/v1/dispatch-batches?dispatch_date={date}"),
                &w.staff.token,
            ),
            (format!("/v1/stats/coverage?date={date}"), &admin.token),
            (format!("/v1/windows?harvest_from={date}"), &w.staff.token),
        ] {
            let answer = send(w.app.get(&path).bearer_auth(token)).await;
            if answer.status != 200 {
                answer.refused(&path);
            }
        }
    }
}

//! Bad input of every kind gets a 4xx problem+json, never a 500 or plain text.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn unknown_route_is_a_problem_in_the_callers_language() {
    let app = spawn_app().await;
    let res = app.get("/v1/no-such-thing").send().await.unwrap();
    let body = assert_problem(res, 404, "route_not_found").await;
    assert_eq!(body["instance"], "/v1/no-such-thing");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("GET /v1/no-such-thing")
    );

    let res = app
        .get("/v1/no-such-thing")
        .header("Accept-Language", "th-TH,th;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "th");
    let body = assert_problem(res, 404, "route_not_found").await;
    assert_eq!(body["title"], "ไม่พบเส้นทางนี้");
}

#[tokio::test]
async fn unknown_problem_code_is_not_found() {
    let app = spawn_app().await;
    let res = app.get("/problems/no_such_problem").send().await.unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn malformed_json_is_400_with_the_reason() {
    let w = World::new().await;
    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.admin.token)
        .header("Content-Type", "application/json")
        .body(r#"{"username": "a", "display_name": "#)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "malformed_json").await;
    assert!(body["detail"].as_str().unwrap().contains("EOF"), "{body}");
    assert_eq!(
        (body["line"].as_u64(), body["column"].as_u64()),
        (Some(1), Some(34))
    );

    // In Thai the parser's complaint is read, not copied.
    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.admin.token)
        .header("Accept-Language", "th")
        .header("Content-Type", "application/json")
        .body(r#"{"username": "a", "display_name": "#)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "malformed_json").await;
    assert_eq!(
        body["detail"],
        "เนื้อหาคำขอไม่ใช่ JSON ที่ถูกต้อง: ข้อมูลจบก่อนได้ค่าที่ครบถ้วน (บรรทัด 1 ตำแหน่ง 34)"
    );
    assert_eq!(body["reason"], "ข้อมูลจบก่อนได้ค่าที่ครบถ้วน (บรรทัด 1 ตำแหน่ง 34)");

    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.admin.token)
        .header("Content-Type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_json").await;
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_name_the_field() {
    let w = World::new().await;
    let res = w
        .app
        .post("/v1/partner-clients")
        .bearer_auth(&w.admin.token)
        .json(&serde_json::json!({"name": "x", "scopes": "orders:write"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "scopes");
    assert_eq!(body["errors"][0]["code"], "invalid_type");

    let res = w
        .app
        .patch(&format!("/v1/laos/{MAE_SOT}"))
        .bearer_auth(&w.admin.token)
        .header("Accept-Language", "th")
        .json(&serde_json::json!({"colour": "green"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "colour");
    assert_eq!(body["errors"][0]["code"], "unknown_field");
    assert_eq!(body["errors"][0]["message"], "ไม่ใช่ช่องข้อมูลที่รู้จัก");
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let w = World::new().await;
    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.admin.token)
        .header("Content-Type", "text/plain")
        .body(r#"{"username": "abc"}"#)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 415, "unsupported_media_type").await;
    assert_eq!(body["expected"], "application/json");
    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.admin.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn a_too_large_body_is_413_and_nothing_is_written() {
    let app = spawn_app_with(|c| c.max_body_bytes = 1024).await;
    let w = World::with_app(app).await;
    let big = serde_json::json!({"name": "x".repeat(4096), "scopes": ["orders:read"]});
    let res = w
        .app
        .post("/v1/partner-clients")
        .bearer_auth(&w.admin.token)
        .json(&big)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 413, "payload_too_large").await;
    assert_eq!(body["limit"], 1024);

    // Streamed without a length, it is cut off as soon as it passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 512])).collect();
    let res = w
        .app
        .post("/v1/partner-clients")
        .bearer_auth(&w.admin.token)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;

    let (_, list) = json(
        w.app
            .get("/v1/partner-clients")
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the world's partner"
    );
}

#[tokio::test]
async fn bad_path_and_query_parameters_are_400_with_the_field() {
    let w = World::new().await;
    let res = w
        .app
        .get("/v1/users/abc")
        .bearer_auth(&w.admin.token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "id");
    let res = w
        .app
        .get("/v1/users?limit=5000")
        .bearer_auth(&w.admin.token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "limit");
    assert_eq!(body["errors"][0]["code"], "too_large");
    let res = w
        .app
        .get("/v1/users?active=maybe")
        .bearer_auth(&w.admin.token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "active");
    let res = w.app.get("/v1/laos?colour=green").send().await.unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_allowed_methods() {
    let app = spawn_app().await;
    let res = app.delete("/v1/provinces").send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    let body = assert_problem(res, 405, "method_not_allowed").await;
    assert_eq!(body["method"], "DELETE");

    // Path parameters match any value; the methods of every route on the path are listed.
    let res = app
        .request(reqwest::Method::PUT, "/v1/windows/12345/holds")
        .header("Accept-Language", "th")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    let body = assert_problem(res, 405, "method_not_allowed").await;
    assert_eq!(body["title"], "ไม่รองรับเมธอดนี้");

    // A path no route has stays 404, whatever the method.
    let res = app.delete("/v1/provinces/63/nothing").send().await.unwrap();
    assert!(res.headers().get("allow").is_none());
    assert_problem(res, 404, "route_not_found").await;
}

#[tokio::test]
async fn head_is_served_wherever_get_is() {
    let app = spawn_app().await;
    let get = app.get("/v1/provinces/63").send().await.unwrap();
    assert_eq!(get.status(), 200);
    let length = get.headers()["content-length"].clone();
    let res = app
        .request(reqwest::Method::HEAD, "/v1/provinces/63")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["content-length"], length);
    assert!(res.bytes().await.unwrap().is_empty());
}

/// One problem, provoked once with `Accept-Language: th` and once with `en`.
struct Sample {
    case: String,
    th: Value,
    en: Value,
}

/// Sends bad requests in both languages and keeps what came back.
#[derive(Default)]
struct Probe {
    samples: Vec<Sample>,
}

impl Probe {
    /// Sends `request` in Thai, then in English; both must be the problem `code` with `status`.
    /// Returns the English body.
    async fn send(
        &mut self,
        case: &str,
        status: u16,
        code: &str,
        request: reqwest::RequestBuilder,
    ) -> Value {
        let in_thai = request
            .try_clone()
            .expect("a request with a body that can be sent twice")
            .header("Accept-Language", "th-TH,th;q=0.9");
        let th_res = in_thai.send().await.unwrap();
        assert_eq!(th_res.headers()["content-language"], "th", "{case}");
        let th = assert_problem(th_res, status, code).await;
        let en_res = request
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap();
        let en = assert_problem(en_res, status, code).await;
        self.samples.push(Sample {
            case: case.to_string(),
            th,
            en: en.clone(),
        });
        en
    }

    /// What breaks the language rules: a Thai detail, title or field message with English left in
    /// it (or no Thai at all), an English detail or field message naming a state, move or field
    /// by its wire value outside a code span.
    fn violations(&self) -> Vec<String> {
        use khongdee::i18n::{bare_identifiers, untranslated_words};
        let is_thai = |c: char| ('\u{0E00}'..='\u{0E7F}').contains(&c);
        let mut found = Vec::new();
        for Sample { case, th, en } in &self.samples {
            let mut thai_texts = vec![
                ("detail".to_string(), th["detail"].as_str().unwrap_or("")),
                ("title".to_string(), th["title"].as_str().unwrap_or("")),
            ];
            for (i, e) in th["errors"].as_array().into_iter().flatten().enumerate() {
                thai_texts.push((
                    format!("errors[{i}].message"),
                    e["message"].as_str().unwrap_or(""),
                ));
            }
            for (member, text) in thai_texts {
                let english = untranslated_words(text);
                if !english.is_empty() {
                    found.push(format!("{case}: Thai {member} carries {english:?}: {text}"));
                }
                if !text.chars().any(is_thai) {
                    found.push(format!("{case}: Thai {member} has no Thai: {text}"));
                }
            }
            let mut english_texts =
                vec![("detail".to_string(), en["detail"].as_str().unwrap_or(""))];
            for (i, e) in en["errors"].as_array().into_iter().flatten().enumerate() {
                english_texts.push((
                    format!("errors[{i}].message"),
                    e["message"].as_str().unwrap_or(""),
                ));
            }
            for (member, text) in english_texts {
                let identifiers = bare_identifiers(text);
                if !identifiers.is_empty() {
                    found.push(format!(
                        "{case}: English {member} names {identifiers:?}: {text}"
                    ));
                }
            }
        }
        found
    }
}

/// Issue 10, point 17: problem texts are in the caller's language all through — states by their
/// label, parsers' complaints read in Thai. Every kind of bad request a client can make, in Thai
/// and in English.
#[tokio::test]
async fn every_problem_reads_in_the_callers_language() {
    use serde_json::json;

    use crate::market::*;

    let w = World::with_app(
        spawn_app_with(|c| {
            c.max_body_bytes = 16 * 1024;
            // The token endpoint's limit would refuse the world's sign-ins plus these requests.
            c.rate_limit_token_per_minute = 1000;
        })
        .await,
    )
    .await;
    let app = &w.app;
    let mut p = Probe::default();
    let admin = &w.admin.token;
    let staff = &w.staff.token;

    // Routing and authentication.
    p.send(
        "unknown route",
        404,
        "route_not_found",
        app.get("/v1/no-such-thing"),
    )
    .await;
    p.send(
        "wrong method",
        405,
        "method_not_allowed",
        app.delete("/v1/provinces"),
    )
    .await;
    p.send(
        "no token",
        401,
        "authentication_required",
        app.get("/v1/users"),
    )
    .await;
    p.send(
        "malformed token",
        401,
        "invalid_token",
        app.get("/v1/users").bearer_auth("not-a-token"),
    )
    .await;
    p.send(
        "unknown window",
        404,
        "not_found",
        app.get("/v1/windows/999999"),
    )
    .await;

    // Bodies that are not JSON, not the right type, too large.
    let users = || app.post("/v1/users").bearer_auth(admin);
    for (case, body) in [
        ("truncated JSON", r#"{"username": "a", "display_name": "#),
        ("empty body", ""),
        (
            "trailing characters",
            r#"{"username": "somsri", "display_name": "ส", "password": "ทุเรียนหมอนทอง-2569", "role": "admin"} x"#,
        ),
        ("single quotes", "{'username': 'a'}"),
        ("unquoted key", "{username: 1}"),
    ] {
        p.send(
            case,
            400,
            "malformed_json",
            users()
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
    }
    p.send(
        "text/plain body",
        415,
        "unsupported_media_type",
        users().header("Content-Type", "text/plain").body("{}"),
    )
    .await;
    p.send(
        "token request as text",
        415,
        "unsupported_media_type",
        app.post("/v1/auth/token")
            .header("Content-Type", "text/plain")
            .body("grant_type=password"),
    )
    .await;
    p.send(
        "body over the limit",
        413,
        "payload_too_large",
        users().json(&json!({"username": "x".repeat(32 * 1024)})),
    )
    .await;

    // Wrong types and values, field by field.
    let win = window(&w, 10, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let unit = variant(&win, 1);
    let order = |lines: serde_json::Value, phone: &str| order_body(&win, lines, phone);
    let mut typed = Vec::new();
    let mut quantity_as_text = order(json!([{"variant_id": unit, "quantity": 1}]), "0891234567");
    quantity_as_text["lines"][0]["quantity"] = json!("two");
    typed.push(("quantity as text", quantity_as_text));
    let mut lines_as_object = order(json!({}), "0891234567");
    lines_as_object["lines"] = json!({"variant_id": unit});
    typed.push(("lines as an object", lines_as_object));
    let mut negative_quantity = order(json!([{"variant_id": unit, "quantity": -3}]), "0891234567");
    negative_quantity["buyer"]["name"] = json!("สมหญิง");
    typed.push(("negative quantity", negative_quantity));
    let mut unknown_method = order(json!([{"variant_id": unit, "quantity": 1}]), "0891234567");
    unknown_method["delivery"] = json!({"method": "drone"});
    typed.push(("unknown delivery method", unknown_method));
    let mut window_as_bool = order(json!([{"variant_id": unit, "quantity": 1}]), "0891234567");
    window_as_bool["window_id"] = json!(true);
    typed.push(("window id as a boolean", window_as_bool));
    typed.push((
        "bad phone number",
        order(json!([{"variant_id": unit, "quantity": 1}]), "12"),
    ));
    let mut unknown_member = order(json!([{"variant_id": unit, "quantity": 1}]), "0891234567");
    unknown_member["colour"] = json!("green");
    typed.push(("unknown member", unknown_member));
    for (case, body) in typed {
        p.send(
            case,
            422,
            "validation_failed",
            app.post("/v1/orders").json(&body),
        )
        .await;
    }
    let product = product(&w).await;
    let windows_of_product = format!("/v1/products/{product}/windows");
    for (case, patch) in [
        ("date as a word", json!({"opens_at": "tomorrow"})),
        ("date without time", json!({"closes_at": "2026-07-01"})),
        (
            "harvest ends before it starts",
            json!({"harvest_start": "2026-07-31", "harvest_end": "2026-07-15"}),
        ),
        ("capacity as text", json!({"capacity": "lots"})),
    ] {
        p.send(
            case,
            422,
            "validation_failed",
            app.post(&windows_of_product)
                .bearer_auth(staff)
                .json(&window_body(10, patch)),
        )
        .await;
    }
    for (case, body) in [
        ("unknown window action", json!({"action": "explode"})),
        ("window action as a number", json!({"action": 5})),
    ] {
        p.send(
            case,
            422,
            "validation_failed",
            app.post(&format!("/v1/windows/{id}/actions"))
                .bearer_auth(staff)
                .json(&body),
        )
        .await;
    }
    p.send(
        "scopes as text",
        422,
        "validation_failed",
        app.post("/v1/partner-clients")
            .bearer_auth(admin)
            .json(&json!({"name": "x", "scopes": "orders:write"})),
    )
    .await;
    p.send(
        "unknown scope",
        422,
        "validation_failed",
        app.post("/v1/partner-clients")
            .bearer_auth(admin)
            .json(&json!({"name": "ตลาด", "scopes": ["orders:fly"]})),
    )
    .await;
    p.send(
        "bad username and password",
        422,
        "validation_failed",
        users().json(&json!({"username": "a b", "display_name": "ทดสอบ", "password": "123", "role": "lao_staff", "lao_code": MAE_SOT})),
    )
    .await;
    p.send(
        "taken username",
        409,
        "already_exists",
        users().json(&json!({"username": "maesot.staff", "display_name": "ทดสอบ", "password": "ทุเรียนหมอนทอง-2569", "role": "lao_staff", "lao_code": MAE_SOT})),
    )
    .await;

    // Path and query parameters.
    for (case, path) in [
        ("query boolean", "/v1/users?active=maybe"),
        ("query number as text", "/v1/users?limit=abc"),
        ("query number too large", "/v1/users?limit=5000"),
        ("query cursor", "/v1/users?cursor=garbage"),
        ("unknown query parameter", "/v1/laos?colour=green"),
        ("path id as text", "/v1/users/abc"),
    ] {
        p.send(
            case,
            400,
            "invalid_parameter",
            app.get(path).bearer_auth(admin),
        )
        .await;
    }
    p.send(
        "window path id as text",
        400,
        "invalid_parameter",
        app.post("/v1/windows/abc/actions")
            .bearer_auth(staff)
            .json(&json!({"action": "close"})),
    )
    .await;

    // OAuth token requests.
    let token = || app.post("/v1/auth/token");
    p.send(
        "unsupported grant",
        400,
        "unsupported_grant_type",
        token().form(&[("grant_type", "implicit")]),
    )
    .await;
    p.send(
        "grant without username",
        400,
        "invalid_request",
        token().form(&[("grant_type", "password"), ("password", "x")]),
    )
    .await;
    p.send(
        "wrong password",
        400,
        "invalid_grant",
        token().form(&[
            ("grant_type", "password"),
            ("username", "maesot.staff"),
            ("password", "wrong-password-1234"),
        ]),
    )
    .await;
    p.send(
        "unknown refresh token",
        400,
        "invalid_grant",
        token().form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "garbage"),
        ]),
    )
    .await;
    p.send(
        "scope not given",
        400,
        "invalid_scope",
        token()
            .basic_auth(&w.partner.client_id, Some(&w.partner.secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "stats:read"),
            ]),
    )
    .await;

    // Holds and capacity.
    let holds = format!("/v1/windows/{id}/holds");
    let hold_body = |variant_id: i64, quantity: i64| json!({"lines": [{"variant_id": variant_id, "quantity": quantity}]});
    p.send(
        "more than is left",
        409,
        "insufficient_capacity",
        app.post(&holds).json(&hold_body(variant(&win, 5), 3)),
    )
    .await;
    let other = window(&w, 10, json!({})).await;
    p.send(
        "variant of another window",
        422,
        "unknown_variant",
        app.post(&holds).json(&hold_body(variant(&other, 1), 1)),
    )
    .await;
    let reader = app.partner("อ่านอย่างเดียว", &["orders:read"], &[]).await;
    p.send(
        "partner without the scope",
        403,
        "insufficient_scope",
        app.post(&holds)
            .bearer_auth(&reader.token)
            .json(&hold_body(unit, 1)),
    )
    .await;
    let (status, taken) = hold(app, id, unit, 6, None).await;
    assert_eq!(status, 201, "{taken}");
    p.send(
        "capacity below what is held",
        409,
        "capacity_below_committed",
        app.patch(&format!("/v1/windows/{id}"))
            .bearer_auth(staff)
            .json(&json!({"capacity": 5})),
    )
    .await;
    p.send(
        "waiting while units are left",
        409,
        "waitlist_not_needed",
        app.post(&format!("/v1/windows/{id}/waitlist")).json(
            &json!({"variant_id": unit, "quantity": 1, "buyer_name": "ผู้ซื้อ", "buyer_phone": "0810000009"}),
        ),
    )
    .await;
    let taken_id = taken["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let res = app
            .post(&format!("/v1/holds/{taken_id}/extend"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    p.send(
        "too many extensions",
        409,
        "extension_limit",
        app.post(&format!("/v1/holds/{taken_id}/extend")),
    )
    .await;
    let (status, released) = hold(app, id, unit, 1, None).await;
    assert_eq!(status, 201, "{released}");
    let released_id = released["id"].as_str().unwrap();
    let res = app
        .delete(&format!("/v1/holds/{released_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    p.send(
        "extending a released hold",
        409,
        "hold_not_active",
        app.post(&format!("/v1/holds/{released_id}/extend")),
    )
    .await;
    let tiny = window(&w, 1, json!({})).await;
    let tiny_id = tiny["id"].as_i64().unwrap();
    assert_eq!(hold(app, tiny_id, variant(&tiny, 1), 1, None).await.0, 201);
    p.send(
        "sold out",
        409,
        "sold_out",
        app.post(&format!("/v1/windows/{tiny_id}/holds"))
            .json(&hold_body(variant(&tiny, 1), 1)),
    )
    .await;
    let limited = window(
        &w,
        100,
        json!({"min_items_per_order": 2, "max_items_per_order": 5, "max_units_per_buyer": 3}),
    )
    .await;
    let limited_holds = format!("/v1/windows/{}/holds", limited["id"]);
    p.send(
        "fewer items than an order takes",
        422,
        "order_limit",
        app.post(&limited_holds)
            .json(&hold_body(variant(&limited, 1), 1)),
    )
    .await;
    p.send(
        "more than a buyer may take",
        409,
        "buyer_limit",
        app.post(&limited_holds).json(&json!({
            "lines": [{"variant_id": variant(&limited, 1), "quantity": 4}],
            "buyer_phone": "0891234567",
        })),
    )
    .await;
    let later = window(&w, 10, json!({"opens_at": at(24), "closes_at": at(48)})).await;
    p.send(
        "window not open yet",
        409,
        "window_not_open",
        app.post(&format!("/v1/windows/{}/holds", later["id"]))
            .json(&hold_body(variant(&later, 1), 1)),
    )
    .await;
    let closed = window(&w, 10, json!({})).await;
    let res = app
        .post(&format!("/v1/windows/{}/actions", closed["id"]))
        .bearer_auth(staff)
        .json(&json!({"action": "close"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    p.send(
        "window closed",
        409,
        "window_closed",
        app.post(&format!("/v1/windows/{}/holds", closed["id"]))
            .json(&hold_body(variant(&closed, 1), 1)),
    )
    .await;

    // Orders: idempotency and moves the state machine forbids.
    let body = order(json!([{"variant_id": unit, "quantity": 1}]), "0891234567");
    p.send(
        "partner order without a key",
        400,
        "idempotency_key_required",
        app.post("/v1/orders")
            .bearer_auth(&w.partner.token)
            .json(&body),
    )
    .await;
    p.send(
        "key with spaces",
        400,
        "invalid_parameter",
        app.post("/v1/orders")
            .header("Idempotency-Key", "has spaces in it")
            .json(&body),
    )
    .await;
    let (status, unpaid) = place(app, &body, Some("lang-order-1")).await;
    assert_eq!(status, 201, "{unpaid}");
    let other_body = order(json!([{"variant_id": unit, "quantity": 2}]), "0891234567");
    p.send(
        "key reused for another order",
        422,
        "idempotency_key_reused",
        app.post("/v1/orders")
            .header("Idempotency-Key", "lang-order-1")
            .json(&other_body),
    )
    .await;
    let unpaid_code = unpaid["code"].as_str().unwrap();
    let transitions = format!("/v1/orders/{unpaid_code}/transitions");
    for to in ["ready", "handed_over", "picked_up"] {
        p.send(
            &format!("unpaid order to {to}"),
            409,
            "invalid_transition",
            app.post(&transitions)
                .bearer_auth(staff)
                .json(&json!({"to": to})),
        )
        .await;
    }
    let (status, paid) = place(
        app,
        &order(json!([{"variant_id": unit, "quantity": 1}]), "0891234568"),
        None,
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    let paid_code = paid["code"].as_str().unwrap();
    let payment = format!("/v1/orders/{paid_code}/payment");
    p.send(
        "payment by another LAO",
        403,
        "forbidden",
        app.post(&payment)
            .bearer_auth(&w.other_lao_staff.token)
            .json(&json!({"reference": "x"})),
    )
    .await;
    let res = app
        .post(&payment)
        .bearer_auth(staff)
        .json(&json!({"reference": "KBank 14:32"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    p.send(
        "buyer cancels a confirmed order",
        409,
        "invalid_transition",
        app.post(&format!("/v1/orders/{paid_code}/cancel"))
            .header("X-Order-Secret", paid["secret"].as_str().unwrap()),
    )
    .await;
    p.send(
        "confirmed order to shipped",
        409,
        "invalid_transition",
        app.post(&format!("/v1/orders/{paid_code}/transitions"))
            .bearer_auth(staff)
            .json(&json!({"to": "shipped"})),
    )
    .await;

    // Window moves its state forbids.
    let actions = format!("/v1/windows/{id}/actions");
    for action in ["publish", "reopen", "mark_fulfilled", "cancel"] {
        p.send(
            &format!("open window: {action}"),
            409,
            "invalid_transition",
            app.post(&actions)
                .bearer_auth(staff)
                .json(&json!({"action": action})),
        )
        .await;
    }
    let full = format!("/v1/windows/{tiny_id}/actions");
    p.send(
        "sold-out window: reopen",
        409,
        "invalid_transition",
        app.post(&full)
            .bearer_auth(staff)
            .json(&json!({"action": "reopen"})),
    )
    .await;

    // Last, as it moves the clock: a hold past its time.
    let (status, lapsing) = hold(app, id, unit, 1, None).await;
    assert_eq!(status, 201, "{lapsing}");
    app.clock.advance(chrono::Duration::hours(2));
    p.send(
        "extending an expired hold",
        410,
        "hold_expired",
        app.post(&format!(
            "/v1/holds/{}/extend",
            lapsing["id"].as_str().unwrap()
        )),
    )
    .await;

    let codes: std::collections::BTreeSet<&str> = p
        .samples
        .iter()
        .filter_map(|s| s.en["code"].as_str())
        .collect();
    assert!(
        codes.len() >= 30,
        "only {} kinds provoked: {codes:?}",
        codes.len()
    );
    let violations = p.violations();
    assert!(
        violations.is_empty(),
        "{} of {} problems break the language rules:\n{}",
        violations.len(),
        p.samples.len(),
        violations.join("\n")
    );
}

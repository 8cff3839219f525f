//! Bad input of every kind gets a 4xx problem+json, never a 500 or plain text.

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

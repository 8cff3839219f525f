//! Health, readiness, metrics, docs and request ids.

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let (status, body) = json(app.get("/healthz").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");

    let (status, body) = json(app.get("/readyz").send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["migrations"], "applied");
    let backend = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"]["backend"], backend);
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let res = app
        .get("/healthz")
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");

    let res = app.get("/healthz").send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    // An unacceptable id is replaced, and problems carry the id too.
    let res = app
        .get("/nowhere")
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "bad id with spaces");
    let body = assert_problem(res, 404, "route_not_found").await;
    assert_eq!(body["request_id"], id);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/healthz").send().await.unwrap();
    }
    app.get("/no/such/route").send().await.unwrap();
    let res = app.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    let text = res.text().await.unwrap();
    let healthz = metric_value(
        &text,
        "khongdee_http_requests_total",
        &[("route", "/healthz"), ("status", "200"), ("method", "GET")],
    );
    assert_eq!(healthz, 3.0, "{text}");
    let unmatched = metric_value(
        &text,
        "khongdee_http_requests_total",
        &[("route", "unmatched"), ("status", "404")],
    );
    assert_eq!(unmatched, 1.0, "{text}");
    let buckets = metric_value(
        &text,
        "khongdee_http_request_duration_seconds_count",
        &[("route", "/healthz")],
    );
    assert_eq!(buckets, 3.0, "{text}");
    assert!(
        text.contains("khongdee_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, "khongdee_db_pool_max_connections", &[]),
        10.0
    );
    assert!(metric_value(&text, "khongdee_db_pool_connections", &[]) >= 1.0);
    assert!(text.contains("khongdee_db_queries_total"));
}

#[tokio::test]
async fn docs_and_openapi_are_served() {
    let app = spawn_app().await;
    let (status, spec) = json(app.get("/openapi.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/healthz"]["get"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());

    let res = app.get("/docs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"api-reference\""));
    assert!(html.contains("\"/healthz\""), "the page embeds the spec");
    assert!(
        html.contains("/openapi.json"),
        "the page links the spec for offline use"
    );

    let (status, index) = json(app.get("/").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(index["docs"], "/docs");
}

#[tokio::test]
async fn problem_types_are_documented() {
    let app = spawn_app().await;
    let (status, list) = json(app.get("/problems").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"validation_failed"));
    assert!(codes.contains(&"database_unavailable"));

    let (status, one) = json(
        app.get("/problems/payload_too_large")
            .header("Accept-Language", "th")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["status"], 413);
    assert_eq!(one["title"], "ข้อมูลมีขนาดใหญ่เกินไป");
}

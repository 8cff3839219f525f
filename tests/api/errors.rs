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

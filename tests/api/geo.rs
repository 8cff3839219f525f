//! Geography: the real counts, look-ups and postal-code checks.

use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::*;

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = json(app.get(path).send().await.unwrap()).await;
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_endpoints_return_all_77_provinces_928_districts_and_7436_subdistricts() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 100_000).await;
    let provinces = items(&app, "/v1/provinces").await;
    assert_eq!(provinces.len(), 77);

    let mut districts = Vec::new();
    for chunk in provinces.chunks(20) {
        let pages = join_all(chunk.iter().map(|p| {
            let path = format!("/v1/provinces/{}/districts", p["code"].as_str().unwrap());
            let app = &app;
            async move { items(app, &path).await }
        }))
        .await;
        districts.extend(pages.into_iter().flatten());
    }
    assert_eq!(districts.len(), 928);

    let mut subdistricts = 0;
    for chunk in districts.chunks(50) {
        let pages = join_all(chunk.iter().map(|d| {
            let path = format!("/v1/districts/{}/subdistricts", d["code"].as_str().unwrap());
            let app = &app;
            async move { items(app, &path).await.len() }
        }))
        .await;
        subdistricts += pages.into_iter().sum::<usize>();
    }
    assert_eq!(subdistricts, 7436);
}

#[tokio::test]
async fn district_6306_is_mae_sot_in_tak() {
    let app = spawn_app().await;
    let (status, body) = json(app.get("/v1/districts/6306").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["name_th"], "แม่สอด");
    assert_eq!(body["name_en"], "Mae Sot");
    assert_eq!(body["province"]["code"], "63");
    assert_eq!(body["province"]["name_th"], "ตาก");

    let (_, province) = json(app.get("/v1/provinces/63").send().await.unwrap()).await;
    assert_eq!(province["name_en"], "Tak");
    let districts = items(&app, "/v1/provinces/63/districts").await;
    assert!(districts.iter().any(|d| d["code"] == "6306"));
    assert!(districts.iter().all(|d| d["province_code"] == "63"));

    let subs = items(&app, "/v1/districts/6306/subdistricts").await;
    assert!(!subs.is_empty());
    let (status, sub) = json(
        app.get(&format!(
            "/v1/subdistricts/{}",
            subs[0]["code"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sub["district"]["name_th"], "แม่สอด");
    assert_eq!(sub["province"]["name_th"], "ตาก");
}

#[tokio::test]
async fn postal_codes_are_checked_by_lookup_not_prefix() {
    let app = spawn_app().await;
    let subs = items(&app, "/v1/districts/6306/subdistricts").await;
    let code = subs[0]["code"].as_str().unwrap();
    let postal = subs[0]["postal_codes"][0].as_str().unwrap();

    let (status, check) = json(
        app.get(&format!("/v1/subdistricts/{code}/postal-codes/{postal}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(check["valid"], true);
    let (_, check) = json(
        app.get(&format!("/v1/subdistricts/{code}/postal-codes/10200"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(check["valid"], false);
    assert_eq!(check["postal_codes"][0], postal);

    // Samut Prakan is province 11 but uses 10xxx codes.
    let found = items(&app, "/v1/postal-codes/10270/subdistricts").await;
    assert!(!found.is_empty());
    assert!(
        found.iter().all(|s| s["province"]["code"] == "11"),
        "{found:?}"
    );
    assert!(
        items(&app, "/v1/postal-codes/99999/subdistricts")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn bad_codes_are_400_and_unknown_codes_404() {
    let app = spawn_app().await;
    for path in [
        "/v1/provinces/6",
        "/v1/provinces/6x",
        "/v1/districts/63060",
        "/v1/subdistricts/abc",
        "/v1/subdistricts/630601/postal-codes/631",
        "/v1/postal-codes/6311x/subdistricts",
    ] {
        let body = assert_problem(
            app.get(path).send().await.unwrap(),
            400,
            "invalid_parameter",
        )
        .await;
        assert_eq!(
            body["errors"][0]["code"], "invalid_digits",
            "{path}: {body}"
        );
    }
    for path in [
        "/v1/provinces/99",
        "/v1/provinces/99/districts",
        "/v1/districts/6399",
        "/v1/subdistricts/639999",
    ] {
        assert_problem(app.get(path).send().await.unwrap(), 404, "not_found").await;
    }
    let body = assert_problem(
        app.get("/v1/districts/6399")
            .header("Accept-Language", "th")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("อำเภอ"), "{body}");
}

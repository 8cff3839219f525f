//! The demo data set: loads once, is idempotent, and its documented credentials work.

use khongdee::clock::Clock;
use khongdee::seed;

use crate::helpers::*;

async fn seed_once(app: &TestApp) -> seed::SeedReport {
    let now = app.clock.now_naive();
    let pepper = app.state.citizen_id_pepper.clone();
    app.state
        .db(move |conn| seed::seed_demo(conn, &pepper, now))
        .await
        .unwrap_or_else(|e| panic!("seed: {}", e.describe()))
}

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_usable() {
    let app = spawn_app().await;
    assert!(app.state.db(seed::database_is_empty).await.unwrap());
    let first = seed_once(&app).await;
    assert!(!first.already_seeded);
    assert_eq!(first.laos, 10);
    assert_eq!(first.accounts, 6);
    assert_eq!(first.partner_clients, 1);
    assert_eq!(first.producers, 6);
    assert_eq!(first.products, 7);
    assert_eq!(first.calendar_entries, 15);
    assert_eq!(first.windows, 7);
    let second = seed_once(&app).await;
    assert!(second.already_seeded);
    assert!(!app.state.db(seed::database_is_empty).await.unwrap());

    let (_, laos) = json(app.get("/v1/laos?province_code=63").send().await.unwrap()).await;
    assert_eq!(laos["items"].as_array().unwrap().len(), 5);

    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "demo-maesot-staff"),
            ("password", seed::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.client_token(seed::DEMO_CLIENT_ID, seed::DEMO_CLIENT_SECRET)
        .await;

    let (_, products) = json(app.get("/v1/products?crop=durian").send().await.unwrap()).await;
    assert_eq!(products["items"].as_array().unwrap().len(), 2);
    let (_, windows) = json(app.get("/v1/windows?status=open").send().await.unwrap()).await;
    assert_eq!(windows["items"].as_array().unwrap().len(), 7);
    assert_eq!(windows["items"][0]["available"], 300);
    let (_, calendar) = json(app.get("/v1/districts/6306/calendar").send().await.unwrap()).await;
    assert_eq!(calendar["crops"].as_array().unwrap().len(), 2);
    let (_, june) = json(
        app.get("/v1/calendar/in-season?month=2026-06&province_code=86")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        june["items"].as_array().unwrap().len(),
        3,
        "durian in two districts, mangosteen: {june}"
    );
}

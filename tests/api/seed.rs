//! The demo data set: loads once, is idempotent, and its documented credentials work.

use khongdee::clock::Clock;
use khongdee::seed;

use crate::helpers::*;

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_usable() {
    let app = spawn_app().await;
    let now = app.clock.now_naive();
    let empty = app.state.db(seed::database_is_empty).await.unwrap();
    assert!(empty);
    let first = app
        .state
        .db(move |conn| seed::seed_demo(conn, now))
        .await
        .unwrap();
    assert!(!first.already_seeded);
    assert_eq!(first.laos, 10);
    assert_eq!(first.accounts, 6);
    assert_eq!(first.partner_clients, 1);
    let second = app
        .state
        .db(move |conn| seed::seed_demo(conn, now))
        .await
        .unwrap();
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
}

//! The token endpoint: grants, rotation, reuse detection, revocation, and rejected tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use khongdee::auth::Role;
use serde_json::json;

use crate::helpers::*;

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.get("/v1/me").bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn password_grant_issues_tokens_and_me_shows_the_account() {
    let app = spawn_app().await;
    app.add_lao(MAE_SOT, "city_municipality", "แม่สอด", "6306")
        .await;
    app.create_account("Somchai.Staff", Role::LaoStaff, MAE_SOT)
        .await;

    // Usernames are case-insensitive; the form body is the OAuth standard.
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "somchai.STAFF"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (status, body) = json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rt_"));
    let token = body["access_token"].as_str().unwrap();

    let (status, me) = json(me(&app, token).await).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["kind"], "user");
    assert_eq!(me["name"], "somchai.staff");
    assert_eq!(me["role"], "lao_staff");
    assert_eq!(me["lao_code"], MAE_SOT);
    assert_eq!(me["area"]["district_code"], "6306");

    // JSON bodies are accepted too.
    let res = app
        .post("/v1/auth/token")
        .json(&json!({"grant_type": "password", "username": "somchai.staff", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn wrong_credentials_get_oauth_errors() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;

    for (username, password) in [("admin", "wrong password!!"), ("nobody", PASSWORD)] {
        let res = app
            .post("/v1/auth/token")
            .header("Accept-Language", "th")
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        let body = assert_problem(res, 400, "invalid_grant").await;
        assert_eq!(body["error"], "invalid_grant", "OAuth clients read `error`");
        assert_eq!(body["error_description"], "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง");
    }

    let res = app
        .post("/v1/auth/token")
        .form(&[("grant_type", "password"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_request").await;
    assert_eq!(problem_fields(&body), vec!["username"]);

    let res = app
        .post("/v1/auth/token")
        .form(&[("grant_type", "implicit")])
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "unsupported_grant_type").await;
    assert_eq!(body["error"], "unsupported_grant_type");

    let res = app
        .post("/v1/auth/token")
        .header("Content-Type", "text/plain")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn disabled_accounts_cannot_sign_in_and_lose_their_sessions() {
    let world = World::new().await;
    let app = &world.app;
    let staff = &world.staff;
    assert_eq!(me(app, &staff.token).await.status(), 200);

    let res = app
        .patch(&format!("/v1/users/{}", staff.id))
        .bearer_auth(&world.admin.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let body = assert_problem(me(app, &staff.token).await, 401, "invalid_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "maesot.staff"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_grant").await;
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", staff.refresh_token.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;
    let first = app.login("admin").await;
    let r1 = first.refresh_token.clone().unwrap();

    let refresh = |token: String| {
        let app = &app;
        async move {
            json(
                app.post("/v1/auth/token")
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };

    let (status, second) = refresh(r1.clone()).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2, "refresh tokens rotate");
    let access2 = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(me(&app, &access2).await.status(), 200);

    // The rotated token comes back: someone copied it. The whole session ends.
    let (status, body) = refresh(r1.clone()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["reason"], "refresh_token_reused");
    assert_problem(me(&app, &access2).await, 401, "invalid_token").await;
    assert_problem(me(&app, &first.token).await, 401, "invalid_token").await;
    let (status, _) = refresh(r2).await;
    assert_eq!(
        status, 400,
        "the newest refresh token of a revoked family is dead too"
    );

    // A fresh login starts a new, independent family.
    let fresh = app.login("admin").await;
    assert_eq!(me(&app, &fresh.token).await.status(), 200);
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_lets_at_most_one_win() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;
    let token = app.login("admin").await.refresh_token.unwrap();
    let attempts = (0..8).map(|_| {
        app.post("/v1/auth/token")
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ])
            .send()
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 200)
        .count();
    assert!(ok <= 1, "{ok} concurrent refreshes succeeded");
}

#[tokio::test]
async fn revoking_ends_the_session() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;

    // Revoking an access token ends its session (and so its refresh token).
    let a = app.login("admin").await;
    let res = app
        .post("/v1/auth/revoke")
        .form(&[("token", a.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem(me(&app, &a.token).await, 401, "invalid_token").await;
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", a.refresh_token.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid_grant").await;

    // Revoking a refresh token ends the access tokens of its session; other sessions live on.
    let b = app.login("admin").await;
    let c = app.login("admin").await;
    let res = app
        .post("/v1/auth/revoke")
        .json(&json!({"token": b.refresh_token, "token_type_hint": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_problem(me(&app, &b.token).await, 401, "invalid_token").await;
    assert_eq!(me(&app, &c.token).await.status(), 200);

    // Unknown tokens are answered 200 too (RFC 7009).
    let res = app
        .post("/v1/auth/revoke")
        .form(&[("token", "rt_nothing")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn expired_and_forged_tokens_are_rejected() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;
    let account = app.login("admin").await;
    assert_eq!(me(&app, &account.token).await.status(), 200);

    // Missing and malformed headers.
    assert_problem(
        app.get("/v1/me").send().await.unwrap(),
        401,
        "authentication_required",
    )
    .await;
    let res = app
        .get("/v1/me")
        .header("Authorization", "Token abc")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;

    // alg: none, with the real claims.
    let payload = account.token.split('.').nth(1).unwrap();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let res = me(&app, &format!("{none_header}.{payload}.")).await;
    assert_problem(res, 401, "invalid_token").await;

    // HS256 with another key, and the right key with another issuer or audience.
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let sign = |claims: &serde_json::Value, key: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .unwrap()
    };
    let secret = b"test-secret-test-secret-test-secret-0123";
    assert_eq!(
        me(&app, &sign(&claims, secret)).await.status(),
        200,
        "the test re-signs correctly"
    );
    let res = me(
        &app,
        &sign(&claims, b"another-secret-another-secret-another"),
    )
    .await;
    let body = assert_problem(res, 401, "invalid_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("signature"),
        "{body}"
    );
    let mut foreign = claims.clone();
    foreign["iss"] = json!("someone-else");
    assert_problem(
        me(&app, &sign(&foreign, secret)).await,
        401,
        "invalid_token",
    )
    .await;
    let mut foreign = claims.clone();
    foreign["aud"] = json!("another-api");
    assert_problem(
        me(&app, &sign(&foreign, secret)).await,
        401,
        "invalid_token",
    )
    .await;
    let res = me(&app, "not.a.jwt").await;
    assert_problem(res, 401, "invalid_token").await;

    // Expiry follows the service clock.
    app.clock.advance(Duration::minutes(16));
    let res = me(&app, &account.token).await;
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let body = assert_problem(res, 401, "invalid_token").await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn client_credentials_with_basic_or_body_and_scopes() {
    let app = spawn_app().await;
    let partner = app
        .partner("ตลาดดี.com", &["holds:write", "orders:write"], &[])
        .await;

    let (status, me_body) = json(me(&app, &partner.token).await).await;
    assert_eq!(status, 200, "{me_body}");
    assert_eq!(me_body["kind"], "partner");
    assert_eq!(me_body["role"], "partner");
    assert_eq!(me_body["scopes"], json!(["holds:write", "orders:write"]));

    // Credentials in the body, asking for fewer scopes.
    let (status, body) = json(
        app.post("/v1/auth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", partner.client_id.as_str()),
                ("client_secret", partner.secret.as_str()),
                ("scope", "orders:write"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "orders:write");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for client credentials"
    );

    // A scope the client was not given.
    let res = app
        .post("/v1/auth/token")
        .basic_auth(&partner.client_id, Some(&partner.secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "stats:read"),
        ])
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_scope").await;
    assert_eq!(body["error"], "invalid_scope");

    // A wrong secret.
    let res = app
        .post("/v1/auth/token")
        .basic_auth(&partner.client_id, Some("kds_wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let body = assert_problem(res, 401, "invalid_client").await;
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn changing_my_password_ends_my_other_sessions() {
    let app = spawn_app().await;
    app.create_account("admin", Role::Admin, "").await;
    let here = app.login("admin").await;
    let elsewhere = app.login("admin").await;

    let res = app
        .post("/v1/me/password")
        .bearer_auth(&here.token)
        .json(&json!({"current_password": "not it at all", "new_password": "มะม่วงน้ำดอกไม้-2569"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&body), vec!["current_password"]);

    let res = app
        .post("/v1/me/password")
        .bearer_auth(&here.token)
        .json(&json!({"current_password": PASSWORD, "new_password": "short"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "weak_password");

    let res = app
        .post("/v1/me/password")
        .bearer_auth(&here.token)
        .json(&json!({"current_password": PASSWORD, "new_password": "มะม่วงน้ำดอกไม้-2569"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me(&app, &here.token).await.status(), 200);
    assert_problem(me(&app, &elsewhere.token).await, 401, "invalid_token").await;
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "มะม่วงน้ำดอกไม้-2569"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_token_endpoint_is_rate_limited() {
    let app = spawn_app_with(|c| c.rate_limit_token_per_minute = 3).await;
    for _ in 0..3 {
        let res = app
            .post("/v1/auth/token")
            .form(&[
                ("grant_type", "password"),
                ("username", "x"),
                ("password", "y"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
    let res = app
        .post("/v1/auth/token")
        .header("Accept-Language", "th")
        .form(&[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", "y"),
        ])
        .send()
        .await
        .unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body = assert_problem(res, 429, "rate_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("วินาที"),
        "Thai text: {body}"
    );
    // Other endpoints have their own budget.
    assert_eq!(app.get("/v1/provinces").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn anonymous_calls_are_rate_limited_per_ip() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            app.get("/v1/provinces")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429]);
    // Probes are never limited.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

//! Managing accounts and partner clients through the API.

use serde_json::{Value, json};

use crate::helpers::*;

fn new_user(username: &str, role: &str, area_field: &str, area: &str) -> Value {
    let mut body = json!({
        "username": username,
        "display_name": "ทดสอบ",
        "password": "ทุเรียนหมอนทอง-2569",
        "role": role,
    });
    if !area_field.is_empty() {
        body[area_field] = json!(area);
    }
    body
}

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/v1/users")
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn who_creates_whom() {
    let w = World::new().await;
    let app = &w.app;

    // Admins create officers.
    let res = create(
        app,
        &w.admin.token,
        &new_user("nan.officer", "province_officer", "province_code", "55"),
    )
    .await;
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["role"], "province_officer");
    assert_eq!(body["province_code"], "55");

    // Officers do not create officers.
    let res = create(
        app,
        &w.province_officer.token,
        &new_user("x.officer", "district_officer", "district_code", "6306"),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    // Officers create LAO staff in their area only.
    let res = create(
        app,
        &w.province_officer.token,
        &new_user("pao.staff", "lao_staff", "lao_code", TAK_PAO),
    )
    .await;
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["district_code"],
        Value::Null,
        "PAO staff cover the province"
    );
    let res = create(
        app,
        &w.district_officer.token,
        &new_user("maepa.two", "lao_staff", "lao_code", MAE_PA),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = create(
        app,
        &w.district_officer.token,
        &new_user("pao.two", "lao_staff", "lao_code", TAK_PAO),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = create(
        app,
        &w.other_province_officer.token,
        &new_user("maesot.x", "lao_staff", "lao_code", MAE_SOT),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    // LAO staff create staff of their own LAO only.
    let res = create(
        app,
        &w.staff.token,
        &new_user("maesot.two", "lao_staff", "lao_code", MAE_SOT),
    )
    .await;
    let (status, body) = json(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["lao_code"], MAE_SOT);
    let res = create(
        app,
        &w.staff.token,
        &new_user("maepa.three", "lao_staff", "lao_code", MAE_PA),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    // Partners create nobody.
    let res = create(
        app,
        &w.partner.token,
        &new_user("p.staff", "lao_staff", "lao_code", MAE_SOT),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    // The new staff member can sign in.
    let token = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "maesot.two"),
            ("password", "ทุเรียนหมอนทอง-2569"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
}

#[tokio::test]
async fn account_input_is_validated_field_by_field() {
    let w = World::new().await;
    let app = &w.app;
    let res = create(
        app,
        &w.admin.token,
        &json!({
            "username": "bad name!",
            "display_name": " ",
            "password": "ทุเรียนหมอนทอง-2569",
            "role": "lao_staff",
            "lao_code": MAE_SOT,
            "email": "not-an-email",
            "phone": "12345",
        }),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["display_name", "email", "phone", "username"]
    );
    let phone = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "phone")
        .unwrap();
    assert_eq!(phone["code"], "invalid_phone");

    let res = create(
        app,
        &w.admin.token,
        &json!({"username": "abc", "display_name": "x", "password": "1234567890", "role": "admin"}),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "weak_password");

    let res = create(app, &w.admin.token, &json!({"username": "abc", "display_name": "x", "password": "ทุเรียนหมอนทอง-2569", "role": "wizard"})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "role");
    assert_eq!(body["errors"][0]["code"], "invalid_enum");

    // Area fields must fit the role and exist.
    let res = create(
        app,
        &w.admin.token,
        &new_user("xx1", "lao_staff", "lao_code", "9999999"),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "lao_code");
    let res = create(
        app,
        &w.admin.token,
        &new_user("xx2", "district_officer", "", ""),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        body["errors"][0],
        json!({"field": "district_code", "code": "required", "message": "is required"})
    );
    let res = create(
        app,
        &w.admin.token,
        &new_user("xx3", "admin", "lao_code", MAE_SOT),
    )
    .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "not_allowed");

    // Usernames are unique, whatever their case.
    let res = create(
        app,
        &w.admin.token,
        &new_user("MAESOT.STAFF", "lao_staff", "lao_code", MAE_SOT),
    )
    .await;
    let body = assert_problem(res, 409, "already_exists").await;
    assert_eq!(body["errors"][0]["field"], "username");
}

#[tokio::test]
async fn accounts_are_listed_and_read_within_the_area() {
    let w = World::new().await;
    let app = &w.app;
    let list = |token: String, query: &'static str| async move {
        let (status, body) = json(
            app.get(&format!("/v1/users{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let mut names: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(list(w.admin.token.clone(), "").await.len(), 8);
    assert_eq!(
        list(w.province_officer.token.clone(), "").await,
        vec![
            "maepa.staff",
            "maesot.officer",
            "maesot.staff",
            "muangtak.officer",
            "tak.officer",
            "world.farmer"
        ]
    );
    assert_eq!(
        list(w.district_officer.token.clone(), "").await,
        vec![
            "maepa.staff",
            "maesot.officer",
            "maesot.staff",
            "world.farmer"
        ]
    );
    assert_eq!(
        list(w.staff.token.clone(), "").await,
        vec!["maesot.staff", "world.farmer"]
    );
    assert_eq!(
        list(w.producer.token.clone(), "").await,
        vec!["world.farmer"]
    );
    assert_eq!(
        list(w.admin.token.clone(), "?role=lao_staff").await,
        vec!["maepa.staff", "maesot.staff"]
    );
    assert_eq!(
        list(w.admin.token.clone(), "?lao_code=6630691").await,
        vec!["maepa.staff"]
    );

    // Pagination: two at a time, in id order, no repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=2&cursor={c}"),
            None => "/v1/users?limit=2".to_string(),
        };
        let (_, body) = json(
            app.get(&path)
                .bearer_auth(&w.admin.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        for u in body["items"].as_array().unwrap() {
            seen.push(u["id"].as_i64().unwrap());
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    assert!(seen.windows(2).all(|p| p[0] < p[1]));
    let res = app
        .get("/v1/users?cursor=garbage")
        .bearer_auth(&w.admin.token)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "cursor");

    // Another LAO's staff cannot even see the account.
    let res = app
        .get(&format!("/v1/users/{}", w.staff.id))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get(&format!("/v1/users/{}", w.staff.id))
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .get(&format!("/v1/users/{}", w.staff.id))
        .bearer_auth(&w.other_district_officer.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_manager_resets_a_password_and_the_old_sessions_end() {
    let w = World::new().await;
    let app = &w.app;
    let res = app
        .patch(&format!("/v1/users/{}", w.staff.id))
        .bearer_auth(&w.province_officer.token)
        .json(&json!({"password": "มังคุดจันทบุรี-2569", "display_name": "สมชาย (แม่สอด)"}))
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["display_name"], "สมชาย (แม่สอด)");
    let res = app
        .get("/v1/me")
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_token").await;
    let res = app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "maesot.staff"),
            ("password", "มังคุดจันทบุรี-2569"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Officers of another area cannot.
    let res = app
        .patch(&format!("/v1/users/{}", w.staff.id))
        .bearer_auth(&w.other_province_officer.token)
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    // Nobody disables their own account.
    let res = app
        .patch(&format!("/v1/users/{}", w.admin.id))
        .bearer_auth(&w.admin.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn partner_clients_are_managed_by_admins() {
    let w = World::new().await;
    let app = &w.app;
    let res = app
        .post("/v1/partner-clients")
        .bearer_auth(&w.admin.token)
        .json(&json!({"name": "แอปของดี", "scopes": ["orders:write", "orders:read"], "lao_codes": [MAE_SOT]}))
        .send()
        .await
        .unwrap();
    let (status, created) = json(res).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let client_id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(created["lao_codes"], json!([MAE_SOT]));
    let token = app.client_token(&client_id, &secret).await;
    assert_eq!(
        app.get("/v1/me")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let (_, one) = json(
        app.get(&format!("/v1/partner-clients/{id}"))
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        one.get("client_secret").is_none(),
        "the secret is never shown again"
    );
    let (_, list) = json(
        app.get("/v1/partner-clients")
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Unknown scopes and LAOs are refused with their field.
    let res = app
        .post("/v1/partner-clients")
        .bearer_auth(&w.admin.token)
        .json(&json!({"name": "x", "scopes": ["everything"], "lao_codes": ["1234567"]}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&body), vec!["scopes"]);

    // Rotating the secret ends the old secret and its tokens.
    let (status, rotated) = json(
        app.post(&format!("/v1/partner-clients/{id}/secret"))
            .bearer_auth(&w.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["client_secret"], secret);
    assert_problem(
        app.get("/v1/me").bearer_auth(&token).send().await.unwrap(),
        401,
        "invalid_token",
    )
    .await;
    let res = app
        .post("/v1/auth/token")
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_client").await;
    app.client_token(&client_id, rotated["client_secret"].as_str().unwrap())
        .await;

    // Disabling it refuses new tokens.
    let res = app
        .patch(&format!("/v1/partner-clients/{id}"))
        .bearer_auth(&w.admin.token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post("/v1/auth/token")
        .basic_auth(&client_id, Some(rotated["client_secret"].as_str().unwrap()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_client").await;
}

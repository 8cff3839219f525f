//! The LAO registry: public reads with hashtags, upkeep by admins and the LAO's own staff.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_lao_shows_its_area_and_the_programme_hashtags() {
    let w = World::new().await;
    let (status, lao) = json(
        w.app
            .get(&format!("/v1/laos/{MAE_SOT}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{lao}");
    assert_eq!(lao["lao_type"], "city_municipality");
    assert_eq!(lao["lao_type_th"], "เทศบาลนคร");
    assert_eq!(lao["full_name_th"], "เทศบาลนครแม่สอด");
    assert_eq!(lao["district"]["name_th"], "แม่สอด");
    assert_eq!(lao["province"]["name_th"], "ตาก");
    assert_eq!(
        lao["hashtags_text"],
        "#ตลาดนัดท้องถิ่นออนไลน์เครือข่ายของดีบ้านเรา #ของดีบ้านเรา #เที่ยวท้องถิ่น #จังหวัดตาก #อำเภอแม่สอด #เทศบาลนครแม่สอด"
    );
    assert_eq!(lao["hashtags"].as_array().unwrap().len(), 6);

    let (_, pao) = json(
        w.app
            .get(&format!("/v1/laos/{TAK_PAO}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(pao["full_name_th"], "องค์การบริหารส่วนจังหวัดตาก");
    assert_eq!(pao["hashtags"][4], "#อำเภอเมืองตาก");
    assert_eq!(pao["hashtags"][5], "#องค์การบริหารส่วนจังหวัดตาก");

    assert_problem(
        w.app.get("/v1/laos/123").send().await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert_problem(
        w.app.get("/v1/laos/1234567").send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_list_filters_and_paginates() {
    let w = World::new().await;
    let codes = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["dla_code"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = json(w.app.get("/v1/laos").send().await.unwrap()).await;
    assert_eq!(codes(&all), vec![TAK_PAO, MAE_SOT, CHANTHABURI_LAO, MAE_PA]);
    let (_, tak) = json(w.app.get("/v1/laos?province_code=63").send().await.unwrap()).await;
    assert_eq!(codes(&tak), vec![TAK_PAO, MAE_SOT, MAE_PA]);
    let (_, mae_sot) = json(
        w.app
            .get("/v1/laos?district_code=6306&lao_type=subdistrict_admin_org")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(codes(&mae_sot), vec![MAE_PA]);
    let (_, by_name) = json(
        w.app
            .get("/v1/laos?q=%E0%B9%81%E0%B8%A1%E0%B9%88")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(codes(&by_name), vec![MAE_SOT, MAE_PA], "q=แม่");

    let (_, first) = json(w.app.get("/v1/laos?limit=3").send().await.unwrap()).await;
    assert_eq!(codes(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = json(
        w.app
            .get(&format!("/v1/laos?limit=3&cursor={cursor}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(codes(&second), vec![MAE_PA]);
    assert!(second["next_cursor"].is_null());

    let res = w.app.get("/v1/laos?lao_type=castle").send().await.unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "lao_type");
    let res = w.app.get("/v1/laos?limit=0").send().await.unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn staff_edit_their_profile_and_admins_the_registry() {
    let w = World::new().await;
    let app = &w.app;
    let patch = |token: String, code: &'static str, body: serde_json::Value| async move {
        app.patch(&format!("/v1/laos/{code}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    };

    let res = patch(
        w.staff.token.clone(),
        MAE_SOT,
        json!({"phone": "055 531 234", "website": "https://www.maesot.example", "allowed_origins": ["https://www.maesot.example/", "http://localhost:3000"], "name_en": "Mae Sot City Municipality"}),
    )
    .await;
    let (status, lao) = json(res).await;
    assert_eq!(status, 200, "{lao}");
    assert_eq!(lao["phone"], "+6655531234");
    assert_eq!(
        lao["allowed_origins"],
        json!(["http://localhost:3000", "https://www.maesot.example"])
    );

    // Registry fields are the admin's.
    let res = patch(
        w.staff.token.clone(),
        MAE_SOT,
        json!({"name_th": "แม่สอดใหม่"}),
    )
    .await;
    let body = assert_problem(res, 403, "forbidden").await;
    assert_eq!(body["fields"], json!(["name_th"]));
    let res = patch(
        w.admin.token.clone(),
        MAE_SOT,
        json!({"name_th": "แม่สอด", "area_km2": 28.0}),
    )
    .await;
    assert_eq!(res.status(), 200);

    // Other LAOs' staff and officers may not edit.
    for token in [
        &w.other_lao_staff.token,
        &w.district_officer.token,
        &w.province_officer.token,
        &w.partner.token,
    ] {
        let res = patch(token.clone(), MAE_SOT, json!({"phone": "055 531 235"})).await;
        assert_problem(res, 403, "forbidden").await;
    }

    // Input is checked field by field.
    let res = patch(w.staff.token.clone(), MAE_SOT, json!({"allowed_origins": ["https://x.example/path"], "postal_code": "6311", "website": "ftp://x"})).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["allowed_origins", "postal_code", "website"]
    );
}

#[tokio::test]
async fn admins_create_laos() {
    let w = World::new().await;
    let body = json!({"dla_code": "6630698", "lao_type": "subdistrict_admin_org", "name_th": "พระธาตุผาแดง", "district_code": "6306"});
    let res = w
        .app
        .post("/v1/laos")
        .bearer_auth(&w.staff.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let (status, lao) = json(
        w.app
            .post("/v1/laos")
            .bearer_auth(&w.admin.token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{lao}");
    assert_eq!(lao["province"]["code"], "63");
    assert_eq!(lao["full_name_th"], "องค์การบริหารส่วนตำบลพระธาตุผาแดง");
    let res = w
        .app
        .post("/v1/laos")
        .bearer_auth(&w.admin.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "already_exists").await;
    let res = w
        .app
        .post("/v1/laos")
        .bearer_auth(&w.admin.token)
        .json(&json!({"dla_code": "66306x1", "lao_type": "subdistrict_admin_org", "name_th": "x", "district_code": "9999"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem_fields(&body), vec!["dla_code"]);
    let res = w
        .app
        .post("/v1/laos")
        .bearer_auth(&w.admin.token)
        .json(&json!({"dla_code": "66306", "lao_type": "subdistrict_admin_org", "name_th": "x", "district_code": "6306"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "wrong_length");
    assert_eq!(
        body["errors"][0]["message"],
        "must be exactly 7 characters long"
    );
}

//! Crops, producers and products.

use serde_json::{Value, json};

use crate::helpers::*;

/// The shared test vectors, read from ../shared when present.
fn citizen_id_vectors() -> Vec<(String, bool)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/vectors/citizen_id.csv"
    );
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(','))
            .map(|(id, valid)| (id.trim().to_string(), valid.trim() == "true"))
            .collect(),
        Err(_) => vec![
            ("1111111111119".into(), true),
            ("1111111111111".into(), false),
        ],
    }
}

fn promptpay_vectors() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/vectors/promptpay.csv"
    );
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next().map(str::to_string))
            .collect(),
        Err(_) => vec!["0801234567".into(), "+66-89-123-4567".into()],
    }
}

pub async fn create_producer(w: &World, lao: &str, token: &str, body: Value) -> (u16, Value) {
    let (status, body) = json(
        w.app
            .post(&format!("/v1/laos/{lao}/producers"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

pub fn producer_body(name: &str) -> Value {
    json!({
        "kind": "community_enterprise",
        "display_name": name,
        "description": "ลำไยอีดอปลอดสาร",
        "contact_phone": "081-234-5678",
        "promptpay_id": "081-234-5678",
        "citizen_id": "1-1111-11111-11-9",
    })
}

pub fn product_body(crop: &str, title: &str) -> Value {
    json!({
        "crop": crop,
        "title": title,
        "variety": "อีดอ",
        "story": "สวนของป้าแก้วปลูกลำไยมา 30 ปี",
        "photo_urls": ["https://example.com/longan.jpg"],
        "clip_urls": ["https://www.tiktok.com/@maepa/video/1", "https://youtu.be/abc"],
        "hashtags": ["ลำไยแม่ปะ", "#ลำไยแม่ปะ"],
    })
}

#[tokio::test]
async fn crops_come_a_page_at_a_time_in_slug_order() {
    let w = World::new().await;
    let (_, everything) = json(w.app.get("/v1/crops?limit=200").send().await.unwrap()).await;
    let all: Vec<String> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap().to_string())
        .collect();
    assert!(all.len() > 10, "the shipped crops: {}", all.len());
    assert!(everything["next_cursor"].is_null());

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/v1/crops?limit=7&cursor={c}"),
            None => "/v1/crops?limit=7".to_string(),
        };
        let (status, page) = json(w.app.get(&url).send().await.unwrap()).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        paged.extend(
            items
                .iter()
                .map(|c| c["slug"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(
        paged, all,
        "pages join up to the whole list, in order, once each"
    );

    let res = w.app.get("/v1/crops?cursor=%21%21").send().await.unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "cursor");
    let res = w.app.get("/v1/crops?limit=0").send().await.unwrap();
    assert_problem(res, 400, "invalid_parameter").await;
}

#[tokio::test]
async fn crops_are_shipped_and_kept_by_admins() {
    let w = World::new().await;
    let (status, list) = json(w.app.get("/v1/crops?category=fruit").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    for slug in ["durian", "longan", "mangosteen", "avocado", "lychee"] {
        assert!(slugs.contains(&slug), "{slug} missing");
    }
    let (_, longan) = json(w.app.get("/v1/crops/longan").send().await.unwrap()).await;
    assert_eq!(longan["name_th"], "ลำไย");
    assert_eq!(longan["sale_unit"], "kg");

    let salak = json!({"slug": "salak", "name_th": "สละ", "name_en": "Salak", "category": "fruit", "sale_unit": "kg"});
    let res = w
        .app
        .post("/v1/crops")
        .bearer_auth(&w.staff.token)
        .json(&salak)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = w
        .app
        .post("/v1/crops")
        .bearer_auth(&w.admin.token)
        .json(&salak)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = w
        .app
        .post("/v1/crops")
        .bearer_auth(&w.admin.token)
        .json(&salak)
        .send()
        .await
        .unwrap();
    assert_problem(res, 409, "already_exists").await;
    let res = w
        .app
        .post("/v1/crops")
        .bearer_auth(&w.admin.token)
        .json(&json!({"slug": "Bad Slug", "name_th": "x", "name_en": "x", "category": "gems", "sale_unit": "kg"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["category"],
        "serde stops at the first wrong enum"
    );

    // The unit of a crop in use does not change under existing products.
    let (_, producer) = create_producer(
        &w,
        MAE_PA,
        &w.other_lao_staff.token,
        producer_body("สวนลำไยแม่ปะ"),
    )
    .await;
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", producer["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .json(&product_body("salak", "สละหวาน"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = w
        .app
        .patch("/v1/crops/salak")
        .bearer_auth(&w.admin.token)
        .json(&json!({"sale_unit": "box"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "in_use");
}

#[tokio::test]
async fn producers_validate_phone_promptpay_and_citizen_id_by_field() {
    let w = World::new().await;
    for (id, valid) in citizen_id_vectors() {
        let mut body = producer_body("ทดสอบ");
        body["citizen_id"] = json!(id);
        let (status, response) = create_producer(&w, MAE_SOT, &w.staff.token, body).await;
        if valid {
            assert_eq!(status, 201, "{id}: {response}");
            assert!(
                !response.to_string().contains(&id),
                "the citizen id is never echoed"
            );
        } else {
            assert_eq!(status, 422, "{id}: {response}");
            assert_eq!(response["errors"][0]["field"], "citizen_id");
            assert_eq!(response["errors"][0]["code"], "invalid_citizen_id");
        }
    }
    for target in promptpay_vectors() {
        let mut body = producer_body("พร้อมเพย์");
        body["promptpay_id"] = json!(target);
        let (status, response) = create_producer(&w, MAE_SOT, &w.staff.token, body).await;
        // Vector targets are payload-shaped; real producers must give a number that passes the checks.
        let parsable = khongdee::thai_ids::PromptPayId::parse(&target).is_some();
        assert_eq!(status == 201, parsable, "{target}: {response}");
        if !parsable {
            assert_eq!(response["errors"][0]["field"], "promptpay_id");
            assert_eq!(response["errors"][0]["code"], "invalid_promptpay_id");
        }
    }
    let mut body = producer_body("ผิดหมด");
    body["contact_phone"] = json!("12345");
    body["promptpay_id"] = json!("12345");
    body["citizen_id"] = json!("1234567890123");
    let res = w
        .app
        .post(&format!("/v1/laos/{MAE_SOT}/producers"))
        .bearer_auth(&w.staff.token)
        .header("Accept-Language", "th")
        .json(&body)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["citizen_id", "contact_phone", "promptpay_id"]
    );
    let phone = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "contact_phone")
        .unwrap();
    assert!(phone["message"].as_str().unwrap().contains("หมายเลขโทรศัพท์"));
}

#[tokio::test]
async fn producer_details_are_private_to_their_area() {
    let w = World::new().await;
    let (status, created) =
        create_producer(&w, MAE_SOT, &w.staff.token, producer_body("สวนลำไยป้าแก้ว")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["contact_phone"], "+66812345678");
    assert_eq!(created["promptpay_id"], "mobile:0812345678");
    assert_eq!(created["has_citizen_id"], true);
    let id = created["id"].as_i64().unwrap();

    let view = |token: Option<String>| {
        let app = &w.app;
        async move {
            let mut req = app.get(&format!("/v1/producers/{id}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            json(req.send().await.unwrap()).await.1
        }
    };
    let public = view(None).await;
    assert_eq!(public["display_name"], "สวนลำไยป้าแก้ว");
    assert!(public.get("contact_phone").is_none(), "{public}");
    assert!(public.get("promptpay_id").is_none());
    assert!(
        view(Some(w.district_officer.token.clone()))
            .await
            .get("contact_phone")
            .is_some()
    );
    assert!(
        view(Some(w.province_officer.token.clone()))
            .await
            .get("contact_phone")
            .is_some()
    );
    assert!(
        view(Some(w.other_district_officer.token.clone()))
            .await
            .get("contact_phone")
            .is_none()
    );
    assert!(
        view(Some(w.other_lao_staff.token.clone()))
            .await
            .get("contact_phone")
            .is_none()
    );

    // Only the LAO's staff register its producers.
    let (status, _) =
        create_producer(&w, MAE_SOT, &w.other_lao_staff.token, producer_body("x")).await;
    assert_eq!(status, 403);
    let (status, _) =
        create_producer(&w, MAE_SOT, &w.district_officer.token, producer_body("x")).await;
    assert_eq!(status, 403);

    let (_, list) = json(
        w.app
            .get(&format!("/v1/producers?lao_code={MAE_SOT}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "the world's producer and this one"
    );
}

#[tokio::test]
async fn a_producer_account_manages_its_own_offer() {
    let w = World::new().await;
    let (_, mine) = create_producer(&w, MAE_SOT, &w.staff.token, producer_body("สวนของฉัน")).await;
    let (_, other) =
        create_producer(&w, MAE_SOT, &w.staff.token, producer_body("สวนของคนอื่น")).await;
    let mine_id = mine["id"].as_i64().unwrap();

    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.staff.token)
        .json(&json!({"username": "farmer.kaew", "display_name": "ป้าแก้ว", "password": "ลำไยหวานมาก-2569", "role": "producer", "producer_id": mine_id}))
        .send()
        .await
        .unwrap();
    let (status, user) = json(res).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["producer_id"], mine_id);
    assert_eq!(user["lao_code"], MAE_SOT);
    // Staff of another LAO may not attach accounts to this LAO's producers.
    let res = w
        .app
        .post("/v1/users")
        .bearer_auth(&w.other_lao_staff.token)
        .json(&json!({"username": "farmer.x", "display_name": "x", "password": "ลำไยหวานมาก-2569", "role": "producer", "producer_id": mine_id}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    let res = w
        .app
        .post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "farmer.kaew"),
            ("password", "ลำไยหวานมาก-2569"),
        ])
        .send()
        .await
        .unwrap();
    let token = json(res).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let res = w
        .app
        .patch(&format!("/v1/producers/{mine_id}"))
        .bearer_auth(&token)
        .json(&json!({"description": "ลำไยอีดอ 40 ไร่"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = w
        .app
        .patch(&format!("/v1/producers/{mine_id}"))
        .bearer_auth(&token)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = w
        .app
        .patch(&format!("/v1/producers/{}", other["id"]))
        .bearer_auth(&token)
        .json(&json!({"description": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    let res = w
        .app
        .post(&format!("/v1/producers/{mine_id}/products"))
        .bearer_auth(&token)
        .json(&product_body("longan", "ลำไยของฉัน"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", other["id"]))
        .bearer_auth(&token)
        .json(&product_body("longan", "x"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn products_carry_the_story_clips_and_hashtags() {
    let w = World::new().await;
    let (_, producer) = create_producer(
        &w,
        MAE_PA,
        &w.other_lao_staff.token,
        producer_body("วิสาหกิจชุมชนลำไยแม่ปะ"),
    )
    .await;
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", producer["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .json(&product_body("longan", "ลำไยอีดอ เกรด AA"))
        .send()
        .await
        .unwrap();
    let (status, product) = json(res).await;
    assert_eq!(status, 201, "{product}");
    assert_eq!(product["crop"]["slug"], "longan");
    assert_eq!(product["lao"]["full_name_th"], "องค์การบริหารส่วนตำบลแม่ปะ");
    assert_eq!(product["clips"][0]["platform"], "tiktok");
    assert_eq!(product["clips"][1]["platform"], "youtube");
    assert_eq!(product["own_hashtags"], json!(["#ลำไยแม่ปะ"]));
    let tags: Vec<&str> = product["hashtags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 7);
    assert_eq!(tags[3], "#จังหวัดตาก");
    assert_eq!(tags[5], "#องค์การบริหารส่วนตำบลแม่ปะ");
    assert_eq!(tags[6], "#ลำไยแม่ปะ");

    let mut bad = product_body("longan", "x");
    bad["clip_urls"] = json!(["https://vimeo.com/1"]);
    bad["photo_urls"] = json!(["not a url"]);
    bad["hashtags"] = json!(["#ลำไย แม่ปะ"]);
    bad["crop"] = json!("unicorn_fruit");
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", producer["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        problem_fields(&body),
        vec!["clip_urls", "hashtags", "photo_urls"]
    );
    let mut unknown_crop = product_body("unicorn_fruit", "x");
    unknown_crop["clip_urls"] = json!([]);
    let res = w
        .app
        .post(&format!("/v1/producers/{}/products", producer["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .json(&unknown_crop)
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "crop");
}

#[tokio::test]
async fn product_search_by_crop_and_province_is_one_query_and_pages_stably() {
    let w = World::new().await;
    let (_, a) =
        create_producer(&w, MAE_PA, &w.other_lao_staff.token, producer_body("สวน ก")).await;
    let (_, b) = create_producer(&w, CHANTHABURI_LAO, &w.admin.token, producer_body("สวน ข")).await;
    let add = |producer: i64, crop: &'static str, title: &'static str| {
        let app = &w.app;
        let token = w.admin.token.clone();
        async move {
            let res = app
                .post(&format!("/v1/producers/{producer}/products"))
                .bearer_auth(token)
                .json(&product_body(crop, title))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    };
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    add(a, "longan", "ลำไย 1").await;

    let search = |query: &'static str| {
        let app = &w.app;
        async move {
            let before = app.query_count();
            let (status, body) = json(
                app.get(&format!("/v1/products{query}"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            (app.query_count() - before, body)
        }
    };
    let (queries_for_one, body) = search("?crop=longan&province_code=63").await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);

    for i in 0..5 {
        add(
            a,
            "longan",
            ["ลำไย 2", "ลำไย 3", "ลำไย 4", "ลำไย 5", "ลำไย 6"][i],
        )
        .await;
    }
    add(a, "durian", "ทุเรียนแม่ปะ").await;
    add(b, "longan", "ลำไยจันท์").await;
    let (queries_for_six, body) = search("?crop=longan&province_code=63").await;
    let titles: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec!["ลำไย 1", "ลำไย 2", "ลำไย 3", "ลำไย 4", "ลำไย 5", "ลำไย 6"]
    );
    // The page, then the photos of its products (none here, so their files are not read).
    assert_eq!(
        queries_for_one, 2,
        "a product search is the page and its photos"
    );
    assert_eq!(
        queries_for_six, queries_for_one,
        "no query per product (N+1)"
    );

    // Cursor pages: in id order, no gaps, no repeats, while new products are added.
    let (_, first) = search("?crop=longan&province_code=63&limit=4").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    add(a, "longan", "ลำไย 7").await;
    let (_, second) = json(
        w.app
            .get(&format!(
                "/v1/products?crop=longan&province_code=63&limit=4&cursor={cursor}"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let titles: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["ลำไย 5", "ลำไย 6", "ลำไย 7"]);
    assert!(second["next_cursor"].is_null());

    let (_, east) = search("?crop=longan&province_code=22").await;
    assert_eq!(east["items"][0]["title"], "ลำไยจันท์");
    let (_, by_lao) = search(&*Box::leak(
        format!("?lao_code={MAE_PA}&crop=durian").into_boxed_str(),
    ))
    .await;
    assert_eq!(by_lao["items"].as_array().unwrap().len(), 1);
}

//! District harvest calendars: writes by area, wrapping seasons, Buddhist-Era labels, year
//! overrides, in-season queries and iCalendar feeds.

use serde_json::{Value, json};

use crate::helpers::*;

async fn add_entry(app: &TestApp, token: &str, district: &str, body: Value) -> (u16, Value) {
    let (status, body) = json(
        app.post(&format!("/v1/districts/{district}/calendar-entries"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

fn entry(crop: &str, start: u32, end: u32, peak: Option<(u32, u32)>) -> Value {
    let mut body = json!({"crop": crop, "start_month": start, "end_month": end, "source": "ทดสอบ"});
    if let Some((ps, pe)) = peak {
        body["peak_start_month"] = json!(ps);
        body["peak_end_month"] = json!(pe);
    }
    body
}

async fn in_season(app: &TestApp, query: &str) -> Vec<(String, String, bool)> {
    let (status, body) = json(
        app.get(&format!("/v1/calendar/in-season?{query}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["entry"]["district"]["code"].as_str().unwrap().to_string(),
                i["entry"]["crop"]["slug"].as_str().unwrap().to_string(),
                i["peak"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn writes_are_for_the_districts_officers_and_lao_staff() {
    let w = World::new().await;
    let app = &w.app;
    let (status, created) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((7, 8))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = add_entry(app, &w.staff.token, "6306", entry("durian", 5, 7, None)).await;
    assert_eq!(status, 201, "LAO staff of the district");
    let (status, _) = add_entry(app, &w.admin.token, "6306", entry("mango", 4, 5, None)).await;
    assert_eq!(status, 201);
    for token in [
        &w.other_district_officer.token,
        &w.province_officer.token,
        &w.other_province_officer.token,
        &w.partner.token,
    ] {
        let (status, body) = add_entry(app, token, "6306", entry("lychee", 5, 6, None)).await;
        assert_eq!(status, 403, "{body}");
    }
    // Staff of Mae Sot's LAOs may not write Mueang Tak's calendar.
    let (status, _) = add_entry(app, &w.staff.token, "6301", entry("lychee", 5, 6, None)).await;
    assert_eq!(status, 403);
    let res = app
        .post("/v1/districts/6306/calendar-entries")
        .json(&entry("lychee", 5, 6, None))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "authentication_required").await;

    let id = created["id"].as_i64().unwrap();
    let res = app
        .patch(&format!("/v1/calendar-entries/{id}"))
        .bearer_auth(&w.other_lao_staff.token)
        .json(&json!({"expected_yield": 900, "yield_unit": "tonne"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "staff of another LAO in the same district"
    );
    let res = app
        .patch(&format!("/v1/calendar-entries/{id}"))
        .bearer_auth(&w.other_district_officer.token)
        .json(&json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .delete(&format!("/v1/calendar-entries/{id}"))
        .bearer_auth(&w.other_district_officer.token)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .delete(&format!("/v1/calendar-entries/{id}"))
        .bearer_auth(&w.district_officer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_problem(
        app.get(&format!("/v1/calendar-entries/{id}"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn entries_are_validated_field_by_field() {
    let w = World::new().await;
    let app = &w.app;
    let (status, body) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((5, 7))),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problem_fields(&body),
        vec!["peak_end_month", "peak_start_month"]
    );
    assert_eq!(body["errors"][0]["code"], "outside_season");
    let (status, body) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        json!({"crop": "longan", "start_month": 0, "end_month": 13, "year": 1999}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        problem_fields(&body),
        vec!["end_month", "start_month", "year"]
    );
    let (status, body) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("unicorn_fruit", 6, 9, None),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "crop");
    let (status, _) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, None),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 7, 9, None),
    )
    .await;
    assert_eq!(status, 409, "one every-year entry per crop: {body}");
    assert!(body["existing_id"].is_number());
    let (status, _) = add_entry(
        app,
        &w.district_officer.token,
        "6399",
        entry("longan", 6, 9, None),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn seasons_that_wrap_past_december_count_in_every_month() {
    let w = World::new().await;
    let app = &w.app;
    // Arabica coffee, Nov–Feb with its peak Dec–Jan; avocado Jun–Feb; longan Jun–Sep.
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("arabica_coffee", 11, 2, Some((12, 1))),
    )
    .await;
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("avocado", 6, 2, Some((9, 11))),
    )
    .await;
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((7, 8))),
    )
    .await;

    let coffee = |items: &[(String, String, bool)]| {
        items.iter().find(|i| i.1 == "arabica_coffee").map(|i| i.2)
    };
    for (month, expected) in [
        ("2026-10", None),
        ("2026-11", Some(false)),
        ("2026-12", Some(true)),
        ("2027-01", Some(true)),
        ("2027-02", Some(false)),
        ("2027-03", None),
    ] {
        let items = in_season(app, &format!("month={month}&district_code=6306")).await;
        assert_eq!(coffee(&items), expected, "{month}: {items:?}");
    }
    let mut january: Vec<String> = in_season(app, "month=2027-01")
        .await
        .into_iter()
        .map(|i| i.1)
        .collect();
    january.sort();
    assert_eq!(january, vec!["arabica_coffee", "avocado"]);
    let august: Vec<String> = in_season(app, "month=2026-08&crop=longan")
        .await
        .into_iter()
        .map(|i| i.1)
        .collect();
    assert_eq!(august, vec!["longan"]);

    // The grid: coffee's cells are Nov, Dec, Jan, Feb.
    let (_, grid) = json(
        app.get("/v1/districts/6306/calendar?year=2026")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let row = grid["crops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entry"]["crop"]["slug"] == "arabica_coffee")
        .unwrap();
    let in_season_months: Vec<u64> = row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["in_season"] == true)
        .map(|c| c["month"].as_u64().unwrap())
        .collect();
    assert_eq!(in_season_months, vec![1, 2, 11, 12]);
    let peak_months: Vec<u64> = row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["peak"] == true)
        .map(|c| c["month"].as_u64().unwrap())
        .collect();
    assert_eq!(peak_months, vec![1, 12]);
    assert_eq!(row["entry"]["months"], json!([11, 12, 1, 2]));
    assert_eq!(row["entry"]["season_th"], "พ.ย. – ก.พ.");
}

#[tokio::test]
async fn months_carry_thai_names_and_buddhist_era_years() {
    let w = World::new().await;
    let app = &w.app;
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((7, 8))),
    )
    .await;
    let (status, grid) = json(
        app.get("/v1/districts/6306/calendar?year=2026")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{grid}");
    assert_eq!(grid["be_year"], 2569);
    assert_eq!(
        grid["title_th"],
        "ปฏิทินผลผลิตเกษตร อำเภอแม่สอด จังหวัดตาก ปี 2569"
    );
    assert_eq!(grid["months"].as_array().unwrap().len(), 12);
    assert_eq!(grid["months"][5]["iso"], "2026-06");
    assert_eq!(grid["months"][5]["label_th"], "มิถุนายน 2569");
    assert_eq!(grid["months"][5]["name_en"], "June");
    assert_eq!(grid["months"][0]["label_th"], "มกราคม 2569");

    // A Buddhist-Era year reads the same calendar.
    let (_, be) = json(
        app.get("/v1/districts/6306/calendar?year=2569")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(be["year"], 2026);
    let (_, season) = json(
        app.get("/v1/calendar/in-season?month=2569-06")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(season["month"]["iso"], "2026-06");
    assert_eq!(season["month"]["label_th"], "มิถุนายน 2569");
    assert_eq!(season["items"][0]["entry"]["crop"]["slug"], "longan");

    // Without a year, "now" follows the service clock (the tests start on 1 June 2026).
    let (_, now) = json(app.get("/v1/calendar/in-season").send().await.unwrap()).await;
    assert_eq!(now["month"]["iso"], "2026-06");

    let res = app
        .get("/v1/calendar/in-season?month=June")
        .send()
        .await
        .unwrap();
    let body = assert_problem(res, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "month");
}

#[tokio::test]
async fn a_years_entry_replaces_the_every_year_entry_in_that_year() {
    let w = World::new().await;
    let app = &w.app;
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((7, 8))),
    )
    .await;
    let mut late = entry("longan", 8, 10, None);
    late["year"] = json!(2570); // BE: 2027
    let (status, created) = add_entry(app, &w.district_officer.token, "6306", late).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["year"], 2027);
    assert_eq!(created["be_year"], 2570);

    let (_, grid_2026) = json(
        app.get("/v1/districts/6306/calendar?year=2026")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        grid_2026["crops"][0]["entry"]["months"],
        json!([6, 7, 8, 9])
    );
    let (_, grid_2027) = json(
        app.get("/v1/districts/6306/calendar?year=2027")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(grid_2027["crops"].as_array().unwrap().len(), 1);
    assert_eq!(grid_2027["crops"][0]["entry"]["months"], json!([8, 9, 10]));
    assert!(in_season(app, "month=2027-06").await.is_empty());
    assert_eq!(in_season(app, "month=2026-06").await.len(), 1);
}

#[tokio::test]
async fn where_a_crop_is_harvested_in_a_month() {
    let w = World::new().await;
    let app = &w.app;
    add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("longan", 6, 9, Some((7, 8))),
    )
    .await;
    add_entry(
        app,
        &w.other_district_officer.token,
        "6301",
        entry("longan", 7, 10, None),
    )
    .await;
    add_entry(app, &w.admin.token, "2201", entry("longan", 8, 8, None)).await;
    add_entry(
        app,
        &w.admin.token,
        "2202",
        entry("durian", 4, 6, Some((5, 5))),
    )
    .await;
    let (status, areas) = json(
        app.get("/v1/crops/longan/harvest-areas?month=2026-08")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{areas}");
    assert_eq!(areas["month"]["label_th"], "สิงหาคม 2569");
    let provinces: Vec<&str> = areas["provinces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["province"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(provinces, vec!["22", "63"]);
    let tak = &areas["provinces"][1]["districts"];
    assert_eq!(tak.as_array().unwrap().len(), 2);
    assert_eq!(tak[1]["district"]["code"], "6306");
    assert_eq!(tak[1]["peak"], true);
    let (_, june) = json(
        app.get("/v1/crops/longan/harvest-areas?month=2026-06")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(june["provinces"].as_array().unwrap().len(), 1);
    assert_problem(
        app.get("/v1/crops/unicorn/harvest-areas")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // In-season pages by district then crop.
    let (_, first) = json(
        app.get("/v1/calendar/in-season?month=2026-08&limit=2")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = json(
        app.get(&format!(
            "/v1/calendar/in-season?month=2026-08&limit=2&cursor={cursor}"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["entry"]["district"]["code"], "6306");
}

#[tokio::test]
async fn the_icalendar_feed_parses_and_shows_the_seasons() {
    let w = World::new().await;
    let app = &w.app;
    let (_, coffee) = add_entry(
        app,
        &w.district_officer.token,
        "6306",
        entry("arabica_coffee", 11, 2, Some((12, 1))),
    )
    .await;
    let mut notes = entry("longan", 6, 9, Some((7, 8)));
    notes["notes"] = json!("ผลผลิตดี, ส่งออกได้; ลูกใหญ่\nเก็บเช้า \\ ส่งเย็น");
    notes["expected_yield"] = json!(1200);
    notes["yield_unit"] = json!("tonne");
    let (_, longan) = add_entry(app, &w.district_officer.token, "6306", notes).await;
    let mut override_2027 = entry("longan", 8, 9, None);
    override_2027["year"] = json!(2027);
    let (_, longan_2027) = add_entry(app, &w.district_officer.token, "6306", override_2027).await;
    add_entry(
        app,
        &w.other_district_officer.token,
        "6301",
        entry("mango", 4, 5, None),
    )
    .await;

    let res = app
        .get("/v1/districts/6306/calendar.ics")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = res.text().await.unwrap();

    // RFC 5545 lines: CRLF, at most 75 octets before the line break.
    assert!(text.ends_with("\r\n"));
    for line in text.split("\r\n") {
        assert!(
            line.len() <= 75,
            "a line of {} octets: {line:?}",
            line.len()
        );
        assert!(!line.contains('\n'));
    }

    // A standard parser reads it back.
    let calendar: icalendar::Calendar = text.parse().expect("the feed parses");
    use icalendar::Component;
    let events: Vec<&icalendar::Event> = calendar.events().collect();
    assert_eq!(events.len(), 3, "one event per season of the district");
    let by_uid = |id: &Value| {
        let uid = format!("calendar-entry-{}@khongdee", id.as_i64().unwrap());
        *events
            .iter()
            .find(|e| e.get_uid() == Some(uid.as_str()))
            .unwrap_or_else(|| panic!("{uid} missing"))
    };
    let coffee_event = by_uid(&coffee["id"]);
    assert_eq!(
        coffee_event.get_summary(),
        Some("ฤดูเก็บเกี่ยวกาแฟอาราบิก้า · อ.แม่สอด จ.ตาก")
    );
    assert_eq!(coffee_event.property_value("RRULE"), Some("FREQ=YEARLY"));
    let start = coffee_event.get_start().unwrap();
    let end = coffee_event.get_end().unwrap();
    assert_eq!(
        format!("{start:?}"),
        format!(
            "{:?}",
            icalendar::DatePerhapsTime::Date(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        )
    );
    assert_eq!(
        format!("{end:?}"),
        format!(
            "{:?}",
            icalendar::DatePerhapsTime::Date(chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap())
        )
    );
    assert!(
        coffee_event
            .get_description()
            .unwrap()
            .contains("ธ.ค. – ม.ค.")
    );

    // Escaped text survives the round trip.
    let longan_event = by_uid(&longan["id"]);
    let description = longan_event.get_description().unwrap();
    assert!(
        description.contains("ผลผลิตดี, ส่งออกได้; ลูกใหญ่\nเก็บเช้า \\ ส่งเย็น"),
        "{description}"
    );
    assert!(description.contains("1200 tonne"));
    assert!(
        text.contains("EXDATE;VALUE=DATE:20270601"),
        "the 2027 entry replaces the recurring one"
    );
    let one_year = by_uid(&longan_2027["id"]);
    assert!(one_year.property_value("RRULE").is_none());
    assert!(one_year.get_summary().unwrap().contains("2570"));

    // Stable: the same feed twice.
    let again = app
        .get("/v1/districts/6306/calendar.ics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, again);

    // The province feed holds both districts.
    let province = app
        .get("/v1/provinces/63/calendar.ics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let calendar: icalendar::Calendar = province.parse().unwrap();
    assert_eq!(calendar.events().count(), 4);
    assert_problem(
        app.get("/v1/provinces/99/calendar.ics")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

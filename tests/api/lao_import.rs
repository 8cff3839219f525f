//! `khongdee import laos`: both CSV layouts, both encodings, idempotence, and the full DLA list
//! when it is available beside the project.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use khongdee::AppState;
use khongdee::clock::ManualClock;
use khongdee::config::Config;
use khongdee::db::PooledConn;
use khongdee::db::schema::laos;
use khongdee::laos::LaoRow;
use khongdee::laos::import::{ImportReport, Layout, import_bytes, import_file};
use khongdee::laos::model::{find_by_code, find_with_area};

use crate::helpers::{Provider, TestDatabase, precondition, test_start};

const OFFICIAL_SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/dla_official_sample.csv"
);

/// A migrated database with the geography loaded, as the app prepares it.
struct Registry {
    // Dropped before the database.
    state: AppState,
    _db: TestDatabase,
}

impl Registry {
    fn new() -> Registry {
        let db = TestDatabase::create();
        let mut config = Config::with_database(db.url.clone());
        config.jwt_secret = Some("test-secret-test-secret-test-secret-0123".into());
        config.db_pool_size = 2;
        let clock = Arc::new(ManualClock::new(test_start()));
        let state = khongdee::prepare(config, clock).expect("prepare app");
        Registry { state, _db: db }
    }

    fn conn(&self) -> PooledConn {
        self.state.pool.get().expect("database connection")
    }

    fn import(&self, bytes: &[u8], now: NaiveDateTime) -> ImportReport {
        import_bytes(&mut self.conn(), bytes, now).expect("import runs")
    }

    fn lao(&self, dla_code: &str) -> LaoRow {
        find_by_code(&mut self.conn(), dla_code)
            .expect("query")
            .unwrap_or_else(|| panic!("LAO {dla_code} is stored"))
    }

    fn count(&self) -> i64 {
        laos::table
            .count()
            .get_result(&mut *self.conn())
            .expect("count")
    }
}

fn now() -> NaiveDateTime {
    test_start().naive_utc()
}

fn official_sample() -> String {
    std::fs::read_to_string(OFFICIAL_SAMPLE).expect("fixture is readable")
}

fn counts(report: &ImportReport) -> (usize, usize, usize, usize, usize) {
    (
        report.created,
        report.updated,
        report.unchanged,
        report.repeated,
        report.rejected.len(),
    )
}

fn rejected_lines(report: &ImportReport) -> Vec<u64> {
    report.rejected.iter().map(|r| r.line).collect()
}

#[test]
fn imports_the_official_dla_layout() {
    let registry = Registry::new();
    let report = registry.import(official_sample().as_bytes(), now());

    assert_eq!(report.layout, Some(Layout::Dla));
    // 7 LAOs, 6 repeated rows (one per further subdistrict), 2 rejected rows.
    assert_eq!(counts(&report), (7, 0, 0, 6, 2), "{report:?}");
    assert_eq!(rejected_lines(&report), vec![14, 15], "{report:?}");
    assert_eq!(
        report.rejected[0].reason,
        "The district \"ไม่มีอำเภอนี้\" in column \"อำเภอ\" is not a district of ตาก (63), and neither is district 6399 taken from DLA code 6639901."
    );
    assert_eq!(
        report.rejected[1].reason,
        "The DLA code \"663061\" in column \"รหัส อปท.\" is not 7 digits."
    );
    assert_eq!(registry.count(), 7);

    let mae_sot = registry.lao("3630690");
    assert_eq!(mae_sot.lao_type.as_ref(), "city_municipality");
    assert_eq!(mae_sot.name_th, "แม่สอด");
    assert_eq!(mae_sot.full_name_th(), "เทศบาลนครแม่สอด");
    assert_eq!(
        (
            mae_sot.province_code.as_str(),
            mae_sot.district_code.as_str()
        ),
        ("63", "6306")
    );
    assert_eq!(mae_sot.address.as_deref(), Some("เลขที่ 4"));
    assert_eq!(mae_sot.postal_code.as_deref(), Some("63110"));
    assert_eq!(
        mae_sot.website.as_deref(),
        Some("http://www.maesot.example")
    );
    assert_eq!(
        (mae_sot.latitude, mae_sot.longitude, mae_sot.area_km2),
        (Some(16.72), Some(98.56), Some(28.4))
    );
    assert!(mae_sot.active);
    assert_eq!(mae_sot.allowed_origins, "");
    assert_eq!((mae_sot.created_at, mae_sot.updated_at), (now(), now()));
    assert_eq!(mae_sot.name_en, None);

    let mae_pa = registry.lao("6630691");
    assert_eq!(mae_pa.lao_type.as_ref(), "subdistrict_admin_org");
    assert_eq!(mae_pa.name_th, "แม่ปะ");
    assert_eq!(mae_pa.district_code, "6306");
    assert_eq!(mae_pa.address.as_deref(), Some("เลขที่ 99 หมู่ 3"));
    assert_eq!(mae_pa.website, None, "\"-\" means no website");
    assert_eq!(mae_pa.area_km2, None);

    let mae_ku = registry.lao("5630692");
    assert_eq!(
        (mae_ku.lao_type.as_ref(), mae_ku.name_th.as_str()),
        ("subdistrict_municipality", "แม่กุ")
    );
    assert_eq!(mae_ku.district_code, "6306", "อำเภอแม่สอด resolves");
    assert_eq!(mae_ku.address.as_deref(), Some("หมู่ 5"));

    let phawo = registry.lao("6630693");
    assert_eq!(phawo.name_th, "พะวอ");
    assert_eq!(phawo.area_km2, Some(640.25));

    let town = registry.lao("4630194");
    assert_eq!(
        (town.lao_type.as_ref(), town.name_th.as_str()),
        ("town_municipality", "ตาก")
    );
    assert_eq!(
        (town.province_code.as_str(), town.district_code.as_str()),
        ("63", "6301")
    );

    let pao = find_with_area(&mut registry.conn(), "2630190")
        .unwrap()
        .expect("PAO stored");
    assert_eq!(pao.lao.lao_type.as_ref(), "provincial_admin_org");
    assert_eq!(pao.lao.full_name_th(), "องค์การบริหารส่วนจังหวัดตาก");
    assert_eq!(pao.district_name_th, "เมืองตาก");

    // "อ.อุ้มผาง" is no district name; the DLA code's district 6308 lies in Tak.
    let mokro = registry.lao("6630895");
    assert_eq!(mokro.district_code, "6308");
    assert_eq!(mokro.postal_code, None, "a 4-digit postal code is ignored");

    // A second run changes nothing.
    let later = now() + Duration::hours(1);
    let again = registry.import(official_sample().as_bytes(), later);
    assert_eq!(counts(&again), (0, 0, 7, 6, 2), "{again:?}");
    assert_eq!(registry.lao("3630690").updated_at, now());
}

#[test]
fn a_changed_file_updates_only_what_the_import_owns() {
    let registry = Registry::new();
    registry.import(official_sample().as_bytes(), now());

    // Staff edit the fields the app manages.
    diesel::update(laos::table.filter(laos::dla_code.eq("3630690")))
        .set((
            laos::name_en.eq("Mae Sot City Municipality"),
            laos::phone.eq("055 532 000"),
            laos::email.eq("saraban@maesot.example"),
            laos::allowed_origins.eq("https://www.maesot.example"),
            laos::active.eq(false),
        ))
        .execute(&mut *registry.conn())
        .unwrap();

    let changed = official_sample()
        .replace("http://www.maesot.example", "https://www.maesot.example")
        .replace(",9.1,", ",8.5,")
        // An emptied website keeps the stored one.
        .replace("www.takcity.example", "-");
    let later = now() + Duration::days(1);
    let report = registry.import(changed.as_bytes(), later);
    assert_eq!(counts(&report), (0, 2, 5, 6, 2), "{report:?}");

    let mae_sot = registry.lao("3630690");
    assert_eq!(
        mae_sot.website.as_deref(),
        Some("https://www.maesot.example")
    );
    assert_eq!((mae_sot.created_at, mae_sot.updated_at), (now(), later));
    assert_eq!(
        mae_sot.name_en.as_deref(),
        Some("Mae Sot City Municipality")
    );
    assert_eq!(mae_sot.phone.as_deref(), Some("055 532 000"));
    assert_eq!(mae_sot.email.as_deref(), Some("saraban@maesot.example"));
    assert_eq!(mae_sot.allowed_origins, "https://www.maesot.example");
    assert!(!mae_sot.active, "the import never reactivates an LAO");

    let mae_ku = registry.lao("5630692");
    assert_eq!((mae_ku.area_km2, mae_ku.updated_at), (Some(8.5), later));

    let town = registry.lao("4630194");
    assert_eq!(town.website.as_deref(), Some("www.takcity.example"));
    assert_eq!(town.updated_at, now());
}

#[test]
fn imports_the_official_layout_encoded_as_windows_874() {
    let registry = Registry::new();
    let text = official_sample();
    // Windows-874 has no byte order mark.
    let (legacy, _, unmappable) =
        encoding_rs::WINDOWS_874.encode(text.trim_start_matches('\u{feff}'));
    assert!(!unmappable, "the fixture is plain Thai");
    assert!(std::str::from_utf8(&legacy).is_err(), "really not UTF-8");

    let report = registry.import(&legacy, now());
    assert_eq!(counts(&report), (7, 0, 0, 6, 2), "{report:?}");
    assert_eq!(rejected_lines(&report), vec![14, 15]);
    assert_eq!(registry.lao("6630693").name_th, "พะวอ");

    // The UTF-8 file finds exactly the same rows stored.
    let utf8 = registry.import(text.as_bytes(), now() + Duration::hours(1));
    assert_eq!(counts(&utf8), (0, 0, 7, 6, 2), "{utf8:?}");
    assert_eq!(utf8.rejected[0].reason, report.rejected[0].reason);
}

#[test]
fn imports_the_project_layout() {
    let registry = Registry::new();
    let csv = "\u{feff}dla_code,type,type_th,name_th,province_code,district_code,district_name_th,lat,lon,area_km2\r\n\
        2630190,provincial_admin_org,อบจ.,ตาก,63,,เมืองตาก,17.02,99.2,16000.5\r\n\
        3630690,city_municipality,เทศบาลนคร,แม่สอด,63,6306,แม่สอด,16.72,98.56,28.4\r\n\
        6130408,subdistrict_municipality,เทศบาลตำบล,หนองสามวัง,13,1304,หนองเสือ,14.13,100.88,64.9\r\n\
        6630691,subdistrict_admin_org,อบต.,แม่ปะ,63,5001,แม่สอด,,,\r\n\
        6630693,subdistrict_admin_org,อบต.,พะวอ,63,6306,แม่สอด,98.73,16.81,640.25\r\n\
        2500190,provincial_admin_org,อบจ.,เชียงใหม่,50,,เมืองเชียงราย,,,\r\n\
        3200490,special_admin_area,ท้องถิ่นรูปแบบพิเศษ,เมืองพัทยา,20,2004,บางละมุง,12.9,100.85,199.5\r\n";
    let report = registry.import(csv.as_bytes(), now());
    assert_eq!(report.layout, Some(Layout::Project));
    assert_eq!(counts(&report), (4, 0, 0, 0, 3), "{report:?}");
    assert_eq!(rejected_lines(&report), vec![5, 6, 7]);
    assert_eq!(
        report.rejected[0].reason,
        "The district code \"5001\" in column \"district_code\" belongs to province 50, not to ตาก (63)."
    );
    assert_eq!(
        report.rejected[1].reason,
        "The latitude 98.73 in column \"lat\" is outside Thailand (5 to 21); are latitude and longitude swapped?"
    );
    assert_eq!(
        report.rejected[2].reason,
        "The district \"เมืองเชียงราย\" in column \"district_name_th\" is not a district of เชียงใหม่ (50), and column \"district_code\" is empty."
    );

    let pao = registry.lao("2630190");
    assert_eq!(
        (pao.lao_type.as_ref(), pao.district_code.as_str()),
        ("provincial_admin_org", "6301")
    );
    assert_eq!(pao.area_km2, Some(16000.5));
    // A 6- code typed เทศบาลตำบล keeps its type.
    assert_eq!(
        registry.lao("6130408").lao_type.as_ref(),
        "subdistrict_municipality"
    );
    let pattaya = registry.lao("3200490");
    assert_eq!(pattaya.full_name_th(), "เมืองพัทยา");
    assert_eq!(pattaya.district_code, "2004");

    let again = registry.import(csv.as_bytes(), now());
    assert_eq!(counts(&again), (0, 0, 4, 0, 3), "{again:?}");

    // The official file enriches the same LAOs with their office details.
    let official = registry.import(official_sample().as_bytes(), now());
    assert_eq!(official.created, 5, "{official:?}");
    assert_eq!(official.updated, 2, "{official:?}");
    assert_eq!(registry.lao("3630690").address.as_deref(), Some("เลขที่ 4"));
}

#[test]
fn refuses_unreadable_files_and_unknown_headers() {
    let registry = Registry::new();
    let missing = import_file(
        &mut registry.conn(),
        std::path::Path::new("/no/such/laos.csv"),
        now(),
    )
    .unwrap_err();
    assert!(
        missing.starts_with("cannot read /no/such/laos.csv"),
        "{missing}"
    );

    let error = import_bytes(&mut registry.conn(), b"code,name\n1,x\n", now()).unwrap_err();
    assert!(
        error.contains("matches neither supported layout"),
        "{error}"
    );
    assert!(error.contains("dla_code, type, type_th"), "{error}");
    assert!(error.contains("เว็ปไซต์ของอปท"), "{error}");
    assert!(error.contains("found: code, name"), "{error}");

    let report = import_file(
        &mut registry.conn(),
        std::path::Path::new(OFFICIAL_SAMPLE),
        now(),
    )
    .expect("the fixture imports from its path");
    assert_eq!(report.created, 7);
}

/// `../shared/data/laos/laos.csv` (or `$KHONGDEE_SHARED_DIR/data/laos/laos.csv`): development
/// data beside the project that it must not commit.
fn full_list_path() -> PathBuf {
    match std::env::var_os("KHONGDEE_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir).join("data/laos/laos.csv"),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/laos/laos.csv"
        )),
    }
}

#[test]
fn imports_the_full_lao_list() {
    let path = full_list_path();
    let what = format!(
        "the full DLA list at {} (../shared beside the project, or set KHONGDEE_SHARED_DIR)",
        path.display()
    );
    if !precondition(&what, path.is_file(), Provider::Ci) {
        return;
    }
    let registry = Registry::new();

    let started = Instant::now();
    let report = import_file(&mut registry.conn(), &path, now()).expect("import runs");
    let first = started.elapsed();
    assert_eq!(report.created, 7849, "{:?}", report.rejected);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    let types: Vec<String> = laos::table
        .select(laos::lao_type)
        .load(&mut *registry.conn())
        .unwrap();
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count("provincial_admin_org"), 76);
    assert_eq!(count("city_municipality"), 30);
    assert_eq!(count("town_municipality"), 195);
    assert_eq!(count("subdistrict_municipality"), 2247);
    assert_eq!(count("subdistrict_admin_org"), 5300);
    assert_eq!(count("special_admin_area"), 1);
    for code in ["6130408", "6720123"] {
        assert_eq!(
            registry.lao(code).lao_type.as_ref(),
            "subdistrict_municipality"
        );
    }
    // The Lampang PAO's office is in เกาะคา, found by name.
    let lampang = find_with_area(&mut registry.conn(), "2520101")
        .unwrap()
        .expect("Lampang PAO");
    assert_eq!(lampang.district_name_th, "เกาะคา");

    let started = Instant::now();
    let again = import_file(&mut registry.conn(), &path, now() + Duration::hours(1)).unwrap();
    let second = started.elapsed();
    assert_eq!(
        (
            again.created,
            again.updated,
            again.unchanged,
            again.rejected.len()
        ),
        (0, 0, 7849, 0)
    );
    eprintln!(
        "full LAO list on {}: first import {first:?}, second {second:?}",
        registry.state.backend.name()
    );
}

//! Demo data: a believable first run (`khongdee seed --demo`, and `serve` on an empty embedded
//! database). Idempotent: every record is added only when its natural key is missing, so running
//! it again changes nothing.
//!
//! The LAOs are real places with fictional DLA codes (sequence numbers from 90 up, which the DLA
//! does not use), so that a later import of the real list never collides with them. The demo
//! accounts share one documented password: this data set is for trying khongdee out, never for
//! production.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::partners::{self, NewPartnerClient};
use crate::auth::tokens::sha256_hex;
use crate::auth::users::{self, NewUser};
use crate::auth::{Role, password};
use crate::calendar::model::{self as calendar_model, NewEntry};
use crate::catalog::producers::{self as catalog_producers, NewProducer, ProducerKind};
use crate::catalog::products::{self as catalog_products, NewProduct};
use crate::db::schema::{laos, partner_clients, producers, products};
use crate::db::{self, DbConn, settings};
use crate::error::ApiError;
use crate::laos::LaoType;

/// Bumped when the demo data set grows, so that `seed --demo` adds what is new.
const DEMO_VERSION: &str = "4";
const DEMO_MARKER: &str = "demo_seed_version";

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "khongdee-demo-2569";
/// The demo storefront's client credentials.
pub const DEMO_CLIENT_ID: &str = "kd_demo_storefront";
pub const DEMO_CLIENT_SECRET: &str = "kds_demo_storefront_secret_2569";
/// The demo publishable key of the embedded form, for เทศบาลนครแม่สอด (`/embed/demo?key=…`).
pub const DEMO_EMBED_KEY: &str = "pk_demomaesot2569khongdee";
/// The LAO the demo key sells for.
const DEMO_EMBED_LAO: &str = "3630690";

struct DemoLao {
    code: &'static str,
    lao_type: LaoType,
    name_th: &'static str,
    name_en: &'static str,
    district_code: &'static str,
}

const fn lao(
    code: &'static str,
    lao_type: LaoType,
    name_th: &'static str,
    name_en: &'static str,
    district_code: &'static str,
) -> DemoLao {
    DemoLao {
        code,
        lao_type,
        name_th,
        name_en,
        district_code,
    }
}

/// Tak (แม่สอด, พบพระ, เมืองตาก), the east (จันทบุรี, ระยอง) and the south (ชุมพร).
const DEMO_LAOS: &[DemoLao] = &[
    lao(
        "2630190",
        LaoType::ProvincialAdminOrg,
        "ตาก",
        "Tak PAO",
        "6301",
    ),
    lao(
        "4630190",
        LaoType::TownMunicipality,
        "ตาก",
        "Tak Town Municipality",
        "6301",
    ),
    lao(
        "3630690",
        LaoType::CityMunicipality,
        "แม่สอด",
        "Mae Sot City Municipality",
        "6306",
    ),
    lao(
        "6630691",
        LaoType::SubdistrictAdminOrg,
        "แม่ปะ",
        "Mae Pa SAO",
        "6306",
    ),
    lao(
        "6630790",
        LaoType::SubdistrictAdminOrg,
        "พบพระ",
        "Phop Phra SAO",
        "6307",
    ),
    lao(
        "6220290",
        LaoType::SubdistrictAdminOrg,
        "ตะปอน",
        "Tapon SAO",
        "2202",
    ),
    lao(
        "6220390",
        LaoType::SubdistrictAdminOrg,
        "พลอยแหวน",
        "Phloi Waen SAO",
        "2203",
    ),
    lao(
        "6210390",
        LaoType::SubdistrictAdminOrg,
        "เนินฆ้อ",
        "Noen Kho SAO",
        "2103",
    ),
    lao(
        "6860490",
        LaoType::SubdistrictAdminOrg,
        "นาขา",
        "Na Kha SAO",
        "8604",
    ),
    lao(
        "6860190",
        LaoType::SubdistrictAdminOrg,
        "ขุนกระทิง",
        "Khun Krathing SAO",
        "8601",
    ),
];

struct DemoAccount {
    username: &'static str,
    display_name: &'static str,
    role: Role,
    /// Province code, district code or DLA code, by role.
    area: &'static str,
}

const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "demo-admin",
        display_name: "ผู้ดูแลระบบ (สาธิต)",
        role: Role::Admin,
        area: "",
    },
    DemoAccount {
        username: "demo-tak",
        display_name: "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดตาก (สาธิต)",
        role: Role::ProvinceOfficer,
        area: "63",
    },
    DemoAccount {
        username: "demo-maesot",
        display_name: "ท้องถิ่นอำเภอแม่สอด (สาธิต)",
        role: Role::DistrictOfficer,
        area: "6306",
    },
    DemoAccount {
        username: "demo-maesot-staff",
        display_name: "เจ้าหน้าที่เทศบาลนครแม่สอด (สาธิต)",
        role: Role::LaoStaff,
        area: "3630690",
    },
    DemoAccount {
        username: "demo-maepa-staff",
        display_name: "เจ้าหน้าที่ อบต.แม่ปะ (สาธิต)",
        role: Role::LaoStaff,
        area: "6630691",
    },
    DemoAccount {
        username: "demo-tapon-staff",
        display_name: "เจ้าหน้าที่ อบต.ตะปอน (สาธิต)",
        role: Role::LaoStaff,
        area: "6220290",
    },
];

struct DemoProducer {
    lao: &'static str,
    name: &'static str,
    kind: ProducerKind,
    phone: &'static str,
    description: &'static str,
    products: &'static [DemoProduct],
}

struct DemoProduct {
    crop: &'static str,
    title: &'static str,
    variety: &'static str,
    story: &'static str,
    hashtags: &'static [&'static str],
}

const DEMO_PRODUCERS: &[DemoProducer] = &[
    DemoProducer {
        lao: "6630691",
        name: "วิสาหกิจชุมชนลำไยแม่ปะ",
        kind: ProducerKind::CommunityEnterprise,
        phone: "080 000 0001",
        description: "สมาชิก 24 ครัวเรือน ปลูกลำไยอีดอและสีชมพูบนพื้นที่ 180 ไร่",
        products: &[DemoProduct {
            crop: "longan",
            title: "ลำไยอีดอ เกรด AA ช่อสด",
            variety: "อีดอ",
            story: "ลำไยแม่ปะเก็บเช้า คัดช่อที่ลูกโตสม่ำเสมอ ส่งตรงจากสวนของสมาชิกวิสาหกิจชุมชน",
            hashtags: &["#ลำไยแม่ปะ"],
        }],
    },
    DemoProducer {
        lao: "3630690",
        name: "สวนมะม่วงป้าแก้ว",
        kind: ProducerKind::Farmer,
        phone: "080 000 0002",
        description: "สวนมะม่วงน้ำดอกไม้สีทองริมเมืองแม่สอด",
        products: &[DemoProduct {
            crop: "mango",
            title: "มะม่วงน้ำดอกไม้สีทอง",
            variety: "น้ำดอกไม้สีทอง",
            story: "ป้าแก้วห่อผลทุกลูกตั้งแต่ยังเล็ก ผิวจึงเหลืองสวยไร้รอย",
            hashtags: &["#มะม่วงแม่สอด"],
        }],
    },
    DemoProducer {
        lao: "6630790",
        name: "กลุ่มเกษตรกรผู้ปลูกอะโวคาโดพบพระ",
        kind: ProducerKind::CommunityEnterprise,
        phone: "080 000 0003",
        description: "อะโวคาโดบนดอยพบพระ หลายสายพันธุ์ เก็บได้ยาวตั้งแต่มิถุนายนถึงกุมภาพันธ์",
        products: &[DemoProduct {
            crop: "avocado",
            title: "อะโวคาโดแฮสพบพระ",
            variety: "แฮส",
            story: "อากาศเย็นบนที่สูงของพบพระทำให้อะโวคาโดเนื้อแน่น มัน และหอม",
            hashtags: &["#อะโวคาโดพบพระ"],
        }],
    },
    DemoProducer {
        lao: "6220290",
        name: "สวนทุเรียนลุงชม",
        kind: ProducerKind::Farmer,
        phone: "080 000 0004",
        description: "ทุเรียนหมอนทองและมังคุดจากขลุง จันทบุรี",
        products: &[
            DemoProduct {
                crop: "durian",
                title: "ทุเรียนหมอนทองจันท์ ตัดแก่ 80%",
                variety: "หมอนทอง",
                story: "ลุงชมนับวันดอกบานทุกต้น ตัดเมื่อแก่ได้ที่ เนื้อแห้ง หวานมัน",
                hashtags: &["#ทุเรียนจันท์"],
            },
            DemoProduct {
                crop: "mangosteen",
                title: "มังคุดผิวมัน ลูกใหญ่",
                variety: "พื้นเมือง",
                story: "มังคุดจากต้นอายุกว่า 40 ปี ในสวนผสมของลุงชม",
                hashtags: &["#มังคุดจันท์"],
            },
        ],
    },
    DemoProducer {
        lao: "6860490",
        name: "วิสาหกิจชุมชนทุเรียนนาขา",
        kind: ProducerKind::CommunityEnterprise,
        phone: "080 000 0005",
        description: "ทุเรียนและมังคุดปลายฤดูจากหลังสวน ชุมพร",
        products: &[DemoProduct {
            crop: "durian",
            title: "ทุเรียนหมอนทองหลังสวน",
            variety: "หมอนทอง",
            story: "ทุเรียนภาคใต้ออกหลังภาคตะวันออก ต่อฤดูให้คนรักทุเรียนได้กินยาวถึงกันยายน",
            hashtags: &["#ทุเรียนหลังสวน"],
        }],
    },
    DemoProducer {
        lao: "6860190",
        name: "กลุ่มกาแฟโรบัสต้าขุนกระทิง",
        kind: ProducerKind::CommunityEnterprise,
        phone: "080 000 0006",
        description: "กาแฟโรบัสต้าคั่วเองในชุมชน",
        products: &[DemoProduct {
            crop: "robusta_coffee",
            title: "เมล็ดกาแฟโรบัสต้าคั่วกลาง",
            variety: "โรบัสต้า",
            story: "เก็บเฉพาะผลสุกแดง ตากบนลานในชุมชน คั่วเป็นรอบเล็กทุกสัปดาห์",
            hashtags: &["#กาแฟชุมพร"],
        }],
    },
];

/// Harvest calendar rows for the demo districts, after the programme's seasons data
/// (../shared/data/harvest/seasons.csv: DOAE, OAE, HRDI, FAO GIEWS, Technology Chaoban).
/// District, crop, first and last month, peak, source.
type DemoSeason = (
    &'static str,
    &'static str,
    u32,
    u32,
    Option<(u32, u32)>,
    &'static str,
);

const DEMO_SEASONS: &[DemoSeason] = &[
    (
        "6306",
        "longan",
        6,
        9,
        Some((7, 8)),
        "ndoae.doae.go.th/longan2012",
    ),
    (
        "6306",
        "mango",
        5,
        6,
        Some((5, 6)),
        "technologychaoban 2566",
    ),
    (
        "6307",
        "avocado",
        6,
        2,
        Some((9, 11)),
        "HRDI hkm.hrdi.or.th/Knowledge/detail/586",
    ),
    (
        "6301",
        "longan",
        6,
        9,
        Some((7, 8)),
        "ndoae.doae.go.th/longan2012",
    ),
    (
        "6301",
        "rice_main_crop",
        10,
        12,
        Some((11, 11)),
        "FAO GIEWS tha0001e",
    ),
    (
        "2202",
        "durian",
        4,
        6,
        Some((5, 5)),
        "DOAE; technologychaoban 2566",
    ),
    (
        "2202",
        "mangosteen",
        4,
        6,
        Some((5, 5)),
        "technologychaoban 2566",
    ),
    (
        "2203",
        "mangosteen",
        4,
        6,
        Some((5, 5)),
        "technologychaoban 2566",
    ),
    (
        "2203",
        "rambutan",
        4,
        6,
        Some((5, 5)),
        "technologychaoban 2566",
    ),
    (
        "2203",
        "longkong",
        6,
        7,
        Some((6, 7)),
        "technologychaoban 2566",
    ),
    (
        "2103",
        "durian",
        4,
        6,
        Some((5, 5)),
        "DOAE; technologychaoban 2566",
    ),
    ("8604", "durian", 6, 9, Some((7, 8)), "DOAE; OAE สศท.8"),
    (
        "8604",
        "mangosteen",
        6,
        9,
        Some((7, 8)),
        "technologychaoban 2566; OAE สศท.8",
    ),
    ("8601", "durian", 6, 9, Some((7, 8)), "DOAE; OAE สศท.8"),
    (
        "8601",
        "robusta_coffee",
        12,
        3,
        Some((1, 2)),
        "common practice (unverified)",
    ),
];

/// What a seed run did.
#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub already_seeded: bool,
    pub laos: usize,
    pub accounts: usize,
    pub partner_clients: usize,
    pub producers: usize,
    pub products: usize,
    pub calendar_entries: usize,
    pub windows: usize,
    pub embed_keys: usize,
}

/// Whether the database holds no data of its own yet (shipped reference data does not count).
pub fn database_is_empty(conn: &mut DbConn) -> Result<bool, ApiError> {
    let laos: i64 = laos::table.count().get_result(conn)?;
    Ok(laos == 0 && settings::get(conn, DEMO_MARKER)?.is_none())
}

/// Loads the demo data set. The password hash is computed once, outside any transaction.
pub fn seed_demo(
    conn: &mut DbConn,
    pepper: &[u8],
    now: NaiveDateTime,
) -> Result<SeedReport, ApiError> {
    if settings::get(conn, DEMO_MARKER)?.as_deref() == Some(DEMO_VERSION) {
        return Ok(SeedReport {
            already_seeded: true,
            ..Default::default()
        });
    }
    let password_hash = password::hash(DEMO_PASSWORD).map_err(ApiError::internal)?;
    db::write_transaction(conn, |conn| {
        let mut report = SeedReport::default();
        for demo in DEMO_LAOS {
            report.laos += seed_lao(conn, demo, now)?;
        }
        for account in DEMO_ACCOUNTS {
            report.accounts += seed_account(conn, account, &password_hash, now)?;
        }
        report.partner_clients += seed_partner(conn, now)?;
        for demo in DEMO_PRODUCERS {
            let (producers, products) = seed_producer(conn, demo, pepper, now)?;
            report.producers += producers;
            report.products += products;
        }
        for season in DEMO_SEASONS {
            report.calendar_entries += seed_season(conn, season, now)?;
        }
        report.windows += seed_windows(conn, now)?;
        report.embed_keys += seed_embed_key(conn, now)?;
        settings::set(conn, DEMO_MARKER, DEMO_VERSION, now)?;
        Ok(report)
    })
}

fn seed_embed_key(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, ApiError> {
    let Some(lao) = crate::laos::model::find_by_code(conn, DEMO_EMBED_LAO)? else {
        return Ok(0);
    };
    let known = crate::embed::keys::list(conn, lao.id)?
        .iter()
        .any(|k| k.public_key == DEMO_EMBED_KEY);
    if known {
        return Ok(0);
    }
    crate::embed::keys::insert(conn, lao.id, DEMO_EMBED_KEY, "ตัวอย่าง (demo)", "system", now)?;
    Ok(1)
}

fn seed_lao(conn: &mut DbConn, demo: &DemoLao, now: NaiveDateTime) -> Result<usize, ApiError> {
    if crate::laos::model::find_by_code(conn, demo.code)?.is_some() {
        return Ok(0);
    }
    Ok(diesel::insert_into(laos::table)
        .values((
            laos::dla_code.eq(demo.code),
            laos::lao_type.eq(demo.lao_type.to_string()),
            laos::name_th.eq(demo.name_th),
            laos::name_en.eq(demo.name_en),
            laos::province_code.eq(&demo.district_code[..2]),
            laos::district_code.eq(demo.district_code),
            laos::allowed_origins.eq("http://localhost:8080\nhttp://127.0.0.1:8080"),
            laos::active.eq(true),
            laos::created_at.eq(now),
            laos::updated_at.eq(now),
        ))
        .execute(conn)?)
}

fn seed_account(
    conn: &mut DbConn,
    demo: &DemoAccount,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    if users::find_by_username(conn, demo.username)?.is_some() {
        return Ok(0);
    }
    let area = |role: Role| (demo.role == role).then(|| demo.area.to_string());
    let new = NewUser {
        username: demo.username.to_string(),
        display_name: demo.display_name.to_string(),
        password: String::new(),
        role: demo.role,
        email: None,
        phone: None,
        province_code: area(Role::ProvinceOfficer),
        district_code: area(Role::DistrictOfficer),
        lao_code: area(Role::LaoStaff),
        producer_id: None,
    };
    let area = crate::accounts::areas::resolve_area(conn, &new)?;
    users::create(conn, None, &new, &area, password_hash, now)?;
    Ok(1)
}

fn seed_producer(
    conn: &mut DbConn,
    demo: &DemoProducer,
    pepper: &[u8],
    now: NaiveDateTime,
) -> Result<(usize, usize), ApiError> {
    let lao = crate::laos::model::find_by_code(conn, demo.lao)?
        .ok_or_else(|| ApiError::internal(format!("demo LAO {} missing", demo.lao)))?;
    let existing: Option<i64> = producers::table
        .filter(producers::lao_id.eq(lao.id))
        .filter(producers::display_name.eq(demo.name))
        .select(producers::id)
        .first(conn)
        .optional()?;
    let (producer_id, added) = match existing {
        Some(id) => (id, 0),
        None => {
            let new = NewProducer {
                kind: demo.kind,
                display_name: demo.name.to_string(),
                description: Some(demo.description.to_string()),
                contact_phone: demo.phone.to_string(),
                promptpay_id: Some(demo.phone.to_string()),
                citizen_id: None,
                registration_no: None,
            };
            (catalog_producers::create(conn, &lao, &new, pepper, now)?, 1)
        }
    };
    let (producer, _) = catalog_producers::find_with_lao(conn, producer_id)?
        .ok_or_else(|| ApiError::internal("demo producer vanished"))?;
    let mut products_added = 0;
    for product in demo.products {
        let exists: i64 = products::table
            .filter(products::producer_id.eq(producer_id))
            .filter(products::title.eq(product.title))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        let new = NewProduct {
            crop: product.crop.to_string(),
            title: product.title.to_string(),
            variety: Some(product.variety.to_string()),
            grade: None,
            description: None,
            story: Some(product.story.to_string()),
            photo_urls: vec![],
            clip_urls: vec![],
            hashtags: product.hashtags.iter().map(|t| t.to_string()).collect(),
            // Crops sold by the kilogram weigh 1,000 g a unit unless a product says otherwise.
            unit_weight_grams: None,
        };
        catalog_products::create(conn, &producer, &new, now)?;
        products_added += 1;
    }
    Ok((added, products_added))
}

fn seed_season(
    conn: &mut DbConn,
    (district_code, crop, start, end, peak, source): &(
        &str,
        &str,
        u32,
        u32,
        Option<(u32, u32)>,
        &str,
    ),
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let district = crate::geo::model::find_district(conn, district_code)?
        .ok_or_else(|| ApiError::internal(format!("district {district_code} missing")))?;
    let new = NewEntry {
        crop: crop.to_string(),
        start_month: *start,
        end_month: *end,
        peak_start_month: peak.map(|p| p.0),
        peak_end_month: peak.map(|p| p.1),
        expected_yield: None,
        yield_unit: None,
        notes: None,
        source: Some(source.to_string()),
        year: None,
    };
    match calendar_model::create(conn, &district, &new, None, now) {
        Ok(_) => Ok(1),
        // Already there (every-year entry of that crop).
        Err(e) if e.kind() == crate::error::ErrorKind::AlreadyExists => Ok(0),
        Err(e) => Err(e),
    }
}

/// A pre-order window for every demo product without one: open now for a month, harvest after.
fn seed_windows(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, ApiError> {
    use crate::preorder::windows::{
        self as preorder_windows, Delivery, FeeKind, NewPickupPoint, NewVariant, NewWindow,
    };
    let demo_products: Vec<i64> = products::table
        .inner_join(producers::table.inner_join(laos::table))
        .filter(laos::dla_code.eq_any(DEMO_PRODUCERS.iter().map(|p| p.lao)))
        .select(products::id)
        .order(products::id)
        .load(conn)?;
    let bangkok = crate::clock::bangkok();
    let at = |days: i64, hour: u32| {
        let day = (now + chrono::Duration::days(days))
            .and_utc()
            .with_timezone(&bangkok)
            .date_naive();
        day.and_hms_opt(hour, 0, 0)
            .and_then(|t| t.and_local_timezone(bangkok).single())
            .unwrap_or_else(|| now.and_utc().with_timezone(&bangkok))
    };
    let mut added = 0;
    for product_id in demo_products {
        let exists: i64 = crate::db::schema::preorder_windows::table
            .filter(crate::db::schema::preorder_windows::product_id.eq(product_id))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        let (product, crop, ..) = catalog_products::find(conn, product_id)?
            .ok_or_else(|| ApiError::internal("demo product vanished"))?;
        let box_units = if crop.sale_unit == crate::catalog::crops::SaleUnit::Kg {
            5
        } else {
            6
        };
        let new = NewWindow {
            title: Some(format!("{} รอบเก็บเกี่ยวถัดไป", product.title)),
            description: Some("รอบสาธิต: สั่งจองล่วงหน้า รับที่ อปท. หรือส่งพัสดุ".to_string()),
            opens_at: at(-1, 9),
            closes_at: at(30, 20),
            harvest_start: at(35, 0).date_naive(),
            harvest_end: at(50, 0).date_naive(),
            capacity: 300,
            variants: vec![
                NewVariant {
                    name: format!("1 {}", crop.sale_unit),
                    units_per_item: 1,
                    price_satang: 12000,
                    sort_order: 0,
                },
                NewVariant {
                    name: format!("กล่อง {box_units} {}", crop.sale_unit),
                    units_per_item: box_units,
                    price_satang: 55000,
                    sort_order: 1,
                },
            ],
            min_items_per_order: 1,
            max_items_per_order: Some(20),
            max_units_per_buyer: Some(50),
            hold_minutes: 10,
            waitlist_offer_minutes: 120,
            payment_window_hours: Some(24),
            // Fresh produce: dispatched at most three days after the harvest ends.
            ship_within_days: Some(3),
            pickup_points: vec![NewPickupPoint {
                name: "ที่ทำการองค์กรปกครองส่วนท้องถิ่น".to_string(),
                address: "ห้องประชุมชั้น 1 (จุดรับสินค้าสาธิต)".to_string(),
                subdistrict_code: None,
                starts_at: at(52, 8),
                ends_at: at(52, 16),
                notes: None,
            }],
            delivery: Some(Delivery {
                fee_kind: FeeKind::Flat,
                fee_satang: 6000,
            }),
            publish: true,
        };
        preorder_windows::create(conn, &product, &crop, None, "seed", &new, now)?;
        added += 1;
    }
    Ok(added)
}

fn seed_partner(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, ApiError> {
    if partners::find_by_client_id(conn, DEMO_CLIENT_ID)?.is_some() {
        return Ok(0);
    }
    let created = partners::create(
        conn,
        &NewPartnerClient {
            name: "ร้านค้าออนไลน์สาธิต (demo storefront)".into(),
            contact_email: Some("storefront@example.com".into()),
            scopes: [
                "holds:write",
                "orders:write",
                "orders:read",
                "webhooks:manage",
                "stats:read",
            ]
            .map(String::from)
            .to_vec(),
            lao_codes: vec![],
        },
        &[],
        None,
        now,
    )?;
    // Known demo credentials, so that the README's curl examples work as written.
    diesel::update(partner_clients::table.find(created.client.id))
        .set((
            partner_clients::client_id.eq(DEMO_CLIENT_ID),
            partner_clients::secret_hash.eq(sha256_hex(DEMO_CLIENT_SECRET)),
        ))
        .execute(conn)?;
    Ok(1)
}

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
use crate::db::schema::{laos, partner_clients};
use crate::db::{self, DbConn, settings};
use crate::error::ApiError;
use crate::laos::LaoType;

/// Bumped when the demo data set grows, so that `seed --demo` adds what is new.
const DEMO_VERSION: &str = "1";
const DEMO_MARKER: &str = "demo_seed_version";

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "khongdee-demo-2569";
/// The demo storefront's client credentials.
pub const DEMO_CLIENT_ID: &str = "kd_demo_storefront";
pub const DEMO_CLIENT_SECRET: &str = "kds_demo_storefront_secret_2569";

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

/// What a seed run did.
#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub already_seeded: bool,
    pub laos: usize,
    pub accounts: usize,
    pub partner_clients: usize,
}

/// Whether the database holds no data of its own yet (shipped reference data does not count).
pub fn database_is_empty(conn: &mut DbConn) -> Result<bool, ApiError> {
    let laos: i64 = laos::table.count().get_result(conn)?;
    Ok(laos == 0 && settings::get(conn, DEMO_MARKER)?.is_none())
}

/// Loads the demo data set. The password hash is computed once, outside any transaction.
pub fn seed_demo(conn: &mut DbConn, now: NaiveDateTime) -> Result<SeedReport, ApiError> {
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
        settings::set(conn, DEMO_MARKER, DEMO_VERSION, now)?;
        Ok(report)
    })
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
    };
    users::create(conn, None, &new, password_hash, now)?;
    Ok(1)
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

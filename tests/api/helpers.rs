#![allow(dead_code)] // Shared harness: not every test module uses every helper.
//! Test harness: every test starts the real app on its own port with its own fresh database —
//! a temporary SQLite file, or with `TEST_DATABASE_URL` a new PostgreSQL database created on that
//! server and dropped afterwards — so tests run in parallel on either backend.

use std::net::TcpListener;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use khongdee::AppState;
use khongdee::clock::{Clock, ManualClock};
use khongdee::config::Config;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// The moment every test starts at (Asia/Bangkok: 2026-06-01 09:00).
pub fn test_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap()
}

/// A database of its own for one test.
pub struct TestDatabase {
    pub url: String,
    kind: DbKind,
}

enum DbKind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates a database on the backend chosen by `TEST_DATABASE_URL`. On PostgreSQL it is a
    /// copy of a template that already has the schema and the shipped geography, which makes a
    /// fresh database per test cheap; on SQLite it is an empty file.
    pub fn create() -> TestDatabase {
        TestDatabase::create_from(true)
    }

    /// Creates an empty database (no schema), for migration tests.
    pub fn create_empty() -> TestDatabase {
        TestDatabase::create_from(false)
    }

    fn create_from(use_template: bool) -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                // Before libpq's first connection (see the function).
                khongdee::db::init_openssl();
                let name = format!("khongdee_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {e}")
                });
                let sql = if use_template {
                    let template = postgres_template(&admin_url);
                    format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")
                } else {
                    format!("CREATE DATABASE \"{name}\"")
                };
                admin.batch_execute(&sql).expect("create test database");
                TestDatabase {
                    url: replace_database_name(&admin_url, &name),
                    kind: DbKind::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDatabase {
                    url,
                    kind: DbKind::Sqlite(dir),
                }
            }
        }
    }

    /// Creates an empty SQLite database whatever `TEST_DATABASE_URL` says (tests that move data
    /// from SQLite to PostgreSQL).
    pub fn create_sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDatabase {
            url,
            kind: DbKind::Sqlite(dir),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, DbKind::Postgres { .. })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let DbKind::Postgres { admin_url, name } = &self.kind {
            let admin_url = admin_url.clone();
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            // Run outside any async runtime the test may be in.
            let _ = std::thread::spawn(move || {
                if let Ok(mut admin) = diesel::PgConnection::establish(&admin_url) {
                    let _ = admin.batch_execute(&sql);
                }
            })
            .join();
        }
    }
}

/// The name of a PostgreSQL template database with every migration applied and the shipped
/// geography loaded, created once (under an advisory lock, so parallel test processes agree).
/// Its name carries a fingerprint of the migrations and data, so a schema change builds a new one.
fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            use diesel::prelude::*;
            use sha2::{Digest, Sha256};
            let mut hasher = Sha256::new();
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
            let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
            entries.sort();
            for entry in entries {
                // The migration's name, not its path: checkouts in other directories share it.
                hasher.update(entry.file_name().unwrap_or_default().to_string_lossy().as_bytes());
                hasher.update(std::fs::read(entry.join("up.sql")).unwrap_or_default());
            }
            hasher.update(khongdee::geo::data::dataset_version());
            let digest: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
            let name = format!("khongdee_template_{digest}");

            #[derive(QueryableByName)]
            struct Db {
                #[diesel(sql_type = diesel::sql_types::Text)]
                datname: String,
            }
            let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
            admin.batch_execute("SELECT pg_advisory_lock(72460302)").unwrap();
            let existing: Vec<Db> =
                diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'khongdee_template_%'")
                    .load(&mut admin)
                    .unwrap();
            if !existing.iter().any(|d| d.datname == name) {
                // Templates of other schema versions go, unless a test run of that version is
                // copying one right now (no FORCE: such a drop fails and is left for later).
                for stale in existing.iter().filter(|d| !d.datname.ends_with("_building")) {
                    let _ = admin.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{}\"",
                        stale.datname
                    ));
                }
                let building = format!("{name}_building");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"))
                    .unwrap();
                admin.batch_execute(&format!("CREATE DATABASE \"{building}\"")).unwrap();
                let mut config = Config::with_database(replace_database_name(admin_url, &building));
                config.jwt_secret = Some("template-secret-template-secret-0123".into());
                config.db_pool_size = 1;
                let clock: khongdee::clock::SharedClock = Arc::new(ManualClock::new(test_start()));
                let state = khongdee::prepare(config, clock).expect("prepare template database");
                drop(state);
                // Pooled connections may linger for a moment after the pool is dropped.
                admin
                    .batch_execute(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
                    ))
                    .unwrap();
                admin
                    .batch_execute(&format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""))
                    .expect("publish template database");
            }
            admin.batch_execute("SELECT pg_advisory_unlock(72460302)").unwrap();
            name
        })
        .clone()
}

/// `postgres://u@h:5432/postgres?x=y` with the database name replaced.
pub fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("database URL has a scheme");
    let host = rest.split('/').next().unwrap_or(rest);
    let mut out = format!("{scheme}://{host}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running app and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub db: TestDatabase,
    server: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; the workers wind down while the database is dropped.
        drop(self.server.stop(false));
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with a tweaked configuration.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDatabase::create();
    let mut config = Config::with_database(db.url.clone());
    config.jwt_secret = Some("test-secret-test-secret-test-secret-0123".into());
    config.workers = Some(2);
    config.db_pool_size = 10;
    config.db_timeout_secs = 5;
    configure(&mut config);
    spawn_app_on(db, config).await
}

pub async fn spawn_app_on(db: TestDatabase, config: Config) -> TestApp {
    let clock = Arc::new(ManualClock::new(test_start()));
    let shared: khongdee::clock::SharedClock = clock.clone();
    let state = tokio::task::spawn_blocking(move || khongdee::prepare(config, shared))
        .await
        .expect("prepare task")
        .expect("prepare app");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let server = khongdee::start_server(state.clone(), listener, false).expect("start server");
    let handle = server.handle();
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        state,
        db,
        server: handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// Statements run by this app's pool so far.
    pub fn query_count(&self) -> u64 {
        self.state.db_stats.queries()
    }
}

/// Reads a response as JSON, with the status for the assertion message.
pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("response body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"));
    (status, value)
}

/// Asserts a problem+json response with the given status and code; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.expect("response body");
    assert_eq!(got, status, "expected {status} {code}, got {got}: {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type:?} for {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("/problems/{code}"), "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// The field paths of a validation problem, sorted.
pub fn problem_fields(body: &Value) -> Vec<String> {
    let mut fields: Vec<String> = body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// Reads one sample of a metric from the Prometheus text, summing matching series.
pub fn metric_value(text: &str, name: &str, label_filter: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            let metric = l.split([' ', '{']).next().unwrap_or("");
            metric == name
        })
        .filter(|l| {
            label_filter
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// The password every test account gets.
pub const PASSWORD: &str = "ลำไยหวาน-2569-ok";

/// A signed-in test account.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub token: String,
    pub refresh_token: Option<String>,
}

impl Account {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// A partner client with its secret and a token.
#[derive(Clone, Debug)]
pub struct Partner {
    pub id: i64,
    pub client_id: String,
    pub secret: String,
    pub token: String,
}

impl Partner {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

impl TestApp {
    /// Creates an account the way `khongdee create-user` does (no caller), without signing in.
    pub async fn create_account(
        &self,
        username: &str,
        role: khongdee::auth::Role,
        area: &str,
    ) -> i64 {
        use khongdee::auth::Role;
        let mut new = khongdee::auth::users::NewUser {
            username: username.to_string(),
            display_name: format!("ทดสอบ {username}"),
            password: PASSWORD.to_string(),
            role,
            email: None,
            phone: None,
            province_code: None,
            district_code: None,
            lao_code: None,
            producer_id: None,
        };
        match role {
            Role::ProvinceOfficer => new.province_code = Some(area.to_string()),
            Role::DistrictOfficer => new.district_code = Some(area.to_string()),
            Role::LaoStaff => new.lao_code = Some(area.to_string()),
            _ => {}
        }
        let hash = password_hash().to_string();
        let now = self.clock.now_naive();
        self.state
            .db_tx(move |conn| {
                let area = khongdee::accounts::areas::resolve_area(conn, &new)?;
                khongdee::auth::users::create(conn, None, &new, &area, &hash, now)
            })
            .await
            .unwrap_or_else(|e| panic!("create account: {}", e.describe()))
            .id
    }

    /// Signs in with the password grant.
    pub async fn login(&self, username: &str) -> Account {
        let res = self
            .post("/v1/auth/token")
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_eq!(status, 200, "login {username}: {body}");
        Account {
            id: 0,
            username: username.to_string(),
            token: body["access_token"].as_str().unwrap().to_string(),
            refresh_token: body["refresh_token"].as_str().map(str::to_string),
        }
    }

    /// Creates an account and signs it in.
    pub async fn account(&self, username: &str, role: khongdee::auth::Role, area: &str) -> Account {
        let id = self.create_account(username, role, area).await;
        let mut account = self.login(username).await;
        account.id = id;
        account
    }

    /// Creates a partner client (as an admin would) and gets it a token.
    pub async fn partner(&self, name: &str, scopes: &[&str], lao_codes: &[&str]) -> Partner {
        let new = khongdee::auth::partners::NewPartnerClient {
            name: name.to_string(),
            contact_email: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            lao_codes: lao_codes.iter().map(|s| s.to_string()).collect(),
        };
        let now = self.clock.now_naive();
        let created = self
            .state
            .db_tx(move |conn| {
                let laos = khongdee::accounts::areas::resolve_laos(conn, &new.lao_codes)?;
                khongdee::auth::partners::create(conn, &new, &laos, None, now)
            })
            .await
            .unwrap_or_else(|e| panic!("create partner: {}", e.describe()));
        let token = self
            .client_token(&created.client.client_id, &created.client_secret)
            .await;
        Partner {
            id: created.client.id,
            client_id: created.client.client_id,
            secret: created.client_secret,
            token,
        }
    }

    /// The client-credentials grant with HTTP Basic authentication.
    pub async fn client_token(&self, client_id: &str, secret: &str) -> String {
        let res = self
            .post("/v1/auth/token")
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_eq!(status, 200, "client token: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Adds an LAO directly (a registry row, as the importer writes it).
    pub async fn add_lao(
        &self,
        dla_code: &str,
        lao_type: &str,
        name_th: &str,
        district_code: &str,
    ) -> i64 {
        use diesel::prelude::*;
        use khongdee::db::schema::laos;
        let (dla_code, lao_type, name_th, district_code) = (
            dla_code.to_string(),
            lao_type.to_string(),
            name_th.to_string(),
            district_code.to_string(),
        );
        let now = self.clock.now_naive();
        self.state
            .db(move |conn| {
                Ok(diesel::insert_into(laos::table)
                    .values((
                        laos::dla_code.eq(&dla_code),
                        laos::lao_type.eq(&lao_type),
                        laos::name_th.eq(&name_th),
                        laos::province_code.eq(&district_code[..2]),
                        laos::district_code.eq(&district_code),
                        laos::allowed_origins.eq(""),
                        laos::active.eq(true),
                        laos::created_at.eq(now),
                        laos::updated_at.eq(now),
                    ))
                    .returning(laos::id)
                    .get_result::<i64>(conn)?)
            })
            .await
            .expect("insert LAO")
    }
}

impl TestApp {
    /// Adds a producer to an LAO (as its staff would), returning its id.
    pub async fn add_producer(&self, lao_code: &str, name: &str) -> i64 {
        let new = khongdee::catalog::producers::NewProducer {
            kind: khongdee::catalog::producers::ProducerKind::Farmer,
            display_name: name.to_string(),
            description: None,
            contact_phone: "0812345678".into(),
            promptpay_id: Some("0812345678".into()),
            citizen_id: None,
            registration_no: None,
        };
        let code = lao_code.to_string();
        let now = self.clock.now_naive();
        self.state
            .db_tx(move |conn| {
                let lao = khongdee::laos::model::find_by_code(conn, &code)?.expect("LAO exists");
                khongdee::catalog::producers::create(
                    conn,
                    &lao,
                    &new,
                    b"test-pepper-test-pepper-test-pepper!",
                    now,
                )
            })
            .await
            .unwrap_or_else(|e| panic!("add producer: {}", e.describe()))
    }

    /// Creates the account of a producer.
    pub async fn create_producer_account(&self, username: &str, producer_id: i64) -> i64 {
        let new = khongdee::auth::users::NewUser {
            username: username.to_string(),
            display_name: username.to_string(),
            password: PASSWORD.to_string(),
            role: khongdee::auth::Role::Producer,
            email: None,
            phone: None,
            province_code: None,
            district_code: None,
            lao_code: None,
            producer_id: Some(producer_id),
        };
        let hash = password_hash().to_string();
        let now = self.clock.now_naive();
        self.state
            .db_tx(move |conn| {
                let area = khongdee::accounts::areas::resolve_area(conn, &new)?;
                khongdee::auth::users::create(conn, None, &new, &area, &hash, now)
            })
            .await
            .unwrap_or_else(|e| panic!("create producer account: {}", e.describe()))
            .id
    }
}

/// One argon2 hash of [`PASSWORD`], computed once per test process.
pub fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| khongdee::auth::password::hash(PASSWORD).expect("hash"))
}

/// A small country for authorization tests: LAOs in Tak (two in Mae Sot, the provincial
/// organization in Mueang Tak) and one in Chanthaburi, with an account of every role.
pub struct World {
    pub app: TestApp,
    pub admin: Account,
    pub province_officer: Account,
    pub other_province_officer: Account,
    pub district_officer: Account,
    pub other_district_officer: Account,
    pub staff: Account,
    pub other_lao_staff: Account,
    pub partner: Partner,
    /// A producer of Mae Sot with its own account.
    pub producer: Account,
    pub producer_id: i64,
}

/// DLA codes of the world's LAOs.
pub const MAE_SOT: &str = "3630690"; // เทศบาลนครแม่สอด, district 6306
pub const MAE_PA: &str = "6630691"; // อบต.แม่ปะ, district 6306
pub const TAK_PAO: &str = "2630190"; // อบจ.ตาก, office in district 6301
pub const CHANTHABURI_LAO: &str = "5220101"; // a เทศบาลตำบล in district 2201

impl World {
    pub async fn new() -> World {
        World::with_app(spawn_app().await).await
    }

    pub async fn with_app(app: TestApp) -> World {
        use khongdee::auth::Role;
        app.add_lao(MAE_SOT, "city_municipality", "แม่สอด", "6306")
            .await;
        app.add_lao(MAE_PA, "subdistrict_admin_org", "แม่ปะ", "6306")
            .await;
        app.add_lao(TAK_PAO, "provincial_admin_org", "ตาก", "6301")
            .await;
        app.add_lao(
            CHANTHABURI_LAO,
            "subdistrict_municipality",
            "จันทนิมิต",
            "2201",
        )
        .await;
        let producer_id = app.add_producer(MAE_SOT, "สวนลำไยป้าแก้ว").await;
        app.create_producer_account("world.farmer", producer_id)
            .await;
        let mut producer = app.login("world.farmer").await;
        producer.id = producer_id;
        World {
            producer,
            producer_id,
            admin: app.account("admin", Role::Admin, "").await,
            province_officer: app
                .account("tak.officer", Role::ProvinceOfficer, "63")
                .await,
            other_province_officer: app
                .account("chan.officer", Role::ProvinceOfficer, "22")
                .await,
            district_officer: app
                .account("maesot.officer", Role::DistrictOfficer, "6306")
                .await,
            other_district_officer: app
                .account("muangtak.officer", Role::DistrictOfficer, "6301")
                .await,
            staff: app.account("maesot.staff", Role::LaoStaff, MAE_SOT).await,
            other_lao_staff: app.account("maepa.staff", Role::LaoStaff, MAE_PA).await,
            partner: app
                .partner(
                    "ตลาดดี.com",
                    &["holds:write", "orders:write", "orders:read"],
                    &[],
                )
                .await,
            app,
        }
    }
}

/// Who provides something a test needs but cannot set up itself, which decides what its
/// absence means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// CI provides it on every run (`../shared` beside the clone, see `.ci/run`): missing in CI
    /// is a broken CI setup, and the test fails.
    Ci,
    /// Only some runs have it, in CI too: PostgreSQL is there in CI's second run
    /// (`TEST_DATABASE_URL`), never in its first (SQLite). Missing is a skip everywhere; a
    /// broken PostgreSQL in the run that asks for it fails in [`TestDatabase::create`] instead.
    SomeRuns,
}

/// What a missing precondition means for a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Run,
    Skip,
    Fail,
}

/// The rule, as a pure function: a test runs when its precondition is met. When it is not, the
/// test fails only in CI and only if CI is the one supposed to provide it ([`Provider::Ci`]);
/// otherwise it is skipped, loudly.
pub fn verdict(met: bool, provider: Provider, in_ci: bool) -> Verdict {
    match (met, provider, in_ci) {
        (true, _, _) => Verdict::Run,
        (false, Provider::Ci, true) => Verdict::Fail,
        (false, _, _) => Verdict::Skip,
    }
}

/// Whether the tests run in CI: `CI` is `true` or `1` (GitHub Actions, GitLab and most others
/// set `CI=true`; `.ci/run` should too).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Guards a test that needs `what`, by [`verdict`]: returns `true` when the test should run;
/// prints `SKIPPED: <test>: <what>` to stderr and returns `false` when it should return at once;
/// panics naming `what` when it must fail. Use as
/// `if !precondition("…", met, Provider::Ci) { return; }`.
pub fn precondition(what: &str, met: bool, provider: Provider) -> bool {
    precondition_in(what, met, provider, in_ci())
}

/// [`precondition`] with the CI flag given, for its own tests.
pub fn precondition_in(what: &str, met: bool, provider: Provider, in_ci: bool) -> bool {
    // libtest names each test's thread after the test (`module::test_name`).
    let current = std::thread::current();
    let test = current.name().unwrap_or("this test");
    match verdict(met, provider, in_ci) {
        Verdict::Run => true,
        Verdict::Skip => {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests,
            // which would make the skip silent again.
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {what}");
            false
        }
        Verdict::Fail => panic!(
            "{test}: missing precondition in CI: {what}. CI is supposed to provide it; fix the \
             CI setup (tests skip it only outside CI)"
        ),
    }
}

#[test]
fn preconditions_run_skip_or_fail_by_who_provides_them() {
    use Provider::*;
    use Verdict::*;
    for provider in [Ci, SomeRuns] {
        for ci in [false, true] {
            assert_eq!(verdict(true, provider, ci), Run, "{provider:?}, CI {ci}");
        }
    }
    assert_eq!(verdict(false, Ci, false), Skip);
    assert_eq!(verdict(false, Ci, true), Fail);
    assert_eq!(verdict(false, SomeRuns, false), Skip);
    assert_eq!(verdict(false, SomeRuns, true), Skip);

    assert!(precondition_in("met", true, Ci, true));
    assert!(!precondition_in(
        "a skipped precondition (expected)",
        false,
        Ci,
        false
    ));
    assert!(!precondition_in(
        "a skipped precondition (expected)",
        false,
        SomeRuns,
        true
    ));
}

#[test]
#[should_panic(expected = "missing precondition in CI: ../shared/data/laos/laos.csv")]
fn a_precondition_ci_provides_fails_the_test_in_ci() {
    precondition_in("../shared/data/laos/laos.csv", false, Provider::Ci, true);
}

/// Decodes the QR code of a `data:image/png;base64,…` image.
pub fn decode_qr(data_uri: &str) -> String {
    use base64::Engine;
    let b64 = data_uri.strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

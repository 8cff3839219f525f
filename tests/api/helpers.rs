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
use khongdee::clock::ManualClock;
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
    /// Creates an empty database on the backend chosen by `TEST_DATABASE_URL`.
    pub fn create() -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("khongdee_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {e}")
                });
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create test database");
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

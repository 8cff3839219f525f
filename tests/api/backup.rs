//! Backups and the move from SQLite to PostgreSQL (issue 17): `khongdee backup` taken while
//! orders are being placed restores with every order and a ledger `reconcile` finds clean;
//! `khongdee copy-db` moves every row of a SQLite database with demo data and orders into a new
//! PostgreSQL database, where the API carries on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use khongdee::backup::{BackupError, backup};
use khongdee::clock::Clock;
use khongdee::config::Config;
use khongdee::database_copy::{CopyError, copy_database};
use khongdee::db::DatabaseUrl;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

fn config_for(db: &TestDatabase) -> Config {
    let mut config = Config::with_database(db.url.clone());
    config.jwt_secret = Some(JWT_SECRET.into());
    config.workers = Some(2);
    config.db_pool_size = 10;
    config.db_timeout_secs = 5;
    config
}

/// Runs the `khongdee` binary on the database at `url`.
fn khongdee(url: &str, args: &[&str]) -> Output {
    let data_dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_khongdee"))
        .args(args)
        .env("KHONGDEE_DATABASE_URL", url)
        .env("KHONGDEE_JWT_SECRET", JWT_SECRET)
        .env("KHONGDEE_DATA_DIR", data_dir.path())
        .env("KHONGDEE_LOG", "warn")
        .env("KHONGDEE_LOG_FORMAT", "pretty")
        .output()
        .expect("run khongdee")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `khongdee reconcile` on the database at `url`: exit status 0 and no mismatch in its report.
fn assert_reconcile_finds_nothing(url: &str) {
    let out = khongdee(url, &["reconcile"]);
    assert!(
        out.status.success(),
        "khongdee reconcile: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("reconcile prints JSON");
    assert_eq!(report["mismatches"], json!([]), "{report}");
    assert!(report["windows_checked"].as_u64().unwrap() > 0, "{report}");
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LedgerRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    window_id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    capacity_delta: i64,
    #[diesel(sql_type = BigInt)]
    held_delta: i64,
    #[diesel(sql_type = BigInt)]
    sold_delta: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    order_id: Option<i64>,
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OrderRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    buyer_name: String,
    #[diesel(sql_type = BigInt)]
    total_satang: i64,
}

async fn ledger(app: &TestApp) -> BTreeSet<LedgerRow> {
    app.state
        .db(|conn| {
            Ok(diesel::sql_query(
                "SELECT id, window_id, kind, capacity_delta, held_delta, sold_delta, order_id \
                 FROM capacity_ledger",
            )
            .load::<LedgerRow>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn orders(app: &TestApp) -> BTreeSet<OrderRow> {
    app.state
        .db(|conn| {
            Ok(
                diesel::sql_query("SELECT id, code, status, buyer_name, total_satang FROM orders")
                    .load::<OrderRow>(conn)?,
            )
        })
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Restores a backup into a new database of the same kind: SQLite, the file copied into place
/// (the server stopped); PostgreSQL, `pg_restore` into a new database.
fn restore(backup_file: &Path, postgres: bool) -> TestDatabase {
    if postgres {
        let db = TestDatabase::create_empty();
        let out = Command::new("pg_restore")
            .args(["--no-owner", "--exit-on-error", "--dbname"])
            .arg(&db.url)
            .arg(backup_file)
            .output()
            .expect("run pg_restore");
        assert!(out.status.success(), "pg_restore: {}", text(&out.stderr));
        db
    } else {
        let db = TestDatabase::create_sqlite();
        let path = db.url.strip_prefix("sqlite://").unwrap();
        std::fs::copy(backup_file, path).expect("copy the backup into place");
        db
    }
}

/// A carrier-delivery order with a Thai note, an e-mail and a LINE id (the pickup orders of
/// `order_body` leave those NULL).
fn carrier_order(window: &Value, variant_id: i64, phone: &str) -> Value {
    let mut body = order_body(
        window,
        json!([{"variant_id": variant_id, "quantity": 1}]),
        phone,
    );
    body["buyer"]["name"] = json!("นางสาวมะลิ ใจงาม");
    body["buyer"]["email"] = json!("mali@example.com");
    body["buyer"]["line_id"] = json!("mali.jaingam");
    body["note"] = json!("ฝากไว้ที่ป้อมยาม \"ตึก ก\" ชั้น ๒ — ขอบคุณค่ะ");
    body["delivery"] = json!({"method": "carrier", "address": {
        "recipient_name": "มะลิ ใจงาม", "phone": "0891234567",
        "address_line": "99/1 ซอยงามวงศ์วาน ๒๕ ถนนพหลโยธิน",
        "subdistrict_code": "100101", "postal_code": "10200"}});
    body
}

async fn pay(app: &TestApp, token: &str, code: &str) {
    let (status, body) = json(
        app.post(&format!("/v1/orders/{code}/payment"))
            .bearer_auth(token)
            .json(&json!({"reference": "พร้อมเพย์ 14:32 ref 0123"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_backup_taken_while_orders_are_placed_restores_every_order_and_a_clean_ledger() {
    let w = World::new().await;
    let postgres = w.app.db.is_postgres();
    if postgres
        && !precondition(
            "pg_dump and pg_restore (postgresql-client)",
            on_path("pg_dump") && on_path("pg_restore"),
            Provider::Ci,
        )
    {
        return;
    }
    let win = window(&w, 100_000, json!({})).await;
    let (one, box5) = (variant(&win, 1), variant(&win, 5));
    let mut before = Vec::new();
    for i in 0..6 {
        let body = if i % 2 == 0 {
            order_body(
                &win,
                json!([{"variant_id": one, "quantity": i + 1}]),
                &format!("08912300{i:02}"),
            )
        } else {
            carrier_order(&win, box5, &format!("08912300{i:02}"))
        };
        let (status, order) = place(&w.app, &body, Some(&format!("before-{i}"))).await;
        assert_eq!(status, 201, "{order}");
        before.push(order);
    }
    pay(&w.app, &w.staff.token, before[0]["code"].as_str().unwrap()).await;
    let before_codes: BTreeSet<String> = before
        .iter()
        .map(|o| o["code"].as_str().unwrap().to_string())
        .collect();
    let ledger_before = ledger(&w.app).await;

    // Orders keep coming while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (client, url, stop) = (w.app.client.clone(), w.app.url("/v1/orders"), stop.clone());
        let win = win.clone();
        tokio::spawn(async move {
            let mut placed = 0;
            let place_one = async |i: i64| {
                let body = order_body(
                    &win,
                    json!([{"variant_id": one, "quantity": 1}]),
                    &format!("0861{i:06}"),
                );
                let res = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(
                    res.status(),
                    201,
                    "{}",
                    res.text().await.unwrap_or_default()
                );
            };
            while !stop.load(Ordering::Relaxed) && placed < 100_000 {
                place_one(placed).await;
                placed += 1;
            }
            // A few after the backup: they must not be in it.
            for _ in 0..2 {
                place_one(placed).await;
                placed += 1;
            }
            placed
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(if postgres {
        "khongdee.dump"
    } else {
        "khongdee-backup.db"
    });
    let url = DatabaseUrl::parse(&w.app.db.url).unwrap();
    let report = {
        let (url, file) = (url.clone(), file.clone());
        tokio::task::spawn_blocking(move || backup(&url, &file, false))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("backup: {e}"))
    };
    stop.store(true, Ordering::Relaxed);
    let placed_during = storm.await.unwrap();
    assert!(placed_during >= 3);
    assert_eq!(report.path, file);
    assert_eq!(report.bytes, std::fs::metadata(&file).unwrap().len());
    assert!(report.bytes > 0);
    assert_eq!(report.format, if postgres { "pg_dump" } else { "sqlite" });
    if !postgres {
        assert!(report.orders.unwrap() >= before.len() as i64, "{report:?}");
    }
    // No leftovers beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // A second backup to the same file is refused, and the first is left as it was; --force
    // replaces it.
    let first = std::fs::read(&file).unwrap();
    let refused = {
        let (url, file) = (url.clone(), file.clone());
        tokio::task::spawn_blocking(move || backup(&url, &file, false))
            .await
            .unwrap()
    };
    assert!(
        matches!(refused, Err(BackupError::Exists(_))),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), first);

    // Restored into a new database and served from there: every order placed before the backup
    // is there with its ledger rows, nothing the source never had, and the ledger reconciles.
    let restored_db = restore(&file, postgres);
    let restored_url = restored_db.url.clone();
    let config = config_for(&restored_db);
    let restored = spawn_app_on(restored_db, config).await;
    let source_orders = orders(&w.app).await;
    let restored_orders = orders(&restored).await;
    let restored_ids: BTreeSet<i64> = restored_orders.iter().map(|o| o.id).collect();
    let restored_codes: BTreeSet<String> = restored_orders.iter().map(|o| o.code.clone()).collect();
    assert!(
        before_codes.is_subset(&restored_codes),
        "{before_codes:?} not all in {restored_codes:?}"
    );
    assert!(
        restored_orders.is_subset(&source_orders),
        "the backup holds orders the source never had"
    );
    assert!(
        restored_orders.len() < source_orders.len(),
        "orders placed after the backup are not in it"
    );
    let restored_ledger = ledger(&restored).await;
    assert!(
        ledger_before.is_subset(&restored_ledger),
        "ledger rows lost"
    );
    assert!(
        restored_ledger.is_subset(&ledger(&w.app).await),
        "ledger rows invented"
    );
    for order in restored_ledger.iter().filter_map(|l| l.order_id) {
        assert!(
            restored_ids.contains(&order),
            "a ledger row of order {order}, which is not in the backup"
        );
    }
    for placed in &before {
        let code = placed["code"].as_str().unwrap();
        let (status, order) = json(
            restored
                .get(&format!("/v1/orders/{code}"))
                .bearer_auth(&w.staff.token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{order}");
        for field in [
            "code",
            "total_satang",
            "buyer",
            "delivery",
            "lines",
            "note",
            "created_at",
        ] {
            assert_eq!(order[field], placed[field], "{field} of {code}");
        }
    }
    let (status, paid) = json(
        restored
            .get(&format!(
                "/v1/orders/{}",
                before[0]["code"].as_str().unwrap()
            ))
            .bearer_auth(&w.staff.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), paid["status"].as_str()),
        (200, Some("confirmed"))
    );
    let report = restored
        .state
        .db(|conn| khongdee::capacity::ledger::reconcile(conn, None, false))
        .await
        .unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_reconcile_finds_nothing(&restored_url);

    // And the restored service takes new orders.
    let body = order_body(
        &win,
        json!([{"variant_id": one, "quantity": 2}]),
        "0899999999",
    );
    let (status, order) = place(&restored, &body, None).await;
    assert_eq!(status, 201, "{order}");
    assert_reconcile_finds_nothing(&restored_url);
}

#[tokio::test]
async fn backup_refuses_what_would_lose_or_invent_data() {
    let db = TestDatabase::create_sqlite();
    let url = DatabaseUrl::parse(&db.url).unwrap();
    let database = db.url.strip_prefix("sqlite://").unwrap().to_string();
    let config = config_for(&db);
    let app = spawn_app_on(db, config).await;
    let dir = tempfile::tempdir().unwrap();
    let call = |out: PathBuf, force: bool| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || backup(&url, &out, force))
                .await
                .unwrap()
        }
    };

    // An existing file is kept unless --force; the database itself never.
    let existing = dir.path().join("keep.db");
    std::fs::write(&existing, "precious").unwrap();
    let result = call(existing.clone(), false).await;
    assert!(matches!(result, Err(BackupError::Exists(_))), "{result:?}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious");
    let result = call(PathBuf::from(&database), true).await;
    assert!(
        matches!(result, Err(BackupError::SameFile(_))),
        "{result:?}"
    );
    let forced = call(existing.clone(), true).await.unwrap();
    assert_eq!(forced.format, "sqlite");
    assert!(
        std::fs::read(&existing)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );

    // A directory, a missing directory: clear errors, nothing written.
    let result = call(dir.path().to_path_buf(), true).await;
    assert!(
        matches!(result, Err(BackupError::IsDirectory(_))),
        "{result:?}"
    );
    let result = call(dir.path().join("no/such/dir/x.db"), false).await;
    let message = result.as_ref().unwrap_err().to_string();
    assert!(
        matches!(result, Err(BackupError::Unwritable { .. })),
        "{result:?}"
    );
    assert!(
        message.contains("no/such/dir") && message.contains("does not exist"),
        "{message}"
    );

    // A database that is not there is not created (and then backed up empty).
    let missing = dir.path().join("missing.db");
    let result = tokio::task::spawn_blocking({
        let (missing, out) = (missing.clone(), dir.path().join("out.db"));
        move || backup(&DatabaseUrl::Sqlite(missing), &out, false)
    })
    .await
    .unwrap();
    assert!(
        matches!(result, Err(BackupError::NoDatabase(_))),
        "{result:?}"
    );
    assert!(!missing.exists() && !dir.path().join("out.db").exists());
    let names: BTreeSet<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "only keep.db: {names:?}");

    // The command: JSON on success, a non-zero status and the reason when refused.
    let out_file = dir.path().join("cli.db");
    let out_arg = out_file.to_str().unwrap();
    let out = khongdee(&app.db.url, &["backup", "--out", out_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], "sqlite");
    assert!(report["tables"].as_u64().unwrap() > 40, "{report}");
    let out = khongdee(&app.db.url, &["backup", "--out", out_arg]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
}

/// On PostgreSQL without pg_dump, `khongdee backup` writes nothing and says what to run.
#[tokio::test]
async fn backup_on_postgresql_without_pg_dump_gives_the_command_to_run() {
    let db = TestDatabase::create();
    if !precondition(
        "TEST_DATABASE_URL (PostgreSQL)",
        db.is_postgres(),
        Provider::SomeRuns,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("khongdee.dump");
    let out = Command::new(env!("CARGO_BIN_EXE_khongdee"))
        .args(["backup", "--out", file.to_str().unwrap()])
        .env("KHONGDEE_DATABASE_URL", &db.url)
        .env("KHONGDEE_LOG_FORMAT", "pretty")
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("pg_dump is not installed"), "{stderr}");
    assert!(
        stderr.contains("pg_dump --format=custom --no-owner --file="),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// A table's rows as comparable values: booleans as 0/1 (SQLite's storage), timestamps in one
/// text form (PostgreSQL's JSON writes a `T`), floats to nine decimals; sorted.
fn canonical_rows(rows: Vec<String>) -> Vec<String> {
    fn canonical(value: Value) -> Value {
        match value {
            Value::Bool(b) => json!(b as i64),
            Value::String(s) => {
                let parsed = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| chrono::NaiveDateTime::parse_from_str(&s, f).ok());
                match parsed {
                    Some(t) => json!(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
                    None => Value::String(s),
                }
            }
            Value::Number(n) if !n.is_i64() => json!(format!("{:.9}", n.as_f64().unwrap())),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, canonical(v))).collect())
            }
            other => other,
        }
    }
    let mut out: Vec<String> = rows
        .into_iter()
        .map(|r| {
            let value: Value = serde_json::from_str(&r).unwrap();
            // Keys sorted (serde_json keeps insertion order here).
            let sorted: std::collections::BTreeMap<String, Value> =
                serde_json::from_value(canonical(value)).unwrap();
            serde_json::to_string(&sorted).unwrap()
        })
        .collect();
    out.sort();
    out
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn sqlite_rows(conn: &mut diesel::SqliteConnection, table: &str) -> Vec<String> {
    let columns: Vec<String> =
        diesel::sql_query(format!("SELECT name FROM pragma_table_info('{table}')"))
            .load::<Name>(conn)
            .unwrap()
            .into_iter()
            .map(|n| format!("'{0}', \"{0}\"", n.name))
            .collect();
    diesel::sql_query(format!(
        "SELECT json_object({}) AS row FROM \"{table}\"",
        columns.join(", ")
    ))
    .load::<JsonRow>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.row)
    .collect()
}

fn postgres_rows(conn: &mut diesel::PgConnection, table: &str) -> Vec<String> {
    diesel::sql_query(format!(
        "SELECT row_to_json(t)::text AS row FROM \"{table}\" t"
    ))
    .load::<JsonRow>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.row)
    .collect()
}

#[tokio::test]
async fn a_sqlite_database_moves_to_postgresql_row_for_row_and_carries_on_there() {
    let has_postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty());
    if !precondition(
        "TEST_DATABASE_URL (a PostgreSQL server to copy into)",
        has_postgres,
        Provider::SomeRuns,
    ) {
        return;
    }
    // The source: SQLite with the demo data set and orders of every kind.
    let source_db = TestDatabase::create_sqlite();
    let source_path = source_db.url.strip_prefix("sqlite://").unwrap().to_string();
    let config = config_for(&source_db);
    let app = spawn_app_on(source_db, config).await;
    let now = app.clock.now_naive();
    let pepper = app.state.citizen_id_pepper.clone();
    let seeded = app
        .state
        .db(move |conn| khongdee::seed::seed_demo(conn, &pepper, now))
        .await
        .unwrap();
    assert!(seeded.windows > 0, "{seeded:?}");
    let window_id: i64 = app
        .state
        .db(|conn| {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            Ok(diesel::sql_query(
                "SELECT w.id FROM preorder_windows w JOIN products p ON p.id = w.product_id \
                 JOIN producers r ON r.id = p.producer_id JOIN laos l ON l.id = r.lao_id \
                 WHERE l.dla_code = '3630690' ORDER BY w.id LIMIT 1",
            )
            .get_result::<Id>(conn)?
            .id)
        })
        .await
        .unwrap();
    let (_, win) = json(
        app.get(&format!("/v1/windows/{window_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (one, boxed) = (
        win["variants"][0]["id"].as_i64().unwrap(),
        win["variants"][1]["id"].as_i64().unwrap(),
    );
    let (mut codes, mut secrets) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let body = if i % 2 == 0 {
            order_body(
                &win,
                json!([{"variant_id": one, "quantity": i + 1}]),
                &format!("08123400{i:02}"),
            )
        } else {
            carrier_order(&win, boxed, &format!("08123400{i:02}"))
        };
        let (status, order) = place(&app, &body, Some(&format!("copy-{i}"))).await;
        assert_eq!(status, 201, "{order}");
        codes.push(order["code"].as_str().unwrap().to_string());
        secrets.push(order["secret"].as_str().unwrap().to_string());
    }
    let (status, token) = json(
        app.post("/v1/auth/token")
            .form(&[
                ("grant_type", "password"),
                ("username", "demo-maesot-staff"),
                ("password", khongdee::seed::DEMO_PASSWORD),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let staff_token = token["access_token"].as_str().unwrap().to_string();
    pay(&app, &staff_token, &codes[0]).await;
    pay(&app, &staff_token, &codes[1]).await;
    let (status, cancelled) = json(
        app.post(&format!("/v1/orders/{}/cancel", codes[2]))
            .header("X-Order-Secret", secrets[2].as_str())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    let max_order_id = orders(&app).await.iter().map(|o| o.id).max().unwrap();
    // (The README says to stop the server before copying; nothing writes here meanwhile, and
    // keeping `app` keeps its temporary directory.)

    // Not SQLite into SQLite, not from PostgreSQL.
    let target_db = TestDatabase::create_empty();
    let sqlite_url = DatabaseUrl::parse(&format!("sqlite://{source_path}")).unwrap();
    let target_url = DatabaseUrl::parse(&target_db.url).unwrap();
    assert!(matches!(
        copy_database(&sqlite_url, &sqlite_url),
        Err(CopyError::Unsupported(_))
    ));
    assert!(matches!(
        copy_database(&target_url, &target_url),
        Err(CopyError::Unsupported(_))
    ));

    // A target that `khongdee migrate` prepared counts as empty. A copy that fails half-way
    // (here a constraint only the target has refuses the order lines, written after dozens of
    // other tables) keeps nothing.
    let out = khongdee(&target_db.url, &["migrate"]);
    assert!(out.status.success(), "migrate: {}", text(&out.stderr));
    khongdee::db::init_openssl();
    let mut target = diesel::PgConnection::establish(&target_db.url).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut target,
        "ALTER TABLE order_lines ADD CONSTRAINT refuses_all CHECK (quantity < 0) NOT VALID",
    )
    .unwrap();
    let failed = {
        let (from, to) = (sqlite_url.clone(), target_url.clone());
        tokio::task::spawn_blocking(move || copy_database(&from, &to))
            .await
            .unwrap()
    };
    assert!(
        matches!(&failed, Err(CopyError::Table { table, .. }) if table == "order_lines"),
        "{failed:?}"
    );
    let tables_in_target: Vec<String> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Name>(&mut target)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    assert!(tables_in_target.len() > 40);
    for table in &tables_in_target {
        let rows = postgres_rows(&mut target, table);
        let expected = usize::from(table == "sale_fact_cursor"); // the migration's own row
        assert_eq!(
            rows.len(),
            expected,
            "{table} after a failed copy: {rows:?}"
        );
    }
    diesel::connection::SimpleConnection::batch_execute(
        &mut target,
        "ALTER TABLE order_lines DROP CONSTRAINT refuses_all",
    )
    .unwrap();
    drop(target);

    // The copy, by the command.
    let out = khongdee(
        &format!("sqlite://{source_path}"),
        &["copy-db", "--to", &target_db.url],
    );
    assert!(out.status.success(), "copy-db: {}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables: Vec<String> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap().to_string())
        .collect();
    assert!(tables.len() > 40, "{report}");
    assert!(report["sequences_reset"].as_u64().unwrap() > 10, "{report}");

    // Every table: the same rows.
    let mut source = diesel::SqliteConnection::establish(&source_path).unwrap();
    khongdee::db::init_openssl();
    let mut target = diesel::PgConnection::establish(&target_db.url).unwrap();
    let mut compared = 0;
    for (i, table) in tables.iter().enumerate() {
        let from = canonical_rows(sqlite_rows(&mut source, table));
        let to = canonical_rows(postgres_rows(&mut target, table));
        assert_eq!(
            report["tables"][i]["rows"].as_u64().unwrap() as usize,
            from.len(),
            "{table}"
        );
        assert_eq!(from.len(), to.len(), "rows of {table}");
        for (a, b) in from.iter().zip(&to) {
            assert_eq!(a, b, "a row of {table}");
        }
        compared += from.len();
    }
    assert_eq!(compared as i64, report["rows"].as_i64().unwrap());
    let thai_orders = sqlite_rows(&mut source, "orders")
        .into_iter()
        .filter(|r| r.contains("มะลิ"))
        .count();
    assert!(thai_orders >= 2, "the orders carry Thai text");
    drop(target);

    assert_reconcile_finds_nothing(&target_db.url);

    // Copying again into a target that now holds data is refused, and changes nothing.
    let again = {
        let (from, to) = (sqlite_url.clone(), target_url.clone());
        tokio::task::spawn_blocking(move || copy_database(&from, &to))
            .await
            .unwrap()
    };
    let message = again
        .as_ref()
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(
        matches!(again, Err(CopyError::TargetNotEmpty(_))),
        "{again:?}"
    );
    assert!(message.contains("orders:"), "{message}");

    // The API serves from PostgreSQL: the copied orders are there, signing in works, and a new
    // order gets an id past the copied ones (the sequences moved on).
    let config = config_for(&target_db);
    let moved = spawn_app_on(target_db, config).await;
    let (status, order) = json(
        moved
            .get(&format!("/v1/orders/{}", codes[0]))
            .bearer_auth(&staff_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), order["status"].as_str()),
        (200, Some("confirmed")),
        "{order}"
    );
    let (status, order) = place(
        &moved,
        &carrier_order(&win, boxed, "0812349999"),
        Some("after-move"),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let new_id = orders(&moved)
        .await
        .into_iter()
        .find(|o| o.code == order["code"])
        .unwrap()
        .id;
    assert!(new_id > max_order_id, "{new_id} after {max_order_id}");
    pay(&moved, &staff_token, order["code"].as_str().unwrap()).await;
    assert_reconcile_finds_nothing(&moved.db.url);
}

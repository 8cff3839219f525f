//! Order placement under load: many concurrent HTTP clients ordering from one hot window.
//!
//! ```sh
//! cargo bench --bench orders                       # SQLite, then PostgreSQL
//! cargo bench --bench orders -- sqlite             # one backend
//! BENCH_CLIENTS=128 BENCH_REQUESTS=5000 BENCH_CAPACITY=4000 cargo bench --bench orders
//! ```
//!
//! The server runs in this process (the release build of the library, its real HTTP stack,
//! middleware, pool and database) on a fresh database: a temporary SQLite file, or a new database
//! on `BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, dropped after).
//! The demo data is loaded, an admin signs in and opens one window of `BENCH_CAPACITY` units, and
//! `BENCH_CLIENTS` clients send `BENCH_REQUESTS` anonymous order requests between them (1–3 units
//! each, a fresh Idempotency-Key and buyer phone per request), more than the window holds, so it
//! sells out during the run. It prints orders/s, p50/p99/max latency, the answers by status, and
//! the oversell count: units sold beyond the capacity, counted from the orders table itself, with
//! the window counter and the capacity ledger checked against it.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use khongdee::clock::{SharedClock, SystemClock};
use khongdee::config::Config;

struct Settings {
    clients: usize,
    requests: usize,
    capacity: i64,
    postgres_url: String,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let settings = Settings {
        clients: env_or("BENCH_CLIENTS", 64),
        requests: env_or("BENCH_REQUESTS", 3000),
        capacity: env_or("BENCH_CAPACITY", 4000),
        postgres_url: env_or(
            "BENCH_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres".to_string(),
        ),
    };
    // `cargo bench` passes `--bench`; anything else names the backends to run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let backends: Vec<&str> = if args.is_empty() {
        vec!["sqlite", "postgres"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    println!(
        "order placement: {} clients, {} requests of 1-3 units, one window of {} units",
        settings.clients, settings.requests, settings.capacity
    );
    println!(
        "{:<10} {:>9} {:>8} {:>9} {:>9} {:>9} {:>7} {:>9} {:>9}",
        "backend",
        "orders/s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "placed",
        "sold out",
        "oversell"
    );
    let mut failed = false;
    for backend in backends {
        let database = match backend {
            "sqlite" => Database::sqlite(),
            "postgres" => match Database::postgres(&settings.postgres_url) {
                Ok(db) => db,
                Err(e) => {
                    println!(
                        "{backend:<10} skipped: PostgreSQL at {} cannot be reached: {e}",
                        settings.postgres_url
                    );
                    continue;
                }
            },
            other => {
                eprintln!("unknown backend {other:?} (sqlite or postgres)");
                std::process::exit(2);
            }
        };
        let report = run(&settings, &database);
        println!(
            "{:<10} {:>9.0} {:>8.0} {:>9.1} {:>9.1} {:>9.1} {:>7} {:>9} {:>9}",
            backend,
            report.placed as f64 / report.elapsed.as_secs_f64(),
            report.requests as f64 / report.elapsed.as_secs_f64(),
            ms(report.p50),
            ms(report.p99),
            ms(report.max),
            report.placed,
            report.refused,
            report.oversell,
        );
        for problem in &report.problems {
            println!("           !! {problem}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

enum Database {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Database {
    fn sqlite() -> Database {
        Database::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    fn postgres(admin_url: &str) -> Result<Database, String> {
        use diesel::connection::SimpleConnection;
        let mut admin = diesel::PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
        let name = format!("khongdee_bench_{}", std::process::id());
        // Two statements, two calls: neither may run inside a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .map_err(|e| e.to_string())?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(|e| e.to_string())?;
        Ok(Database::Postgres {
            admin_url: admin_url.to_string(),
            name,
        })
    }

    fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite://{}", dir.path().join("bench.db").display()),
            Database::Postgres { admin_url, name } => {
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("a database URL with a path");
                format!("{base}/{name}")
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        if let Database::Postgres { admin_url, name } = self
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

struct Report {
    requests: usize,
    placed: usize,
    refused: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    oversell: i64,
    problems: Vec<String>,
}

fn run(settings: &Settings, database: &Database) -> Report {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_database(database.url());
    config.data_dir = data_dir.path().to_path_buf();
    config.jwt_secret = Some("bench-secret-bench-secret-bench-secret-01".into());
    config.rate_limit_anonymous_per_minute = 10_000_000;
    config.rate_limit_authenticated_per_minute = 10_000_000;
    config.rate_limit_token_per_minute = 10_000;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = khongdee::prepare(config, clock.clone()).expect("prepare the app");
    {
        let mut conn = state.pool.get().expect("connection");
        khongdee::seed::seed_demo(&mut conn, &state.citizen_id_pepper, clock.now_naive())
            .expect("demo data");
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));

    // The server on its own actix system thread; the clients on a tokio runtime here.
    let (tx, rx) = std::sync::mpsc::channel();
    let server_state = state.clone();
    let server_thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = khongdee::start_server(server_state, listener, false).expect("server");
            tx.send(server.handle()).expect("handle");
            server.await
        })
    });
    let handle = rx.recv().expect("server handle");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(load(settings, &base, &state));
    runtime.block_on(handle.stop(true));
    let _ = server_thread.join();
    report
}

async fn load(settings: &Settings, base: &str, state: &khongdee::AppState) -> Report {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.clients)
        .build()
        .expect("client");
    let window = open_window(&client, base, settings.capacity).await;
    let window_id = window["id"].as_i64().expect("window id");
    let variant_id = window["variants"][0]["id"].clone();
    let pickup_id = window["pickup_points"][0]["id"].clone();

    let next = Arc::new(AtomicUsize::new(0));
    let url = Arc::new(format!("{base}/v1/orders"));
    let started = Instant::now();
    let tasks: Vec<_> = (0..settings.clients)
        .map(|_| {
            let (client, next, url) = (client.clone(), next.clone(), url.clone());
            let (variant_id, pickup_id) = (variant_id.clone(), pickup_id.clone());
            let total = settings.requests;
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let body = json!({
                        "window_id": window_id,
                        "lines": [{"variant_id": variant_id, "quantity": 1 + i % 3}],
                        "buyer": {"name": "ผู้ซื้อทดสอบ", "phone": format!("08{:08}", i)},
                        "delivery": {"method": "pickup", "pickup_point_id": pickup_id},
                    });
                    let sent = Instant::now();
                    let res = client
                        .post(url.as_str())
                        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                        .json(&body)
                        .send()
                        .await;
                    let (status, text) = match res {
                        Ok(res) => {
                            let status = res.status().as_u16();
                            (status, res.text().await.unwrap_or_default())
                        }
                        Err(e) => (0, e.to_string()),
                    };
                    seen.push((sent.elapsed(), status, text));
                }
                seen
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(settings.requests);
    for task in futures_util::future::join_all(tasks).await {
        answers.extend(task.expect("client task"));
    }
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.0).collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let mut problems = Vec::new();
    let (mut placed, mut refused, mut placed_units) = (0usize, 0usize, 0i64);
    for (_, status, text) in &answers {
        let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        match (status, body["code"].as_str()) {
            (201, _) => {
                placed += 1;
                placed_units += body["units_total"].as_i64().unwrap_or(0);
            }
            (409, Some("sold_out" | "insufficient_capacity")) => refused += 1,
            _ => {
                if problems.len() < 5 {
                    problems.push(format!(
                        "unexpected answer {status}: {}",
                        text.chars().take(300).collect::<String>()
                    ));
                }
            }
        }
    }

    // Count from the database: the orders, the window's counter and the ledger must agree.
    let (order_units, order_count, window_sold, ledger_sold) = state
        .db(move |conn| {
            use khongdee::db::schema::{capacity_ledger as l, orders as o, preorder_windows as w};
            let units: Vec<i64> = o::table
                .filter(o::window_id.eq(window_id))
                .select(o::units_total)
                .load(conn)?;
            let sold: i64 = w::table.find(window_id).select(w::sold).first(conn)?;
            let deltas: Vec<i64> = l::table
                .filter(l::window_id.eq(window_id))
                .select(l::sold_delta)
                .load(conn)?;
            Ok((
                units.iter().sum::<i64>(),
                units.len(),
                sold,
                deltas.iter().sum::<i64>(),
            ))
        })
        .await
        .expect("count");
    if order_count != placed || order_units != placed_units {
        problems.push(format!(
            "the clients were told of {placed} orders ({placed_units} units), the database has {order_count} ({order_units} units)"
        ));
    }
    if window_sold != order_units || ledger_sold != order_units {
        problems.push(format!(
            "orders {order_units} units, window sold {window_sold}, ledger {ledger_sold}"
        ));
    }
    if refused > 0 && order_units < settings.capacity - 2 {
        problems.push(format!(
            "orders were refused with {} units still free",
            settings.capacity - order_units
        ));
    }
    let oversell = (order_units - settings.capacity).max(0);
    if oversell > 0 {
        problems.push(format!("OVERSOLD by {oversell} units"));
    }
    Report {
        requests: answers.len(),
        placed,
        refused,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: *latencies.last().unwrap_or(&Duration::ZERO),
        oversell,
        problems,
    }
}

/// Signs in as the demo admin and opens a window on the first demo product.
async fn open_window(client: &reqwest::Client, base: &str, capacity: i64) -> Value {
    let token: Value = client
        .post(format!("{base}/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "demo-admin"),
            ("password", khongdee::seed::DEMO_PASSWORD),
        ])
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("token");
    let token = token["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let products: Value = client
        .get(format!("{base}/v1/products"))
        .send()
        .await
        .expect("products")
        .json()
        .await
        .expect("products json");
    let product = products["items"][0]["id"].as_i64().expect("a demo product");
    let bangkok = FixedOffset::east_opt(7 * 3600).expect("offset");
    let at = |hours: i64| (Utc::now() + chrono::Duration::hours(hours)).with_timezone(&bangkok);
    let res = client
        .post(format!("{base}/v1/products/{product}/windows"))
        .bearer_auth(&token)
        .json(&json!({
            "title": "รอบทดสอบโหลด",
            "opens_at": at(-1).to_rfc3339(),
            "closes_at": at(24 * 7).to_rfc3339(),
            "harvest_start": at(24 * 30).date_naive(),
            "harvest_end": at(24 * 40).date_naive(),
            "capacity": capacity,
            "variants": [{"name": "1 กก.", "units_per_item": 1, "price_satang": 9000}],
            "pickup_points": [{
                "name": "ที่ทำการ อบต.",
                "address": "หมู่ 3",
                "starts_at": at(24 * 45).to_rfc3339(),
                "ends_at": at(24 * 45 + 8).to_rfc3339(),
            }],
            "publish": true,
        }))
        .send()
        .await
        .expect("create window");
    let status = res.status();
    let window: Value = res.json().await.expect("window json");
    assert_eq!(status, 201, "create window: {window}");
    window
}

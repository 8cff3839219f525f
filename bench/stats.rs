//! Sales statistics over a national data set: `BENCH_FACTS` sale facts (default 1,000,000) over
//! all 7,849 LAOs, read through `GET /v1/stats/sales` like a user.
//!
//! ```sh
//! cargo bench --bench stats                       # SQLite, then PostgreSQL
//! cargo bench --bench stats -- postgres           # one backend
//! BENCH_FACTS=200000 BENCH_REQUESTS=50 cargo bench --bench stats -- sqlite
//! ```
//!
//! The server runs in this process (the release build of the library, its real HTTP stack,
//! middleware, pool and database) on a fresh database: a temporary SQLite file, or a new database
//! on `BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, dropped after;
//! `BENCH_KEEP=1` keeps either and prints where, to look at query plans).
//!
//! Before the server starts, the LAO registry `../shared/data/laos/laos.csv` (or
//! `BENCH_LAOS_CSV`) is loaded with the project's importer, and the facts are generated with bulk
//! SQL (not measured, but timed): recorded sales (`source = 'recorded'`, all pointing at one
//! `recorded_sales` row) of `BENCH_PRODUCERS` producers (default 50,000, `producer:<n>`, each
//! belonging to one LAO), on days spread evenly over fiscal years 2568–2570 (2024-10-01 …
//! 2027-09-30), 1–5 sales each on one of five channels, 2% of them reversals with negated
//! figures; 1,000 rows per `INSERT`, 50,000 per transaction, from a fixed seed. The monthly sums
//! and the kept totals per period and area are then filled with the backfill SQL of the
//! migrations that keep them (read from `migrations/postgres/…/up.sql`), the cursor is set, and
//! `ANALYZE` runs (`BENCH_ANALYZE=0` skips it).
//!
//! An admin account signs in, then each query is sent `BENCH_REQUESTS` times (default 200) one
//! after another, after 5 warm-up requests, with the admin's bearer token over keep-alive:
//!
//! - `GET /healthz`, the ceiling: the same HTTP stack without the database;
//! - province × fiscal year: `GET /v1/stats/sales?level=province&code=30&fiscal_year=2569`
//!   (Nakhon Ratchasima, the province with most LAOs, grouped by district);
//! - national × month: `GET /v1/stats/sales?level=national&month=2026-06` (grouped by province);
//! - the sheet of every LAO: `GET /v1/stats/sales.csv?level=national&fiscal_year=2569&group_by=lao`
//!   (`BENCH_CSV_REQUESTS` times, default 50; reported, no target).
//!
//! It prints p50/p95/max latency, p95 as a ratio to the ceiling's p95 and to the target (50 ms),
//! and pass or fail. The JSON totals are checked against sums computed from `sale_facts` directly.
//! Then, to show where a request's time goes, it times the two `sales::figures` calls the handler
//! makes for each stats query (the rows' grouping, and the total) on a pooled connection, without
//! HTTP, beside `sales::figures_added_up` (the same figures added up from the monthly sums, as
//! before the kept totals), and checks that both give the same rows. It exits with status 1 when
//! a query answers other than 200, a total is wrong, the two ways differ, or a target is missed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

use khongdee::clock::{SharedClock, SystemClock};
use khongdee::config::Config;
use khongdee::db::{DbConn, sql_literal};
use khongdee::sales::{AreaFilter, Dimension, FigureFilter};

const TARGET: Duration = Duration::from_millis(50);
const WARMUP: usize = 5;
const ROWS_PER_INSERT: usize = 1000;
const ROWS_PER_TRANSACTION: usize = 50_000;
const CHANNELS: [&str; 5] = ["facebook", "tiktok", "line", "phone", "other"];
/// Fiscal years 2568–2570 in Bangkok dates.
const FIRST_DAY: (i32, u32, u32) = (2024, 10, 1);
const LAST_DAY: (i32, u32, u32) = (2027, 9, 30);
const PROVINCE: &str = "30";
const FISCAL_YEAR: i32 = 2569;
const MONTH: &str = "2026-06";
const ADMIN: &str = "bench-admin";

struct Settings {
    facts: usize,
    producers: u64,
    requests: usize,
    csv_requests: usize,
    analyze: bool,
    keep: bool,
    laos_csv: PathBuf,
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
        facts: env_or("BENCH_FACTS", 1_000_000),
        producers: env_or("BENCH_PRODUCERS", 50_000u64).max(1),
        requests: env_or("BENCH_REQUESTS", 200usize).max(1),
        csv_requests: env_or("BENCH_CSV_REQUESTS", 50usize).max(1),
        analyze: env_or("BENCH_ANALYZE", 1u8) != 0,
        keep: env_or("BENCH_KEEP", 0u8) != 0,
        laos_csv: std::env::var("BENCH_LAOS_CSV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/laos/laos.csv")
            }),
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
        "sales statistics: {} facts of {} producers over the LAOs of {}, {} requests per query ({} for the sheet), target p95 {} ms",
        settings.facts,
        settings.producers,
        settings.laos_csv.display(),
        settings.requests,
        settings.csv_requests,
        TARGET.as_millis()
    );
    let mut failed = false;
    for backend in backends {
        let database = match backend {
            "sqlite" => Database::sqlite(),
            "postgres" => match Database::postgres(&settings.postgres_url) {
                Ok(db) => db,
                Err(e) => {
                    println!(
                        "{backend}: skipped: PostgreSQL at {} cannot be reached: {e}",
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
        println!();
        println!("== {backend}");
        let problems = run(&settings, &database);
        for problem in &problems {
            println!("   !! {problem}");
        }
        failed |= !problems.is_empty();
        if settings.keep {
            println!("   kept: {}", database.url());
            database.keep();
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
    Sqlite(Option<tempfile::TempDir>),
    Postgres {
        admin_url: String,
        name: String,
        keep: bool,
    },
}

impl Database {
    fn sqlite() -> Database {
        Database::Sqlite(Some(tempfile::tempdir().expect("temp dir")))
    }

    fn postgres(admin_url: &str) -> Result<Database, String> {
        let mut admin = diesel::PgConnection::establish(admin_url).map_err(|e| e.to_string())?;
        let name = format!("khongdee_bench_stats_{}", std::process::id());
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
            keep: false,
        })
    }

    fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!(
                "sqlite://{}",
                dir.as_ref()
                    .expect("the temporary directory")
                    .path()
                    .join("bench.db")
                    .display()
            ),
            Database::Postgres {
                admin_url, name, ..
            } => {
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("a database URL with a path");
                format!("{base}/{name}")
            }
        }
    }

    /// Leaves the database behind (`BENCH_KEEP=1`).
    fn keep(mut self) {
        match &mut self {
            Database::Sqlite(dir) => {
                if let Some(dir) = dir.take() {
                    let _ = dir.keep();
                }
            }
            Database::Postgres { keep, .. } => *keep = true,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Database::Postgres {
            admin_url,
            name,
            keep: false,
        } = self
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// xorshift64*: a fixed sequence, so that every run and backend gets the same facts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Lao {
    id: i64,
    district_code: String,
    province_code: String,
}

fn date(ymd: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2).expect("a date")
}

fn timestamp(t: NaiveDateTime) -> String {
    sql_literal(&t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Loads the LAOs and generates the facts and their monthly sums. Returns the number of LAOs.
fn generate(settings: &Settings, conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, String> {
    let started = Instant::now();
    let report = khongdee::laos::import::import_file(conn, &settings.laos_csv, now)?;
    for row in report.rejected.iter().take(5) {
        println!("   rejected LAO at line {}: {}", row.line, row.reason);
    }
    let laos: Vec<Lao> = {
        use khongdee::db::schema::laos as l;
        l::table
            .order(l::id)
            .select((l::id, l::district_code, l::province_code))
            .load::<(i64, String, String)>(conn)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(id, district_code, province_code)| Lao {
                id,
                district_code,
                province_code,
            })
            .collect()
    };
    println!(
        "   LAOs: {} imported ({} rejected) in {:.1} s",
        laos.len(),
        report.rejected.len(),
        started.elapsed().as_secs_f64()
    );
    if laos.is_empty() {
        return Err("no LAOs were imported".into());
    }

    // One recorded sale that every generated fact belongs to (the facts' CHECK wants an order or
    // a recorded sale).
    let started = Instant::now();
    let recorded_sale: i64 = {
        use khongdee::db::schema::recorded_sales as r;
        let lao = &laos[0];
        diesel::insert_into(r::table)
            .values((
                r::lao_id.eq(lao.id),
                r::district_code.eq(&lao.district_code),
                r::province_code.eq(&lao.province_code),
                r::producer_count.eq(Some(2)),
                r::sale_month.eq(MONTH),
                r::channel.eq("facebook"),
                r::sales_count.eq(1i64),
                r::revenue_satang.eq(10_000i64),
                r::note.eq(Some("bench/stats.rs")),
                r::created_by.eq(ADMIN),
                r::created_at.eq(now),
                r::updated_at.eq(now),
            ))
            .returning(r::id)
            .get_result(conn)
            .map_err(|e| e.to_string())?
    };
    let first = date(FIRST_DAY);
    let days = (date(LAST_DAY) - first).num_days() as u64 + 1;
    let mut rng = Rng(0x6b68_6f6e_6764_6565);
    let mut id = 0usize;
    while id < settings.facts {
        let in_transaction = (settings.facts - id).min(ROWS_PER_TRANSACTION);
        let mut statements = Vec::new();
        let mut left = in_transaction;
        while left > 0 {
            let rows = left.min(ROWS_PER_INSERT);
            let mut sql = String::with_capacity(rows * 240);
            sql.push_str(
                "INSERT INTO sale_facts (id, source, kind, order_id, recorded_sale_id, lao_id, \
                 district_code, province_code, producer_id, crop_id, window_id, variant_id, \
                 channel, sales, units, revenue_satang, delivery_fee_satang, beneficiary_key, \
                 beneficiaries_extra, buyer_key, sale_date, sale_month, occurred_at, recorded_at) \
                 VALUES ",
            );
            for i in 0..rows {
                id += 1;
                let producer = rng.below(settings.producers);
                let lao = &laos[(producer % laos.len() as u64) as usize];
                let day = first + chrono::Duration::days(rng.below(days) as i64);
                let reversal = rng.below(50) == 0;
                let sign = if reversal { -1 } else { 1 };
                let count = 1 + rng.below(5) as i64;
                let revenue = count * (2_000 + rng.below(48_000) as i64);
                let channel = CHANNELS[rng.below(CHANNELS.len() as u64) as usize];
                // Before 17:00 UTC, so that the Bangkok date is the sale date.
                let occurred = day.and_hms_opt(0, 0, 0).expect("midnight")
                    + chrono::Duration::seconds(rng.below(17 * 3600) as i64);
                let recorded = occurred + chrono::Duration::minutes(10);
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "({id},'recorded',{kind},NULL,{recorded_sale},{lao},{district},{province},\
                     NULL,NULL,NULL,NULL,'{channel}',{sales},0,{revenue},0,'producer:{producer}',\
                     0,NULL,'{day}','{month}',{occurred},{recorded})",
                    kind = if reversal { "'reversal'" } else { "'sale'" },
                    lao = lao.id,
                    district = sql_literal(&lao.district_code),
                    province = sql_literal(&lao.province_code),
                    sales = sign * count,
                    revenue = sign * revenue,
                    day = day.format("%Y-%m-%d"),
                    month = day.format("%Y-%m"),
                    occurred = timestamp(occurred),
                    recorded = timestamp(recorded),
                ));
            }
            statements.push(sql);
            left -= rows;
        }
        khongdee::db::write_transaction(conn, |conn| {
            for sql in &statements {
                conn.batch_execute(sql)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .map_err(|e| format!("inserting facts: {e}"))?;
    }
    println!(
        "   facts: {} inserted in {:.1} s",
        settings.facts,
        started.elapsed().as_secs_f64()
    );

    // The monthly sums and the kept totals, as the migrations' backfills fill them.
    let backfill_sql = backfill()?;
    let started = Instant::now();
    khongdee::db::write_transaction(conn, |conn| {
        conn.batch_execute(&format!(
            "UPDATE sale_fact_cursor SET last = {};",
            settings.facts
        ))?;
        conn.batch_execute(&backfill_sql)
    })
    .map_err(|e| format!("filling the monthly sums: {e}"))?;
    let count = |conn: &mut DbConn, table: &str| -> Result<i64, String> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .map(|c| c.n)
            .map_err(|e| e.to_string())
    };
    println!(
        "   sums: sale_monthly {} rows, sale_monthly_people {} rows, sale_area_totals {} rows, \
         sale_area_people {} rows, in {:.1} s",
        count(conn, "sale_monthly")?,
        count(conn, "sale_monthly_people")?,
        count(conn, "sale_area_totals")?,
        count(conn, "sale_area_people")?,
        started.elapsed().as_secs_f64()
    );
    if settings.analyze {
        let started = Instant::now();
        conn.batch_execute("ANALYZE")
            .map_err(|e| format!("ANALYZE: {e}"))?;
        println!("   ANALYZE in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(laos.len())
}

/// The backfill SQL of the migrations that keep sums (the same text on both backends): from
/// `2026-11-29-000008_sales` the monthly sums (from its first `INSERT INTO sale_monthly`), from
/// `2026-11-29-000012_sale_area_totals` the kept totals (after its `-- backfill` line).
fn backfill() -> Result<String, String> {
    let read = |name: &str| {
        let path = format!(
            "{}/migrations/postgres/{name}/up.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))
    };
    let sales = read("2026-11-29-000008_sales")?;
    let monthly = sales
        .find("INSERT INTO sale_monthly (")
        .map(|at| &sales[at..])
        .ok_or("no monthly sums in the sales migration")?;
    let totals = read("2026-11-29-000012_sale_area_totals")?;
    let kept = totals
        .split_once("-- backfill")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, sql)| sql)
        .ok_or("no backfill in the totals migration")?;
    Ok(format!("{monthly}\n{kept}"))
}

/// Net sales and revenue of the facts a condition selects, straight from `sale_facts`.
fn expected(conn: &mut DbConn, whereby: &str) -> (i64, i64) {
    #[derive(QueryableByName)]
    struct Sums {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sales: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        revenue: i64,
    }
    let sums: Sums = diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(sales), 0) AS BIGINT) AS sales, \
                CAST(COALESCE(SUM(revenue_satang), 0) AS BIGINT) AS revenue \
         FROM sale_facts WHERE {whereby}"
    ))
    .get_result(conn)
    .expect("expected sums");
    (sums.sales, sums.revenue)
}

struct Query {
    name: &'static str,
    path: String,
    requests: usize,
    target: Option<Duration>,
    /// Net sales and revenue the JSON total must show.
    total: Option<(i64, i64)>,
    /// The figures the handler asks `sales::figures` for: timed directly, without HTTP.
    figures: Option<(FigureFilter, Dimension)>,
}

fn run(settings: &Settings, database: &Database) -> Vec<String> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_database(database.url());
    config.data_dir = data_dir.path().to_path_buf();
    config.jwt_secret = Some("bench-secret-bench-secret-bench-secret-01".into());
    config.access_token_ttl_secs = 6 * 3600;
    config.rate_limit_anonymous_per_minute = 10_000_000;
    config.rate_limit_authenticated_per_minute = 10_000_000;
    config.rate_limit_token_per_minute = 10_000;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = khongdee::prepare(config, clock.clone()).expect("prepare the app");
    let password = khongdee::auth::tokens::random_token(15);
    let queries = {
        let mut conn = state.pool.get().expect("connection");
        let started = Instant::now();
        if let Err(e) = generate(settings, &mut conn, clock.now_naive()) {
            return vec![format!("generating the data failed: {e}")];
        }
        println!(
            "   generated in {:.1} s (not measured)",
            started.elapsed().as_secs_f64()
        );
        create_admin(&mut conn, &password, clock.now_naive());
        let fy = khongdee::stats::periods::Period::fiscal_year(FISCAL_YEAR);
        let month = khongdee::stats::periods::Period::month(
            MONTH[..4].parse().expect("year"),
            MONTH[5..].parse().expect("month"),
        );
        vec![
            Query {
                name: "healthz (ceiling)",
                path: "/healthz".into(),
                requests: settings.requests,
                target: None,
                total: None,
                figures: None,
            },
            Query {
                name: "province x fiscal year",
                path: format!(
                    "/v1/stats/sales?level=province&code={PROVINCE}&fiscal_year={FISCAL_YEAR}"
                ),
                requests: settings.requests,
                target: Some(TARGET),
                total: Some(expected(
                    &mut conn,
                    &format!(
                        "province_code = '{PROVINCE}' AND sale_date BETWEEN '{}' AND '{}'",
                        fy.from, fy.to
                    ),
                )),
                figures: Some((
                    filter(AreaFilter::Province(PROVINCE.into()), fy.from, fy.to),
                    Dimension::District,
                )),
            },
            Query {
                name: "national x month",
                path: format!("/v1/stats/sales?level=national&month={MONTH}"),
                requests: settings.requests,
                target: Some(TARGET),
                total: Some(expected(&mut conn, &format!("sale_month = '{MONTH}'"))),
                figures: Some((
                    filter(AreaFilter::National, month.from, month.to),
                    Dimension::Province,
                )),
            },
            Query {
                name: "sheet: every LAO x fiscal year",
                path: format!(
                    "/v1/stats/sales.csv?level=national&fiscal_year={FISCAL_YEAR}&group_by=lao"
                ),
                requests: settings.csv_requests,
                target: None,
                total: None,
                figures: None,
            },
        ]
    };

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    // The server on its own actix system thread; the client on a tokio runtime here.
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
    let mut problems = runtime.block_on(measure(&base, &password, &queries));
    runtime.block_on(handle.stop(true));
    let _ = server_thread.join();
    problems.extend(breakdown(settings, &state, &queries));
    writes(settings, &state);
    problems
}

fn filter(area: AreaFilter, from: NaiveDate, to: NaiveDate) -> FigureFilter {
    FigureFilter {
        area,
        from,
        to,
        source: None,
        channel: None,
        crop_id: None,
    }
}

/// Where a request's time goes: the two `sales::figures` calls its handler makes (the rows'
/// grouping, then the total), timed on a pooled connection without HTTP, and the same figures
/// added up from the monthly sums (`sales::figures_added_up`, what they were before the kept
/// totals), which must be equal. Returns the failures.
fn breakdown(settings: &Settings, state: &khongdee::AppState, queries: &[Query]) -> Vec<String> {
    let runs = (settings.requests / 4).max(5);
    let mut conn = state.pool.get().expect("connection");
    let mut failures = Vec::new();
    println!("   sales::figures() alone, {runs} calls each after {WARMUP} warm-up calls:");
    type Figures = fn(
        &mut DbConn,
        &FigureFilter,
        Dimension,
    ) -> diesel::QueryResult<Vec<khongdee::sales::Figures>>;
    let ways: [(&str, Figures); 2] = [
        ("kept", khongdee::sales::figures),
        ("added up", khongdee::sales::figures_added_up),
    ];
    for query in queries {
        let Some((filter, grouped)) = &query.figures else {
            continue;
        };
        for dimension in [*grouped, Dimension::All] {
            let mut answers = Vec::new();
            for (way, figures) in ways {
                let mut latencies = Vec::with_capacity(runs);
                let mut answer = Vec::new();
                for i in 0..WARMUP + runs {
                    let started = Instant::now();
                    answer = figures(&mut conn, filter, dimension).expect("figures");
                    if i >= WARMUP {
                        latencies.push(started.elapsed());
                    }
                }
                latencies.sort();
                let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
                println!(
                    "   {:<32} by {:<9} {:<8} p50 {:>7.2} ms, p95 {:>7.2} ms",
                    query.name,
                    format!("{dimension:?}").to_lowercase(),
                    way,
                    ms(pct(0.5)),
                    ms(pct(0.95))
                );
                answer.retain(|f| {
                    *f != khongdee::sales::Figures {
                        key: f.key.clone(),
                        ..Default::default()
                    }
                });
                answer.sort_by(|a, b| a.key.cmp(&b.key));
                answers.push(answer);
            }
            if answers[0] != answers[1] {
                failures.push(format!(
                    "{} by {dimension:?}: the kept totals differ from the figures added up",
                    query.name
                ));
            }
        }
    }
    failures
}

/// What keeping the sums and totals costs a payment: `BENCH_REQUESTS` transactions, one after
/// another, each recording an order's two facts (a producer key and a buyer key, as a paid
/// order of two lines writes) with `sales::record` in a write transaction, on LAOs across the
/// country, on top of the generated data.
fn writes(settings: &Settings, state: &khongdee::AppState) {
    use khongdee::sales::{FactKind, NewFact, SaleChannel, Source};
    let mut conn = state.pool.get().expect("connection");
    let (recorded_sale, laos): (i64, Vec<(i64, String, String)>) = {
        use khongdee::db::schema::{laos as l, recorded_sales as r};
        let recorded = r::table
            .select(r::id)
            .order(r::id)
            .first(&mut conn)
            .expect("the generated recorded sale");
        let laos = l::table
            .order(l::id)
            .select((l::id, l::district_code, l::province_code))
            .load(&mut conn)
            .expect("LAOs");
        (recorded, laos)
    };
    let now = chrono::Utc::now().naive_utc();
    let day = NaiveDate::from_ymd_opt(2026, 6, 15).expect("date");
    let mut rng = Rng(0x7772_6974_6573);
    let mut latencies = Vec::new();
    for i in 0..WARMUP + settings.requests {
        let (lao_id, district_code, province_code) =
            laos[rng.below(laos.len() as u64) as usize].clone();
        let producer = rng.below(settings.producers);
        let buyer = rng.below(200_000);
        let fact = |sales: i64| NewFact {
            source: Source::Recorded,
            kind: FactKind::Sale,
            order_id: None,
            recorded_sale_id: Some(recorded_sale),
            lao_id,
            district_code: district_code.clone(),
            province_code: province_code.clone(),
            producer_id: None,
            crop_id: None,
            window_id: None,
            variant_id: None,
            channel: SaleChannel::Facebook,
            sales,
            units: 2,
            revenue_satang: 25_000,
            delivery_fee_satang: 0,
            beneficiary_key: Some(format!("producer:{producer}")),
            beneficiaries_extra: 0,
            buyer_key: Some(format!("bench-buyer-{buyer}")),
            sale_date: day,
            occurred_at: now,
        };
        let facts = [fact(1), fact(0)];
        let started = Instant::now();
        khongdee::db::write_transaction(&mut conn, |c| {
            khongdee::sales::record(c, &facts, now).map(|_| ())
        })
        .expect("record");
        if i >= WARMUP {
            latencies.push(started.elapsed());
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "   writing an order's two facts (sales::record, one transaction each, {} times): \
         p50 {:.2} ms, p95 {:.2} ms",
        latencies.len(),
        ms(pct(0.5)),
        ms(pct(0.95))
    );
}

fn create_admin(conn: &mut DbConn, password: &str, now: NaiveDateTime) {
    use khongdee::auth::users::{self, NewUser};
    let new = NewUser {
        username: ADMIN.into(),
        display_name: "Statistics benchmark".into(),
        password: password.into(),
        role: khongdee::auth::Role::Admin,
        email: None,
        phone: None,
        province_code: None,
        district_code: None,
        lao_code: None,
        producer_id: None,
    };
    let hash = khongdee::auth::password::hash(password).expect("hash");
    khongdee::db::write_transaction(conn, |conn| {
        let area = khongdee::accounts::areas::resolve_area(conn, &new)?;
        users::create(conn, None, &new, &area, &hash, now)
    })
    .map_err(|e| e.describe())
    .expect("create the admin");
}

async fn measure(base: &str, password: &str, queries: &[Query]) -> Vec<String> {
    let client = reqwest::Client::builder().build().expect("client");
    let token: Value = client
        .post(format!("{base}/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", ADMIN),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("token");
    let token = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {token}"))
        .to_string();

    println!(
        "   {:<32} {:>5} {:>8} {:>8} {:>8} {:>11} {:>10}  {:<6} {:>9}",
        "query", "n", "p50 ms", "p95 ms", "max ms", "p95/healthz", "p95/target", "result", "body"
    );
    let mut problems = Vec::new();
    let mut ceiling = None;
    for query in queries {
        let url = format!("{base}{}", query.path);
        let mut latencies = Vec::with_capacity(query.requests);
        let mut last_body = Vec::new();
        let mut bad = 0usize;
        for i in 0..WARMUP + query.requests {
            let sent = Instant::now();
            let res = client.get(&url).bearer_auth(&token).send().await;
            let (status, body) = match res {
                Ok(res) => {
                    let status = res.status().as_u16();
                    (
                        status,
                        res.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                    )
                }
                Err(e) => (0, e.to_string().into_bytes()),
            };
            let took = sent.elapsed();
            if status != 200 {
                bad += 1;
                if bad <= 3 {
                    problems.push(format!(
                        "{}: answer {status}: {}",
                        query.name,
                        String::from_utf8_lossy(&body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    ));
                }
            }
            if i >= WARMUP {
                latencies.push(took);
            }
            last_body = body;
        }
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
        let (p50, p95, max) = (pct(0.50), pct(0.95), *latencies.last().expect("latencies"));
        let ceiling = *ceiling.get_or_insert(p95);
        let verdict = match query.target {
            Some(target) if p95 <= target && bad == 0 => "pass",
            Some(target) => {
                problems.push(format!(
                    "{}: p95 {:.1} ms, target {} ms",
                    query.name,
                    ms(p95),
                    target.as_millis()
                ));
                "FAIL"
            }
            None => "-",
        };
        println!(
            "   {:<32} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>11.1} {:>10} {:<6} {:>8}k",
            query.name,
            latencies.len(),
            ms(p50),
            ms(p95),
            ms(max),
            p95.as_secs_f64() / ceiling.as_secs_f64(),
            query
                .target
                .map(|t| format!("{:.2}", p95.as_secs_f64() / t.as_secs_f64()))
                .unwrap_or_else(|| "-".into()),
            verdict,
            last_body.len() / 1000,
        );
        if let Some((sales, revenue)) = query.total {
            let body: Value = serde_json::from_slice(&last_body).unwrap_or(Value::Null);
            let got = (
                body["total"]["sales"].as_i64(),
                body["total"]["revenue_satang"].as_i64(),
            );
            let rows = body["rows"].as_array().map_or(0, Vec::len);
            let row_sales: i64 = body["rows"]
                .as_array()
                .map_or(0, |r| r.iter().filter_map(|r| r["sales"].as_i64()).sum());
            println!(
                "   {:<32} {rows} rows, total {} sales, {} satang, {} beneficiaries",
                "",
                got.0.unwrap_or_default(),
                got.1.unwrap_or_default(),
                body["total"]["beneficiaries"].as_i64().unwrap_or_default()
            );
            if got != (Some(sales), Some(revenue)) || row_sales != sales {
                problems.push(format!(
                    "{}: total {got:?}, rows add up to {row_sales} sales; the facts say {sales} sales, {revenue} satang",
                    query.name
                ));
            }
        }
    }
    problems
}

//! The `khongdee` command: serve the API, migrate, seed, back up, copy to PostgreSQL, print the
//! OpenAPI document.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use khongdee::auth::users::{self, NewUser};
use khongdee::auth::{Role, password};
use khongdee::clock::{Clock, SystemClock};
use khongdee::config::{Config, SeedMode};
use khongdee::db::{self, Backend, DatabaseUrl, DbManager};
use khongdee::{observability, openapi, seed};

#[derive(Parser)]
#[command(
    name = "khongdee",
    version,
    about = "Pre-order and harvest-calendar marketplace API (ตลาดนัดท้องถิ่นออนไลน์ เครือข่ายของดีบ้านเรา)"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (applies migrations first; seeds demo data into an empty SQLite database).
    Serve,
    /// Apply pending database migrations.
    Migrate {
        /// Revert every migration instead (drops all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Load data into the database.
    Seed {
        /// Load the demo data set (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Import reference data.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Create an account (the first admin, typically). Without --password-stdin a password is
    /// generated and printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin, province_officer, district_officer, lao_staff or producer.
        #[arg(long, default_value = "admin")]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Province code (province officers).
        #[arg(long)]
        province: Option<String>,
        /// District code (district officers).
        #[arg(long)]
        district: Option<String>,
        /// DLA code of the LAO (LAO staff).
        #[arg(long)]
        lao: Option<String>,
        /// Producer id (producer accounts).
        #[arg(long)]
        producer: Option<i64>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add up every window's capacity ledger and compare it with the window's counters; exits
    /// with status 2 when any differ.
    Reconcile {
        /// Only this window.
        #[arg(long)]
        window: Option<i64>,
        /// Set counters that differ to the ledger's values.
        #[arg(long)]
        repair: bool,
    },
    /// Back up the database while the server runs: on SQLite a checked copy of the file (VACUUM
    /// INTO), on PostgreSQL a pg_dump custom-format archive (needs pg_dump on PATH). Prints what
    /// it wrote as JSON. Restore: README "Backups and restore".
    Backup {
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file if it exists (only once the new copy is complete and checked).
        #[arg(long)]
        force: bool,
    },
    /// Copy every row of a SQLite database into a new, empty PostgreSQL database, keeping ids and
    /// setting sequences past them; all or nothing. Prints the rows per table as JSON. See README
    /// "Moving from SQLite to PostgreSQL".
    CopyDb {
        /// The SQLite database to read (default: the configured KHONGDEE_DATABASE_URL). Stop its
        /// server first: rows written after the copy starts are not copied.
        #[arg(long)]
        from: Option<String>,
        /// The PostgreSQL database to fill (postgres://USER@HOST:PORT/DATABASE); it must be empty.
        #[arg(long)]
        to: String,
    },
    /// Print the OpenAPI document.
    Openapi {
        /// Write it to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import LAOs from a CSV file: this project's layout (header `dla_code,type,…`) or the
    /// official DLA open-data layout (Thai headers, one row per LAO and subdistrict).
    /// Idempotent: a second run changes nothing.
    Laos {
        /// The CSV file (UTF-8 or Windows-874).
        file: PathBuf,
    },
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, None | Some(Command::Serve));
    if serving {
        limit_malloc_arenas();
    }
    observability::init_tracing(cli.config.log_format, &cli.config.log_filter, !serving);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::Migrate { revert_all } => migrate(&cli.config, revert_all),
        Command::Seed { demo } => seed_command(cli.config, demo),
        Command::Import {
            what: ImportCommand::Laos { file },
        } => import_laos(cli.config, &file),
        Command::CreateUser {
            username,
            role,
            display_name,
            email,
            phone,
            province,
            district,
            lao,
            producer,
            password_stdin,
        } => create_user(
            cli.config,
            NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password: String::new(),
                role,
                email,
                phone,
                province_code: province,
                district_code: district,
                lao_code: lao,
                producer_id: producer,
            },
            password_stdin,
        ),
        Command::Reconcile { window, repair } => return reconcile(cli.config, window, repair),
        Command::Backup { out, force } => backup(&cli.config, &out, force),
        Command::CopyDb { from, to } => copy_db(&cli.config, from, &to),
        Command::Openapi { output } => print_openapi(output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Gives the memory freed after start-up back to the system. Building the OpenAPI document and
/// the route table takes about 30 MB that is freed at once, but glibc keeps freed memory in its
/// heap: without this, an idle server stayed at ~106 MB resident (bench/RESULTS.md, issue 16).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_startup_memory() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: glibc's malloc_trim only returns free pages of its heaps to the kernel; it has no
    // preconditions and touches no memory in use.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_startup_memory() {}

/// Lets glibc's malloc keep at most two arenas (unless `MALLOC_ARENA_MAX` says otherwise).
/// By default it makes up to eight per core, one for each thread that meets a locked arena, and
/// each keeps the memory it once held: in a flash sale (actix workers plus blocking-pool threads
/// all allocating) that was 20 MB of peak RSS more for no speed (bench/RESULTS.md, issue 16:
/// 101 → 94 MB on SQLite, 121 → 99 MB on PostgreSQL, orders/s unchanged). Called first thing,
/// before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    const M_ARENA_MAX: std::ffi::c_int = -8; // glibc's malloc.h
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt only sets a tuning parameter of glibc's allocator; M_ARENA_MAX is read
    // when a thread next needs an arena, and no other thread runs yet.
    unsafe {
        mallopt(M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn serve(config: Config) -> CliResult {
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let url = DatabaseUrl::parse(&config.database_url)?;
    let seed_mode = config.seed_demo;
    let state = khongdee::prepare(config, clock.clone())?;
    let should_seed = match seed_mode {
        SeedMode::Always => true,
        SeedMode::Never => false,
        SeedMode::Auto => {
            let mut conn = state.pool.get()?;
            state.backend == Backend::Sqlite && seed::database_is_empty(&mut conn)?
        }
    };
    if should_seed {
        let mut conn = state.pool.get()?;
        let report = seed::seed_demo(&mut conn, &state.citizen_id_pepper, clock.now_naive())
            .map_err(|e| e.describe())?;
        tracing::info!(?report, "loaded demo data");
        announce_demo();
    }
    release_startup_memory();
    let background = state
        .config
        .background_tasks
        .then(|| std::time::Duration::from_secs(state.config.task_interval_secs.max(1)));
    let address = listener.local_addr()?;
    tracing::info!(
        "khongdee {} listening on http://{address} (docs: http://{address}/docs), database {}",
        env!("CARGO_PKG_VERSION"),
        url.redacted()
    );
    actix_web::rt::System::new().block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let webhooks = background.map(|_| {
            actix_web::rt::spawn(khongdee::webhooks::dispatcher::run(
                state.clone(),
                stopped.clone(),
            ))
        });
        let tasks = background.map(|interval| {
            actix_web::rt::spawn(khongdee::tasks::run(state.clone(), interval, stopped))
        });
        let server = khongdee::start_server(state, listener, true)?;
        let result = server.await;
        let _ = stop.send(true);
        if let Some(tasks) = tasks {
            let _ = tasks.await;
        }
        if let Some(webhooks) = webhooks {
            let _ = webhooks.await;
        }
        result
    })?;
    tracing::info!("khongdee stopped");
    Ok(())
}

fn migrate(config: &Config, revert_all: bool) -> CliResult {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let mut conn = DbManager::new(url.clone()).establish()?;
    let versions = if revert_all {
        db::revert_all_migrations(&mut conn)?
    } else {
        db::run_migrations(&mut conn)?
    };
    let verb = if revert_all { "reverted" } else { "applied" };
    tracing::info!(database = %url.redacted(), count = versions.len(), ?versions, "{verb} migrations");
    Ok(())
}

fn seed_command(config: Config, demo: bool) -> CliResult {
    if !demo {
        return Err("say what to seed: `khongdee seed --demo`".into());
    }
    let clock = SystemClock;
    let state = khongdee::prepare(config, Arc::new(clock))?;
    let mut conn = state.pool.get()?;
    let report = seed::seed_demo(&mut conn, &state.citizen_id_pepper, clock.now_naive())
        .map_err(|e| e.describe())?;
    tracing::info!(?report, "demo data loaded");
    announce_demo();
    Ok(())
}

fn announce_demo() {
    tracing::info!(
        "demo accounts (password {}): demo-admin, demo-tak, demo-maesot, demo-maesot-staff, demo-maepa-staff, demo-tapon-staff; demo storefront client {} / {}",
        seed::DEMO_PASSWORD,
        seed::DEMO_CLIENT_ID,
        seed::DEMO_CLIENT_SECRET
    );
}

fn import_laos(config: Config, file: &std::path::Path) -> CliResult {
    let clock = SystemClock;
    let state = khongdee::prepare(config, Arc::new(clock))?;
    let mut conn = state.pool.get()?;
    let report = khongdee::laos::import::import_file(&mut conn, file, clock.now_naive())?;
    tracing::info!(
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        rejected = report.rejected.len(),
        "imported LAOs from {}",
        file.display()
    );
    for row in &report.rejected {
        tracing::warn!(line = row.line, reason = %row.reason, "rejected row");
    }
    Ok(())
}

fn create_user(config: Config, mut new: NewUser, password_stdin: bool) -> CliResult {
    use std::io::Write;
    use validator::Validate;
    let generated = !password_stdin;
    new.password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        khongdee::auth::tokens::random_token(15)
    };
    if let Err(errors) = new.validate() {
        return Err(format!("invalid account: {errors}").into());
    }
    users::check_new_password(&new).map_err(|e| e.describe())?;
    let clock = SystemClock;
    let state = khongdee::prepare(config, Arc::new(clock))?;
    let hash = password::hash(&new.password).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get()?;
    let user = db::write_transaction(&mut conn, |conn| {
        let area = khongdee::accounts::areas::resolve_area(conn, &new)?;
        users::create(conn, None, &new, &area, &hash, clock.now_naive())
    })
    .map_err(|e| e.describe())?;
    tracing::info!(id = user.id, username = %user.username, role = %user.role, "created account");
    if generated {
        let mut out = std::io::stdout();
        writeln!(out, "username: {}", user.username)?;
        writeln!(out, "password: {}", new.password)?;
        writeln!(out, "(shown once; change it with POST /v1/me/password)")?;
    }
    Ok(())
}

fn reconcile(config: Config, window: Option<i64>, repair: bool) -> ExitCode {
    let run =
        || -> Result<khongdee::capacity::ledger::ReconcileReport, Box<dyn std::error::Error>> {
            let state = khongdee::prepare(config, Arc::new(SystemClock))?;
            let mut conn = state.pool.get()?;
            let report = db::write_transaction(&mut conn, |conn| {
                khongdee::capacity::ledger::reconcile(conn, window, repair)
            })
            .map_err(|e| e.describe())?;
            Ok(report)
        };
    match run() {
        Ok(report) => {
            use std::io::Write;
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            let _ = writeln!(std::io::stdout(), "{json}");
            tracing::info!(
                windows = report.windows_checked,
                mismatches = report.mismatches.len(),
                "reconciliation finished"
            );
            if report.mismatches.is_empty()
                || (repair && report.mismatches.iter().all(|m| m.repaired))
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn backup(config: &Config, out: &std::path::Path, force: bool) -> CliResult {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let report = khongdee::backup::backup(&url, out, force)?;
    print_json(&report)?;
    tracing::info!(
        database = %url.redacted(),
        file = %report.path.display(),
        bytes = report.bytes,
        "backup written"
    );
    Ok(())
}

fn copy_db(config: &Config, from: Option<String>, to: &str) -> CliResult {
    let from = DatabaseUrl::parse(from.as_deref().unwrap_or(&config.database_url))?;
    let to = DatabaseUrl::parse(to)?;
    tracing::info!(from = %from.redacted(), to = %to.redacted(), "copying every table");
    let report = khongdee::database_copy::copy_database(&from, &to)?;
    print_json(&report)?;
    tracing::info!(
        tables = report.tables.len(),
        rows = report.rows,
        sequences = report.sequences_reset,
        "copy finished; row counts agree on every table"
    );
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> CliResult {
    use std::io::Write;
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(value)?
    )?;
    Ok(())
}

fn print_openapi(output: Option<PathBuf>) -> CliResult {
    let json = openapi::to_pretty_json(&khongdee::api_doc());
    match output {
        Some(path) => std::fs::write(&path, json)?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(json.as_bytes())?;
        }
    }
    Ok(())
}

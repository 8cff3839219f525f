//! Database access: one diesel connection type over SQLite and PostgreSQL, its pool, migrations,
//! and the helpers that run blocking database work off the async workers.

pub mod schema;
pub mod stored;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Connection, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

/// A connection to either database. Queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Inserts `rows` (a `Vec` of value tuples, all of one shape) into `table` with multi-row
/// `INSERT`s of at most [`INSERT_ROWS`] rows each, on either backend; `returning expr` loads
/// `expr` for each row (in no promised order: load a unique column with it to match rows).
/// diesel writes a batch insert for each backend's own connection and not through [`DbConn`],
/// so this picks the connection inside. An empty `rows` sends nothing.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        let mut rows = $rows;
        let mut inserted: diesel::QueryResult<usize> = Ok(0);
        while !rows.is_empty() && inserted.is_ok() {
            let rest = rows.split_off(rows.len().min($crate::db::INSERT_ROWS));
            let chunk = std::mem::replace(&mut rows, rest);
            let done = match &mut *$conn {
                $crate::db::DbConn::Postgres(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)
                }
                $crate::db::DbConn::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)
                }
            };
            inserted = inserted.and_then(|n| done.map(|d| n + d));
        }
        inserted
    }};
    ($conn:expr, $table:expr, $rows:expr, returning $ret:expr) => {{
        use diesel::RunQueryDsl as _;
        let mut rows = $rows;
        let mut loaded: diesel::QueryResult<Vec<_>> = Ok(Vec::new());
        while !rows.is_empty() && loaded.is_ok() {
            let rest = rows.split_off(rows.len().min($crate::db::INSERT_ROWS));
            let chunk = std::mem::replace(&mut rows, rest);
            let done = match &mut *$conn {
                $crate::db::DbConn::Postgres(c) => diesel::insert_into($table)
                    .values(chunk)
                    .returning($ret)
                    .get_results(c),
                $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table)
                    .values(chunk)
                    .returning($ret)
                    .get_results(c),
            };
            loaded = loaded.and_then(|mut all| {
                done.map(|rows| {
                    all.extend(rows);
                    all
                })
            });
        }
        loaded
    }};
}

/// The most rows one multi-row `INSERT` of [`insert_rows!`] carries: with the widest table
/// written this way (orders, 26 columns) well under SQLite's 32,766 and PostgreSQL's 65,535
/// bound parameters per statement.
pub const INSERT_ROWS: usize = 1_000;

/// The connection pool, and on SQLite the queue of this process's writers (see [`run_write`]).
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<DbManager>,
    /// SQLite admits one writer at a time, and writers that find it busy sleep and retry (up to
    /// 100 ms a turn), so under load some wait far longer than others. This process's writers
    /// queue here instead and each is woken as soon as the one before it is done.
    writer: Option<Arc<std::sync::Mutex<()>>>,
    /// As many slots as connections, less two: a request waits here (asynchronously) before it
    /// takes a thread of the blocking pool, so that a burst of requests does not start hundreds
    /// of threads that would only wait for a connection (each costs memory: its stack and, with
    /// glibc, often an allocator arena).
    slots: Arc<tokio::sync::Semaphore>,
}

impl DbPool {
    /// Waits for a slot (see `slots`); held while the work runs.
    async fn slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // The semaphore is never closed; without a permit the work still runs.
        self.slots.clone().acquire_owned().await.ok()
    }
}

impl std::ops::Deref for DbPool {
    type Target = r2d2::Pool<DbManager>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}
pub type PooledConn = r2d2::PooledConnection<DbManager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// A parsed `KHONGDEE_DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unrecognised database URL {0:?}: use sqlite://PATH, a file path ending in .db, or postgres://USER@HOST:PORT/DATABASE"
    )]
    UnrecognisedUrl(String),
    #[error("the SQLite database path is empty")]
    EmptySqlitePath,
    #[error("the directory {0:?} for the SQLite database does not exist (create it first)")]
    MissingDirectory(PathBuf),
    #[error("cannot connect to the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
}

impl DatabaseUrl {
    /// Picks the backend from the URL scheme, refusing anything that is neither, so that a
    /// mistyped PostgreSQL URL never silently becomes an empty SQLite file.
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_string()));
        }
        let path = if let Some(rest) = raw.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = raw.strip_prefix("sqlite:") {
            rest
        } else if [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| raw.ends_with(ext))
            && !raw.contains("://")
        {
            raw
        } else {
            return Err(DbError::UnrecognisedUrl(raw.to_string()));
        };
        if path.is_empty() {
            return Err(DbError::EmptySqlitePath);
        }
        let path = PathBuf::from(path);
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.is_dir()
        {
            return Err(DbError::MissingDirectory(parent.to_path_buf()));
        }
        Ok(DatabaseUrl::Sqlite(path))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password hidden, for logs and the start-up banner.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Counts the statements each pool runs (`khongdee_db_queries_total`), so that tests and
/// operators can see how many queries a request costs.
#[derive(Debug, Default)]
pub struct DbStats {
    queries: AtomicU64,
}

impl DbStats {
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

struct QueryCounter(Arc<DbStats>);

impl Instrumentation for QueryCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        // Counted without looking at the query: showing it walks the statement and formats every
        // bound value, which cost more than the statement itself (a flash sale's profile).
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.queries.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Opens connections for the pool: the backend from the URL, the real connection error on
/// failure, and the SQLite pragmas on every connection.
#[derive(Debug)]
pub struct DbManager {
    url: DatabaseUrl,
    stats: Arc<DbStats>,
}

const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;";

impl DbManager {
    pub fn new(url: DatabaseUrl) -> Self {
        DbManager {
            url,
            stats: Arc::new(DbStats::default()),
        }
    }

    pub fn stats(&self) -> Arc<DbStats> {
        self.stats.clone()
    }

    /// Opens one connection outside the pool (migrations, CLI commands).
    pub fn establish(&self) -> Result<DbConn, DbError> {
        let mut conn = match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy())?;
                c.batch_execute(SQLITE_PRAGMAS)?;
                DbConn::Sqlite(c)
            }
            DatabaseUrl::Postgres(url) => {
                init_openssl();
                DbConn::Postgres(PgConnection::establish(&with_connect_timeout(url))?)
            }
        };
        conn.set_instrumentation(QueryCounter(self.stats.clone()));
        Ok(conn)
    }
}

/// Initialises OpenSSL, once per process, the way rust-openssl does: with
/// `OPENSSL_INIT_NO_ATEXIT`, so that no `OPENSSL_cleanup` runs at process exit while other
/// threads (pooled connections, webhook clients) may still be using it, which crashes the
/// process (openssl/openssl#6214). OpenSSL decides this on its first initialisation, and libpq,
/// which shares the vendored OpenSSL, would otherwise initialise it first, with the handler.
/// Call it before the first PostgreSQL connection; later calls do nothing.
pub fn init_openssl() {
    openssl_sys::init();
}

/// libpq waits forever for an unreachable host unless told otherwise.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout=5")
}

impl ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        let checked = conn.batch_execute("SELECT 1").map_err(DbError::from);
        // The pool's liveness check is not work a request asked for: not counted.
        self.stats.queries.fetch_sub(1, Ordering::Relaxed);
        checked
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

#[derive(Debug)]
struct PoolErrorLogger;

impl r2d2::HandleError<DbError> for PoolErrorLogger {
    fn handle_error(&self, error: DbError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

/// Builds the pool. One connection is opened first so that a wrong URL or an unreachable
/// server is reported at start with the database's own message.
pub fn build_pool(
    url: &DatabaseUrl,
    max_size: u32,
    timeout: Duration,
) -> Result<(DbPool, Arc<DbStats>), DbError> {
    let manager = DbManager::new(url.clone());
    drop(manager.establish()?);
    let stats = manager.stats();
    let pool = r2d2::Pool::builder()
        .max_size(max_size.max(1))
        .min_idle(Some(1))
        .connection_timeout(timeout)
        // PostgreSQL connections can break (a restart): each is checked as it is taken, so the
        // service recovers by itself. A SQLite connection is a file this process opened.
        .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
        .error_handler(Box::new(PoolErrorLogger))
        .build_unchecked(manager);
    let writer = matches!(url, DatabaseUrl::Sqlite(_)).then(|| Arc::new(std::sync::Mutex::new(())));
    // Two connections stay out of the slots' reach, for the placement batches, which take
    // theirs on their own thread (`write_here`) and must not queue behind the requests.
    let slots = Arc::new(tokio::sync::Semaphore::new(
        max_size.saturating_sub(2).max(1) as usize,
    ));
    Ok((
        DbPool {
            pool,
            writer,
            slots,
        },
        stats,
    ))
}

/// Applies pending migrations of the connection's backend; returns the versions applied.
/// On PostgreSQL an advisory lock keeps several starting processes from racing.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    const LOCK: &str = "SELECT pg_advisory_lock(72460301)";
    const UNLOCK: &str = "SELECT pg_advisory_unlock(72460301)";
    let result = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
        DbConn::Postgres(c) => {
            c.batch_execute(LOCK)?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect());
            c.batch_execute(UNLOCK)?;
            applied
        }
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// Reverts every migration (used by the migration test and `khongdee migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let result = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
    };
    result
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// Whether migrations embedded in this binary are still to be applied.
pub fn has_pending_migrations(conn: &mut DbConn) -> Result<bool, DbError> {
    let result = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// Runs a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock
/// up front, so that concurrent writers wait on the busy timeout instead of failing when a read
/// inside the transaction would later need to become a write. Nested calls use savepoints.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let in_transaction =
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()
            .map_err(E::from)?
            .is_some();
    match conn {
        DbConn::Sqlite(c) if !in_transaction => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE").map_err(E::from)?;
            match f(conn) {
                Ok(value) => {
                    if let Err(commit_error) =
                        <DbConn as Connection>::TransactionManager::commit_transaction(conn)
                    {
                        let _ =
                            <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                        return Err(E::from(commit_error));
                    }
                    Ok(value)
                }
                Err(error) => {
                    let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                    Err(error)
                }
            }
        }
        _ => conn.transaction(f),
    }
}

/// Runs `f` with a pooled connection on actix's blocking thread pool, inside the caller's
/// tracing span. A pool that cannot hand out a connection in time gives 503.
pub async fn run<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    let _slot = pool.slot().await;
    actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = pool.get().map_err(ApiError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Like [`run`], for work that writes: on SQLite it first waits its turn among this process's
/// writers (see [`DbPool`]), before taking a connection from the pool.
pub async fn run_write<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    let _slot = pool.slot().await;
    actix_web::web::block(move || {
        let _entered = span.enter();
        write_here(&pool, f)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Runs `f` on this thread as one of this process's writers (on SQLite, after its turn in the
/// writers' queue) with a pooled connection. For work already on a blocking thread.
pub fn write_here<T>(
    pool: &DbPool,
    f: impl FnOnce(&mut DbConn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    // A writer that panicked left nothing behind in the mutex itself: carry on.
    let _turn = pool
        .writer
        .as_ref()
        .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let mut conn = pool.get().map_err(ApiError::from)?;
    f(&mut conn)
}

/// Like [`run_write`], with `f` inside a write transaction.
pub async fn run_tx<F, T>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    run_write(pool, move |conn| write_transaction(conn, f)).await
}

/// Escapes a string for an SQL literal (used only for shipped data files loaded in bulk).
pub fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://khongdee.db").unwrap(),
            DatabaseUrl::Sqlite("khongdee.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("test.db").unwrap(),
            DatabaseUrl::Sqlite("test.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgress://u@h/db"),
            Err(DbError::UnrecognisedUrl(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("khongdee"),
            Err(DbError::UnrecognisedUrl(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite:///no/such/dir/x.db"),
            Err(DbError::MissingDirectory(_))
        ));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u:secret@h:5432/db")
                .unwrap()
                .redacted(),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().redacted(),
            "postgres://u@h/db"
        );
    }

    #[test]
    fn adds_connect_timeout() {
        assert_eq!(
            with_connect_timeout("postgres://h/db"),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=5"
        );
    }
}

/// Small named values the service keeps in `app_settings`.
pub mod settings {
    use chrono::NaiveDateTime;
    use diesel::prelude::*;

    use super::DbConn;
    use super::schema::app_settings;

    pub fn get(conn: &mut DbConn, name: &str) -> QueryResult<Option<String>> {
        app_settings::table
            .find(name)
            .select(app_settings::value)
            .first(conn)
            .optional()
    }

    /// Sets a value, inserting or replacing it.
    pub fn set(conn: &mut DbConn, name: &str, value: &str, now: NaiveDateTime) -> QueryResult<()> {
        let updated = diesel::update(app_settings::table.find(name))
            .set((
                app_settings::value.eq(value),
                app_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(app_settings::table)
                .values((
                    app_settings::name.eq(name),
                    app_settings::value.eq(value),
                    app_settings::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    }
}

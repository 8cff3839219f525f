//! khongdee: the pre-order and harvest-calendar marketplace API of the programme
//! "ตลาดนัดท้องถิ่นออนไลน์ เครือข่ายของดีบ้านเรา".
//!
//! This crate is both the `khongdee` binary and the library its tests start the app from.

pub mod accounts;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod capacity;
pub mod catalog;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod database_copy;
pub mod db;
pub mod embed;
pub mod error;
pub mod extract;
pub mod geo;
pub mod i18n;
pub mod idempotency;
pub mod laos;
pub mod logistics;
pub mod media;
pub mod observability;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod outbox;
pub mod pagination;
pub mod preorder;
pub mod privacy;
pub mod promptpay;
pub mod sales;
pub mod seed;
pub mod spreadsheet;
pub mod stats;
pub mod tasks;
pub mod thai_ids;
pub mod validate;
pub mod webhooks;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{Backend, DatabaseUrl, DbConn, DbError, DbPool, DbStats};
use crate::error::ApiError;
use crate::observability::Metrics;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub db_stats: Arc<DbStats>,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub metrics: Arc<Metrics>,
    pub openapi_json: Arc<String>,
    pub docs_html: Arc<String>,
    /// Paths and methods, to answer 405 rather than 404 for a wrong method.
    pub routes: Arc<observability::RouteTable>,
    pub tokens: Arc<auth::tokens::TokenService>,
    pub rate_limits: Arc<auth::ratelimit::RateLimits>,
    /// Key of citizen-id hashes (see `thai_ids::CitizenId::beneficiary_hash`).
    pub citizen_id_pepper: Arc<Vec<u8>>,
    /// Where product photos are kept (a directory or S3-compatible storage).
    pub media: Arc<media::storage::PhotoStore>,
    /// Each carrier's secret for signed tracking events (`KHONGDEE_CARRIER_EVENT_SECRETS`),
    /// read once at start-up.
    pub carrier_secrets: Arc<std::collections::HashMap<logistics::model::Carrier, String>>,
    /// Gathers concurrent placements on one window into one transaction.
    pub gatherer: Arc<capacity::gather::Gatherer>,
    /// Windows' availability kept in memory (see `preorder::cache`).
    pub windows: Arc<preorder::cache::WindowCache>,
}

impl AppState {
    /// Runs `f` on a pooled connection off the async workers (see [`db::run`]).
    pub async fn db<F, T>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        db::run(&self.pool, f).await
    }

    /// Runs `f`, which writes but manages its own transactions (see [`db::run_write`]).
    pub async fn db_write<F, T>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (result, changes) = db::run_write(&self.pool, move |conn| {
            Ok(capacity::changes::collect(|| f(conn)))
        })
        .await?;
        self.refresh_windows(&changes, result.is_ok());
        result
    }

    /// Runs `f` inside a write transaction (see [`db::write_transaction`]).
    pub async fn db_tx<F, T>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (result, changes) = db::run_write(&self.pool, move |conn| {
            Ok(capacity::changes::collect(|| {
                db::write_transaction(conn, f)
            }))
        })
        .await?;
        self.refresh_windows(&changes, result.is_ok());
        result
    }

    /// What is kept in memory about windows a piece of work changed: refreshed after it
    /// committed; after a failure, only dropped (its counters were not kept).
    fn refresh_windows(&self, changes: &[capacity::changes::Change], committed: bool) {
        if committed {
            self.windows.apply(changes, self.clock.now_naive());
        } else {
            let dropped: Vec<_> = changes
                .iter()
                .map(|c| capacity::changes::Change::Window(c.window_id()))
                .collect();
            self.windows.apply(&dropped, self.clock.now_naive());
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("{0}")]
    Data(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Opens the database, applies migrations and loads the shipped data sets: everything `serve`
/// and the tests do before the first request.
pub fn prepare(config: Config, clock: SharedClock) -> Result<AppState, StartupError> {
    let url = DatabaseUrl::parse(&config.database_url)?;
    let (pool, db_stats) = db::build_pool(&url, config.db_pool_size, config.db_timeout())?;
    {
        let mut conn = pool.get().map_err(DbError::from)?;
        let applied = db::run_migrations(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), "applied database migrations");
        }
        geo::data::load_shipped(&mut conn, clock.now_naive())
            .map_err(|e| StartupError::Data(e.to_string()))?;
        catalog::crops::load_shipped(&mut conn, clock.now_naive())
            .map_err(|e| StartupError::Data(format!("loading crops failed: {e}")))?;
    }
    let carrier_secrets = logistics::events::parse_secrets(config.carrier_event_secrets.as_deref())
        .map_err(|e| StartupError::Data(format!("KHONGDEE_CARRIER_EVENT_SECRETS: {e}")))?;
    orders::install();
    logistics::install();
    let media = media::storage::PhotoStore::from_config(&config)
        .map_err(|e| StartupError::Data(format!("KHONGDEE_MEDIA_STORE: {e}")))?;
    media::install();
    if let Some(hashes) = config.password_hash_concurrency {
        auth::password::set_concurrency(hashes);
    }
    let secret = config.resolve_jwt_secret()?;
    let citizen_id_pepper = config.resolve_citizen_id_pepper()?;
    let tokens = auth::tokens::TokenService::new(
        &secret,
        &config.jwt_issuer,
        config.access_token_ttl_secs,
        config.refresh_token_ttl_secs,
    );
    let api = api_doc();
    let windows = Arc::new(preorder::cache::WindowCache::new(
        config.availability_ttl_ms,
    ));
    let after_commit: capacity::gather::AfterCommit = {
        let (windows, clock) = (windows.clone(), clock.clone());
        Arc::new(move |changes| windows.apply(changes, clock.now_naive()))
    };
    let gatherer = capacity::gather::Gatherer::new(pool.clone(), clock.clone(), after_commit);
    Ok(AppState {
        gatherer,
        windows,
        tokens: Arc::new(tokens),
        rate_limits: Arc::new(auth::ratelimit::RateLimits::new(&config)),
        citizen_id_pepper: Arc::new(citizen_id_pepper),
        media: Arc::new(media),
        carrier_secrets: Arc::new(carrier_secrets),
        pool,
        db_stats,
        backend: url.backend(),
        config: Arc::new(config),
        clock,
        metrics: Arc::new(Metrics::new()),
        openapi_json: Arc::new(openapi::to_pretty_json(&api)),
        docs_html: Arc::new(ops::docs_html(&api)),
        routes: Arc::new(observability::RouteTable::from_api(&api)),
    })
}

/// Every route of the API, for the app and for the OpenAPI document alike.
pub fn routes(cfg: &mut ServiceConfig) {
    register_routes(cfg, None);
}

/// A room's route registration (`geo::routes`, …).
type RoomRoutes = fn(&mut ServiceConfig);

/// The routes; with `names`, each room's routes are followed by a recorder of the schema names
/// they bring (it serves nothing), so that two types sharing one name are found.
fn register_routes(cfg: &mut ServiceConfig, names: Option<&openapi::SchemaNames>) {
    let top = names.map(openapi::SchemaNames::list);
    ops::routes(cfg);
    embed::handlers::pages(cfg);
    if let Some(list) = &top {
        cfg.service(list.after("ops"));
    }
    cfg.service(utoipa_actix_web::scope("/v1").configure(|cfg| {
        // One `ServiceConfig` for all rooms: a scope's own `configure` would merge each room's
        // schemas into a map, where a clash between rooms no longer shows.
        let list = names.map(openapi::SchemaNames::list);
        // actix tries a scope's routes in the order they were registered, running each dynamic
        // route's regex until one matches: the routes a flash sale hammers (availability,
        // window lists, placing orders) come first, so they are found after a few tries
        // instead of ~60 (the regexes were ~15% of the server's CPU in bench/flash_sale.sh's
        // availability reads). No route of another room matches their paths.
        let rooms: [(&'static str, RoomRoutes); 14] = [
            ("preorder", preorder::routes),
            ("orders", orders::routes),
            ("auth", auth::routes),
            ("accounts", accounts::routes),
            ("geo", geo::routes),
            ("laos", laos::routes),
            ("catalog", catalog::routes),
            ("calendar", calendar::routes),
            ("stats", stats::routes),
            ("webhooks", webhooks::handlers::routes),
            ("logistics", logistics::handlers::routes),
            ("media", media::handlers::routes),
            ("embed", embed::handlers::routes),
            ("privacy", privacy::routes),
        ];
        for (room, room_routes) in rooms {
            room_routes(cfg);
            if let Some(list) = &list {
                cfg.service(list.after(room));
            }
        }
    }));
}

/// The OpenAPI document, built from the same routes the server serves.
///
/// Defects of the document that the code causes (two types sharing a schema name, a format
/// name without its rule, a link from an operation that is gone; see [`ApiDocDefects`]) are
/// logged as errors and fail debug builds; the tests in `tests/api/openapi.rs` name them. A
/// release build still serves: the API itself does not depend on its description.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let (api, defects) = api_doc_with_defects();
    let problems = defects.describe();
    for problem in &problems {
        tracing::error!(%problem, "the OpenAPI document is wrong");
    }
    debug_assert!(
        problems.is_empty(),
        "the OpenAPI document is wrong: {}",
        problems.join(" | ")
    );
    api
}

/// What is wrong with the OpenAPI document the code produces; empty when all is well.
#[derive(Debug, Default)]
pub struct ApiDocDefects {
    /// Schema names that two different types claim: one of them would silently replace the
    /// other, and the other's operations would point at the wrong schema.
    pub schema_name_clashes: Vec<openapi::SchemaNameClash>,
    /// `format` names on fields that `openapi::FORMATS` does not know.
    pub unknown_formats: Vec<String>,
    /// Links of `openapi::add_links` whose source operation or answer is missing.
    pub links_without_source: Vec<String>,
}

impl ApiDocDefects {
    /// One line per defect.
    pub fn describe(&self) -> Vec<String> {
        let clashes = self.schema_name_clashes.iter().map(ToString::to_string);
        let formats = self
            .unknown_formats
            .iter()
            .map(|f| format!("format `{f}` is not in openapi::FORMATS"));
        let links = self
            .links_without_source
            .iter()
            .map(|l| format!("link {l} starts from no operation"));
        clashes.chain(formats).chain(links).collect()
    }
}

/// The OpenAPI document and its defects (see [`api_doc`]).
pub fn api_doc_with_defects() -> (utoipa::openapi::OpenApi, ApiDocDefects) {
    let base = openapi::ApiDoc::openapi();
    let names = openapi::SchemaNames::new(&base);
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(base)
        .configure(|cfg| register_routes(cfg, Some(&names)))
        .split_for_parts();
    openapi::complete_responses(&mut api);
    openapi::describe_shared_parameters(&mut api);
    let unknown_formats = openapi::describe_formats(&mut api);
    let links_without_source = openapi::add_links(&mut api);
    webhooks::contract::document(&mut api);
    let defects = ApiDocDefects {
        schema_name_clashes: names.clashes(),
        unknown_formats,
        links_without_source,
    };
    (api, defects)
}

/// The actix application with its middleware stack and error handlers.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    let (app, _) = App::new()
        .into_utoipa_app()
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(extract::json_error_handler),
        )
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(extract::form_error_handler),
        )
        .app_data(web::QueryConfig::default().error_handler(extract::query_error_handler))
        .app_data(web::PathConfig::default().error_handler(extract::path_error_handler))
        .app_data(web::PayloadConfig::new(limit))
        .configure(routes)
        .default_service(web::to(observability::route_not_found))
        .split_for_parts();
    app.wrap(from_fn(extract::refuse_nul_in_path))
        .wrap(from_fn(observability::problem_middleware))
        .wrap(from_fn(embed::handlers::cors_middleware))
        .wrap(from_fn(auth::ratelimit::rate_limit_middleware))
        .wrap(from_fn(observability::metrics_middleware))
        .wrap(TracingLogger::<observability::RequestSpan>::new())
        .wrap(from_fn(observability::request_id_middleware))
        .wrap(from_fn(observability::head_as_get))
}

/// Starts the HTTP server on `listener`. With `handle_signals`, SIGINT and SIGTERM stop it
/// gracefully (in-flight requests finish, up to 30 seconds).
pub fn start_server(
    state: AppState,
    listener: TcpListener,
    handle_signals: bool,
) -> std::io::Result<Server> {
    let workers = state.config.workers;
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .listen(listener)?
        .shutdown_timeout(30);
    if let Some(workers) = workers {
        server = server.workers(workers.max(1));
    }
    if !handle_signals {
        server = server.disable_signals();
    }
    Ok(server.run())
}

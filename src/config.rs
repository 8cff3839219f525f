//! Runtime configuration, read from `KHONGDEE_*` environment variables (or the matching flags).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use rand::RngCore;

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, human-readable otherwise.
    Auto,
    Json,
    Pretty,
}

/// Whether `serve` loads the demo data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeedMode {
    /// Seed an embedded (SQLite) database that holds no data yet.
    Auto,
    /// Seed on every start (the seed is idempotent).
    Always,
    Never,
}

/// Everything the service needs to start. Every field has an environment variable.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Database: `sqlite://PATH`, a path ending in `.db`, or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "KHONGDEE_DATABASE_URL",
        default_value = "sqlite://khongdee.db",
        global = true
    )]
    pub database_url: String,

    /// Address and port the HTTP server listens on.
    #[arg(
        long,
        env = "KHONGDEE_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Directory for files the service keeps (the generated JWT secret).
    #[arg(
        long,
        env = "KHONGDEE_DATA_DIR",
        default_value = ".khongdee",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Secret for signing access tokens (at least 32 bytes). Generated once into the data
    /// directory when not given; give the same value to every process behind a load balancer.
    #[arg(
        long,
        env = "KHONGDEE_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,

    /// Secret key for hashing citizen ids (to count distinct beneficiaries without storing the
    /// ids). Generated once into the data directory when not given; every process must use the
    /// same value, and changing it makes old and new hashes incomparable.
    #[arg(
        long,
        env = "KHONGDEE_CITIZEN_ID_PEPPER",
        hide_env_values = true,
        global = true
    )]
    pub citizen_id_pepper: Option<String>,

    /// `iss` and `aud` of issued access tokens.
    #[arg(
        long,
        env = "KHONGDEE_JWT_ISSUER",
        default_value = "khongdee",
        global = true
    )]
    pub jwt_issuer: String,

    /// Lifetime of access tokens, in seconds.
    #[arg(
        long,
        env = "KHONGDEE_ACCESS_TOKEN_TTL",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl_secs: u64,

    /// Lifetime of refresh tokens (and of a login session), in seconds.
    #[arg(long, env = "KHONGDEE_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600, global = true)]
    pub refresh_token_ttl_secs: u64,

    /// Log format.
    #[arg(
        long,
        env = "KHONGDEE_LOG_FORMAT",
        value_enum,
        default_value = "auto",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info,khongdee=debug`.
    #[arg(long, env = "KHONGDEE_LOG", default_value = "info", global = true)]
    pub log_filter: String,

    /// Maximum number of pooled database connections.
    #[arg(
        long,
        env = "KHONGDEE_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub db_pool_size: u32,

    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "KHONGDEE_DB_TIMEOUT", default_value_t = 5, global = true)]
    pub db_timeout_secs: u64,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "KHONGDEE_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "KHONGDEE_MAX_BODY_BYTES", default_value_t = 256 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Load demo data on `serve`.
    #[arg(
        long,
        env = "KHONGDEE_SEED_DEMO",
        value_enum,
        default_value = "auto",
        global = true
    )]
    pub seed_demo: SeedMode,

    /// Run background work (hold and order expiry, waiting-list offers) in this process.
    #[arg(long, env = "KHONGDEE_BACKGROUND_TASKS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub background_tasks: bool,

    /// Seconds between runs of the background work.
    #[arg(
        long,
        env = "KHONGDEE_TASK_INTERVAL",
        default_value_t = 15,
        global = true
    )]
    pub task_interval_secs: u64,

    /// Days after an order is closed (delivered, picked up, cancelled, expired, refunded) before
    /// its buyer's personal data is erased; the same for ended holds and waiting-list entries
    /// (src/privacy, README "Personal data (PDPA)"). 1–3650.
    #[arg(
        long,
        env = "KHONGDEE_PERSONAL_DATA_RETENTION_DAYS",
        default_value_t = 180,
        value_parser = clap::value_parser!(u32).range(1..=3650),
        global = true
    )]
    pub personal_data_retention_days: u32,

    /// Requests a minute per client or IP address on `POST /v1/auth/token`.
    #[arg(
        long,
        env = "KHONGDEE_RATE_LIMIT_TOKEN",
        default_value_t = 20,
        global = true
    )]
    pub rate_limit_token_per_minute: u32,

    /// Requests a minute per IP address on public (anonymous) endpoints.
    #[arg(
        long,
        env = "KHONGDEE_RATE_LIMIT_ANONYMOUS",
        default_value_t = 600,
        global = true
    )]
    pub rate_limit_anonymous_per_minute: u32,

    /// Requests a minute per authenticated caller (user or partner client).
    #[arg(
        long,
        env = "KHONGDEE_RATE_LIMIT_AUTHENTICATED",
        default_value_t = 3000,
        global = true
    )]
    pub rate_limit_authenticated_per_minute: u32,

    /// Requests a minute per publishable key and IP address on the embedded form's routes
    /// (`/v1/embed/{key}/…`). Many buyers of one village may share a mobile carrier's address.
    #[arg(
        long,
        env = "KHONGDEE_RATE_LIMIT_EMBED",
        default_value_t = 120,
        global = true
    )]
    pub rate_limit_embed_per_minute: u32,

    /// Proxies whose forwarding header is believed: a comma-separated list of IP addresses and
    /// CIDR blocks (`10.0.0.0/8, 192.0.2.7, fd00::/8`). Default: none, so the client is always
    /// the TCP peer. Behind a load balancer, list the balancer's addresses; then the client is
    /// the right-most address in the header that is not one of them (see `client_addr`).
    #[arg(
        long,
        env = "KHONGDEE_TRUSTED_PROXIES",
        default_value = "",
        value_parser = crate::client_addr::TrustedProxies::parse,
        global = true
    )]
    pub trusted_proxies: crate::client_addr::TrustedProxies,

    /// The header trusted proxies write the client's address into: `x-forwarded-for` (HAProxy's
    /// `option forwardfor`, nginx, most cloud balancers) or `forwarded` (RFC 7239). Only this
    /// one is read: a balancer passes the other through as the client sent it.
    #[arg(
        long,
        env = "KHONGDEE_FORWARDED_HEADER",
        value_enum,
        default_value = "x-forwarded-for",
        global = true
    )]
    pub forwarded_header: crate::client_addr::ForwardedHeader,

    /// How long (milliseconds) a window's availability read from the database is served from
    /// memory. Changes made by this process refresh it at once; this bounds how late a change
    /// made by another process (or a hold lapsing) shows. 0 turns the cache off.
    #[arg(
        long,
        env = "KHONGDEE_AVAILABILITY_TTL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub availability_ttl_ms: u64,

    /// The address buyers and LAO websites reach this API at (`https://api.example.org`), for
    /// the links in the embed loader and pages. Unset: taken from each request's scheme and
    /// `Host`, which is right unless a proxy in front rewrites them.
    #[arg(long, env = "KHONGDEE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Let webhooks reach loopback addresses (127.0.0.0/8, ::1, `localhost`), over http too:
    /// for tests and development only. Private and reserved addresses stay refused.
    #[arg(
        long,
        env = "KHONGDEE_WEBHOOKS_ALLOW_LOOPBACK",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub webhooks_allow_loopback: bool,

    /// Seconds a webhook receiver has to answer.
    #[arg(
        long,
        env = "KHONGDEE_WEBHOOK_TIMEOUT",
        default_value_t = 15,
        global = true
    )]
    pub webhook_timeout_secs: u64,

    /// Secrets with which carriers sign their tracking events, as
    /// `thailand_post=whsec_…,flash=whsec_…` (Standard Webhooks secrets: `whsec_` and base64 of
    /// at least 24 random bytes). A carrier without one cannot post events.
    #[arg(
        long,
        env = "KHONGDEE_CARRIER_EVENT_SECRETS",
        global = true,
        hide_env_values = true
    )]
    pub carrier_event_secrets: Option<String>,

    /// Where product photos are stored: a directory (`file:///srv/khongdee/media`; default:
    /// `media` under the data directory), or S3-compatible object storage
    /// (`s3://bucket` or `s3://bucket/prefix`, with the `KHONGDEE_S3_*` settings) when several
    /// processes serve.
    #[arg(long, env = "KHONGDEE_MEDIA_STORE", global = true)]
    pub media_store: Option<String>,

    /// The S3 endpoint (`https://s3.ap-southeast-1.amazonaws.com`, a MinIO or other
    /// S3-compatible server); none: AWS itself.
    #[arg(long, env = "KHONGDEE_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,

    /// The S3 region.
    #[arg(
        long,
        env = "KHONGDEE_S3_REGION",
        default_value = "ap-southeast-1",
        global = true
    )]
    pub s3_region: String,

    /// The S3 access key id (none: the `AWS_*` environment or the instance's role).
    #[arg(
        long,
        env = "KHONGDEE_S3_ACCESS_KEY_ID",
        global = true,
        hide_env_values = true
    )]
    pub s3_access_key_id: Option<String>,

    /// The S3 secret access key.
    #[arg(
        long,
        env = "KHONGDEE_S3_SECRET_ACCESS_KEY",
        global = true,
        hide_env_values = true
    )]
    pub s3_secret_access_key: Option<String>,

    /// Largest photo upload in bytes (413 above).
    #[arg(long, env = "KHONGDEE_MAX_PHOTO_BYTES", default_value_t = 15 * 1024 * 1024, global = true)]
    pub max_photo_bytes: usize,

    /// Milliseconds between the webhook dispatcher's looks at the outbox.
    #[arg(
        long,
        env = "KHONGDEE_WEBHOOK_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub webhook_poll_ms: u64,

    /// Password hashes that may run at once; each holds a 19 MiB buffer, kept for reuse, and
    /// further logins queue for a free one (default: one per CPU core, at least 2).
    #[arg(long, env = "KHONGDEE_PASSWORD_HASH_CONCURRENCY", global = true)]
    pub password_hash_concurrency: Option<usize>,

    /// Put the order code into payment QRs as the EMVCo reference label (tag 62/05), which the
    /// Thai QR standard allows in a PromptPay transfer. Turn it off if a bank app refuses such
    /// QRs (docs/promptpay.md).
    #[arg(
        long,
        env = "KHONGDEE_PROMPTPAY_ORDER_REFERENCE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub promptpay_order_reference: bool,
}

impl Config {
    /// A configuration with every default and the given database, for tests and tools.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            bind: "127.0.0.1:0".into(),
            data_dir: PathBuf::from(".khongdee"),
            jwt_secret: None,
            citizen_id_pepper: None,
            jwt_issuer: "khongdee".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            log_format: LogFormat::Auto,
            log_filter: "info".into(),
            db_pool_size: 16,
            db_timeout_secs: 5,
            workers: None,
            max_body_bytes: 256 * 1024,
            seed_demo: SeedMode::Never,
            background_tasks: false,
            task_interval_secs: 15,
            personal_data_retention_days: 180,
            rate_limit_token_per_minute: 20,
            rate_limit_anonymous_per_minute: 600,
            rate_limit_authenticated_per_minute: 3000,
            rate_limit_embed_per_minute: 120,
            availability_ttl_ms: 1000,
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            forwarded_header: crate::client_addr::ForwardedHeader::XForwardedFor,
            public_url: None,
            password_hash_concurrency: None,
            webhooks_allow_loopback: false,
            webhook_timeout_secs: 15,
            webhook_poll_ms: 1000,
            carrier_event_secrets: None,
            media_store: None,
            s3_endpoint: None,
            s3_region: "ap-southeast-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            max_photo_bytes: 15 * 1024 * 1024,
            promptpay_order_reference: true,
        }
    }

    pub fn db_timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs.max(1))
    }

    /// The JWT signing secret: the configured one, or the one kept in the data directory
    /// (created on first use with 64 random bytes, readable only by the owner).
    pub fn resolve_jwt_secret(&self) -> std::io::Result<Vec<u8>> {
        self.resolve_secret(
            self.jwt_secret.as_deref(),
            "jwt-secret",
            "KHONGDEE_JWT_SECRET",
        )
    }

    /// The key for citizen-id hashes, configured or kept in the data directory.
    pub fn resolve_citizen_id_pepper(&self) -> std::io::Result<Vec<u8>> {
        self.resolve_secret(
            self.citizen_id_pepper.as_deref(),
            "citizen-id-pepper",
            "KHONGDEE_CITIZEN_ID_PEPPER",
        )
    }

    fn resolve_secret(
        &self,
        given: Option<&str>,
        file_name: &str,
        variable: &str,
    ) -> std::io::Result<Vec<u8>> {
        if let Some(secret) = given.filter(|s| !s.is_empty()) {
            if secret.len() < 32 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{variable} must be at least 32 bytes long"),
                ));
            }
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join(file_name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let trimmed = existing.trim();
            if trimmed.len() >= 32 {
                return Ok(trimmed.as_bytes().to_vec());
            }
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let mut bytes = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        write_private_file(&path, encoded.as_bytes())?;
        tracing::info!(path = %path.display(), "generated a new secret ({variable} was not set)");
        Ok(encoded.into_bytes())
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

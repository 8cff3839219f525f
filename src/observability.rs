//! Logs, request ids, metrics, and the middleware that turns every error into a localized problem.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;

use crate::AppState;
use crate::config::LogFormat;
use crate::error::{ApiError, ErrorKind, Param};
use crate::i18n::Lang;

/// Installs the global tracing subscriber: JSON lines when stdout is not a terminal (or when
/// asked), human-readable otherwise. `RUST_LOG` overrides the configured filter.
/// Logs go to standard output for the server, and to standard error for commands whose own
/// output is on standard output.
pub fn init_tracing(format: LogFormat, filter: &str, to_stderr: bool) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    };
    let writer = if to_stderr {
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr)
    } else {
        tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stdout)
    };
    // A second initialisation (tests, repeated CLI calls in one process) is harmless.
    if json {
        let _ = json_subscriber(filter, writer).try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(terminal)
            .try_init();
    }
}

/// The JSON log lines the server writes (one object per event, with the request's span
/// fields), to any writer: the server's standard output, or a test's buffer (the log scan in
/// `tests/api/privacy.rs`).
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .finish()
}

/// Query parameters whose values are never logged: a name containing one of these (report
/// tokens ride in `?token=` for spreadsheets' `IMPORTDATA`; phones, names and secrets have no
/// business in a URL, but a caller may put them there).
const SECRET_PARAMS: &[&str] = &[
    "token", "secret", "password", "key", "phone", "name", "email", "line", "note", "address",
];

/// The request target as logged: the path, and the query with the values of [`SECRET_PARAMS`]
/// replaced by `[redacted]` (names and other values stay, for debugging).
pub fn loggable_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let lowered = percent_decoded_lowercase(name);
            if !value.is_empty() && SECRET_PARAMS.iter().any(|s| lowered.contains(s)) {
                format!("{name}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// A query parameter's name, percent-decoded (so `%74oken` is still `token`) and lowercased.
fn percent_decoded_lowercase(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_lowercase()
}

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served: the caller's `X-Request-Id` when it is sensible, a new
/// UUID otherwise. It is echoed in the response header, in problem documents and in every log line.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

/// Serves `HEAD` wherever `GET` is served (RFC 9110 §9.3.2): the request is routed as `GET`, and
/// actix-http, which decided from the request line that this is a HEAD exchange, sends the
/// headers without the body.
pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// Outermost middleware: assigns the request id, converts errors into responses (so that the
/// id header is always set), and echoes the id.
pub async fn request_id_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    // Handler errors arrive as responses; only a failing middleware yields Err, which actix renders.
    let mut res = next.call(req).await?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

/// The tracing root span of a request, carrying our request id.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        tracing::info_span!(
            "http_request",
            request_id = %request_id,
            principal = tracing::field::Empty,
            http.method = %request.method(),
            http.route = %route,
            http.target = %loggable_target(request.path(), request.query_string()),
            http.client_ip = %crate::client_addr::of(request.request()).map(|ip| ip.to_string()).unwrap_or_default(),
            http.user_agent = %request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Makes every error response a problem document in the caller's language: our own errors are
/// re-rendered with the request's language, path and id; anything else (actix's own 4xx, a
/// stray 5xx) is replaced by the problem for its status.
pub async fn problem_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res);
    }
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .map(|e| render_for(e, res.request()));
    if let Some(rendered) = api_error {
        return Ok(res.into_response(rendered));
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if is_problem {
        return Ok(res);
    }
    if let Some(err) = res.response().error() {
        tracing::warn!(status = status.as_u16(), error = %err, "request failed");
    }
    let method = res.request().method().to_string();
    let fallback = match status.as_u16() {
        404 => ApiError::new(ErrorKind::RouteNotFound)
            .with("method", method)
            .with("path", res.request().path()),
        405 => ApiError::new(ErrorKind::MethodNotAllowed).with("method", method),
        413 => ApiError::new(ErrorKind::PayloadTooLarge).with(
            "limit",
            res.request()
                .app_data::<web::Data<AppState>>()
                .map(|s| s.config.max_body_bytes)
                .unwrap_or_default(),
        ),
        415 => ApiError::new(ErrorKind::UnsupportedMediaType).with("expected", "application/json"),
        429 => ApiError::new(ErrorKind::RateLimited).with("retry_after", 1),
        503 => ApiError::database_unavailable("service unavailable"),
        s if s >= 500 => ApiError::internal(format!("status {s}")),
        s => ApiError::bad_request(status_reason(s, status.canonical_reason())),
    };
    let rendered = render_for(&fallback, res.request());
    Ok(res.into_response(rendered))
}

/// Why actix refused a request with a 4xx status we have no problem kind for, in both languages.
fn status_reason(status: u16, canonical: Option<&str>) -> Param {
    let en = canonical.unwrap_or("bad request");
    let th = match status {
        400 => "รูปแบบคำขอไม่ถูกต้อง".to_string(),
        408 => "ส่งคำขอช้าเกินไป".to_string(),
        411 => "ต้องระบุความยาวของเนื้อหาคำขอในส่วนหัว `Content-Length`".to_string(),
        414 => "URL ยาวเกินไป".to_string(),
        431 => "ส่วนหัวของคำขอมีขนาดใหญ่เกินไป".to_string(),
        s => format!("ถูกปฏิเสธด้วยรหัสสถานะ HTTP {s}"),
    };
    Param::both(en, th)
}

fn render_for(error: &ApiError, req: &HttpRequest) -> actix_web::HttpResponse {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    if error.kind().status().is_server_error() {
        tracing::error!(
            code = error.kind().code(),
            cause = error.cause().unwrap_or(""),
            "request failed"
        );
    } else if let Some(cause) = error.cause() {
        tracing::debug!(code = error.kind().code(), cause, "request rejected");
    }
    error.render(
        Lang::from_request(req),
        Some(req.path()),
        request_id.as_deref(),
    )
}

/// Answers requests no route matches: 405 with `Allow` when the path exists with other methods
/// (RFC 9110 §15.5.6), otherwise 404.
pub async fn route_not_found(req: HttpRequest) -> actix_web::HttpResponse {
    let allowed = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.routes.allowed_methods(req.path()))
        .unwrap_or_default();
    if allowed.is_empty() {
        let error = ApiError::new(ErrorKind::RouteNotFound)
            .with("method", req.method().to_string())
            .with("path", req.path());
        return render_for(&error, &req);
    }
    let error = ApiError::new(ErrorKind::MethodNotAllowed).with("method", req.method().to_string());
    let mut response = render_for(&error, &req);
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The API's paths and their methods, from the OpenAPI document (every route is registered
/// through it), to tell a wrong method (405) from an unknown path (404).
pub struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_api(api: &utoipa::openapi::OpenApi) -> RouteTable {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_string).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect();
        RouteTable(routes)
    }

    /// The methods served on `path`; empty when no route has this path.
    pub fn allowed_methods(&self, path: &str) -> Vec<&'static str> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut allowed: Vec<&'static str> = Vec::new();
        for (template, methods) in &self.0 {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                });
            if matches {
                for method in methods {
                    if !allowed.contains(method) {
                        allowed.push(method);
                    }
                }
            }
        }
        allowed
    }
}

const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The service's own Prometheus registry (not the process-global one, so that several app
/// instances in one process, as in tests, keep separate figures).
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("khongdee_http_request_duration_seconds".into()),
                DURATION_BUCKETS,
            )
            .expect("duration buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        Metrics { recorder, handle }
    }

    /// Runs metric macros (`metrics::counter!` …) against this registry.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = [
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        self.record(|| {
            metrics::counter!("khongdee_http_requests_total", &labels).increment(1);
            metrics::histogram!("khongdee_http_request_duration_seconds", &labels)
                .record(elapsed.as_secs_f64());
        });
    }

    /// The Prometheus text exposition, with the pool figures read now.
    pub fn render(&self, state: &AppState) -> String {
        let pool = state.pool.state();
        let max = state.pool.max_size();
        let queries = state.db_stats.queries();
        self.record(|| {
            metrics::describe_counter!(
                "khongdee_http_requests_total",
                "HTTP requests by route and status"
            );
            metrics::describe_histogram!(
                "khongdee_http_request_duration_seconds",
                metrics::Unit::Seconds,
                "HTTP request latency by route and status"
            );
            metrics::gauge!("khongdee_db_pool_connections").set(pool.connections as f64);
            metrics::gauge!("khongdee_db_pool_idle_connections").set(pool.idle_connections as f64);
            metrics::gauge!("khongdee_db_pool_in_use_connections")
                .set(pool.connections.saturating_sub(pool.idle_connections) as f64);
            metrics::gauge!("khongdee_db_pool_max_connections").set(max as f64);
            metrics::counter!("khongdee_db_queries_total").absolute(queries);
            let gathered = state.gatherer.stats();
            metrics::counter!("khongdee_gathered_batches_total").absolute(gathered.batches);
            metrics::counter!("khongdee_gathered_jobs_total").absolute(gathered.jobs);
            metrics::gauge!("khongdee_gathered_largest_batch").set(gathered.largest as f64);
        });
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Counts requests and measures latency by route pattern and status.
pub async fn metrics_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(err) => {
            if let Some(state) = state {
                let status = err.as_response_error().status_code().as_u16();
                state
                    .metrics
                    .record_request(&method, "unmatched", status, started.elapsed());
            }
            return Err(err);
        }
    };
    if let Some(state) = state {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let elapsed = started.elapsed();
        let status = res.status().as_u16();
        state
            .metrics
            .record_request(&method, &route, status, elapsed);
        tracing::info!(
            http.method = %method,
            http.route = %route,
            http.status_code = status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_query_strings_are_not_logged() {
        assert_eq!(
            loggable_target(
                "/v1/stats/sales.csv",
                "level=lao&token=kdr_abc&fiscal_year=2569"
            ),
            "/v1/stats/sales.csv?level=lao&token=[redacted]&fiscal_year=2569"
        );
        assert_eq!(
            loggable_target(
                "/v1/x",
                "buyer_phone=0812345678&%54OKEN=t&name=%E0%B8%AA&limit=5"
            ),
            "/v1/x?buyer_phone=[redacted]&%54OKEN=[redacted]&name=[redacted]&limit=5"
        );
        assert_eq!(
            loggable_target("/v1/orders/ABCD-EFGH", ""),
            "/v1/orders/ABCD-EFGH"
        );
        assert_eq!(loggable_target("/v1/x", "token"), "/v1/x?token");
    }

    #[test]
    fn request_ids_are_checked() {
        assert!(acceptable_request_id("abc-123"));
        assert!(acceptable_request_id(
            "6f1c2d1e-8a47-4c59-9a3e-0c1d2f3a4b5c"
        ));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("has space"));
        assert!(!acceptable_request_id(&"x".repeat(129)));
        assert!(!acceptable_request_id("<script>"));
    }

    #[test]
    fn statuses_without_a_kind_are_explained_in_thai_too() {
        for status in 400..=431u16 {
            let reason = status_reason(status, Some("Whatever Actix Says"));
            let th = reason.localized(Lang::Th);
            let th = th.as_str().unwrap_or_default();
            assert!(
                crate::i18n::untranslated_words(th).is_empty(),
                "{status}: {th}"
            );
            assert_eq!(reason.localized(Lang::En), "Whatever Actix Says");
        }
    }
}

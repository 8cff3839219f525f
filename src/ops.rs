//! Operational endpoints: liveness, readiness, metrics, the OpenAPI document, the docs page and
//! the problem-type catalogue.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use strum::IntoEnumIterator;
use utoipa::ToSchema;

use crate::AppState;
use crate::db::{self, Backend};
use crate::error::{ApiError, ApiResult, ErrorKind, Problem};
use crate::i18n::Lang;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(index)
        .service(healthz)
        .service(readyz)
        .service(metrics)
        .service(openapi_json)
        .service(docs)
        .service(problem_types)
        .service(problem_type);
}

/// Liveness: the process is up.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// Readiness: the database answers and every migration is applied.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    pub database: DatabaseStatus,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseStatus {
    pub backend: Backend,
    /// `applied` when the schema matches this build.
    #[schema(example = "applied")]
    pub migrations: &'static str,
    pub pool_connections: u32,
    pub pool_idle_connections: u32,
    pub pool_max_connections: u32,
}

/// Links to what this service offers.
#[derive(Serialize, ToSchema)]
pub struct Index {
    #[schema(example = "khongdee")]
    pub name: &'static str,
    pub version: &'static str,
    pub docs: &'static str,
    pub openapi: &'static str,
    pub health: &'static str,
    pub ready: &'static str,
    pub metrics: &'static str,
}

/// Service index
///
/// Names the service and links to its documentation and health endpoints.
#[utoipa::path(tag = "operations", responses((status = 200, body = Index)))]
#[get("/")]
pub async fn index() -> web::Json<Index> {
    web::Json(Index {
        name: "khongdee",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
        openapi: "/openapi.json",
        health: "/healthz",
        ready: "/readyz",
        metrics: "/metrics",
    })
}

/// Liveness
///
/// Answers 200 while the process runs; it does not touch the database.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness
///
/// Answers 200 when the database is reachable and its schema is up to date, 503 otherwise.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "Database unreachable or migrations pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<web::Json<Readiness>> {
    let pool = state.pool.clone();
    let timeout = state
        .config
        .db_timeout()
        .min(std::time::Duration::from_secs(2));
    let pending = web::block(move || -> ApiResult<bool> {
        let mut conn = pool.get_timeout(timeout)?;
        db::has_pending_migrations(&mut conn).map_err(ApiError::database_unavailable)
    })
    .await
    .map_err(ApiError::internal)??;
    if pending {
        return Err(ApiError::new(ErrorKind::DatabaseUnavailable)
            .retry_after(5)
            .extra("reason", "migrations pending")
            .caused_by("migrations pending"));
    }
    let pool_state = state.pool.state();
    Ok(web::Json(Readiness {
        status: "ready",
        database: DatabaseStatus {
            backend: state.backend,
            migrations: "applied",
            pool_connections: pool_state.connections,
            pool_idle_connections: pool_state.idle_connections,
            pool_max_connections: state.pool.max_size(),
        },
    }))
}

/// Prometheus metrics
///
/// Request counts and latency histograms by route and status, database pool usage and the
/// number of statements run, in the Prometheus text format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&state))
}

/// OpenAPI document
///
/// This API's OpenAPI 3.1 description (the same as `openapi/openapi.json` in the repository).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.as_str().to_owned())
}

/// API documentation
///
/// An interactive reference of this API (Scalar), built from the OpenAPI document.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "HTML page", body = String, content_type = "text/html"))
)]
#[get("/docs")]
pub async fn docs(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(state.docs_html.as_str().to_owned())
}

/// The docs page: Scalar from its CDN, and a plain fallback when the script cannot load.
pub fn docs_html(spec: &utoipa::openapi::OpenApi) -> String {
    const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <title>khongdee API</title>
  <meta charset="utf-8"/>
  <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<body>
<noscript><p>The interactive reference needs JavaScript. The API description is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<div id="offline" hidden style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
  <h1>khongdee API</h1>
  <p>The interactive reference could not be loaded (it comes from cdn.jsdelivr.net).
     The full API description is at <a href="/openapi.json">/openapi.json</a>; open it in any OpenAPI viewer.</p>
  <p>เปิดหน้าเอกสารแบบโต้ตอบไม่ได้ (ต้องโหลดจาก cdn.jsdelivr.net) ดูคำอธิบาย API ทั้งหมดได้ที่ <a href="/openapi.json">/openapi.json</a></p>
</div>
<script id="api-reference" type="application/json">
$spec
</script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"
        onerror="document.getElementById('offline').hidden = false"></script>
</body>
</html>
"#;
    utoipa_scalar::Scalar::new(spec.clone())
        .custom_html(PAGE)
        .to_html()
}

/// A kind of problem this API reports.
#[derive(Serialize, ToSchema)]
pub struct ProblemType {
    /// The `type` member of problems of this kind.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation_failed")]
    pub type_: String,
    #[schema(example = "validation_failed")]
    pub code: String,
    #[schema(example = 422)]
    pub status: u16,
    pub title: String,
    /// The detail template; `{name}` is filled from the problem's members.
    pub detail: String,
}

fn problem_type_of(kind: ErrorKind, lang: Lang) -> ProblemType {
    let info = kind.info();
    ProblemType {
        type_: kind.type_uri(),
        code: info.code.to_string(),
        status: info.status.as_u16(),
        title: info.title.get(lang).to_string(),
        detail: info.detail.get(lang).to_string(),
    }
}

/// Problem types
///
/// Every kind of problem this API answers with, so that clients can branch on `type` (or `code`).
#[utoipa::path(tag = "operations", responses((status = 200, body = Vec<ProblemType>)))]
#[get("/problems")]
pub async fn problem_types(lang: Lang) -> web::Json<Vec<ProblemType>> {
    web::Json(
        ErrorKind::iter()
            .map(|k| problem_type_of(k, lang))
            .collect(),
    )
}

/// Describe a problem type
#[utoipa::path(
    tag = "operations",
    params(("code" = String, Path, description = "Problem code, e.g. `sold_out`")),
    responses(
        (status = 200, body = ProblemType),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/problems/{code}")]
pub async fn problem_type(
    path: web::Path<String>,
    lang: Lang,
) -> ApiResult<web::Json<ProblemType>> {
    let kind = ErrorKind::from_code(&path).ok_or_else(|| {
        ApiError::not_found(crate::i18n::Text {
            en: "problem type",
            th: "ประเภทปัญหา",
        })
    })?;
    Ok(web::Json(problem_type_of(kind, lang)))
}

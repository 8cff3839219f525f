//! The embedded form's routes: its API under `/v1/embed/{key}/…`, key management under
//! `/v1/laos/{dla_code}/embed-keys`, the pages and files under `/embed/…`, and the middleware
//! that answers CORS for the LAO's allowed origins.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::assets::{Asset, assets, gzip};
use super::keys::{self, EMBED_KEY, EmbedKey, KeyRow, NewEmbedKey};
use super::origins;
use crate::AppState;
use crate::auth::policy::{Action, authorize};
use crate::auth::principal::Principal;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorKind, Param, Problem};
use crate::extract::{ValidJson, ValidQuery, valid_json_bytes};
use crate::i18n::Lang;
use crate::idempotency::{self, Proof, Scope};
use crate::laos::model::LaoRow;
use crate::observability::RequestId;
use crate::orders::gathered;
use crate::orders::model::Order;
use crate::orders::place::NewOrder;
use crate::orders::{PaymentInfo, SECRET_HEADER, buyer_order, buyer_payment};
use crate::preorder::waitlist::{self, Entry, NewEntry};
use crate::preorder::windows::{self, ListStatus, WINDOW, Window, WindowFilter};
use crate::validate::PhoneNumber;

/// The API routes (inside `/v1`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_embed_keys)
        .service(create_embed_key)
        .service(revoke_embed_key)
        .service(embed_form)
        .service(place_embed_order)
        .service(get_embed_order)
        .service(join_embed_waitlist);
}

/// The pages and files (outside `/v1`).
pub fn pages(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(embed_loader)
        .service(embed_asset)
        .service(embed_frame_page)
        .service(embed_demo_page);
}

// ---------------------------------------------------------------------------------------------
// Key management

fn lao_by_code(conn: &mut crate::db::DbConn, dla_code: &str) -> ApiResult<LaoRow> {
    crate::laos::model::find_by_code(conn, dla_code)?
        .ok_or_else(|| ApiError::not_found(crate::laos::model::LAO))
}

/// 404 unless the window belongs to the key's LAO (one indexed read, before anything is held
/// or counted; the window's own rules come after).
fn window_of_lao(conn: &mut crate::db::DbConn, id: i64, lao: &LaoRow) -> ApiResult<()> {
    match windows::find_with_lao(conn, id)? {
        Some((_, window_lao)) if window_lao.id == lao.id => Ok(()),
        _ => Err(ApiError::not_found(WINDOW)),
    }
}

/// An LAO's publishable keys
///
/// Newest first, revoked ones included. For the LAO's staff and the officers above it.
#[utoipa::path(
    tag = "embed",
    security(("bearer" = [])),
    params(("dla_code" = String, Path, description = "Seven-digit DLA code", example = "3630690")),
    responses(
        (status = 200, body = Vec<EmbedKey>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/laos/{dla_code}/embed-keys")]
pub async fn list_embed_keys(
    state: web::Data<AppState>,
    principal: Principal,
    dla_code: web::Path<String>,
) -> ApiResult<web::Json<Vec<EmbedKey>>> {
    let dla_code = dla_code.into_inner();
    let list = state
        .db(move |conn| {
            let lao = lao_by_code(conn, &dla_code)?;
            authorize(&principal, Action::ReadArea, &lao.place())?;
            Ok(keys::list(conn, lao.id)?
                .into_iter()
                .map(|k| k.view(&lao.dla_code))
                .collect())
        })
        .await?;
    Ok(web::Json(list))
}

/// Create a publishable key
///
/// For the LAO's staff (and admins). The key goes into the form's snippet; the form works only
/// on pages of the LAO's `allowed_origins` (`PATCH /v1/laos/{dla_code}`). Up to 20 live keys.
#[utoipa::path(
    tag = "embed",
    security(("bearer" = [])),
    params(("dla_code" = String, Path, description = "Seven-digit DLA code", example = "3630690")),
    request_body = NewEmbedKey,
    responses(
        (status = 201, body = EmbedKey),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict: 20 live keys already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/laos/{dla_code}/embed-keys")]
pub async fn create_embed_key(
    state: web::Data<AppState>,
    principal: Principal,
    dla_code: web::Path<String>,
    body: ValidJson<NewEmbedKey>,
) -> ApiResult<HttpResponse> {
    let dla_code = dla_code.into_inner();
    let ValidJson(new) = body;
    let now = state.clock.now_naive();
    let key = state
        .db_tx(move |conn| {
            let lao = lao_by_code(conn, &dla_code)?;
            authorize(&principal, Action::UpdateLaoProfile, &lao.place())?;
            let row = keys::create(conn, &lao, &new.label, &principal.actor_label(), now)?;
            Ok(row.view(&lao.dla_code))
        })
        .await?;
    Ok(HttpResponse::Created().json(key))
}

/// Revoke a publishable key
///
/// The form with this key stops at once (its routes answer 404); the key stays listed, revoked.
/// Revoking twice is the same as once.
#[utoipa::path(
    tag = "embed",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/embed-keys/{id}")]
pub async fn revoke_embed_key(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now_naive();
    state
        .db_tx(move |conn| {
            let row = keys::find(conn, id)?.ok_or_else(|| ApiError::not_found(EMBED_KEY))?;
            let lao = crate::laos::model::find_by_id(conn, row.lao_id)?
                .ok_or_else(|| ApiError::not_found(EMBED_KEY))?;
            authorize(&principal, Action::UpdateLaoProfile, &lao.place())?;
            keys::revoke(conn, id, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// The form's API

/// The key resolved by [`cors_middleware`] for this request, when it checked one.
#[derive(Clone)]
struct Resolved(KeyRow, LaoRow);

/// The live key named in the path and its LAO (404 `not_found` otherwise).
async fn resolve(state: &AppState, req: &HttpRequest, key: String) -> ApiResult<(KeyRow, LaoRow)> {
    if let Some(Resolved(row, lao)) = req.extensions().get::<Resolved>().cloned()
        && row.public_key == key
    {
        return Ok((row, lao));
    }
    state.db(move |conn| keys::resolve(conn, &key)).await
}

/// The key named in the path, revoked or not, and its LAO: for what a buyer already has (the
/// saved order page), which an LAO's rotating its key must not break.
async fn resolve_any(state: &AppState, key: String) -> ApiResult<(KeyRow, LaoRow)> {
    state.db(move |conn| keys::resolve_any(conn, &key)).await
}

/// The LAO a form sells for.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormLao {
    pub dla_code: String,
    /// "เทศบาลนครแม่สอด".
    pub name_th: String,
    pub name_en: Option<String>,
}

/// What the form shows: the LAO and its windows.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmbedForm {
    pub lao: FormLao,
    /// Open windows (sold out included: they offer the waiting list) and those scheduled to
    /// open, by id; or the one asked for. Each as `GET /v1/windows/{id}` shows it, with live
    /// availability per variant.
    pub windows: Vec<Window>,
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormQuery {
    /// One window of the LAO (the snippet's `data-window`); without it, all of them.
    #[validate(range(min = 1))]
    #[param(minimum = 1)]
    pub window: Option<i64>,
}

/// Most windows one form lists.
const MAX_WINDOWS: usize = 50;

/// The form's content
///
/// The LAO and its windows for the form with this publishable key. From a browser, only pages
/// of the LAO's allowed origins get an answer they may read (CORS); other origins get 403
/// `origin_not_allowed`.
#[utoipa::path(
    tag = "embed",
    params(("key" = String, Path, description = "Publishable key (`pk_…`)"), FormQuery),
    responses(
        (status = 200, body = EmbedForm),
        (status = 403, description = "origin_not_allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or revoked key, or a window the LAO does not sell", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/embed/{key}/form")]
pub async fn embed_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    query: ValidQuery<FormQuery>,
) -> ApiResult<web::Json<EmbedForm>> {
    let ValidQuery(query) = query;
    let (_, lao) = resolve(&state, &req, key.into_inner()).await?;
    let now = state.clock.now_naive();
    let form = state
        .db(move |conn| {
            let loaded = match query.window {
                Some(id) => {
                    let loaded = windows::load(conn, id, now)?;
                    if loaded.lao.id != lao.id
                        || !windows::visible_to(&loaded.row, &loaded.lao, None)
                    {
                        return Err(ApiError::not_found(WINDOW));
                    }
                    vec![loaded]
                }
                None => {
                    let filter = WindowFilter {
                        lao_code: Some(lao.dla_code.clone()),
                        status: Some(ListStatus::Current),
                        ..WindowFilter::default()
                    };
                    let mut list = windows::list(conn, &filter, None, 0, MAX_WINDOWS, now)?;
                    list.truncate(MAX_WINDOWS);
                    list
                }
            };
            Ok(EmbedForm {
                lao: FormLao {
                    dla_code: lao.dla_code.clone(),
                    name_th: lao.short_name_th(),
                    name_en: lao.name_en.clone(),
                },
                windows: loaded.into_iter().map(|l| l.view(now)).collect(),
            })
        })
        .await?;
    Ok(web::Json(form))
}

/// How to pay, with the QR code itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptPay {
    pub amount_satang: i64,
    /// Who is paid (the producer).
    pub payee: String,
    pub promptpay_id_masked: String,
    /// Bangkok time.
    pub due_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The EMVCo "Thai QR" text.
    pub promptpay_payload: String,
    /// The QR code as a PNG `data:` URI, ready for an `<img>`.
    pub qr_png: String,
}

impl PromptPay {
    fn from_info(info: PaymentInfo) -> ApiResult<PromptPay> {
        Ok(PromptPay {
            qr_png: crate::promptpay::qr_png_data_uri(&info.promptpay_payload, 6)
                .map_err(ApiError::internal)?,
            amount_satang: info.amount_satang,
            payee: info.payee,
            promptpay_id_masked: info.promptpay_id_masked,
            due_at: info.due_at,
            promptpay_payload: info.promptpay_payload,
        })
    }
}

/// An order placed through the form, as its buyer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmbedOrder {
    /// With its `secret` (the buyer's key to the order).
    pub order: Order,
    /// How to pay while the order waits for payment; `null` when there is nothing to pay by
    /// PromptPay (the LAO then says how).
    pub promptpay: Option<PromptPay>,
}

/// Whether the order was placed with this LAO's windows (404 for the window otherwise, so that
/// a key never reveals another LAO's orders).
fn same_lao(order: &Order, lao: &LaoRow) -> ApiResult<()> {
    if order.lao.dla_code == lao.dla_code {
        Ok(())
    } else {
        Err(ApiError::not_found(WINDOW))
    }
}

/// Place an order from the form
///
/// The body of `POST /v1/orders`, for a window of the key's LAO; the order's channel is the
/// LAO's form (`embed`), which the statistics count. An `Idempotency-Key` (a random UUID per
/// submission) is required: a double tap or a retry returns the first order
/// (`Idempotent-Replayed: true`), never a second one.
#[utoipa::path(
    tag = "embed",
    params(
        ("key" = String, Path, description = "Publishable key (`pk_…`)"),
        ("Idempotency-Key" = String, Header, description = "A random UUID per submission"),
    ),
    request_body = NewOrder,
    responses(
        (status = 201, body = EmbedOrder, headers(("idempotent-replayed" = String, description = "`true` when this is a stored answer"))),
        (status = 400, description = "idempotency_key_required, malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "origin_not_allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sold_out, insufficient_capacity, window_closed, window_not_open, buyer_limit, idempotency_in_flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed, order_limit, unknown_variant, order_total_too_large, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/embed/{key}/orders")]
pub async fn place_embed_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    require_origin(&req)?;
    let (_, lao) = resolve(&state, &req, key.into_inner()).await?;
    let new: NewOrder = valid_json_bytes(&req, &body)?;
    let now = state.clock.now_naive();
    let phone = PhoneNumber::parse(&new.buyer.phone).map(|p| p.e164().to_string());
    let scope = Scope::of(None, phone.as_deref().map(Proof::BuyerPhone));
    let reference = state.config.promptpay_order_reference;
    let check: Option<gathered::Check> = new.window_id.map(|id| {
        let lao = lao.clone();
        // A window of another LAO is not found here, before anything is held or counted.
        Arc::new(move |conn: &mut DbConn| window_of_lao(conn, id, &lao)) as gathered::Check
    });
    let respond: gathered::Respond = Arc::new(move |conn, order| {
        // A hold names its window itself: checked on the result, rolled back if it is not ours.
        same_lao(&order, &lao)?;
        let secret = order.secret.as_deref().unwrap_or_default();
        let promptpay = buyer_payment(conn, &order.code, secret, reference, now)?
            .map(PromptPay::from_info)
            .transpose()?;
        serde_json::to_value(EmbedOrder { order, promptpay }).map_err(ApiError::internal)
    });
    let placement = gathered::Placement {
        principal: None,
        new,
        scope,
        key_required: true,
        check,
        respond,
    };
    gathered::place_order(&state, &req, &body, placement).await
}

/// An order placed through the form
///
/// For its buyer, with the secret given when it was placed: the order and how to pay it (the
/// form's "save this page" link).
#[utoipa::path(
    tag = "embed",
    params(
        ("key" = String, Path, description = "Publishable key (`pk_…`)"),
        ("code" = String, Path, description = "Order code", example = "7KQ3-XPMA"),
        ("X-Order-Secret" = String, Header, description = "The secret given when the order was placed"),
    ),
    responses(
        (status = 200, body = EmbedOrder),
        (status = 403, description = "origin_not_allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/embed/{key}/orders/{code}")]
pub async fn get_embed_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<EmbedOrder>> {
    let (key, code) = path.into_inner();
    let (_, lao) = resolve_any(&state, key).await?;
    let secret = req
        .headers()
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::not_found(crate::orders::model::ORDER))?;
    let now = state.clock.now_naive();
    let reference = state.config.promptpay_order_reference;
    let answer = state
        .db(move |conn| {
            let (order, payment) = buyer_order(conn, &code, &secret, reference, now)?;
            if same_lao(&order, &lao).is_err() {
                return Err(ApiError::not_found(crate::orders::model::ORDER));
            }
            Ok(EmbedOrder {
                order,
                promptpay: payment.map(PromptPay::from_info).transpose()?,
            })
        })
        .await?;
    Ok(web::Json(answer))
}

/// Join a window's waiting list from the form
///
/// As `POST /v1/windows/{id}/waitlist`, for a window of the key's LAO; an `Idempotency-Key` is
/// required.
#[utoipa::path(
    tag = "embed",
    params(
        ("key" = String, Path, description = "Publishable key (`pk_…`)"),
        ("id" = i64, Path, description = "Window id"),
        ("Idempotency-Key" = String, Header, description = "A random UUID per submission"),
    ),
    request_body = NewEntry,
    responses(
        (status = 201, body = Entry),
        (status = 400, description = "idempotency_key_required", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "origin_not_allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "waitlist_not_needed, window_closed, buyer_limit, already_exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/embed/{key}/windows/{id}/waitlist")]
pub async fn join_embed_waitlist(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    require_origin(&req)?;
    let (key, id) = path.into_inner();
    let (_, lao) = resolve(&state, &req, key).await?;
    let new: NewEntry = valid_json_bytes(&req, &body)?;
    let now = state.clock.now_naive();
    let phone = PhoneNumber::parse(&new.buyer_phone).map(PhoneNumber::into_string);
    let scope = Scope::of(None, phone.as_deref().map(Proof::BuyerPhone));
    idempotency::run(&state, &req, scope, &body, true, move |conn| {
        window_of_lao(conn, id, &lao)?;
        let row = waitlist::join(conn, id, None, &new, now)?;
        Ok((StatusCode::CREATED, waitlist::view(conn, row, now)?))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// CORS

/// Headers the form sends besides the CORS-safelisted ones.
const ALLOW_HEADERS: &str = "Content-Type, Idempotency-Key, X-Order-Secret";
/// Headers the form may read besides the safelisted ones.
const EXPOSE_HEADERS: &str =
    "Retry-After, Idempotent-Replayed, RateLimit, RateLimit-Policy, X-Request-Id";

/// Public reference data the form reads across origins without a key (geography for the
/// address pickers, product photos): `Access-Control-Allow-Origin: *`, as nothing there depends
/// on who asks and no request carries credentials.
fn public_read(path: &str) -> bool {
    [
        "/v1/provinces",
        "/v1/districts/",
        "/v1/subdistricts/",
        "/v1/postal-codes/",
        "/v1/media/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// The address this API is reached at: `KHONGDEE_PUBLIC_URL`, or the request's scheme and host.
fn own_base(state: &AppState, req: &HttpRequest) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    // The `Host` the client used, never `X-Forwarded-Host` or `Forwarded`, which anyone can
    // send: behind a proxy that rewrites `Host`, set `KHONGDEE_PUBLIC_URL`.
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_else(|| req.app_config().host());
    // A `Host` that is not `host[:port]` (quotes, markup: anyone can send one) never reaches a
    // page or its policy: the server's own configured host stands in.
    origins::canonical(&format!("{scheme}://{host}"))
        .unwrap_or_else(|| format!("{scheme}://{}", req.app_config().host()))
}

/// The form's writes come from browser pages, which always send `Origin` on a POST (the CORS
/// middleware has checked it by then): a request without one is refused.
fn require_origin(req: &HttpRequest) -> ApiResult<()> {
    if req.headers().contains_key(header::ORIGIN) {
        Ok(())
    } else {
        Err(origin_refused(None))
    }
}

fn refuse(req: &HttpRequest, error: ApiError) -> HttpResponse {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    error.render(
        Lang::from_request(req),
        Some(req.path()),
        request_id.as_deref(),
    )
}

fn origin_refused(origin: Option<&str>) -> ApiError {
    let source = match origin {
        Some(o) => Param::both(format!("`{o}`"), format!(" `{o}`")),
        None => Param::both(
            "a page or program that did not say where it came from (no `Origin` header)",
            "หน้าเว็บหรือโปรแกรมที่ไม่ได้ระบุที่มา (ไม่มีส่วนหัว `Origin`)",
        ),
    };
    ApiError::new(ErrorKind::OriginNotAllowed)
        .with("source", source)
        .extra("origin", origin)
}

/// CORS for the form's API, checked against the key's LAO:
/// - a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin gets
///   204 with the methods and headers the form uses; from any other origin, 403;
/// - a request with `Origin` gets `Access-Control-Allow-Origin` (that origin) when it is
///   allowed, and 403 `origin_not_allowed` otherwise; the API's own pages (the iframe) are
///   always allowed;
/// - a request without `Origin` (not from a browser page) may read (`GET`) but not write
///   (refused by the writing handlers).
///
/// Public reference reads get `Access-Control-Allow-Origin: *` ([`public_read`]).
pub async fn cors_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_string();
    let Some(rest) = path.strip_prefix("/v1/embed/") else {
        let public = public_read(&path) && matches!(*req.method(), Method::GET | Method::HEAD);
        let mut res = next.call(req).await?.map_into_boxed_body();
        if public {
            res.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
        return Ok(res);
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !preflight && !matches!(*req.method(), Method::GET | Method::HEAD | Method::POST) {
        // No route takes it: the router answers 405 with `Allow`.
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = rest.split('/').next().unwrap_or_default().to_string();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("(not text)").to_string());
    let Some(origin) = origin else {
        // Not from a browser page: no CORS; the writing routes refuse it themselves
        // ([`require_origin`]), so that a method no route takes still gets its 405.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let own = own_base(&state, req.request());
    let resolved = if origins::allowed(&origin, &[], &own) {
        None // the API's own page: same origin, no CORS
    } else {
        let lookup = key.clone();
        match state.db(move |conn| keys::resolve(conn, &lookup)).await {
            Ok((row, lao)) => {
                if !origins::allowed(&origin, &lao.allowed_origins(), &own) {
                    let response = refuse(req.request(), origin_refused(Some(&origin)));
                    return Ok(req.into_response(response));
                }
                Some((row, lao))
            }
            Err(e) => {
                let response = refuse(req.request(), e);
                return Ok(req.into_response(response));
            }
        }
    };
    let allow_origin = HeaderValue::from_str(&origin).ok();
    if preflight {
        let mut response = HttpResponse::NoContent();
        if resolved.is_some()
            && let Some(value) = allow_origin
        {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
        }
        response.insert_header((header::VARY, "Origin"));
        let response = response.finish();
        return Ok(req.into_response(response));
    }
    let cross_origin = resolved.is_some();
    if let Some((row, lao)) = resolved {
        req.extensions_mut().insert(Resolved(row, lao));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if cross_origin && let Some(value) = allow_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// Pages and files

/// A file answer: gzipped when the client takes it, with caching headers.
fn file_response(
    req: &HttpRequest,
    content_type: &str,
    body: &[u8],
    gzipped: &[u8],
    etag: &str,
    cache: &str,
) -> HttpResponse {
    let matches = crate::extract::etag_matches(req, etag);
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The files are loaded by other sites' pages.
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
    if matches {
        return response.finish();
    }
    response.content_type(content_type);
    let takes_gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|e| e.split(';').next().is_some_and(|n| n.trim() == "gzip"))
        });
    if takes_gzip {
        response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gzipped.to_vec())
    } else {
        response.body(body.to_vec())
    }
}

/// The form's loader
///
/// The script LAO pages include (`<script src="…/embed/khongdee.js" data-key="pk_…" async>`).
/// It stays at this address and is cached for five minutes; it loads the current, content-hashed
/// form script and stylesheet.
#[utoipa::path(
    tag = "embed",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"))
)]
#[get("/embed/khongdee.js")]
pub async fn embed_loader(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let text = assets().loader(&own_base(&state, &req));
    let etag = format!(
        "\"{}\"",
        crate::auth::tokens::sha256_hex(&text)
            .get(..32)
            .unwrap_or_default()
    );
    file_response(
        &req,
        "text/javascript; charset=utf-8",
        text.as_bytes(),
        &gzip(text.as_bytes()),
        &etag,
        "public, max-age=300",
    )
}

/// A form file
///
/// The form's script and stylesheet by their content-hashed names (as the loader and pages give
/// them), cached for a year.
#[utoipa::path(
    tag = "embed",
    params(("file" = String, Path, description = "`form.{hash}.js`, `form.{hash}.css`")),
    responses(
        (status = 200, description = "The file", body = String, content_type = "text/javascript"),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/embed/assets/{file}")]
pub async fn embed_asset(req: HttpRequest, file: web::Path<String>) -> ApiResult<HttpResponse> {
    let found: &Asset = assets().find(&file).ok_or_else(|| {
        ApiError::not_found(crate::i18n::Text {
            en: "file",
            th: "ไฟล์",
        })
    })?;
    Ok(file_response(
        &req,
        found.content_type,
        found.body,
        &found.gzip,
        &found.etag,
        "public, max-age=31536000, immutable",
    ))
}

/// The pages' parameters. Others are ignored: links shared on social networks come back with
/// `fbclid`, `utm_source` and the like, and a buyer's saved link must still open.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The LAO's publishable key.
    #[validate(length(max = 70))]
    #[param(max_length = 70)]
    pub key: String,
    /// One window; without it, all of the LAO's.
    #[validate(range(min = 1))]
    #[param(minimum = 1)]
    pub window: Option<i64>,
    /// `th` (default) or `en`.
    #[param(inline)]
    pub lang: Option<PageLang>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PageLang {
    #[default]
    Th,
    En,
}

impl PageLang {
    fn code(self) -> &'static str {
        match self {
            PageLang::Th => "th",
            PageLang::En => "en",
        }
    }
}

fn attr(value: &str) -> String {
    html_escape::encode_double_quoted_attribute(value).into_owned()
}

fn text(value: &str) -> String {
    html_escape::encode_text(value).into_owned()
}

/// The strict policy of the pages: their own files only, nothing inline.
fn page_policy(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; {frame_ancestors}"
    )
}

fn html(policy: String, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

/// The form as a page (the iframe alternative)
///
/// `<iframe src="…/embed/form?key=pk_…&lang=th" title="…">`. Browsers show it only inside pages
/// of the LAO's allowed origins (`Content-Security-Policy: frame-ancestors`). Opened on its own,
/// it is also the buyer's saved order page (`#order=…&secret=…`).
#[utoipa::path(
    tag = "embed",
    params(PageQuery),
    responses(
        (status = 200, description = "HTML page", body = String, content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or revoked key", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/embed/form")]
pub async fn embed_frame_page(
    state: web::Data<AppState>,
    query: ValidQuery<PageQuery>,
) -> ApiResult<HttpResponse> {
    let ValidQuery(query) = query;
    // A revoked key still opens the page: it is also the buyers' saved order page. The form
    // itself then cannot load (its content needs a live key).
    let (_, lao) = resolve_any(&state, query.key.clone()).await?;
    let lang = query.lang.unwrap_or_default();
    let a = assets();
    let title = match lang {
        PageLang::Th => format!("สั่งจองล่วงหน้า · {}", lao.short_name_th()),
        PageLang::En => format!(
            "Pre-order · {}",
            lao.name_en.clone().unwrap_or_else(|| lao.short_name_th())
        ),
    };
    let body = format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/embed/assets/{demo_css}">
<script src="/embed/assets/{form_js}" defer></script>
</head>
<body class="frame">
<main>
<h1 class="visually-hidden">{title}</h1>
<div data-khongdee-form data-key="{key}" data-window="{window}" data-lang="{lang}" data-api="" data-css="/embed/assets/{form_css}"></div>
<noscript>{noscript}</noscript>
</main>
</body>
</html>
"#,
        lang = lang.code(),
        title = text(&title),
        demo_css = a.demo_css.name,
        form_js = a.form_js.name,
        form_css = a.form_css.name,
        key = attr(&query.key),
        window = query.window.map(|w| w.to_string()).unwrap_or_default(),
        noscript = match lang {
            PageLang::Th => "แบบฟอร์มสั่งจองต้องใช้ JavaScript",
            PageLang::En => "The pre-order form needs JavaScript.",
        },
    );
    Ok(html(
        page_policy(&origins::frame_ancestors(&lao.allowed_origins())),
        body,
    ))
}

/// A demo LAO page with the form
///
/// What an LAO's page looks like with the snippet pasted in, and the snippet to copy (script and
/// iframe), for the given key. Served by the API itself, so it works whatever the LAO allows.
#[utoipa::path(
    tag = "embed",
    params(PageQuery),
    responses(
        (status = 200, description = "HTML page", body = String, content_type = "text/html"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or revoked key", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/embed/demo")]
pub async fn embed_demo_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: ValidQuery<PageQuery>,
) -> ApiResult<HttpResponse> {
    let ValidQuery(query) = query;
    let key = query.key.clone();
    let (_, lao) = state.db(move |conn| keys::resolve(conn, &key)).await?;
    let lang = query.lang.unwrap_or_default();
    let base = own_base(&state, &req);
    let window_attr = query
        .window
        .map(|w| format!(r#" data-window="{w}""#))
        .unwrap_or_default();
    let window_param = query
        .window
        .map(|w| format!("&window={w}"))
        .unwrap_or_default();
    let script = format!(
        r#"<script src="{base}/embed/khongdee.js" data-key="{key}"{window_attr} data-lang="{lang}" async></script>"#,
        key = query.key,
        lang = lang.code(),
    );
    let iframe = format!(
        r#"<iframe src="{base}/embed/form?key={key}{window_param}&lang={lang}" title="{title}" width="100%" height="900" loading="lazy"></iframe>"#,
        key = query.key,
        lang = lang.code(),
        title = match lang {
            PageLang::Th => "แบบฟอร์มสั่งจองล่วงหน้า",
            PageLang::En => "Pre-order form",
        },
    );
    let (heading, intro, copy_script, copy_iframe) = match lang {
        PageLang::Th => (
            "ตัวอย่างหน้าเว็บ อปท.",
            "หน้านี้แสดงแบบฟอร์มสั่งจองที่ฝังด้วยโค้ดด้านล่าง นำโค้ดไปวางในหน้าเว็บของ อปท. ได้เลย (เว็บไซต์ต้องอยู่ในรายการ allowed_origins ของ อปท.)",
            "โค้ดสำหรับวาง (สคริปต์)",
            "หรือแบบ iframe",
        ),
        PageLang::En => (
            "A demo LAO page",
            "This page shows the pre-order form embedded with the snippet below. Paste it into the LAO's page (the site must be in the LAO's allowed_origins).",
            "The snippet (script)",
            "Or as an iframe",
        ),
    };
    let body = format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{lao} · {heading}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/embed/assets/{demo_css}">
</head>
<body>
<header><h1>{lao}</h1><p>{heading}</p></header>
<main>
<p>{intro}</p>
{script}
<section>
<h2>{copy_script}</h2>
<pre><code>{script_text}</code></pre>
<h2>{copy_iframe}</h2>
<pre><code>{iframe_text}</code></pre>
</section>
</main>
</body>
</html>
"#,
        lang = lang.code(),
        lao = text(&lao.short_name_th()),
        demo_css = assets().demo_css.name,
        script_text = text(&script),
        iframe_text = text(&iframe),
    );
    let own = format!("'self' {}", origins::canonical(&base).unwrap_or_default());
    Ok(html(
        format!(
            "default-src 'none'; script-src {own}; style-src {own}; img-src {own} data: https:; \
             connect-src {own}; frame-src {own}; base-uri 'none'; form-action 'none'"
        ),
        body,
    ))
}

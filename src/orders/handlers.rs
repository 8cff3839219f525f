//! Order endpoints: placement (idempotent), buyer access, payment, status moves, lists and the
//! packing CSV.

use actix_web::http::StatusCode;
use actix_web::http::header;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::gathered;
use super::lifecycle::{self, MoveDetails};
use super::model::{
    self, Access, Caller, Channel, Mover, ORDER, Order, OrderRow, OrderStatus, OrderSummary,
};
use super::place::NewOrder;
use crate::AppState;
use crate::auth::policy::{Action, authorize_hidden};
use crate::auth::principal::{OptionalPrincipal, Principal, Role};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::{laos, orders, producers};
use crate::error::{ApiError, ApiResult, ErrorKind, Problem};
use crate::extract::{ValidQuery, parse_json, valid_json_bytes, validate_value};
use crate::idempotency::{self, Proof, Scope};
use crate::pagination::{Page, decode_cursor, page_from, page_size};
use crate::preorder::windows::{self as preorder_windows, WINDOW};
use crate::promptpay;
use crate::spreadsheet::{self, Cell, SheetWriter, national_phone};
use crate::thai_ids::PromptPayId;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(place_order)
        .service(list_orders)
        .service(transfer_matches)
        .service(get_order)
        .service(order_history)
        .service(cancel_order)
        .service(payment_info)
        .service(payment_qr_svg)
        .service(payment_qr_png)
        .service(confirm_payment)
        .service(move_order)
        .service(window_orders_csv);
}

/// The buyer's order secret, sent in this header.
pub const SECRET_HEADER: &str = "x-order-secret";
/// The buyer's phone number, for the limited view.
pub const PHONE_HEADER: &str = "x-buyer-phone";

fn header_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn order_by_path(conn: &mut DbConn, raw: &str) -> ApiResult<OrderRow> {
    let code = model::normalize_code(raw).ok_or_else(|| ApiError::not_found(ORDER))?;
    model::find_by_code(conn, &code)?.ok_or_else(|| ApiError::not_found(ORDER))
}

/// Place an order
///
/// Lines of a window, or a hold to convert; the buyer; a pickup point or a checked carrier
/// address; a note. The server computes every price and total in satang; the channel (partner,
/// LAO embed form, staff) comes from who calls. The answer carries the order `code` and, this once,
/// its `secret` (the buyer's key: `X-Order-Secret`). Send an `Idempotency-Key` (a random UUID):
/// partner clients must; retries with the same key get the first answer back, a different body
/// with the key gets 422, and while the first is running 409.
#[utoipa::path(
    tag = "orders",
    request_body = NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "A random UUID per order; required for partner clients")),
    responses(
        (status = 201, body = Order, headers(("idempotent-replayed" = String, description = "`true` when this is a stored answer"))),
        (status = 400, description = "idempotency_key_required, malformed_json", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sold_out, insufficient_capacity, window_closed, window_not_open, buyer_limit, hold_not_active, idempotency_in_flight", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "hold_expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed, order_limit, unknown_variant, order_total_too_large, idempotency_key_reused", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders")]
pub async fn place_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let new: NewOrder = valid_json_bytes(&req, &body)?;
    let principal = principal.0;
    let required = principal.as_ref().is_some_and(|p| p.partner_id().is_some());
    if let Some(p) = principal.as_ref() {
        // A partner that may not order at all hears that before being asked for a key.
        p.require_scope("orders:write")?;
    }
    let phone = crate::validate::PhoneNumber::parse(&new.buyer.phone).map(|p| p.e164().to_string());
    let scope = Scope::of(principal.as_ref(), phone.as_deref().map(Proof::BuyerPhone));
    let respond: gathered::Respond =
        Arc::new(|_, order| serde_json::to_value(order).map_err(ApiError::internal));
    let placement = gathered::Placement {
        principal,
        new,
        scope,
        key_required: required,
        check: None,
        respond,
    };
    gathered::place_order(&state, &req, &body, placement).await
}

/// Filters of the order list.
#[derive(Debug, Default, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderFilter {
    /// DLA code of the LAO.
    pub lao_code: Option<String>,
    pub producer_id: Option<i64>,
    pub window_id: Option<i64>,
    pub status: Option<OrderStatus>,
    /// Placed on or after this day (Bangkok).
    pub from: Option<NaiveDate>,
    /// Placed on or before this day (Bangkok).
    pub to: Option<NaiveDate>,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List orders
///
/// Newest first. LAO staff see their LAO's orders, producers their own, officers those of their
/// area, partner clients (`orders:read`) the orders they placed.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(OrderFilter),
    responses(
        (status = 200, body = Page<Order>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    principal: Principal,
    filter: ValidQuery<OrderFilter>,
) -> ApiResult<web::Json<Page<Order>>> {
    let ValidQuery(filter) = filter;
    if principal.role == Role::Partner {
        principal.require_scope("orders:read")?;
    }
    let limit = page_size(filter.limit);
    let before: Option<i64> = decode_cursor(filter.cursor.as_deref())?;
    let now = state.clock.now_naive();
    let page = state
        .db(move |conn| {
            let rows = list(conn, &principal, &filter, before, limit)?;
            let page = page_from(rows, limit, |o| o.id);
            Ok(Page {
                items: model::views(conn, page.items, now)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

fn day_start(day: NaiveDate) -> chrono::NaiveDateTime {
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    start - chrono::Duration::hours(7)
}

fn list(
    conn: &mut DbConn,
    p: &Principal,
    f: &OrderFilter,
    before: Option<i64>,
    limit: usize,
) -> ApiResult<Vec<OrderRow>> {
    let mut q = orders::table
        .inner_join(laos::table.on(laos::id.eq(orders::lao_id)))
        .select(model::OrderRow::as_select())
        .order(orders::id.desc())
        .limit(limit as i64 + 1)
        .into_boxed();
    let area = &p.area;
    q = match p.role {
        Role::Admin => q,
        Role::ProvinceOfficer => {
            q.filter(orders::province_code.eq(area.province_code.clone().unwrap_or_default()))
        }
        // District officers do not oversee provincial administrative organizations.
        Role::DistrictOfficer => q
            .filter(orders::district_code.eq(area.district_code.clone().unwrap_or_default()))
            .filter(laos::lao_type.ne("provincial_admin_org")),
        Role::LaoStaff => q.filter(orders::lao_id.eq(area.lao_id.unwrap_or(-1))),
        Role::Producer => q.filter(orders::producer_id.eq(area.producer_id.unwrap_or(-1))),
        Role::Partner => q.filter(orders::partner_client_id.eq(p.partner_id().unwrap_or(-1))),
    };
    if let Some(id) = before {
        q = q.filter(orders::id.lt(id));
    }
    if let Some(code) = &f.lao_code {
        q = q.filter(laos::dla_code.eq(code.clone()));
    }
    if let Some(id) = f.producer_id {
        q = q.filter(orders::producer_id.eq(id));
    }
    if let Some(id) = f.window_id {
        q = q.filter(orders::window_id.eq(id));
    }
    if let Some(status) = f.status {
        q = q.filter(orders::status.eq(status.to_string()));
    }
    if let Some(from) = f.from {
        q = q.filter(orders::created_at.ge(day_start(from)));
    }
    if let Some(to) = f.to {
        q = q.filter(orders::created_at.lt(day_start(to + chrono::Duration::days(1))));
    }
    Ok(q.load(conn)?)
}

/// A PromptPay transfer a producer received.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TransferQuery {
    /// The amount received, in satang (฿425.00 = 42500).
    #[validate(range(min = 1, max = 999_999_999))]
    #[param(minimum = 1, maximum = 999_999_999)]
    pub amount_satang: i64,
    /// When it arrived, as the bank app shows it (RFC 3339; Bangkok time if written `+07:00`).
    pub received_at: chrono::DateTime<chrono::FixedOffset>,
}

/// Orders a transfer can pay
///
/// For a producer who sees a PromptPay transfer and wants its order: the producer's orders
/// awaiting payment with exactly that amount, placed before the transfer arrived (2 minutes'
/// slack, as apps show times to the minute), oldest first. One order: that is the one. Several:
/// the amount alone does not tell them apart; ask the buyers for the order code or the slip.
/// (Payment QRs carry the order code as their reference label, but no bank app is known to pass
/// it on to the payee.) For the producer and staff of its LAO, and officers of its area.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Producer id"), TransferQuery),
    responses(
        (status = 200, body = Vec<Order>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/producers/{id}/transfer-matches")]
pub async fn transfer_matches(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<TransferQuery>,
) -> ApiResult<web::Json<Vec<Order>>> {
    let id = id.into_inner();
    let ValidQuery(query) = query;
    let now = state.clock.now_naive();
    let matches = state
        .db(move |conn| {
            let (producer, lao) = crate::catalog::producers::find_with_lao(conn, id)?
                .ok_or_else(|| ApiError::not_found(crate::catalog::producers::PRODUCER))?;
            let place = producer.place(&lao);
            if !principal.may(Action::ManageOrders, &place) {
                authorize_hidden(
                    &principal,
                    Action::ReadArea,
                    &place,
                    crate::catalog::producers::PRODUCER,
                )?;
            }
            let rows: Vec<OrderRow> = orders::table
                .filter(orders::producer_id.eq(id))
                .filter(orders::status.eq(OrderStatus::PendingPayment))
                .filter(orders::total_satang.eq(query.amount_satang))
                .select(OrderRow::as_select())
                .load(conn)?;
            let open: Vec<promptpay::OpenOrder> = rows
                .iter()
                .filter(|o| o.status_at(now) == OrderStatus::PendingPayment)
                .map(|o| promptpay::OpenOrder {
                    code: o.code.clone(),
                    amount_satang: o.total_satang,
                    placed_at: o.created_at.and_utc(),
                })
                .collect();
            let received = query.received_at.to_utc();
            let codes: Vec<String> =
                promptpay::orders_matching_transfer(&open, query.amount_satang, received)
                    .into_iter()
                    .map(|o| o.code.clone())
                    .collect();
            let mut picked: Vec<OrderRow> = Vec::with_capacity(codes.len());
            for code in &codes {
                if let Some(row) = rows.iter().find(|r| &r.code == code) {
                    picked.push(row.clone());
                }
            }
            model::views(conn, picked, now)
        })
        .await?;
    Ok(web::Json(matches))
}

/// An order, in full or in short.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum OrderOrSummary {
    Full(Box<Order>),
    Summary(OrderSummary),
}

/// An order
///
/// In full for its buyer (`X-Order-Secret`), the partner that placed it, and staff and officers
/// of its area; in short (status and totals) for `X-Buyer-Phone` with the buyer's number; 404 for
/// anyone else. Codes may be typed in lower case or without the dash.
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code", example = "7KQ3-XPMA"),
        ("X-Order-Secret" = Option<String>, Header, description = "The secret given when the order was placed"),
        ("X-Buyer-Phone" = Option<String>, Header, description = "The buyer's phone number (short view)"),
    ),
    responses(
        (status = 200, body = OrderOrSummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{code}")]
pub async fn get_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
) -> ApiResult<web::Json<OrderOrSummary>> {
    let code = code.into_inner();
    let secret = header_value(&req, SECRET_HEADER).map(str::to_string);
    let phone = header_value(&req, PHONE_HEADER).map(str::to_string);
    let now = state.clock.now_naive();
    let order = state
        .db(move |conn| {
            let order = order_by_path(conn, &code)?;
            let caller = Caller {
                principal: principal.0.as_ref(),
                secret: secret.as_deref(),
                phone: phone.as_deref(),
            };
            match model::standing(conn, &order, caller)?.view()? {
                Access::Full => Ok(OrderOrSummary::Full(Box::new(model::view(
                    conn, order, now,
                )?))),
                Access::Limited => Ok(OrderOrSummary::Summary(model::summary(conn, order, now)?)),
            }
        })
        .await?;
    Ok(web::Json(order))
}

/// A step in an order's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    /// `user:12`, `client:3`, `buyer:+668…`, `system`.
    pub actor: String,
    pub note: Option<String>,
    pub at: chrono::DateTime<chrono::FixedOffset>,
}

/// An order's history
///
/// Every status it took, who moved it and when (append-only). Same access as the full order.
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code"),
        ("X-Order-Secret" = Option<String>, Header, description = "The order secret"),
    ),
    responses(
        (status = 200, body = Vec<HistoryEntry>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{code}/history")]
pub async fn order_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
) -> ApiResult<web::Json<Vec<HistoryEntry>>> {
    let code = code.into_inner();
    let secret = header_value(&req, SECRET_HEADER).map(str::to_string);
    let history = state
        .db(move |conn| {
            let order = order_by_path(conn, &code)?;
            let caller = Caller {
                principal: principal.0.as_ref(),
                secret: secret.as_deref(),
                phone: None,
            };
            model::standing(conn, &order, caller)?.full_view()?;
            Ok(model::history_of(conn, order.id)?
                .into_iter()
                .map(|h| HistoryEntry {
                    from_status: h.from_status,
                    to_status: h.to_status,
                    actor: h.actor,
                    note: h.note,
                    at: to_bangkok(h.created_at),
                })
                .collect())
        })
        .await?;
    Ok(web::Json(history))
}

#[derive(Debug, Default, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

fn parse_optional<T: Default + serde::de::DeserializeOwned + Validate>(
    body: &[u8],
) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: T = parse_json(body)?;
    validate_value(&value)?;
    Ok(value)
}

/// Cancel an order
///
/// Before payment only: the buyer (`X-Order-Secret`), the partner that placed it, or staff. Its
/// units go back to the window (and to its waiting list). Paid orders are refunded by staff.
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code"),
        ("X-Order-Secret" = Option<String>, Header, description = "The order secret"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional"),
    ),
    request_body(content = NoteBody, description = "Optional reason"),
    responses(
        (status = 200, body = Order),
        (status = 403, description = "An account that may not act on this order", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{code}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let note: NoteBody = parse_optional(&body)?;
    let code = code.into_inner();
    let secret = header_value(&req, SECRET_HEADER).map(str::to_string);
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let principal = principal.0;
    // Who may cancel is checked before any stored answer is replayed.
    standing_of(&state, &code, principal.as_ref(), secret.as_deref())
        .await?
        .mover()?;
    let scope = Scope::of(
        principal.as_ref(),
        secret.as_deref().map(Proof::OrderSecret),
    );
    idempotency::run(&state, &req, scope, &body, false, move |conn| {
        let order = order_by_path(conn, &code)?;
        let caller = Caller {
            principal: principal.as_ref(),
            secret: secret.as_deref(),
            phone: None,
        };
        let mover = model::standing(conn, &order, caller)?.mover()?;
        let order = lifecycle::lock_and_refresh(conn, &order, now)?;
        let actor = actor_of(principal.as_ref(), &order);
        let details = MoveDetails {
            note: note.note.as_deref(),
            payment_reference: None,
        };
        let moved = lifecycle::move_order(
            conn,
            &order,
            OrderStatus::Cancelled,
            mover,
            &actor,
            details,
            &pepper,
            now,
        )?;
        Ok((StatusCode::OK, model::view(conn, moved, now)?))
    })
    .await
}

/// What the caller is to the order named by `code`: read before an idempotent answer could be
/// replayed, so that a replay never reaches a caller who would be refused without the key.
async fn standing_of(
    state: &AppState,
    code: &str,
    principal: Option<&Principal>,
    secret: Option<&str>,
) -> ApiResult<model::Standing> {
    let (code, principal, secret) = (
        code.to_string(),
        principal.cloned(),
        secret.map(str::to_string),
    );
    state
        .db(move |conn| {
            let order = order_by_path(conn, &code)?;
            let caller = Caller {
                principal: principal.as_ref(),
                secret: secret.as_deref(),
                phone: None,
            };
            model::standing(conn, &order, caller)
        })
        .await
}

fn actor_of(principal: Option<&Principal>, order: &OrderRow) -> String {
    principal
        .map(Principal::actor_label)
        .unwrap_or_else(|| format!("buyer:{}", order.buyer_phone))
}

/// How to pay an order by PromptPay.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "code": "7KQ3-XPMA", "amount_satang": 96000, "currency": "THB",
    "promptpay_payload": "00020101021229370016A000000677010111011300668123456785802TH53037645406960.00621305097KQ3-XPMA63047996",
    "payee": "วิสาหกิจชุมชนลำไยแม่ปะ", "promptpay_id_masked": "xxx-xxx-5678", "due_at": "2026-06-02T09:00:00+07:00",
    "qr_svg": "/v1/orders/7KQ3-XPMA/payment/qr.svg", "qr_png": "/v1/orders/7KQ3-XPMA/payment/qr.png"
}))]
pub struct PaymentInfo {
    pub code: String,
    pub amount_satang: i64,
    pub currency: &'static str,
    /// The EMVCo "Thai QR" text, with the order code as its reference label (tag 62/05):
    /// render it as a QR code, or fetch `qr_svg` / `qr_png`.
    pub promptpay_payload: String,
    /// Who is paid (the producer).
    pub payee: String,
    pub promptpay_id_masked: String,
    pub due_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The QR as SVG or PNG (send the same `X-Order-Secret`).
    pub qr_svg: String,
    pub qr_png: String,
}

/// The order, its producer's PromptPay id and the payload, for a caller with full access, while
/// the order waits for its payment: a cancelled, expired, refunded or already paid order offers
/// nothing to pay (409 `order_not_payable` with its status).
fn payable(
    conn: &mut DbConn,
    code: &str,
    principal: Option<&Principal>,
    secret: Option<&str>,
    with_reference: bool,
    now: chrono::NaiveDateTime,
) -> ApiResult<(OrderRow, String, PromptPayId, String)> {
    let order = order_by_path(conn, code)?;
    let caller = Caller {
        principal,
        secret,
        phone: None,
    };
    model::standing(conn, &order, caller)?.full_view()?;
    let status = order.status_at(now);
    if status != OrderStatus::PendingPayment
        || !(1..=promptpay::MAX_AMOUNT_SATANG).contains(&order.total_satang)
    {
        return Err(lifecycle::not_payable(status));
    }
    let (name, stored): (String, Option<String>) = producers::table
        .find(order.producer_id)
        .select((producers::display_name, producers::promptpay_id))
        .first(conn)?;
    let target: PromptPayId = stored
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::new(ErrorKind::PromptPayNotAvailable))?;
    // The order code rides along as the reference label (tag 62/05) where the deployment
    // allows it; matching never depends on it (see docs/promptpay.md).
    let reference = with_reference.then_some(order.code.as_str());
    let payload = promptpay::payload_with_reference(&target, Some(order.total_satang), reference)
        .map_err(ApiError::internal)?;
    Ok((order, name, target, payload))
}

/// How to pay
///
/// The PromptPay payload for the producer with the order's total (EMVCo, with amount and CRC),
/// and links to the QR image. Same access as the full order.
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code"),
        ("X-Order-Secret" = Option<String>, Header, description = "The order secret"),
    ),
    responses(
        (status = 200, body = PaymentInfo),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "order_not_payable (cancelled, expired, refunded or already paid: see `order_status`), promptpay_not_available", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{code}/payment")]
pub async fn payment_info(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
) -> ApiResult<web::Json<PaymentInfo>> {
    let code = code.into_inner();
    let secret = header_value(&req, SECRET_HEADER).map(str::to_string);
    let now = state.clock.now_naive();
    let reference = state.config.promptpay_order_reference;
    let info = state
        .db(move |conn| {
            let (order, payee, target, payload) = payable(
                conn,
                &code,
                principal.0.as_ref(),
                secret.as_deref(),
                reference,
                now,
            )?;
            Ok(payment_info_of(order, payee, &target, payload))
        })
        .await?;
    Ok(web::Json(info))
}

fn payment_info_of(
    order: OrderRow,
    payee: String,
    target: &PromptPayId,
    payload: String,
) -> PaymentInfo {
    PaymentInfo {
        qr_svg: format!("/v1/orders/{}/payment/qr.svg", order.code),
        qr_png: format!("/v1/orders/{}/payment/qr.png", order.code),
        code: order.code,
        amount_satang: order.total_satang,
        currency: "THB",
        promptpay_payload: payload,
        payee,
        promptpay_id_masked: target.masked(),
        due_at: order.payment_due_at.map(to_bangkok),
    }
}

/// The order whose buyer holds `secret`, in full (404 `not_found` for a wrong code or secret),
/// with how to pay it by PromptPay while it waits for payment (`None` once paid, cancelled or
/// expired, or when its producer takes no PromptPay). For pages that show a buyer their order,
/// such as the embedded form's confirmation.
pub fn buyer_order(
    conn: &mut DbConn,
    code: &str,
    secret: &str,
    with_reference: bool,
    now: chrono::NaiveDateTime,
) -> ApiResult<(Order, Option<PaymentInfo>)> {
    let order = order_by_path(conn, code)?;
    let caller = Caller {
        principal: None,
        secret: Some(secret),
        phone: None,
    };
    model::standing(conn, &order, caller)?.full_view()?;
    let payment = buyer_payment(conn, code, secret, with_reference, now)?;
    Ok((model::view(conn, order, now)?, payment))
}

/// How the buyer who holds `secret` pays the order by PromptPay; `None` once it is paid,
/// cancelled or expired, or when its producer takes no PromptPay; 404 without access.
pub fn buyer_payment(
    conn: &mut DbConn,
    code: &str,
    secret: &str,
    with_reference: bool,
    now: chrono::NaiveDateTime,
) -> ApiResult<Option<PaymentInfo>> {
    match payable(conn, code, None, Some(secret), with_reference, now) {
        Ok((row, payee, target, payload)) => {
            Ok(Some(payment_info_of(row, payee, &target, payload)))
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::OrderNotPayable | ErrorKind::PromptPayNotAvailable
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The payment payload of the order a QR route names, for a caller with full access.
async fn payload_of(
    state: &AppState,
    req: &HttpRequest,
    principal: OptionalPrincipal,
    code: String,
) -> ApiResult<String> {
    let secret = header_value(req, SECRET_HEADER).map(str::to_string);
    let now = state.clock.now_naive();
    let reference = state.config.promptpay_order_reference;
    state
        .db(move |conn| {
            let (_, _, _, payload) = payable(
                conn,
                &code,
                principal.0.as_ref(),
                secret.as_deref(),
                reference,
                now,
            )?;
            Ok(payload)
        })
        .await
}

/// PromptPay QR (SVG)
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code"),
        ("X-Order-Secret" = Option<String>, Header, description = "The order secret"),
    ),
    responses(
        (status = 200, description = "QR code", body = String, content_type = "image/svg+xml"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "order_not_payable, promptpay_not_available", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{code}/payment/qr.svg")]
pub async fn payment_qr_svg(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let payload = payload_of(&state, &req, principal, code.into_inner()).await?;
    let svg = promptpay::qr_svg(&payload).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(svg))
}

/// PromptPay QR (PNG)
#[utoipa::path(
    tag = "orders",
    params(
        ("code" = String, Path, description = "Order code"),
        ("X-Order-Secret" = Option<String>, Header, description = "The order secret"),
    ),
    responses(
        (status = 200, description = "QR code", body = Vec<u8>, content_type = "image/png"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "order_not_payable, promptpay_not_available", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/orders/{code}/payment/qr.png")]
pub async fn payment_qr_png(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: OptionalPrincipal,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let payload = payload_of(&state, &req, principal, code.into_inner()).await?;
    let png = promptpay::qr_png(&payload, 8).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(png))
}

/// Marking an order paid.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reference": "โอนพร้อมเพย์ 14:32 น. เลขอ้างอิง 0123456789"}))]
pub struct PaymentConfirmation {
    /// The bank's reference or a note of how it was paid.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub reference: String,
}

/// Mark an order paid
///
/// For the producer, the LAO's staff and admins, once the transfer is seen: the order becomes
/// `confirmed` and a sale is recorded for the statistics.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("code" = String, Path, description = "Order code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional"),
    ),
    request_body = PaymentConfirmation,
    responses(
        (status = 200, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{code}/payment")]
pub async fn confirm_payment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    code: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let confirmation: PaymentConfirmation = valid_json_bytes(&req, &body)?;
    let code = code.into_inner();
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let caller = principal.clone();
    standing_of(&state, &code, Some(&principal), None)
        .await?
        .staff()?;
    let scope = Scope::of(Some(&principal), None);
    idempotency::run(&state, &req, scope, &body, false, move |conn| {
        let order = order_by_path(conn, &code)?;
        model::standing(conn, &order, Caller::signed_in(&caller))?.staff()?;
        // An unpaid order past its deadline expires now, before anyone can mark it paid.
        let order = lifecycle::lock_and_refresh(conn, &order, now)?;
        let details = MoveDetails {
            note: None,
            payment_reference: Some(confirmation.reference.trim()),
        };
        let moved = lifecycle::move_order(
            conn,
            &order,
            OrderStatus::Confirmed,
            Mover::Staff,
            &caller.actor_label(),
            details,
            &pepper,
            now,
        )?;
        Ok((StatusCode::OK, model::view(conn, moved, now)?))
    })
    .await
}

/// A status move.
#[derive(Debug, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "ready", "note": "คัดเกรดและแพ็กแล้ว 2 กล่อง"}))]
pub struct Transition {
    /// `ready`, `shipped`, `handed_over`, `delivered`, `picked_up`, `refunded` (see the order's
    /// `next_statuses`).
    pub to: OrderStatus,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Move an order on
///
/// For the producer, the LAO's staff and admins: `confirmed → ready → shipped → delivered`
/// (carrier) or `ready → handed_over → picked_up` / `ready → picked_up` (pickup), and `refunded`
/// from a paid order (an undispatched one gives its units back). Illegal moves: 409
/// `invalid_transition` with the allowed ones.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(
        ("code" = String, Path, description = "Order code"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional"),
    ),
    request_body = Transition,
    responses(
        (status = 200, body = Order),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_transition", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{code}/transitions")]
pub async fn move_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    code: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let transition: Transition = valid_json_bytes(&req, &body)?;
    let code = code.into_inner();
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    let caller = principal.clone();
    standing_of(&state, &code, Some(&principal), None)
        .await?
        .staff()?;
    let scope = Scope::of(Some(&principal), None);
    idempotency::run(&state, &req, scope, &body, false, move |conn| {
        let order = order_by_path(conn, &code)?;
        model::standing(conn, &order, Caller::signed_in(&caller))?.staff()?;
        let details = MoveDetails {
            note: transition.note.as_deref(),
            payment_reference: None,
        };
        let moved = lifecycle::move_order(
            conn,
            &order,
            transition.to,
            Mover::Staff,
            &caller.actor_label(),
            details,
            &pepper,
            now,
        )?;
        Ok((StatusCode::OK, model::view(conn, moved, now)?))
    })
    .await
}

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    /// Include cancelled, expired and refunded orders (default: only orders to pack).
    #[serde(default)]
    pub all: bool,
}

/// Packing list of a window (CSV)
///
/// The window's orders, one line per order, with Thai headers, in UTF-8 with a byte-order mark
/// so that Excel and Google Sheets read Thai correctly. For staff and officers of the area.
#[utoipa::path(
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Window id"), CsvQuery),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/windows/{id}/orders.csv")]
pub async fn window_orders_csv(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: ValidQuery<CsvQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let all = query.0.all;
    let now = state.clock.now_naive();
    let (file_name, body) = state
        .db(move |conn| {
            let (window, lao) = preorder_windows::find_with_lao(conn, id)?
                .ok_or_else(|| ApiError::not_found(WINDOW))?;
            let place = window.place(&lao);
            if !principal.may(Action::ManageOrders, &place) {
                authorize_hidden(&principal, Action::ReadArea, &place, WINDOW)?;
            }
            let rows: Vec<OrderRow> = orders::table
                .filter(orders::window_id.eq(id))
                .order(orders::id)
                .select(OrderRow::as_select())
                .load(conn)?;
            let rows: Vec<OrderRow> = rows
                .into_iter()
                .filter(|row| all || row.status_at(now).is_live())
                .collect();
            let orders_out = model::views(conn, rows, now)?;
            Ok((format!("orders-window-{id}.csv"), packing_csv(&orders_out)?))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(spreadsheet::CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body))
}

/// The packing list: Thai headers, one line per order, through the shared spreadsheet writer
/// (formula-like text neutralised, phones in the Thai national form, amounts as numbers).
pub fn packing_csv(orders_out: &[Order]) -> ApiResult<Vec<u8>> {
    let mut sheet = SheetWriter::new([
        "รหัสคำสั่งซื้อ",
        "สถานะ",
        "ชื่อผู้ซื้อ",
        "เบอร์โทร",
        "ช่องทาง",
        "วิธีรับสินค้า",
        "จุดรับสินค้า / ที่อยู่จัดส่ง",
        "รายการสินค้า",
        "จำนวนหน่วย",
        "หน่วย",
        "ค่าสินค้า (บาท)",
        "ค่าส่ง (บาท)",
        "รวม (บาท)",
        "ชำระเงินเมื่อ",
        "หมายเหตุ",
        "สั่งเมื่อ",
    ]);
    for o in orders_out {
        let place = match (&o.delivery.pickup_point, &o.delivery.address) {
            (Some(p), _) => format!("{} ({})", p.name, p.starts_at.format("%Y-%m-%d %H:%M")),
            (_, Some(a)) => format!(
                "{} โทร {} {}",
                a.recipient_name,
                national_phone(&a.phone),
                a.one_line_th()
            ),
            _ => String::new(),
        };
        let items: Vec<String> = o
            .lines
            .iter()
            .map(|l| format!("{} × {}", l.name, l.quantity))
            .collect();
        let channel = match o.channel {
            Channel::Partner => "พาร์ทเนอร์",
            Channel::Embed => "ฟอร์ม อปท.",
            Channel::Staff => "เจ้าหน้าที่",
        };
        let method = match o.delivery.method {
            model::DeliveryMethod::Pickup => "รับเอง",
            model::DeliveryMethod::Carrier => "ส่งพัสดุ",
        };
        sheet
            .row([
                o.code.as_str().into(),
                o.status_th.as_str().into(),
                o.buyer.name.as_str().into(),
                Cell::phone(&o.buyer.phone),
                channel.into(),
                method.into(),
                place.into(),
                items.join("; ").into(),
                o.units_total.into(),
                o.unit.as_str().into(),
                Cell::Satang(o.subtotal_satang),
                Cell::Satang(o.delivery_fee_satang),
                Cell::Satang(o.total_satang),
                o.payment.paid_at.into(),
                o.note.as_deref().into(),
                o.created_at.into(),
            ])
            .map_err(ApiError::internal)?;
    }
    sheet.finish().map_err(ApiError::internal)
}

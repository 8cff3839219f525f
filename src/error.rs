//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.
//!
//! An [`ApiError`] carries a stable [`ErrorKind`] (its snake_case code is the `type` clients branch
//! on), parameters for the detail text (also shown as extension members), and for validation the
//! list of field errors. Titles and details exist in Thai and English; the response middleware
//! renders them in the language the caller asked for.
//!
//! ## Language
//!
//! - A Thai `detail` or `errors[].message` carries no English: a parameter built at run time that
//!   reads differently in Thai (a state, a move, a unit, a parser's complaint) is a
//!   [`Param::both`]; field errors take the same parameters ([`FieldError::with`]).
//!   [`crate::i18n::untranslated_words`] is the rule the tests hold every Thai text to: only code
//!   spans, paths, media types and a few names ([`crate::i18n::LATIN_NAMES_IN_THAI`]) stay in
//!   Latin letters.
//! - An English text names states and moves by their label ("pending payment"), never by the
//!   wire value (`pending_payment`); see [`crate::i18n::bare_identifiers`].
//! - Field names, values to send verbatim, headers and method-and-path are code spans
//!   (`` `hold_id` ``, [`crate::i18n::code_span`]) in both languages. Templates quote the
//!   parameters that always hold such names (`{field}`, `{other}`, `{scope}`, `{method}`), so
//!   callers pass the bare name.
//! - Complaints of parsers (serde_json, serde, serde_urlencoded, actix): the English text is the
//!   parser's own message (without serde_json's position suffix in field errors), so a developer
//!   who needs the parser's words asks in English; the Thai text is our reading of the same
//!   complaint (`crate::extract`), or a generic one where we cannot read it. Neither language
//!   gets a member of its own for it. JSON syntax errors also carry `line` and `column` members.
//! - Parameters are members of the problem too, in the caller's language (`reason` of
//!   `malformed_json` is Thai in a Thai answer). Field errors keep the members `field`, `code`
//!   and `message`; their parameters appear only in the message.

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value, json};
use strum::{EnumIter, IntoEnumIterator};

use crate::i18n::{Lang, Text, render};

/// Every kind of problem the API reports. The code is stable: clients branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter)]
pub enum ErrorKind {
    BadRequest,
    ValidationFailed,
    MalformedJson,
    MalformedForm,
    InvalidParameter,
    UnsupportedMediaType,
    PayloadTooLarge,
    RouteNotFound,
    MethodNotAllowed,
    NotFound,
    AlreadyExists,
    Conflict,
    AuthenticationRequired,
    InvalidToken,
    Forbidden,
    InsufficientScope,
    RateLimited,
    DatabaseUnavailable,
    Internal,
    // Pre-order windows, holds and waiting lists.
    WindowNotOpen,
    WindowClosed,
    SoldOut,
    InsufficientCapacity,
    OrderLimit,
    BuyerLimit,
    UnknownVariant,
    HoldExpired,
    HoldNotActive,
    ExtensionLimit,
    CapacityBelowCommitted,
    InvalidTransition,
    WaitlistNotNeeded,
    // Orders and payments.
    IdempotencyKeyRequired,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    PromptPayNotAvailable,
    OrderNotPayable,
    OrderTotalTooLarge,
    // Logistics.
    OrderNotDispatchable,
    NothingToDispatch,
    OrderInOpenBatch,
    ShipByPassed,
    CarrierBlackout,
    TrackingMissing,
    InvalidSignature,
    // Photos.
    ImageTooLarge,
    UnreadableImage,
    StorageUnavailable,
    // The embedded form.
    OriginNotAllowed,
    // Personal data.
    PersonalDataInUse,
    // OAuth 2.0 token endpoint errors (RFC 6749 §5.2); the code is also the `error` member.
    OAuthInvalidRequest,
    InvalidGrant,
    InvalidClient,
    UnsupportedGrantType,
    InvalidScope,
}

/// What a kind of problem looks like: its status, code and texts.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: Text,
    pub detail: Text,
}

fn info(status: u16, code: &'static str, title: Text, detail: Text) -> KindInfo {
    KindInfo {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code,
        title,
        detail,
    }
}

const fn t(en: &'static str, th: &'static str) -> Text {
    Text { en, th }
}

impl ErrorKind {
    pub fn info(self) -> KindInfo {
        use ErrorKind::*;
        match self {
            BadRequest => info(
                400,
                "bad_request",
                t("Bad request", "คำขอไม่ถูกต้อง"),
                t(
                    "The request could not be understood: {reason}",
                    "ไม่สามารถเข้าใจคำขอได้: {reason}",
                ),
            ),
            ValidationFailed => info(
                422,
                "validation_failed",
                t("Validation failed", "ข้อมูลไม่ผ่านการตรวจสอบ"),
                t(
                    "Some fields are invalid; each is listed in errors.",
                    "มีข้อมูลบางช่องไม่ถูกต้อง ดูรายละเอียดแต่ละช่องใน `errors`",
                ),
            ),
            MalformedJson => info(
                400,
                "malformed_json",
                t("Malformed JSON", "JSON ไม่ถูกต้อง"),
                t(
                    "The request body is not valid JSON: {reason}",
                    "เนื้อหาคำขอไม่ใช่ JSON ที่ถูกต้อง: {reason}",
                ),
            ),
            MalformedForm => info(
                400,
                "malformed_form",
                t("Malformed form", "ข้อมูลฟอร์มไม่ถูกต้อง"),
                t(
                    "The form body could not be read: {reason}",
                    "อ่านข้อมูลฟอร์มไม่ได้: {reason}",
                ),
            ),
            InvalidParameter => info(
                400,
                "invalid_parameter",
                t("Invalid parameter", "พารามิเตอร์ไม่ถูกต้อง"),
                t(
                    "A path or query parameter is invalid; each is listed in errors.",
                    "พารามิเตอร์ในพาธหรือคิวรีไม่ถูกต้อง ดูรายละเอียดใน `errors`",
                ),
            ),
            UnsupportedMediaType => info(
                415,
                "unsupported_media_type",
                t("Unsupported media type", "ไม่รองรับชนิดข้อมูลนี้"),
                t(
                    "Send the request body as {expected}.",
                    "กรุณาส่งเนื้อหาคำขอเป็น {expected}",
                ),
            ),
            PayloadTooLarge => info(
                413,
                "payload_too_large",
                t("Payload too large", "ข้อมูลมีขนาดใหญ่เกินไป"),
                t(
                    "The request body is larger than {limit} bytes.",
                    "เนื้อหาคำขอมีขนาดเกิน {limit} ไบต์",
                ),
            ),
            RouteNotFound => info(
                404,
                "route_not_found",
                t("No such endpoint", "ไม่พบเส้นทางนี้"),
                t(
                    "No endpoint answers `{method} {path}`; see /docs for the API.",
                    "ไม่มีบริการสำหรับ `{method} {path}` ดูรายการบริการได้ที่ /docs",
                ),
            ),
            MethodNotAllowed => info(
                405,
                "method_not_allowed",
                t("Method not allowed", "ไม่รองรับเมธอดนี้"),
                t(
                    "This endpoint does not accept `{method}`.",
                    "บริการนี้ไม่รองรับเมธอด `{method}`",
                ),
            ),
            NotFound => info(
                404,
                "not_found",
                t("Not found", "ไม่พบข้อมูล"),
                t(
                    "The {resource} does not exist or is not visible to you.",
                    "ไม่พบ{resource} หรือคุณไม่มีสิทธิ์เห็นข้อมูลนี้",
                ),
            ),
            AlreadyExists => info(
                409,
                "already_exists",
                t("Already exists", "มีข้อมูลนี้อยู่แล้ว"),
                t(
                    "A {resource} with this `{field}` already exists.",
                    "มี{resource}ที่ใช้ `{field}` นี้อยู่แล้ว",
                ),
            ),
            Conflict => info(
                409,
                "conflict",
                t("Conflict", "ข้อมูลขัดแย้ง"),
                t(
                    "The request conflicts with the current state: {reason}",
                    "คำขอขัดแย้งกับสถานะปัจจุบัน: {reason}",
                ),
            ),
            AuthenticationRequired => info(
                401,
                "authentication_required",
                t("Authentication required", "ต้องยืนยันตัวตน"),
                t(
                    "Send an access token: `Authorization: Bearer <token>` (see `POST /v1/auth/token`).",
                    "กรุณาส่งโทเคนในส่วนหัว `Authorization: Bearer <token>` (ขอโทเคนได้ที่ `POST /v1/auth/token`)",
                ),
            ),
            InvalidToken => info(
                401,
                "invalid_token",
                t("Invalid token", "โทเคนไม่ถูกต้อง"),
                t(
                    "The access token was rejected: {reason}",
                    "โทเคนถูกปฏิเสธ: {reason}",
                ),
            ),
            Forbidden => info(
                403,
                "forbidden",
                t("Forbidden", "ไม่มีสิทธิ์"),
                t(
                    "Your role or area does not allow this action.",
                    "บทบาทหรือพื้นที่ของคุณไม่มีสิทธิ์ทำรายการนี้",
                ),
            ),
            InsufficientScope => info(
                403,
                "insufficient_scope",
                t("Insufficient scope", "ขอบเขตสิทธิ์ไม่พอ"),
                t(
                    "This call needs the scope `{scope}`.",
                    "รายการนี้ต้องใช้ขอบเขตสิทธิ์ `{scope}`",
                ),
            ),
            RateLimited => info(
                429,
                "rate_limited",
                t("Too many requests", "ส่งคำขอถี่เกินไป"),
                t(
                    "Too many requests; wait {retry_after} s before trying again.",
                    "ส่งคำขอถี่เกินไป กรุณาลองใหม่ในอีก {retry_after} วินาที",
                ),
            ),
            DatabaseUnavailable => info(
                503,
                "database_unavailable",
                t("Service unavailable", "ระบบไม่พร้อมให้บริการชั่วคราว"),
                t(
                    "The database cannot be reached right now; try again shortly.",
                    "ขณะนี้ติดต่อฐานข้อมูลไม่ได้ กรุณาลองใหม่อีกครั้ง",
                ),
            ),
            WindowNotOpen => info(
                409,
                "window_not_open",
                t("Not open yet", "ยังไม่เปิดรับจอง"),
                t(
                    "The pre-order window is not open yet; it opens on {opens} (Bangkok time).",
                    "รอบพรีออเดอร์นี้ยังไม่เปิด จะเปิดรับจองวันที่ {opens}",
                ),
            ),
            WindowClosed => info(
                409,
                "window_closed",
                t("Window closed", "ปิดรับจองแล้ว"),
                t(
                    "The pre-order window takes no more holds or orders (it is {status}).",
                    "รอบพรีออเดอร์นี้ไม่รับจองเพิ่มแล้ว (สถานะ “{status}”)",
                ),
            ),
            SoldOut => info(
                409,
                "sold_out",
                t("Sold out", "สินค้าหมดแล้ว"),
                t(
                    "Every unit is held or sold. Join the waiting list to be offered units that come back.",
                    "สินค้าถูกจองหรือขายครบแล้ว ลงชื่อรอคิวเพื่อรับสิทธิ์เมื่อมีสินค้าคืนกลับมา",
                ),
            ),
            InsufficientCapacity => info(
                409,
                "insufficient_capacity",
                t("Not enough left", "สินค้าเหลือไม่พอ"),
                t(
                    "Only {available} {unit_name} are left.",
                    "เหลือเพียง {available} {unit_name}",
                ),
            ),
            OrderLimit => info(
                422,
                "order_limit",
                t("Outside the order limits", "จำนวนไม่อยู่ในเงื่อนไขการสั่ง"),
                t(
                    "An order from this window takes {limits}.",
                    "คำสั่งซื้อในรอบนี้ต้องมี{limits}",
                ),
            ),
            BuyerLimit => info(
                409,
                "buyer_limit",
                t("Over the per-buyer limit", "เกินจำนวนที่จำกัดต่อผู้ซื้อ"),
                t(
                    "One buyer may take at most {max_units} units from this window; {remaining} remain for this phone number.",
                    "ผู้ซื้อหนึ่งรายจองได้ไม่เกิน {max_units} หน่วยในรอบนี้ หมายเลขนี้จองได้อีก {remaining} หน่วย",
                ),
            ),
            UnknownVariant => info(
                422,
                "unknown_variant",
                t("Unknown variant", "ไม่มีตัวเลือกสินค้านี้"),
                t(
                    "A line names a variant this window does not offer; see errors.",
                    "มีรายการที่เลือกตัวเลือกสินค้าที่รอบนี้ไม่มีขาย ดูรายละเอียดใน `errors`",
                ),
            ),
            HoldExpired => info(
                410,
                "hold_expired",
                t("Hold expired", "หมดเวลากันสินค้า"),
                t(
                    "The hold expired at {expires_at}; place a new one.",
                    "การกันสินค้าหมดเวลาเมื่อ {expires_at} กรุณาจองใหม่",
                ),
            ),
            HoldNotActive => info(
                409,
                "hold_not_active",
                t("Hold not active", "การกันสินค้าสิ้นสุดแล้ว"),
                t(
                    "The hold is already {status}.",
                    "การกันสินค้านี้สิ้นสุดแล้ว (สถานะ “{status}”)",
                ),
            ),
            ExtensionLimit => info(
                409,
                "extension_limit",
                t("No more extensions", "ต่อเวลาไม่ได้อีก"),
                t(
                    "A hold can be extended at most {max} times.",
                    "ต่อเวลากันสินค้าได้ไม่เกิน {max} ครั้ง",
                ),
            ),
            CapacityBelowCommitted => info(
                409,
                "capacity_below_committed",
                t("Capacity below what is taken", "จำนวนน้อยกว่าที่จองไปแล้ว"),
                t(
                    "Capacity cannot go below the {committed} units already held or sold.",
                    "ตั้งจำนวนต่ำกว่า {committed} หน่วยที่ถูกจองหรือขายไปแล้วไม่ได้",
                ),
            ),
            InvalidTransition => info(
                409,
                "invalid_transition",
                t("Not possible now", "ทำรายการนี้ในสถานะปัจจุบันไม่ได้"),
                t(
                    "Something that is {status} cannot {action}.",
                    "รายการในสถานะ “{status}” ไม่สามารถ{action}ได้",
                ),
            ),
            WaitlistNotNeeded => info(
                409,
                "waitlist_not_needed",
                t("Units are available", "ยังมีสินค้าให้จอง"),
                t(
                    "{available} units are available: hold them instead of waiting.",
                    "ยังมีสินค้า {available} หน่วย จองได้เลยโดยไม่ต้องรอคิว",
                ),
            ),
            IdempotencyKeyRequired => info(
                400,
                "idempotency_key_required",
                t("Idempotency-Key required", "ต้องส่ง Idempotency-Key"),
                t(
                    "This request needs an Idempotency-Key header (a random UUID, new for each order or hold; partner clients and the embedded form always send one), so that a retry never orders or holds twice.",
                    "คำขอนี้ต้องมีส่วนหัว Idempotency-Key (UUID แบบสุ่ม ใหม่ทุกครั้งที่สั่งซื้อหรือกันสินค้า ไคลเอนต์พาร์ทเนอร์และแบบฟอร์มที่ฝังในเว็บไซต์ต้องส่งทุกครั้ง) เพื่อไม่ให้การส่งซ้ำกลายเป็นคำสั่งซื้อหรือการกันสินค้าซ้ำ",
                ),
            ),
            IdempotencyInFlight => info(
                409,
                "idempotency_in_flight",
                t("Request in progress", "คำขอเดิมยังทำงานอยู่"),
                t(
                    "A request with this Idempotency-Key is still being processed; retry in a moment to get its answer.",
                    "คำขอที่ใช้ Idempotency-Key นี้ยังประมวลผลอยู่ ลองส่งใหม่อีกครู่เพื่อรับผลลัพธ์",
                ),
            ),
            IdempotencyKeyReused => info(
                422,
                "idempotency_key_reused",
                t("Idempotency-Key reused", "ใช้ Idempotency-Key ซ้ำกับคำขออื่น"),
                t(
                    "This Idempotency-Key was used for a different request; use a new key for a new request.",
                    "Idempotency-Key นี้เคยใช้กับคำขออื่นแล้ว คำขอใหม่ต้องใช้คีย์ใหม่",
                ),
            ),
            PromptPayNotAvailable => info(
                409,
                "promptpay_not_available",
                t("No PromptPay for this producer", "ผู้ผลิตยังไม่มีพร้อมเพย์"),
                t(
                    "The producer has no PromptPay id; the LAO will tell the buyer how to pay.",
                    "ผู้ผลิตยังไม่ได้ลงทะเบียนพร้อมเพย์ อปท. จะแจ้งวิธีชำระเงินให้ผู้ซื้อทราบ",
                ),
            ),
            OrderNotPayable => info(
                409,
                "order_not_payable",
                t("Nothing to pay", "ไม่มียอดที่ต้องชำระ"),
                t(
                    "This order cannot be paid now: it is {status}.",
                    "คำสั่งซื้อนี้ชำระเงินไม่ได้ เพราะอยู่ในสถานะ “{status}”",
                ),
            ),
            OrderTotalTooLarge => info(
                422,
                "order_total_too_large",
                t("Order total too large", "ยอดคำสั่งซื้อสูงเกินไป"),
                t(
                    "The order comes to {total} baht, more than one PromptPay payment can carry ({max} baht); place it as several smaller orders.",
                    "คำสั่งซื้อนี้มียอด {total} บาท เกินกว่าที่ชำระผ่านพร้อมเพย์ได้ในครั้งเดียว ({max} บาท) กรุณาแบ่งเป็นหลายคำสั่งซื้อ",
                ),
            ),
            OrderNotDispatchable => info(
                409,
                "order_not_dispatchable",
                t("Orders cannot be dispatched", "คำสั่งซื้อยังจัดส่งไม่ได้"),
                t(
                    "Only packed (ready) orders of the batch's LAO with the batch's delivery method go in a batch; these do not: {order_list} (see `orders` for each reason).",
                    "รอบส่งรับได้เฉพาะคำสั่งซื้อที่แพ็กพร้อมส่งแล้ว ของ อปท. เดียวกัน และวิธีรับสินค้าตรงกับรอบ รายการต่อไปนี้ไม่เข้าเงื่อนไข: {order_list} (ดูเหตุผลของแต่ละรายการใน `orders`)",
                ),
            ),
            NothingToDispatch => info(
                409,
                "nothing_to_dispatch",
                t("No orders to dispatch", "ไม่มีคำสั่งซื้อที่จะจัดส่ง"),
                t(
                    "There are no packed (ready) orders to dispatch here: mark orders ready first, or take them out of the open batch they are in.",
                    "ไม่มีคำสั่งซื้อที่แพ็กพร้อมส่งในรายการนี้ ให้เปลี่ยนสถานะคำสั่งซื้อเป็นพร้อมส่งก่อน หรือนำออกจากรอบส่งที่อยู่",
                ),
            ),
            OrderInOpenBatch => info(
                409,
                "order_in_open_batch",
                t("Already in a batch", "อยู่ในรอบส่งอื่นแล้ว"),
                t(
                    "An order is in at most one open batch; these are in another: {order_list}. Take them out of it first.",
                    "คำสั่งซื้อหนึ่งรายการอยู่ในรอบส่งที่ยังไม่ส่งมอบได้เพียงรอบเดียว รายการต่อไปนี้อยู่ในรอบอื่นแล้ว: {order_list} ให้นำออกจากรอบนั้นก่อน",
                ),
            ),
            ShipByPassed => info(
                409,
                "ship_by_passed",
                t("Too late for fresh produce", "เลยกำหนดส่งสินค้าสด"),
                t(
                    "A dispatch on {dispatch_date} is after the ship-by date of these orders: {order_list}.",
                    "วันส่ง {dispatch_date} เลยกำหนดส่งของคำสั่งซื้อต่อไปนี้แล้ว: {order_list}",
                ),
            ),
            CarrierBlackout => info(
                409,
                "carrier_blackout",
                t("Carrier not taking parcels", "ขนส่งงดรับพัสดุ"),
                t(
                    "{carrier} takes no fresh produce from {first_date} to {last_date} ({reason}); choose another date or carrier for: {order_list}.",
                    "{carrier} งดรับสินค้าสดตั้งแต่ {first_date} ถึง {last_date} ({reason}) กรุณาเลือกวันหรือขนส่งอื่นสำหรับ: {order_list}",
                ),
            ),
            TrackingMissing => info(
                409,
                "tracking_missing",
                t("Tracking numbers missing", "ยังไม่ได้บันทึกเลขพัสดุ"),
                t(
                    "Every {carrier} parcel needs its tracking number before handover; missing for: {order_list}.",
                    "พัสดุของ{carrier}ทุกชิ้นต้องมีเลขพัสดุก่อนบันทึกส่งมอบ ยังขาดเลขพัสดุของ: {order_list}",
                ),
            ),
            InvalidSignature => info(
                401,
                "invalid_signature",
                t("Invalid signature", "ลายเซ็นไม่ถูกต้อง"),
                t(
                    "The request's signature was refused: {reason}",
                    "ลายเซ็นของคำขอถูกปฏิเสธ: {reason}",
                ),
            ),
            ImageTooLarge => info(
                422,
                "image_too_large",
                t("Image too large", "รูปภาพมีขนาดใหญ่เกินไป"),
                t(
                    "The image is {width} × {height} pixels; photos of at most {max_pixels} pixels and {max_side} pixels a side are taken.",
                    "รูปภาพมีขนาด {width} × {height} พิกเซล รับได้ไม่เกิน {max_pixels} พิกเซล และด้านละไม่เกิน {max_side} พิกเซล",
                ),
            ),
            StorageUnavailable => info(
                503,
                "storage_unavailable",
                t("Photo storage unavailable", "ที่เก็บรูปภาพไม่พร้อมใช้งาน"),
                t(
                    "The photo storage cannot be reached right now; try again shortly.",
                    "ขณะนี้ติดต่อที่เก็บรูปภาพไม่ได้ กรุณาลองใหม่อีกครั้ง",
                ),
            ),
            PersonalDataInUse => info(
                409,
                "personal_data_in_use",
                t("Personal data still in use", "ข้อมูลส่วนบุคคลยังใช้งานอยู่"),
                t(
                    "This buyer still has {count} open orders, holds or waiting-list entries ({codes}); close them first (deliver, cancel or refund the orders, release the holds, withdraw the entries), then erase.",
                    "ผู้ซื้อรายนี้ยังมีคำสั่งซื้อ การกันสินค้า หรือรายการรอคิวที่ยังไม่สิ้นสุด {count} รายการ ({codes}) กรุณาปิดรายการเหล่านี้ก่อน (ส่งมอบ ยกเลิก หรือคืนเงินคำสั่งซื้อ ปล่อยการกันสินค้า ถอนรายการรอคิว) แล้วจึงลบข้อมูล",
                ),
            ),
            OriginNotAllowed => info(
                403,
                "origin_not_allowed",
                t("Website not allowed", "เว็บไซต์นี้ไม่ได้รับอนุญาต"),
                t(
                    "This LAO's form may be used only from the websites it lists in `allowed_origins`, and this request came from {source}.",
                    "แบบฟอร์มของ อปท. นี้ใช้ได้เฉพาะจากเว็บไซต์ที่ อปท. ระบุไว้ใน `allowed_origins` แต่คำขอนี้มาจาก{source}",
                ),
            ),
            UnreadableImage => info(
                422,
                "unreadable_image",
                t("Unreadable image", "อ่านรูปภาพไม่ได้"),
                t(
                    "The file could not be read as an image; it may be cut short or damaged ({reason}).",
                    "อ่านไฟล์นี้เป็นรูปภาพไม่ได้ ไฟล์อาจไม่สมบูรณ์หรือเสียหาย ({reason})",
                ),
            ),
            OAuthInvalidRequest => info(
                400,
                "invalid_request",
                t("Invalid token request", "คำขอโทเคนไม่ถูกต้อง"),
                t("{error_description}", "{error_description}"),
            ),
            InvalidGrant => info(
                400,
                "invalid_grant",
                t("Invalid grant", "ข้อมูลยืนยันตัวตนไม่ถูกต้อง"),
                t("{error_description}", "{error_description}"),
            ),
            InvalidClient => info(
                401,
                "invalid_client",
                t("Invalid client", "ข้อมูลไคลเอนต์ไม่ถูกต้อง"),
                t("{error_description}", "{error_description}"),
            ),
            UnsupportedGrantType => info(
                400,
                "unsupported_grant_type",
                t("Unsupported grant type", "ไม่รองรับ `grant_type` นี้"),
                t(
                    "`grant_type` must be `password`, `client_credentials` or `refresh_token`.",
                    "`grant_type` ต้องเป็น `password`, `client_credentials` หรือ `refresh_token`",
                ),
            ),
            InvalidScope => info(
                400,
                "invalid_scope",
                t("Invalid scope", "ขอบเขตสิทธิ์ไม่ถูกต้อง"),
                t(
                    "The client may not ask for: `{scope}`",
                    "ไคลเอนต์นี้ขอขอบเขตสิทธิ์ต่อไปนี้ไม่ได้: `{scope}`",
                ),
            ),
            Internal => info(
                500,
                "internal_error",
                t("Internal error", "เกิดข้อผิดพลาดภายในระบบ"),
                t(
                    "Something went wrong on our side; quote the request id when reporting it.",
                    "เกิดข้อผิดพลาดภายในระบบ กรุณาแจ้งหมายเลข `request_id` เมื่อติดต่อผู้ดูแล",
                ),
            ),
        }
    }

    pub fn code(self) -> &'static str {
        self.info().code
    }

    pub fn status(self) -> StatusCode {
        self.info().status
    }

    /// The `type` URI: a relative reference that `GET /problems/{code}` documents.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.code())
    }

    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::iter().find(|k| k.code() == code)
    }
}

/// A parameter of a problem or of a field error: a plain JSON value (the same in both languages:
/// numbers, codes, times, code spans), or a text in both languages.
///
/// Anything that reads differently in Thai must be a [`Param::Text`] or [`Param::both`]: a
/// `String` parameter is shown as is in a Thai answer too.
#[derive(Clone, Debug)]
pub enum Param {
    Json(Value),
    Text(Text),
    /// A text built at run time, in both languages.
    Localized {
        en: String,
        th: String,
    },
}

impl Param {
    /// A text built at run time, in both languages: `Param::both(format!("{n} items"),
    /// format!("{n} ชิ้น"))`.
    pub fn both(en: impl Into<String>, th: impl Into<String>) -> Param {
        Param::Localized {
            en: en.into(),
            th: th.into(),
        }
    }

    /// The parameter in the given language, as it appears in texts and members.
    pub fn localized(&self, lang: Lang) -> Value {
        match self {
            Param::Json(v) => v.clone(),
            Param::Text(t) => Value::String(t.get(lang).to_string()),
            Param::Localized { en, th } => Value::String(lang.pick(en, th).to_string()),
        }
    }
}

impl From<Text> for Param {
    fn from(t: Text) -> Self {
        Param::Text(t)
    }
}

macro_rules! param_from_json {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Param {
            fn from(v: $ty) -> Self { Param::Json(json!(v)) }
        }
    )*};
}
param_from_json!(
    String,
    &str,
    i64,
    i32,
    u32,
    u64,
    usize,
    bool,
    Vec<String>,
    Vec<&'static str>,
    Value
);

impl<T: Into<Param>> From<Option<T>> for Param {
    /// `None` is `null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Json(Value::Null), Into::into)
    }
}

/// One invalid field: its path (`lines[0].quantity`), a stable code and parameters for the message
/// ([`field_text`] holds the message templates by code).
///
/// It is sent as `{field, code, message}`; the parameters only fill the message, in the caller's
/// language: `FieldError::new("quantity", "too_large").with("max", 10)`, or for a text that
/// reads differently in Thai, `.with("reason", Param::both(en, th))`.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub params: Vec<(String, Param)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter for the message: a number, a code, or a [`Param::both`] text.
    pub fn with(mut self, name: &str, value: impl Into<Param>) -> Self {
        self.params.push((name.to_string(), value.into()));
        self
    }

    /// The parameter of that name, if any.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The message for this field error in the given language.
    pub fn message(&self, lang: Lang) -> String {
        let params: Vec<(String, Value)> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.localized(lang)))
            .collect();
        render(field_text(&self.code).get(lang), &params)
    }
}

/// Message templates of field error codes, in English and Thai. `{name}` is filled from the field
/// error's parameters; `{other}` (a field name) and `{allowed}` are shown as code spans.
pub const FIELD_TEXTS: &[(&str, Text)] = &[
    ("required", t("is required", "ต้องระบุ")),
    (
        "invalid_type",
        // `reason` is the parser's message in English and our reading of it in Thai.
        t(
            "has the wrong type or format: {reason}",
            "ชนิดหรือรูปแบบข้อมูลไม่ถูกต้อง: {reason}",
        ),
    ),
    (
        "unknown_field",
        t("is not a known field", "ไม่ใช่ช่องข้อมูลที่รู้จัก"),
    ),
    (
        "invalid_enum",
        // `allowed` is a list of code spans (`crate::i18n::code_list`).
        t(
            "must be one of: {allowed}",
            "ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: {allowed}",
        ),
    ),
    (
        "too_short",
        t(
            "must be at least {min} characters long",
            "ต้องยาวอย่างน้อย {min} ตัวอักษร",
        ),
    ),
    (
        "too_long",
        t(
            "must be at most {max} characters long",
            "ต้องยาวไม่เกิน {max} ตัวอักษร",
        ),
    ),
    (
        "wrong_length",
        t(
            "must be exactly {equal} characters long",
            "ต้องยาว {equal} ตัวอักษรพอดี",
        ),
    ),
    (
        "too_few",
        t("must have at least {min} items", "ต้องมีอย่างน้อย {min} รายการ"),
    ),
    (
        "too_many",
        t("must have at most {max} items", "ต้องมีไม่เกิน {max} รายการ"),
    ),
    (
        "too_small",
        t("must be at least {min}", "ต้องมีค่าอย่างน้อย {min}"),
    ),
    ("too_large", t("must be at most {max}", "ต้องมีค่าไม่เกิน {max}")),
    ("blank", t("must not be blank", "ต้องไม่เว้นว่าง")),
    (
        "invalid_email",
        t("is not an email address", "ไม่ใช่อีเมลที่ถูกต้อง"),
    ),
    (
        "invalid_url",
        t(
            "is not an http(s) URL",
            "ไม่ใช่ URL ที่ขึ้นต้นด้วย http:// หรือ https://",
        ),
    ),
    (
        "https_required",
        t(
            "must be an https:// URL (http:// only to this machine, in development)",
            "ต้องเป็น URL ที่ขึ้นต้นด้วย https:// (ใช้ http:// ได้เฉพาะเครื่องนี้ในระหว่างพัฒนา)",
        ),
    ),
    (
        "private_address",
        t(
            "points to a private, loopback or reserved network address, which webhooks may not reach",
            "ชี้ไปยังที่อยู่เครือข่ายภายใน ลูปแบ็ก หรือสงวนไว้ ซึ่งเว็บฮุกส่งไปไม่ได้",
        ),
    ),
    (
        "unknown_event_type",
        t(
            "names an event type that does not exist: {value}",
            "ระบุชนิดเหตุการณ์ที่ไม่มีอยู่: {value}",
        ),
    ),
    (
        "invalid_origin",
        t(
            "is not a web origin such as https://www.example.go.th (scheme and host, no path)",
            "ไม่ใช่ที่อยู่เว็บไซต์แบบ https://www.example.go.th (มีเฉพาะโปรโตคอลและโดเมน ไม่มีพาธ)",
        ),
    ),
    (
        "invalid_phone",
        t(
            "is not a Thai phone number (e.g. 081 234 5678 or +66 81 234 5678)",
            "ไม่ใช่หมายเลขโทรศัพท์ไทยที่ถูกต้อง (เช่น 081 234 5678 หรือ +66 81 234 5678)",
        ),
    ),
    (
        "invalid_promptpay_id",
        t(
            "is not a PromptPay id (a Thai mobile number, a 13-digit citizen or tax id, or a 15-digit e-wallet id)",
            "ไม่ใช่หมายเลขพร้อมเพย์ที่ถูกต้อง (เบอร์มือถือ เลขประจำตัว 13 หลัก หรือเลขกระเป๋าเงินอิเล็กทรอนิกส์ 15 หลัก)",
        ),
    ),
    (
        "invalid_citizen_id",
        t(
            "is not a valid 13-digit Thai citizen id (check digit)",
            "ไม่ใช่เลขประจำตัวประชาชน 13 หลักที่ถูกต้อง (เลขตรวจสอบไม่ตรง)",
        ),
    ),
    (
        "invalid_postal_code",
        t(
            "is not a postal code of this subdistrict",
            "ไม่ใช่รหัสไปรษณีย์ของตำบลนี้",
        ),
    ),
    (
        "invalid_postal_code_format",
        t("must be 5 digits", "ต้องเป็นตัวเลข 5 หลัก"),
    ),
    ("invalid_code", t("is not a known code", "ไม่พบรหัสนี้")),
    (
        "invalid_digits_only",
        t("must be digits only", "ต้องเป็นตัวเลขเท่านั้น"),
    ),
    (
        "invalid_slug",
        t(
            "may contain only lower-case letters, digits and _, starting with a letter",
            "ใช้ได้เฉพาะอักษรอังกฤษตัวเล็ก ตัวเลข และ _ โดยขึ้นต้นด้วยตัวอักษร",
        ),
    ),
    (
        "invalid_year",
        t(
            "is not a year between 2000 and 2200 (or 2543–2743 BE)",
            "ต้องเป็นปี ค.ศ. 2000–2200 (หรือ พ.ศ. 2543–2743)",
        ),
    ),
    (
        "outside_season",
        t(
            "must lie within the harvest months",
            "ต้องอยู่ในช่วงเดือนเก็บเกี่ยว",
        ),
    ),
    (
        "invalid_clip_url",
        t(
            "must be Facebook, TikTok or YouTube links",
            "ต้องเป็นลิงก์ Facebook, TikTok หรือ YouTube",
        ),
    ),
    (
        "invalid_hashtag",
        t(
            "must be hashtags without spaces (1–100 characters each)",
            "ต้องเป็นแฮชแท็กที่ไม่มีช่องว่าง (ยาว 1–100 ตัวอักษร)",
        ),
    ),
    (
        "invalid_idempotency_key",
        t(
            "must be 1–255 visible ASCII characters (a UUID is best)",
            "ต้องเป็นอักขระ ASCII ที่มองเห็นได้ 1–255 ตัว (แนะนำให้ใช้ UUID)",
        ),
    ),
    (
        "mismatch",
        t("does not match `{other}`", "ไม่ตรงกับ `{other}`"),
    ),
    (
        "differs_from_hold",
        t(
            "is not the one the hold (`hold_id`) was made with",
            "ไม่ตรงกับที่ใช้ตอนกันสินค้า (`hold_id`)",
        ),
    ),
    (
        "not_offered",
        t("is not offered by this window", "รอบนี้ไม่มีบริการนี้"),
    ),
    (
        "outside_window",
        t(
            "is not a pickup point of this window",
            "ไม่ใช่จุดรับสินค้าของรอบนี้",
        ),
    ),
    (
        "in_use",
        t(
            "cannot change while {count} records use it",
            "เปลี่ยนไม่ได้ขณะที่มีข้อมูล {count} รายการใช้อยู่",
        ),
    ),
    (
        "invalid_digits",
        t(
            "must be exactly {digits} digits",
            "ต้องเป็นตัวเลข {digits} หลัก",
        ),
    ),
    (
        "invalid_cursor",
        t(
            "is not a cursor this API issued",
            "ไม่ใช่ค่าเคอร์เซอร์ที่ระบบออกให้",
        ),
    ),
    (
        "invalid_date",
        t("is not a valid date or time", "ไม่ใช่วันที่หรือเวลาที่ถูกต้อง"),
    ),
    (
        "invalid_range",
        t("must not be before `{other}`", "ต้องไม่ก่อน `{other}`"),
    ),
    (
        "one_of",
        t("give only one of: {other}", "ระบุได้เพียงอย่างเดียวจาก: {other}"),
    ),
    (
        "unknown_column",
        t(
            "is not a column this file takes (วันที่, เดือน, รหัสผู้ผลิต, จำนวนผู้ผลิต, รหัสสินค้า, ช่องทาง, จำนวนครั้งที่ขาย, รายรับ (บาท), ลิงก์, หมายเหตุ)",
            "ไม่ใช่คอลัมน์ที่ไฟล์นี้รับ (วันที่, เดือน, รหัสผู้ผลิต, จำนวนผู้ผลิต, รหัสสินค้า, ช่องทาง, จำนวนครั้งที่ขาย, รายรับ (บาท), ลิงก์, หมายเหตุ)",
        ),
    ),
    (
        "invalid_csv",
        t(
            "is not a CSV row like the header (count the commas and quotes)",
            "ไม่ใช่แถวที่ตรงกับหัวตาราง (ตรวจจำนวนจุลภาคและเครื่องหมายคำพูด)",
        ),
    ),
    ("invalid_number", t("is not a whole number", "ไม่ใช่จำนวนเต็ม")),
    (
        "invalid_amount",
        t(
            "is not an amount in baht such as 1,234.50",
            "ไม่ใช่จำนวนเงินบาท เช่น 1,234.50",
        ),
    ),
    (
        "before_fiscal_year",
        t(
            "is before the fiscal year, which starts on {from}",
            "อยู่ก่อนปีงบประมาณ ซึ่งเริ่มวันที่ {from}",
        ),
    ),
    (
        "range_too_long",
        t(
            "is more than {max_days} days after `{other}`",
            "ห่างจาก `{other}` เกิน {max_days} วัน",
        ),
    ),
    (
        "invalid_month",
        t("is not a month such as 2026-06", "ไม่ใช่เดือนในรูปแบบ 2026-06"),
    ),
    (
        "invalid_quarter",
        t(
            "is not a calendar quarter such as 2026-Q3",
            "ไม่ใช่ไตรมาสในรูปแบบ 2026-Q3",
        ),
    ),
    (
        "invalid_s10_format",
        t(
            "is not a Thailand Post number: two letters, nine digits, two letters (e.g. EF582568151TH)",
            "ไม่ใช่เลขพัสดุไปรษณีย์ไทย ซึ่งเป็นตัวอักษร 2 ตัว ตัวเลข 9 หลัก และตัวอักษร 2 ตัว (เช่น EF582568151TH)",
        ),
    ),
    (
        "invalid_s10_country",
        t(
            "is another country's postal number: Thailand Post's end in TH",
            "เป็นเลขพัสดุของไปรษณีย์ประเทศอื่น เลขของไปรษณีย์ไทยลงท้ายด้วย TH",
        ),
    ),
    (
        "year_out_of_range",
        t(
            "must fall in the years 2000 to 9999 (Bangkok time)",
            "ต้องอยู่ระหว่างปี ค.ศ. 2000 ถึง 9999 (เวลากรุงเทพฯ)",
        ),
    ),
    (
        "nul_character",
        t(
            "contains the character U+0000 (NUL), which no text may hold",
            "มีอักขระรหัสศูนย์ซึ่งเก็บเป็นข้อความไม่ได้ กรุณาลบออก",
        ),
    ),
    (
        "control_characters",
        t(
            "must be one line, without tabs or control characters",
            "ต้องเป็นข้อความบรรทัดเดียว ไม่มีแท็บหรืออักขระควบคุม",
        ),
    ),
    (
        "tracking_in_use",
        t(
            "is already the tracking number of order {order_code}",
            "เป็นเลขพัสดุของคำสั่งซื้อ {order_code} อยู่แล้ว",
        ),
    ),
    (
        "carrier_reported",
        t(
            "cannot change: the carrier has already reported on this parcel under its number",
            "เปลี่ยนไม่ได้ เพราะขนส่งรายงานสถานะพัสดุนี้ด้วยเลขเดิมแล้ว",
        ),
    ),
    (
        "invalid_s10_check_digit",
        t(
            "has a wrong check digit (the ninth digit): check the number on the receipt",
            "เลขตรวจสอบ (ตัวเลขหลักที่ 9) ไม่ถูกต้อง กรุณาตรวจเลขพัสดุจากใบรับฝากอีกครั้ง",
        ),
    ),
    (
        "invalid_tracking_format",
        t(
            "is not a tracking number (8–20 letters and digits)",
            "ไม่ใช่เลขพัสดุ (ตัวอักษรและตัวเลข 8–20 ตัว)",
        ),
    ),
    (
        "unknown_status",
        t(
            "gives no status: send `status`, or a Thailand Post `status_code`",
            "ไม่ได้ระบุสถานะ กรุณาส่ง `status` หรือ `status_code` ของไปรษณีย์ไทย",
        ),
    ),
    (
        "not_found",
        t("refers to something that does not exist", "อ้างถึงข้อมูลที่ไม่มีอยู่"),
    ),
    (
        "not_allowed",
        t("may not be set by you", "คุณไม่มีสิทธิ์กำหนดค่านี้"),
    ),
    ("duplicate", t("is already taken", "มีผู้ใช้แล้ว")),
    (
        "repeated",
        t("names the same thing more than once", "ระบุรายการเดียวกันซ้ำ"),
    ),
    (
        "exceeds_capacity",
        t(
            "asks for at least {units} units per order, more than the capacity of {capacity}",
            "กำหนดให้สั่งอย่างน้อย {units} หน่วยต่อคำสั่งซื้อ ซึ่งมากกว่าจำนวนทั้งหมด {capacity} หน่วย",
        ),
    ),
    (
        "invalid_username",
        t(
            "may contain only letters, digits and . _ - @",
            "ใช้ได้เฉพาะตัวอักษรอังกฤษ ตัวเลข และ . _ - @",
        ),
    ),
    (
        "weak_password",
        t(
            "must be at least {min} characters and not a common password",
            "ต้องยาวอย่างน้อย {min} ตัวอักษรและไม่ใช่รหัสผ่านที่เดาง่าย",
        ),
    ),
];

/// The message template of a field error code; unknown codes read "is invalid".
pub fn field_text(code: &str) -> Text {
    FIELD_TEXTS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(t("is invalid", "ไม่ถูกต้อง"), |(_, text)| *text)
}

/// The error type of every handler and domain function.
pub struct ApiError(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    params: Vec<(String, Param)>,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    cause: Option<String>,
    extra: Vec<(String, Value)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: ErrorKind) -> Self {
        ApiError(Box::new(Inner {
            kind,
            params: Vec::new(),
            errors: Vec::new(),
            retry_after: None,
            cause: None,
            extra: Vec::new(),
        }))
    }

    /// Adds a parameter: used in the detail text and shown as an extension member.
    pub fn with(mut self, name: &str, value: impl Into<Param>) -> Self {
        self.0.params.push((name.to_string(), value.into()));
        self
    }

    /// Adds an extension member that the detail text does not use.
    pub fn extra(mut self, name: &str, value: impl Serialize) -> Self {
        self.0.extra.push((
            name.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        ));
        self
    }

    pub fn field(mut self, error: FieldError) -> Self {
        self.0.errors.push(error);
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// Records the internal cause for the logs; it is never sent to the caller.
    pub fn caused_by(mut self, cause: impl fmt::Display) -> Self {
        self.0.cause = Some(cause.to_string());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    pub fn cause(&self) -> Option<&str> {
        self.0.cause.as_deref()
    }

    // Constructors for the common cases.

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = ApiError::new(ErrorKind::ValidationFailed);
        e.0.errors = errors;
        e
    }

    /// One invalid field in a request body.
    pub fn invalid_field(field: impl Into<String>, code: impl Into<String>) -> Self {
        ApiError::validation(vec![FieldError::new(field, code)])
    }

    /// One invalid query or path parameter.
    pub fn invalid_parameter(field: impl Into<String>, code: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::InvalidParameter).field(FieldError::new(field, code))
    }

    pub fn not_found(resource: Text) -> Self {
        ApiError::new(ErrorKind::NotFound).with("resource", resource)
    }

    pub fn already_exists(resource: Text, field: &str) -> Self {
        ApiError::new(ErrorKind::AlreadyExists)
            .with("resource", resource)
            .with("field", field)
    }

    pub fn conflict(reason: Text) -> Self {
        ApiError::new(ErrorKind::Conflict).with("reason", reason)
    }

    pub fn forbidden() -> Self {
        ApiError::new(ErrorKind::Forbidden)
    }

    pub fn bad_request(reason: impl Into<Param>) -> Self {
        ApiError::new(ErrorKind::BadRequest).with("reason", reason)
    }

    /// An OAuth token-endpoint error: a problem that also carries `error` and
    /// `error_description` (RFC 6749 §5.2), so OAuth client libraries understand it.
    pub fn oauth(kind: ErrorKind, description: Text) -> Self {
        ApiError::new(kind)
            .with("error_description", description)
            .extra("error", kind.code())
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        ApiError::new(ErrorKind::Internal).caused_by(cause)
    }

    pub fn database_unavailable(cause: impl fmt::Display) -> Self {
        ApiError::new(ErrorKind::DatabaseUnavailable)
            .retry_after(5)
            .caused_by(cause)
    }

    /// The problem in English as one line, for the command line and logs.
    pub fn describe(&self) -> String {
        let body = self.to_problem(Lang::En, None, None);
        let mut text = body["detail"].as_str().unwrap_or("").to_string();
        for e in &self.0.errors {
            text.push_str(&format!("; {}: {}", e.field, e.message(Lang::En)));
        }
        text
    }

    /// The problem document in the given language.
    pub fn to_problem(
        &self,
        lang: Lang,
        instance: Option<&str>,
        request_id: Option<&str>,
    ) -> Map<String, Value> {
        let info = self.0.kind.info();
        let localized: Vec<(String, Value)> = self
            .0
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.localized(lang)))
            .collect();
        let mut body = Map::new();
        body.insert("type".into(), json!(self.0.kind.type_uri()));
        body.insert("title".into(), json!(info.title.get(lang)));
        body.insert("status".into(), json!(info.status.as_u16()));
        body.insert(
            "detail".into(),
            json!(render(info.detail.get(lang), &localized)),
        );
        if let Some(instance) = instance {
            body.insert("instance".into(), json!(instance));
        }
        body.insert("code".into(), json!(info.code));
        if let Some(id) = request_id {
            body.insert("request_id".into(), json!(id));
        }
        if !self.0.errors.is_empty() {
            let errors: Vec<Value> = self
                .0
                .errors
                .iter()
                .map(|e| json!({"field": e.field, "code": e.code, "message": e.message(lang)}))
                .collect();
            body.insert("errors".into(), Value::Array(errors));
        }
        if let Some(seconds) = self.0.retry_after {
            body.insert("retry_after".into(), json!(seconds));
        }
        // Parameters are members too (texts in the caller's language); reserved members are
        // never overwritten.
        for (k, v) in localized.into_iter().chain(self.0.extra.iter().cloned()) {
            body.entry(k).or_insert(v);
        }
        body
    }

    /// Builds the HTTP response for this problem.
    pub fn render(
        &self,
        lang: Lang,
        instance: Option<&str>,
        request_id: Option<&str>,
    ) -> HttpResponse {
        let status = self.0.kind.status();
        let mut builder = HttpResponse::build(status);
        builder
            .insert_header((header::CONTENT_TYPE, "application/problem+json"))
            .insert_header((header::CONTENT_LANGUAGE, lang.tag()));
        if let Some(seconds) = self.0.retry_after {
            builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.0.kind {
                ErrorKind::InvalidToken => "Bearer realm=\"khongdee\", error=\"invalid_token\"",
                ErrorKind::InvalidClient => "Basic realm=\"khongdee\"",
                _ => "Bearer realm=\"khongdee\"",
            };
            builder.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        builder.body(Value::Object(self.to_problem(lang, instance, request_id)).to_string())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("kind", &self.0.kind)
            .field("params", &self.0.params)
            .field("errors", &self.0.errors)
            .field("cause", &self.0.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind.code())?;
        if let Some(cause) = &self.0.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.kind.status()
    }

    /// English without request context; the problem middleware re-renders it for the request.
    fn error_response(&self) -> HttpResponse {
        self.render(Lang::En, None, None)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => ApiError::not_found(t("resource", "ข้อมูลที่ขอ")),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _)
            | E::BrokenTransactionManager => ApiError::database_unavailable(&e),
            E::DatabaseError(K::SerializationFailure, _) => {
                ApiError::database_unavailable(&e).retry_after(1)
            }
            E::DatabaseError(K::UniqueViolation, info) => ApiError::conflict(t(
                "a record with the same key already exists",
                "มีข้อมูลที่ใช้คีย์เดียวกันอยู่แล้ว",
            ))
            .caused_by(info.message()),
            E::DatabaseError(K::ForeignKeyViolation, info) => ApiError::conflict(t(
                "it refers to, or is referred to by, other records",
                "ข้อมูลนี้อ้างอิงหรือถูกอ้างอิงโดยข้อมูลอื่น",
            ))
            .caused_by(info.message()),
            E::DatabaseError(K::ReadOnlyTransaction, _) => ApiError::database_unavailable(&e),
            E::DatabaseError(_, info) => match unavailable_for(info.message()) {
                Some(retry_after) => ApiError::database_unavailable(&e).retry_after(retry_after),
                None => ApiError::internal(&e),
            },
            _ => ApiError::internal(&e),
        }
    }
}

/// Database messages that mean "not now" rather than "wrong": the database is busy, gone, being
/// restarted, out of space or not writable, and the same request can succeed later. Each with
/// the seconds to suggest in `Retry-After`: 1 where a moment helps (a lock, a restart that cut a
/// connection), 5 where an operator must act (free space, fix permissions or the disk).
///
/// Matched on the message because diesel keeps neither SQLite's result code nor PostgreSQL's
/// SQLSTATE for these: the texts are SQLite's `sqlite3_errstr` for SQLITE_BUSY, SQLITE_LOCKED,
/// SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR and SQLITE_CANTOPEN, and libpq's and the server's
/// for a connection that a restart or a shutdown ended (SQLSTATE 57P01-57P03, 08xxx).
const UNAVAILABLE_MESSAGES: &[(&str, u64)] = &[
    // SQLite (sqlite3.c, sqlite3ErrStr).
    ("database is locked", 1),
    ("database table is locked", 1),
    ("database or disk is full", OPERATOR_MUST_ACT),
    ("attempt to write a readonly database", OPERATOR_MUST_ACT),
    ("disk I/O error", OPERATOR_MUST_ACT),
    ("unable to open database file", OPERATOR_MUST_ACT),
    // PostgreSQL and libpq.
    ("terminating connection", 1),
    ("server closed the connection", 1),
    ("the database system is shutting down", 1),
    ("the database system is starting up", 1),
    ("the database system is in recovery mode", 1),
    ("no connection to the server", 1),
    ("could not receive data from server", 1),
    ("could not send data to server", 1),
    ("connection to server", 1),
    ("SSL connection has been closed unexpectedly", 1),
    ("SSL SYSCALL error", 1),
    ("could not extend file", OPERATOR_MUST_ACT),
    ("No space left on device", OPERATOR_MUST_ACT),
];

/// `Retry-After` for a database that waits for an operator (space, permissions, a disk).
const OPERATOR_MUST_ACT: u64 = 5;

/// `Retry-After` seconds if a database message means the database is unavailable for now (see
/// [`UNAVAILABLE_MESSAGES`]); `None` for every other failure, which stays a 500.
pub fn unavailable_for(message: &str) -> Option<u64> {
    UNAVAILABLE_MESSAGES
        .iter()
        .find(|(fragment, _)| message.contains(fragment))
        .map(|&(_, seconds)| seconds)
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::database_unavailable(e)
    }
}

/// A problem document, as every error response carries it (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "Some fields are invalid; each is listed in errors.",
    "instance": "/v1/orders",
    "code": "validation_failed",
    "request_id": "6f1c2d1e-8a47-4c59-9a3e-0c1d2f3a4b5c",
    "errors": [{"field": "buyer.phone", "code": "invalid_phone", "message": "is not a Thai phone number (e.g. 081 234 5678 or +66 81 234 5678)"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem; `GET` it for a description.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind, in the negotiated language.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, in the negotiated language.
    pub detail: String,
    /// The request path.
    pub instance: Option<String>,
    /// The stable machine code (the last segment of `type`).
    pub code: String,
    /// The request id (also in the `X-Request-Id` header).
    pub request_id: Option<String>,
    /// For validation problems: each invalid field.
    pub errors: Option<Vec<FieldErrorBody>>,
    /// Seconds to wait before retrying, where that helps (also the `Retry-After` header).
    pub retry_after: Option<u64>,
}

/// One invalid field in a problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// Path of the field in the request, e.g. `lines[0].quantity`.
    pub field: String,
    /// Stable machine code, e.g. `required`, `invalid_phone`.
    pub code: String,
    /// Human-readable reason in the negotiated language.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The answer a real SQLite failure gets, after `setup` on a fresh in-memory database.
    fn sqlite_failure(setup: &str, statement: &str) -> ApiError {
        use diesel::connection::SimpleConnection;
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(setup).unwrap();
        let error = diesel::sql_query(statement).execute(&mut conn).unwrap_err();
        ApiError::from(error)
    }

    #[test]
    fn a_full_or_read_only_sqlite_database_is_unavailable_not_internal() {
        // SQLITE_FULL: the database may not grow past its few pages.
        let full = sqlite_failure(
            "CREATE TABLE t (v TEXT); PRAGMA max_page_count = 3;",
            "INSERT INTO t SELECT hex(randomblob(4000)) FROM (WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n)",
        );
        assert_eq!(full.kind(), ErrorKind::DatabaseUnavailable, "{full:?}");
        assert!(full.cause().unwrap_or("").contains("full"), "{full:?}");
        // SQLITE_READONLY: the connection may only read.
        let read_only = sqlite_failure(
            "CREATE TABLE t (v TEXT); PRAGMA query_only = ON;",
            "INSERT INTO t VALUES ('x')",
        );
        assert_eq!(read_only.kind(), ErrorKind::DatabaseUnavailable);
        for error in [&full, &read_only] {
            let response = error.render(Lang::Th, None, None);
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
        }
        // A mistake in the statement is still ours: 500.
        let wrong = sqlite_failure("CREATE TABLE t (v TEXT);", "INSERT INTO t (w) VALUES (1)");
        assert_eq!(wrong.kind(), ErrorKind::Internal);
    }

    #[test]
    fn messages_of_an_unavailable_database_are_recognised() {
        for (message, seconds) in [
            ("database or disk is full", 5),
            ("disk I/O error", 5),
            ("unable to open database file", 5),
            ("attempt to write a readonly database", 5),
            ("database is locked", 1),
            ("terminating connection due to administrator command", 1),
            (
                "server closed the connection unexpectedly\n\tThis probably means…",
                1,
            ),
            ("the database system is shutting down", 1),
            ("no connection to the server\n", 1),
        ] {
            assert_eq!(unavailable_for(message), Some(seconds), "{message}");
        }
        for message in [
            "no such table: orders",
            "syntax error at or near \"SELEC\"",
            "database disk image is malformed",
        ] {
            assert_eq!(unavailable_for(message), None, "{message}");
        }
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for kind in ErrorKind::iter() {
            let code = kind.code();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
            assert_eq!(ErrorKind::from_code(code), Some(kind));
        }
    }

    #[test]
    fn renders_problem_in_both_languages() {
        let err = ApiError::new(ErrorKind::PayloadTooLarge).with("limit", 1024u64);
        let en = err.to_problem(Lang::En, Some("/v1/x"), Some("abc"));
        assert_eq!(en["status"], 413);
        assert_eq!(en["type"], "/problems/payload_too_large");
        assert_eq!(en["detail"], "The request body is larger than 1024 bytes.");
        assert_eq!(en["limit"], 1024);
        assert_eq!(en["request_id"], "abc");
        let th = err.to_problem(Lang::Th, None, None);
        assert_eq!(th["detail"], "เนื้อหาคำขอมีขนาดเกิน 1024 ไบต์");
    }

    #[test]
    fn texts_built_at_run_time_come_in_the_callers_language() {
        let err = ApiError::new(ErrorKind::InvalidTransition)
            .with("status", Param::both("confirmed", "ชำระเงินแล้ว"))
            .with(
                "action",
                Param::both("become shipped", "เปลี่ยนเป็น “ส่งพัสดุแล้ว”"),
            );
        let th = err.to_problem(Lang::Th, None, None);
        assert_eq!(
            th["detail"],
            "รายการในสถานะ “ชำระเงินแล้ว” ไม่สามารถเปลี่ยนเป็น “ส่งพัสดุแล้ว”ได้"
        );
        assert_eq!(th["action"], "เปลี่ยนเป็น “ส่งพัสดุแล้ว”");
        assert_eq!(
            th["status"], 409,
            "the reserved member stays the HTTP status"
        );
        let en = err.to_problem(Lang::En, None, None);
        assert_eq!(
            en["detail"],
            "Something that is confirmed cannot become shipped."
        );
        assert_eq!(en["action"], "become shipped");
    }

    #[test]
    fn field_errors_carry_field_code_and_message() {
        let err = ApiError::validation(vec![FieldError::new("name", "too_long").with("max", 10)]);
        let body = err.to_problem(Lang::Th, None, None);
        assert_eq!(body["errors"][0]["field"], "name");
        assert_eq!(body["errors"][0]["code"], "too_long");
        assert_eq!(body["errors"][0]["message"], "ต้องยาวไม่เกิน 10 ตัวอักษร");
    }

    /// A template without its `{name}` placeholders, as the language checks read it.
    fn without_placeholders(template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            match rest[start..].find('}') {
                Some(end) => rest = &rest[start + end + 1..],
                None => {
                    rest = &rest[start..];
                    break;
                }
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn thai_templates_carry_no_english_and_english_ones_no_identifiers() {
        use crate::i18n::{bare_identifiers, untranslated_words};
        let kinds = ErrorKind::iter().map(|k| {
            let info = k.info();
            (info.code, [info.title, info.detail])
        });
        let fields = FIELD_TEXTS
            .iter()
            .map(|(code, text)| (*code, [*text, *text]));
        for (code, texts) in kinds.chain(fields) {
            for text in texts {
                let th = without_placeholders(text.th);
                assert_eq!(
                    untranslated_words(&th),
                    Vec::<String>::new(),
                    "{code}: {th}"
                );
                let en = without_placeholders(text.en);
                assert_eq!(bare_identifiers(&en), Vec::<String>::new(), "{code}: {en}");
            }
        }
    }

    #[test]
    fn field_error_parameters_come_in_the_callers_language() {
        let err = ApiError::validation(vec![
            FieldError::new("quantity", "invalid_type").with(
                "reason",
                Param::both("invalid type: string \"x\", expected u32", "ต้องเป็นจำนวนเต็ม"),
            ),
            FieldError::new("harvest_end", "invalid_range").with("other", "harvest_start"),
        ]);
        let th = err.to_problem(Lang::Th, None, None);
        assert_eq!(
            th["errors"][0]["message"],
            "ชนิดหรือรูปแบบข้อมูลไม่ถูกต้อง: ต้องเป็นจำนวนเต็ม"
        );
        assert_eq!(th["errors"][1]["message"], "ต้องไม่ก่อน `harvest_start`");
        assert_eq!(
            th["errors"][0].as_object().unwrap().len(),
            3,
            "field, code and message only"
        );
        let en = err.to_problem(Lang::En, None, None);
        assert_eq!(
            en["errors"][0]["message"],
            "has the wrong type or format: invalid type: string \"x\", expected u32"
        );
        assert_eq!(
            err.describe(),
            "Some fields are invalid; each is listed in errors.; quantity: has the wrong type or \
             format: invalid type: string \"x\", expected u32; harvest_end: must not be before \
             `harvest_start`"
        );
    }
}

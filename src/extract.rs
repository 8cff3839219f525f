//! Request extractors that turn every kind of bad input into a problem with the field and reason.
//!
//! `ValidJson<T>` and `ValidForm<T>` read the body (checking content type and size), deserialize it
//! with the path of any failing field, then run `validator`. `ValidQuery<T>` does the same for the
//! query string. The actix built-in extractors are configured to answer with problems too.
//!
//! Parsers complain in English. Every complaint that reaches a problem text is a [`Param::both`]:
//! the parser's own message in English (developers search for it), our Thai reading of it in
//! Thai ([`json_syntax_th`], [`serde_reason_th`]), or a generic Thai text where the message is
//! not one we know — never the English words in a Thai answer. JSON syntax errors also carry
//! `line` and `column` members. See `crate::error` for the rules of both languages.

use std::borrow::Cow;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{
    JsonPayloadError, PathError, PayloadError, QueryPayloadError, UrlencodedError,
};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::AppState;
use crate::error::{ApiError, ErrorKind, FieldError, Param};
use crate::i18n::{Lang, code_list};

/// Default body limit when no application state is present (tests of extractors alone).
const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// A JSON body, deserialized and validated.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

/// A form body (`application/x-www-form-urlencoded`), deserialized and validated.
#[derive(Debug)]
pub struct ValidForm<T>(pub T);

/// The query string, deserialized and validated.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

/// Whether the request's `If-None-Match` names `etag` (a quoted entity tag) or `*`, by the weak
/// comparison GET uses (RFC 9110 §13.1.2: `W/"…"` matches too): the answer is then 304.
pub fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
            })
        })
}

fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.config.max_body_bytes)
        .unwrap_or(DEFAULT_BODY_LIMIT)
}

fn content_type_is(req: &HttpRequest, check: impl Fn(&mime::Mime) -> bool) -> bool {
    match req.mime_type() {
        Ok(Some(m)) => check(&m),
        _ => false,
    }
}

fn is_json(m: &mime::Mime) -> bool {
    (m.type_() == mime::APPLICATION && m.subtype() == mime::JSON) || m.suffix() == Some(mime::JSON)
}

fn is_form(m: &mime::Mime) -> bool {
    m.type_() == mime::APPLICATION && m.subtype() == mime::WWW_FORM_URLENCODED
}

/// Reads the whole body, refusing it as soon as it grows past `limit`.
async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || ApiError::new(ErrorKind::PayloadTooLarge).with("limit", limit);
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Overflow => too_large(),
            e => ApiError::bad_request(payload_reason(&e)),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            require_json(&req)?;
            let body = read_body(&req, payload, body_limit(&req)).await?;
            let value: T = parse_json(&body)?;
            validate(&value, ErrorKind::ValidationFailed)?;
            Ok(ValidJson(value))
        })
    }
}

/// A JSON body as a tree, read strictly: an object naming a key twice is refused (serde_json's
/// `Value` would keep the last, and two readers of one body must never see different values),
/// and a number without a fraction that an `i64` holds exactly is that integer (JSON and JSON
/// Schema count `4.0` as the integer 4; serde's integer types do not).
struct BodyTree(serde_json::Value);

impl<'de> serde::Deserialize<'de> for BodyTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyTreeVisitor)
    }
}

struct BodyTreeVisitor;

impl<'de> serde::de::Visitor<'de> for BodyTreeVisitor {
    type Value = BodyTree;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<BodyTree, E> {
        if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 {
            return Ok(BodyTree(Value::from(v as i64)));
        }
        Ok(BodyTree(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::Null))
    }

    fn visit_none<E>(self) -> Result<BodyTree, E> {
        Ok(BodyTree(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BodyTree, A::Error> {
        let mut items = Vec::new();
        while let Some(BodyTree(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(BodyTree(Value::Array(items)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<BodyTree, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            let BodyTree(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(BodyTree(Value::Object(object)))
    }
}

/// The paths (as `serde_path_to_error` writes them: `lines[0].note`) of the strings in a JSON
/// tree that hold U+0000. No text of ours means one, PostgreSQL's `text` cannot store one
/// (SQLite would, and the two databases must answer alike): each is the field's `nul_character`.
fn nul_paths(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('\0') => found.push(path.to_string()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_paths(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                nul_paths(item, &path, found);
            }
        }
        _ => {}
    }
}

/// Refuses a form body or query string with U+0000 in a name or value, naming the field.
fn refuse_nul_pairs(body: &[u8], kind: ErrorKind) -> Result<(), ApiError> {
    match form_urlencoded::parse(body).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        Some((name, _)) => {
            Err(ApiError::new(kind)
                .field(FieldError::new(name.replace('\0', "\\0"), "nul_character")))
        }
        None => Ok(()),
    }
}

/// Middleware refusing a path that holds U+0000 (`%00` in a segment) with 400
/// `invalid_parameter`, field `path`, code `nul_character`, before any route reads it: no id,
/// code, key or slug holds one, and PostgreSQL's `text` cannot (a lookup answered 500).
/// Routing has not named the segment yet, hence `path`.
pub async fn refuse_nul_in_path<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let path = req.uri().path().as_bytes();
    if path.windows(3).any(|w| w == b"%00") {
        let error = ApiError::new(ErrorKind::InvalidParameter)
            .field(FieldError::new("path", "nul_character"));
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Parses JSON, reporting syntax errors as `malformed_json` and data errors with their field path,
/// then validates it: the validator's complaints and every string holding U+0000
/// (`nul_character`, unless the validator already named that field) in one 422.
pub fn parse_json<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::new(ErrorKind::MalformedJson).with(
            "reason",
            Param::both("the body is empty", "เนื้อหาคำขอว่างเปล่า"),
        ));
    }
    // Read the tree first (see `BodyTree`): syntax errors are `malformed_json` with their
    // position, a key named twice is the field's error, then the fields are read from the tree.
    let mut de = serde_json::Deserializer::from_slice(body);
    let BodyTree(tree) = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::validation(vec![serde_field_error(&path, &inner.to_string())])
            }
            _ => malformed_json(&inner),
        }
    })?;
    de.end().map_err(|e| malformed_json(&e))?;
    let mut nul = Vec::new();
    nul_paths(&tree, "", &mut nul);
    let value: T = serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        ApiError::validation(vec![serde_field_error(&path, &e.into_inner().to_string())])
    })?;
    let mut errors = match value.validate() {
        Ok(()) => Vec::new(),
        Err(errors) => flatten_validation_errors(&errors),
    };
    for path in nul {
        if !errors.iter().any(|e| e.field == path) {
            errors.push(FieldError::new(path, "nul_character"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(value)
}

/// 400 `malformed_json` for a syntax error (or a body that ends too soon), with its position as
/// the members `line` and `column`.
fn malformed_json(e: &serde_json::Error) -> ApiError {
    let error = ApiError::new(ErrorKind::MalformedJson)
        .with("reason", Param::both(e.to_string(), json_syntax_th(e)));
    if e.line() == 0 {
        return error;
    }
    error.extra("line", e.line()).extra("column", e.column())
}

/// Our Thai reading of a JSON syntax error, with its position: "ไม่พบค่า JSON ที่ถูกต้อง (บรรทัด 1
/// ตำแหน่ง 1)". serde_json's error codes are private, so this reads its messages; a message it
/// does not know reads "รูปแบบ JSON ไม่ถูกต้อง".
pub fn json_syntax_th(e: &serde_json::Error) -> String {
    if e.is_io() {
        return "อ่านเนื้อหาคำขอไม่สำเร็จ".to_string();
    }
    let message = e.to_string();
    let what = message.split(" at line ").next().unwrap_or(&message);
    let reading = match what {
        "EOF while parsing a list" => "ข้อมูลจบก่อนปิดรายการด้วย `]`",
        "EOF while parsing an object" => "ข้อมูลจบก่อนปิดออบเจกต์ด้วย `}`",
        "EOF while parsing a string" => "ข้อมูลจบก่อนปิดข้อความด้วย `\"`",
        "EOF while parsing a value" => "ข้อมูลจบก่อนได้ค่าที่ครบถ้วน",
        "expected `:`" => "ต้องมี `:` ต่อจากชื่อช่องข้อมูล",
        "expected `,` or `]`" => "ต้องมี `,` หรือ `]` ต่อจากสมาชิกของรายการ",
        "expected `,` or `}`" => "ต้องมี `,` หรือ `}` ต่อจากค่าในออบเจกต์",
        "expected ident" => "คำนี้ไม่ใช่ `true`, `false` หรือ `null`",
        "expected value" => "ไม่พบค่า JSON ที่ถูกต้อง",
        "expected `\"`" => "ชื่อช่องข้อมูลต้องอยู่ในเครื่องหมาย `\"`",
        "invalid escape" => "ใช้อักขระหลีก `\\` ไม่ถูกต้อง",
        "invalid number" => "ตัวเลขไม่ถูกต้อง",
        "number out of range" => "ตัวเลขเกินช่วงที่รับได้",
        "invalid unicode code point" | "lone leading surrogate in hex escape" => "รหัสยูนิโค้ดไม่ถูกต้อง",
        "unexpected end of hex escape" => "รหัส `\\u` ต้องมีเลขฐานสิบหกสี่หลัก",
        "key must be a string" => "ชื่อช่องข้อมูลต้องเป็นข้อความในเครื่องหมาย `\"`",
        "trailing comma" => "มีเครื่องหมาย `,` เกินมาก่อนปิดวงเล็บ",
        "trailing characters" => "มีข้อมูลเกินมาหลังจบค่า JSON",
        "recursion limit exceeded" => "ข้อมูลซ้อนกันลึกเกินไป",
        m if m.starts_with("control character") => "มีอักขระควบคุมอยู่ในข้อความ",
        _ => "รูปแบบ JSON ไม่ถูกต้อง",
    };
    if e.line() == 0 {
        return reading.to_string();
    }
    format!("{reading} (บรรทัด {} ตำแหน่ง {})", e.line(), e.column())
}

/// What went wrong reading a body, in both languages (actix's message in English).
fn payload_reason(e: &PayloadError) -> Param {
    let th = match e {
        PayloadError::Incomplete(_) => "เนื้อหาคำขอมาไม่ครบ การเชื่อมต่อขาดก่อนส่งจบ",
        PayloadError::EncodingCorrupted => {
            "ถอดการบีบอัดของเนื้อหาคำขอไม่ได้ ตรวจส่วนหัว `Content-Encoding`"
        }
        PayloadError::Overflow => "เนื้อหาคำขอยาวเกินกำหนด",
        PayloadError::UnknownLength => "ไม่ทราบความยาวของเนื้อหาคำขอ",
        _ => "อ่านเนื้อหาคำขอไม่สำเร็จ",
    };
    Param::both(e.to_string(), th)
}

impl<T> FromRequest for ValidForm<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            if !content_type_is(&req, is_form) {
                return Err(ApiError::new(ErrorKind::UnsupportedMediaType)
                    .with("expected", "application/x-www-form-urlencoded"));
            }
            let body = read_body(&req, payload, body_limit(&req)).await?;
            refuse_nul_pairs(&body, ErrorKind::ValidationFailed)?;
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&body));
            let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                ApiError::validation(vec![serde_field_error(&path, &e.into_inner().to_string())])
            })?;
            validate(&value, ErrorKind::ValidationFailed)?;
            Ok(ValidForm(value))
        })
    }
}

/// A body sent either as a form or as JSON (the token endpoint takes both).
#[derive(Debug)]
pub struct FormOrJson<T>(pub T);

impl<T> FromRequest for FormOrJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if content_type_is(req, is_json) {
            let json = ValidJson::<T>::from_request(req, payload);
            Box::pin(async move { json.await.map(|ValidJson(v)| FormOrJson(v)) })
        } else if content_type_is(req, is_form) {
            let form = ValidForm::<T>::from_request(req, payload);
            Box::pin(async move { form.await.map(|ValidForm(v)| FormOrJson(v)) })
        } else {
            Box::pin(async {
                Err(ApiError::new(ErrorKind::UnsupportedMediaType).with(
                    "expected",
                    Param::both(
                        "application/x-www-form-urlencoded or application/json",
                        "application/x-www-form-urlencoded หรือ application/json",
                    ),
                ))
            })
        }
    }
}

impl<T> FromRequest for ValidQuery<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ValidQuery))
    }
}

/// Parses and validates a query string.
pub fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, ApiError> {
    refuse_nul_pairs(query.as_bytes(), ErrorKind::InvalidParameter)?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::new(ErrorKind::InvalidParameter)
            .field(serde_field_error(&path, &e.into_inner().to_string()))
    })?;
    validate(&value, ErrorKind::InvalidParameter)?;
    Ok(value)
}

/// Refuses a body that is not JSON (for handlers that read the raw bytes themselves).
pub fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    if content_type_is(req, is_json) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorKind::UnsupportedMediaType).with("expected", "application/json"))
    }
}

/// Validates a parsed body (for handlers that read the raw bytes themselves).
pub fn validate_value<T: Validate>(value: &T) -> Result<(), ApiError> {
    validate(value, ErrorKind::ValidationFailed)
}

fn validate<T: Validate>(value: &T, kind: ErrorKind) -> Result<(), ApiError> {
    value.validate().map_err(|errors| {
        let mut e = ApiError::new(kind);
        for fe in flatten_validation_errors(&errors) {
            e = e.field(fe);
        }
        e
    })
}

/// Turns a serde error message (and the path where it happened) into a field error.
fn serde_field_error(path: &str, message: &str) -> FieldError {
    // serde_json appends " at line 1 column 5"; the position helps nobody once the field is named.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_string();
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let base = if path == "." {
        String::new()
    } else {
        path.to_string()
    };
    if let Some(name) = backticked(&message, "missing field `") {
        return FieldError::new(join(&name), "required");
    }
    if let Some(name) = backticked(&message, "unknown field `") {
        // The path already ends at the unknown key.
        let field = if base.is_empty() { name } else { base };
        return FieldError::new(field, "unknown_field");
    }
    if message.starts_with("unknown variant") {
        let allowed: Vec<String> = message
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s.to_string())
            .collect();
        return FieldError::new(base, "invalid_enum").with("allowed", code_list(allowed));
    }
    let th = serde_reason_th(&message);
    FieldError::new(base, "invalid_type").with("reason", Param::both(message, th))
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_string())
}

/// The Thai of a data error we cannot read: where to look instead.
const UNREAD_TH: &str = "ดูชนิดและรูปแบบที่ช่องนี้รับได้ที่ /docs";

/// Our Thai reading of a complaint about one value: serde's data errors (`invalid type: string
/// "x", expected u32`, `invalid value`, `invalid length`, `duplicate field`), the `FromStr`
/// errors that reach serde through query strings, forms and dates (integers, numbers, booleans,
/// chrono), and actix's path parser (`can not parse "x" to a i64`). A message it does not know
/// reads "ดูชนิดและรูปแบบที่ช่องนี้รับได้ที่ /docs" (see /docs for what the field takes) rather than
/// showing English. The value sent is echoed only when it is a number.
pub fn serde_reason_th(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    serde_reading(message).unwrap_or_else(|| UNREAD_TH.to_string())
}

fn serde_reading(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (unexpected, expected) = rest.rsplit_once(", expected ")?;
        let want = expected_th(expected)?;
        return Some(match unexpected_th(unexpected) {
            Some(got) => format!("ต้องเป็น{want} แต่ได้รับ{got}"),
            None => format!("ต้องเป็น{want}"),
        });
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (unexpected, expected) = rest.rsplit_once(", expected ")?;
        let want = integer_range_th(expected).or_else(|| expected_th(expected))?;
        return Some(match unexpected_th(unexpected) {
            Some(got) => format!("ต้องเป็น{want} แต่ได้รับ{got}"),
            None => format!("ต้องเป็น{want}"),
        });
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (got, expected) = rest.split_once(", expected ")?;
        let got: usize = got.parse().ok()?;
        let want = expected
            .split(|c: char| !c.is_ascii_digit())
            .find(|n| !n.is_empty());
        return Some(match want {
            Some(n) => format!("ต้องมี {n} รายการ แต่ได้รับ {got} รายการ"),
            None => format!("จำนวนรายการไม่ถูกต้อง (ได้รับ {got} รายการ)"),
        });
    }
    if let Some(name) = backticked(message, "duplicate field `") {
        return Some(format!("ระบุช่อง `{name}` ซ้ำ"));
    }
    if let Some(name) = backticked(message, "missing field `") {
        return Some(format!("ขาดช่อง `{name}`"));
    }
    if message.starts_with("unknown field `") {
        return Some("มีช่องข้อมูลที่ไม่รู้จัก".to_string());
    }
    if message.starts_with("unknown variant `") {
        return Some("ไม่ใช่ค่าใดค่าหนึ่งที่กำหนดไว้".to_string());
    }
    if let Some(rest) = message.strip_prefix("can not parse ") {
        let (_, expected) = rest.rsplit_once(" to a ")?;
        return expected_th(expected).map(|want| format!("ต้องเป็น{want}"));
    }
    let reading = match message {
        "cannot parse integer from empty string" => "ต้องเป็นจำนวนเต็ม แต่ได้รับค่าว่าง",
        "invalid digit found in string" => "ต้องเป็นจำนวนเต็ม (มีอักขระที่ไม่ใช่ตัวเลข)",
        "number too large to fit in target type" => "ตัวเลขมากเกินกว่าที่รับได้",
        "number too small to fit in target type" => "ตัวเลขน้อยเกินกว่าที่รับได้",
        "number would be zero for non-zero type" => "ต้องไม่เป็นศูนย์",
        "cannot parse float from empty string" => "ต้องเป็นตัวเลข แต่ได้รับค่าว่าง",
        "invalid float literal" => "ต้องเป็นตัวเลข",
        "provided string was not `true` or `false`" => "ต้องเป็น `true` หรือ `false`",
        "too many characters in string" | "cannot parse char from empty string" => {
            "ต้องเป็นอักขระหนึ่งตัว"
        }
        // chrono's parse errors, for dates and times.
        "input is out of range" => "วันที่หรือเวลาอยู่นอกช่วงที่เป็นไปได้",
        "no possible date and time matching input" => "ไม่มีวันที่หรือเวลาที่ตรงกับค่านี้",
        "input is not enough for unique date and time" => "วันที่หรือเวลาไม่ครบ",
        "input contains invalid characters" => "วันที่หรือเวลามีอักขระหรือรูปแบบที่ใช้ไม่ได้",
        "premature end of input" => "วันที่หรือเวลาสั้นกว่ารูปแบบที่กำหนด",
        "trailing input" => "มีข้อมูลเกินมาหลังวันที่หรือเวลา",
        _ => return None,
    };
    Some(reading.to_string())
}

/// What serde's `expected …` names, in Thai (after "ต้องเป็น").
fn expected_th(expected: &str) -> Option<String> {
    let th = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => "จำนวนเต็ม",
        "f32" | "f64" => "ตัวเลข",
        "a string" | "a borrowed string" | "string" => "ข้อความ",
        "a character" | "a char" | "char" => "อักขระหนึ่งตัว",
        "a boolean" | "bool" => "ค่า `true` หรือ `false`",
        "a sequence" => "รายการ (อาร์เรย์)",
        "a map" => "ออบเจกต์",
        "unit" => "ค่าว่าง (`null`)",
        "any valid JSON value" => "ค่า JSON",
        "an RFC 3339 formatted date and time string" | "a formatted date and time string" => {
            "วันและเวลา (เช่น 2026-07-01T09:00:00+07:00)"
        }
        "a formatted date string" => "วันที่ (เช่น 2026-07-15)",
        e if e.starts_with("struct ") => "ออบเจกต์",
        e if e.starts_with("a tuple") || e.starts_with("an array") || e.starts_with("tuple") => {
            "รายการ (อาร์เรย์)"
        }
        // An enum read from a JSON tree expects "string or map".
        e if e.starts_with("enum ") || e == "variant identifier" || e == "string or map" => {
            "ค่าใดค่าหนึ่งที่กำหนดไว้"
        }
        _ => return None,
    };
    Some(th.to_string())
}

/// An integer type's range in Thai, for `invalid value: integer `-1`, expected u32`.
fn integer_range_th(expected: &str) -> Option<String> {
    let (min, max): (i128, i128) = match expected {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        _ => return None,
    };
    Some(format!("จำนวนเต็มตั้งแต่ {min} ถึง {max}"))
}

/// What serde's `invalid type: …` says it got, in Thai (after "แต่ได้รับ"). Strings are not
/// echoed: they may be long, and the field is named anyway.
fn unexpected_th(unexpected: &str) -> Option<String> {
    let value = || unexpected.split('`').nth(1).unwrap_or("").to_string();
    let th = if unexpected.starts_with("integer `") {
        format!("จำนวนเต็ม {}", value())
    } else if unexpected.starts_with("floating point `") {
        format!("ตัวเลขทศนิยม {}", value())
    } else if unexpected.starts_with("boolean `") {
        format!("ค่า `{}`", value())
    } else if unexpected.starts_with("string ") {
        "ข้อความ".to_string()
    } else if unexpected.starts_with("character `") {
        "อักขระ".to_string()
    } else {
        match unexpected {
            "null" | "unit value" => "ค่าว่าง (`null`)",
            "sequence" => "รายการ (อาร์เรย์)",
            "map" => "ออบเจกต์",
            "number" => "ตัวเลข",
            _ => return None,
        }
        .to_string()
    };
    Some(th)
}

/// Flattens `validator`'s nested errors into `a.b[0].c` paths with our codes.
pub fn flatten_validation_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten_into(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn flatten_into(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (name, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for err in list {
                    out.push(map_validator_error(&path, err));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_into(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten_into(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

fn map_validator_error(path: &str, err: &validator::ValidationError) -> FieldError {
    let param = |k: &str| err.params.get(&Cow::Borrowed(k)).cloned();
    let is_list = matches!(param("value"), Some(Value::Array(_)));
    let mut fe = match err.code.as_ref() {
        "length" if param("equal").is_some() => {
            FieldError::new(path, "wrong_length").with("equal", param("equal"))
        }
        "length" => {
            let value_len = match param("value") {
                Some(Value::String(s)) => s.chars().count() as u64,
                Some(Value::Array(a)) => a.len() as u64,
                _ => 0,
            };
            let min = param("min").and_then(|v| v.as_u64());
            let max = param("max").and_then(|v| v.as_u64());
            let short = min.is_some_and(|m| value_len < m);
            let (code, bound) = match (short, is_list) {
                (true, false) => ("too_short", ("min", min)),
                (true, true) => ("too_few", ("min", min)),
                (false, false) => ("too_long", ("max", max)),
                (false, true) => ("too_many", ("max", max)),
            };
            let fe = FieldError::new(path, code);
            match bound.1 {
                Some(v) => fe.with(bound.0, v),
                None => fe,
            }
        }
        "range" => {
            let value = param("value").and_then(|v| v.as_f64());
            let min = param("min");
            let max = param("max");
            let below = matches!((&value, min.as_ref().and_then(|m| m.as_f64())), (Some(v), Some(m)) if *v < m);
            if below {
                FieldError::new(path, "too_small").with("min", min)
            } else {
                FieldError::new(path, "too_large").with("max", max)
            }
        }
        "email" => FieldError::new(path, "invalid_email"),
        "url" => FieldError::new(path, "invalid_url"),
        "required" => FieldError::new(path, "required"),
        other => FieldError::new(path, other),
    };
    for (k, v) in &err.params {
        if k == "value" || fe.params.iter().any(|(n, _)| n == k) {
            continue;
        }
        let param = match (k.as_ref(), v) {
            // Values to send verbatim are code spans, whichever way a check lists them.
            ("allowed", Value::String(list)) => {
                Param::from(code_list(list.split(',').map(str::trim)))
            }
            ("allowed", Value::Array(items)) => Param::from(code_list(
                items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)),
            )),
            _ => Param::Json(v.clone()),
        };
        fe.params.push((k.to_string(), param));
    }
    fe
}

// Handlers for actix's own extractors, in case a handler uses them directly.

pub fn json_error_handler(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::ContentType => {
            ApiError::new(ErrorKind::UnsupportedMediaType).with("expected", "application/json")
        }
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => {
            ApiError::new(ErrorKind::PayloadTooLarge).with("limit", *limit)
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation(vec![serde_field_error("", &e.to_string())])
        }
        JsonPayloadError::Deserialize(e) => malformed_json(e),
        JsonPayloadError::Payload(e) => ApiError::bad_request(payload_reason(e)),
        other => ApiError::bad_request(Param::both(other.to_string(), "อ่านเนื้อหาคำขอไม่สำเร็จ")),
    };
    api.into()
}

pub fn query_error_handler(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let QueryPayloadError::Deserialize(e) = &err else {
        return ApiError::bad_request(Param::both(err.to_string(), "อ่านสตริงคิวรีไม่ได้")).into();
    };
    ApiError::new(ErrorKind::InvalidParameter)
        .field(serde_field_error("", &e.to_string()))
        .into()
}

pub fn form_error_handler(err: UrlencodedError, _: &HttpRequest) -> actix_web::Error {
    match err {
        UrlencodedError::ContentType => ApiError::new(ErrorKind::UnsupportedMediaType)
            .with("expected", "application/x-www-form-urlencoded"),
        UrlencodedError::Overflow { limit, .. } => {
            ApiError::new(ErrorKind::PayloadTooLarge).with("limit", limit)
        }
        other => {
            let th = match &other {
                UrlencodedError::Chunked => "ถอดรหัสการส่งแบบ `chunked` ไม่ได้".to_string(),
                UrlencodedError::UnknownLength => "ไม่ทราบความยาวของเนื้อหาคำขอ".to_string(),
                UrlencodedError::Encoding => "การเข้ารหัสอักขระของฟอร์มไม่ถูกต้อง".to_string(),
                UrlencodedError::Parse(e) => serde_reason_th(&e.to_string()),
                UrlencodedError::Payload(e) => match payload_reason(e).localized(Lang::Th) {
                    Value::String(s) => s,
                    v => v.to_string(),
                },
                _ => "อ่านข้อมูลฟอร์มไม่ได้".to_string(),
            };
            ApiError::new(ErrorKind::MalformedForm)
                .with("reason", Param::both(other.to_string(), th))
        }
    }
    .into()
}

/// A path segment that does not parse (`/v1/laos/abc`): name the segments that are not numbers.
pub fn path_error_handler(err: PathError, req: &HttpRequest) -> actix_web::Error {
    let mut e = ApiError::new(ErrorKind::InvalidParameter).caused_by(&err);
    let segments: Vec<(String, String)> = req
        .match_info()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let non_numeric: Vec<&(String, String)> = segments
        .iter()
        .filter(|(_, v)| v.parse::<i64>().is_err())
        .collect();
    let named: Vec<&(String, String)> = if non_numeric.is_empty() {
        segments.iter().collect()
    } else {
        non_numeric
    };
    let th = match &err {
        PathError::Deserialize(inner) => serde_reason_th(&inner.to_string()),
        _ => UNREAD_TH.to_string(),
    };
    for (name, _) in named {
        e = e.field(
            FieldError::new(name.clone(), "invalid_type")
                .with("reason", Param::both(err.to_string(), th.clone())),
        );
    }
    e.into()
}

/// Reads a path parameter that must be a positive integer id.
pub fn parse_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::new(ErrorKind::InvalidParameter).field(
            FieldError::new(name, "invalid_type").with(
                "reason",
                Param::both(
                    "expected a positive integer id",
                    "ต้องเป็นเลขรหัสที่เป็นจำนวนเต็มบวก",
                ),
            ),
        )
    })
}

/// Checks the content type, parses and validates a JSON body read as raw bytes (for handlers that
/// also need the bytes, such as the ones taking an `Idempotency-Key`).
pub fn valid_json_bytes<T: DeserializeOwned + Validate>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    require_json(req)?;
    let value: T = parse_json(body)?;
    validate_value(&value)?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Deserialize, Serialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[validate(range(min = 1, max = 10))]
        quantity: u32,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[validate(length(min = 2, max = 5))]
        name: String,
        #[validate(nested, length(min = 1))]
        lines: Vec<Line>,
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        let err = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        let err = parse_json::<Body>(b"").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        let err = parse_json::<Body>(b"{\"name\":\"ab\",\"lines\":[]} x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
    }

    #[test]
    fn data_errors_name_the_field() {
        let err = parse_json::<Body>(br#"{"name":"ab","lines":[{"quantity":"x"}]}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValidationFailed);
        assert_eq!(err.field_errors()[0].field, "lines[0].quantity");
        assert_eq!(err.field_errors()[0].code, "invalid_type");

        let err = parse_json::<Body>(br#"{"lines":[]}"#).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "name");
        assert_eq!(err.field_errors()[0].code, "required");

        let err = parse_json::<Body>(br#"{"name":"ab","lines":[],"x":1}"#).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "x");
        assert_eq!(err.field_errors()[0].code, "unknown_field");
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Method {
        Pickup,
        Delivery,
    }

    /// Fields of many types; the tests only look at how parsing them fails.
    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Kinds {
        n: Option<u32>,
        s: Option<String>,
        b: Option<bool>,
        m: Option<Method>,
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
        day: Option<chrono::NaiveDate>,
        pair: Option<[u8; 2]>,
    }

    fn problem(err: &ApiError, lang: Lang) -> Value {
        Value::Object(err.to_problem(lang, None, None))
    }

    /// The Thai message of the only field error of a body or query that fails.
    fn thai_field_message(err: &ApiError) -> String {
        let th = problem(err, Lang::Th);
        assert_eq!(th["errors"].as_array().map(Vec::len), Some(1), "{th}");
        th["errors"][0]["message"].as_str().unwrap().to_string()
    }

    #[test]
    fn syntax_errors_read_in_thai_with_their_position() {
        let err = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        let th = problem(&err, Lang::Th);
        assert_eq!(
            th["detail"],
            "เนื้อหาคำขอไม่ใช่ JSON ที่ถูกต้อง: ข้อมูลจบก่อนได้ค่าที่ครบถ้วน (บรรทัด 1 ตำแหน่ง 9)"
        );
        assert_eq!(
            (th["line"].clone(), th["column"].clone()),
            (json!(1), json!(9))
        );
        let en = problem(&err, Lang::En);
        assert_eq!(
            en["detail"],
            "The request body is not valid JSON: EOF while parsing a value at line 1 column 9"
        );
        assert_eq!(en["reason"], "EOF while parsing a value at line 1 column 9");

        let cases: [(&[u8], &str); 7] = [
            (
                b"{name: 1}",
                "ชื่อช่องข้อมูลต้องเป็นข้อความในเครื่องหมาย `\"` (บรรทัด 1 ตำแหน่ง 2)",
            ),
            (
                b"{\"name\" 1}",
                "ต้องมี `:` ต่อจากชื่อช่องข้อมูล (บรรทัด 1 ตำแหน่ง 9)",
            ),
            (
                b"{\"lines\": [{\"quantity\": 1},]}",
                "มีเครื่องหมาย `,` เกินมาก่อนปิดวงเล็บ (บรรทัด 1 ตำแหน่ง 28)",
            ),
            (
                b"{\"name\":\"ab\",\"lines\":[]} x",
                "มีข้อมูลเกินมาหลังจบค่า JSON (บรรทัด 1 ตำแหน่ง 26)",
            ),
            (
                b"{\"name\": tru}",
                "คำนี้ไม่ใช่ `true`, `false` หรือ `null` (บรรทัด 1 ตำแหน่ง 13)",
            ),
            (
                b"\n{\"name\": 1e999}",
                "ตัวเลขเกินช่วงที่รับได้ (บรรทัด 2 ตำแหน่ง 14)",
            ),
            (b"   ", "เนื้อหาคำขอว่างเปล่า"),
        ];
        for (body, reading) in cases {
            let err = parse_json::<Body>(body).unwrap_err();
            let shown = String::from_utf8_lossy(body);
            assert_eq!(err.kind(), ErrorKind::MalformedJson, "{shown}");
            assert_eq!(problem(&err, Lang::Th)["reason"], reading, "{shown}");
        }
    }

    #[test]
    fn data_errors_read_in_thai_and_keep_the_parsers_words_in_english() {
        let cases = [
            (r#"{"n":"x"}"#, "ต้องเป็นจำนวนเต็ม แต่ได้รับข้อความ"),
            (
                r#"{"n":-1}"#,
                "ต้องเป็นจำนวนเต็มตั้งแต่ 0 ถึง 4294967295 แต่ได้รับจำนวนเต็ม -1",
            ),
            (r#"{"n":1.5}"#, "ต้องเป็นจำนวนเต็ม แต่ได้รับตัวเลขทศนิยม 1.5"),
            (r#"{"s":true}"#, "ต้องเป็นข้อความ แต่ได้รับค่า `true`"),
            (r#"{"b":"yes"}"#, "ต้องเป็นค่า `true` หรือ `false` แต่ได้รับข้อความ"),
            (r#"{"s":[]}"#, "ต้องเป็นข้อความ แต่ได้รับรายการ (อาร์เรย์)"),
            (r#"{"pair":{}}"#, "ต้องเป็นรายการ (อาร์เรย์) แต่ได้รับออบเจกต์"),
            (r#"{"pair":[1]}"#, "ต้องมี 2 รายการ แต่ได้รับ 1 รายการ"),
            (r#"{"at":"2026-07-01"}"#, "วันที่หรือเวลาสั้นกว่ารูปแบบที่กำหนด"),
            (r#"{"at":"soon"}"#, "วันที่หรือเวลามีอักขระหรือรูปแบบที่ใช้ไม่ได้"),
            (
                r#"{"at":5}"#,
                "ต้องเป็นวันและเวลา (เช่น 2026-07-01T09:00:00+07:00) แต่ได้รับจำนวนเต็ม 5",
            ),
            (r#"{"day":"2026-02-30"}"#, "วันที่หรือเวลาอยู่นอกช่วงที่เป็นไปได้"),
            (r#"{"n":1,"n":2}"#, "ระบุช่อง `n` ซ้ำ"),
            (r#"{"m":5}"#, "ต้องเป็นค่าใดค่าหนึ่งที่กำหนดไว้ แต่ได้รับจำนวนเต็ม 5"),
            (r#"5"#, "ต้องเป็นออบเจกต์ แต่ได้รับจำนวนเต็ม 5"),
        ];
        for (body, reading) in cases {
            let err = parse_json::<Kinds>(body.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValidationFailed, "{body}");
            let message = thai_field_message(&err);
            assert_eq!(
                message,
                format!("ชนิดหรือรูปแบบข้อมูลไม่ถูกต้อง: {reading}"),
                "{body}"
            );
        }
        let err = parse_json::<Kinds>(br#"{"n":"x"}"#).unwrap_err();
        assert_eq!(
            problem(&err, Lang::En)["errors"][0]["message"],
            "has the wrong type or format: invalid type: string \"x\", expected u32"
        );
        let err = parse_json::<Kinds>(br#"{"m":"air"}"#).unwrap_err();
        assert_eq!(
            thai_field_message(&err),
            "ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: `pickup`, `delivery`"
        );
    }

    #[test]
    fn query_values_read_in_thai() {
        let cases = [
            ("n=x", "ต้องเป็นจำนวนเต็ม (มีอักขระที่ไม่ใช่ตัวเลข)"),
            ("n=", "ต้องเป็นจำนวนเต็ม แต่ได้รับค่าว่าง"),
            ("n=99999999999", "ตัวเลขมากเกินกว่าที่รับได้"),
            ("b=maybe", "ต้องเป็น `true` หรือ `false`"),
            ("day=tomorrow", "วันที่หรือเวลามีอักขระหรือรูปแบบที่ใช้ไม่ได้"),
        ];
        for (query, reading) in cases {
            let err = parse_query::<Kinds>(query).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{query}");
            assert_eq!(
                thai_field_message(&err),
                format!("ชนิดหรือรูปแบบข้อมูลไม่ถูกต้อง: {reading}"),
                "{query}"
            );
        }
    }

    #[test]
    fn unknown_complaints_get_a_generic_thai_text() {
        assert_eq!(serde_reason_th("the moon is made of cheese"), UNREAD_TH);
        assert_eq!(
            serde_reason_th("invalid type: string \"x\", expected a frobnicated widget"),
            UNREAD_TH
        );
        assert_eq!(
            serde_reason_th("can not parse \"abc\" to a i64"),
            "ต้องเป็นจำนวนเต็ม"
        );
        // A string that looks like the separator does not split the message in the wrong place.
        assert_eq!(
            serde_reason_th("invalid type: string \"a, expected b\", expected u8"),
            "ต้องเป็นจำนวนเต็ม แต่ได้รับข้อความ"
        );
    }

    #[test]
    fn allowed_values_of_a_check_are_code_spans() {
        let mut error = validator::ValidationError::new("invalid_enum");
        error.add_param("allowed".into(), &"orders:read, orders:write");
        let fe = map_validator_error("scopes", &error);
        assert_eq!(
            fe.message(Lang::Th),
            "ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: `orders:read`, `orders:write`"
        );
        assert_eq!(
            fe.message(Lang::En),
            "must be one of: `orders:read`, `orders:write`"
        );
    }

    #[test]
    fn validation_errors_are_flattened_with_paths() {
        let raw = br#"{"name":"abcdefg","lines":[{"quantity":1},{"quantity":11}]}"#;
        let body: Body = serde_json::from_slice(raw).unwrap();
        let errors = flatten_validation_errors(&body.validate().unwrap_err());
        // parse_json answers with the same errors.
        let problem = parse_json::<Body>(raw).unwrap_err();
        assert_eq!(
            problem.to_problem(Lang::En, None, None)["errors"]
                .as_array()
                .unwrap()
                .len(),
            errors.len()
        );
        let pairs: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![("lines[1].quantity", "too_large"), ("name", "too_long")]
        );
    }
}

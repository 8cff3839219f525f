//! Request extractors that turn every kind of bad input into a problem with the field and reason.
//!
//! `ValidJson<T>` and `ValidForm<T>` read the body (checking content type and size), deserialize it
//! with the path of any failing field, then run `validator`. `ValidQuery<T>` does the same for the
//! query string. The actix built-in extractors are configured to answer with problems too.

use std::borrow::Cow;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::AppState;
use crate::error::{ApiError, ErrorKind, FieldError};

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
        let chunk = chunk.map_err(|e| ApiError::bad_request(e.to_string()))?;
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
            if !content_type_is(&req, is_json) {
                return Err(ApiError::new(ErrorKind::UnsupportedMediaType)
                    .with("expected", "application/json"));
            }
            let body = read_body(&req, payload, body_limit(&req)).await?;
            let value: T = parse_json(&body)?;
            validate(&value, ErrorKind::ValidationFailed)?;
            Ok(ValidJson(value))
        })
    }
}

/// Parses JSON, reporting syntax errors as `malformed_json` and data errors with their field path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::new(ErrorKind::MalformedJson).with("reason", "the body is empty"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::validation(vec![serde_field_error(&path, &inner.to_string())])
            }
            _ => ApiError::new(ErrorKind::MalformedJson).with("reason", inner.to_string()),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ErrorKind::MalformedJson).with("reason", e.to_string()))?;
    Ok(value)
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
                    "application/x-www-form-urlencoded or application/json",
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
        return FieldError::new(base, "invalid_enum").with("allowed", allowed.join(", "));
    }
    FieldError::new(base, "invalid_type").with("reason", message)
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_string())
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
        if k != "value" && !fe.params.iter().any(|(n, _)| n == k) {
            fe.params.push((k.to_string(), v.clone()));
        }
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
        other => ApiError::new(ErrorKind::MalformedJson).with("reason", other.to_string()),
    };
    api.into()
}

pub fn query_error_handler(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let QueryPayloadError::Deserialize(e) = &err else {
        return ApiError::bad_request(err.to_string()).into();
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
        other => ApiError::new(ErrorKind::MalformedForm).with("reason", other.to_string()),
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
    for (name, _) in named {
        e = e.field(FieldError::new(name.clone(), "invalid_type").with("reason", err.to_string()));
    }
    e.into()
}

/// Reads a path parameter that must be a positive integer id.
pub fn parse_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::new(ErrorKind::InvalidParameter).field(
            FieldError::new(name, "invalid_type").with("reason", "expected a positive integer id"),
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
    use serde::{Deserialize, Serialize};

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

    #[test]
    fn validation_errors_are_flattened_with_paths() {
        let body: Body =
            parse_json(br#"{"name":"abcdefg","lines":[{"quantity":1},{"quantity":11}]}"#).unwrap();
        let errors = flatten_validation_errors(&body.validate().unwrap_err());
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

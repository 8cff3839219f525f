//! The OpenAPI description: general information and security schemes. Paths and schemas are
//! collected from the routes themselves (utoipa-actix-web), so a route cannot be missing.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
    schema::{ArrayItems, ObjectBuilder, SchemaFormat, SchemaType},
};

use crate::error::{FieldErrorBody, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "khongdee API",
        description = include_str!("../docs/api-intro.md"),
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "operations", description = "Health, readiness, metrics and documentation"),
        (name = "auth", description = "Tokens (OAuth 2.0 password, client-credentials and refresh grants), revocation, the caller's account"),
        (name = "accounts", description = "Officer, staff and partner-client accounts"),
        (name = "laos", description = "Local administrative organizations (อปท.): registry, profiles and hashtags"),
        (name = "catalog", description = "Crops, producers and products with their stories"),
        (name = "calendar", description = "District harvest calendars: grids, in-season queries, iCalendar feeds"),
        (name = "preorder", description = "Pre-order windows with capacity limits, availability, holds, waiting lists and the capacity ledger"),
        (name = "orders", description = "Orders: idempotent placement, buyer access, PromptPay payment, status moves, packing lists"),
        (name = "stats", description = "The programme's report: sales figures per LAO, district, province and the nation, the sheet (CSV), the feed of sale facts, and sales LAOs record"),
        (name = "webhooks", description = "Partner webhooks: endpoints, Standard Webhooks signatures, delivery in order per order and window, retries, the delivery log, resend and recovery"),
        (name = "privacy", description = "Buyers' personal data (PDPA): export and erasure for one phone, the audit log; retention in the README"),
        (name = "geography", description = "Provinces, districts, subdistricts and postal codes (DOPA codes; public)"),
    ),
    components(schemas(Problem, FieldErrorBody))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from POST /v1/auth/token, sent as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Problems every route can answer, declared once under `components/responses` and referenced
/// from each operation they apply to.
const SHARED_RESPONSES: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Bad request: malformed JSON or an invalid path, query or header parameter (`invalid_parameter`, `malformed_json`, `invalid_idempotency_key`); `errors[]` names the field.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The request body is larger than the service accepts (`payload_too_large`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The request body has another content type than the operation takes (`unsupported_media_type`).",
    ),
    (
        "422",
        "ValidationFailed",
        "The body is well-formed but invalid (`validation_failed`); `errors[]` lists each field with a code and a message.",
    ),
    (
        "429",
        "TooManyRequests",
        "Rate limit reached (`rate_limited`); `Retry-After` gives the seconds to wait.",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The database is unreachable or busy (`database_unavailable`); retry after `Retry-After` seconds.",
    ),
];

/// Completes the document after the routes have added their operations: declares the problems
/// every route shares (bad parameters, body size and type, rate limits, database outage) on the
/// operations they apply to, and gives every response a description (OpenAPI requires one).
pub fn complete_responses(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    declare_rate_limit_headers(components);
    for (status, name, description) in SHARED_RESPONSES {
        let mut response = ResponseBuilder::new().description(*description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
        if matches!(*status, "429" | "503") {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait before trying again"))
                    .build(),
            );
        }
        let mut response = response.build();
        if *status == "429" {
            add_rate_limit_headers(&mut response);
        }
        components
            .responses
            .insert((*name).to_string(), RefOr::T(response));
    }
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(path, operation);
        }
    }
}

fn complete_operation(path: &str, operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_fallible_parameter = operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.parameter_in != ParameterIn::Path || !is_string(p.schema.as_ref()),
        RefOr::Ref(_) => true,
    });
    // The API proper: rate limited and backed by the database. Operations endpoints are not.
    let api_route = path.starts_with("/v1/");
    for (status, name, _) in SHARED_RESPONSES {
        let applies = match *status {
            "400" => has_body || has_fallible_parameter,
            "413" | "415" | "422" => has_body,
            _ => api_route, // 429, 503
        };
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
        }
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            describe(status, response);
            if api_route && status.starts_with('2') {
                add_rate_limit_headers(response);
            }
        }
    }
}

/// The rate-limit fields every answer of a `/v1` route carries (`auth::ratelimit`): the IETF
/// draft's structured fields and the older integer trio with the same values.
const RATE_LIMIT_HEADERS: &[(&str, Type, &str)] = &[
    (
        "RateLimit-Policy",
        Type::String,
        "Quota policy (draft-ietf-httpapi-ratelimit-headers): `\"<token|authenticated|anonymous>\";q=<requests a minute>;w=60`",
    ),
    (
        "RateLimit",
        Type::String,
        "Current service limit: `\"<policy>\";r=<requests left>;t=<seconds until the next request comes back>`",
    ),
    (
        "RateLimit-Limit",
        Type::Integer,
        "Requests a minute under the policy that applied (= q)",
    ),
    (
        "RateLimit-Remaining",
        Type::Integer,
        "Requests left now (= r)",
    ),
    (
        "RateLimit-Reset",
        Type::Integer,
        "Seconds until the next request comes back (= t; equals Retry-After on a 429)",
    ),
];

/// Declares the rate-limit fields once under `components/headers`.
fn declare_rate_limit_headers(components: &mut utoipa::openapi::Components) {
    for (name, kind, description) in RATE_LIMIT_HEADERS {
        components.headers.insert(
            (*name).to_string(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(kind.clone())))
                    .description(Some(*description))
                    .build(),
            ),
        );
    }
}

/// Points a response's rate-limit fields at their declarations.
fn add_rate_limit_headers(response: &mut Response) {
    for (name, _, _) in RATE_LIMIT_HEADERS {
        response
            .headers
            .entry((*name).to_string())
            .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))));
    }
}

fn is_string(schema: Option<&RefOr<Schema>>) -> bool {
    matches!(
        schema,
        Some(RefOr::T(Schema::Object(object)))
            if object.schema_type == SchemaType::Type(Type::String) && object.format.is_none()
    )
}

/// A standard description for a response the handler declared without one.
fn describe(status: &str, response: &mut Response) {
    let standard = match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "Done; no content",
        "304" => "Not modified",
        "400" => "Bad request; `errors[]` names the field",
        "401" => "Not authenticated: the access token is missing, invalid or expired",
        "403" => "This caller may not do this",
        "404" => "Not found, or not visible to this caller",
        "409" => "Conflicts with the current state",
        "410" => "Gone",
        "413" => "The request body is too large",
        "415" => "Unsupported content type",
        "422" => "Validation failed; `errors[]` lists each field with a code",
        "429" => "Too many requests; see `Retry-After`",
        "503" => "Service unavailable; see `Retry-After`",
        _ => "See the problem document",
    };
    if response.description.is_empty() {
        response.description = standard.to_string();
    } else if status.starts_with(['4', '5'])
        && response
            .description
            .chars()
            .all(|c| c.is_ascii_lowercase() || matches!(c, '_' | ',' | ' '))
    {
        // A list of problem codes only ("sold_out, window_closed"): keep it after the text.
        response.description = format!("{standard}: {}", response.description);
    }
}

/// The OpenAPI document as the running service serves it.
pub fn to_pretty_json(api: &utoipa::openapi::OpenApi) -> String {
    let mut json = api.to_pretty_json().unwrap_or_else(|_| "{}".to_string());
    json.push('\n');
    json
}

/// Who claims which schema name, to find two types that would share one.
///
/// utoipa-actix-web gathers the schemas of a scope's handlers in a list and then extends the
/// document's map with it, so of two types with one name (say `NewEntry` in two modules) the
/// last silently replaces the first and the other operation points at the wrong body. The list
/// is only visible to the services of the same `ServiceConfig`, which receive it, everything
/// gathered so far included, in `OpenApiFactory::schemas`: [`SchemaNames::after`] makes such a
/// service (it registers nothing with actix) that records the claims a room added.
#[derive(Clone, Default)]
pub struct SchemaNames {
    claims: Rc<RefCell<Vec<SchemaClaim>>>,
}

struct SchemaClaim {
    name: String,
    schema: RefOr<Schema>,
    room: &'static str,
}

/// A schema claimed under a name, and the rooms that claim it.
type SchemaVariant<'a> = (&'a RefOr<Schema>, Vec<&'static str>);

/// Two or more different schemas under one name, and the rooms (modules) that bring each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaNameClash {
    pub name: String,
    /// One line per distinct schema: the rooms that use it, its description and properties.
    pub schemas: Vec<String>,
}

impl std::fmt::Display for SchemaNameClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "schema name `{}` is claimed by {} different types: {}",
            self.name,
            self.schemas.len(),
            self.schemas.join("; ")
        )
    }
}

/// Records the schemas that the services registered since the previous recorder of the same
/// `ServiceConfig` added; see [`SchemaNames`].
pub struct SchemaRecorder {
    names: SchemaNames,
    room: &'static str,
    /// How much of this `ServiceConfig`'s list earlier recorders have read.
    read: Rc<Cell<usize>>,
}

/// Where the recorders of one `ServiceConfig` have got to in its list.
#[derive(Clone)]
pub struct SchemaList {
    names: SchemaNames,
    read: Rc<Cell<usize>>,
}

impl SchemaNames {
    /// Starts with the schemas of the base document (`ApiDoc`), which route schemas would
    /// replace just the same.
    pub fn new(base: &utoipa::openapi::OpenApi) -> SchemaNames {
        let names = SchemaNames::default();
        if let Some(components) = &base.components {
            names
                .claims
                .borrow_mut()
                .extend(components.schemas.iter().map(|(name, schema)| SchemaClaim {
                    name: name.clone(),
                    schema: schema.clone(),
                    room: "openapi",
                }));
        }
        names
    }

    /// The recorders of one `ServiceConfig` share one position in its list.
    pub fn list(&self) -> SchemaList {
        SchemaList {
            names: self.clone(),
            read: Rc::new(Cell::new(0)),
        }
    }

    /// Names that different schemas claim, with the rooms that bring each, by name.
    pub fn clashes(&self) -> Vec<SchemaNameClash> {
        let claims = self.claims.borrow();
        // Per name, each distinct schema with the rooms that bring it.
        let mut by_name: BTreeMap<&str, Vec<SchemaVariant>> = BTreeMap::new();
        for claim in claims.iter() {
            let variants = by_name.entry(&claim.name).or_default();
            match variants.iter_mut().find(|(s, _)| **s == claim.schema) {
                Some((_, rooms)) => {
                    if !rooms.contains(&claim.room) {
                        rooms.push(claim.room);
                    }
                }
                None => variants.push((&claim.schema, vec![claim.room])),
            }
        }
        by_name
            .into_iter()
            .filter(|(_, variants)| variants.len() > 1)
            .map(|(name, variants)| SchemaNameClash {
                name: name.to_string(),
                schemas: variants
                    .into_iter()
                    .map(|(schema, rooms)| format!("{} ({})", summarize(schema), rooms.join(", ")))
                    .collect(),
            })
            .collect()
    }
}

impl SchemaList {
    /// A service to register after `room`'s routes in the same `ServiceConfig`.
    pub fn after(&self, room: &'static str) -> SchemaRecorder {
        SchemaRecorder {
            names: self.names.clone(),
            room,
            read: self.read.clone(),
        }
    }
}

/// A schema in a few words: its description and its properties.
fn summarize(schema: &RefOr<Schema>) -> String {
    match schema {
        RefOr::Ref(r) => format!("a reference to {}", r.ref_location),
        RefOr::T(Schema::Object(object)) => {
            let description = object.description.as_deref().unwrap_or("no description");
            let properties: Vec<&str> = object.properties.keys().map(String::as_str).collect();
            format!("\"{description}\" with {{{}}}", properties.join(", "))
        }
        RefOr::T(other) => serde_json::to_string(other).unwrap_or_default(),
    }
}

impl actix_web::dev::HttpServiceFactory for SchemaRecorder {
    fn register(self, _: &mut actix_web::dev::AppService) {}
}

impl utoipa_actix_web::OpenApiFactory for SchemaRecorder {
    fn paths(&self) -> utoipa::openapi::path::Paths {
        utoipa::openapi::path::Paths::new()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        let from = self.read.get().min(schemas.len());
        self.names
            .claims
            .borrow_mut()
            .extend(schemas[from..].iter().map(|(name, schema)| SchemaClaim {
                name: name.clone(),
                schema: schema.clone(),
                room: self.room,
            }));
        self.read.set(schemas.len());
    }
}

/// The characters Rust's `char::is_whitespace` (Unicode White_Space) takes, which `trim` and
/// the blank checks use; as the body of a regular-expression class, read alike by ECMA-262 and
/// Python.
const WHITE_SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A string format this API names on fields (`#[schema(format = "thai-phone")]`), with the
/// pattern and length the server's check enforces. [`describe_formats`] writes them into every
/// schema and parameter that names the format, so that each rule is stated once, here, beside
/// the name of the check it mirrors. Where a pattern cannot state the whole rule (check
/// digits), it gives the shape and the field's description says the rest.
pub struct StringFormat {
    pub name: &'static str,
    /// Where the check lives.
    pub checked_by: &'static str,
    pub max_length: Option<usize>,
    pub pattern: fn() -> String,
}

/// Separators Thai phone numbers are written with (`validate::PhoneNumber::parse`).
const PHONE_SEPARATORS: &str = r"[ ().-]*";

/// A Thai phone number as `validate::PhoneNumber::parse` reads it: `+66`, `0066` or `0` (a
/// trunk `0` may follow the country code, and a second `0` the trunk `0`), then 9 digits
/// starting 6, 8 or 9 (mobile) or 8 starting 2, 3, 4, 5 or 7 (landline), separators anywhere.
/// Digits that start `0066` are always read as the country code, so after `00` read as two
/// trunk zeros the number may not start `66`.
fn phone_pattern(mobile_only: bool) -> String {
    let s = PHONE_SEPARATORS;
    let digits = |n: usize| format!("({s}[0-9]){{{n}}}");
    let mobile = format!("[689]{}", digits(8));
    let landline = format!("[2-57]{}", digits(7));
    let not_66_mobile = format!("[89]{}|6{s}[0-57-9]{}", digits(8), digits(7));
    let (national, after_double_zero) = if mobile_only {
        (mobile, not_66_mobile)
    } else {
        (
            format!("{mobile}|{landline}"),
            format!("{not_66_mobile}|{landline}"),
        )
    };
    format!(
        r"^(\+{s}6{s}6{s}(0{s})?({national})|{s}0{s}0{s}6{s}6{s}(0{s})?({national})|{s}0{s}({national})|{s}0{s}0{s}({after_double_zero})){s}$"
    )
}

/// Digits with optional spaces or dashes between and around them
/// (`thai_ids::digits_without_separators`).
fn separated_digits(count: usize) -> String {
    format!("[ -]*([0-9][ -]*){{{count}}}")
}

/// The formats the API names; see [`StringFormat`].
pub const FORMATS: &[StringFormat] = &[
    StringFormat {
        name: "thai-phone",
        checked_by: "validate::PhoneNumber::parse",
        max_length: Some(32),
        pattern: || phone_pattern(false),
    },
    StringFormat {
        name: "http-url",
        checked_by: "validate::is_http_url",
        max_length: Some(2048),
        // Brackets (IPv6 literals) are left out of the host: the server takes them unchecked,
        // and `http://[` is no address.
        pattern: || format!(r"^https?://[^/?#\[\]{WHITE_SPACE}]+([/?#][^{WHITE_SPACE}]*)?$"),
    },
    StringFormat {
        name: "clip-url",
        checked_by: "catalog::products::clip_platform (and validate::is_http_url)",
        max_length: Some(2048),
        // Hosts in lower case (the server also takes them in capitals).
        pattern: || {
            format!(
                r"^https?://(www\.)?(m\.)?(facebook\.com|web\.facebook\.com|fb\.watch|fb\.com|tiktok\.com|vt\.tiktok\.com|vm\.tiktok\.com|youtube\.com|youtu\.be|music\.youtube\.com)([/?#][^{WHITE_SPACE}]*)?$"
            )
        },
    },
    StringFormat {
        name: "web-origin",
        checked_by: "laos::handlers::valid_origin",
        max_length: None,
        pattern: || format!(r"^[{WHITE_SPACE}]*https?://[A-Za-z0-9.:-]+/*[{WHITE_SPACE}]*$"),
    },
    StringFormat {
        name: "hashtag",
        checked_by: "catalog::products::valid_hashtags",
        max_length: Some(101),
        pattern: || format!(r"^#?[^#{WHITE_SPACE}]{{1,100}}$"),
    },
    StringFormat {
        name: "non-blank",
        checked_by: "validate::not_blank",
        max_length: None,
        pattern: || format!(r"[^{WHITE_SPACE}]"),
    },
    StringFormat {
        name: "non-blank-line",
        checked_by: "validate::not_blank, validate::one_line",
        max_length: None,
        // Something other than white space, and no control character (tabs, line breaks).
        pattern: || {
            format!(
                r"^[^\x00-\x1F\x7F-\x9F]*[^{WHITE_SPACE}\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
            )
        },
    },
    StringFormat {
        name: "slug",
        checked_by: "catalog::crops::slug_chars",
        max_length: None,
        pattern: || "^[a-z][a-z0-9_]*$".to_string(),
    },
    StringFormat {
        name: "username",
        checked_by: "auth::users::username_chars",
        max_length: None,
        pattern: || "^[A-Za-z0-9._@-]+$".to_string(),
    },
    StringFormat {
        name: "postal-code",
        checked_by: "laos::handlers::postal",
        max_length: None,
        pattern: || "^[0-9]{5}$".to_string(),
    },
    StringFormat {
        name: "dla-code",
        checked_by: "validate::digits (7 digits)",
        max_length: None,
        pattern: || "^[0-9]{7}$".to_string(),
    },
    StringFormat {
        name: "thai-citizen-id",
        checked_by: "thai_ids::CitizenId::parse (and its mod-11 check digit)",
        max_length: Some(40),
        // 13 digits, not starting with 0.
        pattern: || format!("^[ -]*[1-9]{}$", separated_digits(12)),
    },
    StringFormat {
        name: "promptpay-id",
        checked_by: "thai_ids::PromptPayId::parse (a 13-digit id also needs its check digit)",
        max_length: Some(40),
        pattern: || {
            let mobile = phone_pattern(true);
            let mobile = mobile.trim_start_matches('^').trim_end_matches('$');
            // 13 digits that start `0066` are a phone number in international form or nothing.
            format!(
                "^({mobile})$|^(?![ -]*0[ -]*0[ -]*6[ -]*6){}$|^{}$",
                separated_digits(13),
                separated_digits(15)
            )
        },
    },
];

/// The pattern of a format, by name.
pub fn format_pattern(name: &str) -> Option<String> {
    FORMATS
        .iter()
        .find(|f| f.name == name)
        .map(|f| (f.pattern)())
}

/// Writes each [`StringFormat`]'s pattern and maximum length into the schemas and parameters
/// that name it (where the field does not state its own), and returns the format names that
/// neither [`FORMATS`] nor the standard formats know (a typo would leave a field unchecked).
pub fn describe_formats(api: &mut utoipa::openapi::OpenApi) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Some(components) = api.components.as_mut() {
        for schema in components.schemas.values_mut() {
            apply_formats(schema, &mut unknown);
        }
    }
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && let Some(schema) = parameter.schema.as_mut()
                {
                    apply_formats(schema, &mut unknown);
                }
            }
            if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                for content in body.content.values_mut() {
                    if let RefOr::T(content) = content
                        && let Some(schema) = content.schema.as_mut()
                    {
                        apply_formats(schema, &mut unknown);
                    }
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    unknown
}

fn operations_mut(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Formats that JSON Schema or OpenAPI define, which tools know without us.
const STANDARD_FORMATS: &[&str] = &["email", "uri", "date", "date-time", "binary"];

fn apply_formats(schema: &mut RefOr<Schema>, unknown: &mut Vec<String>) {
    let RefOr::T(schema) = schema else {
        return;
    };
    match schema {
        Schema::Object(object) => {
            if let Some(SchemaFormat::Custom(name)) = &object.format {
                match FORMATS.iter().find(|f| f.name == name.as_str()) {
                    Some(format) => {
                        object.pattern.get_or_insert_with(format.pattern);
                        if object.max_length.is_none() {
                            object.max_length = format.max_length;
                        }
                    }
                    None if STANDARD_FORMATS.contains(&name.as_str()) => {}
                    None => unknown.push(name.clone()),
                }
            }
            for property in object.properties.values_mut() {
                apply_formats(property, unknown);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                apply_formats(items, unknown);
            }
        }
        Schema::OneOf(one_of) => one_of
            .items
            .iter_mut()
            .for_each(|s| apply_formats(s, unknown)),
        Schema::AllOf(all_of) => all_of
            .items
            .iter_mut()
            .for_each(|s| apply_formats(s, unknown)),
        Schema::AnyOf(any_of) => any_of
            .items
            .iter_mut()
            .for_each(|s| apply_formats(s, unknown)),
        _ => {}
    }
}

/// The `Idempotency-Key` header as `idempotency::key_from` takes it: 1–255 visible ASCII
/// characters (a quoted string is read without its quotes).
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7E]+$";

/// Opaque cursors are base64url without padding (`pagination::encode_cursor`).
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]*$";

/// States the shape of parameters that many operations share, wherever they are declared:
/// `Idempotency-Key` headers and `cursor` query parameters.
pub fn describe_shared_parameters(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                let RefOr::T(parameter) = parameter else {
                    continue;
                };
                match (&parameter.parameter_in, parameter.name.as_str()) {
                    (ParameterIn::Header, "Idempotency-Key") => {
                        parameter.schema = Some(RefOr::T(Schema::Object(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .max_length(Some(255))
                                .pattern(Some(IDEMPOTENCY_KEY_PATTERN))
                                .build(),
                        )));
                        let said = parameter.description.take().unwrap_or_default();
                        let said = said.trim_end_matches('.');
                        parameter.description = Some(format!(
                            "{said}{}1–255 visible ASCII characters (a random UUID is best), new \
                             for each new request: a retry with the same key and body gets the \
                             first answer back; the same key with another body is refused (422 \
                             `idempotency_key_reused`). Keys are kept 48 hours.",
                            if said.is_empty() { "" } else { ". " },
                        ));
                    }
                    (ParameterIn::Query, "cursor") => {
                        if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
                            object
                                .pattern
                                .get_or_insert_with(|| CURSOR_PATTERN.to_string());
                        }
                        parameter.description = Some(
                            "Opaque: the `next_cursor` of the previous page, passed back \
                             unchanged (anything else is refused with 400 `invalid_cursor`)."
                                .to_string(),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A link from one operation's answer to another operation (OpenAPI `links`), so that a client,
/// or a stateful fuzzer, knows which fields of the answer feed which later requests.
struct LinkSpec {
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
    request_body: Option<fn() -> serde_json::Value>,
}

const ORDER_CODE: (&str, &str) = ("path.code", "$response.body#/code");
const ORDER_SECRET: (&str, &str) = ("header.X-Order-Secret", "$response.body#/secret");
const HOLD_ID: (&str, &str) = ("path.hold_id", "$response.body#/id");
const ENTRY_ID: (&str, &str) = ("path.entry_id", "$response.body#/id");
const BATCH_ID: (&str, &str) = ("path.id", "$response.body#/id");

const fn link(
    from: &'static str,
    name: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
) -> LinkSpec {
    LinkSpec {
        from,
        status: "201",
        name,
        to,
        parameters,
        request_body: None,
    }
}

const LINKS: &[LinkSpec] = &[
    link(
        "place_order",
        "GetOrder",
        "get_order",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "GetPayment",
        "payment_info",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "GetPaymentQrSvg",
        "payment_qr_svg",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "GetPaymentQrPng",
        "payment_qr_png",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "GetOrderHistory",
        "order_history",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "CancelOrder",
        "cancel_order",
        &[ORDER_CODE, ORDER_SECRET],
    ),
    link(
        "place_order",
        "ConfirmPayment",
        "confirm_payment",
        &[ORDER_CODE],
    ),
    link("place_order", "MoveOrder", "move_order", &[ORDER_CODE]),
    link("create_hold", "GetHold", "get_hold", &[HOLD_ID]),
    link("create_hold", "ExtendHold", "extend_hold", &[HOLD_ID]),
    link("create_hold", "ReleaseHold", "release_hold", &[HOLD_ID]),
    LinkSpec {
        request_body: Some(|| serde_json::json!({"hold_id": "$response.body#/id"})),
        ..link("create_hold", "PlaceOrderFromHold", "place_order", &[])
    },
    link(
        "join_waitlist",
        "GetWaitlistEntry",
        "get_waitlist_entry",
        &[ENTRY_ID],
    ),
    link(
        "join_waitlist",
        "LeaveWaitlist",
        "leave_waitlist",
        &[ENTRY_ID],
    ),
    link("create_batch", "GetBatch", "get_batch", &[BATCH_ID]),
    link("create_batch", "UpdateBatch", "update_batch", &[BATCH_ID]),
    link("create_batch", "AddOrders", "add_orders", &[BATCH_ID]),
    link(
        "create_batch",
        "RecordTracking",
        "record_tracking",
        &[BATCH_ID],
    ),
    link("create_batch", "Manifest", "manifest_csv", &[BATCH_ID]),
    link("create_batch", "Labels", "labels_page", &[BATCH_ID]),
    link("create_batch", "HandOver", "hand_over", &[BATCH_ID]),
    link("create_batch", "CancelBatch", "cancel_batch", &[BATCH_ID]),
    link(
        "create_batch",
        "RemoveOrder",
        "remove_order",
        &[
            BATCH_ID,
            ("path.code", "$response.body#/orders/0/order_code"),
        ],
    ),
];

/// Adds [`LINKS`] to the answers they start from, and returns those whose source operation or
/// answer is missing (renamed), so that a test can name them.
pub fn add_links(api: &mut utoipa::openapi::OpenApi) -> Vec<String> {
    let mut missing = Vec::new();
    for spec in LINKS {
        let response = api
            .paths
            .paths
            .values_mut()
            .flat_map(operations_mut)
            .find(|op| op.operation_id.as_deref() == Some(spec.from))
            .and_then(|op| op.responses.responses.get_mut(spec.status));
        let Some(RefOr::T(response)) = response else {
            missing.push(format!("{} {} {}", spec.from, spec.status, spec.name));
            continue;
        };
        let mut link = LinkBuilder::new().operation_id(spec.to);
        for (name, expression) in spec.parameters {
            link = link.parameter(*name, *expression);
        }
        link = link.request_body(spec.request_body.map(|body| body()));
        response
            .links
            .insert(spec.name.to_string(), RefOr::T(link.build()));
    }
    missing
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::string::string_regex;

    use super::*;
    use crate::validate::{PhoneNumber, is_http_url};

    /// Strings a format's pattern describes, no longer than the format allows: the pattern
    /// without its end anchors (which the generator does not take), and with at most three of
    /// a class where it allows any number (else nearly every phone number is too long).
    fn described(name: &str) -> impl Strategy<Value = String> + use<> {
        let pattern = format_pattern(name).unwrap_or_else(|| panic!("no format {name}"));
        let bare = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or(&pattern)
            .replace("]*", "]{0,3}");
        let max = FORMATS
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.max_length)
            .unwrap_or(usize::MAX);
        string_regex(&bare)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .prop_filter("longer than the format allows", move |s| {
                s.chars().count() <= max
            })
    }

    // Whatever a format's pattern (and length) allows, the server's check accepts: a client
    // generated from the document never sends a value the server refuses.
    proptest! {
        #[test]
        fn phone_numbers_the_pattern_allows_are_accepted(s in described("thai-phone")) {
            prop_assert!(PhoneNumber::parse(&s).is_some(), "{s:?}");
        }

        #[test]
        fn urls_the_pattern_allows_are_accepted(s in described("http-url")) {
            // `is_http_url` counts bytes (up to 2048), the document characters.
            prop_assume!(s.len() <= 2048);
            prop_assert!(is_http_url(&s), "{s:?}");
        }

        #[test]
        fn clip_urls_the_pattern_allows_are_accepted(s in described("clip-url")) {
            prop_assert!(crate::catalog::products::valid_clip_urls(std::slice::from_ref(&s)).is_ok(), "{s:?}");
        }

        #[test]
        fn origins_the_pattern_allows_are_accepted(s in described("web-origin")) {
            prop_assert!(crate::laos::handlers::valid_origin(s.trim().trim_end_matches('/')), "{s:?}");
        }

        #[test]
        fn hashtags_the_pattern_allows_are_accepted(s in described("hashtag")) {
            prop_assert!(crate::catalog::products::valid_hashtags(std::slice::from_ref(&s)).is_ok(), "{s:?}");
        }

        #[test]
        fn slugs_and_usernames_the_patterns_allow_are_accepted(
            slug in described("slug"),
            username in described("username"),
        ) {
            prop_assert!(crate::catalog::crops::slug_chars(&slug).is_ok(), "{slug:?}");
            prop_assert!(crate::auth::users::username_chars(&username).is_ok(), "{username:?}");
        }

        #[test]
        fn non_blank_strings_are_not_blank(s in described("non-blank")) {
            prop_assert!(crate::validate::not_blank(&s).is_ok(), "{s:?}");
        }

        #[test]
        fn non_blank_lines_are_one_line_and_not_blank(s in described("non-blank-line")) {
            prop_assert!(crate::validate::not_blank(&s).is_ok(), "{s:?}");
            prop_assert!(crate::validate::one_line(&s).is_ok(), "{s:?}");
        }

        #[test]
        fn citizen_ids_of_the_right_shape_parse_when_the_check_digit_fits(s in described("thai-citizen-id")) {
            // The pattern gives the shape; the check digit decides.
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            let check_digit_fits = crate::thai_ids::CitizenId::parse(&digits).is_some();
            prop_assert_eq!(crate::thai_ids::CitizenId::parse(&s).is_some(), check_digit_fits, "{:?}", s);
        }
    }

    #[test]
    fn phone_pattern_refuses_the_number_read_as_a_country_code() {
        // `00` + `66` + seven digits: the server reads `0066` as the country code and refuses
        // the rest; the pattern must not offer it through the `00` (two trunk zeros) branch.
        let pattern = format_pattern("thai-phone").unwrap();
        assert!(pattern.contains("6[ ().-]*[0-57-9]"), "{pattern}");
        assert!(PhoneNumber::parse("00661234567").is_none());
        assert!(PhoneNumber::parse("00 81 234 5678").is_some());
    }
}

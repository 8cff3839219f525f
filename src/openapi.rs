//! The OpenAPI description: general information and security schemes. Paths and schemas are
//! collected from the routes themselves (utoipa-actix-web), so a route cannot be missing.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
    schema::{ObjectBuilder, SchemaType},
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
        components
            .responses
            .insert((*name).to_string(), RefOr::T(response.build()));
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
        }
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

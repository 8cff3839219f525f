//! The OpenAPI description: general information and security schemes. Paths and schemas are
//! collected from the routes themselves (utoipa-actix-web), so a route cannot be missing.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

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

/// The OpenAPI document as the running service serves it.
pub fn to_pretty_json(api: &utoipa::openapi::OpenApi) -> String {
    let mut json = api.to_pretty_json().unwrap_or_else(|_| "{}".to_string());
    json.push('\n');
    json
}

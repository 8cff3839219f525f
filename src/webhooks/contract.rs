//! The webhook contract in the OpenAPI 3.1 document: one entry of its `webhooks` section per
//! event type, each a `POST` with the Standard Webhooks headers and a body
//! `{"type", "timestamp", "data"}` whose `data` schema is the event's (the payloads the outbox
//! writers record: `orders::lifecycle::record_event`, `preorder::windows::record_event`,
//! `preorder::waitlist`, `logistics::shipments`, [`super::endpoints`]).

use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi, PathItem, PathsBuilder, Ref, ResponseBuilder,
    ResponsesBuilder, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// `data` of `order.*` events.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookOrderData)]
pub struct OrderData {
    /// The order code (`KD-…`).
    pub code: String,
    /// The status after the event.
    pub status: String,
    pub window_id: i64,
    pub producer_id: i64,
    pub units_total: i64,
    /// Satang.
    pub total_satang: i64,
    /// `pickup` or `delivery`.
    pub delivery_method: String,
    /// `partner`, `embed` or `staff`.
    pub channel: String,
}

/// `data` of `window.*` events (`window.harvest_rescheduled` adds `previous_harvest_start`,
/// `previous_harvest_end`, `live_holds`; `window.capacity_changed` adds `previous_capacity`).
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookWindowData)]
pub struct WindowData {
    pub window_id: i64,
    pub product_id: i64,
    pub producer_id: i64,
    pub title: String,
    /// Bangkok time (RFC 3339, +07:00).
    pub opens_at: String,
    pub closes_at: String,
    /// Bangkok dates.
    pub harvest_start: chrono::NaiveDate,
    pub harvest_end: chrono::NaiveDate,
    /// In the window's units.
    pub capacity: i64,
    pub unit: String,
    pub previous_harvest_start: Option<chrono::NaiveDate>,
    pub previous_harvest_end: Option<chrono::NaiveDate>,
    pub live_holds: Option<i64>,
    pub previous_capacity: Option<i64>,
}

/// `data` of `window.sold_out`.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookWindowSoldOutData)]
pub struct WindowSoldOutData {
    pub window_id: i64,
    /// Units, as the window counts them.
    pub capacity: i64,
    pub held: i64,
    pub sold: i64,
}

/// `data` of `waitlist.offered` (`waitlist.lapsed` carries `entry_id`, `window_id` and
/// `buyer_phone` only).
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookWaitlistData)]
pub struct WaitlistData {
    pub entry_id: String,
    pub window_id: i64,
    pub hold_id: Option<String>,
    /// Bangkok time (RFC 3339).
    pub expires_at: Option<String>,
    pub variant_id: Option<i64>,
    pub quantity: Option<i64>,
    pub units: Option<i64>,
    pub buyer_name: Option<String>,
    pub buyer_phone: String,
    pub buyer_email: Option<String>,
}

/// `data` of `shipment.*` events (written by `logistics::shipments`).
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookShipmentData)]
pub struct ShipmentData {
    pub order_code: String,
    pub dispatch_batch_id: i64,
    /// `thailand_post`, `flash`, `kerry`, `jt`, `local` or `pickup`.
    pub carrier: String,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The shipment's status after the event (the event type's second part).
    pub status: String,
    /// When it happened per the carrier (or khongdee, for handover and pickup), Bangkok time.
    pub occurred_at: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// `data` of `webhook_endpoint.disabled`.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookEndpointDisabledData)]
pub struct EndpointDisabledData {
    pub endpoint_id: i64,
    pub url: String,
    /// `gone` (it answered 410) or `failing` (5 days of failures).
    pub reason: String,
    /// Bangkok time.
    pub failing_since: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// `data` of `webhook.test`.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookTestData)]
pub struct TestData {
    pub endpoint_id: i64,
    pub message: String,
}

/// The data schema of an event type.
fn data_schema(event_type: &str) -> &'static str {
    if event_type == "window.sold_out" {
        return "WebhookWindowSoldOutData";
    }
    match event_type.split('.').next() {
        Some("order") => "WebhookOrderData",
        Some("window") => "WebhookWindowData",
        Some("waitlist") => "WebhookWaitlistData",
        Some("shipment") => "WebhookShipmentData",
        Some("webhook_endpoint") => "WebhookEndpointDisabledData",
        _ => "WebhookTestData",
    }
}

fn header(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::True)
        .description(Some(description))
        .schema(Some(String::schema()))
        .build()
}

/// Adds the `webhooks` section and the data schemas to the document.
pub fn document(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("WebhookOrderData", OrderData::schema()),
        ("WebhookWindowData", WindowData::schema()),
        ("WebhookWindowSoldOutData", WindowSoldOutData::schema()),
        ("WebhookWaitlistData", WaitlistData::schema()),
        ("WebhookShipmentData", ShipmentData::schema()),
        (
            "WebhookEndpointDisabledData",
            EndpointDisabledData::schema(),
        ),
        ("WebhookTestData", TestData::schema()),
    ] {
        components.schemas.insert(name.to_string(), schema);
    }
    let mut paths = PathsBuilder::new();
    for (event_type, description) in super::endpoints::EVENT_TYPES {
        let body = ObjectBuilder::new()
            .property(
                "type",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([*event_type])),
            )
            .required("type")
            .property(
                "timestamp",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    )))
                    .description(Some("When the event happened, UTC.")),
            )
            .required("timestamp")
            .property("data", Ref::from_schema_name(data_schema(event_type)))
            .required("data")
            .build();
        let operation = OperationBuilder::new()
            .tag("webhooks")
            .summary(Some(*description))
            .description(Some(
                "Sent to endpoints that hear this type (README, \"Webhooks\"). Answer 2xx within \
                 15 s; anything else is retried 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later \
                 (or after Retry-After on 429 and 503); 410 disables the endpoint.",
            ))
            .operation_id(Some(format!("webhook_{}", event_type.replace('.', "_"))))
            .parameter(header(
                "webhook-id",
                "`evt_<n>`: the event, the same on every retry and resend.",
            ))
            .parameter(header("webhook-timestamp", "Unix seconds of this attempt."))
            .parameter(header(
                "webhook-signature",
                "`v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` per \
                 secret, space-separated during a rotation (Standard Webhooks).",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(utoipa::openapi::Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(body)).build(),
                    )
                    .build(),
            ))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "2XX",
                        ResponseBuilder::new().description("Received; not sent again."),
                    )
                    .build(),
            )
            .build();
        paths = paths.path(*event_type, PathItem::new(HttpMethod::Post, operation));
    }
    api.webhooks = Some(paths.build());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_webhook_entry_with_its_data_schema() {
        let mut api = utoipa::openapi::OpenApiBuilder::new().build();
        document(&mut api);
        let hooks = api.webhooks.as_ref().unwrap();
        assert_eq!(
            hooks.paths.len(),
            super::super::endpoints::EVENT_TYPES.len()
        );
        let json = serde_json::to_value(&api).unwrap();
        let confirmed = &json["webhooks"]["order.confirmed"]["post"];
        assert_eq!(
            confirmed["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
                ["$ref"],
            "#/components/schemas/WebhookOrderData"
        );
        assert!(
            json["components"]["schemas"]["WebhookOrderData"]["properties"]["code"].is_object()
        );
    }
}

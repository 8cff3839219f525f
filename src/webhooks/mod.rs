//! Partner webhooks: endpoints registered by partner clients and LAO staff hear the outbox's
//! events, signed as Standard Webhooks, delivered in order per order and window, retried, logged.
//!
//! A room above orders (it reads the outbox and never gets called back):
//! - `address`: where a webhook may be sent (the SSRF guard, at save and at connect time);
//! - `signing`: Standard Webhooks secrets and signatures, with rotation;
//! - `endpoints`: endpoints, their owners, secrets and delivery log;
//! - `delivery`: fan-out from the outbox, claims under a lease, attempts and the retry schedule;
//! - `dispatcher`: the loop inside `serve` that sends the due deliveries;
//! - `contract`: the OpenAPI `webhooks` section, one entry and data schema per event type;
//! - `handlers`: `/v1/webhook-endpoints…`, `/v1/webhook-event-types`.

pub mod address;
pub mod contract;
pub mod delivery;
pub mod dispatcher;
pub mod endpoints;
pub mod handlers;
pub mod signing;

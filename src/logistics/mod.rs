//! Logistics handoff: dispatch batches per carrier and date built from packed orders, carrier
//! manifests and printable labels, tracking numbers (Thailand Post S10 check digit), handover
//! that ships the orders, pickup confirmed by the order code, and carriers' signed tracking
//! events that move orders to delivered.
//!
//! A room above orders (it moves orders through `orders::lifecycle`, reads windows, products and
//! producers through their rooms' functions, and shows shipments in order views through the
//! hook `orders::model::set_shipment_lookup`; nothing calls it back):
//! - `model`: carriers, batch and shipment statuses, rows;
//! - `tracking`: tracking-number formats, tracking pages, Thailand Post status codes;
//! - `batches`: the batch rules (ready orders, one open batch per order, ship-by, blackouts,
//!   handover);
//! - `shipments`: shipment status from events, delivery and pickup moves, the order-view hook;
//! - `events`: the signed inbound carrier events;
//! - `blackouts`: carriers' blackout dates;
//! - `manifest`, `labels`: the CSV per carrier profile and the label page;
//! - `handlers`: `/v1/dispatch-batches…`, `/v1/carriers…`, `/v1/pickup-confirmations`.

pub mod batches;
pub mod blackouts;
pub mod events;
pub mod handlers;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod shipments;
pub mod tracking;

/// Connects the room to the rooms below it (the order view's shipment hook). Called once at
/// start-up.
pub fn install() {
    crate::orders::model::set_shipment_lookup(shipments::lookup);
}

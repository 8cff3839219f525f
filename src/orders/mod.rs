//! Orders: idempotent placement, buyer access by code and secret, PromptPay payment, a checked
//! state machine with its history, and the sale facts the statistics feed reads.

pub mod expiry;
pub mod gathered;
mod handlers;
pub mod lifecycle;
pub mod model;
pub mod place;

pub use handlers::{PaymentInfo, SECRET_HEADER, buyer_order, buyer_payment, packing_csv};

/// Gives the rooms below orders what they need to know of orders' claims (see
/// [`crate::capacity::claims`]). Called once by `prepare`.
pub fn install() {
    crate::capacity::claims::install(crate::capacity::claims::OrderClaims {
        expire_due: expiry::expire_due,
        units_of_buyer: lifecycle::units_ordered_by_buyer,
        lapsed_units: lifecycle::stale_unpaid_units,
        unfinished: lifecycle::open_order_count,
    });
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

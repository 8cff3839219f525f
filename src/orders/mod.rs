//! Orders: idempotent placement, buyer access by code and secret, PromptPay payment, a checked
//! state machine with its history, and the sale facts the statistics feed reads.

mod handlers;
pub mod lifecycle;
pub mod model;
pub mod place;

pub use handlers::{PaymentInfo, SECRET_HEADER, buyer_order, buyer_payment, packing_csv};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

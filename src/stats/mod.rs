//! The programme's report: sales figures per LAO, district, province and the nation (pre-orders
//! and sales LAOs record), the incremental feed of sale facts, and the sheet the ministry reads.
//! Sits above orders; reads sales through [`crate::sales`], areas through geo and laos.

pub mod feed;
pub mod handlers;
pub mod links;
pub mod page;
pub mod periods;
pub mod recorded;
pub mod reports;
pub mod tokens;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

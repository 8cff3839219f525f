//! Pre-order windows with capacity limits, holds and waiting lists: the heart of khongdee. A
//! window never sells past its capacity, on either database, under any concurrency (see
//! [`ledger`] for how).

mod handlers;
pub mod holds;
pub mod ledger;
pub mod waitlist;
pub mod windows;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

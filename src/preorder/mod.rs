//! Pre-order windows with capacity limits, holds and waiting lists: the heart of khongdee. A
//! window never sells past its capacity, on either database, under any concurrency (see
//! [`crate::capacity`] for how).

pub mod cache;
mod handlers;
pub mod holds;
pub mod waitlist;
pub mod windows;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

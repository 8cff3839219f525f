//! The catalogue: crops, the producers LAOs help, and their products with their stories.

pub mod crops;
mod handlers;
pub mod producers;
pub mod products;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

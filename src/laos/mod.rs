//! Local administrative organizations (อปท.): the registry, its import from the DLA list, and
//! each LAO's profile and hashtags.

pub(crate) mod handlers;
pub mod import;
pub mod model;

pub use model::{LaoRow, LaoType, LaoWithArea};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

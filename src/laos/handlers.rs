//! LAO endpoints.

pub fn routes(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}

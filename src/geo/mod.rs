//! Thai administrative geography: provinces, districts, subdistricts and postal codes.

pub mod data;
mod handlers;
pub mod model;

pub use model::{District, Province, Subdistrict, SubdistrictDetail};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::list_provinces)
        .service(handlers::get_province)
        .service(handlers::list_province_districts)
        .service(handlers::get_district)
        .service(handlers::list_district_subdistricts)
        .service(handlers::get_subdistrict)
        .service(handlers::check_postal_code)
        .service(handlers::find_by_postal_code);
}

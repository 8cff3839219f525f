//! Managing accounts and partner clients through the API: who may create whom, in which area.
//! Sits above the LAOs and the catalogue (an account's area is an LAO or a producer) and stores
//! through the auth room's functions.

pub mod areas;
mod handlers;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_user)
        .service(handlers::list_users)
        .service(handlers::get_user)
        .service(handlers::update_user)
        .service(handlers::create_partner)
        .service(handlers::list_partners)
        .service(handlers::get_partner)
        .service(handlers::update_partner)
        .service(handlers::rotate_partner_secret);
}

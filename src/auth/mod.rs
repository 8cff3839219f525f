//! Accounts, partner clients, tokens, authorization and rate limiting.

pub mod account_handlers;
pub mod handlers;
pub mod partners;
pub mod password;
pub mod policy;
pub mod principal;
pub mod ratelimit;
pub mod scratch;
pub mod tokens;
pub mod users;

pub use policy::{Action, Place, authorize, authorize_hidden};
pub use principal::{Area, OptionalPrincipal, Principal, Role, Subject};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::token)
        .service(handlers::revoke)
        .service(handlers::me)
        .service(handlers::change_password)
        .service(account_handlers::create_user)
        .service(account_handlers::list_users)
        .service(account_handlers::get_user)
        .service(account_handlers::update_user)
        .service(account_handlers::create_partner)
        .service(account_handlers::list_partners)
        .service(account_handlers::get_partner)
        .service(account_handlers::update_partner)
        .service(account_handlers::rotate_partner_secret);
}

//! Who is calling and what they may do: accounts and partner clients as stored, passwords,
//! tokens and sessions, the authorization policy, rate limiting. Creating and managing accounts,
//! which needs the LAOs and producers, is the accounts room's (`crate::accounts`).

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
        .service(handlers::change_password);
}

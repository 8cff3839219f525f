//! Accounts, partner clients, tokens and authorization.

pub mod password;
pub mod policy;
pub mod principal;
pub mod tokens;

pub use policy::{Action, Place, authorize};
pub use principal::{Area, OptionalPrincipal, Principal, Role, Subject};

//! Personal data under Thailand's Personal Data Protection Act (PDPA, B.E. 2562): how long a
//! buyer's data is kept, what an admin can export or erase for one buyer phone, and the audit
//! log of both.
//!
//! - **Retention** ([`retention`]): `KHONGDEE_PERSONAL_DATA_RETENTION_DAYS` (default 180) after
//!   an order is closed (delivered, picked up, cancelled, expired, refunded), the background pass
//!   erases its buyer's name, phone, e-mail, LINE id, note and delivery address, and the same for
//!   ended holds and waiting-list entries, in bounded units, each recorded in the audit log.
//! - **Subject access and erasure** ([`requests`]): admins export everything held about one
//!   phone (E.164) and erase it on request; erasure is refused (409 `personal_data_in_use`) while
//!   the buyer has an open order, an active hold or a live waiting-list entry.
//! - **Audit log** ([`audit`]): who, when, what, which phone as a keyed hash, how many rows.
//!
//! A room above orders and pre-order (they never call it). The personal columns are written by
//! the rooms that own the rows (orders at placement, pre-order for holds and waiting lists, the
//! idempotency records and outbox payloads that echo them); reading them by phone and erasing
//! them is decided here only ([`holdings`]), the one exception to "a room uses another room's
//! public functions, never its tables", as `capacity` owns the counters of a window's row.
//! Statistics keep their counts: sale facts carry keyed hashes of phones (`sales`), never phones.

pub mod audit;
pub mod handlers;
pub mod holdings;
pub mod model;
pub mod requests;
pub mod retention;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

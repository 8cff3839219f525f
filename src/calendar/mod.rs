//! District harvest calendars (ปฏิทินผลผลิตเกษตร): what is harvested where and when, as JSON, a
//! Buddhist-Era labelled 12-month grid, and iCalendar feeds.

mod handlers;
pub mod ical;
pub mod model;
pub mod months;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    handlers::routes(cfg);
}

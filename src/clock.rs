//! Time comes from an injected clock, so that tests open windows and expire holds without sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, SubsecRound, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The current time as stored in the database (UTC, microsecond precision).
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock, truncated to microseconds so values survive a round trip through either database.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start.trunc_subsecs(6)),
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to.trunc_subsecs(6);
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Asia/Bangkok: UTC+7 all year (Thailand has no daylight saving time).
pub fn bangkok() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset")
}

/// A stored UTC timestamp shown in Bangkok time.
pub fn to_bangkok(at: NaiveDateTime) -> DateTime<FixedOffset> {
    at.and_utc().with_timezone(&bangkok())
}

/// Any RFC 3339 time converted to the stored form (UTC, microseconds).
pub fn to_storage(at: DateTime<FixedOffset>) -> NaiveDateTime {
    at.with_timezone(&Utc).trunc_subsecs(6).naive_utc()
}

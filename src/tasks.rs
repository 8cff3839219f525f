//! Background work: expiring holds and unpaid orders (and the waiting-list offers that follow),
//! forgetting old idempotency keys and sessions, and erasing buyers' personal data past its
//! retention (`privacy::retention`). Expiry also happens lazily inside every
//! capacity transaction, so correctness never depends on this task having run; it only frees
//! units sooner.
//!
//! Each window is its own unit of work, in its own transaction: a window whose expiry fails is
//! logged with its id and counted (`khongdee_background_failures_total{task}` in `/metrics`),
//! and the pass goes on with the others.

use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::auth::tokens;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ApiResult};
use crate::{idempotency, orders, preorder, privacy};

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Windows whose due holds and unpaid orders were expired.
    pub windows: usize,
    /// Units of work that failed (each logged with what it was about).
    pub failed: usize,
    /// Rows whose personal data passed its retention and was erased (`privacy::retention`).
    pub personal_data_rows: i64,
}

/// Retention units (of `privacy::retention::UNIT` orders, holds and entries each) per pass.
const RETENTION_UNITS_PER_PASS: usize = 10;

/// A housekeeping step of the pass: whole-table deletions of what has expired.
type Housekeeping = fn(&mut DbConn, chrono::NaiveDateTime) -> ApiResult<usize>;

/// One pass over everything that is due.
pub fn run_once(state: &AppState) -> ApiResult<Pass> {
    let now = state.clock.now_naive();
    let mut conn = state.pool.get()?;
    let mut due = orders::lifecycle::windows_with_due_orders(&mut conn, now)?;
    due.extend(preorder::holds::windows_with_due_holds(&mut conn, now)?);
    due.sort_unstable();
    due.dedup();
    let mut pass = Pass::default();
    for window_id in due {
        let expired = db::write_transaction(&mut conn, |conn| {
            orders::expiry::expire_window(conn, window_id, now)
        });
        match expired {
            Ok(()) => pass.windows += 1,
            Err(error) => {
                pass.failed += 1;
                failed(state, "expire_window", Some(window_id), &error);
            }
        }
    }
    let housekeeping: [(&str, Housekeeping); 2] = [
        ("purge_idempotency_keys", |c, now| {
            Ok(idempotency::purge_expired(c, now)?)
        }),
        ("delete_stale_sessions", |c, now| {
            Ok(tokens::delete_stale_sessions(c, now)?)
        }),
    ];
    for (task, work) in housekeeping {
        if let Err(error) = work(&mut conn, now) {
            pass.failed += 1;
            failed(state, task, None, &error);
        }
    }
    let days = state.config.personal_data_retention_days;
    for _ in 0..RETENTION_UNITS_PER_PASS {
        let unit = db::write_transaction(&mut conn, |conn| {
            privacy::retention::erase_due(conn, days, now)
        });
        match unit {
            Ok(unit) => {
                pass.personal_data_rows += unit.rows.total();
                if !unit.more {
                    break;
                }
            }
            Err(error) => {
                pass.failed += 1;
                failed(state, "erase_personal_data", None, &error);
                break;
            }
        }
    }
    Ok(pass)
}

/// Logs a failed unit of background work and counts it.
fn failed(state: &AppState, task: &'static str, window_id: Option<i64>, error: &ApiError) {
    tracing::error!(
        task,
        window_id,
        error = %error.describe(),
        cause = error.cause().unwrap_or(""),
        "background work failed; the pass goes on"
    );
    state.metrics.record(|| {
        metrics::counter!("khongdee_background_failures_total", "task" => task).increment(1);
    });
}

/// Runs [`run_once`] every `interval` until `stop` turns true.
pub async fn run(state: AppState, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let state = state.clone();
        match actix_web::web::block(move || run_once(&state)).await {
            Ok(Ok(pass)) if pass == Pass::default() => {}
            Ok(Ok(pass)) => tracing::info!(?pass, "expired due holds and orders"),
            Ok(Err(error)) => {
                tracing::warn!(error = %error.describe(), "background pass could not start")
            }
            Err(error) => tracing::warn!(error = %error, "background pass could not run"),
        }
    }
    tracing::info!("background tasks stopped");
}

//! Background work: expiring holds (and, with orders, unpaid orders) and the waiting-list offers
//! that follow. The same work also happens lazily inside every capacity transaction, so
//! correctness never depends on this task having run; it only frees units sooner.

use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::error::ApiResult;
use crate::preorder::holds;

/// One pass over everything that is due; returns the number of windows processed.
pub fn run_once(state: &AppState) -> ApiResult<usize> {
    let now = state.clock.now_naive();
    let mut conn = state.pool.get()?;
    holds::expire_due_everywhere(&mut conn, now)
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
            Ok(Ok(0)) => {}
            Ok(Ok(windows)) => tracing::info!(windows, "expired due holds"),
            Ok(Err(error)) => tracing::warn!(error = %error, "background pass failed"),
            Err(error) => tracing::warn!(error = %error, "background pass could not run"),
        }
    }
    tracing::info!("background tasks stopped");
}

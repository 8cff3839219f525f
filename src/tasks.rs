//! Background work: expiring holds and unpaid orders (and the waiting-list offers that follow),
//! and forgetting old idempotency keys and sessions. Expiry also happens lazily inside every
//! capacity transaction, so correctness never depends on this task having run; it only frees
//! units sooner.

use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;
use crate::auth::tokens;
use crate::error::ApiResult;
use crate::{idempotency, orders, preorder};

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Windows whose due holds were expired.
    pub hold_windows: usize,
    /// Windows whose due unpaid orders were expired.
    pub order_windows: usize,
}

/// One pass over everything that is due.
pub fn run_once(state: &AppState) -> ApiResult<Pass> {
    let now = state.clock.now_naive();
    let mut conn = state.pool.get()?;
    let order_windows = orders::lifecycle::expire_due_everywhere(&mut conn, now)?;
    let hold_windows = preorder::holds::expire_due_everywhere(&mut conn, now)?;
    idempotency::purge_expired(&mut conn, now)?;
    tokens::delete_stale_sessions(&mut conn, now)?;
    Ok(Pass {
        hold_windows,
        order_windows,
    })
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
            Ok(Err(error)) => tracing::warn!(error = %error, "background pass failed"),
            Err(error) => tracing::warn!(error = %error, "background pass could not run"),
        }
    }
    tracing::info!("background tasks stopped");
}

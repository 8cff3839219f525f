//! The webhook dispatcher inside `serve`: every `KHONGDEE_WEBHOOK_POLL_MS` it fans new outbox
//! events out to deliveries, claims the due ones under a 60-second lease and sends them at once
//! (each within `KHONGDEE_WEBHOOK_TIMEOUT`, 15 s by default), then records each attempt.
//!
//! The HTTP client follows no redirects (a 3xx is a failed attempt) and resolves names through
//! [`GuardedResolver`], which refuses private addresses at connect time; literal addresses are
//! checked again before each attempt.

use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;
use tokio::sync::watch;

use super::address::{self, GuardedResolver, SystemLookup};
use super::delivery::{self, Claimed, Outcome};
use super::signing;
use crate::AppState;
use crate::error::ApiResult;

/// How long a claim holds a delivery: well above the timeout, so a slow attempt is not taken
/// twice; a dead process's claims lapse after it.
pub const LEASE: Duration = Duration::seconds(60);

/// Deliveries claimed (and sent at once) per pass.
pub const BATCH: i64 = 32;

/// A dispatcher: its name (in leases) and its HTTP client.
#[derive(Clone)]
pub struct Dispatcher {
    pub name: String,
    client: reqwest::Client,
    allow_loopback: bool,
}

impl Dispatcher {
    /// A dispatcher for this process (`host-pid-random` names its leases).
    pub fn new(state: &AppState) -> Dispatcher {
        let allow_loopback = state.config.webhooks_allow_loopback;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(
                state.config.webhook_timeout_secs.max(1),
            ))
            .dns_resolver(Arc::new(GuardedResolver {
                lookup: Arc::new(SystemLookup),
                allow_loopback,
            }))
            .user_agent(concat!("khongdee-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook client builds");
        Dispatcher {
            name: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            client,
            allow_loopback,
        }
    }

    /// One pass: fan out, claim, send, record. Returns the attempts made.
    pub async fn run_once(&self, state: &AppState) -> ApiResult<usize> {
        let now = state.clock.now_naive();
        state
            .db(move |conn| Ok(delivery::fan_out(conn, now, 500)?))
            .await?;
        let backend = state.backend;
        let name = self.name.clone();
        let claimed = state
            .db(move |conn| Ok(delivery::claim(conn, backend, &name, now, LEASE, BATCH)?))
            .await?;
        let attempts = claimed.iter().map(|c| self.attempt(state, c.clone()));
        let outcomes = futures_util::future::join_all(attempts).await;
        let made = outcomes.len();
        for (claimed, outcome) in claimed.into_iter().zip(outcomes) {
            let name = self.name.clone();
            let done = state.clock.now_naive();
            let jitter = rand::random::<f64>() * 2.0 - 1.0;
            state
                .db(move |conn| {
                    Ok(delivery::finish(
                        conn, &claimed, &name, &outcome, jitter, done,
                    )?)
                })
                .await?;
        }
        Ok(made)
    }

    /// Sends one delivery and reads what came back.
    async fn attempt(&self, state: &AppState, claimed: Claimed) -> Outcome {
        let started = Instant::now();
        let failed = |error: String| Outcome {
            status: None,
            error: Some(error),
            response_body: None,
            duration: started.elapsed(),
            retry_after: None,
        };
        if let Err(refusal) = address::check_url(&claimed.url, self.allow_loopback) {
            return failed(format!("refused: {}", refusal.code()));
        }
        let now = state.clock.now_naive();
        let timestamp = state.clock.now().timestamp();
        let body = claimed.body();
        let id = claimed.message_id();
        let signature = signing::signature_header(
            &claimed.signing_secrets(now),
            &id,
            timestamp,
            body.as_bytes(),
        );
        let sent = self
            .client
            .post(&claimed.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else if error.is_connect() {
                    "connect"
                } else {
                    "request"
                };
                return failed(format!("{kind}: {}", error_chain(&error)));
            }
        };
        let status = response.status().as_u16();
        let retry_after = if status == 429 || status == 503 {
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| delivery::retry_after(v, now))
        } else {
            None
        };
        let body = read_clipped(response).await;
        Outcome {
            status: Some(status),
            error: None,
            response_body: Some(body),
            duration: started.elapsed(),
            retry_after,
        }
    }
}

/// The first 4 KB of a response body (the rest is not read).
async fn read_clipped(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < delivery::RESPONSE_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    delivery::clip_body(&String::from_utf8_lossy(&bytes))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Runs passes every `KHONGDEE_WEBHOOK_POLL_MS` until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let dispatcher = Dispatcher::new(&state);
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(
        state.config.webhook_poll_ms.max(10),
    ));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(dispatcher = %dispatcher.name, "webhook dispatcher started");
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        if let Err(error) = dispatcher.run_once(&state).await {
            tracing::warn!(error = %error.describe(), "webhook pass failed");
        }
    }
    tracing::info!("webhook dispatcher stopped");
}

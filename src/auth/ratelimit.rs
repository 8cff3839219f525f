//! Rate limiting per caller: the token endpoint per client id (or IP), authenticated calls per
//! principal, anonymous calls per IP. Over the limit: 429 problem+json with `Retry-After`.
//!
//! The limiter is the `governor` crate (GCRA, keyed, in memory). It is applied by a small
//! middleware of ours rather than `actix-governor`, because the answer must be a problem document
//! in the caller's language and the key depends on a verified token. Limits are per process:
//! behind a load balancer, each process allows the configured rate.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::principal::bearer_token;
use crate::AppState;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};

pub struct RateLimits {
    token: DefaultKeyedRateLimiter<String>,
    anonymous: DefaultKeyedRateLimiter<String>,
    authenticated: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

fn limiter(per_minute: u32) -> DefaultKeyedRateLimiter<String> {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))
}

impl RateLimits {
    pub fn new(config: &Config) -> Self {
        RateLimits {
            token: limiter(config.rate_limit_token_per_minute),
            anonymous: limiter(config.rate_limit_anonymous_per_minute),
            authenticated: limiter(config.rate_limit_authenticated_per_minute),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` or the seconds to wait.
    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, key: String) -> Result<(), u64> {
        // Forget idle keys now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.token.retain_recent();
            self.anonymous.retain_recent();
            self.authenticated.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Paths that are never limited: probes, metrics and documentation.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs" | "/"
    ) || path.starts_with("/problems")
}

fn client_ip(req: &ServiceRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The client id of HTTP Basic credentials, without checking the secret.
fn basic_client_id(req: &ServiceRequest) -> Option<String> {
    use base64::Engine;
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next()?.to_string())
}

pub async fn rate_limit_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let path = req.path().to_string();
    if exempt(&path) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let limits = &state.rate_limits;
    let verdict = if path == "/v1/auth/token" {
        let key = basic_client_id(&req)
            .map(|id| format!("client:{id}"))
            .unwrap_or_else(|| format!("ip:{}", client_ip(&req)));
        limits.check(&limits.token, key)
    } else {
        // A token that verifies identifies the caller; anything else counts as anonymous.
        let subject = bearer_token(req.request())
            .and_then(Result::ok)
            .and_then(|t| state.tokens.decode(&t).ok())
            .map(|claims| claims.sub);
        match subject {
            Some(sub) => limits.check(&limits.authenticated, sub),
            None => limits.check(&limits.anonymous, format!("ip:{}", client_ip(&req))),
        }
    };
    match verdict {
        Ok(()) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(wait) => {
            let wait = wait.max(1);
            let error = ApiError::new(ErrorKind::RateLimited)
                .with("retry_after", wait)
                .retry_after(wait);
            Ok(req.error_response(error).map_into_boxed_body())
        }
    }
}

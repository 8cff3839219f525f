//! Rate limiting per caller: the token endpoint per client id and IP (or IP alone), authenticated calls per
//! principal, anonymous calls per IP. Over the limit: 429 problem+json with `Retry-After`.
//!
//! # The algorithm
//!
//! Each limit is a GCRA (generic cell rate algorithm, the "leaky bucket as a meter"): a bucket
//! of `limit` requests that refills one request every `60 s / limit`. A caller may spend the
//! whole bucket at once, then gets one more request per interval.
//!
//! # Several processes
//!
//! Limits are per process, in memory. Behind a load balancer that spreads one client's
//! requests over N processes, the client may make up to N × the configured rate (and spend N
//! buckets at once): set each process's limit to the intended total ÷ N, rounded up (a total
//! of 600 a minute per address on 2 processes: `KHONGDEE_RATE_LIMIT_ANONYMOUS=300`). With
//! round-robin balancing a steady client gets close to the total; a balancer that keeps a client
//! on one process (`balance source`, cookies) gives it only the per-process rate, so there the
//! per-process value is the total. This is deliberate: a shared count would cost a write to
//! PostgreSQL on every request, availability reads served from memory included, and a
//! database outage would then take the limiter (or the API) with it; these limits are there
//! to slow abuse, which a known factor of N does not change. A hard global limit belongs in the
//! balancer (HAProxy's stick tables, `deploy/haproxy.cfg` shows one).
//!
//! The address counted is the client's as [`crate::client_addr`] decides it: the TCP peer, or,
//! from a peer in `KHONGDEE_TRUSTED_PROXIES`, the address it forwards.
//!
//! The GCRA step is ours (a few lines, [`QuotaPolicy::conform`]) rather than the `governor`
//! crate's, because the headers below must be true and governor 0.10 does not expose the
//! theoretical arrival time they are computed from: its `StateSnapshot` gives the remaining
//! requests, rounded down, but not when the next one comes back. Rebuilding that from the
//! remaining count is off by up to one interval (3 s on the token endpoint's default 20 a
//! minute). It is applied by a small middleware of ours, not `actix-governor`, because the 429
//! must be a problem document in the caller's language and the key depends on a verified token.
//!
//! # Headers
//!
//! Every answer of a limited route carries the limit that applied to it, whatever its status
//! (200, 4xx, the 429 itself); exempt paths ([`exempt`]: probes, metrics, documentation) carry
//! none. The values describe the caller's standing just after this request was counted, as of
//! the moment the answer leaves.
//!
//! The current IETF draft, `draft-ietf-httpapi-ratelimit-headers-11` (May 2026), defines two
//! structured fields (RFC 8941 lists):
//!
//! - `RateLimit-Policy: "anonymous";q=600;w=60`: the quota policy. The policy name is
//!   `"token"` (`POST /v1/auth/token`, per client id or IP), `"authenticated"` (per user or
//!   partner client), `"embed"` (`/v1/embed/{key}/…`, per publishable key and IP address) or
//!   `"anonymous"` (per IP address); `q` is the configured requests a
//!   minute and `w` the window in seconds, always 60.
//! - `RateLimit: "anonymous";r=597;t=1`: the service limit. `r` is the requests left now;
//!   `t`, the draft's effective window, is the seconds within which the caller can use no more
//!   than `r`: the time until the next request comes back, rounded up to whole seconds (the
//!   draft allows no fractions), so a caller that spends `r` and then waits `t` is served. It is
//!   not the time until the whole quota is back (that is about `(q - r) × w / q` seconds).
//!
//! The older draft's three fields (drafts 00 to 06) are sent too, with the same values:
//! `RateLimit-Limit` (= `q`), `RateLimit-Remaining` (= `r`) and `RateLimit-Reset` (= `t`,
//! which on a 429 equals `Retry-After`, as that draft asks). They stay because the current
//! draft is still a draft (its syntax has changed three times) while the trio is what most
//! client libraries, API gateways and partner code read today, as plain integers, without a
//! structured-field parser; they cost three short headers.
//!
//! On a 429, `Retry-After` (RFC 9110 §10.2.3) is the same number of seconds as `t`, and the
//! problem's `retry_after` member repeats it. No partition key (`pk`) is sent: the partition
//! is the caller itself (an IP address or an account), which the caller knows and which the
//! draft advises against echoing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};

use super::principal::bearer_token;
use crate::AppState;
use crate::config::Config;
use crate::error::{ApiError, ErrorKind};
use crate::i18n::Lang;
use crate::observability::RequestId;

const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Every configured limit is a number of requests a minute.
const WINDOW_SECONDS: u64 = 60;

/// One quota policy: `limit` requests a minute, refilled one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct QuotaPolicy {
    /// The policy's name in `RateLimit-Policy` and `RateLimit`.
    name: &'static str,
    /// Requests a minute, at least 1; also the most that can be spent at once.
    limit: u32,
    /// Nanoseconds between two requests coming back: 60 s / `limit`.
    interval: u64,
}

/// A caller's standing under a policy at one moment (the draft's "service limit").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ServiceLimit {
    policy: QuotaPolicy,
    /// Requests the caller may still make at once.
    remaining: u32,
    /// Nanoseconds until the next request comes back; 0 when the bucket is full.
    next_in: u64,
}

impl QuotaPolicy {
    fn per_minute(name: &'static str, limit: u32) -> QuotaPolicy {
        let limit = limit.max(1);
        QuotaPolicy {
            name,
            limit,
            interval: (WINDOW_SECONDS * NANOS_PER_SECOND / u64::from(limit)).max(1),
        }
    }

    /// The GCRA step. `tat` is the key's theoretical arrival time (`None` for a key not seen
    /// or forgotten, which is a full bucket), `now` the time of the request, both in
    /// nanoseconds on one clock. A request conforms unless the bucket is empty, that is unless
    /// `tat` lies more than `limit - 1` intervals ahead; then it counts and the key's new
    /// `tat` is returned. A request that does not conform counts for nothing: `Err` carries the
    /// unchanged `tat`.
    fn conform(&self, tat: Option<u64>, now: u64) -> Result<u64, u64> {
        let tat = tat.map_or(now, |tat| tat.max(now));
        let tolerance = self.interval * u64::from(self.limit - 1);
        if tat - now > tolerance {
            Err(tat)
        } else {
            Ok(tat + self.interval)
        }
    }

    /// The standing of a key whose theoretical arrival time is `tat`, at `now`.
    fn standing(&self, tat: u64, now: u64) -> ServiceLimit {
        // Until `tat`, the bucket lacks `ahead / interval` requests (rounded up); each comes back
        // when `ahead` falls to the next multiple of the interval.
        let ahead = tat.saturating_sub(now);
        let missing = ahead.div_ceil(self.interval).min(u64::from(self.limit));
        let next_in = match missing {
            0 => 0,
            n => ahead - (n - 1) * self.interval,
        };
        ServiceLimit {
            policy: *self,
            remaining: self.limit - missing as u32,
            next_in,
        }
    }
}

impl ServiceLimit {
    /// The draft's effective window `t`: whole seconds until the next request comes back,
    /// rounded up.
    fn reset_seconds(&self) -> u64 {
        self.next_in.div_ceil(NANOS_PER_SECOND)
    }

    /// Sets the rate-limit fields (see the module documentation) on an answer.
    fn set_headers(&self, headers: &mut HeaderMap) {
        let QuotaPolicy { name, limit, .. } = self.policy;
        let (remaining, reset) = (self.remaining, self.reset_seconds());
        let fields = [
            (
                "ratelimit-policy",
                format!("\"{name}\";q={limit};w={WINDOW_SECONDS}"),
            ),
            ("ratelimit", format!("\"{name}\";r={remaining};t={reset}")),
            ("ratelimit-limit", limit.to_string()),
            ("ratelimit-remaining", remaining.to_string()),
            ("ratelimit-reset", reset.to_string()),
        ];
        for (name, value) in fields {
            // Digits, letters, quotes and `;=`: always a valid header value.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// One policy and the theoretical arrival time of each key it has seen.
struct Limiter {
    policy: QuotaPolicy,
    // One lock per policy: the critical section is a map lookup and two additions, far
    // shorter than anything else a request does.
    arrivals: Mutex<HashMap<String, u64>>,
}

impl Limiter {
    fn new(name: &'static str, per_minute: u32) -> Limiter {
        Limiter {
            policy: QuotaPolicy::per_minute(name, per_minute),
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key` at `now`: `Ok` with the key's new arrival time when it
    /// conforms, `Err` with its unchanged one when it does not.
    fn check(&self, key: String, now: u64) -> Result<u64, u64> {
        let mut arrivals = self
            .arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let verdict = self.policy.conform(arrivals.get(&key).copied(), now);
        if let Ok(tat) = verdict {
            arrivals.insert(key, tat);
        }
        verdict
    }

    /// Forgets keys whose bucket is full again: they are indistinguishable from new ones.
    fn forget_idle(&self, now: u64) {
        self.arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, tat| *tat > now);
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.arrivals.lock().map(|a| a.len()).unwrap_or_default()
    }
}

/// The limits of one running app (see the module documentation).
pub struct RateLimits {
    /// The clock all arrival times are measured on (monotonic, in nanoseconds from here).
    origin: Instant,
    token: Limiter,
    anonymous: Limiter,
    authenticated: Limiter,
    embed: Limiter,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(config: &Config) -> Self {
        RateLimits {
            origin: Instant::now(),
            token: Limiter::new("token", config.rate_limit_token_per_minute),
            anonymous: Limiter::new("anonymous", config.rate_limit_anonymous_per_minute),
            authenticated: Limiter::new(
                "authenticated",
                config.rate_limit_authenticated_per_minute,
            ),
            embed: Limiter::new("embed", config.rate_limit_embed_per_minute),
            checks: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn check(&self, limiter: &Limiter, key: String, now: u64) -> Result<u64, u64> {
        // Forget idle keys now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limiter in [
                &self.token,
                &self.anonymous,
                &self.authenticated,
                &self.embed,
            ] {
                limiter.forget_idle(now);
            }
        }
        limiter.check(key, now)
    }
}

/// Paths that are never limited: probes, metrics and documentation.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs" | "/"
    ) || path.starts_with("/problems")
}

/// The publishable key of an embedded form's route (`/v1/embed/{key}/…`).
fn embed_key(path: &str) -> Option<&str> {
    let key = path.strip_prefix("/v1/embed/")?.split('/').next()?;
    (!key.is_empty()).then_some(key)
}

/// The client's address as `client_addr` decides it (behind a trusted balancer, the address
/// it forwards).
fn client_ip(req: &ServiceRequest) -> String {
    crate::client_addr::of(req.request())
        .map(|ip| ip.to_string())
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

/// The 429 problem, rendered here in the caller's language (as `problem_middleware` renders
/// errors) so that it is a finished answer whichever side of that middleware this one runs.
fn too_many_requests(req: &HttpRequest, limit: &ServiceLimit) -> HttpResponse {
    let wait = limit.reset_seconds().max(1);
    let error = ApiError::new(ErrorKind::RateLimited)
        .with("retry_after", wait)
        .retry_after(wait);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut response = error.render(
        Lang::from_request(req),
        Some(req.path()),
        request_id.as_deref(),
    );
    limit.set_headers(response.headers_mut());
    // The embedded form runs on other sites' pages: it may read how long to wait. (This
    // middleware runs before the form's origin check, so that refused requests count too;
    // a 429 says nothing about the LAO.)
    if embed_key(req.path()).is_some()
        && let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN).cloned()
    {
        let headers = response.headers_mut();
        headers.insert(actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            actix_web::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After, RateLimit, RateLimit-Policy"),
        );
        headers.append(
            actix_web::http::header::VARY,
            HeaderValue::from_static("Origin"),
        );
    }
    response
}

pub async fn rate_limit_middleware<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if exempt(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let limits = &state.rate_limits;
    let (limiter, key) = if req.path() == "/v1/auth/token" {
        // Per client id *and* address: guessing a secret stays slow, while someone who only
        // knows a partner's client id cannot lock the partner out from elsewhere.
        let ip = client_ip(&req);
        let key = basic_client_id(&req)
            .map(|id| format!("client:{id}|ip:{ip}"))
            .unwrap_or_else(|| format!("ip:{ip}"));
        (&limits.token, key)
    } else if let Some(key) = embed_key(req.path()) {
        // The embedded form: per publishable key and address, so that one busy LAO site does
        // not use up another's quota, and one address cannot flood a key. Each request also
        // counts as an anonymous one of its address, so that inventing keys (each with a
        // fresh bucket) gains nothing.
        let ip = client_ip(&req);
        let now = limits.now();
        if let Err(tat) = limits.check(&limits.anonymous, format!("ip:{ip}"), now) {
            let limit = limits.anonymous.policy.standing(tat, now);
            let response = too_many_requests(req.request(), &limit);
            return Ok(req.into_response(response));
        }
        (&limits.embed, format!("embed:{key}|ip:{ip}"))
    } else {
        // A token that verifies identifies the caller; anything else counts as anonymous.
        let subject = bearer_token(req.request())
            .and_then(Result::ok)
            .and_then(|t| state.tokens.decode(&t).ok())
            .map(|claims| claims.sub);
        match subject {
            Some(sub) => (&limits.authenticated, sub),
            None => (&limits.anonymous, format!("ip:{}", client_ip(&req))),
        }
    };
    let now = limits.now();
    match limits.check(limiter, key, now) {
        Ok(tat) => {
            let mut res = next.call(req).await?.map_into_boxed_body();
            // As of the moment the answer leaves, however long the handler took.
            limiter
                .policy
                .standing(tat, limits.now())
                .set_headers(res.headers_mut());
            Ok(res)
        }
        Err(tat) => {
            let limit = limiter.policy.standing(tat, now);
            let response = too_many_requests(req.request(), &limit);
            Ok(req.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = NANOS_PER_SECOND;

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    #[test]
    fn a_fresh_key_may_spend_the_whole_quota_at_once_then_one_per_interval() {
        // 5 a minute: a burst of 5, then one every 12 s.
        let policy = QuotaPolicy::per_minute("anonymous", 5);
        assert_eq!(policy.interval, 12 * SECOND);
        let start = 1_000 * SECOND;
        let mut tat = None;
        for expected_remaining in [4, 3, 2, 1, 0] {
            let after = policy.conform(tat, start).expect("within the burst");
            assert_eq!(policy.standing(after, start).remaining, expected_remaining);
            tat = Some(after);
        }
        let tat = tat.unwrap();
        assert_eq!(policy.conform(Some(tat), start), Err(tat), "bucket empty");
        // Not a nanosecond before the first request comes back.
        assert_eq!(policy.conform(Some(tat), start + 12 * SECOND - 1), Err(tat));
        let again = policy
            .conform(Some(tat), start + 12 * SECOND)
            .expect("one request came back after 12 s");
        assert_eq!(policy.standing(again, start + 12 * SECOND).remaining, 0);
    }

    #[test]
    fn the_standing_says_what_is_left_and_when_the_next_request_comes_back() {
        let policy = QuotaPolicy::per_minute("token", 20); // one every 3 s
        let start = 50 * SECOND;
        let tat = policy.conform(None, start).unwrap();
        let fresh = policy.standing(tat, start);
        assert_eq!((fresh.remaining, fresh.next_in), (19, 3 * SECOND));
        assert_eq!(fresh.reset_seconds(), 3);

        // 1.2 s later the request is still 1.8 s away: t rounds up to 2.
        let later = policy.standing(tat, start + 1_200_000_000);
        assert_eq!((later.remaining, later.next_in), (19, 1_800_000_000));
        assert_eq!(later.reset_seconds(), 2);

        // Three more at once: 4 missing, the first back in 3 s, the bucket full in 12 s.
        let mut tat = tat;
        for _ in 0..3 {
            tat = policy.conform(Some(tat), start).unwrap();
        }
        let standing = policy.standing(tat, start);
        assert_eq!((standing.remaining, standing.next_in), (16, 3 * SECOND));
        // Once the whole quota is back there is nothing to wait for.
        let full = policy.standing(tat, start + 12 * SECOND);
        assert_eq!((full.remaining, full.next_in), (20, 0));
    }

    #[test]
    fn a_refused_request_counts_for_nothing_and_says_how_long_to_wait() {
        let policy = QuotaPolicy::per_minute("token", 3); // one every 20 s
        let start = 7 * SECOND;
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(policy.conform(tat, start).unwrap());
        }
        let tat = tat.unwrap();
        let at = start + 5 * SECOND;
        let refused = policy.conform(Some(tat), at).unwrap_err();
        assert_eq!(refused, tat, "no state change");
        let standing = policy.standing(refused, at);
        assert_eq!((standing.remaining, standing.next_in), (0, 15 * SECOND));
        assert_eq!(standing.reset_seconds(), 15);
    }

    #[test]
    fn the_headers_carry_the_current_draft_and_the_older_trio_with_the_same_values() {
        let policy = QuotaPolicy::per_minute("anonymous", 600);
        let tat = policy.conform(None, 0).unwrap();
        let mut headers = HeaderMap::new();
        policy.standing(tat, 0).set_headers(&mut headers);
        assert_eq!(
            header(&headers, "ratelimit-policy"),
            "\"anonymous\";q=600;w=60"
        );
        assert_eq!(header(&headers, "ratelimit"), "\"anonymous\";r=599;t=1");
        assert_eq!(header(&headers, "ratelimit-limit"), "600");
        assert_eq!(header(&headers, "ratelimit-remaining"), "599");
        assert_eq!(header(&headers, "ratelimit-reset"), "1");
    }

    #[test]
    fn a_limit_of_zero_is_one_a_minute_and_huge_limits_do_not_overflow() {
        let one = QuotaPolicy::per_minute("token", 0);
        assert_eq!((one.limit, one.interval), (1, 60 * SECOND));
        let huge = QuotaPolicy::per_minute("anonymous", u32::MAX);
        assert!(huge.interval >= 1);
        let tat = huge.conform(None, u64::MAX / 2).unwrap();
        assert_eq!(huge.standing(tat, u64::MAX / 2).remaining, u32::MAX - 1);
    }

    #[test]
    fn keys_whose_bucket_is_full_again_are_forgotten() {
        let limiter = Limiter::new("anonymous", 60); // one a second
        limiter.check("ip:a".into(), 0).unwrap();
        limiter.check("ip:b".into(), 10 * SECOND).unwrap();
        limiter.forget_idle(5 * SECOND);
        assert_eq!(limiter.keys(), 1, "a is full again, b is not");
        limiter.forget_idle(11 * SECOND);
        assert_eq!(limiter.keys(), 0);
    }

    #[test]
    fn probes_and_documentation_are_exempt_and_the_api_is_not() {
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
            "/docs",
            "/",
        ] {
            assert!(exempt(path), "{path}");
        }
        assert!(exempt("/problems/rate_limited"));
        for path in ["/v1/provinces", "/v1/auth/token", "/nope", "/healthz/x"] {
            assert!(!exempt(path), "{path}");
        }
    }
}

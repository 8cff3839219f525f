//! Rate limits: every answer of a limited route says the limit that applied, what is left and
//! when the next request comes back (the IETF draft's `RateLimit-Policy` and `RateLimit`, and
//! the older `RateLimit-Limit`/`-Remaining`/`-Reset`); over the limit, 429 with `Retry-After`.

use std::time::Instant;

use khongdee::auth::Role;
use reqwest::Response;

use crate::helpers::*;

const FIELDS: [&str; 5] = [
    "ratelimit-policy",
    "ratelimit",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
];

/// The rate-limit fields of one answer, checked to agree with each other.
#[derive(Debug)]
struct Limits {
    policy: String,
    quota: u64,
    remaining: u64,
    /// Seconds until the next request comes back (`t`, and `RateLimit-Reset`).
    reset: u64,
}

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{} {}: no {name} header", res.status(), res.url()))
        .to_str()
        .expect("ASCII header")
        .to_string()
}

/// `"name";a=1;b=2` as the name and the parameters in order.
fn structured_item(value: &str) -> (String, Vec<(String, u64)>) {
    let mut parts = value.split(';');
    let name = parts.next().unwrap_or("");
    assert!(
        name.len() >= 2 && name.starts_with('"') && name.ends_with('"'),
        "the policy name is a quoted string: {value}"
    );
    let parameters = parts
        .map(|p| {
            let (key, number) = p.split_once('=').expect("key=value");
            let number = number
                .parse()
                .unwrap_or_else(|_| panic!("{key} is an integer: {value}"));
            (key.to_string(), number)
        })
        .collect();
    (name.trim_matches('"').to_string(), parameters)
}

/// Reads the five fields; the current draft's and the older ones must say the same.
fn limits(res: &Response) -> Limits {
    let (policy, params) = structured_item(&header(res, "ratelimit-policy"));
    let [(q, quota), (w, window)] = &params[..] else {
        panic!("RateLimit-Policy has q and w: {params:?}")
    };
    assert_eq!((q.as_str(), w.as_str(), *window), ("q", "w", 60));
    let (name, params) = structured_item(&header(res, "ratelimit"));
    assert_eq!(
        name, policy,
        "RateLimit names the policy of RateLimit-Policy"
    );
    let [(r, remaining), (t, reset)] = &params[..] else {
        panic!("RateLimit has r and t: {params:?}")
    };
    assert_eq!((r.as_str(), t.as_str()), ("r", "t"));
    let number = |name: &str| -> u64 { header(res, name).parse().expect("an integer") };
    let (quota, remaining, reset) = (*quota, *remaining, *reset);
    assert_eq!(number("ratelimit-limit"), quota, "RateLimit-Limit is q");
    assert_eq!(
        number("ratelimit-remaining"),
        remaining,
        "RateLimit-Remaining is r"
    );
    assert_eq!(number("ratelimit-reset"), reset, "RateLimit-Reset is t");
    assert!(remaining < quota, "this request was counted");
    Limits {
        policy,
        quota,
        remaining,
        reset,
    }
}

/// The first request counted at or after `started` comes back `interval` seconds after it:
/// `t` is at most the interval, and at least what is left of it now (whole seconds, rounded up).
fn assert_next_request_within(limits: &Limits, interval: u64, started: Instant) {
    let earliest = interval as f64 - started.elapsed().as_secs_f64();
    assert!(
        limits.reset <= interval && limits.reset as f64 >= earliest,
        "t = {} s, expected between {earliest:.3} and {interval} s: {limits:?}",
        limits.reset
    );
}

/// Signs in with the password grant and returns the raw answer.
async fn token_request(app: &TestApp, username: &str) -> Response {
    app.post("/v1/auth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_successful_anonymous_get_carries_the_limit_and_what_is_left() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 5).await;
    let started = Instant::now();
    for remaining in [4, 3, 2] {
        let res = app.get("/v1/provinces").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let limits = limits(&res);
        assert_eq!(
            (limits.policy.as_str(), limits.quota, limits.remaining),
            ("anonymous", 5, remaining)
        );
        // 5 a minute: one comes back every 12 s, the first 12 s after the first request,
        // however many were spent since (the whole quota would take 12 s per request spent).
        assert_next_request_within(&limits, 12, started);
    }
}

#[tokio::test]
async fn the_token_endpoint_has_its_own_smaller_limit() {
    let app = spawn_app_with(|c| {
        c.rate_limit_token_per_minute = 3;
        c.rate_limit_anonymous_per_minute = 50;
    })
    .await;
    app.create_account("somsri", Role::Admin, "").await;
    let started = Instant::now();
    for remaining in [2, 1, 0] {
        let res = token_request(&app, "somsri").await;
        assert_eq!(res.status(), 200);
        let limits = limits(&res);
        assert_eq!(
            (limits.policy.as_str(), limits.quota, limits.remaining),
            ("token", 3, remaining)
        );
        assert_next_request_within(&limits, 20, started);
    }
    // Anonymous calls from the same address have their own, larger budget.
    let res = app.get("/v1/provinces").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let anonymous = limits(&res);
    assert_eq!(
        (
            anonymous.policy.as_str(),
            anonymous.quota,
            anonymous.remaining
        ),
        ("anonymous", 50, 49)
    );

    let res = token_request(&app, "somsri").await;
    let refused = limits(&res);
    let retry_after: u64 = header(&res, "retry-after").parse().unwrap();
    assert_eq!((refused.policy.as_str(), refused.remaining), ("token", 0));
    assert_eq!(retry_after, refused.reset, "Retry-After is t");
    assert_next_request_within(&refused, 20, started);
    assert_problem(res, 429, "rate_limited").await;
}

#[tokio::test]
async fn over_the_limit_answers_429_with_retry_after_and_nothing_left() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 2).await;
    let started = Instant::now();
    for remaining in [1, 0] {
        let res = app.get("/v1/provinces").send().await.unwrap();
        assert_eq!(res.status(), 200, "a request left, even if it is the last");
        assert_eq!(limits(&res).remaining, remaining);
    }
    for _ in 0..2 {
        let res = app
            .get("/v1/provinces")
            .header("Accept-Language", "th")
            .send()
            .await
            .unwrap();
        let refused = limits(&res);
        assert_eq!(
            (refused.policy.as_str(), refused.quota, refused.remaining),
            ("anonymous", 2, 0)
        );
        // One request every 30 s; the first comes back 30 s after the first request.
        assert_next_request_within(&refused, 30, started);
        let retry_after: u64 = header(&res, "retry-after").parse().unwrap();
        assert_eq!(retry_after, refused.reset, "Retry-After is t");
        let body = assert_problem(res, 429, "rate_limited").await;
        assert_eq!(body["retry_after"], retry_after, "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("วินาที"),
            "in the caller's language: {body}"
        );
    }
}

#[tokio::test]
async fn error_answers_of_a_limited_route_carry_the_fields_too() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 10).await;

    let res = app.get("/v1/no-such-thing").send().await.unwrap();
    let fields = limits(&res);
    assert_problem(res, 404, "route_not_found").await;
    assert_eq!((fields.policy.as_str(), fields.remaining), ("anonymous", 9));

    // A token that does not verify counts as anonymous. The 401 is rendered by
    // `problem_middleware` from the handler's error: the fields must survive that.
    let res = app
        .get("/v1/me")
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers().contains_key("ratelimit"),
        "the 401 lost the rate-limit fields when problem_middleware re-rendered it: the limiter \
         must wrap problem_middleware (src/lib.rs), not run inside it"
    );
    let fields = limits(&res);
    assert_eq!((fields.policy.as_str(), fields.remaining), ("anonymous", 8));
    assert_problem(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn authenticated_calls_count_against_the_caller() {
    let app = spawn_app_with(|c| {
        c.rate_limit_authenticated_per_minute = 4;
        c.rate_limit_anonymous_per_minute = 100;
    })
    .await;
    let admin = app.account("somchai", Role::Admin, "").await;
    for remaining in [3, 2] {
        let res = app
            .get("/v1/me")
            .header("Authorization", admin.bearer())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let fields = limits(&res);
        assert_eq!(
            (fields.policy.as_str(), fields.quota, fields.remaining),
            ("authenticated", 4, remaining)
        );
    }
    let res = app.get("/v1/provinces").send().await.unwrap();
    assert_eq!(
        (limits(&res).policy.as_str(), limits(&res).remaining),
        ("anonymous", 99)
    );
}

#[tokio::test]
async fn exempt_paths_carry_no_fields_and_cost_nothing() {
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 1).await;
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/problems/rate_limited",
        "/healthz",
    ] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        for name in FIELDS.iter().chain(&["retry-after"]) {
            assert!(!res.headers().contains_key(*name), "{path} has {name}");
        }
    }
    // None of them was counted: the one request a minute is still there.
    let res = app.get("/v1/provinces").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(limits(&res).remaining, 0);
}

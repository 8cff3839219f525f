//! The client behind a balancer (issue 17): rate limits count the address a trusted proxy
//! forwards, and never one that an untrusted peer claims. The tests' peer is always 127.0.0.1;
//! one app trusts it, the other does not.

use khongdee::client_addr::{ForwardedHeader, TrustedProxies};
use reqwest::Response;

use crate::helpers::*;

/// `RateLimit-Remaining` of an answer that was let through, or `None` for a 429.
fn remaining(res: &Response) -> Option<u64> {
    if res.status() == 429 {
        return None;
    }
    assert_eq!(res.status(), 200, "{}", res.url());
    let value = res
        .headers()
        .get("ratelimit-remaining")
        .expect("a limited route says what is left");
    Some(value.to_str().unwrap().parse().unwrap())
}

/// One anonymous request with the given extra header (`None`: none).
async fn anonymous_get(app: &TestApp, header: Option<(&str, &str)>) -> Option<u64> {
    let mut request = app.get("/v1/provinces");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    remaining(&request.send().await.unwrap())
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_does_not_change_its_bucket() {
    // Nobody is trusted (the default): every claim is ignored, so one address, one bucket.
    let app = spawn_app_with(|c| c.rate_limit_anonymous_per_minute = 3).await;
    assert!(app.state.config.trusted_proxies.is_empty());
    let claims = [
        ("x-forwarded-for", "203.0.113.1"),
        ("x-forwarded-for", "198.51.100.1, 203.0.113.2"),
        ("forwarded", "for=203.0.113.3"),
    ];
    for ((name, value), left) in claims.into_iter().zip([2, 1, 0]) {
        assert_eq!(
            anonymous_get(&app, Some((name, value))).await,
            Some(left),
            "{name}: {value}"
        );
    }
    // A fresh address in the header does not buy a fresh bucket.
    assert_eq!(
        anonymous_get(&app, Some(("x-forwarded-for", "203.0.113.99"))).await,
        None
    );
    assert_eq!(anonymous_get(&app, None).await, None);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = spawn_app_with(|c| {
        c.rate_limit_anonymous_per_minute = 2;
        c.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let first = Some(("x-forwarded-for", "203.0.113.1"));
    assert_eq!(anonymous_get(&app, first).await, Some(1));
    assert_eq!(anonymous_get(&app, first).await, Some(0));
    assert_eq!(anonymous_get(&app, first).await, None, "203.0.113.1 is out");

    // Another client behind the same balancer is untouched.
    let second = Some(("x-forwarded-for", "203.0.113.2"));
    assert_eq!(anonymous_get(&app, second).await, Some(1));

    // The out-of-quota client forges a left-most entry: the balancer appended its real address
    // on the right, and that is what counts.
    let forged = Some(("x-forwarded-for", "198.51.100.77, 203.0.113.1"));
    assert_eq!(anonymous_get(&app, forged).await, None);
    // Nor does a second header line written before the balancer's help.
    let res = app
        .get("/v1/provinces")
        .header("x-forwarded-for", "198.51.100.78")
        .header("x-forwarded-for", "203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_eq!(remaining(&res), None);

    // A request without the header (a probe from the balancer's host) is the peer's own; so is
    // one whose header cannot be followed.
    assert_eq!(anonymous_get(&app, None).await, Some(1));
    assert_eq!(
        anonymous_get(&app, Some(("x-forwarded-for", "not-an-address"))).await,
        Some(0)
    );
    assert_eq!(anonymous_get(&app, None).await, None, "127.0.0.1 is out");
    // The balancer's own bucket running out stops no client it forwards.
    assert_eq!(anonymous_get(&app, second).await, Some(0));
    // IPv6 clients too.
    let v6 = Some(("x-forwarded-for", "2001:db8::7"));
    assert_eq!(anonymous_get(&app, v6).await, Some(1));
}

#[tokio::test]
async fn with_forwarded_configured_only_forwarded_is_read() {
    let app = spawn_app_with(|c| {
        c.rate_limit_anonymous_per_minute = 2;
        c.trusted_proxies = TrustedProxies::parse("127.0.0.0/8, ::1").unwrap();
        c.forwarded_header = ForwardedHeader::Forwarded;
    })
    .await;
    let client = Some(("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=http"));
    assert_eq!(anonymous_get(&app, client).await, Some(1));
    assert_eq!(anonymous_get(&app, client).await, Some(0));
    assert_eq!(anonymous_get(&app, client).await, None);
    // The same client by its address in another form of the header: the same bucket.
    let same = Some(("forwarded", "for=unknown, For=\"[2001:DB8:CAFE:0::17]\""));
    assert_eq!(anonymous_get(&app, same).await, None);
    // X-Forwarded-For is not this balancer's header: it names nobody, the peer is counted.
    let other = Some(("x-forwarded-for", "2001:db8:cafe::17"));
    assert_eq!(anonymous_get(&app, other).await, Some(1));
}

//! Where a webhook may be sent: the guard against server-side request forgery (OWASP SSRF
//! Prevention Cheat Sheet).
//!
//! An endpoint URL must be `https` and its host must not be, or resolve to, an address that is
//! not globally reachable: private (RFC 1918, IPv6 unique local RFC 4193), loopback, link-local,
//! shared (CGNAT, RFC 6598), unspecified, broadcast, multicast, documentation, benchmarking or
//! reserved ranges (the IANA special-purpose registries), including IPv4 addresses carried in
//! IPv6 (mapped, NAT64, 6to4). The rule is checked when an endpoint is saved
//! ([`check_url`]: literal addresses and `localhost`) and again when a connection is made
//! ([`GuardedResolver`]: every address a name resolves to), because a name may resolve
//! differently later (DNS rebinding). Redirects are never followed (see the dispatcher's client).
//!
//! For tests and development, `KHONGDEE_WEBHOOKS_ALLOW_LOOPBACK=true` lets loopback addresses
//! (127.0.0.0/8, ::1, `localhost`) through, over `http` too; every other rule still holds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address or URL is refused (the problem document's `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute `https://` URL (or `http://` to loopback when allowed).
    NotHttps,
    /// The URL cannot be parsed, has no host, or carries a user name or password.
    Malformed,
    /// The host is or resolves to a private, loopback, link-local or reserved address.
    PrivateAddress,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotHttps => "https_required",
            Refusal::Malformed => "invalid_url",
            Refusal::PrivateAddress => "private_address",
        }
    }
}

/// Whether an IPv4 address is globally reachable (the IANA IPv4 special-purpose registry).
fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

/// Whether an IPv6 address is globally reachable; IPv4 carried inside is judged as IPv4.
fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64 (RFC 6052): the last 32 bits.
        return public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4 (RFC 3056): bits 16..48.
        return public_v4(embedded(s[1], s[2]));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation, RFC 3849
        || (s[0] == 0x2001 && s[1] == 0) // Teredo, RFC 4380
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated) and the like
}

/// Whether an address is loopback (IPv4 127.0.0.0/8, IPv6 ::1 or IPv4-mapped loopback).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a webhook may connect to `ip`: globally reachable, or loopback when allowed.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    if allow_loopback && is_loopback(ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

/// Checks an endpoint URL as saved: absolute, `https` (or `http` to a loopback host when
/// allowed), no credentials, and a host that is not a refused literal address or `localhost`.
/// Names are checked again, address by address, when a delivery connects.
pub fn check_url(raw: &str, allow_loopback: bool) -> Result<reqwest::Url, Refusal> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| Refusal::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() || url.cannot_be_a_base() {
        return Err(Refusal::Malformed);
    }
    let host = url.host().ok_or(Refusal::Malformed)?;
    let loopback = match host {
        url::Host::Ipv4(ip) => {
            if !allowed(IpAddr::V4(ip), allow_loopback) {
                return Err(Refusal::PrivateAddress);
            }
            ip.is_loopback()
        }
        url::Host::Ipv6(ip) => {
            if !allowed(IpAddr::V6(ip), allow_loopback) {
                return Err(Refusal::PrivateAddress);
            }
            is_loopback(IpAddr::V6(ip))
        }
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let local = name == "localhost" || name.ends_with(".localhost");
            if local && !allow_loopback {
                return Err(Refusal::PrivateAddress);
            }
            local
        }
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_loopback && loopback => Ok(url),
        _ => Err(Refusal::NotHttps),
    }
}

/// How names become addresses: the system's resolver, or a fixed table in tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo`, through the standard library).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        use std::net::ToSocketAddrs;
        Ok((host, 0)
            .to_socket_addrs()?
            .map(|a| a.ip())
            .collect::<Vec<_>>())
    }
}

/// A resolver for the delivery client that keeps only allowed addresses, and fails the
/// connection (`private_address`) when none is left: the check at connect time.
pub struct GuardedResolver {
    pub lookup: Arc<dyn Lookup>,
    pub allow_loopback: bool,
}

/// The resolver's answer for a host: the allowed addresses, or the refusal.
pub fn resolve_allowed(
    lookup: &dyn Lookup,
    host: &str,
    allow_loopback: bool,
) -> std::io::Result<Vec<IpAddr>> {
    let all = lookup.lookup(host)?;
    if all.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} has no address"),
        ));
    }
    // Any refused address refuses the host: a name that also points inside is not trusted.
    if all.iter().any(|ip| !allowed(*ip, allow_loopback)) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{host} resolves to a private address (private_address)"),
        ));
    }
    Ok(all)
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::task::spawn_blocking(move || {
                resolve_allowed(lookup.as_ref(), &host, allow_loopback)
            })
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Addrs = Box::new(found.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_globally_reachable_addresses_are_allowed() {
        for refused in [
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254", // cloud metadata
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "2002:c0a8:0101::1",  // 6to4 of 192.168.1.1
        ] {
            assert!(!allowed(ip(refused), false), "{refused} must be refused");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "203.0.114.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(allowed(ip(public), false), "{public} must be allowed");
        }
    }

    #[test]
    fn loopback_is_allowed_only_when_asked_and_nothing_else_is() {
        assert!(allowed(ip("127.0.0.1"), true));
        assert!(allowed(ip("::1"), true));
        assert!(allowed(ip("::ffff:127.0.0.1"), true));
        assert!(!allowed(ip("10.0.0.1"), true));
        assert!(!allowed(ip("169.254.169.254"), true));
    }

    #[test]
    fn urls_must_be_https_to_a_public_host() {
        assert!(check_url("https://shop.example/hooks", false).is_ok());
        assert_eq!(
            check_url("http://shop.example/hooks", false),
            Err(Refusal::NotHttps)
        );
        assert_eq!(
            check_url("ftp://shop.example/", false),
            Err(Refusal::NotHttps)
        );
        assert_eq!(
            check_url("https://10.1.2.3/hooks", false),
            Err(Refusal::PrivateAddress)
        );
        assert_eq!(
            check_url("https://[::1]/hooks", false),
            Err(Refusal::PrivateAddress)
        );
        assert_eq!(
            check_url("https://localhost/hooks", false),
            Err(Refusal::PrivateAddress)
        );
        assert_eq!(
            check_url("https://user:pw@shop.example/", false),
            Err(Refusal::Malformed)
        );
        assert_eq!(check_url("not a url", false), Err(Refusal::Malformed));
        assert_eq!(check_url("mailto:a@b.c", false), Err(Refusal::Malformed));
    }

    #[test]
    fn http_reaches_loopback_only_in_development() {
        assert!(check_url("http://127.0.0.1:8080/hooks", true).is_ok());
        assert!(check_url("http://localhost:8080/hooks", true).is_ok());
        assert!(check_url("http://[::1]:8080/hooks", true).is_ok());
        assert_eq!(
            check_url("http://127.0.0.1:8080/hooks", false),
            Err(Refusal::PrivateAddress)
        );
        assert_eq!(
            check_url("http://shop.example/hooks", true),
            Err(Refusal::NotHttps)
        );
        assert_eq!(
            check_url("http://192.168.1.1/hooks", true),
            Err(Refusal::PrivateAddress)
        );
    }

    /// A fixed table instead of DNS: nothing leaves the machine.
    struct Table(Vec<(&'static str, Vec<IpAddr>)>);

    impl Lookup for Table {
        fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            Ok(self
                .0
                .iter()
                .find(|(h, _)| *h == host)
                .map(|(_, a)| a.clone())
                .unwrap_or_default())
        }
    }

    #[test]
    fn names_are_checked_again_address_by_address_when_connecting() {
        let table = Table(vec![
            ("shop.example", vec![ip("203.0.114.7")]),
            ("rebinding.example", vec![ip("203.0.114.8"), ip("10.0.0.5")]),
            ("metadata.example", vec![ip("169.254.169.254")]),
            ("dev.example", vec![ip("127.0.0.1")]),
        ]);
        assert_eq!(
            resolve_allowed(&table, "shop.example", false).unwrap(),
            vec![ip("203.0.114.7")]
        );
        for refused in ["rebinding.example", "metadata.example", "dev.example"] {
            let err = resolve_allowed(&table, refused, false).unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::PermissionDenied,
                "{refused}"
            );
        }
        assert!(resolve_allowed(&table, "dev.example", true).is_ok());
        assert!(resolve_allowed(&table, "rebinding.example", true).is_err());
        assert_eq!(
            resolve_allowed(&table, "unknown.example", false)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn the_delivery_client_cannot_connect_to_a_refused_name() {
        let resolver = GuardedResolver {
            lookup: Arc::new(Table(vec![("inside.example", vec![ip("127.0.0.1")])])),
            allow_loopback: false,
        };
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Resolves (by the table) to loopback, which is refused: no connection is attempted.
        let err = client
            .post("http://inside.example:9/")
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect() || err.is_request(), "{err:?}");
        let text = format!("{err:?}");
        assert!(text.contains("private_address"), "{text}");
    }
}

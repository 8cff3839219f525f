//! The client's address, decided in one place: what rate limits count and the access log shows.
//!
//! Behind a load balancer the TCP peer is the balancer, and the client's address is in a header
//! the balancer adds: `X-Forwarded-For` (the de-facto standard; HAProxy's `option forwardfor`,
//! nginx, most cloud balancers) or `Forwarded` (RFC 7239). Anyone can send either header, so
//! it is believed only from a peer listed in `KHONGDEE_TRUSTED_PROXIES` (IP addresses and CIDR
//! blocks, default none), and only the header named by `KHONGDEE_FORWARDED_HEADER`
//! (`x-forwarded-for` by default, or `forwarded`): a balancer that writes one header passes the
//! other through as the client sent it, so reading "whichever is present" would believe a
//! forged one.
//!
//! # The rule ([`client_address`])
//!
//! - The peer is not a trusted proxy: the peer, whatever the headers say.
//! - The peer is a trusted proxy: the header's chain is read from the right (each proxy appends
//!   the address it received the request from), skipping trusted proxies; the first address that
//!   is not a trusted proxy is the client. Entries to its left were written by the client or
//!   by proxies nobody vouches for, and are never read: a forged left-most entry changes
//!   nothing.
//! - Every entry of the chain is a trusted proxy: the left-most one (a request that started
//!   inside, such as a health check).
//! - No header: the peer. An entry that is not an IP address (`unknown`, an obfuscated
//!   identifier, garbage, an empty item, a `Forwarded` element without `for=`) is met before the
//!   client: the peer, as the chain cannot be followed past it. Garbage to the left of the
//!   client is never reached.
//!
//! Addresses are compared and shown in canonical form: an IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) is the IPv4 address.
//! `X-Forwarded-For` entries may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some
//! proxies write them; `Forwarded` nodes follow RFC 7239 §6 (`for=192.0.2.1`,
//! `for="192.0.2.1:4711"`, `for="[2001:db8::1]:4711"`; parameter names in any case).
//!
//! Several lines of one header are one list, in order (RFC 9110 §5.3).
//!
//! actix's own `ConnectionInfo::realip_remote_addr` is not used: it takes the left-most `for`,
//! which is exactly the entry a client can forge, and it believes any peer.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{HttpMessage, HttpRequest, web};
use ipnet::IpNet;

use crate::AppState;

/// The proxies whose forwarding headers are believed (`KHONGDEE_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads a comma-separated list of IP addresses (`10.0.0.5`, `2001:db8::5`) and CIDR blocks
    /// (`10.0.0.0/8`, `fd00::/8`); spaces around items and empty items are ignored, so an empty
    /// text trusts nobody. Anything else is refused with the item that is wrong (the service
    /// does not start: a typo must not silently trust nobody, or everybody).
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut blocks = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let block = if item.contains('/') {
                // A block written with host bits set (`10.1.2.3/8`) means the network: trunc.
                IpNet::from_str(item).map(|net| net.trunc()).ok()
            } else {
                IpAddr::from_str(item).map(IpNet::from).ok()
            };
            match block {
                Some(block) => blocks.push(canonical_block(block)),
                None => {
                    return Err(format!(
                        "`{item}` is neither an IP address nor a CIDR block (e.g. 10.0.0.0/8)"
                    ));
                }
            }
        }
        Ok(TrustedProxies(blocks))
    }

    /// Whether no proxy is trusted (then no header is ever read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|block| block.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) as the IPv4 block it names, since
/// addresses are compared in canonical form.
fn canonical_block(block: IpNet) -> IpNet {
    match block {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(block),
            None => block,
        },
        _ => block,
    }
}

/// Which header a trusted proxy writes the chain into (`KHONGDEE_FORWARDED_HEADER`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (HAProxy `option forwardfor`, nginx,
    /// most cloud balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl ForwardedHeader {
    fn name(self) -> HeaderName {
        match self {
            ForwardedHeader::XForwardedFor => HeaderName::from_static("x-forwarded-for"),
            ForwardedHeader::Forwarded => header::FORWARDED,
        }
    }
}

/// The client's address (see the module documentation): `peer` is the TCP peer, `headers` the
/// request's, `header` the one trusted proxies write.
pub fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
    header: ForwardedHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut lines = Vec::new();
    for value in headers.get_all(header.name()) {
        match value.to_str() {
            Ok(line) => lines.push(line),
            // Bytes that are not visible ASCII: nothing in this header can be followed.
            Err(_) => return peer,
        }
    }
    let hops = match header {
        ForwardedHeader::XForwardedFor => x_forwarded_for(&lines),
        ForwardedHeader::Forwarded => forwarded(&lines),
    };
    let mut nearest_trusted = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(ip) if trusted.contains(ip) => nearest_trusted = ip,
            Some(ip) => return ip,
            None => return peer,
        }
    }
    nearest_trusted
}

/// The entries of `X-Forwarded-For`, left to right: `None` for an entry that is no address.
fn x_forwarded_for(lines: &[&str]) -> Vec<Option<IpAddr>> {
    lines
        .iter()
        .flat_map(|line| line.split(','))
        .map(|entry| address_with_optional_port(entry.trim()))
        .collect()
}

/// `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn address_with_optional_port(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = SocketAddr::from_str(text) {
        return Some(socket.ip().to_canonical());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    std::net::Ipv6Addr::from_str(inner)
        .ok()
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

/// The `for` node of each element of `Forwarded` (RFC 7239 §4), left to right: `None` for an
/// element that is malformed, has no `for`, or names no IP address (`unknown`, `_hidden`).
/// A syntax error ends its header line with a `None`: what follows in that line cannot be told
/// apart (the next line is read again).
fn forwarded(lines: &[&str]) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in lines {
        let mut rest = *line;
        loop {
            match forwarded_element(rest) {
                Ok((node, after)) => {
                    hops.push(node);
                    match after {
                        Some(after) => rest = after,
                        None => break,
                    }
                }
                Err(()) => {
                    hops.push(None);
                    break;
                }
            }
        }
    }
    hops
}

/// Reads one `forwarded-element` (`pair *( ";" pair )`) from `text`: its `for` node and the
/// text after the `,` that ends it (`None` at the end). `Err` on a syntax error.
fn forwarded_element(text: &str) -> Result<(Option<IpAddr>, Option<&str>), ()> {
    let mut rest = text.trim_start_matches([' ', '\t']);
    let mut node: Option<Option<IpAddr>> = None;
    loop {
        let name_end = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        let (name, after_name) = rest.split_at(name_end);
        if name.is_empty() {
            return Err(());
        }
        let after_equals = after_name.strip_prefix('=').ok_or(())?;
        let (value, after_value) = if let Some(quoted) = after_equals.strip_prefix('"') {
            quoted_string(quoted)?
        } else {
            let end = after_equals
                .find(|c: char| !is_tchar(c))
                .unwrap_or(after_equals.len());
            if end == 0 {
                return Err(());
            }
            (after_equals[..end].to_string(), &after_equals[end..])
        };
        if name.eq_ignore_ascii_case("for") {
            // "Each parameter MUST NOT occur more than once per forwarded-element."
            if node.is_some() {
                return Err(());
            }
            node = Some(forwarded_node(&value));
        }
        rest = after_value.trim_start_matches([' ', '\t']);
        match rest.chars().next() {
            None => return Ok((node.flatten(), None)),
            Some(';') => rest = rest[1..].trim_start_matches([' ', '\t']),
            Some(',') => return Ok((node.flatten(), Some(&rest[1..]))),
            Some(_) => return Err(()),
        }
    }
}

/// A quoted-string's content (RFC 9110 §5.6.4, backslash escapes undone) and the text after its
/// closing quote; `text` starts after the opening quote.
fn quoted_string(text: &str) -> Result<(String, &str), ()> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[at + 1..])),
            '\\' => value.push(chars.next().ok_or(())?.1),
            c => value.push(c),
        }
    }
    Err(())
}

/// RFC 7239 §6 `node` as an address: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`; `unknown` and obfuscated names (`_hidden`) are no address.
fn forwarded_node(value: &str) -> Option<IpAddr> {
    if let Some(bracketed) = value.strip_prefix('[') {
        let (ip, after) = bracketed.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(node_port);
        return port_ok
            .then(|| std::net::Ipv6Addr::from_str(ip).ok())
            .flatten()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (ip, port) = match value.split_once(':') {
        Some((ip, port)) => (ip, Some(port)),
        None => (value, None),
    };
    if port.is_some_and(|p| !node_port(p)) {
        return None;
    }
    std::net::Ipv4Addr::from_str(ip).ok().map(IpAddr::V4)
}

/// `node-port = port / obfport`: digits, or `_` and letters, digits, `.`, `_`, `-`.
fn node_port(port: &str) -> bool {
    (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()))
        || port.strip_prefix('_').is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        })
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The client's address as decided for this request, kept in its extensions.
#[derive(Clone, Copy, Debug)]
struct ClientAddr(Option<IpAddr>);

/// The client address of a request (see the module documentation), with the app's settings;
/// `None` when the server knows no peer (a test request without a socket). Decided once per
/// request and kept: the access log and the rate limit see the same address.
pub fn of(req: &HttpRequest) -> Option<IpAddr> {
    if let Some(known) = req.extensions().get::<ClientAddr>() {
        return known.0;
    }
    let peer = req.peer_addr().map(|a| a.ip());
    let client = match (peer, req.app_data::<web::Data<AppState>>()) {
        (Some(peer), Some(state)) => Some(client_address(
            peer,
            req.headers(),
            &state.config.trusted_proxies,
            state.config.forwarded_header,
        )),
        (peer, _) => peer.map(|ip| ip.to_canonical()),
    };
    req.extensions_mut().insert(ClientAddr(client));
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        let name = HeaderName::from_str(name).unwrap();
        for line in lines {
            map.append(name.clone(), HeaderValue::from_str(line).unwrap());
        }
        map
    }

    fn trusted(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).unwrap()
    }

    fn xff(peer: &str, lines: &[&str], proxies: &str) -> IpAddr {
        client_address(
            ip(peer),
            &headers("x-forwarded-for", lines),
            &trusted(proxies),
            ForwardedHeader::XForwardedFor,
        )
    }

    fn fwd(peer: &str, lines: &[&str], proxies: &str) -> IpAddr {
        client_address(
            ip(peer),
            &headers("forwarded", lines),
            &trusted(proxies),
            ForwardedHeader::Forwarded,
        )
    }

    #[test]
    fn the_setting_takes_addresses_and_blocks_and_refuses_anything_else() {
        let proxies = trusted(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,, ::1 ");
        for inside in [
            "10.1.2.3",
            "192.0.2.7",
            "2001:db8:1::9",
            "::1",
            "::ffff:10.9.9.9",
        ] {
            assert!(proxies.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!proxies.contains(ip(outside)), "{outside}");
        }
        assert!(trusted("").is_empty());
        assert!(trusted(" , ").is_empty());
        // Host bits in a block name its network; a mapped block is the IPv4 block.
        assert!(trusted("10.1.2.3/8").contains(ip("10.200.0.1")));
        assert!(trusted("::ffff:172.16.0.0/108").contains(ip("172.16.5.5")));
        for wrong in [
            "10.0.0.0/33",
            "10.0.0",
            "example.org",
            "10.0.0.1-10.0.0.9",
            "*",
        ] {
            let refusal = TrustedProxies::parse(&format!("127.0.0.1,{wrong}")).unwrap_err();
            assert!(refusal.contains(wrong), "{refusal}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        for proxies in ["", "10.0.0.0/8"] {
            assert_eq!(
                xff("203.0.113.9", &["198.51.100.1"], proxies),
                ip("203.0.113.9")
            );
            assert_eq!(
                fwd("203.0.113.9", &["for=198.51.100.1"], proxies),
                ip("203.0.113.9")
            );
        }
    }

    #[test]
    fn a_trusted_peer_hands_over_the_right_most_untrusted_entry() {
        // Client → balancer (10.0.0.2) → us.
        assert_eq!(
            xff("10.0.0.2", &["198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // Client → CDN (192.0.2.7, trusted) → balancer → us.
        assert_eq!(
            xff(
                "10.0.0.2",
                &["198.51.100.1, 192.0.2.7"],
                "10.0.0.0/8, 192.0.2.7"
            ),
            ip("198.51.100.1")
        );
        // The same chain in two header lines.
        assert_eq!(
            xff(
                "10.0.0.2",
                &["198.51.100.1", "192.0.2.7"],
                "10.0.0.0/8,192.0.2.7"
            ),
            ip("198.51.100.1")
        );
        // A proxy nobody trusts in the middle: it is the client as far as we can tell.
        assert_eq!(
            xff("10.0.0.2", &["198.51.100.1, 203.0.113.50"], "10.0.0.0/8"),
            ip("203.0.113.50")
        );
    }

    #[test]
    fn a_forged_left_most_entry_changes_nothing() {
        // The client sent `X-Forwarded-For: 1.2.3.4`; the balancer appended the real address.
        assert_eq!(
            xff("10.0.0.2", &["1.2.3.4, 198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // Even when the forgery names a trusted proxy or sits in its own line.
        assert_eq!(
            xff("10.0.0.2", &["10.0.0.3", "198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        assert_eq!(
            fwd("10.0.0.2", &["for=1.2.3.4, for=198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn ipv6_clients_proxies_and_mapped_addresses() {
        assert_eq!(xff("::1", &["2001:db8::42"], "::1"), ip("2001:db8::42"));
        assert_eq!(
            xff("fd00::2", &["2001:db8::42, fd00::1"], "fd00::/8"),
            ip("2001:db8::42")
        );
        // A dual-stack socket reports an IPv4 peer mapped; the setting names it as IPv4.
        assert_eq!(
            xff("::ffff:127.0.0.1", &["198.51.100.1"], "127.0.0.1"),
            ip("198.51.100.1")
        );
        assert_eq!(xff("::ffff:127.0.0.1", &[], "127.0.0.1"), ip("127.0.0.1"));
        assert_eq!(
            xff("10.0.0.2", &["::ffff:198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // Ports some proxies add.
        assert_eq!(
            xff("10.0.0.2", &["198.51.100.1:4711"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        assert_eq!(
            xff("10.0.0.2", &["[2001:db8::42]:4711"], "10.0.0.0/8"),
            ip("2001:db8::42")
        );
        assert_eq!(
            xff("10.0.0.2", &["[2001:db8::42]"], "10.0.0.0/8"),
            ip("2001:db8::42")
        );
    }

    #[test]
    fn forwarded_nodes_with_quotes_ports_and_other_parameters() {
        let behind = |line: &str| fwd("10.0.0.2", &[line], "10.0.0.0/8");
        assert_eq!(behind("for=198.51.100.1"), ip("198.51.100.1"));
        assert_eq!(behind("For=\"198.51.100.1:4711\""), ip("198.51.100.1"));
        assert_eq!(
            behind("for=\"[2001:db8:cafe::17]:4711\""),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            behind("for=\"[2001:db8:cafe::17]\""),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            behind("for=198.51.100.1;proto=https;by=10.0.0.2;host=\"api.example.org\""),
            ip("198.51.100.1")
        );
        assert_eq!(
            behind("proto=http; FOR=\"198.51.100.1:_p1\" ,for=10.0.0.9;by=_lb"),
            ip("198.51.100.1")
        );
        // Commas and semicolons inside a quoted value do not split it; escapes are undone.
        assert_eq!(
            behind("host=\"a,b;c\";for=198.51.100.1, for=\"10.0.0.\\9\""),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn garbage_before_the_client_falls_back_to_the_peer() {
        let peer = ip("10.0.0.2");
        let proxies = "10.0.0.0/8";
        for line in [
            "not-an-address",
            "198.51.100.1, ",
            "",
            "198.51.100.1,,10.0.0.3",
            "unknown",
            "300.1.1.1",
            "198.51.100.1:99999x",
        ] {
            assert_eq!(
                xff("10.0.0.2", &[line], proxies),
                peer,
                "X-Forwarded-For: {line:?}"
            );
        }
        for line in [
            "for=unknown",
            "for=_hidden",
            "for=2001:db8::1",
            "for=\"[2001:db8::1\"",
            "for=\"198.51.100.1",
            "proto=https",
            "for=198.51.100.1;for=198.51.100.2",
            "for=198.51.100.1 garbage",
            "=198.51.100.1",
            "for=",
            "for=198.51.100.1, for=\"10.0.0.3:port\"",
        ] {
            assert_eq!(
                fwd("10.0.0.2", &[line], proxies),
                peer,
                "Forwarded: {line:?}"
            );
        }
        // Bytes that are not ASCII.
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_bytes(b"198.51.100.1\xff").unwrap(),
        );
        let trust = trusted(proxies);
        assert_eq!(
            client_address(peer, &map, &trust, ForwardedHeader::XForwardedFor),
            peer
        );
    }

    #[test]
    fn garbage_left_of_the_client_is_never_read() {
        assert_eq!(
            xff("10.0.0.2", &["<script>, ;;, 198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
        // A broken quoted string spoils its own line only.
        assert_eq!(
            fwd(
                "10.0.0.2",
                &["for=\"oops", "for=198.51.100.1"],
                "10.0.0.0/8"
            ),
            ip("198.51.100.1")
        );
        assert_eq!(
            fwd("10.0.0.2", &["for=\"oops, for=198.51.100.1"], "10.0.0.0/8"),
            ip("10.0.0.2"),
            "in one line, what follows an open quote is inside it"
        );
        assert_eq!(
            fwd("10.0.0.2", &["for=unknown, for=198.51.100.1"], "10.0.0.0/8"),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // A balancer writing X-Forwarded-For passes a forged Forwarded through untouched.
        let mut map = headers("forwarded", &["for=1.2.3.4"]);
        map.append(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_static("198.51.100.1"),
        );
        let proxies = trusted("10.0.0.0/8");
        let peer = ip("10.0.0.2");
        assert_eq!(
            client_address(peer, &map, &proxies, ForwardedHeader::XForwardedFor),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(peer, &map, &proxies, ForwardedHeader::Forwarded),
            ip("1.2.3.4")
        );
        // The wrong header alone is not read at all.
        let forged = headers("forwarded", &["for=1.2.3.4"]);
        assert_eq!(
            client_address(peer, &forged, &proxies, ForwardedHeader::XForwardedFor),
            peer
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_gives_its_left_most_entry() {
        assert_eq!(
            xff("10.0.0.2", &["10.0.0.9, 10.0.0.5"], "10.0.0.0/8"),
            ip("10.0.0.9")
        );
        assert_eq!(xff("10.0.0.2", &[], "10.0.0.0/8"), ip("10.0.0.2"));
    }
}

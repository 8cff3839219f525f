//! Which web pages may use an LAO's form: pure rules, tested without a browser.
//!
//! - The script snippet runs in the LAO's page and calls the API across origins, so every call
//!   carries `Origin` (the Fetch standard sends it on cross-origin requests and on every POST).
//!   The API answers CORS only for the LAO's allowed origins (`laos.allowed_origins`) and for
//!   its own origin (the iframe's page is served by the API, so its calls are same-origin).
//! - The iframe is refused by the browser on pages outside the list, through
//!   `Content-Security-Policy: frame-ancestors` (CSP Level 3 §7.7; `X-Frame-Options` cannot
//!   list several sites and is not sent).
//!
//! Origins compare as the Fetch standard serialises them: scheme, host and port, in lower case,
//! the port left out when it is the scheme's default.

/// An origin in the form browsers send it: lower case, no default port, no trailing slash.
/// `None` for anything that is not `http(s)://host[:port]` (`null`, a path, credentials).
pub fn canonical(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !rest.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || (host.contains(':') && !bracketed) {
        return None;
    }
    match port {
        None => Some(format!("{scheme}://{host}")),
        Some(port) if port == default_port => Some(format!("{scheme}://{host}")),
        Some(port) if (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{scheme}://{host}:{port}"))
        }
        Some(_) => None,
    }
}

/// Whether a request from `origin` may use the form of an LAO that allows `allowed`, on an API
/// reached at `own` (its own pages are always allowed).
pub fn allowed(origin: &str, allowed: &[String], own: &str) -> bool {
    let Some(origin) = canonical(origin) else {
        return false;
    };
    canonical(own).as_deref() == Some(origin.as_str())
        || allowed
            .iter()
            .filter_map(|a| canonical(a))
            .any(|a| a == origin)
}

/// The `frame-ancestors` directive for an LAO's allowed origins: `'none'` when it lists none,
/// so that an LAO that has not said where its form goes cannot be framed anywhere.
pub fn frame_ancestors(allowed: &[String]) -> String {
    let sources: Vec<String> = allowed.iter().filter_map(|a| canonical(a)).collect();
    if sources.is_empty() {
        "frame-ancestors 'none'".to_string()
    } else {
        format!("frame-ancestors {}", sources.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn origins_compare_as_browsers_send_them() {
        assert_eq!(
            canonical("HTTPS://WWW.MaeSot.example/").as_deref(),
            Some("https://www.maesot.example")
        );
        assert_eq!(
            canonical("https://maesot.example:443").as_deref(),
            Some("https://maesot.example")
        );
        assert_eq!(
            canonical("http://127.0.0.1:80").as_deref(),
            Some("http://127.0.0.1")
        );
        assert_eq!(
            canonical("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            canonical("https://maesot.example:8443").as_deref(),
            Some("https://maesot.example:8443")
        );
        assert_eq!(
            canonical("http://[::1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        for bad in [
            "null",
            "",
            "file://",
            "ftp://maesot.example",
            "https://",
            "https://maesot.example/page",
            "https://user@maesot.example",
            "https://maesot.example:",
            "https://maesot.example:80a",
            "https://mae sot.example",
            "https://maesot.example?x=1",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_listed_origins_and_the_apis_own_may_use_the_form() {
        let lao = list(&["https://www.maesot.example", "http://localhost:3000"]);
        let own = "https://api.khongdee.example";
        assert!(allowed("https://www.maesot.example", &lao, own));
        assert!(allowed("https://WWW.maesot.example:443", &lao, own));
        assert!(allowed("http://localhost:3000", &lao, own));
        assert!(allowed("https://api.khongdee.example", &lao, own));
        // Another scheme, port or host is another origin.
        assert!(!allowed("http://www.maesot.example", &lao, own));
        assert!(!allowed("http://localhost:3001", &lao, own));
        assert!(!allowed("https://maesot.example", &lao, own));
        assert!(!allowed(
            "https://www.maesot.example.evil.example",
            &lao,
            own
        ));
        // Sandboxed frames and file pages send `null`.
        assert!(!allowed("null", &lao, own));
        assert!(!allowed("https://anything.example", &[], own));
    }

    #[test]
    fn frames_are_allowed_only_inside_the_listed_sites() {
        assert_eq!(frame_ancestors(&[]), "frame-ancestors 'none'");
        assert_eq!(
            frame_ancestors(&list(&[
                "https://www.maesot.example:443",
                "http://localhost:3000"
            ])),
            "frame-ancestors https://www.maesot.example http://localhost:3000"
        );
        // A stored value that is no origin is left out, never passed through into the header.
        assert_eq!(
            frame_ancestors(&list(&["https://a.example; script-src *"])),
            "frame-ancestors 'none'"
        );
    }
}

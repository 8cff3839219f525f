//! Webhook signatures as the Standard Webhooks specification defines them
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>).
//!
//! - A secret is `whsec_` followed by the base64 of 24–64 random bytes (khongdee makes 32).
//! - The signed content is `{webhook-id}.{webhook-timestamp}.{body}`: the message id, the unix
//!   time in seconds, and the exact bytes of the body.
//! - `webhook-signature` is `v1,` + base64(HMAC-SHA256(secret bytes, signed content)); several
//!   signatures are separated by a space, and a receiver accepts the message when any matches.
//!   During a secret rotation both the new and the old secret sign, until the old one lapses.
//!
//! Written here (hmac + sha2, a few lines) rather than with the `standardwebhooks` crate, whose
//! `sign` takes one secret: rotation needs two signatures on one message. The tests verify these
//! signatures with that crate, an implementation written elsewhere.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret (the specification allows 24–64).
pub const SECRET_BYTES: usize = 32;

/// A new secret: `whsec_` + base64 of 32 random bytes from the operating system's generator.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret (`whsec_` + base64, 24–64 bytes), or `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

/// One `v1,<base64>` signature of a message.
fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header of a message: one signature per secret given (the current
/// one first, then one still valid during a rotation), separated by spaces. Secrets that are not
/// in the `whsec_` form are skipped (they are never stored: endpoints make their own).
pub fn signature_header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| secret_key(s))
        .map(|key| signature(&key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_standard_form_and_differ() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with("whsec_"));
        assert_eq!(secret_key(&a).unwrap().len(), SECRET_BYTES);
        assert_ne!(a, b);
        assert_eq!(secret_key("whsec_c2hvcnQ="), None, "5 bytes is too short");
        assert_eq!(secret_key("sk_abc"), None);
    }

    /// The example of the Standard Webhooks reference libraries' own test suites.
    #[test]
    fn the_specification_example_signs_as_published() {
        let header = signature_header(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn headers(id: &str, ts: i64, sig: &str) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("webhook-id", id.parse().unwrap());
        h.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        h.insert("webhook-signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn the_reference_implementation_verifies_both_signatures_of_a_rotation() {
        let old = new_secret();
        let new = new_secret();
        let other = new_secret();
        let body = br#"{"type":"order.confirmed","timestamp":"2026-06-15T03:00:00Z","data":{}}"#;
        let now = chrono::Utc::now().timestamp();
        let header = signature_header(&[&new, &old], "evt_42", now, body);
        assert_eq!(header.split(' ').count(), 2);
        let h = headers("evt_42", now, &header);
        for secret in [&new, &old] {
            standardwebhooks::Webhook::new(secret)
                .unwrap()
                .verify(body, &h)
                .unwrap();
        }
        assert!(
            standardwebhooks::Webhook::new(&other)
                .unwrap()
                .verify(body, &h)
                .is_err()
        );
        // A changed body or id no longer verifies.
        let webhook = standardwebhooks::Webhook::new(&new).unwrap();
        assert!(webhook.verify(b"{}", &h).is_err());
        assert!(
            webhook
                .verify(body, &headers("evt_43", now, &header))
                .is_err()
        );
    }
}

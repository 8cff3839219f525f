//! Partner webhooks (issue 12), being built: the parts below are complete and tested on their
//! own; endpoints, delivery and the log are not served yet.
//!
//! - `address`: where a webhook may be sent (the SSRF guard, at save and at connect time);
//! - `signing`: Standard Webhooks secrets and signatures, with rotation.

pub mod address;
pub mod signing;

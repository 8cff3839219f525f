//! The embeddable pre-order form: one snippet an LAO pastes into its website (a `<script>`, or
//! an `<iframe>` where scripts are not allowed) to take pre-orders for its windows, in Thai or
//! English, on a phone, with no framework, no cookies and no `unsafe-*` in the site's CSP.
//!
//! A room above orders (it calls the windows', waiting lists' and orders' public functions;
//! nothing calls it back):
//! - `keys`: publishable keys, per LAO, created and revoked by its staff;
//! - `origins`: which pages may use a form (CORS and `frame-ancestors`), as pure rules;
//! - `assets`: the browser files (`assets/`), content-hashed and gzipped;
//! - `handlers`: `/v1/embed/{key}/…` (the form's API), `/v1/laos/{dla_code}/embed-keys`,
//!   `/embed/…` (loader, files, the iframe page, a demo page) and the CORS middleware.
//!
//! Orders placed through it have the channel `embed` (the LAO's form) and need an
//! `Idempotency-Key`, which the form makes once per submission.

pub mod assets;
pub mod handlers;
pub mod keys;
pub mod origins;

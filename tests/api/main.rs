//! Black-box API tests: one binary, many modules, each test with its own app and database.
//! Set `TEST_DATABASE_URL=postgres://…` to run them all on PostgreSQL.

mod helpers;

mod accounts;
mod auth;
mod authz_matrix;
mod backup;
mod calendar;
mod catalog;
mod client_addr;
mod concurrency;
mod embed;
mod errors;
mod faults;
mod flash_sale;
mod geo;
mod hostile;
mod idempotency;
mod lao_import;
mod laos;
mod logistics;
mod market;
mod media;
mod migrations;
mod openapi;
mod ops;
mod order_rules;
mod orders;
mod outage;
mod preorder;
mod privacy;
mod ratelimit;
mod rooms;
mod seed;
mod states;
mod stats;
mod webhooks;

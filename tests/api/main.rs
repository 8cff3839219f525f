//! Black-box API tests: one binary, many modules, each test with its own app and database.
//! Set `TEST_DATABASE_URL=postgres://…` to run them all on PostgreSQL.

mod helpers;

mod errors;
mod lao_import;
mod migrations;
mod openapi;
mod ops;
mod outage;

//! `khongdee import laos FILE`: imports the LAO list.

use std::path::Path;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::DbConn;

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<RejectedRow>,
}

/// A row that could not be imported, with its line in the file.
#[derive(Debug, Serialize)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

/// Imports LAOs from a CSV file in either supported layout.
pub fn import_file(
    _conn: &mut DbConn,
    _path: &Path,
    _now: NaiveDateTime,
) -> Result<ImportReport, String> {
    Err("not implemented yet".into())
}

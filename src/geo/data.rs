//! The shipped geography (data/geo, DOPA codes, CC BY 4.0 — see data/geo/NOTICE), loaded into the
//! database at start whenever the files differ from what was loaded before.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use sha2::{Digest, Sha256};

use crate::db::{self, DbConn, settings, sql_literal};

const PROVINCES_CSV: &str = include_str!("../../data/geo/provinces.csv");
const DISTRICTS_CSV: &str = include_str!("../../data/geo/districts.csv");
const SUBDISTRICTS_CSV: &str = include_str!("../../data/geo/subdistricts.csv");

const VERSION_SETTING: &str = "geo_dataset_version";
const BATCH: usize = 500;

/// A fingerprint of the shipped files: a new release with changed data reloads it.
pub fn dataset_version() -> String {
    let mut hasher = Sha256::new();
    for file in [PROVINCES_CSV, DISTRICTS_CSV, SUBDISTRICTS_CSV] {
        hasher.update(file.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum GeoDataError {
    #[error("shipped geography file {file} is malformed: {reason}")]
    Malformed { file: &'static str, reason: String },
    #[error("loading geography failed: {0}")]
    Database(#[from] diesel::result::Error),
}

fn rows(
    file: &'static str,
    text: &'static str,
    columns: usize,
) -> Result<Vec<Vec<String>>, GeoDataError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| GeoDataError::Malformed {
            file,
            reason: e.to_string(),
        })?;
        if record.len() != columns {
            return Err(GeoDataError::Malformed {
                file,
                reason: format!("expected {columns} columns, got {}", record.len()),
            });
        }
        out.push(record.iter().map(|f| f.trim().to_string()).collect());
    }
    Ok(out)
}

/// Upserts rows in batches: `INSERT … ON CONFLICT (code) DO UPDATE`, which both backends speak.
fn upsert(
    conn: &mut DbConn,
    table: &str,
    columns: &[&str],
    rows: &[Vec<String>],
) -> Result<(), GeoDataError> {
    let updates: Vec<String> = columns[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    for chunk in rows.chunks(BATCH) {
        let values: Vec<String> = chunk
            .iter()
            .map(|row| {
                let fields: Vec<String> = row.iter().map(|f| sql_literal(f)).collect();
                format!("({})", fields.join(", "))
            })
            .collect();
        conn.batch_execute(&format!(
            "INSERT INTO {table} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
            columns.join(", "),
            values.join(", "),
            columns[0],
            updates.join(", ")
        ))?;
    }
    Ok(())
}

/// Loads provinces, districts, subdistricts and postal codes when the shipped files changed since
/// the last load. Existing rows are updated in place (LAOs and addresses refer to them); nothing
/// is deleted. Returns whether anything was loaded.
pub fn load_shipped(conn: &mut DbConn, now: NaiveDateTime) -> Result<bool, GeoDataError> {
    let version = dataset_version();
    if settings::get(conn, VERSION_SETTING)?.as_deref() == Some(version.as_str()) {
        return Ok(false);
    }
    let provinces = rows("provinces.csv", PROVINCES_CSV, 3)?;
    let districts = rows("districts.csv", DISTRICTS_CSV, 4)?;
    let subdistricts = rows("subdistricts.csv", SUBDISTRICTS_CSV, 6)?;
    let postal: Vec<Vec<String>> = subdistricts
        .iter()
        .flat_map(|s| {
            let code = s[0].clone();
            s[5].split_whitespace()
                .map(move |p| vec![p.to_string(), code.clone()])
                .collect::<Vec<_>>()
        })
        .collect();
    db::write_transaction(conn, |conn| {
        upsert(
            conn,
            "provinces",
            &["code", "name_th", "name_en"],
            &provinces,
        )?;
        upsert(
            conn,
            "districts",
            &["code", "province_code", "name_th", "name_en"],
            &districts,
        )?;
        upsert(
            conn,
            "subdistricts",
            &[
                "code",
                "district_code",
                "province_code",
                "name_th",
                "name_en",
                "postal_codes",
            ],
            &subdistricts,
        )?;
        conn.batch_execute("DELETE FROM postal_codes")?;
        for chunk in postal.chunks(BATCH) {
            let values: Vec<String> = chunk
                .iter()
                .map(|r| format!("({}, {})", sql_literal(&r[0]), sql_literal(&r[1])))
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO postal_codes (postal_code, subdistrict_code) VALUES {} ON CONFLICT DO NOTHING",
                values.join(", ")
            ))?;
        }
        settings::set(conn, VERSION_SETTING, &version, now)?;
        Ok::<(), GeoDataError>(())
    })?;
    tracing::info!(
        provinces = provinces.len(),
        districts = districts.len(),
        subdistricts = subdistricts.len(),
        version,
        "loaded shipped geography"
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_with_the_expected_counts() {
        assert_eq!(rows("p", PROVINCES_CSV, 3).unwrap().len(), 77);
        assert_eq!(rows("d", DISTRICTS_CSV, 4).unwrap().len(), 928);
        assert_eq!(rows("s", SUBDISTRICTS_CSV, 6).unwrap().len(), 7436);
        assert_eq!(dataset_version().len(), 16);
    }
}

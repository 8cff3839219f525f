//! `khongdee backup --out FILE`: a consistent copy of the database, taken while the server runs.
//!
//! - **SQLite**: `VACUUM INTO` (<https://www.sqlite.org/lang_vacuum.html#vacuuminto>) writes the
//!   database as one read transaction sees it, so orders placed meanwhile are either wholly in
//!   the copy or not at all, and writers are not blocked (WAL). The copy is written beside the
//!   target under a temporary name, checked with `PRAGMA integrity_check`, flushed to disk and
//!   only then renamed to `FILE`: a failed or interrupted backup never leaves a half-written
//!   `FILE`.
//! - **PostgreSQL**: runs `pg_dump --format=custom` (one snapshot, see
//!   <https://www.postgresql.org/docs/current/app-pgdump.html>) when it is on `PATH`, the same
//!   way into a temporary name first; the password travels in `PGPASSWORD`, never on the command
//!   line. Without `pg_dump` nothing is written: the error carries the command line to run
//!   where the PostgreSQL client tools are installed.
//!
//! Restore: see README "Backups and restore".

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, SqliteConnection};

use crate::db::{DatabaseUrl, DbConn, DbError, DbManager};

/// What a finished backup wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// `sqlite` (a database file) or `pg_dump` (a pg_dump custom-format archive).
    pub format: &'static str,
    /// Tables in the copy (SQLite: read back from the copy; pg_dump: table-data entries of the
    /// archive, when `pg_restore` is there to list them).
    pub tables: Option<u64>,
    /// Orders in the copy (SQLite only: read back from the copy).
    pub orders: Option<i64>,
}

/// Why a backup was not made. Nothing is left at the target path in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose another file, or pass --force to replace it")]
    Exists(PathBuf),
    #[error("{0} is the database itself; a backup must go to another file")]
    SameFile(PathBuf),
    #[error("{0} is a directory; give the backup a file name, e.g. {0}/khongdee-backup.db")]
    IsDirectory(PathBuf),
    #[error("cannot write the backup to {path}: {source}")]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("there is no SQLite database at {0} (check KHONGDEE_DATABASE_URL); nothing to back up")]
    NoDatabase(PathBuf),
    #[error("the copy failed its integrity check ({0}); nothing was written, try again")]
    Damaged(String),
    #[error(
        "pg_dump is not installed here (Debian/Ubuntu: apt-get install postgresql-client); \
         nothing was written. Run this where it is: {command}"
    )]
    PgDumpMissing {
        /// The command line to run, password left out (give it in PGPASSWORD or ~/.pgpass).
        command: String,
    },
    #[error("pg_dump failed ({status}): {stderr}; nothing was written")]
    PgDumpFailed { status: String, stderr: String },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for BackupError {
    fn from(error: diesel::result::Error) -> Self {
        BackupError::Database(DbError::Query(error))
    }
}

/// Backs up the database at `url` to the file `out`. An existing `out` is refused unless
/// `force`; it is then replaced only once the new copy is complete and checked.
pub fn backup(url: &DatabaseUrl, out: &Path, force: bool) -> Result<BackupReport, BackupError> {
    let target = Target::check(out, force)?;
    match url {
        DatabaseUrl::Sqlite(source) => backup_sqlite(url, source, target),
        DatabaseUrl::Postgres(pg_url) => backup_postgres(pg_url, target),
    }
}

/// The checked target path and the temporary file beside it that the copy is written to.
struct Target {
    out: PathBuf,
    force: bool,
    partial: PathBuf,
}

impl Target {
    fn check(out: &Path, force: bool) -> Result<Target, BackupError> {
        if out.is_dir() {
            return Err(BackupError::IsDirectory(out.to_path_buf()));
        }
        if out.exists() && !force {
            return Err(BackupError::Exists(out.to_path_buf()));
        }
        let unwritable = |source: io::Error| BackupError::Unwritable {
            path: out.to_path_buf(),
            source,
        };
        let name = out
            .file_name()
            .ok_or_else(|| unwritable(io::Error::other("the path has no file name")))?;
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(unwritable(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the directory {} does not exist", dir.display()),
            )));
        }
        let partial = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        // Created empty here (VACUUM INTO accepts an empty file), so that a directory we may not
        // write to is reported as such before any database work.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(unwritable)?;
        Ok(Target {
            out: out.to_path_buf(),
            force,
            partial,
        })
    }

    /// Flushes the finished copy and gives it its name.
    fn publish(&self) -> Result<u64, BackupError> {
        let unwritable = |source: io::Error| BackupError::Unwritable {
            path: self.out.clone(),
            source,
        };
        fs::File::open(&self.partial)
            .and_then(|f| f.sync_all())
            .map_err(unwritable)?;
        if !self.force && self.out.exists() {
            // Someone created it while the copy was being made.
            return Err(BackupError::Exists(self.out.clone()));
        }
        fs::rename(&self.partial, &self.out).map_err(unwritable)?;
        if let Some(dir) = self.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename itself is on disk only once the directory is (best effort: not every
            // file system lets a directory be opened for syncing).
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(fs::metadata(&self.out).map_err(unwritable)?.len())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        // Gone already after a successful rename; otherwise the remains of a failed copy.
        let _ = fs::remove_file(&self.partial);
    }
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn backup_sqlite(
    url: &DatabaseUrl,
    source: &Path,
    target: Target,
) -> Result<BackupReport, BackupError> {
    // Opening a missing file would create an empty database and back that up.
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source.to_path_buf()));
    }
    if let (Ok(a), Ok(b)) = (fs::canonicalize(source), fs::canonicalize(&target.out))
        && a == b
    {
        return Err(BackupError::SameFile(target.out.clone()));
    }
    let mut conn = DbManager::new(url.clone()).establish()?;
    let DbConn::Sqlite(sqlite) = &mut conn else {
        unreachable!("a SQLite URL opens a SQLite connection")
    };
    let partial = target.partial.to_string_lossy().into_owned();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(&partial)
        .execute(sqlite)
        .map_err(|e| BackupError::Unwritable {
            path: target.out.clone(),
            source: io::Error::other(e.to_string()),
        })?;
    drop(conn);
    let (tables, orders) = check_sqlite_copy(&partial)?;
    let bytes = target.publish()?;
    Ok(BackupReport {
        path: target.out.clone(),
        bytes,
        format: "sqlite",
        tables: Some(tables),
        orders: Some(orders),
    })
}

/// Opens the copy and runs SQLite's full integrity check; returns its tables and orders.
fn check_sqlite_copy(path: &str) -> Result<(u64, i64), BackupError> {
    let mut copy = SqliteConnection::establish(path).map_err(DbError::from)?;
    let verdict: Vec<TextRow> =
        diesel::sql_query("SELECT integrity_check AS value FROM pragma_integrity_check")
            .load(&mut copy)?;
    let problems: Vec<String> = verdict
        .into_iter()
        .map(|r| r.value)
        .filter(|v| v != "ok")
        .collect();
    if !problems.is_empty() {
        return Err(BackupError::Damaged(problems.join("; ")));
    }
    let tables: CountRow = diesel::sql_query(
        "SELECT COUNT(*) AS count FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut copy)?;
    let orders: CountRow =
        diesel::sql_query("SELECT COUNT(*) AS count FROM orders").get_result(&mut copy)?;
    Ok((tables.count as u64, orders.count))
}

/// A PostgreSQL URL split for pg_dump: the URL without its password, and the password.
fn split_password(pg_url: &str) -> (String, Option<String>) {
    match url::Url::parse(pg_url) {
        Ok(mut parsed) => {
            let password = parsed.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            let _ = parsed.set_password(None);
            (parsed.to_string(), password)
        }
        Err(_) => (pg_url.to_string(), None),
    }
}

/// The pg_dump command line for the database at `pg_url`, writing to `out` (password left out).
pub fn pg_dump_command(pg_url: &str, out: &Path) -> String {
    let (without_password, password) = split_password(pg_url);
    let prefix = if password.is_some() {
        "PGPASSWORD=… "
    } else {
        ""
    };
    format!(
        "{prefix}pg_dump --format=custom --no-owner --file={} '{}'",
        shell_quote(&out.to_string_lossy()),
        without_password.replace('\'', "'\\''")
    )
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn backup_postgres(pg_url: &str, target: Target) -> Result<BackupReport, BackupError> {
    let (without_password, password) = split_password(pg_url);
    let mut command = Command::new("pg_dump");
    command
        .arg("--format=custom")
        .arg("--no-owner")
        .arg(format!("--file={}", target.partial.display()))
        .arg(format!("--dbname={without_password}"))
        .stdin(std::process::Stdio::null());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BackupError::PgDumpMissing {
                command: pg_dump_command(pg_url, &target.out),
            });
        }
        Err(e) => {
            return Err(BackupError::PgDumpFailed {
                status: "could not start".into(),
                stderr: e.to_string(),
            });
        }
    };
    if !output.status.success() {
        return Err(BackupError::PgDumpFailed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let tables = archive_tables(&target.partial)?;
    let bytes = target.publish()?;
    Ok(BackupReport {
        path: target.out.clone(),
        bytes,
        format: "pg_dump",
        tables,
        orders: None,
    })
}

/// Reads the archive's table of contents back with `pg_restore --list` (when installed): a
/// truncated or damaged archive fails here instead of at restore time.
fn archive_tables(archive: &Path) -> Result<Option<u64>, BackupError> {
    let output = match Command::new("pg_restore")
        .arg("--list")
        .arg(archive)
        .output()
    {
        Ok(output) => output,
        Err(_) => return Ok(None),
    };
    if !output.status.success() {
        return Err(BackupError::Damaged(format!(
            "pg_restore --list: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    Ok(Some(
        listing
            .lines()
            .filter(|l| !l.starts_with(';') && l.contains(" TABLE DATA "))
            .count() as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_dump_line_leaves_the_password_out() {
        let line = pg_dump_command(
            "postgres://khongdee:s%40cret@db.example:5432/khongdee?sslmode=require",
            Path::new("/var/backups/khongdee 1.dump"),
        );
        assert_eq!(
            line,
            "PGPASSWORD=… pg_dump --format=custom --no-owner \
             --file='/var/backups/khongdee 1.dump' \
             'postgres://khongdee@db.example:5432/khongdee?sslmode=require'"
        );
        let (url, password) = split_password("postgres://u:s%40cret@h/db");
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(password.as_deref(), Some("s@cret"));
        assert_eq!(split_password("postgres://u@h/db").1, None);
    }
}

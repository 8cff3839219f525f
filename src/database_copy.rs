//! `khongdee copy-db --from SQLITE --to POSTGRES`: moves every row of every table from a SQLite
//! database into an empty PostgreSQL database, keeping ids, so a service that outgrew one SQLite
//! writer moves to PostgreSQL without losing an order (README "Moving from SQLite to
//! PostgreSQL").
//!
//! How, and why this way:
//! - A target with data is refused before anything is done to it; then it gets this binary's
//!   migrations, and both databases must have the same migrations applied, the same tables and
//!   the same columns, or nothing is copied.
//! - The target must be empty: no table may hold a row, apart from the rows the migrations
//!   themselves put there ([`SEEDED_BY_MIGRATIONS`], replaced by the source's). Copying into a
//!   database that already serves would mix two histories of ids.
//! - The source is read inside one read transaction: one snapshot, even if a server still
//!   writes to it (its later writes are not copied: stop it first).
//! - Each table is read in batches of [`BATCH_ROWS`] rows as JSON (SQLite's `json_object`) and
//!   written with PostgreSQL's `json_populate_recordset`, which converts every value with the
//!   column type's own input function (0/1 to boolean, `YYYY-MM-DD HH:MM:SS.ffffff` to
//!   timestamp): one statement per batch, and no per-type code here. Tables are written
//!   parents first (foreign keys read from PostgreSQL's catalogue).
//! - Each identity sequence is set past the largest id copied, so new rows do not collide.
//! - Every table's row count on the target is compared with the source's before the single
//!   target transaction commits: on any difference or error nothing is kept.
//!
//! Only SQLite to PostgreSQL: PostgreSQL to PostgreSQL is `pg_dump`/`pg_restore`, and SQLite to
//! SQLite is `khongdee backup`.

use std::collections::{BTreeMap, BTreeSet};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};

use crate::db::{self, DatabaseUrl, DbConn, DbError, DbManager};

/// Rows read and written per statement.
pub const BATCH_ROWS: i64 = 500;

/// Rows that migrations insert into a new database (table, condition that matches exactly
/// them): they do not make a target "not empty", and are replaced by the source's rows.
pub const SEEDED_BY_MIGRATIONS: &[(&str, &str)] = &[("sale_fact_cursor", "id = 1 AND last = 0")];

/// The migrations table is diesel's, kept by each database for itself.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// Rows copied into one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableCopied {
    pub table: String,
    pub rows: i64,
}

/// What a finished copy moved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    /// Every table, in the order written (parents first), with its row count, equal on both sides.
    pub tables: Vec<TableCopied>,
    /// Sum of `tables[].rows`.
    pub rows: i64,
    /// Identity sequences set past the largest id copied.
    pub sequences_reset: usize,
}

/// Why nothing was copied. The target is left as it was in every case (one transaction).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "copy-db moves a SQLite database into PostgreSQL; {0}. For PostgreSQL to PostgreSQL use \
         pg_dump and pg_restore; for SQLite to SQLite use `khongdee backup`"
    )]
    Unsupported(&'static str),
    #[error("there is no SQLite database at {0}; check --from")]
    NoSource(String),
    #[error(
        "the source database lacks migrations this khongdee has: run `khongdee migrate` on it \
         first (stop its server, back it up, migrate, then copy)"
    )]
    SourceBehind,
    #[error(
        "the two databases have different migrations applied (only in the source: {only_source:?}; \
         only in the target: {only_target:?}); use the khongdee version that wrote the source"
    )]
    MigrationsDiffer {
        only_source: Vec<String>,
        only_target: Vec<String>,
    },
    #[error("the two databases' tables differ: {0}")]
    SchemaDiffers(String),
    #[error(
        "the target is not empty ({0}); copy-db only fills a new database: create one \
         (createdb NAME) and do not start the server on it before copying"
    )]
    TargetNotEmpty(String),
    #[error("the foreign keys between {0:?} form a circle; the copy cannot order them")]
    ForeignKeyCircle(Vec<String>),
    #[error(
        "table {table}: {source_rows} rows in the source but {target_rows} in the target; nothing was kept"
    )]
    CountMismatch {
        table: String,
        source_rows: i64,
        target_rows: i64,
    },
    #[error("copying table {table} failed: {error}; nothing was kept")]
    Table {
        table: String,
        error: diesel::result::Error,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for CopyError {
    fn from(error: diesel::result::Error) -> Self {
        CopyError::Database(DbError::Query(error))
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// A column of the target, with its PostgreSQL type.
#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

impl Column {
    /// The SQLite expression whose JSON form PostgreSQL reads back as the same value: floats
    /// as text with 17 significant digits (json_object may write fewer, and a double needs 17
    /// to come back bit for bit), blobs as bytea's hex text; everything else as stored.
    fn as_json_value(&self) -> String {
        let column = ident(&self.name);
        match self.data_type.as_str() {
            "double precision" | "real" => {
                format!("CASE WHEN {column} IS NULL THEN NULL ELSE printf('%.17g', {column}) END")
            }
            "bytea" => {
                format!("CASE WHEN {column} IS NULL THEN NULL ELSE '\\x' || hex({column}) END")
            }
            _ => column,
        }
    }
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

#[derive(QueryableByName)]
struct SourceRow {
    #[diesel(sql_type = BigInt)]
    rid: i64,
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Sequence {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    sequence: Option<String>,
}

/// Copies every row of every table from the SQLite database `from` into the empty PostgreSQL
/// database `to` (see the module docs for the checks and their order).
pub fn copy_database(from: &DatabaseUrl, to: &DatabaseUrl) -> Result<CopyReport, CopyError> {
    let source_path = match from {
        DatabaseUrl::Sqlite(path) => path,
        DatabaseUrl::Postgres(_) => return Err(CopyError::Unsupported("--from is PostgreSQL")),
    };
    if matches!(to, DatabaseUrl::Sqlite(_)) {
        return Err(CopyError::Unsupported("--to is SQLite"));
    }
    // Opening a missing file would create an empty database.
    if !source_path.is_file() {
        return Err(CopyError::NoSource(source_path.display().to_string()));
    }
    let mut source = DbManager::new(from.clone()).establish()?;
    if db::has_pending_migrations(&mut source)? {
        return Err(CopyError::SourceBehind);
    }
    let mut target = DbManager::new(to.clone()).establish()?;
    // A database that already holds data is refused before anything is done to it.
    if let DbConn::Postgres(pg) = &mut target {
        let existing: Vec<String> = target_tables(pg)?.into_iter().collect();
        ensure_empty(pg, &existing)?;
    }
    db::run_migrations(&mut target)?;
    let (DbConn::Sqlite(source), DbConn::Postgres(target)) = (&mut source, &mut target) else {
        unreachable!("the URLs were checked above")
    };
    same_migrations(source, target)?;
    let columns = same_tables(source, target)?;
    let order = parents_first(target, columns.keys().cloned().collect())?;
    ensure_empty(target, &order)?;

    // One snapshot of the source for every table (WAL: writers are not blocked meanwhile).
    source.batch_execute("BEGIN")?;
    let copied = target.transaction(|target| copy_tables(source, target, &order, &columns));
    let _ = source.batch_execute("COMMIT");
    let (tables, sequences_reset) = copied?;
    Ok(CopyReport {
        rows: tables.iter().map(|t| t.rows).sum(),
        tables,
        sequences_reset,
    })
}

fn copy_tables(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    order: &[String],
    columns: &BTreeMap<String, Vec<Column>>,
) -> Result<(Vec<TableCopied>, usize), CopyError> {
    let mut tables = Vec::with_capacity(order.len());
    for table in order {
        let rows = copy_table(source, target, table, &columns[table]).map_err(|e| match e {
            CopyError::Database(DbError::Query(error)) => CopyError::Table {
                table: table.clone(),
                error,
            },
            other => other,
        })?;
        tables.push(TableCopied {
            table: table.clone(),
            rows,
        });
    }
    let sequences_reset = reset_sequences(target)?;
    Ok((tables, sequences_reset))
}

/// Copies one table; returns its row count after checking it on both sides.
fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &str,
    columns: &[Column],
) -> Result<i64, CopyError> {
    if let Some((_, seeded)) = SEEDED_BY_MIGRATIONS.iter().find(|(t, _)| *t == table) {
        target.batch_execute(&format!("DELETE FROM {} WHERE {seeded}", ident(table)))?;
    }
    let pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{}', {}", c.name.replace('\'', "''"), c.as_json_value()))
        .collect();
    let read = format!(
        "SELECT rowid AS rid, json_object({}) AS row FROM {} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH_ROWS}",
        pairs.join(", "),
        ident(table)
    );
    let list: Vec<String> = columns.iter().map(|c| ident(&c.name)).collect();
    let list = list.join(", ");
    let write = format!(
        "INSERT INTO {t} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{t}, CAST($1 AS json))",
        t = ident(table)
    );
    let mut last = i64::MIN;
    let mut written = 0i64;
    loop {
        let batch: Vec<SourceRow> = diesel::sql_query(&read)
            .bind::<BigInt, _>(last)
            .load(source)?;
        let Some(end) = batch.last() else { break };
        last = end.rid;
        let mut json =
            String::with_capacity(batch.iter().map(|r| r.row.len() + 1).sum::<usize>() + 2);
        json.push('[');
        for (i, row) in batch.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&row.row);
        }
        json.push(']');
        written += diesel::sql_query(&write)
            .bind::<Text, _>(&json)
            .execute(target)? as i64;
    }
    let count = format!("SELECT COUNT(*) AS count FROM {}", ident(table));
    let source_rows = diesel::sql_query(&count).get_result::<Count>(source)?.count;
    let target_rows = diesel::sql_query(&count).get_result::<Count>(target)?.count;
    if source_rows != target_rows || written != target_rows {
        return Err(CopyError::CountMismatch {
            table: table.to_string(),
            source_rows,
            target_rows,
        });
    }
    Ok(target_rows)
}

/// Sets every identity (or serial) sequence so that the next id is one past the largest copied.
fn reset_sequences(target: &mut PgConnection) -> Result<usize, CopyError> {
    let sequences: Vec<Sequence> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                pg_get_serial_sequence(quote_ident(table_name::text), column_name::text)::text AS sequence \
         FROM information_schema.columns WHERE table_schema = current_schema()",
    )
    .load(target)?;
    let mut reset = 0;
    for s in sequences {
        let Some(sequence) = s.sequence else { continue };
        diesel::sql_query(format!(
            "SELECT setval('{}', COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
            sequence.replace('\'', "''"),
            ident(&s.column_name),
            ident(&s.table_name)
        ))
        .execute(target)?;
        reset += 1;
    }
    Ok(reset)
}

/// Both databases must have exactly the same migrations applied.
fn same_migrations(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
) -> Result<(), CopyError> {
    let sql = format!("SELECT version AS name FROM {MIGRATIONS_TABLE}");
    let versions =
        |rows: Vec<Name>| -> BTreeSet<String> { rows.into_iter().map(|r| r.name).collect() };
    let s = versions(diesel::sql_query(&sql).load(source)?);
    let t = versions(diesel::sql_query(&sql).load(target)?);
    if s != t {
        return Err(CopyError::MigrationsDiffer {
            only_source: s.difference(&t).cloned().collect(),
            only_target: t.difference(&s).cloned().collect(),
        });
    }
    Ok(())
}

/// The tables and their columns (in the target's order), checked to be the same on both sides.
fn same_tables(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
) -> Result<BTreeMap<String, Vec<Column>>, CopyError> {
    let source_tables: BTreeSet<String> = diesel::sql_query(format!(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '{MIGRATIONS_TABLE}'"
    ))
    .load::<Name>(source)?
    .into_iter()
    .map(|r| r.name)
    .collect();
    let target_names = target_tables(target)?;
    if source_tables != target_names {
        return Err(CopyError::SchemaDiffers(format!(
            "tables only in the source: {:?}; only in the target: {:?}",
            source_tables.difference(&target_names).collect::<Vec<_>>(),
            target_names.difference(&source_tables).collect::<Vec<_>>()
        )));
    }
    let mut columns = BTreeMap::new();
    for table in target_names {
        let in_target: Vec<Column> = diesel::sql_query(
            "SELECT column_name::text AS name, data_type::text AS data_type \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(&table)
        .load::<Column>(target)?;
        let in_source: BTreeSet<String> =
            diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                .bind::<Text, _>(&table)
                .load::<Name>(source)?
                .into_iter()
                .map(|r| r.name)
                .collect();
        let target_set: BTreeSet<String> = in_target.iter().map(|c| c.name.clone()).collect();
        if in_source != target_set {
            return Err(CopyError::SchemaDiffers(format!(
                "table {table}: columns only in the source: {:?}; only in the target: {:?}",
                in_source.difference(&target_set).collect::<Vec<_>>(),
                target_set.difference(&in_source).collect::<Vec<_>>()
            )));
        }
        columns.insert(table, in_target);
    }
    Ok(columns)
}

/// The tables ordered so that every table comes after the tables its foreign keys point to.
fn parents_first(
    target: &mut PgConnection,
    tables: BTreeSet<String>,
) -> Result<Vec<String>, CopyError> {
    let keys: Vec<ForeignKey> = diesel::sql_query(
        "SELECT c.relname::text AS child, p.relname::text AS parent \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_class p ON p.oid = k.confrelid \
         WHERE k.contype = 'f' \
         AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
    )
    .load(target)?;
    let mut parents: BTreeMap<String, BTreeSet<String>> = tables
        .iter()
        .map(|t| (t.clone(), BTreeSet::new()))
        .collect();
    for key in keys {
        // A table pointing at itself is written in the source's insertion order (parents first).
        if key.child != key.parent
            && let Some(set) = parents.get_mut(&key.child)
        {
            set.insert(key.parent);
        }
    }
    let mut order = Vec::with_capacity(parents.len());
    while !parents.is_empty() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(_, ps)| ps.iter().all(|p| !parents.contains_key(p)))
            .map(|(t, _)| t.clone())
            .collect();
        if ready.is_empty() {
            return Err(CopyError::ForeignKeyCircle(parents.into_keys().collect()));
        }
        for table in ready {
            parents.remove(&table);
            order.push(table);
        }
    }
    Ok(order)
}

/// The target's tables (diesel's migrations table left out).
fn target_tables(target: &mut PgConnection) -> Result<BTreeSet<String>, CopyError> {
    Ok(diesel::sql_query(format!(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '{MIGRATIONS_TABLE}'"
    ))
    .load::<Name>(target)?
    .into_iter()
    .map(|r| r.name)
    .collect())
}

/// Refuses a target with any row other than those its migrations put there.
fn ensure_empty(target: &mut PgConnection, tables: &[String]) -> Result<(), CopyError> {
    let mut found = Vec::new();
    for table in tables {
        let seeded = SEEDED_BY_MIGRATIONS
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, condition)| format!(" WHERE NOT ({condition})"))
            .unwrap_or_default();
        let count = diesel::sql_query(format!(
            "SELECT COUNT(*) AS count FROM {}{seeded}",
            ident(table)
        ))
        .get_result::<Count>(target)?
        .count;
        if count > 0 {
            found.push(format!("{table}: {count} rows"));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(CopyError::TargetNotEmpty(found.join(", ")))
    }
}

/// A table or column name quoted for SQL (both databases use double quotes).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

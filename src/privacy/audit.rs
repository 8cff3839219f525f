//! The audit log of personal data: every export, erasure on request and retention run, with who
//! did it, when, which phone (as a keyed hash) and how many rows per table. Append-only: nothing
//! in the service updates or deletes its rows.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::Tally;
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::privacy_audit_log as log;
use crate::error::ApiResult;
use crate::pagination::{self, Page};

/// What was done.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditAction {
    /// An admin exported a buyer's data.
    Export,
    /// An admin erased a buyer's data on request (or was refused: `detail.refused`).
    Erasure,
    /// The background pass erased data past its retention.
    Retention,
}

/// One entry to write.
pub struct NewEntry<'a> {
    pub action: AuditAction,
    /// `user:ID` of the admin, or `system`.
    pub actor: &'a str,
    /// The phone as [`super::model::subject_key`]; none for retention runs.
    pub subject_key: Option<&'a str>,
    pub rows: &'a Tally,
    /// Order codes and the like that were refused (erasure while data is in use).
    pub refused: Option<&'a [String]>,
}

/// Writes an entry; returns its id.
pub fn record(conn: &mut DbConn, entry: &NewEntry<'_>, now: NaiveDateTime) -> ApiResult<i64> {
    let mut detail = serde_json::to_value(entry.rows)
        .map_err(|e| crate::error::ApiError::internal(e.to_string()))?;
    if let (Some(refused), Some(map)) = (entry.refused, detail.as_object_mut()) {
        map.insert("refused".into(), serde_json::json!(refused));
    }
    let action: &'static str = entry.action.into();
    let id = diesel::insert_into(log::table)
        .values((
            log::action.eq(action),
            log::actor.eq(entry.actor),
            log::subject_key.eq(entry.subject_key),
            log::rows_affected.eq(entry.rows.total()),
            log::detail.eq(detail.to_string()),
            log::occurred_at.eq(now),
        ))
        .returning(log::id)
        .get_result(conn)?;
    Ok(id)
}

/// An entry of the audit log.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "action": "erasure", "actor": "user:1", "subject_key": "5f0c…", "rows_affected": 6, "detail": {"orders": 2, "order_addresses": 1, "order_history": 2, "holds": 1}, "occurred_at": "2026-12-01T10:15:00+07:00"}))]
pub struct AuditEntry {
    pub id: i64,
    pub action: AuditAction,
    /// `user:ID` of the admin, or `system` for retention runs.
    pub actor: String,
    /// HMAC-SHA-256 of the phone (hex); absent for retention runs.
    pub subject_key: Option<String>,
    /// Rows read (export) or changed (erasure, retention), all tables together.
    pub rows_affected: i64,
    /// Rows per table; `refused` lists what blocked an erasure.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// Bangkok time.
    pub occurred_at: DateTime<FixedOffset>,
}

/// Which entries: newest first, optionally one action or one subject.
#[derive(Debug, Default, Deserialize, validator::Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// The keyed hash of a phone, as entries and erasure reports give it (64 hex digits).
    #[validate(length(equal = 64))]
    #[param(min_length = 64, max_length = 64)]
    pub subject_key: Option<String>,
    /// Page size, 1–200 (default 50).
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of the log, newest first.
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> ApiResult<Page<AuditEntry>> {
    let limit = pagination::page_size(filter.limit);
    let before: Option<i64> = pagination::decode_cursor(filter.cursor.as_deref())?;
    let mut query = log::table.into_boxed();
    if let Some(action) = filter.action {
        let action: &'static str = action.into();
        query = query.filter(log::action.eq(action));
    }
    if let Some(key) = &filter.subject_key {
        query = query.filter(log::subject_key.eq(key.to_ascii_lowercase()));
    }
    if let Some(before) = before {
        query = query.filter(log::id.lt(before));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        String,
        String,
        Option<String>,
        i64,
        String,
        NaiveDateTime,
    )> = query
        .order(log::id.desc())
        .limit(limit as i64 + 1)
        .select((
            log::id,
            log::action,
            log::actor,
            log::subject_key,
            log::rows_affected,
            log::detail,
            log::occurred_at,
        ))
        .load(conn)?;
    let mut entries = Vec::with_capacity(rows.len());
    for (id, action, actor, subject_key, rows_affected, detail, at) in rows {
        let action = action.parse().map_err(|_| {
            crate::error::ApiError::internal(format!("audit entry {id} has action {action:?}"))
        })?;
        entries.push(AuditEntry {
            id,
            action,
            actor,
            subject_key,
            rows_affected,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
            occurred_at: to_bangkok(at),
        });
    }
    Ok(pagination::page_from(entries, limit, |e| e.id))
}

//! Report tokens: read-only access to the programme's figures of one area, for tools that cannot
//! sign in (Google Sheets' `IMPORTDATA`, a dashboard). Officers and LAO staff make and revoke
//! them for their own area; the token (`kdr_` + 43 characters, 256 random bits) is shown once and
//! only its SHA-256 is kept. A token reads `GET /v1/stats/sales`, `/v1/stats/sales.csv` and
//! `/v1/stats/events` of its area and below, sent as a bearer token or as `?token=`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::feed::{Level, Scope};
use crate::AppState;
use crate::auth::policy::{self, Action, Place};
use crate::auth::principal::{Area, Principal, Role};
use crate::auth::tokens::{random_token, sha256_hex};
use crate::clock::to_bangkok;
use crate::db::DbConn;
use crate::db::schema::report_tokens;
use crate::error::{ApiError, ApiResult, ErrorKind, Param};
use crate::i18n::Text;

pub const REPORT_TOKEN: Text = Text {
    en: "report token",
    th: "โทเคนรายงาน",
};

/// What every report token starts with.
pub const PREFIX: &str = "kdr_";

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = report_tokens)]
pub struct ReportTokenRow {
    pub id: i64,
    pub token_hash: String,
    pub token_prefix: String,
    pub level: String,
    pub code: Option<String>,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub lao_id: Option<i64>,
    pub label: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ReportTokenRow {
    /// The level's role and the area: what the token reaches, by the rule accounts follow.
    fn reach(&self) -> (Role, Area) {
        let role = match self.level.as_str() {
            "national" => Role::Admin,
            "province" => Role::ProvinceOfficer,
            "district" => Role::DistrictOfficer,
            _ => Role::LaoStaff,
        };
        (
            role,
            Area {
                province_code: self.province_code.clone(),
                district_code: self.district_code.clone(),
                lao_id: self.lao_id,
                producer_id: None,
            },
        )
    }

    /// Where the token's own area sits (for who may list or revoke it).
    fn place(&self) -> Place {
        Place {
            province_code: self.province_code.clone().unwrap_or_default(),
            district_code: self.district_code.clone().unwrap_or_default(),
            lao_id: self.lao_id,
            producer_id: None,
            province_wide: self.level != "district" && self.level != "lao",
        }
    }
}

/// A new report token.
#[derive(Clone, Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": "district", "code": "6306", "label": "Google Sheet ของอำเภอแม่สอด"}))]
pub struct NewReportToken {
    pub level: Level,
    /// The area's code, as for `GET /v1/stats/sales`; none for `national`.
    pub code: Option<String>,
    /// What it is for, to recognise it in the list later.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::validate::not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, format = "non-blank")]
    pub label: String,
}

/// A report token, without its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportToken {
    pub id: i64,
    /// `kdr_AbCd…`: the first characters, to tell tokens apart.
    pub token_prefix: String,
    pub level: Level,
    pub code: Option<String>,
    pub label: String,
    pub created_by: String,
    pub created_at: DateTime<FixedOffset>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

/// A report token with its secret: shown once, when it is made.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportTokenWithSecret {
    #[serde(flatten)]
    pub report_token: ReportToken,
    /// Send as `Authorization: Bearer …` or as `?token=…`. Not shown again.
    pub token: String,
}

fn level_of(stored: &str) -> Level {
    match stored {
        "national" => Level::National,
        "province" => Level::Province,
        "district" => Level::District,
        _ => Level::Lao,
    }
}

impl From<ReportTokenRow> for ReportToken {
    fn from(r: ReportTokenRow) -> Self {
        ReportToken {
            id: r.id,
            token_prefix: r.token_prefix,
            level: level_of(&r.level),
            code: r.code,
            label: r.label,
            created_by: r.created_by,
            created_at: to_bangkok(r.created_at),
            revoked_at: r.revoked_at.map(to_bangkok),
        }
    }
}

/// Who may make, list and revoke report tokens of an area: officers and LAO staff of it (and
/// admins). 403 otherwise.
pub fn may_manage(principal: &Principal, place: &Place) -> ApiResult<()> {
    let role_may = matches!(
        principal.role,
        Role::Admin | Role::ProvinceOfficer | Role::DistrictOfficer | Role::LaoStaff
    );
    if role_may && principal.may(Action::ReadArea, place) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Makes a token for a resolved area; returns it with its secret.
pub fn create(
    conn: &mut DbConn,
    scope: &Scope,
    label: &str,
    actor: &str,
    now: NaiveDateTime,
) -> ApiResult<ReportTokenWithSecret> {
    let token = format!("{PREFIX}{}", random_token(32));
    let level = scope.level.to_string();
    let id: i64 = diesel::insert_into(report_tokens::table)
        .values((
            report_tokens::token_hash.eq(sha256_hex(&token)),
            report_tokens::token_prefix.eq(&token[..PREFIX.len() + 6]),
            report_tokens::level.eq(&level),
            report_tokens::code.eq(&scope.code),
            report_tokens::province_code
                .eq(Some(&scope.place.province_code).filter(|c| !c.is_empty())),
            report_tokens::district_code
                .eq(Some(&scope.place.district_code).filter(|c| !c.is_empty())),
            report_tokens::lao_id.eq(scope.place.lao_id),
            report_tokens::label.eq(label.trim()),
            report_tokens::created_by.eq(actor),
            report_tokens::created_at.eq(now),
        ))
        .returning(report_tokens::id)
        .get_result(conn)?;
    let row = find(conn, id)?.ok_or_else(|| ApiError::internal("a report token just made"))?;
    Ok(ReportTokenWithSecret {
        report_token: row.into(),
        token,
    })
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ReportTokenRow>> {
    report_tokens::table
        .find(id)
        .select(ReportTokenRow::as_select())
        .first(conn)
        .optional()
}

/// The tokens of areas the caller manages, newest first.
pub fn list(conn: &mut DbConn, principal: &Principal) -> QueryResult<Vec<ReportToken>> {
    Ok(report_tokens::table
        .order(report_tokens::id.desc())
        .select(ReportTokenRow::as_select())
        .load(conn)?
        .into_iter()
        .filter(|r| may_manage(principal, &r.place()).is_ok())
        .map(ReportToken::from)
        .collect())
}

/// Revokes a token (idempotent). 404 when the caller does not manage its area.
pub fn revoke(
    conn: &mut DbConn,
    principal: &Principal,
    id: i64,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let row = find(conn, id)?
        .filter(|r| may_manage(principal, &r.place()).is_ok())
        .ok_or_else(|| ApiError::not_found(REPORT_TOKEN))?;
    if row.revoked_at.is_none() {
        diesel::update(report_tokens::table.find(row.id))
            .set(report_tokens::revoked_at.eq(Some(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// Who reads the figures: a signed-in account, or a report token.
#[derive(Clone, Debug)]
pub enum Reader {
    Account(Principal),
    Token { id: i64, role: Role, area: Area },
}

impl Reader {
    /// Whether the reader may see the figures of a place: an account by its role's rule for
    /// reading an area, a token by the area it was made for.
    pub fn may_read(&self, place: &Place) -> bool {
        match self {
            Reader::Account(p) => p.may(Action::ReadArea, place),
            Reader::Token { role, area, .. } => policy::reaches(*role, area, place),
        }
    }
}

fn invalid(en: &'static str, th: &'static str) -> ApiError {
    ApiError::new(ErrorKind::InvalidToken).with("reason", Param::both(en, th))
}

/// The `token` query parameter, if any.
fn query_token(req: &HttpRequest) -> Option<String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()?
        .into_inner()
        .remove("token")
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

impl FromRequest for Reader {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let given = query_token(req).or_else(|| bearer(req).filter(|t| t.starts_with(PREFIX)));
        let Some(token) = given else {
            let account = Principal::from_request(req, payload);
            return Box::pin(async move { Ok(Reader::Account(account.await?)) });
        };
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            if !token.starts_with(PREFIX) {
                return Err(invalid(
                    "a report token starts with kdr_",
                    "โทเคนรายงานต้องขึ้นต้นด้วย kdr_",
                ));
            }
            let hash = sha256_hex(&token);
            let row = state
                .db(move |conn| {
                    Ok(report_tokens::table
                        .filter(report_tokens::token_hash.eq(hash))
                        .select(ReportTokenRow::as_select())
                        .first(conn)
                        .optional()?)
                })
                .await?;
            match row {
                Some(r) if r.revoked_at.is_none() => {
                    let (role, area) = r.reach();
                    Ok(Reader::Token {
                        id: r.id,
                        role,
                        area,
                    })
                }
                Some(_) => Err(invalid(
                    "the report token was revoked",
                    "โทเคนรายงานถูกเพิกถอนแล้ว",
                )),
                None => Err(invalid("no such report token", "ไม่พบโทเคนรายงานนี้")),
            }
        })
    }
}

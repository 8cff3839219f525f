//! Who is calling: the principal a handler receives once the bearer token checks out.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::tokens::{self, AccessClaims};
use crate::AppState;
use crate::error::{ApiError, ErrorKind, Param};

/// A caller's role. Officers and staff are scoped to an area; partners to their scopes.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::Display,
    strum::EnumIter,
    strum::AsRefStr,
    strum::IntoStaticStr,
    diesel::deserialize::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// National administrator (DLA).
    Admin,
    /// Officer of one province.
    ProvinceOfficer,
    /// Officer of one district.
    DistrictOfficer,
    /// Staff of one LAO.
    LaoStaff,
    /// A producer managing its own record.
    Producer,
    /// A partner client (storefront or app).
    Partner,
}

crate::stored_as_text!(Role);

/// The part of the country a caller's role covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Area {
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub lao_id: Option<i64>,
    pub producer_id: Option<i64>,
}

/// What kind of account a principal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    User(i64),
    Partner(i64),
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub subject: Subject,
    pub role: Role,
    pub area: Area,
    /// OAuth scopes (partners); users have none and are governed by role.
    pub scopes: Vec<String>,
    /// The session (login or client grant) the token belongs to.
    pub session_id: String,
    /// Username or client id, for logs and history.
    pub name: String,
}

impl Principal {
    pub fn user_id(&self) -> Option<i64> {
        match self.subject {
            Subject::User(id) => Some(id),
            Subject::Partner(_) => None,
        }
    }

    pub fn partner_id(&self) -> Option<i64> {
        match self.subject {
            Subject::Partner(id) => Some(id),
            Subject::User(_) => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// A partner without the scope gets 403 `insufficient_scope`; users pass (their role rules).
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.role == Role::Partner && !self.has_scope(scope) {
            return Err(ApiError::new(ErrorKind::InsufficientScope).with("scope", scope));
        }
        Ok(())
    }

    /// A stable label for audit trails: `user:12` or `client:34`.
    pub fn actor_label(&self) -> String {
        match self.subject {
            Subject::User(id) => format!("user:{id}"),
            Subject::Partner(id) => format!("client:{id}"),
        }
    }

    pub(crate) fn from_claims(claims: AccessClaims) -> Result<Principal, ApiError> {
        let subject = tokens::parse_subject(&claims.sub)?;
        Ok(Principal {
            subject,
            role: claims.role,
            area: Area {
                province_code: claims.prov,
                district_code: claims.dist,
                lao_id: claims.lao,
                producer_id: claims.prod,
            },
            scopes: claims
                .scope
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            session_id: claims.sid,
            name: claims.name,
        })
    }
}

/// The bearer token of a request, if any (`Authorization: Bearer …`).
pub fn bearer_token(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(ErrorKind::InvalidToken).with(
                "reason",
                Param::both(
                    "the `Authorization` header is not `Bearer <token>`",
                    "ส่วนหัว `Authorization` ไม่อยู่ในรูป `Bearer <token>`",
                ),
            )
        });
    Some(parsed)
}

/// Verifies the request's bearer token and that its session is live. The result is kept in the
/// request so that a second extraction costs nothing.
async fn authenticate(req: HttpRequest) -> Result<Option<Principal>, ApiError> {
    if let Some(cached) = req.extensions().get::<Principal>() {
        return Ok(Some(cached.clone()));
    }
    let Some(token) = bearer_token(&req) else {
        return Ok(None);
    };
    let token = token?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let now = state.clock.now();
    let claims = state.tokens.verify_access_token(&token, now)?;
    let session_id = claims.sid.clone();
    let live = state
        .db(move |conn| Ok(tokens::session_is_live(conn, &session_id, now.naive_utc())?))
        .await?;
    if !live {
        return Err(ApiError::new(ErrorKind::InvalidToken).with(
            "reason",
            Param::both(
                "the session was revoked or has ended",
                "เซสชันถูกเพิกถอนหรือสิ้นสุดแล้ว",
            ),
        ));
    }
    let principal = Principal::from_claims(claims)?;
    tracing::Span::current().record("principal", principal.actor_label());
    req.extensions_mut().insert(principal.clone());
    Ok(Some(principal))
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(req)
                .await?
                .ok_or_else(|| ApiError::new(ErrorKind::AuthenticationRequired))
        })
    }
}

/// A principal when a token is sent, `None` for anonymous callers. An invalid token is still
/// an error: a caller that sends one wants to know.
#[derive(Clone, Debug)]
pub struct OptionalPrincipal(pub Option<Principal>);

impl FromRequest for OptionalPrincipal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(OptionalPrincipal(authenticate(req).await?)) })
    }
}

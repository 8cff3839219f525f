//! The token endpoint (OAuth 2.0), revocation, and the caller's own account.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::partners::{self, PartnerRow};
use super::password;
use super::principal::{Area, Principal, Role, Subject};
use super::tokens::{self, RefreshOutcome};
use super::users::{self, UserRow};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError, Param, Problem};
use crate::extract::{FormOrJson, ValidJson};
use crate::i18n::Text;

/// The grants [`token`] answers.
fn grant_types() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["password", "client_credentials", "refresh_token"]))
        .description(Some("`password`, `client_credentials` or `refresh_token`."))
        .build()
}

/// A token request (RFC 6749): the fields needed depend on `grant_type`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({"grant_type": "password", "username": "somchai.maesot", "password": "ลำไยหวาน-2569"}))]
pub struct TokenRequest {
    /// `password`, `client_credentials` or `refresh_token`.
    #[schema(schema_with = grant_types)]
    pub grant_type: String,
    /// For `password`.
    pub username: Option<String>,
    /// For `password`.
    pub password: Option<String>,
    /// For `refresh_token`.
    pub refresh_token: Option<String>,
    /// For `client_credentials` when not sent with HTTP Basic authentication.
    pub client_id: Option<String>,
    /// For `client_credentials` when not sent with HTTP Basic authentication.
    pub client_secret: Option<String>,
    /// For `client_credentials`: space-separated scopes (default: all the client may have).
    pub scope: Option<String>,
}

/// Tokens issued (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9…", "token_type": "Bearer", "expires_in": 900, "refresh_token": "rt_…"}))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Only for `password` and `refresh_token` grants; every use returns a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes (partner clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

const WRONG_LOGIN: Text = Text {
    en: "The username or password is wrong.",
    th: "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
};
const DISABLED: Text = Text {
    en: "This account is disabled.",
    th: "บัญชีนี้ถูกระงับการใช้งาน",
};
const BAD_REFRESH: Text = Text {
    en: "The refresh token is invalid, expired or already used; sign in again.",
    th: "`refresh_token` ไม่ถูกต้อง หมดอายุ หรือถูกใช้ไปแล้ว กรุณาเข้าสู่ระบบใหม่",
};
const BAD_CLIENT: Text = Text {
    en: "Unknown client, wrong secret, or the client is disabled.",
    th: "ไม่พบไคลเอนต์ รหัสลับไม่ถูกต้อง หรือไคลเอนต์ถูกระงับ",
};

fn missing(field: &'static str) -> ApiError {
    ApiError::oauth(
        ErrorKind::OAuthInvalidRequest,
        Text {
            en: "A parameter this grant needs is missing; see `errors`.",
            th: "ขาดพารามิเตอร์ที่การขอโทเคนแบบนี้ต้องใช้ ดูรายละเอียดใน `errors`",
        },
    )
    .field(FieldError::new(field, "required"))
}

/// HTTP Basic client credentials (`client_secret_basic`).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Issue tokens
///
/// OAuth 2.0 token endpoint. `grant_type=password` (staff, officers, producers) returns an access
/// token and a refresh token; `refresh_token` rotates the refresh token (a rotated token used again
/// revokes the session); `client_credentials` (partner clients; credentials by HTTP Basic or in
/// the body) returns an access token with the client's scopes. Send the body as a form
/// (standard) or as JSON. Errors carry the OAuth `error` member as well as the problem fields.
#[utoipa::path(
    tag = "auth",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json"),
    )),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type, invalid_scope", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_client", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: FormOrJson<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let FormOrJson(body) = body;
    let response = match body.grant_type.as_str() {
        "password" => password_grant(&state, body).await?,
        "refresh_token" => refresh_grant(&state, body).await?,
        "client_credentials" => client_credentials_grant(&state, &req, body).await?,
        _ => {
            return Err(ApiError::new(ErrorKind::UnsupportedGrantType)
                .extra("error", "unsupported_grant_type"));
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

fn user_area(user: &UserRow) -> Area {
    user.area()
}

async fn password_grant(state: &AppState, body: TokenRequest) -> ApiResult<TokenResponse> {
    let username = body.username.ok_or_else(|| missing("username"))?;
    let password = body.password.ok_or_else(|| missing("password"))?;
    let lookup = username.clone();
    let user = state
        .db(move |conn| Ok(users::find_by_username(conn, &lookup)?))
        .await?;
    let user = web::block(move || match user {
        Some(user) if password::verify(&password, &user.password_hash) => Some(user),
        Some(_) => None,
        None => {
            password::verify_dummy(&password);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::oauth(ErrorKind::InvalidGrant, WRONG_LOGIN))?;
    if !user.active {
        return Err(ApiError::oauth(ErrorKind::InvalidGrant, DISABLED));
    }
    let now = state.clock.now();
    let refresh_ttl = state.tokens.refresh_ttl;
    let user_id = user.id;
    let (session_id, refresh) = state
        .db_tx(move |conn| {
            let now_naive = now.naive_utc();
            let expires = now_naive + refresh_ttl;
            let session = tokens::create_session(
                conn,
                Subject::User(user_id),
                "password",
                now_naive,
                expires,
            )?;
            let refresh = tokens::issue_refresh_token(conn, &session, now_naive, expires)?;
            users::touch_login(conn, user_id, now_naive)?;
            Ok((session, refresh))
        })
        .await?;
    let claims = state.tokens.claims(
        Subject::User(user.id),
        &user.username,
        user.role(),
        &session_id,
        None,
        &user_area(&user),
        now,
    );
    tracing::info!(user_id = user.id, "signed in");
    Ok(TokenResponse {
        access_token: state.tokens.sign(&claims)?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl.num_seconds(),
        refresh_token: Some(refresh),
        scope: None,
    })
}

async fn refresh_grant(state: &AppState, body: TokenRequest) -> ApiResult<TokenResponse> {
    let presented = body.refresh_token.ok_or_else(|| missing("refresh_token"))?;
    let now = state.clock.now();
    let outcome = state
        .db_tx(move |conn| {
            let now_naive = now.naive_utc();
            match tokens::rotate_refresh_token(conn, &presented, now_naive)? {
                RefreshOutcome::Rotated { session_id } => {
                    let (user_id, expires_at) = session_owner(conn, &session_id)?;
                    let user = users::find(conn, user_id)?.map(|(u, _)| u);
                    match user {
                        Some(user) if user.active => {
                            let refresh = tokens::issue_refresh_token(
                                conn,
                                &session_id,
                                now_naive,
                                expires_at,
                            )?;
                            Ok(Ok((user, session_id, refresh)))
                        }
                        _ => {
                            tokens::revoke_session(
                                conn,
                                &session_id,
                                "account_disabled",
                                now_naive,
                            )?;
                            Ok(Err(RefreshOutcome::Invalid))
                        }
                    }
                }
                other => Ok(Err(other)),
            }
        })
        .await?;
    let (user, session_id, refresh) = match outcome {
        Ok(ok) => ok,
        Err(RefreshOutcome::Reused) => {
            tracing::warn!("a rotated refresh token was used again; its session is revoked");
            return Err(ApiError::oauth(ErrorKind::InvalidGrant, BAD_REFRESH)
                .extra("reason", "refresh_token_reused"));
        }
        Err(_) => return Err(ApiError::oauth(ErrorKind::InvalidGrant, BAD_REFRESH)),
    };
    let claims = state.tokens.claims(
        Subject::User(user.id),
        &user.username,
        user.role(),
        &session_id,
        None,
        &user_area(&user),
        now,
    );
    Ok(TokenResponse {
        access_token: state.tokens.sign(&claims)?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl.num_seconds(),
        refresh_token: Some(refresh),
        scope: None,
    })
}

/// The user and absolute expiry of a session that refresh tokens belong to.
fn session_owner(
    conn: &mut crate::db::DbConn,
    session_id: &str,
) -> ApiResult<(i64, chrono::NaiveDateTime)> {
    use crate::db::schema::auth_sessions;
    use diesel::prelude::*;
    let (user_id, expires_at): (Option<i64>, chrono::NaiveDateTime) = auth_sessions::table
        .find(session_id)
        .select((auth_sessions::user_id, auth_sessions::expires_at))
        .first(conn)?;
    let user_id = user_id.ok_or_else(|| ApiError::oauth(ErrorKind::InvalidGrant, BAD_REFRESH))?;
    Ok((user_id, expires_at))
}

async fn client_credentials_grant(
    state: &AppState,
    req: &HttpRequest,
    body: TokenRequest,
) -> ApiResult<TokenResponse> {
    let (client_id, secret) = match basic_credentials(req) {
        Some(pair) => pair,
        None => match (body.client_id, body.client_secret) {
            (Some(id), Some(secret)) => (id, secret),
            (None, _) => return Err(missing("client_id")),
            (_, None) => return Err(missing("client_secret")),
        },
    };
    let requested: Option<Vec<String>> = body
        .scope
        .map(|s| s.split_whitespace().map(str::to_string).collect());
    let now = state.clock.now();
    let access_ttl = state.tokens.access_ttl;
    let (client, session_id, scopes) = state
        .db_tx(move |conn| {
            let client: PartnerRow = partners::find_by_client_id(conn, &client_id)?
                .filter(|c| c.active && c.secret_matches(&secret))
                .ok_or_else(|| ApiError::oauth(ErrorKind::InvalidClient, BAD_CLIENT))?;
            let allowed = client.scopes();
            let scopes = match requested {
                Some(requested) => {
                    let refused: Vec<&String> =
                        requested.iter().filter(|s| !allowed.contains(s)).collect();
                    if !refused.is_empty() {
                        let refused: Vec<String> = refused.into_iter().cloned().collect();
                        return Err(ApiError::new(ErrorKind::InvalidScope)
                            .with("scope", refused.join(" "))
                            .extra("error", "invalid_scope"));
                    }
                    requested
                }
                None => allowed,
            };
            let now_naive = now.naive_utc();
            let session = tokens::create_session(
                conn,
                Subject::Partner(client.id),
                "client_credentials",
                now_naive,
                now_naive + access_ttl,
            )?;
            partners::touch(conn, client.id, now_naive)?;
            Ok((client, session, scopes))
        })
        .await?;
    let scope = scopes.join(" ");
    let claims = state.tokens.claims(
        Subject::Partner(client.id),
        &client.client_id,
        Role::Partner,
        &session_id,
        Some(scope.clone()),
        &Area::default(),
        now,
    );
    Ok(TokenResponse {
        access_token: state.tokens.sign(&claims)?,
        token_type: "Bearer",
        expires_in: access_ttl.num_seconds(),
        refresh_token: None,
        scope: Some(scope),
    })
}

/// A token to revoke (RFC 7009).
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RevokeRequest {
    /// An access token or a refresh token.
    #[validate(length(min = 1, max = 4096))]
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    /// `access_token` or `refresh_token` (optional; the kind is recognised anyway).
    pub token_type_hint: Option<String>,
}

/// Revoke a token
///
/// Ends the session the token belongs to: the refresh token and every access token issued in that
/// session stop working at once. Answers 200 whether or not the token was valid (RFC 7009).
#[utoipa::path(
    tag = "auth",
    request_body(content(
        (RevokeRequest = "application/x-www-form-urlencoded"),
        (RevokeRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Revoked (or nothing to revoke)", body = Object),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    body: FormOrJson<RevokeRequest>,
) -> ApiResult<HttpResponse> {
    let FormOrJson(body) = body;
    let now = state.clock.now().naive_utc();
    let session = if body.token.starts_with("rt_") {
        let presented = body.token.clone();
        state
            .db(move |conn| Ok(tokens::session_of_refresh_token(conn, &presented)?))
            .await?
    } else {
        state.tokens.decode(&body.token).ok().map(|c| c.sid)
    };
    if let Some(session_id) = session {
        state
            .db(move |conn| Ok(tokens::revoke_session(conn, &session_id, "revoked", now)?))
            .await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({})))
}

/// The caller, as the API sees them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "kind": "user", "id": 12, "name": "somchai.maesot", "display_name": "สมชาย ใจดี", "role": "lao_staff",
    "area": {"province_code": "63", "district_code": "6306", "lao_id": 1, "producer_id": null},
    "lao_code": "3630690", "scopes": []
}))]
pub struct Me {
    /// `user` or `partner`.
    pub kind: &'static str,
    pub id: i64,
    /// Username or client id.
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub area: Area,
    /// DLA code of the caller's LAO (LAO staff and producers).
    pub lao_code: Option<String>,
    /// Partner clients: the LAOs sold for (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lao_codes: Vec<String>,
    pub scopes: Vec<String>,
}

/// Who am I
///
/// The authenticated caller: account, role, area and scopes.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, principal: Principal) -> ApiResult<web::Json<Me>> {
    let me = state
        .db(move |conn| match principal.subject {
            Subject::User(id) => {
                let (user, lao_code) = users::find(conn, id)?.ok_or_else(|| {
                    ApiError::new(ErrorKind::InvalidToken).with(
                        "reason",
                        Param::both("the account no longer exists", "บัญชีนี้ไม่มีอยู่แล้ว"),
                    )
                })?;
                Ok(Me {
                    kind: "user",
                    id,
                    name: user.username.clone(),
                    display_name: user.display_name.clone(),
                    role: principal.role,
                    area: principal.area.clone(),
                    lao_code,
                    lao_codes: vec![],
                    scopes: vec![],
                })
            }
            Subject::Partner(id) => {
                let client = partners::find(conn, id)?.ok_or_else(|| {
                    ApiError::new(ErrorKind::InvalidToken).with(
                        "reason",
                        Param::both("the client no longer exists", "ไคลเอนต์นี้ไม่มีอยู่แล้ว"),
                    )
                })?;
                Ok(Me {
                    kind: "partner",
                    id,
                    name: client.client_id.clone(),
                    display_name: client.name.clone(),
                    role: Role::Partner,
                    area: Area::default(),
                    lao_code: None,
                    lao_codes: partners::lao_codes(conn, id)?,
                    scopes: principal.scopes.clone(),
                })
            }
        })
        .await?;
    Ok(web::Json(me))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(min_length = 1)]
    pub current_password: String,
    #[schema(min_length = 10, max_length = 128, pattern = r"^(?!([\s\S])\1*$)")]
    pub new_password: String,
}

/// Change my password
///
/// Needs the current password. Every other session of the account ends; this one continues.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Partner clients have no password", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    principal: Principal,
    body: ValidJson<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let ValidJson(body) = body;
    let user_id = principal.user_id().ok_or_else(ApiError::forbidden)?;
    let (user, _) = state
        .db(move |conn| users::find(conn, user_id)?.ok_or_else(|| ApiError::not_found(users::USER)))
        .await?;
    password::check_policy("new_password", &body.new_password, &user.username)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let stored = user.password_hash.clone();
    let new_hash = web::block(move || {
        if !password::verify(&body.current_password, &stored) {
            return Ok(None);
        }
        password::hash(&body.new_password).map(Some)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::validation(vec![FieldError::new("current_password", "invalid")]))?;
    let now = state.clock.now_naive();
    let session = principal.session_id.clone();
    state
        .db_tx(move |conn| {
            Ok(users::set_own_password(
                conn, user_id, &new_hash, &session, now,
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

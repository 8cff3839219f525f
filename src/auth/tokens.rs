//! Access tokens (HS256 JWT), sessions and rotating refresh tokens.
//!
//! A password or client-credentials grant opens a session; every access token names it (`sid`),
//! so revoking the session ends its tokens at once. Refresh tokens are opaque, stored as SHA-256
//! hashes, and rotate on every use; presenting a rotated one again revokes the whole session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::principal::{Role, Subject};
use crate::db::DbConn;
use crate::db::schema::{auth_sessions, refresh_tokens};
use crate::error::{ApiError, ErrorKind};
use crate::i18n::Text;

/// Claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// `user:<id>` or `client:<id>`.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    /// Token id.
    pub jti: String,
    /// Session id.
    pub sid: String,
    pub role: Role,
    /// Username or client id.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lao: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prod: Option<i64>,
}

/// Signs and verifies access tokens.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub issuer: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// Tolerated clock difference between servers, in seconds.
const LEEWAY_SECS: i64 = 5;

impl TokenService {
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        // Expiry is checked against the injected clock below, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        TokenService {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            access_ttl: Duration::seconds(access_ttl_secs.clamp(30, 24 * 3600) as i64),
            refresh_ttl: Duration::seconds(refresh_ttl_secs.clamp(300, 365 * 24 * 3600) as i64),
        }
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Checks algorithm, signature, issuer, audience and times; answers 401 `invalid_token`.
    pub fn verify_access_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessClaims, ApiError> {
        let claims = self.decode(token)?;
        let now = now.timestamp();
        if claims.exp + LEEWAY_SECS <= now {
            return Err(invalid_token(reason(
                "the token has expired",
                "โทเคนหมดอายุแล้ว",
            )));
        }
        if claims.nbf - LEEWAY_SECS > now {
            return Err(invalid_token(reason(
                "the token is not valid yet",
                "โทเคนยังไม่ถึงเวลาใช้งาน",
            )));
        }
        Ok(claims)
    }

    /// Checks everything but the times (for revocation of an expired token).
    pub fn decode(&self, token: &str) -> Result<AccessClaims, ApiError> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                let why = match e.kind() {
                    JwtErrorKind::InvalidSignature => {
                        reason("the signature does not match", "ลายเซ็นของโทเคนไม่ถูกต้อง")
                    }
                    JwtErrorKind::InvalidAlgorithm | JwtErrorKind::InvalidAlgorithmName => reason(
                        "the token is not signed with HS256",
                        "โทเคนไม่ได้ลงนามด้วย HS256",
                    ),
                    JwtErrorKind::InvalidIssuer => {
                        reason("the token was issued by someone else", "โทเคนออกโดยผู้อื่น")
                    }
                    JwtErrorKind::InvalidAudience => reason(
                        "the token is meant for another audience",
                        "โทเคนนี้ออกให้ใช้กับบริการอื่น",
                    ),
                    JwtErrorKind::MissingRequiredClaim(_) => {
                        reason("a required claim is missing", "โทเคนขาดข้อมูลที่จำเป็น")
                    }
                    _ => reason("the token is malformed", "รูปแบบโทเคนไม่ถูกต้อง"),
                };
                invalid_token(why).caused_by(e)
            })
    }

    /// Claims for a new access token of a session.
    #[allow(clippy::too_many_arguments)]
    pub fn claims(
        &self,
        subject: Subject,
        name: &str,
        role: Role,
        session_id: &str,
        scope: Option<String>,
        area: &super::principal::Area,
        now: DateTime<Utc>,
    ) -> AccessClaims {
        let iat = now.timestamp();
        AccessClaims {
            iss: self.issuer.clone(),
            aud: self.issuer.clone(),
            sub: subject_string(subject),
            exp: iat + self.access_ttl.num_seconds(),
            iat,
            nbf: iat,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session_id.to_string(),
            role,
            name: name.to_string(),
            scope,
            prov: area.province_code.clone(),
            dist: area.district_code.clone(),
            lao: area.lao_id,
            prod: area.producer_id,
        }
    }
}

fn invalid_token(reason: Text) -> ApiError {
    ApiError::new(ErrorKind::InvalidToken).with("reason", reason)
}

const fn reason(en: &'static str, th: &'static str) -> Text {
    Text { en, th }
}

pub fn subject_string(subject: Subject) -> String {
    match subject {
        Subject::User(id) => format!("user:{id}"),
        Subject::Partner(id) => format!("client:{id}"),
    }
}

pub fn parse_subject(sub: &str) -> Result<Subject, ApiError> {
    let parsed = match sub.split_once(':') {
        Some(("user", id)) => id.parse().ok().map(Subject::User),
        Some(("client", id)) => id.parse().ok().map(Subject::Partner),
        _ => None,
    };
    parsed.ok_or_else(|| invalid_token(reason("the subject is malformed", "ข้อมูลผู้ถือโทเคนไม่ถูกต้อง")))
}

/// A random URL-safe string of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 in hex: enough for high-entropy secrets (refresh tokens, client secrets).
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time comparison of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Opens a session.
pub fn create_session(
    conn: &mut DbConn,
    subject: Subject,
    grant_type: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let id = random_token(18);
    let (user_id, partner_id) = match subject {
        Subject::User(id) => (Some(id), None),
        Subject::Partner(id) => (None, Some(id)),
    };
    diesel::insert_into(auth_sessions::table)
        .values((
            auth_sessions::id.eq(&id),
            auth_sessions::user_id.eq(user_id),
            auth_sessions::partner_client_id.eq(partner_id),
            auth_sessions::grant_type.eq(grant_type),
            auth_sessions::created_at.eq(now),
            auth_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Whether a session is neither revoked nor over.
pub fn session_is_live(
    conn: &mut DbConn,
    session_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let found: Option<(Option<NaiveDateTime>, NaiveDateTime)> = auth_sessions::table
        .find(session_id)
        .select((auth_sessions::revoked_at, auth_sessions::expires_at))
        .first(conn)
        .optional()?;
    Ok(matches!(found, Some((None, expires_at)) if expires_at > now))
}

pub fn revoke_session(
    conn: &mut DbConn,
    session_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        auth_sessions::table
            .find(session_id)
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(now),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
}

/// Ends every live session of a user (deactivation, password change).
pub fn revoke_user_sessions(
    conn: &mut DbConn,
    user_id: i64,
    except: Option<&str>,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user_id))
            .filter(auth_sessions::revoked_at.is_null())
            .filter(auth_sessions::id.ne(except.unwrap_or(""))),
    )
    .set((
        auth_sessions::revoked_at.eq(now),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
}

/// Ends every live session of a partner client (deactivation, secret rotation).
pub fn revoke_partner_sessions(
    conn: &mut DbConn,
    partner_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        auth_sessions::table
            .filter(auth_sessions::partner_client_id.eq(partner_id))
            .filter(auth_sessions::revoked_at.is_null()),
    )
    .set((
        auth_sessions::revoked_at.eq(now),
        auth_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
}

/// Issues a new refresh token in a session; returns the token (only its hash is stored).
pub fn issue_refresh_token(
    conn: &mut DbConn,
    session_id: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let token = format!("rt_{}", random_token(32));
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(sha256_hex(&token)),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What became of a presented refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now rotated: continue the session.
    Rotated { session_id: String },
    /// Unknown, expired, or its session is over.
    Invalid,
    /// Already rotated: somebody replayed it, so the session was revoked.
    Reused,
}

/// Rotates a refresh token. The rotation is a guarded update, so two concurrent uses of one
/// token cannot both succeed: the loser counts as reuse.
pub fn rotate_refresh_token(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<RefreshOutcome> {
    let hash = sha256_hex(token);
    let found: Option<(String, NaiveDateTime, Option<NaiveDateTime>)> = refresh_tokens::table
        .find(&hash)
        .select((
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::rotated_at,
        ))
        .first(conn)
        .optional()?;
    let Some((session_id, expires_at, rotated_at)) = found else {
        return Ok(RefreshOutcome::Invalid);
    };
    if rotated_at.is_some() {
        revoke_session(conn, &session_id, "refresh_token_reuse", now)?;
        return Ok(RefreshOutcome::Reused);
    }
    if expires_at <= now || !session_is_live(conn, &session_id, now)? {
        return Ok(RefreshOutcome::Invalid);
    }
    let rotated = diesel::update(
        refresh_tokens::table
            .find(&hash)
            .filter(refresh_tokens::rotated_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(now))
    .execute(conn)?;
    if rotated != 1 {
        revoke_session(conn, &session_id, "refresh_token_reuse", now)?;
        return Ok(RefreshOutcome::Reused);
    }
    Ok(RefreshOutcome::Rotated { session_id })
}

/// The session a refresh token belongs to, if the token is known.
pub fn session_of_refresh_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<String>> {
    refresh_tokens::table
        .find(sha256_hex(token))
        .select(refresh_tokens::session_id)
        .first(conn)
        .optional()
}

/// Deletes sessions that ended more than a day ago (their refresh tokens go with them).
pub fn delete_stale_sessions(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let cutoff = now - Duration::days(1);
    diesel::delete(auth_sessions::table.filter(auth_sessions::expires_at.lt(cutoff))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::Area;
    use chrono::TimeZone;

    fn service() -> TokenService {
        TokenService::new(b"0123456789abcdef0123456789abcdef", "khongdee", 900, 3600)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap()
    }

    fn token(svc: &TokenService) -> String {
        let claims = svc.claims(
            Subject::User(7),
            "somchai",
            Role::LaoStaff,
            "sess",
            None,
            &Area::default(),
            now(),
        );
        svc.sign(&claims).unwrap()
    }

    #[test]
    fn round_trips_and_expires_by_the_injected_clock() {
        let svc = service();
        let t = token(&svc);
        let claims = svc.verify_access_token(&t, now()).unwrap();
        assert_eq!(claims.sub, "user:7");
        assert_eq!(claims.role, Role::LaoStaff);
        assert!(
            svc.verify_access_token(&t, now() + Duration::seconds(899))
                .is_ok()
        );
        assert!(
            svc.verify_access_token(&t, now() + Duration::seconds(906))
                .is_err()
        );
        assert!(
            svc.verify_access_token(&t, now() - Duration::seconds(60))
                .is_err()
        );
    }

    #[test]
    fn rejects_wrong_key_issuer_and_alg_none() {
        let svc = service();
        let other = TokenService::new(b"another-secret-another-secret-xx", "khongdee", 900, 3600);
        assert!(svc.verify_access_token(&token(&other), now()).is_err());
        let foreign = TokenService::new(
            b"0123456789abcdef0123456789abcdef",
            "someone-else",
            900,
            3600,
        );
        assert!(svc.verify_access_token(&token(&foreign), now()).is_err());
        // alg: none with the same claims.
        let t = token(&svc);
        let payload = t.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(
            svc.verify_access_token(&format!("{header}.{payload}."), now())
                .is_err()
        );
        assert!(svc.verify_access_token("garbage", now()).is_err());
    }

    #[test]
    fn compares_in_constant_time() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}

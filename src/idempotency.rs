//! `Idempotency-Key` (IETF draft "The Idempotency-Key HTTP Header Field"): a client that retries a
//! POST with the same key gets the first response again instead of a second effect.
//!
//! - same key, same request → the first response (status and body), replayed;
//! - same key, another request → 422 `idempotency_key_reused`;
//! - while the first request is still running → 409 `idempotency_in_flight`.
//!
//! Keys are scoped to the caller (a partner client, a user, or an anonymous caller told apart by
//! the order secret or buyer phone it presents; see [`Scope`]) and kept at least 24 hours. A successful
//! response is stored in the same transaction as the change it reports, so a crash cannot leave
//! an order without its stored answer; a 4xx answer is stored too (the same request would get the
//! same answer); a 5xx answer frees the key so that a retry can try again.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::principal::Principal;
use crate::auth::tokens::sha256_hex;
use crate::db::schema::idempotency_keys as ik;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ApiResult, ErrorKind, FieldError};
use crate::i18n::Lang;
use crate::observability::RequestId;

pub const HEADER: &str = "idempotency-key";
/// How long keys are kept.
pub const RETENTION_HOURS: i64 = 48;
/// How long a request may run before another with its key may take over (it probably crashed).
const LOCK_SECONDS: i64 = 60;

/// The key of a request, if it sent one (a bare token or a quoted string, 1–255 visible ASCII
/// characters).
pub fn key_from(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::new(ErrorKind::InvalidParameter).field(FieldError::new(
            "Idempotency-Key",
            "invalid_idempotency_key",
        ))
    };
    let raw = value.to_str().map_err(|_| invalid())?.trim();
    let key = raw
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(raw);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(invalid());
    }
    Ok(Some(key.to_string()))
}

/// Whose keys these are: a stored answer is only ever replayed to the caller it was made for.
/// Signed-in callers are their principal (`client:3`, `user:12`). Anonymous callers are told
/// apart by what proves who they are for the request: the order secret they send, or the buyer
/// phone of what they ask for (E.164), kept only as a hash. The handler checks the caller's
/// access to what it names (an order, a window) before [`run`], so a replay never answers a
/// caller who would be refused without the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(String);

/// What proves who an anonymous caller is.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    /// The order secret (`X-Order-Secret`).
    OrderSecret(&'a str),
    /// The buyer's phone number in E.164, from the request body.
    BuyerPhone(&'a str),
}

impl Scope {
    pub fn of(principal: Option<&Principal>, proof: Option<Proof<'_>>) -> Scope {
        if let Some(p) = principal {
            return Scope(p.actor_label());
        }
        let hashed = |kind: &str, value: &str| {
            format!(
                "anonymous:{}",
                &sha256_hex(&format!("{kind}:{value}"))[..32]
            )
        };
        Scope(match proof {
            Some(Proof::OrderSecret(secret)) => hashed("order-secret", secret),
            Some(Proof::BuyerPhone(phone)) => hashed("buyer-phone", phone),
            None => "anonymous".to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of the request: its method, the resource it names and its body, each in a
/// canonical form, so that the same request written differently is still the same request:
/// - the route's pattern and its path values, an order `code` as the API reads it (any case,
///   with or without the dash);
/// - a JSON body as its parsed tree with keys sorted and no spaces; any other body as sent.
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update([0]);
    match req.match_pattern() {
        Some(pattern) => {
            hasher.update(pattern.as_bytes());
            for (name, value) in req.match_info().iter() {
                hasher.update([0]);
                hasher.update(name.as_bytes());
                hasher.update(b"=");
                if name == "code" {
                    let code: String = value
                        .chars()
                        .filter(|c| *c != '-' && !c.is_whitespace())
                        .map(|c| c.to_ascii_uppercase())
                        .collect();
                    hasher.update(code.as_bytes());
                } else {
                    hasher.update(value.as_bytes());
                }
            }
        }
        None => hasher.update(req.path().as_bytes()),
    }
    hasher.update([0]);
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(tree) => hasher.update(canonical_json(&tree).as_bytes()),
        Err(_) => hasher.update(body),
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A JSON value written with object keys sorted and no insignificant white space.
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// A stored response.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First time (or a crashed attempt taken over): run it, under this record.
    Proceed(i64),
    Replay(Stored),
    InFlight,
    Mismatch,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ik)]
struct Record {
    id: i64,
    fingerprint: String,
    state: String,
    response_status: Option<i32>,
    response_content_type: Option<String>,
    response_body: Option<String>,
    locked_until: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Claims a key, or says what became of it. Runs its own short transactions.
pub fn begin(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> ApiResult<Begin> {
    for _ in 0..3 {
        let inserted = db::write_transaction(conn, |conn| {
            insert_claim(conn, scope, key, fingerprint, now)
        });
        match inserted {
            Ok(id) => return Ok(Begin::Proceed(id)),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(other) => return Err(ApiError::from(other)),
        }
        let Some(record) = find_record(conn, scope, key)? else {
            continue;
        };
        match verdict(record, fingerprint, now) {
            Verdict::Expired(id) => {
                diesel::delete(ik::table.find(id).filter(ik::expires_at.le(now))).execute(conn)?;
                continue;
            }
            Verdict::Stale(id) => {
                let taken = db::write_transaction(conn, |conn| take_over(conn, id, now))?;
                if taken == 1 {
                    return Ok(Begin::Proceed(id));
                }
                return Ok(Begin::InFlight);
            }
            Verdict::Decided(begin) => return Ok(begin),
        }
    }
    Ok(Begin::InFlight)
}

/// The record of a caller's key, if any.
fn find_record(conn: &mut DbConn, scope: &str, key: &str) -> QueryResult<Option<Record>> {
    ik::table
        .filter(ik::scope.eq(scope))
        .filter(ik::idem_key.eq(key))
        .select(Record::as_select())
        .first(conn)
        .optional()
}

/// What a stored record says about a new request with its key.
enum Verdict {
    /// Past its retention: delete it and claim again.
    Expired(i64),
    /// Claimed by a request that has not answered within [`LOCK_SECONDS`] (it probably
    /// crashed): may be taken over.
    Stale(i64),
    Decided(Begin),
}

fn verdict(record: Record, fingerprint: &str, now: NaiveDateTime) -> Verdict {
    if record.expires_at <= now {
        return Verdict::Expired(record.id);
    }
    if record.fingerprint != fingerprint {
        return Verdict::Decided(Begin::Mismatch);
    }
    if record.state == "completed" {
        return Verdict::Decided(Begin::Replay(Stored {
            status: record.response_status.unwrap_or(200) as u16,
            content_type: record
                .response_content_type
                .unwrap_or_else(|| "application/json".to_string()),
            body: record.response_body.unwrap_or_default(),
        }));
    }
    if record.locked_until <= now {
        return Verdict::Stale(record.id);
    }
    Verdict::Decided(Begin::InFlight)
}

fn take_over(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<usize, DieselError> {
    diesel::update(
        ik::table
            .find(id)
            .filter(ik::state.eq("in_flight"))
            .filter(ik::locked_until.le(now)),
    )
    .set(ik::locked_until.eq(now + Duration::seconds(LOCK_SECONDS)))
    .execute(conn)
}

fn insert_claim(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<i64, DieselError> {
    diesel::insert_into(ik::table)
        .values((
            ik::scope.eq(scope),
            ik::idem_key.eq(key),
            ik::fingerprint.eq(fingerprint),
            ik::state.eq("in_flight"),
            ik::locked_until.eq(now + Duration::seconds(LOCK_SECONDS)),
            ik::created_at.eq(now),
            ik::expires_at.eq(now + Duration::hours(RETENTION_HOURS)),
        ))
        .returning(ik::id)
        .get_result(conn)
}

/// A key claimed inside a transaction that will also hold its answer ([`claim_here`]).
#[derive(Debug, Clone)]
pub struct Pending {
    /// The record to complete, when one was there (expired, or a crashed attempt's).
    id: Option<i64>,
    scope: String,
    key: String,
    fingerprint: String,
    now: NaiveDateTime,
}

/// Claims a key inside the caller's transaction, which will also store the answer: used by
/// gathered work ([`crate::capacity::gather`]), where the claim, the work and its answer commit
/// together (or not at all), so the record is written once, with its answer
/// ([`answer_here`], [`refuse_here`], [`store_answers`]). Earlier work of the same transaction
/// with the same key must have stored its answer before this is called (a gathered batch writes
/// its answers before a job claims a key the batch has answered already); it is then replayed. Two transactions answering the same new key at
/// once meet on the unique index: the later one waits for the earlier and fails (its batch is
/// then run job by job, and the job finds the answer).
pub fn claim_here(
    conn: &mut DbConn,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> ApiResult<Result<Pending, Begin>> {
    let id = match find_record(conn, scope, key)?.map(|record| verdict(record, fingerprint, now)) {
        None => None,
        Some(Verdict::Expired(id)) => {
            diesel::delete(ik::table.find(id)).execute(conn)?;
            None
        }
        Some(Verdict::Stale(id)) => Some(id),
        Some(Verdict::Decided(begin)) => return Ok(Err(begin)),
    };
    Ok(Ok(Pending {
        id,
        scope: scope.to_string(),
        key: key.to_string(),
        fingerprint: fingerprint.to_string(),
        now,
    }))
}

impl Pending {
    /// The scope and key claimed.
    pub fn scope_and_key(&self) -> (&str, &str) {
        (&self.scope, &self.key)
    }
}

/// The answer of a key claimed with [`claim_here`], to be stored ([`store_answers`]).
#[derive(Debug)]
pub struct Answer {
    pending: Pending,
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Answer {
    /// The scope and key it answers.
    pub fn scope_and_key(&self) -> (&str, &str) {
        self.pending.scope_and_key()
    }

    /// A JSON answer with its status (`201` and the order, say).
    pub fn json(pending: Pending, status: u16, body: String) -> Answer {
        Answer {
            pending,
            status,
            content_type: "application/json",
            body,
        }
    }

    /// A refusal (a 4xx problem), kept in both languages so that a retry reads it in the
    /// language it asks for.
    pub fn refusal(
        pending: Pending,
        error: &ApiError,
        path: &str,
        request_id: Option<&str>,
    ) -> Answer {
        Answer {
            pending,
            status: error.kind().status().as_u16(),
            content_type: PROBLEM_IN_BOTH_LANGUAGES,
            body: refusal_document(error, path, request_id),
        }
    }
}

/// Stores the answer of a key claimed with [`claim_here`].
pub fn answer_here(
    conn: &mut DbConn,
    pending: &Pending,
    status: u16,
    content_type: &'static str,
    body: &str,
) -> QueryResult<()> {
    let answer = Answer {
        pending: pending.clone(),
        status,
        content_type,
        body: body.to_string(),
    };
    store_answers(conn, vec![answer])
}

/// Stores a refusal (a 4xx problem) as the answer of a key claimed with [`claim_here`], in both
/// languages ([`Answer::refusal`]).
pub fn refuse_here(
    conn: &mut DbConn,
    pending: &Pending,
    error: &ApiError,
    path: &str,
    request_id: Option<&str>,
) -> QueryResult<()> {
    let answer = Answer::refusal(pending.clone(), error, path, request_id);
    store_answers(conn, vec![answer])
}

/// Stores answers of keys claimed with [`claim_here`] in the caller's transaction: new keys in
/// one multi-row insert (a gathered batch's), records that were there (expired, or a crashed
/// attempt's) completed one by one.
pub fn store_answers(conn: &mut DbConn, answers: Vec<Answer>) -> QueryResult<()> {
    let (found, new): (Vec<Answer>, Vec<Answer>) =
        answers.into_iter().partition(|a| a.pending.id.is_some());
    for answer in &found {
        if let Some(id) = answer.pending.id {
            complete(conn, id, answer.status, answer.content_type, &answer.body)?;
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = new
        .into_iter()
        .map(|a| {
            let now = a.pending.now;
            (
                ik::scope.eq(a.pending.scope),
                ik::idem_key.eq(a.pending.key),
                ik::fingerprint.eq(a.pending.fingerprint),
                ik::state.eq("completed"),
                ik::response_status.eq(Some(i32::from(a.status))),
                ik::response_content_type.eq(Some(a.content_type)),
                ik::response_body.eq(Some(a.body)),
                ik::locked_until.eq(now),
                ik::created_at.eq(now),
                ik::expires_at.eq(now + Duration::hours(RETENTION_HOURS)),
            )
        })
        .collect();
    crate::insert_rows!(conn, ik::table, rows).map(|_| ())
}

/// A refusal as it is stored: `{"en": problem, "th": problem}`.
fn refusal_document(error: &ApiError, path: &str, request_id: Option<&str>) -> String {
    let render = |lang| serde_json::Value::Object(error.to_problem(lang, Some(path), request_id));
    serde_json::json!({"en": render(Lang::En), "th": render(Lang::Th)}).to_string()
}

/// Stores the response of a claimed key.
pub fn complete(
    conn: &mut DbConn,
    id: i64,
    status: u16,
    content_type: &str,
    body: &str,
) -> QueryResult<()> {
    diesel::update(ik::table.find(id))
        .set((
            ik::state.eq("completed"),
            ik::response_status.eq(Some(i32::from(status))),
            ik::response_content_type.eq(Some(content_type)),
            ik::response_body.eq(Some(body)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Frees a claimed key (the request failed in a way a retry might not).
pub fn abandon(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(ik::table.find(id).filter(ik::state.eq("in_flight")))
        .execute(conn)
        .map(|_| ())
}

/// Deletes expired keys (background task).
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(ik::table.filter(ik::expires_at.le(now))).execute(conn)
}

/// The stored content type of a refusal kept in both languages: its body is
/// `{"en": problem, "th": problem}` and a replay answers in the language the retry asks for.
const PROBLEM_IN_BOTH_LANGUAGES: &str = "application/problem+json; khongdee-languages=en,th";

/// A stored answer, as a replay (`Idempotent-Replayed: true`).
pub fn replay(stored: Stored, lang: Lang) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let (content_type, body) = if stored.content_type == PROBLEM_IN_BOTH_LANGUAGES {
        let both: serde_json::Value = serde_json::from_str(&stored.body).unwrap_or_default();
        let problem = both.get(lang.pick("en", "th")).cloned().unwrap_or_default();
        ("application/problem+json".to_string(), problem.to_string())
    } else {
        (stored.content_type, stored.body)
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(("idempotent-replayed", "true"))
        .body(body)
}

/// Runs `work` in a write transaction, honouring the request's `Idempotency-Key`. With
/// `required`, a request without a key is refused with 400. `work` answers a status and any
/// serializable value, which becomes the JSON body (and, with a key, is stored for replays).
pub async fn run<F, T>(
    state: &AppState,
    req: &HttpRequest,
    scope: Scope,
    body: &[u8],
    required: bool,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut DbConn) -> ApiResult<(StatusCode, T)> + Send + 'static,
    T: serde::Serialize,
{
    // The answer as JSON, made inside the transaction so that it can be stored with the key.
    let work = move |conn: &mut DbConn| {
        let (status, value) = work(conn)?;
        let value = serde_json::to_value(value).map_err(ApiError::internal)?;
        Ok::<_, ApiError>((status, value))
    };
    let respond = |status: StatusCode, value: &serde_json::Value| {
        HttpResponse::build(status)
            .content_type("application/json")
            .body(value.to_string())
    };
    let Some(key) = key_from(req)? else {
        if required {
            return Err(ApiError::new(ErrorKind::IdempotencyKeyRequired));
        }
        let (status, value) = state.db_tx(work).await?;
        return Ok(respond(status, &value));
    };
    let scope = scope.0;
    let print = fingerprint(req, body);
    let now = state.clock.now_naive();
    let claim = {
        let (scope, key) = (scope.clone(), key.clone());
        state
            .db_write(move |conn| begin(conn, &scope, &key, &print, now))
            .await?
    };
    let record = match claim {
        Begin::Proceed(id) => id,
        Begin::Replay(stored) => return Ok(replay(stored, Lang::from_request(req))),
        Begin::InFlight => return Err(ApiError::new(ErrorKind::IdempotencyInFlight).retry_after(1)),
        Begin::Mismatch => return Err(ApiError::new(ErrorKind::IdempotencyKeyReused)),
    };
    let outcome = state
        .db_tx(move |conn| {
            let (status, value) = work(conn)?;
            complete(
                conn,
                record,
                status.as_u16(),
                "application/json",
                &value.to_string(),
            )?;
            Ok((status, value))
        })
        .await;
    match outcome {
        Ok((status, value)) => Ok(respond(status, &value)),
        Err(error) if error.kind().status().is_client_error() => {
            // The same request would be refused the same way: remember the refusal, in both
            // languages, so that a retry reads it in the language it asks for.
            let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
            let problem = refusal_document(&error, req.path(), request_id.as_deref());
            let status = error.kind().status().as_u16();
            state
                .db_write(move |conn| {
                    Ok(complete(
                        conn,
                        record,
                        status,
                        PROBLEM_IN_BOTH_LANGUAGES,
                        &problem,
                    )?)
                })
                .await?;
            Err(error)
        }
        Err(error) => {
            let _ = state.db_write(move |conn| Ok(abandon(conn, record)?)).await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn reads_bare_and_quoted_keys() {
        let req = TestRequest::default()
            .insert_header((HEADER, "abc-123"))
            .to_http_request();
        assert_eq!(key_from(&req).unwrap().as_deref(), Some("abc-123"));
        let req = TestRequest::default()
            .insert_header((HEADER, "\"8e03978e-40d5-43e8-bc93-6894a57f9324\""))
            .to_http_request();
        assert_eq!(
            key_from(&req).unwrap().as_deref(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324")
        );
        let req = TestRequest::default()
            .insert_header((HEADER, "has space"))
            .to_http_request();
        assert!(key_from(&req).is_err());
        let req = TestRequest::default().to_http_request();
        assert_eq!(key_from(&req).unwrap(), None);
    }

    #[test]
    fn fingerprints_depend_on_the_body_not_on_how_it_is_written() {
        let req = TestRequest::post().uri("/v1/orders").to_http_request();
        assert_eq!(fingerprint(&req, b"{}"), fingerprint(&req, b"{ }"));
        assert_eq!(
            fingerprint(&req, br#"{"a": 1, "b": [1, {"d": 2, "c": 3}]}"#),
            fingerprint(&req, br#"{"b":[1,{"c":3,"d":2}],"a":1}"#)
        );
        assert_ne!(
            fingerprint(&req, br#"{"a": 1}"#),
            fingerprint(&req, br#"{"a": 2}"#)
        );
        assert_ne!(
            fingerprint(&req, br#"{"b":[1,2]}"#),
            fingerprint(&req, br#"{"b":[2,1]}"#)
        );
        let other = TestRequest::post().uri("/v1/holds").to_http_request();
        assert_ne!(fingerprint(&req, b"{}"), fingerprint(&other, b"{}"));
    }
}

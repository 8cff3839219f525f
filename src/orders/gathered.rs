//! Placing orders through the window's gatherer ([`crate::capacity::gather`]): what a handler
//! calls for `POST /v1/orders` and the embedded form's orders.
//!
//! 1. The request's checks that need no lock ([`place::prepare`]) run on a pooled connection,
//!    concurrently with every other request (PostgreSQL); on SQLite the batch's thread runs
//!    them itself, in step 2, as fast and without handing the request between threads.
//! 2. The order joins its window's queue as a [`PlaceJob`]. In the batch's transaction it claims
//!    its `Idempotency-Key` (a stored answer is replayed) and is placed under the lock
//!    ([`place::place_locked`]), in memory. At the batch's end ([`BatchOrders`]) the orders'
//!    rows go in with one multi-row insert per table ([`place::write_all`]), then every key's
//!    answer (the order, or its refusal in both languages) — all in the batch's one commit. A
//!    job whose key or buyer the batch has already seen has what came before written first, so
//!    that it reads it (a replay; the per-buyer limit).
//! 3. The request hears its outcome only after that commit.
//!
//! An order converting a hold is placed on its own ([`place::place`] inside
//! [`idempotency::run`]), as before.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use tokio::sync::oneshot;

use super::model::Order;
use super::place::{self, NewOrder, NotPlaced, Prepared, Unwritten};
use crate::AppState;
use crate::auth::principal::Principal;
use crate::capacity::gather::{Deferred, Job, Locked};
use crate::db::Backend;
use crate::db::DbConn;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::i18n::Lang;
use crate::idempotency::{self, Answer, Begin, Pending, Scope};
use crate::observability::RequestId;

/// Turns a placed order into the body of the answer (201), inside the order's transaction.
pub type Respond = Arc<dyn Fn(&mut DbConn, Order) -> ApiResult<serde_json::Value> + Send + Sync>;

/// A check of the request that needs the database but no lock (the embedded form's: the window
/// belongs to the key's LAO), run before the order is prepared.
pub type Check = Arc<dyn Fn(&mut DbConn) -> ApiResult<()> + Send + Sync>;

/// A placement request as a handler hands it over.
pub struct Placement {
    pub principal: Option<Principal>,
    pub new: NewOrder,
    pub scope: Scope,
    /// Whether the request must carry an `Idempotency-Key`.
    pub key_required: bool,
    pub check: Option<Check>,
    pub respond: Respond,
}

/// Places the order: gathered with others of its window when it orders lines, on its own when
/// it converts a hold. Answers 201 with `respond`'s body, a replay, or a problem.
pub async fn place_order(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    placement: Placement,
) -> ApiResult<HttpResponse> {
    let window_id = match (
        &placement.new.window_id,
        &placement.new.hold_id,
        &placement.new.lines,
    ) {
        (Some(id), None, Some(_)) => *id,
        _ => return place_alone(state, req, body, placement).await,
    };
    let key = idempotency::key_from(req)?;
    if key.is_none() && placement.key_required {
        return Err(ApiError::new(ErrorKind::IdempotencyKeyRequired));
    }
    let claim = key.map(|key| Claim {
        scope: placement.scope.as_str().to_string(),
        print: idempotency::fingerprint(req, body),
        key,
    });
    let respond = placement.respond.clone();
    let source = source_of(state, placement, claim.is_some()).await?;
    let (tx, rx) = oneshot::channel();
    let job = PlaceJob {
        source,
        claim,
        pepper: state.citizen_id_pepper.clone(),
        respond,
        path: req.path().to_string(),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        outcome: None,
        tx,
    };
    state.gatherer.submit(window_id, Box::new(job));
    let done = rx
        .await
        .map_err(|_| ApiError::internal("a gathered placement ended without an answer"))??;
    answer_of(done, req)
}

/// An order converting a hold: placed on its own, in its own transaction.
async fn place_alone(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    placement: Placement,
) -> ApiResult<HttpResponse> {
    let Placement {
        principal,
        new,
        scope,
        key_required,
        check,
        respond,
    } = placement;
    let now = state.clock.now_naive();
    let pepper = state.citizen_id_pepper.clone();
    idempotency::run(state, req, scope, body, key_required, move |conn| {
        if let Some(check) = check {
            check(conn)?;
        }
        let order = place::place(conn, principal.as_ref(), &new, &pepper, now)?;
        Ok((StatusCode::CREATED, respond(conn, order)?))
    })
    .await
}

/// Where the job's order is prepared. SQLite runs in this process and has one writer: the
/// batch's thread reads what an order needs as fast as another thread would, without handing the
/// request over twice. On PostgreSQL the reads run here, on pooled connections, many at once,
/// outside the batch; a refusal is kept for the batch only when a key must store it.
async fn source_of(state: &AppState, placement: Placement, keyed: bool) -> ApiResult<Source> {
    let Placement {
        principal,
        new,
        check,
        ..
    } = placement;
    if state.backend == Backend::Sqlite {
        return Ok(Source::InBatch {
            principal,
            new: Box::new(new),
            check,
        });
    }
    let now = state.clock.now_naive();
    let prepared = state
        .db(move |conn| {
            if let Some(check) = check {
                check(conn)?;
            }
            place::prepare(conn, principal.as_ref(), &new, now)
        })
        .await;
    match prepared {
        Ok(prepared) => Ok(Source::Prepared(Ok(Box::new(prepared)))),
        Err(refusal) if keyed && refusal.kind().status().is_client_error() => {
            Ok(Source::Prepared(Err(refusal)))
        }
        Err(error) => Err(error),
    }
}

/// The HTTP answer of a gathered placement.
fn answer_of(done: Done, req: &HttpRequest) -> ApiResult<HttpResponse> {
    match done {
        Done::Created(value) => Ok(HttpResponse::Created()
            .content_type("application/json")
            .body(value.to_string())),
        Done::Refused(error) => Err(error),
        Done::Claimed(Begin::Replay(stored)) => {
            Ok(idempotency::replay(stored, Lang::from_request(req)))
        }
        Done::Claimed(Begin::InFlight) => {
            Err(ApiError::new(ErrorKind::IdempotencyInFlight).retry_after(1))
        }
        Done::Claimed(Begin::Mismatch) => Err(ApiError::new(ErrorKind::IdempotencyKeyReused)),
        Done::Claimed(Begin::Proceed(_)) => Err(ApiError::internal("a claim left unanswered")),
        Done::Placed(_) => Err(ApiError::internal("a placed order without its body")),
    }
}

/// An `Idempotency-Key` to claim in the batch.
struct Claim {
    scope: String,
    key: String,
    print: String,
}

/// How a placement ended in its batch.
enum Done {
    Created(serde_json::Value),
    /// Placed in the batch; its body is there once the batch's rows are written.
    Placed(Body),
    /// Refused (before anything was written); the refusal is stored with the key.
    Refused(ApiError),
    /// The key decided: a replay, in flight, or reused for another request.
    Claimed(Begin),
}

/// Where a job's prepared order comes from.
enum Source {
    /// Prepared before the job was queued: the order, or the refusal of its checks.
    Prepared(Result<Box<Prepared>, ApiError>),
    /// Prepared by the job itself, in the batch's transaction (SQLite).
    InBatch {
        principal: Option<Principal>,
        new: Box<NewOrder>,
        check: Option<Check>,
    },
}

/// One placement in a window's batch.
struct PlaceJob {
    source: Source,
    claim: Option<Claim>,
    pepper: Arc<Vec<u8>>,
    respond: Respond,
    path: String,
    request_id: Option<String>,
    outcome: Option<Done>,
    tx: oneshot::Sender<ApiResult<Done>>,
}

impl PlaceJob {
    /// Claims the job's `Idempotency-Key` in the batch's transaction (`Ok(None)` without one);
    /// `Err` when the key has decided already (a replay, in flight, reused).
    fn claim_key(
        &self,
        conn: &mut DbConn,
        window: &Locked,
    ) -> ApiResult<Result<Option<Pending>, Begin>> {
        let Some(c) = &self.claim else {
            return Ok(Ok(None));
        };
        Ok(idempotency::claim_here(conn, &c.scope, &c.key, &c.print, window.now)?.map(Some))
    }

    /// Prepares an in-batch job's order (`None` for one prepared before): the order, or the
    /// refusal of its checks. A server error fails the batch.
    fn prepare_here(
        &self,
        conn: &mut DbConn,
        window: &Locked,
    ) -> ApiResult<Option<Result<Prepared, ApiError>>> {
        let Source::InBatch {
            principal,
            new,
            check,
        } = &self.source
        else {
            return Ok(None);
        };
        let checked = match check {
            Some(check) => check(conn),
            None => Ok(()),
        };
        match checked.and_then(|()| place::prepare(conn, principal.as_ref(), new, window.now)) {
            Ok(prepared) => Ok(Some(Ok(prepared))),
            Err(refusal) if refusal.kind().status().is_client_error() => Ok(Some(Err(refusal))),
            Err(error) => Err(error),
        }
    }

    /// Keeps a refusal for the key, if there is one, to be written with the batch's rows.
    fn defer_refusal(
        &self,
        window: &mut Locked,
        claim: Option<Pending>,
        error: &ApiError,
    ) -> ApiResult<()> {
        if let Some(claim) = claim {
            let request_id = self.request_id.as_deref();
            let answer = Answer::refusal(claim, error, &self.path, request_id);
            window.deferred::<BatchOrders>()?.answer(answer);
        }
        Ok(())
    }

    /// Writes what the batch has handed over when it holds this job's key, so that the claim
    /// reads the earlier answer and replays it.
    fn flush_if_key_seen(&self, conn: &mut DbConn, window: &mut Locked) -> ApiResult<()> {
        let seen = match (&self.claim, window.deferred_ref::<BatchOrders>()) {
            (Some(c), Some(batch)) => batch.keys.contains(&(c.scope.clone(), c.key.clone())),
            _ => false,
        };
        if seen { window.flush(conn) } else { Ok(()) }
    }
}

/// Writes what the batch has handed over when it holds an order of this buyer, so that the
/// per-buyer limit counts it.
fn flush_if_buyer_seen(conn: &mut DbConn, window: &mut Locked, phone: &str) -> ApiResult<()> {
    let seen = window
        .deferred_ref::<BatchOrders>()
        .is_some_and(|batch| batch.phones.contains(phone));
    if seen { window.flush(conn) } else { Ok(()) }
}

/// The body of a placed order's answer, set when the batch's rows are written.
type Body = Arc<OnceLock<serde_json::Value>>;

/// A placed order waiting for the batch's end, with what its answer needs.
struct Waiting {
    order: Unwritten,
    respond: Respond,
    claim: Option<Pending>,
    body: Body,
}

/// The orders a batch has placed and the answers of its keys, written together when the batch
/// flushes: the orders with one multi-row insert per table ([`place::write_all`]), then every
/// answer in one more.
#[derive(Default)]
struct BatchOrders {
    waiting: Vec<Waiting>,
    answers: Vec<Answer>,
    /// The keys (scope, key) and buyers' phones of what is waiting.
    keys: HashSet<(String, String)>,
    phones: HashSet<String>,
    pepper: Arc<Vec<u8>>,
}

impl BatchOrders {
    fn answer(&mut self, answer: Answer) {
        let (scope, key) = answer.scope_and_key();
        self.keys.insert((scope.to_string(), key.to_string()));
        self.answers.push(answer);
    }

    fn wait(&mut self, waiting: Waiting, phone: &str, pepper: &Arc<Vec<u8>>) {
        if let Some(claim) = &waiting.claim {
            let (scope, key) = claim.scope_and_key();
            self.keys.insert((scope.to_string(), key.to_string()));
        }
        self.phones.insert(phone.to_string());
        self.pepper = Arc::clone(pepper);
        self.waiting.push(waiting);
    }
}

impl Deferred for BatchOrders {
    fn write(self: Box<Self>, conn: &mut DbConn, locked: &mut Locked) -> ApiResult<()> {
        let BatchOrders {
            waiting,
            mut answers,
            pepper,
            ..
        } = *self;
        let mut orders = Vec::with_capacity(waiting.len());
        let mut rest = Vec::with_capacity(waiting.len());
        for w in waiting {
            orders.push(w.order);
            rest.push((w.respond, w.claim, w.body));
        }
        let written = place::write_all(conn, orders, &pepper, locked.now, |_, order, actor| {
            locked.record(place::ledger_entry(order, actor));
            Ok(())
        })?;
        for (order, (respond, claim, body)) in written.into_iter().zip(rest) {
            let value = respond(conn, order)?;
            if let Some(claim) = claim {
                answers.push(Answer::json(claim, 201, value.to_string()));
            }
            let _ = body.set(value);
        }
        Ok(idempotency::store_answers(conn, answers)?)
    }
}

impl Job for PlaceJob {
    fn run(&mut self, conn: &mut DbConn, window: &mut Locked) -> ApiResult<()> {
        self.outcome = None;
        self.flush_if_key_seen(conn, window)?;
        let claim = match self.claim_key(conn, window)? {
            Ok(claim) => claim,
            Err(decided) => {
                self.outcome = Some(Done::Claimed(decided));
                return Ok(());
            }
        };
        let in_batch = self.prepare_here(conn, window)?;
        let prepared = match (&in_batch, &self.source) {
            (Some(Ok(prepared)), _) => prepared,
            (None, Source::Prepared(Ok(prepared))) => prepared.as_ref(),
            (Some(Err(refusal)), _) | (None, Source::Prepared(Err(refusal))) => {
                self.defer_refusal(window, claim, refusal)?;
                self.outcome = in_batch.and_then(Result::err).map(Done::Refused);
                return Ok(());
            }
            (None, Source::InBatch { .. }) => {
                return Err(ApiError::internal("an in-batch placement was not prepared"));
            }
        };
        flush_if_buyer_seen(conn, window, prepared.buyer_phone())?;
        let done = match place::place_locked(conn, prepared, window) {
            Ok(order) => {
                let body = Body::default();
                let waiting = Waiting {
                    order,
                    respond: self.respond.clone(),
                    claim,
                    body: Arc::clone(&body),
                };
                let phone = prepared.buyer_phone();
                window
                    .deferred::<BatchOrders>()?
                    .wait(waiting, phone, &self.pepper);
                Done::Placed(body)
            }
            Err(NotPlaced::Refused(refusal)) => {
                self.defer_refusal(window, claim, &refusal)?;
                Done::Refused(refusal)
            }
            Err(NotPlaced::Failed(error)) => return Err(error),
        };
        self.outcome = Some(done);
        Ok(())
    }

    fn answer(self: Box<Self>, committed: Result<(), ApiError>) {
        let result = match (committed, self.outcome) {
            (Err(error), _) => Err(error),
            (Ok(()), Some(Done::Placed(body))) => match Arc::try_unwrap(body) {
                Ok(body) => body.into_inner(),
                Err(shared) => shared.get().cloned(),
            }
            .map(Done::Created)
            .ok_or_else(|| ApiError::internal("a placed order was not written")),
            (Ok(()), Some(done)) => Ok(done),
            // Refused by its checks: the refusal it was prepared with.
            (Ok(()), None) => match self.source {
                Source::Prepared(Err(refusal)) => Ok(Done::Refused(refusal)),
                _ => Err(ApiError::internal("a gathered placement did not run")),
            },
        };
        // The request may have gone (the client hung up): nothing to tell.
        let _ = self.tx.send(result);
    }
}

//! Gathering: concurrent work on one window (placements, in this process) done in one database
//! transaction, so that a hot window's rate is no longer one commit per order.
//!
//! A request hands its work to [`Gatherer::submit`] as a [`Job`]. The first job of a window
//! that finds nobody working on it starts a worker on the blocking pool; jobs that arrive while
//! a batch runs wait in the window's queue, in arrival order, and form the next batch. So a
//! request on an idle window waits for nothing, and one on a busy window waits at most for the
//! batch before its own (at most [`MAX_BATCH`] jobs) — there is no timer.
//!
//! A batch is one write transaction: the window's row locked once ([`Locked::lock`], which reads
//! its counters), each job run in arrival order against the counters kept in memory, then one
//! counter update, one multi-row ledger insert, one commit. A job's refusal (sold out, over a
//! limit, a bad line) is its own answer and costs the others nothing. A job only learns its
//! outcome through [`Job::answer`], called after the commit that contains its rows, so a `201`
//! never reports an order that was rolled back. If the batch fails (a database error in one
//! job), it is rolled back and each job runs again alone in its own transaction.
//!
//! Several processes stay safe: each batch takes the window's row lock (PostgreSQL) or the
//! database's write lock (SQLite `BEGIN IMMEDIATE`), so batches of different processes run one
//! after the other.

use std::any::Any;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::changes::{self, Change};
use super::ledger::{self, Movement};
use crate::clock::SharedClock;
use crate::db::schema::{capacity_ledger, preorder_windows as w};
use crate::db::{self, DbConn, DbPool};
use crate::error::{ApiError, ApiResult};

/// The most jobs one transaction takes.
pub const MAX_BATCH: usize = 256;

/// Work on one window, done inside a batch's transaction.
pub trait Job: Send {
    /// Runs in the batch's transaction after the window's lock, in arrival order. Keeps its
    /// own outcome (an order, or a refusal it has already recorded) for [`Job::answer`]. An `Err`
    /// means the transaction cannot go on (a database error): the batch is rolled back and each
    /// job runs again alone, so `run` must start afresh each time it is called.
    fn run(&mut self, conn: &mut DbConn, window: &mut Locked) -> ApiResult<()>;

    /// Called once: `Ok` after the commit that holds what `run` wrote, `Err` when nothing of it
    /// was kept.
    fn answer(self: Box<Self>, committed: Result<(), ApiError>);
}

/// Rows that a batch's jobs hand over to be written together, once, just before the batch's
/// counters are ([`Locked::flush`]): a room above fills it with its own rows (the orders' rows,
/// one multi-row insert per table) and finds its buffer again with [`Locked::deferred`].
pub trait Deferred: Any + Send {
    /// Writes what was handed over, in the batch's transaction; may record ledger rows on
    /// `locked`, which are written after it. An `Err` rolls the batch back.
    fn write(self: Box<Self>, conn: &mut DbConn, locked: &mut Locked) -> ApiResult<()>;
}

/// What is done with the changes a committed batch noted (refreshing what is kept in memory).
pub type AfterCommit = Arc<dyn Fn(&[Change]) + Send + Sync>;

/// The queues of this process's windows.
pub struct Gatherer {
    pool: DbPool,
    clock: SharedClock,
    after_commit: AfterCommit,
    /// Window id → jobs waiting. A window is in the map while a worker serves it.
    queues: Mutex<HashMap<i64, Vec<Box<dyn Job>>>>,
    batches: AtomicU64,
    jobs: AtomicU64,
    largest: AtomicU64,
}

/// What the gatherer has done since the process started (`/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatherStats {
    /// Transactions run (a batch run again job by job counts once more per job).
    pub batches: u64,
    /// Jobs run in them.
    pub jobs: u64,
    /// The most jobs one transaction took.
    pub largest: u64,
}

impl Gatherer {
    pub fn new(pool: DbPool, clock: SharedClock, after_commit: AfterCommit) -> Arc<Gatherer> {
        Arc::new(Gatherer {
            pool,
            clock,
            after_commit,
            queues: Mutex::new(HashMap::new()),
            batches: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
            largest: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> GatherStats {
        GatherStats {
            batches: self.batches.load(Ordering::Relaxed),
            jobs: self.jobs.load(Ordering::Relaxed),
            largest: self.largest.load(Ordering::Relaxed),
        }
    }

    /// Jobs waiting for a window's next batch (not those of the batch running).
    pub fn waiting(&self, window_id: i64) -> usize {
        self.lock_queues().get(&window_id).map_or(0, Vec::len)
    }

    /// Queues `job` for `window_id`, starting a worker when none serves the window. The job
    /// hears its outcome through [`Job::answer`].
    pub fn submit(self: &Arc<Self>, window_id: i64, job: Box<dyn Job>) {
        let start = {
            let mut queues = self.lock_queues();
            match queues.get_mut(&window_id) {
                Some(waiting) => {
                    waiting.push(job);
                    false
                }
                None => {
                    queues.insert(window_id, vec![job]);
                    true
                }
            }
        };
        if start {
            let me = Arc::clone(self);
            actix_web::rt::task::spawn_blocking(move || me.serve(window_id));
        }
    }

    fn lock_queues(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<Box<dyn Job>>>> {
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs the window's batches until its queue is empty, then lets the window go.
    fn serve(&self, window_id: i64) {
        // If anything below panics, the window must not stay marked as served: later jobs would
        // wait for ever. The jobs still queued are dropped, which answers their requests with an
        // error.
        struct Release<'a>(&'a Gatherer, i64);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.lock_queues().remove(&self.1);
                }
            }
        }
        let _release = Release(self, window_id);
        loop {
            let batch: Vec<Box<dyn Job>> = {
                let mut queues = self.lock_queues();
                let Some(waiting) = queues.get_mut(&window_id) else {
                    return;
                };
                if waiting.is_empty() {
                    queues.remove(&window_id);
                    return;
                }
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            self.run_batch(window_id, batch);
        }
    }

    fn run_batch(&self, window_id: i64, mut jobs: Vec<Box<dyn Job>>) {
        let now = self.clock.now_naive();
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        self.largest.fetch_max(jobs.len() as u64, Ordering::Relaxed);
        let (result, noted) = changes::collect(|| {
            db::write_here(&self.pool, |conn| {
                db::write_transaction(conn, |conn| {
                    let mut locked = Locked::lock(conn, window_id, now)?;
                    for job in jobs.iter_mut() {
                        catch_unwind(AssertUnwindSafe(|| job.run(conn, &mut locked)))
                            .unwrap_or_else(|_| {
                                Err(ApiError::internal("a gathered job panicked"))
                            })?;
                    }
                    locked.flush(conn)
                })
            })
        });
        match result {
            Ok(()) => {
                (self.after_commit)(&noted);
                for job in jobs {
                    job.answer(Ok(()));
                }
            }
            Err(error)
                if jobs.len() > 1
                    && error.kind() != crate::error::ErrorKind::DatabaseUnavailable =>
            {
                // Not expected (a job's refusals are its own answers): log it and let each job
                // try alone, so that one cannot sink the others.
                tracing::warn!(window_id, error = %error.describe(), "a gathered batch failed; running its jobs one by one");
                for job in jobs {
                    self.run_batch(window_id, vec![job]);
                }
            }
            Err(error) => {
                let mut jobs = jobs.into_iter();
                if let Some(first) = jobs.next() {
                    for job in jobs {
                        job.answer(Err(ApiError::database_unavailable(error.describe())));
                    }
                    first.answer(Err(error));
                }
            }
        }
    }
}

/// The window as a batch holds it: locked, with its counters as the batch moves them.
pub struct Locked {
    pub window_id: i64,
    /// The batch's time (Bangkok, naive), taken when its transaction began.
    pub now: NaiveDateTime,
    /// Whether the window exists (a job answers "not found" itself).
    pub exists: bool,
    capacity: i64,
    held: i64,
    sold: i64,
    /// Units sold by this batch, not yet written to the counters.
    selling: i64,
    entries: Vec<OwnedEntry>,
    /// Whether a job has already let what was due on the window expire in this batch.
    pub expired_due: bool,
    /// Room for the jobs' own per-batch facts (the window as the pre-order room reads it under
    /// the lock), read once by the first job that needs them.
    pub scratch: Option<Box<dyn Any + Send>>,
    /// Rows handed over by the jobs, written by the next [`Locked::flush`].
    deferred: Option<Box<dyn Deferred>>,
}

/// A ledger row the batch writes at its end.
#[derive(Debug, Clone)]
pub struct OwnedEntry {
    pub kind: Movement,
    pub sold_delta: i64,
    pub order_id: Option<i64>,
    pub reference: Option<String>,
    pub actor: Option<String>,
}

impl Locked {
    /// Locks the window's row for the rest of the transaction and reads its counters, in one
    /// statement (a no-op update).
    pub fn lock(conn: &mut DbConn, window_id: i64, now: NaiveDateTime) -> QueryResult<Locked> {
        let row: Option<(i64, i64, i64)> = diesel::update(w::table.find(window_id))
            .set(w::updated_at.eq(w::updated_at))
            .returning((w::capacity, w::held, w::sold))
            .get_result(conn)
            .optional()?;
        let (capacity, held, sold) = row.unwrap_or_default();
        Ok(Locked {
            window_id,
            now,
            exists: row.is_some(),
            capacity,
            held,
            sold,
            selling: 0,
            entries: Vec::new(),
            expired_due: false,
            scratch: None,
            deferred: None,
        })
    }

    /// Reads the counters again, after something in this transaction moved them in the
    /// database (holds and unpaid orders let go); what this batch sells stays on top.
    pub fn reread(&mut self, conn: &mut DbConn) -> QueryResult<()> {
        let (capacity, held, sold): (i64, i64, i64) = w::table
            .find(self.window_id)
            .select((w::capacity, w::held, w::sold))
            .first(conn)?;
        (self.capacity, self.held, self.sold) = (capacity, held, sold);
        Ok(())
    }

    /// Units neither held nor sold, counting this batch's sales.
    pub fn free(&self) -> i64 {
        (self.capacity - self.held - self.sold - self.selling).max(0)
    }

    /// Sells `units` if they fit (written at the end of the batch). `Err(free)` when they do
    /// not.
    pub fn sell(&mut self, units: i64) -> Result<(), i64> {
        let free = self.free();
        if units > free {
            return Err(free);
        }
        self.selling += units;
        Ok(())
    }

    /// A ledger row that explains units sold through [`Locked::sell`], written at the end of
    /// the batch.
    pub fn record(&mut self, entry: OwnedEntry) {
        self.entries.push(entry);
    }

    /// The rows of type `T` handed over so far in this batch (an empty `T` the first time, and
    /// again after each flush). A batch's jobs are of one kind; rows of another type are a
    /// server error.
    pub fn deferred<T: Deferred + Default>(&mut self) -> ApiResult<&mut T> {
        let slot = self.deferred.get_or_insert_with(|| Box::new(T::default()));
        (&mut **slot as &mut dyn Any)
            .downcast_mut::<T>()
            .ok_or_else(|| ApiError::internal("a batch's deferred rows are of another type"))
    }

    /// The rows of type `T` handed over and not yet written, if any.
    pub fn deferred_ref<T: Deferred>(&self) -> Option<&T> {
        self.deferred
            .as_deref()
            .and_then(|d| (d as &dyn Any).downcast_ref::<T>())
    }

    /// Writes the rows the jobs handed over ([`Deferred`]), then what the batch has sold so far
    /// to the counters and the ledger: at the batch's end, and before something in the
    /// transaction reads or moves them in the database (letting lapsed holds go, offering freed
    /// units to the waiting list, a job that must see an earlier job's rows). Announces
    /// `window.sold_out` if the units filled it.
    pub fn flush(&mut self, conn: &mut DbConn) -> ApiResult<()> {
        if let Some(deferred) = self.deferred.take() {
            deferred.write(conn, self)?;
        }
        let units = std::mem::take(&mut self.selling);
        let entries = std::mem::take(&mut self.entries);
        if units == 0 && entries.is_empty() {
            return Ok(());
        }
        let after: Option<(i64, i64, i64, i64)> = diesel::update(
            w::table
                .find(self.window_id)
                .filter((w::held + w::sold + units).le(w::capacity)),
        )
        .set(w::sold.eq(w::sold + units))
        .returning((w::capacity, w::held, w::sold, w::lao_id))
        .get_result(conn)
        .optional()?;
        let Some(after) = after else {
            return Err(ApiError::internal(format!(
                "window {}: a batch's {units} units no longer fit its counters",
                self.window_id
            )));
        };
        insert_ledger(conn, self.window_id, self.now, &entries)?;
        ledger::announce_if_sold_out(conn, self.window_id, units, after, self.now)?;
        let (capacity, held, sold, _) = after;
        (self.capacity, self.held, self.sold) = (capacity, held, sold);
        if self.expired_due {
            changes::window_changed(self.window_id);
        } else {
            changes::counters_moved(self.window_id, capacity, held, sold);
        }
        Ok(())
    }
}

/// The batch's ledger rows, in one multi-row insert.
fn insert_ledger(
    conn: &mut DbConn,
    window_id: i64,
    now: NaiveDateTime,
    entries: &[OwnedEntry],
) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                capacity_ledger::window_id.eq(window_id),
                capacity_ledger::kind.eq(e.kind.to_string()),
                capacity_ledger::capacity_delta.eq(0_i64),
                capacity_ledger::held_delta.eq(0_i64),
                capacity_ledger::sold_delta.eq(e.sold_delta),
                capacity_ledger::order_id.eq(e.order_id),
                capacity_ledger::reference.eq(e.reference.as_deref()),
                capacity_ledger::actor.eq(e.actor.as_deref()),
                capacity_ledger::created_at.eq(now),
            )
        })
        .collect();
    crate::insert_rows!(conn, capacity_ledger::table, rows).map(|_| ())
}

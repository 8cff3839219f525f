//! Windows' availability and anonymous window lists kept in memory, for the reads every buyer
//! repeats during a sale.
//!
//! A window's availability is read from the database once, rendered to JSON once, and served
//! from memory until whichever comes first:
//! - a change this process commits to the window: a placement batch patches the counters it
//!   wrote (the body is rendered again from the kept window); anything else (a hold, a
//!   cancellation, an edit, a waiting list) drops the entry, so the next read loads it again;
//! - the time-to-live (`KHONGDEE_AVAILABILITY_TTL_MS`, 1 s by default): what other processes
//!   change, and holds or unpaid orders lapsing, show within it;
//! - the window opening or closing (its status changes then).
//!
//! `as_of` in the body is when the window was read from the database: nothing it shows is older.
//! Buying never trusts this: every placement checks the counters under the window's lock.
//! Only windows anyone may see are kept (drafts are read from the database for their staff).
//!
//! Pages of the window list asked for without a token are kept the same way, by their query
//! string: any change to a window drops every page (it may join or leave a list), a placement
//! batch drops the pages that show its window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;
use chrono::{Duration, NaiveDateTime};

use super::windows::{self, Loaded, WaitingListSize};
use crate::capacity::changes::Change;

/// At most this many windows are kept; when full, everything is dropped and loaded again.
const MAX_WINDOWS: usize = 4_096;
/// At most this many list pages (any query string makes one), each at most `MAX_PAGE_BYTES`:
/// 256 × 256 KiB = 64 MiB at the very worst, whatever callers send.
const MAX_PAGES: usize = 256;
const MAX_PAGE_BYTES: usize = 256 * 1024;

/// Availability bodies by window.
pub struct WindowCache {
    ttl: Duration,
    inner: Mutex<Inner>,
    /// One reader at a time loads a window that is not kept; the others wait for it and then
    /// read what it kept (so 64 buyers refreshing at the end of a time-to-live cause one load,
    /// not 64).
    gates: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, Arc<Snapshot>>,
    /// Bumped by every change to a window, so that a read that started before the change does
    /// not keep what it read ([`WindowCache::keep`]).
    generations: HashMap<i64, u64>,
    next_generation: u64,
    pages: HashMap<String, ListPage>,
    /// Bumped by every change to any window.
    pages_generation: u64,
}

struct ListPage {
    body: Bytes,
    read_at: NaiveDateTime,
    until: NaiveDateTime,
    windows: Vec<i64>,
}

struct Snapshot {
    loaded: Loaded,
    waiting_list: WaitingListSize,
    read_at: NaiveDateTime,
    until: NaiveDateTime,
    body: Bytes,
}

/// What a reader must hand back to [`WindowCache::keep`]: the window's generation when it began.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

impl WindowCache {
    /// A cache keeping reads for `ttl_ms` milliseconds (0: keeps nothing).
    pub fn new(ttl_ms: u64) -> WindowCache {
        WindowCache {
            ttl: Duration::milliseconds(i64::try_from(ttl_ms).unwrap_or(i64::MAX / 2)),
            inner: Mutex::new(Inner::default()),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// The gate of a window's loads (see `gates`).
    pub fn gate(&self, window_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if gates.len() >= MAX_WINDOWS {
            gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        }
        gates.entry(window_id).or_default().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Until when something read at `now` may be served: the time-to-live, or the next time one
    /// of its windows opens or closes (its status changes then), whichever comes first.
    fn good_until(
        &self,
        now: NaiveDateTime,
        windows: &[(NaiveDateTime, NaiveDateTime)],
    ) -> NaiveDateTime {
        windows
            .iter()
            .flat_map(|&(opens_at, closes_at)| [opens_at, closes_at])
            .filter(|&moment| moment > now)
            .fold(now + self.ttl, NaiveDateTime::min)
    }

    /// The availability body of a window (JSON), if one is kept and still good at `now`.
    pub fn availability(&self, window_id: i64, now: NaiveDateTime) -> Option<Bytes> {
        let inner = self.lock();
        let snapshot = inner.entries.get(&window_id)?;
        (snapshot.read_at <= now && now < snapshot.until).then(|| snapshot.body.clone())
    }

    /// Taken before reading a window from the database.
    pub fn ticket(&self, window_id: i64) -> Ticket {
        Ticket(
            self.lock()
                .generations
                .get(&window_id)
                .copied()
                .unwrap_or(0),
        )
    }

    /// Renders the availability of a window read at `now` and keeps it, unless the window
    /// changed since `ticket` was taken or is not public. Returns the body.
    pub fn keep(
        &self,
        ticket: Ticket,
        loaded: Loaded,
        waiting_list: WaitingListSize,
        now: NaiveDateTime,
    ) -> Bytes {
        let body = render(&loaded, waiting_list, now, now);
        if self.ttl <= Duration::zero() || !windows::visible_to(&loaded.row, &loaded.lao, None) {
            return body;
        }
        let until = self.good_until(now, &[(loaded.row.opens_at, loaded.row.closes_at)]);
        let id = loaded.row.id;
        let snapshot = Snapshot {
            loaded,
            waiting_list,
            read_at: now,
            until,
            body: body.clone(),
        };
        let mut inner = self.lock();
        if inner.generations.get(&id).copied().unwrap_or(0) == ticket.0 {
            if inner.entries.len() >= MAX_WINDOWS {
                inner.entries.clear();
            }
            inner.entries.insert(id, Arc::new(snapshot));
        }
        body
    }

    /// A kept page of the window list (JSON) for this query string, if still good at `now`.
    pub fn page(&self, query: &str, now: NaiveDateTime) -> Option<Bytes> {
        let inner = self.lock();
        let page = inner.pages.get(query)?;
        (page.read_at <= now && now < page.until).then(|| page.body.clone())
    }

    /// Taken before reading a page of the list from the database.
    pub fn page_ticket(&self) -> Ticket {
        Ticket(self.lock().pages_generation)
    }

    /// Keeps a page read at `now` (`windows`: each window's id, opening and closing time),
    /// unless any window changed since `ticket` was taken.
    pub fn keep_page(
        &self,
        ticket: Ticket,
        query: String,
        body: Bytes,
        now: NaiveDateTime,
        windows: &[(i64, NaiveDateTime, NaiveDateTime)],
    ) {
        if self.ttl <= Duration::zero() || body.len() > MAX_PAGE_BYTES {
            return;
        }
        let times: Vec<_> = windows
            .iter()
            .map(|&(_, opens, closes)| (opens, closes))
            .collect();
        let until = self.good_until(now, &times);
        let mut inner = self.lock();
        if inner.pages_generation != ticket.0 {
            return;
        }
        if inner.pages.len() >= MAX_PAGES {
            inner.pages.clear();
        }
        let page = ListPage {
            body,
            read_at: now,
            until,
            windows: windows.iter().map(|w| w.0).collect(),
        };
        inner.pages.insert(query, page);
    }

    /// Applies changes a transaction of this process committed (see [`Change`]).
    pub fn apply(&self, changes: &[Change], now: NaiveDateTime) {
        if changes.is_empty() {
            return;
        }
        let mut inner = self.lock();
        inner.pages_generation += 1;
        for change in changes {
            match *change {
                Change::Window(_) => inner.pages.clear(),
                Change::Counters { window_id, .. } => {
                    inner
                        .pages
                        .retain(|_, page| !page.windows.contains(&window_id));
                }
            }
        }
        for change in changes {
            let id = change.window_id();
            inner.next_generation += 1;
            let generation = inner.next_generation;
            inner.generations.insert(id, generation);
            match *change {
                Change::Window(_) => {
                    inner.entries.remove(&id);
                }
                Change::Counters {
                    capacity,
                    held,
                    sold,
                    ..
                } => {
                    let Some(old) = inner.entries.get(&id) else {
                        continue;
                    };
                    let mut loaded = old.loaded.clone();
                    (loaded.row.capacity, loaded.row.held, loaded.row.sold) =
                        (capacity, held, sold);
                    let body = render(&loaded, old.waiting_list, now.max(old.read_at), old.read_at);
                    let snapshot = Snapshot {
                        loaded,
                        waiting_list: old.waiting_list,
                        read_at: old.read_at,
                        until: old.until,
                        body,
                    };
                    inner.entries.insert(id, Arc::new(snapshot));
                }
            }
        }
    }
}

fn render(
    loaded: &Loaded,
    waiting_list: WaitingListSize,
    now: NaiveDateTime,
    as_of: NaiveDateTime,
) -> Bytes {
    let availability = windows::availability_of(loaded.clone(), waiting_list, now, as_of);
    Bytes::from(serde_json::to_vec(&availability).unwrap_or_default())
}

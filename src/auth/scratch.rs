//! Bounded, reusable scratch memory for work that needs much memory per request: password
//! hashing now (19 MiB per Argon2 hash), image decoding and CSV imports later.
//!
//! A [`ScratchPool`] lets at most `limit` jobs run at once; the others wait in arrival order
//! (first come, first served, so no request waits forever under a steady rush). Each job borrows
//! one value (a buffer) that is made on first demand and handed back afterwards, so a rush
//! allocates at most `limit` buffers, once, instead of one per request. The per-request way let
//! glibc keep every freed buffer in the arena of the thread that used it: 256 logins from 64
//! clients left 1.45 GB resident after the threads were gone (bench/RESULTS.md).
//!
//! Nothing here knows about passwords: `ScratchPool<()>` is a plain first-come-first-served
//! limit for work that allocates its own memory.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Counters of a pool, for tests and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScratchStats {
    /// Most jobs that may run at once.
    pub limit: usize,
    /// Jobs running now.
    pub in_use: usize,
    /// Most jobs ever seen running at once.
    pub peak_in_use: usize,
    /// Values alive now (running jobs' and idle ones).
    pub values: usize,
    /// Most values ever alive at once.
    pub peak_values: usize,
    /// Values made since the pool was created.
    pub made: u64,
    /// Jobs that had to wait for their turn.
    pub waited: u64,
}

struct State<T> {
    idle: Vec<T>,
    /// Tickets are taken on arrival; the job holding `serving` goes next once a slot is free.
    next_ticket: u64,
    serving: u64,
    stats: ScratchStats,
}

/// At most `limit` jobs at once, each with a reusable value made by `make`; see the module docs.
pub struct ScratchPool<T> {
    state: Mutex<State<T>>,
    turn: Condvar,
    make: fn() -> T,
}

impl<T> ScratchPool<T> {
    /// A pool running at most `limit` (at least 1) jobs at once. No value is made before the
    /// first job asks for one.
    pub fn new(limit: usize, make: fn() -> T) -> Self {
        ScratchPool {
            state: Mutex::new(State {
                idle: Vec::new(),
                next_ticket: 0,
                serving: 0,
                stats: ScratchStats {
                    limit: limit.max(1),
                    ..ScratchStats::default()
                },
            }),
            turn: Condvar::new(),
            make,
        }
    }

    // Every change to the state is a few assignments that cannot panic half-way, so a job that
    // panicked while holding the lock left it consistent: carry on.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a free slot (in arrival order) and lends a value for the job; the value comes
    /// back to the pool when the returned [`Scratch`] is dropped. Blocks the calling thread: call
    /// it from blocking work (`web::block`), never on an async worker.
    pub fn acquire(&self) -> Scratch<'_, T> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        if ticket != state.serving || state.stats.in_use >= state.stats.limit {
            state.stats.waited += 1;
            while ticket != state.serving || state.stats.in_use >= state.stats.limit {
                state = self
                    .turn
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        state.serving += 1;
        state.stats.in_use += 1;
        state.stats.peak_in_use = state.stats.peak_in_use.max(state.stats.in_use);
        let idle = state.idle.pop();
        if idle.is_none() {
            state.stats.values += 1;
            state.stats.made += 1;
            state.stats.peak_values = state.stats.peak_values.max(state.stats.values);
        }
        drop(state);
        // The next ticket may fit in a slot that is still free.
        self.turn.notify_all();
        let mut scratch = Scratch {
            pool: self,
            value: idle,
        };
        if scratch.value.is_none() {
            // Made outside the lock (it may take milliseconds); a panic here still gives the
            // slot back through `Scratch::drop`.
            scratch.value = Some((self.make)());
        }
        scratch
    }

    /// Changes the number of jobs that may run at once (at least 1). Values beyond a lowered
    /// limit are dropped as they come back.
    pub fn set_limit(&self, limit: usize) {
        let mut state = self.lock();
        state.stats.limit = limit.max(1);
        while state.stats.values > state.stats.limit && state.idle.pop().is_some() {
            state.stats.values -= 1;
        }
        drop(state);
        self.turn.notify_all();
    }

    pub fn stats(&self) -> ScratchStats {
        self.lock().stats
    }

    fn give_back(&self, value: Option<T>) {
        let mut state = self.lock();
        state.stats.in_use -= 1;
        match value {
            Some(value) if state.stats.values <= state.stats.limit => state.idle.push(value),
            // Dropped after the lock is released, below.
            Some(_) | None => state.stats.values -= 1,
        }
        drop(state);
        self.turn.notify_all();
    }
}

/// One job's slot and value; gives both back when dropped.
pub struct Scratch<'a, T> {
    pool: &'a ScratchPool<T>,
    value: Option<T>,
}

impl<T> Deref for Scratch<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // Always `Some` once `acquire` returned: it is taken only in `drop`.
        self.value.as_ref().expect("a scratch value while borrowed")
    }
}

impl<T> DerefMut for Scratch<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("a scratch value while borrowed")
    }
}

impl<T> Drop for Scratch<'_, T> {
    fn drop(&mut self) {
        self.pool.give_back(self.value.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn never_runs_more_jobs_than_the_limit_and_never_shares_a_value() {
        let pool = Arc::new(ScratchPool::new(3, || vec![0u64; 1024]));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..24u64)
            .map(|job| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    for round in 0..5u64 {
                        let mut buffer = pool.acquire();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        let mark = job * 1000 + round;
                        buffer.iter_mut().for_each(|w| *w = mark);
                        std::thread::sleep(Duration::from_millis(2));
                        // Another job writing into this buffer meanwhile would show here.
                        assert!(buffer.iter().all(|&w| w == mark), "a buffer was shared");
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("job thread");
        }
        let stats = pool.stats();
        assert_eq!(
            most.load(Ordering::SeqCst),
            3,
            "the limit was reached, not passed"
        );
        assert_eq!(stats.peak_in_use, 3);
        assert_eq!(stats.in_use, 0);
        assert!(stats.made <= 3, "made {} buffers for 3 slots", stats.made);
        assert!(stats.peak_values <= 3);
        assert!(stats.waited > 0, "24 threads on 3 slots must have waited");
    }

    #[test]
    fn serves_waiting_jobs_in_arrival_order() {
        let pool = Arc::new(ScratchPool::new(1, || ()));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = pool.acquire();
        let mut threads = Vec::new();
        for job in 0..6u64 {
            let (waiting, order) = (pool.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _slot = waiting.acquire();
                order.lock().expect("order").push(job);
            }));
            // Let this job take its ticket before the next one arrives.
            while pool.stats().waited < job + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().expect("job thread");
        }
        assert_eq!(*order.lock().expect("order"), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_lowered_limit_drops_the_values_beyond_it() {
        let pool = ScratchPool::new(4, || [0u8; 16]);
        {
            let _held: Vec<_> = (0..4).map(|_| pool.acquire()).collect();
        }
        assert_eq!(pool.stats().values, 4);
        pool.set_limit(2);
        assert_eq!(pool.stats().values, 2);
        let a = pool.acquire();
        let b = pool.acquire();
        assert_eq!(pool.stats().made, 4, "idle values are reused");
        drop((a, b));
        assert_eq!(pool.stats().values, 2);
    }

    #[test]
    fn a_panicking_maker_gives_its_slot_back() {
        let pool = Arc::new(ScratchPool::new(1, || -> u8 { panic!("out of memory") }));
        let p = pool.clone();
        assert!(
            std::thread::spawn(move || drop(p.acquire()))
                .join()
                .is_err()
        );
        let stats = pool.stats();
        assert_eq!((stats.in_use, stats.values), (0, 0));
    }
}

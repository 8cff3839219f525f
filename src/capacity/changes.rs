//! Which windows a piece of database work changed, so that what the process keeps in memory about
//! them (availability, window lists) is refreshed as soon as the work has committed.
//!
//! Database work runs synchronously on one blocking thread, so the changes are collected in a
//! thread-local list: [`collect`] runs a closure with an empty list and returns what it noted.
//! Writers call [`window_changed`] (anything in the window's view moved) or [`counters_moved`]
//! (only the counters moved, to these values) inside their transaction; the caller of
//! [`collect`] applies the list only when the work succeeded, that is after its commit.

use std::cell::RefCell;

/// A change to one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Something in the window's view changed: forget what is kept about it.
    Window(i64),
    /// Only the counters moved, to these values (`capacity`, `held`, `sold`).
    Counters {
        window_id: i64,
        capacity: i64,
        held: i64,
        sold: i64,
    },
}

impl Change {
    pub fn window_id(&self) -> i64 {
        match *self {
            Change::Window(id) => id,
            Change::Counters { window_id, .. } => window_id,
        }
    }
}

thread_local! {
    static NOTED: RefCell<Option<Vec<Change>>> = const { RefCell::new(None) };
}

fn note(change: Change) {
    NOTED.with(|noted| {
        if let Some(list) = noted.borrow_mut().as_mut() {
            list.push(change);
        }
    });
}

/// Notes that something in the window's view changed (a no-op outside [`collect`]).
pub fn window_changed(window_id: i64) {
    note(Change::Window(window_id));
}

/// Notes the counters a window now has (a no-op outside [`collect`]).
pub fn counters_moved(window_id: i64, capacity: i64, held: i64, sold: i64) {
    note(Change::Counters {
        window_id,
        capacity,
        held,
        sold,
    });
}

/// Runs `work` and returns its result with the changes it noted, in order. Nested calls keep
/// their own lists and hand them on to the outer one.
pub fn collect<T>(work: impl FnOnce() -> T) -> (T, Vec<Change>) {
    let outer = NOTED.with(|noted| noted.borrow_mut().replace(Vec::new()));
    let value = work();
    let mine = NOTED.with(|noted| {
        let mut noted = noted.borrow_mut();
        let mine = noted.take().unwrap_or_default();
        if let Some(mut outer) = outer {
            outer.extend(mine.iter().copied());
            *noted = Some(outer);
        }
        mine
    });
    (value, mine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_only_inside_and_hands_nested_lists_on() {
        window_changed(1);
        let ((), outer) = collect(|| {
            window_changed(2);
            let ((), inner) = collect(|| counters_moved(3, 10, 1, 2));
            assert_eq!(
                inner,
                vec![Change::Counters {
                    window_id: 3,
                    capacity: 10,
                    held: 1,
                    sold: 2
                }]
            );
        });
        assert_eq!(
            outer.iter().map(Change::window_id).collect::<Vec<_>>(),
            [2, 3]
        );
        let ((), after) = collect(|| ());
        assert!(after.is_empty());
    }
}

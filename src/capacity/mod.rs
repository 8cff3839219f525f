//! Capacity: the bottom room of the market. A window's capacity, its held and sold counters, the
//! lock that serializes everything that moves them, the append-only ledger that explains them,
//! and the gathering of concurrent placements on one window into one transaction.
//!
//! Pre-order windows, holds, waiting lists and orders call down into this room; it calls none of
//! them. It owns the `capacity_ledger` table and, of the `preorder_windows` row, the counters
//! (`capacity`, `held`, `sold`) and the row lock; the rest of the row is the pre-order room's.

pub mod changes;
pub mod claims;
pub mod gather;
pub mod ledger;

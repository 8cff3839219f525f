//! Sale facts: the programme's sales, append-only, with the monthly sums the statistics read.
//!
//! A low room (below orders): orders record a fact per order line when an order is paid and a
//! reversing fact when it is refunded; the statistics room records facts for the sales an LAO
//! enters (made on Facebook, TikTok, LINE…) and reads everything back. Nothing here knows about
//! orders or LAOs beyond the ids a fact carries.
//!
//! **Cursor.** A fact's id is the statistics feed's cursor. It is taken from the one-row table
//! `sale_fact_cursor` by an `UPDATE … RETURNING` inside the writing transaction: the row stays
//! locked until that transaction commits or rolls back, so the next writer waits, and a cursor
//! never becomes visible before every smaller one is committed (an auto-increment id does not
//! give that: two transactions may commit their ids out of order, and a reader polling between
//! the two commits would skip the smaller id for good). Cursors have no gaps except where a
//! transaction rolled back. The price is that fact writers take turns; a fact is written at the
//! end of a payment or refund, so the turn is short.
//!
//! **Sums.** In the same transaction, `sale_monthly` (per Bangkok month × LAO × crop × channel ×
//! source) and `sale_monthly_people` (net sales per producer key and buyer key, for distinct
//! counts) are brought up to date, and so are the kept totals of every month and fiscal year per
//! LAO, district, province and the nation, with their distinct producers and buyers
//! (`sale_area_totals`, `sale_area_people`; see `totals`), which answer the common reports
//! without adding anything up. Being behind the cursor lock, none of these writes races.

mod facts;
mod totals;

pub use facts::*;
pub use totals::period_keys;

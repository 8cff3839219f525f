#!/usr/bin/env bash
# How long the retention pass takes to find its next unit of orders (src/privacy/retention.rs)
# in a big SQLite database, before and after ANALYZE (issue 17).
#
#   bench/privacy_retention.sh                  # 300,000 orders, two thirds already erased
#   BENCH_ORDERS=1000000 bench/privacy_retention.sh
#
# No server, no network; bounded (about 15 s for 300,000 orders, plus a build if needed).
# Needs: sqlite3 and bc (apt-get install sqlite3 bc) and cargo (to build the binary for `migrate`).
#
# It migrates a scratch database with the khongdee binary, fills `orders` and `order_history`
# (one closing step per order, a day apart per 1,000 orders; 10% still open; the oldest two
# thirds already erased), and times the pass's unit query — the one `erase_due` sends, copied
# here — with nothing due and with about 13,000 orders due, printing the query plan of each.
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS="${BENCH_ORDERS:-300000}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/debug/khongdee}"
for tool in sqlite3 bc; do command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install sqlite3 bc)"; exit 1; }; done
[ -x "$BIN" ] || cargo build --bin khongdee
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DB="$WORK/retention.db"
KHONGDEE_DATA_DIR="$WORK/data" KHONGDEE_LOG=warn "$BIN" --database-url "sqlite://$DB" migrate >/dev/null

ERASED=$((ORDERS * 2 / 3))
started=$(date +%s.%N)
sqlite3 "$DB" <<SQL
PRAGMA foreign_keys = OFF;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ORDERS)
INSERT INTO orders (id, code, secret_hash, window_id, producer_id, lao_id, province_code,
  district_code, status, channel, buyer_name, buyer_phone, delivery_method, units_total,
  subtotal_satang, delivery_fee_satang, total_satang, created_at, updated_at)
SELECT i, 'C' || i, 'h', 1 + i % 50, 1, 1, '63', '6306',
  CASE WHEN i % 10 = 0 THEN 'confirmed' WHEN i % 3 = 0 THEN 'cancelled' ELSE 'picked_up' END,
  'embed',
  CASE WHEN i <= $ERASED THEN '[erased]' ELSE 'ผู้ซื้อ ' || i END,
  CASE WHEN i <= $ERASED THEN '[erased]' ELSE '+668' || printf('%08d', i) END,
  'pickup', 1, 100, 0, 100,
  datetime('2025-01-01', '+' || (i / 1000) || ' days'),
  datetime('2025-01-01', '+' || (i / 1000) || ' days', '+1 day')
FROM n;
INSERT INTO order_history (order_id, from_status, to_status, actor, created_at)
SELECT id, 'ready', status, 'user:1', updated_at FROM orders;
SQL
filled=$(date +%s.%N)
echo "filled $ORDERS orders ($ERASED erased) in $(echo "$filled - $started" | bc) s"

# The first day with unerased orders, and a cutoff two weeks later.
FIRST_KEPT=$(sqlite3 "$DB" "SELECT min(updated_at) FROM orders WHERE buyer_phone <> '[erased]'")
DUE_CUT=$(sqlite3 "$DB" "SELECT datetime('$FIRST_KEPT', '+14 days')")
NONE_CUT=$(sqlite3 "$DB" "SELECT datetime('$FIRST_KEPT', '-1 days')")
query() {
  echo "SELECT orders.id FROM orders INNER JOIN order_history ON order_history.order_id = orders.id
    AND order_history.to_status = orders.status WHERE orders.buyer_phone <> '[erased]'
    AND orders.updated_at <= '$1'
    AND orders.status IN ('delivered', 'picked_up', 'cancelled', 'expired', 'refunded')
    AND order_history.created_at <= '$1' ORDER BY orders.updated_at, orders.id LIMIT 100"
}
measure() {
  local label=$1
  for cut in "$NONE_CUT" "$DUE_CUT"; do
    local due
    due=$(sqlite3 "$DB" "SELECT count(*) FROM orders WHERE buyer_phone <> '[erased]'
      AND updated_at <= '$cut' AND status IN ('picked_up', 'cancelled')")
    echo "-- $label, $due orders due (cutoff $cut):"
    sqlite3 "$DB" "EXPLAIN QUERY PLAN $(query "$cut")" | sed 's/^/   /'
    printf '.timer on\nSELECT count(*) AS unit FROM (%s);\n' "$(query "$cut")" | sqlite3 "$DB" | sed 's/^/   /'
  done
}
measure "before ANALYZE"
sqlite3 "$DB" "ANALYZE"
measure "after ANALYZE"

#!/usr/bin/env bash
# kill -9 in the middle of an order storm, then restart (issue 17).
#
#   bench/faults/kill_storm.sh             # SQLite (a fresh file)
#   bench/faults/kill_storm.sh postgres    # a fresh database on FAULT_POSTGRES_URL's server
#   FAULT_STORM_SECONDS=12 FAULT_THREADS=16 bench/faults/kill_storm.sh sqlite
#
# Needs: python3, curl, sqlite3 (or psql), faketime (Debian's `faketime`), the release binary
# (built if missing). Loopback only; about a minute.
#
# 1. A release `khongdee serve` on a fresh database; a window of 2,000 one-unit items whose unpaid
#    orders are due in an hour and whose holds last a minute.
# 2. An order storm (bench/faults/storm.py: orders, one-minute holds, orders from holds), every
#    answer recorded. `kill -9` of the server a few seconds in; the storm goes on against the
#    dead port; the server is started again at once and the storm runs to its end.
# 3. Checks: every order and hold that got a 201 exists with its code; no more units sold than
#    the capacity; `khongdee reconcile` finds nothing.
# 4. The server is started again under faketime two hours later, when every hold and every unpaid
#    order is past its deadline: the requests that got no answer are sent again with their
#    Idempotency-Key (each must get a final answer, never 409 in flight or 5xx); after the expiry
#    pass no hold or unpaid order is left past its deadline, the window's held and sold counters
#    are back to what is still claimed, and `khongdee reconcile` again finds nothing.
# Exits 1 when any promise is broken.
source "$(dirname "$0")/lib.sh"
BACKEND="${1:-${FAULT_BACKEND:-sqlite}}"
STORM_SECONDS="${FAULT_STORM_SECONDS:-10}"
KILL_AFTER="${FAULT_KILL_AFTER:-4}"
THREADS="${FAULT_THREADS:-12}"
CAPACITY="${FAULT_CAPACITY:-2000}"
need python3 curl faketime
ensure_binary
case "$BACKEND" in
  sqlite) need sqlite3; URL="sqlite://$WORK/storm.db" ;;
  postgres) need psql; URL=$(pg_create "khongdee_fault_storm_$$") ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
echo "== kill -9 in an order storm, $BACKEND"

start_server serve "$URL"
read -r WINDOW VARIANT PICKUP < <(open_window "$CAPACITY")
echo "window $WINDOW: capacity $CAPACITY units, holds of one minute, unpaid orders due in an hour"

python3 bench/faults/storm.py "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" "$STORM_SECONDS" "$THREADS" "$WORK/answers.jsonl" &
storm=$!
sleep "$KILL_AFTER"
before=$(grep -c '"status": 201' "$WORK/answers.jsonl" || true)
kill_server serve KILL
killed_at=$(date +%s.%N)
echo "kill -9 after ${KILL_AFTER}s, with $before 201s answered"
start_server serve "$URL"
echo "restarted in $(elapsed_since "$killed_at") s"
wait "$storm"

# ---- what the clients saw ---------------------------------------------------------------------
python3 - "$WORK/answers.jsonl" >"$WORK/summary" <<'PY'
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.Counter((r["kind"], r["status"]) for r in rows)
print("answers:", ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(by.items(), key=str)))
problems = collections.Counter(r.get("problem") for r in rows if r["status"] and r["status"] >= 400)
print("refusals:", dict(problems))
PY
cat "$WORK/summary"
python3 - "$WORK/answers.jsonl" "$WORK" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
open(sys.argv[2] + "/orders.201", "w").write("".join(r["code"] + "\n" for r in rows if r["kind"] == "order" and r["status"] == 201))
open(sys.argv[2] + "/holds.201", "w").write("".join(r["id"] + "\n" for r in rows if r["kind"] == "hold" and r["status"] == 201))
open(sys.argv[2] + "/unanswered", "w").write("".join(json.dumps(r) + "\n" for r in rows if r["status"] is None and r["kind"] == "order"))
# A 503 (database busy, with Retry-After) is an allowed answer under a storm; any other 5xx is not.
five = [r for r in rows if r["status"] and r["status"] >= 500 and r["status"] != 503]
open(sys.argv[2] + "/5xx", "w").write("".join(json.dumps(r) + "\n" for r in five))
PY
if [[ -s "$WORK/5xx" ]]; then
  fail "$(wc -l <"$WORK/5xx") answers of the storm were 5xx other than 503, e.g. $(head -n1 "$WORK/5xx")"
fi

# ---- every 201 exists ---------------------------------------------------------------------------
sql "$URL" "SELECT code FROM orders WHERE window_id = $WINDOW" | sort >"$WORK/orders.db"
sql "$URL" "SELECT public_id FROM holds WHERE window_id = $WINDOW" | sort >"$WORK/holds.db"
lost_orders=$(sort "$WORK/orders.201" | comm -23 - "$WORK/orders.db" | wc -l)
lost_holds=$(sort "$WORK/holds.201" | comm -23 - "$WORK/holds.db" | wc -l)
echo "orders answered 201: $(wc -l <"$WORK/orders.201"), in the database: $(wc -l <"$WORK/orders.db"), 201s missing: $lost_orders"
echo "holds answered 201: $(wc -l <"$WORK/holds.201"), in the database: $(wc -l <"$WORK/holds.db"), 201s missing: $lost_holds"
((lost_orders == 0)) || fail "$lost_orders orders that got a 201 are gone"
((lost_holds == 0)) || fail "$lost_holds holds that got a 201 are gone"
sold=$(sql "$URL" "SELECT sold FROM preorder_windows WHERE id = $WINDOW")
held=$(sql "$URL" "SELECT held FROM preorder_windows WHERE id = $WINDOW")
units=$(sql "$URL" "SELECT COALESCE(SUM(units_total), 0) FROM orders WHERE window_id = $WINDOW AND status <> 'expired' AND status <> 'cancelled'")
echo "window counters: sold $sold, held $held (capacity $CAPACITY); units in live orders: $units; oversell: $((sold + held > CAPACITY ? sold + held - CAPACITY : 0))"
((sold + held <= CAPACITY)) || fail "oversold: $sold sold + $held held > $CAPACITY"
reconcile() {
  if KHONGDEE_DATABASE_URL="$URL" KHONGDEE_DATA_DIR="$WORK/data" KHONGDEE_LOG=error \
    "$@" "$BIN" reconcile --window "$WINDOW" >"$WORK/reconcile.out" 2>&1; then
    echo "khongdee reconcile: clean"
  else
    fail "khongdee reconcile found a mismatch"; cat "$WORK/reconcile.out"
  fi
}
reconcile env

# ---- two hours later: deadlines passed ---------------------------------------------------------
kill_server serve TERM
FAKE="+2h"
fake_now=$(date -u -d '+2 hours' '+%Y-%m-%d %H:%M:%S')
start_server later "$URL" FAKETIME="$FAKE" FAKETIME_DONT_FAKE_MONOTONIC=1 \
  LD_PRELOAD="$(dpkg -L libfaketime 2>/dev/null | grep -m1 'libfaketime.so.1$' || echo /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1)"
echo "started again under faketime $FAKE (server clock: $(curl -fsI "$BASE/healthz" | sed -n 's/^[Dd]ate: //p' | tr -d '\r'))"
python3 - "$BASE" "$WORK/unanswered" >"$WORK/retries" <<'PY'
import json, sys, http.client, collections
base = sys.argv[1].split("//")[1]
host, port = base.split(":")
seen = collections.Counter()
for line in open(sys.argv[2]):
    r = json.loads(line)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/v1/orders", json.dumps(r["body"]),
                 {"content-type": "application/json", "idempotency-key": r["key"]})
    res = conn.getresponse()
    body = json.loads(res.read() or b"null")
    code = body.get("code") if isinstance(body, dict) else None
    seen[f"{res.status} {code if res.status >= 400 else ''}".strip()] += 1
    conn.close()
print(" ".join(f"{k}: {n}" for k, n in sorted(seen.items())) or "none")
PY
echo "requests that got no answer, sent again with their keys: $(cat "$WORK/retries")"
grep -Eq '(^| )(5[0-9][0-9]|409 idempotency_in_flight)' "$WORK/retries" && fail "a retried key got no final answer"
sleep 3 # one expiry pass (KHONGDEE_TASK_INTERVAL=1) and then some
dangling_holds=$(sql "$URL" "SELECT COUNT(*) FROM holds WHERE window_id = $WINDOW AND status = 'active' AND expires_at <= '$fake_now'")
dangling_orders=$(sql "$URL" "SELECT COUNT(*) FROM orders WHERE window_id = $WINDOW AND status = 'pending_payment' AND payment_due_at <= '$fake_now'")
expired=$(sql "$URL" "SELECT COUNT(*) FROM orders WHERE window_id = $WINDOW AND status = 'expired'")
sold=$(sql "$URL" "SELECT sold FROM preorder_windows WHERE id = $WINDOW")
held=$(sql "$URL" "SELECT held FROM preorder_windows WHERE id = $WINDOW")
still=$(sql "$URL" "SELECT COALESCE(SUM(units_total), 0) FROM orders WHERE window_id = $WINDOW AND status = 'pending_payment'")
echo "after the deadlines: $expired orders expired; dangling past their deadline: $dangling_holds holds, $dangling_orders unpaid orders; window sold $sold held $held (unpaid orders still in time: $still units)"
((dangling_holds == 0)) || fail "$dangling_holds holds are active past their deadline"
((dangling_orders == 0)) || fail "$dangling_orders unpaid orders are pending past their deadline"
((held == 0)) || fail "the window still counts $held held units"
((sold == still)) || fail "the window counts $sold sold units, but only $still are in unpaid orders still in time"
reconcile env FAKETIME="$FAKE" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$(dpkg -L libfaketime 2>/dev/null | grep -m1 'libfaketime.so.1$' || true)"
kill_server later TERM

if ((FAILED)); then
  echo "RESULT $BACKEND: FAIL (logs: rerun with KEEP_WORK=1)"
  exit 1
fi
echo "RESULT $BACKEND: PASS: orders lost 0, holds lost 0, oversell 0, reconcile clean, nothing dangling after its deadline"

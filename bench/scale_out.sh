#!/usr/bin/env bash
# Two `khongdee serve` processes on one PostgreSQL behind HAProxy, and an order storm through it
# (issue 17, "Scale-out, shown").
#
#   bench/scale_out.sh                         # 64 connections for 20 s, capacity 3000
#   BENCH_SECONDS=30 BENCH_CONNS=128 BENCH_CAPACITY=3000 bench/scale_out.sh
#
# Loopback only; bounded (about 2 minutes: the storm, then at most 150 s waiting for holds to
# lapse and webhooks to go out; plus a release build if BIN is missing).
# Needs: haproxy and wrk (apt-get install haproxy wrk), psql, python3, curl, and PostgreSQL at
# BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), where it creates a
# fresh database and drops it afterwards. BIN chooses the binary (default
# $CARGO_TARGET_DIR/release/khongdee, or target/release/khongdee).
#
# What it does:
#   1. starts two `khongdee serve` processes on one new database, background tasks on (every
#      second) in both, the same secrets, rate limits out of the way (but the token endpoint's,
#      60 a minute), and HAProxy in front with
#      deploy/haproxy.cfg (addresses from the environment), connecting from 127.0.0.2, the
#      processes' one trusted proxy (clients come from 127.0.0.1);
#   2. through the balancer, as the demo LAO's staff: a webhook endpoint on a loopback receiver
#      that writes down every `webhook-id` it gets; a window of BENCH_CAPACITY one-unit items (the
#      storm asks for more); a second window with BENCH_HOLDS one-minute holds, made over
#      about 10 s so that they lapse at different moments;
#   3. the storm: wrk POSTs orders (one unit, a new Idempotency-Key and buyer phone each) through
#      the balancer for BENCH_SECONDS; the window sells out;
#   4. waits for the holds to lapse and for every webhook to be delivered, then prints: orders/s
#      through the balancer, 201s per process (each one's /metrics), units sold against capacity
#      (oversell), `window.sold_out` events, `khongdee reconcile`'s verdict, and the evidence that
#      background work was done once: each hold expired by exactly one ledger row although both
#      processes' tasks ran, each webhook delivered once (attempts, and ids seen by the receiver)
#      although both processes' dispatchers claimed deliveries; and which rate-limit bucket a
#      request with a forged X-Forwarded-For is counted in, through the balancer and directly,
#      against one the trusted proxy's address forwards.
# It exits with status 1 when any check fails (oversell, 201s that are not orders, a duplicate).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_STORM="${BENCH_SECONDS:-20}"
CONNS="${BENCH_CONNS:-64}"
CAPACITY="${BENCH_CAPACITY:-3000}"
HOLDS="${BENCH_HOLDS:-40}"
PG_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BASE_PORT="${BENCH_PORT:-18400}"
LB_PORT=$BASE_PORT API1_PORT=$((BASE_PORT + 1)) API2_PORT=$((BASE_PORT + 2))
STATS_PORT=$((BASE_PORT + 3)) HOOK_PORT=$((BASE_PORT + 4))
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
for tool in haproxy wrk psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is needed (see the header of $0)" >&2; exit 1; }
done
if [ ! -x "$BIN" ]; then
  cargo build --release --locked
fi

work=$(mktemp -d)
database="khongdee_scale_$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
DB_URL=$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$PG_URL" "$database")
sql() { psql -qAt "$DB_URL" -c "$1"; }
psql -q "$PG_URL" -c "CREATE DATABASE $database" >/dev/null

# ---- 1. two processes and the balancer -----------------------------------------------------
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
export KHONGDEE_JWT_SECRET KHONGDEE_CITIZEN_ID_PEPPER
KHONGDEE_JWT_SECRET=$(secret) KHONGDEE_CITIZEN_ID_PEPPER=$(secret)
start_api() { # name port seed
  KHONGDEE_DATABASE_URL="$DB_URL" KHONGDEE_BIND="127.0.0.1:$2" KHONGDEE_DATA_DIR="$work/$1" \
    KHONGDEE_SEED_DEMO="$3" KHONGDEE_LOG_FORMAT=json \
    KHONGDEE_LOG="warn,khongdee::tasks=info,khongdee::webhooks=info" \
    KHONGDEE_TRUSTED_PROXIES=127.0.0.2 \
    KHONGDEE_BACKGROUND_TASKS=true KHONGDEE_TASK_INTERVAL=1 KHONGDEE_WEBHOOK_POLL_MS=200 \
    KHONGDEE_WEBHOOKS_ALLOW_LOOPBACK=true KHONGDEE_DB_POOL_SIZE=16 \
    KHONGDEE_RATE_LIMIT_ANONYMOUS=100000000 KHONGDEE_RATE_LIMIT_AUTHENTICATED=100000000 \
    KHONGDEE_RATE_LIMIT_TOKEN=60 KHONGDEE_RATE_LIMIT_EMBED=100000000 \
    "$BIN" serve >"$work/$1.log" 2>&1 &
  pids+=($!)
  eval "${1}_pid=$!"
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$2/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "FAIL: $1 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}
# The first seeds the demo data (and migrates); the second starts on the same database.
start_api api1 "$API1_PORT" always
start_api api2 "$API2_PORT" never

# deploy/haproxy.cfg as it is, but connecting to the processes from 127.0.0.2: the processes
# trust only that address, and clients (wrk, curl) come from 127.0.0.1, so the balancer and a
# client are told apart on one machine as they are on two.
sed 's/^\(    default-server .*\)$/\1 source 127.0.0.2/' deploy/haproxy.cfg >"$work/haproxy.cfg"
grep -q 'source 127.0.0.2' "$work/haproxy.cfg" || { echo "FAIL: no default-server line in deploy/haproxy.cfg" >&2; exit 1; }
KHONGDEE_LB_BIND="127.0.0.1:$LB_PORT" KHONGDEE_LB_STATS="127.0.0.1:$STATS_PORT" \
  KHONGDEE_API_1="127.0.0.1:$API1_PORT" KHONGDEE_API_2="127.0.0.1:$API2_PORT" \
  haproxy -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
backends_up() { curl -fs "http://127.0.0.1:$STATS_PORT/;csv" | awk -F, '$1 == "khongdee" && $2 ~ /^api/ && $18 == "UP"' | wc -l; }
for _ in $(seq 1 100); do [ "$(backends_up 2>/dev/null || echo 0)" = 2 ] && break; sleep 0.2; done
[ "$(backends_up)" = 2 ] || { echo "FAIL: HAProxy does not see both processes up" >&2; cat "$work/haproxy.log" >&2; exit 1; }
echo "two processes (pids $api1_pid, $api2_pid) on $database, HAProxy on 127.0.0.1:$LB_PORT: both backends UP by /readyz"

# ---- 2. the receiver, the webhook endpoint, the windows, the holds ---------------------------
python3 - "$HOOK_PORT" "$work/hooks.txt" <<'EOF' &
import http.server, sys, threading
port, path = int(sys.argv[1]), sys.argv[2]
lock, out = threading.Lock(), open(path, "a", buffering=1)
class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            out.write(self.headers.get("webhook-id", "-") + "\n")
        self.send_response(204); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook).serve_forever()
EOF
pids+=($!)

read -r WINDOW VARIANT PICKUP HOLD_WINDOW HOLD_COUNT < <(python3 - "http://127.0.0.1:$LB_PORT" "$CAPACITY" "$HOLDS" "http://127.0.0.1:$HOOK_PORT/hook" <<'EOF'
import json, sys, urllib.request, urllib.parse, datetime
base, capacity, holds, hook = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def call(method, path, body=None, token=None, form=False):
    data = urllib.parse.urlencode(body).encode() if form else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))
token = call("POST", "/v1/auth/token", {"grant_type": "password", "username": "demo-maesot-staff", "password": "khongdee-demo-2569"}, form=True)["access_token"]
call("POST", "/v1/webhook-endpoints", {"url": hook}, token)
product = call("GET", "/v1/products?lao_code=3630690")["items"][0]["id"]
now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7)))
at = lambda h: (now + datetime.timedelta(hours=h)).isoformat(timespec="seconds")
day = lambda d: (now + datetime.timedelta(days=d)).date().isoformat()
def window(title, capacity):
    return call("POST", f"/v1/products/{product}/windows", {
        "title": title, "opens_at": at(-1), "closes_at": at(24), "harvest_start": day(30), "harvest_end": day(40),
        "capacity": capacity, "variants": [{"name": "1 กก.", "units_per_item": 1, "price_satang": 9000}],
        "pickup_points": [{"name": "ที่ทำการเทศบาล", "address": "แม่สอด", "starts_at": at(24 * 45), "ends_at": at(24 * 45 + 8)}],
        "publish": True}, token)
storm = window("ทุเรียนหมอนทอง สองเครื่อง", capacity)
held = window("มังคุด จองไว้หนึ่งนาที", holds)
import time
for _ in range(holds):
    time.sleep(10.0 / holds)
    call("POST", f"/v1/windows/{held['id']}/holds", {"lines": [{"variant_id": held["variants"][0]["id"], "quantity": 1}], "minutes": 1})
print(storm["id"], storm["variants"][0]["id"], storm["pickup_points"][0]["id"], held["id"], holds)
EOF
)
HOLDS_MADE=$(date +%s)
echo "window $WINDOW: capacity $CAPACITY; window $HOLD_WINDOW: $HOLD_COUNT one-minute holds; webhooks to 127.0.0.1:$HOOK_PORT"

# Which dispatchers hold leases, sampled while they work (a lease is cleared when it ends).
( end=$((SECONDS + SECONDS_STORM + 150))
  while [ $SECONDS -lt $end ]; do
    sql "SELECT DISTINCT split_part(leased_by, '-', 1) FROM webhook_deliveries WHERE leased_by IS NOT NULL" 2>/dev/null || true
    sleep 0.1
  done >"$work/leases.txt" ) &
pids+=($!)

# ---- 3. the storm ----------------------------------------------------------------------------
# Other work on the machine shows in every figure: say how busy it was.
echo "load average before the storm: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
STORM_WINDOW=$WINDOW STORM_VARIANT=$VARIANT STORM_PICKUP=$PICKUP STORM_KEY_PREFIX=scale \
  wrk -t 2 -c "$CONNS" -d "${SECONDS_STORM}s" --latency -s bench/order_storm.lua "http://127.0.0.1:$LB_PORT/v1/orders" >"$work/wrk.txt"
echo "load average after the storm: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 4. what happened ------------------------------------------------------------------------
created_201() { # port
  curl -fs "http://127.0.0.1:$1/metrics" | python3 -c '
import re, sys
total = 0
for line in sys.stdin:
    if line.startswith("khongdee_http_requests_total{") and "method=\"POST\"" in line and "route=\"/v1/orders\"" in line and "status=\"201\"" in line:
        total += int(float(line.rsplit(" ", 1)[1]))
print(total)'
}
API1_201=$(created_201 "$API1_PORT")
API2_201=$(created_201 "$API2_PORT")
# Which bucket a request is counted in, by its RateLimit-Remaining on the token endpoint (60 a
# minute per address, one back each second): 127.0.0.1 spends 10 at each process, then asks
# with a forged X-Forwarded-For; a bucket of its own would have 59 left.
remaining() { curl -s -o /dev/null -D - -X POST "$@" | tr -d '\r' | awk -F': ' 'tolower($1) == "ratelimit-remaining" {print $2}'; }
for _ in $(seq 1 20); do remaining "http://127.0.0.1:$LB_PORT/v1/auth/token" >/dev/null; done
FORGED_VIA_LB=$(remaining -H 'X-Forwarded-For: 203.0.113.9' "http://127.0.0.1:$LB_PORT/v1/auth/token")
FORGED_DIRECT=$(remaining -H 'X-Forwarded-For: 203.0.113.9' "http://127.0.0.1:$API1_PORT/v1/auth/token")
FROM_PROXY=$(remaining --interface 127.0.0.2 -H 'X-Forwarded-For: 203.0.113.10' "http://127.0.0.1:$API1_PORT/v1/auth/token")
LB_SPLIT=$(curl -fs "http://127.0.0.1:$STATS_PORT/;csv" | awk -F, '$1 == "khongdee" && $2 ~ /^api/ {printf "%s %s ", $2, $8}')

# Holds lapse a minute after they were made; both processes' tasks look every second.
deadline=$((HOLDS_MADE + 150))
while [ "$(sql "SELECT count(*) FROM holds WHERE window_id = $HOLD_WINDOW AND status = 'active'")" != 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
# Every event published and delivered (or the deadline).
while [ "$(sql "SELECT (SELECT count(*) FROM outbox_events WHERE published_at IS NULL) + (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')")" != 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
sleep 1

RECONCILE=$(KHONGDEE_DATABASE_URL="$DB_URL" KHONGDEE_DATA_DIR="$work/api1" KHONGDEE_LOG=error "$BIN" reconcile >/dev/null 2>&1 && echo clean || echo MISMATCH)
python3 - "$work" "$SECONDS_STORM" "$CONNS" "$CAPACITY" "$API1_201" "$API2_201" "$RECONCILE" "$LB_SPLIT" "$FORGED_VIA_LB $FORGED_DIRECT $FROM_PROXY" "$api1_pid" "$api2_pid" "$HOLD_COUNT" \
  "$(sql "SELECT count(*), COALESCE(sum(units_total), 0), COALESCE(EXTRACT(EPOCH FROM max(created_at) - min(created_at)), 0) FROM orders WHERE window_id = $WINDOW" | tr '|' ' ')" \
  "$(sql "SELECT capacity, held, sold FROM preorder_windows WHERE id = $WINDOW" | tr '|' ' ')" \
  "$(sql "SELECT count(*) FROM outbox_events WHERE event_type = 'window.sold_out' AND aggregate_id = '$WINDOW'")" \
  "$(sql "SELECT count(*), count(DISTINCT hold_id) FROM capacity_ledger WHERE window_id = $HOLD_WINDOW AND kind = 'hold_expiry'" | tr '|' ' ')" \
  "$(sql "SELECT count(*) FILTER (WHERE status = 'expired'), (SELECT held FROM preorder_windows WHERE id = $HOLD_WINDOW) FROM holds WHERE window_id = $HOLD_WINDOW" | tr '|' ' ')" \
  "$(sql "SELECT count(*), count(*) FILTER (WHERE state = 'delivered'), COALESCE(sum(attempts), 0), (SELECT count(*) FROM webhook_attempts), (SELECT count(*) FROM outbox_events), (SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL) FROM webhook_deliveries" | tr '|' ' ')" <<'EOF'
import collections, json, re, sys
(work, seconds, conns, capacity, api1, api2, reconcile, lb_split, buckets, pid1, pid2, holds,
 orders, window, sold_out, expiries, hold_state, deliveries) = sys.argv[1:]
wrk = open(f"{work}/wrk.txt").read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
total = int(re.search(r"(\d+) requests in", wrk).group(1))
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", wrk) or [0, 0])[1])
def ms(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, wrk, re.M)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
orders_n, units, span = orders.split(); orders_n, units, span = int(orders_n), int(units), float(span)
cap, held, sold = map(int, window.split())
api1, api2 = int(api1), int(api2)
exp_rows, exp_holds = map(int, expiries.split())
expired, held_left = map(int, hold_state.split())
d_total, d_delivered, d_attempts, attempt_rows, events, published = map(int, deliveries.split())
hooks = [l.strip() for l in open(f"{work}/hooks.txt") if l.strip()]
dupes = len(hooks) - len(set(hooks))
leasers = {l.strip() for l in open(f"{work}/leases.txt") if l.strip()}
names = {pid1: "process 1", pid2: "process 2"}
def passes(name):
    n = 0
    for line in open(f"{work}/{name}.log"):
        if "expired due holds and orders" in line: n += 1
    return n
checks = []
def row(label, value, ok=None):
    mark = "" if ok is None else ("  ok" if ok else "  FAIL")
    if ok is False: checks.append(label)
    print(f"{label:58} {value}{mark}")
print()
row("storm through HAProxy", f"{seconds} s, {conns} connections, {total} requests, {rps:.0f} req/s, p50 {ms(50):.1f} ms, p99 {ms(99):.1f} ms")
row("orders created (201)", f"{api1 + api2} ({(api1 + api2) / float(seconds):.0f}/s over the storm; {orders_n / span if span else 0:.0f}/s from first to last order, {span:.1f} s)")
row("  201s from process 1 (its /metrics)", api1, api1 > 0)
row("  201s from process 2 (its /metrics)", api2, api2 > 0)
row("  requests HAProxy sent to each (its statistics)", lb_split.strip())
row("  201s = orders in the database", f"{api1 + api2} = {orders_n}", api1 + api2 == orders_n)
row("refused (409 sold out and others, non-2xx)", non2xx)
row("units sold / capacity", f"{units} / {cap} (window counter: sold {sold}, held {held})", units == sold and units <= cap)
row("oversell (units beyond capacity)", max(0, units - cap), units <= cap)
row("sold out", "yes" if units == cap else "NO: raise BENCH_SECONDS or lower BENCH_CAPACITY", units == cap)
row("window.sold_out events for the window", sold_out, int(sold_out) == (1 if units == cap else 0))
row("khongdee reconcile", reconcile, reconcile == "clean")
print()
row("holds made (one minute each)", holds)
row("  expired by the background tasks", f"{expired} (window held now {held_left})", expired == int(holds) and held_left == 0)
row("  hold_expiry ledger rows / distinct holds", f"{exp_rows} / {exp_holds}", exp_rows == exp_holds == int(holds))
row("  passes that expired something: process 1 / 2", f"{passes('api1')} / {passes('api2')}", passes("api1") + passes("api2") > 0)
print()
row("outbox events / published", f"{events} / {published}", events == published)
row("webhook deliveries to the endpoint (events it hears)", d_total)
row("  delivered", d_delivered, d_delivered == d_total)
row("  attempts (deliveries' count / attempt rows)", f"{d_attempts} / {attempt_rows}", d_attempts == attempt_rows == d_total)
row("  received by the endpoint / distinct webhook-ids", f"{len(hooks)} / {len(set(hooks))}", dupes == 0 and len(hooks) == d_total)
row("  dispatchers seen holding leases", ", ".join(sorted(names.get(p, p) for p in leasers)) or "none sampled", len(leasers) == 2)
print()
fresh = 60 - 1
forged_lb, forged_direct, from_proxy = (int(b) if b.isdigit() else -1 for b in buckets.split())
row("token requests left, forged XFF 203.0.113.9 via HAProxy", f"{forged_lb} (counted as 127.0.0.1, the real client)", 0 <= forged_lb < fresh - 3)
row("  the same straight to a process (untrusted peer)", f"{forged_direct} (counted as 127.0.0.1)", 0 <= forged_direct < fresh - 3)
row("  XFF 203.0.113.10 from 127.0.0.2 (the trusted proxy)", f"{from_proxy} (a fresh bucket: {fresh})", from_proxy == fresh)
print()
if checks:
    print("FAILED: " + "; ".join(checks))
    sys.exit(1)
print("all checks passed")
EOF

#!/usr/bin/env bash
# The webhook dispatcher killed mid-delivery (issue 17).
#
#   bench/faults/webhook_kill.sh             # SQLite (a fresh file)
#   bench/faults/webhook_kill.sh postgres    # a fresh database on FAULT_POSTGRES_URL's server
#   FAULT_ORDERS=500 bench/faults/webhook_kill.sh
#
# Needs: python3, curl, sqlite3 (or psql), the release binary (built if missing). Loopback only;
# about 90 seconds (most of it waiting for the 60-second lease of the deliveries that were in
# flight when the process died).
#
# A release `khongdee serve` (webhooks allowed to reach loopback, the dispatcher looking every
# 100 ms) on a fresh database; LAO staff register an endpoint for `order.placed` on a slow
# loopback receiver (bench/faults/receiver.py: 0.5 s an answer, records each `webhook-id`);
# FAULT_ORDERS orders are placed. While the deliveries are going out, the server is killed with
# `kill -9`, then started again. Once every delivery of the endpoint is `delivered` (or after
# FAULT_WAIT_SECONDS): every event the endpoint should hear reached the receiver at least once
# (by `webhook-id`), none is lost, and the duplicates are counted. Exits 1 when one is lost.
source "$(dirname "$0")/lib.sh"
BACKEND="${1:-${FAULT_BACKEND:-sqlite}}"
ORDERS="${FAULT_ORDERS:-300}"
WAIT_SECONDS="${FAULT_WAIT_SECONDS:-150}"
HOOK_PORT="${FAULT_HOOK_PORT:-18401}"
need python3 curl
ensure_binary
case "$BACKEND" in
  sqlite) need sqlite3; URL="sqlite://$WORK/hooks.db" ;;
  postgres) need psql; URL=$(pg_create "khongdee_fault_hooks_$$") ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
echo "== the webhook dispatcher killed mid-delivery, $BACKEND"
python3 bench/faults/receiver.py "$HOOK_PORT" 0.5 "$WORK/received" &
receiver=$!
CLEANUPS+=("kill $receiver")
HOOKS=(KHONGDEE_WEBHOOKS_ALLOW_LOOPBACK=true KHONGDEE_WEBHOOK_POLL_MS=100 KHONGDEE_WEBHOOK_TIMEOUT=5)
start_server serve "$URL" "${HOOKS[@]}"
read -r WINDOW VARIANT PICKUP < <(open_window 1000000)

ENDPOINT=$(python3 - "$BASE" "$HOOK_PORT" <<'PY'
import json, sys, urllib.request, urllib.parse
base, port = sys.argv[1], sys.argv[2]
def call(path, body, token=None, form=False):
    data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST")
    req.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if token: req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))
token = call("/v1/auth/token", {"grant_type": "password", "username": "demo-maesot-staff", "password": "khongdee-demo-2569"}, form=True)["access_token"]
print(call("/v1/webhook-endpoints", {"url": f"http://127.0.0.1:{port}/hook", "event_types": ["order.placed"]}, token)["id"])
PY
)
echo "endpoint $ENDPOINT: http://127.0.0.1:$HOOK_PORT/hook, order.placed; receiver answers in 0.5 s"

python3 - "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" "$ORDERS" <<'PY'
import json, sys, http.client, time
base, window, variant, pickup, n = sys.argv[1].split("//")[1], *map(int, sys.argv[2:6])
host, port = base.split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=30)
placed = 0
for i in range(n):
    body = {"window_id": window, "lines": [{"variant_id": variant, "quantity": 1}],
            "buyer": {"name": "ผู้ซื้อทดสอบ", "phone": "08%08d" % (i + 1)},
            "delivery": {"method": "pickup", "pickup_point_id": pickup}}
    conn.request("POST", "/v1/orders", json.dumps(body), {"content-type": "application/json", "idempotency-key": f"hook-{time.time()}-{i}"})
    res = conn.getresponse(); res.read()
    placed += res.status == 201
print(f"{placed} of {n} orders placed")
PY

# Kill while deliveries are going out: once a third of the orders have reached the receiver.
for _ in $(seq 1 300); do
  (($(wc -l <"$WORK/received" 2>/dev/null || echo 0) >= ORDERS / 3)) && break
  sleep 0.1
done
before=$(wc -l <"$WORK/received")
kill_server serve KILL
killed_at=$(date +%s.%N)
echo "kill -9 with $before deliveries received"
sleep 1
start_server serve "$URL" "${HOOKS[@]}"
echo "restarted"

pending() { sql "$URL" "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $ENDPOINT AND state <> 'delivered'"; }
unpublished() { sql "$URL" "SELECT COUNT(*) FROM outbox_events WHERE published_at IS NULL"; }
for _ in $(seq 1 "$WAIT_SECONDS"); do
  [[ $(pending) == 0 && $(unpublished) == 0 ]] && break
  sleep 1
done
done_after=$(elapsed_since "$killed_at")
sql "$URL" "SELECT 'evt_' || event_id FROM webhook_deliveries WHERE endpoint_id = $ENDPOINT" | sort -u >"$WORK/expected"
events=$(sql "$URL" "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'order.placed'")
sort "$WORK/received" | uniq -c | awk '{print $2, $1}' >"$WORK/received.counts"
cut -d' ' -f1 "$WORK/received.counts" | sort >"$WORK/received.ids"
lost=$(comm -23 "$WORK/expected" "$WORK/received.ids" | wc -l)
duplicated=$(awk '$2 > 1' "$WORK/received.counts" | wc -l)
extra=$(awk '$2 > 1 {s += $2 - 1} END {print s + 0}' "$WORK/received.counts")
echo "order.placed events: $events; deliveries of the endpoint: $(wc -l <"$WORK/expected"), still not delivered: $(pending), outbox events unpublished: $(unpublished)"
echo "received: $(wc -l <"$WORK/received") requests, $(wc -l <"$WORK/received.ids") distinct webhook-ids; lost: $lost; duplicated: $duplicated events ($extra extra deliveries); all done ${done_after} s after the kill"
(($(wc -l <"$WORK/expected") == events)) || fail "the endpoint has $(wc -l <"$WORK/expected") deliveries for $events order.placed events"
((lost == 0)) || fail "$lost events never reached the receiver, e.g. $(comm -23 "$WORK/expected" "$WORK/received.ids" | head -n3 | tr '\n' ' ')"
[[ $(pending) == 0 ]] || fail "$(pending) deliveries are still not delivered after ${WAIT_SECONDS} s"
kill_server serve TERM
if ((FAILED)); then echo "RESULT $BACKEND: FAIL"; exit 1; fi
echo "RESULT $BACKEND: PASS: events lost 0 of $events, duplicated $duplicated"

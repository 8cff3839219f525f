#!/usr/bin/env bash
# PostgreSQL restarted under load (issue 17).
#
#   bench/faults/pg_restart.sh
#   FAULT_OUTAGE_SECONDS=5 FAULT_LOAD_SECONDS=30 bench/faults/pg_restart.sh
#
# Needs: python3, curl, psql, pg_ctlcluster (Debian's postgresql-common) and the machine's one
# local cluster on 127.0.0.1:5432 (FAULT_POSTGRES_URL), the release binary (built if missing).
# It STOPS the machine's PostgreSQL for a few seconds: do not run it where others use that server.
# Loopback only; about 40 seconds. Whatever happens, the cluster is started again on exit.
#
# A release `khongdee serve` on a fresh database; mixed load (bench/faults/load.py: availability
# reads, window lists, orders) from 8 threads for FAULT_LOAD_SECONDS; 8 s in, PostgreSQL is
# stopped (`pg_ctlcluster … stop`, fast mode: every connection is cut), kept down for
# FAULT_OUTAGE_SECONDS, and started again. Then (bench/faults/verdict.py): every failure is a
# 503 problem+json with Retry-After, nothing hangs (no answer takes 10 s), no 500, the server
# recovers without a restart (time to recover printed), every order that got a 201 exists, and
# `khongdee reconcile` finds nothing. Exits 1 when a promise is broken.
source "$(dirname "$0")/lib.sh"
LOAD_SECONDS="${FAULT_LOAD_SECONDS:-25}"
OUTAGE="${FAULT_OUTAGE_SECONDS:-4}"
THREADS="${FAULT_THREADS:-8}"
need python3 curl psql pg_ctlcluster
ensure_binary
version=$(ls /etc/postgresql 2>/dev/null | head -n1)
[[ -n "$version" ]] || missing "no PostgreSQL cluster under /etc/postgresql"
pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1 ||
  missing "the cluster $version/main is not running"
# Always started again, whatever ends the script; registered before anything is stopped.
CLEANUPS+=("pg_ctlcluster --skip-systemctl-redirect $version main start 2>/dev/null; for _ in \$(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done")
URL=$(pg_create "khongdee_fault_pg_$$")
echo "== PostgreSQL $version restarted under load"

start_server serve "$URL"
read -r WINDOW VARIANT PICKUP < <(open_window 1000000)
python3 bench/faults/load.py "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" "$LOAD_SECONDS" "$THREADS" "$WORK/answers.jsonl" &
load=$!
sleep 8
fault_start=$(date +%s.%N)
pg_ctlcluster --skip-systemctl-redirect "$version" main stop -m fast
echo "PostgreSQL stopped (in $(elapsed_since "$fault_start") s); down for ${OUTAGE} s"
sleep "$OUTAGE"
pg_ctlcluster --skip-systemctl-redirect "$version" main start
fault_end=$(date +%s.%N)
echo "PostgreSQL started again (the whole outage: $(elapsed_since "$fault_start") s)"
wait "$load"

python3 bench/faults/verdict.py "$WORK/answers.jsonl" "$fault_start" "$fault_end" | tee "$WORK/verdict"
grep -q '^FAIL' "$WORK/verdict" && FAILED=1
kill -0 "${SERVER_PID[serve]}" 2>/dev/null || fail "the server died"
sql "$URL" "SELECT code FROM orders WHERE window_id = $WINDOW" | sort >"$WORK/orders.db"
lost=$(sort "$WORK/answers.jsonl.codes" | comm -23 - "$WORK/orders.db" | wc -l)
echo "orders answered 201: $(wc -l <"$WORK/answers.jsonl.codes"), missing from the database: $lost"
((lost == 0)) || fail "$lost orders that got a 201 are gone"
if KHONGDEE_DATABASE_URL="$URL" KHONGDEE_DATA_DIR="$WORK/data" KHONGDEE_LOG=error \
  "$BIN" reconcile --window "$WINDOW" >"$WORK/reconcile.out" 2>&1; then
  echo "khongdee reconcile: clean"
else
  fail "khongdee reconcile found a mismatch"; cat "$WORK/reconcile.out"
fi
kill_server serve TERM
if ((FAILED)); then echo "RESULT: FAIL"; exit 1; fi
echo "RESULT: PASS: 503 problem+json with Retry-After during the outage, no 500, no hang, recovered without a restart, orders lost 0"

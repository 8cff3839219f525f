#!/usr/bin/env bash
# SQLite on a full disk, then on a read-only file (issue 17).
#
#   bench/faults/sqlite_disk.sh
#   FAULT_FULL_SECONDS=10 bench/faults/sqlite_disk.sh
#
# Needs: root (it mounts a tmpfs), python3, curl, sqlite3, setpriv (util-linux), the release
# binary (built if missing). Loopback only; about a minute.
#
# The server runs as `nobody` (root would write to a read-only file anyway) on a SQLite file in a
# 64 MB tmpfs mounted for the run, under mixed load (bench/faults/load.py: availability reads,
# window lists, orders).
# 1. Full disk: a few seconds in, a ballast file takes every free byte of the tmpfs; after
#    FAULT_FULL_SECONDS it is deleted.
# 2. Read-only file: the server is stopped, the database file made read-only (chmod 0444), the
#    server started on it; after FAULT_READ_ONLY_SECONDS the file is made writable again, with the
#    -wal and -shm files that SQLite created read-only like it (`chmod 0644 khongdee.db*`).
# For both (bench/faults/verdict.py): writes answer 503 problem+json with Retry-After (never
# 500, never a hang), reads keep working; after the full disk the server recovers without a
# restart (time printed); after the read-only file it needs one (SQLite keeps a connection that
# opened a file read-only so; printed as a NOTE), and orders are placed after it;
# then every order that got a 201 exists, `PRAGMA integrity_check` says ok and `khongdee
# reconcile` finds nothing. Exits 1 when a promise is broken.
source "$(dirname "$0")/lib.sh"
FULL_SECONDS="${FAULT_FULL_SECONDS:-6}"
READ_ONLY_SECONDS="${FAULT_READ_ONLY_SECONDS:-6}"
THREADS="${FAULT_THREADS:-6}"
need python3 curl sqlite3 setpriv mount
[[ $EUID == 0 ]] || missing "it mounts a tmpfs: run it as root"
ensure_binary
chmod 0755 "$WORK"
cp "$BIN" "$WORK/khongdee"
BIN="$WORK/khongdee"
DISK="$WORK/disk"
mkdir -p "$DISK"
mount -t tmpfs -o size=64m,mode=0755 khongdee-fault "$DISK" || missing "cannot mount a tmpfs here"
CLEANUPS+=("umount -l '$DISK'")
mkdir -p "$DISK/data"
chown -R nobody:nogroup "$DISK"
RUN_AS=65534
DB="$DISK/khongdee.db"
URL="sqlite://$DB"
free_kb() { df --output=avail -k "$DISK" | tail -n1 | tr -d ' '; }
integrity() { sqlite3 -cmd ".timeout 15000" "$DB" "PRAGMA integrity_check" | head -n3 | tr '\n' ' '; }
check_integrity() {
  local verdict
  verdict=$(integrity)
  echo "PRAGMA integrity_check: $verdict"
  [[ "$verdict" == "ok " ]] || fail "integrity_check says: $verdict"
}
echo "== SQLite on a full disk and on a read-only file"

start_server serve "$URL" KHONGDEE_DATA_DIR="$DISK/data"
read -r WINDOW VARIANT PICKUP < <(open_window 1000000)
echo "database and WAL $(du -ck "$DB"* | tail -n1 | cut -f1) KB on a 64 MB tmpfs, $(free_kb) KB free"

# ---- 1. full disk ---------------------------------------------------------------------------------
python3 bench/faults/load.py "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" $((FULL_SECONDS + 14)) "$THREADS" "$WORK/full.jsonl" &
load=$!
sleep 5
fault_start=$(date +%s.%N)
dd if=/dev/zero of="$DISK/ballast" bs=64k status=none 2>/dev/null || true
echo "disk full: ballast $(du -k "$DISK/ballast" | cut -f1) KB, $(free_kb) KB free; database $(du -k "$DB" | cut -f1) KB, WAL $(du -k "$DB-wal" 2>/dev/null | cut -f1) KB"
sleep "$FULL_SECONDS"
rm -f "$DISK/ballast"
fault_end=$(date +%s.%N)
echo "space freed: $(free_kb) KB free"
wait "$load"
echo "-- full disk, what the clients saw:"
python3 bench/faults/verdict.py "$WORK/full.jsonl" "$fault_start" "$fault_end" | tee "$WORK/full.verdict"
grep -q '^FAIL' "$WORK/full.verdict" && FAILED=1
grep -Eq '^during +order .*503' "$WORK/full.verdict" || fail "no order was refused while the disk was full: the fault did not bite (the check proves nothing)"
check_integrity

# ---- 2. read-only file ----------------------------------------------------------------------------
kill_server serve TERM
chmod 0444 "$DB"
fault_start=$(date +%s.%N)
start_server serve "$URL" KHONGDEE_DATA_DIR="$DISK/data"
echo "server started on a read-only database file ($(stat -c %A "$DB"))"
python3 bench/faults/load.py "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" $((READ_ONLY_SECONDS + 8)) "$THREADS" "$WORK/ro.jsonl" &
load=$!
sleep "$READ_ONLY_SECONDS"
# SQLite created the -wal and -shm files with the database file's mode, read-only too: an
# operator makes all three writable again.
echo "files while read-only: $(cd "$DISK" && stat -c '%n %A' khongdee.db* | tr '\n' ' ')"
chmod 0644 "$DB" "$DB-wal" "$DB-shm"
fault_end=$(date +%s.%N)
echo "database files writable again: $(cd "$DISK" && stat -c '%n %A' khongdee.db* | tr '\n' ' ')"
wait "$load"
echo "-- read-only file, what the clients saw:"
VERDICT_RECOVERY=optional python3 bench/faults/verdict.py "$WORK/ro.jsonl" "$fault_start" "$fault_end" | tee "$WORK/ro.verdict"
grep -q '^FAIL' "$WORK/ro.verdict" && FAILED=1
grep -Eq '^during +order .*503' "$WORK/ro.verdict" || fail "no order was refused while the file was read-only: the fault did not bite"
grep -Eq '^during +availability .*200' "$WORK/ro.verdict" || fail "reads stopped while the file was read-only"
if grep -q '^NOTE: no order was placed' "$WORK/ro.verdict"; then
  # Connections SQLite opened read-only stay so; a restart opens them afresh.
  kill_server serve TERM
  restart_at=$(date +%s.%N)
  start_server serve "$URL" KHONGDEE_DATA_DIR="$DISK/data"
  python3 bench/faults/load.py "$BASE" "$WINDOW" "$VARIANT" "$PICKUP" 3 2 "$WORK/ro.jsonl" &
  wait $!
  python3 bench/faults/verdict.py "$WORK/ro.jsonl" "$fault_start" "$restart_at" >"$WORK/ro-restart.verdict"
  grep '^after' "$WORK/ro-restart.verdict" | sed 's/^after /after a restart /'
  grep -Eq '^after +order .*201' "$WORK/ro-restart.verdict" || fail "orders are refused even after a restart"
fi
check_integrity

# ---- what is in the database ------------------------------------------------------------------------
sql "$URL" "SELECT code FROM orders WHERE window_id = $WINDOW" | sort >"$WORK/orders.db"
cat "$WORK/full.jsonl.codes" "$WORK/ro.jsonl.codes" | sort >"$WORK/orders.201"
lost=$(comm -23 "$WORK/orders.201" "$WORK/orders.db" | wc -l)
echo "orders answered 201: $(wc -l <"$WORK/orders.201"), missing from the database: $lost"
((lost == 0)) || fail "$lost orders that got a 201 are gone"
if KHONGDEE_DATABASE_URL="$URL" KHONGDEE_DATA_DIR="$DISK/data" KHONGDEE_LOG=error \
  "$BIN" reconcile --window "$WINDOW" >"$WORK/reconcile.out" 2>&1; then
  echo "khongdee reconcile: clean"
else
  fail "khongdee reconcile found a mismatch"; cat "$WORK/reconcile.out"
fi
kill_server serve TERM
if ((FAILED)); then echo "RESULT: FAIL"; exit 1; fi
echo "RESULT: PASS: 503 problem+json with Retry-After on a full disk and a read-only file, reads kept working, recovered from the full disk without a restart (from the read-only file: $(grep -q '^NOTE' "$WORK/ro.verdict" && echo "after a restart" || echo "without one")), integrity ok, orders lost 0"

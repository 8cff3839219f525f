# Shared by the fault scripts in bench/faults/ (sourced, not run). Loopback only.
#
# Provides: `missing` (the precondition rule), `need TOOL…`, the release binary in $BIN,
# `start_server NAME URL [VAR=VALUE…]` (as the user id $RUN_AS when set) / `kill_server NAME SIGNAL`, `open_window`, `sql URL QUERY`,
# `pg_create` / `pg_drop`, `problem_of FILE` and `elapsed_since`, with cleanup on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
FAULT="$(basename "$0")"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
PORT="${FAULT_PORT:-18400}"
BASE="http://127.0.0.1:$PORT"
PG_URL="${FAULT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$(mktemp -d /tmp/khongdee-fault.XXXXXX)"
declare -A SERVER_PID=()
CLEANUPS=()

# The rule of the Rust tests (`precondition` in tests/api/helpers.rs): where CI (CI=true or 1)
# runs a script, a missing precondition fails; elsewhere the script says SKIPPED and exits 0.
missing() {
  local ci="${CI:-}"
  if [[ "$ci" == 1 || "${ci,,}" == true ]]; then
    echo "FAIL: $FAULT: missing precondition in CI: $1" >&2
    exit 1
  fi
  echo "SKIPPED: $FAULT: $1" >&2
  exit 0
}
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || missing "$tool is not installed (see bench/README.md)"
  done
}
fail() { echo "FAIL: $FAULT: $*" >&2; FAILED=1; }
FAILED=0

on_exit() {
  local status=$? name i
  for name in "${!SERVER_PID[@]}"; do
    kill -9 "${SERVER_PID[$name]}" 2>/dev/null || true
  done
  for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUPS[$i]}" || true
  done
  if [[ "${KEEP_WORK:-}" == 1 ]]; then echo "(work files kept in $WORK)"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

ensure_binary() {
  if [[ ! -x "$BIN" ]]; then
    need cargo
    echo "building the release binary ($BIN)…"
    cargo build --release --locked --bin khongdee
  fi
}

# start_server NAME DATABASE_URL [VAR=VALUE…]: a `khongdee serve` on $PORT, its log in
# $WORK/NAME.log (appended across restarts); waits until /healthz answers.
start_server() {
  local name=$1 url=$2
  shift 2
  env KHONGDEE_DATABASE_URL="$url" KHONGDEE_BIND="127.0.0.1:$PORT" KHONGDEE_DATA_DIR="$WORK/data" \
    KHONGDEE_SEED_DEMO=always KHONGDEE_LOG="${FAULT_LOG:-warn}" KHONGDEE_LOG_FORMAT=json \
    KHONGDEE_RATE_LIMIT_ANONYMOUS=100000000 KHONGDEE_RATE_LIMIT_AUTHENTICATED=100000000 \
    KHONGDEE_RATE_LIMIT_TOKEN=100000000 KHONGDEE_RATE_LIMIT_EMBED=100000000 \
    KHONGDEE_TASK_INTERVAL=1 KHONGDEE_DB_TIMEOUT=2 "$@" \
    ${RUN_AS:+setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --clear-groups} \
    "$BIN" serve >>"$WORK/$name.log" 2>&1 &
  SERVER_PID[$name]=$!
  local _
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "$BASE/healthz" && return 0
    kill -0 "${SERVER_PID[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: $FAULT: the server did not start; its log:" >&2
  tail -n 30 "$WORK/$name.log" >&2
  exit 1
}

# kill_server NAME [SIGNAL]: stops it (SIGTERM by default) and waits for it.
kill_server() {
  local name=$1 signal=${2:-TERM}
  kill "-$signal" "${SERVER_PID[$name]}" 2>/dev/null || true
  wait "${SERVER_PID[$name]}" 2>/dev/null || true
  unset "SERVER_PID[$name]"
}

# A published window of the demo producer: CAPACITY one-unit items, unpaid orders due in an
# hour (the shortest deadline a window takes), open from an hour ago for a day. Prints
# "WINDOW VARIANT PICKUP".
open_window() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/../open_window.py" "$BASE" "$1" "ลำไยอีดอ ทดสอบความทนทาน" \
    '{"payment_window_hours": 1, "hold_minutes": 1}'
}

# sql URL QUERY: one value per line (SQLite through sqlite3, PostgreSQL through psql).
sql() {
  case "$1" in
    sqlite://*) sqlite3 -cmd ".timeout 15000" "${1#sqlite://}" "$2" ;;
    *) psql -qAt "$1" -c "$2" ;;
  esac
}

# pg_create NAME: a fresh database on the PostgreSQL at $PG_URL, dropped on exit; prints its URL.
pg_create() {
  psql -qAt "$PG_URL" -c "SELECT 1" >/dev/null 2>&1 || missing "PostgreSQL does not answer at $PG_URL"
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
  psql -q "$PG_URL" -c "CREATE DATABASE $1" >/dev/null
  CLEANUPS+=("psql -q '$PG_URL' -c 'DROP DATABASE IF EXISTS $1 WITH (FORCE)' >/dev/null 2>&1")
  python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$PG_URL" "$1"
}

# Seconds (with milliseconds) since a `date +%s.%N` stamp.
elapsed_since() { python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$1"; }

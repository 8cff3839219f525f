#!/usr/bin/env bash
# Stops the machine's PostgreSQL under a running khongdee and checks that the API answers 503
# problem+json, then starts PostgreSQL again and checks that the API recovers without a restart.
# Needs: a local PostgreSQL cluster managed by pg_ctlcluster, curl, a built binary.
#   cargo build --release && tests/pg_outage.sh
# It stops the machine's PostgreSQL for a few seconds: do not run it where others use that server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release/khongdee}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="khongdee_outage_$$"
PORT="${PORT:-18080}"

# What the script needs but cannot set up. The rule of the Rust tests (`precondition` in
# tests/api/helpers.rs): in CI (CI=true or 1), which would have to provide all of it, a missing
# precondition fails; elsewhere the script says SKIPPED and exits 0. Checked before anything is
# stopped or created.
missing() {
  local ci="${CI:-}"
  if [[ "$ci" == 1 || "${ci,,}" == true ]]; then
    echo "FAIL: pg_outage.sh: missing precondition in CI: $1" >&2
    exit 1
  fi
  echo "SKIPPED: pg_outage.sh: $1" >&2
  exit 0
}
for tool in curl psql pg_ctlcluster; do
  command -v "$tool" >/dev/null || missing "$tool is not installed"
done
version=$(ls /etc/postgresql 2>/dev/null | head -n1)
[[ -n "$version" ]] || missing "no PostgreSQL cluster under /etc/postgresql"
[[ -x "$BIN" ]] || missing "no built binary at $BIN (cargo build --release, or set BIN)"
psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1 || missing "PostgreSQL does not answer at $PG_ADMIN"

psql "$PG_ADMIN" -qc "CREATE DATABASE $DB"
KHONGDEE_DATABASE_URL="${PG_ADMIN%/*}/$DB" KHONGDEE_BIND="127.0.0.1:$PORT" KHONGDEE_DB_TIMEOUT=1 \
  KHONGDEE_DATA_DIR="$(mktemp -d)" KHONGDEE_LOG_FORMAT=pretty "$BIN" serve >/tmp/khongdee-outage.log 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  sleep 1
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

status() { curl -s -o /tmp/khongdee-outage.body -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT$1"; }
echo "before: /readyz -> $(status /readyz)"

pg_ctlcluster --skip-systemctl-redirect "$version" main stop
got=$(status /readyz)
echo "PostgreSQL stopped: /readyz -> $got"; cat /tmp/khongdee-outage.body; echo
[[ "$got" == "503 application/problem+json" ]] || { echo "FAIL: expected 503 problem+json"; exit 1; }

pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 40); do
  got=$(status /readyz)
  [[ "$got" == 200* ]] && break
  sleep 0.5
done
echo "PostgreSQL started: /readyz -> $got"
[[ "$got" == 200* ]] || { echo "FAIL: the API did not recover"; exit 1; }
echo "PASS: 503 problem+json during the outage, recovered without a restart"
